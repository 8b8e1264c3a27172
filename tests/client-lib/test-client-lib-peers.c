/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvhostshare-1 on vhost-user peers, against vhost-shared and
 * vhost-share-device on a private bus: AddPeer and RemovePeer, a peer's
 * properties followed to "ready", its objects, lookups the exporter never
 * answers (Timeout, PeerGone) and cancelled calls. */

#include <unistd.h>

#include "client-lib-fixture.h"

static gboolean peer_ready(gpointer peer)
{
        return g_strcmp0(vhost_share_peer_get_state(peer), "ready") == 0;
}

static void test_device(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *path = NULL, *u0 = NULL, *u1 = NULL;
        g_autoptr(GPtrArray) peers = NULL;
        GAsyncResult *slot = NULL;
        VhostSharePeer *peer;
        VhostShareObject *obj;
        HarnessProc *dev;
        int fd;

        dev = lib_start_device(f, "dev", &path, "--export=2", NULL);
        g_assert_true(g_str_has_prefix(path, "/org/vhostshare/share1/peer/"));
        u0 = lib_expect_export(dev);
        u1 = lib_expect_export(dev);
        lib_wait_event(f, "peer-added %s", path);
        peer = vhost_share_client_get_peer(f->client, path);
        g_assert_nonnull(peer);
        g_assert_true(lib_wait(f, peer_ready, peer));
        g_assert_cmpstr(vhost_share_peer_get_role(peer), ==, "back-end");
        g_assert_true(g_str_has_suffix(vhost_share_peer_get_socket_path(peer), "/dev.sock"));
        g_assert_true(vhost_share_peer_get_shared_objects(peer));
        g_assert_cmpuint(vhost_share_peer_get_protocol_features(peer), !=, 0);
        g_assert_cmpstr(vhost_share_peer_get_last_error(peer), ==, "");
        peers = vhost_share_client_list_peers(f->client);
        g_assert_cmpuint(peers->len, ==, 1);

        lib_wait_event(f, "object-added %s", u0);
        lib_wait_event(f, "object-added %s", u1);
        obj = vhost_share_client_get_object(f->client, u0);
        g_assert_cmpstr(vhost_share_object_get_object_type(obj), ==, "vhost-device");
        g_assert_cmpstr(vhost_share_object_get_owner(obj), ==, path);
        g_assert_true(vhost_share_client_get_peer(f->client, vhost_share_object_get_owner(obj)) ==
                      peer);
        fd = vhost_share_client_lookup_sync(f->client, u0, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        close(fd);
        harness_expect_line(dev, "SERVED", TEST_TIMEOUT_MS);

        vhost_share_client_remove_peer(f->client, path, NULL, lib_store_result, &slot);
        r = lib_wait_result(f, &slot);
        g_assert_true(vhost_share_client_remove_peer_finish(f->client, r, &error));
        g_assert_no_error(error);
        lib_wait_event(f, "peer-removed %s", path);
        lib_wait_event(f, "object-removed %s", u0);
        lib_wait_event(f, "object-removed %s", u1);
        g_assert_null(vhost_share_client_get_peer(f->client, path));
        harness_stop(dev, TEST_TIMEOUT_MS);
}

static void test_peer_errors(LibFixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *path = NULL, *listener = NULL;
        GAsyncResult *slot = NULL;

        vhost_share_client_add_peer(f->client, "sideways", sock, NULL, lib_store_result, &slot);
        r = lib_wait_result(f, &slot);
        path = vhost_share_client_add_peer_finish(f->client, r, &error);
        g_assert_null(path);
        g_assert_error(error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
        g_clear_error(&error);
        g_assert_false(vhost_share_client_remove_peer_sync(
            f->client, "/org/vhostshare/share1/peer/999", NULL, &error));
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NOT_FOUND);
        g_clear_error(&error);

        listener = vhost_share_client_add_peer_sync(f->client, "accept", sock, NULL, &error);
        g_assert_no_error(error);
        g_assert_true(g_str_has_prefix(listener, "/org/vhostshare/share1/listener/"));
}

/* A back-end that never answers GET_SHARED_OBJECT, attached; its object's
 * UUID. */
static HarnessProc *start_mute_device(LibFixture *f, char **ret_uuid)
{
        g_autofree char *path = NULL;
        HarnessProc *dev = lib_start_device(f, "mute", &path, "--export=1", "--no-answer", NULL);

        *ret_uuid = lib_expect_export(dev);
        lib_wait_event(f, "object-added %s", *ret_uuid);
        return dev;
}

/* A lookup of the mute device's object fails with code; with
 * stop_exporter the device is stopped while the lookup waits on it. */
static void assert_lookup_fails(LibFixture *f, gboolean stop_exporter, int code)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *uuid = NULL;
        GAsyncResult *slot = NULL;
        HarnessProc *dev = start_mute_device(f, &uuid);

        vhost_share_client_lookup(f->client, uuid, NULL, lib_store_result, &slot);
        harness_expect_line(dev, "ASKED", TEST_TIMEOUT_MS);
        if (stop_exporter)
                harness_stop(dev, TEST_TIMEOUT_MS);
        r = lib_wait_result(f, &slot);
        g_assert_cmpint(vhost_share_client_lookup_finish(f->client, r, &error), ==, -1);
        g_assert_error(error, VHOST_SHARE_ERROR, code);
        harness_stop(dev, TEST_TIMEOUT_MS);
}

