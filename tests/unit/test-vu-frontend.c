/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine (vhost-user/frontend.c) against a scripted back-end
 * on a socketpair: the handshake in each of its shapes, the back-end
 * channel's ADD / REMOVE / LOOKUP, GET_SHARED_OBJECT and its answer checks,
 * hang-ups, the engine freed from inside each of its callbacks, and the
 * engine talking to the back-end engine (backend.c) end to end. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "buffer-pattern.h"
#include "fd-util.h"
#include "frontend.h"
#include "log.h"
#include "uuid-util.h"
#include "vu-connection.h"

#define LONG_USEC (5 * G_USEC_PER_SEC)
#define SHORT_USEC (50 * 1000)
/* Features the back-ends in these tests offer: ours plus one we never ask. */
#define ALL_PF (VU_SHARED_OBJECT_PROTOCOL_FEATURES | VU_BIT(VU_PF_CONFIG))
#define BASE_FEATURES (VU_BIT(VIRTIO_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES))

static const uint8_t uuid_a[VU_UUID_SIZE] = {0x5e, 0x1f, 0x00, 0x01, 0xaa, 0xbb, 0x40, 0x01,
                                             0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
static const uint8_t uuid_b[VU_UUID_SIZE] = {0x5e, 0x1f, 0x00, 0x02, 0xaa, 0xbb, 0x40, 0x02,
                                             0x80, 0x02, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08};

/* Where a test frees the engine from inside a callback. */
typedef enum {
        FREE_NOWHERE,
        FREE_IN_CHANGE,
        FREE_IN_READY,
        FREE_IN_FAIL,
        FREE_IN_ADD,
        FREE_IN_REMOVE,
        FREE_IN_LOOKUP,
        FREE_IN_CHECK,
        FREE_IN_GET_DONE,
} FreeIn;

typedef struct {
        VuReplySlot *slot;
        uint8_t uuid[VU_UUID_SIZE];
} Lookup;

typedef struct {
        int fd;
        int error;
} GetResult;

typedef struct {
        sd_event *event;
        VuFrontend *f;
        VuConnection *be_main; /* the scripted back-end's end of the main socket */
        VuConnection *be_chan; /* its end of the back-end channel, once handed over */
        VuFrontendOps ops;
        FreeIn free_in;

        /* What the engine told us, in order: "change", "ready", "fail",
         * "add", "remove", "lookup", "check", "get". */
        GString *events;
        int fail_error;
        char *fail_reason;
        int add_result, remove_result; /* what on_add / on_remove return */
        GArray *added, *removed;       /* uuids */
        GArray *lookups;               /* Lookup */
        int check_result;              /* what check_object returns */
        GArray *gets;                  /* GetResult */
} T;

static void note(T *t, const char *what)
{
        g_string_append_printf(t->events, "%s%s", t->events->len ? " " : "", what);
}

static void maybe_free(T *t, FreeIn where)
{
        if (t->free_in != where)
                return;
        vu_frontend_free(t->f);
        t->f = NULL;
        note(t, "freed");
}

static void on_change(VuFrontend *f, void *userdata)
{
        T *t = userdata;

        note(t, "change");
        maybe_free(t, FREE_IN_CHANGE);
}

static void on_ready(VuFrontend *f, void *userdata)
{
        T *t = userdata;

        note(t, "ready");
        g_assert_true(vu_frontend_ready(f));
        maybe_free(t, FREE_IN_READY);
}

static void on_fail(VuFrontend *f, int error, const char *reason, void *userdata)
{
        T *t = userdata;

        note(t, "fail");
        t->fail_error = error;
        g_free(t->fail_reason);
        t->fail_reason = g_strdup(reason);
        maybe_free(t, FREE_IN_FAIL);
}

/* ADD and REMOVE: noted, kept in uuids, answered with result. */
static int on_add_remove(T *t, const char *what, GArray *uuids, const uint8_t *uuid, FreeIn where,
                         int result)
{
        note(t, what);
        g_array_append_vals(uuids, uuid, VU_UUID_SIZE);
        maybe_free(t, where);
        return result;
}

static int on_add(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        T *t = userdata;

        return on_add_remove(t, "add", t->added, uuid, FREE_IN_ADD, t->add_result);
}

static int on_remove(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        T *t = userdata;

        return on_add_remove(t, "remove", t->removed, uuid, FREE_IN_REMOVE, t->remove_result);
}

static void on_lookup(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], VuReplySlot *slot,
                      void *userdata)
{
        T *t = userdata;
        Lookup l = {.slot = slot};

        note(t, "lookup");
        memcpy(l.uuid, uuid, VU_UUID_SIZE);
        g_array_append_val(t->lookups, l);
        maybe_free(t, FREE_IN_LOOKUP);
}

static int check_object(VuFrontend *f, int fd, const char **why, void *userdata)
{
        T *t = userdata;

        note(t, "check");
        g_assert_cmpint(fd, >=, 0);
        maybe_free(t, FREE_IN_CHECK);
        if (t->check_result < 0)
                *why = "with an fd the test refuses";
        return t->check_result;
}

static void on_get(VuFrontend *f, int fd, int error, void *userdata)
{
        T *t = userdata;
        GetResult g = {.fd = fd, .error = error};

        note(t, "get");
        /* Either an fd and 0, or none and an error. */
        g_assert_true((fd >= 0) == (error == 0));
        g_array_append_val(t->gets, g);
        maybe_free(t, FREE_IN_GET_DONE);
}

#define RUN_UNTIL(t, cond)                                                                         \
        do {                                                                                       \
                gint64 deadline_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;                    \
                while (!(cond)) {                                                                  \
                        g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                     \
                        g_assert_cmpint(sd_event_run((t)->event, 10 * 1000), >=, 0);               \
                }                                                                                  \
        } while (0)

