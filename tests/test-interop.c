/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge (vhost-shared --serve) against real QEMU 10, and two services
 * chained. Every process is spawned with its stdout and stderr on one pipe;
 * the test waits for lines with deadlines, never for fixed times. QEMU is
 * always stopped first (SIGTERM, then SIGKILL after a deadline): QEMU
 * 10.0.2 aborts when a back-end of a never-started device closes its
 * sockets under it (docs/interop.md).
 *
 * The QEMU defects are pinned: each test says what QEMU 10.0.2 does today,
 * so a fixed QEMU makes it fail with a message saying what changed. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000
#define MAX_PROCS 12

/* ---- processes ---- */

typedef struct {
        char *name;
        pid_t pid;
        int out_fd; /* read end: the child's stdout and stderr */
        int in_fd;  /* write end of its stdin, or -1 */
        bool is_qemu;
        bool check_exit; /* assert a clean exit (status 0) on SIGTERM */
        GString *partial;
        GPtrArray *lines; /* char* */
        GArray *times;    /* gint64, monotonic usec each line was read */
        guint cursor;     /* expect() searches from here */
        bool eof;
        int status;
        bool reaped;
} Proc;

typedef struct {
        char *dir;
        Proc *procs[MAX_PROCS];
        unsigned n_procs;
} Fixture;

static const char *build_root(void)
{
        const char *r = g_getenv("VHOST_SHARE_BUILD_ROOT");

        if (!r)
                g_error("VHOST_SHARE_BUILD_ROOT is not set: run the test through meson test");
        return r;
}

static char *tool_path(const char *name)
{
        return g_build_filename(build_root(), "service", name, NULL);
}

static char *fx_path(Fixture *fx, const char *name)
{
        return g_build_filename(fx->dir, name, NULL);
}

