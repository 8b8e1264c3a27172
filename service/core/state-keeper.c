/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state keeper (state-keeper.h): what the fd store must hold,
 * rewritten after every change. */

#include "state-keeper.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"
#include "state-record.h"

#define COUNTS_DELAY_USEC (1000 * 1000)

struct StateKeeper {
        Service *service;
        StateSink sink;
        void *userdata;
        uint64_t generation;
        GHashTable *stored;       /* name -> NULL: what the store holds */
        GHashTable *name_of_uuid; /* uuid (16 bytes, owned) -> fd name */
        char **configured;        /* listener paths of the configuration */
        sd_event_source *defer;   /* a change: write in this iteration */
        sd_event_source *counts;  /* only counts changed: write within a second */
        unsigned table_observer;
        unsigned listener_observer;
        unsigned peer_observer;
        bool dirty;
        bool failing; /* the last write failed: retried every second, logged once */
};

/* What goes into the store: kept entries. A peer's objects go with the
 * peer (its connection does not survive a restart). */
static bool entry_kept(const ShareEntry *e)
{
        return share_entry_type(e) == SHARE_TYPE_DMABUF &&
               share_entry_owner(e)->kind != SHARE_OWNER_PEER;
}

static int keeper_on_counts(sd_event_source *src, uint64_t usec, void *userdata)
{
        StateKeeper *k = userdata;

        k->counts = sd_event_source_disable_unref(k->counts);
        (void) state_keeper_flush(k, true);
        return 0;
}

