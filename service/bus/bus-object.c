/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-object.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-client.h"
#include "bus-paths.h"
#include "log.h"

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
         * (share-table.h; peer.c sets it, and the core finds the peer of an
         * entry that way too), and a peer's entries go before the peer does. */
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

/* "dma-buf" or "memfd" for a buffer the service holds (what the kernel
 * says the fd is), "" when a back-end holds it. */
static int property_get_buffer_type(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error)
{
        const ShareBufferInfo *info = share_entry_info(userdata);
        const char *type = "";

        if (share_entry_type(userdata) == SHARE_TYPE_DMABUF)
                type = info && strcmp(info->exporter, "memfd") == 0 ? "memfd" : "dma-buf";
        return sd_bus_message_append(reply, "s", type);
}

/* The process that owns an entry: a bus client as the bus reported it, a
 * peer from SO_PEERCRED, the service itself; pid 0, uid (uid_t) -1 and
 * command "" when unknown (the XML's convention). */
typedef struct {
        pid_t pid;
        uid_t uid;
        char command[64];
} OwnerProcess;

static void read_comm(pid_t pid, char *out, size_t n)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/comm", (int) pid);
        g_autofree char *text = NULL;

        out[0] = 0;
        if (pid > 0 && g_file_get_contents(path, &text, NULL, NULL))
                g_strlcpy(out, g_strchomp(text), n);
}

static void owner_process(const ShareEntry *e, OwnerProcess *o)
{
        const ShareOwner *owner = share_entry_owner(e);
        const char *comm = NULL;

        *o = (OwnerProcess){.uid = (uid_t) -1};
        if (!owner)
                return;
        switch (owner->kind) {
        case SHARE_OWNER_BUS_CLIENT:
                o->uid = owner->uid;
                bus_client_owner_process(owner, &o->pid, &comm);
                g_strlcpy(o->command, comm ?: "", sizeof(o->command));
                break;
        case SHARE_OWNER_PEER:
                if (!owner->userdata)
                        return;
                o->pid = peer_pid(owner->userdata);
                o->uid = peer_uid(owner->userdata);
                /* Read now: the peer's socket is open, so its pid is its own. */
                read_comm(o->pid, o->command, sizeof(o->command));
                break;
        case SHARE_OWNER_SERVICE:
                o->pid = getpid();
                o->uid = geteuid();
                g_strlcpy(o->command, "vhost-shared", sizeof(o->command));
                break;
        }
}

static int property_get_owner_process(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error)
{
        OwnerProcess o;

        owner_process(userdata, &o);
        if (strcmp(property, "OwnerPid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) o.pid);
        if (strcmp(property, "OwnerUid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) o.uid);
        if (strcmp(property, "OwnerCommand") == 0)
                return sd_bus_message_append(reply, "s", o.command);
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
    /* Change with OwnerBusName (Disown() announces them). */
    BUS_PROPERTY_CHANGING("OwnerPid", "u", property_get_owner_process),
    BUS_PROPERTY_CHANGING("OwnerUid", "u", property_get_owner_process),
    BUS_PROPERTY_CHANGING("OwnerCommand", "s", property_get_owner_process),
    BUS_PROPERTY_CONST("BufferType", "s", property_get_buffer_type),
    /* Changes once, from 0, for a back-end's object: announced with the
     * lookup that showed it (bus-lookup-events.c). */
    BUS_PROPERTY_CHANGING("Size", "t", property_get_info),
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

/* The manager's Added before InterfacesAdded, Removed after
 * InterfacesRemoved. */
static int emit_added_removed(BusManager *m, BusSubtreeEvent ev, const char *path,
                              const void *object)
{
        const ShareEntry *e = object;
        char uuid[SHARE_UUID_STR_LEN];

        share_uuid_to_string(share_entry_uuid(e), uuid);
        if (ev == BUS_SUBTREE_ADDED)
                return sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Added",
                                          "sos", uuid, path,
                                          share_type_to_string(share_entry_type(e)));
        return sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Removed", "so",
                                  uuid, path);
}

static void on_table_event(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        static const BusSubtreeEvent events[] = {
            [SHARE_EVENT_ADDED] = BUS_SUBTREE_ADDED,
            [SHARE_EVENT_REMOVED] = BUS_SUBTREE_REMOVED,
            [SHARE_EVENT_CHANGED] = BUS_SUBTREE_CHANGED,
        };
        char uuid[SHARE_UUID_STR_LEN];
        int r;

        r = bus_subtree_announce(userdata, events[ev], e);
        if (r < 0) {
                share_uuid_to_string(share_entry_uuid(e), uuid);
                log_warning_errno(r, "Failed to announce object %s on the bus: %m", uuid);
        }
}

static unsigned object_observe(BusManager *m, BusSubtree *st)
{
        return share_table_add_observer(service_table(m->service), on_table_event, st);
}

static void object_unobserve(BusManager *m, unsigned id)
{
        share_table_remove_observer(service_table(m->service), id);
}

/* The table says CHANGED for a lookup (share_table_note_lookup()).
 * OwnerBusName changes with Disown(), which announces it
 * (bus-manager-objects.c). */
static const char *const changing[] = {"LookupCount", NULL};

const BusSubtreeOps bus_object_ops = {
    .prefix = BUS_OBJECT_PREFIX,
    .interface = BUS_OBJECT_INTERFACE,
    .vtable = object_vtable,
    .find = object_find,
    .list = object_list,
    .path = object_path,
    .observe = object_observe,
    .unobserve = object_unobserve,
    .count = BUS_MANAGER_OBJECT_COUNT,
    .changing = changing,
    .emit_manager_signal = emit_added_removed,
};
