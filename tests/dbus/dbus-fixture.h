/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the D-Bus tests share: a fixture with a private bus, the service on
 * it and a client connection recording the service's signals, and
 * wrappers of the calls and properties they use. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "dbus-testbed.h"
#include "raw-peer.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define OIFACE "org.vhostshare.share1.Object"
#define PIFACE "org.vhostshare.share1.Peer"
#define LIFACE "org.vhostshare.share1.Listener"
#define ERR(name) "org.vhostshare.share1.Error." name

typedef struct {
        Testbed tb;
        sd_bus *bus;
        SignalLog log;
} Fixture;

/* A testbed with the policy, the service started with config (GKeyFile
 * text, or NULL), a client connection and its signal log. */
void fixture_setup(Fixture *f, TestbedPolicy policy, const char *config);
/* The same with the shipped policy, or an open bus; data is the config. */
void setup_shipped(Fixture *f, gconstpointer data);
void setup_open(Fixture *f, gconstpointer data);
void teardown(Fixture *f, gconstpointer data);
/* Adds a test case; config is the service's configuration (or NULL). */
#define DBUS_TEST_ADD(path, setup, config, fn)                                                     \
        g_test_add(path, Fixture, config, setup, fn, teardown)

/* Method wrappers: NULL on success, else the error name (to free). */
char *call_export(sd_bus *bus, int fd, const char *uuid, char **ret_uuid, char **ret_path);
/* *ret_fd is a duplicate the caller closes. */
char *call_lookup(sd_bus *bus, const char *uuid, int *ret_fd);
/* A Manager method with the arguments of types, reply ignored. */
char *call_simple(sd_bus *bus, const char *member, const char *types, ...);
char *call_add_peer(sd_bus *bus, const char *role, const char *path, char **ret_path);

/* Properties; a failure to read one fails the test. */
char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop);
char *get_objpath(sd_bus *bus, const char *path, const char *iface, const char *prop);
uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *prop);
uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop);

/* A sealed memfd of size bytes with seed's pattern. */
int new_memfd(size_t size, uint8_t seed);
void assert_same_inode(int a, int b);
/* The object path of uuid (g_free it). */
char *object_path(const char *uuid);
/* Exactly n events equal to event in the log; fails with the log. */
void assert_log_count(SignalLog *l, const char *event, guint n);
/* Waits until the manager's ObjectCount is n (the fixture's signal match
 * wakes the wait up when the table changes). */
bool wait_object_count(Fixture *f, uint32_t n);

/* A raw back-end connected to the service's accept socket sock, its
 * handshake done with REPLY_ACK, BACKEND_REQ and SHARED_OBJECT. */
RawPeer *connect_backend(Fixture *f, const char *sock);