static void keeper_mark(StateKeeper *k, bool counts_only)
{
        int r;

        if (counts_only) {
                uint64_t now;

                if (k->counts)
                        return;
                r = sd_event_now(k->service->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_add_time(k->service->event, &k->counts, CLOCK_MONOTONIC,
                                              now + COUNTS_DELAY_USEC, 0, keeper_on_counts, k);
        } else {
                k->dirty = true;
                r = sd_event_source_set_enabled(k->defer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to schedule writing the restart state: %m");
}

/* A back-end's exports are in its [Peer] group. */
static bool entry_of_peer(const ShareEntry *e)
{
        return share_entry_type(e) == SHARE_TYPE_VHOST_DEV &&
               share_entry_owner(e)->kind == SHARE_OWNER_PEER;
}

static void keeper_on_table(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        if (!entry_kept(e) && !entry_of_peer(e))
                return;
        keeper_mark(userdata, ev == SHARE_EVENT_CHANGED);
}

static void keeper_on_peer(Service *s, Peer *p, PeerEvent ev, void *userdata)
{
        keeper_mark(userdata, false);
}

static void keeper_on_listener(Service *s, Listener *l, ListenerEvent ev, void *userdata)
{
        keeper_mark(userdata, ev == LISTENER_EVENT_CHANGED);
}

static void keeper_on_state_changed(void *userdata)
{
        keeper_mark(userdata, false);
}

static int keeper_on_defer(sd_event_source *src, void *userdata)
{
        (void) state_keeper_flush(userdata, false);
        return 0;
}

int state_keeper_new(Service *s, const StateSink *sink, void *userdata, const char *const *stored,
                     const StateRecord *restored, StateKeeper **ret)
{
        StateKeeper *k = g_new0(StateKeeper, 1);
        int r;

        k->service = s;
        k->sink = *sink;
        k->userdata = userdata;
        k->generation = restored ? restored->generation : 0;
        k->stored = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (const char *const *n = stored; n && *n; n++)
                g_hash_table_add(k->stored, g_strdup(*n));
        k->name_of_uuid = g_hash_table_new_full(share_uuid_hash, share_uuid_equal, g_free, g_free);
        for (guint i = 0; restored && i < restored->objects->len; i++) {
                const StateObject *o = &g_array_index(restored->objects, StateObject, i);

                g_hash_table_insert(k->name_of_uuid, g_memdup2(o->uuid, SHARE_UUID_SIZE),
                                    g_strdup(o->fd_name));
        }
        r = sd_event_add_defer(s->event, &k->defer, keeper_on_defer, k);
        if (r >= 0)
                r = sd_event_source_set_enabled(k->defer, SD_EVENT_ONESHOT);
        if (r < 0) {
                state_keeper_free(k);
                return log_error_errno(r, "Failed to set up writing the restart state: %m");
        }
        k->dirty = true; /* the first record of this process */
        k->table_observer = share_table_add_observer(s->table, keeper_on_table, k);
        k->listener_observer = service_add_listener_observer(s, keeper_on_listener, k);
        k->peer_observer = service_add_peer_observer(s, keeper_on_peer, k);
        s->state_changed = keeper_on_state_changed;
        s->state_changed_userdata = k;
        *ret = k;
        return 0;
}

void state_keeper_free(StateKeeper *k)
{
        if (!k)
                return;
        if (k->table_observer)
                share_table_remove_observer(k->service->table, k->table_observer);
        if (k->listener_observer)
                service_remove_listener_observer(k->service, k->listener_observer);
        if (k->peer_observer)
                service_remove_peer_observer(k->service, k->peer_observer);
        if (k->service->state_changed_userdata == k)
                k->service->state_changed = NULL;
        sd_event_source_disable_unref(k->defer);
        sd_event_source_disable_unref(k->counts);
        g_hash_table_destroy(k->stored);
        g_hash_table_destroy(k->name_of_uuid);
        g_strfreev(k->configured);
        g_free(k);
}

void state_keeper_set_configured(StateKeeper *k, const char *const *paths)
{
        g_strfreev(k->configured);
        k->configured = g_strdupv((char **) paths);
        keeper_mark(k, false);
}

uint64_t state_keeper_generation(const StateKeeper *k)
{
        return k->generation;
}

/* ---- one write ---- */

/* What one write is building: the record, and the fd each name stands
 * for (borrowed from the table and the listeners). */
typedef struct {
        StateKeeper *keeper;
        StateRecord record;
        GHashTable *fds;          /* name -> GINT_TO_POINTER(fd) */
        GHashTable *by_inode;     /* "dev:ino" -> name of that inode's first fd */
        GHashTable *name_of_uuid; /* the new mapping */
        bool new_entries;         /* a second pass for entries without a name */
        GHashTable *exports;      /* ShareOwner* of a peer -> GArray of its UUIDs */
} KeeperWrite;

/* Whether two of our fds are one open file (systemd's store keeps only one
 * of such fds: both entries must name the same one). */
static bool same_file(int a, int b)
{
        return a == b || syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, a, b) == 0;
}

/* The name entry e's fd is stored under: the one it had, one of the same
 * file already named in this write, or a new one. NULL: wait for the
 * second pass (pass 1 names only entries that have a name). */
static char *entry_fd_name(KeeperWrite *w, const ShareEntry *e, bool second_pass)
{
        const char *had = g_hash_table_lookup(w->keeper->name_of_uuid, share_entry_uuid(e));
        const ShareBufferInfo *info = share_entry_info(e);
        g_autofree char *inode = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                                 (uint64_t) info->dev, (uint64_t) info->ino);
        const char *same = g_hash_table_lookup(w->by_inode, inode);
        char hex[SHARE_UUID_HEX_LEN];

        if (had && g_hash_table_contains(w->keeper->stored, had))
                return g_strdup(had);
        if (!second_pass)
                return NULL;
        if (same &&
            same_file(GPOINTER_TO_INT(g_hash_table_lookup(w->fds, same)), share_entry_fd(e)))
                return g_strdup(same);
        share_uuid_to_hex(share_entry_uuid(e), hex);
        return g_strconcat("obj-", hex, NULL);
}

static void write_add_object(KeeperWrite *w, const ShareEntry *e, char *name)
{
        const ShareOwner *owner = share_entry_owner(e);
        const ShareBufferInfo *info = share_entry_info(e);
        StateObject o = {
            .owner_kind = owner->kind,
            .owner_name = g_strdup(owner->kind == SHARE_OWNER_BUS_CLIENT ? owner->name : ""),
            .owner_uid = owner->uid,
            .uid = share_entry_uid(e),
            .info = *info,
            .created_usec = share_entry_created_usec(e),
            .lookup_count = share_entry_lookup_count(e),
            .fd_name = g_strdup(name),
        };

        memcpy(o.uuid, share_entry_uuid(e), SHARE_UUID_SIZE);
        g_array_append_val(w->record.objects, o);
        if (!g_hash_table_contains(w->fds, name)) {
                g_hash_table_insert(w->fds, g_strdup(name), GINT_TO_POINTER(share_entry_fd(e)));
                g_hash_table_insert(w->by_inode,
                                    g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                                    (uint64_t) info->dev, (uint64_t) info->ino),
                                    g_strdup(name));
        }
        g_hash_table_insert(w->name_of_uuid, g_memdup2(share_entry_uuid(e), SHARE_UUID_SIZE), name);
}

