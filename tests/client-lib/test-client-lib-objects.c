/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvhostshare-1 on shared objects, against vhost-shared on a private bus:
 * the constructors, Export (of an fd and of a file), Lookup, Remove,
 * Disown, Allocate, each async and sync, with the errors the service
 * answers as VHOST_SHARE_ERROR codes; the objects, their properties and
 * notifications followed from signals; an owner leaving, the service
 * restarting. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "client-lib-fixture.h"

static gboolean object_count_is_1(gpointer client)
{
        return vhost_share_client_get_object_count(client) == 1;
}

static gboolean object_count_is_0(gpointer client)
{
        return vhost_share_client_get_object_count(client) == 0;
}

/* Both constructors see the running service and its empty table. */
static void test_construct(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(VhostShareClient) sync = NULL;
        g_autoptr(GPtrArray) objects = NULL, peers = NULL;
        g_autofree char *owner = NULL, *sync_owner = NULL;
        g_autofree char *version = NULL;
        guint count = 1;

        sync = vhost_share_client_new_for_address_sync(f->tb.address, NULL, &error);
        g_assert_no_error(error);
        owner = vhost_share_client_get_name_owner(f->client);
        sync_owner = vhost_share_client_get_name_owner(sync);
        g_assert_nonnull(owner);
        g_assert_true(g_str_has_prefix(owner, ":"));
        g_assert_cmpstr(owner, ==, sync_owner);
        /* One source tree: the service is of the library's version. */
        g_assert_cmpstr(vhost_share_client_get_version(f->client), ==, VHOST_SHARE_VERSION);
        g_object_get(sync, "version", &version, "object-count", &count, NULL);
        g_assert_cmpstr(version, ==, VHOST_SHARE_VERSION);
        g_assert_cmpuint(count, ==, 0);
        g_assert_cmpuint(vhost_share_client_get_peer_count(f->client), ==, 0);
        objects = vhost_share_client_list_objects(f->client);
        peers = vhost_share_client_list_peers(f->client);
        g_assert_cmpuint(objects->len, ==, 0);
        g_assert_cmpuint(peers->len, ==, 0);
        g_assert_true(G_IS_DBUS_CONNECTION(vhost_share_client_get_connection(f->client)));

        /* No bus there: the bus's error, not a client. */
        g_clear_error(&error);
        g_assert_null(
            vhost_share_client_new_for_address_sync("unix:path=/nonexistent/bus", NULL, &error));
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* Export, the object's properties, Lookup of the same buffer, its
 * LookupCount notified, Remove: the async variants. */
static void test_export_lookup_remove(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r1 = NULL, r2 = NULL, r3 = NULL;
        g_autofree char *uuid = NULL, *upper = NULL, *path = NULL;
        g_autoptr(GString) hex = NULL;
        g_autoptr(GPtrArray) objects = NULL;
        GAsyncResult *slot = NULL;
        VhostShareObject *obj;
        struct stat st;
        int fd = lib_sealed_memfd(8192, 7), got;

        vhost_share_client_export_fd(f->client, fd, NULL, NULL, lib_store_result, &slot);
        r1 = lib_wait_result(f, &slot);
        uuid = vhost_share_client_export_fd_finish(f->client, r1, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(strlen(uuid), ==, 36);
        /* Not taken: still ours. */
        g_assert_cmpint(fcntl(fd, F_GETFD), >=, 0);
        lib_wait_event(f, "object-added %s", uuid);
        g_assert_true(lib_wait(f, object_count_is_1, f->client));

        obj = vhost_share_client_get_object(f->client, uuid);
        g_assert_nonnull(obj);
        /* Found by either form of the UUID, at the path of its hex digits. */
        hex = g_string_new(uuid);
        g_string_replace(hex, "-", "", 0);
        path = g_strconcat("/org/vhostshare/share1/object/", hex->str, NULL);
        g_assert_cmpstr(vhost_share_item_get_object_path(VHOST_SHARE_ITEM(obj)), ==, path);
        g_assert_true(vhost_share_client_get_object(f->client, hex->str) == obj);
        upper = g_ascii_strup(uuid, -1);
        g_assert_true(vhost_share_client_get_object(f->client, upper) == obj);
        g_assert_null(vhost_share_client_get_object(f->client, "12345"));
        g_assert_cmpstr(vhost_share_object_get_object_type(obj), ==, "dma-buf");
        g_assert_cmpuint(vhost_share_object_get_size(obj), ==, 8192);
        g_assert_cmpstr(vhost_share_object_get_exporter(obj), ==, "memfd");
        g_assert_cmpstr(vhost_share_object_get_owner(obj), ==, "/");
        g_assert_cmpstr(
            vhost_share_object_get_owner_bus_name(obj), ==,
            g_dbus_connection_get_unique_name(vhost_share_client_get_connection(f->client)));
        g_assert_cmpuint(vhost_share_object_get_created_timestamp(obj), >,
                         (guint64) (g_get_real_time() - 60 * G_USEC_PER_SEC));
        g_assert_cmpuint(vhost_share_object_get_lookup_count(obj), ==, 0);
        g_assert_nonnull(vhost_share_item_get_proxy(VHOST_SHARE_ITEM(obj)));
        objects = vhost_share_client_list_objects(f->client);
        g_assert_cmpuint(objects->len, ==, 1);
        g_assert_true(objects->pdata[0] == obj);

        /* The same buffer comes back, and the count moves. */
        vhost_share_client_lookup(f->client, uuid, NULL, lib_store_result, &slot);
        r2 = lib_wait_result(f, &slot);
        got = vhost_share_client_lookup_finish(f->client, r2, &error);
        g_assert_no_error(error);
        g_assert_cmpint(got, >=, 0);
        g_assert_cmpint(memfd_verify_pattern(got, 8192, 7), ==, 0);
        g_assert_cmpint(fstat(got, &st), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, vhost_share_object_get_inode(obj));
        g_assert_cmpuint(st.st_dev, ==, vhost_share_object_get_inode_device(obj));
        close(got);
        while (vhost_share_object_get_lookup_count(obj) != 1)
                g_assert_true(g_main_context_iteration(NULL, TRUE));

        vhost_share_client_remove(f->client, uuid, NULL, lib_store_result, &slot);
        r3 = lib_wait_result(f, &slot);
        g_assert_true(vhost_share_client_remove_finish(f->client, r3, &error));
        g_assert_no_error(error);
        lib_wait_event(f, "object-removed %s", uuid);
        g_assert_null(vhost_share_client_get_object(f->client, uuid));
        g_assert_true(lib_wait(f, object_count_is_0, f->client));
        close(fd);
}

static void assert_uuid_refused(LibFixture *f, int fd, const char *uuid, int code)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *got = vhost_share_client_export_fd_sync(f->client, fd, uuid, NULL, &error);

        g_assert_null(got);
        g_assert_error(error, VHOST_SHARE_ERROR, code);
        /* The service's message, without GDBus's prefix. */
        g_assert_false(g_str_has_prefix(error->message, "GDBus.Error"));
}

/* The sync variants, and what the service refuses: a taken UUID, bad
 * UUIDs, an fd that is no buffer, an unknown or malformed UUID. */
static void test_sync_and_errors(LibFixture *f, gconstpointer data)
{
        const char *uuid = "2a8f4e53-a5e1-4c3e-8f2d-0b1d7b1a9c11";
        g_autoptr(GError) error = NULL;
        g_autofree char *got = NULL;
        int fd = lib_sealed_memfd(4096, 1), pipefd[2];

        got = vhost_share_client_export_fd_sync(f->client, fd, uuid, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(got, ==, uuid);
        assert_uuid_refused(f, fd, uuid, VHOST_SHARE_ERROR_EXISTS);
        assert_uuid_refused(f, fd, "00000000-0000-0000-0000-000000000000",
                            VHOST_SHARE_ERROR_INVALID_UUID);
        assert_uuid_refused(f, fd, "not-a-uuid", VHOST_SHARE_ERROR_INVALID_UUID);
        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        assert_uuid_refused(f, pipefd[0], NULL, VHOST_SHARE_ERROR_INVALID_FD);
        close(pipefd[0]);
        close(pipefd[1]);

        g_assert_cmpint(vhost_share_client_lookup_sync(
                            f->client, "11111111-2222-4333-8444-555555555555", NULL, &error),
                        ==, -1);
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NOT_FOUND);
        g_clear_error(&error);
        g_assert_false(vhost_share_client_remove_sync(
            f->client, "11111111-2222-4333-8444-555555555555", NULL, &error));
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NOT_FOUND);
        g_clear_error(&error);
        g_assert_false(vhost_share_client_remove_sync(f->client, "x", NULL, &error));
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_INVALID_UUID);
        g_clear_error(&error);

        g_assert_true(vhost_share_client_remove_sync(f->client, uuid, NULL, &error));
        g_assert_no_error(error);
        lib_wait_event(f, "object-removed %s", uuid);
        close(fd);
}

