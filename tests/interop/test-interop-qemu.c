/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge (vhost-shared --serve) against real QEMU 10: the handshake
 * QEMU drives (on one and two sockets), per-socket options, and ADD and
 * REMOVE as QEMU answers them. Processes and expectations through
 * interop-fixture.h. */

#include <glib.h>
#include <string.h>
#include <sys/wait.h>

#include "interop-fixture.h"

static void test_handshake_one(Fixture *fx, gconstpointer data)
{
        static const char *const sequence[] = {
            "GET_FEATURES ",  "GET_PROTOCOL_FEATURES ", "SET_PROTOCOL_FEATURES ",
            "GET_QUEUE_NUM ", "SET_BACKEND_REQ_FD ",    "SET_OWNER ",
            "GET_FEATURES ",  "SET_VRING_CALL ",        "SET_VRING_ERR ",
        };
        g_autofree char *serve = serve_arg(fx, "bridge.sock", NULL);
        g_autofree char *sock = fx_path(fx, "bridge.sock");
        Proc *svc = start_service(fx, "service", serve, NULL);
        int baseline = count_fds(proc_pid(svc));
        gint64 t0 = g_get_monotonic_time();
        const HarnessLine *ready;

        Proc *qemu = start_qemu(fx, (const char *[]){sock, NULL});
        ready = expect_bridge_ready(fx, svc, "bridge.sock");
        g_test_message("handshake with QEMU: %" G_GINT64_FORMAT " ms from its start",
                       (ready->usec - t0) / 1000);

        /* What QEMU 10.0.2 sends at realize: exactly these, in this order
         * (the bridge logs each request with -v). */
        proc_expect(fx, svc, "SET_VRING_ERR", "QEMU's last message at realize");
        g_autoptr(GString) seen = g_string_new(NULL);
        g_autoptr(GString) want = g_string_new(NULL);
        for (unsigned i = 0; i < G_N_ELEMENTS(sequence); i++)
                g_string_append(want, sequence[i]);
        const GPtrArray *lines = harness_lines(svc->hp, HARNESS_STDERR);
        for (guint i = 0; i < lines->len; i++) {
                const char *l = ((const HarnessLine *) g_ptr_array_index(lines, i))->text;
                const char *colon = strstr(l, "): ");
                if (g_str_has_prefix(l, "front-end#") && colon && strstr(l, " flags 0x")) {
                        g_autofree char *name = field(colon + 3, 0);
                        g_string_append_printf(seen, "%s ", name);
                }
        }
        g_assert_cmpstr(seen->str, ==, want->str);
        svc->cursor = 0;
        proc_expect(fx, svc, "SET_PROTOCOL_FEATURES flags 0x1 u64 0x40429",
                    "QEMU 10.0.2 accepts MQ|REPLY_ACK|BACKEND_REQ|BACKEND_SEND_FD|SHARED_OBJECT");
        proc_expect(fx, svc, "SET_BACKEND_REQ_FD flags 0x9", "NEED_REPLY with REPLY_ACK");
        proc_expect(fx, svc, "SET_VRING_CALL flags 0x1 u64 0x0, 1 fd(s)", "an eventfd");
        proc_expect(fx, svc, "SET_VRING_ERR flags 0x1 u64 0x0, 1 fd(s)", "an eventfd");
        /* Everything answered; nothing refused, nothing broken. */
        g_assert_false(proc_said(fx, svc, "not supported", NULL));
        g_assert_false(proc_said(fx, svc, "front-end#", "disconnecting"));

        /* Per connection the bridge holds 4 fds (socket, channel, call and
         * err eventfds) and gives all back when QEMU goes. The first round
         * also creates the service's lazy ones (sd-event's timerfd), so the
         * count is compared over a second QEMU on the same socket. */
        int held = count_fds(proc_pid(svc));
        proc_stop(qemu);
        int after = wait_fds_at_most(fx, svc, held - 4);
        qemu = start_qemu(fx, (const char *[]){sock, NULL});
        proc_expect(fx, svc, "SET_VRING_ERR", "the second QEMU's realize");
        g_assert_cmpint(count_fds(proc_pid(svc)), ==, after + 4);
        proc_stop(qemu);
        g_assert_cmpint(wait_fds_at_most(fx, svc, after), ==, after);
        g_test_message("service fds: %d before QEMU, %d with it, %d after", baseline, held, after);
}

static void test_handshake_two(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve1 = serve_arg(fx, "b1.sock", NULL);
        g_autofree char *serve2 = serve_arg(fx, "b2.sock", "queues=2,device-id=4");
        g_autofree char *s1 = fx_path(fx, "b1.sock");
        g_autofree char *s2 = fx_path(fx, "b2.sock");
        Proc *svc = start_service(fx, "service", serve1, serve2, NULL);
        gint64 t0 = g_get_monotonic_time();
        const HarnessLine *r1, *r2;

        svc->cursor = 0;
        proc_expect2(fx, svc, s1, "virtio device 4, 1 queue(s)", "defaults on the first socket");
        proc_expect2(fx, svc, s2, "virtio device 4, 2 queue(s)", "options on the second");
        start_qemu(fx, (const char *[]){s1, s2, NULL});
        r1 = expect_bridge_ready(fx, svc, "b1.sock");
        svc->cursor = 0;
        r2 = expect_bridge_ready(fx, svc, "b2.sock");
        g_test_message("two devices ready %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                       " ms after QEMU started",
                       (r1->usec - t0) / 1000, (r2->usec - t0) / 1000);
        /* Each bridge answered GET_QUEUE_NUM with its own socket's count. */
        g_assert_false(proc_said(fx, svc, "front-end#", "disconnecting"));
}

