/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front-end side of vhost-user (see frontend.h). The handshake runs as
 * a chain of reply callbacks on the main socket; the back-end channel (our
 * end of the socketpair handed over with SET_BACKEND_REQ_FD) serves
 * SHARED_OBJECT_ADD / REMOVE / LOOKUP. */

#include "frontend.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "async-close.h"
#include "fd-util.h"
#include "log.h"
#include "uuid-util.h"

struct VuFrontend {
        VuFrontendOps ops;
        void *userdata;
        char *name;
        sd_event *event;
        VuEndpoint *main; /* our requests out, the back-end's replies in */
        VuEndpoint *chan; /* the back-end's requests in, our replies out */
        VuFrontendNegotiated negotiated;
        bool ready;
        bool requests_paused; /* vu_frontend_pause_requests() */
        bool failed;          /* on_fail ran (or f is being freed): nothing more is reported */
        unsigned dispatching;
        bool dead;
};

typedef struct {
        VuFrontend *frontend;
        VuFrontendObjectFn done;
        void *userdata;
        uint8_t uuid[VU_UUID_SIZE];
} ObjectRequest;

static void frontend_destroy(VuFrontend *f)
{
        g_free(f->name);
        g_free(f);
}

/* Every entry point that calls out holds f with these: the owner may free
 * it from any callback, and the memory then goes at the outermost leave.
 * After a call out, f->failed says whether to go on. */
static void frontend_enter(VuFrontend *f)
{
        f->dispatching++;
}

static void frontend_leave(VuFrontend *f)
{
        f->dispatching--;
        if (f->dead && f->dispatching == 0)
                frontend_destroy(f);
}

static bool has_pf(const VuFrontend *f, unsigned bit)
{
        return f->negotiated.protocol_features & VU_BIT(bit);
}

static void frontend_fail(VuFrontend *f, int error, const char *reason)
{
        if (f->failed)
                return;
        f->failed = true;
        if (f->ops.on_fail)
                f->ops.on_fail(f, error, reason, f->userdata);
}

/* Either endpoint: the channel's reasons come prefixed (vu-endpoint.h). */
static void frontend_on_endpoint_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
        VuFrontend *f = userdata;

        frontend_enter(f);
        frontend_fail(f, error, reason);
        frontend_leave(f);
}

/* ---- the handshake ---- */

static void frontend_ready(VuFrontend *f)
{
        char pf[256];

        f->ready = true;
        /* From now on only GET_SHARED_OBJECT goes out on the main socket:
         * a slow answer is no longer a broken handshake. */
        vu_endpoint_set_late_replies(f->main, f->ops.get_shared_object_grace_usec,
                                     f->ops.max_missed_answers);
        if (f->ops.on_ready)
                f->ops.on_ready(f, f->userdata);
        if (f->failed)
                return;
        /* After on_ready: the owner's own "ready" (its state) comes first. */
        vu_protocol_features_to_string(f->negotiated.protocol_features, pf, sizeof(pf));
        log_info("%s: ready, features 0x%llx, %llu queue(s), protocol features %s%s", f->name,
                 (unsigned long long) f->negotiated.features,
                 (unsigned long long) f->negotiated.queues, pf,
                 vu_frontend_shared_objects(f) ? ""
                                               : " (no SHARED_OBJECT: its shared-object "
                                                 "requests will be refused)");
}

bool vu_frontend_ready(const VuFrontend *f)
{
        return f->ready;
}

static int frontend_send(VuFrontend *f, uint32_t request, uint32_t flags, const uint64_t *value,
                         VuReplyFn done)
{
        VuMessage m;

        if (value)
                vu_message_init_u64(&m, request, flags, *value);
        else
                vu_message_init(&m, request, flags, 0);
        return vu_endpoint_request(f->main, &m, f->ops.reply_timeout_usec, done, f);
}

static void frontend_on_handshake_reply(VuEndpoint *ep, VuMessage *m, int error, void *userdata);
static void frontend_on_chan_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot,
                                     void *userdata);

