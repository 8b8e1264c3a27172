/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fair shares of the lookup pool. A lookup waiting on an exporter's
 * GET_SHARED_OBJECT holds one place in the pool (MaxPendingLookups=),
 * accounted to its importer (a peer, or a bus caller's uid) and to the
 * importer's uid. No importer holds more than MaxPendingLookupsPerPeer=,
 * no uid more than MaxPendingLookupsPerUid=, and the last eighth of the
 * pool is kept for importers that hold none: whoever else fills the pool,
 * a bystander's next lookup still gets a place. */

#include <errno.h>

#include "service-private.h"

/* Bus callers are one importer per uid; peers are their ids (from 1). */
#define IMPORTER_BUS_UID (UINT64_C(1) << 63)
#define IMPORTER_ANONYMOUS UINT64_C(0)

static unsigned counter_get(GHashTable *h, uint64_t key)
{
        return GPOINTER_TO_UINT(g_hash_table_lookup(h, &key));
}

static void counter_add(GHashTable *h, uint64_t key, int delta)
{
        unsigned n = counter_get(h, key) + (unsigned) delta;

        if (n == 0) {
                g_hash_table_remove(h, &key);
                return;
        }
        g_hash_table_insert(h, g_memdup2(&key, sizeof(key)), GUINT_TO_POINTER(n));
}

GHashTable *lookup_counters_new(void)
{
        return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

void lookup_share_init(LookupShare *sh, const ServiceImporter *who)
{
        *sh = (LookupShare){.importer = IMPORTER_ANONYMOUS, .uid = (uid_t) -1};
        if (!who)
                return;
        sh->uid = who->peer ? peer_uid(who->peer) : who->uid;
        sh->importer = who->peer ? peer_id(who->peer) : IMPORTER_BUS_UID | (uint64_t) who->uid;
}

static unsigned pool_reserve(const ServiceConfig *c)
{
        return c->max_pending_lookups / 8;
}

int lookup_share_take(Service *s, LookupShare *sh)
{
        const ServiceConfig *c = &s->config;
        unsigned mine = counter_get(s->lookups_by_importer, sh->importer);
        unsigned by_uid = counter_get(s->lookups_by_uid, sh->uid);
        unsigned reserve = pool_reserve(c);
        bool shared_room, reserved_room;

        if (c->max_pending_lookups_per_peer && mine >= c->max_pending_lookups_per_peer)
                return -EBUSY;
        shared_room = (!c->max_pending_lookups || s->pending_lookups - s->pending_reserved <
                                                      c->max_pending_lookups - reserve) &&
                      (!c->max_pending_lookups_per_uid || by_uid < c->max_pending_lookups_per_uid);
        /* One reserved place per importer at a time: it holds none yet. */
        reserved_room = mine == 0 && (!c->max_pending_lookups || s->pending_reserved < reserve);
        if (!shared_room && !reserved_room)
                return -EBUSY;
        sh->reserved = !shared_room;
        s->pending_lookups++;
        if (sh->reserved)
                s->pending_reserved++;
        counter_add(s->lookups_by_importer, sh->importer, 1);
        counter_add(s->lookups_by_uid, sh->uid, 1);
        return 0;
}

void lookup_share_release(Service *s, const LookupShare *sh)
{
        s->pending_lookups--;
        if (sh->reserved)
                s->pending_reserved--;
        counter_add(s->lookups_by_importer, sh->importer, -1);
        counter_add(s->lookups_by_uid, sh->uid, -1);
}
