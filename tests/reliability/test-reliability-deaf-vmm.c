/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VMM that stops reading its back-end channel while bus clients churn the
 * table (a stopped QEMU does it without malice): what the bridge queues for
 * it stays bounded, an ADD and its REMOVE that were never sent cancel out,
 * and the VMM either catches up when it reads again (its view of the table
 * is the table) or, over the queue limit, is dropped with one clear line.
 * With and without REPLY_ACK. Everything in-process (reliability-fixture.h). */

#include <fcntl.h>
#include <glib.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "reliability-fixture.h"

#define CHURN_CYCLES 20000
/* What the deaf VMM may cost in heap, whatever the churn: a few queued
 * messages and the coalesced announcements, not one per table change. */
#define DEAF_HEAP_BOUND (1024 * 1024)

#define VMM_PF (VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT))

typedef struct {
        TestService t;
        ShareOwner client;
        int buffer; /* a sealed memfd every export duplicates */
        RawPeer *v;
} Deaf;

static RawPeer *deaf_vmm_new(TestService *t, bool reply_ack)
{
        RawPeer *v = test_raw_peer_new(t, RAW_PEER_FRONTEND, "vmm", false);

        raw_peer_handshake(v, VMM_PF | (reply_ack ? VU_BIT(VU_PF_REPLY_ACK) : 0));
        TEST_WAIT_FOR(t,
                      peer_state(service_find_peer(t->s, v->service_peer_id)) == PEER_STATE_READY);
        return v;
}

static void deaf_init(Deaf *d, const ServiceConfig *c, bool reply_ack)
{
        test_service_init(&d->t, c);
        share_owner_init(&d->client, SHARE_OWNER_BUS_CLIENT, ":1.test", 0);
        g_assert_cmpint(memfd_new_sealed_pattern("churn", TEST_BUFFER_SIZE, 0, &d->buffer), ==, 0);
        d->v = deaf_vmm_new(&d->t, reply_ack);
}

static void deaf_export(Deaf *d, const uint8_t uuid[16])
{
        int fd = fcntl(d->buffer, F_DUPFD_CLOEXEC, 3);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(service_export_fd(d->t.s, uuid, fd, &d->client, NULL, NULL), ==, 0);
}

/* n exports, each removed again at once (remove) or kept; the loop runs
 * now and then, as it would between bus calls. */
static void deaf_churn(Deaf *d, unsigned n, bool remove)
{
        uint8_t uuid[16];

        for (unsigned i = 0; i < n; i++) {
                test_uuid(uuid);
                deaf_export(d, uuid);
                if (remove)
                        g_assert_cmpint(service_remove(d->t.s, uuid, &d->client), ==, 0);
                if (i % 256 == 0)
                        test_service_iterate(&d->t);
        }
}

/* The VMM reads again: it applies each ADD and REMOVE to its view (acking
 * each with REPLY_ACK) until it has seen the ADD of last. */
static GHashTable *vmm_catch_up(RawPeer *v, const uint8_t last[16], unsigned *ret_messages)
{
        GHashTable *view = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                 (GDestroyNotify) g_bytes_unref, NULL);
        bool seen_last = false;

        *ret_messages = 0;
        while (!seen_last) {
                g_autoptr(GBytes) key = NULL;
                VuMessage m, ack;

                g_assert_cmpint(raw_peer_recv(v, v->chan, &m), ==, 1);
                (*ret_messages)++;
                key = g_bytes_new(m.payload.uuid, 16);
                if (m.hdr.request == VU_BREQ_SHARED_OBJECT_ADD) {
                        g_assert_false(g_hash_table_contains(view, key));
                        g_hash_table_add(view, g_bytes_ref(key));
                        seen_last = memcmp(m.payload.uuid, last, 16) == 0;
                } else {
                        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_REMOVE);
                        g_assert_true(g_hash_table_remove(view, key));
                }
                if (m.hdr.flags & VU_FLAG_NEED_REPLY) {
                        vu_message_init_reply_u64(&ack, &m, 0);
                        raw_peer_send(v, v->chan, &ack);
                }
        }
        return view;
}

