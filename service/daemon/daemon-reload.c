/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying a configuration read again (daemon-reload.h). */

#include "daemon-reload.h"

#include <string.h>

#include "log.h"

static void log_change(const char *key, const char *old_value, const char *new_value,
                       void *userdata)
{
        unsigned *n = userdata;

        log_info("reload: [Service] %s: %s -> %s", key, old_value, new_value);
        (*n)++;
}

static const DaemonSocketSection *find_section(const DaemonConfig *c, const char *path)
{
        for (guint i = 0; i < c->sockets->len; i++) {
                const DaemonSocketSection *s = g_ptr_array_index(c->sockets, i);

                if (strcmp(s->path, path) == 0)
                        return s;
        }
        return NULL;
}

static bool same_uids(unsigned n_a, const uid_t *a, unsigned n_b, const uid_t *b)
{
        return n_a == n_b && memcmp(a, b, n_a * sizeof(uid_t)) == 0;
}

/* A configured socket gets its [Socket] section's uids, or the global ones. */
static unsigned reload_socket(Service *s, const DaemonConfig *old, const DaemonConfig *new,
                              const char *path)
{
        const DaemonSocketSection *was = find_section(old, path), *is = find_section(new, path);
        const ServiceConfig *o = &old->service_config, *n = &new->service_config;
        unsigned n_old = was ? was->n_allowed_uids : o->n_allowed_uids;
        unsigned n_new = is ? is->n_allowed_uids : n->n_allowed_uids;
        const uid_t *u_old = was ? was->allowed_uids : o->allowed_uids;
        const uid_t *u_new = is ? is->allowed_uids : n->allowed_uids;

        if (same_uids(n_old, u_old, n_new, u_new))
                return 0;
        if (service_set_allowed_uids(s, path, u_new, n_new) < 0)
                return 0; /* not listening there: nothing to apply */
        log_info("reload: %s accepts %s now", path,
                 n_new == 0 ? "any uid" : "only its AllowedUids= list");
        return 1;
}

static bool same_strings(GPtrArray *a, GPtrArray *b)
{
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++)
                if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0)
                        return false;
        return true;
}

static bool same_serve(GPtrArray *a, GPtrArray *b)
{
        if (a->len != b->len)
                return false;
        for (guint i = 0; i < a->len; i++) {
                const DaemonServeSocket *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);

                if (strcmp(x->path, y->path) != 0 ||
                    memcmp(&x->options, &y->options, sizeof(x->options)) != 0)
                        return false;
        }
        return true;
}

unsigned daemon_reload_apply(Service *s, BusSetup *bus, const DaemonConfig *old,
                             const DaemonConfig *new)
{
        unsigned n = 0;

        (void) daemon_config_diff(&old->service_config, &new->service_config, log_change, &n);
        service_reload_config(s, &new->service_config);
        for (guint i = 0; i < new->accept->len; i++)
                n += reload_socket(s, old, new, g_ptr_array_index(new->accept, i));
        for (guint i = 0; i < new->serve->len; i++)
                n += reload_socket(s, old, new,
                                   ((DaemonServeSocket *) g_ptr_array_index(new->serve, i))->path);
        if (g_strcmp0(old->privileged_group, new->privileged_group) != 0) {
                log_info("reload: [DBus] PrivilegedGroup: %s -> %s", old->privileged_group,
                         new->privileged_group);
                if (bus)
                        bus_manager_set_privileged_group(bus_setup_manager(bus),
                                                         new->privileged_group);
                n++;
        }
        if (!same_strings(old->connect, new->connect) || !same_strings(old->accept, new->accept) ||
            !same_serve(old->serve, new->serve)) {
                log_notice("reload: the peers and listening sockets of the configuration changed; "
                           "they change at the next restart (AddPeer and RemovePeer change them "
                           "now)");
                n++;
        }
        if (n == 0)
                log_info("reload: nothing changed");
        else
                service_note_state_changed(s); /* allow-lists are in the record */
        return n;
}
