/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AddPeer "connect" tells the truth: a back-end that is not there yet makes
 * a waiting peer with the connect() error and the next attempt's time,
 * which connects once the back-end listens; paths that can never work, a
 * second peer on one socket and the service's own sockets are refused by
 * name; and a caller's string cannot forge a line of the service's log. */

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-fixture.h"

typedef struct {
        sd_bus *bus;
        const char *peer;
        const char *state;
} StateWait;

static bool peer_in_state(void *data)
{
        StateWait *w = data;
        g_autofree char *s = get_string(w->bus, w->peer, PIFACE, "State");

        return strcmp(s, w->state) == 0;
}

static void wait_peer_state(Fixture *f, const char *peer, const char *state)
{
        StateWait w = {.bus = f->bus, .peer = peer, .state = state};

        if (!testbed_pump_until(f->bus, peer_in_state, &w)) {
                g_autofree char *s = get_string(f->bus, peer, PIFACE, "State");
                harness_fail(f->tb.h, "peer %s is %s, not %s", peer, s, state);
        }
}

static uint64_t realtime_usec(void)
{
        struct timespec ts;

        g_assert_cmpint(clock_gettime(CLOCK_REALTIME, &ts), ==, 0);
        return (uint64_t) ts.tv_sec * G_USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Nobody listens yet: "waiting", the errno's text, when it tries again;
 * then the back-end starts and the peer gets ready, its error cleared. */
static void test_waiting_then_ready(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "later.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *peer = NULL, *err = NULL, *s = NULL;
        uint64_t before = realtime_usec(), next;
        HarnessProc *dev;

        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        wait_peer_state(f, peer, "waiting");
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "LastError")), ==,
                        "connect: No such file or directory");
        g_clear_pointer(&s, g_free);
        next = get_u64(f->bus, peer, PIFACE, "NextRetryTimestamp");
        g_assert_cmpuint(next, >, before);
        g_assert_cmpuint(next, <=, realtime_usec() + 5 * G_USEC_PER_SEC);

        dev = harness_spawn_device(f->tb.h, "device", listen, "--export=1", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);
        wait_peer_state(f, peer, "ready");
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "LastError")), ==, "");
        g_assert_cmpuint(get_u64(f->bus, peer, PIFACE, "NextRetryTimestamp"), ==, 0);
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "Pid"), ==,
                         (uint32_t) harness_proc_pid(dev));

        /* The back-end goes: waiting again, with why. */
        harness_stop(dev, TEST_TIMEOUT_MS);
        wait_peer_state(f, peer, "waiting");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "LastError")), !=, "");
        g_assert_cmpuint(get_u64(f->bus, peer, PIFACE, "NextRetryTimestamp"), >, 0);
}

/* AddPeer role path fails with error (NULL: succeeds). */
static void expect_add_peer(Fixture *f, const char *role, const char *path, const char *error)
{
        g_autofree char *err = call_add_peer(f->bus, role, path, NULL);

        g_assert_cmpstr(err, ==, error);
}

/* What can never be connected to fails AddPeer by name; nothing is
 * touched and no peer stays. */
static void test_refused(Fixture *f, gconstpointer data)
{
        g_autofree char *file = g_build_filename(f->tb.dir, "data", NULL);
        g_autofree char *below = g_build_filename(file, "x.sock", NULL);
        g_autofree char *content = NULL;

        g_assert_true(g_file_set_contents(file, "precious", -1, NULL));
        expect_add_peer(f, "connect", file, ERR("NotASocket"));
        expect_add_peer(f, "connect", below, ERR("NotFound"));
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 0);
        g_assert_true(g_file_get_contents(file, &content, NULL, NULL));
        g_assert_cmpstr(content, ==, "precious");
        harness_wait_output(f->tb.service, HARNESS_STDERR, "Not a directory", TEST_TIMEOUT_MS);
}

/* One peer per socket, and never one on the service's own socket (it
 * would talk to itself, reconnecting for ever). */
static void test_exists(Fixture *f, gconstpointer data)
{
        g_autofree char *waiting = g_build_filename(f->tb.dir, "waiting.sock", NULL);
        g_autofree char *own = g_build_filename(f->tb.dir, "own.sock", NULL);

        expect_add_peer(f, "connect", waiting, NULL);
        expect_add_peer(f, "connect", waiting, ERR("Exists"));
        expect_add_peer(f, "serve", own, NULL);
        expect_add_peer(f, "connect", own, ERR("Exists"));
        testbed_sync(f->bus);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
        harness_wait_output(f->tb.service, HARNESS_STDERR, "own listening socket", TEST_TIMEOUT_MS);
}

/* A newline and a "<0>" in a caller's path: every line of the service's
 * log is still one the service wrote, at its own priority. */
static void test_log_injection(Fixture *f, gconstpointer data)
{
        g_autofree char *path = g_strdup_printf("%s/a\n<0>forged", f->tb.dir);
        g_autofree char *err = NULL;
        const GPtrArray *lines;

        err = call_add_peer(f->bus, "connect", path, NULL);
        testbed_sync(f->bus);
        /* Refused (control characters) or waiting: either way the path
         * reached the log escaped, if at all. */
        if (!err)
                harness_wait_output(f->tb.service, HARNESS_STDERR, "/a\\n<0>forged",
                                    TEST_TIMEOUT_MS);
        lines = harness_lines(f->tb.service, HARNESS_STDERR);
        for (guint i = 0; i < lines->len; i++) {
                const HarnessLine *l = g_ptr_array_index(lines, i);

                if (g_str_has_prefix(l->text, "<0>") || strstr(l->text, "forged") == l->text)
                        harness_fail(f->tb.h, "a forged log line: %s", l->text);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/connect/waiting-then-ready", setup_shipped, NULL,
                      test_waiting_then_ready);
        DBUS_TEST_ADD("/dbus/connect/refused", setup_shipped, NULL, test_refused);
        DBUS_TEST_ADD("/dbus/connect/exists", setup_shipped, NULL, test_exists);
        DBUS_TEST_ADD("/dbus/connect/log-injection", setup_shipped, NULL, test_log_injection);
        return g_test_run();
}
