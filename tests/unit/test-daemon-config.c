/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-shared's configuration, without the daemon: every key of
 * vhost-shared.conf(5) and every option of a serve spec (--serve, Serve=),
 * their defaults, and the error each bad value gives. */

#include <errno.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "buffer-rule.h"
#include "config.h"
#include "daemon-config.h"

#define SERVE_OPTION_HINT "expected queues=1..64, device-id=1..255 or reply-ack=yes|no"

/* Loads text into a fresh DaemonConfig; the error message, or NULL. */
static char *load(DaemonConfig *c, const char *text, int *ret)
{
        g_autoptr(GError) error = NULL;
        int r;

        daemon_config_init(c);
        r = daemon_config_load_data(c, text, &error);
        if (ret)
                *ret = r;
        g_assert_true((r < 0) == (error != NULL));
        return error ? g_strdup(error->message) : NULL;
}

static void load_ok(DaemonConfig *c, const char *text)
{
        int r;
        g_autofree char *message = load(c, text, &r);

        g_assert_cmpstr(message, ==, NULL);
        g_assert_cmpint(r, ==, 0);
}

/* The text must be refused with -EINVAL, G_KEY_FILE_ERROR_INVALID_VALUE and
 * exactly this message. */
static void assert_refused(const char *text, const char *expected)
{
        g_auto(DaemonConfig) c = {0};
        g_autoptr(GError) error = NULL;

        daemon_config_init(&c);
        g_assert_cmpint(daemon_config_load_data(&c, text, &error), ==, -EINVAL);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
        g_assert_cmpstr(error->message, ==, expected);
}

static void assert_default_service_config(const ServiceConfig *s)
{
        g_assert_cmpuint(s->lookup_timeout_usec, ==, 1000 * 1000);
        g_assert_cmpuint(s->reply_timeout_usec, ==, 5 * 1000 * 1000);
        g_assert_cmpuint(s->max_objects_per_peer, ==, 4096);
        g_assert_cmpuint(s->max_objects_per_client, ==, 1024);
        g_assert_cmpuint(s->max_peers, ==, 64);
        g_assert_cmpuint(s->max_pending_lookups_per_peer, ==, 64);
        g_assert_cmpuint(s->max_pending_lookups, ==, 1024);
        g_assert_cmpuint(s->max_queued_messages, ==, 65536);
        g_assert_cmpuint(s->max_queued_bytes, ==, 4 * 1024 * 1024);
        g_assert_cmpuint(s->max_pending_lookups_per_uid, ==, 512);
        g_assert_cmpuint(s->max_objects_per_uid, ==, 4096);
        g_assert_cmpuint(s->max_disowned_per_uid, ==, 256);
        g_assert_cmpuint(s->max_bytes_per_client, ==, UINT64_C(1) << 30);
        g_assert_cmpuint(s->max_bytes_per_uid, ==, UINT64_C(2) << 30);
        g_assert_cmpuint(s->max_bytes_total, ==, UINT64_C(4) << 30);
        g_assert_cmpuint(s->bridge_device_id, ==, 4);
        g_assert_cmpuint(s->bridge_queues, ==, 1);
        g_assert_cmpuint(s->socket_mode, ==, 0660);
        g_assert_cmpuint(s->socket_uid, ==, (uid_t) -1);
        g_assert_cmpuint(s->socket_gid, ==, (gid_t) -1);
        g_assert_cmpuint(s->n_allowed_uids, ==, 0);
}

static void assert_nothing_listed(const DaemonConfig *c)
{
        g_assert_cmpuint(c->connect->len, ==, 0);
        g_assert_cmpuint(c->accept->len, ==, 0);
        g_assert_cmpuint(c->serve->len, ==, 0);
        g_assert_cmpuint(c->sockets->len, ==, 0);
}

static void test_defaults(void)
{
        g_auto(DaemonConfig) c = {0};

        daemon_config_init(&c);
        assert_default_service_config(&c.service_config);
        assert_nothing_listed(&c);
        g_assert_cmpstr(c.privileged_group, ==, PRIVILEGED_GROUP);
}

/* An empty file, comments and empty sections change nothing. */
static void test_empty_file(void)
{
        static const char *const texts[] = {
            "",
            "# nothing here\n\n",
            "[Service]\n[Peers]\n[DBus]\n",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
                g_auto(DaemonConfig) c = {0};

                load_ok(&c, texts[i]);
                assert_default_service_config(&c.service_config);
                assert_nothing_listed(&c);
                g_assert_cmpstr(c.privileged_group, ==, PRIVILEGED_GROUP);
        }
}

