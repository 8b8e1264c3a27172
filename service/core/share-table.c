/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "share-table.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "enum-name.h"
#include "fd-util.h"
#include "log.h"
#include "observer-list.h"

struct ShareEntry {
        /* What a walk and ListObjects read first, in one cache line. */
        uint8_t uuid[SHARE_UUID_SIZE]; /* the hash key points here */
        /* The table's list, in the order added (walks follow it). */
        ShareEntry *table_prev, *table_next;
        uint64_t serial; /* the table's count of adds when this one came */
        ShareType type;
        int fd; /* owned; -1 for SHARE_TYPE_VHOST_DEV */
        ShareOwner *owner;
        uid_t uid; /* a held buffer's is charged to: its first owner's */
        ShareBufferInfo info;
        uint64_t created_usec;
        uint64_t lookup_count;
        /* The owner's list. */
        ShareEntry *owner_prev, *owner_next;
        bool linked;   /* in the hash and the owner's list */
        unsigned refs; /* 1 while linked, +1 per queued event */
};

typedef struct {
        ShareEntry *entry; /* holds a reference */
        ShareEvent ev;
} PendingEvent;

/* A walk's position: the next entry it visits, moved on when that one goes. */
struct ShareTableWalk {
        ShareTable *table; /* NULL once the table is freed */
        ShareEntry *next;
        uint64_t end_serial; /* entries added since the start are not visited */
};

struct ShareTable {
        GHashTable *entries;     /* uuid (inside the entry) -> ShareEntry */
        ShareEntry *head, *tail; /* every entry, in the order added */
        uint64_t n_added;        /* the next entry's serial */
        GPtrArray *walks;        /* ShareTableWalk*: the walks under way */
        ObserverList *observers; /* ShareObserverFn */
        Quota *quota;
        GQueue pending; /* PendingEvent*, delivered in order */
        bool dispatching;
};

static uint64_t now_realtime_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

ShareTable *share_table_new(void)
{
        ShareTable *t;

        t = g_new0(ShareTable, 1);
        t->entries = g_hash_table_new(share_uuid_hash, share_uuid_equal);
        t->observers = observer_list_new();
        t->quota = quota_new();
        t->walks = g_ptr_array_new();
        g_queue_init(&t->pending);
        return t;
}

/* The hash stores e->uuid as the key; the entry is the struct around it. */
static ShareEntry *entry_from_key(gpointer key)
{
        return (ShareEntry *) ((uint8_t *) key - offsetof(ShareEntry, uuid));
}

static void entry_unref(ShareEntry *e)
{
        g_assert(e->refs > 0);
        if (--e->refs > 0)
                return;
        g_assert(!e->linked);
        fd_close_safe(&e->fd);
        g_free(e);
}

void share_table_free(ShareTable *t)
{
        GHashTableIter it;
        gpointer key;

        if (!t)
                return;
        g_return_if_fail(!t->dispatching);

        g_hash_table_iter_init(&it, t->entries);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
                ShareEntry *e = entry_from_key(key);

                /* Owners stay with their callers: leave their lists empty so
                 * share_owner_clear accepts them. */
                if (e->owner) {
                        e->owner->entries_head = NULL;
                        e->owner->n_entries = 0;
                        e->owner->n_bytes = 0;
                }
                e->linked = false;
                g_hash_table_iter_remove(&it);
                entry_unref(e);
        }
        g_hash_table_unref(t->entries);
        for (unsigned i = 0; i < t->walks->len; i++) {
                ShareTableWalk *w = g_ptr_array_index(t->walks, i);

                w->table = NULL;
                w->next = NULL;
        }
        g_ptr_array_unref(t->walks);
        observer_list_free(t->observers);
        quota_free(t->quota);
        g_free(t);
}

void share_owner_init(ShareOwner *o, ShareOwnerKind kind, const char *name, uid_t uid)
{
        *o = (ShareOwner){
            .kind = kind,
            .name = g_strdup(name ? name : ""),
            .uid = uid,
        };
}

void share_owner_clear(ShareOwner *o)
{
        if (!o)
                return;
        /* Freeing an owner that still has entries would leave them pointing
         * at freed memory: a bug in the caller. */
        g_warn_if_fail(o->n_entries == 0 && o->entries_head == NULL);
        g_clear_pointer(&o->name, g_free);
}

