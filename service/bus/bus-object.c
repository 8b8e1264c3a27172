/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-object.h"

#include <errno.h>
#include <string.h>

#include "bus-subtree.h"
#include "log.h"

struct BusObjects {
        BusSubtree *subtree;
        unsigned table_observer;
        bool observing;
};

static void *object_find(void *userdata, const char *path)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];

        if (bus_object_path_to_uuid(path, uuid) < 0)
                return NULL;
        return share_table_lookup(service_table(m->service), uuid);
}

static bool collect_entry_path(const ShareEntry *e, void *userdata)
{
        char path[BUS_OBJECT_PATH_MAX];

        bus_object_path(share_entry_uuid(e), path);
        g_ptr_array_add(userdata, g_strdup(path));
        return true;
}

static void object_list(void *userdata, GPtrArray *paths)
{
        BusManager *m = userdata;

        share_table_foreach(service_table(m->service), collect_entry_path, paths);
}

/* The getters' userdata is the entry at the path: object_find()'s, or the
 * one being announced. */

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error)
{
        char s[SHARE_UUID_STR_LEN];

        share_uuid_to_string(share_entry_uuid(userdata), s);
        return sd_bus_message_append(reply, "s", s);
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", share_type_to_string(share_entry_type(userdata)));
}

static int property_get_owner(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
        const ShareOwner *owner = share_entry_owner(userdata);
        char p[BUS_PEER_PATH_MAX];

        /* A peer's owner identity carries the Peer as its userdata
         * (share-table.h; service.c sets it and finds the peer of an entry
         * that way too), and a peer's entries go before the peer does. */
        if (!owner || owner->kind != SHARE_OWNER_PEER || !owner->userdata)
                return sd_bus_message_append(reply, "o", "/");
        bus_peer_path(peer_id(owner->userdata), p);
        return sd_bus_message_append(reply, "o", p);
}

static int property_get_owner_bus_name(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error)
{
        const ShareOwner *owner = share_entry_owner(userdata);

        return sd_bus_message_append(
            reply, "s",
            owner && owner->kind == SHARE_OWNER_BUS_CLIENT && owner->name ? owner->name : "");
}

static int property_get_info(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error)
{
        const ShareBufferInfo *info = share_entry_info(userdata);

        if (strcmp(property, "Size") == 0)
                return sd_bus_message_append(reply, "t", info ? info->size : UINT64_C(0));
        if (strcmp(property, "Exporter") == 0)
                return sd_bus_message_append(reply, "s", info ? info->exporter : "");
        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", info ? info->name : "");
        if (strcmp(property, "Device") == 0)
                return sd_bus_message_append(reply, "s", info ? info->device : "");
        if (strcmp(property, "Allocator") == 0)
                return sd_bus_message_append(reply, "s", info ? info->allocator : "");
        if (strcmp(property, "Inode") == 0)
                return sd_bus_message_append(reply, "t", info ? (uint64_t) info->ino : UINT64_C(0));
        if (strcmp(property, "InodeDevice") == 0)
                return sd_bus_message_append(reply, "t", info ? (uint64_t) info->dev : UINT64_C(0));
        return -EINVAL;
}

static int property_get_created(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        return sd_bus_message_append(reply, "t", share_entry_created_usec(userdata));
}

static int property_get_lookup_count(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        return sd_bus_message_append(reply, "t", share_entry_lookup_count(userdata));
}

static const sd_bus_vtable object_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("Uuid", "s", property_get_uuid),
    BUS_PROPERTY_CONST("Type", "s", property_get_type),
    BUS_PROPERTY_CONST("Owner", "o", property_get_owner),
    /* Changes once, to "", when the owner hands the object over (Disown()). */
    BUS_PROPERTY_CHANGING("OwnerBusName", "s", property_get_owner_bus_name),
    BUS_PROPERTY_CONST("Size", "t", property_get_info),
    BUS_PROPERTY_CONST("Exporter", "s", property_get_info),
    BUS_PROPERTY_CONST("Name", "s", property_get_info),
    BUS_PROPERTY_CONST("Device", "s", property_get_info),
    BUS_PROPERTY_CONST("Allocator", "s", property_get_info),
    BUS_PROPERTY_CONST("Inode", "t", property_get_info),
    BUS_PROPERTY_CONST("InodeDevice", "t", property_get_info),
    BUS_PROPERTY_CONST("CreatedTimestamp", "t", property_get_created),
    BUS_PROPERTY_CHANGING("LookupCount", "t", property_get_lookup_count),
    SD_BUS_VTABLE_END,
};

static const BusSubtreeOps object_ops = {
    .prefix = BUS_OBJECT_PREFIX,
    .interface = BUS_OBJECT_INTERFACE,
    .vtable = object_vtable,
    .find = object_find,
    .list = object_list,
};

static int announce(BusManager *m, const ShareEntry *e, ShareEvent ev, const char *uuid,
                    const char *path)
{
        const char *type = share_type_to_string(share_entry_type(e));
        int r;

        switch (ev) {
        case SHARE_EVENT_ADDED:
                /* Deferred: ObjectCount changes after these two signals. */
                r = bus_manager_note_changed(m, BUS_MANAGER_OBJECT_COUNT);
                if (r < 0)
                        return r;
                r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Added",
                                       "sos", uuid, path, type);
                if (r < 0)
                        return r;
                return sd_bus_emit_object_added(m->bus, path);
        case SHARE_EVENT_REMOVED:
                r = bus_manager_note_changed(m, BUS_MANAGER_OBJECT_COUNT);
                if (r < 0)
                        return r;
                r = sd_bus_emit_object_removed(m->bus, path);
                if (r < 0)
                        return r;
                return sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                          "Removed", "so", uuid, path);
        case SHARE_EVENT_CHANGED:
                return sd_bus_emit_properties_changed(m->bus, path, BUS_OBJECT_INTERFACE,
                                                      "LookupCount", NULL);
        }
        return 0;
}

static void on_table_event(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        BusManager *m = userdata;
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        BusSubtreeMark saved;
        int r;

        share_uuid_to_string(share_entry_uuid(e), uuid);
        bus_object_path(share_entry_uuid(e), path);
        saved = bus_subtree_begin_announce(m->objects->subtree, path, (void *) e);
        r = announce(m, e, ev, uuid, path);
        bus_subtree_end_announce(m->objects->subtree, saved);
        if (r < 0)
                log_warning_errno(r, "Failed to announce object %s on the bus: %m", uuid);
}

int bus_object_register(BusManager *m)
{
        BusObjects *o = m->objects = g_new0(BusObjects, 1);
        int r;

        r = bus_subtree_new(m->bus, &object_ops, m, &o->subtree);
        if (r < 0)
                return r;
        o->table_observer = share_table_add_observer(service_table(m->service), on_table_event, m);
        o->observing = true;
        return 0;
}

void bus_object_unregister(BusManager *m)
{
        BusObjects *o = m->objects;

        if (!o)
                return;
        if (o->observing)
                share_table_remove_observer(service_table(m->service), o->table_observer);
        bus_subtree_free(o->subtree);
        g_clear_pointer(&m->objects, g_free);
}
