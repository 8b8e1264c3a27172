/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "async-close.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#else
#define HAVE_VALGRIND_H 0
#endif

#include "fd-util.h"
#include "log.h"

#define MAX_CLOSERS 4
#define CLOSER_STACK (64 * 1024)
/* Room in the request pipe for the fds of a LimitNOFILE=65536 service. */
#define PIPE_BYTES (1024 * 1024)

typedef enum {
        REQUEST_CLOSE,
        REQUEST_REPLACE,
} RequestKind;

/* One request, written whole (it is far below PIPE_BUF). */
typedef struct {
        int32_t fd;
        uint32_t kind;
        uint64_t token; /* echoed back: 0, or a Replace* of this process */
} Request;

typedef struct {
        AsyncCloseDone done;
        void *userdata;
} Replace;

static struct {
        bool started;
        bool failed;
        int request[2];  /* [1] written here (non-blocking), [0] read by the closers */
        int finished[2]; /* [1] written by the closers, [0] read here (non-blocking) */
        int devnull;
        pid_t parent;
        unsigned closers;
        uint64_t sent, done;
        GQueue overflow; /* of Request*, while the request pipe is full */
} ac = {.request = {-1, -1}, .finished = {-1, -1}, .devnull = -1};

static char closer_stacks[MAX_CLOSERS][CLOSER_STACK] __attribute__((aligned(16)));

/* The closer's loop: only plain system calls, so that it runs the same in a
 * thread and in a clone that shares nothing but the fd table. */
static void closer_loop(void)
{
        for (;;) {
                Request rq;
                ssize_t n = read(ac.request[0], &rq, sizeof(rq));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n != sizeof(rq))
                        return;
                if (rq.kind == REQUEST_REPLACE)
                        (void) dup2(ac.devnull, rq.fd);
                else
                        (void) close(rq.fd);
                while (write(ac.finished[1], &rq.token, sizeof(rq.token)) < 0 && errno == EINTR)
                        ;
        }
}

