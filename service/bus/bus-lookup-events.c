/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.LookedUp(uuid, importer, result): who looked up which UUID and
 * how it ended, for `vhost-sharectl monitor`; and the Size of a back-end's
 * object that a lookup showed. The importer is the peer's
 * object path or the bus caller's unique name ("" for the service's own
 * lookups); the result "ok" or the error name a Lookup() call would get. */
#include "bus-lookup-events.h"

#include <string.h>

#include "bus-error.h"
#include "bus-events.h"
#include "cleanup.h"
#include "bus-paths.h"
#include "log.h"
#include "uuid-util.h"

static const sd_bus_vtable lookup_events_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_SIGNAL_WITH_NAMES("LookedUp", "sss",
                             SD_BUS_PARAM(uuid) SD_BUS_PARAM(importer) SD_BUS_PARAM(result), 0),
    SD_BUS_VTABLE_END,
};

/* The error name for -error: ours, else sd-bus's generic one. */
static char *result_name(int error)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *name;

        if (error == 0)
                return g_strdup("ok");
        name = bus_error_name_from_errno(error);
        if (name)
                return g_strdup(name);
        (void) sd_bus_error_set_errno(&e, error);
        return g_strdup(e.name ?: SD_BUS_ERROR_FAILED);
}

/* One finished lookup, queued behind the table events before it: a
 * subscriber hears of an object before it hears of a lookup of it, and the
 * answer leaves before the signal. */
typedef struct {
        BusEvent head;
        uint8_t uuid[SHARE_UUID_SIZE];
        char *importer;
        char *result;
        bool size_noted;
} LookedUp;

static void looked_up_clear(BusEvent *ev)
{
        LookedUp *l = (LookedUp *) ev;

        g_free(l->importer);
        g_free(l->result);
}

/* LookedUp, then the Size of a back-end's object when the lookup showed it
 * (the only way it changes) and the object is still there. */
static int emit_looked_up(BusManager *m, const BusEvent *ev)
{
        const LookedUp *l = (const LookedUp *) ev;
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        int r;

        share_uuid_to_string(l->uuid, uuid);
        r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "LookedUp", "sss",
                               uuid, l->importer, l->result);
        if (r < 0 || !l->size_noted || !share_table_lookup(service_table(m->service), l->uuid))
                return r;
        bus_object_path(l->uuid, path);
        return sd_bus_emit_properties_changed(m->bus, path, BUS_OBJECT_INTERFACE, "Size", NULL);
}

static const BusEventType looked_up_type = {.emit = emit_looked_up, .clear = looked_up_clear};

static void on_lookup(Service *s, const ServiceLookupEvent *ev, void *userdata)
{
        BusManager *m = userdata;
        LookedUp *l = g_new0(LookedUp, 1);
        char peer[BUS_PEER_PATH_MAX];
        int r;

        l->head.type = &looked_up_type;
        memcpy(l->uuid, ev->uuid, SHARE_UUID_SIZE);
        if (ev->peer_id) {
                bus_peer_path(ev->peer_id, peer);
                l->importer = g_strdup(peer);
        } else
                l->importer = g_strdup(ev->name ?: "");
        l->result = result_name(ev->error);
        l->size_noted = ev->size_noted;
        r = bus_events_push(m->events, &l->head);
        if (r < 0)
                /* Queued all the same: it goes with the next event. */
                log_warning_errno(r, "Failed to schedule the LookedUp signal: %m");
}

int bus_lookup_events_register(BusManager *m)
{
        int r;

        r = sd_bus_add_object_vtable(m->bus, &m->lookup_events_slot, BUS_MANAGER_PATH,
                                     BUS_MANAGER_INTERFACE, lookup_events_vtable, m);
        if (r < 0)
                return r;
        m->lookup_observer = service_add_lookup_observer(m->service, on_lookup, m);
        return 0;
}

void bus_lookup_events_unregister(BusManager *m)
{
        service_remove_lookup_observer(m->service, m->lookup_observer);
        m->lookup_observer = 0;
        m->lookup_events_slot = sd_bus_slot_unref(m->lookup_events_slot);
}
