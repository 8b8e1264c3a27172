/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's methods on objects: Export (of an fd or a file's
 * contents), Lookup, Remove, Disown, Allocate. */
#include <errno.h>
#include <fcntl.h>
#include <gio/gunixoutputstream.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost-share-call.h"
#include "vhost-share-error.h"

/* fd (not taken) as a list of its duplicate, or NULL with error set. */
static GUnixFDList *fd_list_of(int fd, GError **error)
{
        g_autoptr(GUnixFDList) list = g_unix_fd_list_new();

        if (g_unix_fd_list_append(list, fd, error) < 0)
                return NULL;
        return g_steal_pointer(&list);
}

/* ---- Export ---- */

/**
 * vhost_share_client_export_fd:
 * @self: a #VhostShareClient
 * @fd: a dma-buf, or a memfd sealed against shrinking and growing; not
 *   taken (the service gets a duplicate)
 * @uuid: (nullable): the UUID to register it under, or %NULL for a random one
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Puts a buffer into the service's table (D-Bus: Export). The object
 * belongs to this client's connection: it goes when the connection does,
 * unless disowned (vhost_share_client_disown()). It is announced with
 * #VhostShareClient::object-added. Cancelling stops waiting for the reply,
 * not the export: an export the service already received stays.
 * Privileged.
 */
void vhost_share_client_export_fd(VhostShareClient *self, int fd, const char *uuid,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
        g_autoptr(GUnixFDList) fds = NULL;
        GError *error = NULL;

        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        fds = fd_list_of(fd, &error);
        if (!fds) {
                g_task_report_error(self, callback, user_data, vhost_share_client_export_fd, error);
                return;
        }
        vsh_call(self, "Export", g_variant_new("(hs)", 0, uuid ? uuid : ""), fds, "(so)",
                 cancellable, vhost_share_client_export_fd, callback, user_data);
}

/**
 * vhost_share_client_export_fd_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_EXISTS,
 *   %VHOST_SHARE_ERROR_INVALID_FD, %VHOST_SHARE_ERROR_INVALID_UUID,
 *   %VHOST_SHARE_ERROR_LIMIT_REACHED, %VHOST_SHARE_ERROR_ACCESS_DENIED ...
 *
 * Returns: (transfer full): the object's UUID (36-character form), or
 *   %NULL with @error set
 */
char *vhost_share_client_export_fd_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error)
{
        g_autoptr(Reply) r = vsh_call_finish(self, result, vhost_share_client_export_fd, error);

        return vsh_reply_string(r);
}

/**
 * vhost_share_client_export_fd_sync:
 * @self: a #VhostShareClient
 * @fd: a dma-buf or a sealed memfd; not taken
 * @uuid: (nullable): the UUID to register it under, or %NULL for a random one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_export_fd().
 *
 * Returns: (transfer full): the object's UUID, or %NULL with @error set
 */
char *vhost_share_client_export_fd_sync(VhostShareClient *self, int fd, const char *uuid,
                                        GCancellable *cancellable, GError **error)
{
        g_autoptr(GUnixFDList) fds = NULL;
        g_autoptr(Reply) r = NULL;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        fds = fd_list_of(fd, error);
        if (!fds)
                return NULL;
        r = vsh_call_sync(self, "Export", g_variant_new("(hs)", 0, uuid ? uuid : ""), fds, "(so)",
                          cancellable, error);
        return vsh_reply_string(r);
}

/* ---- Export of a file's contents ---- */

/* A memfd with file's contents, sealed against resizing and writing (the
 * service takes sealed memfds), or -1 with error set. */
