/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw vhost-user back-ends for the bench: the same few syscalls as the
 * floor (sendmsg, poll, recvmsg), none of the service's own machinery, so
 * that a round trip against the hub or QEMU differs from the floor only by
 * what the front-end does. The main socket is answered by a servant thread
 * (handshake, GET_SHARED_OBJECT); the back-end channel is driven by the
 * workload threads. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"

#define WIRE_PROTOCOL_FEATURES                                                                     \
        (VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_BACKEND_SEND_FD) |     \
         VU_BIT(VU_PF_SHARED_OBJECT))
#define WIRE_FEATURES (VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VIRTIO_F_VERSION_1))

ssize_t bench_send_fd(int sock, const void *buf, size_t len, int fd)
{
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (fd >= 0) {
                memset(&control, 0, sizeof(control));
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

ssize_t bench_recv_fd(int sock, void *buf, size_t len, int *ret_fd)
{
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        } control;
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        int first = -1;
        ssize_t n;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfd; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (first < 0 && ret_fd)
                                first = fd;
                        else
                                close(fd);
                }
        }
        if (ret_fd)
                *ret_fd = first;
        return n;
}

void wire_backend_init(WireBackend *w, const char *name)
{
        *w = (WireBackend){
            .listen_fd = -1,
            .main_fd = -1,
            .chan_fd = -1,
            .export_fd = -1,
            .offered_protocol_features = WIRE_PROTOCOL_FEATURES,
        };
        g_strlcpy(w->name, name, sizeof(w->name));
}

void wire_backend_close(WireBackend *w)
{
        fd_close_safe(&w->chan_fd);
        fd_close_safe(&w->main_fd);
        fd_close_safe(&w->listen_fd);
}

static int unix_address(const char *path, struct sockaddr_un *sa)
{
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        strcpy(sa->sun_path, path);
        return 0;
}

int wire_backend_connect(WireBackend *w, const char *path)
{
        struct sockaddr_un sa;
        int fd, r;

        r = unix_address(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        w->main_fd = fd;
        return 0;
}

int wire_backend_listen(WireBackend *w, const char *path)
{
        struct sockaddr_un sa;
        int fd, r;

        r = unix_address(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        w->listen_fd = fd;
        return 0;
}

/* ---- messages on the main socket ---- */

int wire_send_message(int sock, VuMessage *m, int fd)
{
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];
        size_t len = vu_message_serialize(m, buf, sizeof(buf));
        ssize_t n = bench_send_fd(sock, buf, len, fd);

        if (n < 0)
                return (int) n;
        return n == (ssize_t) len ? 0 : -EIO;
}

static int reply_u64(WireBackend *w, const VuMessage *req, uint64_t value)
{
        VuMessage reply;

        vu_message_init_reply_u64(&reply, req, value);
        return wire_send_message(w->main_fd, &reply, -1);
}

/* Reads one message from the main socket (fds in m->fds). */
int wire_read_message(int sock, VuMessage *m)
{
        int fd = -1;
        ssize_t n;

        vu_message_init(m, 0, 0, 0);
        n = bench_recv_fd(sock, &m->hdr, VU_HEADER_SIZE, &fd);
        if (n == 0)
                return -EPIPE;
        if (n < 0)
                return (int) n;
        if (n != VU_HEADER_SIZE || m->hdr.size > VU_PAYLOAD_MAX) {
                fd_close_safe(&fd);
                return -EPROTO;
        }
        if (fd >= 0)
                vu_message_add_fd(m, fd);
        if (m->hdr.size > 0) {
                n = bench_recv_fd(sock, m->payload.bytes, m->hdr.size, NULL);
                if (n != (ssize_t) m->hdr.size) {
                        vu_message_close_fds(m);
                        return n < 0 ? (int) n : -EPROTO;
                }
        }
        return 0;
}

static int answer_get_shared_object(WireBackend *w, VuMessage *req)
{
        VuMessage reply;
        static const uint8_t none[VU_UUID_SIZE];

        __atomic_add_fetch(&w->gets, 1, __ATOMIC_RELAXED);
        if (req->hdr.size < VU_UUID_SIZE)
                __atomic_add_fetch(&w->gets_without_uuid, 1, __ATOMIC_RELAXED);
        if (w->hang)
                return 0;
        /* libvhost-user's answer: the request's UUID echoed, the fd on it. */
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY,
                             req->hdr.size >= VU_UUID_SIZE ? req->payload.uuid : none);
        return wire_send_message(w->main_fd, &reply, w->export_fd);
}