/* Per-socket options seen from the other side: a second service is the
 * front-end of both sockets and logs what each presented. No QEMU needed. */
static void test_serve_options(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve1 = serve_arg(fx, "b1.sock", "queues=3");
        g_autofree char *serve2 = serve_arg(fx, "b2.sock", "reply-ack=no");
        g_autofree char *c1 = path_arg(fx, "connect", "b1.sock");
        g_autofree char *c2 = path_arg(fx, "connect", "b2.sock");
        g_autofree char *s1 = fx_path(fx, "b1.sock");
        g_autofree char *s2 = fx_path(fx, "b2.sock");
        g_autofree char *bad = serve_arg(fx, "bad.sock", "queues=0");
        g_autofree char *exe = harness_build_file("service/vhost-shared");

        start_service(fx, "bridges", serve1, serve2, NULL);
        Proc *hub = start_service(fx, "hub", c1, c2, NULL);

        proc_expect2(fx, hub, s1, "3 queue(s), protocol features MQ|REPLY_ACK|",
                     "the first socket answers GET_QUEUE_NUM with 3 and offers REPLY_ACK");
        hub->cursor = 0;
        const HarnessLine *l = proc_expect2(fx, hub, s2, "1 queue(s), protocol features",
                                            "the second socket has the default queue count");
        g_assert_null(strstr(l->text, "REPLY_ACK"));

        /* A bad option is refused with a message naming it. */
        Proc *p = fx_add(fx, harness_spawn(fx->h, "bad",
                                           (const char *const[]){exe, "--no-bus", bad, NULL}, NULL,
                                           HARNESS_SPAWN_DEFAULT));
        int status = harness_wait_exit(p->hp, TEST_TIMEOUT_MS);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 1);
        proc_expect(fx, p, "serve option 'queues=0'", "the bad option is named");
}

static void test_add_acked(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve = serve_arg(fx, "bridge.sock", NULL);
        g_autofree char *accept = path_arg(fx, "accept", "dev.sock");
        g_autofree char *sock = fx_path(fx, "bridge.sock");
        Proc *svc = start_service(fx, "service", serve, accept, NULL);

        /* Exported before QEMU comes: announced when its bridge is ready. */
        Proc *dev = start_commands_device(fx, "device", "dev.sock");
        proc_send(dev, "export " UUID_A);
        proc_expect(fx, dev, "EXPORTED " UUID_A, "the hub takes the export");

        start_qemu(fx, (const char *[]){sock, NULL});
        expect_bridge_ready(fx, svc, "bridge.sock");
        proc_expect(fx, svc, "front-end acked ADD " UUID_A " (0)",
                    "QEMU 10.0.2 acks an ADD of a new UUID with 0");

        /* Exported while QEMU is there: announced at once. */
        proc_send(dev, "export " UUID_B);
        proc_expect(fx, svc, "front-end acked ADD " UUID_B " (0)", "QEMU acks the second ADD");

        /* REMOVE by the owner is acked. */
        proc_send(dev, "remove " UUID_A);
        proc_expect(fx, dev, "REMOVED " UUID_A, "the hub removes it");
        proc_expect(fx, svc, "front-end acked REMOVE " UUID_A " (0)",
                    "QEMU 10.0.2 acks a REMOVE by the back-end that added the UUID with 0");
        g_assert_false(proc_said(fx, svc, "refused", NULL));
}

/* Two services bridge to two devices of one QEMU: QEMU's table is one for
 * both, so the second ADD of a UUID is refused (ack 1), and a REMOVE by the
 * back-end that does not own it too. */
static void test_add_duplicate_refused(Fixture *fx, gconstpointer data)
{
        Proc *svc_a, *svc_b;

        start_two_bridges(fx, &svc_a, &svc_b);
        Proc *dev_a = start_commands_device(fx, "device-a", "a-dev.sock");
        Proc *dev_b = start_commands_device(fx, "device-b", "b-dev.sock");

        proc_send(dev_a, "export " UUID_A);
        proc_expect(fx, svc_a, "front-end acked ADD " UUID_A " (0)", "the first ADD is acked");
        proc_send(dev_b, "export " UUID_A);
        proc_expect(fx, dev_b, "EXPORTED " UUID_A, "service B's own table has no such UUID");
        proc_expect(fx, svc_b, "front-end refused ADD " UUID_A " (ack 1)",
                    "QEMU 10.0.2 refuses an ADD of a UUID another back-end added, with 1; the "
                    "bridge logs the refusal (and records it as the peer's last error)");

        /* B's owner withdraws: B's REMOVE is refused, A's entry stays. */
        proc_send(dev_b, "remove " UUID_A);
        proc_expect(fx, svc_b, "front-end refused REMOVE " UUID_A,
                    "QEMU 10.0.2 refuses a REMOVE from a back-end that does not own the UUID");
        proc_send(dev_a, "remove " UUID_A);
        proc_expect(fx, svc_a, "front-end acked REMOVE " UUID_A " (0)",
                    "the owner's REMOVE is acked");
        g_assert_false(proc_said(fx, svc_a, "front-end#", "disconnecting"));
        g_assert_false(proc_said(fx, svc_b, "front-end#", "disconnecting"));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        INTEROP_TEST_ADD("/interop/handshake/one-device", test_handshake_one);
        INTEROP_TEST_ADD("/interop/handshake/two-sockets", test_handshake_two);
        INTEROP_TEST_ADD("/interop/serve-options/per-socket", test_serve_options);
        INTEROP_TEST_ADD("/interop/add/acked-and-removed", test_add_acked);
        INTEROP_TEST_ADD("/interop/add/duplicate-refused", test_add_duplicate_refused);
        return g_test_run();
}
