/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-user framing over socketpairs: fd passing, fragmentation, surplus
 * fds, hang-ups and the send queue. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "async-close.h"
#include "fd-util.h"
#include "test-timeout.h"
#include "vu-connection.h"

#define DEADLINE_MS 5000

static const uint8_t test_uuid[VU_UUID_SIZE] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x40, 0x02,
                                                0x80, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void conn_freep(VuConnection **c)
{
        vu_conn_free(*c);
}
#define _cleanup_conn_ __attribute__((cleanup(conn_freep)))

static void close_msg_fds(VuMessage *m)
{
        vu_message_close_fds(m);
}
#define _cleanup_msg_ __attribute__((cleanup(close_msg_fds)))

static unsigned count_fds(void)
{
        int n = fd_count_open();

        g_assert_cmpint(n, >=, 0);
        return (unsigned) n;
}

static void make_pair(int sv[2])
{
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static int new_eventfd(void)
{
        int fd = eventfd(0, EFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static bool same_file(int a, int b)
{
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void wait_fd(int fd, short events)
{
        struct pollfd p = {.fd = fd, .events = events};
        int r;

        do
                r = poll(&p, 1, DEADLINE_MS);
        while (r < 0 && errno == EINTR);
        if (r == 0)
                g_error("fd %d not ready within %d ms", fd, DEADLINE_MS);
        g_assert_cmpint(r, ==, 1);
}

/* Reads until vu_conn_read returns something other than 0, waiting for
 * readability in between, with a deadline. */
static int read_one(VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m, VuError *err)
{
        for (;;) {
                int r = vu_conn_read(c, ch, is_reply, m, err);

                if (r != 0)
                        return r;
                wait_fd(vu_conn_fd(c), POLLIN);
        }
}

/* Sends len bytes of buf with n fds on the first byte, bypassing the
 * VuConnection (a peer that behaves badly). */
static void raw_send(int sock, const void *buf, size_t len, const int *fds, unsigned n)
{
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(64 * sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        g_assert_cmpuint(n, <=, 64);
        if (n > 0) {
                struct cmsghdr *cm;

                memset(&control, 0, sizeof(control));
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(n * sizeof(int));
                memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
        }
        g_assert_cmpint(sendmsg(sock, &mh, MSG_NOSIGNAL), ==, (ssize_t) len);
}

static size_t serialize(const VuMessage *m, uint8_t *buf)
{
        size_t n = vu_message_serialize(m, buf, VU_HEADER_SIZE + VU_PAYLOAD_MAX);

        g_assert_cmpuint(n, >, 0);
        return n;
}

static void test_fd_passing(void)
{
        int sv[2];
        _cleanup_conn_ VuConnection *front = NULL, *back = NULL;
        _cleanup_msg_ VuMessage m, got;
        _cleanup_close_ int efd = new_eventfd();
        _cleanup_close_ int memfd = memfd_create("vu-test-buf", MFD_CLOEXEC);
        unsigned before = count_fds();
        VuError err;
        uint64_t v = 1;

        g_assert_cmpint(memfd, >=, 0);
        make_pair(sv);
        front = vu_conn_new(sv[0]);
        back = vu_conn_new(sv[1]);
        g_assert_nonnull(front);
        g_assert_true(fcntl(vu_conn_fd(front), F_GETFL) & O_NONBLOCK);

        /* Front-end -> back-end: SET_VRING_CALL with an eventfd. */
        vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, 0);
        g_assert_cmpint(vu_message_add_fd(&m, fcntl(efd, F_DUPFD_CLOEXEC, 3)), ==, 0);
        g_assert_cmpint(vu_conn_send(front, &m), ==, 0);
        g_assert_cmpint(m.fds[0], ==, -1);
        g_assert_cmpuint(vu_conn_queued(front), ==, 0);
        g_assert_false(vu_conn_want_write(front));

        g_assert_cmpint(read_one(back, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 1);
        g_assert_cmpint(err, ==, VU_OK);
        g_assert_cmpuint(got.hdr.request, ==, VU_REQ_SET_VRING_CALL);
        g_assert_cmpuint(got.n_fds, ==, 1);
        g_assert_true(same_file(got.fds[0], efd));
        /* Received with close-on-exec. */
        g_assert_true(fcntl(got.fds[0], F_GETFD) & FD_CLOEXEC);
        /* It is the same eventfd: a write on one shows on the other. */
        g_assert_cmpint(write(got.fds[0], &v, sizeof(v)), ==, sizeof(v));
        v = 0;
        g_assert_cmpint(read(efd, &v, sizeof(v)), ==, sizeof(v));
        g_assert_cmpuint(v, ==, 1);
        vu_message_close_fds(&got);

        /* Back-end -> front-end: a LOOKUP reply with the buffer's fd. */
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, test_uuid);
        g_assert_cmpint(vu_conn_send(back, &m), ==, 0);
        g_assert_cmpint(read_one(front, VU_CHANNEL_BACKEND, false, &got, &err), ==, 1);
        g_assert_cmpmem(got.payload.uuid, 16, test_uuid, 16);
        g_assert_cmpuint(got.n_fds, ==, 0);

        vu_message_init_reply_u64(&m, &got, 0);
        g_assert_cmpint(vu_message_add_fd(&m, fcntl(memfd, F_DUPFD_CLOEXEC, 3)), ==, 0);
        g_assert_cmpint(vu_conn_send(front, &m), ==, 0);
        g_assert_cmpint(read_one(back, VU_CHANNEL_BACKEND, true, &got, &err), ==, 1);
        g_assert_cmpuint(got.hdr.flags, ==, 0x5);
        g_assert_cmpuint(got.payload.u64, ==, 0);
        g_assert_cmpuint(got.n_fds, ==, 1);
        g_assert_true(same_file(got.fds[0], memfd));
        vu_message_close_fds(&got);

        /* Nothing more: 0, not an error. */
        g_assert_cmpint(vu_conn_read(back, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 0);

        vu_conn_free(front);
        vu_conn_free(back);
        front = back = NULL;
        g_assert_cmpuint(count_fds(), ==, before);
}

/* A SET_MEM_TABLE with two regions and two fds, one byte per write: the
 * reader returns 0 until the last byte, and gets the fds. */
static void test_fragmented(void)
{
        int sv[2];
        _cleanup_conn_ VuConnection *c = NULL;
        _cleanup_close_ int peer = -1;
        _cleanup_msg_ VuMessage m, got;
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];
        int fds[2] = {new_eventfd(), new_eventfd()};
        VuError err;
        size_t len;

        make_pair(sv);
        c = vu_conn_new(sv[0]);
        peer = sv[1];

        vu_message_init(&m, VU_REQ_SET_MEM_TABLE, 0, 8 + 2 * 32);
        m.payload.bytes[0] = 2;
        for (unsigned i = 8; i < m.hdr.size; i++)
                m.payload.bytes[i] = (uint8_t) i;
        len = serialize(&m, buf);

        for (size_t i = 0; i < len; i++) {
                raw_send(peer, buf + i, 1, fds, i == 0 ? 2 : 0);
                if (i + 1 < len)
                        g_assert_cmpint(vu_conn_read(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==,
                                        0);
        }
        g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 1);
        g_assert_cmpuint(got.hdr.size, ==, m.hdr.size);
        g_assert_cmpmem(got.payload.bytes, got.hdr.size, m.payload.bytes, m.hdr.size);
        g_assert_cmpuint(got.n_fds, ==, 2);
        g_assert_true(same_file(got.fds[0], fds[0]));
        g_assert_true(same_file(got.fds[1], fds[1]));
        vu_message_close_fds(&got);

        /* fds on a payload byte belong to the message too. */
        raw_send(peer, buf, VU_HEADER_SIZE, NULL, 0);
        g_assert_cmpint(vu_conn_read(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 0);
        raw_send(peer, buf + VU_HEADER_SIZE, 5, fds, 1);
        g_assert_cmpint(vu_conn_read(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 0);
        raw_send(peer, buf + VU_HEADER_SIZE + 5, len - VU_HEADER_SIZE - 5, fds + 1, 1);
        g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 1);
        g_assert_cmpuint(got.n_fds, ==, 2);
        g_assert_true(same_file(got.fds[0], fds[0]));
        g_assert_true(same_file(got.fds[1], fds[1]));
        vu_message_close_fds(&got);

        /* Two messages in one write come out one at a time, each with its fd. */
        {
                uint8_t two[2 * (VU_HEADER_SIZE + 8)];
                VuMessage a;

                vu_message_init_u64(&a, VU_REQ_SET_VRING_KICK, 0, 0);
                serialize(&a, two);
                vu_message_init_u64(&a, VU_REQ_SET_FEATURES, 0, 42);
                serialize(&a, two + VU_HEADER_SIZE + 8);
                raw_send(peer, two, sizeof(two), fds, 1);
                g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 1);
                g_assert_cmpuint(got.hdr.request, ==, VU_REQ_SET_VRING_KICK);
                g_assert_cmpuint(got.n_fds, ==, 1);
                vu_message_close_fds(&got);
                g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &got, &err), ==, 1);
                g_assert_cmpuint(got.hdr.request, ==, VU_REQ_SET_FEATURES);
                g_assert_cmpuint(got.payload.u64, ==, 42);
                g_assert_cmpuint(got.n_fds, ==, 0);
        }

        close(fds[0]);
        close(fds[1]);
}

/* Sends header+payload of m with n fresh fds (split over the header and a
 * payload byte when split is set), closes our copies and expects the
 * reader to refuse the message with `want`, leaving no fd behind. */
static void expect_fds_refused(VuChannel ch, VuMessage *m, unsigned n_hdr, unsigned n_payload,
                               VuError want)
{
        int sv[2];
        _cleanup_conn_ VuConnection *c = NULL;
        _cleanup_close_ int peer = -1;
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];
        int fds[64];
        unsigned before;
        VuMessage got;
        VuError err = VU_OK;
        size_t len = serialize(m, buf);

        make_pair(sv);
        c = vu_conn_new(sv[0]);
        peer = sv[1];
        before = count_fds();

        g_assert_cmpuint(n_hdr + n_payload, <=, G_N_ELEMENTS(fds));
        for (unsigned i = 0; i < n_hdr + n_payload; i++)
                fds[i] = new_eventfd();
        if (n_payload > 0) {
                g_assert_cmpuint(len, >, VU_HEADER_SIZE);
                raw_send(peer, buf, VU_HEADER_SIZE, fds, n_hdr);
                raw_send(peer, buf + VU_HEADER_SIZE, len - VU_HEADER_SIZE, fds + n_hdr, n_payload);
        } else {
                raw_send(peer, buf, len, fds, n_hdr);
        }
        for (unsigned i = 0; i < n_hdr + n_payload; i++)
                close(fds[i]);

        g_assert_cmpint(read_one(c, ch, false, &got, &err), ==, -EPROTO);
        g_assert_cmpint(err, ==, want);
        /* Every received fd is closed again. */
        g_assert_cmpuint(count_fds(), ==, before);
        /* The error sticks: the stream is out of step. */
        err = VU_OK;
        g_assert_cmpint(vu_conn_read(c, ch, false, &got, &err), ==, -EPROTO);
        g_assert_cmpint(err, ==, want);
}

static void test_too_many_fds(void)
{
        VuMessage m;
        unsigned before = count_fds();

        /* 12 fds on a message that may carry 8. */
        vu_message_init(&m, VU_REQ_SET_MEM_TABLE, 0, 8);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 12, 0, VU_ERR_TOO_MANY_FDS);
        /* Far more than any cmsg buffer would hold for 8. */
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 64, 0, VU_ERR_TOO_MANY_FDS);
        /* 6 with the header and 6 with the payload: the limit counts both. */
        vu_message_init(&m, VU_REQ_SET_MEM_TABLE, 0, 8 + 32);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 6, 6, VU_ERR_TOO_MANY_FDS);
        /* Under 8, but more than the request expects. */
        vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, 0);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 3, 0, VU_ERR_TOO_MANY_FDS);
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_ADD, 0, test_uuid);
        expect_fds_refused(VU_CHANNEL_BACKEND, &m, 1, 0, VU_ERR_TOO_MANY_FDS);
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_ADD, 0, test_uuid);
        expect_fds_refused(VU_CHANNEL_BACKEND, &m, 0, 1, VU_ERR_TOO_MANY_FDS);
        /* A required fd missing. */
        vu_message_init(&m, VU_REQ_SET_BACKEND_REQ_FD, 0, 0);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 0, 0, VU_ERR_MISSING_FD);

        g_assert_cmpuint(count_fds(), ==, before);
}

