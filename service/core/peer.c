/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A peer's life, whichever the role: created (accepted, adopted or
 * connecting), started on its socket (the hub or the bridge takes over),
 * failed or closed, reconnected with backoff (--connect), freed. And what
 * the layers above may ask of peers: the list, the lookup by id, the
 * properties.
 *
 * Freeing. A closed peer is unlinked and silenced at once (off the list and
 * the id table, its sources and fds released, its entries purged, its
 * lookups failed), but its memory is freed later, by the service's reap
 * source, once control is back in the event loop. A peer closes from
 * frames that are not its own dispatch and read it afterwards: its
 * observers (peer_fail_errno and service_close_peer read p after notifying,
 * bridge_on_change after peer_set_state), a failed send inside an ADD walk
 * (announce_one) or a GET (hub_peer_get_shared_object), its own lookup of
 * an object it exports (peer_lookup_start), and callers of the public
 * service_close_peer(). The house idiom (docs/hacking.md, dispatching +
 * dead) would need each of them to hold p; the loop is their one outermost
 * frame. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "enum-name.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"
#include "socket-util.h"
#include "utf8.h"

#define CONNECT_BACKOFF_MIN_USEC (50 * 1000)
#define CONNECT_BACKOFF_MAX_USEC (5 * 1000 * 1000)

Peer *peer_new(Service *s, Role role, const char *path, const char *how)
{
        Peer *p = g_new0(Peer, 1);

        p->service = s;
        p->id = s->next_peer_id++;
        p->role = role;
        p->state = PEER_STATE_CONNECTING;
        p->socket_path = g_strdup(path);
        p->label =
            g_strdup_printf("%s#%llu", role_remote_to_string(role), (unsigned long long) p->id);
        p->name = g_strdup_printf("%s(%s%s)", p->label, how, path);
        p->uid = (uid_t) -1;
        share_owner_init(&p->owner, SHARE_OWNER_PEER, p->name, (uid_t) -1);
        serve_options_init(&p->serve, &s->config); /* a listener may say otherwise */
        p->owner.max_entries = s->config.max_objects_per_peer;
        p->owner.userdata = p;
        g_queue_push_tail(&s->peers, p);
        g_hash_table_insert(s->peers_by_id, &p->id, p);
        service_notify_peer(s, p, PEER_EVENT_NEW);
        return p;
}

/* Read while the peer's socket is open, so the pid is still its own. */
static void read_command(pid_t pid, char *out, size_t n)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/comm", (int) pid);
        g_autofree char *text = NULL;

        out[0] = 0;
        if (pid > 0 && g_file_get_contents(path, &text, NULL, NULL))
                utf8_copy_valid(out, n, g_strchomp(text));
}

static void peer_read_credentials(Peer *p, int fd)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                p->pid = cred.pid;
                p->uid = cred.uid;
                p->owner.uid = cred.uid;
                read_command(cred.pid, p->command, sizeof(p->command));
        }
}

const char *peer_command(const Peer *p)
{
        return p->command;
}

void peer_start(Peer *p, int fd)
{
        int r;

        peer_read_credentials(p, fd);
        /* A back-end that keeps hanging up in the handshake is logged once. */
        log_internal(p->broke_unready ? LOG_DEBUG : LOG_INFO, 0, "%s: connected (pid %d, uid %d)",
                     p->name, (int) p->pid, (int) p->uid);
        r = p->role == ROLE_FRONTEND ? hub_peer_start(p, fd) : bridge_peer_start(p, fd);
        if (r < 0) {
                close(fd);
                peer_fail(p, "cannot watch the socket");
                return;
        }
        if (p->frontend && p->service->input_paused)
                vu_frontend_pause_requests(p->frontend, true);
}

void service_pause_input(Service *s, bool paused)
{
        s->input_paused = paused;
        /* A peer whose socket cannot be rewatched fails and leaves the list. */
        for (GList *l = s->peers.head; l;) {
                Peer *p = l->data;
                l = l->next;
                if (p->frontend)
                        vu_frontend_pause_requests(p->frontend, paused);
        }
}

bool service_peers_at_limit(const Service *s)
{
        return s->config.max_peers && s->peers.length >= s->config.max_peers;
}

int service_adopt_peer(Service *s, Role role, int fd, const char *label, Peer **ret)
{
        Peer *p;

        if (service_peers_at_limit(s))
                return -EUSERS;
        p = peer_new(s, role, label, "fd ");
        peer_start(p, fd);
        if (ret)
                *ret = p;
        return 0;
}

