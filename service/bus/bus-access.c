/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-access.h"

#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include <glib.h>

#include "bus-error.h"
#include "cleanup.h"
#include "log.h"
#include "socket-util.h"

void bus_access_init(BusAccess *a, const char *group_name)
{
        struct group *gr;

        *a = (BusAccess){.group = (gid_t) -1};
        if (!group_name || !*group_name)
                return;
        a->group_name = g_strdup(group_name);
        gr = getgrnam(group_name);
        if (!gr) {
                log_debug("Privileged group \"%s\" does not exist", group_name);
                return;
        }
        a->group = gr->gr_gid;
        a->have_group = true;
}

void bus_access_clear(BusAccess *a)
{
        g_clear_pointer(&a->group_name, g_free);
        a->have_group = false;
}

int bus_access_get_euid(sd_bus_message *m, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

int bus_access_is_root(sd_bus_message *m)
{
        uid_t euid;
        int r;

        r = bus_access_get_euid(m, &euid);
        if (r < 0)
                return r;
        return euid == 0;
}

int bus_access_is_privileged(const BusAccess *a, sd_bus_message *m)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const gid_t *gids = NULL;
        uid_t euid;
        gid_t egid;
        int n, r;

        /* dbus-daemon reports only uid and pid; AUGMENT reads the rest from
         * /proc/PID/status. */
        r = sd_bus_query_sender_creds(m,
                                      SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
                                          SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r;
        /* The service's own user may do what it could do itself: on a
         * session bus, the user who started it. */
        if (euid == 0 || euid == geteuid())
                return 1;
        if (!a->have_group)
                return 0;

        if (sd_bus_creds_get_egid(creds, &egid) >= 0 && egid == a->group)
                return 1;
        n = sd_bus_creds_get_supplementary_gids(creds, &gids);
        if (n < 0)
                /* Unknown groups: deny rather than guess. */
                return n == -ENODATA || n == -ENXIO ? 0 : n;
        for (int i = 0; i < n; i++)
                if (gids[i] == a->group)
                        return 1;
        return 0;
}

int bus_access_check(const BusAccess *a, sd_bus_message *m, sd_bus_error *error)
{
        int r;

        r = bus_access_is_privileged(a, m);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot get the credentials of %s",
                                           sd_bus_message_get_sender(m) ?: "the caller");
        if (r == 0) {
                log_info("Denied %s() to %s: not root%s%s", sd_bus_message_get_member(m),
                         sd_bus_message_get_sender(m) ?: "?",
                         a->group_name ? " and not in group " : "", a->group_name ?: "");
                sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                  "%s() needs root or membership of group \"%s\"",
                                  sd_bus_message_get_member(m), a->group_name ?: "(none)");
                return -EACCES;
        }
        return 0;
}

int bus_access_is_owner_or_root(sd_bus_message *m, uid_t *ret_euid, sd_bus_error *error)
{
        int r;

        r = bus_access_get_euid(m, ret_euid);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot get the credentials of %s",
                                           sd_bus_message_get_sender(m) ?: "the caller");
        return *ret_euid == 0 || *ret_euid == geteuid();
}

int bus_access_check_socket_place(sd_bus_message *m, const char *path, const char *const *dirs,
                                  sd_bus_error *error)
{
        g_autofree char *list = NULL;
        uid_t euid;
        int r;

        r = bus_access_is_owner_or_root(m, &euid, error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = socket_path_in_directories(path, dirs);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot listen on %s", path);
        if (r > 0)
                return 0;
        list = g_strjoinv(" ", (char **) dirs);
        log_info("Denied listening on %s to %s (uid %u): outside SocketDirectories", path,
                 sd_bus_message_get_sender(m) ?: "?", (unsigned) euid);
        sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                          "%s is outside the socket directories (%s); only root may listen there",
                          path, list);
        return -EACCES;
}