static void test_bad_header(void)
{
        VuMessage m;

        vu_message_init(&m, VU_REQ_GET_FEATURES, 0, 0);
        m.hdr.flags = 0x2;
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 1, 0, VU_ERR_BAD_VERSION);
        vu_message_init(&m, VU_REQ_GET_FEATURES, 0, 0);
        m.hdr.flags |= 0x100;
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 0, 0, VU_ERR_UNKNOWN_FLAGS);
        vu_message_init(&m, 99, 0, 0);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 2, 0, VU_ERR_UNKNOWN_REQUEST);
        vu_message_init(&m, VU_REQ_GET_FEATURES, VU_FLAG_REPLY, 8);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 0, 0, VU_ERR_UNEXPECTED_REPLY);
        vu_message_init_u64(&m, VU_REQ_GET_FEATURES, 0, 0);
        expect_fds_refused(VU_CHANNEL_FRONTEND, &m, 0, 0, VU_ERR_BAD_SIZE);

        /* A size over the cap is refused from the header alone: the reader
         * does not wait for 4 GiB that never come. */
        {
                int sv[2];
                _cleanup_conn_ VuConnection *c = NULL;
                _cleanup_close_ int peer = -1;
                VuHeader hdr = {
                    .request = VU_REQ_SET_CONFIG, .flags = VU_VERSION, .size = UINT32_MAX};
                VuError err;

                make_pair(sv);
                c = vu_conn_new(sv[0]);
                peer = sv[1];
                raw_send(peer, &hdr, sizeof(hdr), NULL, 0);
                g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &m, &err), ==, -EPROTO);
                g_assert_cmpint(err, ==, VU_ERR_TOO_LARGE);
        }
}

