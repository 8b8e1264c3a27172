/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who owns an object, as people read it: "comm[pid] (user)". A bus
 * client's credentials are asked of the bus once per name; a peer's come
 * with its Pid and Uid properties. */

#include <vhost-share.h>

typedef struct ViewerOwners ViewerOwners;

/* changed(user_data) runs when an answer arrived. */
ViewerOwners *viewer_owners_new(VhostShareClient *client, GCallback changed, gpointer user_data);
void viewer_owners_free(ViewerOwners *o);

/* The owner of obj, as known now (a bus name until the bus answered). */
char *viewer_owners_describe(ViewerOwners *o, VhostShareObject *obj);
/* "comm[pid] (user)" of a process, or NULL when pid is 0. */
char *viewer_describe_process(guint pid, guint uid);