static Proc *proc_spawn(Fixture *fx, const char *name, bool want_stdin, char **argv)
{
        int out[2], in[2] = {-1, -1};
        Proc *p;
        pid_t pid;

        g_assert_cmpuint(fx->n_procs, <, MAX_PROCS);
        g_assert_no_errno(pipe2(out, O_CLOEXEC));
        if (want_stdin)
                g_assert_no_errno(pipe2(in, O_CLOEXEC));
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                /* A failed assertion aborts the test without its teardown:
                 * take every child along, QEMU included. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() == 1)
                        _exit(127);
                dup2(want_stdin ? in[0] : null, 0);
                dup2(out[1], 1);
                dup2(out[1], 2);
                execv(argv[0], argv);
                fprintf(stderr, "cannot execute %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(out[1]);
        if (want_stdin)
                close(in[0]);
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        p = g_new0(Proc, 1);
        p->name = g_strdup(name);
        p->pid = pid;
        p->out_fd = out[0];
        p->in_fd = in[1];
        p->partial = g_string_new(NULL);
        p->lines = g_ptr_array_new_with_free_func(g_free);
        p->times = g_array_new(false, false, sizeof(gint64));
        fx->procs[fx->n_procs++] = p;
        return p;
}

/* Reads what p has written so far, stamping each line with the time. */
static void proc_read(Proc *p)
{
        char buf[4096];
        ssize_t n;

        if (p->eof)
                return;
        while ((n = read(p->out_fd, buf, sizeof(buf))) > 0) {
                gint64 now = g_get_monotonic_time();
                char *nl;

                g_string_append_len(p->partial, buf, n);
                while ((nl = memchr(p->partial->str, '\n', p->partial->len))) {
                        g_ptr_array_add(p->lines,
                                        g_strndup(p->partial->str, (gsize) (nl - p->partial->str)));
                        g_array_append_val(p->times, now);
                        g_string_erase(p->partial, 0, nl - p->partial->str + 1);
                }
        }
        if (n == 0)
                p->eof = true;
}

/* Reads every process's output as it comes (waiting up to timeout_ms for
 * some), so line times are right for all of them, not only the one a test
 * waits on. */
static void fx_pump(Fixture *fx, int timeout_ms)
{
        struct pollfd pfd[MAX_PROCS];

        for (unsigned i = 0; i < fx->n_procs; i++)
                pfd[i] = (struct pollfd){.fd = fx->procs[i]->eof ? -1 : fx->procs[i]->out_fd,
                                         .events = POLLIN};
        if (poll(pfd, fx->n_procs, timeout_ms) <= 0)
                return;
        for (unsigned i = 0; i < fx->n_procs; i++)
                if (pfd[i].revents)
                        proc_read(fx->procs[i]);
}

static void proc_dump(Proc *p)
{
        proc_read(p);
        g_printerr("---- output of %s (pid %d) ----\n", p->name, (int) p->pid);
        for (guint i = 0; i < p->lines->len; i++)
                g_printerr("%s| %s\n", p->name, (char *) g_ptr_array_index(p->lines, i));
        if (p->partial->len)
                g_printerr("%s| %s\n", p->name, p->partial->str);
}

static void fx_dump(Fixture *fx)
{
        for (unsigned i = 0; i < fx->n_procs; i++)
                proc_dump(fx->procs[i]);
}

static int proc_find_from(Proc *p, guint from, const char *a, const char *b)
{
        for (guint i = from; i < p->lines->len; i++) {
                const char *l = g_ptr_array_index(p->lines, i);
                if (strstr(l, a) && (!b || strstr(l, b)))
                        return (int) i;
        }
        return -1;
}

/* Index of the first line from the cursor containing a (and b), waiting
 * up to WAIT_MS; the cursor moves past it. Fails the test with everything
 * every process said when it does not come. */
static guint proc_expect2(Fixture *fx, Proc *p, const char *a, const char *b, const char *why)
{
        gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
        int i;

        for (;;) {
                i = proc_find_from(p, p->cursor, a, b);
                if (i >= 0)
                        break;
                gint64 left = deadline - g_get_monotonic_time();
                if (left <= 0 || p->eof) {
                        fx_dump(fx);
                        g_error("%s: no line with '%s'%s%s from %s within %d ms%s: %s",
                                g_test_get_path(), a, b ? " and " : "", b ? b : "", p->name,
                                WAIT_MS, p->eof ? " (it exited)" : "", why);
                }
                fx_pump(fx, (int) MIN(left / 1000 + 1, 100));
        }
        p->cursor = (guint) i + 1;
        return (guint) i;
}

static const char *proc_expect(Fixture *fx, Proc *p, const char *a, const char *why)
{
        guint i = proc_expect2(fx, p, a, NULL, why); /* before reading pdata: it moves */

        return g_ptr_array_index(p->lines, i);
}

static gint64 proc_line_time(Proc *p, guint i)
{
        return g_array_index(p->times, gint64, i);
}

/* Whether any line so far (cursor or not) contains a (and b). */
static bool proc_said(Fixture *fx, Proc *p, const char *a, const char *b)
{
        fx_pump(fx, 0);
        return proc_find_from(p, 0, a, b) >= 0;
}

static void proc_send(Proc *p, const char *line)
{
        g_autofree char *l = g_strconcat(line, "\n", NULL);

        g_assert_cmpint(p->in_fd, >=, 0);
        g_assert_cmpint(write(p->in_fd, l, strlen(l)), ==, (ssize_t) strlen(l));
}

/* Waits for the process to exit, up to timeout_ms; true when it did. */
static bool proc_wait_exit(Proc *p, int timeout_ms)
{
        gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        int pidfd = (int) syscall(SYS_pidfd_open, p->pid, 0);

        while (!p->reaped) {
                pid_t r = waitpid(p->pid, &p->status, WNOHANG);
                if (r == p->pid) {
                        p->reaped = true;
                        break;
                }
                gint64 left = deadline - g_get_monotonic_time();
                if (left <= 0)
                        break;
                /* Keep draining its output so it never blocks on a full pipe. */
                struct pollfd pfd[2] = {{.fd = pidfd, .events = POLLIN},
                                        {.fd = p->eof ? -1 : p->out_fd, .events = POLLIN}};
                if (pidfd < 0)
                        pfd[0].fd = -1;
                poll(pfd, 2, (int) MIN(left / 1000 + 1, pidfd < 0 ? 10 : 1000));
                proc_read(p);
        }
        if (pidfd >= 0)
                close(pidfd);
        return p->reaped;
}

/* SIGTERM, wait, SIGKILL after the deadline. */
static void proc_stop(Proc *p)
{
        if (p->reaped)
                return;
        kill(p->pid, SIGTERM);
        if (!proc_wait_exit(p, WAIT_MS)) {
                g_printerr("%s did not stop within %d ms; killing it\n", p->name, WAIT_MS);
                kill(p->pid, SIGKILL);
                proc_wait_exit(p, WAIT_MS);
        }
        proc_read(p);
}

static void proc_free(Proc *p)
{
        if (p->out_fd >= 0)
                close(p->out_fd);
        if (p->in_fd >= 0)
                close(p->in_fd);
        g_string_free(p->partial, true);
        g_ptr_array_free(p->lines, true);
        g_array_free(p->times, true);
        g_free(p->name);
        g_free(p);
}

/* ---- the fixture: a directory, processes, an orderly end ---- */

static void fx_setup(Fixture *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;

        fx->dir = g_dir_make_tmp("vhost-share-interop-XXXXXX", &error);
        g_assert_no_error(error);
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
        bool unclean = false;

        /* QEMU first: it aborts when its back-ends go away under it. */
        for (unsigned i = 0; i < fx->n_procs; i++)
                if (fx->procs[i]->is_qemu)
                        proc_stop(fx->procs[i]);
        for (unsigned i = fx->n_procs; i-- > 0;)
                proc_stop(fx->procs[i]);
        for (unsigned i = 0; i < fx->n_procs; i++) {
                Proc *p = fx->procs[i];
                if (p->check_exit && (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)) {
                        g_printerr("%s ended uncleanly (status 0x%x)\n", p->name, p->status);
                        unclean = true;
                }
        }
        if (unclean)
                fx_dump(fx);
        for (unsigned i = 0; i < fx->n_procs; i++)
                proc_free(fx->procs[i]);
        g_autoptr(GDir) d = g_dir_open(fx->dir, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *f = fx_path(fx, name);
                g_unlink(f);
        }
        g_rmdir(fx->dir);
        g_free(fx->dir);
        g_assert_false(unclean);
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

/* vhost-shared --no-bus -v ARGS...; returns once it is running. */
static Proc *start_service(Fixture *fx, const char *name, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        va_list ap;
        const char *a;
        Proc *p;

        g_ptr_array_add(argv, tool_path("vhost-shared"));
        g_ptr_array_add(argv, g_strdup("--no-bus"));
        g_ptr_array_add(argv, g_strdup("-v"));
        va_start(ap, name);
        while ((a = va_arg(ap, const char *)))
                g_ptr_array_add(argv, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        p = proc_spawn(fx, name, false, (char **) argv->pdata);
        p->check_exit = true;
        proc_expect(fx, p, " running", "the service should start");
        return p;
}

/* vhost-share-device ARGS... (with --commands on stdin). */
static Proc *start_device(Fixture *fx, const char *name, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        bool commands = false;
        va_list ap;
        const char *a;

        g_ptr_array_add(argv, tool_path("vhost-share-device"));
        va_start(ap, name);
        while ((a = va_arg(ap, const char *))) {
                commands |= g_str_equal(a, "--commands");
                g_ptr_array_add(argv, g_strdup(a));
        }
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        return proc_spawn(fx, name, commands, (char **) argv->pdata);
}

/* QEMU with one vhost-user-rng-pci per socket (each already listening). */
static Proc *start_qemu(Fixture *fx, const char *const *sockets)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *qmp = fx_path(fx, "qmp.sock");
        g_autofree char *exe = g_find_program_in_path("qemu-system-x86_64");
        Proc *p;

        require_qemu();
        g_ptr_array_add(argv, g_strdup(exe));
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
        p = proc_spawn(fx, "qemu", false, (char **) argv->pdata);
        p->is_qemu = true;
        return p;
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
 * ready with shared objects; returns the line index. */
static guint expect_bridge_ready(Fixture *fx, Proc *svc, const char *sock)
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
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        int n = 0;

        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
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
        gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
        int c;

        while ((c = count_fds(p->pid)) > n) {
                if (g_get_monotonic_time() > deadline) {
                        fx_dump(fx);
                        g_error("%s still has %d fds open, expected at most %d", p->name, c, n);
                }
                fx_pump(fx, 10);
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
        int baseline = count_fds(svc->pid);
        gint64 t0 = g_get_monotonic_time();
        guint ready;

        Proc *qemu = start_qemu(fx, (const char *[]){sock, NULL});
        ready = expect_bridge_ready(fx, svc, "bridge.sock");
        g_test_message("handshake with QEMU: %" G_GINT64_FORMAT " ms from its start",
                       (proc_line_time(svc, ready) - t0) / 1000);

        /* What QEMU 10.0.2 sends at realize: exactly these, in this order
         * (the bridge logs each request with -v). */
        proc_expect(fx, svc, "SET_VRING_ERR", "QEMU's last message at realize");
        g_autoptr(GString) seen = g_string_new(NULL);
        g_autoptr(GString) want = g_string_new(NULL);
        for (unsigned i = 0; i < G_N_ELEMENTS(sequence); i++)
                g_string_append(want, sequence[i]);
        for (guint i = 0; i < svc->lines->len; i++) {
                const char *l = g_ptr_array_index(svc->lines, i);
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
        int held = count_fds(svc->pid);
        proc_stop(qemu);
        int after = wait_fds_at_most(fx, svc, held - 4);
        qemu = start_qemu(fx, (const char *[]){sock, NULL});
        proc_expect(fx, svc, "SET_VRING_ERR", "the second QEMU's realize");
        g_assert_cmpint(count_fds(svc->pid), ==, after + 4);
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
        guint r1, r2;

        svc->cursor = 0;
        proc_expect2(fx, svc, s1, "virtio device 4, 1 queue(s)", "defaults on the first socket");
        proc_expect2(fx, svc, s2, "virtio device 4, 2 queue(s)", "options on the second");
        start_qemu(fx, (const char *[]){s1, s2, NULL});
        r1 = expect_bridge_ready(fx, svc, "b1.sock");
        svc->cursor = 0;
        r2 = expect_bridge_ready(fx, svc, "b2.sock");
        g_test_message(
            "two devices ready %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " ms after QEMU started",
            (proc_line_time(svc, r1) - t0) / 1000, (proc_line_time(svc, r2) - t0) / 1000);
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
        g_autofree char *exe = tool_path("vhost-shared");

        start_service(fx, "bridges", serve1, serve2, NULL);
        Proc *hub = start_service(fx, "hub", c1, c2, NULL);

        proc_expect2(fx, hub, s1, "3 queue(s), protocol features MQ|REPLY_ACK|",
                     "the first socket answers GET_QUEUE_NUM with 3 and offers REPLY_ACK");
        hub->cursor = 0;
        guint i = proc_expect2(fx, hub, s2, "1 queue(s), protocol features",
                               "the second socket has the default queue count");
        g_assert_null(strstr(g_ptr_array_index(hub->lines, i), "REPLY_ACK"));

        /* A bad option is refused with a message naming it. */
        Proc *p = proc_spawn(fx, "bad", false, (char *[]){exe, "--no-bus", bad, NULL});
        g_assert_true(proc_wait_exit(p, WAIT_MS));
        g_assert_true(WIFEXITED(p->status));
        g_assert_cmpint(WEXITSTATUS(p->status), ==, 1);
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
        g_assert_null(fd_target_matching(qemu->pid, "memfd:" UUID_A));
        proc_expect(fx, svc_b, "SET_VRING_ERR", "the eventfds come after 'ready'");
        int svc_fds = count_fds(svc_b->pid);

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
        g_autofree char *held = fd_target_matching(qemu->pid, "memfd:" UUID_A);
        if (!held) {
                fx_dump(fx);
                g_error("QEMU no longer holds the exporter's buffer after acking the LOOKUP "
                        "without it: update docs/interop.md and this test");
        }
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
        guint g = proc_expect2(fx, d0, "arrived without a UUID", NULL,
                               "QEMU asks the exporter (GET_SHARED_OBJECT)");
        gint64 t_get = proc_line_time(d0, g);
        gint64 t_add = g_get_monotonic_time();
        proc_send(dev_c, "export " UUID_C);
        guint i = proc_expect2(fx, svc_c, "front-end acked ADD " UUID_C, NULL,
                               "the ADD is answered once QEMU is free again");
        gint64 t_ack = proc_line_time(svc_c, i);
        gint64 waited_ms = (t_ack - t_add) / 1000;
        gint64 left_ms = delay_ms - (t_add - t_get) / 1000; /* of the exporter's delay */
        if (waited_ms < left_ms * 8 / 10) {
                fx_dump(fx);
                g_error("the ADD was answered after %" G_GINT64_FORMAT " ms, less than most of "
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
        i = proc_expect2(fx, svc_c, "front-end acked ADD " UUID_B, NULL, "a plain ADD");
        gint64 baseline_ms = (proc_line_time(svc_c, i) - t) / 1000;
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
