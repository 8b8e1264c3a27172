/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quotas of held buffers (core/quota.h) through the bus: bytes per client
 * connection, bytes in total, objects per uid across connections, a uid's
 * share of the disowned pool; each refused with QuotaExceeded naming the
 * limit, and nothing lost: the caller's fd stays its own, the table as it
 * was. */

#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "dbus-fixture.h"

/* Export of a fresh sealed memfd of size; NULL on success, else
 * "Name: message" (to free). ret_uuid as call_export's. */
static char *export_size(sd_bus *bus, size_t size, char **ret_uuid)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int fd = new_memfd(size, 7);
        const char *u, *p;
        char *err = NULL;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Export", &e, &reply, "hs", fd, "");
        if (r < 0)
                err = g_strdup_printf("%s: %s", e.name, e.message);
        else {
                g_assert_cmpint(sd_bus_message_read(reply, "so", &u, &p), >, 0);
                if (ret_uuid)
                        *ret_uuid = g_strdup(u);
        }
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        close(fd);
        return err;
}

static void assert_quota_error(char *err, const char *limit)
{
        g_assert_nonnull(err);
        g_test_message("%s", err);
        g_assert_true(g_str_has_prefix(err, ERR("QuotaExceeded") ": Quota exceeded: "));
        g_assert_nonnull(strstr(err, limit));
        g_free(err);
}

/* MaxBytesPerClient=8K: a connection's third 4 KiB buffer is refused,
 * another connection's is not. */
static void test_bytes_per_client(Fixture *f, gconstpointer data)
{
        sd_bus *other = testbed_connect(&f->tb);

        for (int i = 0; i < 2; i++)
                g_assert_null(export_size(f->bus, 4096, NULL));
        assert_quota_error(export_size(f->bus, 4096, NULL), "MaxBytesPerClient=8192");
        /* One byte over counts too. */
        g_assert_null(export_size(other, 8192, NULL));
        assert_quota_error(export_size(other, 1, NULL), "MaxBytesPerClient=8192");
        g_assert_true(wait_object_count(f, 3));
        sd_bus_flush_close_unref(other);
}

/* MaxBytesTotal=8K across clients; a removal makes room. */
static void test_bytes_total(Fixture *f, gconstpointer data)
{
        sd_bus *a = testbed_connect(&f->tb), *b = testbed_connect(&f->tb);
        g_autofree char *uuid = NULL;

        g_assert_null(export_size(a, 4096, &uuid));
        g_assert_null(export_size(b, 4096, NULL));
        assert_quota_error(export_size(f->bus, 4096, NULL), "MaxBytesTotal=8192");
        g_assert_null(call_simple(a, "Remove", "s", uuid));
        g_assert_null(export_size(f->bus, 4096, NULL));
        sd_bus_flush_close_unref(a);
        sd_bus_flush_close_unref(b);
}

/* MaxObjectsPerUid=3 counts two connections of one uid together (each
 * below MaxObjectsPerClient=); an Allocate() is refused before it
 * allocates. */
static void test_objects_per_uid(Fixture *f, gconstpointer data)
{
        sd_bus *other = testbed_connect(&f->tb);
        sd_bus_error e = SD_BUS_ERROR_NULL;

        for (int i = 0; i < 2; i++)
                g_assert_null(export_size(f->bus, 4096, NULL));
        g_assert_null(export_size(other, 4096, NULL));
        assert_quota_error(export_size(other, 4096, NULL), "MaxObjectsPerUid=");
        g_assert_cmpint(sd_bus_call_method(other, DEST, MPATH, MIFACE, "Allocate", &e, NULL, "ts",
                                           (uint64_t) 4096, ""),
                        <, 0);
        assert_quota_error(g_strdup_printf("%s: %s", e.name, e.message), "MaxObjectsPerUid=");
        sd_bus_error_free(&e);
        g_assert_true(wait_object_count(f, 3));
        sd_bus_flush_close_unref(other);
}

/* MaxDisownedObjectsPerUid=1: the uid's second Disown() is refused and the
 * object stays the caller's; disowned buffers still count for the uid
 * (MaxObjectsPerUid=3) after the client left. */
static void test_disowned_share(Fixture *f, gconstpointer data)
{
        sd_bus *client = testbed_connect(&f->tb);
        g_autofree char *a = NULL, *b = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        g_assert_null(export_size(client, 4096, &a));
        g_assert_null(call_simple(client, "Disown", "s", a));
        g_assert_null(export_size(client, 4096, &b));
        g_assert_cmpint(sd_bus_call_method(client, DEST, MPATH, MIFACE, "Disown", &e, NULL, "s", b),
                        <, 0);
        assert_quota_error(g_strdup_printf("%s: %s", e.name, e.message),
                           "MaxDisownedObjectsPerUid=");
        sd_bus_error_free(&e);
        /* b is still the client's: it goes with it; a stays. */
        client = sd_bus_flush_close_unref(client);
        g_assert_true(wait_object_count(f, 1));
        g_assert_null(export_size(f->bus, 4096, NULL));
        g_assert_null(export_size(f->bus, 4096, NULL));
        assert_quota_error(export_size(f->bus, 4096, NULL), "MaxObjectsPerUid=");
        /* Removing the disowned one gives its share back. */
        g_assert_null(call_simple(f->bus, "Remove", "s", a));
        g_clear_pointer(&b, g_free);
        g_assert_null(export_size(f->bus, 4096, &b));
        g_assert_null(call_simple(f->bus, "Disown", "s", b));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/quotas/bytes-per-client", setup_shipped,
                      "[Service]\nMaxBytesPerClient=8K\n", test_bytes_per_client);
        DBUS_TEST_ADD("/dbus/quotas/bytes-total", setup_shipped, "[Service]\nMaxBytesTotal=8K\n",
                      test_bytes_total);
        DBUS_TEST_ADD("/dbus/quotas/objects-per-uid", setup_shipped,
                      "[Service]\nMaxObjectsPerUid=3\nMaxObjectsPerClient=10\n",
                      test_objects_per_uid);
        DBUS_TEST_ADD("/dbus/quotas/disowned-share", setup_shipped,
                      "[Service]\nMaxDisownedObjectsPerUid=1\nMaxObjectsPerUid=3\n",
                      test_disowned_share);
        return g_test_run();
}
