/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the service: org.vhostshare.share1.Manager on
 * /org/vhostshare/share1 with the ObjectManager (bus-manager.c; its
 * methods in bus-manager-objects.c and bus-manager-peers.c), and the
 * Object, Peer, Listener and Device objects below it (bus-object.c,
 * bus-peer.c, bus-listener.c, bus-device.c, each a subtree: bus-subtree.h).
 * The service core knows nothing of D-Bus; this layer observes the table,
 * the peers, the listeners and the DRM devices and maps them onto vtables,
 * the way machined maps machines. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <glib.h>

#include "bus-access.h"
#include "bus-names.h"
#include "service.h"

typedef struct BusManager BusManager;
typedef struct DrmDeviceList DrmDeviceList;
typedef struct BusPolkit BusPolkit;

/* Registers the objects on bus (which must be attached to the service's
 * event loop). Does not request the bus name: that is the caller's, once
 * everything is registered. Takes a reference on bus. */
int bus_manager_new(Service *s, sd_bus *bus, BusManager **ret);
/* Objects exported by bus clients are purged (without signals). */
void bus_manager_free(BusManager *m);

/* The DRM devices for Allocate() and the Devices property; NULL for none.
 * Not owned; must outlive m or be unset first. */
void bus_manager_set_drm_devices(BusManager *m, DrmDeviceList *l);

/* Who may call the privileged methods besides root and the service's own
 * user: members of group (default: the build's PRIVILEGED_GROUP; "" for
 * none). */
void bus_manager_set_privileged_group(BusManager *m, const char *group);

/* Restart: the owner of an object that was kind (a bus client called name
 * of uid, or the service) before; -ESRCH when that client left the bus. */
int bus_manager_restore_owner(BusManager *m, ShareOwnerKind kind, const char *name, uid_t uid,
                              ShareOwner **ret);

static inline void bus_manager_freep(BusManager **m)
{
        bus_manager_free(*m);
}

/* Internal to bus-*.c. */
typedef struct BusSubtree BusSubtree;
typedef struct BusClients BusClients;
typedef struct BusEvents BusEvents;
typedef struct BusObjectEvents BusObjectEvents;
typedef struct BusTableReply BusTableReply;

/* The manager's properties that change, announced by one PropertiesChanged
 * per loop iteration. */
typedef enum {
        BUS_MANAGER_OBJECT_COUNT = 1 << 0,
        BUS_MANAGER_PEER_COUNT = 1 << 1,
        BUS_MANAGER_DEVICES = 1 << 2,
} BusManagerChange;

struct BusManager {
        Service *service;
        sd_bus *bus;
        DrmDeviceList *drm; /* for Allocate() and Devices; bus_manager_set_drm_devices() */
        BusAccess access;
        BusPolkit *polkit; /* asks polkit for the privileged methods (bus-polkit.h) */

        sd_bus_slot *manager_slot;
        sd_bus_slot *status_slot; /* bus-manager-status.c */
        uint64_t start_usec;      /* StartTimestamp: CLOCK_REALTIME µs */

        /* LookedUp (bus-lookup-events.c) */
        sd_bus_slot *lookup_events_slot;
        unsigned lookup_observer;

        sd_bus_slot *object_manager_slot;
        /* The children (bus-subtree.h). */
        BusSubtree *objects;   /* Object: the table (bus-object.c) */
        BusSubtree *peers;     /* Peer: the service's peers (bus-peer.c) */
        BusSubtree *listeners; /* Listener: its listening sockets (bus-listener.c) */
        BusSubtree *devices;   /* Device: drm (bus-device.c) */

        /* Bus clients that own objects (bus-client.c). */
        BusClients *clients;
        /* The owner of objects handed over with Disown(): they stay until
         * removed, whoever exported them. */
        ShareOwner detached;

        sd_event_source *changed_source;
        BusManagerChange changed;

        /* Signals on their way out after the answers (bus-events.h), and
         * the Object subtree's pending LookupCount changes (bus-object.c). */
        BusEvents *events;
        BusObjectEvents *object_events;
        BusTableReply *table_reply; /* GetManagedObjects, ListObjects (bus-table-reply.c) */
};

/* Marks manager properties as changed; the signal goes out from a deferred
 * event, after the change is complete. 0 or -errno (it could not be
 * scheduled). */
int bus_manager_note_changed(BusManager *m, BusManagerChange what);
