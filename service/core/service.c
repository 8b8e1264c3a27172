/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service core: peers of both roles, listening sockets, and the lookups
 * that serve a UUID from the table or from its exporter. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "service-private.h"

#define CONNECT_BACKOFF_MIN_USEC (50 * 1000)
#define CONNECT_BACKOFF_MAX_USEC (5 * 1000 * 1000)

typedef struct {
        unsigned id;
        PeerObserverFn fn;
        void *userdata;
} PeerObserver;

void service_config_init_defaults(ServiceConfig *c)
{
        *c = (ServiceConfig){
            .lookup_timeout_usec = 1000 * 1000,
            .reply_timeout_usec = 5 * 1000 * 1000,
            .max_objects_per_peer = 4096,
            .max_objects_per_client = 1024,
            .max_peers = 64,
            .max_pending_lookups_per_peer = 64,
            .max_pending_lookups = 1024,
            .bridge_device_id = 4,
            .bridge_queues = 1,
            .socket_mode = 0660,
            .socket_uid = (uid_t) -1,
            .socket_gid = (gid_t) -1,
        };
}

void serve_options_init(ServeOptions *o, const ServiceConfig *c)
{
        *o = (ServeOptions){
            .device_id = c->bridge_device_id,
            .queues = c->bridge_queues ? c->bridge_queues : 1,
            .reply_ack = true,
        };
}

static void service_on_table_event(ShareTable *t, const ShareEntry *e, ShareEvent ev,
                                   void *userdata)
{
        Service *s = userdata;
        ShareOwner *owner = share_entry_owner(e);
        char ustr[SHARE_UUID_STR_LEN];

        if (ev == SHARE_EVENT_CHANGED)
                return;
        share_uuid_to_string(share_entry_uuid(e), ustr);
        log_debug("object %s %s (%s, owner %s)", ustr,
                  ev == SHARE_EVENT_ADDED ? "added" : "removed",
                  share_type_to_string(share_entry_type(e)), owner ? owner->name : "-");
        bridge_announce(s, e, ev);
        if (owner && owner->kind == SHARE_OWNER_PEER && owner->userdata)
                service_notify_peer(s, owner->userdata, PEER_EVENT_CHANGED);
}

int service_new(sd_event *ev, const ServiceConfig *cfg, Service **ret)
{
        Service *s = g_new0(Service, 1);

        s->event = ev;
        if (cfg)
                s->config = *cfg;
        else
                service_config_init_defaults(&s->config);
        s->table = share_table_new();
        s->listeners = g_ptr_array_new();
        s->peers_by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
        s->peer_observers = g_array_new(false, true, sizeof(PeerObserver));
        s->next_peer_id = 1;
        s->table_observer = share_table_add_observer(s->table, service_on_table_event, s);
        *ret = s;
        return 0;
}

static void listener_free(Listener *l)
{
        sd_event_source_disable_unref(l->io);
        sd_event_source_disable_unref(l->resume);
        if (l->fd >= 0) {
                close(l->fd);
                unlink(l->path);
        }
        g_free(l->path);
        g_free(l);
}

static void peer_destroy(Peer *p);

void service_free(Service *s)
{
        Peer *p;

        if (!s)
                return;
        for (guint i = 0; i < s->listeners->len; i++)
                listener_free(g_ptr_array_index(s->listeners, i));
        g_ptr_array_free(s->listeners, true);
        while ((p = g_queue_peek_head(&s->peers)))
                service_close_peer(s, p, "service stopping");
        /* Closed peers free themselves from a deferred source; do it now. */
        while ((p = g_queue_pop_head(&s->closing)))
                peer_destroy(p);
        share_table_remove_observer(s->table, s->table_observer);
        share_table_free(s->table);
        g_hash_table_destroy(s->peers_by_id);
        g_array_free(s->peer_observers, true);
        g_free(s);
}

ShareTable *service_table(Service *s)
{
        return s->table;
}

sd_event *service_event(Service *s)
{
        return s->event;
}

const ServiceConfig *service_config(Service *s)
{
        return &s->config;
}

