/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The viewer's window: objects, peers and DRM devices of one service, a
 * search, a detail pane, and the actions that change the table. */

#include <adwaita.h>
#include <vhost-share.h>

#define VIEWER_TYPE_WINDOW (viewer_window_get_type())
G_DECLARE_FINAL_TYPE(ViewerWindow, viewer_window, VIEWER, WINDOW, AdwApplicationWindow)

/* bus_label says which bus for the title ("system bus", an address). */
ViewerWindow *viewer_window_new(AdwApplication *app, VhostShareClient *client,
                                const char *bus_label);
