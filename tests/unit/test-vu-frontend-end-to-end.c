/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end engine (frontend.c) talking to the back-end engine
 * (backend.c) over a socketpair: handshake, ADD, LOOKUP,
 * GET_SHARED_OBJECT and REMOVE end to end. */
#include <fcntl.h>
#include <glib.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "vu-frontend-testlib.h"

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
        g_test_add_func("/vu-frontend/end-to-end", test_end_to_end);
        return g_test_run();
}
