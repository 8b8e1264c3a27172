/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's side of one vhost-user back-end: we are its front-end. The
 * handshake runs as a chain of reply callbacks on the main socket; the
 * back-end channel (our end of the socketpair handed over with
 * SET_BACKEND_REQ_FD) serves SHARED_OBJECT_ADD / REMOVE / LOOKUP. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "service-private.h"

typedef struct {
        ServiceLookupFn done;
        void *userdata;
        Peer *exporter;
        uint8_t uuid[SHARE_UUID_SIZE];
} GetRequest;

static void hub_on_main_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        peer_fail_errno(userdata, error, reason);
}

static void hub_ready(Peer *p)
{
        char pf[256];

        peer_set_state(p, PEER_STATE_READY);
        vu_protocol_features_to_string(p->protocol_features, pf, sizeof(pf));
        log_info("%s: ready, features 0x%llx, %llu queue(s), protocol features %s%s", p->name,
                 (unsigned long long) p->features, (unsigned long long) p->queues, pf,
                 peer_shared_objects(p) ? ""
                                        : " (no SHARED_OBJECT: its shared-object "
                                          "requests will be refused)");
}

static int hub_send(Peer *p, uint32_t request, uint32_t flags, const uint64_t *value,
                    VuReplyFn done)
{
        VuMessage m;

        if (value)
                vu_message_init_u64(&m, request, flags, *value);
        else
                vu_message_init(&m, request, flags, 0);
        return vu_endpoint_request(p->main, &m, p->service->config.reply_timeout_usec, done, p);
}

/* Replies in the handshake must be a plain u64. */
static bool hub_reply_u64(Peer *p, VuMessage *m, int error, uint64_t *ret)
{
        if (error < 0)
                return false; /* the endpoint failure path reports it */
        if (m->hdr.size != sizeof(uint64_t) || m->n_fds > 0) {
                peer_fail(p, "handshake reply with a wrong size or fds");
                return false;
        }
        *ret = m->payload.u64;
        return true;
}

static void hub_on_backend_req_ack(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        Peer *p = userdata;
        uint64_t ack;

        if (!hub_reply_u64(p, m, error, &ack))
                return;
        if (ack != 0) {
                peer_fail(p, "back-end refused SET_BACKEND_REQ_FD");
                return;
        }
        hub_ready(p);
}

static void hub_on_chan_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot, void *userdata);
static void hub_on_chan_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        char buf[200];

        snprintf(buf, sizeof(buf), "back-end channel: %s", reason);
        peer_fail_errno(userdata, error, buf);
}

static void hub_finish_handshake(Peer *p)
{
        bool reply_ack = p->protocol_features & VU_BIT(VU_PF_REPLY_ACK);
        int sv[2] = {-1, -1};
        VuMessage m;
        int r;

        r = hub_send(p, VU_REQ_SET_OWNER, 0, NULL, NULL);
        if (r < 0)
                return;
        if (!(p->protocol_features & VU_BIT(VU_PF_BACKEND_REQ))) {
                hub_ready(p);
                return;
        }

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                peer_fail(p, "socketpair for the back-end channel failed");
                return;
        }
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = true,
            .on_request = hub_on_chan_request,
            .on_fail = hub_on_chan_fail,
            .userdata = p,
        };
        g_autofree char *name = g_strdup_printf("%s/channel", p->name);
        r = vu_endpoint_new(p->service->event, sv[0], &ops, name, &p->chan);
        if (r < 0) {
                close(sv[1]);
                peer_fail(p, "cannot watch the back-end channel");
                return;
        }
        vu_message_init(&m, VU_REQ_SET_BACKEND_REQ_FD, reply_ack ? VU_FLAG_NEED_REPLY : 0, 0);
        vu_message_add_fd(&m, sv[1]);
        r = vu_endpoint_request(p->main, &m, p->service->config.reply_timeout_usec,
                                reply_ack ? hub_on_backend_req_ack : NULL, p);
        if (r < 0 || reply_ack)
                return;
        hub_ready(p);
}

static void hub_on_queue_num(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        Peer *p = userdata;

        if (!hub_reply_u64(p, m, error, &p->queues))
                return;
        hub_finish_handshake(p);
}