void peer_set_state(Peer *p, PeerState state)
{
        if (p->state == state)
                return;
        p->state = state;
        /* Only a completed handshake proves the back-end works: a peer that
         * accepts and hangs up keeps backing off. */
        if (state == PEER_STATE_READY && p->reconnect) {
                p->backoff_usec = 0;
                p->broke_unready = false;
                p->last_error[0] = 0;
        }
        service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
}

void peer_set_error(Peer *p, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(p->last_error, sizeof(p->last_error), fmt, ap);
        va_end(ap);
        if (p->state != PEER_STATE_CLOSED)
                service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
}

/* Drops the connection and everything that hangs off it. */
static void peer_disconnect(Peer *p)
{
        unsigned purged;

        peer_forget_lookups(p);
        if (p->role == ROLE_FRONTEND)
                hub_peer_stop(p);
        else
                bridge_peer_stop(p);
        g_clear_pointer(&p->store_prefix, g_free); /* that connection is gone */
        purged = share_table_remove_owner(p->service->table, &p->owner);
        if (purged > 0)
                log_info("%s: %u shared object(s) purged", p->name, purged);
        p->exported_count = 0;
}

/* ---- reconnecting (--connect) ---- */

/* What a back-end that starts or restarts leaves at its path: nothing yet
 * (ENOENT), a stale socket of its last run (ECONNREFUSED), a full backlog
 * (EAGAIN). Any other connect() error (a file that is no socket, a file in
 * the path, a datagram socket, a path the service may not reach) is the
 * path's fault and fails AddPeer and --connect at once. A peer that exists
 * retries whatever the error: it was asked for, and LastError tells why it
 * waits. */
static bool connect_error_is_transient(int error)
{
        return error == -ENOENT || error == -ECONNREFUSED || error == -EAGAIN;
}

/* path and other name one socket: the same path once normalised ("//",
 * "/./", "/../"), or the same inode (st: path's, NULL when it does not
 * exist) through a symlink or a hard link. As listener.c tells sockets
 * apart. */
static bool same_socket_file(const char *path, const struct stat *st, const char *other)
{
        g_autofree char *a = g_canonicalize_filename(path, NULL);
        g_autofree char *b = g_canonicalize_filename(other, NULL);
        struct stat ost;

        if (strcmp(a, b) == 0)
                return true;
        return st && stat(other, &ost) == 0 && ost.st_dev == st->st_dev && ost.st_ino == st->st_ino;
}

static bool service_connects_to(Service *s, const char *path)
{
        struct stat st;
        bool exists = stat(path, &st) == 0;

        for (GList *l = s->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->reconnect && same_socket_file(path, exists ? &st : NULL, p->socket_path))
                        return true;
        }
        return false;
}

/* One connect() to the back-end at path: the connected socket, or -errno:
 * connect()'s, -ENOTSOCK for a file that is not a socket (connect() says
 * ECONNREFUSED there, as for a stale socket), -EEXIST for one of the
 * service's own listening sockets. */
static int connect_backend_socket(Service *s, const char *path, int *ret_fd)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        struct stat st;
        socklen_t len;
        int r;

        r = unix_address(path, &sa, &len);
        if (r < 0)
                return r;
        /* A peer there would be the service talking to itself. */
        if (service_find_listener_by_path(s, path))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, len) < 0) {
                r = -errno;
                if (r == -ECONNREFUSED && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
                        return -ENOTSOCK;
                return r;
        }
        *ret_fd = g_steal_fd(&fd);
        return 0;
}

static const char *connect_error_text(int error)
{
        return error == -EEXIST ? "the service's own listening socket" : strerror(-error);
}

static int peer_on_retry(sd_event_source *src, uint64_t usec, void *userdata);

