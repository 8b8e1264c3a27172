/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's methods on vhost-user peers: AddPeer, RemovePeer. */
#include "vhost-share-call.h"

/**
 * vhost_share_client_add_peer:
 * @self: a #VhostShareClient
 * @role: "connect" (to a vhost-user back-end listening at @socket_path,
 *   retried while it is absent), "accept" (listen there for back-ends) or
 *   "serve" (listen there for a front-end such as a VMM)
 * @socket_path: an absolute path of a UNIX socket
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Attaches vhost-user peers at run time (D-Bus: AddPeer); they appear with
 * #VhostShareClient::peer-added. Privileged.
 */
void vhost_share_client_add_peer(VhostShareClient *self, const char *role, const char *socket_path,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(role != NULL && socket_path != NULL);
        vsh_call(self, "AddPeer", g_variant_new("(ss)", role, socket_path), NULL, "(o)",
                 cancellable, vhost_share_client_add_peer, callback, user_data);
}

/**
 * vhost_share_client_add_peer_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %G_DBUS_ERROR_INVALID_ARGS (an
 *   unknown role, a relative path), %VHOST_SHARE_ERROR_LIMIT_REACHED ...
 *
 * Returns: (transfer full): for "connect" the new peer's object path, for
 *   "accept" and "serve" "/"; %NULL with @error set
 */
char *vhost_share_client_add_peer_finish(VhostShareClient *self, GAsyncResult *result,
                                         GError **error)
{
        g_autoptr(Reply) r = vsh_call_finish(self, result, vhost_share_client_add_peer, error);

        return vsh_reply_string(r);
}

/**
 * vhost_share_client_add_peer_sync:
 * @self: a #VhostShareClient
 * @role: "connect", "accept" or "serve"
 * @socket_path: an absolute path of a UNIX socket
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_add_peer().
 *
 * Returns: (transfer full): the new peer's object path or "/", or %NULL
 *   with @error set
 */
char *vhost_share_client_add_peer_sync(VhostShareClient *self, const char *role,
                                       const char *socket_path, GCancellable *cancellable,
                                       GError **error)
{
        g_autoptr(Reply) r = NULL;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        g_return_val_if_fail(role != NULL && socket_path != NULL, NULL);
        r = vsh_call_sync(self, "AddPeer", g_variant_new("(ss)", role, socket_path), NULL, "(o)",
                          cancellable, error);
        return vsh_reply_string(r);
}

/**
 * vhost_share_client_remove_peer:
 * @self: a #VhostShareClient
 * @object_path: the peer's object path
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Disconnects a vhost-user peer (D-Bus: RemovePeer); its objects leave the
 * table. Privileged.
 */
void vhost_share_client_remove_peer(VhostShareClient *self, const char *object_path,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(g_variant_is_object_path(object_path));
        vsh_call_void(self, "RemovePeer", g_variant_new("(o)", object_path), cancellable,
                      vhost_share_client_remove_peer, callback, user_data);
}

/**
 * vhost_share_client_remove_peer_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_NOT_FOUND ...
 *
 * Returns: %TRUE when the peer was disconnected
 */
gboolean vhost_share_client_remove_peer_finish(VhostShareClient *self, GAsyncResult *result,
                                               GError **error)
{
        return vsh_call_void_finish(self, result, vhost_share_client_remove_peer, error);
}

/**
 * vhost_share_client_remove_peer_sync:
 * @self: a #VhostShareClient
 * @object_path: the peer's object path
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_remove_peer().
 *
 * Returns: %TRUE when the peer was disconnected
 */
gboolean vhost_share_client_remove_peer_sync(VhostShareClient *self, const char *object_path,
                                             GCancellable *cancellable, GError **error)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), FALSE);
        g_return_val_if_fail(g_variant_is_object_path(object_path), FALSE);
        return vsh_call_void_sync(self, "RemovePeer", g_variant_new("(o)", object_path),
                                  cancellable, error);
}
