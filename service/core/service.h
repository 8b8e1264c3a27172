/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The service core: one sd-event loop, the share table, the vhost-user
 * peers in both roles, and the asynchronous lookup that serves a UUID from
 * the table, from the back-end that exports it or from a VMM we serve. The
 * D-Bus layer and main.c sit on top of this; nothing here knows D-Bus.
 *
 * Implemented by service.c (defaults, the service's life, peer observers),
 * peer.c (peers: life, reconnects, properties), listener.c (listening
 * sockets), lookup.c (service_lookup and the table's operations), hub.c and
 * bridge.c (the two roles); service-private.h says more. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "share-table.h"

typedef struct Service Service;
typedef struct Peer Peer;

/* What *we* are on a connection (docs/hacking.md, "Vocabulary"). */
typedef enum {
        ROLE_FRONTEND, /* we are the front-end of a vhost-user back-end: the hub */
        ROLE_BACKEND,  /* we are the back-end of a front-end (a VMM): the bridge */
} Role;

typedef enum {
        PEER_STATE_CONNECTING,
        PEER_STATE_NEGOTIATING,
        PEER_STATE_READY,
        PEER_STATE_CLOSED,
} PeerState;

typedef enum {
        PEER_EVENT_NEW,     /* a peer object exists (connecting or accepted) */
        PEER_EVENT_CHANGED, /* state, features, counts changed */
        PEER_EVENT_GONE,    /* about to be freed; its entries are already purged */
} PeerEvent;

typedef void (*PeerObserverFn)(Service *s, Peer *p, PeerEvent ev, void *userdata);

#define SERVICE_MAX_ALLOWED_UIDS 64

typedef struct {
        uint64_t lookup_timeout_usec;    /* GET_SHARED_OBJECT deadline, default 1 s */
        uint64_t reply_timeout_usec;     /* handshake reply deadline, default 5 s */
        unsigned max_objects_per_peer;   /* default 4096; 0 = unlimited */
        unsigned max_objects_per_client; /* bus clients, default 1024 */
        /* Held buffers (core/quota.h); 0 = unlimited. */
        uint64_t max_bytes_per_client; /* one bus connection's, default 1 GiB */
        uint64_t max_bytes_per_uid;    /* one uid's, disowned ones too, default 2 GiB */
        uint64_t max_bytes_total;      /* everything held, default 4 GiB */
        unsigned max_objects_per_uid;  /* one uid's, default 4096 */
        unsigned max_disowned_per_uid; /* one uid's share of the disowned pool, default 256 */
        unsigned max_peers;            /* default 64 */
        unsigned max_pending_lookups_per_peer; /* default 64 */
        unsigned max_pending_lookups;          /* global, default 1024 */
        unsigned max_pending_lookups_per_uid;  /* importers of one uid together, default 512 */
        unsigned bridge_device_id;             /* --serve default: virtio device id, 4 (rng) */
        unsigned bridge_queues;                /* --serve default: queues presented, 1 */
        mode_t socket_mode;                    /* listening sockets, default 0660 */
        uid_t socket_uid;                      /* their owner, (uid_t) -1: the service's */
        gid_t socket_gid;                      /* their group, (gid_t) -1: the service's */
        /* Uids (SO_PEERCRED) a listening socket accepts; none: anyone who
         * can open the socket file. Per socket: service_set_allowed_uids. */
        unsigned n_allowed_uids;
        uid_t allowed_uids[SERVICE_MAX_ALLOWED_UIDS];
} ServiceConfig;

void service_config_init_defaults(ServiceConfig *c);

/* What one --serve socket presents to the front-ends it accepts. */
typedef struct {
        unsigned device_id; /* virtio device id the VMM is told to expect (logged; vhost-user
                             * has no message for it) */
        unsigned queues;    /* GET_QUEUE_NUM answer, 1..64 */
        bool reply_ack;     /* offer REPLY_ACK: ADD/REMOVE acknowledged. Off for front-ends
                             * whose acks are wrong (QEMU 8.2-9.1 inverted them) */
} ServeOptions;

/* The service's defaults (bridge_device_id, bridge_queues, REPLY_ACK on). */
void serve_options_init(ServeOptions *o, const ServiceConfig *c);

/* The service does not take the event loop's reference. Fails (-errno)
 * only when the loop refuses an event source (e.g. -ESTALE: it has
 * finished). */
int service_new(sd_event *ev, const ServiceConfig *cfg, Service **ret);
/* Closes all peers (purging their entries, failing their lookups), unlinks
 * listening sockets, frees the table. */
void service_free(Service *s);

ShareTable *service_table(Service *s);
sd_event *service_event(Service *s);
const ServiceConfig *service_config(Service *s);

/* Observers are called in the order added; one added or removed during a
 * notification follows shared/observer-list.h's rule. Returns an id, never 0. */
unsigned service_add_peer_observer(Service *s, PeerObserverFn fn, void *userdata);
void service_remove_peer_observer(Service *s, unsigned id);

/* Front-end role: connect to a back-end listening at path (retrying with
 * backoff while it is not there, and after it breaks; a peer whose retry
 * cannot be armed is closed), or listen at path for back-ends. */
int service_connect_backend(Service *s, const char *path, Peer **ret);
int service_listen_backends(Service *s, const char *path);
/* Back-end role: listen at path for a front-end (a VMM), presenting the
 * service's defaults or opts. */
int service_listen_frontends(Service *s, const char *path);
int service_listen_frontends_with(Service *s, const char *path, const ServeOptions *opts);
/* Replaces the uid allow-list of the listening socket at path (n == 0:
 * anyone). -ENOENT when nothing listens there, -E2BIG over the maximum. */
int service_set_allowed_uids(Service *s, const char *path, const uid_t *uids, unsigned n);
/* Makes fd, an already connected socket, a peer of role (as if accepted on
 * a listener; label names it in logs). For embedding, tests and fuzzers.
 * fd taken on success; -EUSERS at the peer cap, and fd is still the
 * caller's. */
int service_adopt_peer(Service *s, Role role, int fd, const char *label, Peer **ret);

/* Peers, in creation order. */
unsigned service_n_peers(Service *s);
void service_foreach_peer(Service *s, bool (*fn)(Peer *p, void *userdata), void *userdata);
Peer *service_find_peer(Service *s, uint64_t id);
/* Closes a peer: entries purged (observers hear Removed), lookups failed. */
void service_close_peer(Service *s, Peer *p, const char *reason);

/* Peer properties. */
uint64_t peer_id(const Peer *p);
Role peer_role(const Peer *p);
PeerState peer_state(const Peer *p);
const char *peer_name(const Peer *p); /* for logs, e.g. "back-end#3(on /run/dev.sock)" */
const char *peer_socket_path(const Peer *p);
uint64_t peer_features(const Peer *p);          /* negotiated virtio features */
uint64_t peer_protocol_features(const Peer *p); /* negotiated protocol features */
bool peer_shared_objects(const Peer *p);        /* SHARED_OBJECT negotiated */
pid_t peer_pid(const Peer *p);                  /* SO_PEERCRED, 0 unknown */
uid_t peer_uid(const Peer *p);                  /* SO_PEERCRED, (uid_t)-1 unknown */
unsigned peer_exported_count(const Peer *p);    /* entries it owns, or ADDs acked upstream */
const char *peer_last_error(const Peer *p);     /* "" when none */
ShareOwner *peer_owner(Peer *p);
/* The remote's role, as the D-Bus Role property and the logs name it:
 * ROLE_FRONTEND -> "back-end", ROLE_BACKEND -> "front-end". */
const char *role_remote_to_string(Role r);
const char *
peer_state_to_string(PeerState s); /* "connecting" | "negotiating" | "ready" | "closed" */

/* Asynchronous lookup of a UUID. Returns -errno, and never calls done, when
 * it cannot start: -EINVAL not a valid UUID, -ENOENT unknown (and no VMM to
 * ask), -EBUSY too many pending, -ECONNRESET the exporter is not ready,
 * -ELOOP the UUID is being asked of the very VMM process that asks for it.
 * Otherwise 0, and done is called exactly once, maybe before service_lookup
 * returns (held buffers): with fd >= 0 (the callee owns it) and error 0, or
 * fd -1 and -errno: -ENOENT not known upstream either, -ETIMEDOUT exporter
 * did not answer in time, -ECONNRESET exporter went away, -EIO exporter
 * answered without fd, -EPROTO / -EBADFD with another object's UUID / with
 * an fd that is no buffer. */
typedef void (*ServiceLookupFn)(Service *s, int fd, int error, void *userdata);
int service_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                   void *userdata);

/* Who waits on a lookup, for its fair share of the pool: a peer, or (peer
 * NULL) a bus caller, all of whose connections are one importer of uid. */
typedef struct {
        const Peer *peer;
        uid_t uid;
} ServiceImporter;

/* service_lookup() on behalf of who; service_lookup() is the service's own
 * (who NULL). */
int service_lookup_as(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ServiceImporter *who,
                      ServiceLookupFn done, void *userdata);

/* Registers a buffer held by the service on behalf of owner (a bus client or
 * the service); announces it to bridged front-ends. fd taken on success. */
int service_export_fd(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], int fd, ShareOwner *owner,
                      const ShareBufferInfo *info, ShareEntry **ret);
int service_remove(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ShareOwner *requester);
