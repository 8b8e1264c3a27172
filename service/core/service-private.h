/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals shared by the files of the service core, one job each:
 *
 *   service.c   defaults, the Service's life, its accessors, peer observers
 *   peer.c      a peer's life: credentials, start, failure, reconnect
 *               backoff, closing and freeing; the peer list and accessors
 *   listener.c  listening sockets: the listener list, its observers and
 *               accessors, accept, uid allow-lists, pausing when out of fds
 *   lookup.c    service_lookup() routing (table, exporting back-end, or the
 *               bridge's upstream walk, one per UUID, no loops) and a peer's
 *               request waiting on one
 *   lookup-share.c  fair shares of the lookup pool (per importer, per uid,
 *               a reserve for importers holding none)
 *   hub.c       the hub's side of a back-end (we are its front-end): glue
 *               between the peer, its VuFrontend engine and the table
 *   bridge.c    our back-end side towards a VMM, and the upstream walk that
 *               asks the VMMs we serve for a UUID the table does not hold
 *
 * Nothing outside service/core includes this, except the peer fuzzers and
 * unit and reliability tests, which read a few counters and fail a peer by
 * hand. */

#include <glib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "backend.h"
#include "frontend.h"
#include "observer-list.h"
#include "service.h"
#include "vu-endpoint.h"

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
        char *name;  /* for logs: "back-end#1(on /run/dev.sock)" */
        char *label; /* peer_name(), the Name property: "back-end#1", no spaces */
        char *socket_path;
        bool reconnect; /* --connect peers come back after a failure */

        /* The engine that speaks vhost-user for it, by role; its
         * negotiated features are the peer's (peer_features() ...). */
        VuFrontend *frontend; /* ROLE_FRONTEND: we are the hub, its front-end */
        VuBackend *backend;   /* ROLE_BACKEND: we are the bridge, a VMM's back-end */
        ServeOptions serve;   /* ROLE_BACKEND: what we present to the VMM */

        pid_t pid;
        uid_t uid;
        char command[16]; /* /proc/PID/comm when it connected ("" unknown) */
        ShareOwner owner;
        unsigned exported_count; /* bridge: ADDs the front-end acked */
        GHashTable *announced;   /* bridge: UUIDs sent ADD and no REMOVE since (a set) */
        /* Its connection's fds in the fd store are "<store_prefix>-main" ...;
         * NULL: named after the main socket's inode when first stored. */
        char *store_prefix;
        char last_error[160];

        GQueue importing;      /* PeerLookup* this peer waits for */
        GQueue awaiting;       /* GetRequest* its lookups wait on: its wait-for edges */
        unsigned pending_gets; /* GET_SHARED_OBJECT outstanding to it */

        sd_event_source *retry;
        uint64_t backoff_usec;    /* the last wait; 0 again once a handshake completes */
        uint64_t next_retry_usec; /* CLOCK_REALTIME of the armed retry, 0 when none */
        bool broke_unready;       /* its last connection broke before the handshake ended */
};

struct Service {
        sd_event *event;
        ServiceConfig config;
        ShareTable *table;
        GPtrArray *listeners; /* Listener*, creation order */
        uint64_t next_listener_id;
        ObserverList *listener_observers; /* ListenerObserverFn */
        GQueue peers;                     /* Peer*, creation order */
        /* Closed Peer*, freed by reap (a defer source) once the callbacks
         * that closed them have returned to the loop (peer.c says why). */
        GQueue closing;
        sd_event_source *reap;
        GHashTable *peers_by_id;
        uint64_t next_peer_id;
        unsigned pending_lookups;        /* GETs outstanding, all importers (lookup-share.c) */
        unsigned pending_reserved;       /* of those, in the reserved part of the pool */
        GHashTable *lookups_by_importer; /* importer key -> its pending_lookups */
        GHashTable *lookups_by_uid;      /* uid -> its importers' pending_lookups */
        GHashTable *forwards;            /* uuid -> LookupForward: being asked upstream */
        ObserverList *peer_observers;    /* PeerObserverFn */
        unsigned table_observer;
        ObserverList *lookup_observers; /* LookupObserverFn, lookup-events.c; NULL until one */
        bool input_paused;              /* service_pause_input() */
        /* Restart (state-keeper.c): socket files stay at exit, for the
         * next instance that gets their sockets from the fd store; and who
         * hears of changes the table does not announce (owners). */
        bool keep_socket_files;
        /* Stopping (service_stop_requests): the VMMs are told nothing more,
         * the next instance goes on from what the last record says. */
        bool stopping;
        void (*state_changed)(void *userdata);
        void *state_changed_userdata;
};

/* service.c */
void service_notify_peer(Service *s, Peer *p, PeerEvent ev);

/* lookup.c: service_lookup_as() without telling the lookup observers;
 * lookup-events.c's service_lookup_as() wraps it. */
int service_lookup_route(Service *s, const uint8_t uuid[SHARE_UUID_SIZE],
                         const ServiceImporter *who, ServiceLookupFn done, void *userdata);

/* peer.c */
/* A peer object of role, announced to observers (PEER_EVENT_NEW); how and
 * path name it in logs ("on /run/x.sock", "fd label"). */
Peer *peer_new(Service *s, Role role, const char *path, const char *how);
/* Hands the connected socket to the hub or the bridge (fd taken: a peer
 * that cannot watch it fails like one that broke). */
