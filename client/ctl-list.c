/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl list, show: the virtio-dmabuf table. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void message_unrefp(sd_bus_message **m)
{
        sd_bus_message_unref(*m);
}

int verb_list(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(GPtrArray) objects = NULL;
        g_autoptr(GPtrArray) peers = NULL;
        g_autoptr(CtlTable) table = NULL;
        int r;

        r = ctl_get_managed(ctl, &objects, &peers);
        if (r != CTL_EXIT_OK)
                return r;

        if (ctl->json) {
                g_autoptr(GString) out = g_string_new("[");

                for (guint i = 0; i < objects->len; i++) {
                        g_string_append(out, i ? ",\n  " : "\n  ");
                        ctl_json_object(out, g_ptr_array_index(objects, i), peers);
                }
                g_string_append(out, objects->len ? "\n]\n" : "]\n");
                fputs(out->str, stdout);
                return CTL_EXIT_OK;
        }

        table = ctl_table_new("UUID", "TYPE", "OWNER", "SIZE", "EXPORTER", "LOOKUPS", NULL);
        for (guint i = 0; i < objects->len; i++) {
                const CtlObject *o = g_ptr_array_index(objects, i);
                char size[32], lookups[32];

                g_snprintf(lookups, sizeof(lookups), "%" PRIu64, o->lookup_count);
                ctl_table_add_row(table, o->uuid ? o->uuid : "-", o->type ? o->type : "-",
                                  ctl_object_owner_display(o, peers),
                                  o->size ? ctl_format_size(o->size, size) : "-",
                                  o->exporter && *o->exporter ? o->exporter : "-", lookups, NULL);
        }
        if (objects->len > 0 || ctl->no_legend)
                ctl_table_print(table, ctl->no_legend);
        if (!ctl->no_legend)
                printf(ngettext("\n%u object listed.\n", "\n%u objects listed.\n", objects->len),
                       objects->len);
        return CTL_EXIT_OK;
}

/* The object at uuid's path, with its properties; prints errors. */
static int get_object(Ctl *ctl, const char *uuid, CtlObject **ret)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        g_autoptr(CtlObject) o = g_new0(CtlObject, 1);
        g_autofree char *what = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                               "GetObject", &error, &reply, "s", uuid);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                o->path = g_strdup(path);
                reply = sd_bus_message_unref(reply);
                r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, o->path,
                                       "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                                       "s", CTL_OBJECT_INTERFACE);
        }
        if (r >= 0)
                r = ctl_read_object_props(reply, o);
        if (r < 0) {
                what = g_strdup_printf(_("cannot get object %s"), uuid);
                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        *ret = g_steal_pointer(&o);
        return CTL_EXIT_OK;
}

/* An owning peer's name, for show. */
static char *peer_name(Ctl *ctl, const char *path)
{
        char *name = NULL;

        if (sd_bus_get_property_string(ctl->bus, CTL_BUS_NAME, path, CTL_PEER_INTERFACE, "Name",
                                       NULL, &name) < 0)
                return NULL;
        /* sd-bus allocates with malloc; hand out glib memory. */
        char *copy = g_strdup(name);
        free(name);
        return copy;
}

/* "  Label:    " padded by characters, not bytes: translations are UTF-8. */
static void print_label(const char *label)
{
        glong n = g_utf8_strlen(label, -1);

        printf("  %s%*s ", label, n < 10 ? (int) (10 - n) : 0, "");
}

int verb_show(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(CtlObject) o = NULL;
        char uuid[37], size[32], when[64];
        int r;

        if (!ctl_parse_uuid(argv[1], uuid))
                return ctl_usage_error(_("\"%s\" is not a UUID"), argv[1]);
        r = get_object(ctl, uuid, &o);
        if (r != CTL_EXIT_OK)
                return r;

        if (ctl->json) {
                g_autoptr(GString) out = g_string_new(NULL);
                g_autoptr(GPtrArray) peers = NULL;

                /* The owner's display name needs the peers. */
                if (o->owner && strcmp(o->owner, "/") != 0)
                        (void) ctl_get_managed(ctl, NULL, &peers);
                ctl_json_object(out, o, peers);
                printf("%s\n", out->str);
                return CTL_EXIT_OK;
        }

        printf("%s\n", o->uuid);
        print_label(_("Type:"));
        printf("%s\n", o->type);
        print_label(_("Path:"));
        printf("%s\n", o->path);
        print_label(_("Owner:"));
        if (o->owner && strcmp(o->owner, "/") != 0) {
                g_autofree char *name = peer_name(ctl, o->owner);

                printf("%s (%s)\n", name ? name : "?", o->owner);
        } else if (o->owner_bus_name && *o->owner_bus_name)
                printf("%s\n", o->owner_bus_name);
        else
                printf("%s\n", _("the service"));
        print_label(_("Size:"));
        if (o->size)
                printf("%" PRIu64 " (%s)\n", o->size, ctl_format_size(o->size, size));
        else
                printf("%s\n", _("unknown (the back-end holds the buffer)"));
        if (o->exporter && *o->exporter) {
                print_label(_("Exporter:"));
                printf("%s\n", o->exporter);
        }
        if (o->name && *o->name) {
                print_label(_("Name:"));
                printf("%s\n", o->name);
        }
        if (o->device && *o->device) {
                print_label(_("Device:"));
                printf("%s\n", o->device);
        }
        print_label(_("Created:"));
        printf("%s UTC\n", ctl_format_timestamp(o->created_usec, when));
        print_label(_("Lookups:"));
        printf("%" PRIu64 "\n", o->lookup_count);
        return CTL_EXIT_OK;
}
