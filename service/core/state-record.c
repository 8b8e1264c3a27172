/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state record as key-file text, and the sealed memfd that carries it
 * (state-record.h; the format is described in docs/hacking.md). */

#include "state-record.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"

#define STATE_RECORD_MAX_SIZE (64u << 20)
#define OBJECT_GROUP "Object "
#define LISTENER_GROUP "Listener "
#define PEER_GROUP "Peer "
#define BRIDGE_GROUP "Bridge "

static const char *const vring_fd_names[] = {"kick", "call", "err"};

static const char *const owner_kind_names[] = {
    [SHARE_OWNER_PEER] = "peer",
    [SHARE_OWNER_BUS_CLIENT] = "bus-client",
    [SHARE_OWNER_SERVICE] = "service",
};

static void state_object_clear(void *p)
{
        StateObject *o = p;

        g_free(o->fd_name);
        g_free(o->owner_name);
}

static void state_listener_clear(void *p)
{
        StateListener *l = p;

        g_free(l->fd_name);
        g_free(l->path);
}

static void state_peer_clear(void *p)
{
        StatePeer *sp = p;

        g_free(sp->main_fd_name);
        g_free(sp->chan_fd_name);
        g_free(sp->path);
        g_clear_pointer(&sp->exports, g_array_unref);
}

static void state_vring_fd_clear(void *p)
{
        g_free(((StateVringFd *) p)->fd_name);
}

static void state_bridge_clear(void *p)
{
        StateBridge *b = p;

        g_free(b->main_fd_name);
        g_free(b->chan_fd_name);
        g_free(b->path);
        g_clear_pointer(&b->announced, g_array_unref);
        g_clear_pointer(&b->vrings, g_array_unref);
}

GArray *state_vring_fds_new(void)
{
        GArray *a = g_array_new(false, true, sizeof(StateVringFd));

        g_array_set_clear_func(a, state_vring_fd_clear);
        return a;
}

void state_record_init(StateRecord *r)
{
        *r = (StateRecord){0};
        r->objects = g_array_new(false, true, sizeof(StateObject));
        g_array_set_clear_func(r->objects, state_object_clear);
        r->listeners = g_array_new(false, true, sizeof(StateListener));
        g_array_set_clear_func(r->listeners, state_listener_clear);
        r->peers = g_array_new(false, true, sizeof(StatePeer));
        g_array_set_clear_func(r->peers, state_peer_clear);
        r->bridges = g_array_new(false, true, sizeof(StateBridge));
        g_array_set_clear_func(r->bridges, state_bridge_clear);
}

void state_record_clear(StateRecord *r)
{
        g_clear_pointer(&r->objects, g_array_unref);
        g_clear_pointer(&r->listeners, g_array_unref);
        g_clear_pointer(&r->peers, g_array_unref);
        g_clear_pointer(&r->bridges, g_array_unref);
}

/* ---- writing ---- */

static void write_object(GKeyFile *kf, const StateObject *o)
{
        char hex[SHARE_UUID_HEX_LEN];
        g_autofree char *group = NULL;

        share_uuid_to_hex(o->uuid, hex);
        group = g_strconcat(OBJECT_GROUP, hex, NULL);
        g_key_file_set_string(kf, group, "Fd", o->fd_name);
        g_key_file_set_string(kf, group, "Owner", owner_kind_names[o->owner_kind]);
        g_key_file_set_string(kf, group, "OwnerName", o->owner_name ? o->owner_name : "");
        g_key_file_set_uint64(kf, group, "OwnerUid", (uint32_t) o->owner_uid);
        g_key_file_set_uint64(kf, group, "Uid", (uint32_t) o->uid);
        g_key_file_set_uint64(kf, group, "Size", o->info.size);
        g_key_file_set_string(kf, group, "Exporter", o->info.exporter);
        g_key_file_set_string(kf, group, "Name", o->info.name);
        g_key_file_set_uint64(kf, group, "Dev", (uint64_t) o->info.dev);
        g_key_file_set_uint64(kf, group, "Ino", (uint64_t) o->info.ino);
        g_key_file_set_string(kf, group, "Device", o->info.device);
        g_key_file_set_string(kf, group, "Allocator", o->info.allocator);
        g_key_file_set_uint64(kf, group, "Created", o->created_usec);
        g_key_file_set_uint64(kf, group, "Lookups", o->lookup_count);
}

