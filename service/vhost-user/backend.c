/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The back-end side of vhost-user (see backend.h). We serve no virtqueues:
 * ring setup is accepted and its fds kept or closed, so a front-end can
 * start the device; the point is the shared-object traffic. */

#include "async-close.h"
#include "backend.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "announce-queue.h"
#include "fd-util.h"
#include "log.h"
#include "uuid-util.h"

#define MAX_QUEUES VU_BACKEND_MAX_QUEUES
#define VRING_INDEX_MASK 0xffu
#define VRING_NOFD_MASK 0x100u

_Static_assert(VU_REQ_SET_VRING_CALL == VU_REQ_SET_VRING_KICK + VU_BACKEND_VRING_CALL &&
                   VU_REQ_SET_VRING_ERR == VU_REQ_SET_VRING_KICK + VU_BACKEND_VRING_ERR,
               "the ring fd requests are consecutive");

struct VuBackend {
        VuBackendOps ops;
        void *userdata;
        char *name;
        sd_event *event;
        VuEndpoint *main;
        VuEndpoint *chan;
        VuBackendNegotiated negotiated;
        bool failed;
        /* Inside a request handler: vu_backend_free() from a callback
         * (a failed send drops the peer) defers the free to its end. */
        unsigned dispatching;
        bool dead;
        uint64_t status;
        int vring_fds[MAX_QUEUES][_VU_BACKEND_VRING_MAX];
        AnnounceQueue *held; /* ChanRequest* of ADD / REMOVE not sent yet */
};

typedef struct {
        VuBackend *backend;
        VuBackendAckFn ack;
        VuBackendLookupFn lookup;
        void *userdata;
        uint8_t uuid[16];
        bool add; /* an announcement: ADD, else REMOVE */
} ChanRequest;

static void backend_fail(VuBackend *b, int error, const char *reason)
{
        if (b->failed)
                return;
        b->failed = true;
        if (b->ops.on_fail)
                b->ops.on_fail(b, error, reason, b->userdata);
}

/* Either endpoint: the channel's reasons come prefixed (vu-endpoint.h). */
static void backend_on_endpoint_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        backend_fail(userdata, error, reason);
}

static bool has_pf(const VuBackend *b, unsigned bit)
{
        return b->negotiated.protocol_features & VU_BIT(bit);
}

static void backend_changed(VuBackend *b)
{
        if (!b->failed && b->ops.on_change)
                b->ops.on_change(b, b->userdata);
}

/* Requests whose reply is part of their meaning, NEED_REPLY or not. */
static bool request_always_replied(uint32_t request)
{
        switch (request) {
        case VU_REQ_GET_FEATURES:
        case VU_REQ_GET_PROTOCOL_FEATURES:
        case VU_REQ_GET_VRING_BASE:
        case VU_REQ_GET_QUEUE_NUM:
        case VU_REQ_GET_CONFIG:
        case VU_REQ_GET_INFLIGHT_FD:
        case VU_REQ_GET_MAX_MEM_SLOTS:
        case VU_REQ_GET_STATUS:
        case VU_REQ_GET_SHARED_OBJECT:
        case VU_REQ_SET_LOG_BASE:
        case VU_REQ_POSTCOPY_ADVISE:
        case VU_REQ_POSTCOPY_END:
        case VU_REQ_SET_DEVICE_STATE_FD:
        case VU_REQ_CHECK_DEVICE_STATE:
        case VU_REQ_GET_SHMEM_CONFIG:
        case VU_REQ_CREATE_CRYPTO_SESSION:
                return true;
        default:
                return false;
        }
}

static void backend_ack(VuBackend *b, VuMessage *m, VuReplySlot *slot, uint64_t value)
{
        if (b->dead) /* the slot went with the endpoint */
                return;
        if ((m->hdr.flags & VU_FLAG_NEED_REPLY) && has_pf(b, VU_PF_REPLY_ACK))
                vu_endpoint_complete_u64(b->main, slot, value);
        else
                vu_endpoint_complete(b->main, slot, NULL);
}

