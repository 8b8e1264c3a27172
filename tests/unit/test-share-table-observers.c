/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The share table's observers: order, what they see of the table, and
 * observers or entries changed from inside a callback. */
#include <string.h>

#include <glib.h>

#include "fd-util.h"
#include "share-table-testlib.h"
#include "share-table.h"

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

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/share-table/observer-order", test_observer_order);
        g_test_add_func("/share-table/observer-remove-in-callback",
                        test_observer_remove_in_callback);
        g_test_add_func("/share-table/observer-changes-table", test_observer_changes_table);
        return g_test_run();
}
