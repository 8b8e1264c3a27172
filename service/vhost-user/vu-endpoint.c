/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vu-endpoint.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ratelimit.h"

/* Messages handled per wake-up before yielding to other sources, so one busy
 * peer cannot starve the rest. */
#define DISPATCH_BUDGET 64

/* Requests read and not yet answered plus replies not yet sent. Past this
 * an endpoint that receives requests stops reading until its peer takes
 * its replies: a peer that asks without ever reading (each LOOKUP reply may
 * hold an fd) costs a bounded amount of memory and fds, not one per
 * request. */
#define BACKLOG_MAX 64

typedef struct {
        GList link; /* in VuEndpoint.pending; data points back here */
        GSequenceIter *by_deadline;
        uint64_t seq; /* order of sending, among equal deadlines */
        uint32_t request;
        uint64_t deadline;
        VuReplyFn done;
        void *userdata;
        bool expired; /* its requester was told -ETIMEDOUT; the reply is dropped */
} PendingReply;

struct VuReplySlot {
        uint32_t request;
        bool completed;
        VuMessage *reply; /* NULL: completed without a reply */
};

struct VuEndpoint {
        VuEndpointOps ops;
        char *name;
        VuConnection *conn;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer;
        GQueue pending;         /* PendingReply*, oldest first: replies match the head */
        GSequence *by_deadline; /* the same, earliest deadline first: the timer's */
        uint64_t next_seq;
        unsigned missed_in_a_row; /* requests failed at their deadline since a reply in time */
        GQueue slots;             /* VuReplySlot*, oldest first */
        unsigned dispatching;
        bool dead;
        bool failed;
        bool input_paused; /* vu_endpoint_pause_input() */
        bool stop_reading; /* a restart: no new message once this one is read */
        VuMessage scratch; /* the message being read */
};

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int pending_compare(gconstpointer a, gconstpointer b, gpointer userdata)
{
        const PendingReply *x = a, *y = b;

        if (x->deadline != y->deadline)
                return x->deadline < y->deadline ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* (Re)sorts p under its new deadline. */
static void pending_set_deadline(VuEndpoint *ep, PendingReply *p, uint64_t deadline)
{
        if (p->by_deadline)
                g_sequence_remove(p->by_deadline);
        p->deadline = deadline;
        p->by_deadline = g_sequence_insert_sorted(ep->by_deadline, p, pending_compare, NULL);
}

static PendingReply *pending_earliest(const VuEndpoint *ep)
{
        GSequenceIter *i = g_sequence_get_begin_iter(ep->by_deadline);

        return g_sequence_iter_is_end(i) ? NULL : g_sequence_get(i);
}

/* Unlinks p from both orders; the caller frees it. */
static void pending_unlink(VuEndpoint *ep, PendingReply *p)
{
        g_queue_unlink(&ep->pending, &p->link);
        g_sequence_remove(p->by_deadline);
        p->by_deadline = NULL;
}

static void endpoint_destroy(VuEndpoint *ep)
{
        g_sequence_free(ep->by_deadline);
        vu_conn_free(ep->conn);
        g_free(ep->name);
        g_free(ep);
}

static void slot_free(VuReplySlot *slot)
{
        if (slot->reply) {
                vu_message_close_fds(slot->reply);
                g_free(slot->reply);
        }
        g_free(slot);
}

static void endpoint_teardown(VuEndpoint *ep)
{
        PendingReply *p;
        VuReplySlot *slot;

        ep->io = sd_event_source_disable_unref(ep->io);
        ep->timer = sd_event_source_disable_unref(ep->timer);
        while ((p = g_queue_peek_head(&ep->pending))) {
                pending_unlink(ep, p);
                if (p->done && !p->expired)
                        p->done(ep, NULL, -ECONNRESET, p->userdata);
                g_free(p);
        }
        while ((slot = g_queue_pop_head(&ep->slots)))
                slot_free(slot);
}

void vu_endpoint_free(VuEndpoint *ep)
{
        if (!ep || ep->dead)
                return;
        ep->dead = true;
        ep->dispatching++;
        endpoint_teardown(ep);
        ep->dispatching--;
        if (ep->dispatching == 0)
                endpoint_destroy(ep);
}

/* Called after every callback: returns true when the endpoint went away. */
static bool endpoint_leave(VuEndpoint *ep)
{
        ep->dispatching--;
        if (ep->dead) {
                if (ep->dispatching == 0)
                        endpoint_destroy(ep);
                return true;
        }
        return false;
}

static void endpoint_fail(VuEndpoint *ep, int error, const char *reason)
{
        char buf[200];

        if (ep->failed || ep->dead)
                return;
        ep->failed = true;
        ep->io = sd_event_source_disable_unref(ep->io);
        ep->timer = sd_event_source_disable_unref(ep->timer);
        if (!ep->ops.on_fail)
                return;
        /* The main socket speaks for the connection; the back-end channel names itself. */
        if (ep->ops.channel == VU_CHANNEL_BACKEND) {
                snprintf(buf, sizeof(buf), "back-end channel: %s", reason);
                reason = buf;
        }
        ep->ops.on_fail(ep, error, reason, ep->ops.userdata);
}

static bool endpoint_throttled(const VuEndpoint *ep)
{
        return ep->input_paused ||
               (ep->ops.receives_requests &&
                ep->slots.length + vu_conn_queued_messages(ep->conn) >= BACKLOG_MAX);
}

/* Stopped reading, and no message is partly read. */
static bool endpoint_paused(const VuEndpoint *ep)
{
        return ep->stop_reading && !vu_conn_receiving(ep->conn);
}

static int endpoint_update_io(VuEndpoint *ep)
{
        /* Once the loop has finished (the service is being torn down) sd-event
         * refuses changes with -ESTALE; what the socket took is sent, and
         * nothing will be watched again. Not a send failure. */
        if (!ep->io || sd_event_get_state(ep->event) == SD_EVENT_FINISHED)
                return 0;
        return sd_event_source_set_io_events(
            ep->io, (endpoint_throttled(ep) || endpoint_paused(ep) ? 0 : EPOLLIN) |
                        (vu_conn_want_write(ep->conn) ? EPOLLOUT : 0));
}

/* Watches the socket for what it needs now; failing that breaks the endpoint. */
static void endpoint_rewatch(VuEndpoint *ep)
{
        int r = endpoint_update_io(ep);

        if (r < 0)
                endpoint_fail(ep, r, "cannot watch the socket");
}

/* Sets the timer to the earliest deadline. 0 or -errno. */
static int endpoint_arm_timer(VuEndpoint *ep)
{
        PendingReply *earliest = pending_earliest(ep);
        int r;

        /* As in endpoint_update_io(): after the loop nothing fires anyway. */
        if (!ep->timer || sd_event_get_state(ep->event) == SD_EVENT_FINISHED)
                return 0;
        if (!earliest)
                return sd_event_source_set_enabled(ep->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(ep->timer, earliest->deadline);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(ep->timer, SD_EVENT_ONESHOT);
}

static unsigned max_queued_messages(const VuEndpoint *ep)
{
        return ep->ops.max_queued_messages ? ep->ops.max_queued_messages
                                           : VU_ENDPOINT_MAX_QUEUED_MESSAGES;
}

static size_t max_queued_bytes(const VuEndpoint *ep)
{
        return ep->ops.max_queued_bytes ? ep->ops.max_queued_bytes : VU_ENDPOINT_MAX_QUEUED_BYTES;
}

/* Queues m (its fds taken) within the limits: -ENOBUFS over them. */
static int endpoint_send(VuEndpoint *ep, VuMessage *m)
{
        int r;

        if (vu_conn_queued_messages(ep->conn) >= max_queued_messages(ep) ||
            vu_conn_queued(ep->conn) + VU_HEADER_SIZE + m->hdr.size > max_queued_bytes(ep)) {
                vu_message_close_fds(m);
                return -ENOBUFS;
        }
        r = vu_conn_send(ep->conn, m);
        if (r < 0) {
                vu_message_close_fds(m);
                return r;
        }
        return endpoint_update_io(ep);
}

/* Breaks the endpoint after endpoint_send() failed with r. */
static void endpoint_fail_send(VuEndpoint *ep, int r, const char *what)
{
        char reason[200];

        if (r == -ENOBUFS)
                snprintf(reason, sizeof(reason),
                         "%s: the outgoing queue is full (%u messages, %zu bytes unsent; "
                         "limits %u, %zu): the peer is not reading",
                         what, vu_conn_queued_messages(ep->conn), vu_conn_queued(ep->conn),
                         max_queued_messages(ep), max_queued_bytes(ep));
        else
                snprintf(reason, sizeof(reason), "%s failed", what);
        endpoint_fail(ep, r, reason);
}

/* Sends the answered slots at the head of the queue, in request order. */
static void endpoint_flush_slots(VuEndpoint *ep)
{
        VuReplySlot *slot;

        while ((slot = g_queue_peek_head(&ep->slots)) && slot->completed) {
                g_queue_pop_head(&ep->slots);
                if (slot->reply) {
                        int r = endpoint_send(ep, slot->reply);
                        if (r < 0) {
                                slot_free(slot);
                                endpoint_fail_send(ep, r, "sending a reply");
                                return;
                        }
                }
                slot_free(slot);
        }
}

static void endpoint_handle_reply(VuEndpoint *ep, VuMessage *m)
{
        PendingReply *p = g_queue_peek_head(&ep->pending);
        char reason[128];
        int r;

        if (!p) {
                vu_message_close_fds(m);
                snprintf(reason, sizeof(reason), "unexpected reply %s: no request outstanding",
                         vu_request_name(ep->ops.channel, m->hdr.request));
                endpoint_fail(ep, -EPROTO, reason);
                return;
        }
        if (p->request != m->hdr.request) {
                vu_message_close_fds(m);
                snprintf(reason, sizeof(reason), "reply %s does not answer the request %s",
                         vu_request_name(ep->ops.channel, m->hdr.request),
                         vu_request_name(ep->ops.channel, p->request));
                /* It stays pending, failed with the endpoint at teardown. */
                endpoint_fail(ep, -EPROTO, reason);
                return;
        }
        pending_unlink(ep, p);
        r = endpoint_arm_timer(ep);
        if (r < 0) {
                vu_message_close_fds(m);
                /* Back at the head, for the teardown to fail it. */
                g_queue_push_head_link(&ep->pending, &p->link);
                pending_set_deadline(ep, p, p->deadline);
                endpoint_fail(ep, r, "cannot arm the reply deadline");
                return;
        }
        if (p->expired) {
                log_info_ratelimited("%s: late reply to %s dropped", ep->name,
                                     vu_request_name(ep->ops.channel, p->request));
        } else {
                ep->missed_in_a_row = 0;
                if (p->done)
                        p->done(ep, m, 0, p->userdata);
        }
        vu_message_close_fds(m);
        g_free(p);
}

static void endpoint_handle_request(VuEndpoint *ep, VuMessage *m)
{
        VuReplySlot *slot = g_new0(VuReplySlot, 1);

        slot->request = m->hdr.request;
        g_queue_push_tail(&ep->slots, slot);
        ep->ops.on_request(ep, m, slot, ep->ops.userdata);
        if (!ep->failed && !ep->dead)
                endpoint_rewatch(ep);
}

static int endpoint_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        VuEndpoint *ep = userdata;
        unsigned in_flight = vu_endpoint_in_flight(ep);

        ep->dispatching++;
        if (revents & EPOLLOUT) {
                int r = vu_conn_flush(ep->conn);
                if (r < 0)
                        endpoint_fail(ep, r, "write failed");
                else
                        endpoint_rewatch(ep);
                if (ep->failed || ep->dead)
                        return endpoint_leave(ep), 0;
        }
        for (unsigned i = 0; i < DISPATCH_BUDGET && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR));
             i++) {
                VuMessage *m = &ep->scratch;
                VuError verr = VU_OK;
                char reason[160];
                int r;

                if (endpoint_paused(ep)) {
                        endpoint_rewatch(ep);
                        break;
                }
                if (endpoint_throttled(ep)) {
                        /* epoll reports a hang-up even when we do not ask
                         * for input: the replies could not be delivered. */
                        if (revents & (EPOLLHUP | EPOLLERR))
                                endpoint_fail(ep, -EPIPE, "peer hung up");
                        break;
                }

                r = vu_conn_read(ep->conn, ep->ops.channel, !ep->ops.receives_requests, m, &verr);
                if (r == 0)
                        break;
                if (r == -EPIPE) {
                        endpoint_fail(ep, r, "peer hung up");
                        break;
                }
                if (r < 0) {
                        if (r == -EPROTO)
                                snprintf(reason, sizeof(reason), "malformed message: %s",
                                         vu_error_to_string(verr));
                        else
                                snprintf(reason, sizeof(reason), "read failed: %s", strerror(-r));
                        endpoint_fail(ep, r, reason);
                        break;
                }
                if (vu_conn_last_fds_lost(ep->conn))
                        log_warning("%s: %s arrived without its fds: this process is out of "
                                    "file descriptors",
                                    ep->name, vu_request_name(ep->ops.channel, m->hdr.request));
                verr = vu_message_check(m, ep->ops.channel, !ep->ops.receives_requests);
                if (verr != VU_OK) {
                        snprintf(reason, sizeof(reason), "malformed %s: %s",
                                 vu_request_name(ep->ops.channel, m->hdr.request),
                                 vu_error_to_string(verr));
                        vu_message_close_fds(m);
                        endpoint_fail(ep, -EPROTO, reason);
                        break;
                }
                if (ep->ops.receives_requests)
                        endpoint_handle_request(ep, m);
                else
                        endpoint_handle_reply(ep, m);
                if (ep->failed || ep->dead)
                        break;
        }
        if (!ep->failed && !ep->dead && ep->ops.on_drain && vu_endpoint_in_flight(ep) < in_flight)
                ep->ops.on_drain(ep, ep->ops.userdata);
        endpoint_leave(ep);
        return 0;
}

