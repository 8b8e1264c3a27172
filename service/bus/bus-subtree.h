/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager's children: one interface on every path below a prefix, an
 * Object per table entry, a Peer per connection, a Listener per listening
 * socket, a Device per DRM node (bus-object.c, bus-peer.c, bus-listener.c,
 * bus-device.c). Each of those describes its collection in a
 * BusSubtreeOps; this does the rest for all of them: the
 * fallback vtable (whose find callback maps a path to its object) and the
 * node enumerator listing the paths (introspection, GetManagedObjects), the
 * observer on the collection, and the signals that announce an object as
 * it comes, changes and goes. */

#include <systemd/sd-bus.h>

#include <glib.h>

#include "bus-manager.h"

/* What happened to an object, and what bus_subtree_announce() sends for it,
 * in this order. */
typedef enum {
        BUS_SUBTREE_ADDED,   /* the manager's own signal, InterfacesAdded */
        BUS_SUBTREE_CHANGED, /* PropertiesChanged of ops->changing, queued (bus-events.h) */
        BUS_SUBTREE_REMOVED, /* InterfacesRemoved, the manager's own signal */
} BusSubtreeEvent;

typedef struct {
        const char *prefix;
        const char *interface;
        const sd_bus_vtable *vtable;
        /* The object at path (the getters' userdata), or NULL. */
        void *(*find)(BusManager *m, const char *path);
        /* Adds the path of every object to paths, made by path(). */
        void (*list)(BusManager *m, GPtrArray *paths);
        /* The object's path, malloc'ed: sd-bus frees list's strings with
         * free() (and glib allocates with malloc). */
        char *(*path)(const void *object);
        /* Adds an observer on the collection whose events go to
         * bus_subtree_announce(st, ...); returns its id, 0 when there is no
         * collection to observe. */
        unsigned (*observe)(BusManager *m, BusSubtree *st);
        void (*unobserve)(BusManager *m, unsigned id);
        /* The manager property that counts the objects: it changes with
         * every ADDED and REMOVED, after their signals. 0: none does. */
        BusManagerChange count;
        /* The properties a CHANGED announces, NULL-terminated; NULL when the
         * objects do not change. */
        const char *const *changing;
        /* Optional: the manager's own signal about an object (Added,
         * Removed), sent before InterfacesAdded and after
         * InterfacesRemoved. 0 or -errno. */
        int (*emit_manager_signal)(BusManager *m, BusSubtreeEvent ev, const char *path,
                                   const void *object);
} BusSubtreeOps;

/* Registers ops (static) on m's bus and observes the collection. 0 or
 * -errno. */
int bus_subtree_new(BusManager *m, const BusSubtreeOps *ops, BusSubtree **ret);
/* Stops observing (nothing is announced any more) and unregisters. */
void bus_subtree_free(BusSubtree *st);

/* For a collection the manager replaces (the DRM device list): unobserve
 * before the old one goes, observe once the new one is in place. Neither
 * announces anything. */
void bus_subtree_observe(BusSubtree *st);
void bus_subtree_unobserve(BusSubtree *st);

/* Sends the signals of ev about object, after the table's events still
 * queued (bus-events.h). While they are built, sd-bus asks
 * for the object's properties at its path, and the collection may not hold
 * it any more (it is being removed): until this returns, the path finds
 * object. 0 or -errno. */
int bus_subtree_announce(BusSubtree *st, BusSubtreeEvent ev, const void *object);

/* Appends the GetManagedObjects entries (oa{sa{sv}}) of every object of
 * the collection to reply, inside its open array, through the vtable's
 * getters: for the small collections (bus-object.c appends the table
 * directly). 0 or -errno. */
int bus_subtree_append_managed(BusSubtree *st, sd_bus_message *reply);

/* Vtable entries of a property whose value never changes, or whose changes
 * are announced with PropertiesChanged. */
#define BUS_PROPERTY_CONST(name, signature, getter)                                                \
        SD_BUS_PROPERTY(name, signature, getter, 0, SD_BUS_VTABLE_PROPERTY_CONST)
#define BUS_PROPERTY_CHANGING(name, signature, getter)                                             \
        SD_BUS_PROPERTY(name, signature, getter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