static void hub_on_protocol_features(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        Peer *p = userdata;
        uint64_t offered;

        if (!hub_reply_u64(p, m, error, &offered))
                return;
        p->protocol_features = offered & VU_SHARED_OBJECT_PROTOCOL_FEATURES;
        /* SHARED_OBJECT rides on the back-end channel. */
        if (!(p->protocol_features & VU_BIT(VU_PF_BACKEND_REQ)))
                p->protocol_features &= ~VU_BIT(VU_PF_SHARED_OBJECT);
        if (hub_send(p, VU_REQ_SET_PROTOCOL_FEATURES, 0, &p->protocol_features, NULL) < 0)
                return;
        service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
        if (p->protocol_features & VU_BIT(VU_PF_MQ)) {
                hub_send(p, VU_REQ_GET_QUEUE_NUM, 0, NULL, hub_on_queue_num);
                return;
        }
        hub_finish_handshake(p);
}

static void hub_on_features(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        Peer *p = userdata;
        uint64_t offered;

        if (!hub_reply_u64(p, m, error, &offered))
                return;
        p->features = offered & (VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VIRTIO_F_VERSION_1));
        if (hub_send(p, VU_REQ_SET_FEATURES, 0, &p->features, NULL) < 0)
                return;
        if (!(p->features & VU_BIT(VU_F_PROTOCOL_FEATURES))) {
                hub_finish_handshake(p);
                return;
        }
        hub_send(p, VU_REQ_GET_PROTOCOL_FEATURES, 0, NULL, hub_on_protocol_features);
}

void hub_peer_start(Peer *p, int fd)
{
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_FRONTEND,
            .receives_requests = false,
            .on_fail = hub_on_main_fail,
            .userdata = p,
        };
        int r;

        r = vu_endpoint_new(p->service->event, fd, &ops, p->name, &p->main);
        if (r < 0) {
                peer_fail(p, "cannot watch the socket");
                return;
        }
        peer_set_state(p, PEER_STATE_NEGOTIATING);
        hub_send(p, VU_REQ_GET_FEATURES, 0, NULL, hub_on_features);
}

void hub_peer_stop(Peer *p)
{
        VuEndpoint *main = p->main, *chan = p->chan;

        p->main = p->chan = NULL;
        vu_endpoint_free(chan);
        vu_endpoint_free(main);
}

/* ---- GET_SHARED_OBJECT towards an exporter ---- */

/* What an exporter hands over goes to another peer: it must be the object
 * asked for, and a buffer (a dma-buf, or a sealed memfd standing in for one),
 * never a socket or any other fd a hostile back-end might want to pass on. */
static int hub_check_answer(VuEndpoint *ep, const VuMessage *m, const uint8_t *uuid,
                            const char *ustr, int *fd)
{
        const char *why = NULL;
        int error = 0;

        if (*fd < 0) {
                why = "without an fd";
                error = -EIO;
        } else if (m->hdr.size == VU_UUID_SIZE && memcmp(m->payload.uuid, uuid, VU_UUID_SIZE)) {
                why = "with another object's UUID";
                error = -EPROTO;
        } else if (fd_is_dmabuf(*fd) != 1 && fd_is_sealed_memfd(*fd) != 1) {
                why = "with an fd that is neither a dma-buf nor a sealed memfd";
                error = -EBADFD;
        }
        if (error == 0)
                return 0;
        log_warning("%s: answered GET_SHARED_OBJECT %s %s; the importer gets an error",
                    vu_endpoint_name(ep), ustr, why);
        fd_close_safe(fd);
        return error;
}

static void hub_on_get_reply(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        GetRequest *g = userdata;
        char ustr[SHARE_UUID_STR_LEN];
        int fd = -1;

        share_uuid_to_string(g->uuid, ustr);
        if (g->exporter)
                g->exporter->pending_gets--;
        if (error == 0) {
                fd = m->n_fds > 0 ? vu_message_steal_fd(m, 0) : -1;
                error = hub_check_answer(ep, m, g->uuid, ustr, &fd);
        } else {
                log_warning_errno(error, "%s: GET_SHARED_OBJECT %s failed", vu_endpoint_name(ep),
                                  ustr);
        }
        g->exporter->service->pending_lookups--;
        g->done(g->exporter->service, fd, error, g->userdata);
        g_free(g);
}

