/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: what the service publishes (objects, peers, listeners,
 * devices) as
 * records: read from their D-Bus properties, shown as JSON. One table per
 * record type says which property and which JSON member each field is;
 * reading, freeing and JSON are the same code for all. */

#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* The value of a 'u' field that means "not known": JSON null then. */
typedef enum {
        UNKNOWN_NEVER,
        UNKNOWN_IF_ZERO,  /* a pid */
        UNKNOWN_IF_MAX,   /* a uid, (uid_t) -1 */
        UNKNOWN_IF_EMPTY, /* an 's' */
} RecordUnknown;

/* A field of a record: the D-Bus property it is read from and the JSON
 * member it is shown as, in the order of the JSON object. */
typedef struct {
        const char *property; /* NULL: not a property (the path, the devnode) */
        const char *json;     /* NULL: not in the JSON */
        char type;            /* 's', 'o', 't', 'u', 'b' at offset; 0: derive() */
        size_t offset;
        const char *(*derive)(const void *record, GPtrArray *peers);
        RecordUnknown unknown;
} RecordField;

typedef struct {
        const char *interface;
        size_t size;
        const RecordField *fields;    /* up to an empty entry */
        void (*finish)(void *record); /* derives fields once read; may be NULL */
        void (*free_derived)(void *record);
} RecordType;

/* Every record starts with its object path. */
G_STATIC_ASSERT(offsetof(CtlObject, path) == 0);
G_STATIC_ASSERT(offsetof(CtlPeer, path) == 0);
G_STATIC_ASSERT(offsetof(CtlListener, path) == 0);
G_STATIC_ASSERT(offsetof(CtlDevice, path) == 0);

static const char *object_owner(const void *record, GPtrArray *peers)
{
        return ctl_object_owner_display(record, peers);
}

static const char *peer_id(const void *record, GPtrArray *peers)
{
        return ctl_peer_id(record);
}

static const char *listener_id(const void *record, GPtrArray *peers)
{
        return ctl_listener_id(record);
}

/* The JSON member names are a stable interface, listed in vhost-sharectl(1). */
static const RecordField object_fields[] = {
    {"Uuid", "uuid", 's', offsetof(CtlObject, uuid)},
    {NULL, "path", 'o', offsetof(CtlObject, path)},
    {"Type", "type", 's', offsetof(CtlObject, type)},
    {NULL, "owner", 0, 0, object_owner},
    {"Owner", "owner_path", 'o', offsetof(CtlObject, owner)},
    {"OwnerBusName", "owner_bus_name", 's', offsetof(CtlObject, owner_bus_name)},
    {"Size", "size", 't', offsetof(CtlObject, size)},
    {"Exporter", "exporter", 's', offsetof(CtlObject, exporter)},
    {"Name", "name", 's', offsetof(CtlObject, name)},
    {"Device", "device", 's', offsetof(CtlObject, device)},
    {"CreatedTimestamp", "created_usec", 't', offsetof(CtlObject, created_usec)},
    {"LookupCount", "lookup_count", 't', offsetof(CtlObject, lookup_count)},
    {"BufferType", "buffer_type", 's', offsetof(CtlObject, buffer_type),
     .unknown = UNKNOWN_IF_EMPTY},
    {"OwnerPid", "owner_pid", 'u', offsetof(CtlObject, owner_pid), .unknown = UNKNOWN_IF_ZERO},
    {"OwnerUid", "owner_uid", 'u', offsetof(CtlObject, owner_uid), .unknown = UNKNOWN_IF_MAX},
    {"OwnerCommand", "owner_command", 's', offsetof(CtlObject, owner_command),
     .unknown = UNKNOWN_IF_EMPTY},
    {},
};

static const RecordField peer_fields[] = {
    {NULL, "id", 0, 0, peer_id},
    {NULL, "path", 'o', offsetof(CtlPeer, path)},
    {"Name", "name", 's', offsetof(CtlPeer, name)},
    {"Role", "role", 's', offsetof(CtlPeer, role)},
    {"SocketPath", "socket_path", 's', offsetof(CtlPeer, socket_path)},
    {"State", "state", 's', offsetof(CtlPeer, state)},
    {"Features", "features", 't', offsetof(CtlPeer, features)},
    {"ProtocolFeatures", "protocol_features", 't', offsetof(CtlPeer, protocol_features)},
    {"SharedObjects", "shared_objects", 'b', offsetof(CtlPeer, shared_objects)},
    {"Pid", "pid", 'u', offsetof(CtlPeer, pid), .unknown = UNKNOWN_IF_ZERO},
    {"Uid", "uid", 'u', offsetof(CtlPeer, uid), .unknown = UNKNOWN_IF_MAX},
    {"ExportedCount", "exported_count", 'u', offsetof(CtlPeer, exported_count)},
    {"LastError", "last_error", 's', offsetof(CtlPeer, last_error)},
    {NULL, NULL, 's', offsetof(CtlPeer, short_name)},
    {},
};