static void test_every_service_key(void)
{
        g_auto(DaemonConfig) c = {0};
        const ServiceConfig *s = &c.service_config;

        load_ok(&c, "[Service]\n"
                    "LookupTimeoutMSec=250\n"
                    "ReplyTimeoutMSec=7000\n"
                    "MaxObjectsPerPeer=10\n"
                    "MaxObjectsPerClient=11\n"
                    "MaxPeers=12\n"
                    "MaxPendingLookupsPerPeer=13\n"
                    "MaxPendingLookups=14\n"
                    "MaxQueuedMessages=17\n"
                    "MaxQueuedBytes=18\n"
                    "MaxPendingLookupsPerUid=15\n"
                    "MaxObjectsPerUid=17\n"
                    "MaxDisownedObjectsPerUid=18\n"
                    "MaxBytesPerClient=1G\n"
                    "MaxBytesPerUid=3M\n"
                    "MaxBytesTotal=4096\n"
                    "BridgeDeviceId=16\n"
                    "BridgeQueues=2\n"
                    "SocketMode=0640\n"
                    "SocketUser=65534\n"
                    "SocketGroup=65533\n"
                    "AllowedUids=0 65534\n"
                    "ExporterSilenceLimitMSec=9000\n"
                    "MaxMissedAnswers=5\n"
                    "AcceptedBuffers=memfd\n");
        g_assert_cmpuint(s->lookup_timeout_usec, ==, 250 * 1000);
        g_assert_cmpuint(s->reply_timeout_usec, ==, 7000 * 1000);
        g_assert_cmpuint(s->max_objects_per_peer, ==, 10);
        g_assert_cmpuint(s->max_objects_per_client, ==, 11);
        g_assert_cmpuint(s->max_peers, ==, 12);
        g_assert_cmpuint(s->max_pending_lookups_per_peer, ==, 13);
        g_assert_cmpuint(s->max_pending_lookups, ==, 14);
        g_assert_cmpuint(s->max_queued_messages, ==, 17);
        g_assert_cmpuint(s->max_queued_bytes, ==, 18);
        g_assert_cmpuint(s->max_pending_lookups_per_uid, ==, 15);
        g_assert_cmpuint(s->max_objects_per_uid, ==, 17);
        g_assert_cmpuint(s->max_disowned_per_uid, ==, 18);
        g_assert_cmpuint(s->max_bytes_per_client, ==, UINT64_C(1) << 30);
        g_assert_cmpuint(s->max_bytes_per_uid, ==, 3u << 20);
        g_assert_cmpuint(s->max_bytes_total, ==, 4096);
        g_assert_cmpuint(s->bridge_device_id, ==, 16);
        g_assert_cmpuint(s->bridge_queues, ==, 2);
        g_assert_cmpuint(s->socket_mode, ==, 0640);
        g_assert_cmpuint(s->socket_uid, ==, 65534);
        g_assert_cmpuint(s->socket_gid, ==, 65533);
        g_assert_cmpuint(s->n_allowed_uids, ==, 2);
        g_assert_cmpuint(s->allowed_uids[0], ==, 0);
        g_assert_cmpuint(s->allowed_uids[1], ==, 65534);
        g_assert_cmpuint(s->exporter_silence_limit_usec, ==, 9000 * 1000);
        g_assert_cmpuint(s->max_missed_answers, ==, 5);
        g_assert_cmpuint(s->accepted_buffers, ==, BUFFER_KIND_MEMFD);
        assert_nothing_listed(&c);
}

/* The numeric keys: 0 and the maximum are taken, above it or not a
 * number is refused naming the key and its maximum. */
static void test_number_limits(void)
{
        static const struct {
                const char *key;
                unsigned max;
        } keys[] = {
            {"LookupTimeoutMSec", 3600000},
            {"ReplyTimeoutMSec", 3600000},
            {"MaxObjectsPerPeer", 16777216},
            {"MaxObjectsPerClient", 16777216},
            {"MaxPeers", 65536},
            {"MaxPendingLookupsPerPeer", 1048576},
            {"MaxPendingLookups", 1048576},
            {"MaxQueuedMessages", 16777216},
            {"MaxQueuedBytes", 1073741824},
            {"MaxPendingLookupsPerUid", 1048576},
            {"MaxObjectsPerUid", 16777216},
            {"MaxDisownedObjectsPerUid", 16777216},
            {"BridgeDeviceId", 255},
            {"BridgeQueues", 64},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                g_autofree char *expected = g_strdup_printf(
                    "[Service] %s: expected a number up to %u", keys[i].key, keys[i].max);
                const char *bad[] = {"", "ten", "-1", "12abc", "1.5"};

                for (unsigned v = 0; v <= 1; v++) {
                        g_auto(DaemonConfig) c = {0};
                        g_autofree char *text =
                            g_strdup_printf("[Service]\n%s=%u\n", keys[i].key, v ? keys[i].max : 0);

                        load_ok(&c, text);
                }
                {
                        g_autofree char *text =
                            g_strdup_printf("[Service]\n%s=%u\n", keys[i].key, keys[i].max + 1);

                        assert_refused(text, expected);
                }
                for (size_t b = 0; b < G_N_ELEMENTS(bad); b++) {
                        g_autofree char *text =
                            g_strdup_printf("[Service]\n%s=%s\n", keys[i].key, bad[b]);

                        assert_refused(text, expected);
                }
        }
}

