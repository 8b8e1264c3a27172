/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vu-endpoint reply deadlines: without a grace a missed deadline breaks the
 * endpoint; with one, the request fails, the late reply is recognised and
 * dropped, and the next reply goes to the next request. (QEMU 10.0.2 answers
 * late while it waits on another back-end: docs/interop.md.) Deadlines of
 * mixed length, many outstanding replies, and the outgoing queue's limits
 * towards a peer that does not read. */

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vu-endpoint.h"

#define REQ VU_BREQ_SHARED_OBJECT_ADD

typedef struct {
        sd_event *event;
        VuEndpoint *sender; /* sends requests, awaits replies */
        VuEndpoint *answerer;
        GPtrArray *slots; /* VuReplySlot* the answerer holds */
        int failed;       /* sender's on_fail error, 0 none */
        GArray *results;  /* int64: reply value, or -errno */
} Pair;

static void on_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot, void *userdata)
{
        Pair *p = userdata;

        vu_message_close_fds(m);
        g_ptr_array_add(p->slots, slot);
}

static void on_sender_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        Pair *p = userdata;

        p->failed = error;
}

static void on_answerer_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        g_error("the answering side broke: %s", reason);
}

static void on_reply(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        Pair *p = userdata;
        int64_t v = m ? (int64_t) m->payload.u64 : error;

        g_array_append_val(p->results, v);
}

static void pair_init(Pair *p, uint64_t grace_usec)
{
        VuEndpointOps sops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = false,
            .on_fail = on_sender_fail,
            .userdata = p,
            .late_reply_grace_usec = grace_usec,
        };
        VuEndpointOps aops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = true,
            .on_request = on_request,
            .on_fail = on_answerer_fail,
            .userdata = p,
        };
        int sv[2];

        *p = (Pair){0};
        g_assert_cmpint(sd_event_new(&p->event), >=, 0);
        g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        g_assert_cmpint(vu_endpoint_new(p->event, sv[0], &sops, "sender", &p->sender), ==, 0);
        g_assert_cmpint(vu_endpoint_new(p->event, sv[1], &aops, "answerer", &p->answerer), ==, 0);
        p->slots = g_ptr_array_new();
        p->results = g_array_new(false, false, sizeof(int64_t));
}

static void pair_clear(Pair *p)
{
        vu_endpoint_free(p->sender);
        vu_endpoint_free(p->answerer);
        g_ptr_array_free(p->slots, true);
        g_array_free(p->results, true);
        sd_event_unref(p->event);
}

static void send_request(Pair *p, uint64_t timeout_usec)
{
        static const uint8_t uuid[16] = {1, 2, 3};
        VuMessage m;

        vu_message_init_uuid(&m, REQ, VU_FLAG_NEED_REPLY, uuid);
        g_assert_cmpint(vu_endpoint_request(p->sender, &m, timeout_usec, on_reply, p), ==, 0);
}

/* Runs the loop until cond holds; fails after 5 s. */
#define RUN_UNTIL(p, cond)                                                                         \
        do {                                                                                       \
                gint64 deadline_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;                    \
                while (!(cond)) {                                                                  \
                        g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                     \
                        g_assert_cmpint(sd_event_run((p)->event, 100 * 1000), >=, 0);              \
                }                                                                                  \
        } while (0)

static int64_t result(Pair *p, guint i)
{
        return g_array_index(p->results, int64_t, i);
}

static void test_no_grace_breaks(void)
{
        Pair p;

        pair_init(&p, 0);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 1 && p.failed != 0);
        g_assert_cmpint(result(&p, 0), ==, -ETIMEDOUT);
        g_assert_cmpint(p.failed, ==, -ETIMEDOUT);
        pair_clear(&p);
}

static void test_late_reply_dropped(void)
{
        Pair p;

        pair_init(&p, 5 * G_USEC_PER_SEC);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 1);
        g_assert_cmpint(result(&p, 0), ==, -ETIMEDOUT);
        g_assert_cmpint(p.failed, ==, 0);

        /* A second request, then both answers: the first is the late one. */
        send_request(&p, 5 * G_USEC_PER_SEC);
        RUN_UNTIL(&p, p.slots->len == 2);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 0), 111);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 1), 222);
        RUN_UNTIL(&p, p.results->len == 2);
        g_assert_cmpint(result(&p, 1), ==, 222);
        g_assert_cmpint(p.failed, ==, 0);
        g_assert_cmpuint(vu_endpoint_pending(p.sender), ==, 0);
        pair_clear(&p);
}

