/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one rule for what the table may hold (docs/security.md, "Quotas").
 * Every entry counts against its owner (max_entries: MaxObjectsPerPeer=,
 * MaxObjectsPerClient=, the disowned pool). A held buffer (an entry with an
 * fd, from Export or Allocate) also counts, with its size as classified,
 * against its owner's bytes (max_bytes: MaxBytesPerClient=), against the
 * uid that put it there (MaxObjectsPerUid=, MaxBytesPerUid=; it stays that
 * uid's when disowned, and a uid's share of the disowned pool is
 * MaxDisownedObjectsPerUid=) and against MaxBytesTotal=. An object a
 * back-end exports is held by the back-end: it counts as an entry only.
 *
 * share-table.c asks and charges; the bus layer asks first to say which
 * limit refused (bus-manager-objects.c). Pure accounting, no fds. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ShareOwner ShareOwner;

typedef enum {
        QUOTA_OK,
        QUOTA_OBJECTS_PER_OWNER, /* owner->max_entries */
        QUOTA_BYTES_PER_OWNER,   /* owner->max_bytes */
        QUOTA_OBJECTS_PER_UID,
        QUOTA_BYTES_PER_UID,
        QUOTA_BYTES_TOTAL,
        QUOTA_DISOWNED_PER_UID,
} QuotaLimit;

/* 0: no limit. */
typedef struct {
        unsigned max_objects_per_uid;
        uint64_t max_bytes_per_uid;
        uint64_t max_bytes_total;
        unsigned max_disowned_per_uid;
} QuotaLimits;

/* What one uid holds: its held buffers, disowned or not. */
typedef struct {
        unsigned objects;
        uint64_t bytes;
        unsigned disowned;
} QuotaUsage;

typedef struct Quota Quota;

Quota *quota_new(void);
void quota_free(Quota *q);
void quota_set_limits(Quota *q, const QuotaLimits *limits);
const QuotaLimits *quota_limits(const Quota *q);

/* The limit a new entry of owner would pass, or QUOTA_OK: held says it
 * holds a buffer of bytes, charged to uid. An owner of the service's kind
 * (SHARE_OWNER_SERVICE) is the disowned pool. */
QuotaLimit quota_check_add(const Quota *q, const ShareOwner *owner, bool held, uid_t uid,
                           uint64_t bytes);
/* The same for an entry handed over from one owner to another. */
QuotaLimit quota_check_move(const Quota *q, const ShareOwner *from, const ShareOwner *to, bool held,
                            uid_t uid, uint64_t bytes);

/* A held buffer of bytes of uid's, owned by owner, coming (sign 1) or
 * going (-1). */
void quota_charge(Quota *q, const ShareOwner *owner, uid_t uid, uint64_t bytes, int sign);
/* A held buffer of uid's handed over from one owner to another. */
void quota_move(Quota *q, const ShareOwner *from, const ShareOwner *to, uid_t uid);

QuotaUsage quota_usage(const Quota *q, uid_t uid);
uint64_t quota_bytes_total(const Quota *q);

/* Why limit refused a buffer of bytes for owner (charged to uid), with
 * the numbers, for error messages and logs; g_free the result. */
char *quota_describe(const Quota *q, QuotaLimit limit, const ShareOwner *owner, uid_t uid,
                     uint64_t bytes);

/* The configuration key of limit ("MaxBytesPerClient="; an owner's object
 * limit has several keys: "the owner's object limit"). */
const char *quota_limit_to_string(QuotaLimit limit);