/* The fixture's configuration: LookupTimeoutMSec=300. */
static void test_lookup_timeout(LibFixture *f, gconstpointer data)
{
        assert_lookup_fails(f, FALSE, VHOST_SHARE_ERROR_TIMEOUT);
}

/* The exporter disconnects while the lookup waits: PeerGone. */
static void test_lookup_peer_gone(LibFixture *f, gconstpointer data)
{
        assert_lookup_fails(f, TRUE, VHOST_SHARE_ERROR_PEER_GONE);
}

/* Cancelling a lookup that waits on its exporter returns at once with
 * G_IO_ERROR_CANCELLED; a call cancelled before it starts is not sent. */
static void test_cancel(LibFixture *f, gconstpointer data)
{
        g_autoptr(GCancellable) cancellable = g_cancellable_new();
        g_autoptr(GCancellable) cancelled = g_cancellable_new();
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *uuid = NULL, *none = NULL, *other = NULL;
        g_autoptr(GPtrArray) objects = NULL;
        GAsyncResult *slot = NULL;
        HarnessProc *dev = start_mute_device(f, &uuid);
        int fd = lib_sealed_memfd(4096, 9);

        vhost_share_client_lookup(f->client, uuid, cancellable, lib_store_result, &slot);
        harness_expect_line(dev, "ASKED", TEST_TIMEOUT_MS);
        g_assert_null(slot);
        /* The fixture's LookupTimeoutMSec (60 s) is far beyond the test's
         * deadline: only the cancellation can end the wait in time. */
        g_cancellable_cancel(cancellable);
        r = lib_wait_result(f, &slot);
        g_assert_cmpint(vhost_share_client_lookup_finish(f->client, r, &error), ==, -1);
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        g_clear_error(&error);

        g_cancellable_cancel(cancelled);
        none = vhost_share_client_export_fd_sync(f->client, fd, NULL, cancelled, &error);
        g_assert_null(none);
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        g_clear_error(&error);
        /* The service never saw it: the next export is the only new object. */
        other = vhost_share_client_export_fd_sync(f->client, fd, NULL, NULL, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", other);
        objects = vhost_share_client_list_objects(f->client);
        g_assert_cmpuint(objects->len, ==, 2);
        close(fd);
        harness_stop(dev, TEST_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        LIB_TEST_ADD("/client-lib/peers/device", NULL, test_device);
        LIB_TEST_ADD("/client-lib/peers/errors", NULL, test_peer_errors);
        LIB_TEST_ADD("/client-lib/peers/lookup-timeout", "[Service]\nLookupTimeoutMSec=300\n",
                     test_lookup_timeout);
        LIB_TEST_ADD("/client-lib/peers/lookup-peer-gone", "[Service]\nLookupTimeoutMSec=60000\n",
                     test_lookup_peer_gone);
        LIB_TEST_ADD("/client-lib/peers/cancel", "[Service]\nLookupTimeoutMSec=60000\n",
                     test_cancel);
        return g_test_run();
}
