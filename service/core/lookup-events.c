/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lookups as events: service_lookup_as() is lookup.c's routing with its
 * done() wrapped, so that every finished lookup (a peer's LOOKUP or GET, a
 * bus caller's Lookup()) reaches the lookup observers once, with who asked
 * and how it ended; the bus layer makes the LookedUp signal of it. An
 * exporter's answer also tells the table its buffer's size. */

#include <string.h>

#include "buffer-info.h"
#include "service-private.h"

/* One lookup under way: what the observers will be told, and the done()
 * it stands in for. Copies: the importer may be gone by the answer. */
typedef struct {
        uint8_t uuid[SHARE_UUID_SIZE];
        uint64_t peer_id;
        char *name;
        bool size_noted;
        ServiceLookupFn done;
        void *userdata;
} LookupWatch;

unsigned service_add_lookup_observer(Service *s, LookupObserverFn fn, void *userdata)
{
        if (!s->lookup_observers)
                s->lookup_observers = observer_list_new();
        return observer_list_add(s->lookup_observers, (ObserverFn) fn, userdata);
}

void service_remove_lookup_observer(Service *s, unsigned id)
{
        if (s->lookup_observers)
                observer_list_remove(s->lookup_observers, id);
}

static void service_notify_lookup(Service *s, const LookupWatch *w, int error)
{
        ServiceLookupEvent ev = {
            .uuid = w->uuid,
            .peer_id = w->peer_id,
            .name = w->name,
            .error = error,
            .size_noted = w->size_noted,
        };
        ObserverIter it;

        if (!s->lookup_observers)
                return;
        for (observer_list_begin(s->lookup_observers, &it);
             observer_list_next(s->lookup_observers, &it);)
                ((LookupObserverFn) it.fn)(s, &ev, it.userdata);
        observer_list_end(s->lookup_observers);
}

static void lookup_watch_free(LookupWatch *w)
{
        g_free(w->name);
        g_free(w);
}

/* A back-end's ADD says no size; its answer's fd does (it passed the
 * buffer rule: a dma-buf or a sealed memfd, read without reaching a file
 * system server). Once per entry: a known size is not read again. */
static bool lookup_note_size(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], int fd)
{
        ShareEntry *e = share_table_lookup(s->table, uuid);
        ShareBufferInfo info;

        if (!e || share_entry_type(e) != SHARE_TYPE_VHOST_DEV || share_entry_info(e)->size)
                return false;
        if (share_buffer_info_from_fd(fd, &info) < 0)
                return false;
        return share_table_note_size(s->table, e, info.size);
}

/* The importer's answer first (the fd is its then), then the observers:
 * an event says what has happened. */
static void lookup_watch_done(Service *s, int fd, int error, void *userdata)
{
        LookupWatch *w = userdata;

        if (fd >= 0)
                w->size_noted = lookup_note_size(s, w->uuid, fd);
        w->done(s, fd, error, w->userdata);
        service_notify_lookup(s, w, fd >= 0 ? 0 : error);
        lookup_watch_free(w);
}

int service_lookup_as(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ServiceImporter *who,
                      ServiceLookupFn done, void *userdata)
{
        LookupWatch *w = g_new0(LookupWatch, 1);
        int r;

        memcpy(w->uuid, uuid, SHARE_UUID_SIZE);
        w->peer_id = who && who->peer ? peer_id(who->peer) : 0;
        w->name = who ? g_strdup(who->name) : NULL;
        w->done = done;
        w->userdata = userdata;
        r = service_lookup_route(s, uuid, who, lookup_watch_done, w);
        if (r < 0) { /* done was not called */
                service_notify_lookup(s, w, r);
                lookup_watch_free(w);
        }
        return r;
}