/* The answer to a GET_ request whose reply is one u64 we hold. */
static uint64_t backend_get_u64(const VuBackend *b, uint32_t request)
{
        switch (request) {
        case VU_REQ_GET_FEATURES:
                return b->ops.features;
        case VU_REQ_GET_PROTOCOL_FEATURES:
                return b->ops.protocol_features;
        case VU_REQ_GET_QUEUE_NUM:
                return b->ops.queues;
        default: /* VU_REQ_GET_STATUS */
                return b->status;
        }
}

/* SET_FEATURES and SET_PROTOCOL_FEATURES: what the front-end took of our
 * offer. Protocol features we did not offer are refused. */
static void backend_take_features(VuBackend *b, VuMessage *m, VuReplySlot *slot)
{
        uint64_t value = m->payload.u64;
        bool ok = true;

        if (m->hdr.request == VU_REQ_SET_FEATURES) {
                b->negotiated.features = value;
        } else {
                b->negotiated.protocol_features = value & b->ops.protocol_features;
                ok = value == b->negotiated.protocol_features;
        }
        backend_ack(b, m, slot, ok ? 0 : 1);
        backend_changed(b);
}

/* SET_VRING_KICK, _CALL and _ERR: the ring's fd, kept until replaced. */
static void backend_keep_vring_fd(VuBackend *b, VuMessage *m)
{
        VuBackendVringFd which = (VuBackendVringFd) (m->hdr.request - VU_REQ_SET_VRING_KICK);
        unsigned index = (unsigned) (m->payload.u64 & VRING_INDEX_MASK);
        int fd = -1;

        if (!(m->payload.u64 & VRING_NOFD_MASK) && m->n_fds > 0)
                fd = vu_message_steal_fd(m, 0);
        if (index >= MAX_QUEUES) {
                async_close(fd); /* from the VMM: may be anything */
                return;
        }
        async_close(b->vring_fds[index][which]);
        b->vring_fds[index][which] = fd;
}

static void backend_on_chan_drain(VuEndpoint *ep, void *userdata);

static void backend_on_set_backend_req_fd(VuBackend *b, VuMessage *m, VuReplySlot *slot)
{
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = false,
            .on_fail = backend_on_endpoint_fail,
            .userdata = b,
            .late_reply_grace_usec = b->ops.late_reply_grace_usec,
            .max_queued_messages = b->ops.max_queued_messages,
            .max_queued_bytes = b->ops.max_queued_bytes,
            .on_drain = backend_on_chan_drain,
        };
        _cleanup_async_close_ int fd = vu_message_steal_fd(m, 0);
        int r;

        vu_endpoint_free(b->chan);
        b->chan = NULL;
        g_autofree char *name = g_strdup_printf("%s/channel", b->name);
        r = vu_endpoint_new(b->event, fd, &ops, name, &b->chan);
        if (r >= 0)
                fd = -1; /* the endpoint's now */
        backend_ack(b, m, slot, r < 0 ? 1 : 0);
        if (r < 0)
                log_warning_errno(r, "%s: cannot use the back-end channel: %m", b->name);
        backend_changed(b);
}

static void backend_destroy(VuBackend *b)
{
        announce_queue_free(b->held);
        g_free(b->name);
        g_free(b);
}

static void backend_handle_request(VuBackend *b, VuEndpoint *ep, VuMessage *m, VuReplySlot *slot);

static void backend_on_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot, void *userdata)
{
        VuBackend *b = userdata;

        b->dispatching++;
        backend_handle_request(b, ep, m, slot);
        vu_message_close_fds(m);
        if (--b->dispatching == 0 && b->dead)
                backend_destroy(b);
}

