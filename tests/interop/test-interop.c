/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge (vhost-shared --serve) against real QEMU 10, and two services
 * chained, driven through tests/harness.c: every wait has a deadline,
 * nothing sleeps a fixed time, and a failure dumps what every process
 * said. Expectations here match a process's stdout and stderr as one
 * stream, in arrival order. QEMU is spawned after the services it connects
 * to, so the harness (newest first) stops it before them: QEMU 10.0.2
 * aborts when a back-end of a never-started device closes its sockets
 * under it (docs/interop.md).
 *
 * The QEMU defects are pinned: each test says what QEMU 10.0.2 does today,
 * so a fixed QEMU makes it fail with a message saying what changed. */

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define MAX_PROCS 12

/* A child with a cursor over its merged output. */
typedef struct {
        HarnessProc *hp;
        const char *name;
        uint64_t cursor; /* seq of the line last matched; expectations look after it */
} Proc;

typedef struct {
        Harness *h;
        Proc procs[MAX_PROCS];
        unsigned n_procs;
} Fixture;

static char *fx_path(Fixture *fx, const char *name)
{
        return harness_path(fx->h, name);
}

static Proc *fx_add(Fixture *fx, HarnessProc *hp)
{
        Proc *p;

        g_assert_cmpuint(fx->n_procs, <, MAX_PROCS);
        p = &fx->procs[fx->n_procs++];
        p->hp = hp;
        p->name = harness_proc_name(hp);
        return p;
}

static pid_t proc_pid(Proc *p)
{
        return harness_proc_pid(p->hp);
}

/* The first line after seq `after`, on either stream, containing a (and
 * b), or NULL. */
static const HarnessLine *proc_find_after(Proc *p, uint64_t after, const char *a, const char *b)
{
        const HarnessLine *best = NULL;

        for (int s = HARNESS_STDOUT; s <= HARNESS_STDERR; s++) {
                const GPtrArray *lines = harness_lines(p->hp, s);
                for (guint i = 0; i < lines->len; i++) {
                        const HarnessLine *l = g_ptr_array_index(lines, i);
                        if (l->seq > after && strstr(l->text, a) && (!b || strstr(l->text, b))) {
                                if (!best || l->seq < best->seq)
                                        best = l;
                                break;
                        }
                }
        }
        return best;
}

/* The first line after the cursor containing a (and b), waiting up to
 * TEST_TIMEOUT_MS; the cursor moves to it. Fails the test with why and everything
 * every process said when it does not come. */
static const HarnessLine *proc_expect2(Fixture *fx, Proc *p, const char *a, const char *b,
                                       const char *why)
{
        gint64 deadline = g_get_monotonic_time() + (gint64) TEST_TIMEOUT_MS * 1000;
        const HarnessLine *l;

        while (!(l = proc_find_after(p, p->cursor, a, b))) {
                if (g_get_monotonic_time() >= deadline)
                        harness_fail(fx->h, "%s: no line with '%s'%s%s from %s within %d ms: %s",
                                     g_test_get_path(), a, b ? "' and '" : "", b ? b : "", p->name,
                                     TEST_TIMEOUT_MS, why);
                harness_pump(fx->h, 100);
        }
        p->cursor = l->seq;
        return l;
}

static const char *proc_expect(Fixture *fx, Proc *p, const char *a, const char *why)
{
        return proc_expect2(fx, p, a, NULL, why)->text;
}

/* Whether any line so far (cursor or not) contains a (and b). */
static bool proc_said(Fixture *fx, Proc *p, const char *a, const char *b)
{
        return proc_find_after(p, 0, a, b) != NULL;
}

static void proc_send(Proc *p, const char *line)
{
        harness_send_line(p->hp, "%s", line);
}

/* SIGTERM, and waits for the exit. */
static void proc_stop(Proc *p)
{
        harness_stop(p->hp, TEST_TIMEOUT_MS);
}

/* ---- the fixture ---- */

static void fx_setup(Fixture *fx, gconstpointer data)
{
        memset(fx, 0, sizeof(*fx));
        fx->h = harness_new();
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
        /* Newest first: importers, QEMU, then the services and the devices
         * QEMU connected to. Services must exit cleanly. */
        harness_free(fx->h);
}

