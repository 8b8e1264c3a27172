/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub end to end: vhost-shared --no-bus against vhost-share-device
 * processes, a raw scripted peer speaking the bytes by hand, and a real
 * back-end (qemu-storage-daemon). Every wait is on a line, a socket or a
 * notification, with TEST_TIMEOUT_MS as the deadline. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "harness.h"
#include "share-table.h"
#include "vu-message.h"

/* Fixed UUIDs keep failures readable; each test has its own hub. */
#define UUID_A "0b7a4c1e-5d2f-4e11-9a3b-000000000001"
#define UUID_B "0b7a4c1e-5d2f-4e11-9a3b-000000000002"
#define UUID_C "0b7a4c1e-5d2f-4e11-9a3b-000000000003"
#define UUID_D "0b7a4c1e-5d2f-4e11-9a3b-000000000004"
#define UUID_UNKNOWN "0b7a4c1e-5d2f-4e11-9a3b-0000000000ff"

typedef struct {
        Harness *h;
        HarnessProc *hub;
        char *sock; /* the hub's --accept socket */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
        f->h = harness_new();
        f->sock = harness_path(f->h, "hub.sock");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
        harness_free(f->h);
        g_free(f->sock);
}

/* vhost-shared --no-bus --accept=SOCK plus the NULL-terminated extras. */
static void start_hub(Fixture *f, ...)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        va_list ap;

        g_ptr_array_add(args, g_strdup_printf("--accept=%s", f->sock));
        va_start(ap, f);
        for (const char *a; (a = va_arg(ap, const char *));)
                g_ptr_array_add(args, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(args, NULL);
        f->hub = harness_spawn_hubv(f->h, (const char *const *) args->pdata);
}

/* A device connected to the hub, reading commands, past READY. */
static HarnessProc *start_device(Fixture *f, const char *name, ...)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        HarnessProc *d;
        va_list ap;

        g_ptr_array_add(args, g_strdup_printf("--connect=%s", f->sock));
        g_ptr_array_add(args, g_strdup("--commands"));
        va_start(ap, name);
        for (const char *a; (a = va_arg(ap, const char *));)
                g_ptr_array_add(args, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(args, NULL);
        d = harness_spawn_devicev(f->h, name, (const char *const *) args->pdata);
        harness_expect_line(d, "READY", TEST_TIMEOUT_MS);
        return d;
}

/* Splits a device line into its words; word 0 is the verb. */
static GStrv words(const HarnessLine *l)
{
        return g_strsplit(l->text, " ", -1);
}

static void assert_line_is(Fixture *f, HarnessProc *d, const HarnessLine *l, const char *verb,
                           const char *uuid)
{
        g_auto(GStrv) w = words(l);

        if (!w[0] || !w[1] || strcmp(w[0], verb) != 0 || strcmp(w[1], uuid) != 0)
                harness_fail(f->h, "%s: expected \"%s %s ...\", got \"%s\"", harness_proc_name(d),
                             verb, uuid, l->text);
}

/* Sends "cmd uuid" to d and asserts that its answer (the next line that
 * starts with CMD in capitals) is "answer uuid ...". */
static const HarnessLine *command(Fixture *f, HarnessProc *d, const char *cmd, const char *uuid,
                                  const char *answer)
{
        g_autofree char *prefix = g_ascii_strup(cmd, -1);
        const HarnessLine *l;

        harness_send_line(d, "%s %s", cmd, uuid);
        l = harness_expect_line(d, prefix, TEST_TIMEOUT_MS);
        assert_line_is(f, d, l, answer, uuid);
        return l;
}

/* export UUID on d; returns the buffer's dev:ino. */
static char *export_ok(Fixture *f, HarnessProc *d, const char *uuid)
{
        const HarnessLine *l;

        l = command(f, d, "export", uuid, "EXPORTED");
        g_auto(GStrv) w = words(l);
        g_assert_cmpuint(g_strv_length(w), ==, 4);
        g_assert_cmpstr(w[2], ==, "4096");
        return g_strdup(w[3]);
}