static void test_hangup_between(void)
{
        int sv[2];
        _cleanup_conn_ VuConnection *c = NULL;
        VuMessage m;
        VuError err;
        uint8_t buf[VU_HEADER_SIZE + 8];

        make_pair(sv);
        c = vu_conn_new(sv[0]);
        vu_message_init_u64(&m, VU_REQ_SET_FEATURES, 0, 7);
        raw_send(sv[1], buf, serialize(&m, buf), NULL, 0);
        close(sv[1]);

        g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &m, &err), ==, 1);
        g_assert_cmpuint(m.payload.u64, ==, 7);
        g_assert_cmpint(read_one(c, VU_CHANNEL_FRONTEND, false, &m, &err), ==, -EPIPE);
}

static void hangup_mid(size_t cut, unsigned n_fds, VuError want)
{
        int sv[2];
        _cleanup_conn_ VuConnection *c = NULL;
        VuMessage m;
        VuError err = VU_OK;
        uint8_t buf[VU_HEADER_SIZE + 16];
        unsigned before = count_fds();
        int fd = new_eventfd();

        make_pair(sv);
        c = vu_conn_new(sv[0]);
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, 0, test_uuid);
        serialize(&m, buf);
        raw_send(sv[1], buf, cut, &fd, n_fds);
        close(fd);
        close(sv[1]);

        g_assert_cmpint(read_one(c, VU_CHANNEL_BACKEND, false, &m, &err), ==, -EPROTO);
        g_assert_cmpint(err, ==, want);
        /* The partial message's fd is closed: only the connection is left. */
        g_assert_cmpuint(count_fds(), ==, before + 1);
}