/* Our end of the back-end channel, watched; the other end goes to the
 * back-end with SET_BACKEND_REQ_FD, acked when REPLY_ACK was negotiated. */
static void frontend_open_channel(VuFrontend *f)
{
        bool reply_ack = has_pf(f, VU_PF_REPLY_ACK);
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = true,
            .on_request = frontend_on_chan_request,
            .on_fail = frontend_on_endpoint_fail,
            .userdata = f,
            .max_queued_messages = f->ops.max_queued_messages,
            .max_queued_bytes = f->ops.max_queued_bytes,
        };
        int sv[2];
        VuMessage m;
        int r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                frontend_fail(f, -errno, "socketpair for the back-end channel failed");
                return;
        }
        _cleanup_close_ int ours = sv[0], theirs = sv[1];
        g_autofree char *name = g_strdup_printf("%s/channel", f->name);
        r = vu_endpoint_new(f->event, ours, &ops, name, &f->chan);
        if (r < 0) {
                frontend_fail(f, r, "cannot watch the back-end channel");
                return;
        }
        ours = -1; /* the endpoint's now */
        if (f->requests_paused)
                vu_endpoint_pause_input(f->chan, true);
        vu_message_init(&m, VU_REQ_SET_BACKEND_REQ_FD, reply_ack ? VU_FLAG_NEED_REPLY : 0, 0);
        vu_message_add_fd(&m, g_steal_fd(&theirs));
        r = vu_endpoint_request(f->main, &m, f->ops.reply_timeout_usec,
                                reply_ack ? frontend_on_handshake_reply : NULL, f);
        if (r < 0 || reply_ack)
                return;
        frontend_ready(f);
}

void vu_frontend_pause_requests(VuFrontend *f, bool paused)
{
        f->requests_paused = paused;
        if (f->chan)
                vu_endpoint_pause_input(f->chan, paused);
}

bool vu_frontend_has_channel(const VuFrontend *f)
{
        return f->chan != NULL;
}

static void frontend_finish_handshake(VuFrontend *f)
{
        if (frontend_send(f, VU_REQ_SET_OWNER, 0, NULL, NULL) < 0)
                return;
        if (has_pf(f, VU_PF_BACKEND_REQ))
                frontend_open_channel(f);
        else
                frontend_ready(f);
}

static void frontend_take_features(VuFrontend *f, uint64_t offered)
{
        f->negotiated.features =
            offered & (VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VIRTIO_F_VERSION_1));
        if (frontend_send(f, VU_REQ_SET_FEATURES, 0, &f->negotiated.features, NULL) < 0)
                return;
        if (f->negotiated.features & VU_BIT(VU_F_PROTOCOL_FEATURES))
                frontend_send(f, VU_REQ_GET_PROTOCOL_FEATURES, 0, NULL,
                              frontend_on_handshake_reply);
        else
                frontend_finish_handshake(f);
}

static void frontend_take_protocol_features(VuFrontend *f, uint64_t offered)
{
        f->negotiated.protocol_features = offered & VU_SHARED_OBJECT_PROTOCOL_FEATURES;
        /* SHARED_OBJECT rides on the back-end channel. */
        if (!has_pf(f, VU_PF_BACKEND_REQ))
                f->negotiated.protocol_features &= ~VU_BIT(VU_PF_SHARED_OBJECT);
        if (frontend_send(f, VU_REQ_SET_PROTOCOL_FEATURES, 0, &f->negotiated.protocol_features,
                          NULL) < 0)
                return;
        if (f->ops.on_change)
                f->ops.on_change(f, f->userdata);
        if (f->failed)
                return;
        if (has_pf(f, VU_PF_MQ))
                frontend_send(f, VU_REQ_GET_QUEUE_NUM, 0, NULL, frontend_on_handshake_reply);
        else
                frontend_finish_handshake(f);
}