/* Sizes: bytes, or K, M, G, T (powers of 1024), up to 1048576G; anything
 * else is refused naming the key. */
static void test_sizes(void)
{
        static const struct {
                const char *text;
                uint64_t bytes;
        } good[] = {
            {"0", 0},
            {"1", 1},
            {"4096", 4096},
            {"8K", 8192},
            {"3M", 3u << 20},
            {"1G", UINT64_C(1) << 30},
            {"2T", UINT64_C(2) << 40},
            {"1048576G", UINT64_C(1) << 50},
        };
        const char *bad[] = {"",    "-1",  "1.5G",     "1X",    "G",
                             "1 G", "1KB", "1048577G", "1025T", "99999999999999999999"};

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_auto(DaemonConfig) c = {0};
                g_autofree char *text =
                    g_strdup_printf("[Service]\nMaxBytesTotal=%s\n", good[i].text);

                load_ok(&c, text);
                g_assert_cmpuint(c.service_config.max_bytes_total, ==, good[i].bytes);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = g_strdup_printf("[Service]\nMaxBytesPerUid=%s\n", bad[i]);

                assert_refused(text, "[Service] MaxBytesPerUid: expected a size in bytes (or K, M, "
                                     "G, T) up to 1048576G");
        }
}

/* The timeouts are milliseconds in the file, µs in ServiceConfig. */
static void test_timeouts_at_limit(void)
{
        g_auto(DaemonConfig) c = {0};

        load_ok(&c, "[Service]\nLookupTimeoutMSec=3600000\nReplyTimeoutMSec=0\n");
        g_assert_cmpuint(c.service_config.lookup_timeout_usec, ==, 3600ULL * 1000 * 1000);
        g_assert_cmpuint(c.service_config.reply_timeout_usec, ==, 0);
}

static void test_socket_mode(void)
{
        static const struct {
                const char *text;
                mode_t mode;
        } good[] = {
            {"0660", 0660},
            {"640", 0640},
            {"0", 0},
            {"07777", 07777},
        };
        static const char *const bad[] = {"", "0680", "10000", "rw-rw----", "-1", "0660 x"};

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_auto(DaemonConfig) c = {0};
                g_autofree char *text = g_strdup_printf("[Service]\nSocketMode=%s\n", good[i].text);

                load_ok(&c, text);
                g_assert_cmpuint(c.service_config.socket_mode, ==, good[i].mode);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = g_strdup_printf("[Service]\nSocketMode=%s\n", bad[i]);

                assert_refused(text, "[Service] SocketMode: expected an octal mode such as 0660");
        }
}

/* SocketUser= and SocketGroup=: a number or a name (root is 0 everywhere). */
static void test_socket_user_group(void)
{
        g_auto(DaemonConfig) numbers = {0};
        g_auto(DaemonConfig) names = {0};

        load_ok(&numbers, "[Service]\nSocketUser=123\nSocketGroup=456\n");
        g_assert_cmpuint(numbers.service_config.socket_uid, ==, 123);
        g_assert_cmpuint(numbers.service_config.socket_gid, ==, 456);
        load_ok(&names, "[Service]\nSocketUser= root \nSocketGroup=root\n");
        g_assert_cmpuint(names.service_config.socket_uid, ==, 0);
        g_assert_cmpuint(names.service_config.socket_gid, ==, 0);

        assert_refused("[Service]\nSocketUser=no-such-user-vhost-share\n",
                       "[Service] SocketUser: no user 'no-such-user-vhost-share'");
        assert_refused("[Service]\nSocketGroup=no-such-group-vhost-share\n",
                       "[Service] SocketGroup: no group 'no-such-group-vhost-share'");
        assert_refused("[Service]\nSocketUser=\n", "[Service] SocketUser: no user ''");
        assert_refused("[Service]\nSocketGroup=\n", "[Service] SocketGroup: no group ''");
        /* (uid_t) -1 means "unchanged" to chown: not a uid one may name. */
        assert_refused("[Service]\nSocketUser=4294967295\n",
                       "[Service] SocketUser: no user '4294967295'");
}

/* SocketDirectories=: absolute paths separated by spaces (trailing slashes
 * dropped), the runtime directory when not given, none when empty. */
static void test_socket_directories(void)
{
        g_auto(DaemonConfig) defaults = {0};
        g_auto(DaemonConfig) two = {0};
        const char *const *d;

        load_ok(&defaults, "[Service]\nMaxPeers=3\n");
        d = defaults.service_config.socket_directories;
        g_assert_cmpstr(d[0], ==, "/run/vhost-share");
        g_assert_null(d[1]);
        load_ok(&two, "[Service]\nSocketDirectories= /run/vhost-share/  /srv/vm\t/srv/b \n");
        d = two.service_config.socket_directories;
        g_assert_cmpstr(d[0], ==, "/run/vhost-share");
        g_assert_cmpstr(d[1], ==, "/srv/vm");
        g_assert_cmpstr(d[2], ==, "/srv/b");
        g_assert_null(d[3]);
}

