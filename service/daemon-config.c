/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon-config.h"

#include <errno.h>
#include <stdlib.h>

#include "config.h"

void daemon_config_init(DaemonConfig *c)
{
        service_config_init_defaults(&c->service);
        c->connect = g_ptr_array_new_with_free_func(g_free);
        c->accept = g_ptr_array_new_with_free_func(g_free);
        c->serve = g_ptr_array_new_with_free_func(g_free);
        c->privileged_group = g_strdup(PRIVILEGED_GROUP);
}

void daemon_config_clear(DaemonConfig *c)
{
        g_clear_pointer(&c->connect, g_ptr_array_unref);
        g_clear_pointer(&c->accept, g_ptr_array_unref);
        g_clear_pointer(&c->serve, g_ptr_array_unref);
        g_clear_pointer(&c->privileged_group, g_free);
}

static int read_uint(GKeyFile *kf, const char *key, unsigned max, unsigned *ret, GError **error)
{
        g_autoptr(GError) local = NULL;
        guint64 v;

        if (!g_key_file_has_key(kf, "Service", key, NULL))
                return 0;
        v = g_key_file_get_uint64(kf, "Service", key, &local);
        if (local || v > max) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[Service] %s: expected a number up to %u", key, max);
                return -EINVAL;
        }
        *ret = (unsigned) v;
        return 0;
}

static void read_paths(GKeyFile *kf, const char *key, GPtrArray *out)
{
        g_auto(GStrv) list = g_key_file_get_string_list(kf, "Peers", key, NULL, NULL);

        for (char **p = list; p && *p; p++)
                if (**p)
                        g_ptr_array_add(out, g_strdup(g_strstrip(*p)));
}

int daemon_config_load(DaemonConfig *c, const char *path, GError **error)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) local = NULL;
        ServiceConfig *s = &c->service;
        unsigned lookup_ms = (unsigned) (s->lookup_timeout_usec / 1000);
        unsigned reply_ms = (unsigned) (s->reply_timeout_usec / 1000);
        unsigned mode = s->socket_mode;
        int r = 0;

        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &local)) {
                if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                        g_propagate_error(error, g_steal_pointer(&local));
                        return -ENOENT;
                }
                g_propagate_error(error, g_steal_pointer(&local));
                return -EINVAL;
        }
        if (r >= 0)
                r = read_uint(kf, "LookupTimeoutMSec", 3600 * 1000, &lookup_ms, error);
        if (r >= 0)
                r = read_uint(kf, "ReplyTimeoutMSec", 3600 * 1000, &reply_ms, error);
        if (r >= 0)
                r = read_uint(kf, "MaxObjectsPerPeer", 1u << 24, &s->max_objects_per_peer, error);
        if (r >= 0)
                r = read_uint(kf, "MaxObjectsPerClient", 1u << 24, &s->max_objects_per_client,
                              error);
        if (r >= 0)
                r = read_uint(kf, "MaxPeers", 1u << 16, &s->max_peers, error);
        if (r >= 0)
                r = read_uint(kf, "MaxPendingLookupsPerPeer", 1u << 20,
                              &s->max_pending_lookups_per_peer, error);
        if (r >= 0)
                r = read_uint(kf, "MaxPendingLookups", 1u << 20, &s->max_pending_lookups, error);
        if (r >= 0)
                r = read_uint(kf, "BridgeDeviceId", 255, &s->bridge_device_id, error);
        if (r >= 0)
                r = read_uint(kf, "BridgeQueues", 64, &s->bridge_queues, error);
        if (r >= 0 && g_key_file_has_key(kf, "Service", "SocketMode", NULL)) {
                g_autofree char *v = g_key_file_get_string(kf, "Service", "SocketMode", NULL);
                char *end = NULL;
                unsigned long m = v ? strtoul(v, &end, 8) : 0;

                if (!v || !*v || *end || m > 07777) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "[Service] SocketMode: expected an octal mode such as 0660");
                        return -EINVAL;
                }
                mode = (unsigned) m;
        }
        if (r < 0)
                return r;
        s->lookup_timeout_usec = (uint64_t) lookup_ms * 1000;
        s->reply_timeout_usec = (uint64_t) reply_ms * 1000;
        s->socket_mode = (mode_t) mode;
        read_paths(kf, "Connect", c->connect);
        read_paths(kf, "Accept", c->accept);
        read_paths(kf, "Serve", c->serve);
        if (g_key_file_has_key(kf, "DBus", "PrivilegedGroup", NULL)) {
                g_free(c->privileged_group);
                c->privileged_group = g_key_file_get_string(kf, "DBus", "PrivilegedGroup", NULL);
                g_strstrip(c->privileged_group);
        }
        return 0;
}