/* Answers one request of the front-end. Returns 1 when the channel became
 * ready, 0, or -errno. */
static int handle_main(WireBackend *w)
{
        VuMessage m;
        bool need_reply;
        int r;

        r = wire_read_message(w->main_fd, &m);
        if (r < 0)
                return r;
        need_reply = m.hdr.flags & VU_FLAG_NEED_REPLY;
        if (m.n_fds > vu_request_max_fds(VU_CHANNEL_FRONTEND, m.hdr.request))
                __atomic_add_fetch(&w->unexpected_fds, m.n_fds, __ATOMIC_RELAXED);
        switch (m.hdr.request) {
        case VU_REQ_GET_FEATURES:
                return reply_u64(w, &m, WIRE_FEATURES);
        case VU_REQ_GET_PROTOCOL_FEATURES:
                return reply_u64(w, &m, w->offered_protocol_features);
        case VU_REQ_GET_QUEUE_NUM:
                return reply_u64(w, &m, 1);
        case VU_REQ_SET_PROTOCOL_FEATURES:
                w->protocol_features = m.payload.u64;
                return need_reply ? reply_u64(w, &m, 0) : 0;
        case VU_REQ_SET_BACKEND_REQ_FD:
                if (m.n_fds != 1)
                        return -EPROTO;
                fd_close_safe(&w->chan_fd);
                w->chan_fd = vu_message_steal_fd(&m, 0);
                r = need_reply ? reply_u64(w, &m, 0) : 0;
                return r < 0 ? r : 1;
        case VU_REQ_GET_SHARED_OBJECT:
                vu_message_close_fds(&m);
                return answer_get_shared_object(w, &m);
        default:
                /* SET_OWNER, SET_FEATURES, SET_VRING_CALL/ERR (eventfds)... */
                vu_message_close_fds(&m);
                return need_reply ? reply_u64(w, &m, 0) : 0;
        }
}

/* ---- the servant thread ---- */

struct WireServant {
        pthread_t tid;
        int wake[2];
        pthread_mutex_t lock;
        pthread_cond_t cond;
        GPtrArray *backends; /* WireBackend*, under lock */
        bool stop;
};

