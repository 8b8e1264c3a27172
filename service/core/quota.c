/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quota.h"

#include <glib.h>

#include "enum-name.h"
#include "share-table.h"

struct Quota {
        QuotaLimits limits;
        GHashTable *by_uid; /* uid -> QuotaUsage*, while it holds any */
        uint64_t bytes_total;
};

Quota *quota_new(void)
{
        Quota *q = g_new0(Quota, 1);

        q->by_uid = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        return q;
}

void quota_free(Quota *q)
{
        if (!q)
                return;
        g_hash_table_destroy(q->by_uid);
        g_free(q);
}

void quota_set_limits(Quota *q, const QuotaLimits *limits)
{
        q->limits = *limits;
}

const QuotaLimits *quota_limits(const Quota *q)
{
        return &q->limits;
}

/* uid_t is 32 bits: a pointer holds any, (uid_t) -1 (unknown) too. */
static QuotaUsage *usage_find(const Quota *q, uid_t uid)
{
        return g_hash_table_lookup(q->by_uid, GUINT_TO_POINTER(uid));
}

QuotaUsage quota_usage(const Quota *q, uid_t uid)
{
        QuotaUsage *u = usage_find(q, uid);

        return u ? *u : (QuotaUsage){0};
}

uint64_t quota_bytes_total(const Quota *q)
{
        return q->bytes_total;
}

/* Whether adding n to used passes max (0: no limit), without overflow. */
static bool passes(uint64_t used, uint64_t n, uint64_t max)
{
        return max != 0 && (used > max || n > max - used);
}

/* What every entry of owner counts against, then what a held buffer does. */
static QuotaLimit check_owner(const ShareOwner *owner, bool held, uint64_t bytes)
{
        if (owner->max_entries != 0 && owner->n_entries >= owner->max_entries)
                return QUOTA_OBJECTS_PER_OWNER;
        if (held && passes(owner->n_bytes, bytes, owner->max_bytes))
                return QUOTA_BYTES_PER_OWNER;
        return QUOTA_OK;
}

static bool is_pool(const ShareOwner *owner)
{
        return owner->kind == SHARE_OWNER_SERVICE;
}

static QuotaLimit check_disowned(const Quota *q, uid_t uid)
{
        if (q->limits.max_disowned_per_uid != 0 &&
            quota_usage(q, uid).disowned >= q->limits.max_disowned_per_uid)
                return QUOTA_DISOWNED_PER_UID;
        return QUOTA_OK;
}

QuotaLimit quota_check_add(const Quota *q, const ShareOwner *owner, bool held, uid_t uid,
                           uint64_t bytes)
{
        const QuotaLimits *l = &q->limits;
        QuotaUsage u = quota_usage(q, uid);
        QuotaLimit r = check_owner(owner, held, bytes);

        if (r != QUOTA_OK || !held)
                return r;
        if (l->max_objects_per_uid != 0 && u.objects >= l->max_objects_per_uid)
                return QUOTA_OBJECTS_PER_UID;
        if (passes(u.bytes, bytes, l->max_bytes_per_uid))
                return QUOTA_BYTES_PER_UID;
        if (passes(q->bytes_total, bytes, l->max_bytes_total))
                return QUOTA_BYTES_TOTAL;
        return is_pool(owner) ? check_disowned(q, uid) : QUOTA_OK;
}

QuotaLimit quota_check_move(const Quota *q, const ShareOwner *from, const ShareOwner *to, bool held,
                            uid_t uid, uint64_t bytes)
{
        QuotaLimit r = check_owner(to, held, bytes);

        /* The uid's objects and bytes, and the total, stay as they are. */
        if (r != QUOTA_OK || !held || !is_pool(to) || is_pool(from))
                return r;
        return check_disowned(q, uid);
}

static QuotaUsage *usage_get(Quota *q, uid_t uid)
{
        QuotaUsage *u = usage_find(q, uid);

        if (!u) {
                u = g_new0(QuotaUsage, 1);
                g_hash_table_insert(q->by_uid, GUINT_TO_POINTER(uid), u);
        }
        return u;
}

static void usage_drop_if_empty(Quota *q, uid_t uid, const QuotaUsage *u)
{
        if (u->objects == 0 && u->bytes == 0 && u->disowned == 0)
                g_hash_table_remove(q->by_uid, GUINT_TO_POINTER(uid));
}

