/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU 10.0.2's defects around shared objects, pinned: each test says
 * what QEMU does today, so a fixed QEMU makes it fail with a message saying
 * what changed (docs/interop.md). And the bridge surviving a reply QEMU
 * sends after its deadline. Processes and expectations through
 * interop-fixture.h. */

#include <glib.h>

#include "interop-fixture.h"

/* Bridge A announces U without NEED_REPLY (reply-ack=no: see the dangling
 * key test for why), bridge B looks U up in QEMU for an importer of its
 * hub. QEMU asks A with GET_SHARED_OBJECT -- without the UUID (size 0).
 * A warns and answers with the error reply; QEMU then answers B's LOOKUP
 * with -5 (-EIO). */
static void test_defect_get_without_uuid(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve_a = serve_arg(fx, "a.sock", "reply-ack=no");
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *sa = fx_path(fx, "a.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        Proc *svc_a = start_service(fx, "service-a", serve_a, accept_a, NULL);
        Proc *svc_b =
            start_service(fx, "service-b", serve_b, accept_b, "--lookup-timeout-ms=5000", NULL);
        Proc *qemu;

        Proc *dev_a = start_commands_device(fx, "exporter", "a-dev.sock");
        proc_send(dev_a, "export " UUID_A);
        proc_expect(fx, dev_a, "EXPORTED " UUID_A, "service A takes the export");
        /* A's device first: the dangling key (see that test) survives only
         * while nothing reuses its stack slot. Measured with QEMU 10.0.2: an
         * unacknowledged ADD from the first device's back-end survives
         * until the LOOKUP, one from the last device's does not (-22). */
        qemu = start_qemu(fx, (const char *[]){sa, sb, NULL});
        expect_bridge_ready(fx, svc_b, "b.sock");
        expect_bridge_ready(fx, svc_a, "a.sock");
        proc_expect(fx, svc_a, "announced ADD " UUID_A " without REPLY_ACK",
                    "A's ADD goes out unacknowledged");

        Proc *imp = start_importer(fx, "b-dev.sock", UUID_A);
        proc_expect(fx, svc_a, "GET_SHARED_OBJECT arrived without a UUID (size 0)",
                    "QEMU 10.0.2 sends GET_SHARED_OBJECT with size 0 (no UUID). If this fails, "
                    "QEMU sent the UUID: update docs/interop.md and this test");
        proc_expect(fx, svc_a, "GET_SHARED_OBJECT without UUID answered with an error",
                    "the bridge answers a UUID-less request with the error reply");
        proc_expect(fx, svc_b, "LOOKUP " UUID_A " refused by the front-end (-5)",
                    "QEMU 10.0.2 answers the LOOKUP with -EIO after the exporter's error");
        proc_expect(fx, imp, "IMPORT-FAILED " UUID_A, "nothing reaches the importer");
        proc_expect(fx, qemu, "Failed to get dmabuf fd", "QEMU's own complaint");
        /* The connection stays up: A still answers QEMU. */
        proc_send(dev_a, "remove " UUID_A);
        proc_expect(fx, svc_a, "announced REMOVE " UUID_A, "A is still connected");
        g_assert_false(proc_said(fx, svc_a, "front-end#", "disconnecting"));
        g_assert_false(proc_said(fx, svc_b, "front-end#", "disconnecting"));
}

/* An exporter attached to QEMU directly answers the UUID-less request with
 * an fd anyway: QEMU acks B's LOOKUP with u64 0 but puts the fd on the
 * wrong socket, so B gets none. */
static void test_defect_lookup_reply_without_fd(Fixture *fx, gconstpointer data)
{
        g_autofree char *listen = path_arg(fx, "listen", "d0.sock");
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *d0s = fx_path(fx, "d0.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        Proc *d0 = start_device(fx, "exporter", listen, "--no-reply-ack", "--answer-without-uuid",
                                "--export=1", "--uuid=" UUID_A, NULL);
        proc_expect(fx, d0, "LISTENING", "the exporter listens for QEMU");
        Proc *svc_b =
            start_service(fx, "service-b", serve_b, accept_b, "--lookup-timeout-ms=5000", NULL);

        Proc *qemu = start_qemu(fx, (const char *[]){d0s, sb, NULL}); /* first: see above */
        expect_bridge_ready(fx, svc_b, "b.sock");
        proc_expect(fx, d0, "EXPORTED " UUID_A, "the exporter's ADD went to QEMU");
        g_assert_null(fd_target_matching(proc_pid(qemu), "memfd:" UUID_A));
        proc_expect(fx, svc_b, "SET_VRING_ERR", "the eventfds come after 'ready'");
        int svc_fds = count_fds(proc_pid(svc_b));

        Proc *imp = start_importer(fx, "b-dev.sock", UUID_A);
        proc_expect(fx, d0, "SERVED " UUID_A, "QEMU asked the exporter, which sent the fd");
        proc_expect(fx, svc_b, "LOOKUP " UUID_A " acked with 0 but no fd",
                    "QEMU 10.0.2 acks the LOOKUP with 0 and sends no fd with it. If this "
                    "fails, QEMU sends the fd now: update docs/interop.md and this test");
        proc_expect(fx, imp, "IMPORT-FAILED " UUID_A, "the importer gets an error, not a hang");
        g_assert_false(proc_said(fx, svc_b, "front-end#", "disconnecting"));
        /* The buffer stayed in QEMU (queued on B's main socket, for
         * whatever QEMU sends there next). The exporter names its memfds
         * after the UUID. */
        g_autofree char *held = fd_target_matching(proc_pid(qemu), "memfd:" UUID_A);
        if (!held)
                harness_fail(fx->h,
                             "QEMU no longer holds the exporter's buffer after acking the LOOKUP "
                             "without it: update docs/interop.md and this test");
        g_test_message("QEMU keeps the exporter's buffer: %s", held);
        /* Nothing stays behind in the service once the importer is gone. */
        proc_expect2(fx, svc_b, "back-end#", ": closed", "the importer disconnects");
        g_assert_cmpint(wait_fds_at_most(fx, svc_b, svc_fds), ==, svc_fds);
}

/* QEMU keys its table on a pointer to a stack copy of the UUID: after an
 * ADD with NEED_REPLY (our bridge's default) the key is overwritten and a
 * LOOKUP of that UUID fails with -22 without QEMU asking the owner. */
static void test_defect_dangling_key(Fixture *fx, gconstpointer data)
{
        Proc *svc_a, *svc_b;

        /* A first, where an ADD without NEED_REPLY would survive: the
         * NEED_REPLY is what breaks the key here. */
        start_two_bridges(fx, &svc_a, &svc_b);
        Proc *dev_a = start_commands_device(fx, "exporter", "a-dev.sock");
        proc_send(dev_a, "export " UUID_A);
        proc_expect(fx, svc_a, "front-end acked ADD " UUID_A " (0)", "QEMU took the UUID");

        Proc *imp = start_importer(fx, "b-dev.sock", UUID_A);
        proc_expect(fx, svc_b, "LOOKUP " UUID_A " refused by the front-end (-22)",
                    "QEMU 10.0.2 cannot find a UUID added with NEED_REPLY (-EINVAL). If this "
                    "fails, QEMU's table keeps its keys now: update docs/interop.md and this test");
        proc_expect(fx, imp, "IMPORT-FAILED " UUID_A, "the importer gets an error");
        g_assert_false(proc_said(fx, svc_a, "GET_SHARED_OBJECT", NULL));
        /* The entry is still there for QEMU's ADD check: a second ADD is refused. */
        Proc *dev_b = start_commands_device(fx, "second", "b-dev.sock");
        proc_send(dev_b, "export " UUID_A);
        proc_expect(fx, svc_b, "front-end refused ADD " UUID_A,
                    "QEMU 10.0.2 still refuses the UUID it cannot look up");
}

/* The slow-exporter tests' setup: d0, an exporter attached to QEMU
 * directly (first: see above) that has exported UUID_A and takes delay_ms
 * to answer GET_SHARED_OBJECT; service-b (LOOKUP deadline 5 s) and
 * service-c (c_lookup_ms) bridged to the same QEMU; a --commands device on
 * C's hub. */
typedef struct {
        Proc *d0, *svc_c, *dev_c;
} SlowExporter;

static void start_slow_exporter(Fixture *fx, gint64 delay_ms, gint64 c_lookup_ms, SlowExporter *x)
{
        g_autofree char *listen = path_arg(fx, "listen", "d0.sock");
        g_autofree char *delay = g_strdup_printf("--get-delay-ms=%" G_GINT64_FORMAT, delay_ms);
        g_autofree char *c_lookup =
            g_strdup_printf("--lookup-timeout-ms=%" G_GINT64_FORMAT, c_lookup_ms);
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *serve_c = serve_arg(fx, "c.sock", NULL);
        g_autofree char *accept_c = path_arg(fx, "accept", "c-dev.sock");
        g_autofree char *d0s = fx_path(fx, "d0.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        g_autofree char *sc = fx_path(fx, "c.sock");
        Proc *svc_b;

        x->d0 = start_device(fx, "slow-exporter", listen, "--no-reply-ack", delay, "--export=1",
                             "--uuid=" UUID_A, NULL);
        proc_expect(fx, x->d0, "LISTENING", "the exporter listens for QEMU");
        svc_b = start_service(fx, "service-b", serve_b, accept_b, "--lookup-timeout-ms=5000", NULL);
        x->svc_c = start_service(fx, "service-c", serve_c, accept_c, c_lookup, NULL);
        start_qemu(fx, (const char *[]){d0s, sb, sc, NULL});
        expect_bridge_ready(fx, svc_b, "b.sock");
        expect_bridge_ready(fx, x->svc_c, "c.sock");
        proc_expect(fx, x->d0, "EXPORTED " UUID_A, "the exporter's ADD went to QEMU");
        x->dev_c = start_commands_device(fx, "c-device", "c-dev.sock");
}

/* QEMU waits for GET_SHARED_OBJECT's answer inside its main loop: while an
 * exporter takes its time, another back-end's ADD is not answered. */
static void test_defect_main_loop_blocked(Fixture *fx, gconstpointer data)
{
        const gint64 delay_ms = 1500;
        SlowExporter x;

        /* C's channel deadline above the delay: with the default 1 s the
         * blocked ADD would time out (and its late ack be dropped). */
        start_slow_exporter(fx, delay_ms, 5000, &x);
        Proc *imp = start_importer(fx, "b-dev.sock", UUID_A);
        gint64 t_get = proc_expect2(fx, x.d0, "arrived without a UUID", NULL,
                                    "QEMU asks the exporter (GET_SHARED_OBJECT)")
                           ->usec;
        gint64 t_add = g_get_monotonic_time();
        proc_send(x.dev_c, "export " UUID_C);
        gint64 t_ack = proc_expect2(fx, x.svc_c, "front-end acked ADD " UUID_C, NULL,
                                    "the ADD is answered once QEMU is free again")
                           ->usec;
        gint64 waited_ms = (t_ack - t_add) / 1000;
        gint64 left_ms = delay_ms - (t_add - t_get) / 1000; /* of the exporter's delay */
        if (waited_ms < left_ms * 8 / 10) {
                harness_fail(fx->h,
                             "the ADD was answered after %" G_GINT64_FORMAT
                             " ms, less than most of "
                             "the %" G_GINT64_FORMAT " ms the exporter still took: QEMU no longer "
                             "blocks its main loop on GET_SHARED_OBJECT; update docs/interop.md "
                             "and this test",
                             waited_ms, left_ms);
        }
        proc_expect(fx, x.d0, "NOT-SERVED -", "the exporter answered after its delay");
        proc_expect(fx, imp, "IMPORT-FAILED " UUID_A, "the importer gets an error");
        /* Unblocked (and only now: any activity before the LOOKUP could
         * overwrite QEMU's dangling key), an ADD is answered at once. */
        gint64 t = g_get_monotonic_time();
        proc_send(x.dev_c, "export " UUID_B);
        gint64 t_plain =
            proc_expect2(fx, x.svc_c, "front-end acked ADD " UUID_B, NULL, "a plain ADD")->usec;
        gint64 baseline_ms = (t_plain - t) / 1000;
        g_test_message("ADD answered after %" G_GINT64_FORMAT
                       " ms while an exporter took %" G_GINT64_FORMAT " ms (%" G_GINT64_FORMAT
                       " ms of it left when the ADD was sent); "
                       "unblocked: %" G_GINT64_FORMAT " ms",
                       waited_ms, delay_ms, left_ms, baseline_ms);
}

/* The same block with the bridge's LOOKUP deadline shorter than the
 * exporter's delay: C's own upstream LOOKUP fails with a timeout, the late
 * answer is dropped when it comes, and the VMM stays connected (before, a
 * missed deadline dropped the connection, which QEMU 10.0.2 may answer
 * with an abort). ADD acks, which nobody waits on, have the longer
 * handshake deadline (5 s) and are still counted. */
static void test_bridge_survives_late_reply(Fixture *fx, gconstpointer data)
{
        SlowExporter x;

        start_slow_exporter(fx, 2000, 200, &x);
        start_importer(fx, "b-dev.sock", UUID_A);
        proc_expect(fx, x.d0, "arrived without a UUID", "QEMU asks the exporter");
        /* While QEMU waits: an ADD (acked late but in time) and a LOOKUP
         * (late: C's importer gets a timeout). */
        proc_send(x.dev_c, "export " UUID_B);
        proc_send(x.dev_c, "import " UUID_C);
        proc_expect(fx, x.svc_c, "no reply to SHARED_OBJECT_LOOKUP in time; the request failed",
                    "C's LOOKUP misses its 200 ms deadline while QEMU is blocked");
        proc_expect(fx, x.dev_c, "IMPORT-FAILED " UUID_C, "C's importer is told");
        proc_expect(fx, x.svc_c, "front-end acked ADD " UUID_B " (0)",
                    "the ADD's ack, late as it is, is within its 5 s deadline");
        proc_expect(fx, x.svc_c, "late reply to SHARED_OBJECT_LOOKUP dropped",
                    "QEMU's answer to the LOOKUP comes after the exporter's, and is dropped");
        /* Still connected: the next ADD is acked. */
        proc_send(x.dev_c, "export " UUID_D);
        proc_expect(fx, x.svc_c, "front-end acked ADD " UUID_D " (0)", "the bridge is still up");
        g_assert_false(proc_said(fx, x.svc_c, "front-end#", "disconnecting"));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        INTEROP_TEST_ADD("/interop/qemu-defect/get-shared-object-without-uuid",
                         test_defect_get_without_uuid);
        INTEROP_TEST_ADD("/interop/qemu-defect/lookup-reply-without-fd",
                         test_defect_lookup_reply_without_fd);
        INTEROP_TEST_ADD("/interop/qemu-defect/dangling-key", test_defect_dangling_key);
        INTEROP_TEST_ADD("/interop/qemu-defect/main-loop-blocked", test_defect_main_loop_blocked);
        INTEROP_TEST_ADD("/interop/bridge/survives-late-reply", test_bridge_survives_late_reply);
        return g_test_run();
}
