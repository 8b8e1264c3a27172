/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include "vhost-share-item.h"

G_BEGIN_DECLS

#define VHOST_SHARE_TYPE_PEER (vhost_share_peer_get_type())
G_DECLARE_FINAL_TYPE(VhostSharePeer, vhost_share_peer, VHOST_SHARE, PEER, VhostShareItem)
const char *vhost_share_peer_get_name(VhostSharePeer *self);
const char *vhost_share_peer_get_role(VhostSharePeer *self);
const char *vhost_share_peer_get_socket_path(VhostSharePeer *self);
const char *vhost_share_peer_get_state(VhostSharePeer *self);
guint64 vhost_share_peer_get_features(VhostSharePeer *self);
guint64 vhost_share_peer_get_protocol_features(VhostSharePeer *self);
gboolean vhost_share_peer_get_shared_objects(VhostSharePeer *self);
guint vhost_share_peer_get_pid(VhostSharePeer *self);
guint vhost_share_peer_get_uid(VhostSharePeer *self);
guint vhost_share_peer_get_exported_count(VhostSharePeer *self);
const char *vhost_share_peer_get_last_error(VhostSharePeer *self);

G_END_DECLS
