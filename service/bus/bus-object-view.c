/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-object-view.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus-client.h"
#include "bus-names.h"

static void view_owner_process(BusObjectView *v, const ShareOwner *owner)
{
        const char *comm = NULL;
        pid_t pid = 0;

        v->owner_pid = 0;
        v->owner_uid = (uint32_t) -1;
        v->owner_command[0] = 0;
        if (!owner)
                return;
        switch (owner->kind) {
        case SHARE_OWNER_BUS_CLIENT:
                v->owner_uid = owner->uid;
                bus_client_owner_process(owner, &pid, &comm);
                break;
        case SHARE_OWNER_PEER:
                if (!owner->userdata)
                        return;
                pid = peer_pid(owner->userdata);
                v->owner_uid = peer_uid(owner->userdata);
                comm = peer_command(owner->userdata);
                break;
        case SHARE_OWNER_SERVICE:
                pid = getpid();
                v->owner_uid = geteuid();
                comm = "vhost-shared";
                break;
        }
        v->owner_pid = (uint32_t) pid;
        g_strlcpy(v->owner_command, comm ?: "", sizeof(v->owner_command));
}

/* The entry's own values, owner's left as they are. */
static void view_entry(BusObjectView *v, const ShareEntry *e)
{
        v->uuid = share_entry_uuid(e);
        v->type = share_entry_type(e);
        v->info = share_entry_info(e);
        v->created_usec = share_entry_created_usec(e);
        v->lookup_count = share_entry_lookup_count(e);
}

static void view_owner(BusObjectView *v, const ShareOwner *owner, char buf[BUS_PEER_PATH_MAX])
{
        v->owner_path = "/";
        v->owner_bus_name = "";
        /* A peer's owner identity carries the Peer as its userdata
         * (share-table.h; peer.c sets it), and a peer's entries go before
         * the peer does. */
        if (owner && owner->kind == SHARE_OWNER_PEER && owner->userdata) {
                bus_peer_path(peer_id(owner->userdata), buf);
                v->owner_path = buf;
        }
        if (owner && owner->kind == SHARE_OWNER_BUS_CLIENT && owner->name)
                v->owner_bus_name = owner->name;
        view_owner_process(v, owner);
}

void bus_object_view_init(BusObjectView *v, const ShareEntry *e, char buf[BUS_PEER_PATH_MAX])
{
        view_entry(v, e);
        view_owner(v, share_entry_owner(e), buf);
}

void bus_object_views_reset(BusObjectViews *vs)
{
        vs->owner = NULL;
}

const BusObjectView *bus_object_views_next(BusObjectViews *vs, const ShareEntry *e)
{
        const ShareOwner *owner = share_entry_owner(e);

        view_entry(&vs->view, e);
        if (!owner || owner != vs->owner) {
                view_owner(&vs->view, owner, vs->owner_path);
                vs->owner = owner;
        }
        return &vs->view;
}

void bus_object_copy_init(BusObjectCopy *c, const ShareEntry *e)
{
        char buf[BUS_PEER_PATH_MAX];
        BusObjectView live;

        bus_object_view_init(&live, e, buf);
        memcpy(c->uuid, live.uuid, SHARE_UUID_SIZE);
        g_strlcpy(c->owner_path, live.owner_path, sizeof(c->owner_path));
        c->owner_bus_name = g_strdup(live.owner_bus_name);
        if (live.info)
                c->info = *live.info;
        else
                memset(&c->info, 0, sizeof(c->info));
        c->view = live;
        c->view.uuid = c->uuid;
        c->view.owner_path = c->owner_path;
        c->view.owner_bus_name = c->owner_bus_name;
        c->view.info = &c->info;
}

void bus_object_copy_clear(BusObjectCopy *c)
{
        g_clear_pointer(&c->owner_bus_name, g_free);
}

int bus_append_trusted_string(sd_bus_message *m, const char *s, size_t len)
{
        char *space;
        int r;

        r = sd_bus_message_append_string_space(m, len, &space);
        if (r < 0)
                return r;
        memcpy(space, s, len);
        return 0;
}

int bus_append_uuid_string(sd_bus_message *m, const uint8_t uuid[SHARE_UUID_SIZE])
{
        char *space;
        int r;

        /* The space holds the 36 characters and the NUL the formatter writes. */
        r = sd_bus_message_append_string_space(m, SHARE_UUID_STR_LEN - 1, &space);
        if (r < 0)
                return r;
        share_uuid_to_string(uuid, space);
        return 0;
}

static int append_constant(sd_bus_message *m, const char *s)
{
        return bus_append_trusted_string(m, s, strlen(s));
}

static int append_uuid(sd_bus_message *m, const BusObjectView *v)
{
        return bus_append_uuid_string(m, v->uuid);
}

static int append_type(sd_bus_message *m, const BusObjectView *v)
{
        return append_constant(m, share_type_to_string(v->type));
}

static int append_owner(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 'o', v->owner_path);
}

