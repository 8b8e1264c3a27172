/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoys where the service is told to listen (see socket-decoys.h). */
#include "socket-decoys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "test-timeout.h"

#define ERR(name) "org.vhostshare.share1.Error." name

static int compare_names(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *directory_listing(const char *path)
{
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        const char *n;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, (char *) n);
        g_ptr_array_sort(names, compare_names);
        g_ptr_array_add(names, NULL);
        return g_strjoinv("\n", (char **) names->pdata);
}

void decoy_photo_take(DecoyPhoto *p, const char *path)
{
        p->path = g_strdup(path);
        g_assert_cmpint(lstat(path, &p->st), ==, 0);
        if (S_ISREG(p->st.st_mode))
                g_assert_true(g_file_get_contents(path, &p->content, NULL, NULL));
        else if (S_ISLNK(p->st.st_mode))
                p->content = g_file_read_link(path, NULL);
        else if (S_ISDIR(p->st.st_mode))
                p->content = directory_listing(path);
}

void decoy_photo_assert(const DecoyPhoto *p)
{
        g_autofree char *content = NULL;
        struct stat st;

        if (lstat(p->path, &st) < 0)
                g_error("%s is gone: %s", p->path, g_strerror(errno));
        if (S_ISREG(st.st_mode))
                g_assert_true(g_file_get_contents(p->path, &content, NULL, NULL));
        else if (S_ISLNK(st.st_mode))
                content = g_file_read_link(p->path, NULL);
        else if (S_ISDIR(st.st_mode))
                content = directory_listing(p->path);
        if (st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino || st.st_mode != p->st.st_mode ||
            st.st_uid != p->st.st_uid || st.st_gid != p->st.st_gid || st.st_size != p->st.st_size ||
            st.st_mtim.tv_sec != p->st.st_mtim.tv_sec ||
            st.st_mtim.tv_nsec != p->st.st_mtim.tv_nsec ||
            st.st_ctim.tv_sec != p->st.st_ctim.tv_sec ||
            st.st_ctim.tv_nsec != p->st.st_ctim.tv_nsec)
                g_error("%s changed: inode %llu mode 0%o owner %u:%u size %lld -> inode %llu mode "
                        "0%o owner %u:%u size %lld (or its times)",
                        p->path, (unsigned long long) p->st.st_ino, p->st.st_mode, p->st.st_uid,
                        p->st.st_gid, (long long) p->st.st_size, (unsigned long long) st.st_ino,
                        st.st_mode, st.st_uid, st.st_gid, (long long) st.st_size);
        g_assert_cmpstr(content, ==, p->content);
}

void decoy_photo_clear(DecoyPhoto *p)
{
        g_clear_pointer(&p->path, g_free);
        g_clear_pointer(&p->content, g_free);
}

static int listen_at(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(listen(fd, 16), ==, 0);
        return fd;
}

static void write_file(const char *path, const char *data)
{
        g_assert_true(g_file_set_contents(path, data, -1, NULL));
        g_assert_cmpint(chmod(path, 0644), ==, 0);
}

static void plant(DecoySet *s, DecoyKind kind, const char *name)
{
        Decoy *d = &s->decoys[kind];
        g_autofree char *target = NULL;

        d->kind = kind;
        d->listen_fd = -1;
        d->path = g_build_filename(s->dir, name, NULL);
        d->error = ERR("NotASocket");
        d->log_text = "something other than a socket is there";
        switch (kind) {
        case DECOY_FILE:
                d->what = "a regular file with data";
                write_file(d->path, "precious data\n");
                break;
        case DECOY_FIFO:
                d->what = "a FIFO";
                g_assert_cmpint(mkfifo(d->path, 0600), ==, 0);
                break;
        case DECOY_SYMLINK:
                d->what = "a symlink to a file";
                target = g_build_filename(s->dir, "target", NULL);
                write_file(target, "the symlink's target\n");
                g_assert_cmpint(symlink(target, d->path), ==, 0);
                decoy_photo_take(&d->photos[d->n_photos++], target);
                break;
        case DECOY_DIRECTORY:
                d->what = "a directory";
                g_assert_cmpint(mkdir(d->path, 0755), ==, 0);
                target = g_build_filename(d->path, "inside", NULL);
                write_file(target, "in the directory\n");
                break;
        case DECOY_LIVE_SOCKET:
                d->what = "a live socket of another process";
                d->error = ERR("AddressInUse");
                d->log_text = "another process already listens there";
                d->listen_fd = listen_at(d->path);
                break;
        case DECOY_SYMLINKED_PARENT:
                d->what = "a symlinked parent into a root-only directory";
                d->error = ERR("UnsafePath");
                d->log_text = "symbolic link";
                target = g_build_filename(s->dir, "root-only", NULL);
                g_assert_cmpint(mkdir(target, 0700), ==, 0);
                g_free(d->path);
                d->path = g_build_filename(s->dir, "via-link", NULL);
                g_assert_cmpint(symlink(target, d->path), ==, 0);
                decoy_photo_take(&d->photos[d->n_photos++], target);
                break;
        case DECOY_N:
                g_assert_not_reached();
        }
        decoy_photo_take(&d->photos[d->n_photos++], d->path);
        if (kind == DECOY_SYMLINKED_PARENT) {
                char *sock = g_build_filename(d->path, "hub.sock", NULL);

                g_free(d->path);
                d->path = sock;
        }
}

void decoys_plant(DecoySet *s, const char *dir)
{
        static const char *const names[DECOY_N] = {
            [DECOY_FILE] = "file",
            [DECOY_FIFO] = "fifo",
            [DECOY_SYMLINK] = "symlink",
            [DECOY_DIRECTORY] = "directory",
            [DECOY_LIVE_SOCKET] = "live.sock",
            [DECOY_SYMLINKED_PARENT] = NULL,
        };

        s->dir = g_build_filename(dir, "decoys", NULL);
        g_assert_cmpint(mkdir(s->dir, 0755), ==, 0);
        for (int k = 0; k < DECOY_N; k++)
                plant(s, (DecoyKind) k, names[k]);
}

/* A connection to the live socket must reach the test's listener. */
static void assert_still_ours(const Decoy *d)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct pollfd pfd = {.fd = d->listen_fd, .events = POLLIN};
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

        g_strlcpy(sa.sun_path, d->path, sizeof(sa.sun_path));
        g_assert_cmpint(connect(c, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(poll(&pfd, 1, TEST_TIMEOUT_MS), ==, 1);
        /* Drain whatever the service's probe may have left in the backlog. */
        while ((a = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                close(a);
        close(c);
}

void decoys_assert_intact(DecoySet *s)
{
        for (int k = 0; k < DECOY_N; k++) {
                Decoy *d = &s->decoys[k];

                for (unsigned i = 0; i < d->n_photos; i++)
                        decoy_photo_assert(&d->photos[i]);
                if (d->listen_fd >= 0)
                        assert_still_ours(d);
        }
}

void decoys_clear(DecoySet *s)
{
        for (int k = 0; k < DECOY_N; k++) {
                Decoy *d = &s->decoys[k];

                for (unsigned i = 0; i < d->n_photos; i++)
                        decoy_photo_clear(&d->photos[i]);
                if (d->listen_fd >= 0)
                        close(d->listen_fd);
                g_free(d->path);
        }
        g_clear_pointer(&s->dir, g_free);
}