/* The handshake's next step after the reply to request. */
static void frontend_handshake_step(VuFrontend *f, uint32_t request, uint64_t value)
{
        switch (request) {
        case VU_REQ_GET_FEATURES:
                frontend_take_features(f, value);
                break;
        case VU_REQ_GET_PROTOCOL_FEATURES:
                frontend_take_protocol_features(f, value);
                break;
        case VU_REQ_GET_QUEUE_NUM:
                f->negotiated.queues = value;
                frontend_finish_handshake(f);
                break;
        case VU_REQ_SET_BACKEND_REQ_FD:
                if (value != 0)
                        frontend_fail(f, -EPROTO, "back-end refused SET_BACKEND_REQ_FD");
                else
                        frontend_ready(f);
                break;
        }
}

const VuFrontendNegotiated *vu_frontend_negotiated(const VuFrontend *f)
{
        return &f->negotiated;
}

/* Every reply of the handshake is a plain u64. (The endpoint has checked
 * that it answers the request sent.) */
static void frontend_on_handshake_reply(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        VuFrontend *f = userdata;

        if (error < 0)
                return; /* the endpoint failure path reports it */
        frontend_enter(f);
        if (m->hdr.size != sizeof(uint64_t) || m->n_fds > 0)
                frontend_fail(f, -EPROTO, "handshake reply with a wrong size or fds");
        else
                frontend_handshake_step(f, m->hdr.request, m->payload.u64);
        frontend_leave(f);
}

int vu_frontend_new(sd_event *ev, int fd, const VuFrontendOps *ops, const char *name,
                    void *userdata, VuFrontend **ret)
{
        VuEndpointOps eops = {
            .channel = VU_CHANNEL_FRONTEND,
            .receives_requests = false,
            .on_fail = frontend_on_endpoint_fail,
            .max_queued_messages = ops->max_queued_messages,
            .max_queued_bytes = ops->max_queued_bytes,
        };
        VuFrontend *f = g_new0(VuFrontend, 1);
        int r;

        f->ops = *ops;
        f->userdata = userdata;
        f->name = g_strdup(name);
        f->event = ev;
        eops.userdata = f;
        r = vu_endpoint_new(ev, fd, &eops, name, &f->main);
        if (r < 0) {
                frontend_destroy(f);
                return r;
        }
        *ret = f;
        return 0;
}

int vu_frontend_start(VuFrontend *f)
{
        int r;

        if (f->failed)
                return -ECONNRESET;
        frontend_enter(f);
        r = frontend_send(f, VU_REQ_GET_FEATURES, 0, NULL, frontend_on_handshake_reply);
        frontend_leave(f);
        return r;
}

void vu_frontend_free(VuFrontend *f)
{
        if (!f || f->dead)
                return;
        f->dead = true;
        f->failed = true; /* callbacks from the teardown must not report again */
        frontend_enter(f);
        vu_endpoint_free(g_steal_pointer(&f->chan));
        vu_endpoint_free(g_steal_pointer(&f->main));
        frontend_leave(f);
}

/* ---- GET_SHARED_OBJECT towards the back-end ---- */

/* What the back-end hands over goes on to someone else: it must be the
 * object asked for, and pass the owner's check of its kind. */
static int frontend_check_object(VuFrontend *f, const VuMessage *m, const uint8_t *uuid,
                                 const char *ustr, int *fd)
{
        const char *why = NULL, *what = "an fd the owner refused";
        char buf[160];
        int error = 0;

        if (m->hdr.size == sizeof(uint64_t) && m->payload.u64 != 0) {
                /* The status form: an error is an error, whatever fd came along. */
                why = *fd >= 0 ? "with an error status and an fd" : "with an error status";
                error = -ENOENT;
        } else if (*fd < 0) {
                why = "without an fd";
                error = -EIO;
        } else if (m->hdr.size == VU_UUID_SIZE && memcmp(m->payload.uuid, uuid, VU_UUID_SIZE)) {
                why = "with another object's UUID";
                error = -EPROTO;
        } else if (f->ops.check_object) {
                error = f->ops.check_object(f, *fd, &what, f->userdata);
                snprintf(buf, sizeof(buf), "with %s", what);
                why = buf;
        }
        if (error == 0)
                return 0;
        log_warning("%s: answered GET_SHARED_OBJECT %s %s; the importer gets an error", f->name,
                    ustr, why);
        async_close(*fd);
        *fd = -1;
        return error;
}