unsigned share_table_add_observer(ShareTable *t, ShareObserverFn fn, void *userdata)
{
        g_return_val_if_fail(t && fn, 0);
        return observer_list_add(t->observers, (ObserverFn) fn, userdata);
}

void share_table_remove_observer(ShareTable *t, unsigned id)
{
        if (t)
                observer_list_remove(t->observers, id);
}

/* Queues ev for e and, unless a dispatch is already running further up the
 * stack, delivers every queued event to every observer in order: one
 * notification of the list per event, so an observer added from a callback
 * starts with the next event. */
static void emit(ShareTable *t, ShareEntry *e, ShareEvent ev)
{
        PendingEvent *pe;

        if (!t->dispatching && observer_list_size(t->observers) == 0)
                return; /* nobody to tell; nothing queued can be waiting either */
        pe = g_new(PendingEvent, 1);
        e->refs++;
        pe->entry = e;
        pe->ev = ev;
        g_queue_push_tail(&t->pending, pe);
        if (t->dispatching)
                return;

        t->dispatching = true;
        while ((pe = g_queue_pop_head(&t->pending))) {
                ObserverIter it;

                for (observer_list_begin(t->observers, &it); observer_list_next(t->observers, &it);)
                        ((ShareObserverFn) it.fn)(t, pe->entry, pe->ev, it.userdata);
                observer_list_end(t->observers);
                entry_unref(pe->entry);
                g_free(pe);
        }
        t->dispatching = false;
}

static bool entry_held(const ShareEntry *e)
{
        return e->type == SHARE_TYPE_DMABUF;
}

static void owner_link(ShareOwner *o, ShareEntry *e)
{
        ShareEntry *head = o->entries_head;

        e->owner_prev = NULL;
        e->owner_next = head;
        if (head)
                head->owner_prev = e;
        o->entries_head = e;
        o->n_entries++;
        if (entry_held(e))
                o->n_bytes += e->info.size;
}

static void owner_unlink(ShareOwner *o, ShareEntry *e)
{
        if (e->owner_prev)
                e->owner_prev->owner_next = e->owner_next;
        else
                o->entries_head = e->owner_next;
        if (e->owner_next)
                e->owner_next->owner_prev = e->owner_prev;
        e->owner_prev = e->owner_next = NULL;
        o->n_entries--;
        if (entry_held(e))
                o->n_bytes -= e->info.size;
}

static void table_link(ShareTable *t, ShareEntry *e)
{
        e->serial = t->n_added++;
        e->table_next = NULL;
        e->table_prev = t->tail;
        if (t->tail)
                t->tail->table_next = e;
        else
                t->head = e;
        t->tail = e;
}

/* A walk about to visit e visits the one after it instead. */
static void table_unlink(ShareTable *t, ShareEntry *e)
{
        for (unsigned i = 0; i < t->walks->len; i++) {
                ShareTableWalk *w = g_ptr_array_index(t->walks, i);

                if (w->next == e)
                        w->next = e->table_next;
        }
        if (e->table_prev)
                e->table_prev->table_next = e->table_next;
        else
                t->head = e->table_next;
        if (e->table_next)
                e->table_next->table_prev = e->table_prev;
        else
                t->tail = e->table_prev;
        e->table_prev = e->table_next = NULL;
}

void share_table_set_limits(ShareTable *t, const QuotaLimits *limits)
{
        quota_set_limits(t->quota, limits);
}

const Quota *share_table_quota(const ShareTable *t)
{
        return t->quota;
}

QuotaLimit share_table_check_add_fd(ShareTable *t, const ShareOwner *owner, uint64_t bytes)
{
        return quota_check_add(t->quota, owner, true, owner->uid, bytes);
}

QuotaLimit share_table_check_set_owner(ShareTable *t, const ShareEntry *e, const ShareOwner *owner)
{
        if (e->owner == owner)
                return QUOTA_OK;
        return quota_check_move(t->quota, e->owner, owner, entry_held(e), e->uid, e->info.size);
}