unsigned service_add_peer_observer(Service *s, PeerObserverFn fn, void *userdata)
{
        PeerObserver o = {.id = ++s->next_observer_id, .fn = fn, .userdata = userdata};

        g_array_append_val(s->peer_observers, o);
        return o.id;
}

void service_remove_peer_observer(Service *s, unsigned id)
{
        for (guint i = 0; i < s->peer_observers->len; i++)
                if (g_array_index(s->peer_observers, PeerObserver, i).id == id) {
                        g_array_remove_index(s->peer_observers, i);
                        return;
                }
}

void service_notify_peer(Service *s, Peer *p, PeerEvent ev)
{
        for (guint i = 0; i < s->peer_observers->len; i++) {
                PeerObserver o = g_array_index(s->peer_observers, PeerObserver, i);
                o.fn(s, p, ev, o.userdata);
        }
}

/* ---- peers ---- */

static Peer *peer_new(Service *s, Role role, const char *path, const char *how)
{
        Peer *p = g_new0(Peer, 1);

        p->service = s;
        p->id = s->next_peer_id++;
        p->role = role;
        p->state = PEER_STATE_CONNECTING;
        p->socket_path = g_strdup(path);
        p->name = g_strdup_printf("%s#%llu(%s%s)", role_remote_to_string(role),
                                  (unsigned long long) p->id, how, path);
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

static void peer_read_credentials(Peer *p, int fd)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                p->pid = cred.pid;
                p->uid = cred.uid;
                p->owner.uid = cred.uid;
        }
}

static void peer_start(Peer *p, int fd)
{
        peer_read_credentials(p, fd);
        log_info("%s: connected (pid %d, uid %d)", p->name, (int) p->pid, (int) p->uid);
        if (p->role == ROLE_FRONTEND)
                hub_peer_start(p, fd);
        else
                bridge_peer_start(p, fd);
}

void peer_set_state(Peer *p, PeerState state)
{
        if (p->state == state)
                return;
        p->state = state;
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

void peer_lookup_start(Peer *p, VuReplySlot *slot, const uint8_t uuid[SHARE_UUID_SIZE],
                       ServiceLookupFn done)
{
        PeerLookup *l = g_new0(PeerLookup, 1);
        int r;

        l->peer = p;
        l->slot = slot;
        memcpy(l->uuid, uuid, SHARE_UUID_SIZE);
        g_queue_push_tail(&p->importing, l);
        r = service_lookup(p->service, l->uuid, done, l);
        if (r < 0)
                done(p->service, -1, r, l);
}

Peer *peer_lookup_claim(PeerLookup *l, int fd)
{
        Peer *p = l->peer;

        if (!p) {
                if (fd >= 0)
                        close(fd);
                g_free(l);
                return NULL;
        }
        g_queue_remove(&p->importing, l);
        return p;
}

static void peer_forget_lookups(Peer *p)
{
        PeerLookup *l;

        while ((l = g_queue_pop_head(&p->importing)))
                l->peer = NULL;
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
        purged = share_table_remove_owner(p->service->table, &p->owner);
        if (purged > 0)
                log_info("%s: %u shared object(s) purged", p->name, purged);
        p->features = p->protocol_features = p->queues = 0;
        p->exported_count = 0;
}

static int peer_connect_now(Peer *p);

static int peer_on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
        Peer *p = userdata;

        p->retry = sd_event_source_disable_unref(p->retry);
        peer_connect_now(p);
        return 0;
}

static void peer_schedule_retry(Peer *p)
{
        uint64_t now = 0;

        p->backoff_usec = p->backoff_usec ? MIN(p->backoff_usec * 2, CONNECT_BACKOFF_MAX_USEC)
                                          : CONNECT_BACKOFF_MIN_USEC;
        sd_event_now(p->service->event, CLOCK_MONOTONIC, &now);
        sd_event_source_disable_unref(p->retry);
        p->retry = NULL;
        sd_event_add_time(p->service->event, &p->retry, CLOCK_MONOTONIC, now + p->backoff_usec, 0,
                          peer_on_retry, p);
}

static int peer_on_free_later(sd_event_source *src, void *userdata)
{
        Peer *p = userdata;

        g_queue_remove(&p->service->closing, p);
        peer_destroy(p);
        return 0;
}

