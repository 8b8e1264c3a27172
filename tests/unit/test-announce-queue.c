/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-user/announce-queue.h: held announcements keep their order, an ADD
 * and its REMOVE both still held cancel out, a REMOVE of a sent ADD stays. */

#include <glib.h>
#include <string.h>

#include "announce-queue.h"

static void uuid_n(uint8_t uuid[VU_UUID_SIZE], unsigned n)
{
        memset(uuid, 0x5a, VU_UUID_SIZE);
        memcpy(uuid, &n, sizeof(n));
}

/* Pops the head and checks it is (n, add, data). */
static void assert_pop(AnnounceQueue *q, unsigned n, bool add, gpointer data)
{
        uint8_t uuid[VU_UUID_SIZE], want[VU_UUID_SIZE];
        void *got;
        bool got_add;

        uuid_n(want, n);
        g_assert_true(announce_queue_pop(q, uuid, &got_add, &got));
        g_assert_cmpmem(uuid, VU_UUID_SIZE, want, VU_UUID_SIZE);
        g_assert_cmpint(got_add, ==, add);
        g_assert_true(got == data);
}

static bool push(AnnounceQueue *q, unsigned n, bool add, gpointer data, void **cancelled)
{
        uint8_t uuid[VU_UUID_SIZE];

        uuid_n(uuid, n);
        *cancelled = NULL;
        return announce_queue_push(q, uuid, add, data, cancelled);
}

static void test_order_kept(void)
{
        AnnounceQueue *q = announce_queue_new();
        void *c;

        g_assert_false(push(q, 1, true, GINT_TO_POINTER(1), &c));
        g_assert_false(push(q, 2, false, GINT_TO_POINTER(2), &c)); /* its ADD was sent */
        g_assert_false(push(q, 3, true, GINT_TO_POINTER(3), &c));
        g_assert_cmpuint(announce_queue_length(q), ==, 3);
        assert_pop(q, 1, true, GINT_TO_POINTER(1));
        assert_pop(q, 2, false, GINT_TO_POINTER(2));
        assert_pop(q, 3, true, GINT_TO_POINTER(3));
        g_assert_false(announce_queue_pop(q, (uint8_t[VU_UUID_SIZE]){0}, &(bool){0}, &c));
        announce_queue_free(q);
}

static void test_add_and_remove_cancel(void)
{
        AnnounceQueue *q = announce_queue_new();
        void *c;

        g_assert_false(push(q, 1, true, GINT_TO_POINTER(1), &c));
        g_assert_false(push(q, 2, true, GINT_TO_POINTER(2), &c));
        g_assert_true(push(q, 1, false, GINT_TO_POINTER(10), &c));
        g_assert_true(c == GINT_TO_POINTER(1));
        g_assert_cmpuint(announce_queue_length(q), ==, 1);
        assert_pop(q, 2, true, GINT_TO_POINTER(2));
        /* Sent: its REMOVE is held, not cancelled. */
        g_assert_false(push(q, 2, false, GINT_TO_POINTER(20), &c));
        assert_pop(q, 2, false, GINT_TO_POINTER(20));
        announce_queue_free(q);
}

/* REMOVE (of a sent ADD), ADD again, REMOVE again: the second pair cancels,
 * the first REMOVE stays. */
static void test_remove_of_sent_stays(void)
{
        AnnounceQueue *q = announce_queue_new();
        void *c;

        g_assert_false(push(q, 7, false, GINT_TO_POINTER(1), &c));
        g_assert_false(push(q, 7, true, GINT_TO_POINTER(2), &c));
        g_assert_true(push(q, 7, false, GINT_TO_POINTER(3), &c));
        g_assert_true(c == GINT_TO_POINTER(2));
        g_assert_cmpuint(announce_queue_length(q), ==, 1);
        assert_pop(q, 7, false, GINT_TO_POINTER(1));
        /* Nothing held any more: a REMOVE now is held. */
        g_assert_false(push(q, 7, false, GINT_TO_POINTER(4), &c));
        assert_pop(q, 7, false, GINT_TO_POINTER(4));
        announce_queue_free(q);
}

/* A churn of many objects, each added and removed while held, leaves
 * nothing; the ones kept are what is left, in order. */
static void test_churn_leaves_the_table(void)
{
        AnnounceQueue *q = announce_queue_new();
        void *c;

        for (unsigned i = 0; i < 100000; i++) {
                g_assert_false(push(q, i, true, GINT_TO_POINTER(i + 1), &c));
                if (i % 1000 != 0)
                        g_assert_true(push(q, i, false, NULL, &c));
        }
        g_assert_cmpuint(announce_queue_length(q), ==, 100);
        for (unsigned i = 0; i < 100000; i += 1000)
                assert_pop(q, i, true, GINT_TO_POINTER(i + 1));
        announce_queue_free(q);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/announce-queue/order-kept", test_order_kept);
        g_test_add_func("/announce-queue/add-and-remove-cancel", test_add_and_remove_cancel);
        g_test_add_func("/announce-queue/remove-of-sent-stays", test_remove_of_sent_stays);
        g_test_add_func("/announce-queue/churn-leaves-the-table", test_churn_leaves_the_table);
        return g_test_run();
}
