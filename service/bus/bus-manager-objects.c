/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's methods on shared objects: ListObjects, GetObject, Export,
 * Lookup, Remove, Disown, Allocate (bus-manager-methods.h). */
#include "async-close.h"
#include "bus-manager-methods.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include <uuid/uuid.h>

#include "buffer-rule.h"
#include "bus-access.h"
#include "bus-args.h"
#include "bus-client.h"
#include "bus-error.h"
#include "bus-events.h"
#include "bus-object.h"
#include "bus-table-reply.h"
#include "bus-paths.h"
#include "cleanup.h"
#include "drm-device.h"
#include "fd-util.h"
#include "log.h"

/* The UUID argument s and its table entry (NotFound if none). */
static int find_entry_arg(BusManager *m, const char *s, uint8_t uuid[SHARE_UUID_SIZE],
                          ShareEntry **ret, sd_bus_error *error)
{
        int r;

        r = bus_args_parse_uuid(s, uuid, error);
        if (r < 0)
                return r;
        *ret = share_table_lookup(service_table(m->service), uuid);
        if (!*ret)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_FOUND, "No object %s", s);
        return 0;
}

static int set_not_owner_error(sd_bus_error *error, const char *uuid, const ShareEntry *e)
{
        return sd_bus_error_setf(error, BUS_ERROR_NOT_OWNER, "Object %s belongs to %s", uuid,
                                 share_entry_owner(e)->name ?: "someone else");
}

/* QuotaExceeded, saying which limit refused a buffer of bytes for owner
 * (charged to uid), and returns -EDQUOT. */
static int set_quota_error(BusManager *m, sd_bus_error *error, QuotaLimit limit,
                           const ShareOwner *owner, uid_t uid, uint64_t bytes)
{
        g_autofree char *why =
            quota_describe(share_table_quota(service_table(m->service)), limit, owner, uid, bytes);

        sd_bus_error_setf(error, BUS_ERROR_QUOTA_EXCEEDED, "Quota exceeded: %s", why);
        return -EDQUOT;
}

/* The quota a new buffer of bytes for owner would pass: QuotaExceeded. */
static int check_quota(BusManager *m, const ShareOwner *owner, uint64_t bytes, sd_bus_error *error)
{
        QuotaLimit limit = share_table_check_add_fd(service_table(m->service), owner, bytes);

        if (limit == QUOTA_OK)
                return 0;
        return set_quota_error(m, error, limit, owner, owner->uid, bytes);
}

/* A new UUID for Export("") and Allocate(). */
static void generate_uuid(uint8_t uuid[SHARE_UUID_SIZE])
{
        do
                uuid_generate_random(uuid);
        while (!share_uuid_is_valid(uuid));
}

/* The owner identity of msg's sender, for the objects it creates. */
static int get_client_owner(BusManager *m, sd_bus_message *msg, ShareOwner **ret,
                            sd_bus_error *error)
{
        int r;

        r = bus_clients_get_owner(m->clients, msg, ret);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot track %s",
                                           sd_bus_message_get_sender(msg));
        return 0;
}

/* Export() and Allocate() reply the new object's UUID and path (and, from
 * Allocate(), its fd). */
static int reply_object(sd_bus_message *msg, const ShareEntry *e, int fd)
{
        char uuid[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];

        share_uuid_to_string(share_entry_uuid(e), uuid);
        bus_object_path(share_entry_uuid(e), path);
        if (fd >= 0)
                return sd_bus_reply_method_return(msg, "soh", uuid, path, fd);
        return sd_bus_reply_method_return(msg, "so", uuid, path);
}

/* In chunks, like GetManagedObjects (bus-table-reply.h). */
int bus_manager_method_list_objects(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;

        bus_table_reply_start(m->table_reply, msg, "(sso)", bus_object_append_listed);
        return 1;
}

