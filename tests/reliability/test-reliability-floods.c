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

/* A back-end that asks and asks (5,000 LOOKUPs of an object the service
 * holds, each answered with a duplicate of its fd) and never reads: the
 * replies cannot leave, so the hub must stop reading from it rather than
 * queue 5,000 replies and their fds. Others are served meanwhile; once the
 * peer reads, every request is answered; its hang-up frees everything. */
static void test_never_reads(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), buffer, most;
        const unsigned total = 5000;
        unsigned answered = 0, sent = 0;
        uint8_t uuid[16];
        ShareOwner client;
        gint64 end;
        RawPeer *r;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.test", 0);
        test_uuid(uuid);
        g_assert_cmpint(
            memfd_new_sealed_pattern("held", TEST_BUFFER_SIZE, buffer_pattern_seed(uuid), &buffer),
            ==, 0);
        g_assert_cmpint(service_export_fd(t.s, uuid, buffer, &client, NULL, NULL), ==, 0);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);

        /* Write until the socket is full or all are out; the hub reads as
         * it likes. */
        end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        while (sent < total && g_get_monotonic_time() < end) {
                VuMessage m;

                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
                g_assert_cmpint(vu_conn_send(r->chan, &m), ==, 0);
                sent++;
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
                       sent, most, fds);
        g_assert_cmpint(most, <, fds + 300);
        test_assert_serves(&t);

        /* Now it reads: everything it asked is answered, with the buffer. */
        while (answered < sent || sent < total) {
                VuMessage m;
                VuError err;
                int k;

                while (sent < total && vu_conn_queued(r->chan) < 64 * 1024) {
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                             uuid);
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
        }
        g_assert_cmpuint(answered, ==, total);
        raw_peer_free(r);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_finish_with_client(&t, &client, fds);
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
        int fds = fd_count_open(), buffer, most = 0;
        const unsigned total = 2000;
        unsigned answered = 0, sent = 0;
        uint8_t held[16], slow[16];
        ShareOwner client;
        RawPeer *exporter, *importer;
        VuMessage m, get;
        gint64 end;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.test", 0);
        test_uuid(held);
        test_uuid(slow);
        g_assert_cmpint(
            memfd_new_sealed_pattern("held", TEST_BUFFER_SIZE, buffer_pattern_seed(held), &buffer),
            ==, 0);
        g_assert_cmpint(service_export_fd(t.s, held, buffer, &client, NULL, NULL), ==, 0);
        exporter = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        importer = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        g_assert_cmpint(test_raw_request(exporter, VU_BREQ_SHARED_OBJECT_ADD, slow, NULL), ==, 0);

        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, slow);
        raw_peer_send(importer, importer->chan, &m);
        g_assert_cmpint(raw_peer_recv(exporter, exporter->main, &get), ==, 1);
        /* Keep writing while the first stays unanswered, until the hub
         * stops reading (nothing moves for a while) or all are out. */
        end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        for (unsigned quiet = 0; sent < total && quiet < 50;) {
                g_assert_cmpint(g_get_monotonic_time(), <, end);
                while (sent < total && vu_conn_queued(importer->chan) < 4096) {
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                             held);
                        g_assert_cmpint(vu_conn_send(importer->chan, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(importer->chan);
                quiet = sd_event_run(t.ev, 1000) == 0 ? quiet + 1 : 0;
                most = MAX(most, fd_count_open());
        }
        g_test_message("head-of-line: %u LOOKUPs written behind a waiting one, at most %d fds "
                       "open (%d before)",
                       sent, most, fds);
        g_assert_cmpint(most, <, fds + 150);

        /* The exporter answers: all of them come through, in order. */
        g_assert_cmpint(
            memfd_new_sealed_pattern("slow", TEST_BUFFER_SIZE, buffer_pattern_seed(slow), &buffer),
            ==, 0);
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, slow);
        g_assert_cmpint(vu_message_add_fd(&m, buffer), ==, 0);
        raw_peer_send(exporter, exporter->main, &m);
        while (answered < total + 1) {
                VuError err;
                int k;

                while (sent < total && vu_conn_queued(importer->chan) < 4096) {
                        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                             held);
                        g_assert_cmpint(vu_conn_send(importer->chan, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(importer->chan);
                test_service_iterate(&t);
                while ((k = vu_conn_read(importer->chan, VU_CHANNEL_BACKEND, true, &m, &err)) ==
                       1) {
                        g_assert_cmpuint(m.payload.u64, ==, 0);
                        g_assert_cmpuint(m.n_fds, ==, 1);
                        g_assert_cmpint(
                            memfd_verify_pattern(m.fds[0], TEST_BUFFER_SIZE,
                                                 buffer_pattern_seed(answered ? held : slow)),
                            ==, 0);
                        vu_message_close_fds(&m);
                        answered++;
                }
                g_assert_cmpint(k, ==, 0);
        }
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
        int fds = fd_count_open(), buffer, most;
        const unsigned total = 5000;
        unsigned answered = 0, sent = 0;
        uint8_t uuid[16];
        ShareOwner client;
        RawPeer *vmm;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.test", 0);
        test_uuid(uuid);
        g_assert_cmpint(
            memfd_new_sealed_pattern("held", TEST_BUFFER_SIZE, buffer_pattern_seed(uuid), &buffer),
            ==, 0);
        g_assert_cmpint(service_export_fd(t.s, uuid, buffer, &client, NULL, NULL), ==, 0);
        /* No handshake: a VMM asks at once. */
        vmm = test_raw_peer_new(&t, RAW_PEER_FRONTEND, "vmm", false);

        /* Write while the bridge reads; stop when it stops. */
        for (unsigned quiet = 0; sent < total && quiet < 50;) {
                while (sent < total && vu_conn_queued(vmm->main) < 4096) {
                        VuMessage m;

                        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_NEED_REPLY,
                                             uuid);
                        g_assert_cmpint(vu_conn_send(vmm->main, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(vmm->main);
                quiet = sd_event_run(t.ev, 1000) == 0 ? quiet + 1 : 0;
        }
        most = fd_count_open();
        g_test_message("vmm-never-reads: %u GET_SHARED_OBJECT written, %d fds open (%d before)",
                       sent, most, fds);
        g_assert_cmpint(most, <, fds + 150);
        test_assert_serves(&t);

        while (answered < total) {
                VuMessage m;
                VuError err;
                int k;

                while (sent < total && vu_conn_queued(vmm->main) < 4096) {
                        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_NEED_REPLY,
                                             uuid);
                        g_assert_cmpint(vu_conn_send(vmm->main, &m), ==, 0);
                        sent++;
                }
                vu_conn_flush(vmm->main);
                test_service_iterate(&t);
                while ((k = vu_conn_read(vmm->main, VU_CHANNEL_FRONTEND, true, &m, &err)) == 1) {
                        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
                        g_assert_cmpuint(m.n_fds, ==, 1);
                        vu_message_close_fds(&m);
                        answered++;
                }
                g_assert_cmpint(k, ==, 0);
        }
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
