/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-share-viewer: a desktop view of vhost-shared (GTK 4, libadwaita)
 * on libvhostshare-1. Usage: vhost-share-viewer [--system | --session |
 * --address=ADDRESS]. */
#include <adwaita.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>

#include "config.h"
#include "viewer-format.h"
#include "viewer-window.h"

typedef struct {
        gboolean session;
        gboolean system;
        char *address;
        VhostShareClient *client;
} Options;

static void on_activate(GApplication *app, gpointer data)
{
        Options *o = data;
        g_autofree char *label = NULL;
        ViewerWindow *window;

        if (o->address) {
                /* The GUID says nothing to a person. */
                g_auto(GStrv) parts = g_strsplit(o->address, ",guid=", 2);

                label = g_strdup_printf(_("bus at %s"), parts[0]);
        } else {
                label = g_strdup(o->session ? _("session bus") : _("system bus"));
        }
        window = viewer_window_new(ADW_APPLICATION(app), o->client, label);
        gtk_window_present(GTK_WINDOW(window));
}

/* Connects before any window: a bus that is not there is a message on the
 * terminal and exit status 1, not an empty window. */
static int on_command_line(GApplication *app, GApplicationCommandLine *cmd, gpointer data)
{
        Options *o = data;
        g_autoptr(GError) error = NULL;

        if (o->address)
                o->client = vhost_share_client_new_for_address_sync(o->address, NULL, &error);
        else
                o->client = vhost_share_client_new_sync(
                    o->session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
        if (!o->client) {
                g_application_command_line_printerr(
                    cmd, _("vhost-share-viewer: cannot connect: %s\n"), error->message);
                return 1;
        }
        g_application_activate(app);
        return 0;
}

static gboolean on_signal(gpointer app)
{
        g_application_quit(app);
        return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
        g_autoptr(AdwApplication) app = NULL;
        Options o = {0};
        const GOptionEntry entries[] = {
            {"system", 0, 0, G_OPTION_ARG_NONE, &o.system, N_("Watch the system bus (default)"),
             NULL},
            {"session", 0, 0, G_OPTION_ARG_NONE, &o.session, N_("Watch the session bus"), NULL},
            {"address", 0, 0, G_OPTION_ARG_STRING, &o.address, N_("Watch the bus at ADDRESS"),
             N_("ADDRESS")},
            {NULL},
        };
        const char *localedir = g_getenv("TEXTDOMAINDIR");
        int status;

        setlocale(LC_ALL, "");
        /* TEXTDOMAINDIR lets the tests use the build tree's catalogs. */
        bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);

        /* Every window watches its own bus: no single instance. */
        app = adw_application_new("org.vhostshare.Viewer",
                                  G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_COMMAND_LINE);
        g_application_add_main_option_entries(G_APPLICATION(app), entries);
        g_application_set_option_context_summary(G_APPLICATION(app),
                                                 _("Shows the objects, peers and DRM devices of "
                                                   "vhost-shared, live."));
        g_signal_connect(app, "activate", G_CALLBACK(on_activate), &o);
        g_signal_connect(app, "command-line", G_CALLBACK(on_command_line), &o);
        /* A session ending or a test stopping us: quit cleanly. */
        g_unix_signal_add(SIGTERM, on_signal, app);
        g_unix_signal_add(SIGINT, on_signal, app);
        status = g_application_run(G_APPLICATION(app), argc, argv);
        g_clear_object(&o.client);
        g_free(o.address);
        return status;
}
