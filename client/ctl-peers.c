/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl peers, attach, detach: the vhost-user connections and
 * the listeners that make them (ctl-listeners.c lists those). */

#include <stdio.h>
#include <string.h>

#include "ctl.h"

int verb_peers(Ctl *ctl, int argc, char **argv)
{
        g_autoptr(GPtrArray) peers = NULL;
        g_autoptr(CtlTable) table = NULL;
        g_autofree char *footer = NULL;
        int r;

        r = ctl_get_managed(ctl, NULL, &peers, NULL);
        if (r != CTL_EXIT_OK)
                return r;

        /* One word per header: "SHARED OBJECTS" read as one column. */
        table = ctl_table_new("ID", "NAME", "ROLE", "STATE", "SHARING", "EXPORTED", "PID", "SOCKET",
                              NULL);
        for (guint i = 0; i < peers->len; i++) {
                const CtlPeer *p = g_ptr_array_index(peers, i);
                char pid[16], count[16];

                g_snprintf(pid, sizeof(pid), "%u", p->pid);
                g_snprintf(count, sizeof(count), "%u", p->exported_count);
                ctl_table_add_row(table, ctl_json_peer(p), ctl_peer_id(p), ctl_cell(p->short_name),
                                  p->role ? p->role : "-", p->state ? p->state : "-",
                                  p->shared_objects ? "yes" : "no", count, p->pid ? pid : "-",
                                  ctl_cell(p->socket_path), NULL);
        }
        footer = g_strdup_printf(
            ngettext("\n%u peer listed.\n", "\n%u peers listed.\n", peers->len), peers->len);
        ctl_table_print(table, ctl, _("No peers.\n"), footer);
        return CTL_EXIT_OK;
}

int verb_attach(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *role = argv[1], *path = argv[2], *peer;
        int r;

        if (strcmp(role, "connect") != 0 && strcmp(role, "accept") != 0 &&
            strcmp(role, "serve") != 0)
                return ctl_usage_error(_("unknown role \"%s\" (connect, accept or serve)"), role);
        if (path[0] != '/')
                return ctl_usage_error(_("\"%s\" is not an absolute path"), path);

        r = ctl_call_manager(ctl, "AddPeer", &error, &reply, "ss", role, path);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &peer);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot attach %s (%s)"), path, role);
        if (!ctl_chatty(ctl))
                printf("%s\n", peer);
        else if (strcmp(role, "connect") != 0)
                printf(_("Listening at %s (%s) as %s; peers appear as they connect.\n"), path, role,
                       peer);
        else
                printf(_("Attached %s as %s.\n"), path, peer);
        return CTL_EXIT_OK;
}

/* What detach names: an object path below the manager (a peer's or a
 * listener's), a listener as "listener/ID" or by its socket path (any other
 * absolute path), a peer's numeric id, or a peer's name. */
static int resolve_detach(Ctl *ctl, const char *arg, char **ret)
{
        g_autoptr(GPtrArray) peers = NULL;
        const char *p;
        int r;

        if (g_str_has_prefix(arg, BUS_MANAGER_PATH "/")) {
                *ret = g_strdup(arg);
                return CTL_EXIT_OK;
        }
        if (arg[0] == '/' || g_str_has_prefix(arg, "listener/"))
                return ctl_find_listener(ctl, arg, ret);
        for (p = arg; g_ascii_isdigit(*p); p++)
                ;
        if (p != arg && !*p) {
                *ret = g_strconcat(BUS_PEER_PREFIX "/", arg, NULL);
                return CTL_EXIT_OK;
        }
        r = ctl_get_managed(ctl, NULL, &peers, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        for (guint i = 0; i < peers->len; i++) {
                const CtlPeer *peer = g_ptr_array_index(peers, i);

                if (g_strcmp0(peer->name, arg) == 0 || g_strcmp0(peer->short_name, arg) == 0) {
                        *ret = g_strdup(peer->path);
                        return CTL_EXIT_OK;
                }
        }
        fprintf(stderr, _("%s: no peer \"%s\"\n"), program_invocation_short_name, arg);
        return CTL_EXIT_NOT_FOUND;
}

int verb_detach(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *arg = argv[1];
        g_autofree char *path = NULL;
        int r;

        r = resolve_detach(ctl, arg, &path);
        if (r != CTL_EXIT_OK)
                return r;
        if (!sd_bus_object_path_is_valid(path))
                return ctl_usage_error(_("\"%s\" is not a peer"), arg);
        r = ctl_call_manager(ctl, "RemovePeer", &error, NULL, "o", path);
        /* A number is a peer's id; the listener's id needs its prefix. */
        if (r < 0 && sd_bus_error_has_name(&error, BUS_ERROR_NOT_FOUND) &&
            g_str_has_prefix(path, BUS_PEER_PREFIX "/") && g_ascii_isdigit(arg[0]) &&
            ctl_listener_exists(ctl, arg)) {
                fprintf(stderr, _("%s: no peer %s (for the listener %s, say listener/%s)\n"),
                        program_invocation_short_name, arg, arg, arg);
                return CTL_EXIT_NOT_FOUND;
        }
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot detach %s"), path);
        if (ctl_chatty(ctl))
                printf(_("Detached %s.\n"), path);
        return CTL_EXIT_OK;
}
