/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"

#define N_STREAMS 2

struct HarnessProc {
        Harness *harness;
        char *name;
        HarnessSpawnFlags flags;
        pid_t pid;
        int pidfd;
        int in_fd;             /* our end of its stdin, -1 when closed */
        int out_fd[N_STREAMS]; /* our ends of stdout and stderr, -1 after EOF */
        GString *partial[N_STREAMS];
        GPtrArray *lines[N_STREAMS]; /* HarnessLine* */
        guint cursor[N_STREAMS];     /* first line harness_expect_* has not passed */
        bool ready;
        bool exited;
        bool killed; /* the test sent a signal itself: no exit check */
        int status;
};

struct Harness {
        char *dir;
        char *notify_path;
        int notify_fd;
        GPtrArray *procs; /* HarnessProc*, spawn order */
        uint64_t seq;
        bool dumped;
        struct sigaction old_abort;
};

/* The harness of the running test, for the abort handler. */
static Harness *current_harness;

static const char *const stream_names[N_STREAMS] = {"stdout", "stderr"};

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
        int64_t left = deadline - now_ms();

        return left < 0 ? 0 : (int) MIN(left, INT32_MAX);
}

/* ---- failing with context ---- */

static void dump_proc(GString *out, HarnessProc *p)
{
        g_string_append_printf(out, "--- %s (pid %d, %s)\n", p->name, (int) p->pid,
                               p->exited ? "exited" : "running");
        if (p->exited) {
                if (WIFEXITED(p->status))
                        g_string_append_printf(out, "    exit status %d\n", WEXITSTATUS(p->status));
                else if (WIFSIGNALED(p->status))
                        g_string_append_printf(out, "    killed by signal %d\n",
                                               WTERMSIG(p->status));
        }
        for (int s = 0; s < N_STREAMS; s++) {
                g_string_append_printf(out, "  %s:\n", stream_names[s]);
                for (guint i = 0; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        g_string_append_printf(out, "    [%llu] %s\n", (unsigned long long) l->seq,
                                               l->text);
                }
                if (p->partial[s]->len > 0)
                        g_string_append_printf(out, "    (unterminated) %s\n", p->partial[s]->str);
        }
}

static void pump(Harness *h, int extra_fd, int timeout_ms, bool *extra_ready);

static void dump_all(Harness *h, const char *msg)
{
        g_autoptr(GString) out = g_string_new(NULL);

        if (h->dumped)
                return;
        h->dumped = true;
        /* Whatever the children still have to say helps. */
        pump(h, -1, 0, NULL);
        g_string_append_printf(out, "%s\n(test directory kept: %s)\n", msg, h->dir);
        for (guint i = 0; i < h->procs->len; i++)
                dump_proc(out, g_ptr_array_index(h->procs, i));
        g_auto(GStrv) lines = g_strsplit(out->str, "\n", -1);
        for (char **l = lines; *l; l++)
                if (**l)
                        g_test_message("%s", *l);
        g_printerr("%s", out->str);
}

void harness_fail(Harness *h, const char *fmt, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        dump_all(h, msg);
        g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        abort(); /* not reached unless assertions were made non-fatal */
}

/* A plain g_assert in a test aborts without passing here: dump the
 * children's output from the SIGABRT on the way out (the process is dying;
 * the heap is intact since abort() came from ordinary code). */
static void on_abort(int sig)
{
        if (current_harness)
                dump_all(current_harness, "test aborted");
}

/* ---- the temporary directory ---- */

static void remove_tree(int dirfd_parent, const char *name)
{
        int fd = openat(dirfd_parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;
        struct dirent *de;

        if (fd < 0) {
                unlinkat(dirfd_parent, name, 0);
                return;
        }
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type == DT_DIR)
                        remove_tree(dirfd(d), de->d_name);
                else
                        unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
        unlinkat(dirfd_parent, name, AT_REMOVEDIR);
}

