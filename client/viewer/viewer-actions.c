/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The viewer's actions that change the service: export a file, remove an
 * object, attach and detach a socket. Each is an async call of the
 * library; its error becomes a readable message at the bottom of the
 * window. */
#include <glib/gi18n.h>

#include "viewer-format.h"
#include "viewer-window-private.h"

static void report(ViewerWindow *self, const char *what, const GError *error)
{
        g_autofree char *why = viewer_format_error(error);
        g_autofree char *text = g_strdup_printf("%s: %s", what, why);

        viewer_window_toast(self, text);
}

/* ---- export a file ---- */

static void disowned(GObject *source, GAsyncResult *res, gpointer data)
{
        g_autoptr(ViewerWindow) self = data;
        g_autoptr(GError) error = NULL;

        if (!vhost_share_client_disown_finish(VHOST_SHARE_CLIENT(source), res, &error))
                report(self, _("Cannot hand the object over to the service"), error);
}

static void exported(GObject *source, GAsyncResult *res, gpointer data)
{
        g_autoptr(ViewerWindow) self = data;
        g_autoptr(GError) error = NULL;
        g_autofree char *uuid = NULL, *text = NULL;

        uuid = vhost_share_client_export_file_finish(VHOST_SHARE_CLIENT(source), res, &error);
        if (!uuid) {
                report(self, _("Cannot export the file"), error);
                return;
        }
        text = g_strdup_printf(_("Exported as %s"), uuid);
        viewer_window_toast(self, text);
        /* The object outlives the viewer, like vhost-sharectl export --detach. */
        vhost_share_client_disown(self->client, uuid, NULL, disowned, g_object_ref(self));
}

static void on_file_chosen(GtkNativeDialog *dialog, int response, gpointer data)
{
        ViewerWindow *self = data;
        g_autoptr(GFile) file = NULL;

        if (response == GTK_RESPONSE_ACCEPT)
                file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        if (file)
                vhost_share_client_export_file(self->client, file, NULL, NULL, exported,
                                               g_object_ref(self));
        g_object_unref(dialog);
}

static void export_file(GSimpleAction *a, GVariant *p, gpointer data)
{
        GtkFileChooserNative *dialog =
            gtk_file_chooser_native_new(_("Export a File"), GTK_WINDOW(data),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Export"), _("_Cancel"));

        g_signal_connect(dialog, "response", G_CALLBACK(on_file_chosen), data);
        gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

/* ---- remove an object ---- */

static void removed(GObject *source, GAsyncResult *res, gpointer data)
{
        g_autoptr(ViewerWindow) self = data;
        g_autoptr(GError) error = NULL;

        if (!vhost_share_client_remove_finish(VHOST_SHARE_CLIENT(source), res, &error))
                report(self, _("Cannot remove the object"), error);
}

static void remove_object(GSimpleAction *a, GVariant *p, gpointer data)
{
        ViewerWindow *self = data;
        VhostShareObject *obj = viewer_window_selected(self, PAGE_OBJECTS);

        if (obj)
                vhost_share_client_remove(self->client, vhost_share_object_get_uuid(obj), NULL,
                                          removed, g_object_ref(self));
}

/* ---- attach and detach a socket ---- */

static void attached(GObject *source, GAsyncResult *res, gpointer data)
{
        g_autoptr(ViewerWindow) self = data;
        g_autoptr(GError) error = NULL;
        g_autofree char *path = NULL;

        path = vhost_share_client_add_peer_finish(VHOST_SHARE_CLIENT(source), res, &error);
        if (!path)
                report(self, _("Cannot attach the socket"), error);
}

static const char *const roles[] = {"connect", "accept", "serve", NULL};

static void on_attach_response(AdwMessageDialog *dialog, const char *response, gpointer data)
{
        ViewerWindow *self = data;
        GtkWidget *box = adw_message_dialog_get_extra_child(dialog);
        GtkWidget *role = gtk_widget_get_first_child(box);
        GtkWidget *entry = gtk_widget_get_next_sibling(role);
        guint i = gtk_drop_down_get_selected(GTK_DROP_DOWN(role));

        if (g_strcmp0(response, "attach") != 0 || i >= G_N_ELEMENTS(roles) - 1)
                return;
        vhost_share_client_add_peer(self->client, roles[i],
                                    gtk_editable_get_text(GTK_EDITABLE(entry)), NULL, attached,
                                    g_object_ref(self));
}

static void attach_socket(GSimpleAction *a, GVariant *p, gpointer data)
{
        GtkWidget *dialog = adw_message_dialog_new(
            GTK_WINDOW(data), _("Attach a Socket"),
            _("connect: to a vhost-user back-end listening there; accept: listen there for "
              "back-ends; serve: listen there for a VMM."));
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
        GtkWidget *role = gtk_drop_down_new_from_strings(roles);
        GtkWidget *entry = gtk_entry_new();

        gtk_entry_set_placeholder_text(GTK_ENTRY(entry), _("/run/vhost-user/device.sock"));
        gtk_accessible_update_property(GTK_ACCESSIBLE(entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       _("Socket path"), -1);
        gtk_box_append(GTK_BOX(box), role);
        gtk_box_append(GTK_BOX(box), entry);
        adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), box);
        adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"),
                                         "attach", _("_Attach"), NULL);
        adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "attach",
                                                   ADW_RESPONSE_SUGGESTED);
        g_signal_connect(dialog, "response", G_CALLBACK(on_attach_response), data);
        gtk_window_present(GTK_WINDOW(dialog));
}

static void detached(GObject *source, GAsyncResult *res, gpointer data)
{
        g_autoptr(ViewerWindow) self = data;
        g_autoptr(GError) error = NULL;

        if (!vhost_share_client_remove_peer_finish(VHOST_SHARE_CLIENT(source), res, &error))
                report(self, _("Cannot detach the peer"), error);
}

static void detach_peer(GSimpleAction *a, GVariant *p, gpointer data)
{
        ViewerWindow *self = data;
        VhostSharePeer *peer = viewer_window_selected(self, PAGE_PEERS);

        if (peer)
                vhost_share_client_remove_peer(
                    self->client, vhost_share_item_get_object_path(VHOST_SHARE_ITEM(peer)), NULL,
                    detached, g_object_ref(self));
}

void viewer_actions_install(ViewerWindow *self)
{
        static const GActionEntry entries[] = {
            {.name = "export-file", .activate = export_file},
            {.name = "remove-object", .activate = remove_object},
            {.name = "attach-socket", .activate = attach_socket},
            {.name = "detach-peer", .activate = detach_peer},
        };

        g_action_map_add_action_entries(G_ACTION_MAP(self), entries, G_N_ELEMENTS(entries), self);
}
