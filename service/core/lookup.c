/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a UUID is served from: the table's own buffer, the back-end that
 * exports it (hub.c), or the VMMs we serve (bridge.c's upstream walk: one
 * at a time per UUID, never back to the process that asks). And a
 * peer's request waiting on such a lookup (PeerLookup): it lives until the
 * answer comes, and forgets its peer when the peer goes first. The table's
 * other operations as the service offers them. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "async-close.h"
#include "log.h"
#include "ratelimit.h"
#include "service-private.h"

/* Counts a lookup once the importer's answer (or the exporter's request)
 * is on its way, or it was refused: observers, such as the bus layer's
 * LookupCount signal, are not on the importer's path. done() may have
 * changed the table (a failed send drops the importer and its entries), so
 * the entry is looked up again. */
static void service_note_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE])
{
        ShareEntry *e = share_table_lookup(s->table, uuid);

        if (e)
                share_table_note_lookup(s->table, e);
}

/* ---- upstream forwards: one walk per UUID, and no loops ---- */

/* A UUID the table lacks, being asked of the VMMs we serve (bridge.c's
 * walk) for every lookup of it that arrived meanwhile. */
typedef struct {
        uint8_t uuid[SHARE_UUID_SIZE]; /* first: the key and the value in s->forwards */
        GArray *waiters;               /* ForwardWaiter */
} LookupForward;

typedef struct {
        ServiceLookupFn done;
        void *userdata;
} ForwardWaiter;

GHashTable *lookup_forwards_new(void)
{
        return g_hash_table_new(share_uuid_hash, share_uuid_equal);
}

/* The process behind who, when it is another one: a peer whose
 * credentials name this process was adopted in-process (a self-connection
 * through a socket is refused in peer_start), which says nothing of who is
 * behind it. */
static pid_t importer_process(const ServiceImporter *who)
{
        pid_t pid = who && who->peer ? peer_pid(who->peer) : 0;

        return pid == getpid() ? 0 : pid;
}

/* Whether pid is a VMM we serve: one an upstream walk asks. */
static bool is_upstream_process(Service *s, pid_t pid)
{
        for (GList *l = s->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->role == ROLE_BACKEND && p->state != PEER_STATE_CLOSED && p->pid == pid)
                        return true;
        }
        return false;
}

static void forward_add_waiter(LookupForward *f, ServiceLookupFn done, void *userdata)
{
        ForwardWaiter w = {.done = done, .userdata = userdata};

        g_array_append_val(f->waiters, w);
}

/* The walk's answer, for every waiter: a duplicate of the buffer each, the
 * last one the fd itself. */
static void forward_done(Service *s, int fd, int error, void *userdata)
{
        LookupForward *f = userdata;
        g_autoptr(GArray) waiters = g_steal_pointer(&f->waiters);

        /* Out first: a waiter's done may look the UUID up again. */
        g_hash_table_remove(s->forwards, f->uuid);
        g_free(f);
        for (guint i = 0; i < waiters->len; i++) {
                ForwardWaiter *w = &g_array_index(waiters, ForwardWaiter, i);
                int mine = fd, r = error;

                if (fd >= 0 && i + 1 < waiters->len) {
                        mine = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        r = mine < 0 ? -errno : 0;
                }
                w->done(s, mine, mine >= 0 ? 0 : r, w->userdata);
        }
}

/* A UUID the table lacks goes upstream, never back to the process that
 * asks for it. A lookup of a UUID already being forwarded waits on that
 * forward, unless it comes from a VMM we serve, which the forward asks:
 * that is our own question come back around (two services serving each
 * other), and fails at once with -ELOOP. docs/security.md, "Loops". */
static int lookup_forward(Service *s, const uint8_t uuid[SHARE_UUID_SIZE],
                          const ServiceImporter *who, ServiceLookupFn done, void *userdata)
{
        pid_t asker = importer_process(who);
        LookupForward *f = g_hash_table_lookup(s->forwards, uuid);
        int r;

        if (f) {
                if (asker > 0 && is_upstream_process(s, asker))
                        return -ELOOP;
                forward_add_waiter(f, done, userdata);
                return 0;
        }
        f = g_new0(LookupForward, 1);
        memcpy(f->uuid, uuid, SHARE_UUID_SIZE);
        f->waiters = g_array_new(false, false, sizeof(ForwardWaiter));
        forward_add_waiter(f, done, userdata);
        g_hash_table_add(s->forwards, f->uuid);
        r = bridge_lookup_upstream(s, uuid, asker, forward_done, f);
        if (r < 0) { /* nobody to ask: done was not called */
                g_hash_table_remove(s->forwards, f->uuid);
                g_array_free(f->waiters, true);
                g_free(f);
        }
        return r;
}

/* ---- lookups that wait on each other ---- */

/* Whether a GET to exporter on behalf of importer would close a cycle of
 * waits: exporter's own lookups wait on GETs to other exporters, theirs on
 * others, ... and one of them on importer. A back-end whose lookup blocks
 * (libvhost-user) answers no GET meanwhile, so every peer in the cycle
 * would wait for the deadline. A walk over the pending GETs' edges. */
