/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl monitor: one line per event (objects added and removed,
 * peers and DRM devices appearing, changing and going, the service starting
 * and stopping) until SIGINT or SIGTERM. A signal that does not parse is
 * passed over: the monitor shows what it can read. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
        if (m->ctl->json)
                ctl_json_member_string(m->line, key, value);
        else
                g_string_append_printf(m->line, " %s", ctl_cell(value));
}

static void line_end(Monitor *m)
{
        if (m->ctl->json)
                g_string_append_c(m->line, '}');
        puts(m->line->str);
        fflush(stdout);
}

/* A line with the id (or UUID) and path of what the event is about. */
static void print_event(Monitor *m, const char *event, const char *id_key, const char *id,
                        const char *path)
{
        line_begin(m, event);
        line_field(m, id_key, id);
        line_field(m, "path", path);
        line_end(m);
}

static const char *path_tail(const char *path, const char *prefix)
{
        return g_str_has_prefix(path, prefix) ? path + strlen(prefix) : NULL;
}

typedef union {
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
} BasicValue;

/* An integer prints as its value, whatever its width. */
static void append_integer(GString *val, char type, const BasicValue *v)
{
        if (strchr("nix", type))
                g_string_append_printf(val, "%" PRIi64,
                                       type == 'n'   ? (int64_t) v->n
                                       : type == 'i' ? (int64_t) v->i
                                                     : v->x);
        else
                g_string_append_printf(val, "%" PRIu64,
                                       type == 'y'   ? (uint64_t) v->y
                                       : type == 'q' ? (uint64_t) v->q
                                       : type == 'u' ? (uint64_t) v->u
                                                     : v->t);
}

/* A basic value, in text or JSON. */
static int format_basic(Monitor *m, sd_bus_message *msg, char type, GString *val)
{
        BasicValue v = {0};
        int r;

        r = sd_bus_message_read_basic(msg, type, &v);
        if (r < 0)
                return r;
        switch (type) {
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
        case 'd':
                g_string_append_printf(val, "%g", v.d);
                break;
        default:
                append_integer(val, type, &v);
                break;
        }
        return 0;
}

