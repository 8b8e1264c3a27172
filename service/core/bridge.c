/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge: our back-end side towards a VMM front-end (--serve). Objects
 * in the table are announced upstream with SHARED_OBJECT_ADD and withdrawn
 * with REMOVE; the VMM's GET_SHARED_OBJECT is served from the table. A
 * lookup of a UUID the table does not hold walks upstream: each VMM we serve
 * is asked in turn with SHARED_OBJECT_LOOKUP. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "async-close.h"
#include "buffer-rule.h"
#include "log.h"
#include "ratelimit.h"
#include "service-private.h"

#define BRIDGE_LATE_REPLY_GRACE_USEC (60ull * 1000 * 1000)

typedef struct {
        Peer *peer;
        uint8_t uuid[SHARE_UUID_SIZE];
        bool add;
} Announcement;

static void bridge_on_ack(VuBackend *b, int64_t result, void *userdata)
{
        Announcement *a = userdata;
        Peer *p = a->peer;
        char ustr[SHARE_UUID_STR_LEN];

        share_uuid_to_string(a->uuid, ustr);
        if (result == -ECANCELED) {
                /* An ADD and its REMOVE both held back: the VMM heard of neither. */
                g_free(a);
                return;
        }
        /* One line per table change and VMM: rate-limited, as a busy table
         * would otherwise log at its own rate. */
        if (result == 0 && p->backend &&
            !(vu_backend_negotiated(p->backend)->protocol_features & VU_BIT(VU_PF_REPLY_ACK))) {
                /* Sent, but without REPLY_ACK nothing says whether it was taken. */
                log_info_ratelimited("%s: announced %s %s without REPLY_ACK (unacknowledged)",
                                     p->name, a->add ? "ADD" : "REMOVE", ustr);
        } else if (result == 0) {
                if (a->add)
                        p->exported_count++;
                else if (p->exported_count > 0)
                        p->exported_count--;
                log_info_ratelimited("%s: front-end acked %s %s (0)", p->name,
                                     a->add ? "ADD" : "REMOVE", ustr);
        } else if (result > 0) {
                peer_set_error(p, "front-end refused %s %s", a->add ? "ADD" : "REMOVE", ustr);
                log_warning_ratelimited("%s: front-end refused %s %s (ack %lld)", p->name,
                                        a->add ? "ADD" : "REMOVE", ustr, (long long) result);
        } else if (result != -ECONNRESET) {
                peer_set_error(p, "no answer to %s %s: %s", a->add ? "ADD" : "REMOVE", ustr,
                               strerror((int) -result));
        }
        if (p->state != PEER_STATE_CLOSED && result != -ECONNRESET)
                service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
        g_free(a);
}

static bool bridge_is_live(const Peer *p);

static void bridge_send(Peer *p, const uint8_t *uuid, bool add)
{
        Announcement *a;
        int r;

        /* An earlier send may have failed and closed the peer. */
        if (!bridge_is_live(p))
                return;
        /* Once per change: a restored table comes back with what the VMM
         * heard of already. */
        if (add ? !g_hash_table_add(p->announced, g_memdup2(uuid, SHARE_UUID_SIZE))
                : !g_hash_table_remove(p->announced, uuid))
                return;
        service_note_state_changed(p->service);
        a = g_new0(Announcement, 1);
        a->peer = p;
        a->add = add;
        memcpy(a->uuid, uuid, SHARE_UUID_SIZE);
        /* Held back and coalesced while the VMM is slow (backend.h); over
         * the queue limit the VMM is dropped and the walk stops. */
        r = add ? vu_backend_add(p->backend, uuid, bridge_on_ack, a)
                : vu_backend_remove(p->backend, uuid, bridge_on_ack, a);
        if (r < 0) {
                g_free(a);
                if (r != -ENOBUFS) /* that one was logged as the reason for the drop */
                        log_warning_errno(r, "%s: cannot announce an object: %m", p->name);
        }
}

static bool bridge_is_live(const Peer *p)
{
        return p->role == ROLE_BACKEND && p->state == PEER_STATE_READY && p->backend &&
               vu_backend_shared_objects(p->backend);
}

void bridge_announce(Service *s, const ShareEntry *e, ShareEvent ev)
{
        if (s->stopping)
                return;
        for (GList *l = s->peers.head, *next; l; l = next) {
                Peer *p = l->data;

                /* A failed send closes p, which unlinks l. */
                next = l->next;
                if (!bridge_is_live(p) || share_entry_owner(e) == &p->owner)
                        continue;
                bridge_send(p, share_entry_uuid(e), ev == SHARE_EVENT_ADDED);
        }
}

static bool announce_one(const ShareEntry *e, void *userdata)
{
        Peer *p = userdata;

        if (share_entry_owner(e) != &p->owner)
                bridge_send(p, share_entry_uuid(e), true);
        /* Stop when a send failed and the peer went. */
        return bridge_is_live(p);
}

