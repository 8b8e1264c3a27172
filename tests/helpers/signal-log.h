/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Records the service's signals on a bus connection as strings, in
 * arrival order:
 *   "Added UUID PATH TYPE", "Removed UUID PATH",
 *   "InterfacesAdded PATH IFACE", "InterfacesRemoved PATH IFACE",
 *   "PropertiesChanged PATH IFACE PROP1,PROP2" (changed and invalidated).
 * Only the service's own interfaces (org.vhostshare.*) are listed. */

#include <glib.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct {
        GPtrArray *events;
        sd_bus_slot *slot;
} SignalLog;

/* The match is in place when this returns: nothing sent later is missed. */
void signal_log_start(SignalLog *l, sd_bus *bus);
void signal_log_clear(SignalLog *l);
/* Waits (testbed_pump_until) until the log holds at least n events. */
bool signal_log_wait(SignalLog *l, sd_bus *bus, guint n);
/* Waits (testbed_pump_until) until the log holds an event equal to s:
 * for signals the service sends later, such as a coalesced LookupCount. */
bool signal_log_wait_for(SignalLog *l, sd_bus *bus, const char *s);
/* Number of events equal to s. */
guint signal_log_count(SignalLog *l, const char *s);
/* Number of events that start with prefix. */
guint signal_log_count_prefix(SignalLog *l, const char *prefix);
/* One event a line, for failure messages; g_free it. */
char *signal_log_dump(SignalLog *l);
