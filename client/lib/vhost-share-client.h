/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include <gio/gio.h>

#include "vhost-share-device.h"
#include "vhost-share-object.h"
#include "vhost-share-peer.h"

G_BEGIN_DECLS

#define VHOST_SHARE_TYPE_CLIENT (vhost_share_client_get_type())
G_DECLARE_FINAL_TYPE(VhostShareClient, vhost_share_client, VHOST_SHARE, CLIENT, GObject)

/* Construction */
void vhost_share_client_new(GBusType bus_type, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
void vhost_share_client_new_for_address(const char *address, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
VhostShareClient *vhost_share_client_new_finish(GAsyncResult *result, GError **error);
VhostShareClient *vhost_share_client_new_sync(GBusType bus_type, GCancellable *cancellable,
                                              GError **error);
VhostShareClient *vhost_share_client_new_for_address_sync(const char *address,
                                                          GCancellable *cancellable,
                                                          GError **error);

/* The service's state */
GDBusConnection *vhost_share_client_get_connection(VhostShareClient *self);
char *vhost_share_client_get_name_owner(VhostShareClient *self);
const char *vhost_share_client_get_version(VhostShareClient *self);
guint vhost_share_client_get_object_count(VhostShareClient *self);
guint vhost_share_client_get_peer_count(VhostShareClient *self);
GPtrArray *vhost_share_client_list_objects(VhostShareClient *self);
GPtrArray *vhost_share_client_list_peers(VhostShareClient *self);
GPtrArray *vhost_share_client_list_devices(VhostShareClient *self);
VhostShareObject *vhost_share_client_get_object(VhostShareClient *self, const char *uuid);
VhostSharePeer *vhost_share_client_get_peer(VhostShareClient *self, const char *object_path);
VhostShareDevice *vhost_share_client_get_device(VhostShareClient *self, const char *dev_node);

/* Calls (vhost-share-client-calls.c) */
void vhost_share_client_export_fd(VhostShareClient *self, int fd, const char *uuid,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
char *vhost_share_client_export_fd_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error);
char *vhost_share_client_export_fd_sync(VhostShareClient *self, int fd, const char *uuid,
                                        GCancellable *cancellable, GError **error);

void vhost_share_client_export_file(VhostShareClient *self, GFile *file, const char *uuid,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
char *vhost_share_client_export_file_finish(VhostShareClient *self, GAsyncResult *result,
                                            GError **error);
char *vhost_share_client_export_file_sync(VhostShareClient *self, GFile *file, const char *uuid,
                                          GCancellable *cancellable, GError **error);

void vhost_share_client_lookup(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
int vhost_share_client_lookup_finish(VhostShareClient *self, GAsyncResult *result, GError **error);
int vhost_share_client_lookup_sync(VhostShareClient *self, const char *uuid,
                                   GCancellable *cancellable, GError **error);

void vhost_share_client_remove(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean vhost_share_client_remove_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error);
gboolean vhost_share_client_remove_sync(VhostShareClient *self, const char *uuid,
                                        GCancellable *cancellable, GError **error);

void vhost_share_client_disown(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean vhost_share_client_disown_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error);
gboolean vhost_share_client_disown_sync(VhostShareClient *self, const char *uuid,
                                        GCancellable *cancellable, GError **error);

void vhost_share_client_allocate(VhostShareClient *self, guint64 size, const char *device,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
char *vhost_share_client_allocate_finish(VhostShareClient *self, GAsyncResult *result, int *out_fd,
                                         GError **error);
char *vhost_share_client_allocate_sync(VhostShareClient *self, guint64 size, const char *device,
                                       int *out_fd, GCancellable *cancellable, GError **error);

void vhost_share_client_add_peer(VhostShareClient *self, const char *role, const char *socket_path,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
char *vhost_share_client_add_peer_finish(VhostShareClient *self, GAsyncResult *result,
                                         GError **error);
char *vhost_share_client_add_peer_sync(VhostShareClient *self, const char *role,
                                       const char *socket_path, GCancellable *cancellable,
                                       GError **error);

void vhost_share_client_remove_peer(VhostShareClient *self, const char *object_path,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean vhost_share_client_remove_peer_finish(VhostShareClient *self, GAsyncResult *result,
                                               GError **error);
gboolean vhost_share_client_remove_peer_sync(VhostShareClient *self, const char *object_path,
                                             GCancellable *cancellable, GError **error);

G_END_DECLS
