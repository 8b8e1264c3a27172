/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The front-end side of vhost-user, the twin of backend.h: runs the
 * handshake towards a back-end on the main socket (GET_FEATURES ..
 * SET_BACKEND_REQ_FD), serves the back-end channel it hands over
 * (SHARED_OBJECT_ADD / REMOVE / LOOKUP) and sends GET_SHARED_OBJECT with a
 * deadline. Used by the service's hub role (core/hub.c). Knows no table:
 * what an ADD, a REMOVE or a LOOKUP means is the owner's, through the
 * callbacks. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "vu-endpoint.h"

typedef struct VuFrontend VuFrontend;

typedef struct {
        /* Deadlines, used as given: handshake replies and the
         * SET_BACKEND_REQ_FD ack; GET_SHARED_OBJECT answers. */
        uint64_t reply_timeout_usec;
        uint64_t get_shared_object_timeout_usec;
        /* Once ready: a GET_SHARED_OBJECT answer missing at its deadline
         * fails that request only, and the back-end is given up when the
         * answer is still missing this much later, or when
         * max_missed_answers (0: no limit) answers in a row missed their
         * deadline. A late answer is dropped and its fd closed. 0: the
         * first missed deadline breaks the connection. */
        uint64_t get_shared_object_grace_usec;
        unsigned max_missed_answers;

        /* SET_PROTOCOL_FEATURES went out: the negotiated protocol features
         * are known. */
        void (*on_change)(VuFrontend *f, void *userdata);
        /* The handshake is complete (vu_frontend_ready() from now on). The
         * engine logs the "ready" line after this returns. */
        void (*on_ready)(VuFrontend *f, void *userdata);
        /* The connection broke: hang-up, malformed input, a deadline missed,
         * the back-end refusing the channel. Free the front-end. */
        void (*on_fail)(VuFrontend *f, int error, const char *reason, void *userdata);

        /* SHARED_OBJECT_ADD / REMOVE from the back-end: 0 or -errno; the
         * engine logs a refusal and acks it (1) when NEED_REPLY asks for an
         * ack. Not called unless SHARED_OBJECT is negotiated (refused with
         * -EOPNOTSUPP then). */
        int (*on_add)(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata);
        int (*on_remove)(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata);
        /* SHARED_OBJECT_LOOKUP from the back-end: answer with
         * vu_frontend_answer_lookup(), now or later, exactly once (uuid
         * lives only during the call). An fd the request carried (rust-vmm
         * attaches one) is closed before. Not called unless SHARED_OBJECT
         * is negotiated (answered 1 then). */
        void (*on_lookup)(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], VuReplySlot *slot,
                          void *userdata);

        /* Whether an fd a GET_SHARED_OBJECT answer brought may be handed on
         * (the buffer-kind policy): 0, or -errno with *why set to what the
         * fd is for the log ("answered ... with <why>"). NULL accepts any
         * fd. An answer with an error status fails before the hook. */
        int (*check_object)(VuFrontend *f, int fd, const char **why, void *userdata);

        /* Both sockets' outgoing limits (VuEndpointOps; 0: its defaults). */
        unsigned max_queued_messages;
        size_t max_queued_bytes;
} VuFrontendOps;

/* fd taken on success; on failure it stays the caller's. Sends nothing
 * yet: vu_frontend_start() begins the handshake. name is for the logs. */
int vu_frontend_new(sd_event *ev, int fd, const VuFrontendOps *ops, const char *name,
                    void *userdata, VuFrontend **ret);
/* Outstanding GET_SHARED_OBJECT requests end with -ECONNRESET (their
 * callbacks run); unanswered LOOKUP slots are dropped. NULL-safe; may be
 * called from any of the callbacks. */
void vu_frontend_free(VuFrontend *f);

/* Sends GET_FEATURES. Returns 0, or -errno when the send failed: then
 * on_fail has run (and the owner may have freed f). */
int vu_frontend_start(VuFrontend *f);

/* What the handshake settled, as far as it got. */
typedef struct {
        uint64_t features;          /* as sent with SET_FEATURES */
        uint64_t protocol_features; /* as sent with SET_PROTOCOL_FEATURES */
        uint64_t queues;            /* GET_QUEUE_NUM's answer; 0 without MQ */
} VuFrontendNegotiated;

const VuFrontendNegotiated *vu_frontend_negotiated(const VuFrontend *f);
bool vu_frontend_has_channel(const VuFrontend *f);
/* SHARED_OBJECT negotiated and a channel to serve it on. */
bool vu_frontend_shared_objects(const VuFrontend *f);
bool vu_frontend_ready(const VuFrontend *f);

/* Stops (or resumes) reading the back-end channel's requests (ADD, REMOVE,
 * LOOKUP), also of a channel set up later; replies on the main socket
 * still arrive. For an owner whose consumers of table events fall behind. */
void vu_frontend_pause_requests(VuFrontend *f, bool paused);

/* Answers the LOOKUP waiting in slot (uuid as on_lookup gave it, for the
 * log): fd_or_error >= 0 is an fd, taken and sent with 0; < 0 is the
 * -errno the lookup failed with, sent as 1. */
void vu_frontend_answer_lookup(VuFrontend *f, VuReplySlot *slot, const uint8_t uuid[VU_UUID_SIZE],
                               int fd_or_error);

/* GET_SHARED_OBJECT: done gets an fd (taken by the callee) and 0, or -1
 * and an error: -ENOENT answered with an error status (an fd with it is
 * closed), -EIO without an fd, -EPROTO with another UUID, check_object's
 * error, -ETIMEDOUT, -ECONNRESET. */
typedef void (*VuFrontendObjectFn)(VuFrontend *f, int fd, int error, void *userdata);
/* Returns 0 (done will be called), -ECONNRESET before the handshake is
 * complete or after the connection broke, or another -errno when the send
 * failed: then on_fail has run (and the owner may have freed f). */
int vu_frontend_get_shared_object(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE],
                                  VuFrontendObjectFn done, void *userdata);

/* A restart: a ready front-end on the two sockets a previous process had
 * negotiated neg on (kept in the service's fd store), without a new
 * handshake. Both fds taken, whatever happens; on_ready is not called. */
int vu_frontend_restore(sd_event *ev, int main_fd, int chan_fd, const VuFrontendNegotiated *neg,
                        const VuFrontendOps *ops, const char *name, void *userdata,
                        VuFrontend **ret);
/* Ready, with a channel, nothing queued, awaited or partly read on either
 * socket. */
bool vu_frontend_idle(const VuFrontend *f);
/* A restart: the back-end's requests are no longer read (they wait in the
 * channel for the next process); replies to ours still are. */
void vu_frontend_stop_requests(VuFrontend *f);
/* Whether f can be handed to a next process as it is: ready, with a
 * channel, nothing queued or waiting for an answer on either socket; then
 * its two sockets (still f's). */
bool vu_frontend_kept(const VuFrontend *f, int *ret_main_fd, int *ret_chan_fd);
