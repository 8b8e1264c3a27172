/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorization of the privileged methods through polkit, as the desktop's
 * system services do it: CheckAuthorization() on
 * org.freedesktop.PolicyKit1.Authority with the caller's bus name as the
 * subject (no PID to be reused), asked asynchronously. A method call that
 * needs an answer is parked; when the answer comes the call is queued
 * again (sd_bus_enqueue_for_read) and its handler runs once more, finding
 * the answer. Root and the service's own user never ask; where polkit is
 * not on the bus, the privileged group decides (bus-access.h). */

#include <systemd/sd-bus.h>

#include "bus-access.h"

/* The actions (data/org.vhostshare.share1.policy). */
#define BUS_POLKIT_ACTION_MANAGE_OBJECTS "org.vhostshare.share1.manage-objects"
#define BUS_POLKIT_ACTION_MANAGE_PEERS "org.vhostshare.share1.manage-peers"

typedef struct BusPolkit BusPolkit;

BusPolkit *bus_polkit_new(sd_bus *bus);
/* Drops the questions still out; their calls get no answer from us. */
void bus_polkit_free(BusPolkit *p);

/* Whether the caller of m may do action: 1 allowed; 0 asked, the handler
 * must return without replying (it runs again with the answer); -errno
 * with error set: org.vhostshare.share1.Error.AccessDenied (polkit said no;
 * or, without polkit, not root and not in the group),
 * org.freedesktop.DBus.Error.InteractiveAuthorizationRequired (polkit
 * would ask for a password, and the call does not allow interaction), or
 * the credentials' error. */
int bus_polkit_authorize(BusPolkit *p, const BusAccess *a, sd_bus_message *m, const char *action,
                         sd_bus_error *error);
