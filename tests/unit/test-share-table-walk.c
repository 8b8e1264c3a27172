/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walks over the table that span changes (share_table_walk_new()): what the
 * bus layer's whole-table replies rely on between their chunks. */
#include <string.h>

#include <glib.h>

#include "share-table-testlib.h"
#include "share-table.h"

#define N 10

typedef struct {
        ShareTable *t;
        ShareOwner owner, other;
        uint8_t uuids[N][SHARE_UUID_SIZE];
} Fixture;

static void fixture_init(Fixture *f)
{
        f->t = share_table_new();
        share_owner_init(&f->owner, SHARE_OWNER_PEER, "back-end", 1000);
        share_owner_init(&f->other, SHARE_OWNER_PEER, "other", 1000);
        for (int i = 0; i < N; i++) {
                random_uuid(f->uuids[i]);
                /* Even ones to owner, odd ones to other: the owners' lists
                 * and the table's order differ. */
                g_assert_cmpint(share_table_add_exporter(f->t, f->uuids[i],
                                                         i % 2 ? &f->other : &f->owner, NULL),
                                ==, 0);
        }
}

static void fixture_clear(Fixture *f)
{
        share_table_remove_owner(f->t, &f->owner);
        share_table_remove_owner(f->t, &f->other);
        share_owner_clear(&f->owner);
        share_owner_clear(&f->other);
        share_table_free(f->t);
}

/* The index in f->uuids of e, asserting it is one of them. */
static int index_of(const Fixture *f, const ShareEntry *e)
{
        for (int i = 0; i < N; i++)
                if (memcmp(share_entry_uuid(e), f->uuids[i], SHARE_UUID_SIZE) == 0)
                        return i;
        g_assert_not_reached();
}

static void test_order(void)
{
        Fixture f;
        ShareTableWalk *w;
        const ShareEntry *e;
        int i = 0;

        fixture_init(&f);
        w = share_table_walk_new(f.t);
        while ((e = share_table_walk_next(w)))
                g_assert_cmpint(index_of(&f, e), ==, i++);
        g_assert_cmpint(i, ==, N);
        g_assert_null(share_table_walk_next(w)); /* and stays at the end */
        share_table_walk_free(w);
        fixture_clear(&f);
}

/* Removing the entry a walk would visit next, one it visited and one
 * further on; adding a new UUID and one removed before: each entry of the
 * start that is still there is visited once, nothing else is. */
static void test_changes_between_steps(void)
{
        bool seen[N] = {false};
        uint8_t fresh[SHARE_UUID_SIZE];
        ShareTableWalk *w;
        const ShareEntry *e;
        Fixture f;

        fixture_init(&f);
        w = share_table_walk_new(f.t);
        g_assert_cmpint(index_of(&f, share_table_walk_next(w)), ==, 0);
        g_assert_cmpint(index_of(&f, share_table_walk_next(w)), ==, 1);
        /* 2 is next: the walk goes on with 3. */
        g_assert_cmpint(share_table_remove(f.t, f.uuids[2], &f.owner), ==, 0);
        /* Visited: no effect on the walk. */
        g_assert_cmpint(share_table_remove(f.t, f.uuids[0], &f.owner), ==, 0);
        /* Further on, and back as a new entry: not visited at all. */
        g_assert_cmpint(share_table_remove(f.t, f.uuids[5], &f.other), ==, 0);
        g_assert_cmpint(share_table_add_exporter(f.t, f.uuids[5], &f.other, NULL), ==, 0);
        /* Visited, and back: not visited again. */
        g_assert_cmpint(share_table_remove(f.t, f.uuids[1], &f.other), ==, 0);
        g_assert_cmpint(share_table_add_exporter(f.t, f.uuids[1], &f.other, NULL), ==, 0);
        random_uuid(fresh);
        g_assert_cmpint(share_table_add_exporter(f.t, fresh, &f.owner, NULL), ==, 0);

        seen[0] = seen[1] = true;
        while ((e = share_table_walk_next(w))) {
                int i = index_of(&f, e); /* asserts it is not fresh */

                g_assert_false(seen[i]);
                seen[i] = true;
        }
        for (int i = 0; i < N; i++)
                g_assert_true(seen[i] == (i != 2 && i != 5));
        share_table_walk_free(w);
        share_table_remove(f.t, fresh, &f.owner);
        fixture_clear(&f);
}

/* An owner purged while the walk's next entry is one of its: the walk
 * continues with the other owner's entries only. Two walks at once. */
static void test_owner_purged(void)
{
        ShareTableWalk *w1, *w2;
        const ShareEntry *e;
        unsigned n1 = 0, n2 = 0;
        Fixture f;

        fixture_init(&f);
        w1 = share_table_walk_new(f.t);
        w2 = share_table_walk_new(f.t);
        g_assert_cmpint(index_of(&f, share_table_walk_next(w1)), ==, 0); /* next: 1 (other) */
        g_assert_cmpint(index_of(&f, share_table_walk_next(w2)), ==, 0);
        g_assert_cmpint(index_of(&f, share_table_walk_next(w2)), ==, 1); /* next: 2 (owner) */
        g_assert_cmpuint(share_table_remove_owner(f.t, &f.owner), ==, N / 2);
        while ((e = share_table_walk_next(w1))) {
                g_assert_true(share_entry_owner(e) == &f.other);
                n1++;
        }
        while ((e = share_table_walk_next(w2))) {
                g_assert_true(share_entry_owner(e) == &f.other);
                n2++;
        }
        g_assert_cmpuint(n1, ==, N / 2);
        g_assert_cmpuint(n2, ==, N / 2 - 1);
        share_table_walk_free(w1);
        share_table_walk_free(w2);
        fixture_clear(&f);
}

/* Everything removed, the table emptied and filled again: the walk ends. */
static void test_emptied(void)
{
        ShareTableWalk *w;
        Fixture f;

        fixture_init(&f);
        w = share_table_walk_new(f.t);
        share_table_remove_owner(f.t, &f.owner);
        share_table_remove_owner(f.t, &f.other);
        for (int i = 0; i < N; i++)
                g_assert_cmpint(share_table_add_exporter(f.t, f.uuids[i], &f.owner, NULL), ==, 0);
        g_assert_null(share_table_walk_next(w));
        share_table_walk_free(w);
        fixture_clear(&f);
}

/* A walk freed after its table: nothing to visit, nothing touched. */
static void test_outlives_table(void)
{
        ShareTableWalk *w;
        Fixture f;

        fixture_init(&f);
        w = share_table_walk_new(f.t);
        g_assert_nonnull(share_table_walk_next(w));
        fixture_clear(&f);
        g_assert_null(share_table_walk_next(w));
        share_table_walk_free(w);
        share_table_walk_free(NULL);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/share-table-walk/order", test_order);
        g_test_add_func("/share-table-walk/changes-between-steps", test_changes_between_steps);
        g_test_add_func("/share-table-walk/owner-purged", test_owner_purged);
        g_test_add_func("/share-table-walk/emptied", test_emptied);
        g_test_add_func("/share-table-walk/outlives-table", test_outlives_table);
        return g_test_run();
}
