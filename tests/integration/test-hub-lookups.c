/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's lookups when exporters take their time: slow, silent, always
 * late, killed and withdrawing exporters, importers that leave mid-lookup,
 * replies in request order, exporters without REPLY_ACK, and SIGTERM with
 * lookups outstanding. The hub must never block on one peer. */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#include "hub-fixture.h"

static void test_slow_exporter(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;
        const HarnessLine *exported, *served;
        uint64_t imported;

        /* The hub's deadline is well past the exporter's delay. */
        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *slow = start_device(f, "slow-exporter", "--get-delay-ms=1500", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        HarnessProc *third = start_device(f, "third", NULL);

        dev_ino = export_ok(f, slow, UUID_A);
        harness_send_line(importer, "import %s", UUID_A);
        /* The hub is now waiting on the slow exporter. */
        harness_expect_line(slow, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        exported = command(f, third, "export", UUID_B, "EXPORTED");
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        imported = l->seq;
        served = harness_expect_line(slow, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        /* Order, not time: the third device's ADD was answered while the
         * lookup was outstanding, before the exporter even answered. */
        if (!(exported->seq < served->seq && exported->seq < imported))
                harness_fail(f->h,
                             "EXPORTED [%llu] did not come before SERVED [%llu] and "
                             "IMPORTED [%llu]: the hub blocked on the slow exporter",
                             (unsigned long long) exported->seq, (unsigned long long) served->seq,
                             (unsigned long long) imported);
        /* The slow exporter's own channel is served meanwhile too. */
        import_ok(f, slow, UUID_B, NULL);
}

/* The hub's deadline fails the lookup; the silent exporter keeps its
 * connection until ExporterSilenceLimitMSec= (default four deadlines), and
 * only then goes with its entry. */
static void test_exporter_never_answers(Fixture *f, gconstpointer data)
{
        const HarnessLine *failed, *dropped;

        start_hub(f, "--lookup-timeout-ms=300", NULL);
        HarnessProc *mute = start_device(f, "mute-exporter", "--no-answer", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        g_free(export_ok(f, mute, UUID_A));
        failed = import_fails(f, importer, UUID_A);
        /* The hub's deadline answered, not the importer's own 10 s one. */
        if (strstr(failed->text, "timed out"))
                harness_fail(f->h, "the importer timed out itself: %s", failed->text);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "no reply to GET_SHARED_OBJECT in time",
                              TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR,
                              "no reply to GET_SHARED_OBJECT even after the grace for late "
                              "replies",
                              TEST_TIMEOUT_MS);
        dropped = harness_expect_line(mute, "DISCONNECTED", TEST_TIMEOUT_MS);
        g_assert_cmpuint(failed->seq, <, dropped->seq);
        /* Its entry went with it; everyone else carries on. */
        import_fails(f, importer, UUID_A);
        pass_ok(f, other, importer, UUID_B);
}

/* The other limit: an exporter whose answers all come late is given up
 * after MaxMissedAnswers= of them in a row, however long the silence
 * limit. Each lookup fails at the deadline meanwhile. */
static void test_exporter_always_late(Fixture *f, gconstpointer data)
{
        g_autofree char *conf = harness_path(f->h, "hub.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);

        g_assert_true(g_file_set_contents(conf,
                                          "[Service]\nExporterSilenceLimitMSec=600000\n"
                                          "MaxMissedAnswers=2\n",
                                          -1, NULL));
        start_hub(f, conf_arg, "--lookup-timeout-ms=300", NULL);
        HarnessProc *late = start_device(f, "late-exporter", "--get-delay-ms=600", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);

        g_free(export_ok(f, late, UUID_A));
        import_fails(f, importer, UUID_A);
        /* The first miss is forgiven: the late answer is dropped. */
        harness_expect_line(late, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "late reply to GET_SHARED_OBJECT dropped",
                              TEST_TIMEOUT_MS);
        g_assert_null(harness_find_line(late, HARNESS_STDOUT, "DISCONNECTED"));
        import_fails(f, importer, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "no reply in time to 2 requests in a row",
                              TEST_TIMEOUT_MS);
        harness_expect_line(late, "DISCONNECTED", TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "1 shared object(s) purged", TEST_TIMEOUT_MS);
        import_fails(f, importer, UUID_A);
}

static void test_exporter_killed(Fixture *f, gconstpointer data)
{
        const char *uuids[] = {UUID_A, UUID_B, UUID_C};
        int baseline;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        HarnessProc *survivor = start_device(f, "survivor", NULL);
        /* Warm-up: one full round trip, so every fd the hub opens lazily
         * (timers, the event loop's) exists before the baseline. */
        g_autofree char *own = export_ok(f, survivor, UUID_D);
        import_ok(f, importer, UUID_D, own);
        /* The importer may print IMPORTED before the hub closed its copy of
         * the buffer fd; an answer without an fd comes after that. */
        import_fails(f, importer, UUID_UNKNOWN);
        baseline = harness_count_fds(harness_proc_pid(f->hub));
        g_test_message("hub fd baseline with two devices: %d", baseline);
        g_assert_cmpint(baseline, >, 0);

        HarnessProc *victim = start_device(f, "victim", "--get-delay-ms=20000", NULL);
        for (unsigned i = 0; i < G_N_ELEMENTS(uuids); i++)
                g_free(export_ok(f, victim, uuids[i]));
        g_test_message("hub fds with the victim and 3 exports: %d",
                       harness_count_fds(harness_proc_pid(f->hub)));

        /* Mid-way: a lookup of its object is outstanding when it dies. */
        harness_send_line(importer, "import %s", UUID_A);
        harness_expect_line(victim, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_kill(victim, SIGKILL);
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORT-FAILED", UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "3 shared object(s) purged", TEST_TIMEOUT_MS);

        for (unsigned i = 0; i < G_N_ELEMENTS(uuids); i++)
                import_fails(f, importer, uuids[i]);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        /* The survivor's own object is untouched. */
        import_ok(f, importer, UUID_D, own);
}

static void test_replies_in_order(Fixture *f, gconstpointer data)
{
        const HarnessLine *l, *served_fast, *served_slow;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *slow = start_device(f, "slow-exporter", "--get-delay-ms=1500", NULL);
        HarnessProc *fast = start_device(f, "fast-exporter", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        g_autofree char *slow_ino = export_ok(f, slow, UUID_A);
        g_autofree char *fast_ino = export_ok(f, fast, UUID_B);

        /* Two lookups on one channel: the second is fetched at once, but
         * vhost-user replies carry no id, so they must leave in order. */
        harness_send_line(importer, "import %s", UUID_A);
        harness_expect_line(slow, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_send_line(importer, "import %s", UUID_B);
        served_fast = harness_expect_line(fast, "SERVED " UUID_B, TEST_TIMEOUT_MS);
        served_slow = harness_expect_line(slow, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        g_assert_cmpuint(served_fast->seq, <, served_slow->seq);
        l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        g_assert_nonnull(strstr(l->text, slow_ino));
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
        l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_B);
        g_assert_nonnull(strstr(l->text, fast_ino));
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
}

static void test_no_reply_ack_exporter(Fixture *f, gconstpointer data)
{
        const HarnessLine *l;

        start_hub(f, NULL);
        /* libvhost-user's way: ADD and REMOVE go out unacknowledged. */
        HarnessProc *e = start_device(f, "no-reply-ack", "--no-reply-ack", NULL);
        l = harness_expect_output(f->hub, HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
        if (strstr(l->text, "REPLY_ACK") || !strstr(l->text, "SHARED_OBJECT"))
                harness_fail(f->h, "unexpected negotiation: %s", l->text);
        HarnessProc *importer = start_device(f, "importer", NULL);

        /* EXPORTED only says the ADD left; a lookup on the same channel is
         * handled after it: the hub finds the entry, the device's own, and
         * refuses to ask the device for it. */
        g_autofree char *dev_ino = export_ok(f, e, UUID_A);
        import_fails(f, e, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "of an object it exports itself",
                              TEST_TIMEOUT_MS);
        import_ok(f, importer, UUID_A, dev_ino);
        l = command(f, e, "remove", UUID_A, "REMOVED");
        import_fails(f, e, UUID_A);
        import_fails(f, importer, UUID_A);
}

static void test_importer_gone_mid_lookup(Fixture *f, gconstpointer data)
{
        int baseline;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *exporter = start_device(f, "slow-exporter", "--get-delay-ms=1500", NULL);
        g_autofree char *dev_ino = export_ok(f, exporter, UUID_A);
        baseline = harness_count_fds(harness_proc_pid(f->hub));
        g_test_message("hub fd baseline with the exporter: %d", baseline);

        HarnessProc *importer = start_device(f, "importer", NULL);
        harness_send_line(importer, "import %s", UUID_A);
        harness_expect_line(exporter, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_kill(importer, SIGKILL);
        harness_wait_exit(importer, TEST_TIMEOUT_MS);
        /* The buffer arrives for nobody: the hub must close it. */
        harness_expect_line(exporter, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);

        HarnessProc *later = start_device(f, "later-importer", NULL);
        import_ok(f, later, UUID_A, dev_ino);
}

static void test_shutdown_with_pending_lookup(Fixture *f, gconstpointer data)
{
        int status;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *mute = start_device(f, "mute-exporter", "--no-answer", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        HarnessProc *second = start_device(f, "second-importer", NULL);
        g_free(export_ok(f, mute, UUID_A));
        harness_send_line(importer, "import %s", UUID_A);
        harness_send_line(second, "import %s", UUID_A);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);

        /* SIGTERM with two lookups outstanding: a clean exit, no leak (the
         * sanitizer build checks), and both importers told. */
        status = harness_stop(f->hub, TEST_TIMEOUT_MS);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                harness_fail(f->h, "the hub did not exit cleanly (status 0x%x)", status);
        for (HarnessProc **d = (HarnessProc *[]){importer, second, NULL}; *d; d++) {
                harness_wait_output(*d, HARNESS_STDOUT, "IMPORT-FAILED " UUID_A, TEST_TIMEOUT_MS);
                harness_wait_output(*d, HARNESS_STDOUT, "DISCONNECTED", TEST_TIMEOUT_MS);
        }
        /* At shutdown the answers still go out; nothing is reported as a
         * send failure. */
        const HarnessLine *l = harness_find_line(f->hub, HARNESS_STDERR, "failed; disconnecting");
        if (l)
                harness_fail(f->h, "a send failed at shutdown: %s", l->text);
        /* Peers closed while the loop finishes are freed with the service:
         * not an error either. */
        l = harness_find_line(f->hub, HARNESS_STDERR, "Failed to");
        if (l)
                harness_fail(f->h, "an error at shutdown: %s", l->text);
}

static void test_remove_during_lookup(Fixture *f, gconstpointer data)
{
        const HarnessLine *l;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *exporter = start_device(f, "slow-exporter", "--get-delay-ms=1500", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        g_autofree char *dev_ino = export_ok(f, exporter, UUID_A);

        /* The exporter withdraws the object while its buffer is being
         * fetched: the fetch still completes (a dma-buf lives while an fd
         * does), later lookups fail. */
        harness_send_line(importer, "import %s", UUID_A);
        harness_expect_line(exporter, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        l = command(f, exporter, "remove", UUID_A, "REMOVED");
        l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        g_assert_nonnull(strstr(l->text, dev_ino));
        import_fails(f, importer, UUID_A);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        HUB_TEST_ADD("/hub/slow-exporter", NULL, test_slow_exporter);
        HUB_TEST_ADD("/hub/exporter-never-answers", NULL, test_exporter_never_answers);
        HUB_TEST_ADD("/hub/exporter-always-late", NULL, test_exporter_always_late);
        HUB_TEST_ADD("/hub/exporter-killed", NULL, test_exporter_killed);
        HUB_TEST_ADD("/hub/replies-in-order", NULL, test_replies_in_order);
        HUB_TEST_ADD("/hub/no-reply-ack-exporter", NULL, test_no_reply_ack_exporter);
        HUB_TEST_ADD("/hub/importer-gone-mid-lookup", NULL, test_importer_gone_mid_lookup);
        HUB_TEST_ADD("/hub/shutdown-with-pending-lookup", NULL, test_shutdown_with_pending_lookup);
        HUB_TEST_ADD("/hub/remove-during-lookup", NULL, test_remove_during_lookup);
        return g_test_run();
}
