/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Opening a bus connection at an address (--bus-address / --address), the
 * same way for the daemon and for vhost-sharectl: a bus client (Hello), fds
 * negotiated, description for sd-bus's logs. The system and session buses
 * have libsystemd's own sd_bus_open_*(). */

#include <systemd/sd-bus.h>

int bus_open_address(const char *address, const char *description, sd_bus **ret);