static void frontend_on_object(VuEndpoint *ep, VuMessage *m, int error, void *userdata)
{
        ObjectRequest *o = userdata;
        VuFrontend *f = o->frontend;
        char ustr[SHARE_UUID_STR_LEN];
        int fd = -1;

        share_uuid_to_string(o->uuid, ustr);
        frontend_enter(f);
        if (error == 0) {
                fd = m->n_fds > 0 ? vu_message_steal_fd(m, 0) : -1;
                error = frontend_check_object(f, m, o->uuid, ustr, &fd);
        } else {
                log_warning_errno(error, "%s: GET_SHARED_OBJECT %s failed: %m", f->name, ustr);
        }
        o->done(f, fd, error, o->userdata);
        g_free(o);
        frontend_leave(f);
}

int vu_frontend_get_shared_object(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE],
                                  VuFrontendObjectFn done, void *userdata)
{
        ObjectRequest *o;
        VuMessage m;
        int r;

        if (!f->ready || f->failed)
                return -ECONNRESET;
        o = g_new0(ObjectRequest, 1);
        o->frontend = f;
        o->done = done;
        o->userdata = userdata;
        memcpy(o->uuid, uuid, VU_UUID_SIZE);
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, 0, uuid);
        frontend_enter(f);
        r = vu_endpoint_request(f->main, &m, f->ops.get_shared_object_timeout_usec,
                                frontend_on_object, o);
        if (r < 0)
                g_free(o);
        frontend_leave(f);
        return r;
}

/* ---- the back-end channel ---- */

bool vu_frontend_shared_objects(const VuFrontend *f)
{
        return f->chan && has_pf(f, VU_PF_SHARED_OBJECT);
}

static void frontend_ack(VuFrontend *f, VuEndpoint *ep, const VuMessage *m, VuReplySlot *slot,
                         uint64_t value)
{
        if (f->dead) /* the slot went with the endpoint */
                return;
        if (m->hdr.flags & VU_FLAG_NEED_REPLY)
                vu_endpoint_complete_u64(ep, slot, value);
        else
                vu_endpoint_complete(ep, slot, NULL);
}

static void frontend_on_add_remove(VuFrontend *f, VuEndpoint *ep, VuMessage *m, VuReplySlot *slot)
{
        bool add = m->hdr.request == VU_BREQ_SHARED_OBJECT_ADD;
        int (*handler)(VuFrontend *, const uint8_t *, void *) =
            add ? f->ops.on_add : f->ops.on_remove;
        char ustr[SHARE_UUID_STR_LEN];
        int r = -EOPNOTSUPP;

        share_uuid_to_string(m->payload.uuid, ustr);
        if (vu_frontend_shared_objects(f) && handler)
                r = handler(f, m->payload.uuid, f->userdata);
        if (r < 0)
                log_info("%s: %s %s refused: %s", f->name, add ? "ADD" : "REMOVE", ustr,
                         strerror(-r));
        else
                log_debug("%s: %s %s", f->name, add ? "ADD" : "REMOVE", ustr);
        frontend_ack(f, ep, m, slot, r < 0 ? 1 : 0);
}

static void frontend_on_lookup(VuFrontend *f, VuEndpoint *ep, VuMessage *m, VuReplySlot *slot)
{
        if (m->n_fds > 0)
                log_debug("%s: LOOKUP came with an fd attached (rust-vmm form); closing it",
                          f->name);
        vu_message_close_fds(m);
        if (!vu_frontend_shared_objects(f) || !f->ops.on_lookup) {
                vu_endpoint_complete_u64(ep, slot, 1);
                return;
        }
        f->ops.on_lookup(f, m->payload.uuid, slot, f->userdata);
}

