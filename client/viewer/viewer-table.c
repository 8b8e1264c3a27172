/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "viewer-table.h"

#include <glib/gi18n.h>

typedef struct {
        const ViewerColumn *column;
        gpointer user_data;
        GHashTable *bound; /* GtkLabel -> its item, of every column */
} Column;

typedef struct {
        GHashTable *bound;
} Table;

static void cell_update(GtkLabel *label)
{
        Column *c = g_object_get_data(G_OBJECT(label), "viewer-column");
        gpointer item = g_object_get_data(G_OBJECT(label), "viewer-item");
        g_autofree char *text = NULL;

        if (!item)
                return;
        text = c->column->text(item, c->user_data);
        gtk_label_set_text(label, text);
}

static void on_item_notify(GObject *item, GParamSpec *pspec, gpointer label)
{
        cell_update(label);
}

static void on_setup(GtkSignalListItemFactory *factory, GtkListItem *li, gpointer data)
{
        Column *c = data;
        GtkWidget *label = gtk_label_new(NULL);

        gtk_label_set_xalign(GTK_LABEL(label), 0);
        gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
        if (c->column->chars)
                gtk_label_set_width_chars(GTK_LABEL(label), c->column->chars);
        g_object_set_data(G_OBJECT(label), "viewer-column", data);
        gtk_list_item_set_child(li, label);
}

static void on_bind(GtkSignalListItemFactory *factory, GtkListItem *li, gpointer data)
{
        Column *c = data;
        GtkWidget *label = gtk_list_item_get_child(li);
        GObject *item = gtk_list_item_get_item(li);

        g_object_set_data_full(G_OBJECT(label), "viewer-item", g_object_ref(item), g_object_unref);
        g_signal_connect_object(item, "notify", G_CALLBACK(on_item_notify), label, 0);
        g_hash_table_add(c->bound, label);
        cell_update(GTK_LABEL(label));
}

static void on_unbind(GtkSignalListItemFactory *factory, GtkListItem *li, gpointer data)
{
        Column *c = data;
        GtkWidget *label = gtk_list_item_get_child(li);
        GObject *item = g_object_get_data(G_OBJECT(label), "viewer-item");

        if (item)
                g_signal_handlers_disconnect_by_func(item, on_item_notify, label);
        g_hash_table_remove(c->bound, label);
        g_object_set_data(G_OBJECT(label), "viewer-item", NULL);
}

static void table_free(Table *t)
{
        g_hash_table_unref(t->bound);
        g_free(t);
}

GtkWidget *viewer_table_new(GtkSelectionModel *model, const ViewerColumn *columns, guint n,
                            gpointer user_data)
{
        GtkWidget *view = gtk_column_view_new(model);
        Table *t = g_new0(Table, 1);

        t->bound = g_hash_table_new(NULL, NULL);
        g_object_set_data_full(G_OBJECT(view), "viewer-table", t, (GDestroyNotify) table_free);
        for (guint i = 0; i < n; i++) {
                GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
                GtkColumnViewColumn *col;
                Column *c = g_new0(Column, 1);

                *c = (Column){.column = &columns[i], .user_data = user_data, .bound = t->bound};
                g_signal_connect(factory, "setup", G_CALLBACK(on_setup), c);
                g_signal_connect(factory, "bind", G_CALLBACK(on_bind), c);
                g_signal_connect(factory, "unbind", G_CALLBACK(on_unbind), c);
                g_object_set_data_full(G_OBJECT(factory), "viewer-column", c, g_free);
                col = gtk_column_view_column_new(_(columns[i].title), factory);
                gtk_column_view_column_set_expand(col, columns[i].expand);
                gtk_column_view_column_set_resizable(col, TRUE);
                gtk_column_view_append_column(GTK_COLUMN_VIEW(view), col);
                g_object_unref(col);
        }
        return view;
}

void viewer_table_refresh(GtkWidget *table)
{
        Table *t = g_object_get_data(G_OBJECT(table), "viewer-table");
        GHashTableIter iter;
        gpointer label;

        g_hash_table_iter_init(&iter, t->bound);
        while (g_hash_table_iter_next(&iter, &label, NULL))
                cell_update(label);
}