static int endpoint_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        VuEndpoint *ep = userdata;
        PendingReply *p;
        char reason[128];
        uint64_t now = now_usec();
        int r;

        ep->dispatching++;
        p = pending_earliest(ep);
        if (p && p->deadline <= now && !p->expired && ep->ops.late_reply_grace_usec > 0) {
                /* Replies come in request order, so a late one is still
                 * recognised: fail the request, keep the endpoint. */
                VuReplyFn done = p->done;
                void *done_userdata = p->userdata;

                p->expired = true;
                p->done = NULL;
                pending_set_deadline(ep, p, now + ep->ops.late_reply_grace_usec);
                ep->missed_in_a_row++;
                log_warning_ratelimited("%s: no reply to %s in time; the request failed, a late "
                                        "reply will be dropped",
                                        ep->name, vu_request_name(ep->ops.channel, p->request));
                r = endpoint_arm_timer(ep);
                if (done)
                        done(ep, NULL, -ETIMEDOUT, done_userdata);
                if (r < 0 && !ep->dead)
                        endpoint_fail(ep, r, "cannot arm the reply deadline");
                else if (ep->ops.max_missed_replies > 0 &&
                         ep->missed_in_a_row >= ep->ops.max_missed_replies && !ep->dead) {
                        snprintf(reason, sizeof(reason), "no reply in time to %u requests in a row",
                                 ep->missed_in_a_row);
                        endpoint_fail(ep, -ETIMEDOUT, reason);
                }
        } else if (p && p->deadline <= now) {
                /* No reply even after the grace (or none allowed): nothing
                 * after it could be matched any more. */
                pending_unlink(ep, p);
                snprintf(reason, sizeof(reason),
                         p->expired ? "no reply to %s even after the grace for late replies"
                                    : "no reply to %s in time",
                         vu_request_name(ep->ops.channel, p->request));
                if (p->done)
                        p->done(ep, NULL, -ETIMEDOUT, p->userdata);
                g_free(p);
                if (!ep->dead)
                        endpoint_fail(ep, -ETIMEDOUT, reason);
        } else {
                r = endpoint_arm_timer(ep);
                if (r < 0)
                        endpoint_fail(ep, r, "cannot arm the reply deadline");
        }
        endpoint_leave(ep);
        return 0;
}

