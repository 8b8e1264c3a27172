/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-listener.h"

#include <errno.h>
#include <string.h>

#include "bus-paths.h"
#include "log.h"

Listener *bus_listener_find(BusManager *m, const char *path)
{
        uint64_t id;

        if (bus_listener_path_to_id(path, &id) < 0)
                return NULL;
        return service_find_listener(m->service, id);
}

static void *listener_find(BusManager *m, const char *path)
{
        return bus_listener_find(m, path);
}

static char *listener_path(const void *l)
{
        char path[BUS_LISTENER_PATH_MAX];

        bus_listener_path(listener_get_id(l), path);
        return g_strdup(path);
}

static bool collect_listener_path(Listener *l, void *paths)
{
        g_ptr_array_add(paths, listener_path(l));
        return true;
}

static void listener_list(BusManager *m, GPtrArray *paths)
{
        service_foreach_listener(m->service, collect_listener_path, paths);
}

/* The getter's userdata is the listener at the path: listener_find()'s, or
 * the one being announced. */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Listener *l = userdata;

        if (strcmp(property, "SocketPath") == 0)
                return sd_bus_message_append(reply, "s", listener_get_path(l));
        if (strcmp(property, "Role") == 0)
                return sd_bus_message_append(reply, "s",
                                             listener_role_to_string(listener_get_role(l)));
        if (strcmp(property, "Owner") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) listener_get_owner(l));
        if (strcmp(property, "Group") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) listener_get_group(l));
        if (strcmp(property, "Mode") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) listener_get_mode(l));
        if (strcmp(property, "AcceptedCount") == 0)
                return sd_bus_message_append(reply, "t", listener_get_accepted_count(l));
        if (strcmp(property, "CreatedTimestamp") == 0)
                return sd_bus_message_append(reply, "t", listener_get_created_usec(l));
        return -EINVAL;
}

static const sd_bus_vtable listener_vtable[] = {
    SD_BUS_VTABLE_START(0),
    BUS_PROPERTY_CONST("SocketPath", "s", property_get),
    BUS_PROPERTY_CONST("Role", "s", property_get),
    BUS_PROPERTY_CONST("Owner", "u", property_get),
    BUS_PROPERTY_CONST("Group", "u", property_get),
    BUS_PROPERTY_CONST("Mode", "u", property_get),
    BUS_PROPERTY_CHANGING("AcceptedCount", "t", property_get),
    BUS_PROPERTY_CONST("CreatedTimestamp", "t", property_get),
    SD_BUS_VTABLE_END,
};

static void on_listener_event(Service *s, Listener *l, ListenerEvent ev, void *userdata)
{
        static const BusSubtreeEvent events[] = {
            [LISTENER_EVENT_NEW] = BUS_SUBTREE_ADDED,
            [LISTENER_EVENT_CHANGED] = BUS_SUBTREE_CHANGED,
            [LISTENER_EVENT_GONE] = BUS_SUBTREE_REMOVED,
        };
        int r;

        r = bus_subtree_announce(userdata, events[ev], l);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the listener on %s on the bus: %m",
                                  listener_get_path(l));
}

static unsigned listener_observe(BusManager *m, BusSubtree *st)
{
        return service_add_listener_observer(m->service, on_listener_event, st);
}

static void listener_unobserve(BusManager *m, unsigned id)
{
        service_remove_listener_observer(m->service, id);
}

static const char *const changing[] = {"AcceptedCount", NULL};

const BusSubtreeOps bus_listener_ops = {
    .prefix = BUS_LISTENER_PREFIX,
    .interface = BUS_LISTENER_INTERFACE,
    .vtable = listener_vtable,
    .find = listener_find,
    .list = listener_list,
    .path = listener_path,
    .observe = listener_observe,
    .unobserve = listener_unobserve,
    .changing = changing,
};
