/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Peers that break off: a back-end that hangs up inside a message or
 * inside a handshake reply, one that stalls after a partial header, and an
 * exporter that dies while its importer can no longer take the answer. The
 * hub drops the offender with its objects, leaves no fd behind and serves
 * the others; everything in-process (reliability-fixture.h). */

#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "reliability-fixture.h"

/* A back-end hangs up in the middle of an ADD: dropped, its earlier object
 * purged; others served. */
static void test_disconnect_mid_message(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        uint8_t kept[16], cut[16], buf[64];
        size_t n;
        RawPeer *r;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        test_uuid(kept);
        test_uuid(cut);
        g_assert_cmpint(test_raw_request(r, VU_BREQ_SHARED_OBJECT_ADD, kept, NULL), ==, 0);
        g_assert_nonnull(share_table_lookup(service_table(t.s), kept));

        n = test_serialize_uuid(VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, cut, buf);
        test_write_all(vu_conn_fd(r->chan), buf, n - 8); /* header and half the uuid */
        test_service_iterate(&t);
        raw_peer_free(r);
        TEST_WAIT_FOR(&t, share_table_lookup(service_table(t.s), kept) == NULL);
        g_assert_null(share_table_lookup(service_table(t.s), cut));
        g_assert_cmpuint(t.removed, ==, 1);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_assert_serves(&t);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* Hanging up inside the header of a handshake reply. */
static void test_disconnect_mid_handshake(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), sv[2];
        const uint8_t half_header[6] = {1, 0, 0, 0, 5, 0};
        Peer *p;
        uint64_t id;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(t.s, ROLE_FRONTEND, sv[0], "raw", &p), ==, 0);
        id = peer_id(p);
        test_write_all(sv[1], half_header, sizeof(half_header));
        test_service_iterate(&t);
        close(sv[1]);
        TEST_WAIT_FOR(&t, service_find_peer(t.s, id) == NULL);
        test_assert_serves(&t);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* A partial header, then nothing: the stalled peer holds at most one
 * message's buffer and nobody waits for it, so it gets no deadline. The
 * others are served meanwhile, and the message completes when the rest
 * arrives. */
static void test_partial_header_stall(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        uint8_t uuid[16], buf[64];
        VuMessage m;
        size_t n;
        RawPeer *r;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        test_uuid(uuid);
        n = test_serialize_uuid(VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid, buf);
        test_write_all(vu_conn_fd(r->chan), buf, 5);

        test_assert_serves(&t);
        test_assert_serves(&t);
        g_assert_true(test_raw_peer_connected(&t, r));
        g_assert_null(share_table_lookup(service_table(t.s), uuid));

        test_write_all(vu_conn_fd(r->chan), buf + 5, n - 5);
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_ADD);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        g_assert_nonnull(share_table_lookup(service_table(t.s), uuid));

        raw_peer_free(r);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        g_assert_cmpuint(share_table_size(service_table(t.s)), ==, 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* The exporter dies with a lookup outstanding, and the importer can no
 * longer take the answer (it shut its reading side): failing the lookup
 * fails the importer's channel too, from inside the exporter's teardown.
 * Both go, nothing is touched after it was freed (a use-after-free under
 * ASan before the fix), others are served. */
static void test_importer_gone_when_exporter_fails(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        RawPeer *exporter, *importer;
        uint8_t uuid[16];
        VuMessage m;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        exporter = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        importer = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        test_uuid(uuid);
        g_assert_cmpint(test_raw_request(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, NULL), ==, 0);
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
        raw_peer_send(importer, importer->chan, &m);
        g_assert_cmpint(raw_peer_recv(exporter, exporter->main, &m), ==, 1);
        /* No hang-up the hub would notice: only its sends will fail. */
        g_assert_cmpint(shutdown(vu_conn_fd(importer->chan), SHUT_RD), ==, 0);
        raw_peer_free(exporter);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        g_assert_cmpuint(share_table_size(service_table(t.s)), ==, 0);
        test_assert_serves(&t);
        raw_peer_free(importer);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/disconnect-mid-message", test_disconnect_mid_message);
        g_test_add_func("/reliability/disconnect-mid-handshake", test_disconnect_mid_handshake);
        g_test_add_func("/reliability/partial-header-stall", test_partial_header_stall);
        g_test_add_func("/reliability/importer-gone-when-exporter-fails",
                        test_importer_gone_when_exporter_fails);
        return g_test_run();
}
