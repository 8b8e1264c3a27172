/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-client.h"

#include <errno.h>

#include <glib.h>

#include "bus-access.h"
#include "cleanup.h"
#include "log.h"

struct BusClients {
        Service *service;
        sd_bus *bus;
        GHashTable *by_name; /* unique name -> BusClient */
};

typedef struct {
        ShareOwner owner; /* owner.name is the unique name, the key in by_name */
        BusClients *clients;
        sd_bus_track *track;
} BusClient;

/* The hash table's value destructor. */
static void bus_client_free(void *p)
{
        BusClient *c = p;
        unsigned n;

        n = share_table_remove_owner(service_table(c->clients->service), &c->owner);
        if (n > 0)
                log_info("Bus client %s is gone; removed its %u object(s)", c->owner.name, n);
        sd_bus_track_unref(c->track);
        share_owner_clear(&c->owner);
        g_free(c);
}

static int on_client_gone(sd_bus_track *track, void *userdata)
{
        BusClient *c = userdata;

        /* Frees c and the track: sd-bus holds its own reference while
         * calling us. */
        g_hash_table_remove(c->clients->by_name, c->owner.name);
        return 1;
}

BusClients *bus_clients_new(Service *s, sd_bus *bus)
{
        BusClients *cs = g_new0(BusClients, 1);

        cs->service = s;
        cs->bus = sd_bus_ref(bus);
        cs->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, bus_client_free);
        return cs;
}

void bus_clients_free(BusClients *cs)
{
        if (!cs)
                return;
        g_hash_table_destroy(cs->by_name);
        sd_bus_unref(cs->bus);
        g_free(cs);
}

int bus_clients_get_owner(BusClients *cs, sd_bus_message *msg, ShareOwner **ret)
{
        const char *sender = sd_bus_message_get_sender(msg);
        uid_t uid = (uid_t) -1;

        if (!sender)
                return -EINVAL;
        if (!g_hash_table_contains(cs->by_name, sender))
                /* Credentials are recorded when known (share-table.h). */
                (void) bus_access_get_euid(msg, &uid);
        return bus_clients_adopt(cs, sender, uid, ret);
}

int bus_clients_adopt(BusClients *cs, const char *name, uid_t uid, ShareOwner **ret)
{
        _cleanup_(sd_bus_track_unrefp) sd_bus_track *track = NULL;
        BusClient *c;
        int r;

        c = g_hash_table_lookup(cs->by_name, name);
        if (c) {
                *ret = &c->owner;
                return 0;
        }

        r = sd_bus_track_new(cs->bus, &track, on_client_gone, NULL);
        if (r < 0)
                return r;
        /* Fails when the name left already: then it must not own anything. */
        r = sd_bus_track_add_name(track, name);
        if (r < 0)
                return r;

        c = g_new0(BusClient, 1);
        c->clients = cs;
        share_owner_init(&c->owner, SHARE_OWNER_BUS_CLIENT, name, uid);
        c->owner.max_entries = service_config(cs->service)->max_objects_per_client;
        c->owner.max_bytes = service_config(cs->service)->max_bytes_per_client;
        c->owner.userdata = c;
        c->track = g_steal_pointer(&track);
        /* The track calls back from the event loop only: no call before this. */
        sd_bus_track_set_userdata(c->track, c);
        g_hash_table_insert(cs->by_name, c->owner.name, c);
        *ret = &c->owner;
        return 0;
}

bool bus_clients_owns(BusClients *cs, const char *sender, const ShareEntry *e)
{
        BusClient *c = sender ? g_hash_table_lookup(cs->by_name, sender) : NULL;

        return c && share_entry_owner(e) == &c->owner;
}
