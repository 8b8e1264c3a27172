/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-error.h"

#include <gio/gio.h>

#include "bus-names.h"

G_DEFINE_ENUM_TYPE(VhostShareError, vhost_share_error,
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_FAILED, "failed"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_NOT_FOUND, "not-found"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_EXISTS, "exists"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_NOT_OWNER, "not-owner"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_INVALID_UUID, "invalid-uuid"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_INVALID_FD, "invalid-fd"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_UNSUPPORTED, "unsupported"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_TIMEOUT, "timeout"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_LIMIT_REACHED, "limit-reached"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_ACCESS_DENIED, "access-denied"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_PEER_GONE, "peer-gone"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_NO_DEVICE, "no-device"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_NO_MEMORY, "no-memory"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_INVALID_SIZE, "invalid-size"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_QUOTA_EXCEEDED, "quota-exceeded"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_NOT_A_SOCKET, "not-a-socket"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_ADDRESS_IN_USE, "address-in-use"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_UNSAFE_PATH, "unsafe-path"),
                   G_DEFINE_ENUM_VALUE(VHOST_SHARE_ERROR_LOOKUP_CYCLE, "lookup-cycle"))

/* Every error name of the API (bus-names.h, the service's side of the same
 * list), indexed by code. */
static const GDBusErrorEntry error_entries[] = {
    {VHOST_SHARE_ERROR_FAILED, BUS_ERROR_FAILED},
    {VHOST_SHARE_ERROR_NOT_FOUND, BUS_ERROR_NOT_FOUND},
    {VHOST_SHARE_ERROR_EXISTS, BUS_ERROR_EXISTS},
    {VHOST_SHARE_ERROR_NOT_OWNER, BUS_ERROR_NOT_OWNER},
    {VHOST_SHARE_ERROR_INVALID_UUID, BUS_ERROR_INVALID_UUID},
    {VHOST_SHARE_ERROR_INVALID_FD, BUS_ERROR_INVALID_FD},
    {VHOST_SHARE_ERROR_UNSUPPORTED, BUS_ERROR_UNSUPPORTED},
    {VHOST_SHARE_ERROR_TIMEOUT, BUS_ERROR_TIMEOUT},
    {VHOST_SHARE_ERROR_LIMIT_REACHED, BUS_ERROR_LIMIT_REACHED},
    {VHOST_SHARE_ERROR_ACCESS_DENIED, BUS_ERROR_ACCESS_DENIED},
    {VHOST_SHARE_ERROR_PEER_GONE, BUS_ERROR_PEER_GONE},
    {VHOST_SHARE_ERROR_NO_DEVICE, BUS_ERROR_NO_DEVICE},
    {VHOST_SHARE_ERROR_NO_MEMORY, BUS_ERROR_NO_MEMORY},
    {VHOST_SHARE_ERROR_INVALID_SIZE, BUS_ERROR_INVALID_SIZE},
    {VHOST_SHARE_ERROR_QUOTA_EXCEEDED, BUS_ERROR_QUOTA_EXCEEDED},
    {VHOST_SHARE_ERROR_NOT_A_SOCKET, BUS_ERROR_NOT_A_SOCKET},
    {VHOST_SHARE_ERROR_ADDRESS_IN_USE, BUS_ERROR_ADDRESS_IN_USE},
    {VHOST_SHARE_ERROR_UNSAFE_PATH, BUS_ERROR_UNSAFE_PATH},
    {VHOST_SHARE_ERROR_LOOKUP_CYCLE, BUS_ERROR_LOOKUP_CYCLE},
};

/**
 * vhost_share_error_quark:
 *
 * The error domain of the service's errors; registers their D-Bus names
 * with GDBus on first use, so that a #GError from any D-Bus call to the
 * service (this library's or a plain #GDBusProxy's) carries the codes of
 * #VhostShareError.
 *
 * Returns: the quark of %VHOST_SHARE_ERROR
 */
GQuark vhost_share_error_quark(void)
{
        static gsize quark = 0;

        g_dbus_error_register_error_domain("vhost-share-error-quark", &quark, error_entries,
                                           G_N_ELEMENTS(error_entries));
        return (GQuark) quark;
}