static void backend_handle_request(VuBackend *b, VuEndpoint *ep, VuMessage *m, VuReplySlot *slot)
{
        uint32_t request = m->hdr.request;

        if (m->hdr.size == sizeof(uint64_t))
                log_debug("%s: %s flags 0x%x u64 0x%llx, %u fd(s)", b->name,
                          vu_request_name(VU_CHANNEL_FRONTEND, request), m->hdr.flags,
                          (unsigned long long) m->payload.u64, m->n_fds);
        else
                log_debug("%s: %s flags 0x%x size %u, %u fd(s)", b->name,
                          vu_request_name(VU_CHANNEL_FRONTEND, request), m->hdr.flags, m->hdr.size,
                          m->n_fds);
        switch (request) {
        case VU_REQ_GET_FEATURES:
        case VU_REQ_GET_PROTOCOL_FEATURES:
        case VU_REQ_GET_QUEUE_NUM:
        case VU_REQ_GET_STATUS:
                vu_endpoint_complete_u64(ep, slot, backend_get_u64(b, request));
                break;
        case VU_REQ_SET_FEATURES:
        case VU_REQ_SET_PROTOCOL_FEATURES:
                backend_take_features(b, m, slot);
                break;
        case VU_REQ_SET_OWNER:
                b->negotiated.owned = true;
                backend_ack(b, m, slot, 0);
                break;
        case VU_REQ_RESET_OWNER:
                b->negotiated.owned = false;
                backend_ack(b, m, slot, 0);
                break;
        case VU_REQ_SET_BACKEND_REQ_FD:
                backend_on_set_backend_req_fd(b, m, slot);
                break;
        case VU_REQ_SET_VRING_KICK:
        case VU_REQ_SET_VRING_CALL:
        case VU_REQ_SET_VRING_ERR:
                backend_keep_vring_fd(b, m);
                backend_ack(b, m, slot, 0);
                break;
        case VU_REQ_GET_VRING_BASE: {
                /* struct vhost_vring_state: the index asked for, num 0. */
                VuMessage reply;
                vu_message_init(&reply, request, VU_FLAG_REPLY, 8);
                memcpy(reply.payload.bytes, m->payload.bytes, 4);
                memset(reply.payload.bytes + 4, 0, 4);
                vu_endpoint_complete(ep, slot, &reply);
                break;
        }
        case VU_REQ_SET_STATUS:
                b->status = m->payload.u64;
                backend_ack(b, m, slot, 0);
                break;
        case VU_REQ_GET_CONFIG: {
                /* No config space: echo the request's header with zeros. */
                VuMessage reply;
                vu_message_init(&reply, request, VU_FLAG_REPLY, m->hdr.size);
                memset(reply.payload.bytes, 0, m->hdr.size);
                if (m->hdr.size >= 8)
                        memcpy(reply.payload.bytes, m->payload.bytes, 8);
                vu_endpoint_complete(ep, slot, &reply);
                break;
        }
        case VU_REQ_GET_SHARED_OBJECT:
                vu_message_close_fds(m);
                if (m->hdr.size < VU_UUID_SIZE) {
                        log_warning("%s: GET_SHARED_OBJECT arrived without a UUID (size %u): "
                                    "a front-end defect (QEMU 10.x sends size 0)",
                                    b->name, m->hdr.size);
                }
                /* The owner answers even a request without UUID (backend.h),
                 * so the time it takes is its own, as with any other. */
                if (b->ops.get_shared_object)
                        b->ops.get_shared_object(
                            b, m->hdr.size < VU_UUID_SIZE ? NULL : m->payload.uuid, slot,
                            b->userdata);
                else
                        vu_backend_answer_shared_object(b, slot, m->payload.uuid, -1);
                break;
        case VU_REQ_SET_MEM_TABLE:
        case VU_REQ_SET_VRING_NUM:
        case VU_REQ_SET_VRING_ADDR:
        case VU_REQ_SET_VRING_BASE:
        case VU_REQ_SET_VRING_ENABLE:
        case VU_REQ_ADD_MEM_REG:
        case VU_REQ_REM_MEM_REG:
        case VU_REQ_RESET_DEVICE:
                /* Accepted: we do not process rings, so memory and ring
                 * state have nothing to apply to. */
                vu_message_close_fds(m);
                backend_ack(b, m, slot, 0);
                break;
        default:
                vu_message_close_fds(m);
                log_info("%s: %s not supported, refused", b->name,
                         vu_request_name(VU_CHANNEL_FRONTEND, request));
                if (request_always_replied(request))
                        vu_endpoint_complete_u64(ep, slot, UINT64_MAX);
                else
                        backend_ack(b, m, slot, 1);
                break;
        }
}

