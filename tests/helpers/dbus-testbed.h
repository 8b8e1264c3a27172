/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private D-Bus for one test: a dbus-daemon with a system-bus-like
 * configuration (optionally including the shipped policy file), the
 * vhost-shared daemon on it (waited for through NOTIFY_SOCKET), sd-bus
 * client connections, and children that call as another uid. Every process
 * is a child of the testbed's harness (harness.h): it dies with the test,
 * and a failing test shows what each one printed. Never touches the
 * machine's buses. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <glib.h>

#include "harness.h"
#include "signal-log.h"

typedef enum {
        TESTBED_POLICY_SHIPPED, /* system-bus defaults + data/org.vhostshare.share1.conf */
        TESTBED_POLICY_OPEN,    /* everyone may call everything: only the service's check */
} TestbedPolicy;

typedef struct {
        Harness *h;
        const char *dir; /* the harness's directory, 0755 so that other uids reach the bus */
        char *address;
        HarnessProc *bus;
        HarnessProc *service;
        pid_t service_pid; /* 0 when the service is not running */
        char *config;      /* the service's --config file */
} Testbed;

/* A new harness with a dbus-daemon in it. */
void testbed_init(Testbed *t, TestbedPolicy policy);
/* Writes the service's configuration file (GKeyFile text). */
void testbed_set_config(Testbed *t, const char *text);
/* Starts vhost-shared --bus-address=... plus extra_args (NULL-terminated or
 * NULL) and waits for READY=1. */
void testbed_start_service(Testbed *t, const char *const *extra_args);
/* SIGTERM, and asserts a clean exit (status 0). */
void testbed_stop_service(Testbed *t);
/* Stops the service (asserting a clean exit), then everything else newest
 * first, and removes the directory. */
void testbed_clear(Testbed *t);
/* Stops the dbus-daemon (the service stays). */
void testbed_stop_bus(Testbed *t);
/* Waits for the service to exit on its own; returns its exit code
 * (128+signal when killed). */
int testbed_wait_service(Testbed *t);

sd_bus *testbed_connect(Testbed *t);
/* Dispatches everything queued on bus, then waits until pred(data) holds
 * or TEST_TIMEOUT_MS passes. Returns pred's final value. */
bool testbed_pump_until(sd_bus *bus, bool (*pred)(void *data), void *data);
/* A method call round trip: signals the service sent before it are then
 * dispatched. */
void testbed_sync(sd_bus *bus);

/* Starts fn(t, data) in a child with the given credentials (no
 * supplementary groups unless gid_extra != (gid_t)-1). fn returns 0 on
 * success and prints its own diagnostics; the child exits with it. Needs
 * root. */
HarnessProc *testbed_start_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                              int (*fn)(Testbed *t, void *data), void *data);
/* The same, waiting for it: returns its exit code (128+signal when killed). */
int testbed_run_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                   int (*fn)(Testbed *t, void *data), void *data);
/* The exit code of a wait status: WEXITSTATUS, or 128+signal. */
int testbed_exit_code(int status);

/* The object path of a UUID: /org/vhostshare/share1/object/ and its hex
 * digits in lower case. */
void test_uuid_to_path(const char *uuid, char *out, size_t n);
