/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table's quotas (core/quota.h): bytes per owner, objects and bytes per
 * uid across owners, bytes in total, a uid's share of the disowned pool;
 * everything given back when entries go, whichever way. */

#include <errno.h>
#include <glib.h>
#include <unistd.h>

#include "share-table-testlib.h"

/* Adds a held buffer of size for owner: 0 or -errno. */
static int add(ShareTable *t, ShareOwner *owner, size_t size, uint8_t uuid[SHARE_UUID_SIZE])
{
        int fd = new_memfd(size, 1), r;

        random_uuid(uuid);
        r = share_table_add_fd(t, uuid, fd, owner, NULL, NULL);
        if (r < 0)
                close(fd); /* still ours on failure */
        return r;
}

static void test_bytes_per_owner_and_total(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        uint8_t u[4][SHARE_UUID_SIZE];

        share_table_set_limits(t, &(QuotaLimits){.max_bytes_total = 12288});
        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.1", 1000);
        share_owner_init(&b, SHARE_OWNER_BUS_CLIENT, ":1.2", 1001);
        a.max_bytes = 8192;
        g_assert_cmpint(add(t, &a, 4096, u[0]), ==, 0);
        g_assert_cmpint(add(t, &a, 4096, u[1]), ==, 0);
        g_assert_cmpuint(a.n_bytes, ==, 8192);
        g_assert_cmpint(share_table_check_add_fd(t, &a, 1), ==, QUOTA_BYTES_PER_OWNER);
        g_assert_cmpint(add(t, &a, 4096, u[2]), ==, -EDQUOT);
        g_assert_cmpint(add(t, &b, 4096, u[2]), ==, 0);
        g_assert_cmpint(share_table_check_add_fd(t, &b, 1), ==, QUOTA_BYTES_TOTAL);
        g_assert_cmpint(add(t, &b, 4096, u[3]), ==, -EDQUOT);
        g_assert_cmpuint(quota_bytes_total(share_table_quota(t)), ==, 12288);
        /* Exported objects (held by their back-end) count as entries only. */
        g_assert_cmpint(share_table_add_exporter(t, u[3], &b, NULL), ==, 0);
        g_assert_cmpuint(b.n_bytes, ==, 4096);

        g_assert_cmpint(share_table_remove(t, u[0], &a), ==, 0);
        g_assert_cmpuint(a.n_bytes, ==, 4096);
        g_assert_cmpint(share_table_check_add_fd(t, &a, 4096), ==, QUOTA_OK);
        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 1);
        g_assert_cmpuint(share_table_remove_owner(t, &b), ==, 2);
        g_assert_cmpuint(quota_bytes_total(share_table_quota(t)), ==, 0);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).objects, ==, 0);
        share_owner_clear(&a);
        share_owner_clear(&b);
        share_table_free(t);
}

/* Two owners of one uid share the uid's objects and bytes. */
static void test_per_uid(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b, c;
        uint8_t u[SHARE_UUID_SIZE];

        share_table_set_limits(
            t, &(QuotaLimits){.max_objects_per_uid = 3, .max_bytes_per_uid = 16384});
        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.1", 1000);
        share_owner_init(&b, SHARE_OWNER_BUS_CLIENT, ":1.2", 1000);
        share_owner_init(&c, SHARE_OWNER_BUS_CLIENT, ":1.3", 1001);
        g_assert_cmpint(add(t, &a, 4096, u), ==, 0);
        g_assert_cmpint(add(t, &b, 8192, u), ==, 0);
        g_assert_cmpint(share_table_check_add_fd(t, &a, 8192), ==, QUOTA_BYTES_PER_UID);
        g_assert_cmpint(add(t, &a, 8192, u), ==, -EDQUOT);
        g_assert_cmpint(add(t, &b, 4096, u), ==, 0);
        g_assert_cmpint(share_table_check_add_fd(t, &a, 1), ==, QUOTA_OBJECTS_PER_UID);
        g_assert_cmpint(add(t, &c, 4096, u), ==, 0);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).objects, ==, 3);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).bytes, ==, 16384);
        share_table_remove_owner(t, &a);
        share_table_remove_owner(t, &b);
        share_table_remove_owner(t, &c);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).objects, ==, 0);
        share_owner_clear(&a);
        share_owner_clear(&b);
        share_owner_clear(&c);
        share_table_free(t);
}

/* Handing buffers over to the service's pool: a uid's share of it, and the
 * buffer stays charged to the uid that put it there. */
static void test_disowned_share(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, pool;
        uint8_t u[3][SHARE_UUID_SIZE];
        ShareEntry *e[3];

        share_table_set_limits(t, &(QuotaLimits){.max_disowned_per_uid = 2});
        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.1", 1000);
        share_owner_init(&pool, SHARE_OWNER_SERVICE, "service", 0);
        for (int i = 0; i < 3; i++) {
                g_assert_cmpint(add(t, &a, 4096, u[i]), ==, 0);
                e[i] = share_table_lookup(t, u[i]);
        }
        g_assert_cmpint(share_table_set_owner(t, e[0], &pool), ==, 0);
        g_assert_cmpint(share_table_set_owner(t, e[1], &pool), ==, 0);
        g_assert_cmpint(share_table_check_set_owner(t, e[2], &pool), ==, QUOTA_DISOWNED_PER_UID);
        g_assert_cmpint(share_table_set_owner(t, e[2], &pool), ==, -EDQUOT);
        g_assert_true(share_entry_owner(e[2]) == &a);
        g_assert_cmpint(share_entry_uid(e[0]), ==, 1000);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).disowned, ==, 2);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).objects, ==, 3);
        g_assert_cmpuint(a.n_bytes, ==, 4096);
        g_assert_cmpuint(pool.n_bytes, ==, 8192);
        /* One back: room for another. */
        g_assert_cmpint(share_table_remove(t, u[0], NULL), ==, 0);
        g_assert_cmpint(share_table_set_owner(t, e[2], &pool), ==, 0);
        share_table_remove_owner(t, &pool);
        g_assert_cmpuint(quota_usage(share_table_quota(t), 1000).disowned, ==, 0);
        g_assert_cmpuint(quota_bytes_total(share_table_quota(t)), ==, 0);
        share_owner_clear(&a);
        share_owner_clear(&pool);
        share_table_free(t);
}

/* Limits near 2^64 do not wrap. */
static void test_no_overflow(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;

        share_table_set_limits(t, &(QuotaLimits){.max_bytes_total = UINT64_MAX - 1});
        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.1", 1000);
        g_assert_cmpint(share_table_check_add_fd(t, &a, UINT64_MAX), ==, QUOTA_BYTES_TOTAL);
        g_assert_cmpint(share_table_check_add_fd(t, &a, UINT64_MAX - 1), ==, QUOTA_OK);
        share_owner_clear(&a);
        share_table_free(t);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/quota/bytes-per-owner-and-total", test_bytes_per_owner_and_total);
        g_test_add_func("/quota/per-uid", test_per_uid);
        g_test_add_func("/quota/disowned-share", test_disowned_share);
        g_test_add_func("/quota/no-overflow", test_no_overflow);
        return g_test_run();
}
