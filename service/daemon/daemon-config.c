/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-shared's configuration file and serve specs, read into a
 * DaemonConfig. The [Service] keys are a table: key, kind of value, limit,
 * field of ServiceConfig. */

#include "daemon-config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buffer-rule.h"
#include "config.h"
#include "socket-util.h"

static int invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Sets error to the message of fmt; returns -EINVAL. */
static int invalid(GError **error, const char *fmt, ...)
{
        va_list ap;
        GError *e;

        va_start(ap, fmt);
        e = g_error_new_valist(G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, fmt, ap);
        va_end(ap);
        g_propagate_error(error, e);
        return -EINVAL;
}

static void serve_socket_free(gpointer p)
{
        DaemonServeSocket *s = p;

        g_free(s->path);
        g_free(s);
}

static void socket_section_free(gpointer p)
{
        DaemonSocketSection *s = p;

        g_free(s->path);
        g_free(s);
}

void daemon_config_init(DaemonConfig *c)
{
        service_config_init_defaults(&c->service_config);
        c->connect = g_ptr_array_new_with_free_func(g_free);
        c->accept = g_ptr_array_new_with_free_func(g_free);
        c->serve = g_ptr_array_new_with_free_func(serve_socket_free);
        c->privileged_group = g_strdup(PRIVILEGED_GROUP);
        c->sockets = g_ptr_array_new_with_free_func(socket_section_free);
}

void daemon_config_clear(DaemonConfig *c)
{
        g_clear_pointer(&c->connect, g_ptr_array_unref);
        g_clear_pointer(&c->accept, g_ptr_array_unref);
        g_clear_pointer(&c->serve, g_ptr_array_unref);
        g_clear_pointer(&c->privileged_group, g_free);
        g_clear_pointer(&c->sockets, g_ptr_array_unref);
        g_clear_pointer(&c->socket_directories, g_strfreev);
}

/* A decimal number in min..max, nothing else (no sign, no suffix). */
static bool parse_bounded(const char *v, unsigned min, unsigned max, unsigned *ret)
{
        char *end = NULL;
        unsigned long n;

        if (!*v || *v == '-' || *v == '+')
                return false;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno != 0 || *end || n < min || n > max)
                return false;
        *ret = (unsigned) n;
        return true;
}

/* A uid or gid: a number, or a user or group name. -EINVAL when empty,
 * -ESRCH when no such user or group. */
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

/* [group] key= as text, stripped. */
static int read_string(GKeyFile *kf, const char *group, const char *key, char **ret, GError **error)
{
        g_autoptr(GError) local = NULL;
        char *v;

        v = g_key_file_get_string(kf, group, key, &local);
        if (!v)
                return invalid(error, "[%s] %s: %s", group, key, local->message);
        *ret = g_strstrip(v);
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
                if (count == SERVICE_MAX_ALLOWED_UIDS)
                        return invalid(error, "[%s] AllowedUids: more than %u users", section,
                                       SERVICE_MAX_ALLOWED_UIDS);
                if (parse_id(*w, false, &id) < 0)
                        return invalid(error, "[%s] AllowedUids: '%s' is not a user", section, *w);
                uids[count++] = (uid_t) id;
        }
        if (count == 0)
                return invalid(error, "[%s] AllowedUids: empty (leave the key out to allow anyone)",
                               section);
        *n = count;
        return 0;
}

typedef enum {
        VALUE_NUMBER, /* unsigned, 0..max */
        VALUE_MSEC,   /* milliseconds 0..max into a uint64_t of µs */
        VALUE_MODE,   /* octal, 0..max, into a mode_t */
        VALUE_USER,   /* uid or user name into a uid_t */
        VALUE_GROUP,  /* gid or group name into a gid_t */
        VALUE_BYTES,  /* bytes, or K, M, G, T (powers of 1024), up to max GiB, into a uint64_t */
} ValueKind;

