/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* More than the service should hold: fds where none belong, 10,000 ADDs,
 * and peers that ask without reading, at the hub (a back-end) and at the
 * bridge (a VMM), with replies held behind a slow one. The service stays
 * bounded in fds and queues, answers everything once the peer reads, and
 * serves the others meanwhile; everything in-process
 * (reliability-fixture.h). */

#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "reliability-fixture.h"

/* Sends count raw bytes of one message with nfds /dev/null fds attached
 * (more than a VuMessage can hold). */
static void send_with_fds(int sock, const uint8_t *buf, size_t len, unsigned nfds)
{
        union {
                char b[CMSG_SPACE(sizeof(int) * 16)];
                struct cmsghdr align;
        } control = {0};
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.b,
                            .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        int fds[16];

        g_assert_cmpuint(nfds, <=, 16);
        for (unsigned i = 0; i < nfds; i++)
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
        g_assert_cmpint(sendmsg(sock, &mh, MSG_NOSIGNAL), ==, (ssize_t) len);
        for (unsigned i = 0; i < nfds; i++)
                close(fds[i]);
}

/* fds where none belong: eight on an ADD, twelve (more than the transport
 * takes) on a LOOKUP. Each offender is dropped and every fd closed. And a
 * legal flood: 2,000 LOOKUPs that carry an fd each (the rust-vmm form); the
 * fds are closed as they come, the count stays bounded. */