__attribute__((no_sanitize_address)) static int closer_process(void *userdata)
{
        /* Stuck in a FLUSH it still dies once the server lets go. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != ac.parent)
                _exit(0);
        closer_loop();
        _exit(0);
}

static void *closer_thread(void *userdata)
{
        closer_loop();
        return NULL;
}

static bool running_on_valgrind(void)
{
#if HAVE_VALGRIND_H
        return RUNNING_ON_VALGRIND;
#else
        return false;
#endif
}

static int start_closer(void)
{
        pthread_t thread;
        pthread_attr_t attr;
        int r;

        if (ac.closers >= MAX_CLOSERS)
                return 0;
        /* Exit signal 0: nobody is told when it ends, and it ends only after
         * this process (PR_SET_PDEATHSIG). valgrind does not refuse such a
         * clone(), it ends the whole program: threads there. */
        if (!running_on_valgrind() &&
            clone(closer_process, closer_stacks[ac.closers] + CLOSER_STACK, CLONE_FILES, NULL) >=
                0) {
                ac.closers++;
                return 0;
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&thread, &attr, closer_thread, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        ac.closers++;
        return 0;
}

static void close_plumbing(void)
{
        for (unsigned i = 0; i < 2; i++) {
                fd_close_safe(&ac.request[i]);
                fd_close_safe(&ac.finished[i]);
        }
        fd_close_safe(&ac.devnull);
}

static int open_plumbing(void)
{
        if (pipe2(ac.request, O_CLOEXEC) < 0 || pipe2(ac.finished, O_CLOEXEC) < 0)
                return -errno;
        ac.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (ac.devnull < 0)
                return -errno;
        /* Bigger is better, the default will do. */
        (void) fcntl(ac.request[1], F_SETPIPE_SZ, PIPE_BYTES);
        (void) fcntl(ac.finished[1], F_SETPIPE_SZ, PIPE_BYTES);
        if (fcntl(ac.request[1], F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(ac.finished[0], F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

/* A child made by fork() inherits the state but not the closers: they
 * share its parent's fd table. It starts its own. */
static void forget_parent(void)
{
        Request *q;

        close_plumbing();
        while ((q = g_queue_pop_head(&ac.overflow)))
                g_free(q);
        ac.started = ac.failed = false;
        ac.closers = 0;
        ac.sent = ac.done = 0;
}

static void follow_fork(void)
{
        if ((ac.started || ac.failed) && ac.parent != getpid())
                forget_parent();
}

int async_close_init(void)
{
        int r;

        follow_fork();
        if (ac.started)
                return 0;
        if (ac.failed)
                return -ENOTCONN;
        g_queue_init(&ac.overflow);
        ac.parent = getpid();
        r = open_plumbing();
        if (r >= 0)
                r = start_closer();
        if (r < 0) {
                close_plumbing();
                ac.failed = true;
                return log_error_errno(r, "Failed to start the fd closer, closing fds on the "
                                          "event loop: %m");
        }
        ac.started = true;
        return 0;
}

void async_close_dispatch(void)
{
        uint64_t tokens[64];
        ssize_t n;

        follow_fork();
        if (!ac.started)
                return;
        while ((n = read(ac.finished[0], tokens, sizeof(tokens))) > 0)
                for (size_t i = 0; i < (size_t) n / sizeof(tokens[0]); i++) {
                        Replace *rp = (Replace *) (uintptr_t) tokens[i];

                        ac.done++;
                        if (rp) {
                                rp->done(rp->userdata);
                                g_free(rp);
                        }
                }
}

/* Writes what waits in the overflow queue, then rq (NULL: nothing new). */
static void submit(const Request *rq)
{
        Request *q;

        while ((q = g_queue_peek_head(&ac.overflow))) {
                if (write(ac.request[1], q, sizeof(*q)) != sizeof(*q))
                        break;
                g_free(g_queue_pop_head(&ac.overflow));
        }
        if (!rq)
                return;
        if (g_queue_is_empty(&ac.overflow) && write(ac.request[1], rq, sizeof(*rq)) == sizeof(*rq))
                return;
        /* Full (every closer stuck for long): kept, retried with the next. */
        g_queue_push_tail(&ac.overflow, g_memdup2(rq, sizeof(*rq)));
}

static void hand_over(const Request *rq)
{
        async_close_dispatch();
        /* Every closer may be busy (stuck in a FLUSH): one more, up to the
         * limit, so that one stuck file does not hold up the others. */
        if (ac.sent - ac.done >= ac.closers)
                (void) start_closer();
        ac.sent++;
        submit(rq);
}

/* A shmem file (a memfd, the common buffer) and an AF_UNIX socket (every
 * connection; no linger) have nobody to wait for: closed on the spot, which
 * keeps fd numbers and counts as they were, and frees a slot at once when
 * the process is out of fds. Both asked without reaching a file's server. */
static bool closes_at_once(int fd)
{
        int domain;
        socklen_t len = sizeof(domain);

        if (fcntl(fd, F_GET_SEALS) >= 0)
                return true;
        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

void async_close(int fd)
{
        if (fd < 0)
                return;
        if (closes_at_once(fd)) {
                close(fd);
                return;
        }
        if (async_close_init() < 0) {
                close(fd);
                return;
        }
        hand_over(&(Request){.fd = fd, .kind = REQUEST_CLOSE});
}

int async_close_replace(int fd, AsyncCloseDone done, void *userdata)
{
        Replace *rp;
        int r;

        if (fd < 0 || !done)
                return -EINVAL;
        r = async_close_init();
        if (r < 0)
                return r;
        rp = g_new(Replace, 1);
        *rp = (Replace){done, userdata};
        hand_over(&(Request){.fd = fd, .kind = REQUEST_REPLACE, .token = (uintptr_t) rp});
        return 0;
}

int async_close_event_fd(void)
{
        follow_fork();
        return ac.started ? ac.finished[0] : -ENOTCONN;
}

unsigned async_close_pending(void)
{
        async_close_dispatch();
        return (unsigned) (ac.sent - ac.done);
}

bool async_close_wait_idle(int timeout_ms)
{
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                gint64 left;
                struct pollfd p = {.fd = ac.finished[0], .events = POLLIN};

                submit(NULL);
                if (async_close_pending() == 0)
                        return true;
                left = end - g_get_monotonic_time();
                if (left <= 0)
                        return false;
                (void) poll(&p, 1, (int) MIN(left / 1000 + 1, 100));
        }
}

int async_close_own_fds(void)
{
        follow_fork();
        return ac.started ? 5 : 0;
}
