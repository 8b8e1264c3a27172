/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What vhost-shared is told to do: its configuration file
 * (vhost-shared.conf(5), a GKeyFile) with the command line's peers added.
 *
 * The words:
 *   ServiceConfig  the service's settings, the [Service] keys (core/service.h)
 *   DaemonConfig   all of it: the ServiceConfig, the peers to start, the
 *                  bus's privileged group, the [Socket PATH] sections
 *   serve spec     the text of a --serve value or [Peers] Serve= entry:
 *                  PATH[,queues=N][,device-id=N][,reply-ack=yes|no]
 *   ServeOptions   what one --serve socket presents to the VMMs it accepts,
 *                  the options of its serve spec (core/service.h)
 *
 * Nothing here touches a socket or the bus: main.c starts what the
 * DaemonConfig says. Errors are -EINVAL with a GError naming the key or
 * option, in the form vhost-shared prints them. */

#include <glib.h>

#include "service.h"

/* A socket to serve VMM front-ends on (--serve, [Peers] Serve=). */
typedef struct {
        char *path;
        ServeOptions options;
} DaemonServeSocket;

/* A [Socket PATH] section: the uids the listening socket at path accepts,
 * instead of [Service] AllowedUids=, and the buffers its peers may answer
 * with, instead of [Service] AcceptedBuffers=. */
typedef struct {
        char *path;
        unsigned n_allowed_uids;
        uid_t allowed_uids[SERVICE_MAX_ALLOWED_UIDS];
        unsigned accepted_buffers; /* BufferKind set; 0: the service's */
} DaemonSocketSection;

typedef struct {
        ServiceConfig service_config; /* [Service] */
        GPtrArray *connect;           /* char*: back-ends to connect to (Connect=, --connect) */
        GPtrArray *accept;      /* char*: sockets to accept back-ends on (Accept=, --accept) */
        GPtrArray *serve;       /* DaemonServeSocket*: (Serve=, --serve) */
        char *privileged_group; /* [DBus] PrivilegedGroup=: who may change the table */
        GPtrArray *sockets;     /* DaemonSocketSection*: [Socket PATH] */
        /* [Service] SocketDirectories= when given; service_config's
         * socket_directories points here then. */
        char **socket_directories;
} DaemonConfig;

/* The defaults: ServiceConfig's, no peers, the build's privileged group. */
void daemon_config_init(DaemonConfig *c);
void daemon_config_clear(DaemonConfig *c);

/* Reads a configuration file into c: the keys it sets override c, the
 * peers and sections it lists are appended. 0; -ENOENT (error set) when
 * there is no file at path; -EINVAL (error set) when it cannot be read or
 * parsed or holds a bad value. On failure c may hold part of the file. */
int daemon_config_load_file(DaemonConfig *c, const char *path, GError **error);
/* The same for the text of a configuration file, and for a parsed one. */
int daemon_config_load_data(DaemonConfig *c, const char *data, GError **error);
int daemon_config_load_key_file(DaemonConfig *c, GKeyFile *kf, GError **error);

/* The privileged group as the sockets' group when SocketGroup= left it
 * unset: 0 (set, or nothing to do: no privileged group), -ESRCH when the
 * group does not exist (the sockets keep the service's group). */
int daemon_config_default_socket_group(DaemonConfig *c);

/* Appends the socket of a serve spec to c->serve; options it does not give
 * are c->service_config's (serve_options_init). 0 or -EINVAL (error set). */
int daemon_config_add_serve(DaemonConfig *c, const char *spec, GError **error);

/* Parses a serve spec. Options are recognised only at its end, so a path
 * may hold commas; of a repeated option the last one counts, as on a
 * command line. Unset options come from defaults (serve_options_init).
 * 0 or -EINVAL (error set): an option with a bad value, or no path. */
int serve_spec_parse(const char *spec, const ServiceConfig *defaults, char **ret_path,
                     ServeOptions *ret, GError **error);

/* c as the text of a configuration file: every key with its value (a key
 * that is unset, which no value says, as a comment), the peers and
 * sections; what vhost-shared --print-config prints. Read back, it gives
 * the same configuration. g_free the result. */
char *daemon_config_to_text(const DaemonConfig *c);
/* Calls fn for every [Service] key (and AllowedUids=) whose value differs
 * between old and new, with both values as the file writes them (times in
 * ms, sizes in bytes); returns how many. For a reload's log. */
typedef void (*DaemonConfigDiffFn)(const char *key, const char *old_value, const char *new_value,
                                   void *userdata);
unsigned daemon_config_diff(const ServiceConfig *old, const ServiceConfig *new,
                            DaemonConfigDiffFn fn, void *userdata);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DaemonConfig, daemon_config_clear)