typedef struct {
        const char *key;
        ValueKind kind;
        unsigned max;
        size_t offset; /* in ServiceConfig */
} ServiceKey;

/* In the order they are checked; vhost-shared.conf(5) documents each. */
static const ServiceKey service_keys[] = {
    {"LookupTimeoutMSec", VALUE_MSEC, 3600 * 1000, offsetof(ServiceConfig, lookup_timeout_usec)},
    {"ReplyTimeoutMSec", VALUE_MSEC, 3600 * 1000, offsetof(ServiceConfig, reply_timeout_usec)},
    {"ExporterSilenceLimitMSec", VALUE_MSEC, 4 * 3600 * 1000,
     offsetof(ServiceConfig, exporter_silence_limit_usec)},
    {"MaxMissedAnswers", VALUE_NUMBER, 1u << 16, offsetof(ServiceConfig, max_missed_answers)},
    {"MaxObjectsPerPeer", VALUE_NUMBER, 1u << 24, offsetof(ServiceConfig, max_objects_per_peer)},
    {"MaxObjectsPerClient", VALUE_NUMBER, 1u << 24,
     offsetof(ServiceConfig, max_objects_per_client)},
    {"MaxPeers", VALUE_NUMBER, 1u << 16, offsetof(ServiceConfig, max_peers)},
    {"MaxPendingLookupsPerPeer", VALUE_NUMBER, 1u << 20,
     offsetof(ServiceConfig, max_pending_lookups_per_peer)},
    {"MaxPendingLookups", VALUE_NUMBER, 1u << 20, offsetof(ServiceConfig, max_pending_lookups)},
    {"MaxQueuedMessages", VALUE_NUMBER, 1u << 24, offsetof(ServiceConfig, max_queued_messages)},
    {"MaxQueuedBytes", VALUE_NUMBER, 1u << 30, offsetof(ServiceConfig, max_queued_bytes)},
    {"MaxPendingLookupsPerUid", VALUE_NUMBER, 1u << 20,
     offsetof(ServiceConfig, max_pending_lookups_per_uid)},
    {"MaxObjectsPerUid", VALUE_NUMBER, 1u << 24, offsetof(ServiceConfig, max_objects_per_uid)},
    {"MaxDisownedObjectsPerUid", VALUE_NUMBER, 1u << 24,
     offsetof(ServiceConfig, max_disowned_per_uid)},
    {"MaxBytesPerClient", VALUE_BYTES, 1u << 20, offsetof(ServiceConfig, max_bytes_per_client)},
    {"MaxBytesPerUid", VALUE_BYTES, 1u << 20, offsetof(ServiceConfig, max_bytes_per_uid)},
    {"MaxBytesTotal", VALUE_BYTES, 1u << 20, offsetof(ServiceConfig, max_bytes_total)},
    {"BridgeDeviceId", VALUE_NUMBER, 255, offsetof(ServiceConfig, bridge_device_id)},
    {"BridgeQueues", VALUE_NUMBER, 64, offsetof(ServiceConfig, bridge_queues)},
    {"SocketMode", VALUE_MODE, 07777, offsetof(ServiceConfig, socket_mode)},
    {"SocketUser", VALUE_USER, 0, offsetof(ServiceConfig, socket_uid)},
    {"SocketGroup", VALUE_GROUP, 0, offsetof(ServiceConfig, socket_gid)},
};

static int read_number(GKeyFile *kf, const ServiceKey *k, unsigned *ret, GError **error)
{
        g_autoptr(GError) local = NULL;
        guint64 v;

        v = g_key_file_get_uint64(kf, "Service", k->key, &local);
        if (local || v > k->max)
                return invalid(error, "[Service] %s: expected a number up to %u", k->key, k->max);
        *ret = (unsigned) v;
        return 0;
}