/* import UUID on d; asserts success, the pattern and (when given) the
 * buffer's identity. Returns the arrival number of the IMPORTED line. */
static uint64_t import_ok(Fixture *f, HarnessProc *d, const char *uuid, const char *dev_ino)
{
        const HarnessLine *l;

        l = command(f, d, "import", uuid, "IMPORTED");
        g_auto(GStrv) w = words(l);
        g_assert_cmpuint(g_strv_length(w), ==, 4);
        if (dev_ino)
                g_assert_cmpstr(w[2], ==, dev_ino);
        g_assert_cmpstr(w[3], ==, "pattern-ok");
        return l->seq;
}

static const HarnessLine *import_fails(Fixture *f, HarnessProc *d, const char *uuid)
{
        return command(f, d, "import", uuid, "IMPORT-FAILED");
}

/* ---- devices against the hub ---- */

static void test_export_import(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
        harness_expect_line(a, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        /* A second import is a second GET_SHARED_OBJECT, the same buffer. */
        import_ok(f, b, UUID_A, dev_ino);
}

static void test_remove_owner_only(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *owner = start_device(f, "owner", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        dev_ino = export_ok(f, owner, UUID_A);
        command(f, other, "remove", UUID_A, "REMOVE-REFUSED");
        /* The refused remove left the entry alone. */
        import_ok(f, other, UUID_A, dev_ino);

        command(f, owner, "remove", UUID_A, "REMOVED");
        import_fails(f, other, UUID_A);
}

static void test_duplicate_add(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *first = start_device(f, "first", NULL);
        HarnessProc *second = start_device(f, "second", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);

        dev_ino = export_ok(f, first, UUID_A);
        command(f, second, "export", UUID_A, "EXPORT-REFUSED");
        /* Still the first exporter's buffer, fetched from the first. */
        import_ok(f, importer, UUID_A, dev_ino);
        harness_expect_line(first, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        g_assert_null(harness_find_line(second, HARNESS_STDOUT, "ASKED"));
}

static void test_unknown_lookup(Fixture *f, gconstpointer data)
{
        start_hub(f, NULL);
        HarnessProc *d = start_device(f, "importer", NULL);

        import_fails(f, d, UUID_UNKNOWN);
        /* The peer stays connected and usable. */
        g_autofree char *dev_ino = export_ok(f, d, UUID_A);
        import_ok(f, d, UUID_A, dev_ino);
}

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

static void test_exporter_never_answers(Fixture *f, gconstpointer data)
{
        const HarnessLine *l;

        start_hub(f, "--lookup-timeout-ms=300", NULL);
        HarnessProc *mute = start_device(f, "mute-exporter", "--no-answer", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        g_autofree char *mute_ino = export_ok(f, mute, UUID_A);
        l = import_fails(f, importer, UUID_A);
        /* The hub's deadline answered, not the importer's own 10 s one. */
        if (strstr(l->text, "timed out"))
                harness_fail(f->h, "the importer timed out itself: %s", l->text);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "no reply to GET_SHARED_OBJECT in time",
                              TEST_TIMEOUT_MS);
        harness_expect_line(mute, "DISCONNECTED", TEST_TIMEOUT_MS);
        /* Its entry went with it; everyone else carries on. */
        import_fails(f, importer, UUID_A);
        g_autofree char *dev_ino = export_ok(f, other, UUID_B);
        import_ok(f, importer, UUID_B, dev_ino);
}

static void test_exporter_killed(Fixture *f, gconstpointer data)
{
        const char *uuids[] = {UUID_A, UUID_B, UUID_C};
        int baseline;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        /* Warm-up: one full round trip, so every fd the hub opens lazily
         * (timers, the event loop's) exists before the baseline. */
        g_autofree char *own = export_ok(f, importer, UUID_D);
        import_ok(f, importer, UUID_D, own);
        /* The importer may print IMPORTED before the hub closed its copy of
         * the buffer fd; an answer without an fd comes after that. */
        import_fails(f, importer, UUID_UNKNOWN);
        baseline = harness_count_fds(harness_proc_pid(f->hub));
        g_test_message("hub fd baseline with one device: %d", baseline);
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

static void test_connect_role(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_path = harness_path(f->h, "device.sock");
        g_autofree char *connect_arg = g_strdup_printf("--connect=%s", dev_path);
        g_autofree char *listen_arg = g_strdup_printf("--listen=%s", dev_path);
        g_autofree char *dev_ino = NULL;

        /* Nothing listens at dev_path yet: the hub must come up anyway and retry. */
        start_hub(f, connect_arg, NULL);
        g_assert_false(g_file_test(dev_path, G_FILE_TEST_EXISTS));
        HarnessProc *listening =
            harness_spawn_device(f->h, "listening", listen_arg, "--commands", NULL);
        harness_expect_line(listening, "LISTENING", TEST_TIMEOUT_MS);
        harness_expect_line(listening, "READY", TEST_TIMEOUT_MS);
        harness_expect_output(f->hub, HARNESS_STDERR, "ready", TEST_TIMEOUT_MS);

        HarnessProc *importer = start_device(f, "importer", NULL);
        dev_ino = export_ok(f, listening, UUID_A);
        import_ok(f, importer, UUID_A, dev_ino);
        /* And the other way round. */
        g_autofree char *other = export_ok(f, importer, UUID_B);
        import_ok(f, listening, UUID_B, other);
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
         * handled after it. */
        g_autofree char *dev_ino = export_ok(f, e, UUID_A);
        import_ok(f, e, UUID_A, dev_ino);
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

static void test_connect_role_reconnect(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_path = harness_path(f->h, "device.sock");
        g_autofree char *connect_arg = g_strdup_printf("--connect=%s", dev_path);
        g_autofree char *listen_arg = g_strdup_printf("--listen=%s", dev_path);

        start_hub(f, connect_arg, NULL);
        HarnessProc *first = harness_spawn_device(f->h, "first", listen_arg, "--commands", NULL);
        harness_expect_line(first, "READY", TEST_TIMEOUT_MS);
        HarnessProc *importer = start_device(f, "importer", NULL);
        g_autofree char *first_ino = export_ok(f, first, UUID_A);
        import_ok(f, importer, UUID_A, first_ino);

        /* The back-end crashes: its entries go, the hub keeps trying. */
        harness_kill(first, SIGKILL);
        harness_expect_output(f->hub, HARNESS_STDERR, "1 shared object(s) purged", TEST_TIMEOUT_MS);
        import_fails(f, importer, UUID_A);

        HarnessProc *second = harness_spawn_device(f->h, "second", listen_arg, "--commands", NULL);
        harness_expect_line(second, "READY", TEST_TIMEOUT_MS);
        g_autofree char *second_ino = export_ok(f, second, UUID_B);
        import_ok(f, importer, UUID_B, second_ino);
        g_autofree char *back = export_ok(f, importer, UUID_C);
        import_ok(f, second, UUID_C, back);
}

static void test_shutdown_with_pending_lookup(Fixture *f, gconstpointer data)
{
        int status;

        start_hub(f, "--lookup-timeout-ms=20000", NULL);
        HarnessProc *mute = start_device(f, "mute-exporter", "--no-answer", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);
        g_free(export_ok(f, mute, UUID_A));
        harness_send_line(importer, "import %s", UUID_A);
        harness_send_line(mute, "import %s", UUID_A);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);
        harness_expect_line(mute, "ASKED " UUID_A, TEST_TIMEOUT_MS);

        /* SIGTERM with two lookups outstanding (one a self-lookup): a clean
         * exit, no leak (the sanitizer build checks), and both importers told. */
        status = harness_stop(f->hub, TEST_TIMEOUT_MS);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                harness_fail(f->h, "the hub did not exit cleanly (status 0x%x)", status);
        for (HarnessProc **d = (HarnessProc *[]){importer, mute, NULL}; *d; d++) {
                harness_wait_output(*d, HARNESS_STDOUT, "IMPORT-FAILED " UUID_A, TEST_TIMEOUT_MS);
                harness_wait_output(*d, HARNESS_STDOUT, "DISCONNECTED", TEST_TIMEOUT_MS);
        }
        /* At shutdown the answers still go out; nothing is reported as a
         * send failure. */
        const HarnessLine *l = harness_find_line(f->hub, HARNESS_STDERR, "failed; disconnecting");
        if (l)
                harness_fail(f->h, "a send failed at shutdown: %s", l->text);
}

static void test_quota(Fixture *f, gconstpointer data)
{
        g_autofree char *conf = harness_path(f->h, "vhost-shared.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);

        g_assert_true(g_file_set_contents(conf, "[Service]\nMaxObjectsPerPeer=2\n", -1, NULL));
        start_hub(f, conf_arg, NULL);
        HarnessProc *d = start_device(f, "greedy", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        g_free(export_ok(f, d, UUID_A));
        g_free(export_ok(f, d, UUID_B));
        command(f, d, "export", UUID_C, "EXPORT-REFUSED");
        import_fails(f, other, UUID_C);
        /* The quota is per peer, and a removal frees a place. */
        g_autofree char *other_ino = export_ok(f, other, UUID_C);
        command(f, d, "remove", UUID_A, "REMOVED");
        g_autofree char *d_ino = export_ok(f, d, UUID_D);
        import_ok(f, other, UUID_D, d_ino);
        import_ok(f, d, UUID_C, other_ino);
}

/* ---- a raw scripted peer ---- */

/* What libvhost-user offers by default, plus SHARED_OBJECT. */
#define RAW_LIBVHOST_USER_FEATURES                                                                 \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_SHARED_OBJECT))
#define RAW_FEATURES                                                                               \
        (VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT))

/* A raw back-end connected to the hub, past the handshake: the hub must
 * have taken every feature offered that it knows. */
static RawPeer *raw_connect(Fixture *f, uint64_t offered)
{
        RawPeer *r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);

        raw_peer_handshake(r, offered);
        g_assert_cmphex(r->protocol_features, ==, offered);
        return r;
}

/* A duplicate of fd for a message to take (the caller keeps fd). */
static int dup_fd(int fd)
{
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        g_assert_cmpint(copy, >=, 0);
        return copy;
}

/* Sends request with uuid on c; fd (when >= 0) goes along as a copy. */
static void raw_send_uuid(RawPeer *r, VuConnection *c, uint32_t request, uint32_t flags,
                          const uint8_t uuid[16], int fd)
{
        VuMessage m;

        vu_message_init_uuid(&m, request, flags, uuid);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, dup_fd(fd)), ==, 0);
        raw_peer_send(r, c, &m);
}

static void parse_uuid(const char *s, uint8_t uuid[16])
{
        g_assert_cmpint(share_uuid_from_string(s, uuid), ==, 0);
}

static uint8_t pattern_seed(const uint8_t uuid[16])
{
        return (uint8_t) (uuid[0] ^ uuid[7] ^ uuid[15]);
}

static bool same_inode(int a, int b)
{
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Expects GET_SHARED_OBJECT for uuid on the main socket and answers as
 * libvhost-user does: the 16-byte request echoed, the buffer's fd attached. */
static void raw_serve_get(Fixture *f, RawPeer *r, const uint8_t uuid[16], int buffer)
{
        VuMessage m, reply;

        if (raw_peer_recv(r, r->main, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of sending GET_SHARED_OBJECT");
        if (m.hdr.request != VU_REQ_GET_SHARED_OBJECT)
                harness_fail(f->h, "expected GET_SHARED_OBJECT on the main socket, got %s",
                             vu_request_name(VU_CHANNEL_FRONTEND, m.hdr.request));
        g_assert_cmphex(m.hdr.flags & (VU_FLAG_VERSION_MASK | VU_FLAG_REPLY), ==, VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 16);
        g_assert_cmpmem(m.payload.uuid, 16, uuid, 16);
        g_assert_cmpuint(m.n_fds, ==, 0);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(buffer)), ==, 0);
        raw_peer_send(r, r->main, &reply);
}

/* Expects the LOOKUP reply as the next message on the channel: u64 0 and
 * exactly one fd, the same file as buffer. */
static void raw_expect_lookup_reply(Fixture *f, RawPeer *r, int buffer, const uint8_t uuid[16])
{
        VuMessage m;

        if (raw_peer_recv(r, r->chan, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of answering LOOKUP");
        if (m.hdr.request != VU_BREQ_SHARED_OBJECT_LOOKUP)
                harness_fail(f->h,
                             "first message on the channel is %s (flags 0x%x), not the "
                             "LOOKUP reply",
                             vu_request_name(VU_CHANNEL_BACKEND, m.hdr.request), m.hdr.flags);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 8);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        g_assert_cmpuint(m.n_fds, ==, 1);
        g_assert_true(same_inode(m.fds[0], buffer));
        g_assert_cmpint(memfd_verify_pattern(m.fds[0], 4096, pattern_seed(uuid)), ==, 0);
        vu_message_close_fds(&m);
}

/* Nothing more is waiting on c. */
static void assert_quiet(Fixture *f, VuConnection *c, const char *what)
{
        struct pollfd p = {.fd = vu_conn_fd(c), .events = POLLIN};

        harness_pump(f->h, 0);
        if (poll(&p, 1, 0) != 0)
                harness_fail(f->h, "unexpected data on the %s", what);
}

static void test_raw_libvhost_user(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        RawPeer *r;
        uint8_t uuid[16];
        VuMessage m;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, pattern_seed(uuid), &buffer), ==, 0);
        r = raw_connect(f, RAW_LIBVHOST_USER_FEATURES);
        g_assert_true(r->asked_queue_num);

        /* libvhost-user: ADD without NEED_REPLY, then a lookup of its own object. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, 0, uuid, -1);
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid, -1);
        raw_serve_get(f, r, uuid, buffer);
        raw_expect_lookup_reply(f, r, buffer, uuid);

        /* The next reply on the channel answers the next request: nothing
         * stray in between, and the ADD did register it to us. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_REMOVE, VU_FLAG_NEED_REPLY, uuid, -1);
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_REMOVE);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        g_assert_cmpuint(m.n_fds, ==, 0);
        assert_quiet(f, r->chan, "back-end channel");
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

static void test_raw_rust_vmm(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1, stray = -1;
        RawPeer *r;
        uint8_t uuid[16];
        VuMessage m;
        int baseline;

        start_hub(f, NULL);
        parse_uuid(UUID_B, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, pattern_seed(uuid), &buffer), ==, 0);
        g_assert_cmpint(memfd_new_sealed_pattern("stray", 4096, 0x5a, &stray), ==, 0);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_false(r->asked_queue_num);

        /* rust-vmm asks for an ack when REPLY_ACK is on. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid, -1);
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_ADD);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        baseline = harness_count_fds(harness_proc_pid(f->hub));
        g_test_message("hub fd baseline with the raw peer: %d", baseline);

        /* rust-vmm's form: the LOOKUP request carries an fd. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid, stray);
        raw_serve_get(f, r, uuid, buffer);
        raw_expect_lookup_reply(f, r, buffer, uuid);
        g_assert_false(same_inode(stray, buffer));
        /* The stray fd was closed, the forwarded one too. */
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_quiet(f, r->chan, "back-end channel");
        raw_peer_free(r);
}

/* Malformed input on the back-end channel: header fields as raw bytes. */
typedef struct {
        const char *name;
        uint32_t request;
        uint32_t flags;
        uint32_t size;       /* what the header claims */
        uint32_t sent_bytes; /* payload bytes actually sent */
        const char *reason;  /* in the hub's log */
} Malformed;

static const Malformed malformed_cases[] = {
    {"bad-version", VU_BREQ_SHARED_OBJECT_ADD, 0x2, 16, 16, "version bits"},
    {"too-large", VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 5000, 0, "4096"},
    {"add-wrong-size", VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION | VU_FLAG_NEED_REPLY, 8, 8,
     "payload size"},
    {"reply-flag-on-request", VU_BREQ_SHARED_OBJECT_LOOKUP, VU_VERSION | VU_FLAG_REPLY, 16, 16,
     "REPLY flag"},
};

static void test_raw_malformed(Fixture *f, gconstpointer data)
{
        const Malformed *c = data;
        uint8_t buf[VU_HEADER_SIZE + 16] = {0}, uuid[16];
        VuHeader hdr = {.request = c->request, .flags = c->flags, .size = c->size};
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);
        g_autofree char *before = export_ok(f, a, UUID_A);

        /* The offender owns an object, which must go with it. */
        r = raw_connect(f, RAW_FEATURES);
        parse_uuid(UUID_C, uuid);
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid, -1);
        VuMessage m;
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.payload.u64, ==, 0);

        memcpy(buf, &hdr, sizeof(hdr));
        memcpy(buf + VU_HEADER_SIZE, uuid, MIN(c->sent_bytes, 16u));
        raw_peer_send_bytes(r, r->chan, buf, VU_HEADER_SIZE + MIN(c->sent_bytes, 16u));
        raw_peer_wait_hangup(r, r->main);
        raw_peer_wait_hangup(r, r->chan);
        harness_expect_output(f->hub, HARNESS_STDERR, c->reason, TEST_TIMEOUT_MS);
        raw_peer_free(r);

        import_fails(f, b, UUID_C);
        import_ok(f, b, UUID_A, before);
        g_autofree char *after = export_ok(f, a, UUID_B);
        import_ok(f, b, UUID_B, after);
}

