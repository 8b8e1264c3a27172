/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl list, show: the shared objects of the virtio-dmabuf table. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* The OWNER cell: one word, so that each column is one for awk and cut
 * (a bus client's "comm[pid] (user)" loses its space). */
static char *owner_cell(const CtlObject *o, GPtrArray *peers)
{
        const char *display = ctl_object_owner_display(o, peers);
        char *cell = g_strdup(display);
        char *space = strstr(cell, " (");

        if (display == o->owner_process && space)
                memmove(space, space + 1, strlen(space));
        return cell;
}

int verb_list(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(GPtrArray) objects = NULL;
        g_autoptr(GPtrArray) peers = NULL;
        g_autoptr(CtlTable) table = NULL;
        g_autofree char *footer = NULL;
        int r;

        r = ctl_get_managed(ctl, &objects, &peers, NULL);
        if (r != CTL_EXIT_OK)
                return r;

        table = ctl_table_new("UUID", "TYPE", "OWNER", "SIZE", "EXPORTER", "LOOKUPS", NULL);
        for (guint i = 0; i < objects->len; i++) {
                const CtlObject *o = g_ptr_array_index(objects, i);
                g_autofree char *owner = owner_cell(o, peers);
                char size[32], lookups[32];

                g_snprintf(lookups, sizeof(lookups), "%" PRIu64, o->lookup_count);
                ctl_table_add_row(table, ctl_json_object(o, peers), o->uuid ? o->uuid : "-",
                                  ctl_object_kind(o), owner,
                                  o->size ? ctl_format_size(o->size, size) : "-",
                                  ctl_cell(o->exporter), lookups, NULL);
        }
        footer = g_strdup_printf(
            ngettext("\n%u object listed.\n", "\n%u objects listed.\n", objects->len),
            objects->len);
        ctl_table_print(table, ctl, _("No objects.\n"), footer);
        return CTL_EXIT_OK;
}

/* An owning peer's name, for show; NULL when it cannot be read. */
static char *peer_name(Ctl *ctl, const char *path)
{
        char *name = NULL;

        if (sd_bus_get_property_string(ctl->bus, BUS_NAME, path, BUS_PEER_INTERFACE, "Name", NULL,
                                       &name) < 0)
                return NULL;
        return name;
}

static void print_label(const char *label)
{
        ctl_print_label(label, 10);
}

/* "  Label:    value" for the properties that are not always there. */
static void print_optional(const char *label, const char *value)
{
        if (!value || !*value)
                return;
        print_label(label);
        printf("%s\n", value);
}

static bool owned_by_peer(const CtlObject *o)
{
        return o->owner && strcmp(o->owner, "/") != 0;
}

static void print_owner(Ctl *ctl, const CtlObject *o)
{
        print_label(_("Owner:"));
        if (owned_by_peer(o)) {
                g_autofree char *name = peer_name(ctl, o->owner);

                printf("%s (%s)\n", name ? name : "?", o->owner);
        } else if (o->owner_bus_name && *o->owner_bus_name)
                printf(_("%s, bus client %s\n"), o->owner_process, o->owner_bus_name);
        else
                printf("%s\n", _("the service"));
}

int verb_show(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(CtlObject) o = NULL;
        char size[32], when[80];
        CtlUuid uuid;
        int r;

        r = ctl_parse_uuid_arg(argv[1], &uuid);
        if (r != CTL_EXIT_OK)
                return r;
        r = ctl_get_object(ctl, uuid.str, &o);
        if (r != CTL_EXIT_OK)
                return r;

        if (ctl->json) {
                g_autoptr(GPtrArray) peers = NULL;
                g_autoptr(JsonNode) json = NULL;

                /* The owner's display name needs the peers. */
                if (owned_by_peer(o))
                        (void) ctl_get_managed(ctl, NULL, &peers, NULL);
                json = ctl_json_object(o, peers);
                ctl_json_print(ctl, json);
                return CTL_EXIT_OK;
        }

        printf("%s\n", o->uuid);
        print_label(_("Type:"));
        printf("%s\n", ctl_object_kind(o));
        print_label(_("Path:"));
        printf("%s\n", o->path);
        print_owner(ctl, o);
        print_label(_("Size:"));
        if (o->size)
                printf("%" PRIu64 " (%s)\n", o->size, ctl_format_size(o->size, size));
        else
                printf("%s\n", _("unknown until it is looked up (a back-end holds the buffer)"));
        print_optional(_("Exporter:"), o->exporter);
        print_optional(_("Name:"), o->name);
        print_optional(_("Device:"), o->device);
        print_label(_("Created:"));
        printf("%s\n", ctl_format_timestamp(ctl, o->created_usec, true, when));
        print_label(_("Lookups:"));
        printf("%" PRIu64 "\n", o->lookup_count);
        return CTL_EXIT_OK;
}