static void test_fd_flood(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), most = 0;
        const unsigned lookups = g_getenv("VHOST_SHARE_VALGRIND") ? 200 : 2000;
        uint8_t uuid[16], buf[64];
        unsigned answered = 0;
        TestDev *exporter;
        VuMessage m;
        size_t n;
        RawPeer *r;

        test_config_defaults(&c);
        test_service_init(&t, &c);

        for (unsigned round = 0; round < 20; round++) {
                r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
                test_uuid(uuid);
                g_assert_cmpint(test_raw_request(r, VU_BREQ_SHARED_OBJECT_ADD, uuid, NULL), ==, 0);
                if (round % 2 == 0) {
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY,
                                             uuid);
                        test_add_memfds(&m, VU_MAX_FDS);
                        raw_peer_send(r, r->chan, &m);
                } else {
                        n = test_serialize_uuid(VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                                uuid, buf);
                        send_with_fds(vu_conn_fd(r->chan), buf, n, 12);
                }
                g_assert_cmpint(raw_peer_recv(r, r->chan, &m), <, 0);
                TEST_WAIT_FOR(&t, !test_raw_peer_connected(&t, r));
                g_assert_null(share_table_lookup(service_table(t.s), uuid));
                raw_peer_free(r);
                most = MAX(most, fd_count_open());
        }
        g_assert_cmpuint(t.removed, ==, 20);

        exporter = test_dev_new(&t);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        test_uuid(uuid);
        g_assert_cmpint(test_dev_add(exporter, uuid), ==, 0);
        /* A window under max_pending_lookups_per_peer (64): beyond it the
         * hub refuses lookups by design (limits tests). */
        for (unsigned sent = 0; answered < lookups;) {
                VuError err;
                int k;

                while (sent < lookups && sent - answered < 32) {
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                             uuid);
                        test_add_memfds(&m, 1);
                        g_assert_cmpint(vu_conn_send(r->chan, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(r->chan);
                test_service_iterate(&t);
                while ((k = vu_conn_read(r->chan, VU_CHANNEL_BACKEND, true, &m, &err)) == 1) {
                        g_assert_cmpuint(m.payload.u64, ==, 0);
                        g_assert_cmpuint(m.n_fds, ==, 1);
                        vu_message_close_fds(&m);
                        answered++;
                }
                g_assert_cmpint(k, ==, 0);
                most = MAX(most, fd_count_open());
        }
        g_assert_cmpuint(exporter->gets, ==, lookups);
        /* Whatever is in flight, not one fd per request. */
        g_assert_cmpint(most, <, fds + 200);
        g_test_message("fd flood: %u lookups with an fd each; at most %d fds open (%d before)",
                       lookups, most, fds);
        raw_peer_free(r);
        test_dev_free(exporter);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_assert_serves(&t);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* 10,000 ADDs from one back-end, pipelined: the quota (4096 by default)
 * holds, the rest are refused with a non-zero ack, others are served
 * meanwhile, and the hang-up purges all of them. */
static void test_add_flood(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        const unsigned total = 10000;
        unsigned acked = 0, refused = 0, sent = 0;
        uint8_t uuid[16];
        RawPeer *r;

        test_config_defaults(&c);
        g_assert_cmpuint(c.max_objects_per_peer, ==, 4096);
        test_service_init(&t, &c);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        test_uuid(uuid);
        while (acked + refused < total) {
                VuMessage m;
                VuError err;
                int k;

                /* Keep a window in flight, like a busy device would. */
                while (sent < total && sent - (acked + refused) < 256) {
                        uuid[0] = (uint8_t) sent;
                        uuid[1] = (uint8_t) (sent >> 8);
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY,
                                             uuid);
                        g_assert_cmpint(vu_conn_send(r->chan, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(r->chan);
                test_service_iterate(&t);
                while ((k = vu_conn_read(r->chan, VU_CHANNEL_BACKEND, true, &m, &err)) == 1) {
                        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_ADD);
                        if (m.payload.u64 == 0)
                                acked++;
                        else
                                refused++;
                }
                g_assert_cmpint(k, ==, 0);
        }
        g_assert_cmpuint(acked, ==, 4096);
        g_assert_cmpuint(refused, ==, total - 4096);
        g_assert_cmpuint(share_table_size(service_table(t.s)), ==, 4096);
        g_assert_cmpuint(peer_exported_count(service_find_peer(t.s, r->service_peer_id)), ==, 4096);
        test_assert_serves(&t);
        g_assert_true(test_raw_peer_connected(&t, r));

        raw_peer_free(r);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        g_assert_cmpuint(share_table_size(service_table(t.s)), ==, 0);
        g_assert_cmpuint(t.removed, ==, t.added);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* A flood of one request for uuid on a raw peer's conn, and the service's
 * replies read back. */
typedef struct {
        VuConnection *conn;
        VuChannel channel; /* of conn: replies are read as this channel's */
        uint32_t request;
        const uint8_t *uuid;
        unsigned total;
        size_t queued_max; /* bytes left waiting in conn before it stops writing */
        /* Each reply's fd, besides the checks of flood_read(); may be NULL. */
        void (*check_fd)(int fd, unsigned i, void *userdata);
        void *userdata;
        unsigned sent, answered;
} Flood;

/* Queues requests until total are sent or queued_max bytes wait, flushes. */
static void flood_send(Flood *f)
{
        VuMessage m;

        while (f->sent < f->total && vu_conn_queued(f->conn) < f->queued_max) {
                vu_message_init_uuid(&m, f->request, VU_FLAG_NEED_REPLY, f->uuid);
                g_assert_cmpint(vu_conn_send(f->conn, &m), ==, 0);
                f->sent++;
        }
        vu_conn_flush(f->conn);
}

/* Keeps writing while the service reads, until all are out or nothing
 * moves for a while (the service stopped reading from the peer); returns
 * the most fds the process had open meanwhile. */
static int flood_until_quiet(TestService *t, Flood *f)
{
        gint64 end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        int most = 0;

        for (unsigned quiet = 0; f->sent < f->total && quiet < 50;) {
                g_assert_cmpint(g_get_monotonic_time(), <, end);
                flood_send(f);
                quiet = sd_event_run(t->ev, 1000) == 0 ? quiet + 1 : 0;
                most = MAX(most, fd_count_open());
        }
        return most;
}

/* Now the peer reads: sends the rest as the socket takes them and reads
 * until count replies came, no more, each answering the request with one fd (and
 * the ack 0 on a back-end's channel). */
static void flood_read(TestService *t, Flood *f, unsigned count)
{
        while (f->answered < count) {
                VuMessage m;
                VuError err;
                int k;

                flood_send(f);
                test_service_iterate(t);
                while ((k = vu_conn_read(f->conn, f->channel, true, &m, &err)) == 1) {
                        g_assert_cmpuint(m.hdr.request, ==, f->request);
                        if (f->channel == VU_CHANNEL_BACKEND)
                                g_assert_cmpuint(m.payload.u64, ==, 0);
                        g_assert_cmpuint(m.n_fds, ==, 1);
                        if (f->check_fd)
                                f->check_fd(m.fds[0], f->answered, f->userdata);
                        vu_message_close_fds(&m);
                        f->answered++;
                }
                g_assert_cmpint(k, ==, 0);
        }
        g_assert_cmpuint(f->answered, ==, count);
}

/* A back-end that asks and asks (5,000 LOOKUPs of an object the service
 * holds, each answered with a duplicate of its fd) and never reads: the
 * replies cannot leave, so the hub must stop reading from it rather than
 * queue 5,000 replies and their fds. Others are served meanwhile; once the
 * peer reads, every request is answered; its hang-up frees everything. */
static void test_never_reads(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), most;
        uint8_t uuid[16];
        ShareOwner client;
        gint64 end;
        RawPeer *r;
        Flood f;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        test_hold_buffer(&t, &client, uuid);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        f = (Flood){.conn = r->chan,
                    .channel = VU_CHANNEL_BACKEND,
                    .request = VU_BREQ_SHARED_OBJECT_LOOKUP,
                    .uuid = uuid,
                    .total = 5000,
                    .queued_max = 64 * 1024};

        /* Write until the socket is full or all are out; the hub reads as
         * it likes. */
        end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        while (f.sent < f.total && g_get_monotonic_time() < end) {
                VuMessage m;

                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
                g_assert_cmpint(vu_conn_send(r->chan, &m), ==, 0);
                f.sent++;
                while (vu_conn_queued(r->chan) > 64 * 1024 && g_get_monotonic_time() < end) {
                        vu_conn_flush(r->chan);
                        if (sd_event_run(t.ev, 0) == 0 && vu_conn_queued(r->chan) > 64 * 1024)
                                goto stuck; /* the hub stopped reading: good */
                }
        }
stuck:
        /* Let the hub do all it will do. */
        for (unsigned quiet = 0; quiet < 50;) {
                vu_conn_flush(r->chan);
                quiet = sd_event_run(t.ev, 1000) == 0 ? quiet + 1 : 0;
        }
        most = fd_count_open();
        g_test_message("never-reads: %u LOOKUPs written, %d fds open in the process (%d before)",
                       f.sent, most, fds);
        g_assert_cmpint(most, <, fds + 300);
        test_assert_serves(&t);

        /* Now it reads: everything it asked is answered, with the buffer. */
        flood_read(&t, &f, f.total);
        raw_peer_free(r);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_finish_with_client(&t, &client, fds);
}

/* Head of line: the first reply holds the slow exporter's buffer, every
 * other one the held buffer. */
static void check_head_of_line(int fd, unsigned i, void *userdata)
{
        const uint8_t(*uuids)[16] = userdata; /* held, slow */

        g_assert_cmpint(
            memfd_verify_pattern(fd, TEST_BUFFER_SIZE, buffer_pattern_seed(uuids[i ? 0 : 1])), ==,
            0);
}

/* Replies leave in request order: behind one LOOKUP waiting for a silent
 * exporter, 2,000 LOOKUPs of a buffer the service holds are answered at
 * once but must wait their turn, each with an fd. The hub stops reading
 * from that peer instead of holding 2,000 fds; when the exporter answers,
 * everything flows. */
static void test_head_of_line(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), buffer, most;
        uint8_t uuids[2][16]; /* held, slow */
        ShareOwner client;
        RawPeer *exporter, *importer;
        VuMessage m, get;
        Flood f;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        test_hold_buffer(&t, &client, uuids[0]);
        test_uuid(uuids[1]);
        exporter = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        importer = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        g_assert_cmpint(test_raw_request(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuids[1], NULL), ==,
                        0);

        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuids[1]);
        raw_peer_send(importer, importer->chan, &m);
        g_assert_cmpint(raw_peer_recv(exporter, exporter->main, &get), ==, 1);
        /* Keep writing while the first stays unanswered, until the hub
         * stops reading or all are out. */
        f = (Flood){.conn = importer->chan,
                    .channel = VU_CHANNEL_BACKEND,
                    .request = VU_BREQ_SHARED_OBJECT_LOOKUP,
                    .uuid = uuids[0],
                    .total = 2000,
                    .queued_max = 4096,
                    .check_fd = check_head_of_line,
                    .userdata = uuids};
        most = flood_until_quiet(&t, &f);
        g_test_message("head-of-line: %u LOOKUPs written behind a waiting one, at most %d fds "
                       "open (%d before)",
                       f.sent, most, fds);
        g_assert_cmpint(most, <, fds + 150);

        /* The exporter answers: all of them come through, in order. */
        g_assert_cmpint(memfd_new_sealed_pattern("slow", TEST_BUFFER_SIZE,
                                                 buffer_pattern_seed(uuids[1]), &buffer),
                        ==, 0);
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuids[1]);
        g_assert_cmpint(vu_message_add_fd(&m, buffer), ==, 0);
        raw_peer_send(exporter, exporter->main, &m);
        flood_read(&t, &f, f.total + 1);
        raw_peer_free(importer);
        raw_peer_free(exporter);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_finish_with_client(&t, &client, fds);
}

