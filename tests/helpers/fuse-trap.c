/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A FUSE file system that stops answering (see fuse-trap.h). */
#include "fuse-trap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib.h>

#define TRAP_FILE "trap"
#define TRAP_NODE 2
/* The kernel wants room for a whole write request in every read. */
#define READ_BUFFER (FUSE_MIN_READ_BUFFER + 128 * 1024)

struct FuseTrap {
        char *dir;
        int abort_fd; /* the connection's abort file (fusectl), or -1 */
        int dev_fd;   /* /dev/fuse */
        int stop_fd;  /* eventfd: the thread's stop signal */
        dev_t st_dev; /* the mount's device: its connection is minor(st_dev) */
        pthread_t thread;

        GMutex lock; /* what the thread and the test share: */
        GCond changed;
        pid_t victim;
        unsigned stalled[64]; /* by opcode; 0: all */

        /* fuse_trap_call() */
        pthread_t call_thread;
        bool call_started, call_done;
        void (*call_fn)(void *userdata);
        void *call_userdata;
};

/* A field ("Tgid:", "PPid:") of /proc/TID/status, or 0 once it is gone. */
static pid_t status_field(pid_t tid, const char *field)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) tid);
        g_autofree char *text = NULL;
        const char *line;

        if (!g_file_get_contents(path, &text, NULL, NULL))
                return 0;
        line = strstr(text, field);
        return line ? (pid_t) g_ascii_strtoll(line + strlen(field), NULL, 10) : 0;
}

/* A thread of the victim, or of a child process of the victim (the
 * service's closers are processes that share its fd table). */
static bool is_victim(pid_t tid, pid_t victim)
{
        pid_t tgid = status_field(tid, "\nTgid:");

        return tgid != 0 && (tgid == victim || status_field(tgid, "\nPPid:") == victim);
}

static void reply(FuseTrap *t, uint64_t unique, int error, const void *data, size_t size)
{
        struct fuse_out_header out = {
            .len = (uint32_t) (sizeof(out) + size),
            .error = error,
            .unique = unique,
        };
        struct iovec iov[2] = {{&out, sizeof(out)}, {(void *) data, size}};

        /* A request the kernel gave up on (interrupted, aborted) answers
         * ENOENT: nothing to do about it. */
        (void) writev(t->dev_fd, iov, size > 0 ? 2 : 1);
}

static void fill_attr(struct fuse_attr *a, uint64_t node)
{
        *a = (struct fuse_attr){
            .ino = node,
            .mode = node == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0666,
            .nlink = node == FUSE_ROOT_ID ? 2 : 1,
            .size = node == FUSE_ROOT_ID ? 0 : 4096,
            .blksize = 4096,
        };
}

/* Answers one request as a well-behaved (if tiny) file system would. */
static void serve(FuseTrap *t, const struct fuse_in_header *in, const void *arg)
{
        switch (in->opcode) {
        case FUSE_INIT: {
                const struct fuse_init_in *ii = arg;
                struct fuse_init_out io = {
                    .major = FUSE_KERNEL_VERSION,
                    .minor = MIN(ii->minor, FUSE_KERNEL_MINOR_VERSION),
                    .max_readahead = ii->max_readahead,
                    .max_write = 4096,
                    .max_background = 16,
                    .congestion_threshold = 12,
                    .time_gran = 1,
                };
                reply(t, in->unique, 0, &io, sizeof(io));
                return;
        }
        case FUSE_LOOKUP: {
                struct fuse_entry_out e = {.nodeid = TRAP_NODE};

                if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, TRAP_FILE) != 0) {
                        reply(t, in->unique, -ENOENT, NULL, 0);
                        return;
                }
                fill_attr(&e.attr, TRAP_NODE);
                reply(t, in->unique, 0, &e, sizeof(e));
                return;
        }
        case FUSE_GETATTR: {
                struct fuse_attr_out a = {0};

                fill_attr(&a.attr, in->nodeid);
                reply(t, in->unique, 0, &a, sizeof(a));
                return;
        }
        case FUSE_OPEN:
        case FUSE_OPENDIR: {
                struct fuse_open_out o = {.fh = 1};

                reply(t, in->unique, 0, &o, sizeof(o));
                return;
        }
        case FUSE_STATFS: {
                struct fuse_statfs_out s = {.st = {.bsize = 4096, .namelen = 255, .frsize = 4096}};

                reply(t, in->unique, 0, &s, sizeof(s));
                return;
        }
        case FUSE_FLUSH: /* an error here would stop FLUSH for good */
        case FUSE_RELEASE:
        case FUSE_RELEASEDIR:
        case FUSE_DESTROY:
                reply(t, in->unique, 0, NULL, 0);
                return;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT: /* the request itself is answered (or not) anyway */
                return;
        default:
                reply(t, in->unique, -ENOSYS, NULL, 0);
                return;
        }
}