static void frontend_on_chan_request(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot,
                                     void *userdata)
{
        VuFrontend *f = userdata;

        frontend_enter(f);
        if (f->failed) {
                /* Reported already; the owner is about to free us. */
                vu_endpoint_complete(ep, slot, NULL);
        } else if (m->hdr.request == VU_BREQ_SHARED_OBJECT_LOOKUP) {
                frontend_on_lookup(f, ep, m, slot);
        } else if (m->hdr.request == VU_BREQ_SHARED_OBJECT_ADD ||
                   m->hdr.request == VU_BREQ_SHARED_OBJECT_REMOVE) {
                frontend_on_add_remove(f, ep, m, slot);
        } else {
                log_info("%s: %s not supported by the hub, refused", f->name,
                         vu_request_name(VU_CHANNEL_BACKEND, m->hdr.request));
                frontend_ack(f, ep, m, slot, 1);
        }
        vu_message_close_fds(m);
        frontend_leave(f);
}

void vu_frontend_answer_lookup(VuFrontend *f, VuReplySlot *slot, const uint8_t uuid[VU_UUID_SIZE],
                               int fd_or_error)
{
        char ustr[SHARE_UUID_STR_LEN];
        VuMessage reply;

        if (f->dead || !f->chan) {
                if (fd_or_error >= 0)
                        fd_close_safe(&fd_or_error);
                return;
        }
        share_uuid_to_string(uuid, ustr);
        vu_message_init_u64(&reply, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_REPLY,
                            fd_or_error < 0 ? 1 : 0);
        if (fd_or_error >= 0) {
                vu_message_add_fd(&reply, fd_or_error);
                log_debug("%s: LOOKUP %s served", f->name, ustr);
        } else {
                log_info("%s: LOOKUP %s failed: %s", f->name, ustr, strerror(-fd_or_error));
        }
        /* A failed send reaches on_fail, whose owner may free f. */
        frontend_enter(f);
        vu_endpoint_complete(f->chan, slot, &reply);
        frontend_leave(f);
}

/* ---- a restart (the service's fd store) ---- */

int vu_frontend_restore(sd_event *ev, int main_fd, int chan_fd, const VuFrontendNegotiated *neg,
                        const VuFrontendOps *ops, const char *name, void *userdata,
                        VuFrontend **ret)
{
        VuEndpointOps cops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = true,
            .on_request = frontend_on_chan_request,
            .on_fail = frontend_on_endpoint_fail,
            .max_queued_messages = ops->max_queued_messages,
            .max_queued_bytes = ops->max_queued_bytes,
        };
        g_autofree char *chan_name = g_strdup_printf("%s/channel", name);
        VuFrontend *f;
        int r;

        r = vu_frontend_new(ev, main_fd, ops, name, userdata, &f);
        if (r < 0) {
                close(main_fd);
                close(chan_fd);
                return r;
        }
        cops.userdata = f;
        r = vu_endpoint_new(ev, chan_fd, &cops, chan_name, &f->chan);
        if (r < 0) {
                close(chan_fd);
                vu_frontend_free(f);
                return r;
        }
        f->negotiated = *neg;
        f->ready = true;
        *ret = f;
        return 0;
}

bool vu_frontend_idle(const VuFrontend *f)
{
        return f->ready && !f->failed && f->chan && vu_endpoint_pending(f->main) == 0 &&
               vu_endpoint_in_flight(f->main) == 0 && !vu_endpoint_receiving(f->main) &&
               vu_endpoint_pending(f->chan) == 0 && vu_endpoint_in_flight(f->chan) == 0 &&
               !vu_endpoint_receiving(f->chan);
}

void vu_frontend_stop_requests(VuFrontend *f)
{
        if (f->chan)
                vu_endpoint_stop_reading(f->chan);
}

bool vu_frontend_kept(const VuFrontend *f, int *ret_main_fd, int *ret_chan_fd)
{
        if (!vu_frontend_idle(f))
                return false;
        *ret_main_fd = vu_endpoint_fd(f->main);
        *ret_chan_fd = vu_endpoint_fd(f->chan);
        return true;
}