int bus_manager_method_get_object(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        uint8_t uuid[SHARE_UUID_SIZE];
        char path[BUS_OBJECT_PATH_MAX];
        const char *s;
        ShareEntry *e;
        int r;

        r = sd_bus_message_read(msg, "s", &s);
        if (r < 0)
                return r;
        r = find_entry_arg(m, s, uuid, &e, error);
        if (r < 0)
                return r;
        bus_object_path(uuid, path);
        return sd_bus_reply_method_return(msg, "o", path);
}

int bus_manager_method_export(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        _cleanup_async_close_ int fd = -1;
        uint8_t uuid[SHARE_UUID_SIZE];
        char uuid_s[SHARE_UUID_STR_LEN];
        ShareBufferInfo info;
        ShareOwner *owner;
        const char *s;
        ShareEntry *e;
        int in_fd, r;

        /* While the bus is behind, a change waits (bus-events.h). */
        r = bus_events_hold_call(m->events, msg, bus_manager_method_export, m);
        if (r != 0)
                return r;

        r = bus_manager_read_privileged_args(m, msg, error, "hs", &in_fd, &s);
        if (r != 0)
                return r;
        r = bus_args_check_buffer_fd(in_fd, error);
        if (r < 0)
                return r;
        if (*s) {
                r = bus_args_parse_uuid(s, uuid, error);
                if (r < 0)
                        return r;
        } else
                generate_uuid(uuid);
        share_uuid_to_string(uuid, uuid_s);

        /* The message owns in_fd; the table gets its own. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return bus_error_set_errno(error, -errno, "Cannot duplicate the descriptor");

        /* Its size as classified is what the quotas count. */
        r = share_buffer_info_from_fd(fd, &info);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot inspect the descriptor");
        r = get_client_owner(m, msg, &owner, error);
        if (r < 0)
                return r;
        r = check_quota(m, owner, info.size, error);
        if (r < 0)
                return r;
        r = service_export_fd(m->service, uuid, fd, owner, &info, &e);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS, "Object %s exists already",
                                         uuid_s);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot export %s", uuid_s);
        fd = -1; /* the table's now */

        log_info("Bus client %s exported %s (%s, %" PRIu64 " bytes)", owner->name, uuid_s,
                 share_entry_info(e)->exporter, share_entry_info(e)->size);
        return reply_object(msg, e, -1);
}

/* A Lookup() whose reply may come before service_lookup() returns (a held
 * buffer) or later (from the back-end that exports it); either way exactly
 * once. */
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

static int reply_lookup(PendingLookup *l, int fd, int error)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (fd >= 0)
                /* sd-bus puts a duplicate into the message. */
                return sd_bus_reply_method_return(l->msg, "h", fd);
        bus_error_set_errno(&e, error, "Lookup of %s failed", l->uuid);
        return sd_bus_reply_method_error(l->msg, &e);
}

static void on_lookup_done(Service *s, int fd, int error, void *userdata)
{
        _cleanup_async_close_ int owned = fd; /* ours (service.h), whatever the reply does */
        PendingLookup *l = userdata;
        int r;

        r = reply_lookup(l, owned, error);
        if (r < 0)
                log_debug_errno(r, "Cannot reply to the lookup of %s by %s: %m", l->uuid,
                                sd_bus_message_get_sender(l->msg));
        l->replied = true;
        if (l->returned)
                pending_lookup_free(l);
}

int bus_manager_method_lookup(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        ServiceImporter who = {.uid = (uid_t) -1, .name = sd_bus_message_get_sender(msg)};
        uint8_t uuid[SHARE_UUID_SIZE];
        PendingLookup *l;
        const char *s;
        int r;

        /* Its LookedUp is an event too: while the bus is behind, it waits. */
        r = bus_events_hold_call(m->events, msg, bus_manager_method_lookup, m);
        if (r != 0)
                return r;

        r = bus_manager_read_privileged_args(m, msg, error, "s", &s);
        if (r != 0)
                return r;
        r = bus_args_parse_uuid(s, uuid, error);
        if (r < 0)
                return r;
        /* A caller's connections share its uid's place in the pool. */
        r = bus_access_get_euid(msg, &who.uid);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot get the credentials of %s",
                                           sd_bus_message_get_sender(msg));

        l = g_new0(PendingLookup, 1);
        l->msg = sd_bus_message_ref(msg);
        share_uuid_to_string(uuid, l->uuid);
        r = service_lookup_as(m->service, uuid, &who, on_lookup_done, l);
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

