/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What viewer-window.c (layout, lists, selection) and viewer-actions.c
 * (the calls that change the service) share. */

#include "viewer-owner.h"
#include "viewer-window.h"

struct _ViewerWindow {
        AdwApplicationWindow parent_instance;

        VhostShareClient *client;
        char *bus_label;
        ViewerOwners *owners;
        GListStore *stores[3]; /* objects, peers, devices */
        GtkFilter *filters[3];
        GtkSingleSelection *selections[3];
        GtkWidget *tables[3];
        GtkWidget *stack;
        GtkWidget *details;
        GtkWidget *search;
        GtkWidget *status;
        GtkWidget *toasts;
        GtkWidget *remove_button;
        GtkWidget *detach_button;
        guint tick;
};

enum { PAGE_OBJECTS, PAGE_PEERS, PAGE_DEVICES, N_PAGES };

/* Shows a message at the bottom of the window. */
void viewer_window_toast(ViewerWindow *self, const char *text);
/* The selected item of a page, or NULL. */
gpointer viewer_window_selected(ViewerWindow *self, int page);
/* Installs win.export-file, win.remove-object, win.attach-socket,
 * win.detach-peer. */
void viewer_actions_install(ViewerWindow *self);
