/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The virtio-dmabuf table: UUID -> shared object. An object is either a
 * buffer fd the table holds (SHARE_TYPE_DMABUF: a dma-buf, or a sealed memfd
 * standing in for one) or a reference to the vhost-user back-end that exports
 * it (SHARE_TYPE_VHOST_DEV). Knows nothing of sockets or D-Bus: the peers and
 * the bus layer call in, observers hear of every add and remove.
 *
 * Every entry has an owner (a ShareOwner the caller keeps alive while it owns
 * entries). Only the owner may remove an entry; purging an owner removes all
 * of its entries in O(its entries). The table owns stored fds: exactly one
 * close() per fd, when its entry goes. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buffer-info.h"
#include "quota.h"
#include "uuid-util.h"

typedef enum {
        SHARE_TYPE_DMABUF,    /* the table holds the fd */
        SHARE_TYPE_VHOST_DEV, /* a back-end holds it; ask with GET_SHARED_OBJECT */
} ShareType;

typedef enum {
        SHARE_OWNER_PEER,       /* a vhost-user peer (hub back-end or bridged front-end) */
        SHARE_OWNER_BUS_CLIENT, /* a D-Bus client (unique name) */
        SHARE_OWNER_SERVICE,    /* the service itself (allocated, detached) */
} ShareOwnerKind;

typedef struct ShareTable ShareTable;
typedef struct ShareEntry ShareEntry;
typedef struct ShareTableWalk ShareTableWalk;

/* Identity of whoever owns entries. Allocated and freed by the caller, which
 * must purge it (share_table_remove_owner) before freeing it. */
typedef struct ShareOwner {
        ShareOwnerKind kind;
        char *name;           /* for logs: peer name or bus unique name */
        uid_t uid;            /* credentials, when known; (uid_t)-1 otherwise */
        unsigned max_entries; /* quota; 0 = unlimited */
        uint64_t max_bytes;   /* quota of held buffers' bytes; 0 = unlimited (quota.h) */
        /* The caller's; the table never reads it (share_owner_init sets
         * NULL). The service sets a peer's to its Peer and finds an entry's
         * peer through it; the bus layer sets a client's to its BusClient. */
        void *userdata;
        /* Table-private: the owner's entries. */
        void *entries_head;
        unsigned n_entries;
        uint64_t n_bytes; /* of its held buffers */
} ShareOwner;

typedef enum {
        SHARE_EVENT_ADDED,
        SHARE_EVENT_REMOVED,
        SHARE_EVENT_CHANGED, /* lookup count and similar */
} ShareEvent;

typedef void (*ShareObserverFn)(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata);

/* A hash of a UUID keyed at random per process (peers choose UUIDs: no
 * colliding set can be picked in advance), and equality; for GHashTables. */
unsigned share_uuid_hash(const void *uuid);
int share_uuid_equal(const void *a, const void *b);

ShareTable *share_table_new(void);
/* Closes all stored fds; observers are not told. */
void share_table_free(ShareTable *t);

void share_owner_init(ShareOwner *o, ShareOwnerKind kind, const char *name, uid_t uid);
/* Frees the name; the owner must have no entries left. */
void share_owner_clear(ShareOwner *o);

/* Observers are called in the order added, after an add and before the
 * entry of a remove is freed. Returns an id (never 0) for
 * share_table_remove_observer.
 *
 * What an observer sees: on ADDED the entry is already in the table (lookup
 * finds it, sizes count it); on REMOVED it is already out of the table and
 * its owner's list, but the entry, its fd and its owner pointer are still
 * valid until the last observer returns. An observer may add observers (a
 * new one starts with the next event), remove observers (itself too; a
 * removed observer is not called again, not even for the event in
 * progress) and add or remove entries: events caused from inside a
 * callback are queued and delivered after the current event has reached
 * every observer, so each observer sees every entry's events in order
 * (ADDED before REMOVED). The table must not be freed from a callback. */
unsigned share_table_add_observer(ShareTable *t, ShareObserverFn fn, void *userdata);
void share_table_remove_observer(ShareTable *t, unsigned id);

/* The per-uid and total quotas (quota.h); none until set. */
void share_table_set_limits(ShareTable *t, const QuotaLimits *limits);
const Quota *share_table_quota(const ShareTable *t);
/* The limit a buffer of bytes, held for owner (charged to its uid), would
 * pass, or QUOTA_OK: what share_table_add_fd() checks. */
