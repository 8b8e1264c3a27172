/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub against a raw back-end speaking the protocol by hand, as
 * libvhost-user and rust-vmm do: ADD and LOOKUP with and without fds,
 * invalid UUIDs, GET_SHARED_OBJECT answered with an error or a bad buffer,
 * and a back-end without SHARED_OBJECT. */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "hub-fixture.h"
#include "vu-message.h"

static void test_raw_libvhost_user(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        RawPeer *r, *importer;
        uint8_t uuid[16];
        VuMessage m;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, buffer_pattern_seed(uuid), &buffer),
                        ==, 0);
        r = raw_connect(f, RAW_LIBVHOST_USER_FEATURES);
        g_assert_true(r->asked_queue_num);
        importer = raw_connect(f, RAW_LIBVHOST_USER_FEATURES);

        /* libvhost-user: ADD without NEED_REPLY, then a lookup of its own
         * object, refused at once (it could not answer a GET while it
         * waits): the answer is the next message on its channel. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, 0, uuid, -1);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid), ==, 1);
        /* Another back-end's lookup is served by it. */
        raw_send_uuid(importer, importer->chan, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                      uuid, -1);
        raw_serve_get(f, r, uuid, buffer);
        raw_expect_lookup_reply(f, importer, buffer, uuid);
        assert_quiet(f, importer->chan, "the importer's back-end channel");
        raw_peer_free(importer);

        /* The next reply on the channel answers the next request: nothing
         * stray in between, and the ADD did register it to us. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_REMOVE, VU_FLAG_NEED_REPLY, uuid, -1);
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_REMOVE);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        g_assert_cmpuint(m.n_fds, ==, 0);
        assert_quiet(f, r->chan, "back-end channel");
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

static void test_raw_rust_vmm(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1, stray = -1;
        RawPeer *r, *importer;
        uint8_t uuid[16];
        VuMessage m;
        int baseline;

        start_hub(f, NULL);
        parse_uuid(UUID_B, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, buffer_pattern_seed(uuid), &buffer),
                        ==, 0);
        g_assert_cmpint(memfd_new_sealed_pattern("stray", 4096, 0x5a, &stray), ==, 0);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_false(r->asked_queue_num);
        importer = raw_connect(f, RAW_FEATURES);

        /* rust-vmm asks for an ack when REPLY_ACK is on. */
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid, -1);
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_ADD);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        baseline = harness_count_fds(harness_proc_pid(f->hub));
        g_test_message("hub fd baseline with the raw peer: %d", baseline);

        /* rust-vmm's form: the LOOKUP request carries an fd. */
        raw_send_uuid(importer, importer->chan, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                      uuid, stray);
        raw_serve_get(f, r, uuid, buffer);
        raw_expect_lookup_reply(f, importer, buffer, uuid);
        g_assert_false(same_inode(stray, buffer));
        /* The stray fd was closed, the forwarded one too. */
        harness_wait_fd_count(f->hub, baseline, TEST_TIMEOUT_MS);
        assert_quiet(f, importer->chan, "back-end channel");
        raw_peer_free(importer);
        raw_peer_free(r);
}

static void test_raw_invalid_uuid(Fixture *f, gconstpointer data)
{
        uint8_t nil[16] = {0}, max[16], ok[16];
        RawPeer *r;

        memset(max, 0xff, sizeof(max));
        parse_uuid(UUID_A, ok);
        start_hub(f, NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, nil), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, max), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, nil), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, max), !=, 0);
        /* Refusals are answers, not a reason to drop the peer. */
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, ok), ==, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, ok), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, ok), ==, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, ok), !=, 0);
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

static void test_raw_get_error_reply(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        uint8_t uuid[16];
        VuMessage m, reply;
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, buffer_pattern_seed(uuid), &buffer),
                        ==, 0);
        HarnessProc *importer = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), ==, 0);

        /* rust-vmm's error answer to GET_SHARED_OBJECT: empty, no fd. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        vu_message_init(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);

        /* The exporter stays, and answers properly the next time. */
        harness_send_line(importer, "import %s", UUID_A);
        raw_serve_get(f, r, uuid, buffer);
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
        raw_peer_free(r);
}

/* An exporter's answer is checked before it reaches the importer: another
 * object's UUID, or an fd that is not a buffer, fails the lookup (and the
 * fd is not passed on); the exporter stays. */
static void test_raw_get_bad_answers(Fixture *f, gconstpointer data)
{
        _cleanup_close_ int buffer = -1;
        int pipefd[2];
        uint8_t uuid[16], other[16];
        VuMessage m, reply;
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        parse_uuid(UUID_B, other);
        g_assert_cmpint(memfd_new_sealed_pattern("raw", 4096, buffer_pattern_seed(uuid), &buffer),
                        ==, 0);
        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        HarnessProc *importer = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), ==, 0);

        /* A pipe instead of a buffer. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(pipefd[0])), ==, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "neither a dma-buf nor a sealed memfd",
                              TEST_TIMEOUT_MS);

        /* The right buffer, but labelled with another UUID. */
        harness_send_line(importer, "import %s", UUID_A);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, other);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(buffer)), ==, 0);
        raw_peer_send(r, r->main, &reply);
        import_fails(f, importer, UUID_A);
        harness_expect_output(f->hub, HARNESS_STDERR, "with another object's UUID",
                              TEST_TIMEOUT_MS);

        /* The exporter stays and a proper answer goes through. */
        harness_send_line(importer, "import %s", UUID_A);
        raw_serve_get(f, r, uuid, buffer);
        const HarnessLine *l = harness_expect_line(importer, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, importer, l, "IMPORTED", UUID_A);
        close(pipefd[0]);
        close(pipefd[1]);
        raw_peer_free(r);
}

static void test_raw_no_shared_object(Fixture *f, gconstpointer data)
{
        uint8_t uuid[16];
        RawPeer *r;

        start_hub(f, NULL);
        parse_uuid(UUID_A, uuid);
        /* A back-end channel but no SHARED_OBJECT: still a valid peer. */
        r = raw_connect(f, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ));
        harness_expect_output(f->hub, HARNESS_STDERR, "(no SHARED_OBJECT", TEST_TIMEOUT_MS);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid), !=, 0);
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_REMOVE, uuid), !=, 0);
        HarnessProc *d = start_device(f, "device", NULL);
        import_fails(f, d, UUID_A);
        g_free(export_ok(f, d, UUID_A));
        /* Its lookups are refused even for objects that exist. */
        g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid), !=, 0);
        assert_quiet(f, r->main, "main socket");
        raw_peer_free(r);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        HUB_TEST_ADD("/hub/raw/libvhost-user-add-lookup", NULL, test_raw_libvhost_user);
        HUB_TEST_ADD("/hub/raw/rust-vmm-lookup-with-fd", NULL, test_raw_rust_vmm);
        HUB_TEST_ADD("/hub/raw/invalid-uuid", NULL, test_raw_invalid_uuid);
        HUB_TEST_ADD("/hub/raw/get-error-reply", NULL, test_raw_get_error_reply);
        HUB_TEST_ADD("/hub/raw/get-bad-answers", NULL, test_raw_get_bad_answers);
        HUB_TEST_ADD("/hub/raw/no-shared-object", NULL, test_raw_no_shared_object);
        return g_test_run();
}
