/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a UUID is served from: the table's own buffer, the back-end that
 * exports it (hub.c), or the VMMs we serve (bridge.c's upstream walk). And a
 * peer's request waiting on such a lookup (PeerLookup): it lives until the
 * answer comes, and forgets its peer when the peer goes first. The table's
 * other operations as the service offers them. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

int service_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                   void *userdata)
{
        return service_lookup_as(s, uuid, NULL, done, userdata);
}

int service_lookup_as(Service *s, const uint8_t uuid_in[SHARE_UUID_SIZE],
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
                return bridge_lookup_upstream(s, uuid, done, userdata);
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
                if (fd >= 0)
                        close(fd);
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
