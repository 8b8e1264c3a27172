/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "viewer-details.h"

#include <adwaita.h>
#include <glib/gi18n.h>

typedef struct {
        GtkWidget *list;
        GtkWidget *placeholder;
        GObject *item;
        GHashTable *rows; /* property name -> AdwActionRow */
} Details;

static char *value_text(GObject *item, GParamSpec *pspec)
{
        g_auto(GValue) value = G_VALUE_INIT;
        g_auto(GValue) text = G_VALUE_INIT;

        g_value_init(&value, pspec->value_type);
        g_object_get_property(item, pspec->name, &value);
        if (G_VALUE_HOLDS(&value, G_TYPE_STRV)) {
                const char *const *v = g_value_get_boxed(&value);

                return v ? g_strjoinv(", ", (char **) v) : g_strdup("");
        }
        if (G_VALUE_HOLDS_UINT64(&value) && g_str_has_suffix(pspec->name, "features"))
                return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", g_value_get_uint64(&value));
        g_value_init(&text, G_TYPE_STRING);
        if (!g_value_transform(&value, &text))
                return g_strdup("?");
        return g_value_dup_string(&text);
}

static void update_row(Details *d, GParamSpec *pspec)
{
        GtkWidget *row = g_hash_table_lookup(d->rows, pspec->name);
        g_autofree char *text = NULL;

        if (!row)
                return;
        text = value_text(d->item, pspec);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), *text ? text : "—");
}

static void on_notify(GObject *item, GParamSpec *pspec, gpointer data)
{
        update_row(data, pspec);
}

static void details_clear(Details *d)
{
        GtkWidget *child;

        if (d->item) {
                g_signal_handlers_disconnect_by_func(d->item, on_notify, d);
                g_clear_object(&d->item);
        }
        g_hash_table_remove_all(d->rows);
        while ((child = gtk_widget_get_first_child(d->list)))
                gtk_list_box_remove(GTK_LIST_BOX(d->list), child);
}

static void details_free(Details *d)
{
        details_clear(d);
        g_hash_table_unref(d->rows);
        g_free(d);
}

GtkWidget *viewer_details_new(void)
{
        Details *d = g_new0(Details, 1);
        GtkWidget *scroll = gtk_scrolled_window_new();

        d->rows = g_hash_table_new(g_str_hash, g_str_equal);
        d->list = gtk_list_box_new();
        gtk_list_box_set_selection_mode(GTK_LIST_BOX(d->list), GTK_SELECTION_NONE);
        gtk_widget_add_css_class(d->list, "boxed-list");
        gtk_widget_set_margin_start(d->list, 12);
        gtk_widget_set_margin_end(d->list, 12);
        gtk_widget_set_margin_top(d->list, 12);
        gtk_widget_set_margin_bottom(d->list, 12);
        gtk_widget_set_valign(d->list, GTK_ALIGN_START);
        d->placeholder = gtk_label_new(_("Select a row to see all its properties."));
        gtk_widget_add_css_class(d->placeholder, "dim-label");
        gtk_list_box_set_placeholder(GTK_LIST_BOX(d->list), d->placeholder);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), d->list);
        gtk_widget_set_size_request(scroll, 300, -1);
        g_object_set_data_full(G_OBJECT(scroll), "viewer-details", d,
                               (GDestroyNotify) details_free);
        return scroll;
}

void viewer_details_show(GtkWidget *details, GObject *item)
{
        Details *d = g_object_get_data(G_OBJECT(details), "viewer-details");
        g_autofree GParamSpec **pspecs = NULL;
        guint n = 0;

        details_clear(d);
        if (!item)
                return;
        d->item = g_object_ref(item);
        pspecs = g_object_class_list_properties(G_OBJECT_GET_CLASS(item), &n);
        for (guint i = 0; i < n; i++) {
                GtkWidget *row;

                if (!G_TYPE_IS_VALUE_TYPE(pspecs[i]->value_type) ||
                    g_type_is_a(pspecs[i]->value_type, G_TYPE_OBJECT))
                        continue; /* the proxy */
                row = adw_action_row_new();
                /* The D-Bus name (the nick) is what the API documentation uses. */
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row),
                                              g_param_spec_get_nick(pspecs[i]));
                gtk_widget_add_css_class(row, "property");
                gtk_list_box_append(GTK_LIST_BOX(d->list), row);
                g_hash_table_insert(d->rows, (gpointer) pspecs[i]->name, row);
                update_row(d, pspecs[i]);
        }
        g_signal_connect(item, "notify", G_CALLBACK(on_notify), d);
}