QuotaLimit share_table_check_add_fd(ShareTable *t, const ShareOwner *owner, uint64_t bytes);
/* The same for handing e over to owner: what share_table_set_owner() checks. */
QuotaLimit share_table_check_set_owner(ShareTable *t, const ShareEntry *e, const ShareOwner *owner);

/* Adds an entry holding fd; fd taken on success (the table closes it when
 * the entry goes), the caller's still on failure. Errors: -EINVAL (nil/max
 * UUID, fd < 0, owner NULL), -EBADF (fd is not open), -EEXIST (first writer
 * wins), -EDQUOT (a quota, share_table_check_add_fd). info may be NULL:
 * then it is read from the fd (share_buffer_info_from_fd, whose errors are
 * returned too); its size is what the quotas count. */
int share_table_add_fd(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE], int fd,
                       ShareOwner *owner, const ShareBufferInfo *info, ShareEntry **ret);

/* Adds an entry exported by owner (a back-end); no fd. -EINVAL, -EEXIST,
 * -EDQUOT as above. */
int share_table_add_exporter(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE], ShareOwner *owner,
                             ShareEntry **ret);

/* Removes the entry if requester owns it (requester NULL: the service
 * itself, allowed always). -ENOENT, -EPERM, -EINVAL. */
int share_table_remove(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE],
                       const ShareOwner *requester);

/* Hands e over to owner (e.g. a bus client's buffer to the service). Not a
 * table event: observers are not told; the caller announces the change.
 * The buffer stays charged to the uid that put it there. -EINVAL (NULL
 * argument), -EDQUOT (a quota, share_table_check_set_owner). */
int share_table_set_owner(ShareTable *t, ShareEntry *e, ShareOwner *owner);

/* Removes every entry of owner; returns how many. */
unsigned share_table_remove_owner(ShareTable *t, ShareOwner *owner);

ShareEntry *share_table_lookup(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE]);

/* Counts a lookup on e and tells observers (SHARE_EVENT_CHANGED). */
void share_table_note_lookup(ShareTable *t, ShareEntry *e);
/* The size of the buffer of a SHARE_TYPE_VHOST_DEV entry, which its ADD did
 * not say, once an answer of its exporter showed it. Not a table event:
 * returns true when it changed, for the caller to announce (the lookup
 * observers are told). Held entries keep theirs: the quotas count it. */
bool share_table_note_size(ShareTable *t, ShareEntry *e, uint64_t size);

unsigned share_table_size(const ShareTable *t);

/* Calls fn for every entry; fn returns false to stop. The table must not be
 * changed from fn. */
void share_table_foreach(ShareTable *t, bool (*fn)(const ShareEntry *e, void *userdata),
                         void *userdata);

/* A walk over the entries in the order they were added that may span
 * loop iterations, the table changing in between: it visits every entry
 * that was in the table at its start and still is when the walk reaches
 * it, once; entries added after the start are not visited (a UUID removed
 * and added again is a new entry). A walk costs no memory per entry. */
ShareTableWalk *share_table_walk_new(ShareTable *t);
/* The next entry, or NULL at the end (and after the table was freed). */
const ShareEntry *share_table_walk_next(ShareTableWalk *w);
/* NULL-safe; also after the table was freed. */
void share_table_walk_free(ShareTableWalk *w);

/* Entry accessors. */
const uint8_t *share_entry_uuid(const ShareEntry *e);
ShareType share_entry_type(const ShareEntry *e);
/* The stored fd (still owned by the table), or -1 for SHARE_TYPE_VHOST_DEV. */
int share_entry_fd(const ShareEntry *e);
ShareOwner *share_entry_owner(const ShareEntry *e);
const ShareBufferInfo *share_entry_info(const ShareEntry *e);
uint64_t share_entry_created_usec(const ShareEntry *e); /* CLOCK_REALTIME µs */
uint64_t share_entry_lookup_count(const ShareEntry *e);
/* The uid a held buffer is charged to (quota.h). */
uid_t share_entry_uid(const ShareEntry *e);
/* A restart (core/state-restore.c) gives an entry back its history; not
 * a table event. */
void share_entry_restore_history(ShareEntry *e, uint64_t created_usec, uint64_t lookup_count);

const char *share_type_to_string(ShareType t); /* "dma-buf" | "vhost-device" */
