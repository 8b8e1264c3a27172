/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* QEMU 10 (qemu-system-x86_64 from tools/install-deps) for the interop
 * tests: paused (-S), TCG, one vhost-user-rng-pci per vhost-user socket,
 * a child of the test's harness. */

#include "harness.h"

/* Fails the test unless qemu-system-x86_64 10 or later is installed. */
void qemu_require(void);
/* QEMU with one vhost-user-rng-pci per socket of the NULL-terminated list
 * (each already listening), its QMP socket in the harness's directory. */
HarnessProc *qemu_spawn(Harness *h, const char *const *sockets);
