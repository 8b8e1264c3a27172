/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's status properties (bus-manager-status.c). */

#include "bus-manager.h"

/* Adds their vtable on the Manager's path; m->start_usec must be set.
 * 0 or -errno. */
int bus_manager_status_register(BusManager *m);
