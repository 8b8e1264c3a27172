/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's status properties, what `vhost-sharectl status` shows:
 * StartTimestamp, BytesHeld, ListenerCount, PrivilegedGroup, Limits. A
 * vtable of its own on the Manager's path and interface. */
#include "bus-manager-status.h"

#include <stddef.h>
#include <string.h>

#include "bus-subtree.h"
#include "quota.h"
#include "share-table.h"

static int property_get_start(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(reply, "t", m->start_usec);
}

static int property_get_bytes_held(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(
            reply, "t", quota_bytes_total(share_table_quota(service_table(m->service))));
}

static int property_get_listener_count(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(reply, "u", service_n_listeners(m->service));
}

static int property_get_privileged_group(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply,
                                         void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(reply, "s", m->access.group_name ?: "");
}

/* The limits by their vhost-shared.conf(5) names; 0 is unlimited. */
typedef struct {
        const char *name;
        size_t offset; /* in ServiceConfig */
        bool wide;     /* a uint64_t, else an unsigned */
        bool msec;     /* µs shown as milliseconds */
} LimitField;

static const LimitField limit_fields[] = {
    {"LookupTimeoutMSec", offsetof(ServiceConfig, lookup_timeout_usec), true, true},
    {"ReplyTimeoutMSec", offsetof(ServiceConfig, reply_timeout_usec), true, true},
    {"MaxObjectsPerPeer", offsetof(ServiceConfig, max_objects_per_peer), false, false},
    {"MaxObjectsPerClient", offsetof(ServiceConfig, max_objects_per_client), false, false},
    {"MaxObjectsPerUid", offsetof(ServiceConfig, max_objects_per_uid), false, false},
    {"MaxDisownedObjectsPerUid", offsetof(ServiceConfig, max_disowned_per_uid), false, false},
    {"MaxBytesPerClient", offsetof(ServiceConfig, max_bytes_per_client), true, false},
    {"MaxBytesPerUid", offsetof(ServiceConfig, max_bytes_per_uid), true, false},
    {"MaxBytesTotal", offsetof(ServiceConfig, max_bytes_total), true, false},
    {"MaxPeers", offsetof(ServiceConfig, max_peers), false, false},
    {"MaxPendingLookupsPerPeer", offsetof(ServiceConfig, max_pending_lookups_per_peer), false,
     false},
    {"MaxPendingLookupsPerUid", offsetof(ServiceConfig, max_pending_lookups_per_uid), false, false},
    {"MaxPendingLookups", offsetof(ServiceConfig, max_pending_lookups), false, false},
    {"MaxQueuedMessages", offsetof(ServiceConfig, max_queued_messages), false, false},
    {"MaxQueuedBytes", offsetof(ServiceConfig, max_queued_bytes), false, false},
};

static int property_get_limits(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        BusManager *m = userdata;
        const char *config = (const char *) service_config(m->service);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < G_N_ELEMENTS(limit_fields); i++) {
                const LimitField *f = &limit_fields[i];
                uint64_t v;

                if (f->wide)
                        memcpy(&v, config + f->offset, sizeof(v));
                else {
                        unsigned u;

                        memcpy(&u, config + f->offset, sizeof(u));
                        v = u;
                }
                r = sd_bus_message_append(reply, "{st}", f->name, f->msec ? v / 1000 : v);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* BytesHeld and ListenerCount change without PropertiesChanged
 * (EmitsChangedSignal false): read when shown, never on the table's path. */
static const sd_bus_vtable status_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("StartTimestamp", "t", property_get_start),
    SD_BUS_PROPERTY("BytesHeld", "t", property_get_bytes_held, 0, 0),
    SD_BUS_PROPERTY("ListenerCount", "u", property_get_listener_count, 0, 0),
    BUS_PROPERTY_CONST("PrivilegedGroup", "s", property_get_privileged_group),
    BUS_PROPERTY_CONST("Limits", "a{st}", property_get_limits),
    SD_BUS_VTABLE_END,
};

int bus_manager_status_register(BusManager *m)
{
        return sd_bus_add_object_vtable(m->bus, &m->status_slot, BUS_MANAGER_PATH,
                                        BUS_MANAGER_INTERFACE, status_vtable, m);
}
