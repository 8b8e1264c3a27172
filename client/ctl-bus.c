/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: the bus connection, D-Bus errors and exit codes, and
 * reading the objects' and peers' properties. */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void message_unrefp(sd_bus_message **m)
{
        sd_bus_message_unref(*m);
}
#define _cleanup_message_ __attribute__((cleanup(message_unrefp)))

int ctl_usage_error(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return CTL_EXIT_USAGE;
}

int ctl_connect(Ctl *ctl)
{
        const char *which;
        int r;

        switch (ctl->bus_kind) {
        case CTL_BUS_USER:
                which = _("the user bus");
                r = sd_bus_open_user(&ctl->bus);
                break;
        case CTL_BUS_ADDRESS:
                which = ctl->address;
                r = sd_bus_new(&ctl->bus);
                if (r >= 0)
                        r = sd_bus_set_address(ctl->bus, ctl->address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(ctl->bus, 1);
                if (r >= 0)
                        r = sd_bus_start(ctl->bus);
                break;
        case CTL_BUS_SYSTEM:
        default:
                which = _("the system bus");
                r = sd_bus_open_system(&ctl->bus);
                break;
        }
        if (r < 0) {
                fprintf(stderr, _("%s: cannot connect to %s: %s\n"), program_invocation_short_name,
                        which, strerror(-r));
                ctl->bus = sd_bus_unref(ctl->bus);
                return r == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_NO_SERVICE;
        }
        return CTL_EXIT_OK;
}

static const struct {
        const char *name;
        int code;
} error_codes[] = {
    {CTL_ERROR_PREFIX "NotFound", CTL_EXIT_NOT_FOUND},
    {CTL_ERROR_PREFIX "NoDevice", CTL_EXIT_NOT_FOUND},
    {CTL_ERROR_PREFIX "AccessDenied", CTL_EXIT_ACCESS},
    {CTL_ERROR_PREFIX "NotOwner", CTL_EXIT_ACCESS},
    {CTL_ERROR_PREFIX "Exists", CTL_EXIT_EXISTS},
    {CTL_ERROR_PREFIX "Timeout", CTL_EXIT_TIMEOUT},
    {CTL_ERROR_PREFIX "PeerGone", CTL_EXIT_TIMEOUT},
    {CTL_ERROR_PREFIX "InvalidUuid", CTL_EXIT_USAGE},
    {CTL_ERROR_PREFIX "InvalidSize", CTL_EXIT_USAGE},
    {SD_BUS_ERROR_INVALID_ARGS, CTL_EXIT_USAGE},
    {SD_BUS_ERROR_ACCESS_DENIED, CTL_EXIT_ACCESS},
    {SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, CTL_EXIT_ACCESS},
    {SD_BUS_ERROR_SERVICE_UNKNOWN, CTL_EXIT_NO_SERVICE},
    {SD_BUS_ERROR_NAME_HAS_NO_OWNER, CTL_EXIT_NO_SERVICE},
    {SD_BUS_ERROR_NO_REPLY, CTL_EXIT_TIMEOUT},
    {SD_BUS_ERROR_TIMEOUT, CTL_EXIT_TIMEOUT},
    {SD_BUS_ERROR_UNKNOWN_OBJECT, CTL_EXIT_NOT_FOUND},
};

int ctl_event_new(Ctl *ctl, sd_event_signal_handler_t handler, void *userdata, sd_event **ret)
{
        sigset_t mask;
        int r;

        /* A shell starts background jobs with SIGINT ignored, which would
         * drop it before our signalfd sees it; "until interrupted" holds. */
        signal(SIGINT, SIG_DFL);
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_new(ret);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGINT, handler, userdata);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGTERM, handler, userdata);
        if (r >= 0)
                r = sd_bus_attach_event(ctl->bus, *ret, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(ctl->bus, true);
        return r;
}

