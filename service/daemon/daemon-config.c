/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon-config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void socket_allow_free(gpointer p)
{
        DaemonSocketAllow *a = p;

        g_free(a->path);
        g_free(a);
}

void daemon_config_init(DaemonConfig *c)
{
        service_config_init_defaults(&c->service);
        c->connect = g_ptr_array_new_with_free_func(g_free);
        c->accept = g_ptr_array_new_with_free_func(g_free);
        c->serve = g_ptr_array_new_with_free_func(g_free);
        c->privileged_group = g_strdup(PRIVILEGED_GROUP);
        c->socket_allow = g_ptr_array_new_with_free_func(socket_allow_free);
}

void daemon_config_clear(DaemonConfig *c)
{
        g_clear_pointer(&c->connect, g_ptr_array_unref);
        g_clear_pointer(&c->accept, g_ptr_array_unref);
        g_clear_pointer(&c->serve, g_ptr_array_unref);
        g_clear_pointer(&c->privileged_group, g_free);
        g_clear_pointer(&c->socket_allow, g_ptr_array_unref);
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

/* A number, or a name looked up with lookup (getpwnam/getgrnam). */
static int parse_id(const char *v, bool group, unsigned *ret)
{
        char *end = NULL;
        unsigned long n;

        if (!v || !*v)
                return -EINVAL;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno == 0 && *end == '\0' && n < (unsigned long) (uid_t) -1) {
                *ret = (unsigned) n;
                return 0;
        }
        if (group) {
                struct group *g = getgrnam(v);
                if (!g)
                        return -ESRCH;
                *ret = g->gr_gid;
        } else {
                struct passwd *pw = getpwnam(v);
                if (!pw)
                        return -ESRCH;
                *ret = pw->pw_uid;
        }
        return 0;
}

static int read_id(GKeyFile *kf, const char *key, bool group, unsigned *ret, GError **error)
{
        g_autofree char *v = NULL;

        if (!g_key_file_has_key(kf, "Service", key, NULL))
                return 0;
        v = g_key_file_get_string(kf, "Service", key, NULL);
        if (v)
                g_strstrip(v);
        if (parse_id(v, group, ret) < 0) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[Service] %s: no %s '%s'", key, group ? "group" : "user", v ? v : "");
                return -EINVAL;
        }
        return 0;
}

/* AllowedUids=: uids or user names, separated by spaces, commas or ';'. */
static int read_uids(GKeyFile *kf, const char *section, uid_t *uids, unsigned *n, GError **error)
{
        g_autofree char *v = NULL;
        g_auto(GStrv) words = NULL;
        unsigned count = 0;

        if (!g_key_file_has_key(kf, section, "AllowedUids", NULL))
                return 0;
        v = g_key_file_get_value(kf, section, "AllowedUids", NULL);
        words = g_strsplit_set(v ? v : "", " \t,;", -1);
        for (char **w = words; *w; w++) {
                unsigned id;

                if (!**w)
                        continue;
                if (count == SERVICE_MAX_ALLOWED_UIDS || parse_id(*w, false, &id) < 0) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "[%s] AllowedUids: '%s' is not a user (or more than %u)",
                                    section, *w, SERVICE_MAX_ALLOWED_UIDS);
                        return -EINVAL;
                }
                uids[count++] = (uid_t) id;
        }
        if (count == 0) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] AllowedUids: empty (leave the key out to allow anyone)", section);
                return -EINVAL;
        }
        *n = count;
        return 0;
}

static int read_socket_sections(GKeyFile *kf, DaemonConfig *c, GError **error)
{
        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

        for (char **g = groups; *g; g++) {
                g_autofree DaemonSocketAllow *a = NULL;
                int r;

                if (!g_str_has_prefix(*g, "Socket "))
                        continue;
                a = g_new0(DaemonSocketAllow, 1);
                r = read_uids(kf, *g, a->uids, &a->n_uids, error);
                if (r < 0)
                        return r;
                a->path = g_strdup(g_strstrip(*g + strlen("Socket ")));
                g_ptr_array_add(c->socket_allow, g_steal_pointer(&a));
        }
        return 0;
}

