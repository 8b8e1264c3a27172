/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-table-reply.h"

#include <string.h>

#include "bus-events.h"
#include "bus-object.h"
#include "bus-subtree.h"
#include "cleanup.h"
#include "log.h"
#include "ratelimit.h" /* ratelimit_now_usec(): the monotonic clock */

/* A chunk is about 2 ms of the loop, whatever an object costs (3 µs in a
 * GetManagedObjects, 0.2 µs in a ListObjects); the clock is read every 64
 * objects. */
#define CHUNK_USEC 2000u
#define CHUNK_CLOCK_EVERY 64u

struct BusTableReply {
        BusManager *manager;
        sd_bus_slot *filter;
        GList *builds; /* Build*: replies being built */
};

/* One reply being built. */
typedef struct {
        BusTableReply *owner;
        sd_bus_message *call;
        sd_bus_message *reply; /* its array open */
        BusTableAppendFn append;
        ShareTableWalk *walk; /* the table as it was when the call came */
        BusObjectViews views;
        sd_event_source *chunk; /* a timer, expired whenever armed (arm_chunk()) */
} Build;

static void build_free(Build *b)
{
        b->owner->builds = g_list_remove(b->owner->builds, b);
        bus_events_release(b->owner->manager->events);
        b->chunk = sd_event_source_disable_unref(b->chunk);
        sd_bus_message_unref(b->reply);
        sd_bus_message_unref(b->call);
        share_table_walk_free(b->walk);
        g_free(b);
}

static void build_fail(Build *b, int r)
{
        log_warning_errno(r, "Failed to answer %s of %s: %m", sd_bus_message_get_member(b->call),
                          sd_bus_message_get_sender(b->call));
        r = sd_bus_reply_method_errno(b->call, r, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot answer %s: %m", sd_bus_message_get_sender(b->call));
        build_free(b);
}

static int arm_chunk(Build *b);

/* 1 when the table is done, 0 when more is left, or -errno. An entry gone
 * meanwhile is not visited: its Removed is held for after the reply. */
static int append_chunk(Build *b)
{
        uint64_t end = ratelimit_now_usec() + CHUNK_USEC;
        int r;

        bus_object_views_reset(&b->views);
        for (unsigned n = 1;; n++) {
                const ShareEntry *e = share_table_walk_next(b->walk);

                if (!e)
                        return 1;
                r = b->append(b->reply, e, &b->views);
                if (r < 0)
                        return r;
                if (n % CHUNK_CLOCK_EVERY == 0 && ratelimit_now_usec() >= end)
                        return 0;
        }
}

static int on_chunk(sd_event_source *s, uint64_t usec, void *userdata)
{
        Build *b = userdata;
        int r;

        r = append_chunk(b);
        if (r < 0) {
                build_fail(b, r);
                return 0;
        }
        if (r == 0) {
                r = arm_chunk(b);
                if (r < 0)
                        build_fail(b, r);
                return 0;
        }
        r = sd_bus_message_close_container(b->reply);
        if (r >= 0)
                r = sd_bus_send(NULL, b->reply, NULL);
        if (r < 0) {
                build_fail(b, r);
                return 0;
        }
        build_free(b);
        return 0;
}

/* The next chunk, after whatever became due meanwhile. A timer that has
 * expired rather than a defer source: sd-event polls for I/O only when
 * nothing is pending, so chunks from a defer source would run back to back
 * while back-ends wait; an expired timer is noticed in the same poll as
 * their requests. */
static int arm_chunk(Build *b)
{
        int r;

        if (!b->chunk)
                return sd_event_add_time_relative(service_event(b->owner->manager->service),
                                                  &b->chunk, CLOCK_MONOTONIC, 0, 1, on_chunk, b);
        r = sd_event_source_set_time_relative(b->chunk, 0);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(b->chunk, SD_EVENT_ONESHOT);
}

/* The start of a reply, before the table's chunks. */
typedef int (*PrefixFn)(BusManager *m, sd_bus_message *reply);

static void build_start(BusTableReply *tr, sd_bus_message *call, const char *contents,
                        PrefixFn prefix, BusTableAppendFn append)
{
        BusManager *m = tr->manager;
        Build *b = g_new0(Build, 1);
        int r;

        b->owner = tr;
        b->call = sd_bus_message_ref(call);
        b->append = append;
        b->walk = share_table_walk_new(service_table(m->service));
        tr->builds = g_list_prepend(tr->builds, b);
        /* What happened before the call is told before the reply. */
        bus_events_flush(m->events);
        bus_events_hold(m->events);

        r = sd_bus_message_new_method_return(call, &b->reply);
        if (r >= 0)
                r = sd_bus_message_open_container(b->reply, 'a', contents);
        if (r >= 0 && prefix)
                r = prefix(m, b->reply);
        if (r >= 0)
                r = arm_chunk(b);
        if (r < 0)
                build_fail(b, r);
}

void bus_table_reply_start(BusTableReply *tr, sd_bus_message *call, const char *contents,
                           BusTableAppendFn append)
{
        build_start(tr, call, contents, NULL, append);
}

/* GetManagedObjects: the peers, listeners and devices at once (few), then
 * the table. */
static int append_small_collections(BusManager *m, sd_bus_message *reply)
{
        BusSubtree *small[] = {m->peers, m->listeners, m->devices};
        int r;

        for (size_t i = 0; i < G_N_ELEMENTS(small); i++) {
                r = bus_subtree_append_managed(small[i], reply);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        const char *path = sd_bus_message_get_path(msg);

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects") ||
            !path || strcmp(path, BUS_MANAGER_PATH) != 0)
                return 0; /* sd-bus dispatches it */
        build_start(userdata, msg, "{oa{sa{sv}}}", append_small_collections,
                    bus_object_append_managed);
        return 1;
}

void bus_table_reply_free(BusTableReply *tr)
{
        if (!tr)
                return;
        while (tr->builds)
                build_free(tr->builds->data);
        sd_bus_slot_unref(tr->filter);
        g_free(tr);
}

int bus_table_reply_new(BusManager *m, BusTableReply **ret)
{
        BusTableReply *tr = g_new0(BusTableReply, 1);
        int r;

        tr->manager = m;
        r = sd_bus_add_filter(m->bus, &tr->filter, on_message, tr);
        if (r < 0) {
                bus_table_reply_free(tr);
                return r;
        }
        *ret = tr;
        return 0;
}
