/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-events.h"

#include <assert.h>
#include <inttypes.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "ratelimit.h"

/* A D-Bus call held while input is paused. */
typedef struct {
        sd_bus_message *msg;
        sd_bus_message_handler_t handler;
        void *userdata;
} HeldCall;

struct BusEvents {
        BusManager *manager;
        GQueue events;           /* BusEvent*, oldest first */
        sd_event_source *send;   /* defer: sends the queue */
        sd_event_source *gather; /* timer: sends the queue BUS_EVENTS_GATHER_USEC after its first */
        sd_event_source *recheck; /* post, on while paused: has the bus caught up? */
        sd_event_source *rerun;   /* defer: the held calls, once resumed */
        sd_bus_slot *filter;      /* sends the queue before any call is answered */
        GQueue held;              /* HeldCall*, oldest first */
        unsigned holds;           /* bus_events_hold() */
        bool paused;
        uint64_t paused_since; /* CLOCK_MONOTONIC µs */
        BusEventsStats stats;
};

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void bus_event_free(BusEvent *ev)
{
        if (ev->type->clear)
                ev->type->clear(ev);
        g_free(ev);
}

/* Messages sd-bus has not written yet, noted in the high-water mark with
 * those still queued here. */
static uint64_t queued_write(BusEvents *q)
{
        uint64_t n = 0;

        /* Fails only for a closed connection: nothing waits in it then. */
        (void) sd_bus_get_n_queued_write(q->manager->bus, &n);
        q->stats.queue_high_water =
            MAX(q->stats.queue_high_water, (unsigned) MIN(n + q->events.length, UINT_MAX));
        return n;
}

/* From the loop, not from whatever resumed (a peer's callback may have). */
static int on_rerun(sd_event_source *s, void *userdata)
{
        BusEvents *q = userdata;
        GQueue calls = q->held;
        HeldCall *c;
        int r;

        g_queue_init(&q->held);
        while ((c = g_queue_pop_head(&calls))) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (q->paused) {
                        /* Paused again meanwhile: the rest wait, in order. */
                        g_queue_push_tail(&q->held, c);
                        continue;
                }
                r = sd_bus_message_rewind(c->msg, true);
                if (r >= 0)
                        r = c->handler(c->msg, c->userdata, &error);
                if (r < 0)
                        r = sd_bus_reply_method_errno(c->msg, r, &error);
                if (r < 0)
                        log_debug_errno(r, "Cannot answer a held call of %s: %m",
                                        sd_bus_message_get_sender(c->msg));
                sd_bus_message_unref(c->msg);
                g_free(c);
        }
        return 0;
}

/* The recheck runs while something waits for the bus: events here that
 * did not fit into sd-bus's queue (and are not held), or paused input. */
static void update_recheck(BusEvents *q)
{
        bool on = q->paused || (q->holds == 0 && !g_queue_is_empty(&q->events));
        int r;

        r = sd_event_source_set_enabled(q->recheck, on ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r < 0 && on)
                /* Then with the next event queued, or the next release. */
                log_error_errno(r, "Failed to watch the bus queue: %m");
}

static void set_paused(BusEvents *q, bool paused)
{
        uint64_t now = now_usec();
        int r;

        if (q->paused == paused)
                return;
        /* Without the recheck nothing would ever resume: then no pause. */
        r = paused ? sd_event_source_set_enabled(q->recheck, SD_EVENT_ON) : 0;
        if (r < 0) {
                log_error_errno(r, "Failed to watch the bus queue; not pausing the back-ends: %m");
                return;
        }
        q->paused = paused;
        if (paused) {
                q->paused_since = now;
                q->stats.pauses++;
                log_info_ratelimited("The bus is %" PRIu64 " messages behind: pausing the "
                                     "back-ends' requests until it catches up",
                                     queued_write(q) + q->events.length);
        } else
                q->stats.paused_usec += now - q->paused_since;
        service_pause_input(q->manager->service, paused);
        if (!paused && !g_queue_is_empty(&q->held)) {
                r = sd_event_source_set_enabled(q->rerun, SD_EVENT_ONESHOT);
                if (r < 0)
                        /* They go with the next resume, or unanswered at exit. */
                        log_error_errno(r, "Failed to schedule the held D-Bus calls: %m");
        }
}

/* Sends queued events while sd-bus holds fewer than BUS_EVENTS_WQUEUE_MAX
 * and nothing holds them back (all: every one, whatever sd-bus holds), then
 * pauses or resumes the producers. The rest stay here, where taking the
 * oldest costs nothing: sd-bus's write queue is an array it shifts down by
 * one for every message written, so a queue of thousands there costs
 * thousands of pointer moves per message. */
static void send_events(BusEvents *q, bool all)
{
        uint64_t n = queued_write(q);
        BusEvent *ev;
        int r;

        if (all || q->holds == 0)
                while ((all || n < BUS_EVENTS_WQUEUE_MAX) && (ev = g_queue_pop_head(&q->events))) {
                        r = ev->type->emit(q->manager, ev);
                        if (r < 0)
                                /* The connection is gone (the service exits) or
                                 * sd-bus refused the message: said, never silent. */
                                log_error_errno(r, "Failed to send a table event on the bus: %m");
                        bus_event_free(ev);
                        n = queued_write(q);
                }
        if (n + q->events.length >= BUS_EVENTS_HIGH_WATER)
                set_paused(q, true);
        else if (n + q->events.length <= BUS_EVENTS_LOW_WATER)
                set_paused(q, false);
        update_recheck(q);
}