/* A string array: ["a", "b"] in JSON, a,b in text. */
static int format_strv(Monitor *m, sd_bus_message *msg, GString *val)
{
        g_auto(GStrv) strv = NULL;
        int r;

        r = sd_bus_message_read_strv(msg, &strv);
        if (r < 0)
                return r;
        if (m->ctl->json)
                g_string_append_c(val, '[');
        for (char **s = strv; s && *s; s++) {
                if (s != strv)
                        g_string_append(val, m->ctl->json ? ", " : ",");
                if (m->ctl->json)
                        ctl_json_string(val, *s);
                else
                        g_string_append(val, *s);
        }
        if (m->ctl->json)
                g_string_append_c(val, ']');
        return 0;
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
        if (strlen(contents) == 1 && strchr("sogtubiqnxyd", contents[0]))
                r = format_basic(m, msg, contents[0], val);
        else if (strcmp(contents, "as") == 0)
                r = format_strv(m, msg, val);
        else {
                r = sd_bus_message_skip(msg, contents);
                g_string_append(val, m->ctl->json ? "null" : "?");
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

typedef struct {
        Monitor *monitor;
        GHashTable *known; /* of the path */
        GString *val;
        unsigned n_changed;
} PropsPrinter;

static int append_prop(sd_bus_message *msg, const char *name, void *userdata)
{
        PropsPrinter *p = userdata;
        GString *line = p->monitor->line;
        int r;

        g_string_truncate(p->val, 0);
        r = format_variant(p->monitor, msg, p->val);
        if (r < 0)
                return r;
        if (g_strcmp0(g_hash_table_lookup(p->known, name), p->val->str) == 0)
                return 1;
        if (p->monitor->ctl->json)
                g_string_append_printf(line, "%s\"%s\": %s", p->n_changed ? ", " : "", name,
                                       p->val->str);
        else
                g_string_append_printf(line, " %s=%s", name, p->val->str);
        g_hash_table_insert(p->known, g_strdup(name), g_strdup(p->val->str));
        p->n_changed++;
        return 1;
}

/* Appends an a{sv} as " Name=value..." or ", \"properties\": {...}", only
 * what differs from what we knew of path. Returns how many were appended. */
static int append_props(Monitor *m, sd_bus_message *msg, const char *path)
{
        g_autoptr(GString) val = g_string_new(NULL);
        PropsPrinter p = {.monitor = m, .val = val};
        int r;

        p.known = g_hash_table_lookup(m->known, path);
        if (!p.known) {
                p.known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                g_hash_table_insert(m->known, g_strdup(path), p.known);
        }
        if (m->ctl->json)
                g_string_append(m->line, ", \"properties\": {");
        r = ctl_read_dict(msg, 's', "v", append_prop, &p);
        if (r < 0)
                return r;
        if (m->ctl->json)
                g_string_append_c(m->line, '}');
        return (int) p.n_changed;
}

static int on_manager_signal(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *uuid, *path, *type;

        if (sd_bus_message_is_signal(msg, BUS_MANAGER_INTERFACE, "Added") &&
            sd_bus_message_read(msg, "sos", &uuid, &path, &type) >= 0) {
                line_begin(m, "Added");
                line_field(m, "uuid", uuid);
                line_field(m, "type", type);
                line_field(m, "path", path);
                line_end(m);
        } else if (sd_bus_message_is_signal(msg, BUS_MANAGER_INTERFACE, "Removed") &&
                   sd_bus_message_read(msg, "so", &uuid, &path) >= 0) {
                print_event(m, "Removed", "uuid", uuid, path);
                g_hash_table_remove(m->known, path);
        }
        return 0;
}

/* What an ObjectManager path is, for InterfacesAdded/Removed: a peer, a
 * listener or a DRM device (objects are reported by Added/Removed already). */
typedef struct {
        const char *what;      /* "Peer", "Listener", "Device": the events' names start with it */
        const char *interface; /* the interface that makes it one */
        char *id;              /* the path's last element, decoded for devices */
} PathKind;

static bool classify(const char *path, PathKind *ret)
{
        g_autofree char *name = NULL;
        const char *id;

        if ((id = path_tail(path, BUS_PEER_PREFIX "/"))) {
                *ret = (PathKind){"Peer", BUS_PEER_INTERFACE, g_strdup(id)};
                return true;
        }
        if ((id = path_tail(path, BUS_LISTENER_PREFIX "/"))) {
                *ret = (PathKind){"Listener", BUS_LISTENER_INTERFACE, g_strdup(id)};
                return true;
        }
        if (path_tail(path, BUS_DEVICE_PREFIX "/") &&
            sd_bus_path_decode(path, BUS_DEVICE_PREFIX, &name) > 0) {
                *ret = (PathKind){"Device", BUS_DEVICE_INTERFACE, g_steal_pointer(&name)};
                return true;
        }
        return false;
}

typedef struct {
        Monitor *monitor;
        const char *path;
        PathKind kind;
} AddedPrinter;

static int print_added_interface(sd_bus_message *msg, const char *interface, void *userdata)
{
        AddedPrinter *a = userdata;
        Monitor *m = a->monitor;
        g_autofree char *event = NULL;
        int r;

        if (strcmp(interface, a->kind.interface) != 0)
                return 0;
        event = g_strconcat(a->kind.what, "Added", NULL);
        line_begin(m, event);
        line_field(m, "id", a->kind.id);
        line_field(m, "path", a->path);
        g_hash_table_remove(m->known, a->path);
        r = append_props(m, msg, a->path);
        if (r < 0)
                return r;
        line_end(m);
        return 1;
}

static int on_interfaces_added(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        AddedPrinter a = {.monitor = userdata};

        if (sd_bus_message_read(msg, "o", &a.path) < 0 || !classify(a.path, &a.kind))
                return 0;
        (void) ctl_read_dict(msg, 's', "a{sv}", print_added_interface, &a);
        g_free(a.kind.id);
        return 0;
}

static int on_interfaces_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        g_autofree char *event = NULL;
        const char *path;
        PathKind kind;

        if (sd_bus_message_read(msg, "o", &path) < 0 || !classify(path, &kind))
                return 0;
        event = g_strconcat(kind.what, "Removed", NULL);
        print_event(m, event, "id", kind.id, path);
        g_free(kind.id);
        g_hash_table_remove(m->known, path);
        return 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *path = sd_bus_message_get_path(msg), *iface, *tail;

        if (!path || sd_bus_message_read(msg, "s", &iface) < 0)
                return 0;
        if ((tail = path_tail(path, BUS_PEER_PREFIX "/"))) {
                line_begin(m, "PeerChanged");
                line_field(m, "id", tail);
        } else if ((tail = path_tail(path, BUS_LISTENER_PREFIX "/"))) {
                line_begin(m, "ListenerChanged");
                line_field(m, "id", tail);
        } else if ((tail = path_tail(path, BUS_OBJECT_PREFIX "/"))) {
                CtlUuid uuid;

                line_begin(m, "ObjectChanged");
                line_field(m, "uuid", ctl_parse_uuid(tail, &uuid) ? uuid.str : tail);
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
            {"type='signal',sender='" BUS_NAME "',path='" BUS_MANAGER_PATH
             "',interface='" BUS_MANAGER_INTERFACE "'",
             on_manager_signal},
            {"type='signal',sender='" BUS_NAME "',path='" BUS_MANAGER_PATH
             "',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
             on_interfaces_added},
            {"type='signal',sender='" BUS_NAME "',path='" BUS_MANAGER_PATH
             "',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
             on_interfaces_removed},
            {"type='signal',sender='" BUS_NAME
             "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
             "path_namespace='" BUS_MANAGER_PATH "'",
             on_properties_changed},
            {CTL_MATCH_SERVICE_OWNER, on_name_owner_changed},
        };
        g_autoptr(GString) line = g_string_new(NULL);
        g_autoptr(GHashTable) known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) g_hash_table_unref);
        Monitor m = {.ctl = ctl, .line = line, .known = known};
        _cleanup_(sd_event_unrefp) sd_event *ev = NULL;
        int r;

        r = ctl_event_new(ctl, NULL, NULL, &ev);
        /* Synchronous AddMatch: once the header is out, no event is missed. */
        for (size_t i = 0; r >= 0 && i < G_N_ELEMENTS(matches); i++)
                r = sd_bus_add_match(ctl->bus, NULL, matches[i].rule, matches[i].handler, &m);
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot subscribe to the service's signals"));

        if (!ctl->no_legend && !ctl->json) {
                printf(_("Monitoring %s; press Ctrl-C to stop.\n"), BUS_NAME);
                fflush(stdout);
        }
        r = sd_event_loop(ev);
        (void) sd_bus_detach_event(ctl->bus);
        if (r != 0) {
                fprintf(stderr, _("%s: the bus connection was lost\n"),
                        program_invocation_short_name);
                return CTL_EXIT_NO_SERVICE;
        }
        return CTL_EXIT_OK;
}