static void write_listener(GKeyFile *kf, const StateListener *l)
{
        g_autofree char *group = g_strdup_printf(LISTENER_GROUP "%" G_GUINT64_FORMAT, l->id);
        g_autoptr(GString) uids = g_string_new(NULL);

        g_key_file_set_string(kf, group, "Fd", l->fd_name);
        g_key_file_set_string(kf, group, "Path", l->path);
        g_key_file_set_string(kf, group, "Role", listener_role_to_string(l->role));
        g_key_file_set_boolean(kf, group, "Configured", l->configured);
        g_key_file_set_uint64(kf, group, "Owner", (uint32_t) l->owner);
        g_key_file_set_uint64(kf, group, "Group", (uint32_t) l->group);
        g_key_file_set_uint64(kf, group, "Mode", l->mode);
        g_key_file_set_uint64(kf, group, "Dev", (uint64_t) l->dev);
        g_key_file_set_uint64(kf, group, "Ino", (uint64_t) l->ino);
        g_key_file_set_uint64(kf, group, "Created", l->created_usec);
        g_key_file_set_uint64(kf, group, "Accepted", l->accepted_count);
        g_key_file_set_uint64(kf, group, "DeviceId", l->serve.device_id);
        g_key_file_set_uint64(kf, group, "Queues", l->serve.queues);
        g_key_file_set_boolean(kf, group, "ReplyAck", l->serve.reply_ack);
        for (unsigned i = 0; i < l->n_allowed_uids; i++)
                g_string_append_printf(uids, "%s%u", i ? ";" : "", (unsigned) l->allowed_uids[i]);
        g_key_file_set_value(kf, group, "AllowedUids", uids->str);
}

/* UUIDs (uint8_t[16] each) as 32 hex digits each, ';' between. */
static void write_uuids(GKeyFile *kf, const char *group, const char *key, const GArray *uuids)
{
        g_autoptr(GString) text = g_string_new(NULL);

        for (guint i = 0; uuids && i < uuids->len; i++) {
                char hex[SHARE_UUID_HEX_LEN];

                share_uuid_to_hex(&g_array_index(uuids, uint8_t, i * SHARE_UUID_SIZE), hex);
                g_string_append_printf(text, "%s%s", i ? ";" : "", hex);
        }
        g_key_file_set_value(kf, group, key, text->str);
}

static void write_peer(GKeyFile *kf, const StatePeer *p)
{
        g_autofree char *group = g_strdup_printf(PEER_GROUP "%" G_GUINT64_FORMAT, p->id);

        g_key_file_set_string(kf, group, "Main", p->main_fd_name);
        g_key_file_set_string(kf, group, "Channel", p->chan_fd_name);
        g_key_file_set_string(kf, group, "Path", p->path);
        g_key_file_set_boolean(kf, group, "Reconnect", p->reconnect);
        g_key_file_set_uint64(kf, group, "Pid", (uint64_t) p->pid);
        g_key_file_set_uint64(kf, group, "Uid", (uint32_t) p->uid);
        g_key_file_set_uint64(kf, group, "Features", p->features);
        g_key_file_set_uint64(kf, group, "ProtocolFeatures", p->protocol_features);
        g_key_file_set_uint64(kf, group, "Queues", p->queues);
        write_uuids(kf, group, "Exports", p->exports);
}

static void write_bridge(GKeyFile *kf, const StateBridge *b)
{
        g_autofree char *group = g_strdup_printf(BRIDGE_GROUP "%" G_GUINT64_FORMAT, b->id);
        g_autoptr(GString) vrings = g_string_new(NULL);

        g_key_file_set_string(kf, group, "Main", b->main_fd_name);
        g_key_file_set_string(kf, group, "Channel", b->chan_fd_name);
        g_key_file_set_string(kf, group, "Path", b->path);
        g_key_file_set_uint64(kf, group, "Pid", (uint64_t) b->pid);
        g_key_file_set_uint64(kf, group, "Uid", (uint32_t) b->uid);
        g_key_file_set_uint64(kf, group, "Features", b->features);
        g_key_file_set_uint64(kf, group, "ProtocolFeatures", b->protocol_features);
        g_key_file_set_boolean(kf, group, "Owned", b->owned);
        g_key_file_set_uint64(kf, group, "Status", b->status);
        g_key_file_set_uint64(kf, group, "DeviceId", b->serve.device_id);
        g_key_file_set_uint64(kf, group, "Queues", b->serve.queues);
        g_key_file_set_boolean(kf, group, "ReplyAck", b->serve.reply_ack);
        write_uuids(kf, group, "Announced", b->announced);
        for (guint i = 0; b->vrings && i < b->vrings->len; i++) {
                const StateVringFd *v = &g_array_index(b->vrings, StateVringFd, i);

                g_string_append_printf(vrings, "%s%u:%s:%s", i ? ";" : "", v->queue,
                                       vring_fd_names[v->which], v->fd_name);
        }
        g_key_file_set_value(kf, group, "Vrings", vrings->str);
}