void quota_charge(Quota *q, const ShareOwner *owner, uid_t uid, uint64_t bytes, int sign)
{
        QuotaUsage *u = usage_get(q, uid);

        if (sign > 0) {
                u->objects++;
                u->bytes += bytes;
                u->disowned += is_pool(owner);
                q->bytes_total += bytes;
        } else {
                g_warn_if_fail(u->objects > 0 && u->bytes >= bytes && q->bytes_total >= bytes);
                u->objects--;
                u->bytes -= bytes;
                u->disowned -= is_pool(owner);
                q->bytes_total -= bytes;
        }
        usage_drop_if_empty(q, uid, u);
}

void quota_move(Quota *q, const ShareOwner *from, const ShareOwner *to, uid_t uid)
{
        QuotaUsage *u = usage_get(q, uid);

        u->disowned += is_pool(to);
        u->disowned -= is_pool(from);
        usage_drop_if_empty(q, uid, u);
}

char *quota_describe(const Quota *q, QuotaLimit limit, const ShareOwner *owner, uid_t uid,
                     uint64_t bytes)
{
        const QuotaLimits *l = &q->limits;
        QuotaUsage u = quota_usage(q, uid);
        const char *name = owner->name ? owner->name : "?";

        switch (limit) {
        case QUOTA_OK:
                break;
        case QUOTA_OBJECTS_PER_OWNER:
                if (is_pool(owner))
                        return g_strdup_printf("the service holds the maximum of %u disowned "
                                               "objects (MaxObjectsPerClient=)",
                                               owner->max_entries);
                return g_strdup_printf("%s owns the maximum of %u objects (%s)", name,
                                       owner->max_entries,
                                       owner->kind == SHARE_OWNER_PEER ? "MaxObjectsPerPeer="
                                                                       : "MaxObjectsPerClient=");
        case QUOTA_BYTES_PER_OWNER:
                return g_strdup_printf("%s holds %" G_GUINT64_FORMAT " bytes; %" G_GUINT64_FORMAT
                                       " more would pass MaxBytesPerClient=%" G_GUINT64_FORMAT,
                                       name, owner->n_bytes, bytes, owner->max_bytes);
        case QUOTA_OBJECTS_PER_UID:
                return g_strdup_printf("uid %d holds the maximum of %u objects (MaxObjectsPerUid=)",
                                       (int) uid, l->max_objects_per_uid);
        case QUOTA_BYTES_PER_UID:
                return g_strdup_printf("uid %d holds %" G_GUINT64_FORMAT
                                       " bytes; %" G_GUINT64_FORMAT
                                       " more would pass MaxBytesPerUid=%" G_GUINT64_FORMAT,
                                       (int) uid, u.bytes, bytes, l->max_bytes_per_uid);
        case QUOTA_BYTES_TOTAL:
                return g_strdup_printf("the service holds %" G_GUINT64_FORMAT
                                       " bytes; %" G_GUINT64_FORMAT
                                       " more would pass MaxBytesTotal=%" G_GUINT64_FORMAT,
                                       q->bytes_total, bytes, l->max_bytes_total);
        case QUOTA_DISOWNED_PER_UID:
                return g_strdup_printf("uid %d has handed the maximum of %u objects over to the "
                                       "service (MaxDisownedObjectsPerUid=)",
                                       (int) uid, l->max_disowned_per_uid);
        }
        return g_strdup("no quota exceeded");
}

static const char *const quota_limit_names[] = {
    [QUOTA_OK] = "no limit",
    [QUOTA_OBJECTS_PER_OWNER] = "the owner's object limit",
    [QUOTA_BYTES_PER_OWNER] = "MaxBytesPerClient=",
    [QUOTA_OBJECTS_PER_UID] = "MaxObjectsPerUid=",
    [QUOTA_BYTES_PER_UID] = "MaxBytesPerUid=",
    [QUOTA_BYTES_TOTAL] = "MaxBytesTotal=",
    [QUOTA_DISOWNED_PER_UID] = "MaxDisownedObjectsPerUid=",
};
DEFINE_ENUM_TO_STRING(quota_limit, QuotaLimit);