static const RecordField listener_fields[] = {
    {NULL, "id", 0, 0, listener_id},
    {NULL, "path", 'o', offsetof(CtlListener, path)},
    {"SocketPath", "socket_path", 's', offsetof(CtlListener, socket_path)},
    {"Role", "role", 's', offsetof(CtlListener, role)},
    {"Owner", "owner", 'u', offsetof(CtlListener, owner)},
    {"Group", "group", 'u', offsetof(CtlListener, group)},
    {"Mode", "mode", 'u', offsetof(CtlListener, mode)},
    {"AcceptedCount", "accepted_count", 't', offsetof(CtlListener, accepted_count)},
    {"CreatedTimestamp", "created_usec", 't', offsetof(CtlListener, created_usec)},
    {},
};

static const RecordField device_fields[] = {
    {NULL, NULL, 'o', offsetof(CtlDevice, path)},
    {NULL, "device", 's', offsetof(CtlDevice, devnode)},
    {"Kind", "kind", 's', offsetof(CtlDevice, kind)},
    {"Driver", "driver", 's', offsetof(CtlDevice, driver)},
    {"PciSlot", "pci_slot", 's', offsetof(CtlDevice, pci_slot)},
    {},
};

/* A user's name, or the number when it has none; "-" when unknown. */
static char *user_name(uint32_t uid)
{
        struct passwd pw, *found = NULL;
        long max = sysconf(_SC_GETPW_R_SIZE_MAX);
        g_autofree char *buf = g_malloc(max > 0 ? (size_t) max : 16384);

        if (uid == UINT32_MAX)
                return g_strdup("-");
        if (getpwuid_r(uid, &pw, buf, max > 0 ? (size_t) max : 16384, &found) == 0 && found)
                return g_strdup(found->pw_name);
        return g_strdup_printf("%" G_GUINT32_FORMAT, uid);
}

/* "comm[pid] (user)": the process the bus reported for the owner. */
static void object_finish(void *record)
{
        CtlObject *o = record;
        g_autofree char *user = user_name(o->owner_uid);
        g_autofree char *pid =
            o->owner_pid ? g_strdup_printf("%" G_GUINT32_FORMAT, o->owner_pid) : g_strdup("-");

        g_free(o->owner_process);
        o->owner_process = g_strdup_printf("%s[%s] (%s)", ctl_cell(o->owner_command), pid, user);
}

static void object_free_derived(void *record)
{
        g_free(((CtlObject *) record)->owner_process);
}

static const RecordType object_type = {BUS_OBJECT_INTERFACE, sizeof(CtlObject), object_fields,
                                       object_finish, object_free_derived};
static const RecordType peer_type = {BUS_PEER_INTERFACE, sizeof(CtlPeer), peer_fields};
static const RecordType listener_type = {BUS_LISTENER_INTERFACE, sizeof(CtlListener),
                                         listener_fields};
static const RecordType device_type = {BUS_DEVICE_INTERFACE, sizeof(CtlDevice), device_fields};

static bool field_is_end(const RecordField *f)
{
        return !f->property && !f->json && !f->type;
}

static void *record_new(const RecordType *type, const char *path)
{
        char **record = g_malloc0(type->size);

        *record = g_strdup(path);
        return record;
}

static void record_free(const RecordType *type, void *record)
{
        if (!record)
                return;
        for (const RecordField *f = type->fields; !field_is_end(f); f++)
                if (f->type == 's' || f->type == 'o')
                        g_free(*(char **) ((char *) record + f->offset));
        if (type->free_derived)
                type->free_derived(record);
        g_free(record);
}

void ctl_object_free(CtlObject *o)
{
        record_free(&object_type, o);
}

void ctl_peer_free(CtlPeer *p)
{
        record_free(&peer_type, p);
}

void ctl_listener_free(CtlListener *l)
{
        record_free(&listener_type, l);
}

void ctl_device_free(CtlDevice *d)
{
        record_free(&device_type, d);
}