static void test_hangup_mid(void)
{
        hangup_mid(1, 0, VU_ERR_SHORT_HEADER);
        hangup_mid(11, 1, VU_ERR_SHORT_HEADER);
        hangup_mid(VU_HEADER_SIZE, 1, VU_ERR_SHORT_PAYLOAD);
        hangup_mid(VU_HEADER_SIZE + 15, 1, VU_ERR_SHORT_PAYLOAD);
}

/* Fills the socket until the connection queues, then drains the peer while
 * flushing: every message arrives, in order, with its fd. */
static void test_write_queue(void)
{
        int sv[2];
        _cleanup_conn_ VuConnection *w = NULL, *r = NULL;
        int sndbuf = 4096;
        unsigned before = count_fds();
        unsigned sent = 0, received = 0, with_fd = 0;
        const uint32_t size = 2048;
        VuError err;

        make_pair(sv);
        g_assert_cmpint(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), ==, 0);
        w = vu_conn_new(sv[0]);
        r = vu_conn_new(sv[1]);

        while (vu_conn_queued(w) == 0) {
                VuMessage m;

                g_assert_cmpuint(sent, <, 10000);
                vu_message_init(&m, VU_REQ_CREATE_CRYPTO_SESSION, 0, size);
                memcpy(m.payload.bytes, &sent, sizeof(sent));
                memset(m.payload.bytes + sizeof(sent), (int) (sent & 0xff), size - sizeof(sent));
                g_assert_cmpint(vu_conn_send(w, &m), ==, 0);
                sent++;
        }
        g_assert_true(vu_conn_want_write(w));
        g_assert_cmpint(vu_conn_flush(w), ==, 0);
        /* More while the queue is non-empty: they wait behind it, fds included. */
        for (unsigned i = 0; i < 20; i++, sent++) {
                VuMessage m;

                vu_message_init(&m, VU_REQ_CREATE_CRYPTO_SESSION, 0, size);
                memcpy(m.payload.bytes, &sent, sizeof(sent));
                memset(m.payload.bytes + sizeof(sent), (int) (sent & 0xff), size - sizeof(sent));
                if (i % 2 == 0) {
                        /* An fd-carrying id of the same size class. */
                        vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, sent);
                        g_assert_cmpint(vu_message_add_fd(&m, new_eventfd()), ==, 0);
                        with_fd++;
                }
                g_assert_cmpint(vu_conn_send(w, &m), ==, 0);
                g_assert_cmpint(m.fds[0], ==, -1);
        }
        g_assert_cmpuint(vu_conn_queued(w), >, 20 * 8);

        while (received < sent) {
                VuMessage got;
                int rr;

                if (vu_conn_want_write(w))
                        g_assert_cmpint(vu_conn_flush(w), >=, 0);
                rr = vu_conn_read(r, VU_CHANNEL_FRONTEND, false, &got, &err);
                g_assert_cmpint(rr, >=, 0);
                if (rr == 0) {
                        /* Wait for either side: bytes to read or room to write. */
                        struct pollfd p[2] = {{.fd = vu_conn_fd(r), .events = POLLIN},
                                              {.fd = vu_conn_fd(w), .events = POLLOUT}};

                        g_assert_cmpint(poll(p, vu_conn_want_write(w) ? 2 : 1, DEADLINE_MS), >, 0);
                        continue;
                }
                if (got.hdr.request == VU_REQ_SET_VRING_CALL) {
                        g_assert_cmpuint(got.payload.u64, ==, received);
                        g_assert_cmpuint(got.n_fds, ==, 1);
                        with_fd--;
                } else {
                        unsigned seq;

                        memcpy(&seq, got.payload.bytes, sizeof(seq));
                        g_assert_cmpuint(seq, ==, received);
                        g_assert_cmpuint(got.hdr.size, ==, size);
                        g_assert_cmpuint(got.payload.bytes[size - 1], ==, received & 0xff);
                        g_assert_cmpuint(got.n_fds, ==, 0);
                }
                vu_message_close_fds(&got);
                received++;
        }
        g_assert_cmpuint(with_fd, ==, 0);
        g_assert_cmpint(vu_conn_flush(w), ==, 1);
        g_assert_cmpuint(vu_conn_queued(w), ==, 0);
        g_assert_false(vu_conn_want_write(w));
        {
                VuMessage none;

                g_assert_cmpint(vu_conn_read(r, VU_CHANNEL_FRONTEND, false, &none, &err), ==, 0);
        }

        vu_conn_free(w);
        vu_conn_free(r);
        w = r = NULL;
        g_assert_cmpuint(count_fds(), ==, before);
}

