/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's LookedUp signal (bus-lookup-events.c): one per finished
 * lookup, from the service's lookup observers. */

#include "bus-manager.h"

/* Adds the signal's vtable on the Manager's path and observes the
 * service's lookups. 0 or -errno. */
int bus_lookup_events_register(BusManager *m);
/* Stops observing; the slot goes with the manager's. */
void bus_lookup_events_unregister(BusManager *m);
