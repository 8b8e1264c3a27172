/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A raw vhost-user peer for tests (see raw-peer.h). */
#include "raw-peer.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "test-timeout.h"

static void raw_fail(RawPeer *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN;

static void raw_fail(RawPeer *r, const char *fmt, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        r->env.fail(r->env.userdata, msg);
        g_error("%s", msg); /* not reached: fail does not return */
}

RawPeer *raw_peer_new(RawPeerRole role, int fd, const RawPeerEnv *env)
{
        RawPeer *r = g_new0(RawPeer, 1);

        g_assert_nonnull(env->wait);
        g_assert_nonnull(env->fail);
        r->role = role;
        r->env = *env;
        r->main = vu_conn_new(fd);
        g_assert_nonnull(r->main);
        return r;
}

void raw_peer_free(RawPeer *r)
{
        if (!r)
                return;
        vu_conn_free(r->chan);
        vu_conn_free(r->main);
        g_free(r);
}

/* Milliseconds left until end (g_get_monotonic_time), at least 1. */
static int ms_until(gint64 end)
{
        gint64 left = (end - g_get_monotonic_time()) / 1000;

        return (int) CLAMP(left, 1, TEST_TIMEOUT_MS);
}

/* The socket on which the service sends requests to this peer. */
static bool service_asks_on(RawPeer *r, VuConnection *c)
{
        return (r->role == RAW_PEER_BACKEND) == (c == r->main);
}

static VuChannel channel_of(RawPeer *r, VuConnection *c)
{
        return c == r->main ? VU_CHANNEL_FRONTEND : VU_CHANNEL_BACKEND;
}

/* The socket on which this peer sends its requests. */
static VuConnection *asking_socket(RawPeer *r)
{
        return r->role == RAW_PEER_BACKEND ? r->chan : r->main;
}

void raw_peer_send(RawPeer *r, VuConnection *c, VuMessage *m)
{
        gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;

        if (vu_conn_send(c, m) < 0)
                return;
        while (vu_conn_want_write(c)) {
                if (g_get_monotonic_time() > end)
                        raw_fail(r, "could not write a message within %d ms", TEST_TIMEOUT_MS);
                r->env.wait(r->env.userdata, vu_conn_fd(c), POLLOUT, ms_until(end));
                if (vu_conn_flush(c) < 0)
                        return;
        }
}

void raw_peer_send_bytes(RawPeer *r, VuConnection *c, const void *buf, size_t len)
{
        gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        size_t off = 0;

        g_assert_cmpuint(vu_conn_queued(c), ==, 0);
        while (off < len) {
                ssize_t n = send(vu_conn_fd(c), (const char *) buf + off, len - off, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        if (g_get_monotonic_time() > end)
                                raw_fail(r, "could not write within %d ms", TEST_TIMEOUT_MS);
                        r->env.wait(r->env.userdata, vu_conn_fd(c), POLLOUT, ms_until(end));
                        continue;
                }
                if (n < 0)
                        raw_fail(r, "cannot write raw bytes: %s", g_strerror(errno));
                off += (size_t) n;
        }
}

int raw_peer_recv(RawPeer *r, VuConnection *c, VuMessage *m)
{
        gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        VuChannel ch = channel_of(r, c);
        bool is_reply = !service_asks_on(r, c);

        for (;;) {
                VuError err = VU_OK;
                int k = vu_conn_read(c, ch, is_reply, m, &err);

                if (k == 1)
                        return 1;
                if (k == -EPROTO)
                        raw_fail(r, "the service sent something malformed: %s",
                                 vu_error_to_string(err));
                if (k < 0)
                        return k;
                if (g_get_monotonic_time() > end)
                        raw_fail(r, "no message from the service within %d ms", TEST_TIMEOUT_MS);
                r->env.wait(r->env.userdata, vu_conn_fd(c), POLLIN, ms_until(end));
        }
}

int raw_peer_request(RawPeer *r, uint32_t request, const uint8_t uuid[16], int fd, VuMessage *reply)
{
        VuConnection *c = asking_socket(r);
        VuMessage m;
        int k;

        g_assert_nonnull(c);
        vu_message_init_uuid(&m, request, VU_FLAG_NEED_REPLY, uuid);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        raw_peer_send(r, c, &m);
        k = raw_peer_recv(r, c, reply);
        if (k < 0)
                return k;
        if (reply->hdr.request != request)
                raw_fail(r, "the reply to %s answers %s",
                         vu_request_name(channel_of(r, c), request),
                         vu_request_name(channel_of(r, c), reply->hdr.request));
        return 1;
}

void raw_peer_wait_hangup(RawPeer *r, VuConnection *c)
{
        gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;

        for (;;) {
                VuError err = VU_OK;
                VuMessage m;
                int k = vu_conn_read(c, channel_of(r, c), !service_asks_on(r, c), &m, &err);

                if (k == 1) {
                        vu_message_close_fds(&m);
                        continue;
                }
                if (k == -EPROTO)
                        raw_fail(r, "the service sent something malformed: %s",
                                 vu_error_to_string(err));
                if (k < 0)
                        return;
                if (g_get_monotonic_time() > end)
                        raw_fail(r, "the service did not hang up within %d ms", TEST_TIMEOUT_MS);
                r->env.wait(r->env.userdata, vu_conn_fd(c), POLLIN, ms_until(end));
        }
}

/* ---- the handshake ---- */

static void reply_u64(RawPeer *r, const VuMessage *req, uint64_t value)
{
        VuMessage m;

        vu_message_init_reply_u64(&m, req, value);
        raw_peer_send(r, r->main, &m);
}

static void ack_if_asked(RawPeer *r, const VuMessage *req)
{
        if (req->hdr.flags & VU_FLAG_NEED_REPLY)
                reply_u64(r, req, 0);
}

/* One request of the front-end's handshake, answered as libvhost-user
 * does. */
static void backend_handshake_step(RawPeer *r, uint64_t features)
{
        VuMessage m;

        if (raw_peer_recv(r, r->main, &m) < 0)
                raw_fail(r, "the front-end hung up during the handshake");
        if ((m.hdr.flags & VU_FLAG_VERSION_MASK) != VU_VERSION || (m.hdr.flags & VU_FLAG_REPLY))
                raw_fail(r, "handshake request %u with flags 0x%x", m.hdr.request, m.hdr.flags);
        switch (m.hdr.request) {
        case VU_REQ_GET_FEATURES:
                reply_u64(r, &m, VU_BIT(VIRTIO_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
                break;
        case VU_REQ_GET_PROTOCOL_FEATURES:
                reply_u64(r, &m, features);
                break;
        case VU_REQ_SET_PROTOCOL_FEATURES:
                g_assert_cmpuint(m.hdr.size, ==, 8);
                r->protocol_features = m.payload.u64;
                ack_if_asked(r, &m);
                break;
        case VU_REQ_GET_QUEUE_NUM:
                r->asked_queue_num = true;
                reply_u64(r, &m, 1);
                break;
        case VU_REQ_SET_FEATURES:
        case VU_REQ_SET_OWNER:
                ack_if_asked(r, &m);
                break;
        case VU_REQ_SET_BACKEND_REQ_FD:
                g_assert_cmpuint(m.n_fds, ==, 1);
                r->chan = vu_conn_new(vu_message_steal_fd(&m, 0));
                g_assert_nonnull(r->chan);
                ack_if_asked(r, &m);
                break;
        default:
                raw_fail(r, "unexpected handshake request %s",
                         vu_request_name(VU_CHANNEL_FRONTEND, m.hdr.request));
        }
        vu_message_close_fds(&m);
}

/* One request of a VMM's handshake; returns the u64 of the reply (0 when
 * none is due). */
static uint64_t frontend_call(RawPeer *r, uint32_t request, uint32_t flags, const uint64_t *value,
                              int fd)
{
        VuMessage m;

        if (value)
                vu_message_init_u64(&m, request, flags, *value);
        else
                vu_message_init(&m, request, flags, 0);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        raw_peer_send(r, r->main, &m);
        if (!(flags & VU_FLAG_NEED_REPLY) && request != VU_REQ_GET_FEATURES &&
            request != VU_REQ_GET_PROTOCOL_FEATURES)
                return 0;
        if (raw_peer_recv(r, r->main, &m) < 0)
                raw_fail(r, "the back-end hung up during the handshake");
        g_assert_cmpuint(m.hdr.request, ==, request);
        vu_message_close_fds(&m);
        return m.payload.u64;
}

static void frontend_handshake(RawPeer *r, uint64_t features)
{
        uint64_t virtio_features;
        int ch[2];

        virtio_features = frontend_call(r, VU_REQ_GET_FEATURES, 0, NULL, -1);
        frontend_call(r, VU_REQ_SET_FEATURES, 0, &virtio_features, -1);
        g_assert_cmphex(frontend_call(r, VU_REQ_GET_PROTOCOL_FEATURES, 0, NULL, -1) & features, ==,
                        features);
        frontend_call(r, VU_REQ_SET_PROTOCOL_FEATURES, 0, &features, -1);
        r->protocol_features = features;
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch), ==, 0);
        /* As QEMU: NEED_REPLY only when REPLY_ACK says it will be answered. */
        g_assert_cmpuint(
            frontend_call(r, VU_REQ_SET_BACKEND_REQ_FD,
                          (features & VU_BIT(VU_PF_REPLY_ACK)) ? VU_FLAG_NEED_REPLY : 0, NULL,
                          ch[1]),
            ==, 0);
        r->chan = vu_conn_new(ch[0]);
        g_assert_nonnull(r->chan);
}

void raw_peer_handshake(RawPeer *r, uint64_t features)
{
        if (r->role == RAW_PEER_FRONTEND) {
                frontend_handshake(r, features);
                return;
        }
        while (!r->chan)
                backend_handshake_step(r, features);
}