/* Freeing a connection with queued messages closes their fds. */
static void test_free_closes_queue(void)
{
        int sv[2];
        VuConnection *w;
        _cleanup_close_ int peer = -1;
        int sndbuf = 4096;
        unsigned before = count_fds();

        make_pair(sv);
        peer = sv[1];
        g_assert_cmpint(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), ==, 0);
        w = vu_conn_new(sv[0]);
        for (unsigned i = 0; vu_conn_queued(w) == 0 || i < 50; i++) {
                VuMessage m;

                g_assert_cmpuint(i, <, 10000);
                vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, i);
                g_assert_cmpint(vu_message_add_fd(&m, new_eventfd()), ==, 0);
                g_assert_cmpint(vu_conn_send(w, &m), ==, 0);
        }
        g_assert_true(vu_conn_want_write(w));
        vu_conn_free(w);
        /* In-flight fds in the peer's receive queue go with the peer. */
        close(peer);
        peer = -1;
        g_assert_cmpuint(count_fds(), ==, before);
}

/* Sending to a closed peer fails with -EPIPE (no SIGPIPE) and still takes
 * the message's fds. */
static void test_send_broken(void)
{
        int sv[2];
        _cleanup_conn_ VuConnection *c = NULL;
        VuMessage m;
        int fd = new_eventfd();

        make_pair(sv);
        c = vu_conn_new(sv[0]);
        close(sv[1]);

        vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, 0);
        g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(c, &m), ==, -EPIPE);
        g_assert_cmpint(m.fds[0], ==, -1);
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS)); /* closed by a closer */
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
        g_assert_false(vu_conn_want_write(c));
        g_assert_cmpint(vu_conn_flush(c), ==, -EPIPE);

        fd = new_eventfd();
        vu_message_init_u64(&m, VU_REQ_SET_VRING_CALL, 0, 0);
        g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(c, &m), ==, -EPIPE);
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS)); /* closed by a closer */
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/vu-connection/fd-passing", test_fd_passing);
        g_test_add_func("/vu-connection/fragmented", test_fragmented);
        g_test_add_func("/vu-connection/too-many-fds", test_too_many_fds);
        g_test_add_func("/vu-connection/bad-header", test_bad_header);
        g_test_add_func("/vu-connection/hangup-between", test_hangup_between);
        g_test_add_func("/vu-connection/hangup-mid", test_hangup_mid);
        g_test_add_func("/vu-connection/write-queue", test_write_queue);
        g_test_add_func("/vu-connection/free-closes-queue", test_free_closes_queue);
        g_test_add_func("/vu-connection/send-broken", test_send_broken);
        return g_test_run();
}
