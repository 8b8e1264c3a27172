/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "viewer-format.h"

#include <glib/gi18n.h>

char *viewer_format_size(guint64 size)
{
        return size ? g_format_size(size) : g_strdup("—");
}

char *viewer_format_age(guint64 created_usec, gint64 now_usec)
{
        gint64 usec = (gint64) created_usec < now_usec ? now_usec - (gint64) created_usec : 0;
        unsigned s = (unsigned) (usec / G_USEC_PER_SEC);

        if (created_usec == 0)
                return g_strdup("—");
        if (s < 60)
                return g_strdup_printf(_("%u s"), s);
        if (s < 3600)
                return g_strdup_printf(_("%u min"), s / 60);
        if (s < 86400)
                return g_strdup_printf(_("%u h"), s / 3600);
        return g_strdup_printf(_("%u d"), s / 86400);
}

char *viewer_format_features(VhostSharePeer *peer)
{
        unsigned long long f = vhost_share_peer_get_features(peer);
        unsigned long long p = vhost_share_peer_get_protocol_features(peer);

        if (f == 0 && p == 0)
                return g_strdup(_("not negotiated"));
        if (vhost_share_peer_get_shared_objects(peer))
                return g_strdup_printf(_("virtio 0x%llx, protocol 0x%llx, shared objects"), f, p);
        return g_strdup_printf(_("virtio 0x%llx, protocol 0x%llx"), f, p);
}

/* What the user can do about each of the service's errors. */
static const char *advice(const GError *error)
{
        if (error->domain == G_DBUS_ERROR && error->code == G_DBUS_ERROR_ACCESS_DENIED)
                return _("The bus refused the call: only root and members of the vhost-share "
                         "group may change the table.");
        if (error->domain == G_DBUS_ERROR && error->code == G_DBUS_ERROR_INVALID_ARGS)
                return _("The service refused an argument.");
        if (error->domain != VHOST_SHARE_ERROR)
                return _("The call failed.");
        switch ((VhostShareError) error->code) {
        case VHOST_SHARE_ERROR_ACCESS_DENIED:
                return _("You may not change the table: run as root or join the vhost-share "
                         "group.");
        case VHOST_SHARE_ERROR_NOT_FOUND:
                return _("It is not there (any more).");
        case VHOST_SHARE_ERROR_EXISTS:
                return _("An object with this UUID exists already.");
        case VHOST_SHARE_ERROR_NOT_OWNER:
                return _("The object belongs to someone else.");
        case VHOST_SHARE_ERROR_INVALID_FD:
                return _("The service takes only dma-bufs and sealed memfds.");
        case VHOST_SHARE_ERROR_LIMIT_REACHED:
                return _("A limit of the service is reached.");
        case VHOST_SHARE_ERROR_QUOTA_EXCEEDED:
                return _("A quota of the service is exceeded.");
        case VHOST_SHARE_ERROR_NOT_A_SOCKET:
                return _("Something that is not a socket is at that path; it was left alone.");
        case VHOST_SHARE_ERROR_ADDRESS_IN_USE:
                return _("Another program listens on that socket; it was left alone.");
        case VHOST_SHARE_ERROR_UNSAFE_PATH:
                return _(
                    "The path leads through a symbolic link, which the service does not follow.");
        case VHOST_SHARE_ERROR_TIMEOUT:
                return _("The back-end that holds the buffer did not answer in time.");
        case VHOST_SHARE_ERROR_PEER_GONE:
                return _("The back-end that holds the buffer went away.");
        default:
                return _("The service refused.");
        }
}

char *viewer_format_error(const GError *error)
{
        return g_strdup_printf("%s (%s)", advice(error), error->message);
}
