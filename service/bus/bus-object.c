/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-object.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-events.h"
#include "bus-object-view.h"
#include "bus-paths.h"
#include "cleanup.h"
#include "log.h"

/* How often an object's LookupCount, and the manager's ObjectCount, may
 * be announced, and how late: a signal per lookup, or per ADD, would cost
 * the back-ends a bus message each. */
#define COALESCE_INTERVAL_USEC (100 * 1000u)
#define COALESCE_ACCURACY_USEC (10 * 1000u)

static void *object_find(BusManager *m, const char *path)
{
        uint8_t uuid[SHARE_UUID_SIZE];

        if (bus_object_path_to_uuid(path, uuid) < 0)
                return NULL;
        return share_table_lookup(service_table(m->service), uuid);
}

static char *object_path(const void *e)
{
        char path[BUS_OBJECT_PATH_MAX];

        bus_object_path(share_entry_uuid(e), path);
        return g_strdup(path);
}

static bool collect_entry_path(const ShareEntry *e, void *paths)
{
        g_ptr_array_add(paths, object_path(e));
        return true;
}

static void object_list(BusManager *m, GPtrArray *paths)
{
        share_table_foreach(service_table(m->service), collect_entry_path, paths);
}

/* The getters' userdata is the entry at the path (object_find()'s); the
 * values come from the rows of bus-object-view.c. */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        char buf[BUS_PEER_PATH_MAX];
        BusObjectView v;

        bus_object_view_init(&v, userdata, buf);
        return bus_object_view_append_property(reply, &v, property);
}

static const sd_bus_vtable object_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("Uuid", "s", property_get),
    BUS_PROPERTY_CONST("Type", "s", property_get),
    BUS_PROPERTY_CONST("Owner", "o", property_get),
    /* Changes once, to "", when the owner hands the object over (Disown()). */
    BUS_PROPERTY_CHANGING("OwnerBusName", "s", property_get),
    BUS_PROPERTY_CONST("BufferType", "s", property_get),
    /* Change with OwnerBusName (Disown() announces them). */
    BUS_PROPERTY_CHANGING("OwnerPid", "u", property_get),
    BUS_PROPERTY_CHANGING("OwnerUid", "u", property_get),
    BUS_PROPERTY_CHANGING("OwnerCommand", "s", property_get),
    /* Changes once, from 0, for a back-end's object: announced with the
     * lookup that showed it (bus-lookup-events.c). */
    BUS_PROPERTY_CHANGING("Size", "t", property_get),
    BUS_PROPERTY_CONST("Exporter", "s", property_get),
    BUS_PROPERTY_CONST("Name", "s", property_get),
    BUS_PROPERTY_CONST("Device", "s", property_get),
    BUS_PROPERTY_CONST("Allocator", "s", property_get),
    BUS_PROPERTY_CONST("Inode", "t", property_get),
    BUS_PROPERTY_CONST("InodeDevice", "t", property_get),
    BUS_PROPERTY_CONST("CreatedTimestamp", "t", property_get),
    BUS_PROPERTY_CHANGING("LookupCount", "t", property_get),
    SD_BUS_VTABLE_END,
};

/* ---- table events, queued (bus-events.h) ---- */

static void note_count(BusManager *m);

/* ADDED, or CHANGED of property: what the object said at the time. */
typedef struct {
        BusEvent head;
        const char *property; /* CHANGED: the property (OWNER_PROPERTIES[0]: all four) */
        BusObjectCopy copy;
} ObjectSnapshot;

typedef struct {
        BusEvent head;
        uint8_t uuid[SHARE_UUID_SIZE];
} ObjectRemoved;

static void snapshot_clear(BusEvent *ev)
{
        bus_object_copy_clear(&((ObjectSnapshot *) ev)->copy);
}