static void t_init_timeouts(T *t, uint64_t reply_usec, uint64_t get_usec)
{
        int sv[2];

        *t = (T){
            .ops =
                {
                    .reply_timeout_usec = reply_usec,
                    .get_shared_object_timeout_usec = get_usec,
                    .on_change = on_change,
                    .on_ready = on_ready,
                    .on_fail = on_fail,
                    .on_add = on_add,
                    .on_remove = on_remove,
                    .on_lookup = on_lookup,
                    .check_object = check_object,
                },
        };
        g_assert_cmpint(sd_event_new(&t->event), >=, 0);
        g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        g_assert_cmpint(vu_frontend_new(t->event, sv[0], &t->ops, "be", t, &t->f), ==, 0);
        t->be_main = vu_conn_new(sv[1]);
        t->events = g_string_new(NULL);
        t->added = g_array_new(false, false, 1);
        t->removed = g_array_new(false, false, 1);
        t->lookups = g_array_new(false, false, sizeof(Lookup));
        t->gets = g_array_new(false, false, sizeof(GetResult));
}

static void t_init(T *t)
{
        t_init_timeouts(t, LONG_USEC, LONG_USEC);
}

static void t_clear(T *t)
{
        vu_frontend_free(t->f);
        vu_conn_free(t->be_main);
        vu_conn_free(t->be_chan);
        for (guint i = 0; i < t->gets->len; i++) {
                int fd = g_array_index(t->gets, GetResult, i).fd;
                fd_close_safe(&fd);
        }
        g_array_free(t->gets, true);
        g_array_free(t->lookups, true);
        g_array_free(t->added, true);
        g_array_free(t->removed, true);
        g_string_free(t->events, true);
        g_free(t->fail_reason);
        sd_event_unref(t->event);
}

/* ---- logs ---- */

typedef struct {
        int saved;
        int fd;
} LogCapture;

/* stderr into a memfd until capture_end(), which returns what was logged. */
static void capture_begin(LogCapture *c)
{
        c->fd = memfd_create("log", MFD_CLOEXEC);
        g_assert_cmpint(c->fd, >=, 0);
        c->saved = dup(STDERR_FILENO);
        g_assert_cmpint(c->saved, >=, 0);
        g_assert_cmpint(dup2(c->fd, STDERR_FILENO), ==, STDERR_FILENO);
}

static char *capture_end(LogCapture *c)
{
        GString *s = g_string_new(NULL);
        char buf[512];
        ssize_t n;
        off_t off = 0;

        g_assert_cmpint(dup2(c->saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(c->saved);
        while ((n = pread(c->fd, buf, sizeof(buf), off)) > 0) {
                g_string_append_len(s, buf, n);
                off += n;
        }
        close(c->fd);
        fputs(s->str, stderr); /* still in the test's log */
        return g_string_free(s, false);
}

static void assert_logged(const char *log, const char *line)
{
        if (!strstr(log, line))
                g_error("no log line with \"%s\" in:\n%s", line, log);
}

/* ---- the scripted back-end ---- */

/* Runs the engine's loop until c, a socket of the scripted back-end, has
 * a whole message from the engine (1) or an error (-EPIPE: closed). */
static int run_read(T *t, VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m)
{
        gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        VuError err;
        int r;

        while ((r = vu_conn_read(c, ch, is_reply, m, &err)) == 0) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                g_assert_cmpint(sd_event_run(t->event, 10 * 1000), >=, 0);
        }
        return r;
}

/* The next request the engine sent on the main socket. */
static void be_expect(T *t, uint32_t request, VuMessage *m)
{
        g_assert_cmpint(run_read(t, t->be_main, VU_CHANNEL_FRONTEND, false, m), ==, 1);
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, m->hdr.request), ==,
                        vu_request_name(VU_CHANNEL_FRONTEND, request));
}

/* The engine closed the main socket (it was freed). */
static void be_expect_hangup(T *t)
{
        VuMessage m;
        int r = run_read(t, t->be_main, VU_CHANNEL_FRONTEND, false, &m);

        if (r == 1)
                g_error("expected a hang-up, got %s",
                        vu_request_name(VU_CHANNEL_FRONTEND, m.hdr.request));
        g_assert_cmpint(r, ==, -EPIPE);
}

static void be_reply(T *t, const VuMessage *req, uint64_t value)
{
        VuMessage r;

        vu_message_init_reply_u64(&r, req, value);
        g_assert_cmpint(vu_conn_send(t->be_main, &r), ==, 0);
}

typedef struct {
        uint64_t features;
        uint64_t protocol_features;
        uint64_t queues;
        bool leave_channel_unacked; /* the test answers SET_BACKEND_REQ_FD itself */
        uint64_t channel_ack;
} Offer;

/* Plays a back-end through the handshake, checking each request the
 * engine sends, in order, against what it should ask after offer. */
static void be_handshake(T *t, const Offer *o)
{
        uint64_t features = o->features & BASE_FEATURES;
        uint64_t pf = o->protocol_features & VU_SHARED_OBJECT_PROTOCOL_FEATURES;
        VuMessage m;

        if (!(pf & VU_BIT(VU_PF_BACKEND_REQ)))
                pf &= ~VU_BIT(VU_PF_SHARED_OBJECT);
        be_expect(t, VU_REQ_GET_FEATURES, &m);
        be_reply(t, &m, o->features);
        be_expect(t, VU_REQ_SET_FEATURES, &m);
        g_assert_cmphex(m.payload.u64, ==, features);
        if (features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
                be_expect(t, VU_REQ_GET_PROTOCOL_FEATURES, &m);
                be_reply(t, &m, o->protocol_features);
                be_expect(t, VU_REQ_SET_PROTOCOL_FEATURES, &m);
                g_assert_cmphex(m.payload.u64, ==, pf);
                g_assert_cmphex(m.hdr.flags, ==, VU_VERSION);
                if (pf & VU_BIT(VU_PF_MQ)) {
                        be_expect(t, VU_REQ_GET_QUEUE_NUM, &m);
                        be_reply(t, &m, o->queues);
                }
        } else {
                pf = 0;
        }
        be_expect(t, VU_REQ_SET_OWNER, &m);
        if (!(pf & VU_BIT(VU_PF_BACKEND_REQ)))
                return;
        be_expect(t, VU_REQ_SET_BACKEND_REQ_FD, &m);
        g_assert_cmpuint(m.n_fds, ==, 1);
        g_assert_cmphex(m.hdr.flags, ==,
                        VU_VERSION | (pf & VU_BIT(VU_PF_REPLY_ACK) ? VU_FLAG_NEED_REPLY : 0));
        t->be_chan = vu_conn_new(vu_message_steal_fd(&m, 0));
        if ((pf & VU_BIT(VU_PF_REPLY_ACK)) && !o->leave_channel_unacked)
                be_reply(t, &m, o->channel_ack);
}

