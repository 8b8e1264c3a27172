/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub with back-ends as the libraries make them: vhost-share-device in
 * each --mode (plain, libvhost-user: blocking lookups and unacknowledged
 * ADD / REMOVE; rust-vmm: an fd on LOOKUP, empty GET answers) through
 * export, import and remove, a lookup of one's own object, two devices
 * looking up each other's objects at once, and an exporter that answers
 * twice the deadline late. Nobody is dropped, and the hub's fds return to
 * their count after every scenario. */

#include <string.h>

#include <glib.h>

#include "hub-fixture.h"

/* Long enough that only an immediate answer ends a wait within the test's
 * own deadline: a lookup that waits for the hub's deadline fails the test. */
#define NO_DEADLINE "--lookup-timeout-ms=600000"

typedef struct {
        const char *mode;  /* --mode of every device */
        bool unacked_adds; /* ADD / REMOVE without NEED_REPLY: wait for the hub's log */
} Mode;

static const Mode modes[] = {
    {"plain", false},
    {"libvhost-user", true},
    {"rust-vmm", false},
};

static HarnessProc *mode_device(Fixture *f, const Mode *m, const char *name, const char *extra)
{
        g_autofree char *arg = g_strdup_printf("--mode=%s", m->mode);

        return start_device(f, name, arg, extra, NULL);
}

/* export_ok(), and once the device cannot tell (no ack), the hub's own
 * line that the ADD is in its table. */
static char *mode_export(Fixture *f, const Mode *m, HarnessProc *d, const char *uuid)
{
        char *dev_ino = export_ok(f, d, uuid);
        g_autofree char *line = g_strdup_printf(": ADD %s", uuid);

        if (m->unacked_adds)
                harness_expect_output(f->hub, HARNESS_STDERR, line, TEST_TIMEOUT_MS);
        return dev_ino;
}

static void mode_remove(Fixture *f, const Mode *m, HarnessProc *d, const char *uuid)
{
        g_autofree char *line = g_strdup_printf(": REMOVE %s", uuid);

        command(f, d, "remove", uuid, "REMOVED");
        if (m->unacked_adds)
                harness_expect_output(f->hub, HARNESS_STDERR, line, TEST_TIMEOUT_MS);
}

/* The hub's fds with its devices connected, after one round trip that
 * opens whatever the hub opens lazily. */
static int warm_baseline(Fixture *f, const Mode *m, HarnessProc *a, HarnessProc *b)
{
        g_autofree char *dev_ino = mode_export(f, m, a, UUID_D);
        int n;

        import_ok(f, b, UUID_D, dev_ino);
        import_fails(f, b, UUID_UNKNOWN);
        /* fds from peers are closed by the hub's closers, a moment after the
         * answer (shared/async-close.c): count once the number holds still. */
        for (int last = -1;; last = n) {
                n = harness_count_fds(harness_proc_pid(f->hub));
                g_assert_cmpint(n, >, 0);
                if (n == last)
                        return n;
                harness_pump(f->h, 100);
        }
}

static void assert_connected(Fixture *f, HarnessProc *d)
{
        if (harness_find_line(d, HARNESS_STDOUT, "DISCONNECTED"))
                harness_fail(f->h, "%s was dropped", harness_proc_name(d));
        if (harness_find_line(f->hub, HARNESS_STDERR, "purged"))
                harness_fail(f->h, "the hub purged a device's objects");
}