static int file_to_sealed_memfd(GFile *file, GCancellable *cancellable, GError **error)
{
        g_autoptr(GFileInputStream) in = NULL;
        g_autoptr(GOutputStream) out = NULL;
        g_autofree char *base = g_file_get_basename(file);
        g_autofree char *name = g_strconcat("vhost-share:", base, NULL);
        int fd;

        in = g_file_read(file, cancellable, error);
        if (!in)
                return -1;
        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                int e = errno;

                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                            "Cannot create a memfd: %s", g_strerror(e));
                return -1;
        }
        out = g_unix_output_stream_new(fd, TRUE);
        if (g_output_stream_splice(out, G_INPUT_STREAM(in), G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                   cancellable, error) < 0)
                return -1;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                int e = errno;

                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                            "Cannot seal the memfd: %s", g_strerror(e));
                return -1;
        }
        /* Every duplicate shares this file offset: readers start at the top. */
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int e = errno;

                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                            "Cannot rewind the memfd: %s", g_strerror(e));
                return -1;
        }
        return fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the stream closes its own */
}

/**
 * vhost_share_client_export_file_sync:
 * @self: a #VhostShareClient
 * @file: a file whose contents to share
 * @uuid: (nullable): the UUID to register it under, or %NULL for a random one
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Copies @file's contents into a sealed memfd named "vhost-share:NAME" and
 * exports that, like vhost_share_client_export_fd_sync(). Reading the file
 * fails with a %G_IO_ERROR.
 *
 * Returns: (transfer full): the object's UUID, or %NULL with @error set
 */
char *vhost_share_client_export_file_sync(VhostShareClient *self, GFile *file, const char *uuid,
                                          GCancellable *cancellable, GError **error)
{
        char *ret;
        int fd;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        g_return_val_if_fail(G_IS_FILE(file), NULL);
        fd = file_to_sealed_memfd(file, cancellable, error);
        if (fd < 0)
                return NULL;
        ret = vhost_share_client_export_fd_sync(self, fd, uuid, cancellable, error);
        close(fd);
        return ret;
}

typedef struct {
        GFile *file;
        char *uuid;
} ExportFile;

static void export_file_free(ExportFile *x)
{
        g_object_unref(x->file);
        g_free(x->uuid);
        g_free(x);
}

static void export_file_thread(GTask *task, gpointer source, gpointer task_data,
                               GCancellable *cancellable)
{
        ExportFile *x = task_data;
        GError *error = NULL;
        char *uuid =
            vhost_share_client_export_file_sync(source, x->file, x->uuid, cancellable, &error);

        if (uuid)
                g_task_return_pointer(task, uuid, g_free);
        else
                g_task_return_error(task, error);
}

/**
 * vhost_share_client_export_file:
 * @self: a #VhostShareClient
 * @file: a file whose contents to share
 * @uuid: (nullable): the UUID to register it under, or %NULL for a random one
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * vhost_share_client_export_file_sync() without blocking: the file is read
 * in a worker thread.
 */
void vhost_share_client_export_file(VhostShareClient *self, GFile *file, const char *uuid,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
        g_autoptr(GTask) task = NULL;
        ExportFile *x;

        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(G_IS_FILE(file));
        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, vhost_share_client_export_file);
        x = g_new0(ExportFile, 1);
        x->file = g_object_ref(file);
        x->uuid = g_strdup(uuid);
        g_task_set_task_data(task, x, (GDestroyNotify) export_file_free);
        g_task_run_in_thread(task, export_file_thread);
}

/**
 * vhost_share_client_export_file_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the object's UUID, or %NULL with @error set
 */
char *vhost_share_client_export_file_finish(VhostShareClient *self, GAsyncResult *result,
                                            GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, self), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- Lookup ---- */

/**
 * vhost_share_client_lookup:
 * @self: a #VhostShareClient
 * @uuid: the object's UUID
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Gets a file descriptor for the buffer behind @uuid (D-Bus: Lookup). For
 * a "vhost-device" object the service asks the exporting back-end, which
 * may take until the service's lookup timeout. Privileged.
 */
void vhost_share_client_lookup(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(uuid != NULL);
        vsh_call(self, "Lookup", g_variant_new("(s)", uuid), NULL, "(h)", cancellable,
                 vhost_share_client_lookup, callback, user_data);
}