int vu_backend_new(sd_event *ev, int fd, const VuBackendOps *ops, const char *name, void *userdata,
                   VuBackend **ret)
{
        VuEndpointOps eops = {
            .channel = VU_CHANNEL_FRONTEND,
            .receives_requests = true,
            .on_request = backend_on_request,
            .on_fail = backend_on_endpoint_fail,
            .max_queued_messages = ops->max_queued_messages,
            .max_queued_bytes = ops->max_queued_bytes,
        };
        VuBackend *b = g_new0(VuBackend, 1);
        int r;

        b->ops = *ops;
        b->ops.features |= VU_BIT(VIRTIO_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES);
        if (b->ops.queues == 0)
                b->ops.queues = 1;
        if (b->ops.reply_timeout_usec == 0)
                b->ops.reply_timeout_usec = 1000 * 1000;
        if (b->ops.ack_timeout_usec == 0)
                b->ops.ack_timeout_usec = b->ops.reply_timeout_usec;
        b->userdata = userdata;
        b->name = g_strdup(name);
        b->event = ev;
        b->held = announce_queue_new();
        for (unsigned i = 0; i < MAX_QUEUES; i++)
                for (unsigned j = 0; j < _VU_BACKEND_VRING_MAX; j++)
                        b->vring_fds[i][j] = -1;
        eops.userdata = b;
        r = vu_endpoint_new(ev, fd, &eops, name, &b->main);
        if (r < 0) {
                backend_destroy(b);
                return r;
        }
        *ret = b;
        return 0;
}

static void chan_request_finish(ChanRequest *c, int64_t result)
{
        if (c->ack)
                c->ack(c->backend, result, c->userdata);
        g_free(c);
}

void vu_backend_free(VuBackend *b)
{
        VuEndpoint *chan, *main;
        uint8_t uuid[VU_UUID_SIZE];
        ChanRequest *c;
        bool add;

        if (!b || b->dead)
                return;
        b->dead = true;
        b->failed = true; /* callbacks from the teardown must not report again */
        chan = b->chan;
        main = b->main;
        b->chan = b->main = NULL;
        vu_endpoint_free(chan);
        vu_endpoint_free(main);
        while (announce_queue_pop(b->held, uuid, &add, (void **) &c))
                chan_request_finish(c, -ECONNRESET);
        for (unsigned i = 0; i < MAX_QUEUES; i++)
                for (unsigned j = 0; j < _VU_BACKEND_VRING_MAX; j++)
                        if (b->vring_fds[i][j] >= 0) {
                                async_close(b->vring_fds[i][j]);
                                b->vring_fds[i][j] = -1;
                        }
        if (b->dispatching == 0)
                backend_destroy(b);
}

const VuBackendNegotiated *vu_backend_negotiated(const VuBackend *b)
{
        return &b->negotiated;
}

bool vu_backend_has_channel(const VuBackend *b)
{
        return b->chan != NULL;
}

bool vu_backend_shared_objects(const VuBackend *b)
{
        return b->chan && has_pf(b, VU_PF_SHARED_OBJECT);
}

void vu_backend_answer_shared_object(VuBackend *b, VuReplySlot *slot, const uint8_t *uuid, int fd)
{
        VuMessage reply;
        static const uint8_t none[VU_UUID_SIZE];

        if (b->dead) {
                async_close(fd);
                return;
        }
        if (b->ops.get_answer_empty)
                vu_message_init(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, 0);
        else
                vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY,
                                     uuid ? uuid : none);
        if (fd >= 0)
                vu_message_add_fd(&reply, fd);
        vu_endpoint_complete(b->main, slot, &reply);
}

static void backend_on_ack(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        ChanRequest *c = userdata;
        int64_t result = error;

        if (error == 0)
                result = m->hdr.size == sizeof(uint64_t) ? (int64_t) (m->payload.u64 != 0) : 1;
        chan_request_finish(c, result);
}

/* Sends one held announcement; c is finished (now, or with its ack). A
 * failed send has broken the connection: c ends with -ECONNRESET. */
static void backend_send_announcement(VuBackend *b, ChanRequest *c)
{
        bool ack = has_pf(b, VU_PF_REPLY_ACK) && !b->ops.announce_without_reply;
        VuMessage m;
        int r;

        vu_message_init_uuid(&m, c->add ? VU_BREQ_SHARED_OBJECT_ADD : VU_BREQ_SHARED_OBJECT_REMOVE,
                             ack ? VU_FLAG_NEED_REPLY : 0, c->uuid);
        if (ack) {
                r = vu_endpoint_request(b->chan, &m, b->ops.ack_timeout_usec, backend_on_ack, c);
                if (r < 0)
                        chan_request_finish(c, -ECONNRESET);
                return;
        }
        r = vu_endpoint_request(b->chan, &m, 0, NULL, NULL);
        chan_request_finish(c, r < 0 ? -ECONNRESET : 0);
}

