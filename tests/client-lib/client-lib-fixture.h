/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the tests of libvhostshare-1 share: a private bus with the service
 * (dbus-testbed.h), a VhostShareClient on it recording its signals, and
 * waits that run the main context while the harness keeps reading the
 * children's output. */

#include <vhost-share.h>

#include "dbus-testbed.h"

typedef struct {
        Testbed tb;
        VhostShareClient *client;
        GPtrArray *events; /* "object-added UUID", "peer-removed PATH", ... */
} LibFixture;

/* Starts the service with config (GKeyFile text, or NULL) on a bus with
 * the shipped policy, and a client made with the async constructor. */
void lib_setup(LibFixture *f, gconstpointer config);
void lib_teardown(LibFixture *f, gconstpointer config);
#define LIB_TEST_ADD(path, config, fn)                                                             \
        g_test_add(path, LibFixture, config, lib_setup, fn, lib_teardown)

/* Records client's signals into events. */
void lib_record(LibFixture *f, VhostShareClient *client);

/* Runs the default main context until pred(data) or TEST_TIMEOUT_MS;
 * returns pred's final value. */
gboolean lib_wait(LibFixture *f, gboolean (*pred)(gpointer data), gpointer data);
/* Waits until events holds event (fails the test at the deadline). */
void lib_wait_event(LibFixture *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* How many events equal event so far. */
guint lib_count_event(LibFixture *f, const char *event);

/* An async call's result: pass lib_store_result and &slot as its callback,
 * then lib_wait_result(f, &slot) returns it (unref it). */
void lib_store_result(GObject *source, GAsyncResult *result, gpointer slot);
GAsyncResult *lib_wait_result(LibFixture *f, GAsyncResult **slot);

/* A memfd of size bytes with seed's pattern, sealed (buffer-pattern.h). */
int lib_sealed_memfd(size_t size, uint8_t seed);
/* Starts vhost-share-device listening at dir/name with extra arguments
 * (NULL-terminated), attaches it with AddPeer("connect") through the
 * library and returns it; *ret_peer is the peer's path (g_free). */
HarnessProc *lib_start_device(LibFixture *f, const char *name, char **ret_peer, const char *arg,
                              ...) G_GNUC_NULL_TERMINATED;
/* The UUID of the device's next EXPORTED line (g_free). */
char *lib_expect_export(HarnessProc *dev);