void peer_fail(Peer *p, const char *reason)
{
        peer_fail_errno(p, -EPROTO, reason);
}

void peer_fail_errno(Peer *p, int error, const char *reason)
{
        Service *s = p->service;

        if (p->state == PEER_STATE_CLOSED)
                return;
        /* A peer that hangs up is leaving, not misbehaving. */
        log_internal(error == -EPIPE ? LOG_INFO : LOG_WARNING, 0, "%s: %s; disconnecting", p->name,
                     reason);
        peer_set_error(p, "%s", reason);
        if (p->reconnect) {
                peer_disconnect(p);
                peer_set_state(p, PEER_STATE_CONNECTING);
                peer_schedule_retry(p);
                return;
        }
        service_close_peer(s, p, reason);
}

void service_close_peer(Service *s, Peer *p, const char *reason)
{
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
        (void) sd_event_add_defer(s->event, &p->free_later, peer_on_free_later, p);
}

static void peer_destroy(Peer *p)
{
        sd_event_source_disable_unref(p->free_later);
        sd_event_source_disable_unref(p->retry);
        share_owner_clear(&p->owner);
        g_free(p->name);
        g_free(p->socket_path);
        g_free(p);
}

/* ---- connecting and listening ---- */

/* MaxPeers (0: no limit) reached: no new connection until one goes. */
static bool peers_at_limit(const Service *s)
{
        return s->config.max_peers && s->peers.length >= s->config.max_peers;
}

static int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        memcpy(sa->sun_path, path, n);
        *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

static int peer_connect_now(Peer *p)
{
        struct sockaddr_un sa;
        socklen_t len;
        int fd, r;

        r = unix_address(p->socket_path, &sa, &len);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, len) < 0) {
                r = -errno;
                close(fd);
                if (r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN) {
                        log_debug("%s: not there yet (%s), retrying", p->name, strerror(-r));
                        peer_schedule_retry(p);
                        return 0;
                }
                return log_error_errno(r, "%s: connect failed", p->name);
        }
        p->backoff_usec = 0;
        peer_start(p, fd);
        return 0;
}

int service_connect_backend(Service *s, const char *path, Peer **ret)
{
        Peer *p;
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        r = unix_address(path, &sa, &len);
        if (r < 0)
                return log_error_errno(r, "socket path %s unusable", path);
        if (peers_at_limit(s))
                return -EUSERS;
        p = peer_new(s, ROLE_FRONTEND, path, "");
        p->reconnect = true;
        r = peer_connect_now(p);
        if (r < 0) {
                service_close_peer(s, p, "connect failed");
                return r;
        }
        if (ret)
                *ret = p;
        return 0;
}

#define ACCEPT_PAUSE_USEC (200 * 1000)

static int listener_on_resume(sd_event_source *src, uint64_t usec, void *userdata)
{
        Listener *l = userdata;

        l->resume = sd_event_source_disable_unref(l->resume);
        sd_event_source_set_enabled(l->io, SD_EVENT_ON);
        return 0;
}

/* Out of fds (or memory): the connection stays in the backlog and the socket
 * stays readable, so accepting again at once would spin. Pause, try again
 * later; log the shortage once, and its end. */
static void listener_pause(Listener *l, int error)
{
        uint64_t now = 0;

        if (!l->starved)
                log_warning_errno(error, "accept on %s failed; pausing it, retrying every %u ms",
                                  l->path, (unsigned) (ACCEPT_PAUSE_USEC / 1000));
        l->starved = true;
        sd_event_source_set_enabled(l->io, SD_EVENT_OFF);
        sd_event_now(l->service->event, CLOCK_MONOTONIC, &now);
        if (sd_event_add_time(l->service->event, &l->resume, CLOCK_MONOTONIC,
                              now + ACCEPT_PAUSE_USEC, 0, listener_on_resume, l) < 0)
                sd_event_source_set_enabled(l->io, SD_EVENT_ON); /* better spin than stop */
}

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
        struct ucred cred = {.uid = (uid_t) -1};
        socklen_t len = sizeof(cred);
        Peer *p;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                r = -errno;
                if (r == -EAGAIN || r == -EINTR || r == -ECONNABORTED)
                        return 0;
                if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM)
                        listener_pause(l, r);
                else
                        log_warning_errno(r, "accept on %s failed", l->path);
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
                close(cfd);
                return 0;
        }
        if (peers_at_limit(s)) {
                log_warning("%s: refusing a connection, %u peers is the limit", l->path,
                            s->config.max_peers);
                close(cfd);
                return 0;
        }
        p = peer_new(s, l->role, l->path, "on ");
        p->serve = l->serve;
        peer_start(p, cfd);
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