Harness *harness_new(void)
{
        Harness *h = g_new0(Harness, 1);
        g_autoptr(GError) error = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int one = 1;

        /* Writing to a child that died must fail with EPIPE, not kill us. */
        signal(SIGPIPE, SIG_IGN);
        h->procs = g_ptr_array_new();
        h->notify_fd = -1;
        struct sigaction sa_abort = {.sa_handler = on_abort};
        sigaction(SIGABRT, &sa_abort, &h->old_abort);
        current_harness = h;
        h->dir = g_dir_make_tmp("vhost-share-test-XXXXXX", &error);
        if (!h->dir)
                g_error("cannot make the test directory: %s", error->message);

        /* One notification socket per test; SO_PASSCRED tells which child sent. */
        h->notify_path = g_build_filename(h->dir, "notify", NULL);
        g_assert_cmpuint(strlen(h->notify_path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, h->notify_path);
        h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        g_assert_cmpint(h->notify_fd, >=, 0);
        g_assert_cmpint(bind(h->notify_fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(setsockopt(h->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), ==,
                        0);
        return h;
}

const char *harness_dir(Harness *h)
{
        return h->dir;
}

char *harness_path(Harness *h, const char *name)
{
        return g_build_filename(h->dir, name, NULL);
}

char *harness_build_file(const char *rel)
{
        const char *root = g_getenv("VHOST_SHARE_BUILD_ROOT");

        if (!root || !*root)
                g_error("VHOST_SHARE_BUILD_ROOT is not set: run the tests with meson test");
        return g_build_filename(root, rel, NULL);
}

/* ---- reading the children ---- */

static void proc_add_line(HarnessProc *p, int s, const char *text, size_t len)
{
        HarnessLine *l = g_new0(HarnessLine, 1);

        l->text = g_strndup(text, len);
        l->seq = ++p->harness->seq;
        l->usec = g_get_monotonic_time();
        g_ptr_array_add(p->lines[s], l);
}

static void proc_read(HarnessProc *p, int s)
{
        char buf[16384];

        for (;;) {
                ssize_t n = read(p->out_fd[s], buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) { /* EOF, or an error we cannot do better with */
                        if (p->partial[s]->len > 0) {
                                proc_add_line(p, s, p->partial[s]->str, p->partial[s]->len);
                                g_string_truncate(p->partial[s], 0);
                        }
                        close(p->out_fd[s]);
                        p->out_fd[s] = -1;
                        return;
                }
                g_string_append_len(p->partial[s], buf, n);
                char *start = p->partial[s]->str, *nl;
                while (
                    (nl = memchr(start, '\n', p->partial[s]->len - (start - p->partial[s]->str)))) {
                        proc_add_line(p, s, start, nl - start);
                        start = nl + 1;
                }
                g_string_erase(p->partial[s], 0, start - p->partial[s]->str);
        }
}

static void proc_reap(HarnessProc *p)
{
        int status;
        pid_t r;

        if (p->exited)
                return;
        do
                r = waitpid(p->pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == p->pid) {
                p->exited = true;
                p->status = status;
        }
}

static HarnessProc *proc_by_pid(Harness *h, pid_t pid)
{
        for (guint i = 0; i < h->procs->len; i++) {
                HarnessProc *p = g_ptr_array_index(h->procs, i);
                if (p->pid == pid && !p->exited)
                        return p;
        }
        return NULL;
}

static void read_notifications(Harness *h)
{
        for (;;) {
                char buf[4096];
                union {
                        struct cmsghdr align;
                        char space[CMSG_SPACE(sizeof(struct ucred))];
                } control;
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = &control,
                                    .msg_controllen = sizeof(control)};
                struct ucred *cred = NULL;
                ssize_t n = recvmsg(h->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n < 0)
                        return;
                buf[n] = '\0';
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                                cred = (struct ucred *) CMSG_DATA(c);
                HarnessProc *p = cred ? proc_by_pid(h, cred->pid) : NULL;
                if (!p)
                        continue;
                g_auto(GStrv) vars = g_strsplit(buf, "\n", -1);
                for (char **v = vars; *v; v++)
                        if (strcmp(*v, "READY=1") == 0)
                                p->ready = true;
        }
}

/* Waits up to timeout_ms for anything from the children (output, exit,
 * notification) or for extra_fd to become readable, and takes it in. */
static void pump(Harness *h, int extra_fd, int timeout_ms, bool *extra_ready)
{
        g_autofree struct pollfd *pfd = g_new0(struct pollfd, 2 + h->procs->len * 3);
        g_autofree HarnessProc **owner = g_new0(HarnessProc *, 2 + h->procs->len * 3);
        g_autofree int *what = g_new0(int, 2 + h->procs->len * 3);
        nfds_t n = 0;
        int r;

        if (extra_ready)
                *extra_ready = false;
        pfd[n++] = (struct pollfd){.fd = h->notify_fd, .events = POLLIN};
        if (extra_fd >= 0)
                pfd[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
        for (guint i = 0; i < h->procs->len; i++) {
                HarnessProc *p = g_ptr_array_index(h->procs, i);
                for (int s = 0; s < N_STREAMS; s++)
                        if (p->out_fd[s] >= 0) {
                                owner[n] = p;
                                what[n] = s;
                                pfd[n++] = (struct pollfd){.fd = p->out_fd[s], .events = POLLIN};
                        }
                if (!p->exited && p->pidfd >= 0) {
                        owner[n] = p;
                        what[n] = -1;
                        pfd[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
                }
        }
        do
                r = poll(pfd, n, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r <= 0)
                return;
        for (nfds_t i = 0; i < n; i++) {
                if (!pfd[i].revents)
                        continue;
                if (pfd[i].fd == h->notify_fd && !owner[i])
                        read_notifications(h);
                else if (pfd[i].fd == extra_fd && !owner[i] && extra_ready)
                        *extra_ready = true;
                else if (owner[i] && what[i] >= 0)
                        proc_read(owner[i], what[i]);
                else if (owner[i])
                        proc_reap(owner[i]);
        }
}

void harness_pump(Harness *h, int timeout_ms)
{
        pump(h, -1, timeout_ms, NULL);
}

/* ---- spawning ---- */

static int pidfd_open_compat(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static void set_nonblock(int fd)
{
        int fl = fcntl(fd, F_GETFL);

        g_assert_cmpint(fl, >=, 0);
        g_assert_cmpint(fcntl(fd, F_SETFL, fl | O_NONBLOCK), ==, 0);
}

HarnessProc *harness_spawn(Harness *h, const char *name, const char *const *argv,
                           const char *const *env_extra, HarnessSpawnFlags flags)
{
        HarnessProc *p = g_new0(HarnessProc, 1);
        int in[2], out[N_STREAMS][2];
        pid_t parent = getpid();
        g_auto(GStrv) env = g_get_environ();

        if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
                harness_fail(h, "%s: %s is not an executable", name, argv[0]);
        env = g_environ_unsetenv(env, "NOTIFY_SOCKET");
        if (flags & HARNESS_SPAWN_WAIT_READY)
                env = g_environ_setenv(env, "NOTIFY_SOCKET", h->notify_path, TRUE);
        for (const char *const *e = env_extra; e && *e; e++) {
                g_auto(GStrv) kv = g_strsplit(*e, "=", 2);
                env = g_environ_setenv(env, kv[0], kv[1] ? kv[1] : "", TRUE);
        }

        p->harness = h;
        p->name = g_strdup(name);
        p->flags = flags;
        for (int s = 0; s < N_STREAMS; s++) {
                p->partial[s] = g_string_new(NULL);
                p->lines[s] = g_ptr_array_new();
        }
        g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
        for (int s = 0; s < N_STREAMS; s++)
                g_assert_cmpint(pipe2(out[s], O_CLOEXEC), ==, 0);

        p->pid = fork();
        g_assert_cmpint(p->pid, >=, 0);
        if (p->pid == 0) {
                /* Only async-signal-safe calls from here on. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                if (dup2(in[0], 0) < 0 || dup2(out[0][1], 1) < 0 || dup2(out[1][1], 2) < 0)
                        _exit(127);
                syscall(SYS_close_range, 3, ~0u, 0);
                signal(SIGPIPE, SIG_DFL);
                execve(argv[0], (char *const *) argv, env);
                _exit(127);
        }
        close(in[0]);
        p->in_fd = in[1];
        for (int s = 0; s < N_STREAMS; s++) {
                close(out[s][1]);
                p->out_fd[s] = out[s][0];
                set_nonblock(p->out_fd[s]);
                /* Room for a chatty child while the test looks elsewhere. */
                (void) fcntl(p->out_fd[s], F_SETPIPE_SZ, 1 << 20);
        }
        p->pidfd = pidfd_open_compat(p->pid);
        if (p->pidfd < 0)
                harness_fail(h, "pidfd_open: %s", g_strerror(errno));
        g_ptr_array_add(h->procs, p);

        if (flags & HARNESS_SPAWN_WAIT_READY) {
                int64_t deadline = now_ms() + HARNESS_TIMEOUT_MS;

                while (!p->ready) {
                        if (p->exited)
                                harness_fail(h, "%s exited before READY=1", name);
                        if (now_ms() >= deadline)
                                harness_fail(h, "%s sent no READY=1 within %d ms", name,
                                             HARNESS_TIMEOUT_MS);
                        pump(h, -1, remaining_ms(deadline), NULL);
                }
        }
        return p;
}

static HarnessProc *spawn_built(Harness *h, const char *name, const char *binary,
                                const char *first_fixed, HarnessSpawnFlags flags, GPtrArray *args)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

        /* VHOST_SHARE_DAEMON_WRAPPER (meson test --setup valgrinddaemon) runs
         * the daemon under a tool such as valgrind; the tests stay unwrapped. */
        const char *wrapper = g_getenv("VHOST_SHARE_DAEMON_WRAPPER");
        if (wrapper && *wrapper && g_str_has_suffix(binary, "/vhost-shared")) {
                g_auto(GStrv) w = NULL;
                if (!g_shell_parse_argv(wrapper, NULL, &w, NULL))
                        harness_fail(h, "VHOST_SHARE_DAEMON_WRAPPER is not a command: %s", wrapper);
                g_autofree char *tool = g_find_program_in_path(w[0]);
                if (!tool)
                        harness_fail(h, "VHOST_SHARE_DAEMON_WRAPPER: %s not found", w[0]);
                g_ptr_array_add(argv, g_steal_pointer(&tool));
                for (char **a = w + 1; *a; a++)
                        g_ptr_array_add(argv, g_strdup(*a));
        }
        g_ptr_array_add(argv, harness_build_file(binary));
        if (first_fixed)
                g_ptr_array_add(argv, g_strdup(first_fixed));
        for (guint i = 0; i < args->len; i++)
                g_ptr_array_add(argv, g_strdup(g_ptr_array_index(args, i)));
        g_ptr_array_add(argv, NULL);
        return harness_spawn(h, name, (const char *const *) argv->pdata, NULL, flags);
}

static GPtrArray *args_from_va(const char *arg, va_list ap)
{
        GPtrArray *args = g_ptr_array_new();

        for (const char *a = arg; a; a = va_arg(ap, const char *))
                g_ptr_array_add(args, (char *) a);
        return args;
}

static GPtrArray *args_from_array(const char *const *v)
{
        GPtrArray *args = g_ptr_array_new();

        for (; v && *v; v++)
                g_ptr_array_add(args, (char *) *v);
        return args;
}

#define HUB_FLAGS (HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT)

HarnessProc *harness_spawn_hub(Harness *h, const char *arg, ...)
{
        g_autoptr(GPtrArray) args = NULL;
        va_list ap;

        va_start(ap, arg);
        args = args_from_va(arg, ap);
        va_end(ap);
        return spawn_built(h, "vhost-shared", "service/vhost-shared", "--no-bus", HUB_FLAGS, args);
}

HarnessProc *harness_spawn_hubv(Harness *h, const char *const *v)
{
        g_autoptr(GPtrArray) args = args_from_array(v);

        return spawn_built(h, "vhost-shared", "service/vhost-shared", "--no-bus", HUB_FLAGS, args);
}

HarnessProc *harness_spawn_device(Harness *h, const char *name, const char *arg, ...)
{
        g_autoptr(GPtrArray) args = NULL;
        va_list ap;

        va_start(ap, arg);
        args = args_from_va(arg, ap);
        va_end(ap);
        return spawn_built(h, name, "service/vhost-share-device", NULL, HARNESS_SPAWN_DEFAULT,
                           args);
}

HarnessProc *harness_spawn_devicev(Harness *h, const char *name, const char *const *v)
{
        g_autoptr(GPtrArray) args = args_from_array(v);

        return spawn_built(h, name, "service/vhost-share-device", NULL, HARNESS_SPAWN_DEFAULT,
                           args);
}

pid_t harness_proc_pid(const HarnessProc *p)
{
        return p->pid;
}

const char *harness_proc_name(const HarnessProc *p)
{
        return p->name;
}

bool harness_proc_exited(const HarnessProc *p)
{
        return p->exited;
}

/* ---- waiting for lines ---- */

static const HarnessLine *expect(HarnessProc *p, HarnessStream s, const char *text, bool prefix,
                                 bool anywhere, int timeout_ms)
{
        Harness *h = p->harness;
        int64_t deadline = now_ms() + timeout_ms;

        for (;;) {
                for (guint i = anywhere ? 0 : p->cursor[s]; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        if (prefix ? g_str_has_prefix(l->text, text) : !!strstr(l->text, text)) {
                                if (!anywhere)
                                        p->cursor[s] = i + 1;
                                return l;
                        }
                }
                if (p->out_fd[s] < 0)
                        harness_fail(h, "%s: %s ended without a line %s \"%s\"", p->name,
                                     stream_names[s], prefix ? "starting with" : "containing",
                                     text);
                if (now_ms() >= deadline)
                        harness_fail(h, "%s: no line %s \"%s\" on %s within %d ms", p->name,
                                     prefix ? "starting with" : "containing", text, stream_names[s],
                                     timeout_ms);
                pump(h, -1, remaining_ms(deadline), NULL);
        }
}

const HarnessLine *harness_expect_line(HarnessProc *p, const char *prefix, int timeout_ms)
{
        return expect(p, HARNESS_STDOUT, prefix, true, false, timeout_ms);
}

const HarnessLine *harness_expect_output(HarnessProc *p, HarnessStream stream,
                                         const char *substring, int timeout_ms)
{
        return expect(p, stream, substring, false, false, timeout_ms);
}

const HarnessLine *harness_wait_output(HarnessProc *p, HarnessStream stream, const char *substring,
                                       int timeout_ms)
{
        return expect(p, stream, substring, false, true, timeout_ms);
}

const HarnessLine *harness_find_line(HarnessProc *p, HarnessStream stream, const char *substring)
{
        pump(p->harness, -1, 0, NULL);
        for (guint i = p->lines[stream]->len; i > 0; i--) {
                HarnessLine *l = g_ptr_array_index(p->lines[stream], i - 1);
                if (strstr(l->text, substring))
                        return l;
        }
        return NULL;
}

const GPtrArray *harness_lines(HarnessProc *p, HarnessStream stream)
{
        pump(p->harness, -1, 0, NULL);
        return p->lines[stream];
}

unsigned harness_count_lines(HarnessProc *p, HarnessStream stream, const char *substring)
{
        unsigned n = 0;

        pump(p->harness, -1, 0, NULL);
        for (guint i = 0; i < p->lines[stream]->len; i++)
                if (strstr(((HarnessLine *) g_ptr_array_index(p->lines[stream], i))->text,
                           substring))
                        n++;
        return n;
}

void harness_send_line(HarnessProc *p, const char *fmt, ...)
{
        g_autofree char *line = NULL;
        va_list ap;
        size_t off = 0, len;

        va_start(ap, fmt);
        line = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        len = strlen(line);
        line = g_realloc(line, len + 2);
        line[len++] = '\n';
        line[len] = '\0';
        while (off < len) {
                ssize_t n = p->in_fd >= 0 ? write(p->in_fd, line + off, len - off) : -1;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        harness_fail(p->harness, "%s: cannot write \"%s\" to its stdin: %s",
                                     p->name, g_strstrip(line), g_strerror(errno));
                off += (size_t) n;
        }
}

/* ---- process lifetime ---- */

void harness_kill(HarnessProc *p, int sig)
{
        if (p->exited)
                return;
        p->killed = true;
        kill(p->pid, sig);
}

int harness_wait_exit(HarnessProc *p, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;

        while (!p->exited) {
                if (now_ms() >= deadline)
                        harness_fail(p->harness, "%s did not exit within %d ms", p->name,
                                     timeout_ms);
                pump(p->harness, -1, remaining_ms(deadline), NULL);
        }
        return p->status;
}

int harness_stop(HarnessProc *p, int timeout_ms)
{
        if (!p->exited)
                kill(p->pid, SIGTERM);
        return harness_wait_exit(p, timeout_ms);
}

/* Drains what is left in the pipes, for the record. */
static void proc_drain(HarnessProc *p, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;

        while ((p->out_fd[0] >= 0 || p->out_fd[1] >= 0) && now_ms() < deadline)
                pump(p->harness, -1, remaining_ms(deadline), NULL);
}

static void proc_stop(HarnessProc *p, bool *failed)
{
        Harness *h = p->harness;
        bool check = (p->flags & HARNESS_SPAWN_CHECK_EXIT) && !p->killed;
        int64_t deadline;

        if (p->in_fd >= 0) {
                close(p->in_fd);
                p->in_fd = -1;
        }
        if (!p->exited) {
                kill(p->pid, SIGTERM);
                deadline = now_ms() + HARNESS_TIMEOUT_MS;
                while (!p->exited && now_ms() < deadline)
                        pump(h, -1, remaining_ms(deadline), NULL);
        }
        if (!p->exited) {
                int status;

                kill(p->pid, SIGKILL);
                while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
                        ;
                p->exited = true;
                p->status = status;
                if (check) {
                        g_test_message("%s did not stop on SIGTERM", p->name);
                        *failed = true;
                }
        } else if (check && !(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)) {
                /* Sanitizer reports and leaks end up here too. */
                g_test_message("%s did not exit cleanly", p->name);
                *failed = true;
        }
        proc_drain(p, 1000);
}

static void proc_free(HarnessProc *p)
{
        for (int s = 0; s < N_STREAMS; s++) {
                if (p->out_fd[s] >= 0)
                        close(p->out_fd[s]);
                for (guint i = 0; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        g_free(l->text);
                        g_free(l);
                }
                g_ptr_array_free(p->lines[s], true);
                g_string_free(p->partial[s], true);
        }
        if (p->pidfd >= 0)
                close(p->pidfd);
        if (p->in_fd >= 0)
                close(p->in_fd);
        g_free(p->name);
        g_free(p);
}

void harness_free(Harness *h)
{
        bool failed = false;

        if (!h)
                return;
        /* Newest first: a hub goes before the back-ends it was started against. */
        for (guint i = h->procs->len; i > 0; i--)
                proc_stop(g_ptr_array_index(h->procs, i - 1), &failed);
        if (failed)
                harness_fail(h, "a process did not stop cleanly");
        for (guint i = 0; i < h->procs->len; i++)
                proc_free(g_ptr_array_index(h->procs, i));
        g_ptr_array_free(h->procs, true);
        close(h->notify_fd);
        remove_tree(AT_FDCWD, h->dir);
        current_harness = NULL;
        sigaction(SIGABRT, &h->old_abort, NULL);
        g_free(h->notify_path);
        g_free(h->dir);
        g_free(h);
}

/* ---- fds of a process ---- */

int harness_count_fds(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        /* Files under /proc are read and closed at once (the service's
         * fdinfo reads, the sanitizer runtime's maps reads): a count taken
         * while one is open is no baseline, so they are not counted. */
        while ((de = readdir(d))) {
                char link[300], target[16];
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int) pid, de->d_name);
                len = readlink(link, target, sizeof(target));
                if (len >= 6 && memcmp(target, "/proc/", 6) == 0)
                        continue;
                n++;
        }
        closedir(d);
        return n;
}

/* "fd -> target" lines, for a failure message. */
static char *describe_fds(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        GString *s = g_string_new(NULL);
        DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char link[300], target[256];
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int) pid, de->d_name);
                len = readlink(link, target, sizeof(target) - 1);
                target[len < 0 ? 0 : len] = '\0';
                g_string_append_printf(s, "  %s -> %s\n", de->d_name, target);
        }
        if (d)
                closedir(d);
        return g_string_free(s, false);
}

