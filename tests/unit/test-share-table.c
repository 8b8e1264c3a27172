/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <uuid/uuid.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "share-table.h"

#define N_ENTRIES 100

static const uint8_t NIL_UUID[SHARE_UUID_SIZE];
static const uint8_t MAX_UUID[SHARE_UUID_SIZE] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static void random_uuid(uint8_t out[SHARE_UUID_SIZE])
{
        uuid_generate_random(out);
}

static int new_memfd(size_t size, uint8_t seed)
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("share-table-test", size, seed, &fd), ==, 0);
        return fd;
}

static bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

/* --- observers that record what they see --- */

typedef struct {
        int observer; /* which recorder */
        ShareEvent ev;
        uint8_t uuid[SHARE_UUID_SIZE];
        const ShareEntry *entry;
        ShareOwner *owner;
        uint64_t lookup_count;
        /* The table as the observer saw it. */
        bool found_in_table;
        unsigned table_size;
        unsigned owner_entries;
        bool fd_open;
} Record;

typedef struct {
        GArray *records; /* Record */
} Log;

typedef struct {
        Log *log;
        int observer;
} Recorder;

static void record(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        Recorder *r = userdata;
        Record rec = {
            .observer = r->observer,
            .ev = ev,
            .entry = e,
            .owner = share_entry_owner(e),
            .lookup_count = share_entry_lookup_count(e),
            .found_in_table = share_table_lookup(t, share_entry_uuid(e)) == e,
            .table_size = share_table_size(t),
            .owner_entries = share_entry_owner(e)->n_entries,
            .fd_open = share_entry_type(e) == SHARE_TYPE_DMABUF && fd_is_open(share_entry_fd(e)),
        };

        memcpy(rec.uuid, share_entry_uuid(e), SHARE_UUID_SIZE);
        g_array_append_val(r->log->records, rec);
}

static Log *log_new(void)
{
        Log *l = g_new0(Log, 1);

        l->records = g_array_new(FALSE, TRUE, sizeof(Record));
        return l;
}

static void log_free(Log *l)
{
        g_array_unref(l->records);
        g_free(l);
}

static Record *log_at(Log *l, guint i)
{
        g_assert_cmpuint(i, <, l->records->len);
        return &g_array_index(l->records, Record, i);
}

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

static void count_events(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        (*(unsigned *) userdata)++;
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

static void test_observer_order(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;
        Log *log = log_new();
        Recorder r1 = {.log = log, .observer = 1}, r2 = {.log = log, .observer = 2};
        uint8_t x[SHARE_UUID_SIZE], y[SHARE_UUID_SIZE];
        int fd = new_memfd(4096, 1);
        ShareEntry *ex = NULL, *ey = NULL;
        struct {
                int observer;
                ShareEvent ev;
                const uint8_t *uuid;
        } want[] = {
            {1, SHARE_EVENT_ADDED, x},   {2, SHARE_EVENT_ADDED, x},   {1, SHARE_EVENT_ADDED, y},
            {2, SHARE_EVENT_ADDED, y},   {1, SHARE_EVENT_CHANGED, x}, {2, SHARE_EVENT_CHANGED, x},
            {1, SHARE_EVENT_REMOVED, x}, {2, SHARE_EVENT_REMOVED, x}, {1, SHARE_EVENT_REMOVED, y},
            {2, SHARE_EVENT_REMOVED, y},
        };
        unsigned id1, id2;

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        id1 = share_table_add_observer(t, record, &r1);
        id2 = share_table_add_observer(t, record, &r2);
        g_assert_cmpuint(id1, !=, 0);
        g_assert_cmpuint(id2, !=, 0);
        g_assert_cmpuint(id1, !=, id2);
        random_uuid(x);
        random_uuid(y);

        g_assert_cmpint(share_table_add_fd(t, x, fd, &a, NULL, &ex), ==, 0);
        g_assert_cmpint(share_table_add_exporter(t, y, &a, &ey), ==, 0);
        share_table_note_lookup(t, share_table_lookup(t, x));
        g_assert_cmpuint(share_entry_lookup_count(ex), ==, 1);
        g_assert_cmpuint(share_entry_lookup_count(ey), ==, 0);
        g_assert_cmpint(share_table_remove(t, x, &a), ==, 0);
        g_assert_cmpint(share_table_remove(t, y, &a), ==, 0);

        g_assert_cmpuint(log->records->len, ==, G_N_ELEMENTS(want));
        for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
                Record *r = log_at(log, i);

                g_assert_cmpint(r->observer, ==, want[i].observer);
                g_assert_cmpint(r->ev, ==, want[i].ev);
                g_assert_cmpmem(r->uuid, SHARE_UUID_SIZE, want[i].uuid, SHARE_UUID_SIZE);
                g_assert_true(r->entry == (want[i].uuid == x ? ex : ey));
                g_assert_true(r->owner == &a);
        }
        /* What the observers saw of the table. */
        g_assert_true(log_at(log, 0)->found_in_table); /* ADDED x: already in */
        g_assert_cmpuint(log_at(log, 0)->table_size, ==, 1);
        g_assert_cmpuint(log_at(log, 0)->owner_entries, ==, 1);
        g_assert_true(log_at(log, 0)->fd_open);
        g_assert_cmpuint(log_at(log, 2)->table_size, ==, 2);
        g_assert_cmpuint(log_at(log, 4)->lookup_count, ==, 1); /* CHANGED after count */
        g_assert_true(log_at(log, 4)->found_in_table);
        g_assert_false(log_at(log, 6)->found_in_table); /* REMOVED x: already out */
        g_assert_cmpuint(log_at(log, 6)->table_size, ==, 1);
        g_assert_cmpuint(log_at(log, 6)->owner_entries, ==, 1);
        g_assert_true(log_at(log, 6)->fd_open); /* but its fd still usable */
        g_assert_true(log_at(log, 7)->fd_open);
        g_assert_false(fd_is_open(fd)); /* and closed afterwards */
        g_assert_cmpuint(log_at(log, 8)->table_size, ==, 0);

        /* A removed observer hears nothing more. */
        share_table_remove_observer(t, id1);
        share_table_remove_observer(t, 0);    /* no-op */
        share_table_remove_observer(t, 9999); /* no-op */
        g_array_set_size(log->records, 0);
        g_assert_cmpint(share_table_add_exporter(t, x, &a, NULL), ==, 0);
        g_assert_cmpuint(log->records->len, ==, 1);
        g_assert_cmpint(log_at(log, 0)->observer, ==, 2);
        share_table_note_lookup(t, NULL); /* no-op */

        share_table_remove_owner(t, &a);
        share_table_free(t);
        log_free(log);
        share_owner_clear(&a);
}

