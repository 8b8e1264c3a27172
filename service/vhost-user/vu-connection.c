/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vu-connection.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "async-close.h"

/* The kernel passes at most SCM_MAX_FD (253) fds in one message. Room for
 * all of them means surplus fds reach us and get closed, and MSG_CTRUNC only
 * happens when something else overflows. */
#define RX_FDS_ROOM 253

typedef struct {
        uint8_t *data;
        size_t len;
        size_t off;
        int fds[VU_MAX_FDS];
        unsigned n_fds;
} OutMessage;

struct VuConnection {
        int fd;

        /* The message being received. */
        VuMessage rx;
        size_t rx_hdr_got;
        size_t rx_payload_got;
        /* A protocol error is final: the stream cannot be resynchronised. */
        int rx_error;
        VuError rx_vu_error;
        /* This process ran out of fds while receiving the message. */
        bool rx_fds_lost;
        bool last_fds_lost;

        GQueue tx; /* of OutMessage */
        size_t tx_bytes;
        int tx_error;
};

/* Every fd on a connection, the socket itself included, may have come from
 * a peer: closed by a closer (async-close.h), never here. */
static void close_fds(int *fds, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                async_close(fds[i]);
                fds[i] = -1;
        }
}

static void out_message_free(OutMessage *o)
{
        close_fds(o->fds, o->n_fds);
        g_free(o->data);
        g_free(o);
}

static void rx_reset(VuConnection *c)
{
        vu_message_close_fds(&c->rx);
        memset(&c->rx.hdr, 0, sizeof(c->rx.hdr));
        c->rx_hdr_got = 0;
        c->rx_payload_got = 0;
        c->rx_fds_lost = false;
}

VuConnection *vu_conn_new(int fd)
{
        VuConnection *c;
        int flags;

        if (fd < 0)
                return NULL;
        flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && !(flags & O_NONBLOCK))
                (void) fcntl(fd, F_SETFL, flags | O_NONBLOCK);

        /* Started before the first fd from a peer, so that the fds it holds
         * are there from the start. */
        (void) async_close_init();
        c = g_new0(VuConnection, 1);
        c->fd = fd;
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                c->rx.fds[i] = -1;
        g_queue_init(&c->tx);
        return c;
}

void vu_conn_free(VuConnection *c)
{
        OutMessage *o;

        if (!c)
                return;
        rx_reset(c);
        while ((o = g_queue_pop_head(&c->tx)))
                out_message_free(o);
        async_close(c->fd);
        g_free(c);
}

int vu_conn_fd(const VuConnection *c)
{
        return c->fd;
}

static int fail(VuConnection *c, VuError e, VuError *err)
{
        rx_reset(c);
        c->rx_error = -EPROTO;
        c->rx_vu_error = e;
        if (err)
                *err = e;
        return -EPROTO;
}

/* Takes the fds of every SCM_RIGHTS block: the first VU_MAX_FDS of the
 * message are kept, the rest closed. Returns false when the peer sent more
 * than that. With room for SCM_MAX_FD in the control buffer, MSG_CTRUNC
 * means the kernel could not install an fd here (RLIMIT_NOFILE): that is
 * our shortage, not the peer's fault, and is noted as lost fds instead. */
static bool take_fds(VuConnection *c, struct msghdr *mh)
{
        bool ok = true;

        if (mh->msg_flags & MSG_CTRUNC)
                c->rx_fds_lost = true;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (c->rx.n_fds < VU_MAX_FDS) {
                                c->rx.fds[c->rx.n_fds++] = fd;
                        } else {
                                async_close(fd);
                                ok = false;
                        }
                }
        }
        return ok;
}

/* One recvmsg into buf. Returns bytes read, 0 on EOF, -EAGAIN or -errno;
 * *fds_ok is false when fds were lost or closed for excess. */
static ssize_t recv_some(VuConnection *c, void *buf, size_t len, bool *fds_ok)
{
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(RX_FDS_ROOM * sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        struct msghdr mh = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = &control,
            .msg_controllen = sizeof(control),
        };
        ssize_t n;

        do
                n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        *fds_ok = take_fds(c, &mh);
        return n;
}

/* Reads into buf until *got reaches want. Returns 1 when it has, 0 when the
 * socket has nothing more for now, -EPROTO (err set) when fds came in
 * excess, or another -errno; *eof is set at end of stream. */
static int recv_exactly(VuConnection *c, uint8_t *buf, size_t want, size_t *got, bool *eof,
                        VuError *err)
{
        *eof = false;
        while (*got < want) {
                bool fds_ok = true;
                ssize_t n = recv_some(c, buf + *got, want - *got, &fds_ok);

                if (n == -EAGAIN)
                        return 0;
                if (n < 0)
                        return (int) n;
                if (!fds_ok)
                        return fail(c, VU_ERR_TOO_MANY_FDS, err);
                if (n == 0) {
                        *eof = true;
                        return 0;
                }
                *got += (size_t) n;
        }
        return 1;
}