/* True when the request is the victim's (and is counted as stalled). */
static bool stall(FuseTrap *t, const struct fuse_in_header *in)
{
        bool victim;

        if (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET ||
            in->opcode == FUSE_INTERRUPT)
                return false;
        g_mutex_lock(&t->lock);
        victim = t->victim > 0 && in->pid != 0 && is_victim((pid_t) in->pid, t->victim);
        if (victim) {
                t->stalled[0]++;
                if (in->opcode < G_N_ELEMENTS(t->stalled))
                        t->stalled[in->opcode]++;
                g_cond_broadcast(&t->changed);
        }
        g_mutex_unlock(&t->lock);
        return victim;
}

static void *trap_thread(void *userdata)
{
        FuseTrap *t = userdata;
        g_autofree uint8_t *buf = g_malloc(READ_BUFFER);

        for (;;) {
                struct pollfd p[2] = {{t->dev_fd, POLLIN, 0}, {t->stop_fd, POLLIN, 0}};
                const struct fuse_in_header *in = (const void *) buf;
                ssize_t n;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (p[1].revents)
                        return NULL;
                n = read(t->dev_fd, buf, READ_BUFFER);
                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
                        continue;
                if (n < (ssize_t) sizeof(*in)) /* ENODEV: aborted or unmounted */
                        return NULL;
                /* NUL-terminate names for LOOKUP. */
                if ((size_t) n < READ_BUFFER)
                        buf[n] = '\0';
                if (!stall(t, in))
                        serve(t, in, buf + sizeof(*in));
        }
}

/* The abort files of the traps alive, for a test that fails (abort())
 * while the victim waits: its requests fail instead of hanging the run. */
static int live_abort_fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

static void on_sigabrt(int sig)
{
        for (unsigned i = 0; i < G_N_ELEMENTS(live_abort_fds); i++)
                if (live_abort_fds[i] >= 0)
                        (void) !write(live_abort_fds[i], "1", 1);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Opens the connection's abort file in the FUSE control file system
 * (mounted here when nobody has): closing our /dev/fuse fd alone would not
 * fail the requests while a forked child still holds a copy. */
static void open_abort_file(FuseTrap *t)
{
        g_autofree char *path = NULL;

        if (access("/sys/fs/fuse/connections", F_OK) == 0 &&
            mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL) < 0 && errno != EBUSY)
                g_message("fuse-trap: Failed to mount fusectl: %m");
        path = g_strdup_printf("/sys/fs/fuse/connections/%u/abort", (unsigned) minor(t->st_dev));
        t->abort_fd = open(path, O_WRONLY | O_CLOEXEC);
        if (t->abort_fd < 0) {
                g_message("fuse-trap: Failed to open %s: %m", path);
                return;
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(live_abort_fds); i++)
                if (live_abort_fds[i] < 0) {
                        live_abort_fds[i] = t->abort_fd;
                        signal(SIGABRT, on_sigabrt);
                        return;
                }
}

/* Fails every request still waiting for an answer. */
static void trap_abort(FuseTrap *t)
{
        if (t->abort_fd < 0)
                return;
        if (write(t->abort_fd, "1", 1) != 1)
                g_message("fuse-trap: Failed to abort the connection: %m");
        for (unsigned i = 0; i < G_N_ELEMENTS(live_abort_fds); i++)
                if (live_abort_fds[i] == t->abort_fd)
                        live_abort_fds[i] = -1;
        close(t->abort_fd);
        t->abort_fd = -1;
}

const char *fuse_trap_unusable(void)
{
        const char *wrapper = g_getenv("VHOST_SHARE_DAEMON_WRAPPER");

        if (g_getenv("VHOST_SHARE_VALGRIND") || (wrapper && strstr(wrapper, "valgrind")))
                return "a stuck FUSE request holds a process whose closers are threads, as "
                       "under valgrind; run without valgrind";
        return NULL;
}

bool fuse_trap_skip(void)
{
        const char *why = fuse_trap_unusable();

        if (why)
                g_test_skip(why);
        return why != NULL;
}

void fuse_trap_skip_test(void)
{
        (void) fuse_trap_skip();
}

