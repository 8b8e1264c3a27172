/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-user back-ends seen over D-Bus: AddPeer and RemovePeer, a
 * vhost-share-device's objects and Peer properties, lookups that time out
 * or lose their exporter, and MaxPeers. Each test gets its own dbus-daemon
 * and service (dbus-fixture.h). */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <glib.h>

#include "dbus-fixture.h"
#include "raw-peer.h"

/* ---- vhost-user back-ends ---- */

typedef struct {
        char uuid[64];
        char devino[64];
} Exported;

static void parse_exported(const char *line, Exported *x)
{
        g_auto(GStrv) w = g_strsplit(line, " ", 0);

        g_assert_cmpuint(g_strv_length(w), ==, 4);
        g_assert_cmpstr(w[0], ==, "EXPORTED");
        g_strlcpy(x->uuid, w[1], sizeof(x->uuid));
        g_strlcpy(x->devino, w[3], sizeof(x->devino));
}

static char *fd_devino(int fd)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return g_strdup_printf("%llu:%llu", (unsigned long long) st.st_dev,
                               (unsigned long long) st.st_ino);
}

static void test_backend_objects(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "dev.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *peer = NULL, *err = NULL, *s = NULL, *ev = NULL;
        g_autofree char *p0 = NULL, *p1 = NULL, *p2 = NULL, *devino = NULL;
        const HarnessLine *line;
        Exported x[3];
        HarnessProc *dev;
        int fd = -1;

        dev = harness_spawn_device(f->tb.h, "device", listen, "--export=2", "--commands", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);

        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        g_assert_true(g_str_has_prefix(peer, MPATH "/peer/"));
        for (int i = 0; i < 2; i++) {
                line = harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS);
                parse_exported(line->text, &x[i]);
        }
        p0 = object_path(x[0].uuid);
        p1 = object_path(x[1].uuid);

        /* Each ADD is announced once, as a vhost-device object owned by the peer. */
        g_assert_true(signal_log_wait(&f->log, f->bus, 1));
        testbed_sync(f->bus);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s vhost-device", x[0].uuid, p0)),
                         1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s vhost-device", x[1].uuid, p1)),
                         1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesAdded %s " PIFACE, peer)), 1);
        g_clear_pointer(&ev, g_free);
        g_assert_cmpstr((s = get_objpath(f->bus, p0, OIFACE, "Owner")), ==, peer);
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, p0, OIFACE, "OwnerBusName")), ==, "");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "Role")), ==, "back-end");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "State")), ==, "ready");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "SocketPath")), ==, sock);
        g_clear_pointer(&s, g_free);
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "ExportedCount"), ==, 2);
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "Pid"), ==,
                         (uint32_t) harness_proc_pid(dev));
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);

        /* Lookup asks the back-end and hands over its buffer. */
        err = call_lookup(f->bus, x[0].uuid, &fd);
        g_assert_null(err);
        devino = fd_devino(fd);
        g_assert_cmpstr(devino, ==, x[0].devino);
        close(fd);
        line = harness_expect_line(dev, "SERVED", TEST_TIMEOUT_MS);
        g_assert_cmpstr(line->text + strlen("SERVED "), ==, x[0].uuid);
        g_assert_cmpuint(get_u64(f->bus, p0, OIFACE, "LookupCount"), ==, 1);

        /* The back-end's REMOVE and a new ADD. */
        /* One command at a time: the device reads stdin a line per wakeup. */
        harness_send_line(dev, "remove %s", x[0].uuid);
        harness_expect_line(dev, "REMOVED", TEST_TIMEOUT_MS);
        harness_send_line(dev, "export");
        line = harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS);
        parse_exported(line->text, &x[2]);
        p2 = object_path(x[2].uuid);

        /* The back-end goes away: its objects go with it, once each. */
        harness_stop(dev, TEST_TIMEOUT_MS);
        g_assert_true(signal_log_wait(&f->log, f->bus, 9));
        testbed_sync(f->bus);
        guint removed = 0;
        for (int i = 0; i < 3; i++) {
                g_autofree char *p = object_path(x[i].uuid);
                g_autofree char *r = g_strdup_printf("Removed %s %s", x[i].uuid, p);
                g_autofree char *a = g_strdup_printf("Added %s %s vhost-device", x[i].uuid, p);

                /* Wait for each object's removal in turn (the disconnect is async). */
                for (;;) {
                        if (signal_log_count(&f->log, r) > 0)
                                break;
                        g_assert_true(signal_log_wait(&f->log, f->bus, f->log.events->len + 1));
                }
                testbed_sync(f->bus);
                assert_log_count(&f->log, a, 1);
                assert_log_count(&f->log, r, 1);
                removed++;
        }
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Added "), ==, 3);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Removed "), ==, 3);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);

        /* The peer's state changes were announced on its object. */
        g_autofree char *state_changed =
            g_strdup_printf("PropertiesChanged %s " PIFACE " State,", peer);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, state_changed), >=, 2);

        /* The peer stays (it reconnects) until removed over D-Bus. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
        const char *count_changed = "PropertiesChanged " MPATH " " MIFACE " PeerCount";
        guint n_count = signal_log_count(&f->log, count_changed);
        err = call_simple(f->bus, "RemovePeer", "o", peer);
        g_assert_null(err);
        /* PeerCount's change comes from a deferred event, after the reply. */
        while (signal_log_count(&f->log, count_changed) == n_count)
                g_assert_true(signal_log_wait(&f->log, f->bus, f->log.events->len + 1));
        testbed_sync(f->bus);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesRemoved %s " PIFACE, peer)), 1);
        g_clear_pointer(&ev, g_free);
        err = call_simple(f->bus, "RemovePeer", "o", peer);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 0);
}

