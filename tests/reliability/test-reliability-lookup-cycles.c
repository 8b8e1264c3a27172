/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Back-ends whose lookups block (libvhost-user) answer no GET_SHARED_OBJECT
 * while they wait, so lookups that wait on each other would all wait for
 * the deadline: a back-end's lookup of its own object and the lookup that
 * closes a cycle of waits are refused at once (EDEADLK), the others go on,
 * and nobody is dropped. Raw back-ends, in-process, message by message. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "fd-util.h"
#include "reliability-fixture.h"

typedef struct {
        TestService t;
        RawPeer *dev[3];
        uint8_t uuid[3][16]; /* dev[i] exports uuid[i] */
        int fds;             /* open at the start */
} Ring;

static void ring_init(Ring *r, unsigned n)
{
        ServiceConfig c;

        r->fds = fd_count_open();
        test_config_defaults(&c);
        test_service_init(&r->t, &c);
        for (unsigned i = 0; i < n; i++) {
                r->dev[i] = test_raw_peer_new(&r->t, RAW_PEER_BACKEND, "blocking", true);
                test_uuid(r->uuid[i]);
                g_assert_cmpint(
                    test_raw_request(r->dev[i], VU_BREQ_SHARED_OBJECT_ADD, r->uuid[i], NULL), ==,
                    0);
        }
}

static void ring_clear(Ring *r, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                g_assert_true(test_raw_peer_connected(&r->t, r->dev[i]));
                raw_peer_free(r->dev[i]);
        }
        test_service_clear(&r->t);
        g_assert_cmpint(fd_count_open(), ==, r->fds);
}

static const char *last_error(Ring *r, unsigned i)
{
        return peer_last_error(service_find_peer(r->t.s, r->dev[i]->service_peer_id));
}

/* dev[i] sends LOOKUP uuid[j] and, like libvhost-user, waits. */
static void lookup_start(Ring *r, unsigned i, unsigned j)
{
        VuMessage m;

        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, r->uuid[j]);
        raw_peer_send(r->dev[i], r->dev[i]->chan, &m);
}

/* The hub asks dev[i] for its object; it does not answer yet. */
static void expect_get(Ring *r, unsigned i)
{
        VuMessage m;

        g_assert_cmpint(raw_peer_recv(r->dev[i], r->dev[i]->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        g_assert_cmpmem(m.payload.uuid, 16, r->uuid[i], 16);
}

/* dev[i]'s LOOKUP is answered: with an fd (ok) or refused (1, no fd). */
static void expect_lookup_reply(Ring *r, unsigned i, bool ok)
{
        VuMessage m;

        g_assert_cmpint(raw_peer_recv(r->dev[i], r->dev[i]->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        g_assert_cmpuint(m.payload.u64, ==, ok ? 0 : 1);
        g_assert_cmpuint(m.n_fds, ==, ok ? 1 : 0);
        vu_message_close_fds(&m);
}

static void test_self_lookup(void)
{
        Ring r = {0};

        ring_init(&r, 1);
        lookup_start(&r, 0, 0);
        /* Refused at once: no GET reaches the device, whose entry stays. */
        expect_lookup_reply(&r, 0, false);
        g_assert_nonnull(strstr(last_error(&r, 0), "of an object it exports itself"));
        g_assert_nonnull(share_table_lookup(service_table(r.t.s), r.uuid[0]));
        /* The next message on its main socket would be a GET: there is none. */
        g_assert_cmpuint(vu_conn_queued_messages(r.dev[0]->main), ==, 0);
        ring_clear(&r, 1);
}

/* A waits on B; B's lookup of A's object closes the cycle and is refused;
 * B then answers and A gets its buffer. */
static void test_two_wait_on_each_other(void)
{
        Ring r = {0};

        ring_init(&r, 2);
        lookup_start(&r, 0, 1);
        expect_get(&r, 1);
        lookup_start(&r, 1, 0);
        expect_lookup_reply(&r, 1, false);
        g_assert_nonnull(strstr(last_error(&r, 1), "cycle of lookups"));
        g_assert_cmpstr(last_error(&r, 0), ==, "");
        test_answer_get(r.dev[1], VU_REQ_GET_SHARED_OBJECT, r.uuid[1]);
        expect_lookup_reply(&r, 0, true);
        ring_clear(&r, 2);
}

/* A waits on B, B on C (not a cycle: both go to the exporters); C's lookup
 * of A's object closes the cycle through the chain. */
static void test_chain_of_three(void)
{
        Ring r = {0};

        ring_init(&r, 3);
        lookup_start(&r, 0, 1);
        expect_get(&r, 1);
        lookup_start(&r, 1, 2);
        expect_get(&r, 2);
        lookup_start(&r, 2, 0);
        expect_lookup_reply(&r, 2, false);
        g_assert_nonnull(strstr(last_error(&r, 2), "cycle of lookups"));
        /* The chain unwinds from its end. */
        test_answer_get(r.dev[2], VU_REQ_GET_SHARED_OBJECT, r.uuid[2]);
        expect_lookup_reply(&r, 1, true);
        test_answer_get(r.dev[1], VU_REQ_GET_SHARED_OBJECT, r.uuid[1]);
        expect_lookup_reply(&r, 0, true);
        ring_clear(&r, 3);
}

/* An importer that goes while its GET is outstanding is no edge any more:
 * the answer finds no importer, and a later lookup that would have closed
 * a cycle through it goes through. */
static void test_importer_gone_while_waiting(void)
{
        Ring r = {0};
        uint64_t gone_id;
        RawPeer *gone;

        ring_init(&r, 2);
        gone = test_raw_peer_new(&r.t, RAW_PEER_BACKEND, "gone", true);
        r.dev[2] = gone;
        test_uuid(r.uuid[2]);
        g_assert_cmpint(test_raw_request(gone, VU_BREQ_SHARED_OBJECT_ADD, r.uuid[2], NULL), ==, 0);
        lookup_start(&r, 2, 0);
        expect_get(&r, 0);
        gone_id = gone->service_peer_id;
        raw_peer_free(gone);
        TEST_WAIT_FOR(&r.t, service_find_peer(r.t.s, gone_id) == NULL);
        /* dev[0] waits on dev[1]: no cycle through the importer that went. */
        lookup_start(&r, 0, 1);
        expect_get(&r, 1);
        test_answer_get(r.dev[1], VU_REQ_GET_SHARED_OBJECT, r.uuid[1]);
        expect_lookup_reply(&r, 0, true);
        /* The GET for the importer that went is answered into the void. */
        test_answer_get(r.dev[0], VU_REQ_GET_SHARED_OBJECT, r.uuid[0]);
        test_assert_serves(&r.t);
        ring_clear(&r, 2);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/lookup-cycles/self-lookup", test_self_lookup);
        g_test_add_func("/reliability/lookup-cycles/two-wait-on-each-other",
                        test_two_wait_on_each_other);
        g_test_add_func("/reliability/lookup-cycles/chain-of-three", test_chain_of_three);
        g_test_add_func("/reliability/lookup-cycles/importer-gone-while-waiting",
                        test_importer_gone_while_waiting);
        return g_test_run();
}
