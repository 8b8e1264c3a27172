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
typedef struct Listener Listener;

/* What *we* are on a connection (docs/hacking.md, "Vocabulary"). */
typedef enum {
        ROLE_FRONTEND, /* we are the front-end of a vhost-user back-end: the hub */
        ROLE_BACKEND,  /* we are the back-end of a front-end (a VMM): the bridge */
} Role;

typedef enum {
        PEER_STATE_CONNECTING, /* created, not yet on a socket */
        PEER_STATE_WAITING,    /* a --connect peer without a connection, a retry armed */
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

typedef enum {
        LISTENER_EVENT_NEW,     /* listening */
        LISTENER_EVENT_CHANGED, /* AcceptedCount grew */
        LISTENER_EVENT_GONE,    /* removed; freed once the observers return */
} ListenerEvent;

typedef void (*ListenerObserverFn)(Service *s, Listener *l, ListenerEvent ev, void *userdata);

#define SERVICE_MAX_ALLOWED_UIDS 64

/* Where sockets go by default: systemd's RuntimeDirectory=vhost-share. */
#define SERVICE_RUNTIME_DIRECTORY "/run/vhost-share"

typedef struct {
        uint64_t lookup_timeout_usec; /* GET_SHARED_OBJECT deadline, default 1 s */
        uint64_t reply_timeout_usec;  /* handshake reply deadline, default 5 s */
        /* A GET_SHARED_OBJECT unanswered this long drops its exporter (a
         * later answer only fails its lookup); 0: four lookup deadlines. */
        uint64_t exporter_silence_limit_usec; /* 0: four lookup deadlines */
        /* GET answers in a row past the deadline that drop the exporter,
         * default 3; 0 = no limit. */
        unsigned max_missed_answers;
        /* BufferKind set (core/buffer-rule.h) an exporter's or a VMM's
         * answer may be; default dma-buf and sealed memfd. */
        unsigned accepted_buffers;
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
        unsigned max_queued_messages; /* per socket: unsent + unacked messages, default 65536 */
        unsigned max_queued_bytes;    /* per socket: unsent bytes, default 4 MiB */
        unsigned max_pending_lookups_per_uid; /* importers of one uid together, default 512 */
        unsigned bridge_device_id;            /* --serve default: virtio device id, 4 (rng) */
        unsigned bridge_queues;               /* --serve default: queues presented, 1 */
        mode_t socket_mode;                   /* listening sockets, default 0660 */
        uid_t socket_uid;                     /* their owner, (uid_t) -1: the service's */
        gid_t socket_gid;                     /* their group, (gid_t) -1: the service's */
        /* Where the privileged group's members may put listening sockets
         * (NULL-terminated; default SERVICE_RUNTIME_DIRECTORY). Borrowed by
         * the config; the service keeps a copy. */
        const char *const *socket_directories;
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
        /* Any listening socket's peers: the BufferKind set their answers
         * may be ([Socket PATH] AcceptedBuffers=); 0: the service's. */
        unsigned accepted_buffers;
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

/* SIGHUP: the service's settings become cfg. Limits checked when used
 * (peers, pending lookups, queues, the table's per-uid and total quotas,
 * deadlines of new requests) apply at once; those fixed when something is
 * made (a bus client's or a peer's object quota, a socket's mode, group
 * and allowed uids) apply to what is made from now on. */
void service_reload_config(Service *s, const ServiceConfig *cfg);
/* GETs outstanding for every importer (an orderly stop waits for them). */
unsigned service_pending_lookups(Service *s);
/* An orderly stop: no new connection is accepted on any listener. */
void service_stop_accepting(Service *s);
/* An orderly stop: no new request of a back-end is read (what it sends
 * meanwhile waits in its channel for the next process); the answers to
 * what was read still go out. */
void service_stop_requests(Service *s);
/* No lookup in flight, nothing queued or awaited on a back-end's sockets:
 * every ready back-end connection can be handed to the next process. */
bool service_quiet(Service *s);
/* Closes every peer (service_close_peer()): their lookups fail, and the
 * bus callers waiting on them get their errors while the bus is still
 * there. */
void service_close_peers(Service *s, const char *reason);

/* Restart (core/state-keeper.h): listening socket files stay when the
 * service is freed, for the next instance that gets the sockets from the
 * fd store. */
void service_keep_socket_files(Service *s, bool keep);
/* Tells the state keeper of a change the table does not announce (an
 * entry handed to another owner). No-op without a keeper. */
void service_note_state_changed(Service *s);

ShareTable *service_table(Service *s);
sd_event *service_event(Service *s);
const ServiceConfig *service_config(Service *s);

/* Observers are called in the order added; one added or removed during a
 * notification follows shared/observer-list.h's rule. Returns an id, never 0. */
unsigned service_add_peer_observer(Service *s, PeerObserverFn fn, void *userdata);
void service_remove_peer_observer(Service *s, unsigned id);

/* Front-end role: connect to a back-end listening at path, or listen at
 * path for back-ends. A connect peer waits (PEER_STATE_WAITING, the reason
 * in its last error) while nobody listens there (-ENOENT, -ECONNREFUSED,
 * -EAGAIN) and after its connection breaks, retrying with a backoff that
 * grows until a handshake completes; a peer whose retry cannot be armed is
 * closed. Fails without a peer: -EINVAL path not absolute, -ENAMETOOLONG,
 * -EEXIST a connect peer has the same socket or it is one of the service's
 * listening sockets, -EUSERS at MaxPeers, -ENOTSOCK not a socket, and
 * connect()'s other errors (-ENOTDIR, -EPROTOTYPE, -EACCES ...). */
int service_connect_backend(Service *s, const char *path, Peer **ret);

/* Listening sockets. Each is a Listener with an id (never reused in the
 * process), until service_remove_listener() or service_free() closes it
 * and unlinks its socket file. listener.c. */

/* Listens at path for peers of role: ROLE_FRONTEND for back-ends
 * ("accept"), ROLE_BACKEND for a VMM front-end ("serve", presenting opts,
 * or the service's defaults when NULL), on behalf of owner (the uid that
 * asked; 0 for the command line and the configuration). -EEXIST when a
 * listener has that socket already (service_find_listener_by_path()),
 * -EINVAL for opts out of range; socket errors as -errno. ret may be NULL. */
int service_add_listener(Service *s, const char *path, Role role, const ServeOptions *opts,
                         uid_t owner, Listener **ret);
/* service_add_listener() for the command line and the configuration. */
int service_listen_backends(Service *s, const char *path);
int service_listen_frontends(Service *s, const char *path);
int service_listen_frontends_with(Service *s, const char *path, const ServeOptions *opts);
/* Replaces the uid allow-list of the listening socket at path (n == 0:
 * anyone). -ENOENT when nothing listens there, -E2BIG over the maximum. */
int service_set_allowed_uids(Service *s, const char *path, const uid_t *uids, unsigned n);
/* The BufferKind set the answers of the peers the socket at path accepts
 * from now on may be (0: the service's AcceptedBuffers=); logged. -ENOENT
 * when nothing listens there. */
int service_set_accepted_buffers(Service *s, const char *path, unsigned kinds);

/* Listeners, in creation order. */
unsigned service_n_listeners(Service *s);
void service_foreach_listener(Service *s, bool (*fn)(Listener *l, void *userdata), void *userdata);
Listener *service_find_listener(Service *s, uint64_t id);
/* The listener whose socket is path: the same name once both are made
 * absolute and normalised (no "//", ".", ".."; symlinks are not
 * followed), or the same file (device and inode). NULL when none. */
Listener *service_find_listener_by_path(Service *s, const char *path);
/* Closes the socket and unlinks its file; observers hear GONE. The peers it
 * accepted stay. */
void service_remove_listener(Service *s, Listener *l);
/* Observers are called in the order added, as the peers' are. Returns an
 * id, never 0. A listener observer must not remove listeners. */
unsigned service_add_listener_observer(Service *s, ListenerObserverFn fn, void *userdata);
void service_remove_listener_observer(Service *s, unsigned id);

/* Listener properties, fixed at creation but for the count. */
uint64_t listener_get_id(const Listener *l);
const char *listener_get_path(const Listener *l); /* as given to service_add_listener() */
Role listener_get_role(const Listener *l);        /* of the peers it accepts */
uid_t listener_get_owner(const Listener *l);
gid_t listener_get_group(const Listener *l);             /* of the socket file, as created */
mode_t listener_get_mode(const Listener *l);             /* permission bits, as created */
uint64_t listener_get_accepted_count(const Listener *l); /* connections made peers */
uint64_t listener_get_created_usec(const Listener *l);   /* CLOCK_REALTIME */
/* What a listener does, as AddPeer names it: ROLE_FRONTEND -> "accept",
 * ROLE_BACKEND -> "serve". */
const char *listener_role_to_string(Role r);

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
/* Stops (or resumes) reading the requests of back-ends (ADD, REMOVE,
 * LOOKUP), also of those that connect meanwhile: for a consumer of table
 * events that falls behind (the bus). Answers and VMMs are not paused. */
void service_pause_input(Service *s, bool paused);

/* Peer properties. */
uint64_t peer_id(const Peer *p);
Role peer_role(const Peer *p);
PeerState peer_state(const Peer *p);
const char *peer_name(const Peer *p); /* "back-end#3": one word; the socket is peer_socket_path() */
const char *peer_socket_path(const Peer *p);
uint64_t peer_features(const Peer *p);          /* negotiated virtio features */
uint64_t peer_protocol_features(const Peer *p); /* negotiated protocol features */
bool peer_shared_objects(const Peer *p);        /* SHARED_OBJECT negotiated */
pid_t peer_pid(const Peer *p);                  /* SO_PEERCRED, 0 unknown */
const char *peer_command(const Peer *p);        /* its comm when it connected, "" unknown */
uid_t peer_uid(const Peer *p);                  /* SO_PEERCRED, (uid_t)-1 unknown */
unsigned peer_exported_count(const Peer *p);    /* entries it owns, or ADDs acked upstream */
const char *peer_last_error(const Peer *p);     /* "" when none */
uint64_t peer_next_retry_usec(const Peer *p);   /* CLOCK_REALTIME of its next connect, 0 none */
ShareOwner *peer_owner(Peer *p);
/* The remote's role, as the D-Bus Role property and the logs name it:
 * ROLE_FRONTEND -> "back-end", ROLE_BACKEND -> "front-end". */
const char *role_remote_to_string(Role r);
const char *peer_state_to_string(
    PeerState s); /* "connecting" | "waiting" | "negotiating" | "ready" | "closed" */

/* Asynchronous lookup of a UUID. Returns -errno, and never calls done, when
 * it cannot start: -EINVAL not a valid UUID, -ENOENT unknown (and no VMM to
 * ask), -EBUSY too many pending, -ECONNRESET the exporter is not ready,
 * -ELOOP the UUID is being asked of the very VMM process that asks for it,
 * -EDEADLK a back-end asks for its own object or its lookup would close a
 * cycle of lookups waiting on each other (lookup.c).
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
        const char *name; /* a bus caller's unique name, for lookup observers; may be NULL */
} ServiceImporter;

/* service_lookup() on behalf of who; service_lookup() is the service's own
 * (who NULL). */
int service_lookup_as(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ServiceImporter *who,
                      ServiceLookupFn done, void *userdata);

/* A finished lookup (lookup-events.c): after done was called, or when the
 * lookup could not start. */
typedef struct {
        const uint8_t *uuid;
        uint64_t peer_id; /* the importing peer, 0: none */
        const char *name; /* ServiceImporter.name, NULL: none (a peer, or the service) */
        int error;        /* 0: the importer got an fd; else its -errno */
        bool size_noted;  /* the answer showed the entry's Size (share_table_note_size()) */
} ServiceLookupEvent;
typedef void (*LookupObserverFn)(Service *s, const ServiceLookupEvent *ev, void *userdata);
/* As service_add_peer_observer(). */
unsigned service_add_lookup_observer(Service *s, LookupObserverFn fn, void *userdata);
void service_remove_lookup_observer(Service *s, unsigned id);

/* Registers a buffer held by the service on behalf of owner (a bus client or
 * the service); announces it to bridged front-ends. fd taken on success. */
int service_export_fd(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], int fd, ShareOwner *owner,
                      const ShareBufferInfo *info, ShareEntry **ret);
int service_remove(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ShareOwner *requester);
