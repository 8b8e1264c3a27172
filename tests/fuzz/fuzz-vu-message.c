/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the vhost-user codec and framing.
 *
 * Input: one mode byte, then the bytes a peer sends.
 *   bit 0     channel (0 front-end ids, 1 back-end ids)
 *   bit 1     read as replies
 *   bits 2-5  fds attached to the first byte sent (0-15)
 *   bits 6-7  write size: everything at once, 1, 5 or 13 bytes per write
 * The bytes are parsed as one message in all four channel/reply modes, then
 * sent through a socketpair into vu_conn_read; each message read is checked
 * and echoed back with vu_conn_send. Any fd left open afterwards aborts. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "async-close.h"
#include "vu-connection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FD_SCAN 256

/* What travels as fds: one /dev/null kept open for the whole run (a socket
 * would put itself in flight and keep the kernel's unix GC busy). */
static int devnull = -1;

static void die(const char *what)
{
        fprintf(stderr, "fuzz-vu-message: %s\n", what);
        abort();
}

/* Which fds below FD_SCAN are open: compared before and after each input. */
static void open_fds(uint8_t map[FD_SCAN])
{
        /* Fds handed to the closers are closed once they are idle; their
         * plumbing is there from the first scan on. */
        if (async_close_init() < 0 || !async_close_wait_idle(30000))
                die("the closers are stuck");
        for (int fd = 0; fd < FD_SCAN; fd++)
                map[fd] = fcntl(fd, F_GETFD) >= 0;
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];

        for (int c = 0; c < 2; c++) {
                for (int r = 0; r < 2; r++) {
                        VuChannel ch = c ? VU_CHANNEL_BACKEND : VU_CHANNEL_FRONTEND;
                        VuMessage m;
                        VuError e = vu_message_parse(data, size, ch, r, &m);

                        char names[512];

                        if (!vu_error_to_string(e))
                                die("error without text");
                        /* What a log line would do with a header, valid or not. */
                        if (size >= VU_HEADER_SIZE) {
                                VuHeader hdr;

                                memcpy(&hdr, data, sizeof(hdr));
                                if (!vu_request_name(ch, hdr.request) ||
                                    vu_request_max_fds(ch, hdr.request) > VU_MAX_FDS)
                                        die("bad name or fd limit");
                        }
                        if (size >= VU_HEADER_SIZE + 8) {
                                uint64_t mask;

                                memcpy(&mask, data + VU_HEADER_SIZE, sizeof(mask));
                                vu_protocol_features_to_string(mask, names,
                                                               (size_t) (data[0] % sizeof(names)));
                                vu_protocol_features_to_string(mask, names, sizeof(names));
                                if (strlen(names) >= sizeof(names))
                                        die("feature string overflows");
                                if (!vu_protocol_feature_name(data[4] % 64))
                                        die("feature without name");
                        }
                        if (m.n_fds != 0)
                                die("parse produced fds");
                        if (e != VU_OK)
                                continue;
                        /* A message that parses serialises back to the same bytes. */
                        if (vu_message_serialize(&m, buf, sizeof(buf)) != size ||
                            memcmp(buf, data, size) != 0)
                                die("round trip differs");
                        if (!vu_request_name(ch, m.hdr.request))
                                die("request without name");
                        if (m.hdr.size > VU_PAYLOAD_MAX)
                                die("oversized message accepted");
                }
        }
}

/* Sends data[*off..] in pieces of at most chunk bytes until the socket is
 * full or all is sent; the first piece carries n_fds fds. */
static void feed(int sock, const uint8_t *data, size_t size, size_t *off, size_t chunk,
                 unsigned n_fds)
{
        while (*off < size) {
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(16 * sizeof(int))];
                } control;
                int fds[16];
                struct iovec iov = {.iov_base = (void *) (data + *off),
                                    .iov_len = chunk && chunk < size - *off ? chunk : size - *off};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
                ssize_t n;

                if (*off == 0 && n_fds > 0) {
                        struct cmsghdr *cm;

                        memset(&control, 0, sizeof(control));
                        for (unsigned i = 0; i < n_fds; i++)
                                fds[i] = -1;
                        for (unsigned i = 0; i < n_fds; i++) {
                                fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
                                if (fds[i] < 0)
                                        die("dup failed");
                        }
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                        cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                        memcpy(CMSG_DATA(cm), fds, n_fds * sizeof(int));
                        n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                        for (unsigned i = 0; i < n_fds; i++)
                                close(fds[i]);
                } else {
                        n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return; /* full (or the reader is gone): read first */
                *off += (size_t) n;
                if (chunk)
                        return; /* one piece per round: the reader sees fragments */
        }
}

/* Reads every complete message; returns the last vu_conn_read result. */
static int drain(VuConnection *c, VuChannel ch, bool is_reply)
{
        for (;;) {
                VuMessage m;
                VuError err = VU_OK;
                int r = vu_conn_read(c, ch, is_reply, &m, &err);

                if (r < 0) {
                        if (r == -EPROTO && (err == VU_OK || !vu_error_to_string(err)))
                                die("-EPROTO without a reason");
                        return r;
                }
                if (r == 0)
                        return 0;
                if (vu_message_check(&m, ch, is_reply) != VU_OK)
                        die("vu_conn_read returned a message that fails the check");
                if (m.n_fds > VU_MAX_FDS)
                        die("more than VU_MAX_FDS fds");
                for (unsigned i = 0; i < m.n_fds; i++)
                        if (fcntl(m.fds[i], F_GETFD) < 0)
                                die("message holds a closed fd");
                /* Echo it: exercises the send queue and fd hand-over. */
                (void) vu_conn_send(c, &m);
                for (unsigned i = 0; i < VU_MAX_FDS; i++)
                        if (m.fds[i] != -1)
                                die("vu_conn_send left an fd in the message");
        }
}

static void fuzz_transport(uint8_t mode, const uint8_t *data, size_t size)
{
        static const size_t chunks[4] = {0, 1, 5, 13};
        VuChannel ch = (mode & 1) ? VU_CHANNEL_BACKEND : VU_CHANNEL_FRONTEND;
        bool is_reply = mode & 2;
        unsigned n_fds = (mode >> 2) & 0xf;
        size_t chunk = chunks[mode >> 6];
        VuConnection *c;
        size_t off = 0;
        int sv[2], r = 0;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair failed");
        c = vu_conn_new(sv[0]);
        if (!c)
                die("vu_conn_new failed");

        while (off < size && r == 0) {
                size_t before = off;

                feed(sv[1], data, size, &off, chunk, n_fds);
                r = drain(c, ch, is_reply);
                if (off == before && r == 0)
                        die("no progress: socket full and nothing to read");
        }
        if (r == 0) {
                shutdown(sv[1], SHUT_WR);
                r = drain(c, ch, is_reply);
                /* After a hang-up the reader must end, never wait for more. */
                if (r == 0)
                        die("vu_conn_read waits after the peer hung up");
        }
        vu_conn_free(c);
        close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t before[FD_SCAN], after[FD_SCAN];

        if (size < 1 || size > 1 + 4 * (VU_HEADER_SIZE + VU_PAYLOAD_MAX))
                return 0;
        if (devnull < 0) {
                devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull < 0)
                        die("cannot open /dev/null");
        }
        open_fds(before);
        fuzz_parse(data + 1, size - 1);
        fuzz_transport(data[0], data + 1, size - 1);
        open_fds(after);
        if (memcmp(before, after, sizeof(before)) != 0)
                die("fd leak");
        return 0;
}
