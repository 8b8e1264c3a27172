/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-peer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void bus_peer_path(const Peer *p, char out[BUS_PEER_PATH_MAX])
{
        snprintf(out, BUS_PEER_PATH_MAX, BUS_PEER_PREFIX "/%" PRIu64, peer_id(p));
}

int bus_peer_path_to_id(const char *path, uint64_t *ret)
{
        const char *p;
        char *end;
        unsigned long long v;

        if (strncmp(path, BUS_PEER_PREFIX "/", sizeof(BUS_PEER_PREFIX "/") - 1) != 0)
                return -EINVAL;
        p = path + sizeof(BUS_PEER_PREFIX "/") - 1;
        /* Digits only: no sign, no spaces, no leading zeros (one path per peer). */
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1]))
                return -EINVAL;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

Peer *bus_peer_find(BusManager *m, const char *path)
{
        uint64_t id;

        if (bus_peer_path_to_id(path, &id) < 0)
                return NULL;
        if (m->announcing_peer && peer_id(m->announcing_peer) == id)
                return m->announcing_peer;
        return service_find_peer(m->service, id);
}

static int peer_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                     void **found, sd_bus_error *error)
{
        Peer *p = bus_peer_find(userdata, path);

        if (!p)
                return 0;
        *found = p;
        return 1;
}

static bool collect_peer_path(Peer *p, void *userdata)
{
        char path[BUS_PEER_PATH_MAX];

        bus_peer_path(p, path);
        g_ptr_array_add(userdata, g_strdup(path));
        return true;
}

static int peer_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                          sd_bus_error *error)
{
        BusManager *m = userdata;
        GPtrArray *paths = g_ptr_array_new();

        service_foreach_peer(m->service, collect_peer_path, paths);
        g_ptr_array_add(paths, NULL);
        *ret_nodes = (char **) g_ptr_array_free(paths, false);
        return 0;
}

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
        return -EINVAL;
}

#define CONST_PROPERTY(name, sig)                                                                  \
        SD_BUS_PROPERTY(name, sig, property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST)
#define CHANGING_PROPERTY(name, sig)                                                               \
        SD_BUS_PROPERTY(name, sig, property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable peer_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROPERTY("Name", "s"),
    CONST_PROPERTY("Role", "s"),
    CONST_PROPERTY("SocketPath", "s"),
    CHANGING_PROPERTY("State", "s"),
    CHANGING_PROPERTY("Features", "t"),
    CHANGING_PROPERTY("ProtocolFeatures", "t"),
    CHANGING_PROPERTY("SharedObjects", "b"),
    CHANGING_PROPERTY("Pid", "u"),
    CHANGING_PROPERTY("Uid", "u"),
    CHANGING_PROPERTY("ExportedCount", "u"),
    CHANGING_PROPERTY("LastError", "s"),
    SD_BUS_VTABLE_END,
};

static void on_peer_event(Service *s, Peer *p, PeerEvent ev, void *userdata)
{
        BusManager *m = userdata;
        Peer *saved = m->announcing_peer;
        char path[BUS_PEER_PATH_MAX];
        int r = 0;

        bus_peer_path(p, path);
        m->announcing_peer = p;
        switch (ev) {
        case PEER_EVENT_NEW:
                r = sd_bus_emit_object_added(m->bus, path);
                bus_manager_note_peer_count_changed(m);
                break;
        case PEER_EVENT_CHANGED:
                /* Cheaper to send them all than to track which changed. */
                r = sd_bus_emit_properties_changed(
                    m->bus, path, BUS_PEER_INTERFACE, "State", "Features", "ProtocolFeatures",
                    "SharedObjects", "Pid", "Uid", "ExportedCount", "LastError", NULL);
                break;
        case PEER_EVENT_GONE:
                r = sd_bus_emit_object_removed(m->bus, path);
                bus_manager_note_peer_count_changed(m);
                break;
        }
        m->announcing_peer = saved;
        if (r < 0)
                log_warning_errno(r, "Failed to announce peer %s on the bus", peer_name(p));
}

int bus_peer_register(BusManager *m)
{
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, &m->peer_vtable_slot, BUS_PEER_PREFIX,
                                       BUS_PEER_INTERFACE, peer_vtable, peer_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, &m->peer_enumerator_slot, BUS_PEER_PREFIX,
                                       peer_enumerate, m);
        if (r < 0)
                return r;
        m->peer_observer = service_add_peer_observer(m->service, on_peer_event, m);
        m->peer_observing = true;
        return 0;
}

void bus_peer_unregister(BusManager *m)
{
        if (m->peer_observing)
                service_remove_peer_observer(m->service, m->peer_observer);
        m->peer_observing = false;
        m->peer_vtable_slot = sd_bus_slot_unref(m->peer_vtable_slot);
        m->peer_enumerator_slot = sd_bus_slot_unref(m->peer_enumerator_slot);
}