static bool write_object_first_pass(const ShareEntry *e, void *userdata)
{
        KeeperWrite *w = userdata;
        char *name;

        if (entry_of_peer(e)) {
                GArray *uuids = g_hash_table_lookup(w->exports, share_entry_owner(e));

                if (!uuids) {
                        uuids = g_array_new(false, false, SHARE_UUID_SIZE);
                        g_hash_table_insert(w->exports, share_entry_owner(e), uuids);
                }
                g_array_append_vals(uuids, share_entry_uuid(e), 1);
                return true;
        }
        if (!entry_kept(e))
                return true;
        name = entry_fd_name(w, e, false);
        if (name)
                write_add_object(w, e, name);
        else
                w->new_entries = true;
        return true;
}

static bool write_object_second_pass(const ShareEntry *e, void *userdata)
{
        KeeperWrite *w = userdata;

        if (entry_kept(e) && !g_hash_table_contains(w->name_of_uuid, share_entry_uuid(e)))
                write_add_object(w, e, entry_fd_name(w, e, true));
        return true;
}

static bool write_listener(Listener *l, void *userdata)
{
        KeeperWrite *w = userdata;
        StateListener st = {0};

        listener_describe(l, &st);
        st.fd_name = g_strdup_printf("lsn-%" G_GUINT64_FORMAT, st.id);
        st.configured = w->keeper->configured &&
                        g_strv_contains((const char *const *) w->keeper->configured, st.path);
        g_hash_table_insert(w->fds, g_strdup(st.fd_name), GINT_TO_POINTER(listener_get_fd(l)));
        g_array_append_val(w->record.listeners, st);
        return true;
}

/* The prefix of the store's names of p's connection: the one it came back
 * under, else one after its main socket's inode (the peer id changes at a
 * restart; the store keeps one name per open file, so a name must stay
 * with the connection). NULL when main_fd cannot be asked. */
static char *peer_store_prefix(const Peer *p, int main_fd)
{
        struct stat st;

        if (p->store_prefix)
                return g_strdup(p->store_prefix);
        if (fstat(main_fd, &st) < 0)
                return NULL;
        return g_strdup_printf("peer-%s-%" G_GUINT64_FORMAT,
                               p->role == ROLE_FRONTEND ? "hub" : "vmm", (uint64_t) st.st_ino);
}

/* A back-end we are the front-end of, when its connection can go on in
 * the next process: ready, nothing in flight (an answer the next process
 * did not ask for, or a request it does not know of, would be lost). */