/* A size: decimal bytes, or with a K, M, G or T suffix (powers of 1024). */
static bool parse_size(const char *v, uint64_t max, uint64_t *ret)
{
        static const char suffixes[] = "KMGT";
        const char *unit_char;
        uint64_t n, unit = 1;
        char *end = NULL;

        if (!g_ascii_isdigit(*v))
                return false;
        errno = 0;
        n = g_ascii_strtoull(v, &end, 10);
        if (errno != 0)
                return false;
        if (*end && (unit_char = strchr(suffixes, *end))) {
                unit = UINT64_C(1) << (10 * (unit_char - suffixes + 1));
                end++;
        }
        if (*end || n > max / unit)
                return false;
        *ret = n * unit;
        return true;
}

static int read_bytes(GKeyFile *kf, const ServiceKey *k, uint64_t *ret, GError **error)
{
        g_autofree char *v = g_key_file_get_string(kf, "Service", k->key, NULL);

        if (!v || !parse_size(g_strstrip(v), (uint64_t) k->max << 30, ret))
                return invalid(error,
                               "[Service] %s: expected a size in bytes (or K, M, G, T) up to %uG",
                               k->key, k->max);
        return 0;
}

static int read_mode(GKeyFile *kf, const ServiceKey *k, unsigned *ret, GError **error)
{
        g_autofree char *v = g_key_file_get_string(kf, "Service", k->key, NULL);
        char *end = NULL;
        unsigned long m = 0;

        if (v) {
                errno = 0;
                m = strtoul(v, &end, 8);
        }
        if (!v || !*v || errno != 0 || *end || m > k->max)
                return invalid(error, "[Service] %s: expected an octal mode such as 0660", k->key);
        *ret = (unsigned) m;
        return 0;
}

static int read_id(GKeyFile *kf, const ServiceKey *k, unsigned *ret, GError **error)
{
        bool group = k->kind == VALUE_GROUP;
        g_autofree char *v = g_key_file_get_string(kf, "Service", k->key, NULL);

        if (v)
                g_strstrip(v);
        if (parse_id(v, group, ret) < 0)
                return invalid(error, "[Service] %s: no %s '%s'", k->key, group ? "group" : "user",
                               v ? v : "");
        return 0;
}

/* One [Service] key into its field of s, when the file has it. */
static int read_service_key(GKeyFile *kf, const ServiceKey *k, ServiceConfig *s, GError **error)
{
        void *field = (char *) s + k->offset;
        unsigned v = 0;
        int r;

        if (!g_key_file_has_key(kf, "Service", k->key, NULL))
                return 0;
        if (k->kind == VALUE_BYTES)
                return read_bytes(kf, k, field, error);
        switch (k->kind) {
        case VALUE_NUMBER:
        case VALUE_MSEC:
                r = read_number(kf, k, &v, error);
                break;
        case VALUE_MODE:
                r = read_mode(kf, k, &v, error);
                break;
        default:
                r = read_id(kf, k, &v, error);
                break;
        }
        if (r < 0)
                return r;
        switch (k->kind) {
        case VALUE_NUMBER:
                *(unsigned *) field = v;
                break;
        case VALUE_MSEC:
                *(uint64_t *) field = (uint64_t) v * 1000;
                break;
        case VALUE_MODE:
                *(mode_t *) field = (mode_t) v;
                break;
        case VALUE_USER:
                *(uid_t *) field = (uid_t) v;
                break;
        case VALUE_GROUP:
                *(gid_t *) field = (gid_t) v;
                break;
        case VALUE_BYTES: /* read_bytes() above */
                break;
        }
        return 0;
}

/* AcceptedBuffers=: dma-buf, sealed-memfd, memfd, separated by spaces or
 * commas. *kinds is left alone without the key. */
static int read_accepted_buffers(GKeyFile *kf, const char *section, unsigned *kinds, GError **error)
{
        g_autofree char *v = NULL;
        const char *bad;

        if (!g_key_file_has_key(kf, section, "AcceptedBuffers", NULL))
                return 0;
        v = g_key_file_get_value(kf, section, "AcceptedBuffers", NULL);
        if (!v || buffer_kinds_from_string(v, kinds, &bad) < 0)
                return invalid(error,
                               "[%s] AcceptedBuffers: '%s' is not dma-buf, sealed-memfd or memfd",
                               section, v && bad ? bad : "");
        return 0;
}

