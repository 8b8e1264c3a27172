/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl monitor: one line per event (objects added, removed and
 * looked up, peers and DRM devices appearing, changing and going, the
 * service starting and stopping) until SIGINT or SIGTERM. A signal that
 * does not parse is passed over: the monitor shows what it can read. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

typedef struct {
        Ctl *ctl;
        GString *line;    /* the text form of the event */
        JsonObject *json; /* the JSON form, with --json */
        /* path -> (property -> formatted value): the service may announce
         * unchanged properties along with changed ones; we print changes. */
        GHashTable *known;
} Monitor;

/* Starts a line: the timestamp and the event's name. */
static void line_begin(Monitor *m, const char *event)
{
        char when[80];
        uint64_t now = (uint64_t) g_get_real_time();

        g_string_truncate(m->line, 0);
        g_clear_pointer(&m->json, json_object_unref);
        if (m->ctl->json) {
                m->json = json_object_new();
                json_object_set_int_member(m->json, "time_usec", (gint64) now);
                json_object_set_string_member(m->json, "event", event);
        } else
                g_string_append_printf(m->line, "%s %-13s",
                                       ctl_format_timestamp(m->ctl, now, false, when), event);
}

static void line_field(Monitor *m, const char *key, const char *value)
{
        if (m->json)
                json_object_set_string_member(m->json, key, value ?: "");
        else
                g_string_append_printf(m->line, " %s", ctl_cell(value));
}

