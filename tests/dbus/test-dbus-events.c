/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table's signals off the hot path: no event is lost when the bus falls
 * behind (the service pauses the back-ends instead), LookupCount changes
 * are coalesced and come before the object's removal, and the service's
 * own GetManagedObjects says what Properties.GetAll says, object by
 * object. */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include <glib.h>

#include "cleanup.h"
#include "dbus-fixture.h"
#include "raw-peer.h"
#include "test-timeout.h"

#define FLOOD_BACKENDS 4
#define FLOOD_PAIRS                                                                                \
        4000 /* ADD + REMOVE per back-end: 2 events each, 32,000 in all, far past the mark */
#define HIGH_WATER 16384 /* bus-events.h: where the service pauses the back-ends */

/* ---- a flood while the bus daemon is stopped ---- */

typedef struct {
        int fd; /* the back-end channel, blocking */
        uint32_t who;
        int error;
} Writer;

static int write_all(int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* ADD and REMOVE without NEED_REPLY, as fast as the socket takes them: a
 * back-end that does not wait for anything. */
static void *writer_run(void *userdata)
{
        Writer *w = userdata;

        for (uint32_t i = 0; i < FLOOD_PAIRS && w->error == 0; i++) {
                uint32_t requests[] = {VU_BREQ_SHARED_OBJECT_ADD, VU_BREQ_SHARED_OBJECT_REMOVE};
                uint8_t uuid[16];

                /* Unique per writer and pair, and never nil. */
                uuid_generate_random(uuid);
                memcpy(uuid, &w->who, sizeof(w->who));
                memcpy(uuid + 4, &i, sizeof(i));
                for (size_t k = 0; k < G_N_ELEMENTS(requests) && w->error == 0; k++) {
                        struct __attribute__((packed)) {
                                VuHeader hdr;
                                uint8_t uuid[16];
                        } msg = {.hdr = {requests[k], VU_VERSION, 16}};
                        memcpy(msg.uuid, uuid, sizeof(uuid));
                        w->error = write_all(w->fd, &msg, sizeof(msg));
                }
        }
        return NULL;
}

typedef struct {
        unsigned added, removed;
} Counts;

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        ((Counts *) userdata)->added++;
        return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        ((Counts *) userdata)->removed++;
        return 0;
}

static bool all_arrived(void *data)
{
        Counts *c = data;

        return c->added >= FLOOD_BACKENDS * FLOOD_PAIRS &&
               c->removed >= FLOOD_BACKENDS * FLOOD_PAIRS;
}

#define HELD_LOOKUPS 20

typedef struct {
        unsigned answered, with_fd;
} LookupReplies;

static int on_lookup_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        LookupReplies *r = userdata;
        int fd = -1;

        r->answered++;
        if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "h", &fd) > 0 &&
            fd >= 0)
                r->with_fd++;
        return 0;
}

static bool all_answered(void *data)
{
        return ((LookupReplies *) data)->answered >= HELD_LOOKUPS;
}