/* What Remove() and Disown() start from: a privileged caller's UUID
 * argument, its entry, and whether the caller owns that. 0, 1 (polkit is
 * being asked: bus_manager_read_privileged_args()) or -errno. */
typedef struct {
        const char *sender;
        const char *s; /* the argument as given, for error messages */
        uint8_t uuid[SHARE_UUID_SIZE];
        char uuid_s[SHARE_UUID_STR_LEN]; /* the 36-character form, for logs */
        ShareEntry *e;
        bool by_owner; /* the caller exported e and still holds it */
} EntryCall;

static int read_entry_call(BusManager *m, sd_bus_message *msg, EntryCall *c, sd_bus_error *error)
{
        int r;

        c->sender = sd_bus_message_get_sender(msg);
        r = bus_manager_read_privileged_args(m, msg, error, "s", &c->s);
        if (r != 0)
                return r;
        r = find_entry_arg(m, c->s, c->uuid, &c->e, error);
        if (r < 0)
                return r;
        share_uuid_to_string(c->uuid, c->uuid_s);
        c->by_owner = bus_clients_owns(m->clients, c->sender, c->e);
        return 0;
}

int bus_manager_method_remove(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        const ShareOwner *requester;
        EntryCall c;
        int r;

        /* While the bus is behind, a change waits (bus-events.h). */
        r = bus_events_hold_call(m->events, msg, bus_manager_method_remove, m);
        if (r != 0)
                return r;

        r = read_entry_call(m, msg, &c, error);
        if (r != 0) /* 1: polkit is being asked */
                return r;
        if (c.by_owner)
                requester = share_entry_owner(c.e);
        else if (share_entry_owner(c.e) == &m->detached)
                /* Disowned: kept for every privileged caller, removable by any. */
                requester = &m->detached;
        else {
                r = bus_access_is_root(msg);
                if (r < 0)
                        return bus_error_set_errno(error, r, "Cannot get the credentials of %s",
                                                   c.sender);
                if (r == 0)
                        return set_not_owner_error(error, c.s, c.e);
                requester = NULL; /* root may remove anything */
        }
        r = service_remove(m->service, c.uuid, requester);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot remove %s", c.s);
        log_info("Bus client %s removed %s", c.sender, c.uuid_s);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_manager_method_disown(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        QuotaLimit limit;
        EntryCall c;
        int r;

        /* While the bus is behind, a change waits (bus-events.h). */
        r = bus_events_hold_call(m->events, msg, bus_manager_method_disown, m);
        if (r != 0)
                return r;

        r = read_entry_call(m, msg, &c, error);
        if (r != 0) /* 1: polkit is being asked */
                return r;
        if (!c.by_owner)
                return set_not_owner_error(error, c.s, c.e);
        limit = share_table_check_set_owner(service_table(m->service), c.e, &m->detached);
        if (limit != QUOTA_OK)
                return set_quota_error(m, error, limit, &m->detached, share_entry_uid(c.e),
                                       share_entry_info(c.e)->size);
        r = share_table_set_owner(service_table(m->service), c.e, &m->detached);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot disown %s", c.s);
        log_info("Bus client %s handed %s over to the service", c.sender, c.uuid_s);
        service_note_state_changed(m->service);
        bus_object_announce_owner(m, c.e);
        return sd_bus_reply_method_return(msg, NULL);
}

/* Sets error to the named error for a failed drm_allocate() of size bytes
 * on device ("" for any) that returned r, and returns r: NoDevice (also
 * for "" when there is no dma-buf to be had: no memfd unless named),
 * Unsupported, AccessDenied, NoMemory, InvalidSize (the device refused the
 * size, or too large for a dumb buffer), Failed. */
static int set_allocate_error(sd_bus_error *error, int r, uint64_t size, const char *device)
{
        const char *on = device && device[0] ? device : "any device";

        switch (-r) {
        case ENODEV:
                if (!device || !device[0]) {
                        sd_bus_error_setf(error, BUS_ERROR_NO_DEVICE,
                                          "No DRM card node and no udmabuf to allocate a dma-buf "
                                          "on; ask for device \"" DRM_ALLOCATE_MEMFD
                                          "\" to get a sealed memfd instead");
                        return r;
                }
                sd_bus_error_setf(error, BUS_ERROR_NO_DEVICE,
                                  "No DRM device \"%s\" (see the Devices property)", on);
                return r;
        case EOPNOTSUPP:
                sd_bus_error_setf(error, BUS_ERROR_UNSUPPORTED,
                                  "%s cannot allocate dumb buffers with a PRIME export", on);
                return r;
        case EACCES:
                sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                  "The service may not allocate on %s", on);
                return r;
        case ENOMEM:
                sd_bus_error_setf(error, BUS_ERROR_NO_MEMORY,
                                  "Out of memory for %" PRIu64 " bytes on %s", size, on);
                return r;
        case EINVAL:
        case EFBIG:
                /* size 0 is refused before drm_allocate: this is the device's word. */
                sd_bus_error_setf(error, BUS_ERROR_INVALID_SIZE,
                                  "%s refuses a buffer of %" PRIu64 " bytes%s", on, size,
                                  r == -EFBIG ? " (over the dumb-buffer limit)" : "");
                return r;
        default:
                return bus_error_set_errno(error, r, "Cannot allocate %" PRIu64 " bytes on %s",
                                           size, on);
        }
}

