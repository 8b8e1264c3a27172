/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "bus-device.h"
#include "bus-error.h"
#include "bus-object.h"
#include "bus-peer.h"
#include "config.h"
#include "drm-device.h"
#include "fd-util.h"
#include "log.h"

/* A bus connection that owns objects; they go when it leaves the bus. */
typedef struct {
        ShareOwner owner; /* owner.name is the unique name, the clients key */
        BusManager *manager;
        sd_bus_track *track;
} BusClient;

static void bus_client_free(void *p)
{
        BusClient *c = p;
        unsigned n;

        n = share_table_remove_owner(service_table(c->manager->service), &c->owner);
        if (n > 0)
                log_info("Bus client %s is gone; removed its %u object(s)", c->owner.name, n);
        sd_bus_track_unref(c->track);
        share_owner_clear(&c->owner);
        g_free(c);
}

static int on_client_gone(sd_bus_track *track, void *userdata)
{
        BusClient *c = userdata;

        /* Frees c (and the track: sd-bus holds its own reference while
         * calling us). */
        g_hash_table_remove(c->manager->clients, c->owner.name);
        return 1;
}

/* The owner identity of the caller of msg, created (and tracked) on first use. */
static int bus_client_get(BusManager *m, sd_bus_message *msg, BusClient **ret)
{
        const char *sender = sd_bus_message_get_sender(msg);
        BusClient *c;
        uid_t uid = (uid_t) -1;
        int r;

        if (!sender)
                return -EINVAL;
        c = g_hash_table_lookup(m->clients, sender);
        if (c) {
                *ret = c;
                return 0;
        }

        (void) bus_access_get_euid(msg, &uid);
        c = g_new0(BusClient, 1);
        c->manager = m;
        share_owner_init(&c->owner, SHARE_OWNER_BUS_CLIENT, sender, uid);
        c->owner.max_entries = service_config(m->service)->max_objects_per_client;
        c->owner.userdata = c;

        r = sd_bus_track_new(m->bus, &c->track, on_client_gone, c);
        if (r >= 0)
                /* Fails when the name already left: then it must not own anything. */
                r = sd_bus_track_add_name(c->track, sender);
        if (r < 0) {
                sd_bus_track_unref(c->track);
                share_owner_clear(&c->owner);
                g_free(c);
                return r;
        }
        g_hash_table_insert(m->clients, c->owner.name, c);
        *ret = c;
        return 0;
}