static const Offer full_offer = {
    .features = BASE_FEATURES | VU_BIT(0),
    .protocol_features = ALL_PF,
    .queues = 3,
};

/* Starts the engine and plays the handshake with o until it is ready. */
static void t_handshake(T *t, const Offer *o)
{
        g_assert_cmpint(vu_frontend_start(t->f), ==, 0);
        be_handshake(t, o);
        RUN_UNTIL(t, vu_frontend_ready(t->f));
}

static void t_ready(T *t)
{
        t_handshake(t, &full_offer);
}

/* ---- the back-end channel, the back-end's side ---- */

static void chan_send(T *t, uint32_t request, uint32_t flags, const uint8_t *uuid, int fd)
{
        VuMessage m;

        if (uuid)
                vu_message_init_uuid(&m, request, flags, uuid);
        else
                vu_message_init(&m, request, flags, 0);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(t->be_chan, &m), ==, 0);
}

/* The engine's next answer on the channel: 1 and *m, or -EPIPE when it
 * closed the channel instead. */
static int chan_read(T *t, VuMessage *m)
{
        return run_read(t, t->be_chan, VU_CHANNEL_BACKEND, true, m);
}

/* The engine's answer to request: its u64 (fds left in m). */
static uint64_t chan_expect_reply(T *t, uint32_t request, VuMessage *m)
{
        g_assert_cmpint(chan_read(t, m), ==, 1);
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, m->hdr.request), ==,
                        vu_request_name(VU_CHANNEL_BACKEND, request));
        g_assert_cmpuint(m->hdr.size, ==, sizeof(uint64_t));
        return m->payload.u64;
}

/* Nothing arrives on the channel while the loop runs a while. */
static void chan_expect_nothing(T *t)
{
        VuMessage m;
        VuError err;

        for (int i = 0; i < 10; i++)
                sd_event_run(t->event, 5 * 1000);
        g_assert_cmpint(vu_conn_read(t->be_chan, VU_CHANNEL_BACKEND, true, &m, &err), ==, 0);
}

static int new_pattern_memfd(const uint8_t uuid[VU_UUID_SIZE])
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("test", 4096, buffer_pattern_seed(uuid), &fd), ==,
                        0);
        return fd;
}

static void assert_pattern(int fd, const uint8_t uuid[VU_UUID_SIZE])
{
        g_assert_cmpint(memfd_verify_pattern(fd, 4096, buffer_pattern_seed(uuid)), ==, 0);
}

static unsigned count_fds(void)
{
        int n = fd_count_open();

        g_assert_cmpint(n, >=, 0);
        return (unsigned) n;
}

/* ---- the handshake ---- */

static void test_handshake_full(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        T t;

        t_init(&t);
        g_assert_false(vu_frontend_ready(t.f));
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        capture_begin(&c);
        be_handshake(&t, &(Offer){.features = full_offer.features,
                                  .protocol_features = ALL_PF,
                                  .queues = 3,
                                  .leave_channel_unacked = true});
        /* Negotiated, the channel is up, but not ready before the ack. */
        g_assert_cmpstr(t.events->str, ==, "change");
        g_assert_false(vu_frontend_ready(t.f));
        g_assert_true(vu_frontend_has_channel(t.f));
        VuMessage ack;
        vu_message_init(&ack, VU_REQ_SET_BACKEND_REQ_FD, VU_FLAG_REPLY, sizeof(uint64_t));
        ack.payload.u64 = 0;
        g_assert_cmpint(vu_conn_send(t.be_main, &ack), ==, 0);
        RUN_UNTIL(&t, vu_frontend_ready(t.f));
        log = capture_end(&c);
        g_assert_cmpstr(t.events->str, ==, "change ready");
        g_assert_cmphex(vu_frontend_negotiated(t.f)->features, ==, BASE_FEATURES);
        g_assert_cmphex(vu_frontend_negotiated(t.f)->protocol_features, ==,
                        VU_SHARED_OBJECT_PROTOCOL_FEATURES);
        g_assert_cmpuint(vu_frontend_negotiated(t.f)->queues, ==, 3);
        g_assert_true(vu_frontend_shared_objects(t.f));
        assert_logged(log, "<6>be: ready, features 0x140000000, 3 queue(s), protocol features "
                           "MQ|REPLY_ACK|BACKEND_REQ|BACKEND_SEND_FD|SHARED_OBJECT\n");
        t_clear(&t);
}

static void test_handshake_no_mq(void)
{
        T t;

        t_init(&t);
        t_handshake(&t, &(Offer){.features = BASE_FEATURES,
                                 .protocol_features = ALL_PF & ~VU_BIT(VU_PF_MQ)});
        g_assert_cmpuint(vu_frontend_negotiated(t.f)->queues, ==, 0);
        g_assert_true(vu_frontend_shared_objects(t.f));
        t_clear(&t);
}