typedef struct {
        bool done;
        char *error; /* NULL: success */
} AsyncCall;

static int on_async_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        AsyncCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->error = e ? g_strdup(e->name) : NULL;
        c->done = true;
        return 0;
}

static bool async_done(void *data)
{
        return ((AsyncCall *) data)->done;
}

/* Starts vhost-share-device --no-answer with one export, attaches it with
 * AddPeer and returns the exported UUID. */
static HarnessProc *start_mute_device(Fixture *f, Exported *x)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "mute.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *err = NULL;
        HarnessProc *dev;

        dev =
            harness_spawn_device(f->tb.h, "mute-device", listen, "--export=1", "--no-answer", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);
        err = call_add_peer(f->bus, "connect", sock, NULL);
        g_assert_null(err);
        parse_exported(harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS)->text, x);
        return dev;
}

/* A back-end (a libvhost-user one, whose lookup blocks) looking up its own
 * object is refused at once; its Peer's LastError says why, and it keeps
 * its connection and its object. */
static void test_backend_self_lookup(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "dev.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *peer = NULL, *err = NULL, *s = NULL, *cmd = NULL;
        const HarnessLine *line;
        HarnessProc *dev;
        Exported x;
        int fd = -1;

        dev = harness_spawn_device(f->tb.h, "device", listen, "--export=1", "--commands",
                                   "--mode=libvhost-user", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);
        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        parse_exported(harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS)->text, &x);

        harness_send_line(dev, "import %s", x.uuid);
        line = harness_expect_line(dev, "IMPORT", TEST_TIMEOUT_MS);
        g_assert_true(g_str_has_prefix(line->text, "IMPORT-FAILED "));
        s = get_string(f->bus, peer, PIFACE, "LastError");
        cmd = g_strdup_printf("LOOKUP %s of an object it exports itself refused", x.uuid);
        g_assert_cmpstr(s, ==, cmd);
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "State")), ==, "ready");
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "ExportedCount"), ==, 1);
        /* Others still get its object from it. */
        err = call_lookup(f->bus, x.uuid, &fd);
        g_assert_null(err);
        close(fd);
        harness_expect_line(dev, "SERVED", TEST_TIMEOUT_MS);
}

/* A lookup the exporter never answers costs its caller a Timeout, and only
 * its caller: the service keeps answering others meanwhile. */
static void test_backend_lookup_timeout(Fixture *f, gconstpointer data)
{
        sd_bus_slot *slot = NULL;
        AsyncCall c = {0};
        HarnessProc *dev;
        Exported x;
        gint64 start;

        dev = start_mute_device(f, &x);
        /* The fixture's configuration: LookupTimeoutMSec=300. */
        start = g_get_monotonic_time();
        g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH, MIFACE, "Lookup",
                                                 on_async_reply, &c, "s", x.uuid),
                        >=, 0);
        for (int i = 0; i < 3; i++)
                g_assert_null(call_simple(f->bus, "ListObjects", ""));
        g_assert_false(c.done);
        g_assert_true(testbed_pump_until(f->bus, async_done, &c));
        g_assert_cmpstr(c.error, ==, ERR("Timeout"));
        g_assert_cmpint(g_get_monotonic_time() - start, >=, 300 * 1000);
        sd_bus_slot_unref(slot);
        g_free(c.error);
        harness_stop(dev, TEST_TIMEOUT_MS);
}

/* An exporter that disconnects while a lookup waits on it: PeerGone. */
static void test_backend_lookup_peer_gone(Fixture *f, gconstpointer data)
{
        sd_bus_slot *slot = NULL;
        AsyncCall c = {0};
        HarnessProc *dev;
        Exported x;

        dev = start_mute_device(f, &x);
        g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH, MIFACE, "Lookup",
                                                 on_async_reply, &c, "s", x.uuid),
                        >=, 0);
        testbed_sync(f->bus); /* the lookup is in the service, waiting */
        g_assert_false(c.done);
        harness_stop(dev, TEST_TIMEOUT_MS);
        g_assert_true(testbed_pump_until(f->bus, async_done, &c));
        g_assert_cmpstr(c.error, ==, ERR("PeerGone"));
        sd_bus_slot_unref(slot);
        g_free(c.error);
}