static void test_socket_directories_refused(void)
{
        const char *const bad[] = {"relative", "/run/../etc", "/run/./x", "/run/a\x7f"};
        g_auto(DaemonConfig) none = {0};

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text =
                    g_strdup_printf("[Service]\nSocketDirectories=%s\n", bad[i]);
                g_auto(DaemonConfig) c = {0};
                int r;
                g_autofree char *message = load(&c, text, &r);

                g_assert_cmpint(r, ==, -EINVAL);
                g_assert_true(g_str_has_prefix(message, "[Service] SocketDirectories: '"));
        }
        /* Empty: only root may place sockets. */
        load_ok(&none, "[Service]\nSocketDirectories=\n");
        g_assert_null(none.service_config.socket_directories[0]);
}

/* The sockets' group is the privileged group unless SocketGroup= says
 * otherwise; a missing group leaves the service's. */
static void test_default_socket_group(void)
{
        g_auto(DaemonConfig) priv = {0};
        g_auto(DaemonConfig) explicit = {0};
        g_auto(DaemonConfig) missing = {0};
        g_auto(DaemonConfig) none = {0};

        load_ok(&priv, "[DBus]\nPrivilegedGroup=root\n");
        g_assert_cmpint(daemon_config_default_socket_group(&priv), ==, 0);
        g_assert_cmpuint(priv.service_config.socket_gid, ==, 0);
        load_ok(&explicit, "[Service]\nSocketGroup=123\n[DBus]\nPrivilegedGroup=root\n");
        g_assert_cmpint(daemon_config_default_socket_group(&explicit), ==, 0);
        g_assert_cmpuint(explicit.service_config.socket_gid, ==, 123);
        load_ok(&missing, "[DBus]\nPrivilegedGroup=no-such-group-vhost-share\n");
        g_assert_cmpint(daemon_config_default_socket_group(&missing), ==, -ESRCH);
        g_assert_cmpuint(missing.service_config.socket_gid, ==, (gid_t) -1);
        load_ok(&none, "[DBus]\nPrivilegedGroup=\n");
        g_assert_cmpint(daemon_config_default_socket_group(&none), ==, 0);
        g_assert_cmpuint(none.service_config.socket_gid, ==, (gid_t) -1);
}

static void test_allowed_uids(void)
{
        g_auto(DaemonConfig) c = {0};
        const ServiceConfig *s = &c.service_config;
        g_autoptr(GString) many = g_string_new("[Service]\nAllowedUids=");

        load_ok(&c, "[Service]\nAllowedUids=0, root;65534\t7 ,\n");
        g_assert_cmpuint(s->n_allowed_uids, ==, 4);
        g_assert_cmpuint(s->allowed_uids[0], ==, 0);
        g_assert_cmpuint(s->allowed_uids[1], ==, 0);
        g_assert_cmpuint(s->allowed_uids[2], ==, 65534);
        g_assert_cmpuint(s->allowed_uids[3], ==, 7);

        assert_refused("[Service]\nAllowedUids=\n",
                       "[Service] AllowedUids: empty (leave the key out to allow anyone)");
        assert_refused("[Service]\nAllowedUids= , ;\n",
                       "[Service] AllowedUids: empty (leave the key out to allow anyone)");
        assert_refused("[Service]\nAllowedUids=0 no-such-user-vhost-share\n",
                       "[Service] AllowedUids: 'no-such-user-vhost-share' is not a user");

        /* SERVICE_MAX_ALLOWED_UIDS entries fit, one more does not. */
        for (unsigned i = 0; i < SERVICE_MAX_ALLOWED_UIDS; i++)
                g_string_append_printf(many, "%u ", 1000 + i);
        {
                g_auto(DaemonConfig) full = {0};

                load_ok(&full, many->str);
                g_assert_cmpuint(full.service_config.n_allowed_uids, ==, SERVICE_MAX_ALLOWED_UIDS);
                g_assert_cmpuint(full.service_config.allowed_uids[SERVICE_MAX_ALLOWED_UIDS - 1], ==,
                                 1000 + SERVICE_MAX_ALLOWED_UIDS - 1);
        }
        g_string_append(many, "5\n");
        assert_refused(many->str, "[Service] AllowedUids: more than 64 users");
}

static const DaemonSocketSection *socket_section(const DaemonConfig *c, const char *path)
{
        for (guint i = 0; i < c->sockets->len; i++) {
                const DaemonSocketSection *s = g_ptr_array_index(c->sockets, i);

                if (g_str_equal(s->path, path))
                        return s;
        }
        return NULL;
}