/* held: the entry will hold a buffer of bytes. */
static int check_add(ShareTable *t, const uint8_t *uuid, ShareOwner *owner, bool held,
                     uint64_t bytes)
{
        if (!t || !owner || !share_uuid_is_valid(uuid))
                return -EINVAL;
        if (g_hash_table_contains(t->entries, uuid))
                return -EEXIST;
        if (quota_check_add(t->quota, owner, held, owner->uid, bytes) != QUOTA_OK)
                return -EDQUOT;
        return 0;
}

static ShareEntry *insert(ShareTable *t, const uint8_t *uuid, ShareType type, int fd,
                          ShareOwner *owner, const ShareBufferInfo *info)
{
        ShareEntry *e = g_new0(ShareEntry, 1);
        char s[SHARE_UUID_STR_LEN];

        memcpy(e->uuid, uuid, SHARE_UUID_SIZE);
        e->type = type;
        e->fd = fd;
        e->owner = owner;
        e->uid = owner->uid;
        if (info)
                e->info = *info;
        if (entry_held(e))
                quota_charge(t->quota, owner, e->uid, e->info.size, 1);
        e->created_usec = now_realtime_usec();
        e->refs = 1;
        e->linked = true;
        g_hash_table_add(t->entries, e->uuid); /* key == value's first bytes */
        table_link(t, e);
        owner_link(owner, e);

        if (log_get_max_level() >= LOG_DEBUG) { /* spare the formatting otherwise */
                share_uuid_to_string(uuid, s);
                log_debug("share table: %s added %s (%s)", owner->name ? owner->name : "?", s,
                          share_type_to_string(type));
        }
        return e;
}

int share_table_add_fd(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE], int fd,
                       ShareOwner *owner, const ShareBufferInfo *info, ShareEntry **ret)
{
        ShareBufferInfo read_info;
        ShareEntry *e;
        int r;

        if (fd < 0)
                return -EINVAL;
        if (info) {
                /* Taking ownership of a number that is not open would close
                 * someone else's fd later. */
                if (fcntl(fd, F_GETFD) < 0)
                        return -EBADF;
        } else {
                r = share_buffer_info_from_fd(fd, &read_info);
                if (r < 0)
                        return r;
                info = &read_info;
        }
        r = check_add(t, uuid, owner, true, info->size);
        if (r < 0)
                return r;

        e = insert(t, uuid, SHARE_TYPE_DMABUF, fd, owner, info);
        if (ret)
                *ret = e;
        emit(t, e, SHARE_EVENT_ADDED);
        return 0;
}

int share_table_add_exporter(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE], ShareOwner *owner,
                             ShareEntry **ret)
{
        ShareEntry *e;
        int r;

        r = check_add(t, uuid, owner, false, 0);
        if (r < 0)
                return r;
        e = insert(t, uuid, SHARE_TYPE_VHOST_DEV, -1, owner, NULL);
        if (ret)
                *ret = e;
        emit(t, e, SHARE_EVENT_ADDED);
        return 0;
}

/* Takes e out of the table, tells observers, then drops the table's
 * reference (closing the fd unless an event still holds it). */
static void remove_entry(ShareTable *t, ShareEntry *e)
{
        char s[SHARE_UUID_STR_LEN];

        g_hash_table_remove(t->entries, e->uuid);
        table_unlink(t, e);
        owner_unlink(e->owner, e);
        if (entry_held(e))
                quota_charge(t->quota, e->owner, e->uid, e->info.size, -1);
        e->linked = false;

        if (log_get_max_level() >= LOG_DEBUG) {
                share_uuid_to_string(e->uuid, s);
                log_debug("share table: %s removed %s", e->owner->name ? e->owner->name : "?", s);
        }

        emit(t, e, SHARE_EVENT_REMOVED); /* the queued event holds its own ref */
        entry_unref(e);
}

int share_table_remove(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE],
                       const ShareOwner *requester)
{
        ShareEntry *e;

        if (!t || !share_uuid_is_valid(uuid))
                return -EINVAL;
        e = share_table_lookup(t, uuid);
        if (!e)
                return -ENOENT;
        if (requester && requester != e->owner)
                return -EPERM;
        remove_entry(t, e);
        return 0;
}

