/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One interface on every path below a prefix: an Object per table entry, a
 * Peer per connection, a Device per DRM node (bus-object.c, bus-peer.c,
 * bus-device.c). sd-bus serves such a subtree with a fallback vtable, whose
 * find callback maps a path to its object, and a node enumerator listing
 * the paths (introspection, GetManagedObjects); this registers both from
 * a BusSubtreeOps, and finds an object while it is being announced even
 * when its collection no longer holds it. */

#include <systemd/sd-bus.h>

#include <glib.h>

typedef struct BusSubtree BusSubtree;

typedef struct {
        const char *prefix;
        const char *interface;
        const sd_bus_vtable *vtable;
        /* The object at path (the getters' userdata), or NULL. */
        void *(*find)(void *userdata, const char *path);
        /* Adds the path of every object to paths (malloc'ed: sd-bus frees
         * them with free(), and glib allocates with malloc). */
        void (*list)(void *userdata, GPtrArray *paths);
} BusSubtreeOps;

/* Registers ops (static) on bus; userdata goes to find and list. 0 or
 * -errno. */
int bus_subtree_new(sd_bus *bus, const BusSubtreeOps *ops, void *userdata, BusSubtree **ret);
void bus_subtree_free(BusSubtree *st);

/* The object a subtree announces, and its path (not copied). */
typedef struct {
        const char *path;
        void *object;
} BusSubtreeMark;

/* While the signals about object are built, sd-bus asks for its properties
 * at path, and the collection may not hold it any more (it is being
 * removed): from begin to end, path finds object. begin returns the mark it
 * replaces, which end puts back. */
BusSubtreeMark bus_subtree_begin_announce(BusSubtree *st, const char *path, void *object);
void bus_subtree_end_announce(BusSubtree *st, BusSubtreeMark saved);

/* Vtable entries of a property whose value never changes, or whose changes
 * are announced with PropertiesChanged. */
#define BUS_PROPERTY_CONST(name, signature, getter)                                                \
        SD_BUS_PROPERTY(name, signature, getter, 0, SD_BUS_VTABLE_PROPERTY_CONST)
#define BUS_PROPERTY_CHANGING(name, signature, getter)                                             \
        SD_BUS_PROPERTY(name, signature, getter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