/* AcceptedBuffers=: per service and per [Socket PATH]; the default is
 * dma-buf and sealed memfds, and a wrong word is named. */
static void test_accepted_buffers(void)
{
        g_auto(DaemonConfig) c = {0};
        const DaemonSocketSection *rig, *plain;

        daemon_config_init(&c);
        g_assert_cmpuint(c.service_config.accepted_buffers, ==, BUFFER_KINDS_DEFAULT);
        daemon_config_clear(&c);
        load_ok(&c, "[Service]\nAcceptedBuffers=dma-buf\n"
                    "[Socket /run/rig.sock]\nAcceptedBuffers=sealed-memfd, memfd dma-buf\n"
                    "[Socket /run/plain.sock]\n");
        g_assert_cmpuint(c.service_config.accepted_buffers, ==, BUFFER_KIND_DMABUF);
        rig = socket_section(&c, "/run/rig.sock");
        plain = socket_section(&c, "/run/plain.sock");
        g_assert_cmpuint(rig->accepted_buffers, ==, BUFFER_KINDS_ALL);
        g_assert_cmpuint(plain->accepted_buffers, ==, 0); /* the service's */

        assert_refused("[Service]\nAcceptedBuffers=dma-buf pipes\n",
                       "[Service] AcceptedBuffers: 'pipes' is not dma-buf, sealed-memfd or memfd");
        assert_refused("[Socket /run/a.sock]\nAcceptedBuffers= ,\n",
                       "[Socket /run/a.sock] AcceptedBuffers: '' is not dma-buf, sealed-memfd or "
                       "memfd");
}

static void test_socket_sections(void)
{
        g_auto(DaemonConfig) c = {0};
        const DaemonSocketSection *a, *b, *plain;

        load_ok(&c, "[Service]\nAllowedUids=0\n"
                    "[Socket /run/a.sock]\nAllowedUids=65534 root\n"
                    "[Socket   /run/b.sock  ]\nAllowedUids=7\n"
                    "[Socket /run/plain.sock]\n"
                    "[Sockets]\nAllowedUids=1\n");
        g_assert_cmpuint(c.sockets->len, ==, 3);
        a = socket_section(&c, "/run/a.sock");
        b = socket_section(&c, "/run/b.sock"); /* the path is stripped */
        plain = socket_section(&c, "/run/plain.sock");
        g_assert_nonnull(a);
        g_assert_nonnull(b);
        g_assert_nonnull(plain);
        g_assert_cmpuint(a->n_allowed_uids, ==, 2);
        g_assert_cmpuint(a->allowed_uids[0], ==, 65534);
        g_assert_cmpuint(a->allowed_uids[1], ==, 0);
        g_assert_cmpuint(b->n_allowed_uids, ==, 1);
        g_assert_cmpuint(b->allowed_uids[0], ==, 7);
        /* No AllowedUids=: the socket keeps the [Service] list. */
        g_assert_cmpuint(plain->n_allowed_uids, ==, 1);
        g_assert_cmpuint(plain->allowed_uids[0], ==, 0);
        /* The global list is not changed by the sections. */
        g_assert_cmpuint(c.service_config.n_allowed_uids, ==, 1);

        assert_refused("[Socket /run/a.sock]\nAllowedUids=\n",
                       "[Socket /run/a.sock] AllowedUids: empty (leave the key out to allow "
                       "anyone)");
        assert_refused("[Socket /run/a.sock]\nAllowedUids=nobody-vhost-share\n",
                       "[Socket /run/a.sock] AllowedUids: 'nobody-vhost-share' is not a user");
}

static const DaemonServeSocket *serve_socket(const DaemonConfig *c, guint i)
{
        g_assert_cmpuint(i, <, c->serve->len);
        return g_ptr_array_index(c->serve, i);
}

static void test_peers(void)
{
        g_auto(DaemonConfig) c = {0};

        load_ok(&c, "[Peers]\n"
                    "Connect=/run/gpu.sock; /run/video.sock;;  ;\n"
                    "Accept=/run/hub.sock\n"
                    "Serve=/run/qemu.sock;/run/q2.sock,queues=2,device-id=16,reply-ack=no\n");
        g_assert_cmpuint(c.connect->len, ==, 2);
        g_assert_cmpstr(g_ptr_array_index(c.connect, 0), ==, "/run/gpu.sock");
        g_assert_cmpstr(g_ptr_array_index(c.connect, 1), ==, "/run/video.sock");
        g_assert_cmpuint(c.accept->len, ==, 1);
        g_assert_cmpstr(g_ptr_array_index(c.accept, 0), ==, "/run/hub.sock");
        g_assert_cmpuint(c.serve->len, ==, 2);
        g_assert_cmpstr(serve_socket(&c, 0)->path, ==, "/run/qemu.sock");
        g_assert_cmpuint(serve_socket(&c, 0)->options.queues, ==, 1);
        g_assert_cmpuint(serve_socket(&c, 0)->options.device_id, ==, 4);
        g_assert_true(serve_socket(&c, 0)->options.reply_ack);
        g_assert_cmpstr(serve_socket(&c, 1)->path, ==, "/run/q2.sock");
        g_assert_cmpuint(serve_socket(&c, 1)->options.queues, ==, 2);
        g_assert_cmpuint(serve_socket(&c, 1)->options.device_id, ==, 16);
        g_assert_false(serve_socket(&c, 1)->options.reply_ack);
}

