/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-peer.h"

#include <errno.h>
#include <string.h>

#include "bus-paths.h"
#include "log.h"

Peer *bus_peer_find(BusManager *m, const char *path)
{
        uint64_t id;

        if (bus_peer_path_to_id(path, &id) < 0)
                return NULL;
        return service_find_peer(m->service, id);
}

static void *peer_find(BusManager *m, const char *path)
{
        return bus_peer_find(m, path);
}

static char *peer_path(const void *p)
{
        char path[BUS_PEER_PATH_MAX];

        bus_peer_path(peer_id(p), path);
        return g_strdup(path);
}

static bool collect_peer_path(Peer *p, void *paths)
{
        g_ptr_array_add(paths, peer_path(p));
        return true;
}

static void peer_list(BusManager *m, GPtrArray *paths)
{
        service_foreach_peer(m->service, collect_peer_path, paths);
}

/* The getter's userdata is the peer at the path: peer_find()'s, or the one
 * being announced. */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Peer *p = userdata;

        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", peer_name(p) ?: "");
        if (strcmp(property, "Role") == 0)
                return sd_bus_message_append(reply, "s", role_remote_to_string(peer_role(p)));
        if (strcmp(property, "SocketPath") == 0)
                return sd_bus_message_append(reply, "s", peer_socket_path(p) ?: "");
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", peer_state_to_string(peer_state(p)));
        if (strcmp(property, "Features") == 0)
                return sd_bus_message_append(reply, "t", peer_features(p));
        if (strcmp(property, "ProtocolFeatures") == 0)
                return sd_bus_message_append(reply, "t", peer_protocol_features(p));
        if (strcmp(property, "SharedObjects") == 0)
                return sd_bus_message_append(reply, "b", (int) peer_shared_objects(p));
        if (strcmp(property, "Pid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) peer_pid(p));
        if (strcmp(property, "Uid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) peer_uid(p));
        if (strcmp(property, "ExportedCount") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) peer_exported_count(p));
        if (strcmp(property, "LastError") == 0)
                return sd_bus_message_append(reply, "s", peer_last_error(p) ?: "");
        if (strcmp(property, "NextRetryTimestamp") == 0)
                return sd_bus_message_append(reply, "t", peer_next_retry_usec(p));
        return -EINVAL;
}

static const sd_bus_vtable peer_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("Name", "s", property_get),
    BUS_PROPERTY_CONST("Role", "s", property_get),
    BUS_PROPERTY_CONST("SocketPath", "s", property_get),
    BUS_PROPERTY_CHANGING("State", "s", property_get),
    BUS_PROPERTY_CHANGING("Features", "t", property_get),
    BUS_PROPERTY_CHANGING("ProtocolFeatures", "t", property_get),
    BUS_PROPERTY_CHANGING("SharedObjects", "b", property_get),
    BUS_PROPERTY_CHANGING("Pid", "u", property_get),
    BUS_PROPERTY_CHANGING("Uid", "u", property_get),
    BUS_PROPERTY_CHANGING("ExportedCount", "u", property_get),
    BUS_PROPERTY_CHANGING("LastError", "s", property_get),
    BUS_PROPERTY_CHANGING("NextRetryTimestamp", "t", property_get),
    SD_BUS_VTABLE_END,
};

static void on_peer_event(Service *s, Peer *p, PeerEvent ev, void *userdata)
{
        static const BusSubtreeEvent events[] = {
            [PEER_EVENT_NEW] = BUS_SUBTREE_ADDED,
            [PEER_EVENT_CHANGED] = BUS_SUBTREE_CHANGED,
            [PEER_EVENT_GONE] = BUS_SUBTREE_REMOVED,
        };
        int r;

        r = bus_subtree_announce(userdata, events[ev], p);
        if (r < 0)
                log_warning_errno(r, "Failed to announce peer %s on the bus: %m", peer_name(p));
}

static unsigned peer_observe(BusManager *m, BusSubtree *st)
{
        return service_add_peer_observer(m->service, on_peer_event, st);
}

static void peer_unobserve(BusManager *m, unsigned id)
{
        service_remove_peer_observer(m->service, id);
}

/* Every property that can change: cheaper to send them all than to track
 * which changed. */
static const char *const changing[] = {
    "State", "Features",      "ProtocolFeatures", "SharedObjects",      "Pid",
    "Uid",   "ExportedCount", "LastError",        "NextRetryTimestamp", NULL};

const BusSubtreeOps bus_peer_ops = {
    .prefix = BUS_PEER_PREFIX,
    .interface = BUS_PEER_INTERFACE,
    .vtable = peer_vtable,
    .find = peer_find,
    .list = peer_list,
    .path = peer_path,
    .observe = peer_observe,
    .unobserve = peer_unobserve,
    .count = BUS_MANAGER_PEER_COUNT,
    .changing = changing,
};
