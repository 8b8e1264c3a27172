/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Things that are not ours to replace, planted where the service is told
 * to listen: a regular file with data, a FIFO, a symlink to a file, a
 * directory, another process's live listening socket, and a path whose
 * parent is a symlink into a root-only directory. Each is photographed
 * (type, inode, mode, owner, times, content) when made, so a test can
 * assert that a refused listen left it byte-identical. */

#include <stdbool.h>
#include <sys/stat.h>

typedef enum {
        DECOY_FILE,
        DECOY_FIFO,
        DECOY_SYMLINK,
        DECOY_DIRECTORY,
        DECOY_LIVE_SOCKET,
        DECOY_SYMLINKED_PARENT,
        DECOY_N,
} DecoyKind;

typedef struct {
        char *path; /* what it looks like on disk */
        struct stat st;
        char *content; /* file bytes, link target, or directory listing */
} DecoyPhoto;

typedef struct {
        DecoyKind kind;
        const char *what;     /* "a regular file with data", ... */
        const char *error;    /* the D-Bus error AddPeer fails with */
        const char *log_text; /* what vhost-shared's refusal says */
        char *path;           /* the socket path to try */
        DecoyPhoto photos[2]; /* the decoy and what it points to */
        unsigned n_photos;
        int listen_fd; /* DECOY_LIVE_SOCKET: the test's own listener */
} Decoy;

typedef struct {
        char *dir;
        Decoy decoys[DECOY_N];
} DecoySet;

/* Plants every decoy in dir/decoys (created), which tests may reach as
 * another uid (0755). */
void decoys_plant(DecoySet *s, const char *dir);
/* Fails the test unless every decoy is as it was planted, and the live
 * socket still reaches the test's listener (not the service). */
void decoys_assert_intact(DecoySet *s);
void decoys_clear(DecoySet *s);

/* Fails the test unless path is as photographed. */
void decoy_photo_take(DecoyPhoto *p, const char *path);
void decoy_photo_assert(const DecoyPhoto *p);
void decoy_photo_clear(DecoyPhoto *p);
