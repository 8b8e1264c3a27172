/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "share-table-testlib.h"
#include "share-table.h"

#define N_ENTRIES 100

static const uint8_t NIL_UUID[SHARE_UUID_SIZE];
static const uint8_t MAX_UUID[SHARE_UUID_SIZE] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* --- the cases of QEMU's virtio-dmabuf test, on our table --- */

static void test_add_remove_dmabufs(void)
{
        int before = fd_count_open();
        ShareTable *t = share_table_new();
        ShareOwner owner;
        uint8_t uuids[N_ENTRIES][SHARE_UUID_SIZE];
        int fds[N_ENTRIES];

        share_owner_init(&owner, SHARE_OWNER_BUS_CLIENT, ":1.42", 1000);
        for (int i = 0; i < N_ENTRIES; i++) {
                ShareEntry *e = NULL;

                random_uuid(uuids[i]);
                fds[i] = new_memfd(4096, (uint8_t) i);
                g_assert_cmpint(share_table_add_fd(t, uuids[i], fds[i], &owner, NULL, &e), ==, 0);
                g_assert_nonnull(e);
                g_assert_true(share_table_lookup(t, uuids[i]) == e);
        }
        g_assert_cmpuint(share_table_size(t), ==, N_ENTRIES);
        g_assert_cmpuint(owner.n_entries, ==, N_ENTRIES);
        g_assert_cmpint(fd_count_open(), ==, before + N_ENTRIES);

        for (int i = 0; i < N_ENTRIES; i++) {
                ShareEntry *e = share_table_lookup(t, uuids[i]);

                g_assert_nonnull(e);
                g_assert_cmpint(share_entry_type(e), ==, SHARE_TYPE_DMABUF);
                g_assert_cmpint(share_entry_fd(e), ==, fds[i]);
                g_assert_true(share_entry_owner(e) == &owner);
                g_assert_cmpmem(share_entry_uuid(e), SHARE_UUID_SIZE, uuids[i], SHARE_UUID_SIZE);
                g_assert_cmpint(memfd_verify_pattern(share_entry_fd(e), 4096, (uint8_t) i), ==, 0);
        }

        for (int i = 0; i < N_ENTRIES; i++) {
                g_assert_cmpint(share_table_remove(t, uuids[i], &owner), ==, 0);
                g_assert_null(share_table_lookup(t, uuids[i]));
                g_assert_false(fd_is_open(fds[i]));
        }
        g_assert_cmpuint(share_table_size(t), ==, 0);
        g_assert_cmpuint(owner.n_entries, ==, 0);
        g_assert_null(owner.entries_head);
        g_assert_cmpint(fd_count_open(), ==, before);

        share_table_free(t);
        share_owner_clear(&owner);
}

static void test_add_remove_exporters(void)
{
        ShareTable *t = share_table_new();
        ShareOwner owner;
        uint8_t uuids[N_ENTRIES][SHARE_UUID_SIZE];

        share_owner_init(&owner, SHARE_OWNER_PEER, "backend#1", (uid_t) -1);
        for (int i = 0; i < N_ENTRIES; i++) {
                random_uuid(uuids[i]);
                g_assert_cmpint(share_table_add_exporter(t, uuids[i], &owner, NULL), ==, 0);
        }
        g_assert_cmpuint(share_table_size(t), ==, N_ENTRIES);

        for (int i = 0; i < N_ENTRIES; i++) {
                ShareEntry *e = share_table_lookup(t, uuids[i]);
                const ShareBufferInfo *info;

                g_assert_nonnull(e);
                g_assert_cmpint(share_entry_type(e), ==, SHARE_TYPE_VHOST_DEV);
                g_assert_cmpint(share_entry_fd(e), ==, -1);
                g_assert_true(share_entry_owner(e) == &owner);
                info = share_entry_info(e);
                g_assert_cmpuint(info->size, ==, 0);
                g_assert_cmpstr(info->exporter, ==, "");
        }
        for (int i = 0; i < N_ENTRIES; i++) {
                g_assert_cmpint(share_table_remove(t, uuids[i], &owner), ==, 0);
                g_assert_null(share_table_lookup(t, uuids[i]));
        }
        g_assert_cmpuint(share_table_size(t), ==, 0);
        g_assert_cmpuint(owner.n_entries, ==, 0);

        share_table_free(t);
        share_owner_clear(&owner);
}

