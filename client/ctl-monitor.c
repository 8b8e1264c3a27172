/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl monitor: one line per event (objects added and removed,
 * peers appearing, changing and going, the service starting and stopping)
 * until SIGINT or SIGTERM. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "ctl.h"

typedef struct {
        Ctl *ctl;
        GString *line;
        /* path -> (property -> formatted value): the service may announce
         * unchanged properties along with changed ones; we print changes. */
        GHashTable *known;
} Monitor;

/* Starts a line: the timestamp and the event's name. */
static void line_begin(Monitor *m, const char *event)
{
        char when[64];
        uint64_t now = (uint64_t) g_get_real_time();

        g_string_truncate(m->line, 0);
        if (m->ctl->json)
                g_string_append_printf(m->line, "{\"time_usec\": %" PRIu64 ", \"event\": \"%s\"",
                                       now, event);
        else
                g_string_append_printf(m->line, "%s %-13s", ctl_format_timestamp(now, when), event);
}

static void line_field(Monitor *m, const char *key, const char *value)
{
        if (m->ctl->json) {
                g_string_append_printf(m->line, ", \"%s\": ", key);
                ctl_json_string(m->line, value);
        } else
                g_string_append_printf(m->line, " %s", value && *value ? value : "-");
}

static void line_end(Monitor *m)
{
        if (m->ctl->json)
                g_string_append_c(m->line, '}');
        puts(m->line->str);
        fflush(stdout);
}

static const char *path_tail(const char *path, const char *prefix)
{
        return g_str_has_prefix(path, prefix) ? path + strlen(prefix) : NULL;
}

/* Formats one variant's value into val, as text or JSON. */
static int format_variant(Monitor *m, sd_bus_message *msg, GString *val)
{
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'v', contents);
        if (r < 0)
                return r;
        if (strlen(contents) == 1 && strchr("sogtubiqnxyd", contents[0])) {
                union {
                        const char *s;
                        uint64_t t;
                        int64_t x;
                        uint32_t u;
                        int32_t i;
                        uint16_t q;
                        int16_t n;
                        uint8_t y;
                        int b;
                        double d;
                } v = {0};

                r = sd_bus_message_read_basic(msg, contents[0], &v);
                if (r < 0)
                        return r;
                switch (contents[0]) {
                case 's':
                case 'o':
                case 'g':
                        if (m->ctl->json || !*v.s)
                                ctl_json_string(val, v.s);
                        else
                                g_string_append(val, v.s);
                        break;
                case 'b':
                        g_string_append(val, v.b ? "true" : "false");
                        break;
                case 't':
                        g_string_append_printf(val, "%" PRIu64, v.t);
                        break;
                case 'x':
                        g_string_append_printf(val, "%" PRIi64, v.x);
                        break;
                case 'u':
                        g_string_append_printf(val, "%" PRIu32, v.u);
                        break;
                case 'i':
                        g_string_append_printf(val, "%" PRIi32, v.i);
                        break;
                case 'q':
                        g_string_append_printf(val, "%u", v.q);
                        break;
                case 'n':
                        g_string_append_printf(val, "%d", v.n);
                        break;
                case 'y':
                        g_string_append_printf(val, "%u", v.y);
                        break;
                case 'd':
                        g_string_append_printf(val, "%g", v.d);
                        break;
                }
        } else if (strcmp(contents, "as") == 0) {
                char **strv = NULL;

                r = sd_bus_message_read_strv(msg, &strv);
                if (r < 0)
                        return r;
                if (m->ctl->json) {
                        g_string_append_c(val, '[');
                        for (char **s = strv; s && *s; s++) {
                                if (s != strv)
                                        g_string_append(val, ", ");
                                ctl_json_string(val, *s);
                        }
                        g_string_append_c(val, ']');
                } else {
                        for (char **s = strv; s && *s; s++)
                                g_string_append_printf(val, "%s%s", s != strv ? "," : "", *s);
                }
                for (char **s = strv; s && *s; s++)
                        free(*s);
                free(strv);
        } else {
                r = sd_bus_message_skip(msg, contents);
                if (r < 0)
                        return r;
                g_string_append(val, m->ctl->json ? "null" : "?");
        }
        return sd_bus_message_exit_container(msg);
}

