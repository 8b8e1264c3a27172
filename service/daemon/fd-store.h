/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's file descriptor store, for vhost-shared to come back from a
 * restart or a crash: at start, the fds a previous instance stored
 * (LISTEN_FDS, LISTEN_FDNAMES) with the newest state record among them;
 * while running, the StateSink that stores (FDSTORE=1, FDNAME=) and
 * removes (FDSTOREREMOVE=1) fds through NOTIFY_SOCKET.
 *
 * Used only when asked (--fd-store, or $FDSTORE > 0 as systemd 254 and
 * later set it for a unit with FileDescriptorStoreMax=) and NOTIFY_SOCKET
 * is set: otherwise nothing is stored, nothing is taken from LISTEN_FDS,
 * and the service behaves as without it. */

#include <stdbool.h>

#include <glib.h>

#include "state-keeper.h"
#include "state-record.h"

typedef struct FdStore FdStore;

/* Whether to use the store: asked and NOTIFY_SOCKET set. */
bool fd_store_wanted(bool asked);
/* Takes the fds handed over at start (unsetting LISTEN_*) and reads the
 * newest state record among them; an unreadable one is logged and the
 * service starts empty. fds with names that are not ours are closed. */
FdStore *fd_store_open(void);
void fd_store_free(FdStore *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FdStore, fd_store_free)

/* The record to restore from, NULL when none came back. */
const StateRecord *fd_store_record(FdStore *st);
/* name -> GINT_TO_POINTER(fd) of the fds that came back; restoring takes
 * from it, fd_store_free() closes the rest. */
GHashTable *fd_store_fds(FdStore *st);
/* The names the store holds now (NULL-terminated, owned by st). */
const char *const *fd_store_names(FdStore *st);

/* The sink writing to systemd's store (userdata: unused). */
extern const StateSink fd_store_sink;