/* One property's variant into its field. */
static int read_field(sd_bus_message *m, const RecordField *f, void *record)
{
        char type[2] = {f->type, 0};
        void *p = (char *) record + f->offset;
        const char *s;
        int b, r;

        r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return r;
        switch (f->type) {
        case 's':
        case 'o':
                r = sd_bus_message_read_basic(m, f->type, &s);
                if (r >= 0) {
                        g_free(*(char **) p);
                        *(char **) p = g_strdup(s);
                }
                break;
        case 'b':
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0)
                        *(bool *) p = b;
                break;
        default:
                r = sd_bus_message_read_basic(m, f->type, p);
                break;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

typedef struct {
        const RecordType *type;
        void *record;
} RecordReader;

/* A property with an unexpected type is an error: the API says what each
 * one is. Unknown ones are skipped. */
static int read_property(sd_bus_message *m, const char *name, void *userdata)
{
        RecordReader *reader = userdata;
        int r;

        for (const RecordField *f = reader->type->fields; !field_is_end(f); f++)
                if (f->property && strcmp(f->property, name) == 0) {
                        r = read_field(m, f, reader->record);
                        return r < 0 ? r : 1;
                }
        return 0;
}

/* The a{sv} at m's position into record. */
static int read_record(sd_bus_message *m, const RecordType *type, void *record)
{
        RecordReader reader = {type, record};
        int r;

        r = ctl_read_dict(m, 's', "v", read_property, &reader);
        if (r >= 0 && type->finish)
                type->finish(record);
        return r;
}

/* Properties.GetAll of record's interface at its path. */
static int get_record(Ctl *ctl, const RecordType *type, void *record, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(ctl->bus, BUS_NAME, *(char **) record,
                               "org.freedesktop.DBus.Properties", "GetAll", error, &reply, "s",
                               type->interface);
        if (r < 0)
                return r;
        return read_record(reply, type, record);
}

int ctl_get_object(Ctl *ctl, const char *uuid, CtlObject **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(CtlObject) o = NULL;
        const char *path;
        int r;

        r = ctl_call_manager(ctl, "GetObject", &error, &reply, "s", uuid);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                o = record_new(&object_type, path);
                r = get_record(ctl, &object_type, o, &error);
        }
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot get object %s"), uuid);
        *ret = g_steal_pointer(&o);
        return CTL_EXIT_OK;
}

CtlDevice *ctl_get_device(Ctl *ctl, const char *devnode)
{
        const char *sysname = strrchr(devnode, '/');
        g_autofree char *path = NULL;
        CtlDevice *d;

        /* A device that went away in between: the caller shows what is known. */
        if (sd_bus_path_encode(BUS_DEVICE_PREFIX, sysname ? sysname + 1 : devnode, &path) < 0)
                path = NULL;
        d = record_new(&device_type, path);
        d->devnode = g_strdup(devnode);
        if (path)
                (void) get_record(ctl, &device_type, d, NULL);
        return d;
}

static int compare_object(gconstpointer a, gconstpointer b)
{
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;

        /* Oldest first, the order things happened in. */
        if (x->created_usec != y->created_usec)
                return x->created_usec < y->created_usec ? -1 : 1;
        return g_strcmp0(x->uuid, y->uuid);
}

/* The last component of a record's path: a peer's or a listener's id. */
static const char *path_id(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* Peers and listeners: by the number their path ends in. */
static int compare_id(gconstpointer a, gconstpointer b)
{
        const char *x = **(char **const *) a, *y = **(char **const *) b;
        unsigned long long ix = g_ascii_strtoull(path_id(x), NULL, 10);
        unsigned long long iy = g_ascii_strtoull(path_id(y), NULL, 10);

        return ix < iy ? -1 : ix > iy;
}

/* The service names a peer "ROLE#ID(on PATH)" or "(to PATH)"; tables show
 * "ROLE#ID" and the socket in a column of its own, so that a path with
 * spaces does not split the name. */
static char *short_peer_name(const char *name)
{
        const char *paren = name ? strchr(name, '(') : NULL;

        if (!paren || paren == name || !g_str_has_suffix(name, ")"))
                return g_strdup(name);
        return g_strndup(name, (size_t) (paren - name));
}

typedef struct {
        const char *path;
        GPtrArray *objects;
        GPtrArray *peers;
        GPtrArray *listeners;
} ManagedReader;

/* One interface of one path: objects, peers and listeners are kept, the
 * rest skipped. */
static int read_managed_interface(sd_bus_message *m, const char *interface, void *userdata)
{
        ManagedReader *reader = userdata;
        const RecordType *type;
        GPtrArray *into;
        void *record;
        int r;

        if (strcmp(interface, object_type.interface) == 0) {
                type = &object_type;
                into = reader->objects;
        } else if (strcmp(interface, peer_type.interface) == 0) {
                type = &peer_type;
                into = reader->peers;
        } else if (strcmp(interface, listener_type.interface) == 0) {
                type = &listener_type;
                into = reader->listeners;
        } else
                return 0;
        record = record_new(type, reader->path);
        g_ptr_array_add(into, record);
        r = read_record(m, type, record);
        return r < 0 ? r : 1;
}

static int read_managed_path(sd_bus_message *m, const char *path, void *userdata)
{
        ManagedReader *reader = userdata;
        int r;

        reader->path = path;
        r = ctl_read_dict(m, 's', "a{sv}", read_managed_interface, reader);
        return r < 0 ? r : 1;
}

int ctl_get_managed(Ctl *ctl, GPtrArray **ret_objects, GPtrArray **ret_peers,
                    GPtrArray **ret_listeners)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) objects =
            g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_peer_free);
        g_autoptr(GPtrArray) listeners =
            g_ptr_array_new_with_free_func((GDestroyNotify) ctl_listener_free);
        ManagedReader reader = {.objects = objects, .peers = peers, .listeners = listeners};
        int r;

        r = sd_bus_call_method(ctl->bus, BUS_NAME, BUS_MANAGER_PATH,
                               "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error,
                               &reply, "");
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot list the shared objects"));
        r = ctl_read_dict(reply, 'o', "a{sa{sv}}", read_managed_path, &reader);
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot parse the service's answer"));

        for (guint i = 0; i < peers->len; i++) {
                CtlPeer *p = g_ptr_array_index(peers, i);

                p->short_name = short_peer_name(p->name);
        }
        g_ptr_array_sort(objects, compare_object);
        g_ptr_array_sort(peers, compare_id);
        g_ptr_array_sort(listeners, compare_id);
        if (ret_objects)
                *ret_objects = g_steal_pointer(&objects);
        if (ret_peers)
                *ret_peers = g_steal_pointer(&peers);
        if (ret_listeners)
                *ret_listeners = g_steal_pointer(&listeners);
        return CTL_EXIT_OK;
}

