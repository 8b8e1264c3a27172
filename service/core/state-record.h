/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state record: what a restarted vhost-shared needs besides the fds
 * themselves, written as a GKeyFile into a sealed memfd that sits in
 * systemd's fd store next to the fds it names (docs/hacking.md, "The
 * state record"). Pure: no store, no service; state-keeper.c fills and
 * stores it, state-restore.c reads it back into a service.
 *
 * Versioning: [State] Format= is a major version. A reader refuses a
 * record whose Format it does not know (-EPROTONOSUPPORT: the service then
 * starts empty and says so); keys it does not know are ignored, so adding
 * a key never needs a new Format. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "service.h"

#define STATE_RECORD_FORMAT 1
/* The fd names of state records in the store: "state-" + generation. */
#define STATE_RECORD_FD_PREFIX "state-"

/* One held buffer of the table. */
typedef struct {
        uint8_t uuid[SHARE_UUID_SIZE];
        char *fd_name; /* the store's name of its fd (several entries may share one) */
        ShareOwnerKind owner_kind;
        char *owner_name; /* a bus client's unique name; "" for the others */
        uid_t owner_uid;
        uid_t uid; /* charged to (share_entry_uid) */
        ShareBufferInfo info;
        uint64_t created_usec;
        uint64_t lookup_count;
} StateObject;

/* One listening socket. */
typedef struct StateListener {
        uint64_t id;
        char *fd_name;
        char *path;
        Role role;
        bool configured; /* from the command line or the configuration file */
        uid_t owner;
        gid_t group;
        mode_t mode;
        dev_t dev; /* the socket file bound */
        ino_t ino;
        uint64_t created_usec;
        uint64_t accepted_count;
        ServeOptions serve;
        unsigned n_allowed_uids;
        uid_t allowed_uids[SERVICE_MAX_ALLOWED_UIDS];
} StateListener;

/* One vhost-user connection of the hub (we are the back-end's front-end),
 * kept with its two sockets and what its handshake settled. */
typedef struct {
        uint64_t id;
        char *main_fd_name; /* the main socket */
        char *chan_fd_name; /* our end of the back-end channel */
        char *path;         /* the socket it came on (accept) or goes to (connect) */
        bool reconnect;     /* a --connect peer: connected again after a failure */
        pid_t pid;
        uid_t uid;
        uint64_t features;
        uint64_t protocol_features;
        uint64_t queues;
        GArray *exports; /* uint8_t[16]: what it added (vhost-device entries) */
} StatePeer;

/* One ring fd a VMM gave the bridge. */
typedef struct {
        unsigned queue;
        unsigned which; /* VuBackendVringFd */
        char *fd_name;
} StateVringFd;

/* One vhost-user connection of the bridge (we are a VMM's back-end,
 * --serve), kept with its sockets, ring fds and what its handshake
 * settled. */
typedef struct {
        uint64_t id;
        char *main_fd_name;
        char *chan_fd_name; /* the VMM's back-end channel */
        char *path;         /* the listener it came on */
        pid_t pid;
        uid_t uid;
        uint64_t features;
        uint64_t protocol_features;
        bool owned;
        uint64_t status;
        ServeOptions serve; /* what was presented: device id, queue count, REPLY_ACK offered */
        GArray *announced;  /* uint8_t[16]: sent ADD and no REMOVE since */
        GArray *vrings;     /* StateVringFd */
} StateBridge;

typedef struct {
        uint64_t generation; /* grows with every record a process writes */
        GArray *objects;     /* StateObject */
        GArray *listeners;   /* StateListener */
        GArray *peers;       /* StatePeer */
        GArray *bridges;     /* StateBridge */
} StateRecord;

void state_record_init(StateRecord *r);
void state_record_clear(StateRecord *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(StateRecord, state_record_clear)

/* An empty array of StateVringFd (their names freed with it). */
GArray *state_vring_fds_new(void);

/* The record as key-file text. */
char *state_record_to_text(const StateRecord *r, size_t *ret_len);
/* Parses text into r (initialised by the caller). -EPROTONOSUPPORT an
 * unknown Format, -EINVAL anything malformed (error set both times). */
int state_record_from_text(StateRecord *r, const char *text, size_t len, GError **error);

/* A memfd sealed against every change holding the record. 0 or -errno. */
int state_record_write_memfd(const StateRecord *r, int *ret_fd);
/* Reads a record from fd (from its start; any size up to 64 MiB). */
int state_record_read_fd(StateRecord *r, int fd, GError **error);

/* The generation of a state record's fd name, 0 when name is none. */
uint64_t state_record_fd_generation(const char *name);
