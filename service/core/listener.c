/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets (--accept for back-ends, --serve for VMMs, AddPeer):
 * binding them, the list of listeners with their observers and properties,
 * accepting connections as peers, refusing uids not on the socket's
 * allow-list and connections over MaxPeers, and pausing accept while the
 * process is out of fds. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buffer-rule.h"
#include "cleanup.h"
#include "enum-name.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"
#include "socket-util.h"
#include "state-record.h"

#define ACCEPT_PAUSE_USEC (200 * 1000)

struct Listener {
        Service *service;
        uint64_t id;             /* never reused in the process */
        char *path;              /* as given: what is bound and unlinked */
        char *normalised;        /* absolute, lexically normalised: to compare */
        dev_t dev;               /* the socket file bound, to compare */
        ino_t ino;               /* (with dev) */
        uid_t owner;             /* who asked for it */
        gid_t group;             /* the socket file's, as created */
        mode_t mode;             /* its permission bits, as created */
        uint64_t accepted_count; /* connections made peers */
        uint64_t created_usec;   /* CLOCK_REALTIME */
        Role role;               /* of the peers it accepts */
        ServeOptions serve;      /* ROLE_BACKEND: what the bridge presents */
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
                /* Kept for the next instance: its socket is in the fd store. */
                if (!l->service->keep_socket_files)
                        (void) socket_unlink_if_same(l->path, &l->file);
        }
        g_free(l->path);
        g_free(l->normalised);
        g_free(l);
}

DEFINE_FREEP(Listener, listener_free);

static void service_notify_listener(Service *s, Listener *l, ListenerEvent ev);

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
        l->accepted_count++;
        service_notify_listener(s, l, LISTENER_EVENT_CHANGED);
        return 0;
}

int service_set_allowed_uids(Service *s, const char *path, const uid_t *uids, unsigned n)
{
        Listener *l = service_find_listener_by_path(s, path);

        if (n > SERVICE_MAX_ALLOWED_UIDS)
                return -E2BIG;
        if (!l)
                return -ENOENT;
        memcpy(l->allowed_uids, uids, n * sizeof(uid_t));
        l->n_allowed_uids = n;
        return 0;
}

int service_set_accepted_buffers(Service *s, const char *path, unsigned kinds)
{
        Listener *l = service_find_listener_by_path(s, path);
        char text[BUFFER_KINDS_STRING_MAX];

        if (!l)
                return -ENOENT;
        l->serve.accepted_buffers = kinds;
        log_info("%s: buffers accepted from its peers: %s (AcceptedBuffers=)", l->path,
                 buffer_kinds_to_string(kinds ? kinds : s->config.accepted_buffers, text));
        return 0;
}

/* ---- listening ---- */

/* What the socket file is, as created: the file to compare other paths
 * with, and its group and mode for the D-Bus object. */
static int listener_stat_socket(Listener *l)
{
        struct stat st;

        if (stat(l->path, &st) < 0)
                return log_error_errno(-errno, "Failed to stat the new socket %s: %m", l->path);
        l->dev = st.st_dev;
        l->ino = st.st_ino;
        l->group = st.st_gid;
        l->mode = st.st_mode & 07777;
        return 0;
}