static void test_remove_missing(void)
{
        ShareTable *t = share_table_new();
        ShareOwner owner;
        uint8_t u[SHARE_UUID_SIZE];

        share_owner_init(&owner, SHARE_OWNER_PEER, "backend#1", 0);
        random_uuid(u);
        g_assert_cmpint(share_table_remove(t, u, &owner), ==, -ENOENT);
        g_assert_cmpint(share_table_remove(t, u, NULL), ==, -ENOENT);
        g_assert_cmpint(share_table_remove(t, NIL_UUID, NULL), ==, -EINVAL);
        g_assert_cmpint(share_table_remove(t, MAX_UUID, NULL), ==, -EINVAL);
        g_assert_cmpint(share_table_remove(t, NULL, NULL), ==, -EINVAL);

        g_assert_cmpint(share_table_add_exporter(t, u, &owner, NULL), ==, 0);
        g_assert_cmpint(share_table_remove(t, u, &owner), ==, 0);
        g_assert_cmpint(share_table_remove(t, u, &owner), ==, -ENOENT);
        g_assert_null(share_table_lookup(t, u));
        g_assert_null(share_table_lookup(t, NIL_UUID));
        g_assert_null(share_table_lookup(t, NULL));

        share_table_free(t);
        share_owner_clear(&owner);
}

