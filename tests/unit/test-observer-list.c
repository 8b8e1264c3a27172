/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one rule of shared/observer-list.h: order added, an observer added
 * during a notification starts with the next one, a removed one is never
 * called again and skips nobody, notifications nest. */
#include <glib.h>

#include "observer-list.h"

typedef struct Probe Probe;

typedef struct {
        ObserverList *list;
        GString *calls; /* one letter per call, "(...)" around a nested notification */
} Bench;

struct Probe {
        Bench *bench;
        char name;
        unsigned id;
        void (*action)(Probe *p); /* run on the first `actions` calls */
        unsigned actions;
        Probe *other; /* whom the action is about */
};

typedef void (*ProbeFn)(Probe *p);

static void notify(Bench *b)
{
        ObserverIter it;

        for (observer_list_begin(b->list, &it); observer_list_next(b->list, &it);)
                ((ProbeFn) it.fn)(it.userdata);
        observer_list_end(b->list);
}

static void probe_called(Probe *p)
{
        g_string_append_c(p->bench->calls, p->name);
        if (p->action && p->actions > 0) {
                p->actions--;
                p->action(p);
        }
}

static void add_probe(Bench *b, Probe *p)
{
        p->bench = b;
        p->id = observer_list_add(b->list, (ObserverFn) probe_called, p);
        g_assert_cmpuint(p->id, !=, 0);
}

static void remove_other(Probe *p)
{
        observer_list_remove(p->bench->list, p->other->id);
}

static void remove_self(Probe *p)
{
        observer_list_remove(p->bench->list, p->id);
}

static void add_other(Probe *p)
{
        add_probe(p->bench, p->other);
}

static void notify_nested(Probe *p)
{
        g_string_append_c(p->bench->calls, '(');
        notify(p->bench);
        g_string_append_c(p->bench->calls, ')');
}

/* Notifies once and checks the calls it made. */
static void assert_notify(Bench *b, const char *want)
{
        g_string_truncate(b->calls, 0);
        notify(b);
        g_assert_cmpstr(b->calls->str, ==, want);
}

static void bench_init(Bench *b)
{
        b->list = observer_list_new();
        b->calls = g_string_new(NULL);
}

static void bench_clear(Bench *b)
{
        observer_list_free(b->list);
        g_string_free(b->calls, TRUE);
}

static void test_order(void)
{
        Bench b;
        Probe p[4] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}, {.name = 'd'}};

        bench_init(&b);
        assert_notify(&b, "");
        for (int i = 0; i < 4; i++)
                add_probe(&b, &p[i]);
        g_assert_cmpuint(observer_list_size(b.list), ==, 4);
        assert_notify(&b, "abcd");
        assert_notify(&b, "abcd");

        /* Outside a notification too, removing one keeps the others' order. */
        observer_list_remove(b.list, p[1].id);
        g_assert_cmpuint(observer_list_size(b.list), ==, 3);
        assert_notify(&b, "acd");
        add_probe(&b, &p[1]);
        assert_notify(&b, "acdb");
        bench_clear(&b);
}

static void test_ids(void)
{
        Bench b;
        Probe p[64];
        g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);

        bench_init(&b);
        for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 64; i++) {
                        p[i] = (Probe){.name = 'x'};
                        add_probe(&b, &p[i]);
                        /* Distinct from every id handed out before. */
                        g_assert_false(g_hash_table_contains(seen, GUINT_TO_POINTER(p[i].id)));
                        g_hash_table_add(seen, GUINT_TO_POINTER(p[i].id));
                }
                g_assert_cmpuint(observer_list_size(b.list), ==, 64);
                for (int i = 0; i < 64; i++)
                        observer_list_remove(b.list, p[i].id);
                g_assert_cmpuint(observer_list_size(b.list), ==, 0);
        }
        bench_clear(&b);
}

static void test_remove_unknown(void)
{
        Bench b;
        Probe a = {.name = 'a'}, c = {.name = 'c'};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &c);
        observer_list_remove(b.list, 0);
        observer_list_remove(b.list, a.id + c.id + 1000);
        g_assert_cmpuint(observer_list_size(b.list), ==, 2);
        assert_notify(&b, "ac");

        /* An id removed twice: the second time is unknown. */
        observer_list_remove(b.list, a.id);
        observer_list_remove(b.list, a.id);
        g_assert_cmpuint(observer_list_size(b.list), ==, 1);
        assert_notify(&b, "c");
        bench_clear(&b);
}

static void test_add_during_notification(void)
{
        Bench b;
        Probe late = {.name = 'L'};
        Probe a = {.name = 'a', .action = add_other, .actions = 1, .other = &late};
        Probe c = {.name = 'c'};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &c);
        /* Added while a was told: not called for this notification... */
        assert_notify(&b, "ac");
        g_assert_cmpuint(observer_list_size(b.list), ==, 3);
        /* ...but for the next, after those added before it. */
        assert_notify(&b, "acL");
        bench_clear(&b);
}