static void test_handshake_no_reply_ack(void)
{
        T t;

        t_init(&t);
        /* be_handshake checks that SET_BACKEND_REQ_FD comes without NEED_REPLY. */
        t_handshake(&t, &(Offer){.features = BASE_FEATURES,
                                 .protocol_features = ALL_PF & ~VU_BIT(VU_PF_REPLY_ACK),
                                 .queues = 1});
        g_assert_cmpstr(t.events->str, ==, "change ready");
        g_assert_true(vu_frontend_shared_objects(t.f));
        t_clear(&t);
}

static void test_handshake_no_protocol_features(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        T t;

        t_init(&t);
        capture_begin(&c);
        t_handshake(&t, &(Offer){.features = VU_BIT(VIRTIO_F_VERSION_1)});
        log = capture_end(&c);
        /* No protocol features, so no on_change either. */
        g_assert_cmpstr(t.events->str, ==, "ready");
        g_assert_false(vu_frontend_has_channel(t.f));
        g_assert_false(vu_frontend_shared_objects(t.f));
        assert_logged(log, "be: ready, features 0x100000000, 0 queue(s), protocol features  (no "
                           "SHARED_OBJECT: its shared-object requests will be refused)\n");
        t_clear(&t);
}

static void test_handshake_no_backend_req(void)
{
        T t;

        t_init(&t);
        /* SHARED_OBJECT without a channel to carry it is not asked for. */
        t_handshake(&t, &(Offer){.features = BASE_FEATURES,
                                 .protocol_features =
                                     VU_BIT(VU_PF_SHARED_OBJECT) | VU_BIT(VU_PF_REPLY_ACK)});
        g_assert_cmphex(vu_frontend_negotiated(t.f)->protocol_features, ==,
                        VU_BIT(VU_PF_REPLY_ACK));
        g_assert_false(vu_frontend_has_channel(t.f));
        g_assert_null(t.be_chan);
        t_clear(&t);
}

static void test_handshake_channel_refused(void)
{
        T t;

        t_init(&t);
        t.free_in = FREE_IN_FAIL;
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        be_handshake(&t, &(Offer){.features = BASE_FEATURES,
                                  .protocol_features = ALL_PF,
                                  .queues = 1,
                                  .channel_ack = 1});
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpstr(t.events->str, ==, "change fail freed");
        g_assert_cmpint(t.fail_error, ==, -EPROTO);
        g_assert_cmpstr(t.fail_reason, ==, "back-end refused SET_BACKEND_REQ_FD");
        be_expect_hangup(&t);
        t_clear(&t);
}

static void test_handshake_timeout(void)
{
        VuMessage m;
        T t;

        t_init_timeouts(&t, SHORT_USEC, LONG_USEC);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        be_expect(&t, VU_REQ_GET_FEATURES, &m);
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(t.fail_error, ==, -ETIMEDOUT);
        g_assert_cmpstr(t.fail_reason, ==, "no reply to GET_FEATURES in time");
        g_assert_false(vu_frontend_ready(t.f));
        /* Broken: nothing more is sent. */
        g_assert_cmpint(vu_frontend_start(t.f), ==, -ECONNRESET);
        t_clear(&t);
}

static void test_handshake_wrong_reply(void)
{
        VuMessage m, r;
        T t;

        t_init(&t);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        be_expect(&t, VU_REQ_GET_FEATURES, &m);
        vu_message_init_u64(&r, VU_REQ_GET_QUEUE_NUM, VU_FLAG_REPLY, 1);
        g_assert_cmpint(vu_conn_send(t.be_main, &r), ==, 0);
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(t.fail_error, ==, -EPROTO);
        g_assert_cmpstr(t.fail_reason, ==,
                        "reply GET_QUEUE_NUM does not answer the request GET_FEATURES");
        t_clear(&t);
}

static void test_handshake_hangup(void)
{
        VuMessage m;
        T t;

        t_init(&t);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        be_expect(&t, VU_REQ_GET_FEATURES, &m);
        be_reply(&t, &m, BASE_FEATURES);
        be_expect(&t, VU_REQ_SET_FEATURES, &m);
        /* All read: the close is an orderly one, not a reset. */
        be_expect(&t, VU_REQ_GET_PROTOCOL_FEATURES, &m);
        vu_conn_free(t.be_main);
        t.be_main = NULL;
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(t.fail_error, ==, -EPIPE);
        g_assert_cmpstr(t.fail_reason, ==, "peer hung up");
        t_clear(&t);
}

static void test_new_keeps_fd_on_failure(void)
{
        g_autofree char *path = NULL;
        sd_event *ev = NULL;
        VuFrontend *f = NULL;
        int fd;
        VuFrontendOps ops = {0};

        g_assert_cmpint(sd_event_new(&ev), >=, 0);
        g_assert_cmpint(vu_frontend_new(ev, -1, &ops, "x", NULL, &f), ==, -EBADF);
        /* epoll refuses regular files: the fd must stay open and ours. */
        fd = g_file_open_tmp("test-vu-frontend-XXXXXX", &path, NULL);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(vu_frontend_new(ev, fd, &ops, "x", NULL, &f), <, 0);
        g_assert_null(f);
        g_assert_no_errno(fcntl(fd, F_GETFD));
        close(fd);
        unlink(path);
        sd_event_unref(ev);
}

/* ---- the back-end channel ---- */

