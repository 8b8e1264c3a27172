/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the DRM-over-D-Bus tests share. They run under
 * LD_PRELOAD=libumockdev-preload.so.0. The fd the emulated PRIME export
 * returns is valid in this process only, so the service core and its bus
 * layer run here, on their own sd-event loop in a thread, connected to a
 * private dbus-daemon; the tests talk to them over D-Bus from client
 * connections like any other caller. Each case gets a fresh testbed (card0
 * and renderD128 on a fake PCI parent), bus and service. Children of the
 * test (dbus-daemon, vhost-sharectl) run without the preload library: main()
 * drops LD_PRELOAD before anything starts. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "dbus-testbed.h"
#include "drm-testbed.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define OIFACE "org.vhostshare.share1.Object"
#define DIFACE "org.vhostshare.share1.Device"
#define DPATH MPATH "/device/"
#define ERR(name) "org.vhostshare.share1.Error." name

/* The service, in a thread of this process. */
typedef struct {
        char *address;
        char *group; /* privileged group: the test's own */
        int stop_fd; /* eventfd: written by the test to end the loop */
        GMutex lock; /* guards state */
        GCond cond;
        int state; /* 0 starting, 1 running, < 0 failed to start (-errno) */
        GThread *thread;
        int loop_result;
} InProcService;

typedef struct {
        DrmTestbed drm;
        Testbed bus;
        InProcService service;
        sd_bus *client;
        SignalLog log;
} Fixture;

void fixture_setup(Fixture *f, gconstpointer data);
void fixture_teardown(Fixture *f, gconstpointer data);
#define DRM_BUS_TEST_ADD(path, data, fn)                                                           \
        g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)

/* Properties; a failure to read one fails the test. type is a D-Bus basic
 * type of at most 64 bits. */
char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop);
uint64_t get_trivial(sd_bus *bus, const char *path, const char *iface, const char *prop, char type);
unsigned object_count(sd_bus *bus);
/* The manager's Devices, comma-joined. */
char *devices_joined(sd_bus *bus);
/* The managed objects below the device prefix, sorted, comma-joined. */
char *managed_devices(sd_bus *bus);
/* Allocate(size, device): NULL and the object on success, else the error
 * name (to free). *ret_fd is a duplicate the caller closes. */
char *call_allocate(sd_bus *bus, uint64_t size, const char *device, char **ret_uuid,
                    char **ret_path, int *ret_fd);
/* Lookup(uuid): a duplicate of the fd, which the caller closes. */
int call_lookup(sd_bus *bus, const char *uuid);

/* What a FakeDrm's handler (another thread) saw, read under its lock. */
typedef struct {
        int n_create, n_prime, n_close;
        struct drm_mode_create_dumb last_create;
        uint32_t last_prime_flags;
        dev_t memfd_dev;
        ino_t memfd_ino;
} FakeSeen;

FakeSeen fake_seen(FakeDrm *fk);
void assert_fd_is(int fd, dev_t dev, ino_t ino);
/* The Device object at path describes the device. */
void assert_device(sd_bus *bus, const char *path, const char *devnode, const char *syspath,
                   const char *kind, bool can_allocate);