typedef struct {
        ShareTable *t;
        unsigned self_id, other_id;
        unsigned calls;
} SelfRemover;

static void remove_self_and_other(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        SelfRemover *s = userdata;

        s->calls++;
        share_table_remove_observer(t, s->other_id);
        share_table_remove_observer(t, s->self_id);
}

static void add_observer_late(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        unsigned *counter = userdata;

        /* Added from inside a callback: starts with the next event. */
        if (ev == SHARE_EVENT_ADDED && (*counter)++ == 0)
                share_table_add_observer(t, count_events, counter + 1);
}

static void test_observer_remove_in_callback(void)
{
        ShareTable *t = share_table_new();
        ShareOwner a;
        SelfRemover s = {.t = t};
        unsigned b_calls = 0, c_calls = 0, late[2] = {0, 0};
        uint8_t x[SHARE_UUID_SIZE], y[SHARE_UUID_SIZE];

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        s.self_id = share_table_add_observer(t, remove_self_and_other, &s);
        s.other_id = share_table_add_observer(t, count_events, &b_calls);
        share_table_add_observer(t, count_events, &c_calls);
        share_table_add_observer(t, add_observer_late, late);
        random_uuid(x);
        random_uuid(y);

        g_assert_cmpint(share_table_add_exporter(t, x, &a, NULL), ==, 0);
        g_assert_cmpuint(s.calls, ==, 1);
        g_assert_cmpuint(b_calls, ==, 0); /* removed before its turn */
        g_assert_cmpuint(c_calls, ==, 1);
        g_assert_cmpuint(late[1], ==, 0);

        g_assert_cmpint(share_table_add_exporter(t, y, &a, NULL), ==, 0);
        g_assert_cmpuint(s.calls, ==, 1);
        g_assert_cmpuint(b_calls, ==, 0);
        g_assert_cmpuint(c_calls, ==, 2);
        g_assert_cmpuint(late[1], ==, 1);

        g_assert_cmpuint(share_table_remove_owner(t, &a), ==, 2);
        g_assert_cmpuint(c_calls, ==, 4);
        g_assert_cmpuint(late[1], ==, 3);
        share_table_free(t);
        share_owner_clear(&a);
}

typedef struct {
        uint8_t victim[SHARE_UUID_SIZE];
        uint8_t spawn[SHARE_UUID_SIZE];
        ShareOwner *owner;
} Meddler;

/* Removes the victim as soon as it is added, and adds spawn when the victim
 * goes: the table changes under the other observers' feet. */
