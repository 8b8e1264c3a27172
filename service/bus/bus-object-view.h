/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An Object's properties (org.vhostshare.share1.Object) as one table of
 * rows, each appending its value from a view of a table entry. The vtable's
 * getters, InterfacesAdded and GetManagedObjects all use the rows, so the
 * three cannot disagree; the last two append a whole object directly,
 * without a callback per property. A view reads a live entry, or a copy a
 * queued event keeps after the entry is gone (BusObjectCopy). */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "bus-paths.h"
#include "service.h"

typedef struct {
        const uint8_t *uuid;
        ShareType type;
        const char *owner_path;     /* the owning peer's path, or "/" */
        const char *owner_bus_name; /* the owning bus client's name, or "" */
        const ShareBufferInfo *info;
        uint64_t created_usec;
        uint64_t lookup_count;
        /* The owning process: a bus client as the bus reported it, a peer
         * from SO_PEERCRED, the service itself; 0, (uid_t) -1 and "" when
         * unknown (the XML's convention). */
        uint32_t owner_pid;
        uint32_t owner_uid;
        char owner_command[64];
} BusObjectView;

/* The view of e; owner_path is stored in buf. */
void bus_object_view_init(BusObjectView *v, const ShareEntry *e, char buf[BUS_PEER_PATH_MAX]);

/* Views of one entry after another (a whole-table reply): the owner's part
 * (path, process) is looked up once per run of entries of the same owner,
 * which the table's order (the order added) keeps together. The owner's
 * values are reused only within one dispatch: bus_object_views_reset()
 * before each, as the owner may have changed or gone meanwhile. */
typedef struct {
        BusObjectView view;
        const ShareOwner *owner; /* whose values view holds; NULL: none */
        char owner_path[BUS_PEER_PATH_MAX];
} BusObjectViews;

void bus_object_views_reset(BusObjectViews *vs);
/* The view of e, in vs->view. */
const BusObjectView *bus_object_views_next(BusObjectViews *vs, const ShareEntry *e);

/* A view that owns its strings and info, for an entry that may go. */
typedef struct {
        BusObjectView view; /* points into the fields below */
        uint8_t uuid[SHARE_UUID_SIZE];
        char owner_path[BUS_PEER_PATH_MAX];
        char *owner_bus_name;
        ShareBufferInfo info;
} BusObjectCopy;

void bus_object_copy_init(BusObjectCopy *c, const ShareEntry *e);
void bus_object_copy_clear(BusObjectCopy *c);

/* The value of one property (sd-bus getter form: the reply is positioned
 * inside the variant). -EINVAL for an unknown name. */
int bus_object_view_append_property(sd_bus_message *m, const BusObjectView *v,
                                    const char *property);
/* The D-Bus signature of a property ("s", "t", ...); NULL for an unknown
 * name. */
const char *bus_object_view_property_signature(const char *property);
/* The interfaces and properties at v's path, a{sa{sv}}: with the standard
 * interfaces as sd-bus puts them into InterfacesAdded, or without (they
 * have no properties) for GetManagedObjects, where 100k objects would
 * carry 300k empty entries. */
int bus_object_view_append_interfaces(sd_bus_message *m, const BusObjectView *v,
                                      bool with_standard);

/* Appending a string of ours that is UTF-8 without NULs by construction (a
 * constant, hex digits): through sd_bus_message_append_string_space(),
 * which skips the check append_basic makes of every string: a seventh of
 * a GetManagedObjects of the whole table. Strings from peers, callers and
 * the kernel go through sd_bus_message_append_basic(). */
int bus_append_trusted_string(sd_bus_message *m, const char *s, size_t len);
/* A UUID's 36 characters, written straight into m. */
int bus_append_uuid_string(sd_bus_message *m, const uint8_t uuid[SHARE_UUID_SIZE]);

/* The standard interfaces sd-bus puts at every object path, NULL-terminated,
 * and appending them with empty property dicts to an open a{sa{sv}}. */
extern const char *const bus_standard_interfaces[];
int bus_append_standard_interfaces(sd_bus_message *m);