/* The fixture's configuration: MaxObjectsPerClient=1; over it, QuotaExceeded. */
static void test_quota(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *first = NULL;
        int fd = lib_sealed_memfd(4096, 2);

        first = vhost_share_client_export_fd_sync(f->client, fd, NULL, NULL, &error);
        g_assert_no_error(error);
        assert_uuid_refused(f, fd, NULL, VHOST_SHARE_ERROR_QUOTA_EXCEEDED);
        close(fd);
}

/* A file's contents become a sealed memfd in the table. */
static void test_export_file(LibFixture *f, gconstpointer data)
{
        g_autofree char *path = g_build_filename(f->tb.dir, "picture.raw", NULL);
        g_autofree char *missing = g_build_filename(f->tb.dir, "missing", NULL);
        g_autoptr(GFile) file = g_file_new_for_path(path);
        g_autoptr(GFile) nofile = g_file_new_for_path(missing);
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *uuid = NULL, *back = NULL;
        char contents[10000];
        GAsyncResult *slot = NULL;
        VhostShareObject *obj;
        int fd;

        for (size_t i = 0; i < sizeof(contents); i++)
                contents[i] = (char) (i * 7);
        g_assert_true(g_file_set_contents(path, contents, sizeof(contents), NULL));
        vhost_share_client_export_file(f->client, file, NULL, NULL, lib_store_result, &slot);
        r = lib_wait_result(f, &slot);
        uuid = vhost_share_client_export_file_finish(f->client, r, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", uuid);
        obj = vhost_share_client_get_object(f->client, uuid);
        g_assert_cmpuint(vhost_share_object_get_size(obj), ==, sizeof(contents));
        g_assert_cmpstr(vhost_share_object_get_exporter(obj), ==, "memfd");
        g_assert_nonnull(strstr(vhost_share_object_get_name(obj), "picture.raw"));

        fd = vhost_share_client_lookup_sync(f->client, uuid, NULL, &error);
        g_assert_no_error(error);
        back = g_malloc(sizeof(contents) + 1);
        /* read(), not pread(): the shared file offset is at the top. */
        g_assert_cmpint(read(fd, back, sizeof(contents) + 1), ==, sizeof(contents));
        g_assert_cmpmem(back, sizeof(contents), contents, sizeof(contents));
        close(fd);

        g_assert_null(vhost_share_client_export_file_sync(f->client, nofile, NULL, NULL, &error));
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void count_notify(GObject *obj, GParamSpec *pspec, gpointer count)
{
        (*(guint *) count)++;
}

static gboolean owner_bus_name_empty(gpointer obj)
{
        return *vhost_share_object_get_owner_bus_name(obj) == '\0';
}

/* Disown: OwnerBusName notified as "", the object stays when its exporter
 * goes, and only the service's own now: a second Disown is NotOwner. */
static void test_disown(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *uuid = NULL;
        GAsyncResult *slot = NULL;
        VhostShareObject *obj;
        int fd = lib_sealed_memfd(4096, 3);
        guint notified = 0;

        uuid = vhost_share_client_export_fd_sync(f->client, fd, NULL, NULL, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", uuid);
        obj = vhost_share_client_get_object(f->client, uuid);
        g_signal_connect(obj, "notify::owner-bus-name", G_CALLBACK(count_notify), &notified);

        vhost_share_client_disown(f->client, uuid, NULL, lib_store_result, &slot);
        r = lib_wait_result(f, &slot);
        g_assert_true(vhost_share_client_disown_finish(f->client, r, &error));
        g_assert_no_error(error);
        g_assert_true(lib_wait(f, owner_bus_name_empty, obj));
        g_assert_cmpuint(notified, ==, 1);

        g_assert_false(vhost_share_client_disown_sync(f->client, uuid, NULL, &error));
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NOT_OWNER);
        g_clear_error(&error);
        g_assert_true(vhost_share_client_remove_sync(f->client, uuid, NULL, &error));
        g_assert_no_error(error);
        lib_wait_event(f, "object-removed %s", uuid);
        close(fd);
}

/* Allocate hands out the new buffer's fd; a device that is not there is
 * NoDevice. */
static void test_allocate(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;
        g_autofree char *uuid = NULL, *bad = NULL;
        GAsyncResult *slot = NULL;
        VhostShareObject *obj;
        struct stat st;
        int fd = -1;

        /* No DRM device here: a memfd only when asked for by name. */
        uuid = vhost_share_client_allocate_sync(f->client, 65536, NULL, &fd, NULL, &error);
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NO_DEVICE);
        g_clear_error(&error);
        g_assert_null(uuid);
        uuid = vhost_share_client_allocate_sync(f->client, 65536, "memfd", &fd, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        lib_wait_event(f, "object-added %s", uuid);
        obj = vhost_share_client_get_object(f->client, uuid);
        g_assert_cmpuint(vhost_share_object_get_size(obj), ==, 65536);
        g_assert_cmpstr(vhost_share_object_get_allocator(obj), !=, "");
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, vhost_share_object_get_inode(obj));
        close(fd);

        vhost_share_client_allocate(f->client, 4096, "/dev/dri/card99", NULL, lib_store_result,
                                    &slot);
        r = lib_wait_result(f, &slot);
        bad = vhost_share_client_allocate_finish(f->client, r, NULL, &error);
        g_assert_null(bad);
        g_assert_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_NO_DEVICE);
}

