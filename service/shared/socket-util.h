/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one rule for every listening socket the service creates (command
 * line, configuration file, D-Bus AddPeer), as root, at a path someone else
 * chose:
 *   - the path is absolute or relative, has no control character, no "."
 *     or ".." component, and fits a sockaddr_un;
 *   - its directory is opened one component at a time without following
 *     symlinks (a symlink anywhere is refused, -ELOOP), and everything
 *     after that happens relative to that directory fd;
 *   - what is already at the name is left alone unless it is a socket no
 *     one listens on (connect() refused): anything but a socket -ENOTSOCK,
 *     a live socket -EADDRINUSE;
 *   - the socket gets its mode, owner and group before listen();
 *   - at removal only the inode that was bound is unlinked.
 * Errors are -errno; socket_error_to_string() says what the socket errors
 * mean to an administrator. */

#include <stdbool.h>
#include <sys/types.h>

/* The file a listening socket was bound to. */
typedef struct {
        dev_t dev;
        ino_t ino;
} SocketFile;

/* Mode, owner and group of a new socket file; (uid_t) -1 / (gid_t) -1
 * leave the service's. */
typedef struct {
        mode_t mode;
        uid_t uid;
        gid_t gid;
} SocketAccess;

/* True when path has a byte below 0x20 or 0x7f. */
bool socket_path_has_control(const char *path);
/* 0 when path can name a socket: -EILSEQ a control character; -EINVAL
 * empty, a "." or ".." component, or ending in "/"; -ENAMETOOLONG over
 * sockaddr_un. */
int socket_path_check(const char *path);

/* Opens the directory path names (all components, no symlink followed)
 * as an O_PATH fd. -ELOOP a component is a symlink, -ENOTDIR one is no
 * directory, other -errno from openat(). */
int socket_open_directory(const char *path, int *ret_fd);

/* Binds and listens on path as the header says. *ret_fd is a non-blocking
 * listening socket; *ret_file what to compare at removal. */
int socket_listen_at(const char *path, const SocketAccess *access, int *ret_fd,
                     SocketFile *ret_file);

/* Unlinks path if it is still file (resolved the same way). 1 unlinked,
 * 0 something else is there now (or nothing), -errno. */
int socket_unlink_if_same(const char *path, const SocketFile *file);

/* 1 when path's directory (resolved as for binding) is one of dirs or
 * below one, compared by inode; 0 when not; -errno when path's directory
 * cannot be resolved. dirs that cannot be resolved match nothing. */
int socket_path_in_directories(const char *path, const char *const *dirs);

/* Creates directory path (its last component; its parent resolved as
 * above) with mode when it does not exist. 1 created, 0 there already
 * (a directory), -ENOTDIR something else is there, -errno. */
int socket_directory_create(const char *path, mode_t mode);

/* path for a log line or an error message: control characters and
 * backslashes as C escapes (\n, \177, \\), so it cannot forge a line. */
char *socket_path_escape(const char *path);

/* What -ENOTSOCK, -EADDRINUSE, -ELOOP and -EILSEQ (a control character)
 * mean for a socket path, else strerror(). */
const char *socket_error_to_string(int error);