static int read_service_section(GKeyFile *kf, ServiceConfig *s, GError **error)
{
        int r;

        for (size_t i = 0; i < G_N_ELEMENTS(service_keys); i++) {
                r = read_service_key(kf, &service_keys[i], s, error);
                if (r < 0)
                        return r;
        }
        r = read_accepted_buffers(kf, "Service", &s->accepted_buffers, error);
        if (r < 0)
                return r;
        return read_uids(kf, "Service", s->allowed_uids, &s->n_allowed_uids, error);
}

/* SocketDirectories=: absolute paths separated by spaces; none (an empty
 * value) lets only root place sockets. */
static int read_socket_directories(GKeyFile *kf, DaemonConfig *c, GError **error)
{
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        g_autofree char *v = NULL;
        g_auto(GStrv) words = NULL;

        int r;

        if (!g_key_file_has_key(kf, "Service", "SocketDirectories", NULL))
                return 0;
        r = read_string(kf, "Service", "SocketDirectories", &v, error);
        if (r < 0)
                return r;
        words = g_strsplit_set(v, " \t", -1);
        for (char **w = words; *w; w++) {
                size_t n = strlen(*w);

                if (n == 0)
                        continue;
                while (n > 1 && (*w)[n - 1] == '/') /* "/run/vhost-share/" is the same */
                        (*w)[--n] = '\0';
                r = g_str_equal(*w, "/") ? 0 : socket_path_check(*w);
                if (**w != '/' || (r < 0 && r != -ENAMETOOLONG)) {
                        g_autofree char *shown = socket_path_escape(*w);

                        return invalid(error,
                                       "[Service] SocketDirectories: '%s' is not an absolute path "
                                       "without control characters, '.' or '..'",
                                       shown);
                }
                g_strv_builder_add(b, *w);
        }
        g_strfreev(c->socket_directories);
        c->socket_directories = g_strv_builder_end(b);
        c->service_config.socket_directories = (const char *const *) c->socket_directories;
        return 0;
}

/* [Socket PATH] sections. One without AllowedUids= has the global list,
 * and still names a socket that must exist. */
static int read_socket_sections(GKeyFile *kf, DaemonConfig *c, GError **error)
{
        const ServiceConfig *s = &c->service_config;
        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

        for (char **g = groups; *g; g++) {
                g_autofree DaemonSocketSection *section = NULL;
                int r;

                if (!g_str_has_prefix(*g, "Socket "))
                        continue;
                section = g_new0(DaemonSocketSection, 1);
                section->n_allowed_uids = s->n_allowed_uids;
                memcpy(section->allowed_uids, s->allowed_uids, sizeof(section->allowed_uids));
                r = read_uids(kf, *g, section->allowed_uids, &section->n_allowed_uids, error);
                if (r < 0)
                        return r;
                r = read_accepted_buffers(kf, *g, &section->accepted_buffers, error);
                if (r < 0)
                        return r;
                section->path = g_strdup(g_strstrip(*g + strlen("Socket ")));
                g_ptr_array_add(c->sockets, g_steal_pointer(&section));
        }
        return 0;
}

/* [Peers] key=: a list separated by ';'; blank entries are passed over. */
static GStrv read_peer_list(GKeyFile *kf, const char *key)
{
        g_auto(GStrv) list = g_key_file_get_string_list(kf, "Peers", key, NULL, NULL);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();

        for (char **p = list; p && *p; p++)
                if (*g_strstrip(*p))
                        g_strv_builder_add(b, *p);
        return g_strv_builder_end(b);
}

static void read_paths(GKeyFile *kf, const char *key, GPtrArray *out)
{
        g_auto(GStrv) list = read_peer_list(kf, key);

        for (char **p = list; *p; p++)
                g_ptr_array_add(out, g_strdup(*p));
}