static void line_end(Monitor *m)
{
        if (m->json) {
                g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

                json_node_take_object(node, g_steal_pointer(&m->json));
                ctl_json_print(m->ctl, node);
        } else
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

/* How an integer property reads in text, one format per field wherever
 * it is shown: feature bits in hex, modes in octal, unknown ids as "-"
 * (JSON: numbers, and null for unknown). */
typedef enum {
        FORMAT_DECIMAL,
        FORMAT_HEX,
        FORMAT_OCTAL,
        FORMAT_PID, /* 0: unknown */
        FORMAT_UID, /* (uid_t) -1: unknown */
} IntegerFormat;

static const struct {
        const char *property;
        IntegerFormat format;
} integer_formats[] = {
    {"Features", FORMAT_HEX}, {"ProtocolFeatures", FORMAT_HEX},
    {"Mode", FORMAT_OCTAL},   {"Pid", FORMAT_PID},
    {"Uid", FORMAT_UID},
};

static IntegerFormat integer_format(const char *property)
{
        for (size_t i = 0; i < G_N_ELEMENTS(integer_formats); i++)
                if (strcmp(integer_formats[i].property, property) == 0)
                        return integer_formats[i].format;
        return FORMAT_DECIMAL;
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

/* A property's value, as text (to print, and to tell changes) and JSON. */
typedef struct {
        GString *text;
        JsonNode *json;
} Value;

static void set_integer(Value *v, const char *property, bool is_signed, int64_t i, uint64_t u)
{
        IntegerFormat format = integer_format(property);

        if ((format == FORMAT_PID && u == 0) || (format == FORMAT_UID && u == UINT32_MAX)) {
                g_string_append_c(v->text, '-');
                v->json = json_node_new(JSON_NODE_NULL);
                return;
        }
        if (is_signed)
                g_string_append_printf(v->text, "%" PRIi64, i);
        else if (format == FORMAT_HEX)
                g_string_append_printf(v->text, "0x%" PRIx64, u);
        else if (format == FORMAT_OCTAL)
                g_string_append_printf(v->text, "%04" PRIo64, u);
        else
                g_string_append_printf(v->text, "%" PRIu64, u);
        v->json = json_node_init_int(json_node_alloc(), is_signed ? i : (int64_t) u);
}

static void set_string(Value *v, const char *s)
{
        /* "" is visible in text as a pair of quotes. */
        if (*s)
                g_string_append(v->text, s);
        else
                g_string_append(v->text, "\"\"");
        v->json = json_node_init_string(json_node_alloc(), s);
}

/* A basic value of type into v. */
static int format_basic(sd_bus_message *msg, const char *property, char type, Value *v)
{
        BasicValue b = {0};
        int r;

        r = sd_bus_message_read_basic(msg, type, &b);
        if (r < 0)
                return r;
        switch (type) {
        case 's':
        case 'o':
        case 'g':
                set_string(v, b.s);
                break;
        case 'b':
                g_string_append(v->text, b.b ? "true" : "false");
                v->json = json_node_init_boolean(json_node_alloc(), b.b);
                break;
        case 'd':
                g_string_append_printf(v->text, "%g", b.d);
                v->json = json_node_init_double(json_node_alloc(), b.d);
                break;
        case 'n':
                set_integer(v, property, true, b.n, 0);
                break;
        case 'i':
                set_integer(v, property, true, b.i, 0);
                break;
        case 'x':
                set_integer(v, property, true, b.x, 0);
                break;
        case 'y':
                set_integer(v, property, false, 0, b.y);
                break;
        case 'q':
                set_integer(v, property, false, 0, b.q);
                break;
        case 'u':
                set_integer(v, property, false, 0, b.u);
                break;
        default:
                set_integer(v, property, false, 0, b.t);
                break;
        }
        return 0;
}

/* A string array: a,b in text, an array in JSON. */
static int format_strv(sd_bus_message *msg, Value *v)
{
        g_auto(GStrv) strv = NULL;
        g_autoptr(JsonArray) array = json_array_new();
        int r;

        r = sd_bus_message_read_strv(msg, &strv);
        if (r < 0)
                return r;
        for (char **s = strv; s && *s; s++) {
                if (s != strv)
                        g_string_append_c(v->text, ',');
                g_string_append(v->text, *s);
                json_array_add_string_element(array, *s);
        }
        v->json = json_node_init_array(json_node_alloc(), array);
        return 0;
}

/* One variant's value into v. */
static int format_variant(sd_bus_message *msg, const char *property, Value *v)
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
                r = format_basic(msg, property, contents[0], v);
        else if (strcmp(contents, "as") == 0)
                r = format_strv(msg, v);
        else {
                r = sd_bus_message_skip(msg, contents);
                g_string_append_c(v->text, '?');
                v->json = json_node_new(JSON_NODE_NULL);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

typedef struct {
        Monitor *monitor;
        GHashTable *known;      /* of the path */
        JsonObject *properties; /* with --json */
        unsigned n_changed;
} PropsPrinter;

static int append_prop(sd_bus_message *msg, const char *name, void *userdata)
{
        PropsPrinter *p = userdata;
        g_autoptr(GString) text = g_string_new(NULL);
        Value v = {.text = text};
        int r;

        r = format_variant(msg, name, &v);
        if (r < 0) {
                g_clear_pointer(&v.json, json_node_unref);
                return r;
        }
        if (g_strcmp0(g_hash_table_lookup(p->known, name), text->str) == 0) {
                json_node_unref(v.json);
                return 1;
        }
        if (p->properties)
                json_object_set_member(p->properties, name, v.json);
        else {
                json_node_unref(v.json);
                g_string_append_printf(p->monitor->line, " %s=%s", name, text->str);
        }
        g_hash_table_insert(p->known, g_strdup(name), g_string_free(g_steal_pointer(&text), false));
        p->n_changed++;
        return 1;
}

/* Appends an a{sv} as " Name=value..." or a "properties" member, only
 * what differs from what we knew of path. Returns how many were appended. */
static int append_props(Monitor *m, sd_bus_message *msg, const char *path)
{
        PropsPrinter p = {.monitor = m};
        int r;

        p.known = g_hash_table_lookup(m->known, path);
        if (!p.known) {
                p.known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
                g_hash_table_insert(m->known, g_strdup(path), p.known);
        }
        if (m->json) {
                p.properties = json_object_new();
                json_object_set_object_member(m->json, "properties", p.properties);
        }
        r = ctl_read_dict(msg, 's', "v", append_prop, &p);
        if (r < 0)
                return r;
        return (int) p.n_changed;
}

/* "LookedUp UUID by IMPORTER: RESULT"; the importer is a peer's path or a
 * bus name, the result "ok" or an error name. */
static void print_looked_up(Monitor *m, const char *uuid, const char *importer, const char *result)
{
        line_begin(m, "LookedUp");
        if (m->json) {
                line_field(m, "uuid", uuid);
                line_field(m, "importer", importer);
                line_field(m, "result", result);
        } else
                g_string_append_printf(m->line, " %s by %s: %s", uuid, ctl_cell(importer), result);
        line_end(m);
}

static int on_manager_signal(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Monitor *m = userdata;
        const char *uuid, *path, *type, *importer, *result;

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
        } else if (sd_bus_message_is_signal(msg, BUS_MANAGER_INTERFACE, "LookedUp") &&
                   sd_bus_message_read(msg, "sss", &uuid, &importer, &result) >= 0)
                print_looked_up(m, uuid, importer, result);
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
        int r;
        _cleanup_(sd_event_unrefp) sd_event *ev = NULL;

        r = ctl_event_new(ctl, NULL, NULL, &ev);
        /* Synchronous AddMatch: once the header is out, no event is missed. */
        for (size_t i = 0; r >= 0 && i < G_N_ELEMENTS(matches); i++)
                r = sd_bus_add_match(ctl->bus, NULL, matches[i].rule, matches[i].handler, &m);
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot subscribe to the service's signals"));

        if (!ctl->no_legend && ctl_chatty(ctl)) {
                printf(_("Monitoring %s; press Ctrl-C to stop.\n"), BUS_NAME);
                fflush(stdout);
        }
        r = sd_event_loop(ev);
        (void) sd_bus_detach_event(ctl->bus);
        g_clear_pointer(&m.json, json_object_unref);
        if (r != 0) {
                fprintf(stderr, _("%s: the bus connection was lost\n"),
                        program_invocation_short_name);
                return CTL_EXIT_NO_SERVICE;
        }
        return CTL_EXIT_OK;
}
