/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl devices, allocate: dma-bufs allocated on DRM devices. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void message_unrefp(sd_bus_message **m)
{
        sd_bus_message_unref(*m);
}

static void strv_freep(char ***strv)
{
        for (char **s = *strv; s && *s; s++)
                free(*s);
        free(*strv);
}

/* What org.vhostshare.share1.Device at /org/vhostshare/share1/device/SYSNAME
 * says about a device node; "" for what the service does not tell (a device
 * that went away in between). */
typedef struct {
        char *kind;
        char *driver;
        char *pci_slot;
} CtlDeviceFacts;

static void device_facts_clear(CtlDeviceFacts *f)
{
        free(f->kind);
        free(f->driver);
        free(f->pci_slot);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlDeviceFacts, device_facts_clear)

static char *device_property(Ctl *ctl, const char *path, const char *name)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *v = NULL;

        if (sd_bus_get_property_string(ctl->bus, CTL_BUS_NAME, path, CTL_DEVICE_INTERFACE, name,
                                       &error, &v) < 0)
                v = NULL;
        sd_bus_error_free(&error);
        return v ? v : strdup("");
}

static void device_facts(Ctl *ctl, const char *devnode, CtlDeviceFacts *f)
{
        const char *sysname = strrchr(devnode, '/');
        char *path = NULL;

        if (sd_bus_path_encode(CTL_MANAGER_PATH "/device", sysname ? sysname + 1 : devnode,
                               &path) >= 0) {
                f->kind = device_property(ctl, path, "Kind");
                f->driver = device_property(ctl, path, "Driver");
                f->pci_slot = device_property(ctl, path, "PciSlot");
        }
        free(path);
        if (!f->kind)
                f->kind = strdup("");
        if (!f->driver)
                f->driver = strdup("");
        if (!f->pci_slot)
                f->pci_slot = strdup("");
}

int verb_devices(Ctl *ctl, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        __attribute__((cleanup(strv_freep))) char **devices = NULL;
        g_autoptr(CtlTable) table = NULL;
        guint n = 0;
        int r;

        r = sd_bus_get_property_strv(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH,
                                     CTL_MANAGER_INTERFACE, "Devices", &error, &devices);
        if (r < 0) {
                r = ctl_bus_error(&error, r, _("cannot list the DRM devices"));
                sd_bus_error_free(&error);
                return r;
        }

        if (ctl->json) {
                g_autoptr(GString) out = g_string_new("[");

                for (char **d = devices; d && *d; d++, n++) {
                        g_auto(CtlDeviceFacts) f = {0};

                        device_facts(ctl, *d, &f);
                        g_string_append(out, n ? ",\n  {\"device\": " : "\n  {\"device\": ");
                        ctl_json_string(out, *d);
                        g_string_append(out, ", \"kind\": ");
                        ctl_json_string(out, f.kind);
                        g_string_append(out, ", \"driver\": ");
                        ctl_json_string(out, f.driver);
                        g_string_append(out, ", \"pci_slot\": ");
                        ctl_json_string(out, f.pci_slot);
                        g_string_append_c(out, '}');
                }
                g_string_append(out, n ? "\n]\n" : "]\n");
                fputs(out->str, stdout);
                return CTL_EXIT_OK;
        }

        table = ctl_table_new("DEVICE", "KIND", "DRIVER", "PCI", NULL);
        for (char **d = devices; d && *d; d++, n++) {
                g_auto(CtlDeviceFacts) f = {0};

                device_facts(ctl, *d, &f);
                ctl_table_add_row(table, *d, f.kind[0] ? f.kind : "-", f.driver[0] ? f.driver : "-",
                                  f.pci_slot[0] ? f.pci_slot : "-", NULL);
        }
        if (n > 0 || ctl->no_legend)
                ctl_table_print(table, ctl->no_legend);
        if (!ctl->no_legend)
                printf(ngettext("\n%u device listed.\n", "\n%u devices listed.\n", n), n);
        return CTL_EXIT_OK;
}

int verb_allocate(Ctl *ctl, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        const char *uuid, *path;
        uint64_t size;
        int fd, r;

        if (!ctl_parse_size(argv[1], &size) || size == 0)
                return ctl_usage_error(_("invalid size \"%s\""), argv[1]);
        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                               "Allocate", &error, &reply, "ts", size,
                               ctl->device ? ctl->device : "");
        if (r >= 0)
                /* fd belongs to the reply; we only hold the object, not the buffer. */
                r = sd_bus_message_read(reply, "soh", &uuid, &path, &fd);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf(
                    _("cannot allocate %llu bytes on %s"), (unsigned long long) size,
                    ctl->device ? ctl->device : _("the first DRM device"));

                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        g_autofree char *uuid_copy = g_strdup(uuid);

        if (ctl->json)
                ctl_json_print_new_object(uuid, path, size);
        else
                printf(_("Allocated %s (%llu bytes) as %s.\n"), uuid, (unsigned long long) size,
                       path);
        fflush(stdout);
        reply = sd_bus_message_unref(reply);

        if (ctl->detach)
                return ctl_disown_object(ctl, uuid_copy);
        return ctl_hold_object(ctl, uuid_copy);
}