int hub_peer_get_shared_object(Peer *p, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                               void *userdata)
{
        Service *s = p->service;
        GetRequest *g;
        VuMessage m;
        int r;

        if (p->state != PEER_STATE_READY || !p->main)
                return -ECONNRESET;
        if ((s->config.max_pending_lookups_per_peer &&
             p->pending_gets >= s->config.max_pending_lookups_per_peer) ||
            (s->config.max_pending_lookups && s->pending_lookups >= s->config.max_pending_lookups))
                return -EBUSY;

        g = g_new0(GetRequest, 1);
        g->done = done;
        g->userdata = userdata;
        g->exporter = p;
        memcpy(g->uuid, uuid, SHARE_UUID_SIZE);
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, 0, uuid);
        p->pending_gets++;
        s->pending_lookups++;
        r = vu_endpoint_request(p->main, &m, s->config.lookup_timeout_usec, hub_on_get_reply, g);
        if (r < 0) {
                p->pending_gets--;
                s->pending_lookups--;
                g_free(g);
                return r;
        }
        return 0;
}

/* ---- the back-end channel ---- */

static void hub_lookup_done(Service *s, int fd, int error, void *userdata)
{
        PeerLookup *l = userdata;
        Peer *p = peer_lookup_claim(l, fd);
        char ustr[SHARE_UUID_STR_LEN];
        VuMessage reply;

        if (!p) /* the importer left meanwhile */
                return;
        share_uuid_to_string(l->uuid, ustr);
        vu_message_init_u64(&reply, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_REPLY, error < 0 ? 1 : 0);
        if (fd >= 0) {
                vu_message_add_fd(&reply, fd);
                log_debug("%s: LOOKUP %s served", p->name, ustr);
        } else {
                log_info("%s: LOOKUP %s failed: %s", p->name, ustr, strerror(-error));
        }
        vu_endpoint_complete(p->chan, l->slot, &reply);
        g_free(l);
}

static void hub_on_lookup(Peer *p, VuMessage *m, VuReplySlot *slot)
{
        if (m->n_fds > 0)
                log_debug("%s: LOOKUP came with an fd attached (rust-vmm form); closing it",
                          p->name);
        vu_message_close_fds(m);
        if (!peer_shared_objects(p)) {
                vu_endpoint_complete_u64(p->chan, slot, 1);
                return;
        }
        peer_lookup_start(p, slot, m->payload.uuid, hub_lookup_done);
}

static int hub_add(Peer *p, const uint8_t *uuid)
{
        if (!peer_shared_objects(p))
                return -EOPNOTSUPP;
        return share_table_add_exporter(p->service->table, uuid, &p->owner, NULL);
}

static int hub_remove(Peer *p, const uint8_t *uuid)
{
        if (!peer_shared_objects(p))
                return -EOPNOTSUPP;
        return service_remove(p->service, uuid, &p->owner);
}

static void hub_on_chan_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot, void *userdata)
{
        Peer *p = userdata;
        bool need_reply = m->hdr.flags & VU_FLAG_NEED_REPLY;
        uint32_t request = m->hdr.request;
        char ustr[SHARE_UUID_STR_LEN];
        int r;

        if (request == VU_BREQ_SHARED_OBJECT_LOOKUP) {
                hub_on_lookup(p, m, slot);
                return;
        }
        vu_message_close_fds(m);
        if (request == VU_BREQ_SHARED_OBJECT_ADD || request == VU_BREQ_SHARED_OBJECT_REMOVE) {
                bool add = request == VU_BREQ_SHARED_OBJECT_ADD;

                share_uuid_to_string(m->payload.uuid, ustr);
                r = add ? hub_add(p, m->payload.uuid) : hub_remove(p, m->payload.uuid);
                if (r < 0)
                        log_info("%s: %s %s refused: %s", p->name, add ? "ADD" : "REMOVE", ustr,
                                 strerror(-r));
                else
                        log_debug("%s: %s %s", p->name, add ? "ADD" : "REMOVE", ustr);
                if (need_reply)
                        vu_endpoint_complete_u64(ep, slot, r < 0 ? 1 : 0);
                else
                        vu_endpoint_complete(ep, slot, NULL);
                return;
        }
        log_info("%s: %s not supported by the hub, refused", p->name,
                 vu_request_name(VU_CHANNEL_BACKEND, request));
        if (need_reply)
                vu_endpoint_complete_u64(ep, slot, 1);
        else
                vu_endpoint_complete(ep, slot, NULL);
}

bool hub_peer_has_channel(const Peer *p)
{
        return p->chan != NULL;
}