int service_add_listener(Service *s, const char *path, Role role, const ServeOptions *opts,
                         uid_t owner, Listener **ret)
{
        _cleanup_(listener_freep) Listener *l = NULL;
        const SocketAccess access = {s->config.socket_mode, s->config.socket_uid,
                                     s->config.socket_gid};
        _cleanup_close_ int fd = -1;
        SocketFile file;
        Listener *added;
        int r;

        if (opts && (opts->queues < 1 || opts->queues > 64))
                return -EINVAL;
        /* Before anything touches the file: it may be our own socket. */
        if (service_find_listener_by_path(s, path))
                return log_warning_errno(-EEXIST, "cannot listen on %s: already listening there",
                                         path);
        r = socket_listen_at(path, &access, &fd, &file);
        if (r < 0) { /* the log escapes the path */
                log_error("cannot listen on %s: %s", path, socket_error_to_string(r));
                return r;
        }

        l = g_new0(Listener, 1);
        l->service = s;
        l->path = g_strdup(path);
        l->fd = g_steal_fd(&fd); /* from here on, freeing l unlinks path */
        l->normalised = g_canonicalize_filename(path, NULL);
        l->owner = owner;
        l->created_usec = g_get_real_time();
        l->file = file;
        l->role = role;
        l->n_allowed_uids = s->config.n_allowed_uids;
        memcpy(l->allowed_uids, s->config.allowed_uids, sizeof(l->allowed_uids));
        if (opts)
                l->serve = *opts;
        else
                serve_options_init(&l->serve, &s->config);
        r = listener_stat_socket(l);
        if (r < 0)
                return r;
        r = sd_event_add_io(s->event, &l->io, l->fd, EPOLLIN, listener_on_accept, l);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", path);
        l->id = s->next_listener_id++;
        if (role == ROLE_FRONTEND)
                log_info("listening for back-ends on %s", path);
        else
                log_info("listening for front-ends on %s (virtio device %u, %u queue(s), "
                         "REPLY_ACK %s)",
                         path, l->serve.device_id, l->serve.queues,
                         l->serve.reply_ack ? "offered" : "not offered");
        added = g_steal_pointer(&l);
        g_ptr_array_add(s->listeners, added);
        service_notify_listener(s, added, LISTENER_EVENT_NEW);
        if (ret)
                *ret = added;
        return 0;
}

int service_listen_backends(Service *s, const char *path)
{
        return service_add_listener(s, path, ROLE_FRONTEND, NULL, 0, NULL);
}

int service_listen_frontends(Service *s, const char *path)
{
        return service_add_listener(s, path, ROLE_BACKEND, NULL, 0, NULL);
}

int service_listen_frontends_with(Service *s, const char *path, const ServeOptions *opts)
{
        return service_add_listener(s, path, ROLE_BACKEND, opts, 0, NULL);
}

/* ---- the list and its observers ---- */

unsigned service_n_listeners(Service *s)
{
        return s->listeners->len;
}

void service_foreach_listener(Service *s, bool (*fn)(Listener *l, void *userdata), void *userdata)
{
        for (guint i = 0; i < s->listeners->len; i++)
                if (!fn(g_ptr_array_index(s->listeners, i), userdata))
                        return;
}

Listener *service_find_listener(Service *s, uint64_t id)
{
        for (guint i = 0; i < s->listeners->len; i++) {
                Listener *l = g_ptr_array_index(s->listeners, i);

                if (l->id == id)
                        return l;
        }
        return NULL;
}

Listener *service_find_listener_by_path(Service *s, const char *path)
{
        g_autofree char *normalised = g_canonicalize_filename(path, NULL);
        struct stat st;
        bool exists = stat(path, &st) == 0;

        for (guint i = 0; i < s->listeners->len; i++) {
                Listener *l = g_ptr_array_index(s->listeners, i);

                if (strcmp(l->normalised, normalised) == 0 ||
                    (exists && st.st_dev == l->dev && st.st_ino == l->ino))
                        return l;
        }
        return NULL;
}

void service_remove_listener(Service *s, Listener *l)
{
        log_info("closing the listening socket %s", l->path);
        g_ptr_array_remove(s->listeners, l);
        service_notify_listener(s, l, LISTENER_EVENT_GONE);
        listener_free(l);
}

unsigned service_add_listener_observer(Service *s, ListenerObserverFn fn, void *userdata)
{
        return observer_list_add(s->listener_observers, (ObserverFn) fn, userdata);
}

void service_remove_listener_observer(Service *s, unsigned id)
{
        observer_list_remove(s->listener_observers, id);
}

static void service_notify_listener(Service *s, Listener *l, ListenerEvent ev)
{
        ObserverIter it;

        for (observer_list_begin(s->listener_observers, &it);
             observer_list_next(s->listener_observers, &it);)
                ((ListenerObserverFn) it.fn)(s, l, ev, it.userdata);
        observer_list_end(s->listener_observers);
}