static int read_peers_section(GKeyFile *kf, DaemonConfig *c, GError **error)
{
        g_auto(GStrv) serve = read_peer_list(kf, "Serve");
        int r;

        read_paths(kf, "Connect", c->connect);
        read_paths(kf, "Accept", c->accept);
        for (char **spec = serve; *spec; spec++) {
                r = daemon_config_add_serve(c, *spec, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int daemon_config_load_key_file(DaemonConfig *c, GKeyFile *kf, GError **error)
{
        int r;

        r = read_service_section(kf, &c->service_config, error);
        if (r < 0)
                return r;
        r = read_socket_directories(kf, c, error);
        if (r < 0)
                return r;
        r = read_socket_sections(kf, c, error);
        if (r < 0)
                return r;
        /* After [Service]: a serve spec's defaults are its Bridge* keys. */
        r = read_peers_section(kf, c, error);
        if (r < 0)
                return r;
        if (g_key_file_has_key(kf, "DBus", "PrivilegedGroup", NULL)) {
                g_autofree char *group = NULL;

                r = read_string(kf, "DBus", "PrivilegedGroup", &group, error);
                if (r < 0)
                        return r;
                g_free(c->privileged_group);
                c->privileged_group = g_steal_pointer(&group);
        }
        return 0;
}

int daemon_config_default_socket_group(DaemonConfig *c)
{
        struct group *g;

        if (c->service_config.socket_gid != (gid_t) -1 || !c->privileged_group ||
            !*c->privileged_group)
                return 0;
        g = getgrnam(c->privileged_group);
        if (!g)
                return -ESRCH;
        c->service_config.socket_gid = g->gr_gid;
        return 0;
}

int daemon_config_load_data(DaemonConfig *c, const char *data, GError **error)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();

        if (!g_key_file_load_from_data(kf, data, (gsize) -1, G_KEY_FILE_NONE, error))
                return -EINVAL;
        return daemon_config_load_key_file(c, kf, error);
}

int daemon_config_load_file(DaemonConfig *c, const char *path, GError **error)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) local = NULL;

        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &local)) {
                bool missing = g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT);

                g_propagate_error(error, g_steal_pointer(&local));
                return missing ? -ENOENT : -EINVAL;
        }
        return daemon_config_load_key_file(c, kf, error);
}

/* The options of a serve spec: a number in min..max, or yes|no. */
typedef struct {
        const char *key;
        bool yes_no;
        unsigned min, max;
        size_t offset; /* in ServeOptions: an unsigned, or the bool of yes_no */
} ServeOptionKey;

static const ServeOptionKey serve_option_keys[] = {
    {"queues", false, 1, 64, offsetof(ServeOptions, queues)},
    {"device-id", false, 1, 255, offsetof(ServeOptions, device_id)},
    {"reply-ack", true, 0, 0, offsetof(ServeOptions, reply_ack)},
};

static const ServeOptionKey *serve_option_key(const char *opt, size_t len)
{
        for (size_t i = 0; i < G_N_ELEMENTS(serve_option_keys); i++)
                if (strlen(serve_option_keys[i].key) == len &&
                    strncmp(serve_option_keys[i].key, opt, len) == 0)
                        return &serve_option_keys[i];
        return NULL;
}

/* Applies one "key=value" of a serve spec to o, unless one given later in
 * the spec was applied already (seen). 0; -ENOENT when opt is no option
 * (it is part of the path); -EINVAL (error set) for a bad value. */
