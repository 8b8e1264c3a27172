/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "bus-client.h"
#include "bus-device.h"
#include "bus-error.h"
#include "bus-events.h"
#include "bus-listener.h"
#include "bus-table-reply.h"
#include "bus-manager-methods.h"
#include "bus-lookup-events.h"
#include "bus-manager-status.h"
#include "bus-object.h"
#include "bus-peer.h"
#include "bus-polkit.h"
#include "bus-subtree.h"
#include "cleanup.h"
#include "config.h"
#include "drm-device.h"
#include "log.h"

/* Changes of ObjectCount, PeerCount and Devices. */

static int on_properties_changed(sd_event_source *s, void *userdata)
{
        BusManager *m = userdata;
        const char *names[4];
        size_t n = 0;
        int r;

        if (m->changed & BUS_MANAGER_OBJECT_COUNT)
                names[n++] = "ObjectCount";
        if (m->changed & BUS_MANAGER_PEER_COUNT)
                names[n++] = "PeerCount";
        if (m->changed & BUS_MANAGER_DEVICES)
                names[n++] = "Devices";
        names[n] = NULL;
        m->changed = 0;
        if (n == 0)
                return 0;
        r = sd_bus_emit_properties_changed_strv(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                                (char **) names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged on the manager: %m");
        return 0;
}

int bus_manager_note_changed(BusManager *m, BusManagerChange what)
{
        m->changed |= what;
        return sd_event_source_set_enabled(m->changed_source, SD_EVENT_ONESHOT);
}

/* Properties. */

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_count(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
        BusManager *m = userdata;

        if (strcmp(property, "ObjectCount") == 0)
                return sd_bus_message_append(reply, "u",
                                             share_table_size(service_table(m->service)));
        if (strcmp(property, "PeerCount") == 0)
                return sd_bus_message_append(reply, "u", service_n_peers(m->service));
        return -EINVAL;
}

static bool append_devnode(const DrmDevice *d, void *userdata)
{
        BusAppender *a = userdata;

        a->r = sd_bus_message_append(a->message, "s", d->devnode);
        return a->r >= 0;
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        BusManager *m = userdata;
        BusAppender a = {.message = reply};
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        if (m->drm)
                drm_device_list_foreach(m->drm, append_devnode, &a);
        if (a.r < 0)
                return a.r;
        return sd_bus_message_close_container(reply);
}

/* The bus queue's backpressure (bus-events.h): how far behind the bus got,
 * and how long the back-ends waited for it. Read on demand, no signal. */

static int property_get_bus_queue(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error)
{
        BusManager *m = userdata;
        BusEventsStats st;

        bus_events_stats(m->events, &st);
        if (strcmp(property, "BusQueueHighWater") == 0)
                return sd_bus_message_append(reply, "u", st.queue_high_water);
        if (strcmp(property, "InputPauses") == 0)
                return sd_bus_message_append(reply, "t", st.pauses);
        if (strcmp(property, "InputPausedUSec") == 0)
                return sd_bus_message_append(reply, "t", st.paused_usec);
        return -EINVAL;
}

/* What the methods share (bus-manager-methods.h). */

int bus_manager_reply_list(sd_bus_message *msg, const char *contents,
                           void (*fill)(BusManager *m, BusAppender *a), BusManager *m)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusAppender a = {};
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', contents);
        if (r < 0)
                return r;
        a.message = reply;
        fill(m, &a);
        if (a.r < 0)
                return a.r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_manager_read_privileged_args(BusManager *m, sd_bus_message *msg, sd_bus_error *error,
                                     const char *types, ...)
{
        const char *member = sd_bus_message_get_member(msg);
        const char *action = g_str_equal(member, "AddPeer") || g_str_equal(member, "RemovePeer")
                                 ? BUS_POLKIT_ACTION_MANAGE_PEERS
                                 : BUS_POLKIT_ACTION_MANAGE_OBJECTS;
        va_list ap;
        int r;

        r = bus_polkit_authorize(m->polkit, &m->access, msg, action, error);
        if (r < 0)
                return r;
        if (r == 0) /* polkit is asked; the call comes again with its answer */
                return 1;
        va_start(ap, types);
        r = sd_bus_message_readv(msg, types, ap);
        va_end(ap);
        return r < 0 ? r : 0;
}

/* Every method is UNPRIVILEGED for sd-bus (whose default would demand
 * CAP_SYS_ADMIN); the privileged ones begin with
 * bus_manager_read_privileged_args(), which asks polkit (bus-polkit.h) or
 * checks bus-access.h's rule. */
#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("ListObjects", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", objects),
                            bus_manager_method_list_objects, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("GetObject", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("o", path),
                            bus_manager_method_get_object, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Export", SD_BUS_ARGS("h", fd, "s", uuid),
                            SD_BUS_RESULT("s", uuid_out, "o", path), bus_manager_method_export,
                            UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Lookup", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("h", fd),
                            bus_manager_method_lookup, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT,
                            bus_manager_method_remove, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Disown", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT,
                            bus_manager_method_disown, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Allocate", SD_BUS_ARGS("t", size, "s", device),
                            SD_BUS_RESULT("s", uuid, "o", path, "h", fd),
                            bus_manager_method_allocate, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("ListPeers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", peers),
                            bus_manager_method_list_peers, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("AddPeer", SD_BUS_ARGS("s", role, "s", socket_path),
                            SD_BUS_RESULT("o", peer), bus_manager_method_add_peer, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("RemovePeer", SD_BUS_ARGS("o", peer), SD_BUS_NO_RESULT,
                            bus_manager_method_remove_peer, UNPRIV),
    SD_BUS_SIGNAL_WITH_ARGS("Added", SD_BUS_ARGS("s", uuid, "o", path, "s", type), 0),
    SD_BUS_SIGNAL_WITH_ARGS("Removed", SD_BUS_ARGS("s", uuid, "o", path), 0),
    BUS_PROPERTY_CONST("Version", "s", property_get_version),
    BUS_PROPERTY_CHANGING("ObjectCount", "u", property_get_count),
    BUS_PROPERTY_CHANGING("PeerCount", "u", property_get_count),
    BUS_PROPERTY_CHANGING("Devices", "as", property_get_devices),
    /* The bus queue (bus-events.h). */
    SD_BUS_PROPERTY("BusQueueHighWater", "u", property_get_bus_queue, 0, 0),
    SD_BUS_PROPERTY("InputPauses", "t", property_get_bus_queue, 0, 0),
    SD_BUS_PROPERTY("InputPausedUSec", "t", property_get_bus_queue, 0, 0),
    SD_BUS_VTABLE_END,
};

/* Lifetime. */

static int register_objects(BusManager *m)
{
        int r;

        r = bus_error_register_map();
        if (r < 0)
                return r;
        /* Off until a property changes: bus_manager_note_changed(). */
        r = sd_event_add_defer(service_event(m->service), &m->changed_source, on_properties_changed,
                               m);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(m->changed_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = bus_events_new(m, &m->events);
        if (r < 0)
                return r;
        r = bus_table_reply_new(m, &m->table_reply);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(m->bus, &m->manager_slot, BUS_MANAGER_PATH,
                                     BUS_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = bus_manager_status_register(m);
        if (r < 0)
                return r;
        r = bus_lookup_events_register(m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, &m->object_manager_slot, BUS_MANAGER_PATH);
        if (r < 0)
                return r;
        r = bus_subtree_new(m, &bus_object_ops, &m->objects);
        if (r < 0)
                return r;
        r = bus_subtree_new(m, &bus_peer_ops, &m->peers);
        if (r < 0)
                return r;
        r = bus_subtree_new(m, &bus_listener_ops, &m->listeners);
        if (r < 0)
                return r;
        return bus_subtree_new(m, &bus_device_ops, &m->devices);
}

int bus_manager_new(Service *s, sd_bus *bus, BusManager **ret)
{
        _cleanup_(bus_manager_freep) BusManager *m = g_new0(BusManager, 1);
        int r;

        m->service = s;
        m->bus = sd_bus_ref(bus);
        m->start_usec = (uint64_t) g_get_real_time();
        m->clients = bus_clients_new(s, bus);
        m->polkit = bus_polkit_new(bus);
        bus_access_init(&m->access, PRIVILEGED_GROUP);
        share_owner_init(&m->detached, SHARE_OWNER_SERVICE, "service", 0);
        m->detached.max_entries = service_config(s)->max_objects_per_client;

        r = register_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the D-Bus objects: %m");
        *ret = g_steal_pointer(&m);
        return 0;
}

void bus_manager_set_drm_devices(BusManager *m, DrmDeviceList *l)
{
        int r;

        /* The Device subtree observes m->drm. Switching lists announces no
         * device, only the new Devices. */
        bus_subtree_unobserve(m->devices);
        m->drm = l;
        bus_subtree_observe(m->devices);
        r = bus_manager_note_changed(m, BUS_MANAGER_DEVICES);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the new Devices: %m");
}

void bus_manager_set_privileged_group(BusManager *m, const char *group)
{
        bus_access_clear(&m->access);
        bus_access_init(&m->access, group);
        if (group && *group && !m->access.have_group)
                log_notice("Privileged group \"%s\" does not exist; only root may change shared "
                           "objects over D-Bus",
                           group);
}

int bus_manager_restore_owner(BusManager *m, ShareOwnerKind kind, const char *name, uid_t uid,
                              ShareOwner **ret)
{
        switch (kind) {
        case SHARE_OWNER_SERVICE:
                *ret = &m->detached;
                return 0;
        case SHARE_OWNER_BUS_CLIENT:
                if (!name || name[0] != ':')
                        return -EINVAL;
                return bus_clients_adopt(m->clients, name, uid, ret) < 0 ? -ESRCH : 0;
        case SHARE_OWNER_PEER:
                break;
        }
        return -EINVAL;
}

void bus_manager_free(BusManager *m)
{
        if (!m)
                return;
        /* What happened so far is still told (if the bus is still there). */
        if (m->events)
                bus_events_flush(m->events);
        /* Observers first: the objects of bus clients go without signals. */
        bus_lookup_events_unregister(m);
        g_clear_pointer(&m->devices, bus_subtree_free);
        g_clear_pointer(&m->objects, bus_subtree_free);
        g_clear_pointer(&m->peers, bus_subtree_free);
        g_clear_pointer(&m->listeners, bus_subtree_free);
        g_clear_pointer(&m->clients, bus_clients_free);
        (void) share_table_remove_owner(service_table(m->service), &m->detached);
        share_owner_clear(&m->detached);
        m->changed_source = sd_event_source_disable_unref(m->changed_source);
        g_clear_pointer(&m->table_reply, bus_table_reply_free);
        g_clear_pointer(&m->events, bus_events_free);
        sd_bus_slot_unref(m->object_manager_slot);
        sd_bus_slot_unref(m->manager_slot);
        sd_bus_slot_unref(m->status_slot);
        bus_access_clear(&m->access);
        bus_polkit_free(m->polkit);
        sd_bus_unref(m->bus);
        g_free(m);
}
