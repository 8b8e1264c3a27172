/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "observer-list.h"

#include <glib.h>

typedef struct {
        unsigned id; /* 0: removed, dropped once no notification runs */
        ObserverFn fn;
        void *userdata;
} Observer;

struct ObserverList {
        GArray *observers; /* Observer, in the order added */
        unsigned next_id;
        unsigned notifying; /* nesting depth of begin/end */
        bool dirty;         /* removed ones waiting to be dropped */
};

ObserverList *observer_list_new(void)
{
        ObserverList *l = g_new0(ObserverList, 1);

        l->observers = g_array_new(false, false, sizeof(Observer));
        l->next_id = 1;
        return l;
}

void observer_list_free(ObserverList *l)
{
        if (!l)
                return;
        g_assert(l->notifying == 0);
        g_array_unref(l->observers);
        g_free(l);
}

static bool id_in_use(const ObserverList *l, unsigned id)
{
        for (guint i = 0; i < l->observers->len; i++)
                if (g_array_index(l->observers, Observer, i).id == id)
                        return true;
        return false;
}

unsigned observer_list_add(ObserverList *l, ObserverFn fn, void *userdata)
{
        Observer o = {.fn = fn, .userdata = userdata};

        g_assert(fn);
        /* After 2^32 adds the counter wraps: skip 0 ("removed") and the ids
         * of observers still here, or removing one could remove another. */
        do
                o.id = l->next_id++;
        while (o.id == 0 || id_in_use(l, o.id));
        g_array_append_val(l->observers, o);
        return o.id;
}

static void drop_removed(ObserverList *l)
{
        for (guint i = l->observers->len; i-- > 0;)
                if (g_array_index(l->observers, Observer, i).id == 0)
                        g_array_remove_index(l->observers, i);
        l->dirty = false;
}

void observer_list_remove(ObserverList *l, unsigned id)
{
        if (id == 0)
                return;
        for (guint i = 0; i < l->observers->len; i++) {
                Observer *o = &g_array_index(l->observers, Observer, i);

                if (o->id != id)
                        continue;
                /* Indexes of a notification in progress stay valid: the slot
                 * is only marked, and dropped at the outermost end. */
                o->id = 0;
                l->dirty = true;
                if (l->notifying == 0)
                        drop_removed(l);
                return;
        }
}

unsigned observer_list_size(const ObserverList *l)
{
        unsigned n = 0;

        for (guint i = 0; i < l->observers->len; i++)
                if (g_array_index(l->observers, Observer, i).id != 0)
                        n++;
        return n;
}

void observer_list_begin(ObserverList *l, ObserverIter *it)
{
        l->notifying++;
        *it = (ObserverIter){.index = 0, .end = l->observers->len};
}

bool observer_list_next(ObserverList *l, ObserverIter *it)
{
        while (it->index < it->end) {
                const Observer *o = &g_array_index(l->observers, Observer, it->index++);

                if (o->id == 0)
                        continue;
                it->fn = o->fn;
                it->userdata = o->userdata;
                return true;
        }
        return false;
}

void observer_list_end(ObserverList *l)
{
        g_assert(l->notifying > 0);
        if (--l->notifying == 0 && l->dirty)
                drop_removed(l);
}