/* Sends held announcements while the channel has room. Callbacks may free
 * b (a failed send drops the peer): the free waits for our end. */
static void backend_pump(VuBackend *b)
{
        uint8_t uuid[VU_UUID_SIZE];
        ChanRequest *c;
        bool add;

        b->dispatching++;
        while (!b->dead && b->chan && !b->failed &&
               vu_endpoint_in_flight(b->chan) < VU_BACKEND_ANNOUNCE_WINDOW &&
               announce_queue_pop(b->held, uuid, &add, (void **) &c))
                backend_send_announcement(b, c);
        if (--b->dispatching == 0 && b->dead)
                backend_destroy(b);
}

static void backend_on_chan_drain(VuEndpoint *ep, void *userdata)
{
        backend_pump(userdata);
}

/* Whether one more held announcement would pass the channel's limits. */
static bool backend_announcements_over_limit(VuBackend *b)
{
        unsigned held = announce_queue_length(b->held);
        size_t bytes =
            b->ops.max_queued_bytes ? b->ops.max_queued_bytes : VU_ENDPOINT_MAX_QUEUED_BYTES;

        return held + vu_endpoint_in_flight(b->chan) >= vu_endpoint_max_queued_messages(b->chan) ||
               (size_t) (held + 1) * (VU_HEADER_SIZE + VU_UUID_SIZE) > bytes;
}

static int backend_announce(VuBackend *b, bool add, const uint8_t uuid[16], VuBackendAckFn done,
                            void *userdata)
{
        ChanRequest *c, *cancelled;
        char reason[200];

        if (!vu_backend_shared_objects(b))
                return -EOPNOTSUPP;
        if (backend_announcements_over_limit(b)) {
                snprintf(reason, sizeof(reason),
                         "back-end channel: %u announcements held and %u messages in flight "
                         "(limit %u): the front-end is not reading",
                         announce_queue_length(b->held), vu_endpoint_in_flight(b->chan),
                         vu_endpoint_max_queued_messages(b->chan));
                backend_fail(b, -ENOBUFS, reason);
                return -ENOBUFS;
        }
        c = g_new0(ChanRequest, 1);
        c->backend = b;
        c->ack = done;
        c->userdata = userdata;
        c->add = add;
        memcpy(c->uuid, uuid, VU_UUID_SIZE);
        if (announce_queue_push(b->held, uuid, add, c, (void **) &cancelled)) {
                /* Neither was sent: the front-end's table is as before both. */
                chan_request_finish(cancelled, -ECANCELED);
                chan_request_finish(c, -ECANCELED);
                return 0;
        }
        backend_pump(b);
        return 0;
}

int vu_backend_add(VuBackend *b, const uint8_t uuid[16], VuBackendAckFn done, void *userdata)
{
        return backend_announce(b, true, uuid, done, userdata);
}

int vu_backend_remove(VuBackend *b, const uint8_t uuid[16], VuBackendAckFn done, void *userdata)
{
        return backend_announce(b, false, uuid, done, userdata);
}

static void backend_on_lookup_reply(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        ChanRequest *c = userdata;
        int fd = -1;

        if (error == 0) {
                bool ok = m->hdr.size == sizeof(uint64_t) && m->payload.u64 == 0;
                char ustr[SHARE_UUID_STR_LEN];

                share_uuid_to_string(c->uuid, ustr);
                if (ok && m->n_fds > 0)
                        fd = vu_message_steal_fd(m, 0);
                else
                        error = ok ? -EIO : -ENOENT;
                if (ok && fd < 0)
                        log_warning("%s: LOOKUP %s acked with 0 but no fd (a front-end defect: "
                                    "QEMU 10.0.2 sends the fd on the wrong socket)",
                                    c->backend->name, ustr);
                else if (!ok)
                        /* The value as sent: QEMU up to 10.1 answers -errno, from
                         * 10.2 on 1. */
                        log_info(
                            "%s: LOOKUP %s refused by the front-end (%lld)", c->backend->name, ustr,
                            m->hdr.size == sizeof(uint64_t) ? (long long) m->payload.u64 : -1LL);
        }
        c->lookup(c->backend, fd, error, c->userdata);
        g_free(c);
}

