/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus clients that own objects (exported or allocated over D-Bus): one
 * ShareOwner per unique name, made on the client's first Export() or
 * Allocate() and tracked with sd_bus_track. When the name leaves the bus
 * (NameOwnerChanged), its objects leave the table. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "service.h"

typedef struct BusClients BusClients;

BusClients *bus_clients_new(Service *s, sd_bus *bus);
/* Removes every client's objects from the table (its observers hear it). */
void bus_clients_free(BusClients *cs);

/* The owner identity of the client that sent msg, made (and tracked) on
 * first use; it lives while the client owns objects or is on the bus. 0,
 * or -errno: no sender (-EINVAL), or the sender left the bus already (then
 * it must not own anything). */
int bus_clients_get_owner(BusClients *cs, sd_bus_message *msg, ShareOwner **ret);

/* The same for the client with the unique name name and uid (a restart
 * gives back what it owned): -ENXIO or another -errno when the name is not
 * on the bus (any more). */
int bus_clients_adopt(BusClients *cs, const char *name, uid_t uid, ShareOwner **ret);

/* Whether the client called sender (NULL: none) exported e and still holds
 * it. */
bool bus_clients_owns(BusClients *cs, const char *sender, const ShareEntry *e);

/* The process of a bus client owner, as the bus reported it at the
 * client's first Export() or Allocate(): pid 0 and comm NULL when unknown
 * or owner is no bus client. The pid is dbus-daemon's from the socket;
 * once the client has left, another process may have it (the client's
 * objects leave with it, Disown()ed ones have the service as owner). */
void bus_client_owner_process(const ShareOwner *owner, pid_t *pid, const char **comm);
