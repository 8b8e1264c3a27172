/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The detail pane: every property of the selected item, one row each,
 * kept current from its notifications. */

#include <gtk/gtk.h>

GtkWidget *viewer_details_new(void);
/* Shows item's properties (NULL: nothing selected). */
void viewer_details_show(GtkWidget *details, GObject *item);