FuseTrap *fuse_trap_new(const char *dir)
{
        FuseTrap *t = g_new0(FuseTrap, 1);
        g_autofree char *opts = NULL;
        struct stat st;
        int r;

        g_mutex_init(&t->lock);
        g_cond_init(&t->changed);
        t->abort_fd = -1;
        t->dir = g_build_filename(dir, "fuse-trap", NULL);
        if (mkdir(t->dir, 0755) < 0)
                g_error("fuse-trap: Failed to create %s: %m", t->dir);
        t->dev_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (t->dev_fd < 0)
                g_error("fuse-trap: Failed to open /dev/fuse (the FUSE tests need root and "
                        "the fuse module): %m");
        opts = g_strdup_printf("fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", t->dev_fd);
        if (mount("fuse-trap", t->dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
                g_error("fuse-trap: Failed to mount FUSE on %s: %m", t->dir);
        t->stop_fd = eventfd(0, EFD_CLOEXEC);
        g_assert_cmpint(t->stop_fd, >=, 0);
        r = pthread_create(&t->thread, NULL, trap_thread, t);
        g_assert_cmpint(r, ==, 0);
        /* The first request (INIT) is answered by the thread. */
        if (stat(t->dir, &st) < 0)
                g_error("fuse-trap: Failed to stat %s: %m", t->dir);
        t->st_dev = st.st_dev;
        open_abort_file(t);
        return t;
}

int fuse_trap_open(FuseTrap *t)
{
        g_autofree char *path = g_build_filename(t->dir, TRAP_FILE, NULL);
        int fd = open(path, O_RDWR | O_CLOEXEC);

        if (fd < 0)
                g_error("fuse-trap: Failed to open %s: %m", path);
        return fd;
}

void fuse_trap_spring(FuseTrap *t, pid_t victim)
{
        g_mutex_lock(&t->lock);
        t->victim = victim;
        g_mutex_unlock(&t->lock);
}

unsigned fuse_trap_stalled(FuseTrap *t, uint32_t opcode)
{
        unsigned n;

        g_assert_cmpuint(opcode, <, G_N_ELEMENTS(t->stalled));
        g_mutex_lock(&t->lock);
        n = t->stalled[opcode];
        g_mutex_unlock(&t->lock);
        return n;
}

bool fuse_trap_wait_stalled(FuseTrap *t, unsigned n, int timeout_ms)
{
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        bool ok = true;

        g_mutex_lock(&t->lock);
        while (t->stalled[0] < n && ok)
                ok = g_cond_wait_until(&t->changed, &t->lock, end);
        ok = t->stalled[0] >= n;
        g_mutex_unlock(&t->lock);
        return ok;
}

static void *call_thread(void *userdata)
{
        FuseTrap *t = userdata;

        t->call_fn(t->call_userdata);
        g_mutex_lock(&t->lock);
        t->call_done = true;
        g_cond_broadcast(&t->changed);
        g_mutex_unlock(&t->lock);
        return NULL;
}

bool fuse_trap_call(FuseTrap *t, void (*fn)(void *userdata), void *userdata, int timeout_ms)
{
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
        bool done;

        g_assert_false(t->call_started);
        fuse_trap_spring(t, getpid());
        t->call_fn = fn;
        t->call_userdata = userdata;
        t->call_started = true;
        g_assert_cmpint(pthread_create(&t->call_thread, NULL, call_thread, t), ==, 0);
        g_mutex_lock(&t->lock);
        while (!t->call_done && t->stalled[0] == 0)
                if (!g_cond_wait_until(&t->changed, &t->lock, end))
                        break;
        done = t->call_done && t->stalled[0] == 0;
        g_mutex_unlock(&t->lock);
        return done;
}

void fuse_trap_free(FuseTrap *t)
{
        uint64_t one = 1;

        if (!t)
                return;
        trap_abort(t);
        g_assert_cmpint(write(t->stop_fd, &one, sizeof(one)), ==, sizeof(one));
        g_assert_cmpint(pthread_join(t->thread, NULL), ==, 0);
        if (t->call_started)
                g_assert_cmpint(pthread_join(t->call_thread, NULL), ==, 0);
        if (umount2(t->dir, MNT_DETACH) < 0)
                g_message("fuse-trap: Failed to unmount %s: %m", t->dir);
        close(t->dev_fd);
        close(t->stop_fd);
        (void) rmdir(t->dir);
        g_mutex_clear(&t->lock);
        g_cond_clear(&t->changed);
        g_free(t->dir);
        g_free(t);
}
