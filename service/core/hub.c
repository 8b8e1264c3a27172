/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's side of one vhost-user back-end: we are its front-end. The
 * engine (vhost-user/frontend.h) speaks the protocol; this file is the glue
 * between it, the peer and the table: its state and failures go to the
 * peer, its ADD / REMOVE to the table, its LOOKUP to service_lookup(), and
 * lookups of the objects it exports to its GET_SHARED_OBJECT. */

#include <errno.h>

#include "buffer-rule.h"
#include "service-private.h"

static void hub_on_change(VuFrontend *f, void *userdata)
{
        Peer *p = userdata;

        service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
}

static void hub_on_ready(VuFrontend *f, void *userdata)
{
        peer_set_state(userdata, PEER_STATE_READY);
}

static void hub_on_fail(VuFrontend *f, int error, const char *reason, void *userdata)
{
        peer_fail_errno(userdata, error, reason);
}

static int hub_on_add(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        Peer *p = userdata;

        return share_table_add_exporter(p->service->table, uuid, &p->owner, NULL);
}

static int hub_on_remove(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        Peer *p = userdata;

        return service_remove(p->service, uuid, &p->owner);
}

static void hub_lookup_done(Service *s, int fd, int error, void *userdata)
{
        PeerLookup *l = userdata;
        Peer *p = peer_lookup_claim(l, fd);

        if (!p) /* the importer left meanwhile */
                return;
        vu_frontend_answer_lookup(p->frontend, l->slot, l->uuid, fd >= 0 ? fd : error);
        g_free(l);
}

static void hub_on_lookup(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], VuReplySlot *slot,
                          void *userdata)
{
        peer_lookup_start(userdata, slot, uuid, hub_lookup_done);
}

/* What an exporter hands over goes to another peer: the one buffer rule. */
static int hub_check_object(VuFrontend *f, int fd, const char **why, void *userdata)
{
        Peer *p = userdata;
        unsigned accepted = p->serve.accepted_buffers ? p->serve.accepted_buffers
                                                      : p->service->config.accepted_buffers;

        return buffer_rule_check_accepted(fd, accepted, why);
}

/* How long past the lookup deadline an exporter may stay silent on a GET:
 * a slow exporter is not a dead one (a libvhost-user back-end answers
 * nothing while its own lookup waits). */
static uint64_t hub_late_answer_grace(const ServiceConfig *c)
{
        uint64_t limit = c->exporter_silence_limit_usec ? c->exporter_silence_limit_usec
                                                        : 4 * c->lookup_timeout_usec;

        return limit > c->lookup_timeout_usec ? limit - c->lookup_timeout_usec : 0;
}

static void hub_frontend_ops(Peer *p, VuFrontendOps *ops)
{
        const ServiceConfig *c = &p->service->config;

        *ops = (VuFrontendOps){
            .reply_timeout_usec = c->reply_timeout_usec,
            .get_shared_object_timeout_usec = c->lookup_timeout_usec,
            .get_shared_object_grace_usec = hub_late_answer_grace(c),
            .max_missed_answers = c->max_missed_answers,
            .on_change = hub_on_change,
            .on_ready = hub_on_ready,
            .on_fail = hub_on_fail,
            .on_add = hub_on_add,
            .on_remove = hub_on_remove,
            .on_lookup = hub_on_lookup,
            .check_object = hub_check_object,
            .max_queued_messages = c->max_queued_messages,
            .max_queued_bytes = c->max_queued_bytes,
        };
}

int hub_peer_start(Peer *p, int fd)
{
        VuFrontendOps ops;
        int r;

        hub_frontend_ops(p, &ops);
        r = vu_frontend_new(p->service->event, fd, &ops, p->name, p, &p->frontend);
        if (r < 0)
                return r;
        peer_set_state(p, PEER_STATE_NEGOTIATING);
        /* A failed send has reached hub_on_fail already: the fd was taken. */
        (void) vu_frontend_start(p->frontend);
        return 0;
}

int hub_peer_restore(Peer *p, int main_fd, int chan_fd, const VuFrontendNegotiated *neg)
{
        VuFrontendOps ops;
        int r;

        hub_frontend_ops(p, &ops);
        r = vu_frontend_restore(p->service->event, main_fd, chan_fd, neg, &ops, p->name, p,
                                &p->frontend);
        if (r < 0)
                return r;
        peer_set_state(p, PEER_STATE_READY);
        return 0;
}

void hub_peer_stop(Peer *p)
{
        /* Outstanding GETs end with -ECONNRESET through hub_on_object. */
        vu_frontend_free(g_steal_pointer(&p->frontend));
}

/* ---- GET_SHARED_OBJECT towards an exporter ---- */

/* g no longer waits: off its importer's edges, out of the exporter's count
 * and the pool. */
static void get_request_end(Service *s, GetRequest *g)
{
        if (g->importer)
                g_queue_unlink(&g->importer->awaiting, &g->link);
        g->exporter->pending_gets--;
        lookup_share_release(s, &g->share);
}

static void hub_on_object(VuFrontend *f, int fd, int error, void *userdata)
{
        GetRequest *g = userdata;
        Service *s = g->exporter->service;

        get_request_end(s, g);
        g->done(s, fd, error, g->userdata);
        g_free(g);
}

int hub_peer_get_shared_object(Peer *p, const uint8_t uuid[SHARE_UUID_SIZE],
                               const ServiceImporter *who, ServiceLookupFn done, void *userdata)
{
        Service *s = p->service;
        LookupShare share;
        GetRequest *g;
        int r;

        if (p->state != PEER_STATE_READY || !p->frontend)
                return -ECONNRESET;
        if (s->config.max_pending_lookups_per_peer &&
            p->pending_gets >= s->config.max_pending_lookups_per_peer)
                return -EBUSY;
        lookup_share_init(&share, who);
        r = lookup_share_take(s, &share);
        if (r < 0)
                return r;

        g = g_new0(GetRequest, 1);
        g->link.data = g;
        g->done = done;
        g->userdata = userdata;
        g->exporter = p;
        g->share = share;
        /* Our own peer: its wait is ours to note. */
        g->importer = who ? (Peer *) who->peer : NULL;
        if (g->importer)
                g_queue_push_tail_link(&g->importer->awaiting, &g->link);
        p->pending_gets++;
        r = vu_frontend_get_shared_object(p->frontend, uuid, hub_on_object, g);
        if (r < 0) {
                /* p may be closed by now, but it is freed only by the reap. */
                get_request_end(s, g);
                g_free(g);
                return r;
        }
        return 0;
}

void hub_peer_forget_awaiting(Peer *p)
{
        GList *l;

        while ((l = g_queue_pop_head_link(&p->awaiting)))
                ((GetRequest *) l->data)->importer = NULL;
}
