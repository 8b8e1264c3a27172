/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "announce-queue.h"

#include <glib.h>
#include <string.h>

#include "uuid-util.h"

typedef struct {
        uint8_t uuid[VU_UUID_SIZE]; /* the key of held_adds points here */
        bool add;
        void *data;
} Held;

struct AnnounceQueue {
        GQueue order;          /* Held*, oldest first */
        GHashTable *held_adds; /* uuid -> GList* link in order of its newest held ADD */
};

AnnounceQueue *announce_queue_new(void)
{
        AnnounceQueue *q = g_new0(AnnounceQueue, 1);

        g_queue_init(&q->order);
        q->held_adds = g_hash_table_new(share_uuid_hash, share_uuid_equal);
        return q;
}

void announce_queue_free(AnnounceQueue *q)
{
        if (!q)
                return;
        g_warn_if_fail(q->order.length == 0);
        g_queue_clear_full(&q->order, g_free);
        g_hash_table_unref(q->held_adds);
        g_free(q);
}

bool announce_queue_push(AnnounceQueue *q, const uint8_t uuid[VU_UUID_SIZE], bool add, void *data,
                         void **ret_cancelled)
{
        GList *link;
        Held *h;

        if (!add && (link = g_hash_table_lookup(q->held_adds, uuid))) {
                h = link->data;
                g_hash_table_remove(q->held_adds, uuid);
                g_queue_delete_link(&q->order, link);
                *ret_cancelled = h->data;
                g_free(h);
                return true;
        }
        h = g_new0(Held, 1);
        memcpy(h->uuid, uuid, VU_UUID_SIZE);
        h->add = add;
        h->data = data;
        g_queue_push_tail(&q->order, h);
        if (add)
                g_hash_table_replace(q->held_adds, h->uuid, q->order.tail);
        return false;
}

bool announce_queue_pop(AnnounceQueue *q, uint8_t uuid[VU_UUID_SIZE], bool *ret_add,
                        void **ret_data)
{
        Held *h = g_queue_peek_head(&q->order);

        if (!h)
                return false;
        if (h->add && g_hash_table_lookup(q->held_adds, h->uuid) == q->order.head)
                g_hash_table_remove(q->held_adds, h->uuid);
        g_queue_pop_head(&q->order);
        memcpy(uuid, h->uuid, VU_UUID_SIZE);
        *ret_add = h->add;
        *ret_data = h->data;
        g_free(h);
        return true;
}

unsigned announce_queue_length(const AnnounceQueue *q)
{
        return q->order.length;
}
