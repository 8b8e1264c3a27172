/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How the viewer writes sizes, ages, features and the service's errors. */

#include <vhost-share.h>

/* "4.1 kB", or "—" for 0 (unknown: a back-end holds the buffer). */
char *viewer_format_size(guint64 size);
/* How long ago created_usec (microseconds since the epoch) was, at now_usec:
 * "12 s", "5 min", "3 h", "2 d". */
char *viewer_format_age(guint64 created_usec, gint64 now_usec);
/* A peer's negotiated features: "virtio 0x…, protocol 0x…, shared objects". */
char *viewer_format_features(VhostSharePeer *peer);
/* A sentence for an error of a call to the service, with its message. */
char *viewer_format_error(const GError *error);
