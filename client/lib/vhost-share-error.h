/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(VHOST_SHARE_INSIDE) && !defined(VHOST_SHARE_COMPILATION)
#error "Only <vhost-share.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * VHOST_SHARE_ERROR:
 *
 * The error domain of the service's errors (its D-Bus errors
 * org.vhostshare.share1.Error.*). Errors of the bus itself stay in their
 * own domains (%G_DBUS_ERROR, %G_IO_ERROR).
 */
#define VHOST_SHARE_ERROR (vhost_share_error_quark())

/**
 * VhostShareError:
 * @VHOST_SHARE_ERROR_FAILED: anything else, with a message (Error.Failed)
 * @VHOST_SHARE_ERROR_NOT_FOUND: no such object or peer (Error.NotFound)
 * @VHOST_SHARE_ERROR_EXISTS: the UUID is taken; the first writer wins (Error.Exists)
 * @VHOST_SHARE_ERROR_NOT_OWNER: the object belongs to someone else (Error.NotOwner)
 * @VHOST_SHARE_ERROR_INVALID_UUID: a malformed, nil or max UUID (Error.InvalidUuid)
 * @VHOST_SHARE_ERROR_INVALID_FD: not a dma-buf and not a sealed memfd (Error.InvalidFd)
 * @VHOST_SHARE_ERROR_UNSUPPORTED: the operation is not possible here (Error.Unsupported)
 * @VHOST_SHARE_ERROR_TIMEOUT: the exporting back-end did not answer in time (Error.Timeout)
 * @VHOST_SHARE_ERROR_LIMIT_REACHED: a limit of the service: pending lookups, peers
 * (Error.LimitReached)
 * @VHOST_SHARE_ERROR_ACCESS_DENIED: the caller is not privileged (Error.AccessDenied)
 * @VHOST_SHARE_ERROR_PEER_GONE: the exporting peer disconnected (Error.PeerGone)
 * @VHOST_SHARE_ERROR_NO_DEVICE: no such DRM device (Error.NoDevice)
 * @VHOST_SHARE_ERROR_NO_MEMORY: the system or the device is out of memory (Error.NoMemory)
 * @VHOST_SHARE_ERROR_INVALID_SIZE: a device refused the size of a buffer (Error.InvalidSize)
 * @VHOST_SHARE_ERROR_QUOTA_EXCEEDED: a quota of the service; the message names it
 * (Error.QuotaExceeded)
 * @VHOST_SHARE_ERROR_NOT_A_SOCKET: something that is not a socket is at the path; it is left alone
 * (Error.NotASocket)
 * @VHOST_SHARE_ERROR_ADDRESS_IN_USE: another program listens on the socket (Error.AddressInUse)
 * @VHOST_SHARE_ERROR_UNSAFE_PATH: the socket path leads through a symbolic link (Error.UnsafePath)
 * @VHOST_SHARE_ERROR_LOOKUP_CYCLE: the exporter waits for the importer's own lookup
 * (Error.LookupCycle)
 *
 * The service's D-Bus errors, org.vhostshare.share1.Error.NAME, as codes
 * of %VHOST_SHARE_ERROR. The message is the service's, without the
 * "GDBus.Error:" prefix.
 */
typedef enum {
        VHOST_SHARE_ERROR_FAILED,
        VHOST_SHARE_ERROR_NOT_FOUND,
        VHOST_SHARE_ERROR_EXISTS,
        VHOST_SHARE_ERROR_NOT_OWNER,
        VHOST_SHARE_ERROR_INVALID_UUID,
        VHOST_SHARE_ERROR_INVALID_FD,
        VHOST_SHARE_ERROR_UNSUPPORTED,
        VHOST_SHARE_ERROR_TIMEOUT,
        VHOST_SHARE_ERROR_LIMIT_REACHED,
        VHOST_SHARE_ERROR_ACCESS_DENIED,
        VHOST_SHARE_ERROR_PEER_GONE,
        VHOST_SHARE_ERROR_NO_DEVICE,
        VHOST_SHARE_ERROR_NO_MEMORY,
        VHOST_SHARE_ERROR_INVALID_SIZE,
        /* Added later: new codes go at the end (ABI). */
        VHOST_SHARE_ERROR_QUOTA_EXCEEDED,
        VHOST_SHARE_ERROR_NOT_A_SOCKET,
        VHOST_SHARE_ERROR_ADDRESS_IN_USE,
        VHOST_SHARE_ERROR_UNSAFE_PATH,
        VHOST_SHARE_ERROR_LOOKUP_CYCLE,
} VhostShareError;

#define VHOST_SHARE_TYPE_ERROR (vhost_share_error_get_type())
GType vhost_share_error_get_type(void);
GQuark vhost_share_error_quark(void);

G_END_DECLS