static int on_send(sd_event_source *s, void *userdata)
{
        send_events(userdata, false);
        return 0;
}

/* After each event the loop dispatches while events wait here for room in
 * sd-bus's queue or input is paused: most of those events are the bus
 * writing what it holds. */
static int on_recheck(sd_event_source *s, void *userdata)
{
        BusEvents *q = userdata;

        if (queued_write(q) < BUS_EVENTS_WQUEUE_MAX)
                send_events(q, false);
        return 0;
}

static int on_gather(sd_event_source *s, uint64_t usec, void *userdata)
{
        send_events(userdata, false);
        return 0;
}

/* Events are gathered for a moment before they are sent: a back-end
 * waiting for its answers sends its next request meanwhile, and serving it
 * comes first; a batch then costs the bus daemon one wake-up, not one per
 * message. A full batch goes at once. */
int bus_events_push(BusEvents *q, BusEvent *ev)
{
        int enabled = 0, r;

        g_queue_push_tail(&q->events, ev);
        if (q->events.length >= BUS_EVENTS_WQUEUE_MAX)
                return sd_event_source_set_enabled(q->send, SD_EVENT_ONESHOT);
        r = sd_event_source_get_enabled(q->gather, &enabled);
        if (r < 0 || enabled)
                return r;
        r = sd_event_source_set_time_relative(q->gather, BUS_EVENTS_GATHER_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(q->gather, SD_EVENT_ONESHOT);
}

void bus_events_hold(BusEvents *q)
{
        q->holds++;
}

void bus_events_release(BusEvents *q)
{
        int r;

        assert(q->holds > 0);
        if (--q->holds > 0)
                return;
        r = sd_event_source_set_enabled(q->send, SD_EVENT_ONESHOT);
        if (r < 0)
                /* Then with the next event, or the next flush. */
                log_error_errno(r, "Failed to schedule the held table events: %m");
}

void bus_events_flush(BusEvents *q)
{
        send_events(q, true);
}

/* Gathered events go before the answer to any call that comes after them,
 * so a call is a barrier: a client that Pings after a back-end's ack has
 * heard of the change when the answer arrives. Not while the bus is far
 * behind (more than BUS_EVENTS_BARRIER_MAX waiting here): handing sd-bus
 * thousands at once would cost a pointer move per message queued for
 * every message written; the answer then comes while some of them still
 * wait. Events held for a reply being built stay held. */
static int on_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusEvents *q = userdata;

        if (q->holds == 0 && !g_queue_is_empty(&q->events) &&
            q->events.length <= BUS_EVENTS_BARRIER_MAX &&
            sd_bus_message_is_method_call(msg, NULL, NULL))
                send_events(q, true);
        return 0; /* sd-bus dispatches it */
}

int bus_events_hold_call(BusEvents *q, sd_bus_message *msg, sd_bus_message_handler_t handler,
                         void *userdata)
{
        HeldCall *c;

        if (!q->paused)
                return 0;
        c = g_new(HeldCall, 1);
        *c = (HeldCall){.msg = sd_bus_message_ref(msg), .handler = handler, .userdata = userdata};
        g_queue_push_tail(&q->held, c);
        return 1;
}

void bus_events_stats(const BusEvents *q, BusEventsStats *ret)
{
        *ret = q->stats;
        ret->held_calls = q->held.length;
        if (q->paused)
                ret->paused_usec += now_usec() - q->paused_since;
}

void bus_events_free(BusEvents *q)
{
        BusEvent *ev;
        HeldCall *c;

        if (!q)
                return;
        while ((ev = g_queue_pop_head(&q->events)))
                bus_event_free(ev);
        while ((c = g_queue_pop_head(&q->held))) {
                sd_bus_message_unref(c->msg);
                g_free(c);
        }
        q->send = sd_event_source_disable_unref(q->send);
        q->gather = sd_event_source_disable_unref(q->gather);
        q->recheck = sd_event_source_disable_unref(q->recheck);
        q->rerun = sd_event_source_disable_unref(q->rerun);
        q->filter = sd_bus_slot_unref(q->filter);
        g_free(q);
}

static void bus_events_freep(BusEvents **q)
{
        bus_events_free(*q);
}

int bus_events_new(BusManager *m, BusEvents **ret)
{
        _cleanup_(bus_events_freep) BusEvents *q = g_new0(BusEvents, 1);
        sd_event *ev = service_event(m->service);
        int r;

        q->manager = m;
        g_queue_init(&q->events);
        g_queue_init(&q->held);
        /* Off until an event is queued: bus_events_push(). */
        r = sd_event_add_defer(ev, &q->send, on_send, q);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(q->send, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(ev, &q->gather, CLOCK_MONOTONIC, BUS_EVENTS_GATHER_USEC, 1,
                                       on_gather, q);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(q->gather, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_post(ev, &q->recheck, on_recheck, q);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(q->recheck, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_bus_add_filter(m->bus, &q->filter, on_message, q);
        if (r < 0)
                return r;
        r = sd_event_add_defer(ev, &q->rerun, on_rerun, q);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(q->rerun, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&q);
        return 0;
}