int ctl_exit_code_for_error(const sd_bus_error *error, int r)
{
        if (error && error->name) {
                for (size_t i = 0; i < G_N_ELEMENTS(error_codes); i++)
                        if (strcmp(error->name, error_codes[i].name) == 0)
                                return error_codes[i].code;
                return CTL_EXIT_FAILURE;
        }
        if (r == -ETIMEDOUT)
                return CTL_EXIT_TIMEOUT;
        if (r == -ECONNRESET || r == -ENOTCONN)
                return CTL_EXIT_NO_SERVICE;
        return CTL_EXIT_FAILURE;
}

int ctl_bus_error(const sd_bus_error *error, int r, const char *what)
{
        if (error && error->name)
                fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what,
                        error->message ? error->message : error->name, error->name);
        else
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
                        strerror(r < 0 ? -r : EIO));
        return ctl_exit_code_for_error(error, r);
}

/* Properties: a table of name, D-Bus type and offset into the struct. */
typedef struct {
        const char *name;
        char type; /* 's', 'o', 't', 'u', 'b' */
        size_t offset;
} PropField;

static const PropField object_fields[] = {
    {"Uuid", 's', offsetof(CtlObject, uuid)},
    {"Type", 's', offsetof(CtlObject, type)},
    {"Owner", 'o', offsetof(CtlObject, owner)},
    {"OwnerBusName", 's', offsetof(CtlObject, owner_bus_name)},
    {"Size", 't', offsetof(CtlObject, size)},
    {"Exporter", 's', offsetof(CtlObject, exporter)},
    {"Name", 's', offsetof(CtlObject, name)},
    {"Device", 's', offsetof(CtlObject, device)},
    {"CreatedTimestamp", 't', offsetof(CtlObject, created_usec)},
    {"LookupCount", 't', offsetof(CtlObject, lookup_count)},
    {},
};

static const PropField peer_fields[] = {
    {"Name", 's', offsetof(CtlPeer, name)},
    {"Role", 's', offsetof(CtlPeer, role)},
    {"SocketPath", 's', offsetof(CtlPeer, socket_path)},
    {"State", 's', offsetof(CtlPeer, state)},
    {"Features", 't', offsetof(CtlPeer, features)},
    {"ProtocolFeatures", 't', offsetof(CtlPeer, protocol_features)},
    {"SharedObjects", 'b', offsetof(CtlPeer, shared_objects)},
    {"Pid", 'u', offsetof(CtlPeer, pid)},
    {"Uid", 'u', offsetof(CtlPeer, uid)},
    {"ExportedCount", 'u', offsetof(CtlPeer, exported_count)},
    {"LastError", 's', offsetof(CtlPeer, last_error)},
    {},
};