static void test_add_invalid(void)
{
        ShareTable *t = share_table_new();
        ShareOwner owner;
        uint8_t u[SHARE_UUID_SIZE];
        unsigned events = 0;
        ShareEntry *e = NULL;
        int fd = new_memfd(4096, 1), closed;
        int before = fd_count_open();

        share_owner_init(&owner, SHARE_OWNER_PEER, "backend#1", 0);
        share_table_add_observer(t, count_events, &events);
        random_uuid(u);

        g_assert_cmpint(share_table_add_fd(t, NIL_UUID, fd, &owner, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_fd(t, MAX_UUID, fd, &owner, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_fd(t, NULL, fd, &owner, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_fd(t, u, -1, &owner, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_fd(t, u, -7, &owner, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_fd(t, u, fd, NULL, NULL, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_exporter(t, NIL_UUID, &owner, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_exporter(t, MAX_UUID, &owner, &e), ==, -EINVAL);
        g_assert_cmpint(share_table_add_exporter(t, u, NULL, &e), ==, -EINVAL);

        /* A number that is not open must not be taken over (the table would
         * later close whatever reuses it). */
        closed = dup(fd);
        close(closed);
        g_assert_cmpint(share_table_add_fd(t, u, closed, &owner, NULL, &e), ==, -EBADF);
        {
                ShareBufferInfo info = {.size = 1};

                g_assert_cmpint(share_table_add_fd(t, u, closed, &owner, &info, &e), ==, -EBADF);
        }

        g_assert_null(e);
        g_assert_cmpuint(events, ==, 0);
        g_assert_cmpuint(share_table_size(t), ==, 0);
        g_assert_cmpuint(owner.n_entries, ==, 0);
        /* The caller still owns the fd after every failed add. */
        g_assert_true(fd_is_open(fd));
        g_assert_cmpint(fd_count_open(), ==, before);

        share_table_free(t);
        g_assert_true(fd_is_open(fd));
        close(fd);
        share_owner_clear(&owner);
}

static void test_free_all(void)
{
        int before = fd_count_open();
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        unsigned events = 0;

        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.1", 0);
        share_owner_init(&b, SHARE_OWNER_PEER, "backend#2", 0);
        for (int i = 0; i < N_ENTRIES / 2; i++) {
                uint8_t u[SHARE_UUID_SIZE];

                random_uuid(u);
                g_assert_cmpint(share_table_add_fd(t, u, new_memfd(4096, 0), &a, NULL, NULL), ==,
                                0);
                random_uuid(u);
                g_assert_cmpint(share_table_add_exporter(t, u, &b, NULL), ==, 0);
        }
        g_assert_cmpuint(share_table_size(t), ==, N_ENTRIES);
        g_assert_cmpint(fd_count_open(), ==, before + N_ENTRIES / 2);

        share_table_add_observer(t, count_events, &events);
        share_table_free(t);
        g_assert_cmpuint(events, ==, 0); /* free does not notify */
        g_assert_cmpint(fd_count_open(), ==, before);
        g_assert_cmpuint(a.n_entries, ==, 0);
        g_assert_null(a.entries_head);
        g_assert_cmpuint(b.n_entries, ==, 0);
        share_owner_clear(&a);
        share_owner_clear(&b);

        share_table_free(NULL);
}

/* --- our own rules --- */

static void test_duplicate_first_writer_wins(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        uint8_t u[SHARE_UUID_SIZE];
        int fd1 = new_memfd(4096, 1), fd2 = new_memfd(4096, 2);
        ShareEntry *e;

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        share_owner_init(&b, SHARE_OWNER_PEER, "backend#2", 0);
        random_uuid(u);

        g_assert_cmpint(share_table_add_fd(t, u, fd1, &a, NULL, NULL), ==, 0);
        g_assert_cmpint(share_table_add_fd(t, u, fd2, &b, NULL, NULL), ==, -EEXIST);
        g_assert_cmpint(share_table_add_fd(t, u, fd2, &a, NULL, NULL), ==, -EEXIST);
        g_assert_cmpint(share_table_add_exporter(t, u, &b, NULL), ==, -EEXIST);
        g_assert_cmpint(share_table_add_exporter(t, u, &a, NULL), ==, -EEXIST);

        e = share_table_lookup(t, u);
        g_assert_nonnull(e);
        g_assert_cmpint(share_entry_fd(e), ==, fd1);
        g_assert_true(share_entry_owner(e) == &a);
        g_assert_cmpuint(share_table_size(t), ==, 1);
        g_assert_cmpuint(b.n_entries, ==, 0);
        g_assert_true(fd_is_open(fd2));

        /* And the other way round: an exporter entry blocks an fd. */
        random_uuid(u);
        g_assert_cmpint(share_table_add_exporter(t, u, &b, NULL), ==, 0);
        g_assert_cmpint(share_table_add_fd(t, u, fd2, &a, NULL, NULL), ==, -EEXIST);
        g_assert_true(share_entry_owner(share_table_lookup(t, u)) == &b);
        g_assert_true(fd_is_open(fd2));

        close(fd2);
        share_table_remove_owner(t, &a);
        share_table_remove_owner(t, &b);
        share_table_free(t);
        share_owner_clear(&a);
        share_owner_clear(&b);
}

static void test_remove_needs_owner(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        uint8_t u[SHARE_UUID_SIZE];
        int fd = new_memfd(4096, 1);

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        share_owner_init(&b, SHARE_OWNER_PEER, "backend#2", 0);
        random_uuid(u);
        g_assert_cmpint(share_table_add_fd(t, u, fd, &a, NULL, NULL), ==, 0);

        g_assert_cmpint(share_table_remove(t, u, &b), ==, -EPERM);
        g_assert_nonnull(share_table_lookup(t, u));
        g_assert_true(fd_is_open(fd));
        g_assert_cmpuint(a.n_entries, ==, 1);

        /* The service itself (NULL requester) may remove anything. */
        g_assert_cmpint(share_table_remove(t, u, NULL), ==, 0);
        g_assert_null(share_table_lookup(t, u));
        g_assert_false(fd_is_open(fd));
        g_assert_cmpuint(a.n_entries, ==, 0);

        share_table_free(t);
        share_owner_clear(&a);
        share_owner_clear(&b);
}

static void test_purge_owner(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        Log *log = log_new();
        Recorder rec = {.log = log, .observer = 1};
        uint8_t ua[10][SHARE_UUID_SIZE], ub[5][SHARE_UUID_SIZE];
        int before = fd_count_open();
        GHashTable *seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                 (GDestroyNotify) g_bytes_unref, NULL);

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        share_owner_init(&b, SHARE_OWNER_PEER, "backend#2", 0);
        for (int i = 0; i < 10; i++) {
                random_uuid(ua[i]);
                if (i % 2)
                        g_assert_cmpint(share_table_add_exporter(t, ua[i], &a, NULL), ==, 0);
                else
                        g_assert_cmpint(
                            share_table_add_fd(t, ua[i], new_memfd(4096, 0), &a, NULL, NULL), ==,
                            0);
        }
        for (int i = 0; i < 5; i++) {
                random_uuid(ub[i]);
                g_assert_cmpint(share_table_add_fd(t, ub[i], new_memfd(4096, 0), &b, NULL, NULL),
                                ==, 0);
        }
        g_assert_cmpint(fd_count_open(), ==, before + 10);

        share_table_add_observer(t, record, &rec);
        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 10);

        g_assert_cmpuint(log->records->len, ==, 10);
        for (guint i = 0; i < 10; i++) {
                Record *r = log_at(log, i);

                g_assert_cmpint(r->ev, ==, SHARE_EVENT_REMOVED);
                g_assert_true(r->owner == &a);
                g_assert_false(r->found_in_table);
                g_hash_table_add(seen, g_bytes_new(r->uuid, SHARE_UUID_SIZE));
        }
        g_assert_cmpuint(g_hash_table_size(seen), ==, 10);
        for (int i = 0; i < 10; i++) {
                g_autoptr(GBytes) k = g_bytes_new(ua[i], SHARE_UUID_SIZE);

                g_assert_true(g_hash_table_contains(seen, k));
                g_assert_null(share_table_lookup(t, ua[i]));
        }
        for (int i = 0; i < 5; i++)
                g_assert_true(share_entry_owner(share_table_lookup(t, ub[i])) == &b);
        g_assert_cmpuint(a.n_entries, ==, 0);
        g_assert_null(a.entries_head);
        g_assert_cmpuint(b.n_entries, ==, 5);
        g_assert_cmpuint(share_table_size(t), ==, 5);
        g_assert_cmpint(fd_count_open(), ==, before + 5);

        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 0);
        g_assert_cmpuint(share_table_remove_owner(t, &b), ==, 5);
        g_assert_cmpint(fd_count_open(), ==, before);

        g_hash_table_unref(seen);
        share_table_free(t);
        log_free(log);
        share_owner_clear(&a);
        share_owner_clear(&b);
}

/* Removing an entry from the middle of an owner's list keeps the list
 * intact (purge still finds the rest). */
static void test_owner_list_unlink(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;
        uint8_t u[5][SHARE_UUID_SIZE];

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        for (int i = 0; i < 5; i++) {
                random_uuid(u[i]);
                g_assert_cmpint(share_table_add_exporter(t, u[i], &a, NULL), ==, 0);
        }
        g_assert_cmpint(share_table_remove(t, u[2], &a), ==, 0); /* middle */
        g_assert_cmpint(share_table_remove(t, u[4], &a), ==, 0); /* head (newest) */
        g_assert_cmpint(share_table_remove(t, u[0], &a), ==, 0); /* tail */
        g_assert_cmpuint(a.n_entries, ==, 2);
        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 2);
        g_assert_null(share_table_lookup(t, u[1]));
        g_assert_null(share_table_lookup(t, u[3]));
        g_assert_cmpuint(share_table_size(t), ==, 0);
        share_table_free(t);
        share_owner_clear(&a);
}

static void test_quota(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a, b;
        uint8_t u[4][SHARE_UUID_SIZE];
        int fd = new_memfd(4096, 1);

        share_owner_init(&a, SHARE_OWNER_BUS_CLIENT, ":1.5", 1000);
        share_owner_init(&b, SHARE_OWNER_BUS_CLIENT, ":1.6", 1000);
        a.max_entries = 3;
        for (int i = 0; i < 4; i++)
                random_uuid(u[i]);
        for (int i = 0; i < 3; i++)
                g_assert_cmpint(share_table_add_exporter(t, u[i], &a, NULL), ==, 0);

        g_assert_cmpint(share_table_add_fd(t, u[3], fd, &a, NULL, NULL), ==, -EDQUOT);
        g_assert_true(fd_is_open(fd));
        g_assert_cmpint(share_table_add_exporter(t, u[3], &a, NULL), ==, -EDQUOT);
        g_assert_null(share_table_lookup(t, u[3]));
        g_assert_cmpuint(a.n_entries, ==, 3);
        /* The quota is per owner. */
        g_assert_cmpint(share_table_add_exporter(t, u[3], &b, NULL), ==, 0);
        g_assert_cmpint(share_table_remove(t, u[3], &b), ==, 0);

        g_assert_cmpint(share_table_remove(t, u[0], &a), ==, 0);
        g_assert_cmpint(share_table_add_fd(t, u[3], fd, &a, NULL, NULL), ==, 0);
        g_assert_cmpuint(a.n_entries, ==, 3);

        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 3);
        g_assert_false(fd_is_open(fd));
        share_table_free(t);
        share_owner_clear(&a);
        share_owner_clear(&b);
}

static void test_set_owner(void)
{
        ShareTable *t = share_table_new();
        ShareOwner client, service;
        uint8_t u[3][SHARE_UUID_SIZE];
        ShareEntry *e;
        int fd = new_memfd(4096, 2);

        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.7", 1000);
        share_owner_init(&service, SHARE_OWNER_SERVICE, "service", 0);
        service.max_entries = 1;
        for (int i = 0; i < 3; i++)
                random_uuid(u[i]);
        g_assert_cmpint(share_table_add_fd(t, u[0], fd, &client, NULL, &e), ==, 0);
        g_assert_cmpint(share_table_add_exporter(t, u[1], &client, NULL), ==, 0);
        g_assert_cmpint(share_table_add_exporter(t, u[2], &client, NULL), ==, 0);

        g_assert_cmpint(share_table_set_owner(t, e, &service), ==, 0);
        g_assert_true(share_entry_owner(e) == &service);
        g_assert_cmpuint(client.n_entries, ==, 2);
        g_assert_cmpuint(service.n_entries, ==, 1);
        /* The new owner's quota counts; the old owner keeps the entry. */
        g_assert_cmpint(share_table_set_owner(t, share_table_lookup(t, u[1]), &service), ==,
                        -EDQUOT);
        g_assert_true(share_entry_owner(share_table_lookup(t, u[1])) == &client);
        g_assert_cmpint(share_table_set_owner(t, NULL, &service), ==, -EINVAL);

        /* Only the new owner may remove it; purging the old one leaves it. */
        g_assert_cmpint(share_table_remove(t, u[0], &client), ==, -EPERM);
        g_assert_cmpuint(share_table_remove_owner(t, &client), ==, 2);
        g_assert_nonnull(share_table_lookup(t, u[0]));
        g_assert_true(fd_is_open(fd));
        g_assert_cmpint(share_table_remove(t, u[0], &service), ==, 0);
        g_assert_false(fd_is_open(fd));
        share_table_free(t);
        share_owner_clear(&client);
        share_owner_clear(&service);
}

static void test_fd_ownership(void)
{
        int before = fd_count_open();
        ShareTable *t = share_table_new();
        ShareOwner a;
        uint8_t u[20][SHARE_UUID_SIZE];
        int fds[20], reused;
        ShareEntry *e;

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        for (int i = 0; i < 20; i++) {
                random_uuid(u[i]);
                fds[i] = new_memfd(4096, (uint8_t) i);
                g_assert_cmpint(share_table_add_fd(t, u[i], fds[i], &a, NULL, NULL), ==, 0);
        }
        g_assert_cmpint(fd_count_open(), ==, before + 20);
        for (int i = 0; i < 10; i++)
                g_assert_cmpint(share_table_remove(t, u[i], &a), ==, 0);
        g_assert_cmpint(fd_count_open(), ==, before + 10);

        /* A second close() of a removed entry's fd would hit whatever reuses
         * the number now: make something reuse it and check it survives. */
        reused = new_memfd(4096, 99);
        g_assert_cmpint(reused, ==, fds[0]); /* lowest free number */
        g_assert_cmpint(share_table_remove(t, u[0], &a), ==, -ENOENT);

        g_assert_cmpint(share_table_remove(t, u[10], &a), ==, 0);
        e = share_table_lookup(t, u[11]);
        g_assert_cmpint(share_entry_fd(e), ==, fds[11]);

        share_table_remove_owner(t, &a);
        share_table_free(t);
        g_assert_true(fd_is_open(reused));
        g_assert_cmpint(memfd_verify_pattern(reused, 4096, 99), ==, 0);
        close(reused);
        g_assert_cmpint(fd_count_open(), ==, before);
        share_owner_clear(&a);
}

static void test_metadata_memfd(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;
        uint8_t u[SHARE_UUID_SIZE];
        int fd = -1;
        struct stat st;
        struct timespec ts;
        uint64_t t0, t1;
        ShareEntry *e = NULL;
        const ShareBufferInfo *info;

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        g_assert_cmpint(memfd_new_sealed_pattern("frame-7", 65536 + 512, 7, &fd), ==, 0);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        random_uuid(u);

        clock_gettime(CLOCK_REALTIME, &ts);
        t0 = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        g_assert_cmpint(share_table_add_fd(t, u, fd, &a, NULL, &e), ==, 0);
        clock_gettime(CLOCK_REALTIME, &ts);
        t1 = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

        info = share_entry_info(e);
        g_assert_cmpuint(info->size, ==, 65536 + 512);
        g_assert_cmpstr(info->exporter, ==, "memfd");
        g_assert_cmpstr(info->name, ==, "frame-7");
        g_assert_cmpstr(info->device, ==, "");
        g_assert_true(info->dev == st.st_dev);
        g_assert_true(info->ino == st.st_ino);
        g_assert_cmpuint(share_entry_created_usec(e), >=, t0);
        g_assert_cmpuint(share_entry_created_usec(e), <=, t1);
        g_assert_cmpuint(share_entry_lookup_count(e), ==, 0);
        share_table_note_lookup(t, e);
        share_table_note_lookup(t, e);
        g_assert_cmpuint(share_entry_lookup_count(e), ==, 2);
        g_assert_cmpint(memfd_verify_pattern(share_entry_fd(e), 65536 + 512, 7), ==, 0);

        /* A caller that knows better passes the info itself. */
        {
                ShareBufferInfo given = {.size = 12345};
                int fd2 = new_memfd(4096, 1);

                g_strlcpy(given.exporter, "i915", sizeof(given.exporter));
                g_strlcpy(given.device, "/dev/dri/card0", sizeof(given.device));
                random_uuid(u);
                g_assert_cmpint(share_table_add_fd(t, u, fd2, &a, &given, &e), ==, 0);
                g_assert_cmpuint(share_entry_info(e)->size, ==, 12345);
                g_assert_cmpstr(share_entry_info(e)->exporter, ==, "i915");
                g_assert_cmpstr(share_entry_info(e)->device, ==, "/dev/dri/card0");
        }

        share_table_remove_owner(t, &a);
        share_table_free(t);
        share_owner_clear(&a);
}

typedef struct {
        GHashTable *seen;
        unsigned stop_after;
} Walk;

static bool walk(const ShareEntry *e, void *userdata)
{
        Walk *w = userdata;

        g_hash_table_add(w->seen, (gpointer) e);
        return g_hash_table_size(w->seen) < w->stop_after;
}

static void test_foreach(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;
        ShareEntry *entries[30];
        Walk w = {.seen = g_hash_table_new(NULL, NULL), .stop_after = G_MAXUINT};

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        share_table_foreach(t, walk, &w);
        g_assert_cmpuint(g_hash_table_size(w.seen), ==, 0);

        for (int i = 0; i < 30; i++) {
                uint8_t u[SHARE_UUID_SIZE];

                random_uuid(u);
                g_assert_cmpint(share_table_add_exporter(t, u, &a, &entries[i]), ==, 0);
        }
        share_table_foreach(t, walk, &w);
        g_assert_cmpuint(g_hash_table_size(w.seen), ==, 30);
        for (int i = 0; i < 30; i++)
                g_assert_true(g_hash_table_contains(w.seen, entries[i]));

        /* fn returning false stops the walk. */
        g_hash_table_remove_all(w.seen);
        w.stop_after = 7;
        share_table_foreach(t, walk, &w);
        g_assert_cmpuint(g_hash_table_size(w.seen), ==, 7);

        g_hash_table_unref(w.seen);
        share_table_remove_owner(t, &a);
        share_table_free(t);
        share_owner_clear(&a);
}

static void test_type_names(void)
{
        g_assert_cmpstr(share_type_to_string(SHARE_TYPE_DMABUF), ==, "dma-buf");
        g_assert_cmpstr(share_type_to_string(SHARE_TYPE_VHOST_DEV), ==, "vhost-device");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/share-table/add-remove-dmabufs", test_add_remove_dmabufs);
        g_test_add_func("/share-table/add-remove-exporters", test_add_remove_exporters);
        g_test_add_func("/share-table/remove-missing", test_remove_missing);
        g_test_add_func("/share-table/add-invalid", test_add_invalid);
        g_test_add_func("/share-table/free-all", test_free_all);
        g_test_add_func("/share-table/duplicate-first-writer-wins",
                        test_duplicate_first_writer_wins);
        g_test_add_func("/share-table/remove-needs-owner", test_remove_needs_owner);
        g_test_add_func("/share-table/purge-owner", test_purge_owner);
        g_test_add_func("/share-table/owner-list-unlink", test_owner_list_unlink);
        g_test_add_func("/share-table/quota", test_quota);
        g_test_add_func("/share-table/set-owner", test_set_owner);
        g_test_add_func("/share-table/fd-ownership", test_fd_ownership);
        g_test_add_func("/share-table/metadata-memfd", test_metadata_memfd);
        g_test_add_func("/share-table/foreach", test_foreach);
        g_test_add_func("/share-table/type-names", test_type_names);
        return g_test_run();
}