static bool write_peer(Peer *p, void *userdata)
{
        KeeperWrite *w = userdata;
        const VuFrontendNegotiated *neg;
        GArray *exports;
        int main_fd, chan_fd;
        StatePeer sp = {0};
        g_autofree char *prefix = NULL;

        if (p->role != ROLE_FRONTEND || p->state != PEER_STATE_READY || !p->frontend ||
            p->pending_gets > 0 || !g_queue_is_empty(&p->importing) ||
            !vu_frontend_kept(p->frontend, &main_fd, &chan_fd) ||
            !(prefix = peer_store_prefix(p, main_fd)))
                return true;
        neg = vu_frontend_negotiated(p->frontend);
        sp.id = p->id;
        sp.main_fd_name = g_strconcat(prefix, "-main", NULL);
        sp.chan_fd_name = g_strconcat(prefix, "-chan", NULL);
        sp.path = g_strdup(p->socket_path);
        sp.reconnect = p->reconnect;
        sp.pid = p->pid;
        sp.uid = p->uid;
        sp.features = neg->features;
        sp.protocol_features = neg->protocol_features;
        sp.queues = neg->queues;
        exports = g_hash_table_lookup(w->exports, &p->owner);
        sp.exports = exports ? g_array_ref(exports) : g_array_new(false, false, SHARE_UUID_SIZE);
        g_hash_table_insert(w->fds, g_strdup(sp.main_fd_name), GINT_TO_POINTER(main_fd));
        g_hash_table_insert(w->fds, g_strdup(sp.chan_fd_name), GINT_TO_POINTER(chan_fd));
        g_array_append_val(w->record.peers, sp);
        return true;
}

/* A VMM we are the back-end of (--serve), when its connection can go on
 * in the next process: ready, nothing in flight either way, no
 * announcement held back. */
static bool write_bridge(Peer *p, void *userdata)
{
        KeeperWrite *w = userdata;
        const VuBackendNegotiated *neg;
        int main_fd, chan_fd;
        StateBridge sb = {0};
        GHashTableIter it;
        gpointer uuid;
        g_autofree char *prefix = NULL;

        if (p->role != ROLE_BACKEND || p->state != PEER_STATE_READY || !p->backend ||
            !p->announced || !vu_backend_kept(p->backend, &main_fd, &chan_fd) ||
            !(prefix = peer_store_prefix(p, main_fd)))
                return true;
        neg = vu_backend_negotiated(p->backend);
        sb.id = p->id;
        sb.main_fd_name = g_strconcat(prefix, "-main", NULL);
        sb.chan_fd_name = g_strconcat(prefix, "-chan", NULL);
        sb.path = g_strdup(p->socket_path);
        sb.pid = p->pid;
        sb.uid = p->uid;
        sb.features = neg->features;
        sb.protocol_features = neg->protocol_features;
        sb.owned = neg->owned;
        sb.status = vu_backend_status(p->backend);
        sb.serve = p->serve;
        sb.announced = g_array_new(false, false, SHARE_UUID_SIZE);
        g_hash_table_iter_init(&it, p->announced);
        while (g_hash_table_iter_next(&it, &uuid, NULL))
                g_array_append_vals(sb.announced, uuid, 1);
        sb.vrings = state_vring_fds_new();
        for (unsigned q = 0; q < VU_BACKEND_MAX_QUEUES; q++)
                for (unsigned which = 0; which < _VU_BACKEND_VRING_MAX; which++) {
                        int fd = vu_backend_vring_fd(p->backend, q, which);
                        StateVringFd v = {.queue = q, .which = which};

                        if (fd < 0)
                                continue;
                        v.fd_name = g_strdup_printf("%s-vring-%u-%u", prefix, q, which);
                        g_hash_table_insert(w->fds, g_strdup(v.fd_name), GINT_TO_POINTER(fd));
                        g_array_append_val(sb.vrings, v);
                }
        g_hash_table_insert(w->fds, g_strdup(sb.main_fd_name), GINT_TO_POINTER(main_fd));
        g_hash_table_insert(w->fds, g_strdup(sb.chan_fd_name), GINT_TO_POINTER(chan_fd));
        g_array_append_val(w->record.bridges, sb);
        return true;
}