/* Sends uuid on the channel with NEED_REPLY and returns the u64 answer. */
static uint64_t raw_request_u64(Fixture *f, RawPeer *r, uint32_t request, const uint8_t uuid[16])
{
        VuMessage m;
        uint64_t v;

        raw_send_uuid(r, r->chan, request, VU_FLAG_NEED_REPLY, uuid, -1);
        if (raw_peer_recv(r, r->chan, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of answering %s",
                             vu_request_name(VU_CHANNEL_BACKEND, request));
        g_assert_cmpuint(m.hdr.request, ==, request);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 8);
        g_assert_cmpuint(m.n_fds, ==, 0); /* also for LOOKUP: a failure has no fd */
        v = m.payload.u64;
        vu_message_close_fds(&m);
        return v;
}

static void test_raw_invalid_uuid(Fixture *f, gconstpointer data)
{
        uint8_t nil[16] = {0}, max[16], ok[16];
        RawPeer *r;

        memset(max, 0xff, sizeof(max));
        parse_uuid(UUID_A, ok);
        start_hub(f, NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, nil), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, max), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, nil), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, max), !=, 0);
        /* Refusals are answers, not a reason to drop the peer. */
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, ok), ==, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, ok), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, ok), ==, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, ok), !=, 0);
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

static void test_raw_get_error_reply(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        uint8_t uuid[16];
        VuMessage m, reply;
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, pattern_seed(uuid), &buffer), ==, 0);
        HarnessProc *importer = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), ==, 0);

        /* rust-vmm's error answer to GET_SHARED_OBJECT: empty, no fd. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        vu_message_init(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);

        /* The exporter stays, and answers properly the next time. */
        harness_send_line(importer, "import %s", UUID_A);
        raw_serve_get(f, r, uuid, buffer);
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
        raw_peer_free(r);
}

