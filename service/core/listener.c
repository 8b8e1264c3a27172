/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets (--accept for back-ends, --serve for VMMs): binding
 * them, accepting connections as peers, refusing uids not on the socket's
 * allow-list and connections over MaxPeers, and pausing accept while the
 * process is out of fds. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"
#include "socket-util.h"

#define ACCEPT_PAUSE_USEC (200 * 1000)

struct Listener {
        Service *service;
        char *path;
        Role role;          /* of the peers it accepts */
        ServeOptions serve; /* ROLE_BACKEND: what the bridge presents */
        int fd;
        SocketFile file; /* what to unlink, if it is still there */
        sd_event_source *io;
        sd_event_source *resume; /* accept paused: out of fds */
        bool starved;            /* logged the shortage, not yet recovered */
        unsigned n_allowed_uids;
        uid_t allowed_uids[SERVICE_MAX_ALLOWED_UIDS];
};

void listener_free(Listener *l)
{
        if (!l)
                return;
        sd_event_source_disable_unref(l->io);
        sd_event_source_disable_unref(l->resume);
        if (l->fd >= 0) {
                close(l->fd);
                (void) socket_unlink_if_same(l->path, &l->file);
        }
        g_free(l->path);
        g_free(l);
}

DEFINE_FREEP(Listener, listener_free);

int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof(sa->sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path %s unusable: %m", path);
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        memcpy(sa->sun_path, path, n);
        *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

/* ---- out of fds: pausing accept ---- */

static void listener_pause(Listener *l, int error);

static int listener_on_resume(sd_event_source *src, uint64_t usec, void *userdata)
{
        Listener *l = userdata;
        int r;

        l->resume = sd_event_source_disable_unref(l->resume);
        r = sd_event_source_set_enabled(l->io, SD_EVENT_ON);
        if (r < 0)
                listener_pause(l, r); /* try again later */
        return 0;
}

/* Arms the resume timer; io stays off until it fires. */
static int listener_arm_resume(Listener *l)
{
        uint64_t now;
        int r;

        r = sd_event_source_set_enabled(l->io, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_now(l->service->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        return sd_event_add_time(l->service->event, &l->resume, CLOCK_MONOTONIC,
                                 now + ACCEPT_PAUSE_USEC, 0, listener_on_resume, l);
}

/* Out of fds (or memory): the connection stays in the backlog and the socket
 * stays readable, so accepting again at once would spin. Pause, try again
 * later; log the shortage once, and its end. */
static void listener_pause(Listener *l, int error)
{
        int r;

        if (!l->starved)
                log_warning_errno(error,
                                  "accept on %s failed; pausing it, retrying every %u ms: %m",
                                  l->path, (unsigned) (ACCEPT_PAUSE_USEC / 1000));
        l->starved = true;
        r = listener_arm_resume(l);
        if (r >= 0)
                return;
        /* Better spin than stop accepting for good. */
        log_error_errno(r, "Failed to pause accepting on %s, accepting at once: %m", l->path);
        r = sd_event_source_set_enabled(l->io, SD_EVENT_ON);
        if (r < 0)
                log_error_errno(r, "Failed to accept on %s again; it accepts no more: %m", l->path);
}

/* ---- accepting ---- */

static bool listener_allows(const Listener *l, uid_t uid)
{
        if (l->n_allowed_uids == 0)
                return true;
        for (unsigned i = 0; i < l->n_allowed_uids; i++)
                if (l->allowed_uids[i] == uid)
                        return true;
        return false;
}

static int listener_on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Listener *l = userdata;
        Service *s = l->service;
        _cleanup_close_ int cfd = -1;
        struct ucred cred = {.uid = (uid_t) -1};
        socklen_t len = sizeof(cred);
        Peer *p;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                r = -errno;
                if (r == -EAGAIN || r == -EINTR || r == -ECONNABORTED)
                        return 0;
                if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM)
                        listener_pause(l, r);
                else
                        log_warning_errno(r, "accept on %s failed: %m", l->path);
                return 0;
        }
        if (l->starved) {
                log_info("accepting on %s again", l->path);
                l->starved = false;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                cred.uid = (uid_t) -1;
        if (!listener_allows(l, cred.uid)) {
                log_warning("%s: refusing a connection from uid %d (pid %d): not in AllowedUids",
                            l->path, (int) cred.uid, (int) cred.pid);
                return 0;
        }
        if (service_peers_at_limit(s)) {
                log_warning("%s: refusing a connection, %u peers is the limit", l->path,
                            s->config.max_peers);
                return 0;
        }
        p = peer_new(s, l->role, l->path, "on ");
        p->serve = l->serve;
        peer_start(p, g_steal_fd(&cfd));
        return 0;
}

int service_set_allowed_uids(Service *s, const char *path, const uid_t *uids, unsigned n)
{
        if (n > SERVICE_MAX_ALLOWED_UIDS)
                return -E2BIG;
        for (guint i = 0; i < s->listeners->len; i++) {
                Listener *l = g_ptr_array_index(s->listeners, i);

                if (g_strcmp0(l->path, path) != 0)
                        continue;
                memcpy(l->allowed_uids, uids, n * sizeof(uid_t));
                l->n_allowed_uids = n;
                return 0;
        }
        return -ENOENT;
}

/* ---- listening ---- */

static int service_listen(Service *s, const char *path, Role role, const ServeOptions *opts)
{
        _cleanup_(listener_freep) Listener *l = NULL;
        const SocketAccess access = {s->config.socket_mode, s->config.socket_uid,
                                     s->config.socket_gid};
        _cleanup_close_ int fd = -1;
        SocketFile file;
        int r;

        r = socket_listen_at(path, &access, &fd, &file);
        if (r < 0) {
                g_autofree char *shown = socket_path_escape(path);

                log_error("cannot listen on %s: %s", shown, socket_error_to_string(r));
                return r;
        }

        l = g_new0(Listener, 1);
        l->service = s;
        l->path = g_strdup(path);
        l->fd = g_steal_fd(&fd); /* from here on, freeing l unlinks path */
        l->file = file;
        l->role = role;
        l->n_allowed_uids = s->config.n_allowed_uids;
        memcpy(l->allowed_uids, s->config.allowed_uids, sizeof(l->allowed_uids));
        if (opts)
                l->serve = *opts;
        else
                serve_options_init(&l->serve, &s->config);
        r = sd_event_add_io(s->event, &l->io, l->fd, EPOLLIN, listener_on_accept, l);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", path);
        if (role == ROLE_FRONTEND)
                log_info("listening for back-ends on %s", path);
        else
                log_info("listening for front-ends on %s (virtio device %u, %u queue(s), "
                         "REPLY_ACK %s)",
                         path, l->serve.device_id, l->serve.queues,
                         l->serve.reply_ack ? "offered" : "not offered");
        g_ptr_array_add(s->listeners, g_steal_pointer(&l));
        return 0;
}

int service_listen_backends(Service *s, const char *path)
{
        return service_listen(s, path, ROLE_FRONTEND, NULL);
}

int service_listen_frontends(Service *s, const char *path)
{
        return service_listen(s, path, ROLE_BACKEND, NULL);
}

int service_listen_frontends_with(Service *s, const char *path, const ServeOptions *opts)
{
        if (opts->queues < 1 || opts->queues > 64)
                return -EINVAL;
        return service_listen(s, path, ROLE_BACKEND, opts);
}