static int read_field(sd_bus_message *m, const PropField *f, void *base)
{
        char type[2] = {f->type, 0};
        void *p = (char *) base + f->offset;
        int r;

        r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return r;
        switch (f->type) {
        case 's':
        case 'o': {
                const char *s;

                r = sd_bus_message_read_basic(m, f->type, &s);
                if (r >= 0) {
                        g_free(*(char **) p);
                        *(char **) p = g_strdup(s);
                }
                break;
        }
        case 'b': {
                int b;

                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0)
                        *(bool *) p = b;
                break;
        }
        default:
                r = sd_bus_message_read_basic(m, f->type, p);
                break;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Reads an a{sv} into base through fields. A property with an unexpected
 * type is an error: the API says what each one is. */
static int read_props(sd_bus_message *m, const PropField *fields, void *base)
{
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const PropField *f = NULL;
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                for (const PropField *i = fields; i->name; i++)
                        if (strcmp(i->name, name) == 0)
                                f = i;
                r = f ? read_field(m, f, base) : sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_read_object_props(sd_bus_message *m, CtlObject *o)
{
        return read_props(m, object_fields, o);
}

int ctl_read_peer_props(sd_bus_message *m, CtlPeer *p)
{
        return read_props(m, peer_fields, p);
}

void ctl_object_free(CtlObject *o)
{
        if (!o)
                return;
        g_free(o->path);
        g_free(o->uuid);
        g_free(o->type);
        g_free(o->owner);
        g_free(o->owner_bus_name);
        g_free(o->exporter);
        g_free(o->name);
        g_free(o->device);
        g_free(o);
}

void ctl_peer_free(CtlPeer *p)
{
        if (!p)
                return;
        g_free(p->path);
        g_free(p->name);
        g_free(p->role);
        g_free(p->socket_path);
        g_free(p->state);
        g_free(p->last_error);
        g_free(p);
}

static int compare_object(gconstpointer a, gconstpointer b)
{
        const CtlObject *x = *(CtlObject *const *) a, *y = *(CtlObject *const *) b;

        /* Oldest first, the order things happened in. */
        if (x->created_usec != y->created_usec)
                return x->created_usec < y->created_usec ? -1 : 1;
        return g_strcmp0(x->uuid, y->uuid);
}

static int compare_peer(gconstpointer a, gconstpointer b)
{
        const CtlPeer *x = *(CtlPeer *const *) a, *y = *(CtlPeer *const *) b;
        unsigned long long ix = g_ascii_strtoull(ctl_peer_id(x), NULL, 10);
        unsigned long long iy = g_ascii_strtoull(ctl_peer_id(y), NULL, 10);

        return ix < iy ? -1 : ix > iy;
}

/* One object path's a{sa{sv}}: picks our two interfaces. */
static int read_managed_entry(sd_bus_message *reply, const char *path, GPtrArray *objects,
                              GPtrArray *peers)
{
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                const char *iface;

                r = sd_bus_message_read(reply, "s", &iface);
                if (r < 0)
                        return r;
                if (strcmp(iface, CTL_OBJECT_INTERFACE) == 0) {
                        CtlObject *o = g_new0(CtlObject, 1);

                        o->path = g_strdup(path);
                        g_ptr_array_add(objects, o);
                        r = ctl_read_object_props(reply, o);
                } else if (strcmp(iface, CTL_PEER_INTERFACE) == 0) {
                        CtlPeer *p = g_new0(CtlPeer, 1);

                        p->path = g_strdup(path);
                        g_ptr_array_add(peers, p);
                        r = ctl_read_peer_props(reply, p);
                } else
                        r = sd_bus_message_skip(reply, "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int ctl_get_managed(Ctl *ctl, GPtrArray **ret_objects, GPtrArray **ret_peers)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) objects =
            g_ptr_array_new_with_free_func((GDestroyNotify) ctl_object_free);
        g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func((GDestroyNotify) ctl_peer_free);
        int r;

        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH,
                               "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error,
                               &reply, "");
        if (r < 0) {
                r = ctl_bus_error(&error, r, _("cannot list the shared objects"));
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;

                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = read_managed_entry(reply, path, objects, peers);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot parse the service's answer"));

        g_ptr_array_sort(objects, compare_object);
        g_ptr_array_sort(peers, compare_peer);
        if (ret_objects)
                *ret_objects = g_steal_pointer(&objects);
        if (ret_peers)
                *ret_peers = g_steal_pointer(&peers);
        return CTL_EXIT_OK;
}

const char *ctl_peer_id(const CtlPeer *p)
{
        const char *slash = strrchr(p->path, '/');

        return slash ? slash + 1 : p->path;
}

const char *ctl_object_owner_display(const CtlObject *o, GPtrArray *peers)
{
        if (o->owner && strcmp(o->owner, "/") != 0) {
                for (guint i = 0; peers && i < peers->len; i++) {
                        const CtlPeer *p = g_ptr_array_index(peers, i);

                        if (strcmp(p->path, o->owner) == 0 && p->name && *p->name)
                                return p->name;
                }
                return o->owner;
        }
        if (o->owner_bus_name && *o->owner_bus_name)
                return o->owner_bus_name;
        return "service";
}
