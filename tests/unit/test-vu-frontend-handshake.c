/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine (vhost-user/frontend.c) against a scripted back-end:
 * the handshake in each of its shapes, its failures, and vu_frontend_new()
 * leaving a refused fd to its caller. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <unistd.h>

#include "log.h"
#include "vu-frontend-testlib.h"

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
        return g_test_run();
}
