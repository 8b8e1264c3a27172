/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's methods on peers: ListPeers, AddPeer, RemovePeer
 * (bus-manager-methods.h). */
#include "bus-manager-methods.h"

#include <errno.h>

#include "bus-access.h"
#include "bus-args.h"
#include "bus-error.h"
#include "bus-paths.h"
#include "bus-peer.h"
#include "log.h"

static bool append_peer(Peer *p, void *userdata)
{
        BusAppender *a = userdata;
        char path[BUS_PEER_PATH_MAX];

        bus_peer_path(peer_id(p), path);
        a->r = sd_bus_message_append(a->message, "(so)", peer_name(p) ?: "", path);
        return a->r >= 0;
}

static void fill_peers(BusManager *m, BusAppender *a)
{
        service_foreach_peer(m->service, append_peer, a);
}

int bus_manager_method_list_peers(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return bus_manager_reply_list(msg, "(so)", fill_peers, userdata);
}

static int add_peer(BusManager *m, BusAddPeerRole role, const char *socket_path, Peer **ret)
{
        switch (role) {
        case BUS_ADD_PEER_CONNECT:
                return service_connect_backend(m->service, socket_path, ret);
        case BUS_ADD_PEER_ACCEPT:
                return service_listen_backends(m->service, socket_path);
        case BUS_ADD_PEER_SERVE:
                return service_listen_frontends(m->service, socket_path);
        }
        return -EINVAL;
}

int bus_manager_method_add_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        char path[BUS_PEER_PATH_MAX];
        const char *role_s, *socket_path;
        BusAddPeerRole role;
        Peer *p = NULL;
        int r;

        r = bus_manager_read_privileged_args(m, msg, error, "ss", &role_s, &socket_path);
        if (r < 0)
                return r;
        r = bus_args_check_socket_path(socket_path, error);
        if (r < 0)
                return r;
        r = bus_args_parse_add_peer_role(role_s, &role, error);
        if (r < 0)
                return r;
        if (role != BUS_ADD_PEER_CONNECT) {
                r = bus_access_check_socket_place(
                    msg, socket_path, service_config(m->service)->socket_directories, error);
                if (r < 0)
                        return r;
        }

        r = add_peer(m, role, socket_path, &p);
        if (r == -EUSERS)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_REACHED,
                                         "The service has the maximum of %u peers",
                                         service_config(m->service)->max_peers);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot %s %s", role_s, socket_path);
        log_info("Bus client %s added peer: %s %s", sd_bus_message_get_sender(msg), role_s,
                 socket_path);
        /* "accept" and "serve" listen: their peers appear as they connect. */
        if (!p)
                return sd_bus_reply_method_return(msg, "o", "/");
        bus_peer_path(peer_id(p), path);
        return sd_bus_reply_method_return(msg, "o", path);
}

int bus_manager_method_remove_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        g_autofree char *reason = NULL;
        const char *path;
        Peer *p;
        int r;

        r = bus_manager_read_privileged_args(m, msg, error, "o", &path);
        if (r < 0)
                return r;
        p = bus_peer_find(m, path);
        if (!p)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No peer %s", path);
        reason = g_strdup_printf("removed over D-Bus by %s", sd_bus_message_get_sender(msg));
        log_info("Bus client %s removes peer %s", sd_bus_message_get_sender(msg), peer_name(p));
        service_close_peer(m->service, p, reason);
        return sd_bus_reply_method_return(msg, NULL);
}