static void meddle(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        Meddler *m = userdata;

        if (memcmp(share_entry_uuid(e), m->victim, SHARE_UUID_SIZE) != 0)
                return;
        if (ev == SHARE_EVENT_ADDED)
                g_assert_cmpint(share_table_remove(t, m->victim, NULL), ==, 0);
        else if (ev == SHARE_EVENT_REMOVED)
                g_assert_cmpint(share_table_add_exporter(t, m->spawn, m->owner, NULL), ==, 0);
}

static void test_observer_changes_table(void)
{
        int before = fd_count_open();
        ShareTable *t = share_table_new();
        ShareOwner a;
        Meddler m = {.owner = &a};
        Log *log = log_new();
        Recorder r1 = {.log = log, .observer = 1}, r2 = {.log = log, .observer = 2};
        int fd = new_memfd(4096, 1);

        share_owner_init(&a, SHARE_OWNER_PEER, "backend#1", 0);
        random_uuid(m.victim);
        random_uuid(m.spawn);
        share_table_add_observer(t, record, &r1);
        share_table_add_observer(t, meddle, &m);
        share_table_add_observer(t, record, &r2);

        g_assert_cmpint(share_table_add_fd(t, m.victim, fd, &a, NULL, NULL), ==, 0);

        /* Every observer sees ADDED victim, REMOVED victim, ADDED spawn. */
        g_assert_cmpuint(log->records->len, ==, 6);
        for (guint i = 0; i < 6; i++) {
                Record *r = log_at(log, i);

                g_assert_cmpint(r->observer, ==, i % 2 ? 2 : 1);
                g_assert_cmpint(r->ev, ==, i < 4 ? SHARE_EVENT_ADDED + (i / 2) : SHARE_EVENT_ADDED);
                g_assert_cmpmem(r->uuid, SHARE_UUID_SIZE, i < 4 ? m.victim : m.spawn,
                                SHARE_UUID_SIZE);
        }
        g_assert_cmpint(log_at(log, 2)->ev, ==, SHARE_EVENT_REMOVED);
        /* Observer 2 got ADDED after the victim had already left the table,
         * and the fd stayed valid until the REMOVED reached everyone. */
        g_assert_false(log_at(log, 1)->found_in_table);
        g_assert_true(log_at(log, 1)->fd_open);
        g_assert_true(log_at(log, 3)->fd_open);
        g_assert_false(fd_is_open(fd));

        g_assert_null(share_table_lookup(t, m.victim));
        g_assert_nonnull(share_table_lookup(t, m.spawn));
        g_assert_cmpuint(share_table_size(t), ==, 1);
        g_assert_cmpuint(a.n_entries, ==, 1);
        g_assert_cmpint(fd_count_open(), ==, before);

        share_table_remove_owner(t, &a);
        share_table_free(t);
        log_free(log);
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

static void test_info_other_fds(void)
{
        ShareBufferInfo info;
        int p[2], fd;
        struct stat st;

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        g_assert_cmpint(share_buffer_info_from_fd(p[0], &info), ==, 0);
        g_assert_cmpstr(info.exporter, ==, "");
        g_assert_cmpstr(info.name, ==, "");
        g_assert_cmpuint(info.size, ==, 0);
        g_assert_cmpint(fstat(p[0], &st), ==, 0);
        g_assert_true(info.ino == st.st_ino);
        close(p[0]);
        close(p[1]);

        g_assert_cmpint(share_buffer_info_from_fd(-1, &info), ==, -EBADF);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        close(fd);
        g_assert_cmpint(share_buffer_info_from_fd(fd, &info), ==, -EBADF);
        g_assert_cmpint(share_buffer_info_from_fd(0, NULL), ==, -EINVAL);
}

static void test_parse_fdinfo(void)
{
        /* The shape of /proc/self/fdinfo/N for a dma-buf (Linux 6.x). */
        const char *text = "pos:\t0\n"
                           "flags:\t02000002\n"
                           "mnt_id:\t15\n"
                           "ino:\t1057\n"
                           "size:\t8294400\n"
                           "count:\t3\n"
                           "exp_name:\tvirtio_gpu\n"
                           "name:\tframe 12\n";
        ShareBufferInfo info = {0};

        g_assert_cmpint(share_buffer_info_parse_fdinfo(text, &info), ==, 3);
        g_assert_cmpuint(info.size, ==, 8294400);
        g_assert_cmpstr(info.exporter, ==, "virtio_gpu");
        g_assert_cmpstr(info.name, ==, "frame 12");

        /* A buffer without a name, and a name longer than the field. */
        memset(&info, 0, sizeof(info));
        g_assert_cmpint(share_buffer_info_parse_fdinfo("size:\t4096\nexp_name:\tudmabuf\n", &info),
                        ==, 2);
        g_assert_cmpuint(info.size, ==, 4096);
        g_assert_cmpstr(info.exporter, ==, "udmabuf");
        g_assert_cmpstr(info.name, ==, "");
        {
                g_autofree char *longname = g_strnfill(200, 'n');
                g_autofree char *t2 = g_strdup_printf("name:\t%s\n", longname);

                g_assert_cmpint(share_buffer_info_parse_fdinfo(t2, &info), ==, 1);
                g_assert_cmpuint(strlen(info.name), ==, sizeof(info.name) - 1);
        }
        g_assert_cmpint(share_buffer_info_parse_fdinfo("size:\tjunk\n", &info), ==, 0);
        g_assert_cmpint(share_buffer_info_parse_fdinfo(NULL, &info), ==, 0);
}

static void test_uuid_strings(void)
{
        static const uint8_t known[SHARE_UUID_SIZE] = {
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
            0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
        };
        char s[SHARE_UUID_STR_LEN];
        uint8_t u[SHARE_UUID_SIZE], v[SHARE_UUID_SIZE];
        const char *bad[] = {
            "",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",   /* 35 */
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00", /* 37 */
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",  /* not hex */
            "0f1e2d3c4-b5a-6978-8796-a5b4c3d2e1f0",  /* dash moved */
            "0f1e2d3c 4b5a 6978 8796 a5b4c3d2e1f0",  /* not dashes */
            "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f}",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f",   /* 31 hex */
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00", /* 33 hex */
            "0f1e2d3c4b5a69788796a5b4c3d2e1fz",
            " 0f1e2d3c4b5a69788796a5b4c3d2e1f",
            "0x1e2d3c4b5a69788796a5b4c3d2e1f0",
        };

        share_uuid_to_string(known, s);
        g_assert_cmpstr(s, ==, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

        g_assert_cmpint(share_uuid_from_string("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0f1e2d3c4b5a69788796a5b4c3d2e1f0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0F1E2D3C4B5A69788796A5B4C3D2E1F0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);

        for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
                memcpy(u, known, sizeof(u));
                if (share_uuid_from_string(bad[i], u) != -EINVAL)
                        g_error("accepted \"%s\"", bad[i]);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE); /* untouched */
        }
        g_assert_cmpint(share_uuid_from_string(NULL, u), ==, -EINVAL);

        /* Syntax only: nil and max parse, but are not valid object ids. */
        g_assert_cmpint(share_uuid_from_string("00000000-0000-0000-0000-000000000000", u), ==, 0);
        g_assert_false(share_uuid_is_valid(u));
        g_assert_cmpint(share_uuid_from_string("ffffffffffffffffffffffffffffffff", u), ==, 0);
        g_assert_false(share_uuid_is_valid(u));
        g_assert_false(share_uuid_is_valid(NULL));
        g_assert_true(share_uuid_is_valid(known));

        for (int i = 0; i < 100; i++) {
                g_autoptr(GString) nodash = g_string_new(NULL);

                random_uuid(u);
                share_uuid_to_string(u, s);
                g_assert_cmpuint(strlen(s), ==, 36);
                for (const char *c = s; *c; c++) {
                        g_assert_true(*c == '-' || g_ascii_isdigit(*c) || (*c >= 'a' && *c <= 'f'));
                        if (*c != '-')
                                g_string_append_c(nodash, *c);
                }
                g_assert_cmpint(share_uuid_from_string(s, v), ==, 0);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, v, SHARE_UUID_SIZE);
                memset(v, 0, sizeof(v));
                g_assert_cmpint(share_uuid_from_string(nodash->str, v), ==, 0);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, v, SHARE_UUID_SIZE);
        }
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
        g_test_add_func("/share-table/observer-order", test_observer_order);
        g_test_add_func("/share-table/observer-remove-in-callback",
                        test_observer_remove_in_callback);
        g_test_add_func("/share-table/observer-changes-table", test_observer_changes_table);
        g_test_add_func("/share-table/quota", test_quota);
        g_test_add_func("/share-table/set-owner", test_set_owner);
        g_test_add_func("/share-table/fd-ownership", test_fd_ownership);
        g_test_add_func("/share-table/metadata-memfd", test_metadata_memfd);
        g_test_add_func("/share-table/info-other-fds", test_info_other_fds);
        g_test_add_func("/share-table/parse-fdinfo", test_parse_fdinfo);
        g_test_add_func("/share-table/uuid-strings", test_uuid_strings);
        g_test_add_func("/share-table/foreach", test_foreach);
        g_test_add_func("/share-table/type-names", test_type_names);
        return g_test_run();
}