char *state_record_to_text(const StateRecord *r, size_t *ret_len)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();

        g_key_file_set_integer(kf, "State", "Format", STATE_RECORD_FORMAT);
        g_key_file_set_uint64(kf, "State", "Generation", r->generation);
        g_key_file_set_uint64(kf, "State", "Written", (uint64_t) g_get_real_time());
        for (guint i = 0; i < r->objects->len; i++)
                write_object(kf, &g_array_index(r->objects, StateObject, i));
        for (guint i = 0; i < r->listeners->len; i++)
                write_listener(kf, &g_array_index(r->listeners, StateListener, i));
        for (guint i = 0; i < r->peers->len; i++)
                write_peer(kf, &g_array_index(r->peers, StatePeer, i));
        for (guint i = 0; i < r->bridges->len; i++)
                write_bridge(kf, &g_array_index(r->bridges, StateBridge, i));
        return g_key_file_to_data(kf, ret_len, NULL);
}

/* ---- reading ---- */

/* Reads key of group as an unsigned number up to max; sets error. */
static bool read_number(GKeyFile *kf, const char *group, const char *key, uint64_t max,
                        uint64_t *ret, GError **error)
{
        g_autofree char *value = g_key_file_get_value(kf, group, key, error);
        guint64 n;

        if (!value)
                return false;
        if (!g_ascii_string_to_unsigned(value, 10, 0, max, &n, NULL)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] %s=%s is not a number up to %" G_GUINT64_FORMAT, group, key,
                            value, max);
                return false;
        }
        *ret = n;
        return true;
}

/* Copies the string key of group into buf; too long is malformed. */
static bool read_fixed(GKeyFile *kf, const char *group, const char *key, char *buf, size_t size,
                       GError **error)
{
        g_autofree char *value = g_key_file_get_string(kf, group, key, error);

        if (!value)
                return false;
        if (strlen(value) >= size) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] %s= is too long", group, key);
                return false;
        }
        strcpy(buf, value);
        return true;
}

static bool read_kind(GKeyFile *kf, const char *group, ShareOwnerKind *ret, GError **error)
{
        g_autofree char *value = g_key_file_get_string(kf, group, "Owner", error);

        if (!value)
                return false;
        for (unsigned k = 0; k < G_N_ELEMENTS(owner_kind_names); k++)
                if (strcmp(value, owner_kind_names[k]) == 0) {
                        *ret = k;
                        return true;
                }
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "[%s] Owner=%s is no owner kind", group, value);
        return false;
}

static bool read_object(GKeyFile *kf, const char *group, StateObject *o, GError **error)
{
        const char *hex = group + strlen(OBJECT_GROUP);
        uint64_t n[8];

        if (strlen(hex) != SHARE_UUID_HEX_LEN - 1 || share_uuid_from_string(hex, o->uuid) < 0) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] does not name a UUID", group);
                return false;
        }
        if (!(o->fd_name = g_key_file_get_string(kf, group, "Fd", error)) ||
            !(o->owner_name = g_key_file_get_string(kf, group, "OwnerName", error)) ||
            !read_kind(kf, group, &o->owner_kind, error) ||
            !read_number(kf, group, "OwnerUid", UINT32_MAX, &n[0], error) ||
            !read_number(kf, group, "Uid", UINT32_MAX, &n[1], error) ||
            !read_number(kf, group, "Size", UINT64_MAX, &n[2], error) ||
            !read_number(kf, group, "Dev", UINT64_MAX, &n[3], error) ||
            !read_number(kf, group, "Ino", UINT64_MAX, &n[4], error) ||
            !read_number(kf, group, "Created", UINT64_MAX, &n[5], error) ||
            !read_number(kf, group, "Lookups", UINT64_MAX, &n[6], error) ||
            !read_fixed(kf, group, "Exporter", o->info.exporter, sizeof(o->info.exporter), error) ||
            !read_fixed(kf, group, "Name", o->info.name, sizeof(o->info.name), error) ||
            !read_fixed(kf, group, "Device", o->info.device, sizeof(o->info.device), error) ||
            !read_fixed(kf, group, "Allocator", o->info.allocator, sizeof(o->info.allocator),
                        error))
                return false;
        o->owner_uid = (uid_t) n[0];
        o->uid = (uid_t) n[1];
        o->info.size = n[2];
        o->info.dev = (dev_t) n[3];
        o->info.ino = (ino_t) n[4];
        o->created_usec = n[5];
        o->lookup_count = n[6];
        return true;
}