int service_adopt_peer(Service *s, Role role, int fd, const char *label, Peer **ret)
{
        Peer *p;

        if (peers_at_limit(s)) {
                close(fd);
                return -EUSERS;
        }
        p = peer_new(s, role, label, "fd ");
        peer_start(p, fd);
        if (ret)
                *ret = p;
        return 0;
}

static int service_listen(Service *s, const char *path, Role role, const ServeOptions *opts)
{
        g_autofree Listener *l = NULL;
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        r = unix_address(path, &sa, &len);
        if (r < 0)
                return log_error_errno(r, "socket path %s unusable", path);
        l = g_new0(Listener, 1);
        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0)
                return log_error_errno(-errno, "socket for %s", path);
        (void) unlink(path); /* a stale socket of an earlier run */
        if (bind(l->fd, (struct sockaddr *) &sa, len) < 0 ||
            chmod(path, s->config.socket_mode) < 0 ||
            ((s->config.socket_uid != (uid_t) -1 || s->config.socket_gid != (gid_t) -1) &&
             chown(path, s->config.socket_uid, s->config.socket_gid) < 0) ||
            listen(l->fd, 64) < 0) {
                r = -errno;
                close(l->fd);
                return log_error_errno(r, "cannot listen on %s", path);
        }
        l->service = s;
        l->path = g_strdup(path);
        l->role = role;
        l->n_allowed_uids = s->config.n_allowed_uids;
        memcpy(l->allowed_uids, s->config.allowed_uids, sizeof(l->allowed_uids));
        if (opts)
                l->serve = *opts;
        else
                serve_options_init(&l->serve, &s->config);
        r = sd_event_add_io(s->event, &l->io, l->fd, EPOLLIN, listener_on_accept, l);
        if (r < 0) {
                Listener *tmp = g_steal_pointer(&l);
                listener_free(tmp);
                return r;
        }
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

/* ---- peer properties ---- */

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
        return p->name;
}

const char *peer_socket_path(const Peer *p)
{
        return p->socket_path;
}

uint64_t peer_features(const Peer *p)
{
        return p->features;
}

uint64_t peer_protocol_features(const Peer *p)
{
        return p->protocol_features;
}