int vu_endpoint_new(sd_event *ev, int fd, const VuEndpointOps *ops, const char *name,
                    VuEndpoint **ret)
{
        VuEndpoint *ep;
        int r;

        if (fd < 0)
                return -EBADF;
        ep = g_new0(VuEndpoint, 1);
        ep->ops = *ops;
        ep->name = g_strdup(name);
        ep->event = ev;
        ep->by_deadline = g_sequence_new(NULL);
        r = sd_event_add_io(ev, &ep->io, fd, EPOLLIN, endpoint_on_io, ep);
        if (r >= 0)
                r = sd_event_add_time(ev, &ep->timer, CLOCK_MONOTONIC, UINT64_MAX,
                                      VU_DEADLINE_ACCURACY_USEC, endpoint_on_timer, ep);
        if (r >= 0)
                r = sd_event_source_set_enabled(ep->timer, SD_EVENT_OFF);
        if (r < 0) {
                /* No connection yet: the fd stays the caller's. */
                vu_endpoint_free(ep);
                return r;
        }
        ep->conn = vu_conn_new(fd);
        *ret = ep;
        return 0;
}

void vu_endpoint_pause_input(VuEndpoint *ep, bool paused)
{
        ep->input_paused = paused;
        endpoint_rewatch(ep);
}

