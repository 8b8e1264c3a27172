/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine freed from inside each of its callbacks: it stops
 * there and closes its sockets; a channel request at hand is not answered,
 * a GET_SHARED_OBJECT answer already checked still reaches its requester. */
#include <errno.h>
#include <glib.h>

#include "log.h"
#include "vu-frontend-testlib.h"

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

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        log_set_max_level(LOG_DEBUG);
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
        return g_test_run();
}
