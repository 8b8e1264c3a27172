/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lookups that would go round in circles: a service connected to its own
 * bridge, and two services each serving the other's hub. A lookup of a UUID
 * nobody holds must fail at once (the lookup deadline is longer than the
 * test waits), and the services must be quiet after it: the log lines of a
 * window after the answer are counted (the loop wrote 150-340 a second).
 * A ring of three ends at its first deadline (docs/security.md, "Loops").
 * vhost-shared as processes, a raw back-end as the importer (harness.h). */

#include <glib.h>
#include <uuid/uuid.h>

#include "harness.h"
#include "vu-message.h"

#define IMPORTER_PF                                                                                \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_SHARED_OBJECT))
/* Longer than every wait of the test: an answer that comes came at once. */
#define LOOKUP_DEADLINE_ARG "--lookup-timeout-ms=600000"
#define QUIET_WINDOW_MS 1000
#define QUIET_MAX_LINES 2 /* nothing expected; a margin for an unrelated line */

static unsigned stderr_lines(HarnessProc *const *procs, unsigned n)
{
        unsigned total = 0;

        for (unsigned i = 0; i < n; i++)
                total += harness_lines(procs[i], HARNESS_STDERR)->len;
        return total;
}

/* The lines the services write during a window: a count, not a timing. */
static unsigned lines_during_window(Harness *h, HarnessProc *const *procs, unsigned n)
{
        unsigned before = stderr_lines(procs, n);
        gint64 end = g_get_monotonic_time() + QUIET_WINDOW_MS * 1000;
        gint64 now;

        while ((now = g_get_monotonic_time()) < end)
                harness_pump(h, (int) ((end - now) / 1000) + 1);
        return stderr_lines(procs, n) - before;
}

/* A raw back-end on accept looks up a fresh UUID; it must get a refusal
 * (ack non-zero) within the test's deadline. It stays connected. */
static RawPeer *lookup_unknown(Harness *h, const char *accept)
{
        RawPeer *r = harness_raw_peer_connect(h, accept, RAW_PEER_BACKEND);
        uint8_t uuid[16];
        VuMessage reply;

        raw_peer_handshake(r, IMPORTER_PF);
        uuid_generate_random(uuid);
        g_assert_cmpint(raw_peer_request(r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, -1, &reply), ==, 1);
        g_assert_cmpuint(reply.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        g_assert_cmpuint(reply.payload.u64, !=, 0);
        g_assert_cmpuint(reply.n_fds, ==, 0);
        return r;
}

/* At most max_lines in the window after the answer. */
static void assert_quiet(Harness *h, HarnessProc *const *procs, unsigned n, unsigned max_lines)
{
        unsigned lines = lines_during_window(h, procs, n);

        g_test_message("%u log lines in the %d ms after the answer", lines, QUIET_WINDOW_MS);
        if (lines > max_lines)
                harness_fail(h, "%u log lines in %d ms after the answer: the lookup goes on", lines,
                             QUIET_WINDOW_MS);
}

/* --connect to its own --serve socket: the path is recognised before any
 * connection (core/peer.c), so the service refuses to start with a clear
 * line instead of asking itself for ever; it leaves no socket behind. */
static void test_self_loop(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *hub_path = harness_build_file("service/vhost-shared");
        g_autofree char *accept = harness_path(h, "accept.sock");
        g_autofree char *serve = harness_path(h, "serve.sock");
        g_autofree char *accept_arg = g_strdup_printf("--accept=%s", accept);
        g_autofree char *serve_arg = g_strdup_printf("--serve=%s", serve);
        g_autofree char *connect_arg = g_strdup_printf("--connect=%s", serve);
        const char *const argv[] = {hub_path,    "--no-bus",          accept_arg, serve_arg,
                                    connect_arg, LOOKUP_DEADLINE_ARG, NULL};
        HarnessProc *hub;
        int status;

        hub = harness_spawn(h, "self-loop", argv, NULL, 0);
        status = harness_wait_exit(hub, TEST_TIMEOUT_MS);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);
        harness_wait_output(hub, HARNESS_STDERR, "it is the service's own listening socket",
                            TEST_TIMEOUT_MS);
        g_assert_false(g_file_test(accept, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test(serve, G_FILE_TEST_EXISTS));
}

/* A serves B's hub and B serves A's: A's bridge asks B, whose bridge must
 * not ask A back for A's own question. */
static void test_two_service_loop(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *accept = harness_path(h, "a-accept.sock");
        g_autofree char *serve_a = harness_path(h, "a-serve.sock");
        g_autofree char *serve_b = harness_path(h, "b-serve.sock");
        g_autofree char *accept_arg = g_strdup_printf("--accept=%s", accept);
        g_autofree char *serve_a_arg = g_strdup_printf("--serve=%s", serve_a);
        g_autofree char *serve_b_arg = g_strdup_printf("--serve=%s", serve_b);
        g_autofree char *connect_a_arg = g_strdup_printf("--connect=%s", serve_a);
        g_autofree char *connect_b_arg = g_strdup_printf("--connect=%s", serve_b);
        g_autoptr(RawPeer) importer = NULL;
        HarnessProc *procs[2];

        procs[0] =
            harness_spawn_hub(h, accept_arg, serve_a_arg, connect_b_arg, LOOKUP_DEADLINE_ARG, NULL);
        procs[1] = harness_spawn_hub(h, serve_b_arg, connect_a_arg, LOOKUP_DEADLINE_ARG, NULL);
        for (unsigned i = 0; i < 2; i++) {
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, shared objects negotiated",
                                    TEST_TIMEOUT_MS);
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
        }
        importer = lookup_unknown(h, accept);
        assert_quiet(h, procs, 2, QUIET_MAX_LINES);
}