static void test_channel_add_remove(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        capture_begin(&c);

        chan_send(&t, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid_a, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_ADD, &m), ==, 0);
        g_assert_cmpmem(t.added->data, t.added->len, uuid_a, VU_UUID_SIZE);

        t.add_result = -EEXIST;
        chan_send(&t, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid_a, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_ADD, &m), ==, 1);

        chan_send(&t, VU_BREQ_SHARED_OBJECT_REMOVE, VU_FLAG_NEED_REPLY, uuid_a, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_REMOVE, &m), ==, 0);

        t.remove_result = -ENOENT;
        chan_send(&t, VU_BREQ_SHARED_OBJECT_REMOVE, VU_FLAG_NEED_REPLY, uuid_b, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_REMOVE, &m), ==, 1);

        /* Without NEED_REPLY: taken, refused or not, and never answered. */
        chan_send(&t, VU_BREQ_SHARED_OBJECT_ADD, 0, uuid_b, -1);
        chan_send(&t, VU_BREQ_SHARED_OBJECT_REMOVE, 0, uuid_b, -1);
        RUN_UNTIL(&t, t.removed->len == 3 * VU_UUID_SIZE);
        chan_expect_nothing(&t);
        log = capture_end(&c);

        g_assert_cmpstr(t.events->str, ==, "add add remove remove add remove");
        g_assert_cmpmem(t.added->data + 2 * VU_UUID_SIZE, VU_UUID_SIZE, uuid_b, VU_UUID_SIZE);
        assert_logged(log, "<7>be: ADD 5e1f0001-aabb-4001-8001-020304050607\n");
        assert_logged(log,
                      "<6>be: ADD 5e1f0001-aabb-4001-8001-020304050607 refused: File exists\n");
        assert_logged(log, "<7>be: REMOVE 5e1f0001-aabb-4001-8001-020304050607\n");
        assert_logged(log, "<6>be: REMOVE 5e1f0002-aabb-4002-8002-020304050608 refused: No such "
                           "file or directory\n");
        t_clear(&t);
}

static void test_channel_lookup_later(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        Lookup first, second;
        unsigned fds_before;
        VuMessage m;
        int efd;
        T t;

        t_init(&t);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        efd = eventfd(0, EFD_CLOEXEC);
        g_assert_cmpint(efd, >=, 0);
        fds_before = count_fds();
        capture_begin(&c);

        /* The rust-vmm form carries an fd: the engine closes it. */
        chan_send(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid_a, dup(efd));
        chan_send(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid_b, -1);
        RUN_UNTIL(&t, t.lookups->len == 2);
        first = g_array_index(t.lookups, Lookup, 0);
        second = g_array_index(t.lookups, Lookup, 1);
        g_assert_cmpmem(first.uuid, VU_UUID_SIZE, uuid_a, VU_UUID_SIZE);
        g_assert_cmpmem(second.uuid, VU_UUID_SIZE, uuid_b, VU_UUID_SIZE);

        /* Answered in the other order; the replies still leave in order. */
        vu_frontend_answer_lookup(t.f, second.slot, second.uuid, -ENOENT);
        chan_expect_nothing(&t);
        vu_frontend_answer_lookup(t.f, first.slot, first.uuid, new_pattern_memfd(uuid_a));
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, &m), ==, 0);
        g_assert_cmpuint(m.n_fds, ==, 1);
        assert_pattern(m.fds[0], uuid_a);
        vu_message_close_fds(&m);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, &m), ==, 1);
        g_assert_cmpuint(m.n_fds, ==, 0);
        log = capture_end(&c);

        g_assert_cmpuint(count_fds(), ==, fds_before);
        close(efd);
        assert_logged(log, "<7>be: LOOKUP came with an fd attached (rust-vmm form); closing it\n");
        assert_logged(log, "<7>be: LOOKUP 5e1f0001-aabb-4001-8001-020304050607 served\n");
        assert_logged(log, "<6>be: LOOKUP 5e1f0002-aabb-4002-8002-020304050608 failed: No such "
                           "file or directory\n");
        t_clear(&t);
}

static void test_channel_without_shared_object(void)
{
        VuMessage m;
        T t;

        t_init(&t);
        t_handshake(&t, &(Offer){.features = BASE_FEATURES,
                                 .protocol_features = ALL_PF & ~VU_BIT(VU_PF_SHARED_OBJECT)});
        g_assert_true(vu_frontend_has_channel(t.f));
        g_assert_false(vu_frontend_shared_objects(t.f));
        chan_send(&t, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid_a, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_ADD, &m), ==, 1);
        chan_send(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid_a, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_SHARED_OBJECT_LOOKUP, &m), ==, 1);
        /* Refused by the engine: the owner never heard of them. */
        g_assert_cmpstr(t.events->str, ==, "change ready");
        g_assert_cmpuint(t.added->len, ==, 0);
        t_clear(&t);
}

static void test_channel_unsupported(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        capture_begin(&c);
        chan_send(&t, VU_BREQ_CONFIG_CHANGE_MSG, VU_FLAG_NEED_REPLY, NULL, -1);
        g_assert_cmpuint(chan_expect_reply(&t, VU_BREQ_CONFIG_CHANGE_MSG, &m), ==, 1);
        chan_send(&t, VU_BREQ_CONFIG_CHANGE_MSG, 0, NULL, -1);
        chan_expect_nothing(&t);
        log = capture_end(&c);
        assert_logged(log, "<6>be: CONFIG_CHANGE_MSG not supported by the hub, refused\n");
        t_clear(&t);
}

static void test_channel_hangup(void)
{
        T t;

        t_init(&t);
        t_ready(&t);
        vu_conn_free(t.be_chan);
        t.be_chan = NULL;
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(t.fail_error, ==, -EPIPE);
        g_assert_cmpstr(t.fail_reason, ==, "back-end channel: peer hung up");
        t_clear(&t);
}

/* ---- GET_SHARED_OBJECT ---- */

/* Sends GET_SHARED_OBJECT for uuid and reads it on the back-end's side. */
static void get_and_expect(T *t, const uint8_t *uuid, VuMessage *m)
{
        g_assert_cmpint(vu_frontend_get_shared_object(t->f, uuid, on_get, t), ==, 0);
        be_expect(t, VU_REQ_GET_SHARED_OBJECT, m);
        g_assert_cmphex(m->hdr.flags, ==, VU_VERSION);
        g_assert_cmpmem(m->payload.uuid, m->hdr.size, uuid, VU_UUID_SIZE);
}