static void test_export_import_remove(Fixture *f, gconstpointer data)
{
        const Mode *m = data;
        int baseline;

        start_hub(f, "-v", NO_DEADLINE, NULL);
        HarnessProc *a = mode_device(f, m, "exporter", NULL);
        HarnessProc *b = mode_device(f, m, "importer", NULL);
        baseline = warm_baseline(f, m, a, b);

        g_autofree char *dev_ino = mode_export(f, m, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
        import_ok(f, b, UUID_A, dev_ino);
        mode_remove(f, m, a, UUID_A);
        import_fails(f, b, UUID_A);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_connected(f, a);
        assert_connected(f, b);
}

/* A back-end asking for what it exports itself is refused at once: a
 * libvhost-user device, blocked in its lookup, could not answer a GET. */
static void test_self_lookup(Fixture *f, gconstpointer data)
{
        const Mode *m = data;
        int baseline;

        start_hub(f, "-v", NO_DEADLINE, NULL);
        HarnessProc *a = mode_device(f, m, "exporter", NULL);
        HarnessProc *b = mode_device(f, m, "other", NULL);
        baseline = warm_baseline(f, m, a, b);

        g_autofree char *dev_ino = mode_export(f, m, a, UUID_A);
        import_fails(f, a, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "of an object it exports itself",
                              TEST_TIMEOUT_MS);
        if (harness_find_line(a, HARNESS_STDOUT, "ASKED " UUID_A))
                harness_fail(f->h, "the hub asked the device for its own object");
        /* It keeps its connection and its object. */
        import_ok(f, b, UUID_A, dev_ino);
        import_fails(f, a, UUID_A);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_connected(f, a);
}

/* Two devices looking up each other's objects at the same moment: with
 * blocking lookups each waits for the other, so the hub refuses the lookup
 * that closes the cycle and the other proceeds. */
static void test_mutual_lookups(Fixture *f, gconstpointer data)
{
        const Mode *m = data;
        unsigned ok = 0;
        int baseline;

        start_hub(f, "-v", NO_DEADLINE, NULL);
        HarnessProc *a = mode_device(f, m, "a", NULL);
        HarnessProc *b = mode_device(f, m, "b", NULL);
        baseline = warm_baseline(f, m, a, b);
        g_autofree char *ino_a = mode_export(f, m, a, UUID_A);
        g_autofree char *ino_b = mode_export(f, m, b, UUID_B);

        harness_send_line(a, "import %s", UUID_B);
        harness_send_line(b, "import %s", UUID_A);
        const HarnessLine *la = harness_expect_line(a, "IMPORT", TEST_TIMEOUT_MS);
        const HarnessLine *lb = harness_expect_line(b, "IMPORT", TEST_TIMEOUT_MS);
        ok += g_str_has_prefix(la->text, "IMPORTED ");
        ok += g_str_has_prefix(lb->text, "IMPORTED ");
        g_test_message("a: %s; b: %s", la->text, lb->text);
        if (ok == 0)
                harness_fail(f->h, "both lookups failed: %s / %s", la->text, lb->text);
        if (ok == 1)
                harness_expect_output(f->hub, HARNESS_STDERR, "would close a cycle of lookups",
                                      TEST_TIMEOUT_MS);
        /* Both still export and import. */
        import_ok(f, a, UUID_B, ino_b);
        import_ok(f, b, UUID_A, ino_a);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_connected(f, a);
        assert_connected(f, b);
}

/* An exporter that answers twice the deadline late is slow, not dead: the
 * lookup fails at the deadline, the late answer is dropped with its fd,
 * and the next lookup of its object succeeds. */
static void test_slow_exporter(Fixture *f, gconstpointer data)
{
        const Mode *m = data;
        const HarnessLine *l;
        int baseline;

        start_hub(f, "-v", "--lookup-timeout-ms=500", NULL);
        HarnessProc *a = mode_device(f, m, "slow", NULL);
        HarnessProc *b = mode_device(f, m, "importer", NULL);
        baseline = warm_baseline(f, m, a, b);
        g_autofree char *dev_ino = mode_export(f, m, a, UUID_A);

        harness_send_line(a, "delay 1000");
        harness_expect_line(a, "DELAY 1000", TEST_TIMEOUT_MS);
        l = import_fails(f, b, UUID_A);
        /* The deadline answered, before the exporter did. */
        if (harness_find_line(a, HARNESS_STDOUT, "SERVED " UUID_A))
                harness_fail(f->h, "the exporter served before the importer's failure [%llu]",
                             (unsigned long long) l->seq);
        harness_expect_line(a, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "late reply to GET_SHARED_OBJECT dropped",
                              TEST_TIMEOUT_MS);
        harness_send_line(a, "delay 0");
        harness_expect_line(a, "DELAY 0", TEST_TIMEOUT_MS);
        import_ok(f, b, UUID_A, dev_ino);
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_connected(f, a);
}

/* vhost-shared with a configuration file of text (@SOCK@: the hub's socket). */
static void start_hub_with_config(Fixture *f, const char *text)
{
        g_autofree char *conf = harness_path(f->h, "hub.conf");
        g_autofree char *arg = g_strdup_printf("--config=%s", conf);
        g_autoptr(GString) data = g_string_new(text);

        g_string_replace(data, "@SOCK@", f->sock, 0);
        g_assert_true(g_file_set_contents(conf, data->str, -1, NULL));
        start_hub(f, arg, "-v", NULL);
}

/* Test rigs of the libraries export plain memfds: refused by default, the
 * refusal naming the setting, the exporter kept. */
static void test_plain_memfd_refused(Fixture *f, gconstpointer data)
{
        const Mode *m = &modes[1];

        start_hub(f, "-v", NULL);
        harness_expect_output(f->hub, HARNESS_STDERR,
                              "buffers accepted from exporters and VMMs: dma-buf sealed-memfd "
                              "(AcceptedBuffers=)",
                              TEST_TIMEOUT_MS);
        HarnessProc *rig = mode_device(f, m, "rig", "--plain-memfd");
        HarnessProc *importer = mode_device(f, m, "importer", NULL);

        g_free(mode_export(f, m, rig, UUID_A));
        import_fails(f, importer, UUID_A);
        harness_expect_output(
            f->hub, HARNESS_STDERR,
            "a memfd without F_SEAL_SHRINK|F_SEAL_GROW, which may shrink under an "
            "importer's mapping (AcceptedBuffers=dma-buf sealed-memfd)",
            TEST_TIMEOUT_MS);
        assert_connected(f, rig);
}

/* AcceptedBuffers=memfd for the whole service, or for one socket only. */
static void test_plain_memfd_accepted(Fixture *f, gconstpointer data)
{
        const char *config = data;
        const Mode *m = &modes[1];

        start_hub_with_config(f, config);
        HarnessProc *rig = mode_device(f, m, "rig", "--plain-memfd");
        HarnessProc *importer = mode_device(f, m, "importer", NULL);

        g_autofree char *dev_ino = mode_export(f, m, rig, UUID_A);
        import_ok(f, importer, UUID_A, dev_ino);
        assert_connected(f, rig);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++) {
                const Mode *m = &modes[i];
                g_autofree char *p1 =
                    g_strdup_printf("/hub/backends/%s/export-import-remove", m->mode);
                g_autofree char *p2 = g_strdup_printf("/hub/backends/%s/self-lookup", m->mode);
                g_autofree char *p3 = g_strdup_printf("/hub/backends/%s/mutual-lookups", m->mode);
                g_autofree char *p4 = g_strdup_printf("/hub/backends/%s/slow-exporter", m->mode);

                HUB_TEST_ADD(p1, m, test_export_import_remove);
                HUB_TEST_ADD(p2, m, test_self_lookup);
                HUB_TEST_ADD(p3, m, test_mutual_lookups);
                HUB_TEST_ADD(p4, m, test_slow_exporter);
        }
        HUB_TEST_ADD("/hub/backends/plain-memfd/refused-by-default", NULL,
                     test_plain_memfd_refused);
        HUB_TEST_ADD("/hub/backends/plain-memfd/accepted-by-service",
                     "[Service]\nAcceptedBuffers=dma-buf sealed-memfd memfd\n",
                     test_plain_memfd_accepted);
        HUB_TEST_ADD("/hub/backends/plain-memfd/accepted-by-socket",
                     "[Socket @SOCK@]\nAcceptedBuffers=memfd\n", test_plain_memfd_accepted);
        return g_test_run();
}