/**
 * vhost_share_client_lookup_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_NOT_FOUND,
 *   %VHOST_SHARE_ERROR_TIMEOUT, %VHOST_SHARE_ERROR_PEER_GONE,
 *   %VHOST_SHARE_ERROR_LIMIT_REACHED, %G_IO_ERROR_CANCELLED ...
 *
 * Returns: a new file descriptor the caller closes, or -1 with @error set
 */
int vhost_share_client_lookup_finish(VhostShareClient *self, GAsyncResult *result, GError **error)
{
        g_autoptr(Reply) r = vsh_call_finish(self, result, vhost_share_client_lookup, error);

        return r ? vsh_reply_fd(r, 0, error) : -1;
}

/**
 * vhost_share_client_lookup_sync:
 * @self: a #VhostShareClient
 * @uuid: the object's UUID
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_lookup().
 *
 * Returns: a new file descriptor the caller closes, or -1 with @error set
 */
int vhost_share_client_lookup_sync(VhostShareClient *self, const char *uuid,
                                   GCancellable *cancellable, GError **error)
{
        g_autoptr(Reply) r = NULL;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), -1);
        g_return_val_if_fail(uuid != NULL, -1);
        r = vsh_call_sync(self, "Lookup", g_variant_new("(s)", uuid), NULL, "(h)", cancellable,
                          error);
        return r ? vsh_reply_fd(r, 0, error) : -1;
}

/**
 * vhost_share_client_remove:
 * @self: a #VhostShareClient
 * @uuid: the object's UUID
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Removes an object from the table (D-Bus: Remove): one this client
 * exported or allocated, one disowned, or any as root. Privileged.
 */
void vhost_share_client_remove(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(uuid != NULL);
        vsh_call_void(self, "Remove", g_variant_new("(s)", uuid), cancellable,
                      vhost_share_client_remove, callback, user_data);
}

/**
 * vhost_share_client_remove_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_NOT_FOUND,
 *   %VHOST_SHARE_ERROR_NOT_OWNER, %VHOST_SHARE_ERROR_ACCESS_DENIED ...
 *
 * Returns: %TRUE when the object was removed
 */
gboolean vhost_share_client_remove_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error)
{
        return vsh_call_void_finish(self, result, vhost_share_client_remove, error);
}

/**
 * vhost_share_client_remove_sync:
 * @self: a #VhostShareClient
 * @uuid: the object's UUID
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_remove().
 *
 * Returns: %TRUE when the object was removed
 */
gboolean vhost_share_client_remove_sync(VhostShareClient *self, const char *uuid,
                                        GCancellable *cancellable, GError **error)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), FALSE);
        g_return_val_if_fail(uuid != NULL, FALSE);
        return vsh_call_void_sync(self, "Remove", g_variant_new("(s)", uuid), cancellable, error);
}

/**
 * vhost_share_client_disown:
 * @self: a #VhostShareClient
 * @uuid: the UUID of an object this client owns
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Hands an object over to the service (D-Bus: Disown): it stays when this
 * client goes, and any privileged caller may remove it. Privileged.
 */
void vhost_share_client_disown(VhostShareClient *self, const char *uuid, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        g_return_if_fail(uuid != NULL);
        vsh_call_void(self, "Disown", g_variant_new("(s)", uuid), cancellable,
                      vhost_share_client_disown, callback, user_data);
}

/**
 * vhost_share_client_disown_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_NOT_FOUND,
 *   %VHOST_SHARE_ERROR_NOT_OWNER, %VHOST_SHARE_ERROR_LIMIT_REACHED ...
 *
 * Returns: %TRUE when the object was handed over
 */
gboolean vhost_share_client_disown_finish(VhostShareClient *self, GAsyncResult *result,
                                          GError **error)
{
        return vsh_call_void_finish(self, result, vhost_share_client_disown, error);
}