/* Arms the next attempt, waiting twice as long as the last time. */
static int peer_arm_retry(Peer *p)
{
        uint64_t now, now_realtime;
        int r;

        p->backoff_usec = p->backoff_usec ? MIN(p->backoff_usec * 2, CONNECT_BACKOFF_MAX_USEC)
                                          : CONNECT_BACKOFF_MIN_USEC;
        p->retry = sd_event_source_disable_unref(p->retry);
        r = sd_event_now(p->service->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to read the clock for a retry: %m", p->name);
        r = sd_event_now(p->service->event, CLOCK_REALTIME, &now_realtime);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to read the clock for a retry: %m", p->name);
        r = sd_event_add_time(p->service->event, &p->retry, CLOCK_MONOTONIC, now + p->backoff_usec,
                              VU_DEADLINE_ACCURACY_USEC, peer_on_retry, p);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to arm a retry: %m", p->name);
        p->next_retry_usec = now_realtime + p->backoff_usec;
        return 0;
}

/* A reconnecting peer without a connection waits for its next attempt:
 * state "waiting", why in LastError, when in NextRetryTimestamp. A reason
 * is logged at level when it is new, at debug while it repeats. Fails only
 * when the retry cannot be armed (the caller closes the peer). */
static int peer_wait(Peer *p, int level, const char *why)
{
        bool repeated = strcmp(p->last_error, why) == 0;
        int r;

        r = peer_arm_retry(p);
        if (r < 0)
                return r;
        log_internal(repeated ? LOG_DEBUG : level, 0, "%s: %s; retrying in %llu ms", p->name, why,
                     (unsigned long long) (p->backoff_usec / 1000));
        g_strlcpy(p->last_error, why, sizeof(p->last_error));
        p->state = PEER_STATE_WAITING;
        service_notify_peer(p->service, p, PEER_EVENT_CHANGED);
        return 0;
}

static int peer_on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
        Peer *p = userdata;
        _cleanup_close_ int fd = -1;
        g_autofree char *why = NULL;
        int r;

        p->retry = sd_event_source_disable_unref(p->retry);
        p->next_retry_usec = 0;
        r = connect_backend_socket(p->service, p->socket_path, &fd);
        if (r >= 0) {
                peer_start(p, g_steal_fd(&fd));
                return 0;
        }
        why = g_strdup_printf("connect: %s", connect_error_text(r));
        r = peer_wait(p, LOG_WARNING, why);
        if (r < 0) /* no retry armed: it would wait for ever */
                service_close_peer(p->service, p, "cannot retry");
        return 0;
}

int service_connect_backend(Service *s, const char *path, Peer **ret)
{
        _cleanup_close_ int fd = -1;
        g_autofree char *why = NULL;
        struct sockaddr_un sa;
        socklen_t len;
        Peer *p;
        int r;

        if (path[0] != '/')
                return log_error_errno(-EINVAL, "Cannot connect to %s: not an absolute path: %m",
                                       path);
        if (socket_path_has_control(path) || !g_utf8_validate(path, -1, NULL))
                return log_error_errno(-EILSEQ, "Cannot connect to %s: %s", path,
                                       socket_error_to_string(-EILSEQ));
        r = unix_address(path, &sa, &len); /* logs why not */
        if (r < 0)
                return r;
        if (service_connects_to(s, path)) {
                log_error("Cannot connect to %s: a peer already connects to that socket", path);
                return -EEXIST;
        }
        if (service_peers_at_limit(s))
                return log_warning_errno(-EUSERS, "Cannot connect to %s: MaxPeers=%u reached: %m",
                                         path, s->config.max_peers);
        r = connect_backend_socket(s, path, &fd);
        if (r == -EEXIST) {
                log_error("Cannot connect to %s: it is the service's own listening socket", path);
                return r;
        }
        if (r < 0 && !connect_error_is_transient(r))
                return log_error_errno(r, "Cannot connect to %s: %m", path);

        p = peer_new(s, ROLE_FRONTEND, path, "");
        p->reconnect = true;
        if (r >= 0)
                peer_start(p, g_steal_fd(&fd));
        else {
                why = g_strdup_printf("connect: %s", connect_error_text(r));
                r = peer_wait(p, LOG_WARNING, why);
                if (r < 0) {
                        service_close_peer(s, p, "cannot retry");
                        return r;
                }
        }
        if (ret)
                *ret = p;
        return 0;
}

/* ---- failing, closing, freeing ---- */

void peer_fail(Peer *p, const char *reason)
{
        peer_fail_errno(p, -EPROTO, reason);
}

/* A peer that closed its socket after its handshake, with nothing of it
 * pending (no lookup it waits for, no GET we wait for): a normal exit. */
static bool peer_left_cleanly(const Peer *p, int error)
{
        return error == -EPIPE && p->state == PEER_STATE_READY && p->pending_gets == 0 &&
               p->importing.length == 0;
}

void peer_fail_errno(Peer *p, int error, const char *reason)
{
        /* A peer that hangs up is leaving, not misbehaving. */
        int level = error == -EPIPE ? LOG_INFO : LOG_WARNING;

        if (p->state == PEER_STATE_CLOSED)
                return;
        /* A connect peer still waits, and says why in LastError. */
        if (!p->reconnect && peer_left_cleanly(p, error)) {
                service_close_peer(p->service, p, reason);
                return;
        }
        if (p->reconnect) {
                p->broke_unready = p->state != PEER_STATE_READY;
                peer_disconnect(p);
                if (p->state == PEER_STATE_CLOSED) /* an observer closed it */
                        return;
                if (peer_wait(p, level, reason) >= 0)
                        return;
                reason = "cannot retry"; /* or it would stay "waiting" for ever */
        } else
                log_internal(level, 0, "%s: %s; disconnecting", p->name, reason);
        peer_set_error(p, "%s", reason);
        if (p->state == PEER_STATE_CLOSED) /* an observer closed it */
                return;
        service_close_peer(p->service, p, reason);
}