static bool lookup_closes_cycle(const Peer *exporter, const Peer *importer)
{
        g_autoptr(GPtrArray) todo = g_ptr_array_new();
        g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);

        g_ptr_array_add(todo, (gpointer) exporter);
        while (todo->len > 0) {
                const Peer *p = g_ptr_array_steal_index_fast(todo, todo->len - 1);

                if (p == importer)
                        return true;
                if (!g_hash_table_add(seen, (gpointer) p))
                        continue;
                for (GList *l = p->awaiting.head; l; l = l->next)
                        g_ptr_array_add(todo, ((GetRequest *) l->data)->exporter);
        }
        return false;
}

/* An importer's lookup that must not become a GET to exporter: one of its
 * own objects (it would have to answer while it waits), or one that closes
 * a cycle of waits. Refused with -EDEADLK, logged (rate-limited: a peer
 * can repeat it at will), and the importer's LastError says why. 0 when
 * the GET may go. */
static int lookup_check_waits(Peer *importer, Peer *exporter, const uint8_t uuid[SHARE_UUID_SIZE])
{
        char ustr[SHARE_UUID_STR_LEN];

        if (!importer)
                return 0;
        share_uuid_to_string(uuid, ustr);
        if (importer == exporter) {
                log_info_ratelimited(
                    "%s: LOOKUP %s of an object it exports itself refused: it would have to "
                    "answer GET_SHARED_OBJECT while it waits",
                    peer_name(importer), ustr);
                peer_set_error(importer, "LOOKUP %s of an object it exports itself refused", ustr);
                return -EDEADLK;
        }
        if (lookup_closes_cycle(exporter, importer)) {
                log_info_ratelimited(
                    "%s: LOOKUP %s refused: it would close a cycle of lookups (%s waits, "
                    "directly or through others, for a lookup of this back-end)",
                    peer_name(importer), ustr, peer_name(exporter));
                peer_set_error(importer, "LOOKUP %s refused: it would close a cycle of lookups",
                               ustr);
                return -EDEADLK;
        }
        return 0;
}

/* ---- routing ---- */

int service_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                   void *userdata)
{
        return service_lookup_as(s, uuid, NULL, done, userdata);
}

int service_lookup_route(Service *s, const uint8_t uuid_in[SHARE_UUID_SIZE],
                         const ServiceImporter *who, ServiceLookupFn done, void *userdata)
{
        uint8_t uuid[SHARE_UUID_SIZE];
        ShareEntry *e;
        ShareOwner *owner;
        int fd, r;

        /* uuid_in may live in what done() frees. */
        memcpy(uuid, uuid_in, SHARE_UUID_SIZE);
        if (!share_uuid_is_valid(uuid))
                return -EINVAL;
        e = share_table_lookup(s->table, uuid);
        if (!e) /* not ours: a VMM we serve may know it */
                return lookup_forward(s, uuid, who, done, userdata);
        if (share_entry_type(e) == SHARE_TYPE_DMABUF) {
                fd = fcntl(share_entry_fd(e), F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                done(s, fd, 0, userdata);
                service_note_lookup(s, uuid);
                return 0;
        }
        owner = share_entry_owner(e);
        if (!owner || owner->kind != SHARE_OWNER_PEER || !owner->userdata)
                return -ENOENT;
        /* The importer is our own peer: its LastError is ours to set. */
        r = lookup_check_waits(who ? (Peer *) who->peer : NULL, owner->userdata, uuid);
        if (r == 0)
                r = hub_peer_get_shared_object(owner->userdata, uuid, who, done, userdata);
        service_note_lookup(s, uuid); /* refused ones count too */
        return r;
}

int service_export_fd(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], int fd, ShareOwner *owner,
                      const ShareBufferInfo *info, ShareEntry **ret)
{
        return share_table_add_fd(s->table, uuid, fd, owner, info, ret);
}

int service_remove(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ShareOwner *requester)
{
        return share_table_remove(s->table, uuid, requester);
}

/* ---- a peer's request waiting on a lookup ---- */

void peer_lookup_start(Peer *p, VuReplySlot *slot, const uint8_t uuid[SHARE_UUID_SIZE],
                       ServiceLookupFn done)
{
        PeerLookup *l = g_new0(PeerLookup, 1);
        ServiceImporter who = {.peer = p};
        int r;

        l->peer = p;
        l->slot = slot;
        memcpy(l->uuid, uuid, SHARE_UUID_SIZE);
        g_queue_push_tail(&p->importing, l);
        r = service_lookup_as(p->service, l->uuid, &who, done, l);
        if (r < 0)
                done(p->service, -1, r, l);
}

Peer *peer_lookup_claim(PeerLookup *l, int fd)
{
        Peer *p = l->peer;

        if (!p) {
                async_close(fd); /* an answer may have come from anywhere */
                g_free(l);
                return NULL;
        }
        g_queue_remove(&p->importing, l);
        return p;
}

void peer_forget_lookups(Peer *p)
{
        PeerLookup *l;

        while ((l = g_queue_pop_head(&p->importing)))
                l->peer = NULL;
        hub_peer_forget_awaiting(p);
}