/* The back-end's answer: size bytes of payload (the UUID when 16), fd
 * attached when >= 0. */
static void be_answer_get(T *t, const uint8_t *uuid, uint32_t size, int fd)
{
        VuMessage r;

        vu_message_init(&r, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, size);
        if (size == VU_UUID_SIZE)
                memcpy(r.payload.uuid, uuid, VU_UUID_SIZE);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&r, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(t->be_main, &r), ==, 0);
}

static GetResult get_result(T *t, guint i)
{
        return g_array_index(t->gets, GetResult, i);
}

static void test_get_answered(void)
{
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        get_and_expect(&t, uuid_a, &m);
        be_answer_get(&t, uuid_a, VU_UUID_SIZE, new_pattern_memfd(uuid_a));
        RUN_UNTIL(&t, t.gets->len == 1);
        g_assert_cmpint(get_result(&t, 0).error, ==, 0);
        assert_pattern(get_result(&t, 0).fd, uuid_a);
        g_assert_cmpstr(t.events->str, ==, "check get");

        /* A u64 status with the fd (another back-end's form): no UUID to check. */
        get_and_expect(&t, uuid_b, &m);
        be_answer_get(&t, NULL, sizeof(uint64_t), new_pattern_memfd(uuid_b));
        RUN_UNTIL(&t, t.gets->len == 2);
        g_assert_cmpint(get_result(&t, 1).error, ==, 0);
        assert_pattern(get_result(&t, 1).fd, uuid_b);
        t_clear(&t);
}

static void test_get_not_ready(void)
{
        T t;

        t_init(&t);
        g_assert_cmpint(vu_frontend_get_shared_object(t.f, uuid_a, on_get, &t), ==, -ECONNRESET);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        g_assert_cmpint(vu_frontend_get_shared_object(t.f, uuid_a, on_get, &t), ==, -ECONNRESET);
        g_assert_cmpuint(t.gets->len, ==, 0);
        t_clear(&t);
}

typedef struct {
        const char *name;
        uint32_t size;
        bool wrong_uuid;
        bool with_fd;
        int check_result;
        int error;
        const char *log;
} BadAnswer;

static const BadAnswer bad_answers[] = {
    {"wrong-uuid", VU_UUID_SIZE, true, true, 0, -EPROTO, "with another object's UUID"},
    {"without-fd", VU_UUID_SIZE, false, false, 0, -EIO, "without an fd"},
    {"empty-without-fd", 0, false, false, 0, -EIO, "without an fd"},
    {"refused-by-check", VU_UUID_SIZE, false, true, -EBADFD, -EBADFD,
     "with an fd the test refuses"},
};

static void test_get_bad_answer(gconstpointer data)
{
        const BadAnswer *b = data;
        g_autofree char *log = NULL;
        g_autofree char *line = NULL;
        LogCapture c;
        unsigned fds_before;
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        t.check_result = b->check_result;
        fds_before = count_fds();
        capture_begin(&c);
        get_and_expect(&t, uuid_a, &m);
        be_answer_get(&t, b->wrong_uuid ? uuid_b : uuid_a, b->size,
                      b->with_fd ? new_pattern_memfd(uuid_a) : -1);
        RUN_UNTIL(&t, t.gets->len == 1);
        log = capture_end(&c);
        g_assert_cmpint(get_result(&t, 0).fd, ==, -1);
        g_assert_cmpint(get_result(&t, 0).error, ==, b->error);
        /* The refused fd is closed; the connection stays up. */
        g_assert_cmpuint(count_fds(), ==, fds_before);
        g_assert_null(t.fail_reason);
        line = g_strdup_printf("<4>be: answered GET_SHARED_OBJECT "
                               "5e1f0001-aabb-4001-8001-020304050607 %s; the importer gets an "
                               "error\n",
                               b->log);
        assert_logged(log, line);
        t_clear(&t);
}

static void test_get_late(void)
{
        g_autofree char *log = NULL;
        LogCapture c;
        VuMessage m;
        T t;

        t_init_timeouts(&t, LONG_USEC, SHORT_USEC);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        capture_begin(&c);
        get_and_expect(&t, uuid_a, &m);
        RUN_UNTIL(&t, t.fail_reason);
        log = capture_end(&c);
        /* The requester hears first, then the connection is given up. */
        g_assert_cmpstr(t.events->str, ==, "get fail");
        g_assert_cmpint(get_result(&t, 0).error, ==, -ETIMEDOUT);
        g_assert_cmpint(t.fail_error, ==, -ETIMEDOUT);
        g_assert_cmpstr(t.fail_reason, ==, "no reply to GET_SHARED_OBJECT in time");
        assert_logged(log, "<4>be: GET_SHARED_OBJECT 5e1f0001-aabb-4001-8001-020304050607 failed: "
                           "Connection timed out\n");
        g_assert_cmpint(vu_frontend_get_shared_object(t.f, uuid_a, on_get, &t), ==, -ECONNRESET);
        t_clear(&t);
}

static void test_get_hangup(void)
{
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        t.free_in = FREE_IN_FAIL;
        get_and_expect(&t, uuid_a, &m);
        vu_conn_free(t.be_main);
        t.be_main = NULL;
        RUN_UNTIL(&t, t.fail_reason);
        /* Freed in on_fail: the outstanding request ends then. */
        g_assert_cmpstr(t.events->str, ==, "fail get freed");
        g_assert_cmpint(t.fail_error, ==, -EPIPE);
        g_assert_cmpint(get_result(&t, 0).error, ==, -ECONNRESET);
        t_clear(&t);
}