/* The same UUID looked up on both services at once: each forward reaches
 * the other service while its own is pending. Joining the pending forward
 * would have each wait on the other until the deadline; the arrival from
 * the very process being asked is refused at once instead. */
static void test_two_service_crossed(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *accept_a = harness_path(h, "a-accept.sock");
        g_autofree char *accept_b = harness_path(h, "b-accept.sock");
        g_autofree char *serve_a = harness_path(h, "a-serve.sock");
        g_autofree char *serve_b = harness_path(h, "b-serve.sock");
        g_autofree char *accept_a_arg = g_strdup_printf("--accept=%s", accept_a);
        g_autofree char *accept_b_arg = g_strdup_printf("--accept=%s", accept_b);
        g_autofree char *serve_a_arg = g_strdup_printf("--serve=%s", serve_a);
        g_autofree char *serve_b_arg = g_strdup_printf("--serve=%s", serve_b);
        g_autofree char *connect_a_arg = g_strdup_printf("--connect=%s", serve_a);
        g_autofree char *connect_b_arg = g_strdup_printf("--connect=%s", serve_b);
        g_autoptr(RawPeer) importer_a = NULL;
        g_autoptr(RawPeer) importer_b = NULL;
        HarnessProc *procs[2];
        RawPeer *importers[2];
        uint8_t uuid[16];

        procs[0] = harness_spawn_hub(h, accept_a_arg, serve_a_arg, connect_b_arg,
                                     LOOKUP_DEADLINE_ARG, NULL);
        procs[1] = harness_spawn_hub(h, accept_b_arg, serve_b_arg, connect_a_arg,
                                     LOOKUP_DEADLINE_ARG, NULL);
        for (unsigned i = 0; i < 2; i++) {
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, shared objects negotiated",
                                    TEST_TIMEOUT_MS);
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
        }
        importers[0] = importer_a = harness_raw_peer_connect(h, accept_a, RAW_PEER_BACKEND);
        importers[1] = importer_b = harness_raw_peer_connect(h, accept_b, RAW_PEER_BACKEND);
        uuid_generate_random(uuid);
        for (unsigned i = 0; i < 2; i++)
                raw_peer_handshake(importers[i], IMPORTER_PF);
        for (unsigned i = 0; i < 2; i++) {
                VuMessage m;

                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
                raw_peer_send(importers[i], importers[i]->chan, &m);
        }
        for (unsigned i = 0; i < 2; i++) {
                VuMessage reply;

                g_assert_cmpint(raw_peer_recv(importers[i], importers[i]->chan, &reply), ==, 1);
                g_assert_cmpuint(reply.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
                g_assert_cmpuint(reply.payload.u64, !=, 0);
                g_assert_cmpuint(reply.n_fds, ==, 0);
        }
        assert_quiet(h, procs, 2, QUIET_MAX_LINES);
}

/* A serves B, B serves C, C serves A: the question that comes back to A
 * (from C, not a VMM of A's) joins A's own walk, and all of it ends when
 * the first hop's deadline passes (1 s here); then the services are
 * quiet. */
static void test_three_service_ring(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *accept = harness_path(h, "a-accept.sock");
        g_autofree char *accept_arg = g_strdup_printf("--accept=%s", accept);
        g_autoptr(RawPeer) importer = NULL;
        const char *names[3] = {"a", "b", "c"};
        char *serve_args[3], *connect_args[3];
        HarnessProc *procs[3];

        for (unsigned i = 0; i < 3; i++) {
                g_autofree char *name = g_strdup_printf("%s-serve.sock", names[i]);
                g_autofree char *path = harness_path(h, name);
                g_autofree char *next_name = g_strdup_printf("%s-serve.sock", names[(i + 1) % 3]);
                g_autofree char *next = harness_path(h, next_name);

                serve_args[i] = g_strdup_printf("--serve=%s", path);
                /* i's hub is the VMM of the next one's bridge. */
                connect_args[i] = g_strdup_printf("--connect=%s", next);
        }
        procs[0] = harness_spawn_hub(h, accept_arg, serve_args[0], connect_args[0],
                                     "--lookup-timeout-ms=1000", NULL);
        for (unsigned i = 1; i < 3; i++)
                procs[i] = harness_spawn_hub(h, serve_args[i], connect_args[i],
                                             "--lookup-timeout-ms=1000", NULL);
        for (unsigned i = 0; i < 3; i++) {
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, shared objects negotiated",
                                    TEST_TIMEOUT_MS);
                harness_wait_output(procs[i], HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
                g_free(serve_args[i]);
                g_free(connect_args[i]);
        }
        importer = lookup_unknown(h, accept);
        /* The tail: the other hops' deadlines and late answers (5 lines
         * measured), then nothing. */
        assert_quiet(h, procs, 3, 8);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/daemon/loops/self", test_self_loop);
        g_test_add_func("/daemon/loops/two-services", test_two_service_loop);
        g_test_add_func("/daemon/loops/two-services-crossed", test_two_service_crossed);
        g_test_add_func("/daemon/loops/three-service-ring", test_three_service_ring);
        return g_test_run();
}
