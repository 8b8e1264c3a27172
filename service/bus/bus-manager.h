/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the service: org.vhostshare.share1.Manager on
 * /org/vhostshare/share1 with the ObjectManager, plus the Object and Peer
 * objects below it (bus-object.c, bus-peer.c). The service core knows
 * nothing of D-Bus; this layer observes the table and the peers and maps
 * them onto vtables, the way machined maps machines. */

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
typedef struct BusDevices BusDevices;

/* Registers the objects on bus (which must be attached to the service's
 * event loop). Does not request the bus name: that is the caller's, once
 * everything is registered. Takes a reference on bus. */
int bus_manager_new(Service *s, sd_bus *bus, BusManager **ret);
/* Objects exported by bus clients are purged (without signals). */
void bus_manager_free(BusManager *m);

/* The DRM devices for Allocate() and the Devices property; NULL for none.
 * Not owned; must outlive m or be unset first. */
void bus_manager_set_drm_devices(BusManager *m, DrmDeviceList *l);

/* Who may call the privileged methods besides root: members of group
 * (default: the build's PRIVILEGED_GROUP; "" for root only). */
void bus_manager_set_privileged_group(BusManager *m, const char *group);

/* Internal to bus-*.c. */
struct BusManager {
        Service *service;
        sd_bus *bus;
        DrmDeviceList *drm;
        BusAccess access;

        sd_bus_slot *manager_slot;
        sd_bus_slot *object_manager_slot;
        sd_bus_slot *object_vtable_slot;
        sd_bus_slot *object_enumerator_slot;
        sd_bus_slot *peer_vtable_slot;
        sd_bus_slot *peer_enumerator_slot;
        BusDevices *devices; /* the Device objects (bus-device.c) */

        unsigned table_observer, peer_observer, drm_observer;
        bool table_observing, peer_observing, drm_observing;

        /* Bus clients that own objects: unique name -> BusClient. */
        GHashTable *clients;
        /* The owner of objects handed over with Disown(): they stay until
         * removed, whoever exported them. */
        ShareOwner detached;

        /* While an observer announces an entry or a peer, it may already be
         * out of the table or the peer list; the find callbacks still know
         * it through these. */
        const ShareEntry *announcing_entry;
        Peer *announcing_peer;

        /* ObjectCount/PeerCount/Devices changes, coalesced into one
         * PropertiesChanged per loop iteration. */
        sd_event_source *changed_source;
        bool object_count_changed, peer_count_changed, devices_changed;
};

/* Marks a manager property as changed; the signal goes out from a deferred
 * event, after the change is complete. */
void bus_manager_note_object_count_changed(BusManager *m);
void bus_manager_note_peer_count_changed(BusManager *m);