/* The manager's Added, then InterfacesAdded; ObjectCount after them. */
static int emit_added(BusManager *m, const BusEvent *ev)
{
        const BusObjectView *v = &((const ObjectSnapshot *) ev)->copy.view;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        int r;

        share_uuid_to_string(v->uuid, uuid);
        bus_object_path(v->uuid, path);
        r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Added", "sos",
                               uuid, path, share_type_to_string(v->type));
        if (r < 0)
                return r;
        r = sd_bus_message_new_signal(m->bus, &msg, BUS_MANAGER_PATH,
                                      "org.freedesktop.DBus.ObjectManager", "InterfacesAdded");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(msg, 'o', path);
        if (r < 0)
                return r;
        r = bus_object_view_append_interfaces(msg, v, true);
        if (r < 0)
                return r;
        r = sd_bus_send(m->bus, msg, NULL);
        if (r < 0)
                return r;
        note_count(m);
        return 0;
}

/* InterfacesRemoved, then the manager's Removed; ObjectCount after them. */
static int emit_removed(BusManager *m, const BusEvent *ev)
{
        const ObjectRemoved *o = (const ObjectRemoved *) ev;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        int r;

        share_uuid_to_string(o->uuid, uuid);
        bus_object_path(o->uuid, path);
        r = sd_bus_message_new_signal(m->bus, &msg, BUS_MANAGER_PATH,
                                      "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(msg, 'o', path);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "s");
        for (const char *const *i = bus_standard_interfaces; r >= 0 && *i; i++)
                r = sd_bus_message_append_basic(msg, 's', *i);
        if (r >= 0)
                r = sd_bus_message_append_basic(msg, 's', BUS_OBJECT_INTERFACE);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_send(m->bus, msg, NULL);
        if (r < 0)
                return r;
        r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Removed", "so",
                               uuid, path);
        if (r < 0)
                return r;
        note_count(m);
        return 0;
}

/* PropertiesChanged of one property, with its value then. */
/* What Disown() changes: the owner and its process. */
static const char *const OWNER_PROPERTIES[] = {"OwnerBusName", "OwnerPid", "OwnerUid",
                                               "OwnerCommand", NULL};