static void test_free_with_get_outstanding(void)
{
        VuMessage m;
        T t;

        t_init(&t);
        t_ready(&t);
        g_string_truncate(t.events, 0);
        get_and_expect(&t, uuid_a, &m);
        vu_frontend_free(t.f);
        t.f = NULL;
        g_assert_cmpstr(t.events->str, ==, "get");
        g_assert_cmpint(get_result(&t, 0).error, ==, -ECONNRESET);
        be_expect_hangup(&t);
        t_clear(&t);
}

/* ---- freed from inside each callback ---- */

static void free_in_change(T *t)
{
        VuMessage m;

        g_assert_cmpint(vu_frontend_start(t->f), ==, 0);
        be_expect(t, VU_REQ_GET_FEATURES, &m);
        be_reply(t, &m, BASE_FEATURES);
        be_expect(t, VU_REQ_SET_FEATURES, &m);
        be_expect(t, VU_REQ_GET_PROTOCOL_FEATURES, &m);
        be_reply(t, &m, ALL_PF);
        be_expect(t, VU_REQ_SET_PROTOCOL_FEATURES, &m);
        /* Then nothing: no GET_QUEUE_NUM, no SET_OWNER (be_expect_hangup). */
        g_assert_cmpstr(t->events->str, ==, "change freed");
}

static void free_in_ready(T *t)
{
        g_assert_cmpint(vu_frontend_start(t->f), ==, 0);
        be_handshake(t, &full_offer);
        RUN_UNTIL(t, !t->f);
        g_assert_cmpstr(t->events->str, ==, "change ready freed");
}

static void free_in_fail(T *t)
{
        t_ready(t);
        chan_send(t, 0x7f, 0, NULL, -1); /* malformed: breaks the channel */
        RUN_UNTIL(t, !t->f);
        g_assert_cmpint(t->fail_error, ==, -EPROTO);
        g_assert_cmpstr(t->fail_reason, ==,
                        "back-end channel: malformed message: request id unknown on this channel");
}

static void free_in_channel_request(T *t, uint32_t request)
{
        VuMessage m;

        t_ready(t);
        chan_send(t, request, VU_FLAG_NEED_REPLY, uuid_a, -1);
        RUN_UNTIL(t, !t->f);
        /* No answer on the freed channel: it is simply closed. */
        g_assert_cmpint(chan_read(t, &m), ==, -EPIPE);
}

static void free_in_get(T *t)
{
        VuMessage m;

        t_ready(t);
        g_string_truncate(t->events, 0);
        get_and_expect(t, uuid_a, &m);
        be_answer_get(t, uuid_a, VU_UUID_SIZE, new_pattern_memfd(uuid_a));
        RUN_UNTIL(t, t->gets->len == 1);
        g_assert_cmpstr(t->events->str, ==,
                        t->free_in == FREE_IN_CHECK ? "check freed get" : "check get freed");
        /* The answer went through all the same. */
        assert_pattern(get_result(t, 0).fd, uuid_a);
}

static void test_free_in(gconstpointer data)
{
        T t;

        t_init(&t);
        t.free_in = GPOINTER_TO_INT(data);
        switch (t.free_in) {
        case FREE_IN_CHANGE:
                free_in_change(&t);
                break;
        case FREE_IN_READY:
                free_in_ready(&t);
                break;
        case FREE_IN_FAIL:
                free_in_fail(&t);
                break;
        case FREE_IN_ADD:
                free_in_channel_request(&t, VU_BREQ_SHARED_OBJECT_ADD);
                break;
        case FREE_IN_REMOVE:
                free_in_channel_request(&t, VU_BREQ_SHARED_OBJECT_REMOVE);
                break;
        case FREE_IN_LOOKUP:
                free_in_channel_request(&t, VU_BREQ_SHARED_OBJECT_LOOKUP);
                break;
        case FREE_IN_CHECK:
        case FREE_IN_GET_DONE:
                free_in_get(&t);
                break;
        case FREE_NOWHERE:
                g_assert_not_reached();
        }
        g_assert_null(t.f);
        be_expect_hangup(&t);
        t_clear(&t);
}

/* ---- the two engines, end to end ---- */

typedef struct {
        T *t;
        VuBackend *b;
        int acks[2]; /* ADD, REMOVE: 0 acked, -1 pending */
        int lookup_fd;
        int lookup_error;
        bool lookup_done;
        unsigned asked;
} E2E;

static void e2e_get_shared_object(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot,
                                  void *userdata)
{
        E2E *e = userdata;

        e->asked++;
        g_assert_nonnull(uuid);
        vu_backend_answer_shared_object(b, slot, uuid, new_pattern_memfd(uuid));
}

static void e2e_on_fail(VuBackend *b, int error, const char *reason, void *userdata)
{
        g_error("the back-end engine broke: %s", reason);
}

static void e2e_on_add_ack(VuBackend *b, int64_t result, void *userdata)
{
        E2E *e = userdata;

        e->acks[0] = (int) result;
}

static void e2e_on_remove_ack(VuBackend *b, int64_t result, void *userdata)
{
        E2E *e = userdata;

        e->acks[1] = (int) result;
}

static void e2e_on_lookup(VuBackend *b, int fd, int error, void *userdata)
{
        E2E *e = userdata;

        e->lookup_fd = fd;
        e->lookup_error = error;
        e->lookup_done = true;
}