/* Stores the fds the store lacks; 0 or the first error. */
static int write_store_fds(KeeperWrite *w)
{
        StateKeeper *k = w->keeper;
        GHashTableIter it;
        gpointer name, fd;
        int r;

        g_hash_table_iter_init(&it, w->fds);
        while (g_hash_table_iter_next(&it, &name, &fd)) {
                if (g_hash_table_contains(k->stored, name))
                        continue;
                r = k->sink.store(k->userdata, name, GPOINTER_TO_INT(fd));
                if (r < 0)
                        return log_internal(k->failing ? LOG_DEBUG : LOG_ERR, r,
                                            "Failed to put %s into the fd store: %m",
                                            (const char *) name);
                g_hash_table_add(k->stored, g_strdup(name));
        }
        return 0;
}

/* Removes what the new record does not name (the previous records too). */
static void write_remove_stale(KeeperWrite *w, const char *record_name)
{
        StateKeeper *k = w->keeper;
        GHashTableIter it;
        gpointer name;
        int r;

        g_hash_table_iter_init(&it, k->stored);
        while (g_hash_table_iter_next(&it, &name, NULL)) {
                if (strcmp(name, record_name) == 0 || g_hash_table_contains(w->fds, name))
                        continue;
                r = k->sink.remove(k->userdata, name);
                if (r < 0) {
                        log_warning_errno(r, "Failed to remove %s from the fd store: %m",
                                          (const char *) name);
                        continue;
                }
                g_hash_table_iter_remove(&it);
        }
}

int state_keeper_flush(StateKeeper *k, bool force)
{
        KeeperWrite w = {.keeper = k};
        _cleanup_close_ int fd = -1;
        g_autofree char *record_name = NULL;
        int r;

        if (!k->dirty && !force)
                return 0;
        state_record_init(&w.record);
        w.record.generation = k->generation + 1;
        w.fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        w.by_inode = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        w.name_of_uuid = g_hash_table_new_full(share_uuid_hash, share_uuid_equal, g_free, g_free);
        w.exports = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
        share_table_foreach(k->service->table, write_object_first_pass, &w);
        if (w.new_entries)
                share_table_foreach(k->service->table, write_object_second_pass, &w);
        service_foreach_listener(k->service, write_listener, &w);
        service_foreach_peer(k->service, write_peer, &w);
        service_foreach_peer(k->service, write_bridge, &w);

        r = write_store_fds(&w);
        if (r >= 0) {
                r = state_record_write_memfd(&w.record, &fd);
                if (r < 0)
                        log_internal(k->failing ? LOG_DEBUG : LOG_ERR, r,
                                     "Failed to write the restart state: %m");
        }
        if (r >= 0) {
                record_name = g_strdup_printf(STATE_RECORD_FD_PREFIX "%" G_GUINT64_FORMAT,
                                              w.record.generation);
                r = k->sink.store(k->userdata, record_name, fd);
                if (r < 0)
                        log_internal(k->failing ? LOG_DEBUG : LOG_ERR, r,
                                     "Failed to put the restart state into the fd store: %m");
        }
        if (r >= 0) {
                if (k->failing)
                        log_info("the fd store takes the restart state again");
                k->failing = false;
                g_hash_table_add(k->stored, g_strdup(record_name));
                k->generation = w.record.generation;
                k->dirty = false;
                k->counts = sd_event_source_disable_unref(k->counts);
                write_remove_stale(&w, record_name);
                g_hash_table_destroy(k->name_of_uuid);
                k->name_of_uuid = g_steal_pointer(&w.name_of_uuid);
        }
        if (r < 0) {
                k->failing = true;
                keeper_mark(k, true); /* try again in a second */
        }
        g_clear_pointer(&w.name_of_uuid, g_hash_table_destroy);
        g_hash_table_destroy(w.fds);
        g_hash_table_destroy(w.by_inode);
        g_hash_table_destroy(w.exports);
        state_record_clear(&w.record);
        return r;
}