static int emit_changed(BusManager *m, const BusEvent *ev)
{
        const ObjectSnapshot *o = (const ObjectSnapshot *) ev;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        char path[BUS_OBJECT_PATH_MAX];
        int r;

        bus_object_path(o->copy.view.uuid, path);
        r = sd_bus_message_new_signal(m->bus, &msg, path, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(msg, 's', BUS_OBJECT_INTERFACE);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "{sv}");
        /* One property, or the owner's four (OWNER_PROPERTIES). */
        for (const char *const *p = o->property == OWNER_PROPERTIES[0]
                                        ? OWNER_PROPERTIES
                                        : (const char *const[]){o->property, NULL};
             r >= 0 && *p; p++) {
                r = sd_bus_message_open_container(msg, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(msg, 's', *p);
                if (r >= 0)
                        r = sd_bus_message_open_container(msg, 'v',
                                                          bus_object_view_property_signature(*p));
                if (r >= 0)
                        r = bus_object_view_append_property(msg, &o->copy.view, *p);
                for (int i = 0; r >= 0 && i < 2; i++)
                        r = sd_bus_message_close_container(msg);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "as", 0);
        if (r < 0)
                return r;
        return sd_bus_send(m->bus, msg, NULL);
}

static const BusEventType added_type = {.emit = emit_added, .clear = snapshot_clear};
static const BusEventType changed_type = {.emit = emit_changed, .clear = snapshot_clear};
static const BusEventType removed_type = {.emit = emit_removed};

/* The Object subtree's state besides the queue: the table observer, the
 * objects whose LookupCount changed since it was last announced, and
 * whether ObjectCount did; one timer for both, armed only while one is due,
 * so an idle service has none. */
struct BusObjectEvents {
        BusManager *manager;
        unsigned observer;
        GHashTable *lookups_due; /* uuid (g_memdup2'ed) -> itself */
        bool count_due;
        bool timer_armed;
        sd_event_source *timer; /* NULL if it could not be made: then at once */
};

static void push(BusManager *m, BusEvent *ev, const uint8_t *uuid)
{
        char s[SHARE_UUID_STR_LEN];
        int r;

        r = bus_events_push(m->events, ev);
        if (r < 0) {
                share_uuid_to_string(uuid, s);
                log_error_errno(r, "Failed to schedule the signals about object %s: %m", s);
        }
}

static void push_snapshot(BusManager *m, const BusEventType *type, const char *property,
                          const ShareEntry *e)
{
        ObjectSnapshot *o = g_new(ObjectSnapshot, 1);

        o->head.type = type;
        o->property = property;
        bus_object_copy_init(&o->copy, e);
        push(m, &o->head, share_entry_uuid(e));
}

static void push_removed(BusManager *m, const ShareEntry *e)
{
        ObjectRemoved *o = g_new(ObjectRemoved, 1);

        o->head.type = &removed_type;
        memcpy(o->uuid, share_entry_uuid(e), SHARE_UUID_SIZE);
        push(m, &o->head, o->uuid);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        BusObjectEvents *oe = userdata;
        ShareTable *t = service_table(oe->manager->service);
        GHashTableIter i;
        gpointer uuid;
        int r;

        oe->timer_armed = false;
        g_hash_table_iter_init(&i, oe->lookups_due);
        while (g_hash_table_iter_next(&i, &uuid, NULL)) {
                ShareEntry *e = share_table_lookup(t, uuid);
                /* A removed entry left the set with its last count. */
                if (e)
                        push_snapshot(oe->manager, &changed_type, "LookupCount", e);
        }
        g_hash_table_remove_all(oe->lookups_due);
        if (oe->count_due) {
                oe->count_due = false;
                r = bus_manager_note_changed(oe->manager, BUS_MANAGER_OBJECT_COUNT);
                if (r < 0)
                        log_error_errno(r, "Failed to schedule the new ObjectCount: %m");
        }
        return 0;
}

/* Arms the timer unless it is armed. 0, or -errno: then the caller sends
 * at once, rather than never. */
static int arm_timer(BusObjectEvents *oe)
{
        uint64_t now;
        int r;

        if (oe->timer_armed)
                return 0;
        if (!oe->timer)
                return -ENOENT;
        r = sd_event_now(service_event(oe->manager->service), CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_source_set_time(oe->timer, now + COALESCE_INTERVAL_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(oe->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        oe->timer_armed = true;
        return 0;
}

/* ObjectCount changed, its object's signals sent: announced with the next
 * coalesced batch. */
static void note_count(BusManager *m)
{
        BusObjectEvents *oe = m->object_events;
        int r = -ENOENT;

        if (oe) {
                oe->count_due = true;
                r = arm_timer(oe);
                if (r >= 0)
                        return;
                oe->count_due = false;
        }
        r = bus_manager_note_changed(m, BUS_MANAGER_OBJECT_COUNT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule the new ObjectCount: %m");
}

/* A lookup counted on e: announced with the others at the timer. */
static void note_lookup(BusObjectEvents *oe, const ShareEntry *e)
{
        char s[SHARE_UUID_STR_LEN];
        int r;

        if (g_hash_table_contains(oe->lookups_due, share_entry_uuid(e)))
                return;
        r = arm_timer(oe);
        if (r < 0) {
                share_uuid_to_string(share_entry_uuid(e), s);
                log_warning_errno(r, "Failed to arm the LookupCount timer for %s: %m", s);
                push_snapshot(oe->manager, &changed_type, "LookupCount", e);
                return;
        }
        g_hash_table_add(oe->lookups_due, g_memdup2(share_entry_uuid(e), SHARE_UUID_SIZE));
}

static void on_table_event(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        BusObjectEvents *oe = userdata;

        switch (ev) {
        case SHARE_EVENT_ADDED:
                push_snapshot(oe->manager, &added_type, NULL, e);
                break;
        case SHARE_EVENT_CHANGED:
                note_lookup(oe, e);
                break;
        case SHARE_EVENT_REMOVED:
                /* Its last count before it goes, not after. */
                if (g_hash_table_remove(oe->lookups_due, share_entry_uuid(e)))
                        push_snapshot(oe->manager, &changed_type, "LookupCount", e);
                push_removed(oe->manager, e);
                break;
        }
}

void bus_object_announce_owner(BusManager *m, const ShareEntry *e)
{
        push_snapshot(m, &changed_type, OWNER_PROPERTIES[0], e);
}

static void object_events_free(BusObjectEvents *oe)
{
        if (!oe)
                return;
        if (oe->observer)
                share_table_remove_observer(service_table(oe->manager->service), oe->observer);
        oe->timer = sd_event_source_disable_unref(oe->timer);
        g_clear_pointer(&oe->lookups_due, g_hash_table_unref);
        g_free(oe);
}

static unsigned object_observe(BusManager *m, BusSubtree *st)
{
        BusObjectEvents *oe = g_new0(BusObjectEvents, 1);
        int r;

        oe->manager = m;
        oe->lookups_due = g_hash_table_new_full(share_uuid_hash, share_uuid_equal, g_free, NULL);
        r = sd_event_add_time(service_event(m->service), &oe->timer, CLOCK_MONOTONIC, UINT64_MAX,
                              COALESCE_ACCURACY_USEC, on_timer, oe);
        if (r >= 0)
                r = sd_event_source_set_enabled(oe->timer, SD_EVENT_OFF);
        if (r < 0) {
                /* Every change is then announced on its own (arm_timer()). */
                log_warning_errno(r, "Failed to add the timer of LookupCount and ObjectCount: %m");
                oe->timer = sd_event_source_disable_unref(oe->timer);
        }
        oe->observer = share_table_add_observer(service_table(m->service), on_table_event, oe);
        object_events_free(m->object_events);
        m->object_events = oe;
        return oe->observer;
}

static void object_unobserve(BusManager *m, unsigned id)
{
        g_clear_pointer(&m->object_events, object_events_free);
}

const BusSubtreeOps bus_object_ops = {
    .prefix = BUS_OBJECT_PREFIX,
    .interface = BUS_OBJECT_INTERFACE,
    .vtable = object_vtable,
    .find = object_find,
    .list = object_list,
    .path = object_path,
    .observe = object_observe,
    .unobserve = object_unobserve,
};

/* ---- the whole table at once ---- */

int bus_object_append_managed(sd_bus_message *reply, const ShareEntry *e, BusObjectViews *views)
{
        const BusObjectView *v = bus_object_views_next(views, e);
        char path[BUS_OBJECT_PATH_MAX];
        int r;

        bus_object_path(v->uuid, path);
        r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 'o', path);
        if (r < 0)
                return r;
        r = bus_object_view_append_interfaces(reply, v, false);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The 36 characters of a UUID from the 32 hex digits of its path: one
 * formatting per entry instead of two (each an eighth of the entry's cost). */
static int append_uuid_from_hex(sd_bus_message *reply, const char *hex)
{
        static const unsigned groups[] = {8, 4, 4, 4, 12};
        char *p;
        int r;

        r = sd_bus_message_append_string_space(reply, SHARE_UUID_STR_LEN - 1, &p);
        if (r < 0)
                return r;
        for (size_t i = 0; i < G_N_ELEMENTS(groups); i++) {
                if (i > 0)
                        *p++ = '-';
                memcpy(p, hex, groups[i]);
                p += groups[i];
                hex += groups[i];
        }
        return 0;
}

/* Container calls rather than a format string: no parsing per object; the
 * UUID and the type need no check (bus_append_trusted_string()). */
int bus_object_append_listed(sd_bus_message *reply, const ShareEntry *e, BusObjectViews *views)
{
        const char *type = share_type_to_string(share_entry_type(e));
        char path[BUS_OBJECT_PATH_MAX];
        int r;

        bus_object_path(share_entry_uuid(e), path);
        r = sd_bus_message_open_container(reply, 'r', "sso");
        if (r >= 0)
                r = append_uuid_from_hex(reply, path + sizeof(BUS_OBJECT_PREFIX "/") - 1);
        if (r >= 0)
                r = bus_append_trusted_string(reply, type, strlen(type));
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}
