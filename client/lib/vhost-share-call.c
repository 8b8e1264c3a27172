/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-call.h"

#include "bus-names.h"
#include "vhost-share-client-private.h"
#include "vhost-share-error.h"

void vsh_reply_free(Reply *r)
{
        g_clear_pointer(&r->reply, g_variant_unref);
        g_clear_object(&r->fds);
        g_free(r);
}

/* The service's message without GDBus's "GDBus.Error:NAME: " prefix (the
 * code says which error it is). */
/* Should the service ask polkit, the desktop may prompt for a password. */
#define CALL_FLAGS G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION

static void strip_prefix(GError *e)
{
        if (g_dbus_error_is_remote_error(e))
                g_dbus_error_strip_remote_error(e);
}

static void call_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        g_autoptr(Reply) r = g_new0(Reply, 1);
        GError *error = NULL;

        r->reply = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(source),
                                                                   &r->fds, res, &error);
        if (!r->reply) {
                strip_prefix(error);
                g_task_return_error(task, error);
                return;
        }
        g_task_return_pointer(task, g_steal_pointer(&r), (GDestroyNotify) vsh_reply_free);
}

/* Calls the Manager's method; params may be floating; fds (or NULL) is not
 * taken. */
void vsh_call(VhostShareClient *self, const char *method, GVariant *params, GUnixFDList *fds,
              const char *reply_type, GCancellable *cancellable, gpointer source_tag,
              GAsyncReadyCallback callback, gpointer user_data)
{
        GTask *task = g_task_new(self, cancellable, callback, user_data);

        g_task_set_source_tag(task, source_tag);
        g_dbus_connection_call_with_unix_fd_list(
            self->connection, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, method, params,
            G_VARIANT_TYPE(reply_type), CALL_FLAGS, -1, fds, cancellable, call_done, task);
}

Reply *vsh_call_finish(VhostShareClient *self, GAsyncResult *result, gpointer source_tag,
                       GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, self), NULL);
        g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == source_tag, NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

Reply *vsh_call_sync(VhostShareClient *self, const char *method, GVariant *params, GUnixFDList *fds,
                     const char *reply_type, GCancellable *cancellable, GError **error)
{
        g_autoptr(Reply) r = g_new0(Reply, 1);
        GError *e = NULL;

        r->reply = g_dbus_connection_call_with_unix_fd_list_sync(
            self->connection, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, method, params,
            G_VARIANT_TYPE(reply_type), CALL_FLAGS, -1, fds, &r->fds, cancellable, &e);
        if (!r->reply) {
                strip_prefix(e);
                g_propagate_error(error, e);
                return NULL;
        }
        return g_steal_pointer(&r);
}

/* The fd the reply's handle at position i names (a duplicate), or -1. */
int vsh_reply_fd(Reply *r, gsize i, GError **error)
{
        g_autoptr(GVariant) handle = g_variant_get_child_value(r->reply, i);
        int index = g_variant_get_handle(handle);

        if (!r->fds || index < 0 || index >= g_unix_fd_list_get_length(r->fds)) {
                g_set_error(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_FAILED,
                            "The service's reply carries no file descriptor");
                return -1;
        }
        return g_unix_fd_list_get(r->fds, index, error);
}

/* The reply's first member, a string (or object path), copied. */
char *vsh_reply_string(Reply *r)
{
        g_autoptr(GVariant) v = r ? g_variant_get_child_value(r->reply, 0) : NULL;

        return v ? g_variant_dup_string(v, NULL) : NULL;
}

/* Methods without a result. */
void vsh_call_void(VhostShareClient *self, const char *method, GVariant *params,
                   GCancellable *cancellable, gpointer tag, GAsyncReadyCallback callback,
                   gpointer user_data)
{
        vsh_call(self, method, params, NULL, "()", cancellable, tag, callback, user_data);
}

gboolean vsh_call_void_finish(VhostShareClient *self, GAsyncResult *result, gpointer tag,
                              GError **error)
{
        g_autoptr(Reply) r = vsh_call_finish(self, result, tag, error);

        return r != NULL;
}

gboolean vsh_call_void_sync(VhostShareClient *self, const char *method, GVariant *params,
                            GCancellable *cancellable, GError **error)
{
        g_autoptr(Reply) r = vsh_call_sync(self, method, params, NULL, "()", cancellable, error);

        return r != NULL;
}