static void test_remove_self(void)
{
        Bench b;
        Probe a = {.name = 'a'}, c = {.name = 'c'}, d = {.name = 'd'};
        Probe self = {.name = 's', .action = remove_self, .actions = 1};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &self);
        add_probe(&b, &c);
        add_probe(&b, &d);
        assert_notify(&b, "ascd"); /* told once, the one after it not skipped */
        g_assert_cmpuint(observer_list_size(b.list), ==, 3);
        assert_notify(&b, "acd");
        bench_clear(&b);
}

static void test_remove_later(void)
{
        Bench b;
        Probe c = {.name = 'c'}, d = {.name = 'd'}, e = {.name = 'e'};
        Probe a = {.name = 'a', .action = remove_other, .actions = 1, .other = &d};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &c);
        add_probe(&b, &d);
        add_probe(&b, &e);
        /* d is removed before its turn: not called even for this one. */
        assert_notify(&b, "ace");
        g_assert_cmpuint(observer_list_size(b.list), ==, 3);
        assert_notify(&b, "ace");
        bench_clear(&b);
}

static void test_remove_earlier(void)
{
        Bench b;
        Probe a = {.name = 'a'}, c = {.name = 'c'}, e = {.name = 'e'};
        Probe d = {.name = 'd', .action = remove_other, .actions = 1, .other = &a};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &c);
        add_probe(&b, &d);
        add_probe(&b, &e);
        /* a was already told; removing it skips nobody after d. */
        assert_notify(&b, "acde");
        assert_notify(&b, "cde");
        bench_clear(&b);
}

static void test_remove_several(void)
{
        Bench b;
        Probe a = {.name = 'a'}, c = {.name = 'c'}, e = {.name = 'e'}, f = {.name = 'f'};
        Probe d = {.name = 'd', .action = remove_other, .actions = 1, .other = &e};
        Probe s = {.name = 's', .action = remove_self, .actions = 1};
        Probe r = {.name = 'r', .action = remove_other, .actions = 1, .other = &a};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &r); /* removes a, already told */
        add_probe(&b, &s); /* removes itself */
        add_probe(&b, &c);
        add_probe(&b, &d); /* removes e, its neighbour */
        add_probe(&b, &e);
        add_probe(&b, &f);
        assert_notify(&b, "arscdf");
        g_assert_cmpuint(observer_list_size(b.list), ==, 4);
        assert_notify(&b, "rcdf");
        bench_clear(&b);
}

static void test_nested(void)
{
        Bench b;
        Probe late = {.name = 'L'};
        Probe a = {.name = 'a'}, d = {.name = 'd'};
        Probe n = {.name = 'n', .action = notify_nested, .actions = 1};
        Probe c = {.name = 'c', .action = add_other, .actions = 1, .other = &late};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &c); /* adds L on its first call: the outer one */
        add_probe(&b, &n); /* notifies again from inside */
        add_probe(&b, &d);
        /* The nested notification begins after L was added: L is in it; the
         * outer one goes on after n and does not call L. */
        assert_notify(&b, "acn(acndL)d");
        assert_notify(&b, "acndL");
        bench_clear(&b);
}

static void test_nested_remove(void)
{
        Bench b;
        Probe a = {.name = 'a'}, d = {.name = 'd'}, e = {.name = 'e'};
        Probe n = {.name = 'n', .action = notify_nested, .actions = 1};
        /* Their first call is in the nested notification. */
        Probe s = {.name = 's', .action = remove_self, .actions = 1};
        Probe r = {.name = 'r', .action = remove_other, .actions = 1, .other = &d};

        bench_init(&b);
        add_probe(&b, &a);
        add_probe(&b, &n);
        add_probe(&b, &s);
        add_probe(&b, &r);
        add_probe(&b, &d);
        add_probe(&b, &e);
        /* Removed inside the nested one: not called again in the outer one,
         * and the outer one skips nobody else. */
        assert_notify(&b, "an(ansre)re");
        g_assert_cmpuint(observer_list_size(b.list), ==, 4);
        assert_notify(&b, "anre");
        bench_clear(&b);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/observer-list/order", test_order);
        g_test_add_func("/observer-list/ids", test_ids);
        g_test_add_func("/observer-list/remove-unknown", test_remove_unknown);
        g_test_add_func("/observer-list/add-during-notification", test_add_during_notification);
        g_test_add_func("/observer-list/remove-self", test_remove_self);
        g_test_add_func("/observer-list/remove-later", test_remove_later);
        g_test_add_func("/observer-list/remove-earlier", test_remove_earlier);
        g_test_add_func("/observer-list/remove-several", test_remove_several);
        g_test_add_func("/observer-list/nested", test_nested);
        g_test_add_func("/observer-list/nested-remove", test_nested_remove);
        return g_test_run();
}