/* A Serve= entry without options presents the [Service] Bridge* keys,
 * wherever they stand in the file. */
static void test_serve_defaults_from_service(void)
{
        g_auto(DaemonConfig) c = {0};

        load_ok(&c, "[Peers]\nServe=/run/qemu.sock;/run/q2.sock,queues=5\n"
                    "[Service]\nBridgeQueues=3\nBridgeDeviceId=9\n");
        g_assert_cmpuint(serve_socket(&c, 0)->options.queues, ==, 3);
        g_assert_cmpuint(serve_socket(&c, 0)->options.device_id, ==, 9);
        g_assert_cmpuint(serve_socket(&c, 1)->options.queues, ==, 5);
        g_assert_cmpuint(serve_socket(&c, 1)->options.device_id, ==, 9);
}

static void test_serve_entry_refused(void)
{
        assert_refused("[Peers]\nServe=/run/q.sock,queues=0\n",
                       "serve option 'queues=0': " SERVE_OPTION_HINT);
        assert_refused("[Peers]\nServe=/run/ok.sock;,queues=2\n",
                       "serve ',queues=2': no socket path");
}

static void test_privileged_group(void)
{
        g_auto(DaemonConfig) named = {0};
        g_auto(DaemonConfig) root_only = {0};

        load_ok(&named, "[DBus]\nPrivilegedGroup=  wheel \n");
        g_assert_cmpstr(named.privileged_group, ==, "wheel");
        load_ok(&root_only, "[DBus]\nPrivilegedGroup=\n");
        g_assert_cmpstr(root_only.privileged_group, ==, "");
        {
                /* GKeyFile's own reason follows the key: not UTF-8. */
                g_auto(DaemonConfig) bad = {0};
                int r;
                g_autofree char *message = load(&bad, "[DBus]\nPrivilegedGroup=\xff\xfe\n", &r);

                g_assert_cmpint(r, ==, -EINVAL);
                g_assert_true(g_str_has_prefix(message, "[DBus] PrivilegedGroup: "));
        }
}

/* Keys, sections and the files vhost-shared does not know are passed
 * over: the file may carry settings for a newer version. */
static void test_unknown_keys_and_sections(void)
{
        g_auto(DaemonConfig) c = {0};

        load_ok(&c, "[Service]\nLookupTimeoutMsec=5\nFrobnicate=yes\n"
                    "[Peers]\nListen=/run/x.sock\n"
                    "[Extra]\nMaxPeers=1\n"
                    "[DBus]\nGroup=wheel\n");
        assert_default_service_config(&c.service_config);
        assert_nothing_listed(&c);
        g_assert_cmpstr(c.privileged_group, ==, PRIVILEGED_GROUP);
}

/* A key given twice: the last one counts (GKeyFile); a section given twice
 * is one section. */
static void test_duplicates(void)
{
        g_auto(DaemonConfig) c = {0};

        load_ok(&c, "[Service]\nMaxPeers=5\nMaxPeers=7\n"
                    "[Peers]\nConnect=/run/a.sock\n"
                    "[Service]\nMaxObjectsPerPeer=3\n");
        g_assert_cmpuint(c.service_config.max_peers, ==, 7);
        g_assert_cmpuint(c.service_config.max_objects_per_peer, ==, 3);
        g_assert_cmpuint(c.connect->len, ==, 1);
}

/* Of several bad keys, the first in the order of vhost-shared.conf(5). */
static void test_first_error_wins(void)
{
        assert_refused("[Service]\nSocketMode=x\nMaxPeers=x\n",
                       "[Service] MaxPeers: expected a number up to 65536");
        assert_refused("[Peers]\nServe=,queues=1\n[Service]\nAllowedUids=\n",
                       "[Service] AllowedUids: empty (leave the key out to allow anyone)");
}

static void test_not_a_key_file(void)
{
        g_auto(DaemonConfig) c = {0};
        g_autoptr(GError) error = NULL;

        daemon_config_init(&c);
        g_assert_cmpint(daemon_config_load_data(&c, "LookupTimeoutMSec=5\n", &error), ==, -EINVAL);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND);
        g_clear_error(&error);
        g_assert_cmpint(daemon_config_load_data(&c, "[Service\n", &error), ==, -EINVAL);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE);
}

