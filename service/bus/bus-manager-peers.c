/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's methods on peers and listeners: ListPeers, AddPeer,
 * RemovePeer (bus-manager-methods.h). */
#include "bus-manager-methods.h"

#include <errno.h>

#include "bus-access.h"
#include "bus-args.h"
#include "bus-error.h"
#include "bus-listener.h"
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

/* "accept" and "serve": a listener owned by the caller. */
static int add_listener(BusManager *m, sd_bus_message *msg, Role role, const char *socket_path,
                        sd_bus_error *error)
{
        char path[BUS_LISTENER_PATH_MAX];
        const char *role_s = listener_role_to_string(role);
        Listener *l;
        uid_t owner;
        int r;

        r = bus_access_get_euid(msg, &owner);
        if (r < 0)
                return r;
        r = service_add_listener(m->service, socket_path, role, NULL, owner, &l);
        if (r == -EEXIST) {
                l = service_find_listener_by_path(m->service, socket_path);
                bus_listener_path(l ? listener_get_id(l) : 0, path);
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "The service listens at %s already (%s)", socket_path,
                                         path);
        }
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot %s %s", role_s, socket_path);
        bus_listener_path(listener_get_id(l), path);
        log_info("Bus client %s (uid %u) added listener %s: %s %s", sd_bus_message_get_sender(msg),
                 (unsigned) owner, path, role_s, socket_path);
        return sd_bus_reply_method_return(msg, "o", path);
}

static int add_connect_peer(BusManager *m, sd_bus_message *msg, const char *socket_path,
                            sd_bus_error *error)
{
        char path[BUS_PEER_PATH_MAX];
        Peer *p = NULL;
        int r;

        r = service_connect_backend(m->service, socket_path, &p);
        if (r == -EUSERS)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_REACHED,
                                         "The service has the maximum of %u peers",
                                         service_config(m->service)->max_peers);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot connect %s", socket_path);
        log_info("Bus client %s added peer: connect %s", sd_bus_message_get_sender(msg),
                 socket_path);
        bus_peer_path(peer_id(p), path);
        return sd_bus_reply_method_return(msg, "o", path);
}

int bus_manager_method_add_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        const char *role_s, *socket_path;
        BusAddPeerRole role;
        int r;

        r = bus_manager_read_privileged_args(m, msg, error, "ss", &role_s, &socket_path);
        if (r != 0)
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

        switch (role) {
        case BUS_ADD_PEER_CONNECT:
                return add_connect_peer(m, msg, socket_path, error);
        case BUS_ADD_PEER_ACCEPT:
                return add_listener(m, msg, ROLE_FRONTEND, socket_path, error);
        case BUS_ADD_PEER_SERVE:
                return add_listener(m, msg, ROLE_BACKEND, socket_path, error);
        }
        return -EINVAL;
}

/* RemovePeer on a listener: the socket closes and its file goes; the peers
 * it accepted stay. */
static int remove_listener(BusManager *m, sd_bus_message *msg, Listener *l)
{
        char path[BUS_LISTENER_PATH_MAX];

        bus_listener_path(listener_get_id(l), path);
        log_info("Bus client %s removes listener %s (%s)", sd_bus_message_get_sender(msg), path,
                 listener_get_path(l));
        service_remove_listener(m->service, l);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_manager_method_remove_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        g_autofree char *reason = NULL;
        const char *path;
        Listener *l;
        Peer *p;
        int r;

        r = bus_manager_read_privileged_args(m, msg, error, "o", &path);
        if (r != 0)
                return r;
        l = bus_listener_find(m, path);
        if (l)
                return remove_listener(m, msg, l);
        p = bus_peer_find(m, path);
        if (!p)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No peer or listener %s",
                                         path);
        reason = g_strdup_printf("removed over D-Bus by %s", sd_bus_message_get_sender(msg));
        log_info("Bus client %s removes peer %s", sd_bus_message_get_sender(msg), peer_name(p));
        service_close_peer(m->service, p, reason);
        return sd_bus_reply_method_return(msg, NULL);
}