static void test_flood_none_lost(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL;
        RawPeer *backends[FLOOD_BACKENDS];
        Writer writers[FLOOD_BACKENDS];
        pthread_t threads[FLOOD_BACKENDS];
        sd_bus *sub = testbed_connect(&f->tb);
        g_autofree char *held_uuid = NULL, *held_path = NULL;
        LookupReplies replies = {0};
        Counts counts = {0};
        int held_fd = new_memfd(4096, 9);

        g_assert_cmpint(
            sd_bus_match_signal(sub, NULL, DEST, MPATH, MIFACE, "Added", on_added, &counts), >=, 0);
        g_assert_cmpint(
            sd_bus_match_signal(sub, NULL, DEST, MPATH, MIFACE, "Removed", on_removed, &counts), >=,
            0);
        g_assert_null((err = call_export(f->bus, held_fd, "", &held_uuid, &held_path)));
        close(held_fd);
        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++) {
                backends[i] = connect_backend(f, sock);
        }
        testbed_sync(f->bus);
        testbed_sync(sub);

        /* With the bus daemon stopped nothing leaves the service: its
         * queue passes the mark within the first 2,500 pairs per back-end, and the
         * rest of the flood waits in the back-ends' sockets. */
        harness_kill(f->tb.bus, SIGSTOP);
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++) {
                int fd = vu_conn_fd(backends[i]->chan);
                g_assert_cmpint(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), ==, 0);
                writers[i] = (Writer){.fd = fd, .who = i + 1};
                g_assert_cmpint(pthread_create(&threads[i], NULL, writer_run, &writers[i]), ==, 0);
        }
        harness_expect_output(f->tb.service, HARNESS_STDERR, "pausing the back-ends' requests",
                              TEST_TIMEOUT_MS);
        /* Lookups asked meanwhile (each makes a LookedUp): held while the
         * service is paused, all answered, with the buffer, afterwards. */
        for (unsigned i = 0; i < HELD_LOOKUPS; i++)
                g_assert_cmpint(sd_bus_call_method_async(f->bus, NULL, DEST, MPATH, MIFACE,
                                                         "Lookup", on_lookup_reply, &replies, "s",
                                                         held_uuid),
                                >=, 0);
        harness_kill(f->tb.bus, SIGCONT);

        /* Every Added and every Removed arrives. */
        if (!testbed_pump_until(sub, all_arrived, &counts))
                harness_fail(f->tb.h, "%u Added and %u Removed of %u each arrived", counts.added,
                             counts.removed, FLOOD_BACKENDS * FLOOD_PAIRS);
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++) {
                g_assert_cmpint(pthread_join(threads[i], NULL), ==, 0);
                g_assert_cmpint(writers[i].error, ==, 0);
        }
        g_assert_true(testbed_pump_until(f->bus, all_answered, &replies));
        g_assert_cmpuint(replies.with_fd, ==, HELD_LOOKUPS);
        testbed_sync(sub);
        g_assert_cmpuint(counts.added, ==, FLOOD_BACKENDS * FLOOD_PAIRS + 1); /* + the held one */
        g_assert_cmpuint(counts.removed, ==, FLOOD_BACKENDS * FLOOD_PAIRS);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 1);
        g_assert_cmpuint(get_u64(f->bus, MPATH, MIFACE, "InputPauses"), >=, 1);
        g_assert_cmpuint(get_u64(f->bus, MPATH, MIFACE, "InputPausedUSec"), >, 0);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "BusQueueHighWater"), >=, HIGH_WATER);
        /* The back-ends were paused, not dropped. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, FLOOD_BACKENDS);
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++)
                raw_peer_free(backends[i]);
        sd_bus_flush_close_unref(sub);
}

/* ---- LookupCount ---- */

static guint log_index(SignalLog *l, const char *event)
{
        for (guint i = 0; i < l->events->len; i++)
                if (strcmp(g_ptr_array_index(l->events, i), event) == 0)
                        return i;
        g_error("no \"%s\" in the log:\n%s", event, signal_log_dump(l));
}

static void test_lookup_count_coalesced(Fixture *f, gconstpointer data)
{
        g_autofree char *uuid = NULL, *path = NULL, *err = NULL, *changed = NULL, *removed = NULL;
        int fd = new_memfd(4096, 3);
        const unsigned lookups = 50;

        g_assert_null((err = call_export(f->bus, fd, "", &uuid, &path)));
        for (unsigned i = 0; i < lookups; i++) {
                int got = -1;
                g_assert_null((err = call_lookup(f->bus, uuid, &got)));
                close(got);
        }
        g_assert_cmpuint(get_u64(f->bus, path, OIFACE, "LookupCount"), ==, lookups);
        /* Removed at once: its last count is announced before it goes. */
        g_assert_null((err = call_simple(f->bus, "Remove", "s", uuid)));
        removed = g_strdup_printf("Removed %s %s", uuid, path);
        g_assert_true(signal_log_wait_for(&f->log, f->bus, removed));
        changed = g_strdup_printf("PropertiesChanged %s " OIFACE " LookupCount", path);
        g_free(removed);
        removed = g_strdup_printf("InterfacesRemoved %s " OIFACE, path);
        g_assert_cmpuint(log_index(&f->log, changed), <, log_index(&f->log, removed));
        /* At most one per 100 ms: 50 lookups would have to take 5 s to make
         * one each. */
        g_assert_cmpuint(signal_log_count(&f->log, changed), <, lookups);
        g_assert_cmpuint(signal_log_count(&f->log, changed), >=, 1);
        close(fd);
}

/* ---- LookedUp in its place ---- */

typedef struct {
        SignalLog *log;
        const char *prefix;
} WaitPrefix;

