/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The replies that carry the whole table: ObjectManager.GetManagedObjects
 * on the manager and ListObjects. Both append the entries directly (no
 * callback per property) and in chunks from a timer (bus-table-reply.c says
 * why not a defer source), so that back-ends are served between them while
 * a large reply is built.
 *
 * What such a reply says: every object that was in the table when the call
 * came and is still there when its chunk is built, with its values then, in
 * the order added (a ShareTableWalk: an object removed and added again
 * meanwhile is a new one, told by its Added after the reply).
 * The table's signals are held meanwhile (bus_events_hold()) and sent after
 * the reply, so a client that applies the reply and then the signals ends
 * with the table as it is. A peer, listener or device signal meanwhile
 * sends the held ones before itself (bus_subtree_announce() keeps the
 * order of all signals); a reply then may miss an object whose Added came
 * first, or hold one whose Removed did.
 *
 * GetManagedObjects is answered here instead of by sd-bus, which would
 * list every path as a string, find each object again from its path and
 * call a getter per property (9 µs of CPU per object). sd-bus allows no
 * vtable for the ObjectManager interface, so a filter takes the call
 * first. Unlike sd-bus's, the reply leaves out the standard interfaces
 * (Peer, Introspectable, Properties), which have no properties: a sixth of
 * the work per object. */

#include "bus-manager.h"
#include "bus-object-view.h"

int bus_table_reply_new(BusManager *m, BusTableReply **ret);
/* Replies still being built are dropped (the service is going). NULL-safe. */
void bus_table_reply_free(BusTableReply *tr);

/* Appends e's element to reply, inside its open array; views is the
 * build's, for appending e's view (reset at the start of each chunk). 0 or
 * -errno. */
typedef int (*BusTableAppendFn)(sd_bus_message *reply, const ShareEntry *e, BusObjectViews *views);

/* Starts answering call with one array of contents, an element per entry
 * made by append. The answer (or an error) follows from the loop. */
void bus_table_reply_start(BusTableReply *tr, sd_bus_message *call, const char *contents,
                           BusTableAppendFn append);