static void bridge_on_change(VuBackend *b, void *userdata)
{
        Peer *p = userdata;
        bool was_ready = p->state == PEER_STATE_READY;

        if (!was_ready && vu_backend_has_channel(b)) {
                peer_set_state(p, PEER_STATE_READY);
                log_info("%s: ready, shared objects %s", p->name,
                         vu_backend_shared_objects(b) ? "negotiated" : "not negotiated");
                if (vu_backend_shared_objects(b))
                        share_table_foreach(p->service->table, announce_one, p);
        } else {
                service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
        }
}

static void bridge_on_fail(VuBackend *b, int error, const char *reason, void *userdata)
{
        peer_fail_errno(userdata, error, reason);
}

static void bridge_get_done(Service *s, int fd, int error, void *userdata)
{
        PeerLookup *l = userdata;
        Peer *p = peer_lookup_claim(l, fd);
        char ustr[SHARE_UUID_STR_LEN];

        if (!p)
                return;
        share_uuid_to_string(l->uuid, ustr);
        if (fd < 0)
                log_info("%s: GET_SHARED_OBJECT %s failed: %s", p->name, ustr, strerror(-error));
        vu_backend_answer_shared_object(p->backend, l->slot, l->uuid, fd);
        g_free(l);
}

static void bridge_get_shared_object(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot,
                                     void *userdata)
{
        Peer *p = userdata;

        /* Without a UUID (QEMU 10.x; the back-end engine warned) there is
         * nothing to look up. Only what the table holds: asking the VMM back
         * for its own question would go round in circles. */
        if (!uuid)
                log_info("%s: GET_SHARED_OBJECT without UUID answered with an error", p->name);
        if (!uuid || !share_table_lookup(p->service->table, uuid)) {
                vu_backend_answer_shared_object(b, slot, uuid, -1);
                return;
        }
        peer_lookup_start(p, slot, uuid, bridge_get_done);
}

static void bridge_backend_ops(Peer *p, VuBackendOps *ret)
{
        const ServiceConfig *c = &p->service->config;
        VuBackendOps ops = {
            .protocol_features = VU_SHARED_OBJECT_PROTOCOL_FEATURES,
            .queues = p->serve.queues,
            .reply_timeout_usec = c->lookup_timeout_usec, /* an importer waits on LOOKUP */
            /* Nobody waits on an ack, and QEMU acks late while it is blocked
             * on another back-end's exporter (docs/interop.md): a timed-out
             * ADD that QEMU took would be missing from ExportedCount. */
            .ack_timeout_usec = c->reply_timeout_usec,
            /* QEMU answers late while it waits on another back-end
             * (docs/interop.md); that is no reason to drop the VM's device. */
            .late_reply_grace_usec = BRIDGE_LATE_REPLY_GRACE_USEC,
            .max_queued_messages = c->max_queued_messages,
            .max_queued_bytes = c->max_queued_bytes,
            .get_shared_object = bridge_get_shared_object,
            .on_change = bridge_on_change,
            .on_fail = bridge_on_fail,
        };

        if (!p->serve.reply_ack)
                ops.protocol_features &= ~VU_BIT(VU_PF_REPLY_ACK);
        *ret = ops;
}

static void bridge_new_announced(Peer *p)
{
        if (p->announced)
                g_hash_table_remove_all(p->announced);
        else
                p->announced =
                    g_hash_table_new_full(share_uuid_hash, share_uuid_equal, g_free, NULL);
}

int bridge_peer_start(Peer *p, int fd)
{
        VuBackendOps ops;
        int r;

        bridge_backend_ops(p, &ops);
        r = vu_backend_new(p->service->event, fd, &ops, p->name, p, &p->backend);
        if (r < 0)
                return r;
        bridge_new_announced(p);
        peer_set_state(p, PEER_STATE_NEGOTIATING);
        return 0;
}

int bridge_peer_restore(Peer *p, int main_fd, int chan_fd, const VuBackendNegotiated *neg,
                        uint64_t status, const GArray *announced)
{
        VuBackendOps ops;
        int r;

        bridge_backend_ops(p, &ops);
        r = vu_backend_restore(p->service->event, main_fd, chan_fd, neg, status, &ops, p->name, p,
                               &p->backend);
        if (r < 0)
                return r;
        bridge_new_announced(p);
        for (guint i = 0; i < announced->len; i++)
                g_hash_table_add(p->announced,
                                 g_memdup2(&g_array_index(announced, uint8_t, i * SHARE_UUID_SIZE),
                                           SHARE_UUID_SIZE));
        peer_set_state(p, PEER_STATE_READY);
        return 0;
}

