/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private D-Bus for one test: a dbus-daemon with a system-bus-like
 * configuration (optionally including the shipped policy file), the
 * vhost-shared daemon on it (waited for through NOTIFY_SOCKET), sd-bus
 * client connections, children that call as another uid, and a helper to
 * record the service's signals. Never touches the machine's buses. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <glib.h>

typedef enum {
        TESTBED_POLICY_SHIPPED, /* system-bus defaults + data/org.vhostshare.share1.conf */
        TESTBED_POLICY_OPEN,    /* everyone may call everything: only the service's check */
} TestbedPolicy;

typedef struct {
        char *dir; /* 0755 so that other uids reach the bus socket */
        char *address;
        pid_t bus_pid;
        pid_t service_pid;
        char *service_log;
        char *config; /* the service's --config file */
} Testbed;

/* Deadline for anything a test waits for. */
#define TESTBED_TIMEOUT_USEC (10 * G_USEC_PER_SEC)

void testbed_init(Testbed *t, TestbedPolicy policy);
/* Writes the service's configuration file (GKeyFile text). */
void testbed_set_config(Testbed *t, const char *text);
/* Starts vhost-shared --bus-address=... plus extra_args (NULL-terminated or
 * NULL) and waits for READY=1. */
void testbed_start_service(Testbed *t, const char *const *extra_args);
/* SIGTERM, and asserts a clean exit (status 0). */
void testbed_stop_service(Testbed *t);
void testbed_clear(Testbed *t);
/* Stops the dbus-daemon (the service stays). */
void testbed_stop_bus(Testbed *t);
/* Waits for the service to exit on its own; returns its exit code
 * (128+signal when killed), -1 at the deadline. */
int testbed_wait_service(Testbed *t);

char *testbed_build_path(const char *relative);
char *testbed_source_path(const char *relative);

sd_bus *testbed_connect(Testbed *t);
/* Dispatches everything queued on bus, then waits until pred(data) holds
 * or the deadline passes. Returns pred's final value. */
bool testbed_pump_until(sd_bus *bus, bool (*pred)(void *data), void *data);
/* A method call round trip: signals the service sent before it are then
 * dispatched. */
void testbed_sync(sd_bus *bus);

/* Runs fn(t, data) in a child with the given credentials (no supplementary
 * groups unless gid_extra != (gid_t)-1). fn returns 0 on success; the child
 * prints its own diagnostics. Returns the child's exit status (or 128+signal). */
int testbed_run_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                   int (*fn)(Testbed *t, void *data), void *data);

/* Records the service's signals as strings, in arrival order:
 *   "Added UUID PATH TYPE", "Removed UUID PATH",
 *   "InterfacesAdded PATH IFACE", "InterfacesRemoved PATH IFACE",
 *   "PropertiesChanged PATH IFACE PROP1,PROP2" (changed and invalidated). */
typedef struct {
        GPtrArray *events;
        sd_bus_slot *slot;
} SignalLog;

void signal_log_start(SignalLog *l, sd_bus *bus);
void signal_log_clear(SignalLog *l);
/* Waits until the log holds at least n events. */
bool signal_log_wait(SignalLog *l, sd_bus *bus, guint n);
/* Number of events equal to s. */
guint signal_log_count(SignalLog *l, const char *s);
/* Number of events that start with prefix. */
guint signal_log_count_prefix(SignalLog *l, const char *prefix);
char *signal_log_dump(SignalLog *l);

/* A child process with pipes, for vhost-share-device. */
typedef struct {
        pid_t pid;
        int stdin_fd;
        int stdout_fd;
        GString *buf;
} TestProcess;

/* merge_stderr: the child's stderr goes into the same pipe as stdout. */
void test_process_spawn(TestProcess *p, const char *const *argv, bool merge_stderr);
/* Next line of stdout without its newline, or NULL at the deadline/EOF. */
char *test_process_read_line(TestProcess *p);
/* Reads lines until one starts with prefix; returns it (NULL on deadline). */
char *test_process_expect(TestProcess *p, const char *prefix);
void test_process_write(TestProcess *p, const char *text);
/* Kills (SIGTERM) if still running and reaps; returns the wait status. */
int test_process_stop(TestProcess *p);
/* Waits for exit with the deadline; returns the wait status or -1. */
int test_process_wait(TestProcess *p);

/* Parses "org.vhostshare.share1" object paths. */
void test_uuid_to_path(const char *uuid, char *out, size_t n);
