/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's glue (core/hub.c) in-process: a hub peer adopted on one end of
 * a socketpair, the device's back-end engine (VuBackend) on the other. What
 * the peer shows of the negotiation and when, the back-end's ADD / REMOVE
 * in the table, its LOOKUP served from the table, and lookups of its
 * exports through GET_SHARED_OBJECT with the service's counters, whatever
 * way the GET ends (answered, refused, hung up on, a failed send, the
 * importer gone). */

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"

#define BUFFER_SIZE 4096
#define LONG_USEC (30ull * 1000 * 1000)

static const uint8_t uuid_a[SHARE_UUID_SIZE] = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x41, 0x00,
                                                0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8};
static const uint8_t uuid_b[SHARE_UUID_SIZE] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0x4b, 0xb7,
                                                0x8b, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

typedef enum {
        ANSWER_PATTERN, /* the buffer of the UUID asked for */
        ANSWER_EVENTFD, /* an fd that is no buffer */
        ANSWER_HOLD,    /* the slot is kept, answered by the test or dropped */
} Answer;

typedef struct Bench Bench;

/* The back-end of one hub peer: the device's engine on the other end. */
typedef struct {
        Bench *bench;
        VuBackend *b;
        uint64_t peer_id;
        Peer *peer; /* valid while peer_id is found */
        int sock;   /* a second fd of the engine's socket */
        Answer answer;
        unsigned asked;
        VuReplySlot *held;
        int64_t ack;      /* last ADD / REMOVE ack; INT64_MIN while pending */
        int lookup_fd;    /* LOOKUP's answer */
        int lookup_error; /* 1 while pending */
} Device;

typedef struct {
        int fd;
        int error; /* 1 while pending */
} Lookup;

struct Bench {
        sd_event *event;
        Service *service;
        unsigned observer;
        /* Heard by the observer for the peer under test. */
        unsigned changed_negotiated; /* CHANGED in negotiating with SHARED_OBJECT set */
        bool gone_heard;
        uint64_t features_at_gone;
        bool shared_objects_at_gone;
};

#define RUN_UNTIL(b, cond)                                                                         \
        do {                                                                                       \
                gint64 deadline_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;                    \
                while (!(cond)) {                                                                  \
                        g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                     \
                        g_assert_cmpint(sd_event_run((b)->event, 10 * 1000), >=, 0);               \
                }                                                                                  \
        } while (0)

static void on_peer(Service *s, Peer *p, PeerEvent ev, void *userdata)
{
        Bench *b = userdata;

        if (ev == PEER_EVENT_CHANGED && peer_state(p) == PEER_STATE_NEGOTIATING &&
            (peer_protocol_features(p) & VU_BIT(VU_PF_SHARED_OBJECT)))
                b->changed_negotiated++;
        if (ev == PEER_EVENT_GONE) {
                b->gone_heard = true;
                b->features_at_gone = peer_features(p);
                b->shared_objects_at_gone = peer_shared_objects(p);
        }
}

static void bench_init(Bench *b, const ServiceConfig *cfg)
{
        *b = (Bench){0};
        g_assert_cmpint(sd_event_new(&b->event), >=, 0);
        g_assert_cmpint(service_new(b->event, cfg, &b->service), ==, 0);
        b->observer = service_add_peer_observer(b->service, on_peer, b);
}

static void bench_clear(Bench *b)
{
        service_free(b->service);
        sd_event_unref(b->event);
}

static int new_pattern_memfd(const uint8_t uuid[SHARE_UUID_SIZE])
{
        int fd = -1;

        g_assert_cmpint(
            memfd_new_sealed_pattern("test", BUFFER_SIZE, buffer_pattern_seed(uuid), &fd), ==, 0);
        return fd;
}

static void assert_pattern(int fd, const uint8_t uuid[SHARE_UUID_SIZE])
{
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(memfd_verify_pattern(fd, BUFFER_SIZE, buffer_pattern_seed(uuid)), ==, 0);
}

/* ---- the device ---- */

static void device_get_shared_object(VuBackend *vb, const uint8_t *uuid, VuReplySlot *slot,
                                     void *userdata)
{
        Device *d = userdata;

        d->asked++;
        g_assert_nonnull(uuid);
        if (d->answer == ANSWER_PATTERN)
                vu_backend_answer_shared_object(vb, slot, uuid, new_pattern_memfd(uuid));
        else if (d->answer == ANSWER_EVENTFD)
                vu_backend_answer_shared_object(vb, slot, uuid, eventfd(0, EFD_CLOEXEC));
        else
                d->held = slot;
}

