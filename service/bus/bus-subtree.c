/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-subtree.h"

#include <string.h>

#include "cleanup.h"

struct BusSubtree {
        const BusSubtreeOps *ops;
        void *userdata;
        sd_bus_slot *vtable_slot;
        sd_bus_slot *enumerator_slot;
        BusSubtreeMark announcing;
};

static int subtree_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error)
{
        BusSubtree *st = userdata;
        void *object;

        if (st->announcing.object && strcmp(path, st->announcing.path) == 0)
                object = st->announcing.object;
        else
                object = st->ops->find(st->userdata, path);
        if (!object)
                return 0; /* sd-bus replies UnknownObject */
        *found = object;
        return 1;
}

static int subtree_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                             sd_bus_error *error)
{
        BusSubtree *st = userdata;
        GPtrArray *paths = g_ptr_array_new();

        st->ops->list(st->userdata, paths);
        g_ptr_array_add(paths, NULL);
        *ret_nodes = (char **) g_ptr_array_free(paths, FALSE);
        return 0;
}

void bus_subtree_free(BusSubtree *st)
{
        if (!st)
                return;
        sd_bus_slot_unref(st->vtable_slot);
        sd_bus_slot_unref(st->enumerator_slot);
        g_free(st);
}

static void bus_subtree_freep(BusSubtree **st)
{
        bus_subtree_free(*st);
}

int bus_subtree_new(sd_bus *bus, const BusSubtreeOps *ops, void *userdata, BusSubtree **ret)
{
        _cleanup_(bus_subtree_freep) BusSubtree *st = g_new0(BusSubtree, 1);
        int r;

        st->ops = ops;
        st->userdata = userdata;
        r = sd_bus_add_fallback_vtable(bus, &st->vtable_slot, ops->prefix, ops->interface,
                                       ops->vtable, subtree_find, st);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, &st->enumerator_slot, ops->prefix, subtree_enumerate,
                                       st);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&st);
        return 0;
}

BusSubtreeMark bus_subtree_begin_announce(BusSubtree *st, const char *path, void *object)
{
        BusSubtreeMark saved = st->announcing;

        st->announcing = (BusSubtreeMark){.path = path, .object = object};
        return saved;
}

void bus_subtree_end_announce(BusSubtree *st, BusSubtreeMark saved)
{
        st->announcing = saved;
}