static void servant_mark(WireServant *s, WireBackend *w, bool ready, bool closed)
{
        pthread_mutex_lock(&s->lock);
        if (ready)
                w->ready = true;
        if (closed)
                w->main_closed = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void *servant_main(void *arg)
{
        WireServant *s = arg;
        g_autofree struct pollfd *pfd = NULL;
        g_autofree WireBackend **who = NULL;

        for (;;) {
                unsigned n = 0;

                pthread_mutex_lock(&s->lock);
                if (s->stop) {
                        pthread_mutex_unlock(&s->lock);
                        return NULL;
                }
                pfd = g_renew(struct pollfd, pfd, s->backends->len + 1);
                who = g_renew(WireBackend *, who, s->backends->len + 1);
                pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
                for (guint i = 0; i < s->backends->len; i++) {
                        WireBackend *w = g_ptr_array_index(s->backends, i);
                        int fd = w->main_fd >= 0 && !w->main_closed ? w->main_fd : w->listen_fd;
                        if (fd < 0 || w->main_closed)
                                continue;
                        who[n] = w;
                        pfd[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
                }
                pthread_mutex_unlock(&s->lock);

                if (poll(pfd, n, -1) < 0 && errno != EINTR)
                        g_error("servant poll: %s", g_strerror(errno));
                if (pfd[0].revents) {
                        char buf[64];
                        (void) !read(s->wake[0], buf, sizeof(buf));
                }
                for (unsigned i = 1; i < n; i++) {
                        WireBackend *w = who[i];
                        int r;

                        if (!pfd[i].revents)
                                continue;
                        if (pfd[i].fd == w->listen_fd) {
                                int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                                if (fd >= 0) {
                                        w->main_fd = fd;
                                        fd_close_safe(&w->listen_fd);
                                }
                                continue;
                        }
                        r = handle_main(w);
                        if (r == 1)
                                servant_mark(s, w, true, false);
                        else if (r < 0)
                                servant_mark(s, w, false, true);
                }
        }
}

int wire_servant_new(WireServant **ret)
{
        WireServant *s = g_new0(WireServant, 1);

        if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
                g_free(s);
                return -errno;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->backends = g_ptr_array_new();
        if (pthread_create(&s->tid, NULL, servant_main, s) != 0)
                g_error("pthread_create failed");
        *ret = s;
        return 0;
}

static void servant_wake(WireServant *s)
{
        (void) !write(s->wake[1], "x", 1);
}

int wire_servant_add(WireServant *s, WireBackend *w)
{
        pthread_mutex_lock(&s->lock);
        g_ptr_array_add(s->backends, w);
        pthread_mutex_unlock(&s->lock);
        servant_wake(s);
        return 0;
}

int wire_servant_wait_ready(WireServant *s, WireBackend *w, int timeout_ms)
{
        struct timespec deadline;
        int r = 0;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (!w->ready && !w->main_closed && r == 0)
                r = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
        r = w->ready ? 0 : w->main_closed ? -EPIPE : -ETIMEDOUT;
        pthread_mutex_unlock(&s->lock);
        return r;
}

void wire_servant_free(WireServant *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_mutex_unlock(&s->lock);
        servant_wake(s);
        pthread_join(s->tid, NULL);
        close(s->wake[0]);
        close(s->wake[1]);
        g_ptr_array_unref(s->backends);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        g_free(s);
}

/* ---- the back-end channel ---- */

int wire_send(WireBackend *w, uint32_t request, const uint8_t uuid[VU_UUID_SIZE], bool need_reply)
{
        uint8_t buf[VU_HEADER_SIZE + VU_UUID_SIZE];
        VuHeader hdr = {
            .request = request,
            .flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0),
            .size = VU_UUID_SIZE,
        };
        ssize_t n;

        if (w->chan_fd < 0)
                return -ENOTCONN;
        memcpy(buf, &hdr, VU_HEADER_SIZE);
        memcpy(buf + VU_HEADER_SIZE, uuid, VU_UUID_SIZE);
        n = bench_send_fd(w->chan_fd, buf, sizeof(buf), -1);
        if (n < 0)
                return (int) n;
        return n == (ssize_t) sizeof(buf) ? 0 : -EIO;
}

int wire_wait_reply(WireBackend *w, uint32_t request, int timeout_ms, uint64_t *ret_value,
                    int *ret_fd)
{
        struct pollfd pfd = {.fd = w->chan_fd, .events = POLLIN};
        uint8_t buf[VU_HEADER_SIZE + sizeof(uint64_t)];
        VuHeader hdr;
        int fd = -1, r;
        ssize_t n;

        if (ret_fd)
                *ret_fd = -1;
        do
                r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        /* Every answer on the channel is a u64: read it whole, like the floor. */
        n = bench_recv_fd(w->chan_fd, buf, sizeof(buf), &fd);
        if (n == 0)
                return -EPIPE;
        if (n < 0)
                return (int) n;
        memcpy(&hdr, buf, VU_HEADER_SIZE);
        if (n != (ssize_t) sizeof(buf) || hdr.request != request ||
            hdr.flags != (VU_VERSION | VU_FLAG_REPLY) || hdr.size != sizeof(uint64_t)) {
                fd_close_safe(&fd);
                return -EPROTO;
        }
        if (ret_value)
                memcpy(ret_value, buf + VU_HEADER_SIZE, sizeof(uint64_t));
        if (ret_fd)
                *ret_fd = fd;
        else
                fd_close_safe(&fd);
        return 0;
}

int wire_call(WireBackend *w, uint32_t request, const uint8_t uuid[VU_UUID_SIZE], bool need_reply,
              uint64_t *ret_value, int *ret_fd)
{
        int r;

        if (ret_fd)
                *ret_fd = -1;
        r = wire_send(w, request, uuid, need_reply);
        if (r < 0 || !need_reply)
                return r;
        return wire_wait_reply(w, request, BENCH_TIMEOUT_MS, ret_value, ret_fd);
}