void harness_wait_fd_count(HarnessProc *p, int n, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;
        int count;

        /* Nothing announces a closed fd: check after every event from the
         * children, and at least every 20 ms. */
        /* Under a wrapper such as valgrind the tool's own fds come and go:
         * there, fewer than expected is no leak either. */
        bool wrapped = g_getenv("VHOST_SHARE_DAEMON_WRAPPER") != NULL;

        while ((count = harness_count_fds(p->pid)) != n && !(wrapped && count >= 0 && count < n)) {
                if (now_ms() >= deadline) {
                        g_autofree char *list = describe_fds(p->pid);
                        harness_fail(p->harness, "%s has %d fds open, expected %d after %d ms:\n%s",
                                     p->name, count, n, timeout_ms, list);
                }
                pump(p->harness, -1, MIN(20, remaining_ms(deadline)), NULL);
        }
}

/* ---- raw vhost-user ---- */

int harness_unix_connect(Harness *h, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                harness_fail(h, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                harness_fail(h, "cannot connect to %s: %s", path, g_strerror(errno));
        return fd;
}

void harness_send_bytes(Harness *h, int sock, const void *buf, size_t len, const int *fds,
                        unsigned n_fds)
{
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        } control;
        size_t off = 0;

        g_assert_cmpuint(n_fds, <=, VU_MAX_FDS);
        while (off < len) {
                struct iovec iov = {.iov_base = (char *) buf + off, .iov_len = len - off};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
                ssize_t n;

                if (off == 0 && n_fds > 0) {
                        memset(&control, 0, sizeof(control));
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        harness_fail(h, "sendmsg on fd %d: %s", sock, g_strerror(errno));
                off += (size_t) n;
        }
}

void harness_vu_send(Harness *h, int sock, const VuMessage *m)
{
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];
        size_t len = vu_message_serialize(m, buf, sizeof(buf));

        g_assert_cmpuint(len, >=, VU_HEADER_SIZE);
        harness_send_bytes(h, sock, buf, len, m->fds, m->n_fds);
}

