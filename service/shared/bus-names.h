/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names of the D-Bus API (the XML in dbus/ is its authority), shared by the
 * service's bus layer and by vhost-sharectl so that the two cannot drift. */

#define BUS_NAME "org.vhostshare.share1"
#define BUS_MANAGER_PATH "/org/vhostshare/share1"

#define BUS_MANAGER_INTERFACE "org.vhostshare.share1.Manager"
#define BUS_OBJECT_INTERFACE "org.vhostshare.share1.Object"
#define BUS_PEER_INTERFACE "org.vhostshare.share1.Peer"
#define BUS_DEVICE_INTERFACE "org.vhostshare.share1.Device"
#define BUS_LISTENER_INTERFACE "org.vhostshare.share1.Listener"

/* Children of the manager: object/<32 lowercase hex digits of the UUID>,
 * peer/<decimal id>, listener/<decimal id>, device/<escaped sysname>. */
#define BUS_OBJECT_PREFIX BUS_MANAGER_PATH "/object"
#define BUS_PEER_PREFIX BUS_MANAGER_PATH "/peer"
#define BUS_DEVICE_PREFIX BUS_MANAGER_PATH "/device"
#define BUS_LISTENER_PREFIX BUS_MANAGER_PATH "/listener"

#define BUS_ERROR_PREFIX "org.vhostshare.share1.Error."
#define BUS_ERROR_NOT_FOUND BUS_ERROR_PREFIX "NotFound"
#define BUS_ERROR_EXISTS BUS_ERROR_PREFIX "Exists"
#define BUS_ERROR_NOT_OWNER BUS_ERROR_PREFIX "NotOwner"
#define BUS_ERROR_INVALID_UUID BUS_ERROR_PREFIX "InvalidUuid"
#define BUS_ERROR_INVALID_FD BUS_ERROR_PREFIX "InvalidFd"
#define BUS_ERROR_UNSUPPORTED BUS_ERROR_PREFIX "Unsupported"
#define BUS_ERROR_TIMEOUT BUS_ERROR_PREFIX "Timeout"
#define BUS_ERROR_LIMIT_REACHED BUS_ERROR_PREFIX "LimitReached"
#define BUS_ERROR_QUOTA_EXCEEDED BUS_ERROR_PREFIX "QuotaExceeded"
#define BUS_ERROR_ACCESS_DENIED BUS_ERROR_PREFIX "AccessDenied"
#define BUS_ERROR_PEER_GONE BUS_ERROR_PREFIX "PeerGone"
#define BUS_ERROR_NO_DEVICE BUS_ERROR_PREFIX "NoDevice"
#define BUS_ERROR_NO_MEMORY BUS_ERROR_PREFIX "NoMemory"
#define BUS_ERROR_INVALID_SIZE BUS_ERROR_PREFIX "InvalidSize"
#define BUS_ERROR_FAILED BUS_ERROR_PREFIX "Failed"
/* A listening socket's path: not a socket there, a live one, a symlink on the way. */
#define BUS_ERROR_NOT_A_SOCKET BUS_ERROR_PREFIX "NotASocket"
#define BUS_ERROR_ADDRESS_IN_USE BUS_ERROR_PREFIX "AddressInUse"
#define BUS_ERROR_UNSAFE_PATH BUS_ERROR_PREFIX "UnsafePath"
#define BUS_ERROR_LOOKUP_CYCLE BUS_ERROR_PREFIX "LookupCycle"
