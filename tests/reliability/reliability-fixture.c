/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the reliability tests share (see reliability-fixture.h). */
#include "reliability-fixture.h"

#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "buffer-pattern.h"
#include "fd-util.h"

/* What the test back-ends offer. */
#define TEST_PF                                                                                    \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_BACKEND_SEND_FD) | VU_BIT(VU_PF_SHARED_OBJECT))
/* What a raw VMM negotiates with the bridge. */
#define TEST_VMM_PF                                                                                \
        (VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT))

static void on_table_event(ShareTable *table, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        TestService *t = userdata;

        if (ev == SHARE_EVENT_ADDED)
                t->added++;
        else if (ev == SHARE_EVENT_REMOVED)
                t->removed++;
}

void test_config_defaults(ServiceConfig *c)
{
        service_config_init_defaults(c);
        c->reply_timeout_usec = TEST_TIMEOUT_USEC;
        c->lookup_timeout_usec = TEST_TIMEOUT_USEC;
}

void test_service_init(TestService *t, const ServiceConfig *cfg)
{
        *t = (TestService){0};
        g_assert_cmpint(sd_event_new(&t->ev), >=, 0);
        g_assert_cmpint(service_new(t->ev, cfg, &t->s), ==, 0);
        t->table_observer = share_table_add_observer(service_table(t->s), on_table_event, t);
}

void test_service_clear(TestService *t)
{
        share_table_remove_observer(service_table(t->s), t->table_observer);
        service_free(t->s);
        /* Sources the service let go of are gone; nothing may be left. */
        sd_event_unref(t->ev);
        *t = (TestService){0};
}

void test_service_iterate(TestService *t)
{
        g_assert_cmpint(sd_event_run(t->ev, 1000), >=, 0);
}

void test_uuid(uint8_t uuid[16])
{
        uuid_generate_random(uuid);
}

/* ---- TestDev ---- */

static void dev_on_get(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot, void *userdata)
{
        TestDev *d = userdata;
        int fd = -1;

        d->gets++;
        if (uuid)
                g_assert_cmpint(memfd_new_sealed_pattern("test-dev", TEST_BUFFER_SIZE,
                                                         buffer_pattern_seed(uuid), &fd),
                                ==, 0);
        vu_backend_answer_shared_object(b, slot, uuid, fd);
}

static void dev_on_fail(VuBackend *b, int error, const char *reason, void *userdata)
{
        TestDev *d = userdata;

        d->failed = true;
}

static bool dev_ready(TestDev *d)
{
        Peer *p = service_find_peer(d->t->s, d->peer_id);

        return p && peer_state(p) == PEER_STATE_READY && vu_backend_shared_objects(d->b);
}

TestDev *test_dev_new(TestService *t)
{
        TestDev *d = g_new0(TestDev, 1);
        VuBackendOps ops = {
            .protocol_features = TEST_PF,
            .queues = 1,
            .reply_timeout_usec = TEST_TIMEOUT_USEC,
            .get_shared_object = dev_on_get,
            .on_fail = dev_on_fail,
        };
        Peer *p;
        int sv[2];

        d->t = t;
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(t->s, ROLE_FRONTEND, sv[0], "test-dev", &p), ==, 0);
        d->peer_id = peer_id(p);
        g_assert_cmpint(vu_backend_new(t->ev, sv[1], &ops, "test-dev", d, &d->b), ==, 0);
        TEST_WAIT_FOR(t, dev_ready(d) || d->failed);
        g_assert_false(d->failed);
        return d;
}

void test_dev_free(TestDev *d)
{
        if (!d)
                return;
        vu_backend_free(d->b);
        g_free(d);
}

typedef struct {
        bool done;
        int64_t result;
        int fd;
} DevCall;

static void dev_on_ack(VuBackend *b, int64_t result, void *userdata)
{
        DevCall *c = userdata;

        c->result = result;
        c->done = true;
}

int64_t test_dev_add(TestDev *d, const uint8_t uuid[16])
{
        DevCall c = {0};

        g_assert_cmpint(vu_backend_add(d->b, uuid, dev_on_ack, &c), ==, 0);
        TEST_WAIT_FOR(d->t, c.done);
        return c.result;
}

static void dev_on_lookup(VuBackend *b, int fd, int error, void *userdata)
{
        DevCall *c = userdata;

        c->fd = fd >= 0 ? fd : error;
        c->done = true;
}

int test_dev_lookup(TestDev *d, const uint8_t uuid[16])
{
        DevCall c = {0};

        g_assert_cmpint(vu_backend_lookup(d->b, uuid, dev_on_lookup, &c), ==, 0);
        TEST_WAIT_FOR(d->t, c.done);
        if (c.fd >= 0)
                g_assert_cmpint(
                    memfd_verify_pattern(c.fd, TEST_BUFFER_SIZE, buffer_pattern_seed(uuid)), ==, 0);
        return c.fd;
}