/* A VMM (a raw front-end on a serve socket added over D-Bus) answers the
 * upstream LOOKUP of a Lookup caller with a pipe, then with an unsealed
 * memfd: the caller gets Failed each time, the log names what came, and
 * the VMM stays. */
static void test_upstream_bad_answer(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "vmm.sock", NULL);
        g_autofree char *err = NULL;
        uint8_t uuid[16];
        char uuid_s[37];
        RawPeer *v;

        g_assert_null((err = call_add_peer(f->bus, "serve", sock, NULL)));
        v = harness_raw_peer_connect(f->tb.h, sock, RAW_PEER_FRONTEND);
        raw_peer_handshake(v, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |
                                  VU_BIT(VU_PF_SHARED_OBJECT));
        uuid_generate_random(uuid);
        uuid_unparse_lower(uuid, uuid_s);
        for (int i = 0; i < 2; i++) {
                sd_bus_slot *slot = NULL;
                AsyncCall c = {0};
                VuMessage m, reply;
                int fd, pipe_fds[2];

                g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH, MIFACE,
                                                         "Lookup", on_async_reply, &c, "s", uuid_s),
                                >=, 0);
                testbed_sync(f->bus);
                g_assert_cmpint(raw_peer_recv(v, v->chan, &m), ==, 1);
                g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
                if (i == 0) {
                        g_assert_cmpint(pipe2(pipe_fds, O_CLOEXEC), ==, 0);
                        close(pipe_fds[1]);
                        fd = pipe_fds[0];
                } else {
                        fd = memfd_create("unsealed", MFD_CLOEXEC);
                        g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
                }
                vu_message_init_reply_u64(&reply, &m, 0);
                g_assert_cmpint(vu_message_add_fd(&reply, fd), ==, 0);
                raw_peer_send(v, v->chan, &reply);
                g_assert_true(testbed_pump_until(f->bus, async_done, &c));
                g_assert_cmpstr(c.error, ==, ERR("Failed"));
                harness_expect_output(f->tb.service, HARNESS_STDERR,
                                      i == 0 ? "with a pipe, neither a dma-buf nor a sealed memfd"
                                             : "with a memfd without F_SEAL_SHRINK|F_SEAL_GROW",
                                      TEST_TIMEOUT_MS);
                sd_bus_slot_unref(slot);
                g_free(c.error);
        }
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
        raw_peer_free(v);
}

static void test_add_peer_arguments(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *path = NULL;
        char longpath[200];

        err = call_add_peer(f->bus, "sideways", sock, NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        err = call_add_peer(f->bus, "connect", "relative.sock", NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        memset(longpath, 'x', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = 0;
        err = call_add_peer(f->bus, "connect", longpath, NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        err = call_simple(f->bus, "RemovePeer", "o", MPATH "/peer/999");
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);

        /* A listener has no peer yet: its own object, and the socket appears
         * (test-dbus-listeners.c tests the rest). */
        err = call_add_peer(f->bus, "accept", sock, &path);
        g_assert_null(err);
        g_assert_true(g_str_has_prefix(path, MPATH "/listener/"));
        g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
}

static void test_peer_limit(Fixture *f, gconstpointer data)
{
        g_autofree char *a = g_build_filename(f->tb.dir, "a.sock", NULL);
        g_autofree char *b = g_build_filename(f->tb.dir, "b.sock", NULL);
        g_autofree char *err = NULL;

        /* The fixture's configuration: MaxPeers=1. */
        err = call_add_peer(f->bus, "connect", a, NULL);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", b, NULL);
        g_assert_cmpstr(err, ==, ERR("LimitReached"));
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/peers/backend-objects", setup_shipped, NULL, test_backend_objects);
        DBUS_TEST_ADD("/dbus/peers/upstream-bad-answer", setup_shipped, NULL,
                      test_upstream_bad_answer);
        DBUS_TEST_ADD("/dbus/peers/backend-self-lookup", setup_shipped, NULL,
                      test_backend_self_lookup);
        DBUS_TEST_ADD("/dbus/peers/add-peer-arguments", setup_shipped, NULL,
                      test_add_peer_arguments);
        DBUS_TEST_ADD("/dbus/peers/lookup-timeout", setup_shipped,
                      "[Service]\nLookupTimeoutMSec=300\n", test_backend_lookup_timeout);
        DBUS_TEST_ADD("/dbus/peers/lookup-peer-gone", setup_shipped,
                      "[Service]\nLookupTimeoutMSec=60000\n", test_backend_lookup_peer_gone);
        DBUS_TEST_ADD("/dbus/peers/limit", setup_shipped, "[Service]\nMaxPeers=1\n",
                      test_peer_limit);
        return g_test_run();
}
