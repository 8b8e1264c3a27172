/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-peer.h"

#include "vhost-share-item-private.h"

/**
 * VhostSharePeer:
 *
 * One vhost-user connection of the service, at /org/vhostshare/share1/peer/ID.
 *
 * Every property of the D-Bus interface org.vhostshare.share1.Peer is a GObject property of
 * the same name in lower case with dashes; each emits #GObject::notify
 * when the service announces a change. A property the service does not
 * have (an older version) reads as 0, %FALSE or "".
 */

struct _VhostSharePeer {
        VhostShareItem parent_instance;
};

G_DEFINE_FINAL_TYPE(VhostSharePeer, vhost_share_peer, VHOST_SHARE_TYPE_ITEM)

enum {
        ROW_NAME,
        ROW_ROLE,
        ROW_SOCKET_PATH,
        ROW_STATE,
        ROW_FEATURES,
        ROW_PROTOCOL_FEATURES,
        ROW_SHARED_OBJECTS,
        ROW_PID,
        ROW_UID,
        ROW_EXPORTED_COUNT,
        ROW_LAST_ERROR,
        N_ROWS,
};

static const VshPropertyDesc rows[N_ROWS] = {
    {"Name", "name", 's', NULL},
    {"Role", "role", 's', NULL},
    {"SocketPath", "socket-path", 's', NULL},
    {"State", "state", 's', NULL},
    {"Features", "features", 't', NULL},
    {"ProtocolFeatures", "protocol-features", 't', NULL},
    {"SharedObjects", "shared-objects", 'b', NULL},
    {"Pid", "pid", 'u', NULL},
    {"Uid", "uid", 'u', NULL},
    {"ExportedCount", "exported-count", 'u', NULL},
    {"LastError", "last-error", 's', NULL},
};

static GParamSpec *pspecs[N_ROWS];

/**
 * VhostSharePeer:name:
 *
 * The name the service's log uses for the peer, e.g. "backend#3(dev.sock)".
 * D-Bus: org.vhostshare.share1.Peer.Name.
 */
/**
 * VhostSharePeer:role:
 *
 * The remote end's role: "back-end" (a vhost-user device) or "front-end" (a VMM).
 * D-Bus: org.vhostshare.share1.Peer.Role.
 */
/**
 * VhostSharePeer:socket-path:
 *
 * The UNIX socket the connection was made on or accepted at.
 * D-Bus: org.vhostshare.share1.Peer.SocketPath.
 */
/**
 * VhostSharePeer:state:
 *
 * "connecting", "negotiating", "ready" or "closed".
 * D-Bus: org.vhostshare.share1.Peer.State.
 */
/**
 * VhostSharePeer:features:
 *
 * The negotiated virtio feature bits.
 * D-Bus: org.vhostshare.share1.Peer.Features.
 */
/**
 * VhostSharePeer:protocol-features:
 *
 * The negotiated vhost-user protocol feature bits.
 * D-Bus: org.vhostshare.share1.Peer.ProtocolFeatures.
 */
/**
 * VhostSharePeer:shared-objects:
 *
 * Whether VHOST_USER_PROTOCOL_F_SHARED_OBJECT was negotiated.
 * D-Bus: org.vhostshare.share1.Peer.SharedObjects.
 */
/**
 * VhostSharePeer:pid:
 *
 * The remote process (SO_PEERCRED), 0 when unknown.
 * D-Bus: org.vhostshare.share1.Peer.Pid.
 */
/**
 * VhostSharePeer:uid:
 *
 * The remote process's user (SO_PEERCRED), 4294967295 when unknown.
 * D-Bus: org.vhostshare.share1.Peer.Uid.
 */
/**
 * VhostSharePeer:exported-count:
 *
 * For a back-end, how many objects it has in the table; for a front-end, how many were announced to
 * it. D-Bus: org.vhostshare.share1.Peer.ExportedCount.
 */
/**
 * VhostSharePeer:last-error:
 *
 * Why the peer was last disconnected or refused, or "".
 * D-Bus: org.vhostshare.share1.Peer.LastError.
 */
static void vhost_share_peer_class_init(VhostSharePeerClass *klass)
{
        vsh_item_class_install(VHOST_SHARE_ITEM_CLASS(klass), rows, pspecs, N_ROWS);
}

static void vhost_share_peer_init(VhostSharePeer *self)
{
}

/**
 * vhost_share_peer_get_name:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:name property.
 *
 * Returns: (transfer none): The name the service's log uses for the peer, e.g.
 * "backend#3(dev.sock)".
 */
const char *vhost_share_peer_get_name(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), NULL);
        return vsh_item_string(self, ROW_NAME);
}

/**
 * vhost_share_peer_get_role:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:role property.
 *
 * Returns: (transfer none): The remote end's role: "back-end" (a vhost-user device) or "front-end"
 * (a VMM).
 */
const char *vhost_share_peer_get_role(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), NULL);
        return vsh_item_string(self, ROW_ROLE);
}

/**
 * vhost_share_peer_get_socket_path:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:socket-path property.
 *
 * Returns: (transfer none): The UNIX socket the connection was made on or accepted at.
 */
const char *vhost_share_peer_get_socket_path(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), NULL);
        return vsh_item_string(self, ROW_SOCKET_PATH);
}

/**
 * vhost_share_peer_get_state:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:state property.
 *
 * Returns: (transfer none): "connecting", "negotiating", "ready" or "closed".
 */
const char *vhost_share_peer_get_state(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), NULL);
        return vsh_item_string(self, ROW_STATE);
}

/**
 * vhost_share_peer_get_features:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:features property.
 *
 * Returns: The negotiated virtio feature bits.
 */
guint64 vhost_share_peer_get_features(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_uint64(self, ROW_FEATURES);
}

/**
 * vhost_share_peer_get_protocol_features:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:protocol-features property.
 *
 * Returns: The negotiated vhost-user protocol feature bits.
 */
guint64 vhost_share_peer_get_protocol_features(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_uint64(self, ROW_PROTOCOL_FEATURES);
}

/**
 * vhost_share_peer_get_shared_objects:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:shared-objects property.
 *
 * Returns: Whether VHOST_USER_PROTOCOL_F_SHARED_OBJECT was negotiated.
 */
gboolean vhost_share_peer_get_shared_objects(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_boolean(self, ROW_SHARED_OBJECTS);
}

/**
 * vhost_share_peer_get_pid:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:pid property.
 *
 * Returns: The remote process (SO_PEERCRED), 0 when unknown.
 */
guint vhost_share_peer_get_pid(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_uint(self, ROW_PID);
}

/**
 * vhost_share_peer_get_uid:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:uid property.
 *
 * Returns: The remote process's user (SO_PEERCRED), 4294967295 when unknown.
 */
guint vhost_share_peer_get_uid(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_uint(self, ROW_UID);
}

/**
 * vhost_share_peer_get_exported_count:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:exported-count property.
 *
 * Returns: For a back-end, how many objects it has in the table; for a front-end, how many were
 * announced to it.
 */
guint vhost_share_peer_get_exported_count(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), 0);
        return vsh_item_uint(self, ROW_EXPORTED_COUNT);
}

/**
 * vhost_share_peer_get_last_error:
 * @self: a #VhostSharePeer
 *
 * The #VhostSharePeer:last-error property.
 *
 * Returns: (transfer none): Why the peer was last disconnected or refused, or "".
 */
const char *vhost_share_peer_get_last_error(VhostSharePeer *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_PEER(self), NULL);
        return vsh_item_string(self, ROW_LAST_ERROR);
}