/* An exporter's answer is checked before it reaches the importer: another
 * object's UUID, or an fd that is not a buffer, fails the lookup (and the
 * fd is not passed on); the exporter stays. */
static void test_raw_get_bad_answers(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        int pipefd[2];
        uint8_t uuid[16], other[16];
        VuMessage m, reply;
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        parse_uuid(UUID_B, other);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, pattern_seed(uuid), &buffer), ==, 0);
        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        HarnessProc *importer = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), ==, 0);

        /* A pipe instead of a buffer. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(pipefd[0])), ==, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "neither a dma-buf nor a sealed memfd",
                              TEST_TIMEOUT_MS);

        /* The right buffer, but labelled with another UUID. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, other);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(buffer)), ==, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "with another object's UUID",
                              TEST_TIMEOUT_MS);

        /* The exporter stays and a proper answer goes through. */
        harness_send_line(importer, "import %s", UUID_A);
        raw_serve_get(f, r, uuid, buffer);
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        close(pipefd[0]);
        close(pipefd[1]);
        raw_peer_free(r);
}

/* Several commands in one write all run, and quit waits for them. */
static void test_device_commands_batched(Fixture *f, gconstpointer data)
{
        start_hub(f, NULL);
        HarnessProc *d = start_device(f, "device", NULL);

        harness_send_line(d, "export %s\nexport %s\nimport %s\nquit", UUID_A, UUID_B, UUID_A);
        assert_line_is(f, d, harness_expect_line(d, "EXPORT", TEST_TIMEOUT_MS), "EXPORTED", UUID_A);
        assert_line_is(f, d, harness_expect_line(d, "EXPORT", TEST_TIMEOUT_MS), "EXPORTED", UUID_B);
        const HarnessLine *l = harness_expect_line(d, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, d, l, "IMPORTED", UUID_A);
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
        harness_expect_line(d, "DONE", TEST_TIMEOUT_MS);
}

