/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Compares, member by member (methods with their arguments and annotations,
 * signals, properties with type, access and EmitsChangedSignal), the
 * interface iface in dbus/<iface>.xml of the source tree with what dest
 * answers to Introspect on path. Fails the test on any difference, printing
 * both. */

#include <systemd/sd-bus.h>

void introspect_check_xml(sd_bus *bus, const char *dest, const char *path, const char *iface);
