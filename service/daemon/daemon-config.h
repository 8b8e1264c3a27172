/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vhost-shared.conf (GKeyFile): the same peers and limits as the command
 * line. See vhost-shared.conf(5). */

#include <glib.h>

#include "service.h"

typedef struct {
        ServiceConfig service;
        GPtrArray *connect;      /* char*: back-end sockets to connect to */
        GPtrArray *accept;       /* char*: sockets to accept back-ends on */
        GPtrArray *serve;        /* char*: sockets to serve front-ends on */
        char *privileged_group;  /* [DBus] PrivilegedGroup: who may change the table */
        GPtrArray *socket_allow; /* DaemonSocketAllow*: [Socket PATH] AllowedUids= */
} DaemonConfig;

/* A per-socket uid allow-list, overriding [Service] AllowedUids=. */
typedef struct {
        char *path;
        unsigned n_uids;
        uid_t uids[SERVICE_MAX_ALLOWED_UIDS];
} DaemonSocketAllow;

void daemon_config_init(DaemonConfig *c);
void daemon_config_clear(DaemonConfig *c);

/* Reads path into c (values present in the file override c). A missing file
 * is -ENOENT; a malformed one -EINVAL with error set. */
int daemon_config_load(DaemonConfig *c, const char *path, GError **error);

/* A --serve value or [Peers] Serve= entry: PATH[,queues=N][,device-id=N]
 * [,reply-ack=yes|no]. Options are only recognised at the end, so a path
 * may contain commas. Unset options come from defaults (serve_options_init). */
int serve_spec_parse(const char *spec, const ServiceConfig *defaults, char **ret_path,
                     ServeOptions *ret, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DaemonConfig, daemon_config_clear)