int vu_endpoint_deadline_accuracy(const VuEndpoint *ep, uint64_t *ret)
{
        return sd_event_source_get_time_accuracy(ep->timer, ret);
}

const char *vu_endpoint_name(const VuEndpoint *ep)
{
        return ep->name;
}

int vu_endpoint_fd(const VuEndpoint *ep)
{
        return vu_conn_fd(ep->conn);
}

int vu_endpoint_request(VuEndpoint *ep, VuMessage *m, uint64_t timeout_usec, VuReplyFn done,
                        void *userdata)
{
        uint32_t request = m->hdr.request;
        int r;

        if (ep->failed || ep->dead) {
                vu_message_close_fds(m);
                return -ECONNRESET;
        }
        r = endpoint_send(ep, m);
        if (r < 0) {
                endpoint_fail_send(ep, r, "sending a request");
                return r;
        }
        if (done) {
                PendingReply *p = g_new0(PendingReply, 1);
                p->link.data = p;
                p->seq = ep->next_seq++;
                p->request = request;
                p->done = done;
                p->userdata = userdata;
                g_queue_push_tail_link(&ep->pending, &p->link);
                pending_set_deadline(ep, p, now_usec() + timeout_usec);
                r = endpoint_arm_timer(ep);
                if (r < 0) {
                        /* Reported by the return value, not through done. */
                        pending_unlink(ep, p);
                        g_free(p);
                        endpoint_fail(ep, r, "cannot arm the reply deadline");
                        return r;
                }
        }
        return 0;
}