static int append_owner_bus_name(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->owner_bus_name);
}

static int append_owner_pid(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 'u', &v->owner_pid);
}

static int append_owner_uid(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 'u', &v->owner_uid);
}

static int append_owner_command(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->owner_command);
}

/* "dma-buf" or "memfd" for a buffer the service holds (what the kernel
 * says the fd is), "" when a back-end holds it. */
static int append_buffer_type(sd_bus_message *m, const BusObjectView *v)
{
        const char *type = "";

        if (v->type == SHARE_TYPE_DMABUF)
                type = v->info && strcmp(v->info->exporter, "memfd") == 0 ? "memfd" : "dma-buf";
        return append_constant(m, type);
}

static int append_size(sd_bus_message *m, const BusObjectView *v)
{
        uint64_t size = v->info ? v->info->size : 0;

        return sd_bus_message_append_basic(m, 't', &size);
}

static int append_exporter(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->info ? v->info->exporter : "");
}

static int append_name(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->info ? v->info->name : "");
}

static int append_device(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->info ? v->info->device : "");
}

static int append_allocator(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 's', v->info ? v->info->allocator : "");
}

static int append_inode(sd_bus_message *m, const BusObjectView *v)
{
        uint64_t ino = v->info ? (uint64_t) v->info->ino : 0;

        return sd_bus_message_append_basic(m, 't', &ino);
}

static int append_inode_device(sd_bus_message *m, const BusObjectView *v)
{
        uint64_t dev = v->info ? (uint64_t) v->info->dev : 0;

        return sd_bus_message_append_basic(m, 't', &dev);
}

static int append_created(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 't', &v->created_usec);
}

static int append_lookup_count(sd_bus_message *m, const BusObjectView *v)
{
        return sd_bus_message_append_basic(m, 't', &v->lookup_count);
}

typedef struct {
        const char *name;
        size_t name_len;
        const char *signature;
        int (*append)(sd_bus_message *m, const BusObjectView *v);
} ObjectProperty;

#define PROPERTY(name, signature, append)                                                          \
        {                                                                                          \
                name, sizeof(name) - 1, signature, append                                          \
        }

/* In the order of the vtable (bus-object.c) and the XML. */
static const ObjectProperty properties[] = {
    PROPERTY("Uuid", "s", append_uuid),
    PROPERTY("Type", "s", append_type),
    PROPERTY("Owner", "o", append_owner),
    PROPERTY("OwnerBusName", "s", append_owner_bus_name),
    PROPERTY("BufferType", "s", append_buffer_type),
    PROPERTY("OwnerPid", "u", append_owner_pid),
    PROPERTY("OwnerUid", "u", append_owner_uid),
    PROPERTY("OwnerCommand", "s", append_owner_command),
    PROPERTY("Size", "t", append_size),
    PROPERTY("Exporter", "s", append_exporter),
    PROPERTY("Name", "s", append_name),
    PROPERTY("Device", "s", append_device),
    PROPERTY("Allocator", "s", append_allocator),
    PROPERTY("Inode", "t", append_inode),
    PROPERTY("InodeDevice", "t", append_inode_device),
    PROPERTY("CreatedTimestamp", "t", append_created),
    PROPERTY("LookupCount", "t", append_lookup_count),
};

int bus_object_view_append_property(sd_bus_message *m, const BusObjectView *v, const char *property)
{
        for (size_t i = 0; i < G_N_ELEMENTS(properties); i++)
                if (strcmp(properties[i].name, property) == 0)
                        return properties[i].append(m, v);
        return -EINVAL;
}

const char *bus_object_view_property_signature(const char *property)
{
        for (size_t i = 0; i < G_N_ELEMENTS(properties); i++)
                if (strcmp(properties[i].name, property) == 0)
                        return properties[i].signature;
        return NULL;
}

const char *const bus_standard_interfaces[] = {
    "org.freedesktop.DBus.Peer",
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Properties",
    NULL,
};

int bus_append_standard_interfaces(sd_bus_message *m)
{
        int r;

        for (const char *const *i = bus_standard_interfaces; *i; i++) {
                r = sd_bus_message_open_container(m, 'e', "sa{sv}");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', *i);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_property_entry(sd_bus_message *m, const ObjectProperty *p, const BusObjectView *v)
{
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = bus_append_trusted_string(m, p->name, p->name_len);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', p->signature);
        if (r < 0)
                return r;
        r = p->append(m, v);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_object_view_append_interfaces(sd_bus_message *m, const BusObjectView *v, bool with_standard)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        if (with_standard) {
                r = bus_append_standard_interfaces(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_open_container(m, 'e', "sa{sv}");
        if (r < 0)
                return r;
        r = bus_append_trusted_string(m, BUS_OBJECT_INTERFACE, strlen(BUS_OBJECT_INTERFACE));
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < G_N_ELEMENTS(properties); i++) {
                r = append_property_entry(m, &properties[i], v);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}
