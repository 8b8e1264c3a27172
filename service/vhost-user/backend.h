/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The back-end side of vhost-user: answers a front-end's handshake on the
 * main socket, keeps the back-end channel it hands over, and sends
 * SHARED_OBJECT_ADD / REMOVE / LOOKUP on it. Used by vhost-share-device and
 * by the service's bridge role (--serve). Non-blocking throughout: a
 * GET_SHARED_OBJECT can be answered later, and channel replies arrive
 * through callbacks with a deadline. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "vu-endpoint.h"

typedef struct VuBackend VuBackend;

typedef struct {
        uint64_t features;           /* offered; VERSION_1 and PROTOCOL_FEATURES always added */
        uint64_t protocol_features;  /* offered */
        unsigned queues;             /* GET_QUEUE_NUM answer, at least 1 */
        uint64_t reply_timeout_usec; /* channel replies; 0 = 1 s */
        /* ADD / REMOVE acks, which nobody waits on; 0 = reply_timeout_usec. */
        uint64_t ack_timeout_usec;
        /* See VuEndpointOps: 0 = a missed channel deadline drops the connection. */
        uint64_t late_reply_grace_usec;
        /* Both sockets' outgoing limits (VuEndpointOps; 0: its defaults).
         * ADD / REMOVE held back while the front-end is slow count too. */
        unsigned max_queued_messages;
        size_t max_queued_bytes;
        /* Forms other back-end libraries use, for a back-end that plays one
         * (vhost-share-device --mode): ADD / REMOVE without NEED_REPLY even
         * with REPLY_ACK (libvhost-user), GET_SHARED_OBJECT answered with
         * an empty payload instead of the echoed UUID (rust-vmm). */
        bool announce_without_reply;
        bool get_answer_empty;

        /* The front-end asks for an object: answer with
         * vu_backend_answer_shared_object(), now or later. uuid is NULL when
         * the request did not carry one (QEMU 10.x sends size 0). */
        void (*get_shared_object)(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot,
                                  void *userdata);
        /* The handshake reached a point where the channel can be used
         * (SET_BACKEND_REQ_FD received), or state/features changed. */
        void (*on_change)(VuBackend *b, void *userdata);
        /* The connection broke; free the back-end. */
        void (*on_fail)(VuBackend *b, int error, const char *reason, void *userdata);
} VuBackendOps;

/* fd taken on success; on failure it stays the caller's. */
int vu_backend_new(sd_event *ev, int fd, const VuBackendOps *ops, const char *name, void *userdata,
                   VuBackend **ret);
void vu_backend_free(VuBackend *b);

/* What the front-end settled, as far as it got (frontend.h's twin). */
typedef struct {
        uint64_t features;          /* as SET_FEATURES said */
        uint64_t protocol_features; /* as SET_PROTOCOL_FEATURES said, less what we did not offer */
        bool owned;                 /* SET_OWNER seen, no RESET_OWNER since */
} VuBackendNegotiated;

const VuBackendNegotiated *vu_backend_negotiated(const VuBackend *b);
bool vu_backend_has_channel(const VuBackend *b);
/* SHARED_OBJECT negotiated and a channel to send on. */
bool vu_backend_shared_objects(const VuBackend *b);

/* Answers GET_SHARED_OBJECT: fd >= 0 is taken and sent, fd < 0 sends the
 * error reply (no fd). */
void vu_backend_answer_shared_object(VuBackend *b, VuReplySlot *slot, const uint8_t *uuid, int fd);

/* Channel requests. result: 0 acked, > 0 refused by the front-end, < 0 no
 * answer (-ETIMEDOUT, -ECONNRESET). Without REPLY_ACK, ADD and REMOVE are
 * not acknowledged: done is called with 0 once sent.
 *
 * ADD and REMOVE are announcements: while the channel has
 * VU_BACKEND_ANNOUNCE_WINDOW messages unsent or unacked they are held back,
 * in order, and a REMOVE whose ADD is still held cancels it: done is called
 * for both with -ECANCELED, and the front-end hears of neither. Each returns
 * 0 (done will be called exactly once, possibly before it returns),
 * -EOPNOTSUPP without SHARED_OBJECT or a channel, or -ENOBUFS when held and
 * queued messages would pass max_queued_messages: then on_fail has run (the
 * front-end is not reading; the owner may have freed b) and done is not
 * called. LOOKUP is sent at once: it returns 0 (done will be called),
 * -EOPNOTSUPP, -ECONNRESET when the channel broke, or another -errno when
 * the send failed: then on_fail has run. */
#define VU_BACKEND_ANNOUNCE_WINDOW 64
typedef void (*VuBackendAckFn)(VuBackend *b, int64_t result, void *userdata);
int vu_backend_add(VuBackend *b, const uint8_t uuid[16], VuBackendAckFn done, void *userdata);
int vu_backend_remove(VuBackend *b, const uint8_t uuid[16], VuBackendAckFn done, void *userdata);

/* LOOKUP: done gets an fd (taken by the callee) and 0, or -1 and an error:
 * -ENOENT refused by the front-end, -EIO acked without an fd, -ETIMEDOUT,
 * -ECONNRESET. */
typedef void (*VuBackendLookupFn)(VuBackend *b, int fd, int error, void *userdata);
int vu_backend_lookup(VuBackend *b, const uint8_t uuid[16], VuBackendLookupFn done, void *userdata);
/* The same with fd attached to the request, as rust-vmm sends it: fd taken
 * (closed when the request cannot be sent). */
int vu_backend_lookup_with_fd(VuBackend *b, const uint8_t uuid[16], int fd, VuBackendLookupFn done,
                              void *userdata);

/* ---- a restart (the service's fd store) ---- */

#define VU_BACKEND_MAX_QUEUES 64
/* The ring fds a back-end keeps, in the order of SET_VRING_KICK .. _ERR. */
typedef enum {
        VU_BACKEND_VRING_KICK,
        VU_BACKEND_VRING_CALL,
        VU_BACKEND_VRING_ERR,
        _VU_BACKEND_VRING_MAX,
} VuBackendVringFd;

/* Nothing in flight or half read either way and no announcement held:
 * the connection can go on in another process. */
bool vu_backend_idle(const VuBackend *b);
/* Reads no new request on the main socket (at a message boundary; what
 * follows stays in the socket for the next process). */
void vu_backend_stop_requests(VuBackend *b);
/* When idle: the two sockets (still b's), for the store. */
bool vu_backend_kept(const VuBackend *b, int *ret_main_fd, int *ret_chan_fd);
uint64_t vu_backend_status(const VuBackend *b);
/* The ring fd kept for queue / which, -1 when none (still b's). */
int vu_backend_vring_fd(const VuBackend *b, unsigned queue, VuBackendVringFd which);

/* A back-end on a connection whose handshake an earlier process did:
 * main_fd and chan_fd (the front-end's channel) kept in the service's fd
 * store, neg and status as they were. Both fds taken, also on failure. */
int vu_backend_restore(sd_event *ev, int main_fd, int chan_fd, const VuBackendNegotiated *neg,
                       uint64_t status, const VuBackendOps *ops, const char *name, void *userdata,
                       VuBackend **ret);
/* Gives a restored back-end a ring fd it kept (fd taken; -EINVAL, and fd
 * closed, for a queue out of range). */
int vu_backend_restore_vring_fd(VuBackend *b, unsigned queue, VuBackendVringFd which, int fd);
