/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-object.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-peer.h"
#include "log.h"

static const char hexdigits[] = "0123456789abcdef";

void bus_object_path(const uint8_t uuid[SHARE_UUID_SIZE], char out[BUS_OBJECT_PATH_MAX])
{
        char *p = out + sizeof(BUS_OBJECT_PREFIX "/") - 1;

        memcpy(out, BUS_OBJECT_PREFIX "/", sizeof(BUS_OBJECT_PREFIX "/") - 1);
        for (size_t i = 0; i < SHARE_UUID_SIZE; i++) {
                *p++ = hexdigits[uuid[i] >> 4];
                *p++ = hexdigits[uuid[i] & 15];
        }
        *p = 0;
}

static int hexval(char c)
{
        const char *p = c ? strchr(hexdigits, c) : NULL;

        return p ? (int) (p - hexdigits) : -1;
}

int bus_object_path_to_uuid(const char *path, uint8_t uuid[SHARE_UUID_SIZE])
{
        const char *p;

        if (strncmp(path, BUS_OBJECT_PREFIX "/", sizeof(BUS_OBJECT_PREFIX "/") - 1) != 0)
                return -EINVAL;
        p = path + sizeof(BUS_OBJECT_PREFIX "/") - 1;
        if (strlen(p) != 2 * SHARE_UUID_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < SHARE_UUID_SIZE; i++) {
                int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                uuid[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

static int object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **found, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        const ShareEntry *e;

        if (bus_object_path_to_uuid(path, uuid) < 0)
                return 0;
        e = m->announcing_entry;
        if (!e || memcmp(share_entry_uuid(e), uuid, SHARE_UUID_SIZE) != 0)
                e = share_table_lookup(service_table(m->service), uuid);
        if (!e)
                return 0;
        *found = (void *) e;
        return 1;
}

static bool collect_entry_path(const ShareEntry *e, void *userdata)
{
        GPtrArray *paths = userdata;
        char path[BUS_OBJECT_PATH_MAX];

        bus_object_path(share_entry_uuid(e), path);
        g_ptr_array_add(paths, g_strdup(path));
        return true;
}

static int object_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error)
{
        BusManager *m = userdata;
        GPtrArray *paths = g_ptr_array_new();

        share_table_foreach(service_table(m->service), collect_entry_path, paths);
        g_ptr_array_add(paths, NULL);
        /* sd-bus frees the strv with free(); glib's allocator is malloc. */
        *ret_nodes = (char **) g_ptr_array_free(paths, false);
        return 0;
}

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

typedef struct {
        const ShareOwner *owner;
        Peer *found;
} FindOwner;

static bool find_owner_peer(Peer *p, void *userdata)
{
        FindOwner *f = userdata;

        if (peer_owner(p) != f->owner)
                return true;
        f->found = p;
        return false;
}

static int property_get_owner(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
        /* The getter's userdata is the entry; the vtable slot's is the manager. */
        BusManager *m = sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
        const ShareOwner *owner = share_entry_owner(userdata);
        FindOwner f = {.owner = owner};
        char p[BUS_PEER_PATH_MAX];

        /* The peer that owns an entry is found by its owner identity;
         * owner->userdata is not a documented way to get the peer. */
        if (m && owner && owner->kind == SHARE_OWNER_PEER) {
                if (m->announcing_peer && peer_owner(m->announcing_peer) == owner)
                        f.found = m->announcing_peer;
                else
                        service_foreach_peer(m->service, find_owner_peer, &f);
        }
        if (!f.found)
                return sd_bus_message_append(reply, "o", "/");
        bus_peer_path(f.found, p);
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

#define CONST_PROPERTY(name, sig, getter)                                                          \
        SD_BUS_PROPERTY(name, sig, getter, 0, SD_BUS_VTABLE_PROPERTY_CONST)

static const sd_bus_vtable object_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROPERTY("Uuid", "s", property_get_uuid),
    CONST_PROPERTY("Type", "s", property_get_type),
    CONST_PROPERTY("Owner", "o", property_get_owner),
    /* Changes once, to "", when the owner hands the object over (Disown()). */
    SD_BUS_PROPERTY("OwnerBusName", "s", property_get_owner_bus_name, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    CONST_PROPERTY("Size", "t", property_get_info),
    CONST_PROPERTY("Exporter", "s", property_get_info),
    CONST_PROPERTY("Name", "s", property_get_info),
    CONST_PROPERTY("Device", "s", property_get_info),
    CONST_PROPERTY("Allocator", "s", property_get_info),
    CONST_PROPERTY("Inode", "t", property_get_info),
    CONST_PROPERTY("InodeDevice", "t", property_get_info),
    CONST_PROPERTY("CreatedTimestamp", "t", property_get_created),
    SD_BUS_PROPERTY("LookupCount", "t", property_get_lookup_count, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

static void announce(BusManager *m, const ShareEntry *e, ShareEvent ev)
{
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        int r = 0;

        share_uuid_to_string(share_entry_uuid(e), uuid);
        bus_object_path(share_entry_uuid(e), path);

        switch (ev) {
        case SHARE_EVENT_ADDED:
                r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Added",
                                       "sos", uuid, path,
                                       share_type_to_string(share_entry_type(e)));
                if (r >= 0)
                        r = sd_bus_emit_object_added(m->bus, path);
                bus_manager_note_object_count_changed(m);
                break;
        case SHARE_EVENT_REMOVED:
                r = sd_bus_emit_object_removed(m->bus, path);
                if (r >= 0)
                        r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                               "Removed", "so", uuid, path);
                bus_manager_note_object_count_changed(m);
                break;
        case SHARE_EVENT_CHANGED:
                r = sd_bus_emit_properties_changed(m->bus, path, BUS_OBJECT_INTERFACE,
                                                   "LookupCount", NULL);
                break;
        }
        if (r < 0)
                log_warning_errno(r, "Failed to announce object %s on the bus", uuid);
}

static void on_table_event(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        BusManager *m = userdata;
        const ShareEntry *saved = m->announcing_entry;

        m->announcing_entry = e;
        announce(m, e, ev);
        m->announcing_entry = saved;
}

int bus_object_register(BusManager *m)
{
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, &m->object_vtable_slot, BUS_OBJECT_PREFIX,
                                       BUS_OBJECT_INTERFACE, object_vtable, object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, &m->object_enumerator_slot, BUS_OBJECT_PREFIX,
                                       object_enumerate, m);
        if (r < 0)
                return r;
        m->table_observer = share_table_add_observer(service_table(m->service), on_table_event, m);
        m->table_observing = true;
        return 0;
}

void bus_object_unregister(BusManager *m)
{
        if (m->table_observing)
                share_table_remove_observer(service_table(m->service), m->table_observer);
        m->table_observing = false;
        m->object_vtable_slot = sd_bus_slot_unref(m->object_vtable_slot);
        m->object_enumerator_slot = sd_bus_slot_unref(m->object_enumerator_slot);
}