static int serve_option_apply(const char *opt, ServeOptions *o, unsigned *seen, GError **error)
{
        const char *eq = strchr(opt, '=');
        const ServeOptionKey *k = eq ? serve_option_key(opt, (size_t) (eq - opt)) : NULL;
        unsigned bit, n = 0;
        bool ok;

        if (!k)
                return -ENOENT;
        if (k->yes_no)
                ok = g_str_equal(eq + 1, "yes") || g_str_equal(eq + 1, "no");
        else
                ok = parse_bounded(eq + 1, k->min, k->max, &n);
        if (!ok)
                return invalid(error,
                               "serve option '%s': expected queues=1..64, device-id=1..255 or "
                               "reply-ack=yes|no",
                               opt);
        bit = 1u << (k - serve_option_keys);
        if (*seen & bit)
                return 0;
        *seen |= bit;
        if (k->yes_no)
                *(bool *) ((char *) o + k->offset) = g_str_equal(eq + 1, "yes");
        else
                *(unsigned *) ((char *) o + k->offset) = n;
        return 0;
}

int serve_spec_parse(const char *spec, const ServiceConfig *defaults, char **ret_path,
                     ServeOptions *ret, GError **error)
{
        g_autofree char *path = g_strdup(spec);
        unsigned seen = 0;
        ServeOptions o;
        char *comma;
        int r;

        serve_options_init(&o, defaults);
        /* Options come off the right end until a segment is none: that one
         * and what is left of it is the path. Right to left, the first of
         * a repeated option seen is the last one given, the one that counts. */
        while ((comma = strrchr(path, ','))) {
                r = serve_option_apply(comma + 1, &o, &seen, error);
                if (r == -ENOENT)
                        break;
                if (r < 0)
                        return r;
                *comma = '\0';
        }
        if (!*path)
                return invalid(error, "serve '%s': no socket path", spec);
        *ret_path = g_steal_pointer(&path);
        *ret = o;
        return 0;
}

int daemon_config_add_serve(DaemonConfig *c, const char *spec, GError **error)
{
        g_autofree DaemonServeSocket *s = g_new0(DaemonServeSocket, 1);
        int r;

        r = serve_spec_parse(spec, &c->service_config, &s->path, &s->options, error);
        if (r < 0)
                return r;
        g_ptr_array_add(c->serve, g_steal_pointer(&s));
        return 0;
}

/* ---- the effective configuration as text (vhost-shared --print-config) ---- */

/* The value of key k in s as the configuration file writes it. */
static char *format_service_key(const ServiceKey *k, const ServiceConfig *s)
{
        const void *field = (const char *) s + k->offset;

        switch (k->kind) {
        case VALUE_NUMBER:
                return g_strdup_printf("%u", *(const unsigned *) field);
        case VALUE_MSEC:
                return g_strdup_printf("%" G_GUINT64_FORMAT, *(const uint64_t *) field / 1000);
        case VALUE_MODE:
                return g_strdup_printf("%04o", (unsigned) *(const mode_t *) field);
        case VALUE_USER:
        case VALUE_GROUP:
                /* uid_t and gid_t alike; (id) -1 is unset, which no value says. */
                if (*(const unsigned *) field == (unsigned) -1)
                        return NULL;
                return g_strdup_printf("%u", *(const unsigned *) field);
        case VALUE_BYTES:
                return g_strdup_printf("%" G_GUINT64_FORMAT, *(const uint64_t *) field);
        }
        return g_strdup("?");
}

static void print_service_key(GString *out, const ServiceKey *k, const ServiceConfig *s)
{
        g_autofree char *v = format_service_key(k, s);

        if (v)
                g_string_append_printf(out, "%s=%s\n", k->key, v);
        else
                g_string_append_printf(out, "#%s= (unset: the service's %s)\n", k->key,
                                       k->kind == VALUE_USER ? "user" : "group");
}

static void print_uids(GString *out, const uid_t *uids, unsigned n)
{
        if (n == 0) {
                g_string_append(out, "#AllowedUids= (unset: anyone who can open the socket)\n");
                return;
        }
        g_string_append(out, "AllowedUids=");
        for (unsigned i = 0; i < n; i++)
                g_string_append_printf(out, "%s%u", i ? " " : "", (unsigned) uids[i]);
        g_string_append_c(out, '\n');
}

