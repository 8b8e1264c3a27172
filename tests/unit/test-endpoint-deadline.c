/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vu-endpoint reply deadlines: without a grace a missed deadline breaks the
 * endpoint; with one, the request fails, the late reply is recognised and
 * dropped, and the next reply goes to the next request. (QEMU 10.0.2 answers
 * late while it waits on another back-end: docs/interop.md.) */

#include <errno.h>
#include <glib.h>
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

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/vu-endpoint/deadline/no-grace-breaks", test_no_grace_breaks);
        g_test_add_func("/vu-endpoint/deadline/late-reply-dropped", test_late_reply_dropped);
        g_test_add_func("/vu-endpoint/deadline/grace-expires", test_grace_expires);
        return g_test_run();
}