/* ---- the programs ---- */

static void require_qemu(void)
{
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        int status = 0, major = 0;
        const char *v;

        if (!g_spawn_command_line_sync("qemu-system-x86_64 --version", &out, NULL, &status,
                                       &error) ||
            !g_spawn_check_wait_status(status, NULL))
                g_error("qemu-system-x86_64 is needed for the interop suite (QEMU 10 from "
                        "bookworm-backports: run tools/install-deps): %s",
                        error ? error->message : "it failed to run");
        v = strstr(out, "version ");
        if (v)
                major = atoi(v + strlen("version "));
        if (major < 10)
                g_error("qemu-system-x86_64 is too old (%s); the interop suite needs QEMU 10 "
                        "(tools/install-deps installs it from bookworm-backports)",
                        g_strstrip(out));
}

static GPtrArray *argv_new(const char *program)
{
        GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

        g_ptr_array_add(argv, g_strdup(program));
        return argv;
}

/* vhost-shared --no-bus -v ARGS...; returns once it sent READY=1. At the
 * end it must exit with status 0 on SIGTERM. */
static Proc *start_service(Fixture *fx, const char *name, ...)
{
        g_autofree char *exe = harness_build_file("service/vhost-shared");
        g_autoptr(GPtrArray) argv = argv_new(exe);
        va_list ap;
        const char *a;

        g_ptr_array_add(argv, g_strdup("--no-bus"));
        g_ptr_array_add(argv, g_strdup("-v"));
        va_start(ap, name);
        while ((a = va_arg(ap, const char *)))
                g_ptr_array_add(argv, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        return fx_add(fx, harness_spawn(fx->h, name, (const char *const *) argv->pdata, NULL,
                                        HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT));
}

/* vhost-share-device ARGS.... */
static Proc *start_device(Fixture *fx, const char *name, ...)
{
        g_autofree char *exe = harness_build_file("service/vhost-share-device");
        g_autoptr(GPtrArray) argv = argv_new(exe);
        va_list ap;
        const char *a;

        va_start(ap, name);
        while ((a = va_arg(ap, const char *)))
                g_ptr_array_add(argv, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        return fx_add(fx, harness_spawn(fx->h, name, (const char *const *) argv->pdata, NULL,
                                        HARNESS_SPAWN_DEFAULT));
}

/* QEMU with one vhost-user-rng-pci per socket (each already listening). */
static Proc *start_qemu(Fixture *fx, const char *const *sockets)
{
        g_autofree char *qmp = fx_path(fx, "qmp.sock");
        g_autofree char *exe = NULL;

        require_qemu();
        exe = g_find_program_in_path("qemu-system-x86_64");
        g_autoptr(GPtrArray) argv = argv_new(exe);
        const char *fixed[] = {"-machine",    "q35,accel=tcg", "-m", "64M",
                               "-nodefaults", "-nographic",    "-S"};
        for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++)
                g_ptr_array_add(argv, g_strdup(fixed[i]));
        for (unsigned i = 0; sockets[i]; i++) {
                g_ptr_array_add(argv, g_strdup("-chardev"));
                g_ptr_array_add(argv, g_strdup_printf("socket,id=c%u,path=%s", i, sockets[i]));
                g_ptr_array_add(argv, g_strdup("-device"));
                g_ptr_array_add(argv, g_strdup_printf("vhost-user-rng-pci,chardev=c%u", i));
        }
        g_ptr_array_add(argv, g_strdup("-qmp"));
        g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off", qmp));
        g_ptr_array_add(argv, NULL);
        return fx_add(fx, harness_spawn(fx->h, "qemu", (const char *const *) argv->pdata, NULL,
                                        HARNESS_SPAWN_DEFAULT));
}

/* --serve=PATH[,options] for a socket in the fixture directory. */
static char *serve_arg(Fixture *fx, const char *sock, const char *options)
{
        g_autofree char *path = fx_path(fx, sock);

        return g_strdup_printf("--serve=%s%s%s", path, options ? "," : "", options ? options : "");
}

static char *path_arg(Fixture *fx, const char *option, const char *sock)
{
        g_autofree char *path = fx_path(fx, sock);

        return g_strdup_printf("--%s=%s", option, path);
}

/* Field n (0-based, space-separated) of a line. */
static char *field(const char *line, unsigned n)
{
        g_auto(GStrv) w = g_strsplit(line, " ", -1);

        g_assert_cmpuint(g_strv_length(w), >, n);
        return g_strdup(w[n]);
}

#define UUID_A "3f0a5e7c-1b2d-4c6e-8f90-a1b2c3d4e5f6"
#define UUID_B "7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d"
#define UUID_C "c0ffee00-1234-4567-89ab-cdef01234567"
#define UUID_D "d00dfeed-9876-4543-8210-fedcba987654"

/* Waits for the bridge on socket sock (a file name in the fixture) to be
 * ready with shared objects; returns the line. */
static const HarnessLine *expect_bridge_ready(Fixture *fx, Proc *svc, const char *sock)
{
        g_autofree char *path = fx_path(fx, sock);

        return proc_expect2(fx, svc, path, "ready, shared objects negotiated",
                            "QEMU should complete the vhost-user handshake with the bridge "
                            "(SET_BACKEND_REQ_FD and SHARED_OBJECT negotiated)");
}

static Proc *start_commands_device(Fixture *fx, const char *name, const char *accept_sock)
{
        g_autofree char *connect = path_arg(fx, "connect", accept_sock);
        Proc *d = start_device(fx, name, connect, "--commands", NULL);

        proc_expect(fx, d, "READY", "the device should connect to the service");
        return d;
}

static int count_fds(pid_t pid)
{
        int n = harness_count_fds(pid);

        g_assert_cmpint(n, >=, 0);
        return n;
}

/* The target of an fd of pid whose link contains part, or NULL. */
static char *fd_target_matching(pid_t pid, const char *part)
{
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *link = g_build_filename(dir, name, NULL);
                g_autofree char *target = g_file_read_link(link, NULL);
                if (target && strstr(target, part))
                        return g_steal_pointer(&target);
        }
        return NULL;
}

