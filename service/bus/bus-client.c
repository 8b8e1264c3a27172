/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-client.h"

#include <errno.h>

#include <glib.h>

#include "bus-access.h"
#include "cleanup.h"
#include "log.h"
#include "utf8.h"

struct BusClients {
        Service *service;
        sd_bus *bus;
        GHashTable *by_name; /* unique name -> BusClient */
        /* bus_clients_free(): the clients stay, the service goes; one line
         * for all of them instead of one "is gone" per client. */
        bool stopping;
        unsigned released; /* objects released while stopping */
};

typedef struct {
        ShareOwner owner; /* owner.name is the unique name, the key in by_name */
        BusClients *clients;
        sd_bus_track *track;
        pid_t pid;  /* from the bus at its first call; 0 when unknown */
        char *comm; /* the process's name then; NULL when unknown */
} BusClient;

/* The hash table's value destructor. */
static void bus_client_free(void *p)
{
        BusClient *c = p;
        unsigned n;

        n = share_table_remove_owner(service_table(c->clients->service), &c->owner);
        if (c->clients->stopping)
                c->clients->released += n;
        else if (n > 0)
                log_info("Bus client %s is gone; removed its %u object(s)", c->owner.name, n);
        sd_bus_track_unref(c->track);
        share_owner_clear(&c->owner);
        g_free(c->comm);
        g_free(c);
}

/* What the bus says of the sender of msg: its uid and pid as dbus-daemon
 * took them from the socket, its name read from /proc/PID/comm (AUGMENT).
 * Unknown ones stay (uid_t) -1, 0 and NULL. */
#define CLIENT_CREDS                                                                               \
        (SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_COMM | SD_BUS_CREDS_AUGMENT)

static pid_t creds_pid(sd_bus_creds *creds)
{
        pid_t pid = 0;

        if (creds)
                (void) sd_bus_creds_get_pid(creds, &pid);
        return pid;
}

static char *creds_comm(sd_bus_creds *creds)
{
        const char *s = NULL;

        if (creds && sd_bus_creds_get_comm(creds, &s) >= 0 && s)
                return utf8_dup_valid(s);
        return NULL;
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
        unsigned n_clients;

        if (!cs)
                return;
        cs->stopping = true;
        n_clients = g_hash_table_size(cs->by_name);
        g_hash_table_destroy(cs->by_name);
        if (cs->released > 0)
                log_info("Service stopping: released the %u object(s) of %u bus client(s)",
                         cs->released, n_clients);
        sd_bus_unref(cs->bus);
        g_free(cs);
}

/* Tracks name as a bus client that may own objects; pid and comm (taken)
 * as known, 0 and NULL when not. */
static int client_track(BusClients *cs, const char *name, uid_t uid, pid_t pid, char *comm,
                        ShareOwner **ret)
{
        _cleanup_(sd_bus_track_unrefp) sd_bus_track *track = NULL;
        g_autofree char *owned_comm = comm;
        BusClient *c;
        int r;

        r = sd_bus_track_new(cs->bus, &track, on_client_gone, NULL);
        if (r < 0)
                return r;
        /* Fails when the name left already: then it must not own anything. */
        r = sd_bus_track_add_name(track, name);
        if (r < 0)
                return r;

        c = g_new0(BusClient, 1);
        c->pid = pid;
        c->comm = g_steal_pointer(&owned_comm);
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

static int client_track_creds(BusClients *cs, const char *name, sd_bus_creds *creds,
                              ShareOwner **ret)
{
        uid_t uid = (uid_t) -1;

        if (creds)
                (void) sd_bus_creds_get_euid(creds, &uid);
        return client_track(cs, name, uid, creds_pid(creds), creds_comm(creds), ret);
}

int bus_clients_get_owner(BusClients *cs, sd_bus_message *msg, ShareOwner **ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(msg);
        BusClient *c;

        if (!sender)
                return -EINVAL;
        c = g_hash_table_lookup(cs->by_name, sender);
        if (c) {
                *ret = &c->owner;
                return 0;
        }
        /* Credentials are recorded when known (share-table.h). */
        (void) sd_bus_query_sender_creds(msg, CLIENT_CREDS, &creds);
        return client_track_creds(cs, sender, creds, ret);
}

int bus_clients_adopt(BusClients *cs, const char *name, uid_t uid, ShareOwner **ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        BusClient *c = g_hash_table_lookup(cs->by_name, name);

        if (c) {
                *ret = &c->owner;
                return 0;
        }
        /* After a restart: the name's process as the bus knows it now; the
         * uid the objects are charged to is the recorded one. */
        (void) sd_bus_get_name_creds(cs->bus, name, CLIENT_CREDS, &creds);
        return client_track(cs, name, uid, creds_pid(creds), creds_comm(creds), ret);
}

bool bus_clients_owns(BusClients *cs, const char *sender, const ShareEntry *e)
{
        BusClient *c = sender ? g_hash_table_lookup(cs->by_name, sender) : NULL;

        return c && share_entry_owner(e) == &c->owner;
}

void bus_client_owner_process(const ShareOwner *owner, pid_t *pid, const char **comm)
{
        const BusClient *c = owner->userdata;

        *pid = 0;
        *comm = NULL;
        if (owner->kind != SHARE_OWNER_BUS_CLIENT || !c)
                return;
        *pid = c->pid;
        *comm = c->comm;
}