/* The index of the first event starting with prefix, or -1. */
static int log_find_prefix(SignalLog *l, const char *prefix)
{
        for (guint i = 0; i < l->events->len; i++)
                if (g_str_has_prefix(g_ptr_array_index(l->events, i), prefix))
                        return (int) i;
        return -1;
}

static bool has_prefix(void *data)
{
        WaitPrefix *w = data;

        return log_find_prefix(w->log, w->prefix) >= 0;
}

/* A back-end that ADDs without waiting and at once looks its own object up
 * (libvhost-user sends both without waiting for an answer): the service
 * reads both in one go and refuses the lookup (the exporter would have to
 * answer itself). A subscriber must hear of the object before it hears of
 * the lookup: LookedUp goes through the same queue as Added. */
static void test_looked_up_after_added(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *added = NULL, *looked_up = NULL;
        struct __attribute__((packed)) {
                VuHeader hdr;
                uint8_t uuid[16];
        } msgs[2] = {
            {.hdr = {VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 16}},
            {.hdr = {VU_BREQ_SHARED_OBJECT_LOOKUP, VU_VERSION | VU_FLAG_NEED_REPLY, 16}},
        };
        char uuid_str[37];
        RawPeer *b;
        VuMessage reply;

        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        b = connect_backend(f, sock);
        uuid_generate_random(msgs[0].uuid);
        memcpy(msgs[1].uuid, msgs[0].uuid, 16);
        uuid_unparse_lower(msgs[0].uuid, uuid_str);
        testbed_sync(f->bus);

        raw_peer_send_bytes(b, b->chan, msgs, sizeof(msgs));
        g_assert_cmpint(raw_peer_recv(b, b->chan, &reply), ==, 1);
        g_assert_cmpuint(reply.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        vu_message_close_fds(&reply);

        /* Refused: the importer is the exporter. */
        g_assert_cmpuint(reply.payload.u64, !=, 0);
        /* With a name of its own: the importer would wait on itself. */
        looked_up = g_strdup_printf("LookedUp %s " MPATH "/peer/", uuid_str);
        added = g_strdup_printf("Added %s ", uuid_str);
        g_assert_true(testbed_pump_until(f->bus, has_prefix, &(WaitPrefix){&f->log, looked_up}));
        g_assert_true(testbed_pump_until(f->bus, has_prefix, &(WaitPrefix){&f->log, added}));
        if (log_find_prefix(&f->log, added) > log_find_prefix(&f->log, looked_up))
                g_error("LookedUp before Added:\n%s", signal_log_dump(&f->log));
        g_assert_true(
            g_str_has_suffix(g_ptr_array_index(f->log.events, log_find_prefix(&f->log, looked_up)),
                             " org.vhostshare.share1.Error.LookupCycle"));
        raw_peer_free(b);
}

/* ---- a call is a barrier ---- */

/* Events are gathered for a moment before they are sent, but a D-Bus call
 * answered after a change comes after that change's signals: a client that
 * pings (or calls anything) after a back-end's ack has heard of the object
 * when the answer arrives. */
static void test_call_after_signals(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL;
        RawPeer *b;

        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        b = connect_backend(f, sock);
        testbed_sync(f->bus);
        for (unsigned i = 0; i < 20; i++) {
                g_autofree char *added = NULL;
                char uuid_str[37];
                uint8_t u[16];
                VuMessage ack;

                uuid_generate_random(u);
                uuid_unparse_lower(u, uuid_str);
                g_assert_cmpint(raw_peer_request(b, VU_BREQ_SHARED_OBJECT_ADD, u, -1, &ack), ==, 1);
                testbed_sync(f->bus);
                added = g_strdup_printf("Added %s ", uuid_str);
                if (log_find_prefix(&f->log, added) < 0)
                        g_error("round %u: the Ping's answer came before %s:\n%s", i, added,
                                signal_log_dump(&f->log));
        }
        raw_peer_free(b);
}

/* ---- GetManagedObjects ---- */

/* One value of a variant's contents as text, recursing into containers. */
static void append_value(GString *s, sd_bus_message *m)
{
        const char *contents;
        char type;
        int r;

        while ((r = sd_bus_message_peek_type(m, &type, &contents)) > 0) {
                if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT ||
                    type == SD_BUS_TYPE_DICT_ENTRY || type == SD_BUS_TYPE_VARIANT) {
                        g_assert_cmpint(sd_bus_message_enter_container(m, type, contents), >=, 0);
                        g_string_append_printf(s, "%c(", type);
                        append_value(s, m);
                        g_string_append(s, ")");
                        g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
                        continue;
                }
                union {
                        uint64_t u64;
                        const char *str;
                        uint8_t bytes[8];
                } v = {0};
                g_assert_cmpint(sd_bus_message_read_basic(m, type, &v), >, 0);
                if (type == 's' || type == 'o' || type == 'g')
                        g_string_append_printf(s, "%c:%s,", type, v.str);
                else
                        g_string_append_printf(s, "%c:%" G_GINT64_MODIFIER "x,", type, v.u64);
        }
        g_assert_cmpint(r, >=, 0);
}

