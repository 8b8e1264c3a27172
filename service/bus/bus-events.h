/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The signals about the table leave after the answer that caused them: a
 * table observer only queues an event (bus-object.c, bus-lookup-events.c),
 * and the queue is sent, in order, BUS_EVENTS_GATHER_USEC after its first
 * event (at once when BUS_EVENTS_WQUEUE_MAX are waiting), so requests that
 * arrive meanwhile are served first and the bus daemon wakes once per
 * batch; a method call that arrives meanwhile is answered after them
 * (unless the bus is far behind). The queue also keeps sd-bus's write
 * queue short, so that no signal is ever dropped for want of room: past
 * BUS_EVENTS_HIGH_WATER messages unwritten the service stops reading
 * back-ends' requests (service_pause_input()) and holds the D-Bus calls
 * that change the table, and resumes once the bus has taken the queue down
 * to BUS_EVENTS_LOW_WATER. The slowest part slows the producers instead of
 * losing what they caused. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-manager.h"

#define BUS_EVENTS_HIGH_WATER 16384u
#define BUS_EVENTS_LOW_WATER 4096u
/* At most this many messages are handed to sd-bus at a time; the rest wait
 * in the queue here (bus-events.c says why). */
#define BUS_EVENTS_WQUEUE_MAX 64u
/* A method call arriving with at most this many events waiting is
 * answered after them (bus-events.c). */
#define BUS_EVENTS_BARRIER_MAX 1024u
/* How long events are gathered before they are sent (bus_events_push()). */
#define BUS_EVENTS_GATHER_USEC 200u

typedef struct BusEvent BusEvent;

typedef struct {
        /* Sends the event's signals. 0 or -errno. */
        int (*emit)(BusManager *m, const BusEvent *ev);
        /* Optional: frees what the event holds besides its own memory. */
        void (*clear)(BusEvent *ev);
} BusEventType;

/* The head of every queued event (an event type's struct starts with it);
 * the queue frees it with g_free(). */
struct BusEvent {
        const BusEventType *type;
};

typedef struct BusEvents BusEvents;

int bus_events_new(BusManager *m, BusEvents **ret);
/* Drops what was not sent (the service is going). NULL-safe. */
void bus_events_free(BusEvents *q);

/* Queues ev (taken) behind the events before it; it is sent from the loop.
 * 0, or -errno when the sending could not be scheduled (ev stays queued and
 * goes with the next one). */
int bus_events_push(BusEvents *q, BusEvent *ev);
/* Sends every queued event now, whatever the bus holds: before a signal
 * that is sent at once and must come after them. */
void bus_events_flush(BusEvents *q);

/* Keeps the queued events (and those to come) until released: while a
 * GetManagedObjects reply is being built, what changes meanwhile is told
 * after it (bus-managed-objects.c). They still count towards the
 * high-water mark. Nested: the last release sends them. */
void bus_events_hold(BusEvents *q);
void bus_events_release(BusEvents *q);

/* For a method that changes the table: while input is paused, keeps msg and
 * calls handler(msg, userdata, error) again once it resumes, answering an
 * error the way sd-bus would. Returns 1 when msg was held (the caller
 * returns that: the answer comes later), 0 when the call may go on. */
int bus_events_hold_call(BusEvents *q, sd_bus_message *msg, sd_bus_message_handler_t handler,
                         void *userdata);

typedef struct {
        unsigned queue_high_water; /* most messages waiting at once: queued here and in sd-bus */
        uint64_t pauses;           /* times input was paused */
        uint64_t paused_usec;      /* time spent paused, a pause in progress included */
        unsigned held_calls;       /* D-Bus calls held right now */
} BusEventsStats;

void bus_events_stats(const BusEvents *q, BusEventsStats *ret);