int vu_conn_read(VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m, VuError *err)
{
        bool eof;
        VuError e;
        int r;

        if (err)
                *err = VU_OK;
        if (c->rx_error < 0) {
                if (err)
                        *err = c->rx_vu_error;
                return c->rx_error;
        }

        if (c->rx_hdr_got < VU_HEADER_SIZE) {
                r = recv_exactly(c, (uint8_t *) &c->rx.hdr, VU_HEADER_SIZE, &c->rx_hdr_got, &eof,
                                 err);
                if (eof && c->rx_hdr_got == 0 && c->rx.n_fds == 0)
                        return -EPIPE;
                if (eof)
                        return fail(c, VU_ERR_SHORT_HEADER, err);
                if (r <= 0)
                        return r;
                e = vu_header_check(&c->rx.hdr, ch, is_reply);
                if (e != VU_OK)
                        return fail(c, e, err);
        }

        r = recv_exactly(c, c->rx.payload.bytes, c->rx.hdr.size, &c->rx_payload_got, &eof, err);
        if (eof)
                return fail(c, VU_ERR_SHORT_PAYLOAD, err);
        if (r <= 0)
                return r;

        e = vu_message_check(&c->rx, ch, is_reply);
        if (e == VU_ERR_MISSING_FD && c->rx_fds_lost) {
                /* The fd it needed never got here: out of fds, not malformed. */
                rx_reset(c);
                c->rx_error = -EMFILE;
                c->rx_vu_error = VU_OK;
                return -EMFILE;
        }
        if (e != VU_OK)
                return fail(c, e, err);

        c->last_fds_lost = c->rx_fds_lost;
        m->hdr = c->rx.hdr;
        memcpy(m->payload.bytes, c->rx.payload.bytes, c->rx.hdr.size);
        memcpy(m->fds, c->rx.fds, sizeof(m->fds));
        m->n_fds = c->rx.n_fds;
        /* The fds now belong to m. */
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                c->rx.fds[i] = -1;
        c->rx.n_fds = 0;
        rx_reset(c);
        return 1;
}

bool vu_conn_last_fds_lost(const VuConnection *c)
{
        return c->last_fds_lost;
}

int vu_conn_send(VuConnection *c, VuMessage *m)
{
        OutMessage *o;
        size_t len;

        o = g_new0(OutMessage, 1);
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                o->fds[i] = -1;
        /* Take the fds first so that they are gone from m whatever happens. */
        for (unsigned i = 0; i < m->n_fds && i < VU_MAX_FDS; i++) {
                int fd = vu_message_steal_fd(m, i);

                if (fd >= 0)
                        o->fds[o->n_fds++] = fd;
        }
        m->n_fds = 0;

        if (c->tx_error < 0) {
                out_message_free(o);
                return c->tx_error;
        }
        if (m->hdr.size > VU_PAYLOAD_MAX) {
                out_message_free(o);
                return -EMSGSIZE;
        }
        len = VU_HEADER_SIZE + m->hdr.size;
        o->data = g_malloc(len);
        o->len = vu_message_serialize(m, o->data, len);
        g_queue_push_tail(&c->tx, o);
        c->tx_bytes += o->len;

        return MIN(vu_conn_flush(c), 0);
}

/* One sendmsg of what remains of o, its fds on the first byte. */
static ssize_t send_some(VuConnection *c, OutMessage *o)
{
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = o->data + o->off, .iov_len = o->len - o->off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (o->off == 0 && o->n_fds > 0) {
                struct cmsghdr *cm;

                memset(&control, 0, sizeof(control));
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(o->n_fds * sizeof(int));
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(o->n_fds * sizeof(int));
                memcpy(CMSG_DATA(cm), o->fds, o->n_fds * sizeof(int));
        }
        do
                n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
}

int vu_conn_flush(VuConnection *c)
{
        OutMessage *o;

        if (c->tx_error < 0)
                return c->tx_error;
        while ((o = g_queue_peek_head(&c->tx))) {
                ssize_t n = send_some(c, o);

                if (n == -EAGAIN)
                        return 0;
                if (n < 0) {
                        /* Nothing queued will ever go out: release it now. */
                        c->tx_error = (int) n;
                        while ((o = g_queue_pop_head(&c->tx)))
                                out_message_free(o);
                        c->tx_bytes = 0;
                        return c->tx_error;
                }
                /* Once a byte is out the kernel holds its own references. */
                close_fds(o->fds, o->n_fds);
                o->n_fds = 0;
                o->off += (size_t) n;
                c->tx_bytes -= (size_t) n;
                if (o->off == o->len) {
                        g_queue_pop_head(&c->tx);
                        out_message_free(o);
                }
        }
        return 1;
}

bool vu_conn_receiving(const VuConnection *c)
{
        return c->rx_hdr_got > 0 || c->rx.n_fds > 0;
}

bool vu_conn_want_write(const VuConnection *c)
{
        return c->tx_error == 0 && c->tx.length > 0;
}

unsigned vu_conn_queued_messages(const VuConnection *c)
{
        return c->tx.length;
}

size_t vu_conn_queued(const VuConnection *c)
{
        return c->tx_bytes;
}
