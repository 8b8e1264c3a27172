/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-subtree.h"

#include <string.h>

#include "bus-events.h"
#include "bus-object-view.h"
#include "cleanup.h"

/* The object being announced, and its path (not copied). */
typedef struct {
        const char *path;
        const void *object;
} Announcing;

struct BusSubtree {
        BusManager *manager;
        const BusSubtreeOps *ops;
        sd_bus_slot *vtable_slot;
        sd_bus_slot *enumerator_slot;
        unsigned observer; /* 0: not observing */
        Announcing announcing;
        GHashTable *changed_due; /* paths with a CHANGED queued, owned by its event */
};

/* A CHANGED, queued: the properties go with the values they have when it
 * is sent, so changes until then need no event of their own. */
typedef struct {
        BusEvent head;
        BusSubtree *subtree;
        char *path;
} SubtreeChanged;

static int subtree_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error)
{
        BusSubtree *st = userdata;
        void *object;

        if (st->announcing.object && strcmp(path, st->announcing.path) == 0)
                /* sd-bus hands the getters a mutable userdata; they only read. */
                object = (void *) st->announcing.object;
        else
                object = st->ops->find(st->manager, path);
        if (!object)
                return 0; /* sd-bus replies UnknownObject */
        *found = object;
        return 1;
}

static int subtree_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                             sd_bus_error *error)
{
        BusSubtree *st = userdata;
        GPtrArray *paths = g_ptr_array_new();

        st->ops->list(st->manager, paths);
        g_ptr_array_add(paths, NULL);
        *ret_nodes = (char **) g_ptr_array_free(paths, FALSE);
        return 0;
}

void bus_subtree_observe(BusSubtree *st)
{
        if (st->observer == 0)
                st->observer = st->ops->observe(st->manager, st);
}

void bus_subtree_unobserve(BusSubtree *st)
{
        if (st->observer != 0)
                st->ops->unobserve(st->manager, st->observer);
        st->observer = 0;
}

void bus_subtree_free(BusSubtree *st)
{
        if (!st)
                return;
        bus_subtree_unobserve(st);
        /* Its queued CHANGEDs were sent before (bus_manager_free()). */
        g_hash_table_unref(st->changed_due);
        sd_bus_slot_unref(st->vtable_slot);
        sd_bus_slot_unref(st->enumerator_slot);
        g_free(st);
}

static void bus_subtree_freep(BusSubtree **st)
{
        bus_subtree_free(*st);
}

int bus_subtree_new(BusManager *m, const BusSubtreeOps *ops, BusSubtree **ret)
{
        _cleanup_(bus_subtree_freep) BusSubtree *st = g_new0(BusSubtree, 1);
        int r;

        st->manager = m;
        st->ops = ops;
        st->changed_due = g_hash_table_new(g_str_hash, g_str_equal);
        r = sd_bus_add_fallback_vtable(m->bus, &st->vtable_slot, ops->prefix, ops->interface,
                                       ops->vtable, subtree_find, st);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, &st->enumerator_slot, ops->prefix, subtree_enumerate,
                                       st);
        if (r < 0)
                return r;
        bus_subtree_observe(st);
        *ret = g_steal_pointer(&st);
        return 0;
}

static int emit(BusSubtree *st, BusSubtreeEvent ev, const char *path, const void *object)
{
        const BusSubtreeOps *ops = st->ops;
        BusManager *m = st->manager;
        int r;

        if (ev == BUS_SUBTREE_CHANGED)
                /* Only without a queue (bus_subtree_announce()). */
                return sd_bus_emit_properties_changed_strv(m->bus, path, ops->interface,
                                                           (char **) ops->changing);
        /* Deferred: the count changes after these signals. */
        if (ops->count) {
                r = bus_manager_note_changed(m, ops->count);
                if (r < 0)
                        return r;
        }
        if (ev == BUS_SUBTREE_ADDED) {
                if (ops->emit_manager_signal) {
                        r = ops->emit_manager_signal(m, ev, path, object);
                        if (r < 0)
                                return r;
                }
                return sd_bus_emit_object_added(m->bus, path);
        }
        r = sd_bus_emit_object_removed(m->bus, path);
        if (r < 0 || !ops->emit_manager_signal)
                return r;
        return ops->emit_manager_signal(m, ev, path, object);
}