int share_table_set_owner(ShareTable *t, ShareEntry *e, ShareOwner *owner)
{
        if (!t || !e || !owner)
                return -EINVAL;
        if (e->owner == owner)
                return 0;
        if (share_table_check_set_owner(t, e, owner) != QUOTA_OK)
                return -EDQUOT;
        if (entry_held(e))
                quota_move(t->quota, e->owner, owner, e->uid);
        owner_unlink(e->owner, e);
        owner_link(owner, e);
        e->owner = owner;
        return 0;
}

unsigned share_table_remove_owner(ShareTable *t, ShareOwner *owner)
{
        unsigned n = 0;

        if (!t || !owner)
                return 0;
        /* Take the head each time: observers may remove entries too. */
        while (owner->entries_head) {
                remove_entry(t, owner->entries_head);
                n++;
        }
        return n;
}

ShareEntry *share_table_lookup(ShareTable *t, const uint8_t uuid[SHARE_UUID_SIZE])
{
        gpointer key;

        if (!t || !uuid)
                return NULL;
        if (!g_hash_table_lookup_extended(t->entries, uuid, &key, NULL))
                return NULL;
        return entry_from_key(key);
}

void share_table_note_lookup(ShareTable *t, ShareEntry *e)
{
        if (!t || !e || !e->linked)
                return;
        e->lookup_count++;
        emit(t, e, SHARE_EVENT_CHANGED);
}

bool share_table_note_size(ShareTable *t, ShareEntry *e, uint64_t size)
{
        if (!t || !e || !e->linked || entry_held(e) || size == 0 || e->info.size == size)
                return false;
        e->info.size = size;
        return true;
}

unsigned share_table_size(const ShareTable *t)
{
        return t ? g_hash_table_size(t->entries) : 0;
}

void share_table_foreach(ShareTable *t, bool (*fn)(const ShareEntry *e, void *userdata),
                         void *userdata)
{
        GHashTableIter it;
        gpointer key;

        if (!t || !fn)
                return;
        g_hash_table_iter_init(&it, t->entries);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!fn(entry_from_key(key), userdata))
                        break;
}

ShareTableWalk *share_table_walk_new(ShareTable *t)
{
        ShareTableWalk *w = g_new0(ShareTableWalk, 1);

        w->table = t;
        w->next = t->head;
        w->end_serial = t->n_added;
        g_ptr_array_add(t->walks, w);
        return w;
}

const ShareEntry *share_table_walk_next(ShareTableWalk *w)
{
        ShareEntry *e = w->next;

        if (!e || e->serial >= w->end_serial) {
                w->next = NULL;
                return NULL;
        }
        w->next = e->table_next;
        /* The caller works on e meanwhile: a list walk's cache miss per
         * entry is hidden behind it (a third of a ListObjects otherwise). */
        if (w->next)
                __builtin_prefetch(w->next);
        return e;
}

void share_table_walk_free(ShareTableWalk *w)
{
        if (!w)
                return;
        if (w->table)
                g_ptr_array_remove_fast(w->table->walks, w);
        g_free(w);
}

const uint8_t *share_entry_uuid(const ShareEntry *e)
{
        return e->uuid;
}

ShareType share_entry_type(const ShareEntry *e)
{
        return e->type;
}

int share_entry_fd(const ShareEntry *e)
{
        return e->fd;
}

ShareOwner *share_entry_owner(const ShareEntry *e)
{
        return e->owner;
}

const ShareBufferInfo *share_entry_info(const ShareEntry *e)
{
        return &e->info;
}

uint64_t share_entry_created_usec(const ShareEntry *e)
{
        return e->created_usec;
}

uint64_t share_entry_lookup_count(const ShareEntry *e)
{
        return e->lookup_count;
}

uid_t share_entry_uid(const ShareEntry *e)
{
        return e->uid;
}

void share_entry_restore_history(ShareEntry *e, uint64_t created_usec, uint64_t lookup_count)
{
        e->created_usec = created_usec;
        e->lookup_count = lookup_count;
}

static const char *const share_type_names[] = {
    [SHARE_TYPE_DMABUF] = "dma-buf",
    [SHARE_TYPE_VHOST_DEV] = "vhost-device",
};
DEFINE_ENUM_TO_STRING(share_type, ShareType);
