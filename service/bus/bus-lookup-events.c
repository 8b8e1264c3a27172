/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.LookedUp(uuid, importer, result): who looked up which UUID and
 * how it ended, for `vhost-sharectl monitor`; and the Size of a back-end's
 * object that a lookup showed. The importer is the peer's
 * object path or the bus caller's unique name ("" for the service's own
 * lookups); the result "ok" or the error name a Lookup() call would get. */
#include "bus-lookup-events.h"

#include "bus-error.h"
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

/* A back-end's object's Size, known since this lookup (the only way it
 * changes). */
static void announce_size(BusManager *m, const uint8_t uuid[SHARE_UUID_SIZE], const char *uuid_str)
{
        char path[BUS_OBJECT_PATH_MAX];
        int r;

        bus_object_path(uuid, path);
        r = sd_bus_emit_properties_changed(m->bus, path, BUS_OBJECT_INTERFACE, "Size", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the size of %s: %m", uuid_str);
}

static void on_lookup(Service *s, const ServiceLookupEvent *ev, void *userdata)
{
        BusManager *m = userdata;
        g_autofree char *result = result_name(ev->error);
        char uuid[SHARE_UUID_STR_LEN], peer[BUS_PEER_PATH_MAX];
        const char *importer = ev->name ?: "";
        int r;

        share_uuid_to_string(ev->uuid, uuid);
        if (ev->peer_id) {
                bus_peer_path(ev->peer_id, peer);
                importer = peer;
        }
        r = sd_bus_emit_signal(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "LookedUp", "sss",
                               uuid, importer, result);
        if (r < 0)
                log_warning_errno(r, "Failed to emit LookedUp for %s: %m", uuid);
        if (ev->size_noted)
                announce_size(m, ev->uuid, uuid);
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
