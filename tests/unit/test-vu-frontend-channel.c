/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine's back-end channel against a scripted back-end:
 * ADD, REMOVE and LOOKUP (answered later, replies in order), requests it
 * refuses, and the channel hung up. */
#include <errno.h>
#include <glib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vu-frontend-testlib.h"

static void test_channel_add_remove(void)
{
        LogCapture c;
        g_autofree char *log = NULL;
        VuMessage m;
        T t;

        t_init_ready(&t);
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

        t_init_ready(&t);
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

        t_init_ready(&t);
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

        t_init_ready(&t);
        vu_conn_free(t.be_chan);
        t.be_chan = NULL;
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(t.fail_error, ==, -EPIPE);
        g_assert_cmpstr(t.fail_reason, ==, "back-end channel: peer hung up");
        t_clear(&t);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        log_set_max_level(LOG_DEBUG);
        g_test_add_func("/vu-frontend/channel/add-remove", test_channel_add_remove);
        g_test_add_func("/vu-frontend/channel/lookup-later", test_channel_lookup_later);
        g_test_add_func("/vu-frontend/channel/without-shared-object",
                        test_channel_without_shared_object);
        g_test_add_func("/vu-frontend/channel/unsupported", test_channel_unsupported);
        g_test_add_func("/vu-frontend/channel/hangup", test_channel_hangup);
        return g_test_run();
}