static void device_on_fail(VuBackend *vb, int error, const char *reason, void *userdata)
{
        g_error("the device's engine broke: %s", reason);
}

static void device_on_ack(VuBackend *vb, int64_t result, void *userdata)
{
        Device *d = userdata;

        d->ack = result;
}

static void device_on_lookup(VuBackend *vb, int fd, int error, void *userdata)
{
        Device *d = userdata;

        d->lookup_fd = fd;
        d->lookup_error = error;
}

/* A hub peer and its device, once the handshake is over. */
static void device_connect(Bench *bench, Device *d, const char *name)
{
        VuBackendOps ops = {
            .protocol_features = VU_SHARED_OBJECT_PROTOCOL_FEATURES,
            .queues = 1,
            .reply_timeout_usec = LONG_USEC,
            .get_shared_object = device_get_shared_object,
            .on_fail = device_on_fail,
        };
        Peer *p = NULL;
        int sv[2];

        *d = (Device){.bench = bench, .ack = INT64_MIN, .lookup_fd = -1, .lookup_error = 1};
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        d->sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(d->sock, >=, 0);
        g_assert_cmpint(service_adopt_peer(bench->service, ROLE_FRONTEND, sv[0], name, &p), ==, 0);
        d->peer_id = peer_id(p);
        d->peer = p;
        g_assert_cmpint(vu_backend_new(bench->event, sv[1], &ops, name, d, &d->b), ==, 0);
        RUN_UNTIL(bench, peer_state(p) == PEER_STATE_READY && vu_backend_shared_objects(d->b));
}

/* The device hangs up; the hub closes the peer (no --connect: no retry). */
static void device_hang_up(Device *d)
{
        vu_backend_free(g_steal_pointer(&d->b));
        fd_close_safe(&d->sock);
        d->held = NULL;
        RUN_UNTIL(d->bench, !service_find_peer(d->bench->service, d->peer_id));
        d->peer = NULL;
}

static void device_export(Device *d, const uint8_t uuid[SHARE_UUID_SIZE])
{
        d->ack = INT64_MIN;
        g_assert_cmpint(vu_backend_add(d->b, uuid, device_on_ack, d), ==, 0);
        RUN_UNTIL(d->bench, d->ack != INT64_MIN);
        g_assert_cmpint(d->ack, ==, 0);
}

/* A service with one hub peer that exports uuid_a. */
static void bench_init_exporter(Bench *b, const ServiceConfig *cfg, Device *d)
{
        bench_init(b, cfg);
        device_connect(b, d, "dev");
        device_export(d, uuid_a);
}

/* ---- service_lookup() as a bus client would call it ---- */

static void on_lookup_done(Service *s, int fd, int error, void *userdata)
{
        Lookup *l = userdata;

        g_assert_true((fd >= 0) == (error == 0));
        l->fd = fd;
        l->error = error;
}

static void assert_no_lookups_pending(Bench *b, Device *d)
{
        g_assert_cmpuint(b->service->pending_lookups, ==, 0);
        if (d->peer)
                g_assert_cmpuint(d->peer->pending_gets, ==, 0);
}

/* ---- the tests ---- */