static bool read_role(GKeyFile *kf, const char *group, Role *ret, GError **error)
{
        g_autofree char *value = g_key_file_get_string(kf, group, "Role", error);

        if (!value)
                return false;
        if (strcmp(value, listener_role_to_string(ROLE_FRONTEND)) == 0)
                *ret = ROLE_FRONTEND;
        else if (strcmp(value, listener_role_to_string(ROLE_BACKEND)) == 0)
                *ret = ROLE_BACKEND;
        else {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] Role=%s is no role", group, value);
                return false;
        }
        return true;
}

static bool read_allowed_uids(GKeyFile *kf, const char *group, StateListener *l, GError **error)
{
        g_autofree char *value = g_key_file_get_value(kf, group, "AllowedUids", error);
        g_auto(GStrv) items = NULL;

        if (!value)
                return false;
        items = g_strsplit(value, ";", -1);
        l->n_allowed_uids = 0;
        for (char **it = items; *it; it++) {
                guint64 uid;

                if (!**it)
                        continue;
                if (l->n_allowed_uids == SERVICE_MAX_ALLOWED_UIDS ||
                    !g_ascii_string_to_unsigned(*it, 10, 0, UINT32_MAX, &uid, NULL)) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "[%s] AllowedUids=%s is malformed", group, value);
                        return false;
                }
                l->allowed_uids[l->n_allowed_uids++] = (uid_t) uid;
        }
        return true;
}

static bool read_listener(GKeyFile *kf, const char *group, StateListener *l, GError **error)
{
        uint64_t n[10];

        if (!g_ascii_string_to_unsigned(group + strlen(LISTENER_GROUP), 10, 1, UINT64_MAX, &n[0],
                                        NULL)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] does not name a listener id", group);
                return false;
        }
        l->id = n[0];
        if (!(l->fd_name = g_key_file_get_string(kf, group, "Fd", error)) ||
            !(l->path = g_key_file_get_string(kf, group, "Path", error)) ||
            !read_role(kf, group, &l->role, error) ||
            !read_number(kf, group, "Owner", UINT32_MAX, &n[1], error) ||
            !read_number(kf, group, "Group", UINT32_MAX, &n[2], error) ||
            !read_number(kf, group, "Mode", 07777, &n[3], error) ||
            !read_number(kf, group, "Dev", UINT64_MAX, &n[4], error) ||
            !read_number(kf, group, "Ino", UINT64_MAX, &n[5], error) ||
            !read_number(kf, group, "Created", UINT64_MAX, &n[6], error) ||
            !read_number(kf, group, "Accepted", UINT64_MAX, &n[7], error) ||
            !read_number(kf, group, "DeviceId", UINT32_MAX, &n[8], error) ||
            !read_number(kf, group, "Queues", 64, &n[9], error) ||
            !read_allowed_uids(kf, group, l, error))
                return false;
        l->configured = g_key_file_get_boolean(kf, group, "Configured", NULL);
        l->serve.reply_ack = g_key_file_get_boolean(kf, group, "ReplyAck", NULL);
        l->owner = (uid_t) n[1];
        l->group = (gid_t) n[2];
        l->mode = (mode_t) n[3];
        l->dev = (dev_t) n[4];
        l->ino = (ino_t) n[5];
        l->created_usec = n[6];
        l->accepted_count = n[7];
        l->serve.device_id = (unsigned) n[8];
        l->serve.queues = (unsigned) n[9];
        return true;
}

