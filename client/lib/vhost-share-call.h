/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private: calling the Manager's methods for the client's call files. One
 * helper carries fds both ways and turns the service's D-Bus errors into
 * VHOST_SHARE_ERROR codes with the service's message. */

#include <gio/gunixfdlist.h>

#include "vhost-share-client.h"

typedef struct {
        GVariant *reply;
        GUnixFDList *fds;
} Reply;

void vsh_reply_free(Reply *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reply, vsh_reply_free)

/* Calls the Manager's method with params (may be floating) and fds (or
 * NULL; not taken); the GTask's source tag is source_tag. */
void vsh_call(VhostShareClient *self, const char *method, GVariant *params, GUnixFDList *fds,
              const char *reply_type, GCancellable *cancellable, gpointer source_tag,
              GAsyncReadyCallback callback, gpointer user_data);
Reply *vsh_call_finish(VhostShareClient *self, GAsyncResult *result, gpointer source_tag,
                       GError **error);
Reply *vsh_call_sync(VhostShareClient *self, const char *method, GVariant *params, GUnixFDList *fds,
                     const char *reply_type, GCancellable *cancellable, GError **error);
/* The same for methods that return nothing. */
void vsh_call_void(VhostShareClient *self, const char *method, GVariant *params,
                   GCancellable *cancellable, gpointer tag, GAsyncReadyCallback callback,
                   gpointer user_data);
gboolean vsh_call_void_finish(VhostShareClient *self, GAsyncResult *result, gpointer tag,
                              GError **error);
gboolean vsh_call_void_sync(VhostShareClient *self, const char *method, GVariant *params,
                            GCancellable *cancellable, GError **error);

/* The fd the reply's handle at position i names (a duplicate the caller
 * closes), or -1 with error set. */
int vsh_reply_fd(Reply *r, gsize i, GError **error);
/* The reply's first member, a string or object path, copied; NULL for a
 * NULL reply. */
char *vsh_reply_string(Reply *r);