/* Another client's objects come and go with it. */
typedef struct {
        VhostShareClient *client;
        const char *uuid;
} OtherObject;

static gboolean other_has_object(gpointer data)
{
        OtherObject *o = data;
        return vhost_share_client_get_object(o->client, o->uuid) != NULL; /* transfer none */
}

static void test_owner_leaves(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(VhostShareClient) other = NULL;
        g_autofree char *uuid = NULL;
        int fd = lib_sealed_memfd(4096, 4);

        other = vhost_share_client_new_for_address_sync(f->tb.address, NULL, &error);
        g_assert_no_error(error);
        uuid = vhost_share_client_export_fd_sync(other, fd, NULL, NULL, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", uuid);
        /* The other client too has taken in the object's signals: GLib
         * 2.74 complains (a critical) when a proxy for a signal still
         * queued is made after the connection closed. */
        g_assert_true(lib_wait(f, other_has_object, &(OtherObject){other, uuid}));
        g_assert_true(
            g_dbus_connection_close_sync(vhost_share_client_get_connection(other), NULL, &error));
        g_assert_no_error(error);
        lib_wait_event(f, "object-removed %s", uuid);
        close(fd);
}

static gboolean no_name_owner(gpointer client)
{
        g_autofree char *owner = vhost_share_client_get_name_owner(client);

        return owner == NULL;
}

static gboolean has_version(gpointer client)
{
        return *vhost_share_client_get_version(client) != '\0';
}

/* The service goes: its objects are removed, name-owner and version
 * empty; it comes back: the client follows it without being remade. */
static void test_service_restart(LibFixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *uuid = NULL, *again = NULL;
        int fd = lib_sealed_memfd(4096, 5);

        uuid = vhost_share_client_export_fd_sync(f->client, fd, NULL, NULL, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", uuid);
        testbed_stop_service(&f->tb);
        lib_wait_event(f, "object-removed %s", uuid);
        g_assert_true(lib_wait(f, no_name_owner, f->client));
        g_assert_cmpstr(vhost_share_client_get_version(f->client), ==, "");

        testbed_start_service(&f->tb, NULL);
        g_assert_true(lib_wait(f, has_version, f->client));
        g_ptr_array_set_size(f->events, 0);
        again = vhost_share_client_export_fd_sync(f->client, fd, uuid, NULL, &error);
        g_assert_no_error(error);
        lib_wait_event(f, "object-added %s", uuid);
        close(fd);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        LIB_TEST_ADD("/client-lib/objects/construct", NULL, test_construct);
        LIB_TEST_ADD("/client-lib/objects/export-lookup-remove", NULL, test_export_lookup_remove);
        LIB_TEST_ADD("/client-lib/objects/sync-and-errors", NULL, test_sync_and_errors);
        LIB_TEST_ADD("/client-lib/objects/quota", "[Service]\nMaxObjectsPerClient=1\n", test_quota);
        LIB_TEST_ADD("/client-lib/objects/export-file", NULL, test_export_file);
        LIB_TEST_ADD("/client-lib/objects/disown", NULL, test_disown);
        LIB_TEST_ADD("/client-lib/objects/allocate", NULL, test_allocate);
        LIB_TEST_ADD("/client-lib/objects/owner-leaves", NULL, test_owner_leaves);
        LIB_TEST_ADD("/client-lib/objects/service-restart", NULL, test_service_restart);
        return g_test_run();
}