static void read_paths(GKeyFile *kf, const char *key, GPtrArray *out)
{
        g_auto(GStrv) list = g_key_file_get_string_list(kf, "Peers", key, NULL, NULL);

        for (char **p = list; p && *p; p++)
                if (**p)
                        g_ptr_array_add(out, g_strdup(g_strstrip(*p)));
}

static bool parse_bounded(const char *v, unsigned min, unsigned max, unsigned *ret)
{
        char *end = NULL;
        unsigned long n;

        if (!*v || *v == '-' || *v == '+')
                return false;
        n = strtoul(v, &end, 10);
        if (*end || n < min || n > max)
                return false;
        *ret = (unsigned) n;
        return true;
}

/* Applies one "key=value"; 0 applied, -ENOENT not an option (part of the
 * path), -EINVAL an option with a bad value. */
static int serve_option_apply(const char *opt, ServeOptions *o, GError **error)
{
        const char *eq = strchr(opt, '=');
        g_autofree char *key = eq ? g_strndup(opt, (gsize) (eq - opt)) : NULL;
        const char *v = eq ? eq + 1 : NULL;
        bool ok;

        if (!key)
                return -ENOENT;
        if (g_str_equal(key, "queues"))
                ok = parse_bounded(v, 1, 64, &o->queues);
        else if (g_str_equal(key, "device-id"))
                ok = parse_bounded(v, 1, 255, &o->device_id);
        else if (g_str_equal(key, "reply-ack")) {
                ok = g_str_equal(v, "yes") || g_str_equal(v, "no");
                o->reply_ack = g_str_equal(v, "yes");
        } else
                return -ENOENT;
        if (!ok) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "serve option '%s': expected queues=1..64, device-id=1..255 or "
                            "reply-ack=yes|no",
                            opt);
                return -EINVAL;
        }
        return 0;
}

int serve_spec_parse(const char *spec, const ServiceConfig *defaults, char **ret_path,
                     ServeOptions *ret, GError **error)
{
        g_autofree char *path = g_strdup(spec);
        g_autoptr(GPtrArray) opts = g_ptr_array_new();
        ServeOptions o;
        char *comma;
        int r;

        serve_options_init(&o, defaults);
        /* Split options off the right end; the first segment that is not
         * one belongs to the path. Then apply them left to right, so the
         * last of a repeated option wins, as on a command line. */
        while ((comma = strrchr(path, ','))) {
                ServeOptions probe = o;
                r = serve_option_apply(comma + 1, &probe, error);
                if (r == -ENOENT)
                        break;
                if (r < 0)
                        return r;
                g_ptr_array_insert(opts, 0, comma + 1);
                *comma = '\0';
        }
        for (guint i = 0; i < opts->len; i++)
                (void) serve_option_apply(g_ptr_array_index(opts, i), &o, NULL);
        if (!*path) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "serve '%s': no socket path", spec);
                return -EINVAL;
        }
        *ret_path = g_steal_pointer(&path);
        *ret = o;
        return 0;
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
        if (r >= 0) {
                unsigned uid = s->socket_uid, gid = s->socket_gid;

                r = read_id(kf, "SocketUser", false, &uid, error);
                if (r >= 0)
                        r = read_id(kf, "SocketGroup", true, &gid, error);
                s->socket_uid = (uid_t) uid;
                s->socket_gid = (gid_t) gid;
        }
        if (r >= 0)
                r = read_uids(kf, "Service", s->allowed_uids, &s->n_allowed_uids, error);
        if (r >= 0)
                r = read_socket_sections(kf, c, error);
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
        for (guint i = 0; i < c->serve->len; i++) {
                g_autofree char *serve_path = NULL;
                ServeOptions o;

                r = serve_spec_parse(g_ptr_array_index(c->serve, i), s, &serve_path, &o, error);
                if (r < 0)
                        return r;
        }
        return 0;
}
