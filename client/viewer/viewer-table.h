/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A GtkColumnView of items (objects, peers or devices) described by a table
 * of columns: each cell is a label whose text a column function makes from
 * the item; it is made again when the item notifies a change, and for all
 * cells on viewer_table_refresh() (the ages, owners resolved later). */

#include <gtk/gtk.h>

typedef char *(*ViewerCellText)(gpointer item, gpointer user_data);

typedef struct {
        const char *title; /* translatable, marked with N_() */
        ViewerCellText text;
        gboolean expand;
        int chars; /* the label's width in characters, or 0 */
} ViewerColumn;

GtkWidget *viewer_table_new(GtkSelectionModel *model, const ViewerColumn *columns, guint n,
                            gpointer user_data);
void viewer_table_refresh(GtkWidget *table);