void bridge_peer_resync(Peer *p)
{
        g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer uuid;

        if (!bridge_is_live(p))
                return;
        g_hash_table_iter_init(&it, p->announced);
        while (g_hash_table_iter_next(&it, &uuid, NULL))
                if (!share_table_lookup(p->service->table, uuid))
                        g_ptr_array_add(gone, g_memdup2(uuid, SHARE_UUID_SIZE));
        for (guint i = 0; i < gone->len && bridge_is_live(p); i++)
                bridge_send(p, g_ptr_array_index(gone, i), false);
        if (gone->len > 0)
                log_info("%s: %u object(s) it was told of went while the service restarted; "
                         "withdrawn",
                         p->name, gone->len);
        if (bridge_is_live(p)) /* what it heard of already is not sent again */
                share_table_foreach(p->service->table, announce_one, p);
}

void bridge_peer_stop(Peer *p)
{
        vu_backend_free(g_steal_pointer(&p->backend));
        g_clear_pointer(&p->announced, g_hash_table_destroy);
}

/* ---- the upstream walk ---- */

/* A lookup of a UUID the table does not hold, asking the VMMs we serve one
 * after the other (in creation order, so a peer that comes or goes
 * meanwhile is never asked twice) until one has it. */
typedef struct {
        Service *service;
        uint8_t uuid[SHARE_UUID_SIZE];
        uint64_t last_id; /* the peer asked last */
        GArray *asked;    /* pid_t of the VMMs asked: one table per process */
        int error;        /* the most telling failure so far */
        ServiceLookupFn done;
        void *userdata;
} UpstreamLookup;

static bool upstream_asked(const UpstreamLookup *u, pid_t pid)
{
        for (guint i = 0; pid > 0 && i < u->asked->len; i++)
                if (g_array_index(u->asked, pid_t, i) == pid)
                        return true;
        return false;
}

static Peer *upstream_next_peer(UpstreamLookup *u)
{
        for (GList *l = u->service->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->id > u->last_id && p->role == ROLE_BACKEND && p->state == PEER_STATE_READY &&
                    peer_shared_objects(p) && !upstream_asked(u, p->pid))
                        return p;
        }
        return NULL;
}

static void upstream_free(UpstreamLookup *u)
{
        g_array_free(u->asked, true);
        g_free(u);
}

static int upstream_ask_next(UpstreamLookup *u);

/* A VMM's answer goes to an importer: the one buffer rule, as for an
 * exporter's. A refused fd costs that answer, not the VM's connection. */
static int upstream_check_answer(UpstreamLookup *u, int fd)
{
        Peer *p = service_find_peer(u->service, u->last_id);
        char ustr[SHARE_UUID_STR_LEN];
        const char *why;
        int r;

        r = buffer_rule_check_accepted(fd, u->service->config.accepted_buffers, &why);
        if (r < 0) {
                share_uuid_to_string(u->uuid, ustr);
                log_warning("%s: answered LOOKUP %s with %s; the importer gets an error",
                            p ? p->name : "front-end", ustr, why);
        }
        return r;
}

static void upstream_on_answer(VuBackend *b, int fd, int error, void *userdata)
{
        UpstreamLookup *u = userdata;

        if (fd >= 0) {
                error = upstream_check_answer(u, fd);
                if (error < 0) { /* the VMM's: may be a FUSE file */
                        async_close(fd);
                        fd = -1;
                }
        }
        if (fd >= 0) {
                u->done(u->service, fd, 0, u->userdata);
                upstream_free(u);
                return;
        }
        /* "Not there" only when nobody said anything more telling. */
        if (u->error == 0 || u->error == -ENOENT)
                u->error = error;
        upstream_ask_next(u);
}

/* Asks the next VMM (two bridges to one QEMU share its table: asked once),
 * or ends the lookup when none is left. Returns -ENOENT without calling
 * done when there was none to ask at all. */
static int upstream_ask_next(UpstreamLookup *u)
{
        Peer *p;

        while ((p = upstream_next_peer(u))) {
                u->last_id = p->id;
                if (p->pid > 0)
                        g_array_append_val(u->asked, p->pid);
                if (vu_backend_lookup(p->backend, u->uuid, upstream_on_answer, u) >= 0)
                        return 0;
        }
        if (u->error == 0) {
                upstream_free(u);
                return -ENOENT;
        }
        u->done(u->service, -1, u->error, u->userdata);
        upstream_free(u);
        return 0;
}

int bridge_lookup_upstream(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], pid_t asker,
                           ServiceLookupFn done, void *userdata)
{
        UpstreamLookup *u = g_new0(UpstreamLookup, 1);

        u->service = s;
        memcpy(u->uuid, uuid, SHARE_UUID_SIZE);
        u->done = done;
        u->userdata = userdata;
        u->asked = g_array_new(false, false, sizeof(pid_t));
        /* The process that asks us is never asked back (lookup.c, loops). */
        if (asker > 0)
                g_array_append_val(u->asked, asker);
        return upstream_ask_next(u);
}