/* Appends an a{sv} as " Name=value..." or ", \"properties\": {...}", only
 * what differs from what we knew of path. Returns how many were appended. */
static int append_props(Monitor *m, sd_bus_message *msg, const char *path)
{
        GHashTable *known = g_hash_table_lookup(m->known, path);
        g_autoptr(GString) val = g_string_new(NULL);
        int r, n = 0;

        if (!known) {
                known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                g_hash_table_insert(m->known, g_strdup(path), known);
        }
        if (m->ctl->json)
                g_string_append(m->line, ", \"properties\": {");
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;
                g_string_truncate(val, 0);
                r = format_variant(m, msg, val);
                if (r < 0)
                        return r;
                if (g_strcmp0(g_hash_table_lookup(known, name), val->str) != 0) {
                        if (m->ctl->json)
                                g_string_append_printf(m->line, "%s\"%s\": %s", n ? ", " : "", name,
                                                       val->str);
                        else
                                g_string_append_printf(m->line, " %s=%s", name, val->str);
                        g_hash_table_insert(known, g_strdup(name), g_strdup(val->str));
                        n++;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (m->ctl->json)
                g_string_append_c(m->line, '}');
        r = sd_bus_message_exit_container(msg);
        return r < 0 ? r : n;
}

static int on_manager_signal(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *uuid, *path, *type;

        if (sd_bus_message_is_signal(msg, CTL_MANAGER_INTERFACE, "Added") &&
            sd_bus_message_read(msg, "sos", &uuid, &path, &type) >= 0) {
                line_begin(m, "Added");
                line_field(m, "uuid", uuid);
                line_field(m, "type", type);
                line_field(m, "path", path);
                line_end(m);
        } else if (sd_bus_message_is_signal(msg, CTL_MANAGER_INTERFACE, "Removed") &&
                   sd_bus_message_read(msg, "so", &uuid, &path) >= 0) {
                line_begin(m, "Removed");
                line_field(m, "uuid", uuid);
                line_field(m, "path", path);
                line_end(m);
                g_hash_table_remove(m->known, path);
        }
        return 0;
}

/* What an ObjectManager path is, for InterfacesAdded/Removed: a peer or a
 * DRM device (objects are reported by Added/Removed already). Sets *what
 * to "Peer" or "Device", *iface, and *ret_id to the path's last element
 * (decoded for devices). */
static bool classify(const char *path, const char **what, const char **iface, char **ret_id)
{
        const char *id;

        if ((id = path_tail(path, CTL_PEER_PATH_PREFIX))) {
                *what = "Peer";
                *iface = CTL_PEER_INTERFACE;
                *ret_id = g_strdup(id);
                return true;
        }
        if (path_tail(path, CTL_DEVICE_PATH_PREFIX)) {
                char *name = NULL;

                if (sd_bus_path_decode(path, "/org/vhostshare/share1/device", &name) <= 0)
                        return false;
                *what = "Device";
                *iface = CTL_DEVICE_INTERFACE;
                *ret_id = g_strdup(name);
                free(name);
                return true;
        }
        return false;
}

static int on_interfaces_added(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        g_autofree char *id = NULL;
        const char *path, *what, *want;
        int r;

        if (sd_bus_message_read(msg, "o", &path) < 0 || !classify(path, &what, &want, &id))
                return 0;
        r = sd_bus_message_enter_container(msg, 'a', "{sa{sv}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(msg, 'e', "sa{sv}")) > 0) {
                g_autofree char *event = g_strconcat(what, "Added", NULL);
                const char *iface;

                r = sd_bus_message_read(msg, "s", &iface);
                if (r < 0)
                        break;
                if (strcmp(iface, want) == 0) {
                        line_begin(m, event);
                        line_field(m, "id", id);
                        line_field(m, "path", path);
                        g_hash_table_remove(m->known, path);
                        r = append_props(m, msg, path);
                        if (r >= 0)
                                line_end(m);
                } else
                        r = sd_bus_message_skip(msg, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
        }
        return 0;
}

static int on_interfaces_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        g_autofree char *id = NULL, *event = NULL;
        const char *path, *what, *want;

        if (sd_bus_message_read(msg, "o", &path) < 0 || !classify(path, &what, &want, &id))
                return 0;
        event = g_strconcat(what, "Removed", NULL);
        line_begin(m, event);
        line_field(m, "id", id);
        line_field(m, "path", path);
        line_end(m);
        g_hash_table_remove(m->known, path);
        return 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *path = sd_bus_message_get_path(msg), *iface, *tail;

        if (!path || sd_bus_message_read(msg, "s", &iface) < 0)
                return 0;
        if ((tail = path_tail(path, CTL_PEER_PATH_PREFIX))) {
                line_begin(m, "PeerChanged");
                line_field(m, "id", tail);
        } else if ((tail = path_tail(path, CTL_OBJECT_PATH_PREFIX))) {
                char uuid[37];

                line_begin(m, "ObjectChanged");
                line_field(m, "uuid", ctl_parse_uuid(tail, uuid) ? uuid : tail);
        } else
                return 0; /* the manager's counters: Added/Removed say more */
        line_field(m, "path", path);
        if (append_props(m, msg, path) > 0)
                line_end(m);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (*new_owner) {
                line_begin(m, "ServiceStarted");
                line_field(m, "owner", new_owner);
        } else {
                line_begin(m, "ServiceStopped");
                line_field(m, "owner", old_owner);
        }
        line_end(m);
        return 0;
}

int verb_monitor(Ctl *ctl, int argc, char **argv)
{
        static const struct {
                const char *rule;
                sd_bus_message_handler_t handler;
        } matches[] = {
            {"type='signal',sender='" CTL_BUS_NAME "',path='" CTL_MANAGER_PATH
             "',interface='" CTL_MANAGER_INTERFACE "'",
             on_manager_signal},
            {"type='signal',sender='" CTL_BUS_NAME "',path='" CTL_MANAGER_PATH
             "',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
             on_interfaces_added},
            {"type='signal',sender='" CTL_BUS_NAME "',path='" CTL_MANAGER_PATH
             "',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
             on_interfaces_removed},
            {"type='signal',sender='" CTL_BUS_NAME
             "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
             "path_namespace='" CTL_MANAGER_PATH "'",
             on_properties_changed},
            {"type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" CTL_BUS_NAME "'",
             on_name_owner_changed},
        };
        g_autoptr(GString) line = g_string_new(NULL);
        g_autoptr(GHashTable) known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_hash_table_unref);
        Monitor m = {.ctl = ctl, .line = line, .known = known};
        sd_event *ev = NULL;
        int r;

        r = ctl_event_new(ctl, NULL, NULL, &ev);
        /* Synchronous AddMatch: once the header is out, no event is missed. */
        for (size_t i = 0; r >= 0 && i < G_N_ELEMENTS(matches); i++)
                r = sd_bus_add_match(ctl->bus, NULL, matches[i].rule, matches[i].handler, &m);
        if (r < 0) {
                sd_event_unref(ev);
                return ctl_bus_error(NULL, r, _("cannot subscribe to the service's signals"));
        }

        if (!ctl->no_legend && !ctl->json) {
                printf(_("Monitoring %s; press Ctrl-C to stop.\n"), CTL_BUS_NAME);
                fflush(stdout);
        }
        r = sd_event_loop(ev);
        sd_bus_detach_event(ctl->bus);
        sd_event_unref(ev);
        if (r != 0) {
                fprintf(stderr, _("%s: the bus connection was lost\n"),
                        program_invocation_short_name);
                return CTL_EXIT_NO_SERVICE;
        }
        return CTL_EXIT_OK;
}