static bool read_uuids(GKeyFile *kf, const char *group, const char *key, GArray **ret,
                       GError **error)
{
        g_autofree char *value = g_key_file_get_value(kf, group, key, error);
        g_auto(GStrv) items = NULL;

        if (!value)
                return false;
        items = g_strsplit(value, ";", -1);
        *ret = g_array_new(false, false, SHARE_UUID_SIZE);
        for (char **it = items; *it; it++) {
                uint8_t uuid[SHARE_UUID_SIZE];

                if (!**it)
                        continue;
                if (strlen(*it) != SHARE_UUID_HEX_LEN - 1 ||
                    share_uuid_from_string(*it, uuid) < 0) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "[%s] %s= has no UUID %s", group, key, *it);
                        return false;
                }
                g_array_append_vals(*ret, uuid, 1);
        }
        return true;
}

static bool read_peer(GKeyFile *kf, const char *group, StatePeer *p, GError **error)
{
        uint64_t n[7];

        if (!g_ascii_string_to_unsigned(group + strlen(PEER_GROUP), 10, 1, UINT64_MAX, &n[0],
                                        NULL)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] does not name a peer id", group);
                return false;
        }
        p->id = n[0];
        if (!(p->main_fd_name = g_key_file_get_string(kf, group, "Main", error)) ||
            !(p->chan_fd_name = g_key_file_get_string(kf, group, "Channel", error)) ||
            !(p->path = g_key_file_get_string(kf, group, "Path", error)) ||
            !read_number(kf, group, "Pid", INT32_MAX, &n[1], error) ||
            !read_number(kf, group, "Uid", UINT32_MAX, &n[2], error) ||
            !read_number(kf, group, "Features", UINT64_MAX, &n[3], error) ||
            !read_number(kf, group, "ProtocolFeatures", UINT64_MAX, &n[4], error) ||
            !read_number(kf, group, "Queues", UINT64_MAX, &n[5], error) ||
            !read_uuids(kf, group, "Exports", &p->exports, error))
                return false;
        p->reconnect = g_key_file_get_boolean(kf, group, "Reconnect", NULL);
        p->pid = (pid_t) n[1];
        p->uid = (uid_t) n[2];
        p->features = n[3];
        p->protocol_features = n[4];
        p->queues = n[5];
        return true;
}

/* Vrings=: "<queue>:<kick|call|err>:<fd name>", ';' between. */
static bool read_vrings(GKeyFile *kf, const char *group, StateBridge *b, GError **error)
{
        g_autofree char *value = g_key_file_get_value(kf, group, "Vrings", error);
        g_auto(GStrv) items = NULL;

        if (!value)
                return false;
        items = g_strsplit(value, ";", -1);
        b->vrings = state_vring_fds_new();
        for (char **it = items; *it; it++) {
                g_auto(GStrv) parts = NULL;
                StateVringFd v = {0};
                guint64 queue;
                unsigned which = G_N_ELEMENTS(vring_fd_names);

                if (!**it)
                        continue;
                parts = g_strsplit(*it, ":", 3);
                if (g_strv_length(parts) == 3)
                        for (which = 0; which < G_N_ELEMENTS(vring_fd_names); which++)
                                if (strcmp(parts[1], vring_fd_names[which]) == 0)
                                        break;
                if (which == G_N_ELEMENTS(vring_fd_names) || !*parts[2] ||
                    !g_ascii_string_to_unsigned(parts[0], 10, 0, 63, &queue, NULL)) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "[%s] Vrings= has no ring fd %s", group, *it);
                        return false;
                }
                v.queue = (unsigned) queue;
                v.which = which;
                v.fd_name = g_strdup(parts[2]);
                g_array_append_val(b->vrings, v);
        }
        return true;
}