void peer_start(Peer *p, int fd);
/* MaxPeers (0: no limit) reached: no new connection until one goes. */
bool service_peers_at_limit(const Service *s);
/* Frees the closed peers now (service_free: nothing runs any more). */
void service_reap_peers(Service *s);
void peer_set_state(Peer *p, PeerState state);
void peer_set_error(Peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A peer broke: log, purge, fail lookups; reconnecting peers retry, others go. */
void peer_fail(Peer *p, const char *reason);
/* The same, for a connection that reported error (-EPIPE: an orderly hang-up). */
void peer_fail_errno(Peer *p, int error, const char *reason);

/* listener.c */
/* Closes and unlinks, without telling observers (service_free). */
void listener_free(Listener *l);
/* The address of the unix socket at path; logs and fails when path is
 * empty or too long for one. */
int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len);

/* listener.c, for a restart (state-restore.c, state-keeper.c). */
typedef struct StateListener StateListener;
/* A listener on fd, a listening socket kept across a restart, as st
 * describes it. fd taken on success; -ENOTSOCK not a listening unix
 * socket, -ESTALE its file at st->path is gone or another one, -EEXIST
 * a listener has that path or id already. */
int listener_restore(Service *s, int fd, const StateListener *st, Listener **ret);
/* Fills st (but fd_name and configured) from l. */
void listener_describe(const Listener *l, StateListener *st);
int listener_get_fd(const Listener *l);

/* lookup.c */
/* s->forwards, empty. */
GHashTable *lookup_forwards_new(void);
/* service_lookup() for p's request waiting in slot: done gets a PeerLookup
 * (at once, if the lookup cannot start) and begins with peer_lookup_claim(). */
void peer_lookup_start(Peer *p, VuReplySlot *slot, const uint8_t uuid[SHARE_UUID_SIZE],
                       ServiceLookupFn done);
/* In done: the peer still waiting, l now off its queue; or NULL when it went
 * away first, and then fd is closed and l freed. */
Peer *peer_lookup_claim(PeerLookup *l, int fd);
/* p is going: the answers to its requests find no peer any more, and its
 * GETs are no longer edges of the wait-for graph. */
void peer_forget_lookups(Peer *p);

/* lookup-share.c: fair shares of the lookup pool. */
/* One lookup's place in the pool: whose it is, and from which part. */
typedef struct {
        uint64_t importer; /* a peer's id, a bus caller's uid, or 0: the service */
        uid_t uid;
        bool reserved; /* taken from the part kept for importers holding none */
} LookupShare;

GHashTable *lookup_counters_new(void);
/* who NULL: the service itself (an anonymous importer). */
void lookup_share_init(LookupShare *sh, const ServiceImporter *who);
/* A place for sh's importer, or -EBUSY: its own, its uid's or the pool's
 * share is used up (and it holds one already, or the reserve is full). */
int lookup_share_take(Service *s, LookupShare *sh);
void lookup_share_release(Service *s, const LookupShare *sh);

/* A lookup waiting on an exporter's GET_SHARED_OBJECT (hub.c): for a
 * peer's lookup, an edge importer -> exporter of the wait-for graph that
 * lookup.c walks before it sends another GET. */
typedef struct {
        GList link;     /* in importer->awaiting; data points here */
        Peer *importer; /* NULL: the service or a bus caller, or the peer went away */
        Peer *exporter;
        ServiceLookupFn done;
        void *userdata;
        LookupShare share; /* its place in the pool */
} GetRequest;

/* hub.c: the hub's side of one back-end. */
/* Watches fd and begins the handshake; fd taken on success. A handshake
 * that fails at once has reached peer_fail_errno() (and returns 0). */
int hub_peer_start(Peer *p, int fd);
void hub_peer_stop(Peer *p);
/* A restart: the peer's ready front-end on the two sockets kept in the fd
 * store (both taken, whatever happens), without a new handshake. */
int hub_peer_restore(Peer *p, int main_fd, int chan_fd, const VuFrontendNegotiated *neg);
/* Asks the exporting back-end for the object on behalf of who (NULL: the
 * service); done as for service_lookup. */
int hub_peer_get_shared_object(Peer *p, const uint8_t uuid[SHARE_UUID_SIZE],
                               const ServiceImporter *who, ServiceLookupFn done, void *userdata);
/* p is going: its GETs still outstanding no longer name it. */
void hub_peer_forget_awaiting(Peer *p);

/* bridge.c: our back-end side towards a VMM front-end. */
/* Watches fd and waits for the VMM's handshake; fd taken on success. */
int bridge_peer_start(Peer *p, int fd);
void bridge_peer_stop(Peer *p);
/* A VMM's connection kept across a restart (fds taken, also on failure):
 * ready at once, with the UUIDs announced to it (uint8_t[16] each), so
 * nothing is announced twice. */
int bridge_peer_restore(Peer *p, int main_fd, int chan_fd, const VuBackendNegotiated *neg,
                        uint64_t status, const GArray *announced);
/* After a restart put the table back: what the VMM was told and the
 * table no longer holds is withdrawn, what it lacks is announced. */
void bridge_peer_resync(Peer *p);
/* Tell bridged front-ends of table changes. */
void bridge_announce(Service *s, const ShareEntry *e, ShareEvent ev);
/* Asks the VMMs we serve, one after the other, for a UUID the table does not
 * hold (SHARED_OBJECT_LOOKUP), except the process asker (0: none); done as
 * for service_lookup. -ENOENT, without calling done, when there was no VMM
 * to ask at all. */
int bridge_lookup_upstream(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], pid_t asker,
                           ServiceLookupFn done, void *userdata);