void service_close_peer(Service *s, Peer *p, const char *reason)
{
        int r;

        if (p->state == PEER_STATE_CLOSED)
                return;
        log_info("%s: closed (%s)", p->name, reason);
        p->retry = sd_event_source_disable_unref(p->retry);
        peer_disconnect(p);
        p->state = PEER_STATE_CLOSED;
        service_notify_peer(s, p, PEER_EVENT_GONE);
        g_queue_remove(&s->peers, p);
        g_hash_table_remove(s->peers_by_id, &p->id);
        /* The caller may be inside one of the peer's callbacks: free later. */
        g_queue_push_tail(&s->closing, p);
        r = sd_event_source_set_enabled(s->reap, SD_EVENT_ONESHOT);
        /* -ESTALE: the loop has finished (the service stops); service_free()
         * frees the closed peers then, as intended. */
        if (r < 0 && r != -ESTALE)
                log_error_errno(r,
                                "%s: Failed to schedule freeing the closed peer, "
                                "kept until the service stops: %m",
                                p->name);
}

static void peer_destroy(Peer *p)
{
        sd_event_source_disable_unref(p->retry);
        share_owner_clear(&p->owner);
        g_free(p->name);
        g_free(p->label);
        g_free(p->socket_path);
        g_free(p->store_prefix);
        g_free(p);
}

void service_reap_peers(Service *s)
{
        Peer *p;

        while ((p = g_queue_pop_head(&s->closing)))
                peer_destroy(p);
}

/* ---- the peers as the layers above see them ---- */

unsigned service_n_peers(Service *s)
{
        return s->peers.length;
}

void service_foreach_peer(Service *s, bool (*fn)(Peer *p, void *userdata), void *userdata)
{
        for (GList *l = s->peers.head; l;) {
                GList *next = l->next;
                if (!fn(l->data, userdata))
                        return;
                l = next;
        }
}

Peer *service_find_peer(Service *s, uint64_t id)
{
        return g_hash_table_lookup(s->peers_by_id, &id);
}

uint64_t peer_id(const Peer *p)
{
        return p->id;
}

Role peer_role(const Peer *p)
{
        return p->role;
}

PeerState peer_state(const Peer *p)
{
        return p->state;
}

const char *peer_name(const Peer *p)
{
        return p->label;
}

const char *peer_socket_path(const Peer *p)
{
        return p->socket_path;
}

/* What the peer's engine negotiated; 0 while it has none (connecting, or
 * closed). */
uint64_t peer_features(const Peer *p)
{
        if (p->role == ROLE_FRONTEND)
                return p->frontend ? vu_frontend_negotiated(p->frontend)->features : 0;
        return p->backend ? vu_backend_negotiated(p->backend)->features : 0;
}

uint64_t peer_protocol_features(const Peer *p)
{
        if (p->role == ROLE_FRONTEND)
                return p->frontend ? vu_frontend_negotiated(p->frontend)->protocol_features : 0;
        return p->backend ? vu_backend_negotiated(p->backend)->protocol_features : 0;
}

bool peer_shared_objects(const Peer *p)
{
        if (p->role == ROLE_FRONTEND)
                return p->frontend && vu_frontend_shared_objects(p->frontend);
        return p->backend && vu_backend_shared_objects(p->backend);
}

pid_t peer_pid(const Peer *p)
{
        return p->pid;
}

uid_t peer_uid(const Peer *p)
{
        return p->uid;
}

unsigned peer_exported_count(const Peer *p)
{
        return p->role == ROLE_FRONTEND ? p->owner.n_entries : p->exported_count;
}

const char *peer_last_error(const Peer *p)
{
        return p->last_error;
}

uint64_t peer_next_retry_usec(const Peer *p)
{
        return p->next_retry_usec;
}

ShareOwner *peer_owner(Peer *p)
{
        return &p->owner;
}

static const char *const role_remote_names[] = {
    [ROLE_FRONTEND] = "back-end",
    [ROLE_BACKEND] = "front-end",
};
DEFINE_ENUM_TO_STRING(role_remote, Role);

static const char *const peer_state_names[] = {
    [PEER_STATE_CONNECTING] = "connecting",   [PEER_STATE_WAITING] = "waiting",
    [PEER_STATE_NEGOTIATING] = "negotiating", [PEER_STATE_READY] = "ready",
    [PEER_STATE_CLOSED] = "closed",
};
DEFINE_ENUM_TO_STRING(peer_state, PeerState);
