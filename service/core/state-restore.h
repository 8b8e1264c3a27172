/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A state record (state-record.h) and the fds a restart handed over,
 * back into a new service: listeners first (before the configuration's
 * own are started), the table once the owners can be told apart (after
 * the bus is up). fds: name -> GINT_TO_POINTER(fd), the ones taken are
 * removed from it; the caller closes what is left. */

#include <glib.h>

#include "service.h"
#include "state-record.h"

/* Listens again on every recorded listener whose socket came back and
 * whose file is still the one bound; one whose file went is bound anew
 * with the recorded settings. Configured listeners whose path is not in
 * configured (NULL-terminated) are dropped. Returns how many listen. */
unsigned state_restore_listeners(Service *s, const StateRecord *r, GHashTable *fds,
                                 const char *const *configured);

/* Goes on with every recorded back-end connection whose two sockets came
 * back, without a new handshake, and puts back the objects it exported;
 * the same for every recorded VMM connection (--serve), with its ring fds
 * and what it was told. Before the listeners' and the configuration's
 * peers start. Returns how many go on. */
unsigned state_restore_peers(Service *s, const StateRecord *r, GHashTable *fds);

/* Where a recorded object goes: *ret, the owner to give it to; -ESRCH
 * (its bus client left the bus meanwhile) or another -errno to drop it. */
typedef int (*StateOwnerFn)(void *userdata, const StateObject *o, ShareOwner **ret);

/* Puts every recorded object whose fd came back into the table, with its
 * metadata, created time and lookup count, and gives it to the owner
 * owner_of says. Returns how many are back. */
unsigned state_restore_objects(Service *s, const StateRecord *r, GHashTable *fds,
                               StateOwnerFn owner_of, void *userdata);

/* Once the objects are back: each kept VMM is told what changed while the
 * service was away (REMOVE for what went, ADD for what it lacks). */
void state_restore_announce(Service *s);