/* The bridge's side of the same: a VMM sending 5,000 GET_SHARED_OBJECT for a
 * buffer the service holds (each answer carries a duplicate of its fd)
 * without reading. Bounded the same way; everything answered once it
 * reads. */
static void test_vmm_never_reads(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), most;
        uint8_t uuid[16];
        ShareOwner client;
        RawPeer *vmm;
        Flood f;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        test_hold_buffer(&t, &client, uuid);
        /* No handshake: a VMM asks at once. */
        vmm = test_raw_peer_new(&t, RAW_PEER_FRONTEND, "vmm", false);
        f = (Flood){.conn = vmm->main,
                    .channel = VU_CHANNEL_FRONTEND,
                    .request = VU_REQ_GET_SHARED_OBJECT,
                    .uuid = uuid,
                    .total = 5000,
                    .queued_max = 4096};

        /* Write while the bridge reads; stop when it stops. */
        flood_until_quiet(&t, &f);
        most = fd_count_open();
        g_test_message("vmm-never-reads: %u GET_SHARED_OBJECT written, %d fds open (%d before)",
                       f.sent, most, fds);
        g_assert_cmpint(most, <, fds + 150);
        test_assert_serves(&t);

        flood_read(&t, &f, f.total);
        raw_peer_free(vmm);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_finish_with_client(&t, &client, fds);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/fd-flood", test_fd_flood);
        g_test_add_func("/reliability/add-flood-quota", test_add_flood);
        g_test_add_func("/reliability/never-reads", test_never_reads);
        g_test_add_func("/reliability/head-of-line", test_head_of_line);
        g_test_add_func("/reliability/vmm-never-reads", test_vmm_never_reads);
        return g_test_run();
}