/* Waits until pid has at most n fds open; returns the count. */
static int wait_fds_at_most(Fixture *fx, Proc *p, int n)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_MS * 1000;
        int c;

        while ((c = count_fds(proc_pid(p))) > n) {
                if (g_get_monotonic_time() > deadline)
                        harness_fail(fx->h, "%s still has %d fds open, expected at most %d",
                                     p->name, c, n);
                harness_pump(fx->h, 10);
        }
        return c;
}

/* ---- handshake ---- */

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
                if (g_str_has_prefix(l, "<7>front-end#") && colon && strstr(l, " flags 0x")) {
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

/* ---- ADD and REMOVE as QEMU answers them ---- */

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
        g_autofree char *serve_a = serve_arg(fx, "a.sock", NULL);
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *sa = fx_path(fx, "a.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        Proc *svc_a = start_service(fx, "service-a", serve_a, accept_a, NULL);
        Proc *svc_b = start_service(fx, "service-b", serve_b, accept_b, NULL);

        start_qemu(fx, (const char *[]){sa, sb, NULL});
        expect_bridge_ready(fx, svc_a, "a.sock");
        expect_bridge_ready(fx, svc_b, "b.sock");
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

/* ---- QEMU 10.0.2 defects, pinned ---- */

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

        g_autofree char *connect = path_arg(fx, "connect", "b-dev.sock");
        Proc *imp =
            start_device(fx, "importer", connect, "--import=" UUID_A, "--exit-when-done", NULL);
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

        g_autofree char *connect = path_arg(fx, "connect", "b-dev.sock");
        Proc *imp =
            start_device(fx, "importer", connect, "--import=" UUID_A, "--exit-when-done", NULL);
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
        g_autofree char *serve_a = serve_arg(fx, "a.sock", NULL);
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *sa = fx_path(fx, "a.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        Proc *svc_a = start_service(fx, "service-a", serve_a, accept_a, NULL);
        Proc *svc_b = start_service(fx, "service-b", serve_b, accept_b, NULL);

        /* A first, where an ADD without NEED_REPLY would survive: the
         * NEED_REPLY is what breaks the key here. */
        start_qemu(fx, (const char *[]){sa, sb, NULL});
        expect_bridge_ready(fx, svc_b, "b.sock");
        expect_bridge_ready(fx, svc_a, "a.sock");
        Proc *dev_a = start_commands_device(fx, "exporter", "a-dev.sock");
        proc_send(dev_a, "export " UUID_A);
        proc_expect(fx, svc_a, "front-end acked ADD " UUID_A " (0)", "QEMU took the UUID");

        g_autofree char *connect = path_arg(fx, "connect", "b-dev.sock");
        Proc *imp =
            start_device(fx, "importer", connect, "--import=" UUID_A, "--exit-when-done", NULL);
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

/* QEMU waits for GET_SHARED_OBJECT's answer inside its main loop: while an
 * exporter takes its time, another back-end's ADD is not answered. */
static void test_defect_main_loop_blocked(Fixture *fx, gconstpointer data)
{
        const gint64 delay_ms = 1500;
        g_autofree char *listen = path_arg(fx, "listen", "d0.sock");
        g_autofree char *delay = g_strdup_printf("--get-delay-ms=%" G_GINT64_FORMAT, delay_ms);
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *serve_c = serve_arg(fx, "c.sock", NULL);
        g_autofree char *accept_c = path_arg(fx, "accept", "c-dev.sock");
        g_autofree char *d0s = fx_path(fx, "d0.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        g_autofree char *sc = fx_path(fx, "c.sock");
        Proc *d0 = start_device(fx, "slow-exporter", listen, "--no-reply-ack", delay, "--export=1",
                                "--uuid=" UUID_A, NULL);
        proc_expect(fx, d0, "LISTENING", "the exporter listens for QEMU");
        Proc *svc_b =
            start_service(fx, "service-b", serve_b, accept_b, "--lookup-timeout-ms=5000", NULL);
        /* Its channel deadline above the delay: with the default 1 s the
         * blocked ADD would time out (and its late ack be dropped). */
        Proc *svc_c =
            start_service(fx, "service-c", serve_c, accept_c, "--lookup-timeout-ms=5000", NULL);

        start_qemu(fx, (const char *[]){d0s, sb, sc, NULL}); /* first: see above */
        expect_bridge_ready(fx, svc_b, "b.sock");
        expect_bridge_ready(fx, svc_c, "c.sock");
        proc_expect(fx, d0, "EXPORTED " UUID_A, "the exporter's ADD went to QEMU");
        Proc *dev_c = start_commands_device(fx, "adder", "c-dev.sock");

        g_autofree char *connect = path_arg(fx, "connect", "b-dev.sock");
        Proc *imp =
            start_device(fx, "importer", connect, "--import=" UUID_A, "--exit-when-done", NULL);
        gint64 t_get = proc_expect2(fx, d0, "arrived without a UUID", NULL,
                                    "QEMU asks the exporter (GET_SHARED_OBJECT)")
                           ->usec;
        gint64 t_add = g_get_monotonic_time();
        proc_send(dev_c, "export " UUID_C);
        gint64 t_ack = proc_expect2(fx, svc_c, "front-end acked ADD " UUID_C, NULL,
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
        proc_expect(fx, d0, "NOT-SERVED -", "the exporter answered after its delay");
        proc_expect(fx, imp, "IMPORT-FAILED " UUID_A, "the importer gets an error");
        /* Unblocked (and only now: any activity before the LOOKUP could
         * overwrite QEMU's dangling key), an ADD is answered at once. */
        gint64 t = g_get_monotonic_time();
        proc_send(dev_c, "export " UUID_B);
        gint64 t_plain =
            proc_expect2(fx, svc_c, "front-end acked ADD " UUID_B, NULL, "a plain ADD")->usec;
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
        g_autofree char *listen = path_arg(fx, "listen", "d0.sock");
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *serve_c = serve_arg(fx, "c.sock", NULL);
        g_autofree char *accept_c = path_arg(fx, "accept", "c-dev.sock");
        g_autofree char *d0s = fx_path(fx, "d0.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");
        g_autofree char *sc = fx_path(fx, "c.sock");
        Proc *d0 = start_device(fx, "slow-exporter", listen, "--no-reply-ack",
                                "--get-delay-ms=2000", "--export=1", "--uuid=" UUID_A, NULL);
        proc_expect(fx, d0, "LISTENING", "the exporter listens for QEMU");
        Proc *svc_b =
            start_service(fx, "service-b", serve_b, accept_b, "--lookup-timeout-ms=5000", NULL);
        Proc *svc_c =
            start_service(fx, "service-c", serve_c, accept_c, "--lookup-timeout-ms=200", NULL);

        start_qemu(fx, (const char *[]){d0s, sb, sc, NULL}); /* first: see above */
        expect_bridge_ready(fx, svc_b, "b.sock");
        expect_bridge_ready(fx, svc_c, "c.sock");
        proc_expect(fx, d0, "EXPORTED " UUID_A, "the exporter's ADD went to QEMU");
        Proc *dev_c = start_commands_device(fx, "c-device", "c-dev.sock");

        g_autofree char *connect = path_arg(fx, "connect", "b-dev.sock");
        start_device(fx, "importer", connect, "--import=" UUID_A, "--exit-when-done", NULL);
        proc_expect(fx, d0, "arrived without a UUID", "QEMU asks the exporter");
        /* While QEMU waits: an ADD (acked late but in time) and a LOOKUP
         * (late: C's importer gets a timeout). */
        proc_send(dev_c, "export " UUID_B);
        proc_send(dev_c, "import " UUID_C);
        proc_expect(fx, svc_c, "no reply to SHARED_OBJECT_LOOKUP in time; the request failed",
                    "C's LOOKUP misses its 200 ms deadline while QEMU is blocked");
        proc_expect(fx, dev_c, "IMPORT-FAILED " UUID_C, "C's importer is told");
        proc_expect(fx, svc_c, "front-end acked ADD " UUID_B " (0)",
                    "the ADD's ack, late as it is, is within its 5 s deadline");
        proc_expect(fx, svc_c, "late reply to SHARED_OBJECT_LOOKUP dropped",
                    "QEMU's answer to the LOOKUP comes after the exporter's, and is dropped");
        /* Still connected: the next ADD is acked. */
        proc_send(dev_c, "export " UUID_D);
        proc_expect(fx, svc_c, "front-end acked ADD " UUID_D " (0)", "the bridge is still up");
        g_assert_false(proc_said(fx, svc_c, "front-end#", "disconnecting"));
}

/* ---- two services chained: A --serve=S, B --connect=S ---- */

static void test_chain_export_upstream(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve = serve_arg(fx, "s.sock", NULL);
        g_autofree char *connect = path_arg(fx, "connect", "s.sock");
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        Proc *svc_a = start_service(fx, "service-a", serve, accept_a, NULL);
        Proc *svc_b = start_service(fx, "service-b", connect, accept_b, NULL);

        expect_bridge_ready(fx, svc_a, "s.sock");
        Proc *exp = start_commands_device(fx, "exporter", "a-dev.sock");
        proc_send(exp, "export " UUID_A);
        const char *exported = proc_expect(fx, exp, "EXPORTED " UUID_A, "A takes the export");
        g_autofree char *devino = field(exported, 3);
        proc_expect(fx, svc_a, "front-end acked ADD " UUID_A " (0)", "B's hub acks A's ADD");
        proc_expect2(fx, svc_b, "added " UUID_A, "(vhost-device)",
                     "B's table holds the UUID as a vhost-device entry of its back-end A");

        Proc *imp = start_commands_device(fx, "importer", "b-dev.sock");
        proc_send(imp, "import " UUID_A);
        const char *imported = proc_expect(fx, imp, "IMPORTED " UUID_A, "the fd arrives");
        g_autofree char *imp_devino = field(imported, 2);
        g_autofree char *verdict = field(imported, 3);
        g_assert_cmpstr(imp_devino, ==, devino);
        g_assert_cmpstr(verdict, ==, "pattern-ok");
        proc_expect(fx, exp, "SERVED " UUID_A, "A asked its exporter");
}

static void test_chain_lookup_upstream(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve = serve_arg(fx, "s.sock", NULL);
        g_autofree char *connect = path_arg(fx, "connect", "s.sock");
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        Proc *svc_a = start_service(fx, "service-a", serve, accept_a, NULL);
        start_service(fx, "service-b", connect, accept_b, NULL);

        expect_bridge_ready(fx, svc_a, "s.sock");
        Proc *exp = start_commands_device(fx, "exporter", "b-dev.sock");
        proc_send(exp, "export " UUID_B);
        const char *exported = proc_expect(fx, exp, "EXPORTED " UUID_B, "B takes the export");
        g_autofree char *devino = field(exported, 3);

        /* A does not know the UUID: its bridge asks B upstream (LOOKUP). */
        Proc *imp = start_commands_device(fx, "importer", "a-dev.sock");
        proc_send(imp, "import " UUID_B);
        const char *imported = proc_expect(fx, imp, "IMPORTED " UUID_B, "the fd arrives");
        g_autofree char *imp_devino = field(imported, 2);
        g_autofree char *verdict = field(imported, 3);
        g_assert_cmpstr(imp_devino, ==, devino);
        g_assert_cmpstr(verdict, ==, "pattern-ok");
        proc_expect(fx, exp, "SERVED " UUID_B, "B asked its exporter");
}

/* A serves two hubs; only the second has the UUID: A's LOOKUP upstream
 * is refused by the first and answered by the second. */
static void test_chain_lookup_each_upstream(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve1 = serve_arg(fx, "s1.sock", NULL);
        g_autofree char *serve2 = serve_arg(fx, "s2.sock", NULL);
        g_autofree char *connect1 = path_arg(fx, "connect", "s1.sock");
        g_autofree char *connect2 = path_arg(fx, "connect", "s2.sock");
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_c = path_arg(fx, "accept", "c-dev.sock");
        Proc *svc_a = start_service(fx, "service-a", serve1, serve2, accept_a, NULL);
        /* One after the other, so A's peer for B is the older one. */
        Proc *svc_b = start_service(fx, "service-b", connect1, NULL);
        expect_bridge_ready(fx, svc_a, "s1.sock");
        start_service(fx, "service-c", connect2, accept_c, NULL);
        expect_bridge_ready(fx, svc_a, "s2.sock");
        Proc *exp = start_commands_device(fx, "exporter", "c-dev.sock");
        proc_send(exp, "export " UUID_C);
        const char *exported = proc_expect(fx, exp, "EXPORTED " UUID_C, "C takes the export");
        g_autofree char *devino = field(exported, 3);

        Proc *imp = start_commands_device(fx, "importer", "a-dev.sock");
        proc_send(imp, "import " UUID_C);
        const char *imported = proc_expect(fx, imp, "IMPORTED " UUID_C, "the fd arrives");
        g_autofree char *imp_devino = field(imported, 2);
        g_autofree char *verdict = field(imported, 3);
        g_assert_cmpstr(imp_devino, ==, devino);
        g_assert_cmpstr(verdict, ==, "pattern-ok");
        /* B was asked first and did not have it. */
        proc_expect(fx, svc_b, "LOOKUP " UUID_C " failed", "the first upstream is asked first");
        proc_expect(fx, svc_a, "LOOKUP " UUID_C " refused by the front-end",
                    "A hears B's refusal, then asks C");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        signal(SIGPIPE, SIG_IGN);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
        ADD("/interop/handshake/one-device", test_handshake_one);
        ADD("/interop/handshake/two-sockets", test_handshake_two);
        ADD("/interop/serve-options/per-socket", test_serve_options);
        ADD("/interop/add/acked-and-removed", test_add_acked);
        ADD("/interop/add/duplicate-refused", test_add_duplicate_refused);
        ADD("/interop/qemu-defect/get-shared-object-without-uuid", test_defect_get_without_uuid);
        ADD("/interop/qemu-defect/lookup-reply-without-fd", test_defect_lookup_reply_without_fd);
        ADD("/interop/qemu-defect/dangling-key", test_defect_dangling_key);
        ADD("/interop/qemu-defect/main-loop-blocked", test_defect_main_loop_blocked);
        ADD("/interop/bridge/survives-late-reply", test_bridge_survives_late_reply);
        ADD("/interop/chain/export-upstream", test_chain_export_upstream);
        ADD("/interop/chain/lookup-upstream", test_chain_lookup_upstream);
        ADD("/interop/chain/lookup-each-upstream", test_chain_lookup_each_upstream);
#undef ADD
        return g_test_run();
}
