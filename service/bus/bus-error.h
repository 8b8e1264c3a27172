/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The named errors of org.vhostshare.share1 and the one table that maps
 * them to and from errno values. The service turns a -errno into a named
 * error with bus_error_set_errno(); clients that register the map
 * (bus_error_register_map) get the errno back from sd_bus_error_get_errno. */

#include <systemd/sd-bus.h>

#include "bus-names.h"

/* Name <-> errno. The first entry with a given errno is the name that errno
 * turns into; InvalidUuid maps to EINVAL only in the name -> errno
 * direction (a generic -EINVAL stays org.freedesktop.DBus.Error.InvalidArgs). */
extern const sd_bus_error_map bus_error_map[];

/* Registers bus_error_map with sd-bus (process-wide, idempotent). */
int bus_error_register_map(void);

/* The named error for -error, or NULL when none of ours fits. */
const char *bus_error_name_from_errno(int error);

/* Sets e to the named error for -error (or sd-bus's generic mapping when
 * none of ours fits) with a formatted message; returns -abs(error), so a
 * method handler can "return bus_error_set_errno(e, r, ...)". */
int bus_error_set_errno(sd_bus_error *e, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