static void test_handshake(void)
{
        Bench b;
        Device d;

        bench_init(&b, NULL);
        device_connect(&b, &d, "dev");
        /* The peer shows what the engine negotiated. */
        g_assert_cmphex(peer_features(d.peer), ==,
                        VU_BIT(VIRTIO_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
        g_assert_cmphex(peer_protocol_features(d.peer), ==, VU_SHARED_OBJECT_PROTOCOL_FEATURES);
        g_assert_true(peer_shared_objects(d.peer));
        /* Observers heard the protocol features before the peer was ready. */
        g_assert_cmpuint(b.changed_negotiated, ==, 1);
        g_assert_false(b.gone_heard);

        device_hang_up(&d);
        /* Gone without its engine: nothing negotiated any more. */
        g_assert_true(b.gone_heard);
        g_assert_cmphex(b.features_at_gone, ==, 0);
        g_assert_false(b.shared_objects_at_gone);
        bench_clear(&b);
}

static void test_add_remove(void)
{
        ShareEntry *e;
        Bench b;
        Device d;

        bench_init_exporter(&b, NULL, &d);
        e = share_table_lookup(service_table(b.service), uuid_a);
        g_assert_nonnull(e);
        g_assert_cmpint(share_entry_type(e), ==, SHARE_TYPE_VHOST_DEV);
        g_assert_true(share_entry_owner(e) == peer_owner(d.peer));
        g_assert_cmpuint(peer_exported_count(d.peer), ==, 1);

        /* The first writer keeps the UUID: a second ADD is refused (1). */
        d.ack = INT64_MIN;
        g_assert_cmpint(vu_backend_add(d.b, uuid_a, device_on_ack, &d), ==, 0);
        RUN_UNTIL(&b, d.ack != INT64_MIN);
        g_assert_cmpint(d.ack, ==, 1);

        d.ack = INT64_MIN;
        g_assert_cmpint(vu_backend_remove(d.b, uuid_a, device_on_ack, &d), ==, 0);
        RUN_UNTIL(&b, d.ack != INT64_MIN);
        g_assert_cmpint(d.ack, ==, 0);
        g_assert_null(share_table_lookup(service_table(b.service), uuid_a));
        g_assert_cmpuint(peer_exported_count(d.peer), ==, 0);

        /* What it still exports is purged when it goes. */
        device_export(&d, uuid_b);
        device_hang_up(&d);
        g_assert_cmpuint(share_table_size(service_table(b.service)), ==, 0);
        bench_clear(&b);
}

static void test_lookup_from_table(void)
{
        ShareOwner mine;
        Bench b;
        Device d;

        bench_init(&b, NULL);
        share_owner_init(&mine, SHARE_OWNER_SERVICE, "test", (uid_t) -1);
        g_assert_cmpint(
            service_export_fd(b.service, uuid_a, new_pattern_memfd(uuid_a), &mine, NULL, NULL), ==,
            0);
        device_connect(&b, &d, "dev");

        g_assert_cmpint(vu_backend_lookup(d.b, uuid_a, device_on_lookup, &d), ==, 0);
        RUN_UNTIL(&b, d.lookup_error != 1);
        g_assert_cmpint(d.lookup_error, ==, 0);
        assert_pattern(d.lookup_fd, uuid_a);
        close(d.lookup_fd);

        /* Unknown here, and no VMM to ask: refused. */
        d.lookup_error = 1;
        g_assert_cmpint(vu_backend_lookup(d.b, uuid_b, device_on_lookup, &d), ==, 0);
        RUN_UNTIL(&b, d.lookup_error != 1);
        g_assert_cmpint(d.lookup_error, ==, -ENOENT);
        g_assert_cmpint(d.lookup_fd, <, 0);

        device_hang_up(&d);
        share_table_remove_owner(service_table(b.service), &mine);
        share_owner_clear(&mine);
        bench_clear(&b);
}

static void test_get_answered(void)
{
        Lookup l = {.fd = -1, .error = 1};
        Bench b;
        Device d;

        bench_init_exporter(&b, NULL, &d);
        g_assert_cmpint(service_lookup(b.service, uuid_a, on_lookup_done, &l), ==, 0);
        g_assert_cmpuint(b.service->pending_lookups, ==, 1);
        g_assert_cmpuint(d.peer->pending_gets, ==, 1);
        RUN_UNTIL(&b, l.error != 1);
        g_assert_cmpint(l.error, ==, 0);
        assert_pattern(l.fd, uuid_a);
        close(l.fd);
        g_assert_cmpuint(d.asked, ==, 1);
        assert_no_lookups_pending(&b, &d);
        device_hang_up(&d);
        bench_clear(&b);
}

/* An fd that is no buffer never reaches the importer. */
static void test_get_not_a_buffer(void)
{
        Lookup l = {.fd = -1, .error = 1};
        Bench b;
        Device d;
        int fds;

        bench_init_exporter(&b, NULL, &d);
        d.answer = ANSWER_EVENTFD;
        fds = fd_count_open();
        g_assert_cmpint(service_lookup(b.service, uuid_a, on_lookup_done, &l), ==, 0);
        RUN_UNTIL(&b, l.error != 1);
        g_assert_cmpint(l.error, ==, -EBADFD);
        g_assert_cmpint(l.fd, <, 0);
        g_assert_cmpint(fd_count_open(), ==, fds);
        assert_no_lookups_pending(&b, &d);
        /* A refused answer is the exporter's fault, not a broken connection. */
        g_assert_cmpint(peer_state(d.peer), ==, PEER_STATE_READY);
        device_hang_up(&d);
        bench_clear(&b);
}

static void test_get_limits(void)
{
        Lookup l[2] = {{.fd = -1, .error = 1}, {.fd = -1, .error = 1}};
        ServiceConfig c;
        Bench b;
        Device d;

        service_config_init_defaults(&c);
        c.max_pending_lookups_per_peer = 1;
        bench_init_exporter(&b, &c, &d);
        d.answer = ANSWER_HOLD;
        g_assert_cmpint(service_lookup(b.service, uuid_a, on_lookup_done, &l[0]), ==, 0);
        g_assert_cmpint(service_lookup(b.service, uuid_a, on_lookup_done, &l[1]), ==, -EBUSY);
        g_assert_cmpuint(b.service->pending_lookups, ==, 1);
        g_assert_cmpuint(d.peer->pending_gets, ==, 1);
        RUN_UNTIL(&b, d.asked == 1);

        /* The exporter hangs up on the GET it holds: the importer hears it. */
        device_hang_up(&d);
        g_assert_cmpint(l[0].error, ==, -ECONNRESET);
        g_assert_cmpint(l[1].error, ==, 1); /* never started */
        assert_no_lookups_pending(&b, &d);
        bench_clear(&b);
}

/* The GET cannot even be sent: the exporter has shut its reading side. The
 * peer breaks at once, its entries go, and the lookup fails without done. */
static void test_get_send_fails(void)
{
        Lookup l = {.fd = -1, .error = 1};
        Bench b;
        Device d;

        bench_init_exporter(&b, NULL, &d);
        g_assert_cmpint(shutdown(d.sock, SHUT_RD), ==, 0);
        g_assert_cmpint(service_lookup(b.service, uuid_a, on_lookup_done, &l), ==, -EPIPE);
        g_assert_cmpint(l.error, ==, 1);
        g_assert_null(service_find_peer(b.service, d.peer_id));
        /* Closed, but its memory stays until the loop reaps it (peer.c). */
        g_assert_cmpstr(peer_last_error(d.peer), ==, "sending a request failed");
        d.peer = NULL;
        assert_no_lookups_pending(&b, &d);
        g_assert_cmpuint(share_table_size(service_table(b.service)), ==, 0);
        /* Its own end reads EOF now: gone before the loop sees it. */
        device_hang_up(&d);
        bench_clear(&b);
}

/* The importer leaves while its LOOKUP waits on another peer's export: the
 * late answer's fd is closed, nothing is sent, nothing leaks. */
static void test_importer_gone(void)
{
        Bench b;
        Device exporter, importer;
        int fds;

        bench_init(&b, NULL);
        device_connect(&b, &exporter, "exporter");
        device_connect(&b, &importer, "importer");
        device_export(&exporter, uuid_a);
        exporter.answer = ANSWER_HOLD;
        g_assert_cmpint(vu_backend_lookup(importer.b, uuid_a, device_on_lookup, &importer), ==, 0);
        RUN_UNTIL(&b, exporter.held);
        g_assert_cmpuint(b.service->pending_lookups, ==, 1);
        g_assert_cmpuint(exporter.peer->pending_gets, ==, 1);

        device_hang_up(&importer);
        g_assert_cmpint(importer.lookup_error, ==, -ECONNRESET);
        /* Still waiting on the exporter. */
        g_assert_cmpuint(b.service->pending_lookups, ==, 1);

        fds = fd_count_open();
        vu_backend_answer_shared_object(exporter.b, g_steal_pointer(&exporter.held), uuid_a,
                                        new_pattern_memfd(uuid_a));
        RUN_UNTIL(&b, b.service->pending_lookups == 0);
        assert_no_lookups_pending(&b, &exporter);
        g_assert_cmpint(fd_count_open(), ==, fds);
        g_assert_cmpint(peer_state(exporter.peer), ==, PEER_STATE_READY);
        device_hang_up(&exporter);
        bench_clear(&b);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        log_set_max_level(LOG_DEBUG);
        g_test_add_func("/hub-peer/handshake", test_handshake);
        g_test_add_func("/hub-peer/add-remove", test_add_remove);
        g_test_add_func("/hub-peer/lookup-from-table", test_lookup_from_table);
        g_test_add_func("/hub-peer/get/answered", test_get_answered);
        g_test_add_func("/hub-peer/get/not-a-buffer", test_get_not_a_buffer);
        g_test_add_func("/hub-peer/get/limits-and-hangup", test_get_limits);
        g_test_add_func("/hub-peer/get/send-fails", test_get_send_fails);
        g_test_add_func("/hub-peer/importer-gone", test_importer_gone);
        return g_test_run();
}