void vu_endpoint_set_late_replies(VuEndpoint *ep, uint64_t grace_usec, unsigned max_missed)
{
        ep->ops.late_reply_grace_usec = grace_usec;
        ep->ops.max_missed_replies = max_missed;
}

void vu_endpoint_complete(VuEndpoint *ep, VuReplySlot *slot, VuMessage *reply)
{
        g_return_if_fail(!slot->completed);
        slot->completed = true;
        if (reply) {
                slot->reply = g_new(VuMessage, 1);
                memcpy(&slot->reply->hdr, &reply->hdr, sizeof(reply->hdr));
                memcpy(slot->reply->payload.bytes, reply->payload.bytes, reply->hdr.size);
                memcpy(slot->reply->fds, reply->fds, sizeof(reply->fds));
                slot->reply->n_fds = reply->n_fds;
                for (unsigned i = 0; i < VU_MAX_FDS; i++)
                        reply->fds[i] = -1;
                reply->n_fds = 0;
        }
        if (ep->failed || ep->dead)
                return;
        /* A failed send ends in the owner freeing ep: keep it until we are
         * done with it. */
        ep->dispatching++;
        endpoint_flush_slots(ep);
        if (!ep->failed && !ep->dead)
                endpoint_rewatch(ep);
        endpoint_leave(ep);
}

void vu_endpoint_complete_u64(VuEndpoint *ep, VuReplySlot *slot, uint64_t value)
{
        VuMessage reply;

        vu_message_init(&reply, slot->request, VU_FLAG_REPLY, sizeof(uint64_t));
        reply.payload.u64 = value;
        vu_endpoint_complete(ep, slot, &reply);
}

uint32_t vu_reply_slot_request(const VuReplySlot *slot)
{
        return slot->request;
}

unsigned vu_endpoint_pending(const VuEndpoint *ep)
{
        return ep->pending.length + ep->slots.length;
}

unsigned vu_endpoint_in_flight(const VuEndpoint *ep)
{
        return (ep->conn ? vu_conn_queued_messages(ep->conn) : 0) + ep->pending.length;
}

unsigned vu_endpoint_max_queued_messages(const VuEndpoint *ep)
{
        return max_queued_messages(ep);
}

void vu_endpoint_stop_reading(VuEndpoint *ep)
{
        ep->stop_reading = true;
        endpoint_rewatch(ep);
}

bool vu_endpoint_receiving(const VuEndpoint *ep)
{
        return vu_conn_receiving(ep->conn);
}