/* ---- raw peers ---- */

static void raw_wait(void *userdata, int fd, short events, int timeout_ms)
{
        test_service_iterate(userdata);
}

static void raw_fail(void *userdata, const char *msg)
{
        g_error("%s", msg);
}

bool test_raw_peer_connected(TestService *t, RawPeer *r)
{
        return service_find_peer(t->s, r->service_peer_id) != NULL;
}

static bool raw_peer_ready(TestService *t, RawPeer *r)
{
        Peer *p = service_find_peer(t->s, r->service_peer_id);

        g_assert_nonnull(p);
        return peer_state(p) == PEER_STATE_READY;
}

RawPeer *test_raw_peer_new(TestService *t, RawPeerRole role, const char *name, bool handshake)
{
        const RawPeerEnv env = {.wait = raw_wait, .fail = raw_fail, .userdata = t};
        /* We are the hub of a raw back-end, the bridge of a raw VMM. */
        Role ours = role == RAW_PEER_BACKEND ? ROLE_FRONTEND : ROLE_BACKEND;
        RawPeer *r;
        Peer *p;
        int sv[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(t->s, ours, sv[0], name, &p), ==, 0);
        r = raw_peer_new(role, sv[1], &env);
        r->service_peer_id = peer_id(p);
        if (!handshake)
                return r;
        raw_peer_handshake(r, role == RAW_PEER_BACKEND ? TEST_PF : TEST_VMM_PF);
        TEST_WAIT_FOR(t, raw_peer_ready(t, r));
        return r;
}

int64_t test_raw_request(RawPeer *r, uint32_t request, const uint8_t uuid[16], int *ret_fd)
{
        VuMessage m;
        int k;

        k = raw_peer_request(r, request, uuid, -1, &m);
        if (k < 0)
                return k;
        g_assert_cmpuint(m.hdr.request, ==, request);
        g_assert_cmpuint(m.hdr.size, ==, sizeof(uint64_t));
        if (ret_fd)
                *ret_fd = m.n_fds > 0 ? vu_message_steal_fd(&m, 0) : -1;
        vu_message_close_fds(&m);
        return (int64_t) m.payload.u64;
}

void test_assert_serves(TestService *t)
{
        TestDev *exporter = test_dev_new(t), *importer = test_dev_new(t);
        uint8_t uuid[16];
        int fd;

        test_uuid(uuid);
        g_assert_cmpint(test_dev_add(exporter, uuid), ==, 0);
        fd = test_dev_lookup(importer, uuid);
        g_assert_cmpint(fd, >=, 0);
        close(fd);
        test_dev_free(importer);
        test_dev_free(exporter);
        TEST_WAIT_FOR(t, share_table_lookup(service_table(t->s), uuid) == NULL);
}

/* ---- what the tests do to peers ---- */

size_t test_serialize_uuid(uint32_t request, uint32_t flags, const uint8_t uuid[16],
                           uint8_t buf[VU_HEADER_SIZE + VU_UUID_SIZE])
{
        VuMessage m;

        vu_message_init_uuid(&m, request, flags, uuid);
        return vu_message_serialize(&m, buf, VU_HEADER_SIZE + VU_UUID_SIZE);
}

void test_write_all(int fd, const void *buf, size_t len)
{
        g_assert_cmpint(write(fd, buf, len), ==, (ssize_t) len);
}

void test_add_memfds(VuMessage *m, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                int fd;

                g_assert_cmpint(memfd_new_sealed_pattern("flood", 64, 0, &fd), ==, 0);
                g_assert_cmpint(vu_message_add_fd(m, fd), ==, 0);
        }
}

void test_answer_get(RawPeer *r, uint32_t request, const uint8_t *uuid)
{
        VuMessage m;

        vu_message_init_uuid(&m, request, VU_FLAG_REPLY, uuid);
        test_add_memfds(&m, 1);
        raw_peer_send(r, r->main, &m);
}

void test_on_lookup(VuBackend *b, int fd, int error, void *userdata)
{
        TestLookup *l = userdata;

        l->fd = fd >= 0 ? fd : error;
        l->done = true;
}

void test_hold_buffer(TestService *t, ShareOwner *client, uint8_t uuid[16])
{
        int buffer;

        share_owner_init(client, SHARE_OWNER_BUS_CLIENT, ":1.test", 0);
        test_uuid(uuid);
        g_assert_cmpint(
            memfd_new_sealed_pattern("held", TEST_BUFFER_SIZE, buffer_pattern_seed(uuid), &buffer),
            ==, 0);
        g_assert_cmpint(service_export_fd(t->s, uuid, buffer, client, NULL, NULL), ==, 0);
}

void test_finish_with_client(TestService *t, ShareOwner *client, int fds)
{
        share_table_remove_owner(service_table(t->s), client);
        share_owner_clear(client);
        test_service_clear(t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}