static void print_accepted_buffers(GString *out, unsigned kinds)
{
        char buf[BUFFER_KINDS_STRING_MAX];

        g_string_append_printf(out, "AcceptedBuffers=%s\n", buffer_kinds_to_string(kinds, buf));
}

static void print_list(GString *out, const char *key, GPtrArray *items)
{
        g_string_append_printf(out, "%s=", key);
        for (guint i = 0; i < items->len; i++)
                g_string_append_printf(out, "%s;", (const char *) g_ptr_array_index(items, i));
        g_string_append_c(out, '\n');
}

char *daemon_config_to_text(const DaemonConfig *c)
{
        const ServiceConfig *s = &c->service_config;
        g_autoptr(GPtrArray) serve = g_ptr_array_new_with_free_func(g_free);
        GString *out = g_string_new("# The effective configuration of vhost-shared "
                                    "(vhost-shared.conf(5)).\n[Service]\n");

        for (size_t i = 0; i < G_N_ELEMENTS(service_keys); i++)
                print_service_key(out, &service_keys[i], s);
        g_string_append(out, "SocketDirectories=");
        for (const char *const *d = s->socket_directories; d && *d; d++)
                g_string_append_printf(out, "%s%s", d == s->socket_directories ? "" : " ", *d);
        g_string_append_c(out, '\n');
        print_uids(out, s->allowed_uids, s->n_allowed_uids);
        print_accepted_buffers(out, s->accepted_buffers ?: BUFFER_KINDS_DEFAULT);

        for (guint i = 0; i < c->sockets->len; i++) {
                const DaemonSocketSection *sec = g_ptr_array_index(c->sockets, i);

                g_string_append_printf(out, "\n[Socket %s]\n", sec->path);
                print_uids(out, sec->allowed_uids, sec->n_allowed_uids);
                if (sec->accepted_buffers)
                        print_accepted_buffers(out, sec->accepted_buffers);
        }

        for (guint i = 0; i < c->serve->len; i++) {
                const DaemonServeSocket *sv = g_ptr_array_index(c->serve, i);

                g_ptr_array_add(serve,
                                g_strdup_printf("%s,queues=%u,device-id=%u,reply-ack=%s", sv->path,
                                                sv->options.queues, sv->options.device_id,
                                                sv->options.reply_ack ? "yes" : "no"));
        }
        g_string_append(out, "\n[Peers]\n");
        print_list(out, "Connect", c->connect);
        print_list(out, "Accept", c->accept);
        print_list(out, "Serve", serve);

        g_string_append_printf(out, "\n[DBus]\nPrivilegedGroup=%s\n",
                               c->privileged_group ? c->privileged_group : "");
        return g_string_free(out, false);
}

/* ---- reload: what changed ---- */

static char *format_uids(const uid_t *uids, unsigned n)
{
        GString *s = g_string_new(NULL);

        for (unsigned i = 0; i < n; i++)
                g_string_append_printf(s, "%s%u", i ? " " : "", (unsigned) uids[i]);
        return g_string_free(s, false);
}

unsigned daemon_config_diff(const ServiceConfig *old, const ServiceConfig *new,
                            DaemonConfigDiffFn fn, void *userdata)
{
        g_autofree char *old_uids = format_uids(old->allowed_uids, old->n_allowed_uids);
        g_autofree char *new_uids = format_uids(new->allowed_uids, new->n_allowed_uids);
        unsigned n = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(service_keys); i++) {
                g_autofree char *a = format_service_key(&service_keys[i], old);
                g_autofree char *b = format_service_key(&service_keys[i], new);

                if (g_strcmp0(a, b) != 0) {
                        fn(service_keys[i].key, a ?: "(unset)", b ?: "(unset)", userdata);
                        n++;
                }
        }
        if (strcmp(old_uids, new_uids) != 0) {
                fn("AllowedUids", old_uids, new_uids, userdata);
                n++;
        }
        return n;
}
