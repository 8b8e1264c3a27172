/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A state record back into a new service (state-restore.h). */

#include "state-restore.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"
#include "socket-util.h"

/* The prefix of a connection's store names ("<prefix>-main"): kept by the
 * restored peer, so its fds stay under the names the store has. */
static char *store_prefix(const char *main_fd_name)
{
        return g_str_has_suffix(main_fd_name, "-main")
                   ? g_strndup(main_fd_name, strlen(main_fd_name) - strlen("-main"))
                   : NULL;
}

/* The fd stored as name, taken out of fds; -1 when none came back. */
static int take_fd(GHashTable *fds, const char *name)
{
        gpointer key, value;

        if (!g_hash_table_lookup_extended(fds, name, &key, &value))
                return -1;
        g_hash_table_steal(fds, name);
        g_free(key);
        return GPOINTER_TO_INT(value);
}

static int listener_rebind(Service *s, const StateListener *st)
{
        Listener *l;
        int r;

        r = service_add_listener(s, st->path, st->role, &st->serve, st->owner, &l);
        if (r < 0)
                return r; /* logged */
        return service_set_allowed_uids(s, st->path, st->allowed_uids, st->n_allowed_uids);
}

static bool restore_listener(Service *s, const StateListener *st, GHashTable *fds,
                             const char *const *configured)
{
        _cleanup_close_ int fd = take_fd(fds, st->fd_name);
        int r;

        if (st->configured && !(configured && g_strv_contains(configured, st->path))) {
                SocketFile file = {.dev = st->dev, .ino = st->ino};

                log_info("%s is no longer configured; not listening there again", st->path);
                (void) socket_unlink_if_same(st->path, &file);
                return false;
        }
        if (fd >= 0) {
                r = listener_restore(s, fd, st, NULL);
                if (r >= 0) {
                        g_steal_fd(&fd);
                        return true;
                }
                if (r == -ESTALE)
                        log_notice("%s: the socket file went while the service restarted; "
                                   "binding it again",
                                   st->path);
                else
                        log_warning_errno(r,
                                          "%s: cannot listen on the kept socket, binding it "
                                          "again: %m",
                                          st->path);
                fd_close_safe(&fd);
        } else
                log_warning("%s: its socket did not come back; binding it again", st->path);
        return listener_rebind(s, st) >= 0;
}

unsigned state_restore_listeners(Service *s, const StateRecord *r, GHashTable *fds,
                                 const char *const *configured)
{
        unsigned n = 0;

        for (guint i = 0; i < r->listeners->len; i++)
                n += restore_listener(s, &g_array_index(r->listeners, StateListener, i), fds,
                                      configured);
        return n;
}

/* A copy of the stored fd for one entry, checked to be the recorded
 * buffer (several entries may name one fd). */