static int emit_changed(BusManager *m, const BusEvent *ev)
{
        const SubtreeChanged *c = (const SubtreeChanged *) ev;
        BusSubtree *st = c->subtree;

        g_hash_table_remove(st->changed_due, c->path);
        /* Gone meanwhile: its InterfacesRemoved said so. */
        if (!st->ops->find(m, c->path))
                return 0;
        return sd_bus_emit_properties_changed_strv(m->bus, c->path, st->ops->interface,
                                                   (char **) st->ops->changing);
}

static void changed_clear(BusEvent *ev)
{
        g_free(((SubtreeChanged *) ev)->path);
}

static const BusEventType changed_type = {.emit = emit_changed, .clear = changed_clear};

/* Queued like the table's events: a back-end's ADD changes its peer's
 * ExportedCount, and the answer must not wait for the signal. */
static int queue_changed(BusSubtree *st, const void *object)
{
        SubtreeChanged *c;
        char *path = st->ops->path(object);

        if (g_hash_table_contains(st->changed_due, path)) {
                g_free(path);
                return 0;
        }
        c = g_new(SubtreeChanged, 1);
        *c = (SubtreeChanged){.head.type = &changed_type, .subtree = st, .path = path};
        g_hash_table_add(st->changed_due, path);
        return bus_events_push(st->manager->events, &c->head);
}

int bus_subtree_announce(BusSubtree *st, BusSubtreeEvent ev, const void *object)
{
        g_autofree char *path = NULL;
        Announcing saved = st->announcing;
        int r;

        if (ev == BUS_SUBTREE_CHANGED && st->manager->events)
                return queue_changed(st, object);
        path = st->ops->path(object);
        /* Sent at once, so after the table's events queued before it. */
        if (st->manager->events)
                bus_events_flush(st->manager->events);
        st->announcing = (Announcing){.path = path, .object = object};
        r = emit(st, ev, path, object);
        st->announcing = saved;
        return r;
}

/* One property of object in its variant, as its vtable getter gives it. */
static int append_property(BusSubtree *st, sd_bus_message *m, const char *path, void *object,
                           const sd_bus_vtable *v)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, 's', v->x.property.member);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', v->x.property.signature);
        if (r < 0)
                return r;
        r = v->x.property.get(sd_bus_message_get_bus(m), path, st->ops->interface,
                              v->x.property.member, m, (uint8_t *) object + v->x.property.offset,
                              &error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* oa{sa{sv}} of one object, its properties in vtable order, as sd-bus's
 * own GetManagedObjects would give them but without the standard
 * interfaces (as bus_object_append_managed()). */
static int append_managed_object(BusSubtree *st, sd_bus_message *m, const char *path, void *object)
{
        int r;

        r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 'o', path);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', st->ops->interface);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (const sd_bus_vtable *v = st->ops->vtable; r >= 0 && v->type != _SD_BUS_VTABLE_END;
             v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY &&
                    v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY)
                        continue;
                if (v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT))
                        continue;
                r = append_property(st, m, path, object, v);
        }
        for (int i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

int bus_subtree_append_managed(BusSubtree *st, sd_bus_message *reply)
{
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        int r;

        st->ops->list(st->manager, paths);
        for (unsigned i = 0; i < paths->len; i++) {
                void *object = st->ops->find(st->manager, paths->pdata[i]);
                if (!object)
                        continue;
                r = append_managed_object(st, reply, paths->pdata[i], object);
                if (r < 0)
                        return r;
        }
        return 0;
}