static void test_grace_expires(void)
{
        Pair p;

        pair_init(&p, 50 * 1000);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.failed != 0);
        g_assert_cmpint(p.failed, ==, -ETIMEDOUT);
        /* Told once, at the deadline; not again when the grace ran out. */
        g_assert_cmpuint(p.results->len, ==, 1);
        g_assert_cmpint(result(&p, 0), ==, -ETIMEDOUT);
        pair_clear(&p);
}

/* The other limit of a grace: requests missing their deadline one after
 * the other break the endpoint long before the grace runs out. */
static void test_missed_in_a_row(void)
{
        Pair p;

        pair_init(&p, 60 * G_USEC_PER_SEC);
        vu_endpoint_set_late_replies(p.sender, 60 * G_USEC_PER_SEC, 2);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 1);
        g_assert_cmpint(p.failed, ==, 0);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.failed != 0);
        g_assert_cmpint(p.failed, ==, -ETIMEDOUT);
        g_assert_cmpuint(p.results->len, ==, 2);
        g_assert_cmpint(result(&p, 1), ==, -ETIMEDOUT);
        pair_clear(&p);
}

/* A reply in time starts the count over; a late one does not. */
static void test_reply_in_time_resets_missed(void)
{
        Pair p;

        pair_init(&p, 60 * G_USEC_PER_SEC);
        vu_endpoint_set_late_replies(p.sender, 60 * G_USEC_PER_SEC, 2);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 1 && p.slots->len == 1);
        /* Late, then in time. */
        send_request(&p, 5 * G_USEC_PER_SEC);
        RUN_UNTIL(&p, p.slots->len == 2);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 0), 111);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 1), 222);
        RUN_UNTIL(&p, p.results->len == 2);
        g_assert_cmpint(result(&p, 1), ==, 222);
        /* One more miss is the first of a new row: the endpoint stays. */
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 3);
        g_assert_cmpint(result(&p, 2), ==, -ETIMEDOUT);
        g_assert_cmpint(p.failed, ==, 0);
        /* And the next miss in that row breaks it. */
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.failed != 0);
        g_assert_cmpint(p.failed, ==, -ETIMEDOUT);
        pair_clear(&p);
}

/* A short deadline behind a long one fires first; the long one's reply
 * still reaches it, the short one's is dropped as late. */
static void test_shorter_after_longer(void)
{
        Pair p;

        pair_init(&p, 5 * G_USEC_PER_SEC);
        send_request(&p, 5 * G_USEC_PER_SEC);
        send_request(&p, 20 * 1000);
        RUN_UNTIL(&p, p.results->len == 1);
        g_assert_cmpint(result(&p, 0), ==, -ETIMEDOUT);
        RUN_UNTIL(&p, p.slots->len == 2);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 0), 111);
        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, 1), 222);
        RUN_UNTIL(&p, p.results->len == 2 && vu_endpoint_pending(p.sender) == 0);
        g_assert_cmpint(result(&p, 1), ==, 111);
        g_assert_cmpint(p.failed, ==, 0);
        pair_clear(&p);
}

/* Many replies outstanding at once, answered in order: each reaches its
 * request (matched at the head, no scan). */
static void test_many_outstanding(void)
{
        const unsigned n = 20000;
        Pair p;

        pair_init(&p, 0);
        for (unsigned i = 0; i < n; i++)
                send_request(&p, 30 * G_USEC_PER_SEC);
        g_assert_cmpuint(vu_endpoint_pending(p.sender), ==, n);
        for (unsigned done = 0; done < n;) {
                RUN_UNTIL(&p, p.slots->len > done);
                for (; done < p.slots->len; done++)
                        vu_endpoint_complete_u64(p.answerer, g_ptr_array_index(p.slots, done),
                                                 done);
        }
        RUN_UNTIL(&p, p.results->len == n);
        for (unsigned i = 0; i < n; i++)
                g_assert_cmpint(result(&p, i), ==, i);
        g_assert_cmpint(p.failed, ==, 0);
        pair_clear(&p);
}

/* ---- a peer that does not read ---- */

typedef struct {
        sd_event *event;
        VuEndpoint *ep;
        int peer; /* the other end, read by the test only */
        int failed;
        char *reason;
        unsigned drained;
} Deaf;