bool peer_shared_objects(const Peer *p)
{
        return (p->protocol_features & VU_BIT(VU_PF_SHARED_OBJECT)) &&
               (p->role == ROLE_FRONTEND ? p->chan != NULL
                                         : p->backend && vu_backend_has_channel(p->backend));
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

ShareOwner *peer_owner(Peer *p)
{
        return &p->owner;
}

const char *role_remote_to_string(Role r)
{
        return r == ROLE_FRONTEND ? "back-end" : "front-end";
}

const char *peer_state_to_string(PeerState s)
{
        static const char *const names[] = {"connecting", "negotiating", "ready", "closed"};
        return (unsigned) s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

/* ---- the table's operations as the service offers them ---- */

/* A lookup of a UUID the table does not hold, asking the VMMs we serve one
 * after the other (in creation order, so a peer that comes or goes
 * meanwhile is never asked twice) until one has it. */
typedef struct {
        Service *service;
        uint8_t uuid[SHARE_UUID_SIZE];
        uint64_t last_id; /* the peer asked last */
        GArray *asked;    /* pid_t of the VMMs asked: one table per process */
        int error;        /* the most telling failure so far */
        ServiceLookupFn done;
        void *userdata;
} UpstreamLookup;

static bool upstream_asked(const UpstreamLookup *u, pid_t pid)
{
        for (guint i = 0; pid > 0 && i < u->asked->len; i++)
                if (g_array_index(u->asked, pid_t, i) == pid)
                        return true;
        return false;
}

static Peer *next_upstream(UpstreamLookup *u)
{
        for (GList *l = u->service->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->id > u->last_id && p->role == ROLE_BACKEND && p->state == PEER_STATE_READY &&
                    peer_shared_objects(p) && !upstream_asked(u, p->pid))
                        return p;
        }
        return NULL;
}

static void upstream_free(UpstreamLookup *u)
{
        g_array_free(u->asked, true);
        g_free(u);
}

static int upstream_ask_next(UpstreamLookup *u);

static void upstream_on_answer(Service *s, int fd, int error, void *userdata)
{
        UpstreamLookup *u = userdata;

        if (fd >= 0) {
                u->done(s, fd, 0, u->userdata);
                upstream_free(u);
                return;
        }
        /* "Not there" only when nobody said anything more telling. */
        if (u->error == 0 || u->error == -ENOENT)
                u->error = error;
        upstream_ask_next(u);
}

/* Asks the next VMM (two bridges to one QEMU share its table: asked once),
 * or ends the lookup when none is left. Returns -ENOENT without calling
 * done when there was none to ask at all. */
static int upstream_ask_next(UpstreamLookup *u)
{
        Peer *p;

        while ((p = next_upstream(u))) {
                u->last_id = p->id;
                if (p->pid > 0)
                        g_array_append_val(u->asked, p->pid);
                if (bridge_peer_lookup(p, u->uuid, upstream_on_answer, u) >= 0)
                        return 0;
        }
        if (u->error == 0) {
                upstream_free(u);
                return -ENOENT;
        }
        u->done(u->service, -1, u->error, u->userdata);
        upstream_free(u);
        return 0;
}

static int upstream_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], ServiceLookupFn done,
                           void *userdata)
{
        UpstreamLookup *u = g_new0(UpstreamLookup, 1);

        u->service = s;
        memcpy(u->uuid, uuid, SHARE_UUID_SIZE);
        u->done = done;
        u->userdata = userdata;
        u->asked = g_array_new(false, false, sizeof(pid_t));
        return upstream_ask_next(u);
}

/* Counts a lookup once the importer's answer (or the exporter's request)
 * is on its way, or it was refused: observers, such as the bus layer's LookupCount signal, are
 * not on the importer's path. done() may have changed the table (a failed
 * send drops the importer and its entries), so the entry is looked up again. */
static void service_note_lookup(Service *s, const uint8_t uuid[SHARE_UUID_SIZE])
{
        ShareEntry *e = share_table_lookup(s->table, uuid);

        if (e)
                share_table_note_lookup(s->table, e);
}

int service_lookup(Service *s, const uint8_t uuid_in[SHARE_UUID_SIZE], ServiceLookupFn done,
                   void *userdata)
{
        uint8_t uuid[SHARE_UUID_SIZE];
        ShareEntry *e;
        ShareOwner *owner;
        int fd, r;

        /* uuid_in may live in what done() frees. */
        memcpy(uuid, uuid_in, SHARE_UUID_SIZE);
        if (!share_uuid_is_valid(uuid))
                return -EINVAL;
        e = share_table_lookup(s->table, uuid);
        if (!e) /* not ours: a VMM we serve may know it */
                return upstream_lookup(s, uuid, done, userdata);
        if (share_entry_type(e) == SHARE_TYPE_DMABUF) {
                fd = fcntl(share_entry_fd(e), F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                done(s, fd, 0, userdata);
                service_note_lookup(s, uuid);
                return 0;
        }
        owner = share_entry_owner(e);
        if (!owner || owner->kind != SHARE_OWNER_PEER || !owner->userdata)
                return -ENOENT;
        r = hub_peer_get_shared_object(owner->userdata, uuid, done, userdata);
        service_note_lookup(s, uuid); /* refused ones count too */
        return r;
}

int service_export_fd(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], int fd, ShareOwner *owner,
                      const ShareBufferInfo *info, ShareEntry **ret)
{
        return share_table_add_fd(s->table, uuid, fd, owner, info, ret);
}

int service_remove(Service *s, const uint8_t uuid[SHARE_UUID_SIZE], const ShareOwner *requester)
{
        return share_table_remove(s->table, uuid, requester);
}
