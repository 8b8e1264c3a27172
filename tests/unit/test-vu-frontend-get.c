/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine's GET_SHARED_OBJECT against a scripted back-end:
 * answers in both forms, the answers it refuses, a late answer, hang-ups
 * and the engine freed with a request outstanding. */
#include <errno.h>
#include <glib.h>

#include "log.h"
#include "vu-frontend-testlib.h"

static void test_get_answered(void)
{
        VuMessage m;
        T t;

        t_init_ready(&t);
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
        uint64_t status; /* size 8: the u64 status sent */
} BadAnswer;

static const BadAnswer bad_answers[] = {
    {"wrong-uuid", VU_UUID_SIZE, true, true, 0, -EPROTO, "with another object's UUID"},
    {"without-fd", VU_UUID_SIZE, false, false, 0, -EIO, "without an fd"},
    {"empty-without-fd", 0, false, false, 0, -EIO, "without an fd"},
    {"refused-by-check", VU_UUID_SIZE, false, true, -EBADFD, -EBADFD,
     "with an fd the test refuses"},
    /* An error status is an error, whatever fd comes along. */
    {"error-status-with-fd", sizeof(uint64_t), false, true, 0, -ENOENT,
     "with an error status and an fd", 1},
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

        t_init_ready(&t);
        t.check_result = b->check_result;
        fds_before = count_fds();
        capture_begin(&c);
        get_and_expect(&t, uuid_a, &m);
        if (b->size == sizeof(uint64_t))
                be_answer_get_status(&t, b->status, b->with_fd ? new_pattern_memfd(uuid_a) : -1);
        else
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

/* With a grace a late answer fails its request only: the connection stays,
 * the late fd is closed, and the next GET is answered. */
static void test_get_late_with_grace(void)
{
        g_autofree char *log = NULL;
        unsigned fds_before;
        LogCapture c;
        VuMessage m;
        T t;

        t_init_grace(&t, LONG_USEC, SHORT_USEC, LONG_USEC, 3);
        t_ready(&t);
        fds_before = count_fds();
        capture_begin(&c);
        get_and_expect(&t, uuid_a, &m);
        RUN_UNTIL(&t, t.gets->len == 1);
        g_assert_cmpint(get_result(&t, 0).error, ==, -ETIMEDOUT);
        g_assert_null(t.fail_reason);
        /* The late answer, then the next GET and its answer in time. */
        be_answer_get(&t, uuid_a, VU_UUID_SIZE, new_pattern_memfd(uuid_a));
        get_and_expect(&t, uuid_b, &m);
        be_answer_get(&t, uuid_b, VU_UUID_SIZE, new_pattern_memfd(uuid_b));
        RUN_UNTIL(&t, t.gets->len == 2);
        log = capture_end(&c);
        g_assert_cmpint(get_result(&t, 1).error, ==, 0);
        assert_pattern(get_result(&t, 1).fd, uuid_b);
        g_assert_null(t.fail_reason);
        assert_logged(log, "<6>be: late reply to GET_SHARED_OBJECT dropped\n");
        /* The late fd is closed: only the one handed to us is new. */
        g_assert_cmpuint(count_fds(), ==, fds_before + 1);
        t_clear(&t);
}

/* The grace is for GET answers: a handshake reply that misses its deadline
 * still breaks the connection. */
static void test_handshake_late_despite_grace(void)
{
        T t;

        t_init_grace(&t, SHORT_USEC, SHORT_USEC, LONG_USEC, 3);
        g_assert_cmpint(vu_frontend_start(t.f), ==, 0);
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpstr(t.fail_reason, ==, "no reply to GET_FEATURES in time");
        t_clear(&t);
}

/* Answers missing their deadline one after the other: given up after
 * max_missed_answers of them, long before the grace ends. */
static void test_get_missed_in_a_row(void)
{
        VuMessage m;
        T t;

        t_init_grace(&t, LONG_USEC, SHORT_USEC, LONG_USEC, 2);
        t_ready(&t);
        get_and_expect(&t, uuid_a, &m);
        RUN_UNTIL(&t, t.gets->len == 1);
        g_assert_null(t.fail_reason);
        get_and_expect(&t, uuid_b, &m);
        RUN_UNTIL(&t, t.fail_reason);
        g_assert_cmpint(get_result(&t, 1).error, ==, -ETIMEDOUT);
        g_assert_cmpint(t.fail_error, ==, -ETIMEDOUT);
        g_assert_cmpstr(t.fail_reason, ==, "no reply in time to 2 requests in a row");
        t_clear(&t);
}

static void test_get_hangup(void)
{
        VuMessage m;
        T t;

        t_init_ready(&t);
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

        t_init_ready(&t);
        get_and_expect(&t, uuid_a, &m);
        vu_frontend_free(t.f);
        t.f = NULL;
        g_assert_cmpstr(t.events->str, ==, "get");
        g_assert_cmpint(get_result(&t, 0).error, ==, -ECONNRESET);
        be_expect_hangup(&t);
        t_clear(&t);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        log_set_max_level(LOG_DEBUG);
        g_test_add_func("/vu-frontend/get/answered", test_get_answered);
        g_test_add_func("/vu-frontend/get/not-ready", test_get_not_ready);
        for (size_t i = 0; i < G_N_ELEMENTS(bad_answers); i++) {
                g_autofree char *path =
                    g_strdup_printf("/vu-frontend/get/bad-answer/%s", bad_answers[i].name);
                g_test_add_data_func(path, &bad_answers[i], test_get_bad_answer);
        }
        g_test_add_func("/vu-frontend/get/late-with-grace", test_get_late_with_grace);
        g_test_add_func("/vu-frontend/get/handshake-late-despite-grace",
                        test_handshake_late_despite_grace);
        g_test_add_func("/vu-frontend/get/missed-in-a-row", test_get_missed_in_a_row);
        g_test_add_func("/vu-frontend/get/late", test_get_late);
        g_test_add_func("/vu-frontend/get/hangup", test_get_hangup);
        g_test_add_func("/vu-frontend/get/free-with-outstanding", test_free_with_get_outstanding);
        return g_test_run();
}