/* Waits until sock is readable, pumping the children meanwhile. */
static void wait_readable(Harness *h, int sock, int64_t deadline, const char *what)
{
        bool ready = false;

        while (!ready) {
                if (now_ms() >= deadline)
                        harness_fail(h, "nothing to read on fd %d (%s) in time", sock, what);
                pump(h, sock, remaining_ms(deadline), &ready);
        }
}

/* Reads exactly len bytes (fds only with the first read). Returns the bytes
 * read: less than len only at EOF. */
static size_t read_exact(Harness *h, int sock, void *buf, size_t len, VuMessage *m,
                         int64_t deadline)
{
        size_t off = 0;

        while (off < len) {
                union {
                        struct cmsghdr align;
                        char space[CMSG_SPACE(sizeof(int) * 32)];
                } control;
                struct iovec iov = {.iov_base = (char *) buf + off, .iov_len = len - off};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = &control,
                                    .msg_controllen = sizeof(control)};
                ssize_t n;

                wait_readable(h, sock, deadline, "vhost-user message");
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0 && errno == ECONNRESET)
                        return off;
                if (n < 0)
                        harness_fail(h, "recvmsg on fd %d: %s", sock, g_strerror(errno));
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *fds = (int *) CMSG_DATA(c);
                        for (unsigned i = 0; i < k; i++) {
                                if (m && m->n_fds < VU_MAX_FDS)
                                        m->fds[m->n_fds++] = fds[i];
                                else
                                        close(fds[i]);
                        }
                }
                if (n == 0)
                        return off;
                off += (size_t) n;
        }
        return off;
}