static void run_deaf_churn(bool reply_ack)
{
        g_autoptr(GHashTable) view = NULL;
        uint8_t kept[16], last[16];
        int fds = fd_count_open();
        size_t heap_warm, heap_end;
        unsigned messages;
        ServiceConfig c;
        Deaf d;

        test_config_defaults(&c);
        deaf_init(&d, &c, reply_ack);
        test_uuid(kept);
        deaf_export(&d, kept);
        deaf_churn(&d, 500, true); /* warm-up: the socket's buffer fills */
        heap_warm = mallinfo2().uordblks;
        deaf_churn(&d, CHURN_CYCLES, true);
        heap_end = mallinfo2().uordblks;
        g_test_message("heap %zu -> %zu bytes over %u ADD+REMOVE with a deaf VMM", heap_warm,
                       heap_end, CHURN_CYCLES);
        g_assert_cmpint((gssize) heap_end - (gssize) heap_warm, <, DEAF_HEAP_BOUND);

        /* It reads again and catches up: its view is the table. */
        test_uuid(last);
        deaf_export(&d, last);
        view = vmm_catch_up(d.v, last, &messages);
        g_test_message("the VMM caught up after %u messages", messages);
        g_assert_cmpuint(g_hash_table_size(view), ==, 2);
        g_assert_true(test_raw_peer_connected(&d.t, d.v));
        g_assert_cmpuint(share_table_size(service_table(d.t.s)), ==, 2);
        test_assert_serves(&d.t);

        raw_peer_free(d.v);
        close(d.buffer);
        TEST_WAIT_FOR(&d.t, service_n_peers(d.t.s) == 0);
        test_finish_with_client(&d.t, &d.client, fds);
}

static void test_churn_without_reply_ack(void)
{
        run_deaf_churn(false);
}

static void test_churn_with_reply_ack(void)
{
        run_deaf_churn(true);
}

/* Objects that stay while the VMM does not read: nothing cancels out, and
 * past MaxQueuedMessages the VMM is dropped, with one line saying why; the
 * bus client's objects stay, and others are served. */
static void run_deaf_over_limit(bool reply_ack)
{
        int fds = fd_count_open();
        ServiceConfig c;
        Peer *p;
        Deaf d;

        test_config_defaults(&c);
        c.max_queued_messages = 100;
        deaf_init(&d, &c, reply_ack);
        p = service_find_peer(d.t.s, d.v->service_peer_id);
        /* Enough to fill the socket's buffer (~200 KiB) and then the limit. */
        for (unsigned i = 0; i < 20000 && peer_state(p) != PEER_STATE_CLOSED; i += 64)
                deaf_churn(&d, 64, false);
        g_assert_cmpint(peer_state(p), ==, PEER_STATE_CLOSED);
        g_assert_nonnull(strstr(peer_last_error(p), "(limit 100): the front-end is not reading"));
        TEST_WAIT_FOR(&d.t, !test_raw_peer_connected(&d.t, d.v));
        g_assert_cmpuint(share_table_size(service_table(d.t.s)), >, 100);
        test_assert_serves(&d.t);

        raw_peer_free(d.v);
        close(d.buffer);
        test_finish_with_client(&d.t, &d.client, fds);
}

static void test_over_limit_without_reply_ack(void)
{
        run_deaf_over_limit(false);
}

static void test_over_limit_with_reply_ack(void)
{
        run_deaf_over_limit(true);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/deaf-vmm/churn-without-reply-ack",
                        test_churn_without_reply_ack);
        g_test_add_func("/reliability/deaf-vmm/churn-with-reply-ack", test_churn_with_reply_ack);
        g_test_add_func("/reliability/deaf-vmm/over-limit-without-reply-ack",
                        test_over_limit_without_reply_ack);
        g_test_add_func("/reliability/deaf-vmm/over-limit-with-reply-ack",
                        test_over_limit_with_reply_ack);
        return g_test_run();
}
