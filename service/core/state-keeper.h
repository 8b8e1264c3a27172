/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps a store (systemd's fd store: daemon/fd-store.c) holding, at every
 * moment, what a new instance needs to come back after a restart or a
 * crash: the fds of the held buffers that do not belong to a peer, the
 * listening sockets, and a state record (state-record.h) naming them.
 *
 * Changes of the table and the listeners mark the state dirty; one
 * deferred write per loop iteration stores the fds that are new, then a
 * new record, then removes the previous record and the fds nothing names
 * any more: whenever the process dies, the newest complete record in the
 * store names only fds that are there. Lookup counts and accept counts
 * alone are written at most once a second. */

#include <stdbool.h>
#include <stdint.h>

#include "service.h"
#include "state-record.h"

/* Where the keeper puts fds. store() sends a copy of fd (the keeper's
 * stays open) under name; remove() drops every fd stored under name.
 * Both return 0 or -errno; a failure is logged by the keeper and tried
 * again with the next write. */
typedef struct {
        int (*store)(void *userdata, const char *name, int fd);
        int (*remove)(void *userdata, const char *name);
} StateSink;

typedef struct StateKeeper StateKeeper;

/* Watches s and keeps sink up to date from the next loop iteration on.
 * stored: the names the store already holds (a restart's LISTEN_FDNAMES),
 * NULL for none; restored: the record they came with (NULL: none), whose
 * generation it goes on from and whose objects keep their fd names
 * (systemd would drop the same open file stored again under a new one). */
int state_keeper_new(Service *s, const StateSink *sink, void *userdata, const char *const *stored,
                     const StateRecord *restored, StateKeeper **ret);
/* Stops watching; the store keeps what it has. */
void state_keeper_free(StateKeeper *k);
/* Listeners whose path is one of paths (NULL-terminated) are recorded as
 * from the command line or the configuration file. */
void state_keeper_set_configured(StateKeeper *k, const char *const *paths);
/* Writes now if anything changed (or force). 0 or -errno (logged). */
int state_keeper_flush(StateKeeper *k, bool force);
/* Records written so far (tests). */
uint64_t state_keeper_generation(const StateKeeper *k);
