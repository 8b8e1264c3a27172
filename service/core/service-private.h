/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals shared by service.c (lifecycle, listeners, lookups), hub.c
 * (the hub's side of a back-end) and bridge.c (our back-end side towards a
 * VMM). Nothing outside those files includes this. */

#include <glib.h>

#include "backend.h"
#include "service.h"
#include "vu-endpoint.h"

/* The protocol features the hub asks back-ends for. */
#define HUB_PROTOCOL_FEATURES                                                                      \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_BACKEND_SEND_FD) | VU_BIT(VU_PF_SHARED_OBJECT))

typedef struct {
        Service *service;
        char *path;
        Role role;          /* of the peers it accepts */
        ServeOptions serve; /* role front-end: what the bridge presents */
        int fd;
        sd_event_source *io;
        sd_event_source *resume; /* accept paused: out of fds */
        bool starved;            /* logged the shortage, not yet recovered */
        unsigned n_allowed_uids;
        uid_t allowed_uids[SERVICE_MAX_ALLOWED_UIDS];
} Listener;

/* A request of a peer waiting for service_lookup(). peer is cleared when the
 * peer goes away first, so a late answer only closes its fd. */
typedef struct {
        Peer *peer;
        VuReplySlot *slot;
        uint8_t uuid[SHARE_UUID_SIZE];
} PeerLookup;

struct Peer {
        Service *service;
        uint64_t id;
        Role role;
        PeerState state;
        char *name;
        char *socket_path;
        bool reconnect; /* --connect peers come back after a failure */

        /* Hub side (role back-end): requests out on main, requests in on chan. */
        VuEndpoint *main;
        VuEndpoint *chan;
        /* Bridge side (role front-end). */
        VuBackend *backend;
        ServeOptions serve;

        uint64_t features;
        uint64_t protocol_features;
        uint64_t queues;
        pid_t pid;
        uid_t uid;
        ShareOwner owner;
        unsigned exported_count; /* bridge: ADDs the front-end acked */
        char last_error[160];

        GQueue importing;      /* PeerLookup* this peer waits for */
        unsigned pending_gets; /* GET_SHARED_OBJECT outstanding to it */

        sd_event_source *retry;
        uint64_t backoff_usec;
        sd_event_source *free_later;
};

struct Service {
        sd_event *event;
        ServiceConfig config;
        ShareTable *table;
        GPtrArray *listeners; /* Listener* */
        GQueue peers;         /* Peer*, creation order */
        GQueue closing;       /* closed Peer* waiting to be freed */
        GHashTable *peers_by_id;
        uint64_t next_peer_id;
        unsigned pending_lookups;
        GArray *peer_observers; /* PeerObserver */
        unsigned next_observer_id;
        unsigned table_observer;
};

void service_notify_peer(Service *s, Peer *p, PeerEvent ev);
void peer_set_state(Peer *p, PeerState state);
void peer_set_error(Peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A peer broke: log, purge, fail lookups; reconnecting peers retry, others go. */
void peer_fail(Peer *p, const char *reason);
/* The same, for a connection that reported error (-EPIPE: an orderly hang-up). */
void peer_fail_errno(Peer *p, int error, const char *reason);

/* service_lookup() for p's request waiting in slot: done gets a PeerLookup
 * (at once, if the lookup cannot start) and begins with peer_lookup_claim(). */
void peer_lookup_start(Peer *p, VuReplySlot *slot, const uint8_t uuid[SHARE_UUID_SIZE],
                       ServiceLookupFn done);
/* In done: the peer still waiting, l now off its queue; or NULL when it went
 * away first, and then fd is closed and l freed. */
Peer *peer_lookup_claim(PeerLookup *l, int fd);

/* hub.c: the hub's side of one back-end. */
void hub_peer_start(Peer *p, int fd);
void hub_peer_stop(Peer *p);
/* Asks the exporting back-end for the object; done as for service_lookup. */
int hub_peer_get_shared_object(Peer *p, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                               void *userdata);

/* bridge.c: our back-end side towards a VMM front-end. */
void bridge_peer_start(Peer *p, int fd);
void bridge_peer_stop(Peer *p);
/* Tell bridged front-ends of table changes. */
void bridge_announce(Service *s, const ShareEntry *e, ShareEvent ev);
/* Asks the front-end upstream (SHARED_OBJECT_LOOKUP). */
int bridge_peer_lookup(Peer *p, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                       void *userdata);
