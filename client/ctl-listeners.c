/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl listeners, and finding a listener for detach: the
 * listening sockets of the service. */

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* The user's name, or the number when it has none. */
static const char *user_name(uint32_t uid, char buf[16])
{
        struct passwd *pw = getpwuid(uid);

        if (pw)
                return pw->pw_name;
        g_snprintf(buf, 16, "%u", uid);
        return buf;
}

static const char *group_name(uint32_t gid, char buf[16])
{
        struct group *gr = getgrgid(gid);

        if (gr)
                return gr->gr_name;
        g_snprintf(buf, 16, "%u", gid);
        return buf;
}

int verb_listeners(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(GPtrArray) listeners = NULL;
        g_autoptr(CtlTable) table = NULL;
        g_autofree char *footer = NULL;
        int r;

        r = ctl_get_managed(ctl, NULL, NULL, &listeners);
        if (r != CTL_EXIT_OK)
                return r;

        table = ctl_table_new("ID", "PATH", "ROLE", "OWNER", "GROUP", "MODE", "ACCEPTED", "CREATED",
                              NULL);
        for (guint i = 0; i < listeners->len; i++) {
                const CtlListener *l = g_ptr_array_index(listeners, i);
                char owner[16], group[16], mode[16], accepted[32], created[80];

                g_snprintf(mode, sizeof(mode), "%04o", l->mode);
                g_snprintf(accepted, sizeof(accepted), "%" G_GUINT64_FORMAT, l->accepted_count);
                ctl_table_add_row(table, ctl_json_listener(l), ctl_listener_id(l),
                                  ctl_cell(l->socket_path), ctl_cell(l->role),
                                  user_name(l->owner, owner), group_name(l->group, group), mode,
                                  accepted,
                                  ctl_format_timestamp(ctl, l->created_usec, false, created), NULL);
        }
        footer = g_strdup_printf(
            ngettext("\n%u listener listed.\n", "\n%u listeners listed.\n", listeners->len),
            listeners->len);
        ctl_table_print(table, ctl, _("No listeners.\n"), footer);
        return CTL_EXIT_OK;
}

/* The digits after "listener/", or NULL. */
static const char *listener_id_arg(const char *arg)
{
        const char *id;

        if (!g_str_has_prefix(arg, "listener/"))
                return NULL;
        id = arg + strlen("listener/");
        if (!*id || strspn(id, "0123456789") != strlen(id))
                return NULL;
        return id;
}

/* The listener at the socket path, or the one with the id; NULL if none. */
static const CtlListener *find_in(GPtrArray *listeners, const char *socket_path, const char *id)
{
        g_autofree char *wanted = socket_path ? g_canonicalize_filename(socket_path, NULL) : NULL;

        for (guint i = 0; i < listeners->len; i++) {
                const CtlListener *l = g_ptr_array_index(listeners, i);
                g_autofree char *have = g_canonicalize_filename(l->socket_path ?: "", "/");

                if (id ? strcmp(ctl_listener_id(l), id) == 0 : strcmp(have, wanted) == 0)
                        return l;
        }
        return NULL;
}

int ctl_find_listener(Ctl *ctl, const char *arg, char **ret)
{
        g_autoptr(GPtrArray) listeners = NULL;
        const char *id = listener_id_arg(arg);
        const CtlListener *l;
        int r;

        r = ctl_get_managed(ctl, NULL, NULL, &listeners);
        if (r != CTL_EXIT_OK)
                return r;
        l = find_in(listeners, id ? NULL : arg, id);
        if (!l) {
                fprintf(stderr, _("%s: no listener %s\n"), program_invocation_short_name, arg);
                return CTL_EXIT_NOT_FOUND;
        }
        *ret = g_strdup(l->path);
        return CTL_EXIT_OK;
}

bool ctl_listener_exists(Ctl *ctl, const char *id)
{
        g_autoptr(GPtrArray) listeners = NULL;

        if (ctl_get_managed(ctl, NULL, NULL, &listeners) != CTL_EXIT_OK)
                return false;
        return find_in(listeners, NULL, id) != NULL;
}
