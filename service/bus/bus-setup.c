/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-setup.h"

#include <errno.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <glib.h>

#include "bus-manager.h"
#include "bus-open.h"
#include "cleanup.h"
#include "drm-device.h"
#include "log.h"

/* RequestName replies (D-Bus specification). */
#define REQUEST_NAME_REPLY_PRIMARY_OWNER 1
#define REQUEST_NAME_REPLY_ALREADY_OWNER 4

struct BusSetup {
        Service *service;
        sd_bus *bus;
        BusManager *manager;
        DrmDeviceList *drm;
        sd_bus_slot *name_slot;
        sd_bus_slot *disconnect_slot;
};

/* Ends the event loop with error (< 0): the daemon exits non-zero. */
static void bus_setup_exit(BusSetup *b, int error)
{
        int r;

        r = sd_event_exit(service_event(b->service), error);
        if (r < 0)
                log_warning_errno(r, "Failed to end the event loop: %m");
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        BusSetup *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t result;
        int r;

        b->name_slot = sd_bus_slot_unref(b->name_slot);
        if (e) {
                r = -sd_bus_error_get_errno(e);
                log_error("Cannot own %s: %s", BUS_NAME, e->message ?: e->name);
                bus_setup_exit(b, r < 0 ? r : -EACCES);
                return 0;
        }
        r = sd_bus_message_read(reply, "u", &result);
        if (r < 0 || (result != REQUEST_NAME_REPLY_PRIMARY_OWNER &&
                      result != REQUEST_NAME_REPLY_ALREADY_OWNER)) {
                /* 2 (in queue) or 3 (exists): someone else serves this bus. */
                log_error("Cannot own %s: another service has it (reply %u)", BUS_NAME,
                          r < 0 ? 0 : result);
                bus_setup_exit(b, -EEXIST);
                return 0;
        }
        log_info("Owning %s", BUS_NAME);
        r = sd_notify(false, "READY=1\nSTATUS=Serving " BUS_NAME);
        if (r < 0)
                log_warning_errno(r, "Failed to tell systemd that we are ready: %m");
        return 0;
}

/* Losing the bus is a failure (sd-bus's exit_on_disconnect would end the
 * loop with a success code): exit non-zero so that systemd restarts us. */
static int on_bus_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusSetup *b = userdata;

        if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected"))
                return 0;
        log_error("Lost the connection to the bus; exiting");
        bus_setup_exit(b, -ECONNRESET);
        return 0;
}

static int bus_open(BusKind kind, const char *address, sd_bus **ret)
{
        switch (kind) {
        case BUS_KIND_SYSTEM:
                return sd_bus_open_system_with_description(ret, "vhost-shared");
        case BUS_KIND_SESSION:
                return sd_bus_open_user_with_description(ret, "vhost-shared");
        case BUS_KIND_ADDRESS:
                return bus_open_address(address, "vhost-shared", ret);
        }
        return -EINVAL;
}

int bus_setup_new(Service *s, BusKind kind, const char *address, const char *privileged_group,
                  BusSetup **ret)
{
        _cleanup_(bus_setup_freep) BusSetup *b = g_new0(BusSetup, 1);
        static const char *const names[] = {"system bus", "session bus", "bus"};
        int r;

        b->service = s;
        r = bus_open(kind, address, &b->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the %s%s%s: %m", names[kind],
                                       kind == BUS_KIND_ADDRESS ? " at " : "",
                                       kind == BUS_KIND_ADDRESS ? address : "");
        r = sd_bus_attach_event(b->bus, service_event(s), SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = sd_bus_add_filter(b->bus, &b->disconnect_slot, on_bus_message, b);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the bus connection: %m");

        /* The DRM devices are optional: Allocate() falls back to a memfd. */
        r = drm_device_list_new(service_event(s), &b->drm);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot enumerate DRM devices; Allocate() will use memfds: %m");

        r = bus_manager_new(s, b->bus, &b->manager);
        if (r < 0)
                return r;
        bus_manager_set_drm_devices(b->manager, b->drm);
        if (privileged_group)
                bus_manager_set_privileged_group(b->manager, privileged_group);

        r = sd_bus_request_name_async(b->bus, &b->name_slot, BUS_NAME, 0, on_name_acquired, b);
        if (r < 0)
                return log_error_errno(r, "Cannot request %s: %m", BUS_NAME);
        *ret = g_steal_pointer(&b);
        return 0;
}

BusManager *bus_setup_manager(BusSetup *b)
{
        return b->manager;
}

void bus_setup_free(BusSetup *b)
{
        if (!b)
                return;
        b->name_slot = sd_bus_slot_unref(b->name_slot);
        b->disconnect_slot = sd_bus_slot_unref(b->disconnect_slot);
        bus_manager_free(b->manager);
        if (b->drm)
                drm_device_list_free(b->drm);
        b->bus = sd_bus_flush_close_unref(b->bus);
        g_free(b);
}