/* ---- properties ---- */

uint64_t listener_get_id(const Listener *l)
{
        return l->id;
}

const char *listener_get_path(const Listener *l)
{
        return l->path;
}

Role listener_get_role(const Listener *l)
{
        return l->role;
}

uid_t listener_get_owner(const Listener *l)
{
        return l->owner;
}

gid_t listener_get_group(const Listener *l)
{
        return l->group;
}

mode_t listener_get_mode(const Listener *l)
{
        return l->mode;
}

uint64_t listener_get_accepted_count(const Listener *l)
{
        return l->accepted_count;
}

uint64_t listener_get_created_usec(const Listener *l)
{
        return l->created_usec;
}

static const char *const listener_role_names[] = {
    [ROLE_FRONTEND] = "accept",
    [ROLE_BACKEND] = "serve",
};
DEFINE_ENUM_TO_STRING(listener_role, Role);

/* ---- restart (state-restore.c) ---- */

int listener_restore(Service *s, int fd, const StateListener *st, Listener **ret)
{
        _cleanup_(listener_freep) Listener *l = NULL;
        int accepting = 0, domain = 0, flags;
        socklen_t len = sizeof(int);
        struct stat sb;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0 || !accepting ||
            getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
                return -ENOTSOCK;
        /* The file may have gone (a cleaned runtime directory) or been
         * replaced: then the stored socket is unreachable. */
        if (stat(st->path, &sb) < 0 || !S_ISSOCK(sb.st_mode) || sb.st_dev != st->dev ||
            sb.st_ino != st->ino)
                return -ESTALE;
        if (service_find_listener_by_path(s, st->path) || service_find_listener(s, st->id))
                return -EEXIST;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        l = g_new0(Listener, 1);
        l->fd = -1;
        l->service = s;
        l->path = g_strdup(st->path);
        l->normalised = g_canonicalize_filename(st->path, NULL);
        l->id = st->id;
        l->dev = st->dev;
        l->ino = st->ino;
        l->file = (SocketFile){.dev = st->dev, .ino = st->ino};
        l->owner = st->owner;
        l->group = sb.st_gid;
        l->mode = sb.st_mode & 07777;
        l->accepted_count = st->accepted_count;
        l->created_usec = st->created_usec;
        l->role = st->role;
        l->serve = st->serve;
        l->n_allowed_uids = st->n_allowed_uids;
        memcpy(l->allowed_uids, st->allowed_uids, sizeof(l->allowed_uids));
        r = sd_event_add_io(s->event, &l->io, fd, EPOLLIN, listener_on_accept, l);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", st->path);
        l->fd = fd; /* taken: success from here on */
        if (s->next_listener_id <= l->id)
                s->next_listener_id = l->id + 1;
        log_info("listening again on %s (%s, kept across the restart)", l->path,
                 listener_role_to_string(l->role));
        g_ptr_array_add(s->listeners, l);
        service_notify_listener(s, l, LISTENER_EVENT_NEW);
        if (ret)
                *ret = l;
        g_steal_pointer(&l);
        return 0;
}

void listener_describe(const Listener *l, StateListener *st)
{
        st->id = l->id;
        st->path = g_strdup(l->path);
        st->role = l->role;
        st->owner = l->owner;
        st->group = l->group;
        st->mode = l->mode;
        st->dev = l->dev;
        st->ino = l->ino;
        st->created_usec = l->created_usec;
        st->accepted_count = l->accepted_count;
        st->serve = l->serve;
        st->n_allowed_uids = l->n_allowed_uids;
        memcpy(st->allowed_uids, l->allowed_uids, sizeof(st->allowed_uids));
}

void service_stop_accepting(Service *s)
{
        for (guint i = 0; i < s->listeners->len; i++) {
                Listener *l = g_ptr_array_index(s->listeners, i);

                l->resume = sd_event_source_disable_unref(l->resume);
                (void) sd_event_source_set_enabled(l->io, SD_EVENT_OFF); /* stopping anyway */
        }
}

int listener_get_fd(const Listener *l)
{
        return l->fd;
}
