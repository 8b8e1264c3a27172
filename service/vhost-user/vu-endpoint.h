/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One end of one vhost-user socket on the event loop. vhost-user sockets
 * carry requests one way and replies the other, so an endpoint either
 * receives requests (and answers them, in order, possibly later) or receives
 * replies (to requests it sent, matched first in first out, each with a
 * deadline). Nothing here blocks: reads and writes follow the socket's
 * readiness, and a missed deadline is reported, never waited out. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "vu-message.h"
#include "vu-connection.h"

typedef struct VuEndpoint VuEndpoint;
typedef struct VuReplySlot VuReplySlot;

/* A request arrived (receiving endpoints). The handler owns m's fds. When the
 * request is answered, slot is non-NULL and must be completed exactly once
 * with vu_endpoint_complete(), now or later; replies leave in request order. */
typedef void (*VuRequestFn)(VuEndpoint *ep, VuMessage *m, VuReplySlot *slot, void *userdata);

/* The reply to a request we sent (m owns its fds; the callback may steal
 * them), or m == NULL and error < 0 when none will come: -ETIMEDOUT at the
 * deadline, -ECONNRESET when the endpoint closed first. */
typedef void (*VuReplyFn)(VuEndpoint *ep, VuMessage *m, int error, void *userdata);

/* The endpoint broke: hang-up, socket error, malformed input, a deadline
 * missed. reason says which for the log, starting "back-end channel: " on
 * that channel (VU_CHANNEL_BACKEND). The owner should free it. */
typedef void (*VuFailFn)(VuEndpoint *ep, int error, const char *reason, void *userdata);

/* Room in the outgoing direction: queued bytes were written or an awaited
 * reply came. For an owner that holds messages back while its peer is slow. */
typedef void (*VuDrainFn)(VuEndpoint *ep, void *userdata);

/* How late a deadline may fire: sd-event's default (250 ms) would let a
 * 1 s deadline refuse a lookup after up to 1.25 s. */
#define VU_DEADLINE_ACCURACY_USEC 1000u

/* The outgoing queue's limits when VuEndpointOps leaves them 0. */
#define VU_ENDPOINT_MAX_QUEUED_MESSAGES 65536u
#define VU_ENDPOINT_MAX_QUEUED_BYTES (4u * 1024 * 1024)

typedef struct {
        VuChannel channel;      /* id space of the requests on this socket */
        bool receives_requests; /* true: we answer; false: we send and await replies */
        VuRequestFn on_request;
        VuFailFn on_fail;
        void *userdata;
        /* 0: a missed reply deadline breaks the endpoint. Otherwise the
         * request fails with -ETIMEDOUT but the endpoint stays up for this
         * much longer waiting for the late reply, which is then dropped
         * (replies come in request order, so it is known); only a reply
         * still missing after that breaks it. For peers that are slow but
         * sound, e.g. QEMU blocking on another back-end. */
        uint64_t late_reply_grace_usec;
        /* With a grace: this many requests in a row that failed at their
         * deadline break the endpoint (a reply in time starts the count
         * over; a late one does not). 0: no limit. */
        unsigned max_missed_replies;
        /* A send that would leave more than this many messages, or bytes,
         * unsent breaks the endpoint (-ENOBUFS: the peer is not reading).
         * 0: the defaults above. */
        unsigned max_queued_messages;
        size_t max_queued_bytes;
        VuDrainFn on_drain; /* optional */
} VuEndpointOps;

/* fd taken on success (made non-blocking); on failure it stays the caller's.
 * -EBADF for a negative fd. */
int vu_endpoint_new(sd_event *ev, int fd, const VuEndpointOps *ops, const char *name,
                    VuEndpoint **ret);
/* Fails outstanding replies with -ECONNRESET (callbacks run), drops
 * unanswered slots, closes the socket and every fd it still holds. */
void vu_endpoint_free(VuEndpoint *ep);

/* Stops (or resumes) reading: nothing new arrives until resumed, what was
 * read is still answered. For an owner whose consumers fall behind. */
void vu_endpoint_pause_input(VuEndpoint *ep, bool paused);
/* The deadline timer's accuracy (VU_DEADLINE_ACCURACY_USEC). 0 or -errno. */
int vu_endpoint_deadline_accuracy(const VuEndpoint *ep, uint64_t *ret);

const char *vu_endpoint_name(const VuEndpoint *ep);
int vu_endpoint_fd(const VuEndpoint *ep);

/* Sends a request. With done != NULL a reply is expected within timeout_usec
 * (monotonic); m's fds are taken. Returns 0, -ECONNRESET when the endpoint
 * already broke, or another -errno (-ENOBUFS over the queue's limits): the
 * send broke it, and on_fail has run by the time this returns (the owner
 * may have freed ep). Replies are matched in O(1) (they come in request
 * order) and deadlines kept sorted, so many outstanding requests cost no
 * scan per request. */
int vu_endpoint_request(VuEndpoint *ep, VuMessage *m, uint64_t timeout_usec, VuReplyFn done,
                        void *userdata);

/* Changes late_reply_grace_usec and max_missed_replies from now on, e.g.
 * once a handshake whose deadlines must break the endpoint is over. */
void vu_endpoint_set_late_replies(VuEndpoint *ep, uint64_t grace_usec, unsigned max_missed);

/* Answers a request: reply's fds are taken. Queued until earlier requests
 * are answered. */
void vu_endpoint_complete(VuEndpoint *ep, VuReplySlot *slot, VuMessage *reply);
/* Shorthand: u64 reply to the slot's request. */
void vu_endpoint_complete_u64(VuEndpoint *ep, VuReplySlot *slot, uint64_t value);
/* The request the slot answers (header only is kept). */
uint32_t vu_reply_slot_request(const VuReplySlot *slot);

/* Replies still awaited (sent requests) and slots still unanswered. */
unsigned vu_endpoint_pending(const VuEndpoint *ep);
/* Messages not yet written plus replies still awaited: what a peer that
 * stopped reading holds up. */
unsigned vu_endpoint_in_flight(const VuEndpoint *ep);
/* The limits in force (ops, or the defaults). */
unsigned vu_endpoint_max_queued_messages(const VuEndpoint *ep);

/* A restart: no message is read after the one partly read now (if any);
 * the rest stays in the socket for the next process. Writing goes on. */
void vu_endpoint_stop_reading(VuEndpoint *ep);
/* A message is partly read: the socket cannot change hands now. */
bool vu_endpoint_receiving(const VuEndpoint *ep);