/**
 * vhost_share_client_disown_sync:
 * @self: a #VhostShareClient
 * @uuid: the UUID of an object this client owns
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_disown().
 *
 * Returns: %TRUE when the object was handed over
 */
gboolean vhost_share_client_disown_sync(VhostShareClient *self, const char *uuid,
                                        GCancellable *cancellable, GError **error)
{
        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), FALSE);
        g_return_val_if_fail(uuid != NULL, FALSE);
        return vsh_call_void_sync(self, "Disown", g_variant_new("(s)", uuid), cancellable, error);
}

/* ---- Allocate ---- */

/**
 * vhost_share_client_allocate:
 * @self: a #VhostShareClient
 * @size: the buffer's size in bytes, more than 0
 * @device: (nullable): a DRM device node from #VhostShareClient:devices,
 *   %NULL for the first that can (else a udmabuf, else the error
 *   %VHOST_SHARE_ERROR_NO_DEVICE), or "memfd" for a sealed memfd
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Has the service allocate a buffer and register it like an export
 * (D-Bus: Allocate); it belongs to this client. Privileged.
 */
void vhost_share_client_allocate(VhostShareClient *self, guint64 size, const char *device,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
        g_return_if_fail(VHOST_SHARE_IS_CLIENT(self));
        vsh_call(self, "Allocate", g_variant_new("(ts)", size, device ? device : ""), NULL, "(soh)",
                 cancellable, vhost_share_client_allocate, callback, user_data);
}

/* The UUID, and the fd into *out_fd (or closed when out_fd is NULL). */
static char *allocate_result(Reply *r, int *out_fd, GError **error)
{
        int fd;

        if (!r)
                return NULL;
        fd = vsh_reply_fd(r, 2, error);
        if (fd < 0)
                return NULL;
        if (out_fd)
                *out_fd = fd;
        else
                close(fd);
        return vsh_reply_string(r);
}

/**
 * vhost_share_client_allocate_finish:
 * @self: a #VhostShareClient
 * @result: the #GAsyncResult given to the callback
 * @out_fd: (out) (optional): the new buffer's file descriptor, which the
 *   caller closes
 * @error: return location for a #GError: %VHOST_SHARE_ERROR_NO_DEVICE,
 *   %VHOST_SHARE_ERROR_UNSUPPORTED, %VHOST_SHARE_ERROR_NO_MEMORY,
 *   %VHOST_SHARE_ERROR_INVALID_SIZE, %VHOST_SHARE_ERROR_LIMIT_REACHED ...
 *
 * Returns: (transfer full): the new object's UUID, or %NULL with @error set
 */
char *vhost_share_client_allocate_finish(VhostShareClient *self, GAsyncResult *result, int *out_fd,
                                         GError **error)
{
        g_autoptr(Reply) r = vsh_call_finish(self, result, vhost_share_client_allocate, error);

        return allocate_result(r, out_fd, error);
}

/**
 * vhost_share_client_allocate_sync:
 * @self: a #VhostShareClient
 * @size: the buffer's size in bytes
 * @device: (nullable): a DRM device node, %NULL for the first that can,
 *   or "memfd" for a sealed memfd
 * @out_fd: (out) (optional): the new buffer's file descriptor
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking vhost_share_client_allocate().
 *
 * Returns: (transfer full): the new object's UUID, or %NULL with @error set
 */
char *vhost_share_client_allocate_sync(VhostShareClient *self, guint64 size, const char *device,
                                       int *out_fd, GCancellable *cancellable, GError **error)
{
        g_autoptr(Reply) r = NULL;

        g_return_val_if_fail(VHOST_SHARE_IS_CLIENT(self), NULL);
        r = vsh_call_sync(self, "Allocate", g_variant_new("(ts)", size, device ? device : ""), NULL,
                          "(soh)", cancellable, error);
        return allocate_result(r, out_fd, error);
}