static void on_deaf_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        Deaf *d = userdata;

        d->failed = error;
        d->reason = g_strdup(reason);
}

static void on_deaf_drain(VuEndpoint *ep, void *userdata)
{
        Deaf *d = userdata;

        d->drained++;
}

static void deaf_init(Deaf *d, unsigned max_messages, size_t max_bytes)
{
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_BACKEND,
            .on_fail = on_deaf_fail,
            .on_drain = on_deaf_drain,
            .userdata = d,
            .max_queued_messages = max_messages,
            .max_queued_bytes = max_bytes,
        };
        int sv[2];

        *d = (Deaf){0};
        g_assert_cmpint(sd_event_new(&d->event), >=, 0);
        g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        g_assert_cmpint(vu_endpoint_new(d->event, sv[0], &ops, "deaf", &d->ep), ==, 0);
        d->peer = sv[1];
}

static void deaf_clear(Deaf *d)
{
        vu_endpoint_free(d->ep);
        close(d->peer);
        g_free(d->reason);
        sd_event_unref(d->event);
}

/* Sends requests without waiting for replies until one fails; returns how
 * many went (into the socket's buffer and the queue). */
static unsigned send_until_refused(Deaf *d)
{
        static const uint8_t uuid[16] = {1, 2, 3};
        unsigned sent = 0;

        for (;;) {
                VuMessage m;

                vu_message_init_uuid(&m, REQ, 0, uuid);
                if (vu_endpoint_request(d->ep, &m, 0, NULL, NULL) < 0)
                        return sent;
                sent++;
                g_assert_cmpuint(sent, <, 1000000);
        }
}

static void test_queue_message_limit(void)
{
        Deaf d;

        deaf_init(&d, 10, 0);
        g_assert_cmpuint(send_until_refused(&d), >, 10);
        g_assert_cmpint(d.failed, ==, -ENOBUFS);
        g_assert_nonnull(strstr(d.reason, "the outgoing queue is full (10 messages"));
        g_assert_nonnull(strstr(d.reason, "the peer is not reading"));
        deaf_clear(&d);
}

static void test_queue_byte_limit(void)
{
        Deaf d;

        /* 28 bytes a message: 35 fit in 1000. */
        deaf_init(&d, 0, 1000);
        send_until_refused(&d);
        g_assert_cmpint(d.failed, ==, -ENOBUFS);
        g_assert_nonnull(strstr(d.reason, "(35 messages, 980 bytes unsent"));
        deaf_clear(&d);
}

/* Once the peer reads, the owner hears that there is room again. */
static void test_drain_reported(void)
{
        static const uint8_t uuid[16] = {1, 2, 3};
        char buf[65536];
        Deaf d;

        deaf_init(&d, 0, 0);
        while (vu_endpoint_in_flight(d.ep) < 5) {
                VuMessage m;

                vu_message_init_uuid(&m, REQ, 0, uuid);
                g_assert_cmpint(vu_endpoint_request(d.ep, &m, 0, NULL, NULL), ==, 0);
        }
        g_assert_cmpuint(d.drained, ==, 0);
        while (read(d.peer, buf, sizeof(buf)) > 0)
                ;
        RUN_UNTIL(&d, d.drained > 0);
        g_assert_cmpint(d.failed, ==, 0);
        deaf_clear(&d);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/vu-endpoint/deadline/no-grace-breaks", test_no_grace_breaks);
        g_test_add_func("/vu-endpoint/deadline/late-reply-dropped", test_late_reply_dropped);
        g_test_add_func("/vu-endpoint/deadline/grace-expires", test_grace_expires);
        g_test_add_func("/vu-endpoint/deadline/missed-in-a-row", test_missed_in_a_row);
        g_test_add_func("/vu-endpoint/deadline/reply-in-time-resets-missed",
                        test_reply_in_time_resets_missed);
        g_test_add_func("/vu-endpoint/deadline/shorter-after-longer", test_shorter_after_longer);
        g_test_add_func("/vu-endpoint/deadline/many-outstanding", test_many_outstanding);
        g_test_add_func("/vu-endpoint/queue/message-limit", test_queue_message_limit);
        g_test_add_func("/vu-endpoint/queue/byte-limit", test_queue_byte_limit);
        g_test_add_func("/vu-endpoint/queue/drain-reported", test_drain_reported);
        return g_test_run();
}
