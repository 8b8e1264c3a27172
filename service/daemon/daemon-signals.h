/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vhost-shared's signals. SIGTERM and SIGINT stop in order: no new
 * connection is accepted, the lookups in flight get their answers within
 * a short grace (at most 500 ms; those still open then fail cleanly),
 * then the loop ends (main.c writes the last state record and tears down); a
 * second signal ends it at once. SIGHUP calls reload (systemd's
 * ExecReload=), telling systemd RELOADING=1 and READY=1 around it. */

#include <systemd/sd-event.h>

#include "service.h"

typedef struct DaemonSignals DaemonSignals;

/* reload: reads the configuration again and applies it; logs itself.
 * stopping (may be NULL): called once the stop is decided, before the
 * peers close (the last state record goes out there). */
typedef void (*DaemonReloadFn)(void *userdata);

/* The three signals must be blocked already (event_new() in main.c). */
int daemon_signals_new(sd_event *ev, Service *s, DaemonReloadFn reload, DaemonReloadFn stopping,
                       void *userdata, DaemonSignals **ret);
void daemon_signals_free(DaemonSignals *d);