static int on_properties_changed(sd_event_source *s, void *userdata)
{
        BusManager *m = userdata;
        const char *names[4];
        size_t n = 0;
        int r;

        if (m->object_count_changed)
                names[n++] = "ObjectCount";
        if (m->peer_count_changed)
                names[n++] = "PeerCount";
        if (m->devices_changed)
                names[n++] = "Devices";
        names[n] = NULL;
        m->object_count_changed = m->peer_count_changed = m->devices_changed = false;
        if (n == 0)
                return 0;
        r = sd_bus_emit_properties_changed_strv(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                                (char **) names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged on the manager");
        return 0;
}

static void schedule_properties_changed(BusManager *m)
{
        if (m->changed_source)
                (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_ONESHOT);
}

void bus_manager_note_object_count_changed(BusManager *m)
{
        m->object_count_changed = true;
        schedule_properties_changed(m);
}

void bus_manager_note_peer_count_changed(BusManager *m)
{
        m->peer_count_changed = true;
        schedule_properties_changed(m);
}

static void on_drm_event(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev, void *userdata)
{
        BusManager *m = userdata;

        m->devices_changed = true;
        schedule_properties_changed(m);
}

/* Properties. */

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_object_count(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply, void *userdata,
                                     sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(reply, "u", share_table_size(service_table(m->service)));
}

static int property_get_peer_count(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error)
{
        BusManager *m = userdata;

        return sd_bus_message_append(reply, "u", service_n_peers(m->service));
}

static bool append_devnode(const DrmDevice *d, void *userdata)
{
        return sd_bus_message_append(userdata, "s", drm_device_devnode(d)) >= 0;
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        BusManager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        if (m->drm)
                drm_device_list_foreach(m->drm, append_devnode, reply);
        return sd_bus_message_close_container(reply);
}

/* Arguments. */

static int parse_uuid(const char *s, uint8_t uuid[SHARE_UUID_SIZE], sd_bus_error *error)
{
        if (share_uuid_from_string(s, uuid) < 0 || !share_uuid_is_valid(uuid)) {
                sd_bus_error_setf(error, BUS_ERROR_INVALID_UUID,
                                  "\"%s\" is not a valid UUID (nil and max are reserved)", s);
                return -EINVAL;
        }
        return 0;
}

/* Reads the method's one "s" argument as a UUID; *ret_s keeps the string for
 * messages. */
static int read_uuid_arg(sd_bus_message *msg, uint8_t uuid[SHARE_UUID_SIZE], const char **ret_s,
                         sd_bus_error *error)
{
        int r;

        r = sd_bus_message_read(msg, "s", ret_s);
        if (r < 0)
                return r;
        return parse_uuid(*ret_s, uuid, error);
}

/* As read_uuid_arg(), and the table entry of that UUID (NotFound if none). */
static int read_entry_arg(BusManager *m, sd_bus_message *msg, uint8_t uuid[SHARE_UUID_SIZE],
                          const char **ret_s, ShareEntry **ret, sd_bus_error *error)
{
        int r;

        r = read_uuid_arg(msg, uuid, ret_s, error);
        if (r < 0)
                return r;
        *ret = share_table_lookup(service_table(m->service), uuid);
        if (!*ret)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No object %s", *ret_s);
        return 0;
}

static void generate_uuid(uint8_t uuid[SHARE_UUID_SIZE])
{
        do
                uuid_generate_random(uuid);
        while (!share_uuid_is_valid(uuid));
}

static const char *describe_fd(int fd)
{
        struct stat st;
        int flags = fcntl(fd, F_GETFL);

        if (flags >= 0 && (flags & O_PATH))
                return "an O_PATH descriptor";
        if (fstat(fd, &st) < 0)
                return "not a valid descriptor";
        switch (st.st_mode & S_IFMT) {
        case S_IFSOCK:
                return "a socket";
        case S_IFIFO:
                return "a pipe";
        case S_IFDIR:
                return "a directory";
        case S_IFCHR:
        case S_IFBLK:
                return "a device node";
        case S_IFREG:
                return fd_is_memfd(fd) > 0 ? "a memfd without F_SEAL_SHRINK|F_SEAL_GROW"
                                           : "a regular file";
        default:
                return "not a buffer";
        }
}

/* Only a dma-buf or a size-sealed memfd: a buffer no one can truncate
 * under an importer. */
static int check_buffer_fd(int fd, sd_bus_error *error)
{
        if (fd_is_dmabuf(fd) == 1 || fd_is_sealed_memfd(fd) == 1)
                return 0;
        sd_bus_error_setf(error, BUS_ERROR_INVALID_FD,
                          "The descriptor is %s, not a dma-buf or a sealed memfd", describe_fd(fd));
        return -EBADF;
}

static int reply_object(sd_bus_message *msg, const ShareEntry *e, int fd)
{
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];

        share_uuid_to_string(share_entry_uuid(e), uuid);
        bus_object_path(share_entry_uuid(e), path);
        if (fd >= 0)
                return sd_bus_reply_method_return(msg, "soh", uuid, path, fd);
        return sd_bus_reply_method_return(msg, "so", uuid, path);
}

/* Methods. */

static bool append_object(const ShareEntry *e, void *userdata)
{
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];

        share_uuid_to_string(share_entry_uuid(e), uuid);
        bus_object_path(share_entry_uuid(e), path);
        return sd_bus_message_append(userdata, "(sso)", uuid,
                                     share_type_to_string(share_entry_type(e)), path) >= 0;
}

static void message_unrefp(sd_bus_message **m)
{
        if (*m)
                sd_bus_message_unref(*m);
}

/* A method reply whose one argument is an array of contents: open it, append
 * the elements, then reply_array_send(). */
static int reply_array_open(sd_bus_message *msg, const char *contents, sd_bus_message **ret)
{
        int r;

        r = sd_bus_message_new_method_return(msg, ret);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(*ret, 'a', contents);
}

