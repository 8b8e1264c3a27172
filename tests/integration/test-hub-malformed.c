/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub against a raw back-end that breaks the protocol: silent in the
 * handshake, malformed replies on the main socket, malformed requests on
 * the back-end channel, a reply nobody asked for. The offender is dropped
 * with its objects; the devices are served on. */

#include <string.h>

#include <glib.h>

#include "hub-fixture.h"
#include "vu-message.h"

static void test_raw_handshake_timeout(Fixture *f, gconstpointer data)
{
        g_autofree char *conf = harness_path(f->h, "vhost-shared.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);
        VuMessage m;
        RawPeer *r;

        g_assert_true(g_file_set_contents(conf, "[Service]\nReplyTimeoutMSec=1000\n", -1, NULL));
        start_hub(f, conf_arg, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        /* A back-end that connects and then says nothing. */
        r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_FEATURES);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_free(r);
        harness_expect_output(f->hub, HARNESS_STDERR, "no reply to GET_FEATURES in time",
                              TEST_TIMEOUT_MS);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

/* Malformed replies on the main socket during the handshake. */
typedef struct {
        const char *name;
        uint32_t request; /* of the reply to GET_FEATURES */
        uint32_t flags;
        uint32_t size;
        const char *reason; /* in the hub's log */
} MalformedReply;

static const MalformedReply malformed_replies[] = {
    {"reply-to-another-request", VU_REQ_GET_PROTOCOL_FEATURES, VU_FLAG_REPLY | VU_VERSION, 8,
     "does not answer"},
    {"reply-without-reply-flag", VU_REQ_GET_FEATURES, VU_VERSION, 8, "REPLY flag"},
    {"reply-wrong-size", VU_REQ_GET_FEATURES, VU_FLAG_REPLY | VU_VERSION, 4, "payload size"},
};

static void test_raw_malformed_reply(Fixture *f, gconstpointer data)
{
        const MalformedReply *c = data;
        VuMessage m;
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);
        g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_FEATURES);
        vu_message_init(&m, c->request, 0, c->size);
        m.hdr.flags = c->flags;
        raw_peer_send(r, r->main, &m);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_free(r);
        harness_expect_output(f->hub, HARNESS_STDERR, c->reason, TEST_TIMEOUT_MS);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

/* Malformed input on the back-end channel: header fields as raw bytes. */
typedef struct {
        const char *name;
        uint32_t request;
        uint32_t flags;
        uint32_t size;       /* what the header claims */
        uint32_t sent_bytes; /* payload bytes actually sent */
        const char *reason;  /* in the hub's log */
} Malformed;

static const Malformed malformed_cases[] = {
    {"bad-version", VU_BREQ_SHARED_OBJECT_ADD, 0x2, 16, 16, "version bits"},
    {"too-large", VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 5000, 0, "4096"},
    {"add-wrong-size", VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION | VU_FLAG_NEED_REPLY, 8, 8,
     "payload size"},
    {"reply-flag-on-request", VU_BREQ_SHARED_OBJECT_LOOKUP, VU_VERSION | VU_FLAG_REPLY, 16, 16,
     "REPLY flag"},
};

static void test_raw_malformed(Fixture *f, gconstpointer data)
{
        const Malformed *c = data;
        uint8_t buf[VU_HEADER_SIZE + 16] = {0}, uuid[16];
        VuHeader hdr = {.request = c->request, .flags = c->flags, .size = c->size};
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);
        g_autofree char *before = export_ok(f, a, UUID_A);

        /* The offender owns an object, which must go with it. */
        r = raw_connect(f, RAW_FEATURES);
        parse_uuid(UUID_C, uuid);
        raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid, -1);
        VuMessage m;
        g_assert_cmpint(raw_peer_recv(r, r->chan, &m), ==, 1);
        g_assert_cmpuint(m.payload.u64, ==, 0);

        memcpy(buf, &hdr, sizeof(hdr));
        memcpy(buf + VU_HEADER_SIZE, uuid, MIN(c->sent_bytes, 16u));
        raw_peer_send_bytes(r, r->chan, buf, VU_HEADER_SIZE + MIN(c->sent_bytes, 16u));
        raw_peer_wait_hangup(r, r->main);
        raw_peer_wait_hangup(r, r->chan);
        harness_expect_output(f->hub, HARNESS_STDERR, c->reason, TEST_TIMEOUT_MS);
        raw_peer_free(r);

        import_fails(f, b, UUID_C);
        import_ok(f, b, UUID_A, before);
        g_autofree char *after = export_ok(f, a, UUID_B);
        import_ok(f, b, UUID_B, after);
}

static void test_raw_unrequested_reply(Fixture *f, gconstpointer data)
{
        VuMessage m;
        RawPeer *r;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);
        r = raw_connect(f, RAW_FEATURES);
        /* A reply nobody asked for, on the main socket. */
        vu_message_init_u64(&m, VU_REQ_GET_FEATURES, VU_FLAG_REPLY, 0);
        raw_peer_send(r, r->main, &m);
        raw_peer_wait_hangup(r, r->main);
        raw_peer_wait_hangup(r, r->chan);
        harness_expect_output(f->hub, HARNESS_STDERR, "no request outstanding", TEST_TIMEOUT_MS);
        raw_peer_free(r);
        g_autofree char *dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        HUB_TEST_ADD("/hub/raw/handshake-timeout", NULL, test_raw_handshake_timeout);
        HUB_TEST_ADD("/hub/raw/malformed/unrequested-reply", NULL, test_raw_unrequested_reply);
        for (unsigned i = 0; i < G_N_ELEMENTS(malformed_replies); i++) {
                g_autofree char *path =
                    g_strdup_printf("/hub/raw/malformed/%s", malformed_replies[i].name);
                HUB_TEST_ADD(path, &malformed_replies[i], test_raw_malformed_reply);
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(malformed_cases); i++) {
                g_autofree char *path =
                    g_strdup_printf("/hub/raw/malformed/%s", malformed_cases[i].name);
                HUB_TEST_ADD(path, &malformed_cases[i], test_raw_malformed);
        }
        return g_test_run();
}
