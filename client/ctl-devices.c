/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl devices, allocate: dma-bufs allocated on DRM devices. */

#include <stdio.h>

#include "ctl.h"

int verb_devices(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        g_auto(GStrv) devices = NULL;
        g_autoptr(CtlTable) table = NULL;
        g_autofree char *footer = NULL;
        guint n = 0;
        int r;

        r = sd_bus_get_property_strv(ctl->bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                     "Devices", &error, &devices);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot list the DRM devices"));

        table = ctl_table_new("DEVICE", "KIND", "DRIVER", "PCI", NULL);
        for (char **node = devices; node && *node; node++, n++) {
                g_autoptr(CtlDevice) d = ctl_get_device(ctl, *node);
                ctl_table_add_row(table, ctl_json_device(d), *node, ctl_cell(d->kind),
                                  ctl_cell(d->driver), ctl_cell(d->pci_slot), NULL);
        }
        footer = g_strdup_printf(ngettext("\n%u device listed.\n", "\n%u devices listed.\n", n), n);
        ctl_table_print(table, ctl, _("No devices.\n"), footer);
        return CTL_EXIT_OK;
}

int verb_allocate(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autofree char *uuid = NULL;
        const char *reply_uuid, *path;
        uint64_t size;
        int fd, r;

        r = ctl_parse_size_arg(argv[1], &size);
        if (r != CTL_EXIT_OK)
                return r;
        r = ctl_call_manager(ctl, "Allocate", &error, &reply, "ts", size,
                             ctl->device ? ctl->device : "");
        if (r >= 0)
                /* fd belongs to the reply; we only hold the object, not the buffer. */
                r = sd_bus_message_read(reply, "soh", &reply_uuid, &path, &fd);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot allocate %llu bytes on %s"),
                                     (unsigned long long) size,
                                     ctl->device ? ctl->device : _("the first DRM device"));

        if (ctl->json)
                ctl_json_print_new_object(ctl, reply_uuid, path, size);
        else if (ctl->quiet)
                printf("%s\n", reply_uuid);
        else
                printf(_("Allocated %s (%llu bytes) as %s.\n"), reply_uuid,
                       (unsigned long long) size, path);
        fflush(stdout);
        uuid = g_strdup(reply_uuid);
        /* The buffer goes with the reply: the service keeps its own. */
        reply = sd_bus_message_unref(reply);

        if (ctl->detach)
                return ctl_disown_object(ctl, uuid);
        return ctl_hold_object(ctl, uuid);
}