static int object_fd(GHashTable *fds, const StateObject *o, const char *uuid)
{
        gpointer value;
        struct stat st;
        int fd;

        if (!g_hash_table_lookup_extended(fds, o->fd_name, NULL, &value)) {
                log_warning("%s: its buffer did not come back from the fd store; dropped", uuid);
                return -ENOENT;
        }
        if (fstat(GPOINTER_TO_INT(value), &st) < 0 || st.st_dev != o->info.dev ||
            st.st_ino != o->info.ino) {
                log_warning("%s: the fd store holds another buffer under its name; dropped", uuid);
                return -ESTALE;
        }
        fd = fcntl(GPOINTER_TO_INT(value), F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_warning_errno(-errno, "%s: cannot take its buffer back: %m", uuid);
        return fd;
}

static bool restore_object(Service *s, const StateObject *o, GHashTable *fds, StateOwnerFn owner_of,
                           void *userdata)
{
        char uuid[SHARE_UUID_STR_LEN];
        ShareOwner *owner = NULL;
        _cleanup_close_ int fd = -1;
        ShareEntry *e;
        int r;

        share_uuid_to_string(o->uuid, uuid);
        r = owner_of(userdata, o, &owner);
        if (r == -ESRCH) {
                log_info("%s: its owner %s left while the service restarted; dropped", uuid,
                         o->owner_name);
                return false;
        }
        if (r < 0) {
                log_warning_errno(r, "%s: no owner to give it back to; dropped: %m", uuid);
                return false;
        }
        fd = object_fd(fds, o, uuid);
        if (fd < 0)
                return false;
        if (owner->uid == o->uid)
                r = share_table_add_fd(s->table, o->uuid, fd, owner, &o->info, &e);
        else {
                /* Charged to the uid that put it there (quota.h), as before. */
                ShareOwner charged;

                share_owner_init(&charged, owner->kind, owner->name, o->uid);
                r = share_table_add_fd(s->table, o->uuid, fd, &charged, &o->info, &e);
                if (r >= 0) {
                        g_steal_fd(&fd);
                        r = share_table_set_owner(s->table, e, owner);
                        if (r < 0)
                                share_table_remove_owner(s->table, &charged);
                }
                share_owner_clear(&charged);
        }
        if (r < 0) {
                log_warning_errno(r, "%s: cannot put it back into the table; dropped: %m", uuid);
                return false;
        }
        g_steal_fd(&fd);
        share_entry_restore_history(e, o->created_usec, o->lookup_count);
        return true;
}

unsigned state_restore_objects(Service *s, const StateRecord *r, GHashTable *fds,
                               StateOwnerFn owner_of, void *userdata)
{
        unsigned n = 0;

        for (guint i = 0; i < r->objects->len; i++)
                n += restore_object(s, &g_array_index(r->objects, StateObject, i), fds, owner_of,
                                    userdata);
        return n;
}

/* ---- connections ---- */

static bool restore_peer(Service *s, const StatePeer *sp, GHashTable *fds)
{
        const VuFrontendNegotiated neg = {
            .features = sp->features,
            .protocol_features = sp->protocol_features,
            .queues = sp->queues,
        };
        int main_fd = take_fd(fds, sp->main_fd_name), chan_fd = take_fd(fds, sp->chan_fd_name);
        unsigned n = 0;
        Peer *p;
        int r;

        if (main_fd < 0 || chan_fd < 0) {
                /* systemd drops a stored socket that hangs up. */
                log_info("the back-end on %s hung up while the service restarted", sp->path);
                fd_close_safe(&main_fd);
                fd_close_safe(&chan_fd);
                return false;
        }
        p = peer_new(s, ROLE_FRONTEND, sp->path, sp->reconnect ? "" : "on ");
        p->reconnect = sp->reconnect;
        p->pid = sp->pid;
        p->uid = sp->uid;
        p->owner.uid = sp->uid;
        p->store_prefix = store_prefix(sp->main_fd_name);
        r = hub_peer_restore(p, main_fd, chan_fd, &neg); /* takes both */
        if (r < 0) {
                log_warning_errno(r, "%s: cannot go on with the kept connection: %m", p->name);
                service_close_peer(s, p, "not restored");
                return false;
        }
        for (guint i = 0; i < sp->exports->len; i++) {
                const uint8_t *uuid = &g_array_index(sp->exports, uint8_t, i * SHARE_UUID_SIZE);

                r = share_table_add_exporter(s->table, uuid, &p->owner, NULL);
                if (r < 0) {
                        char u[SHARE_UUID_STR_LEN];

                        share_uuid_to_string(uuid, u);
                        log_warning_errno(r, "%s: cannot put back %s: %m", p->name, u);
                        continue;
                }
                n++;
        }
        log_info("%s: connection kept across the restart (pid %d, uid %d), %u object(s) back",
                 p->name, (int) p->pid, (int) p->uid, n);
        return true;
}

static bool restore_bridge(Service *s, const StateBridge *sb, GHashTable *fds)
{
        const VuBackendNegotiated neg = {
            .features = sb->features,
            .protocol_features = sb->protocol_features,
            .owned = sb->owned,
        };
        int main_fd = take_fd(fds, sb->main_fd_name), chan_fd = take_fd(fds, sb->chan_fd_name);
        unsigned n_vrings = 0;
        Peer *p;
        int r;

        if (main_fd < 0 || chan_fd < 0) {
                log_info("the front-end on %s hung up while the service restarted", sb->path);
                fd_close_safe(&main_fd);
                fd_close_safe(&chan_fd);
                return false;
        }
        p = peer_new(s, ROLE_BACKEND, sb->path, "on ");
        serve_options_init(&p->serve, &s->config);
        p->serve.device_id = sb->serve.device_id;
        p->serve.queues = sb->serve.queues;
        p->serve.reply_ack = sb->serve.reply_ack;
        p->pid = sb->pid;
        p->uid = sb->uid;
        p->owner.uid = sb->uid;
        p->store_prefix = store_prefix(sb->main_fd_name);
        r = bridge_peer_restore(p, main_fd, chan_fd, &neg, sb->status, sb->announced);
        if (r < 0) {
                log_warning_errno(r, "%s: cannot go on with the kept connection: %m", p->name);
                service_close_peer(s, p, "not restored");
                return false;
        }
        for (guint i = 0; i < sb->vrings->len; i++) {
                const StateVringFd *v = &g_array_index(sb->vrings, StateVringFd, i);
                int fd = take_fd(fds, v->fd_name);

                /* Not needed to go on (no rings are served): one missing is no failure. */
                if (fd >= 0 && vu_backend_restore_vring_fd(p->backend, v->queue, v->which, fd) >= 0)
                        n_vrings++;
        }
        log_info("%s: connection kept across the restart (pid %d, uid %d), %u object(s) "
                 "announced to it, %u ring fd(s) back",
                 p->name, (int) p->pid, (int) p->uid, sb->announced->len, n_vrings);
        return true;
}

unsigned state_restore_peers(Service *s, const StateRecord *r, GHashTable *fds)
{
        unsigned n = 0;

        for (guint i = 0; i < r->peers->len; i++)
                n += restore_peer(s, &g_array_index(r->peers, StatePeer, i), fds);
        for (guint i = 0; i < r->bridges->len; i++)
                n += restore_bridge(s, &g_array_index(r->bridges, StateBridge, i), fds);
        return n;
}

void state_restore_announce(Service *s)
{
        for (GList *l = s->peers.head, *next; l; l = next) {
                Peer *p = l->data;

                next = l->next; /* a failed send closes p */
                if (p->role == ROLE_BACKEND)
                        bridge_peer_resync(p);
        }
}