int vu_backend_lookup(VuBackend *b, const uint8_t uuid[16], VuBackendLookupFn done, void *userdata)
{
        return vu_backend_lookup_with_fd(b, uuid, -1, done, userdata);
}

int vu_backend_lookup_with_fd(VuBackend *b, const uint8_t uuid[16], int fd, VuBackendLookupFn done,
                              void *userdata)
{
        _cleanup_close_ int attached = fd;
        ChanRequest *c;
        VuMessage m;
        int r;

        if (!vu_backend_shared_objects(b))
                return -EOPNOTSUPP;
        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
        if (attached >= 0)
                vu_message_add_fd(&m, g_steal_fd(&attached));
        c = g_new0(ChanRequest, 1);
        c->backend = b;
        c->lookup = done;
        c->userdata = userdata;
        memcpy(c->uuid, uuid, 16);
        r = vu_endpoint_request(b->chan, &m, b->ops.reply_timeout_usec, backend_on_lookup_reply, c);
        if (r < 0)
                g_free(c);
        return r;
}

/* ---- a restart ---- */

bool vu_backend_idle(const VuBackend *b)
{
        return !b->failed && !b->dead && b->chan && announce_queue_length(b->held) == 0 &&
               vu_endpoint_pending(b->main) == 0 && vu_endpoint_in_flight(b->main) == 0 &&
               !vu_endpoint_receiving(b->main) && vu_endpoint_pending(b->chan) == 0 &&
               vu_endpoint_in_flight(b->chan) == 0 && !vu_endpoint_receiving(b->chan);
}

void vu_backend_stop_requests(VuBackend *b)
{
        if (b->main)
                vu_endpoint_stop_reading(b->main);
}

bool vu_backend_kept(const VuBackend *b, int *ret_main_fd, int *ret_chan_fd)
{
        if (!vu_backend_idle(b))
                return false;
        *ret_main_fd = vu_endpoint_fd(b->main);
        *ret_chan_fd = vu_endpoint_fd(b->chan);
        return true;
}

uint64_t vu_backend_status(const VuBackend *b)
{
        return b->status;
}

int vu_backend_vring_fd(const VuBackend *b, unsigned queue, VuBackendVringFd which)
{
        if (queue >= MAX_QUEUES || which >= _VU_BACKEND_VRING_MAX)
                return -1;
        return b->vring_fds[queue][which];
}

int vu_backend_restore(sd_event *ev, int main_fd, int chan_fd, const VuBackendNegotiated *neg,
                       uint64_t status, const VuBackendOps *ops, const char *name, void *userdata,
                       VuBackend **ret)
{
        VuEndpointOps cops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = false,
            .on_fail = backend_on_endpoint_fail,
            .late_reply_grace_usec = ops->late_reply_grace_usec,
            .max_queued_messages = ops->max_queued_messages,
            .max_queued_bytes = ops->max_queued_bytes,
            .on_drain = backend_on_chan_drain,
        };
        g_autofree char *chan_name = g_strdup_printf("%s/channel", name);
        VuBackend *b;
        int r;

        r = vu_backend_new(ev, main_fd, ops, name, userdata, &b);
        if (r < 0) {
                close(main_fd);
                close(chan_fd);
                return r;
        }
        cops.userdata = b;
        r = vu_endpoint_new(ev, chan_fd, &cops, chan_name, &b->chan);
        if (r < 0) {
                close(chan_fd);
                vu_backend_free(b);
                return r;
        }
        b->negotiated = *neg;
        b->negotiated.protocol_features &= b->ops.protocol_features; /* as SET_ took it */
        b->status = status;
        *ret = b;
        return 0;
}

int vu_backend_restore_vring_fd(VuBackend *b, unsigned queue, VuBackendVringFd which, int fd)
{
        if (queue >= MAX_QUEUES || which >= _VU_BACKEND_VRING_MAX) {
                close(fd);
                return -EINVAL;
        }
        async_close(b->vring_fds[queue][which]);
        b->vring_fds[queue][which] = fd;
        return 0;
}