static void test_load_file(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-daemon-config-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "vhost-shared.conf", NULL);
        g_autofree char *missing = g_build_filename(dir, "missing.conf", NULL);
        g_auto(DaemonConfig) c = {0};
        g_autoptr(GError) error = NULL;

        g_assert_nonnull(dir);
        daemon_config_init(&c);
        g_assert_cmpint(daemon_config_load_file(&c, missing, &error), ==, -ENOENT);
        g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        g_clear_error(&error);
        /* A directory is there but cannot be read as a file. */
        g_assert_cmpint(daemon_config_load_file(&c, dir, &error), ==, -EINVAL);
        g_assert_nonnull(error);
        g_clear_error(&error);

        g_assert_true(g_file_set_contents(path, "[Service]\nMaxPeers=3\n", -1, NULL));
        g_assert_cmpint(daemon_config_load_file(&c, path, &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpuint(c.service_config.max_peers, ==, 3);

        g_assert_true(g_file_set_contents(path, "[Service]\nMaxPeers=lots\n", -1, NULL));
        g_assert_cmpint(daemon_config_load_file(&c, path, &error), ==, -EINVAL);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);

        g_assert_cmpint(g_unlink(path), ==, 0);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Serve specs on their own, as --serve gives them. */

static void parse_ok(const char *spec, const ServiceConfig *defaults, const char *path,
                     unsigned queues, unsigned device_id, bool reply_ack)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *got_path = NULL;
        ServeOptions o;

        g_assert_cmpint(serve_spec_parse(spec, defaults, &got_path, &o, &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpstr(got_path, ==, path);
        g_assert_cmpuint(o.queues, ==, queues);
        g_assert_cmpuint(o.device_id, ==, device_id);
        g_assert_cmpint(o.reply_ack, ==, reply_ack);
}

static void parse_refused(const char *spec, const char *expected)
{
        g_autoptr(GError) error = NULL;
        char *path = NULL;
        ServiceConfig defaults;
        ServeOptions o;

        service_config_init_defaults(&defaults);
        g_assert_cmpint(serve_spec_parse(spec, &defaults, &path, &o, &error), ==, -EINVAL);
        g_assert_null(path);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
        g_assert_cmpstr(error->message, ==, expected);
}

static void test_serve_path_only(void)
{
        ServiceConfig d;

        service_config_init_defaults(&d);
        parse_ok("/run/qemu.sock", &d, "/run/qemu.sock", 1, 4, true);
}

static void test_serve_every_option(void)
{
        ServiceConfig d;

        service_config_init_defaults(&d);
        parse_ok("/q.sock,queues=2", &d, "/q.sock", 2, 4, true);
        parse_ok("/q.sock,device-id=16", &d, "/q.sock", 1, 16, true);
        parse_ok("/q.sock,reply-ack=no", &d, "/q.sock", 1, 4, false);
        parse_ok("/q.sock,reply-ack=yes", &d, "/q.sock", 1, 4, true);
        parse_ok("/q.sock,reply-ack=no,device-id=255,queues=64", &d, "/q.sock", 64, 255, false);
        parse_ok("/q.sock,queues=1,device-id=1", &d, "/q.sock", 1, 1, true);
}

/* Unset options come from the ServiceConfig; BridgeQueues=0 means 1. */
static void test_serve_defaults(void)
{
        ServiceConfig d;

        service_config_init_defaults(&d);
        d.bridge_queues = 3;
        d.bridge_device_id = 9;
        parse_ok("/q.sock", &d, "/q.sock", 3, 9, true);
        parse_ok("/q.sock,queues=2", &d, "/q.sock", 2, 9, true);
        d.bridge_queues = 0;
        parse_ok("/q.sock", &d, "/q.sock", 1, 9, true);
}

/* Of a repeated option the last one counts; each is still checked. */
static void test_serve_repeated(void)
{
        ServiceConfig d;

        service_config_init_defaults(&d);
        parse_ok("/q.sock,queues=2,queues=3", &d, "/q.sock", 3, 4, true);
        parse_ok("/q.sock,reply-ack=no,queues=2,reply-ack=yes", &d, "/q.sock", 2, 4, true);
        parse_refused("/q.sock,queues=0,queues=3", "serve option 'queues=0': " SERVE_OPTION_HINT);
        parse_refused("/q.sock,queues=3,queues=99", "serve option 'queues=99': " SERVE_OPTION_HINT);
}

/* Options are recognised at the end only: what is not one, and all left of
 * it, is the path. */
static void test_serve_commas_in_path(void)
{
        ServiceConfig d;

        service_config_init_defaults(&d);
        parse_ok("/run/a,b/q.sock,queues=2", &d, "/run/a,b/q.sock", 2, 4, true);
        parse_ok("/run/q.sock,queues=2,b", &d, "/run/q.sock,queues=2,b", 1, 4, true);
        parse_ok("/run/q.sock,frob=1", &d, "/run/q.sock,frob=1", 1, 4, true);
        parse_ok("/run/q.sock,frob=1,queues=2", &d, "/run/q.sock,frob=1", 2, 4, true);
        parse_ok("/run/q.sock,queues", &d, "/run/q.sock,queues", 1, 4, true);
        parse_ok("/run/q.sock,=2", &d, "/run/q.sock,=2", 1, 4, true);
        parse_ok("queues=2", &d, "queues=2", 1, 4, true);
}

static void test_serve_bad_values(void)
{
        static const char *const bad[] = {
            "queues=0",      "queues=65",   "queues=-1",     "queues=+1",
            "queues=",       "queues=1x",   "device-id=0",   "device-id=256",
            "device-id=ten", "reply-ack=1", "reply-ack=Yes", "reply-ack=",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *spec = g_strconcat("/run/q.sock,", bad[i], NULL);
                g_autofree char *expected =
                    g_strdup_printf("serve option '%s': " SERVE_OPTION_HINT, bad[i]);

                parse_refused(spec, expected);
        }
}

static void test_serve_no_path(void)
{
        parse_refused("", "serve '': no socket path");
        parse_refused(",queues=2", "serve ',queues=2': no socket path");
        parse_refused(",queues=2,reply-ack=no", "serve ',queues=2,reply-ack=no': no socket path");
}

/* --serve on the command line: appended after the file's, with its
 * defaults; a bad one adds nothing. */
static void test_add_serve(void)
{
        g_auto(DaemonConfig) c = {0};
        g_autoptr(GError) error = NULL;

        load_ok(&c, "[Service]\nBridgeQueues=4\n[Peers]\nServe=/run/file.sock\n");
        g_assert_cmpint(daemon_config_add_serve(&c, "/run/cli.sock,device-id=2", &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpuint(c.serve->len, ==, 2);
        g_assert_cmpstr(serve_socket(&c, 1)->path, ==, "/run/cli.sock");
        g_assert_cmpuint(serve_socket(&c, 1)->options.queues, ==, 4);
        g_assert_cmpuint(serve_socket(&c, 1)->options.device_id, ==, 2);

        g_assert_cmpint(daemon_config_add_serve(&c, "/run/bad.sock,queues=65", &error), ==,
                        -EINVAL);
        g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
        g_assert_cmpuint(c.serve->len, ==, 2);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/daemon-config/defaults", test_defaults);
        g_test_add_func("/daemon-config/empty-file", test_empty_file);
        g_test_add_func("/daemon-config/every-service-key", test_every_service_key);
        g_test_add_func("/daemon-config/number-limits", test_number_limits);
        g_test_add_func("/daemon-config/sizes", test_sizes);
        g_test_add_func("/daemon-config/timeouts-at-limit", test_timeouts_at_limit);
        g_test_add_func("/daemon-config/socket-mode", test_socket_mode);
        g_test_add_func("/daemon-config/socket-user-group", test_socket_user_group);
        g_test_add_func("/daemon-config/allowed-uids", test_allowed_uids);
        g_test_add_func("/daemon-config/socket-sections", test_socket_sections);
        g_test_add_func("/daemon-config/accepted-buffers", test_accepted_buffers);
        g_test_add_func("/daemon-config/peers", test_peers);
        g_test_add_func("/daemon-config/serve-defaults-from-service",
                        test_serve_defaults_from_service);
        g_test_add_func("/daemon-config/serve-entry-refused", test_serve_entry_refused);
        g_test_add_func("/daemon-config/privileged-group", test_privileged_group);
        g_test_add_func("/daemon-config/unknown-keys-and-sections", test_unknown_keys_and_sections);
        g_test_add_func("/daemon-config/duplicates", test_duplicates);
        g_test_add_func("/daemon-config/first-error-wins", test_first_error_wins);
        g_test_add_func("/daemon-config/not-a-key-file", test_not_a_key_file);
        g_test_add_func("/daemon-config/load-file", test_load_file);
        g_test_add_func("/serve-spec/path-only", test_serve_path_only);
        g_test_add_func("/serve-spec/every-option", test_serve_every_option);
        g_test_add_func("/serve-spec/defaults", test_serve_defaults);
        g_test_add_func("/daemon-config/socket-directories", test_socket_directories);
        g_test_add_func("/daemon-config/socket-directories-refused",
                        test_socket_directories_refused);
        g_test_add_func("/daemon-config/default-socket-group", test_default_socket_group);
        g_test_add_func("/serve-spec/repeated", test_serve_repeated);
        g_test_add_func("/serve-spec/commas-in-path", test_serve_commas_in_path);
        g_test_add_func("/serve-spec/bad-values", test_serve_bad_values);
        g_test_add_func("/serve-spec/no-path", test_serve_no_path);
        g_test_add_func("/serve-spec/add-serve", test_add_serve);
        return g_test_run();
}