const char *ctl_peer_id(const CtlPeer *p)
{
        return path_id(p->path);
}

const char *ctl_listener_id(const CtlListener *l)
{
        return path_id(l->path);
}

const char *ctl_object_owner_display(const CtlObject *o, GPtrArray *peers)
{
        if (o->owner && strcmp(o->owner, "/") != 0) {
                for (guint i = 0; peers && i < peers->len; i++) {
                        const CtlPeer *p = g_ptr_array_index(peers, i);

                        if (strcmp(p->path, o->owner) == 0 && p->short_name && *p->short_name)
                                return p->short_name;
                }
                return o->owner;
        }
        if (o->owner_bus_name && *o->owner_bus_name)
                return o->owner_process ?: o->owner_bus_name;
        return "service";
}

const char *ctl_object_kind(const CtlObject *o)
{
        if (o->buffer_type && *o->buffer_type)
                return o->buffer_type;
        return ctl_cell(o->type);
}

static bool field_unknown(const RecordField *f, uint32_t value)
{
        return (f->unknown == UNKNOWN_IF_ZERO && value == 0) ||
               (f->unknown == UNKNOWN_IF_MAX && value == UINT32_MAX);
}

static JsonNode *record_to_json(const RecordType *type, const void *record, GPtrArray *peers)
{
        g_autoptr(JsonBuilder) b = json_builder_new();

        json_builder_begin_object(b);
        for (const RecordField *f = type->fields; !field_is_end(f); f++) {
                const void *p = (const char *) record + f->offset;

                if (!f->json)
                        continue;
                json_builder_set_member_name(b, f->json);
                switch (f->type) {
                case 's':
                case 'o':
                        if (f->unknown == UNKNOWN_IF_EMPTY && !(*(char *const *) p ?: "")[0])
                                json_builder_add_null_value(b);
                        else
                                json_builder_add_string_value(b, *(char *const *) p ?: "");
                        break;
                case 't':
                        json_builder_add_int_value(b, (gint64) * (const uint64_t *) p);
                        break;
                case 'u':
                        if (field_unknown(f, *(const uint32_t *) p))
                                json_builder_add_null_value(b);
                        else
                                json_builder_add_int_value(b, *(const uint32_t *) p);
                        break;
                case 'b':
                        json_builder_add_boolean_value(b, *(const bool *) p);
                        break;
                case 0:
                        json_builder_add_string_value(b, f->derive(record, peers));
                        break;
                }
        }
        json_builder_end_object(b);
        return json_builder_get_root(b);
}

JsonNode *ctl_json_object(const CtlObject *o, GPtrArray *peers)
{
        return record_to_json(&object_type, o, peers);
}

JsonNode *ctl_json_peer(const CtlPeer *p)
{
        return record_to_json(&peer_type, p, NULL);
}

JsonNode *ctl_json_listener(const CtlListener *l)
{
        return record_to_json(&listener_type, l, NULL);
}

JsonNode *ctl_json_device(const CtlDevice *d)
{
        return record_to_json(&device_type, d, NULL);
}