int harness_vu_recv(Harness *h, int sock, VuMessage *m, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;
        size_t n;

        memset(m, 0, sizeof(*m));
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                m->fds[i] = -1;
        n = read_exact(h, sock, &m->hdr, VU_HEADER_SIZE, m, deadline);
        if (n == 0 && m->n_fds == 0)
                return 0;
        if (n < VU_HEADER_SIZE)
                harness_fail(h, "fd %d: EOF inside a vhost-user header (%zu bytes)", sock, n);
        if (m->hdr.size > VU_PAYLOAD_MAX)
                harness_fail(h, "fd %d: vhost-user payload of %u bytes", sock, m->hdr.size);
        n = read_exact(h, sock, m->payload.bytes, m->hdr.size, m, deadline);
        if (n < m->hdr.size)
                harness_fail(h, "fd %d: EOF inside a payload (%zu of %u bytes)", sock, n,
                             m->hdr.size);
        return 1;
}

void harness_wait_eof(Harness *h, int sock, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;
        uint8_t buf[4096];

        for (;;) {
                VuMessage fds = {.n_fds = 0};
                size_t n;

                for (unsigned i = 0; i < VU_MAX_FDS; i++)
                        fds.fds[i] = -1;
                wait_readable(h, sock, deadline, "waiting for EOF");
                n = read_exact(h, sock, buf, 1, &fds, deadline);
                vu_message_close_fds(&fds);
                if (n == 0)
                        return;
        }
}