static bool read_bridge(GKeyFile *kf, const char *group, StateBridge *b, GError **error)
{
        uint64_t n[9];

        if (!g_ascii_string_to_unsigned(group + strlen(BRIDGE_GROUP), 10, 1, UINT64_MAX, &n[0],
                                        NULL)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "[%s] does not name a peer id", group);
                return false;
        }
        b->id = n[0];
        if (!(b->main_fd_name = g_key_file_get_string(kf, group, "Main", error)) ||
            !(b->chan_fd_name = g_key_file_get_string(kf, group, "Channel", error)) ||
            !(b->path = g_key_file_get_string(kf, group, "Path", error)) ||
            !read_number(kf, group, "Pid", INT32_MAX, &n[1], error) ||
            !read_number(kf, group, "Uid", UINT32_MAX, &n[2], error) ||
            !read_number(kf, group, "Features", UINT64_MAX, &n[3], error) ||
            !read_number(kf, group, "ProtocolFeatures", UINT64_MAX, &n[4], error) ||
            !read_number(kf, group, "Status", UINT64_MAX, &n[5], error) ||
            !read_number(kf, group, "DeviceId", UINT32_MAX, &n[6], error) ||
            !read_number(kf, group, "Queues", 64, &n[7], error) ||
            !read_uuids(kf, group, "Announced", &b->announced, error) ||
            !read_vrings(kf, group, b, error))
                return false;
        b->owned = g_key_file_get_boolean(kf, group, "Owned", NULL);
        b->serve.reply_ack = g_key_file_get_boolean(kf, group, "ReplyAck", NULL);
        b->pid = (pid_t) n[1];
        b->uid = (uid_t) n[2];
        b->features = n[3];
        b->protocol_features = n[4];
        b->status = n[5];
        b->serve.device_id = (unsigned) n[6];
        b->serve.queues = (unsigned) n[7];
        return true;
}

int state_record_from_text(StateRecord *r, const char *text, size_t len, GError **error)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_auto(GStrv) groups = NULL;
        g_autoptr(GError) e = NULL;
        uint64_t format;

        if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &e) ||
            !read_number(kf, "State", "Format", UINT32_MAX, &format, &e) ||
            (format == STATE_RECORD_FORMAT &&
             !read_number(kf, "State", "Generation", UINT64_MAX, &r->generation, &e))) {
                g_propagate_prefixed_error(error, g_steal_pointer(&e), "state record: ");
                return -EINVAL;
        }
        if (format != STATE_RECORD_FORMAT) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "state record: Format=%" G_GUINT64_FORMAT " is not %d", format,
                            STATE_RECORD_FORMAT);
                return -EPROTONOSUPPORT;
        }
        groups = g_key_file_get_groups(kf, NULL);
        for (char **g = groups; *g; g++) {
                bool ok = true;

                if (g_str_has_prefix(*g, OBJECT_GROUP)) {
                        StateObject o = {0};

                        ok = read_object(kf, *g, &o, &e);
                        g_array_append_val(r->objects, o); /* cleared with the array */
                } else if (g_str_has_prefix(*g, LISTENER_GROUP)) {
                        StateListener l = {0};

                        ok = read_listener(kf, *g, &l, &e);
                        g_array_append_val(r->listeners, l);
                } else if (g_str_has_prefix(*g, PEER_GROUP)) {
                        StatePeer p = {0};

                        ok = read_peer(kf, *g, &p, &e);
                        g_array_append_val(r->peers, p);
                } else if (g_str_has_prefix(*g, BRIDGE_GROUP)) {
                        StateBridge b = {0};

                        ok = read_bridge(kf, *g, &b, &e);
                        g_array_append_val(r->bridges, b);
                }
                if (!ok) {
                        g_propagate_prefixed_error(error, g_steal_pointer(&e), "state record: ");
                        return -EINVAL;
                }
        }
        return 0;
}

/* ---- the memfd ---- */

int state_record_write_memfd(const StateRecord *r, int *ret_fd)
{
        g_autofree char *name =
            g_strdup_printf("vhost-shared-state-%" G_GUINT64_FORMAT, r->generation);
        _cleanup_close_ int fd = -1;
        g_autofree char *text = NULL;
        size_t len, done = 0;

        text = state_record_to_text(r, &len);
        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t n = write(fd, text + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        *ret_fd = g_steal_fd(&fd);
        return 0;
}

int state_record_read_fd(StateRecord *r, int fd, GError **error)
{
        g_autofree char *text = NULL;
        struct stat st;
        size_t done = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > STATE_RECORD_MAX_SIZE) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "state record: not a file of 1 to %u bytes", STATE_RECORD_MAX_SIZE);
                return -EINVAL;
        }
        text = g_malloc((size_t) st.st_size);
        while (done < (size_t) st.st_size) {
                ssize_t n = pread(fd, text + done, (size_t) st.st_size - done, (off_t) done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return state_record_from_text(r, text, done, error);
}

uint64_t state_record_fd_generation(const char *name)
{
        guint64 n;

        if (!name || !g_str_has_prefix(name, STATE_RECORD_FD_PREFIX) ||
            !g_ascii_string_to_unsigned(name + strlen(STATE_RECORD_FD_PREFIX), 10, 1, UINT64_MAX,
                                        &n, NULL))
                return 0;
        return n;
}
