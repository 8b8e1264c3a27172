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
}