static void test_end_to_end(void)
{
        VuBackendOps bops = {
            .protocol_features = VU_SHARED_OBJECT_PROTOCOL_FEATURES,
            .queues = 2,
            .reply_timeout_usec = LONG_USEC,
            .get_shared_object = e2e_get_shared_object,
            .on_fail = e2e_on_fail,
        };
        E2E e = {.acks = {-1, -1}, .lookup_fd = -1};
        T t;
        Lookup l;

        int fd;

        t_init(&t);
        e.t = &t;
        /* The scripted back-end steps aside for the real one. */
        fd = fcntl(vu_conn_fd(t.be_main), F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(fd, >=, 0);
        vu_conn_free(t.be_main);
        t.be_main = NULL;
        g_assert_cmpint(vu_backend_new(t.event, fd, &bops, "device", &e, &e.b), ==, 0);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        RUN_UNTIL(&t, vu_frontend_ready(t.f) && vu_backend_shared_objects(e.b));
        g_assert_cmpuint(vu_frontend_negotiated(t.f)->queues, ==, 2);
        g_assert_cmphex(vu_frontend_negotiated(t.f)->protocol_features, ==,
                        VU_SHARED_OBJECT_PROTOCOL_FEATURES);
        g_assert_cmphex(vu_backend_negotiated(e.b)->protocol_features, ==,
                        VU_SHARED_OBJECT_PROTOCOL_FEATURES);
        g_assert_cmphex(vu_backend_negotiated(e.b)->features, ==, BASE_FEATURES);
        g_assert_true(vu_backend_negotiated(e.b)->owned);

        /* The back-end exports, the front-end takes it. */
        g_assert_cmpint(vu_backend_add(e.b, uuid_a, e2e_on_add_ack, &e), ==, 0);
        RUN_UNTIL(&t, e.acks[0] != -1);
        g_assert_cmpint(e.acks[0], ==, 0);
        g_assert_cmpmem(t.added->data, t.added->len, uuid_a, VU_UUID_SIZE);

        /* The back-end imports through the front-end. */
        g_assert_cmpint(vu_backend_lookup(e.b, uuid_b, e2e_on_lookup, &e), ==, 0);
        RUN_UNTIL(&t, t.lookups->len == 1);
        l = g_array_index(t.lookups, Lookup, 0);
        vu_frontend_answer_lookup(t.f, l.slot, l.uuid, new_pattern_memfd(uuid_b));
        RUN_UNTIL(&t, e.lookup_done);
        g_assert_cmpint(e.lookup_error, ==, 0);
        assert_pattern(e.lookup_fd, uuid_b);
        close(e.lookup_fd);

        /* The front-end asks the back-end for its export. */
        g_assert_cmpint(vu_frontend_get_shared_object(t.f, uuid_a, on_get, &t), ==, 0);
        RUN_UNTIL(&t, t.gets->len == 1);
        g_assert_cmpuint(e.asked, ==, 1);
        g_assert_cmpint(get_result(&t, 0).error, ==, 0);
        assert_pattern(get_result(&t, 0).fd, uuid_a);

        g_assert_cmpint(vu_backend_remove(e.b, uuid_a, e2e_on_remove_ack, &e), ==, 0);
        RUN_UNTIL(&t, e.acks[1] != -1);
        g_assert_cmpint(e.acks[1], ==, 0);
        g_assert_cmpmem(t.removed->data, t.removed->len, uuid_a, VU_UUID_SIZE);

        g_assert_null(t.fail_reason);
        vu_backend_free(e.b);
        t_clear(&t);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        log_set_max_level(LOG_DEBUG);
        g_test_add_func("/vu-frontend/handshake/full", test_handshake_full);
        g_test_add_func("/vu-frontend/handshake/no-mq", test_handshake_no_mq);
        g_test_add_func("/vu-frontend/handshake/no-reply-ack", test_handshake_no_reply_ack);
        g_test_add_func("/vu-frontend/handshake/no-protocol-features",
                        test_handshake_no_protocol_features);
        g_test_add_func("/vu-frontend/handshake/no-backend-req", test_handshake_no_backend_req);
        g_test_add_func("/vu-frontend/handshake/channel-refused", test_handshake_channel_refused);
        g_test_add_func("/vu-frontend/handshake/timeout", test_handshake_timeout);
        g_test_add_func("/vu-frontend/handshake/wrong-reply", test_handshake_wrong_reply);
        g_test_add_func("/vu-frontend/handshake/hangup", test_handshake_hangup);
        g_test_add_func("/vu-frontend/new-keeps-fd-on-failure", test_new_keeps_fd_on_failure);
        g_test_add_func("/vu-frontend/channel/add-remove", test_channel_add_remove);
        g_test_add_func("/vu-frontend/channel/lookup-later", test_channel_lookup_later);
        g_test_add_func("/vu-frontend/channel/without-shared-object",
                        test_channel_without_shared_object);
        g_test_add_func("/vu-frontend/channel/unsupported", test_channel_unsupported);
        g_test_add_func("/vu-frontend/channel/hangup", test_channel_hangup);
        g_test_add_func("/vu-frontend/get/answered", test_get_answered);
        g_test_add_func("/vu-frontend/get/not-ready", test_get_not_ready);
        for (size_t i = 0; i < G_N_ELEMENTS(bad_answers); i++) {
                g_autofree char *path =
                    g_strdup_printf("/vu-frontend/get/bad-answer/%s", bad_answers[i].name);
                g_test_add_data_func(path, &bad_answers[i], test_get_bad_answer);
        }
        g_test_add_func("/vu-frontend/get/late", test_get_late);
        g_test_add_func("/vu-frontend/get/hangup", test_get_hangup);
        g_test_add_func("/vu-frontend/get/free-with-outstanding", test_free_with_get_outstanding);
        static const struct {
                const char *name;
                FreeIn where;
        } free_ins[] = {
            {"change", FREE_IN_CHANGE}, {"ready", FREE_IN_READY},       {"fail", FREE_IN_FAIL},
            {"add", FREE_IN_ADD},       {"remove", FREE_IN_REMOVE},     {"lookup", FREE_IN_LOOKUP},
            {"check", FREE_IN_CHECK},   {"get-done", FREE_IN_GET_DONE},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(free_ins); i++) {
                g_autofree char *path =
                    g_strdup_printf("/vu-frontend/free-in/%s", free_ins[i].name);
                g_test_add_data_func(path, GINT_TO_POINTER(free_ins[i].where), test_free_in);
        }
        g_test_add_func("/vu-frontend/end-to-end", test_end_to_end);
        return g_test_run();
}
