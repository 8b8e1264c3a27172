/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's bus connection: connect (system, session or an address),
 * register the objects (bus-manager.h), watch the DRM devices for
 * Allocate(), request org.vhostshare.share1, and send READY=1 through
 * sd_notify once the name is owned. main.c calls bus_setup_new() after the
 * service and its sockets are up, and does not send READY=1 itself unless
 * it runs without a bus. Losing the bus, or not getting the name, ends the
 * event loop. */

#include "bus-manager.h"
#include "service.h"

typedef enum {
        BUS_KIND_SYSTEM,
        BUS_KIND_SESSION,
        BUS_KIND_ADDRESS,
} BusKind;

typedef struct BusSetup BusSetup;

/* address is used with BUS_KIND_ADDRESS only; privileged_group names the
 * group whose members may call the privileged methods (NULL: the build's
 * default, "": root only). 0 or -errno (logged). */
int bus_setup_new(Service *s, BusKind kind, const char *address, const char *privileged_group,
                  BusSetup **ret);
/* The manager, for a restart to give objects back to their owners. */
BusManager *bus_setup_manager(BusSetup *b);
/* Flushes and closes the connection; objects of bus clients are purged. */
void bus_setup_free(BusSetup *b);
static inline void bus_setup_freep(BusSetup **b)
{
        bus_setup_free(*b);
}