int bus_manager_method_allocate(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        _cleanup_(drm_alloc_result_clear) DrmAllocResult res = {.fd = -1};
        ShareBufferInfo info = {0};
        uint8_t uuid[SHARE_UUID_SIZE];
        char uuid_s[SHARE_UUID_STR_LEN];
        const char *device, *why;
        ShareOwner *owner;
        ShareEntry *e;
        uint64_t size;
        int r;

        /* While the bus is behind, a change waits (bus-events.h). */
        r = bus_events_hold_call(m->events, msg, bus_manager_method_allocate, m);
        if (r != 0)
                return r;

        r = bus_manager_read_privileged_args(m, msg, error, "ts", &size, &device);
        if (r != 0)
                return r;
        r = bus_args_check_size(size, error);
        if (r < 0)
                return r;
        r = get_client_owner(m, msg, &owner, error);
        if (r < 0)
                return r;
        /* Before allocating; the device may round the size up, which the
         * table checks again. */
        r = check_quota(m, owner, size, error);
        if (r < 0)
                return r;

        r = drm_allocate(m->drm, *device ? device : NULL, size, &res);
        if (r < 0)
                return set_allocate_error(error, r, size, device);
        r = drm_alloc_result_buffer_info(&res, &info);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot inspect the new buffer");
        /* What we made ourselves passes the rule every importer relies on, too. */
        r = buffer_rule_check(res.fd, &why);
        if (r < 0)
                return bus_error_set_errno(error, r, "The new buffer is %s", why);

        generate_uuid(uuid);
        share_uuid_to_string(uuid, uuid_s);
        r = service_export_fd(m->service, uuid, res.fd, owner, &info, &e);
        if (r == -EDQUOT && check_quota(m, owner, info.size, error) < 0)
                return -EDQUOT;
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot register the new buffer");
        res.fd = -1; /* the table's now */
        log_info("Bus client %s allocated %s (%s, %" PRIu64 " bytes%s%s)", owner->name, uuid_s,
                 drm_exporter_to_string(res.exporter), res.size, *res.device ? " on " : "",
                 res.device);
        return reply_object(msg, e, share_entry_fd(e));
}
