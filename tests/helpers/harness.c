/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The harness's children: started, pumped (output, exits, notifications)
 * and stopped; the temporary directory; failing with context. */
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
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "harness-private.h"

/* Where pidfds are missing (valgrind), exits are polled this often. */
#define EXIT_POLL_MS 10

const char *const harness_stream_names[N_STREAMS] = {"stdout", "stderr"};

/* The harness of the running test, for the abort handler. */
static Harness *current_harness;

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
                g_string_append_printf(out, "  %s:\n", harness_stream_names[s]);
                for (guint i = 0; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        g_string_append_printf(out, "    [%llu] %s\n", (unsigned long long) l->seq,
                                               l->text);
                }
                if (p->partial[s]->len > 0)
                        g_string_append_printf(out, "    (unterminated) %s\n", p->partial[s]->str);
        }
}

static void dump_all(Harness *h, const char *msg)
{
        g_autoptr(GString) out = g_string_new(NULL);

        if (h->dumped)
                return;
        h->dumped = true;
        /* Whatever the children still have to say helps. */
        harness_pump(h, 0);
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
        struct sigaction sa_abort = {.sa_handler = on_abort};
        int one = 1;

        /* Writing to a child that died must fail with EPIPE, not kill us. */
        signal(SIGPIPE, SIG_IGN);
        h->procs = g_ptr_array_new();
        h->notify_fd = -1;
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

static char *tree_file(const char *variable, const char *rel)
{
        const char *root = g_getenv(variable);

        if (!root || !*root)
                g_error("%s is not set: run the tests with meson test", variable);
        return g_build_filename(root, rel, NULL);
}

char *harness_build_file(const char *rel)
{
        return tree_file("VHOST_SHARE_BUILD_ROOT", rel);
}

char *harness_source_file(const char *rel)
{
        return tree_file("VHOST_SHARE_SOURCE_ROOT", rel);
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

void harness_pump_full(Harness *h, int extra_fd, short extra_events, int timeout_ms,
                       bool *extra_ready)
{
        g_autofree struct pollfd *pfd = g_new0(struct pollfd, 2 + h->procs->len * 3);
        g_autofree HarnessProc **owner = g_new0(HarnessProc *, 2 + h->procs->len * 3);
        g_autofree int *what = g_new0(int, 2 + h->procs->len * 3);
        bool polled_exits = false;
        nfds_t n = 0;
        int r;

        if (extra_ready)
                *extra_ready = false;
        pfd[n++] = (struct pollfd){.fd = h->notify_fd, .events = POLLIN};
        if (extra_fd >= 0)
                pfd[n++] = (struct pollfd){.fd = extra_fd, .events = extra_events};
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
                polled_exits |= !p->exited && p->pidfd < 0;
        }
        if (polled_exits)
                timeout_ms = timeout_ms < 0 ? EXIT_POLL_MS : MIN(timeout_ms, EXIT_POLL_MS);
        do
                r = poll(pfd, n, timeout_ms);
        while (r < 0 && errno == EINTR);
        for (nfds_t i = 0; r > 0 && i < n; i++) {
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
        for (guint i = 0; polled_exits && i < h->procs->len; i++) {
                HarnessProc *p = g_ptr_array_index(h->procs, i);
                if (p->pidfd < 0)
                        proc_reap(p);
        }
}

void harness_pump(Harness *h, int timeout_ms)
{
        harness_pump_full(h, -1, 0, timeout_ms, NULL);
}

bool harness_wait_fd(Harness *h, int fd, short events, int timeout_ms)
{
        bool ready = false;

        harness_pump_full(h, fd, events, timeout_ms, &ready);
        return ready;
}

/* ---- starting children ---- */

static void set_nonblock(int fd)
{
        int fl = fcntl(fd, F_GETFL);

        g_assert_cmpint(fl, >=, 0);
        g_assert_cmpint(fcntl(fd, F_SETFL, fl | O_NONBLOCK), ==, 0);
}

/* Forks a child with stdin, stdout and stderr piped to the harness. Returns
 * the child's HarnessProc in the parent, NULL in the child (which dies
 * with the test and continues with only async-signal-safe calls until it
 * execs or leaves the harness alone). */
static HarnessProc *proc_fork(Harness *h, const char *name, HarnessSpawnFlags flags)
{
        int in[2], out[N_STREAMS][2];
        pid_t parent = getpid(), pid;
        HarnessProc *p;

        g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
        for (int s = 0; s < N_STREAMS; s++)
                g_assert_cmpint(pipe2(out[s], O_CLOEXEC), ==, 0);
        /* Nothing buffered may be written twice. */
        fflush(stdout);
        fflush(stderr);
        const int originals[] = {in[0], in[1], out[0][0], out[0][1], out[1][0], out[1][1]};
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                if (dup2(in[0], 0) < 0 || dup2(out[0][1], 1) < 0 || dup2(out[1][1], 2) < 0)
                        _exit(127);
                /* The originals, unless one of them is 0, 1 or 2 itself. */
                for (unsigned i = 0; i < G_N_ELEMENTS(originals); i++)
                        if (originals[i] > 2)
                                close(originals[i]);
                signal(SIGPIPE, SIG_DFL);
                return NULL;
        }

        p = g_new0(HarnessProc, 1);
        p->harness = h;
        p->name = g_strdup(name);
        p->flags = flags;
        p->pid = pid;
        close(in[0]);
        p->in_fd = in[1];
        for (int s = 0; s < N_STREAMS; s++) {
                p->partial[s] = g_string_new(NULL);
                p->lines[s] = g_ptr_array_new();
                close(out[s][1]);
                p->out_fd[s] = out[s][0];
                set_nonblock(p->out_fd[s]);
                /* Room for a chatty child while the test looks elsewhere. */
                (void) fcntl(p->out_fd[s], F_SETPIPE_SZ, 1 << 20);
        }
        /* -1 under valgrind, which does not know pidfd_open: then the pump
         * polls for the exit. */
        p->pidfd = (int) syscall(SYS_pidfd_open, p->pid, 0);
        g_ptr_array_add(h->procs, p);
        return p;
}

HarnessProc *harness_spawn(Harness *h, const char *name, const char *const *argv,
                           const char *const *env_extra, HarnessSpawnFlags flags)
{
        g_auto(GStrv) env = g_get_environ();
        HarnessProc *p;

        if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
                harness_fail(h, "%s: %s is not an executable", name, argv[0]);
        env = g_environ_unsetenv(env, "NOTIFY_SOCKET");
        if (flags & HARNESS_SPAWN_WAIT_READY)
                env = g_environ_setenv(env, "NOTIFY_SOCKET", h->notify_path, TRUE);
        for (const char *const *e = env_extra; e && *e; e++) {
                g_auto(GStrv) kv = g_strsplit(*e, "=", 2);
                env = g_environ_setenv(env, kv[0], kv[1] ? kv[1] : "", TRUE);
        }

        p = proc_fork(h, name, flags);
        if (!p) {
                syscall(SYS_close_range, 3, ~0u, 0);
                execve(argv[0], (char *const *) argv, env);
                _exit(127);
        }

        if (flags & HARNESS_SPAWN_WAIT_READY) {
                int64_t deadline = harness_now_ms() + TEST_TIMEOUT_MS;

                while (!p->ready) {
                        if (p->exited)
                                harness_fail(h, "%s exited before READY=1", name);
                        if (harness_now_ms() >= deadline)
                                harness_fail(h, "%s sent no READY=1 within %d ms", name,
                                             TEST_TIMEOUT_MS);
                        harness_pump(h, harness_remaining_ms(deadline));
                }
        }
        return p;
}

HarnessProc *harness_fork(Harness *h, const char *name, int (*fn)(void *userdata), void *userdata)
{
        HarnessProc *p = proc_fork(h, name, HARNESS_SPAWN_DEFAULT);
        int r;

        if (p)
                return p;
        /* The child: the harness and its fds are the parent's. */
        current_harness = NULL;
        sigaction(SIGABRT, &h->old_abort, NULL);
        close(h->notify_fd);
        for (guint i = 0; i < h->procs->len; i++) {
                HarnessProc *other = g_ptr_array_index(h->procs, i);
                fd_close_safe(&other->in_fd);
                fd_close_safe(&other->pidfd);
                for (int s = 0; s < N_STREAMS; s++)
                        fd_close_safe(&other->out_fd[s]);
        }
        r = fn(userdata);
        fflush(stdout);
        fflush(stderr);
        _exit(r);
}

pid_t harness_proc_pid(const HarnessProc *p)
{
        return p->pid;
}

const char *harness_proc_name(const HarnessProc *p)
{
        return p->name;
}

/* ---- stopping children ---- */

bool harness_proc_exited(const HarnessProc *p)
{
        return p->exited;
}

void harness_proc_skip_exit_check(HarnessProc *p)
{
        p->killed = true;
}

void harness_kill(HarnessProc *p, int sig)
{
        if (p->exited)
                return;
        p->killed = true;
        kill(p->pid, sig);
}

int harness_wait_exit(HarnessProc *p, int timeout_ms)
{
        int64_t deadline = harness_now_ms() + timeout_ms;

        while (!p->exited) {
                if (harness_now_ms() >= deadline)
                        harness_fail(p->harness, "%s did not exit within %d ms", p->name,
                                     timeout_ms);
                harness_pump(p->harness, harness_remaining_ms(deadline));
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
        int64_t deadline = harness_now_ms() + timeout_ms;

        while ((p->out_fd[0] >= 0 || p->out_fd[1] >= 0) && harness_now_ms() < deadline)
                harness_pump(p->harness, harness_remaining_ms(deadline));
}

static void proc_stop(HarnessProc *p, bool *failed)
{
        Harness *h = p->harness;
        bool check = (p->flags & HARNESS_SPAWN_CHECK_EXIT) && !p->killed;
        int64_t deadline;

        fd_close_safe(&p->in_fd);
        if (!p->exited) {
                kill(p->pid, SIGTERM);
                deadline = harness_now_ms() + TEST_TIMEOUT_MS;
                while (!p->exited && harness_now_ms() < deadline)
                        harness_pump(h, harness_remaining_ms(deadline));
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
                fd_close_safe(&p->out_fd[s]);
                for (guint i = 0; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        g_free(l->text);
                        g_free(l);
                }
                g_ptr_array_free(p->lines[s], true);
                g_string_free(p->partial[s], true);
        }
        fd_close_safe(&p->pidfd);
        fd_close_safe(&p->in_fd);
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

/* ---- sockets ---- */

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

static void raw_peer_wait(void *userdata, int fd, short events, int timeout_ms)
{
        harness_wait_fd(userdata, fd, events, timeout_ms);
}

static void raw_peer_fail(void *userdata, const char *msg)
{
        harness_fail(userdata, "%s", msg);
}

RawPeer *harness_raw_peer_connect(Harness *h, const char *path, RawPeerRole role)
{
        const RawPeerEnv env = {.wait = raw_peer_wait, .fail = raw_peer_fail, .userdata = h};

        return raw_peer_new(role, harness_unix_connect(h, path), &env);
}