/* Properties.GetAll of iface at path, as text. */
static char *get_all(sd_bus *bus, const char *path, const char *iface)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        GString *s = g_string_new(NULL);

        g_assert_cmpint(sd_bus_call_method(bus, DEST, path, "org.freedesktop.DBus.Properties",
                                           "GetAll", &e, &reply, "s", iface),
                        >=, 0);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{sv}"), >=, 0);
        append_value(s, reply);
        return g_string_free(s, FALSE);
}

static void test_managed_objects_match_get_all(Fixture *f, gconstpointer data)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *uuid = NULL, *path = NULL;
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        int fd = new_memfd(8192, 5), got = -1;
        const char *p, *iface;
        RawPeer *b;
        uint8_t u[16];

        /* A bus client's object (looked up once), a back-end's, a peer and
         * a listener. */
        g_assert_null((err = call_export(f->bus, fd, "", &uuid, &path)));
        g_assert_null((err = call_lookup(f->bus, uuid, &got)));
        close(got);
        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        b = connect_backend(f, sock);
        uuid_generate_random(u);
        VuMessage ack;
        g_assert_cmpint(raw_peer_request(b, VU_BREQ_SHARED_OBJECT_ADD, u, -1, &ack), ==, 1);
        g_assert_true(wait_object_count(f, 2));

        g_assert_cmpint(sd_bus_call_method(f->bus, DEST, MPATH,
                                           "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects", &e, &reply, NULL),
                        >=, 0);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), >=, 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                g_autoptr(GPtrArray) ifaces = g_ptr_array_new_with_free_func(g_free);
                g_assert_cmpint(sd_bus_message_read(reply, "o", &p), >, 0);
                g_hash_table_add(seen, g_strdup(p));
                g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), >=, 0);
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        g_autofree char *got_props = NULL, *want = NULL;
                        GString *s = g_string_new(NULL);
                        g_assert_cmpint(sd_bus_message_read(reply, "s", &iface), >, 0);
                        g_ptr_array_add(ifaces, g_strdup(iface));
                        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{sv}"), >=, 0);
                        append_value(s, reply);
                        g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                        g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                        got_props = g_string_free(s, FALSE);
                        if (g_str_has_prefix(iface, "org.freedesktop.DBus."))
                                g_assert_cmpstr(got_props, ==, "");
                        else
                                g_assert_cmpstr(got_props, ==, (want = get_all(f->bus, p, iface)));
                }
                g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                /* The object's own interface; the standard ones, which
                 * have no properties, are left out. */
                g_assert_cmpuint(ifaces->len, ==, 1);
                g_assert_true(g_str_has_prefix(ifaces->pdata[0], "org.vhostshare.share1."));
        }
        g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
        /* Two objects, one peer, one listener. */
        g_assert_cmpuint(g_hash_table_size(seen), ==, 4);
        g_assert_true(g_hash_table_contains(seen, path));
        g_assert_true(g_hash_table_contains(seen, MPATH "/peer/1"));
        raw_peer_free(b);
        close(fd);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/events/flood-none-lost", setup_shipped, NULL, test_flood_none_lost);
        DBUS_TEST_ADD("/dbus/events/lookup-count-coalesced", setup_shipped, NULL,
                      test_lookup_count_coalesced);
        DBUS_TEST_ADD("/dbus/events/looked-up-after-added", setup_shipped, NULL,
                      test_looked_up_after_added);
        DBUS_TEST_ADD("/dbus/events/call-after-signals", setup_shipped, NULL,
                      test_call_after_signals);
        DBUS_TEST_ADD("/dbus/events/managed-objects-match-get-all", setup_shipped, NULL,
                      test_managed_objects_match_get_all);
        return g_test_run();
}
