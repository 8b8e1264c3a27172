/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A reload (SIGHUP, ExecReload=): the configuration file read again and
 * what it says applied to the running service, each change logged:
 * [Service] limits and socket settings (service_reload_config() says
 * which apply at once), the allowed uids of the configured listening
 * sockets, the privileged group. Peers and listening sockets the file
 * adds or drops are logged as waiting for the next restart. */

#include "bus-setup.h"
#include "daemon-config.h"

/* bus NULL: --no-bus. Returns how many changes it logged. */
unsigned daemon_reload_apply(Service *s, BusSetup *bus, const DaemonConfig *old,
                             const DaemonConfig *new);