static void test_raw_no_shared_object(Fixture *f, gconstpointer data)
{
        uint8_t uuid[16];
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        /* A back-end channel but no SHARED_OBJECT: still a valid peer. */
        r = raw_connect(f, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ));
        harness_expect_output(f->hub, HARNESS_STDERR, "(no SHARED_OBJECT", TEST_TIMEOUT_MS);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, uuid), !=, 0);
        HarnessProc *d = start_device(f, "device", NULL);
        import_fails(f, d, UUID_A);
        g_autofree char *dev_ino = export_ok(f, d, UUID_A);
        /* Its lookups are refused even for objects that exist. */
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid), !=, 0);
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

static void test_raw_handshake_timeout(Fixture *f, gconstpointer data)
{
        g_autofree char *conf = harness_path(f->h, "vhost-shared.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);
        VuMessage m;
        RawPeer *r;

        g_assert_true(g_file_set_contents(conf, "[Service]\nReplyTimeoutMSec=1000\n", -1, NULL));
        start_hub(f, conf_arg, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        /* A back-end that connects and then says nothing. */
        r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_FEATURES);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_free(r);
        harness_expect_output(f->hub, HARNESS_STDERR, "no reply to GET_FEATURES in time",
                              TEST_TIMEOUT_MS);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

/* Malformed replies on the main socket during the handshake. */
typedef struct {
        const char *name;
        uint32_t request; /* of the reply to GET_FEATURES */
        uint32_t flags;
        uint32_t size;
        const char *reason; /* in the hub's log */
} MalformedReply;

static const MalformedReply malformed_replies[] = {
    {"reply-to-another-request", VU_REQ_GET_PROTOCOL_FEATURES, VU_FLAG_REPLY | VU_VERSION, 8,
     "does not answer"},
    {"reply-without-reply-flag", VU_REQ_GET_FEATURES, VU_VERSION, 8, "REPLY flag"},
    {"reply-wrong-size", VU_REQ_GET_FEATURES, VU_FLAG_REPLY | VU_VERSION, 4, "payload size"},
};

static void test_raw_malformed_reply(Fixture *f, gconstpointer data)
{
        const MalformedReply *c = data;
        VuMessage m;
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_FEATURES);
        vu_message_init(&m, c->request, 0, c->size);
        m.hdr.flags = c->flags;
        raw_peer_send(r, r->main, &m);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_free(r);
        harness_expect_output(f->hub, HARNESS_STDERR, c->reason, TEST_TIMEOUT_MS);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

static void test_raw_unrequested_reply(Fixture *f, gconstpointer data)
{
        VuMessage m;
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        /* A reply nobody asked for, on the main socket. */
        vu_message_init_u64(&m, VU_REQ_GET_FEATURES, VU_FLAG_REPLY, 0);
        raw_peer_send(r, r->main, &m);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_wait_hangup(r, r->chan);
        harness_expect_output(f->hub, HARNESS_STDERR, "no request outstanding", TEST_TIMEOUT_MS);
        raw_peer_free(r);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

/* ---- a real back-end ---- */

static void test_qemu_storage_daemon(Fixture *f, gconstpointer data)
{
        g_autofree char *qsd = g_find_program_in_path("qemu-storage-daemon");
        g_autofree char *sock = harness_path(f->h, "qsd.sock");
        g_autofree char *export_arg = NULL, *connect_arg = NULL;

        if (!qsd)
                harness_fail(f->h, "qemu-storage-daemon is not installed (package qemu-utils from "
                                   "bookworm-backports; run tools/install-deps)");
        export_arg = g_strdup_printf("type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,"
                                     "addr.path=%s",
                                     sock);
        const char *argv[] = {qsd,        "--blockdev", "driver=null-co,node-name=n0",
                              "--export", export_arg,   NULL};
        /* Spawned before the hub, so the teardown stops the hub first. */
        harness_spawn(f->h, "qemu-storage-daemon", argv, NULL, HARNESS_SPAWN_DEFAULT);

        connect_arg = g_strdup_printf("--connect=%s", sock);
        start_hub(f, connect_arg, NULL);
        const HarnessLine *l =
            harness_expect_output(f->hub, HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
        if (!strstr(l->text, "(no SHARED_OBJECT"))
                harness_fail(f->h, "the hub did not record the missing SHARED_OBJECT: %s", l->text);
        g_test_message("%s", l->text);
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        ADD("/hub/export-import", test_export_import);
        ADD("/hub/remove-owner-only", test_remove_owner_only);
        ADD("/hub/duplicate-add", test_duplicate_add);
        ADD("/hub/unknown-lookup", test_unknown_lookup);
        ADD("/hub/slow-exporter", test_slow_exporter);
        ADD("/hub/exporter-never-answers", test_exporter_never_answers);
        ADD("/hub/exporter-killed", test_exporter_killed);
        ADD("/hub/connect-role", test_connect_role);
        ADD("/hub/replies-in-order", test_replies_in_order);
        ADD("/hub/no-reply-ack-exporter", test_no_reply_ack_exporter);
        ADD("/hub/importer-gone-mid-lookup", test_importer_gone_mid_lookup);
        ADD("/hub/connect-role-reconnect", test_connect_role_reconnect);
        ADD("/hub/shutdown-with-pending-lookup", test_shutdown_with_pending_lookup);
        ADD("/hub/quota", test_quota);
        ADD("/hub/remove-during-lookup", test_remove_during_lookup);
        ADD("/hub/raw/libvhost-user-add-lookup", test_raw_libvhost_user);
        ADD("/hub/raw/rust-vmm-lookup-with-fd", test_raw_rust_vmm);
        ADD("/hub/raw/invalid-uuid", test_raw_invalid_uuid);
        ADD("/hub/raw/get-error-reply", test_raw_get_error_reply);
        ADD("/hub/raw/get-bad-answers", test_raw_get_bad_answers);
        ADD("/hub/device/commands-batched", test_device_commands_batched);
        ADD("/hub/raw/no-shared-object", test_raw_no_shared_object);
        ADD("/hub/raw/handshake-timeout", test_raw_handshake_timeout);
        ADD("/hub/raw/malformed/unrequested-reply", test_raw_unrequested_reply);
        for (unsigned i = 0; i < G_N_ELEMENTS(malformed_replies); i++) {
                g_autofree char *path =
                    g_strdup_printf("/hub/raw/malformed/%s", malformed_replies[i].name);
                g_test_add(path, Fixture, &malformed_replies[i], fixture_setup,
                           test_raw_malformed_reply, fixture_teardown);
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(malformed_cases); i++) {
                g_autofree char *path =
                    g_strdup_printf("/hub/raw/malformed/%s", malformed_cases[i].name);
                g_test_add(path, Fixture, &malformed_cases[i], fixture_setup, test_raw_malformed,
                           fixture_teardown);
        }
        ADD("/hub/qemu-storage-daemon", test_qemu_storage_daemon);
        return g_test_run();
}