static int reply_array_send(sd_bus_message *reply)
{
        int r;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_objects(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        BusManager *m = userdata;
        int r;

        r = reply_array_open(msg, "(sso)", &reply);
        if (r < 0)
                return r;
        share_table_foreach(service_table(m->service), append_object, reply);
        return reply_array_send(reply);
}

static int method_get_object(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        char path[BUS_OBJECT_PATH_MAX];
        const char *s;
        ShareEntry *e;
        int r;

        r = read_entry_arg(m, msg, uuid, &s, &e, error);
        if (r < 0)
                return r;
        bus_object_path(uuid, path);
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_export(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        _cleanup_close_ int fd = -1;
        uint8_t uuid[SHARE_UUID_SIZE];
        char uuid_s[SHARE_UUID_STR_LEN];
        const char *s;
        BusClient *c;
        ShareEntry *e;
        int in_fd, r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "hs", &in_fd, &s);
        if (r < 0)
                return r;
        r = check_buffer_fd(in_fd, error);
        if (r < 0)
                return r;
        if (*s) {
                r = parse_uuid(s, uuid, error);
                if (r < 0)
                        return r;
        } else
                generate_uuid(uuid);
        share_uuid_to_string(uuid, uuid_s);

        /* The message owns in_fd; the table gets its own. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return bus_error_set_errno(error, -errno, "Cannot duplicate the descriptor");

        r = bus_client_get(m, msg, &c);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot track %s",
                                           sd_bus_message_get_sender(msg));
        r = service_export_fd(m->service, uuid, fd, &c->owner, NULL, &e);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS, "Object %s exists already",
                                         uuid_s);
        if (r == -EDQUOT)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_REACHED,
                                         "%s owns the maximum of %u objects", c->owner.name,
                                         c->owner.max_entries);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot export %s", uuid_s);
        fd = -1; /* the table's now */

        log_info("Bus client %s exported %s (%s, %" PRIu64 " bytes)", c->owner.name, uuid_s,
                 share_entry_info(e)->exporter, share_entry_info(e)->size);
        return reply_object(msg, e, -1);
}

typedef struct {
        sd_bus_message *msg;
        char uuid[SHARE_UUID_STR_LEN];
        bool replied;  /* done was called */
        bool returned; /* service_lookup returned without error */
} PendingLookup;

static void pending_lookup_free(PendingLookup *l)
{
        sd_bus_message_unref(l->msg);
        g_free(l);
}

static void on_lookup_done(Service *s, int fd, int error, void *userdata)
{
        PendingLookup *l = userdata;
        int r;

        if (fd >= 0) {
                /* sd-bus puts a duplicate into the message. */
                r = sd_bus_reply_method_return(l->msg, "h", fd);
                close(fd);
        } else {
                sd_bus_error e = SD_BUS_ERROR_NULL;

                bus_error_set_errno(&e, error, "Lookup of %s failed", l->uuid);
                r = sd_bus_reply_method_error(l->msg, &e);
                sd_bus_error_free(&e);
        }
        if (r < 0)
                log_debug_errno(r, "Cannot reply to the lookup of %s by %s", l->uuid,
                                sd_bus_message_get_sender(l->msg));
        l->replied = true;
        if (l->returned)
                pending_lookup_free(l);
}

static int method_lookup(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        PendingLookup *l;
        const char *s;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = read_uuid_arg(msg, uuid, &s, error);
        if (r < 0)
                return r;

        /* The reply may come now (a held buffer) or later (from the back-end
         * that exports it); either way exactly once. */
        l = g_new0(PendingLookup, 1);
        l->msg = sd_bus_message_ref(msg);
        share_uuid_to_string(uuid, l->uuid);
        r = service_lookup(m->service, uuid, on_lookup_done, l);
        if (l->replied) {
                pending_lookup_free(l);
                return 1;
        }
        if (r < 0) {
                pending_lookup_free(l);
                return bus_error_set_errno(error, r, "Lookup of %s failed", s);
        }
        l->returned = true;
        return 1;
}

/* Whether the bus client sender exported e and still holds it. */
static bool sender_owns(BusManager *m, const char *sender, const ShareEntry *e)
{
        BusClient *c = sender ? g_hash_table_lookup(m->clients, sender) : NULL;

        return c && share_entry_owner(e) == &c->owner;
}

static int set_not_owner_error(sd_bus_error *error, const char *uuid, const ShareEntry *e)
{
        return sd_bus_error_setf(error, BUS_ERROR_NOT_OWNER, "Object %s belongs to %s", uuid,
                                 share_entry_owner(e)->name ?: "someone else");
}

static int method_remove(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        const ShareOwner *requester;
        const char *s, *sender = sd_bus_message_get_sender(msg);
        ShareEntry *e;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = read_entry_arg(m, msg, uuid, &s, &e, error);
        if (r < 0)
                return r;

        if (sender_owns(m, sender, e))
                requester = share_entry_owner(e);
        else if (share_entry_owner(e) == &m->detached)
                /* Disowned: kept for every privileged caller, removable by any. */
                requester = &m->detached;
        else {
                r = bus_access_is_root(msg);
                if (r < 0)
                        return bus_error_set_errno(error, r, "Cannot get the credentials of %s",
                                                   sender);
                if (r == 0)
                        return set_not_owner_error(error, s, e);
                requester = NULL; /* root may remove anything */
        }
        r = service_remove(m->service, uuid, requester);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot remove %s", s);
        log_info("Bus client %s removed %s", sender, s);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_disown(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        char path[BUS_OBJECT_PATH_MAX];
        const char *s, *sender = sd_bus_message_get_sender(msg);
        ShareEntry *e;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = read_entry_arg(m, msg, uuid, &s, &e, error);
        if (r < 0)
                return r;
        if (!sender_owns(m, sender, e))
                return set_not_owner_error(error, s, e);
        r = share_table_set_owner(service_table(m->service), e, &m->detached);
        if (r == -EDQUOT)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_REACHED,
                                         "The service holds the maximum of %u disowned objects",
                                         m->detached.max_entries);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot disown %s", s);
        log_info("Bus client %s handed %s over to the service", sender, s);
        bus_object_path(uuid, path);
        r = sd_bus_emit_properties_changed(m->bus, path, BUS_OBJECT_INTERFACE, "OwnerBusName",
                                           NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the new owner of %s", s);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_allocate(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        DrmAllocResult res = {.fd = -1};
        ShareBufferInfo info = {0};
        uint8_t uuid[SHARE_UUID_SIZE];
        char uuid_s[SHARE_UUID_STR_LEN];
        const char *device;
        BusClient *c;
        ShareEntry *e;
        uint64_t size;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ts", &size, &device);
        if (r < 0)
                return r;
        if (size == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Size must not be 0");

        r = drm_allocate(m->drm, *device ? device : NULL, size, &res);
        if (r < 0)
                return bus_device_set_allocate_error(error, r, size, device);

        r = drm_alloc_result_buffer_info(&res, &info);
        if (r < 0) {
                drm_alloc_result_clear(&res);
                return bus_error_set_errno(error, r, "Cannot inspect the new buffer");
        }

        r = bus_client_get(m, msg, &c);
        if (r < 0) {
                drm_alloc_result_clear(&res);
                return bus_error_set_errno(error, r, "Cannot track %s",
                                           sd_bus_message_get_sender(msg));
        }
        generate_uuid(uuid);
        share_uuid_to_string(uuid, uuid_s);
        r = service_export_fd(m->service, uuid, res.fd, &c->owner, &info, &e);
        if (r < 0) {
                drm_alloc_result_clear(&res);
                return bus_error_set_errno(error, r, "Cannot register the new buffer");
        }
        res.fd = -1; /* the table's now */
        log_info("Bus client %s allocated %s (%s, %" PRIu64 " bytes%s%s)", c->owner.name, uuid_s,
                 drm_exporter_to_string(res.exporter), res.size, *res.device ? " on " : "",
                 res.device);
        return reply_object(msg, e, share_entry_fd(e));
}

static bool append_peer(Peer *p, void *userdata)
{
        char path[BUS_PEER_PATH_MAX];

        bus_peer_path(p, path);
        return sd_bus_message_append(userdata, "(so)", peer_name(p) ?: "", path) >= 0;
}

static int method_list_peers(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        BusManager *m = userdata;
        int r;

        r = reply_array_open(msg, "(so)", &reply);
        if (r < 0)
                return r;
        service_foreach_peer(m->service, append_peer, reply);
        return reply_array_send(reply);
}

static int method_add_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        char path[BUS_PEER_PATH_MAX];
        const char *role, *socket_path;
        Peer *p = NULL;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ss", &role, &socket_path);
        if (r < 0)
                return r;
        if (socket_path[0] != '/' ||
            strlen(socket_path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "\"%s\" is not an absolute socket path that fits "
                                         "sockaddr_un",
                                         socket_path);

        if (strcmp(role, "connect") == 0)
                r = service_connect_backend(m->service, socket_path, &p);
        else if (strcmp(role, "accept") == 0)
                r = service_listen_backends(m->service, socket_path);
        else if (strcmp(role, "serve") == 0)
                r = service_listen_frontends(m->service, socket_path);
        else
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown role \"%s\" (connect, accept or serve)", role);
        if (r == -EUSERS)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_REACHED,
                                         "The service has the maximum of %u peers",
                                         service_config(m->service)->max_peers);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot %s %s", role, socket_path);
        log_info("Bus client %s added peer: %s %s", sd_bus_message_get_sender(msg), role,
                 socket_path);
        if (!p)
                return sd_bus_reply_method_return(msg, "o", "/");
        bus_peer_path(p, path);
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_remove_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        g_autofree char *reason = NULL;
        const char *path;
        Peer *p;
        int r;

        r = bus_access_check(&m->access, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "o", &path);
        if (r < 0)
                return r;
        p = bus_peer_find(m, path);
        if (!p)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No peer %s", path);
        reason = g_strdup_printf("removed over D-Bus by %s", sd_bus_message_get_sender(msg));
        log_info("Bus client %s removes peer %s", sd_bus_message_get_sender(msg), peer_name(p));
        service_close_peer(m->service, p, reason);
        return sd_bus_reply_method_return(msg, NULL);
}

/* Every method is UNPRIVILEGED for sd-bus (whose default would demand
 * CAP_SYS_ADMIN); the privileged ones check bus_access themselves. */
#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("ListObjects", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", objects),
                            method_list_objects, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("GetObject", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("o", path),
                            method_get_object, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Export", SD_BUS_ARGS("h", fd, "s", uuid),
                            SD_BUS_RESULT("s", uuid_out, "o", path), method_export, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Lookup", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("h", fd), method_lookup,
                            UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT, method_remove,
                            UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Disown", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT, method_disown,
                            UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("Allocate", SD_BUS_ARGS("t", size, "s", device),
                            SD_BUS_RESULT("s", uuid, "o", path, "h", fd), method_allocate, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("ListPeers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", peers),
                            method_list_peers, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("AddPeer", SD_BUS_ARGS("s", role, "s", socket_path),
                            SD_BUS_RESULT("o", peer), method_add_peer, UNPRIV),
    SD_BUS_METHOD_WITH_ARGS("RemovePeer", SD_BUS_ARGS("o", peer), SD_BUS_NO_RESULT,
                            method_remove_peer, UNPRIV),
    SD_BUS_SIGNAL_WITH_ARGS("Added", SD_BUS_ARGS("s", uuid, "o", path, "s", type), 0),
    SD_BUS_SIGNAL_WITH_ARGS("Removed", SD_BUS_ARGS("s", uuid, "o", path), 0),
    SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ObjectCount", "u", property_get_object_count, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("PeerCount", "u", property_get_peer_count, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Devices", "as", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

int bus_manager_new(Service *s, sd_bus *bus, BusManager **ret)
{
        BusManager *m;
        int r;

        (void) bus_error_register_map();

        m = g_new0(BusManager, 1);
        m->service = s;
        m->bus = sd_bus_ref(bus);
        m->clients = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, bus_client_free);
        bus_access_init(&m->access, PRIVILEGED_GROUP);
        share_owner_init(&m->detached, SHARE_OWNER_SERVICE, "service", 0);
        m->detached.max_entries = service_config(s)->max_objects_per_client;

        r = sd_bus_add_object_vtable(bus, &m->manager_slot, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                     manager_vtable, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, &m->object_manager_slot, BUS_MANAGER_PATH);
        if (r >= 0)
                r = bus_object_register(m);
        if (r >= 0)
                r = bus_peer_register(m);
        if (r >= 0)
                r = bus_device_register(m);
        if (r >= 0)
                r = sd_event_add_defer(service_event(s), &m->changed_source, on_properties_changed,
                                       m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->changed_source, SD_EVENT_OFF);
        if (r < 0) {
                bus_manager_free(m);
                return log_error_errno(r, "Failed to register the D-Bus objects");
        }
        *ret = m;
        return 0;
}

void bus_manager_set_drm_devices(BusManager *m, DrmDeviceList *l)
{
        if (m->drm_observing)
                drm_device_list_remove_observer(m->drm, m->drm_observer);
        m->drm_observing = false;
        m->drm = l;
        bus_device_set_list(m, l);
        if (l) {
                m->drm_observer = drm_device_list_add_observer(l, on_drm_event, m);
                m->drm_observing = true;
        }
        m->devices_changed = true;
        schedule_properties_changed(m);
}

void bus_manager_set_privileged_group(BusManager *m, const char *group)
{
        bus_access_clear(&m->access);
        bus_access_init(&m->access, group);
        if (group && *group && !m->access.have_group)
                log_notice("Privileged group \"%s\" does not exist; only root may change shared "
                           "objects over D-Bus",
                           group);
}

void bus_manager_free(BusManager *m)
{
        if (!m)
                return;
        /* Observers first: the objects of bus clients go without signals. */
        bus_manager_set_drm_devices(m, NULL);
        bus_object_unregister(m);
        bus_peer_unregister(m);
        bus_device_unregister(m);
        g_clear_pointer(&m->clients, g_hash_table_destroy);
        (void) share_table_remove_owner(service_table(m->service), &m->detached);
        share_owner_clear(&m->detached);
        m->changed_source = sd_event_source_disable_unref(m->changed_source);
        sd_bus_slot_unref(m->object_manager_slot);
        sd_bus_slot_unref(m->manager_slot);
        bus_access_clear(&m->access);
        sd_bus_unref(m->bus);
        g_free(m);
}
