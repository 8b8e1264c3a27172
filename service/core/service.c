/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Service itself: its defaults, its life (new, free), its accessors and
 * the observers of its peers. Peers, listeners and lookups live in peer.c,
 * listener.c and lookup.c (service-private.h lists them). */

#include "buffer-rule.h"
#include "log.h"
#include "service-private.h"

void service_config_init_defaults(ServiceConfig *c)
{
        static const char *const socket_directories[] = {SERVICE_RUNTIME_DIRECTORY, NULL};

        *c = (ServiceConfig){
            .lookup_timeout_usec = 1000 * 1000,
            .reply_timeout_usec = 5 * 1000 * 1000,
            .max_missed_answers = 3,
            .accepted_buffers = BUFFER_KINDS_DEFAULT,
            .max_objects_per_peer = 4096,
            .max_objects_per_client = 1024,
            .max_bytes_per_client = UINT64_C(1) << 30,
            .max_bytes_per_uid = UINT64_C(2) << 30,
            .max_bytes_total = UINT64_C(4) << 30,
            .max_objects_per_uid = 4096,
            .max_disowned_per_uid = 256,
            .max_peers = 64,
            .max_pending_lookups_per_peer = 64,
            .max_pending_lookups = 1024,
            .max_queued_messages = VU_ENDPOINT_MAX_QUEUED_MESSAGES,
            .max_queued_bytes = VU_ENDPOINT_MAX_QUEUED_BYTES,
            .max_pending_lookups_per_uid = 512,
            .bridge_device_id = 4,
            .bridge_queues = 1,
            .socket_mode = 0660,
            .socket_uid = (uid_t) -1,
            .socket_gid = (gid_t) -1,
            .socket_directories = socket_directories,
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

static int service_on_reap(sd_event_source *src, void *userdata)
{
        service_reap_peers(userdata);
        return 0;
}

int service_new(sd_event *ev, const ServiceConfig *cfg, Service **ret)
{
        char kinds[BUFFER_KINDS_STRING_MAX];
        Service *s;
        int r;

        s = g_new0(Service, 1);
        s->event = ev;
        if (cfg)
                s->config = *cfg;
        else
                service_config_init_defaults(&s->config);
        if (s->config.accepted_buffers == 0)
                s->config.accepted_buffers = BUFFER_KINDS_DEFAULT;
        s->config.socket_directories =
            (const char *const *) g_strdupv((char **) s->config.socket_directories);
        s->table = share_table_new();
        share_table_set_limits(s->table, &(QuotaLimits){
                                             .max_objects_per_uid = s->config.max_objects_per_uid,
                                             .max_bytes_per_uid = s->config.max_bytes_per_uid,
                                             .max_bytes_total = s->config.max_bytes_total,
                                             .max_disowned_per_uid = s->config.max_disowned_per_uid,
                                         });
        s->listeners = g_ptr_array_new();
        s->peers_by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
        s->lookups_by_importer = lookup_counters_new();
        s->lookups_by_uid = lookup_counters_new();
        s->forwards = lookup_forwards_new();
        s->peer_observers = observer_list_new();
        s->listener_observers = observer_list_new();
        s->next_peer_id = 1;
        s->next_listener_id = 1;
        s->table_observer = share_table_add_observer(s->table, service_on_table_event, s);

        /* Armed (one shot) whenever a peer closes. */
        r = sd_event_add_defer(ev, &s->reap, service_on_reap, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->reap, SD_EVENT_OFF);
        if (r < 0) {
                service_free(s);
                return r;
        }
        log_info("buffers accepted from exporters and VMMs: %s (AcceptedBuffers=)",
                 buffer_kinds_to_string(s->config.accepted_buffers, kinds));
        *ret = s;
        return 0;
}

void service_free(Service *s)
{
        if (!s)
                return;
        for (guint i = 0; i < s->listeners->len; i++)
                listener_free(g_ptr_array_index(s->listeners, i));
        g_ptr_array_free(s->listeners, true);
        service_close_peers(s, "service stopping");
        service_reap_peers(s);
        sd_event_source_disable_unref(s->reap);
        share_table_remove_observer(s->table, s->table_observer);
        share_table_free(s->table);
        g_hash_table_destroy(s->peers_by_id);
        g_hash_table_destroy(s->lookups_by_importer);
        g_hash_table_destroy(s->lookups_by_uid);
        /* Closing the bridge's peers ended every walk. */
        g_warn_if_fail(g_hash_table_size(s->forwards) == 0);
        g_hash_table_destroy(s->forwards);
        observer_list_free(s->peer_observers);
        observer_list_free(s->listener_observers);
        observer_list_free(s->lookup_observers);
        g_strfreev((char **) s->config.socket_directories);
        g_free(s);
}

void service_reload_config(Service *s, const ServiceConfig *cfg)
{
        char **dirs = g_strdupv((char **) cfg->socket_directories);

        g_strfreev((char **) s->config.socket_directories);
        s->config = *cfg;
        s->config.socket_directories = (const char *const *) dirs;
        share_table_set_limits(s->table, &(QuotaLimits){
                                             .max_objects_per_uid = cfg->max_objects_per_uid,
                                             .max_bytes_per_uid = cfg->max_bytes_per_uid,
                                             .max_bytes_total = cfg->max_bytes_total,
                                             .max_disowned_per_uid = cfg->max_disowned_per_uid,
                                         });
}

void service_close_peers(Service *s, const char *reason)
{
        Peer *p;

        while ((p = g_queue_peek_head(&s->peers)))
                service_close_peer(s, p, reason);
}

void service_stop_requests(Service *s)
{
        s->stopping = true;
        for (GList *l = s->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->frontend)
                        vu_frontend_stop_requests(p->frontend);
                if (p->backend)
                        vu_backend_stop_requests(p->backend);
        }
}

bool service_quiet(Service *s)
{
        if (s->pending_lookups > 0)
                return false;
        for (GList *l = s->peers.head; l; l = l->next) {
                Peer *p = l->data;

                if (p->frontend && p->state == PEER_STATE_READY &&
                    (!g_queue_is_empty(&p->importing) || !vu_frontend_idle(p->frontend)))
                        return false;
                if (p->backend && p->state == PEER_STATE_READY && !vu_backend_idle(p->backend))
                        return false;
        }
        return true;
}

unsigned service_pending_lookups(Service *s)
{
        return s->pending_lookups;
}

void service_keep_socket_files(Service *s, bool keep)
{
        s->keep_socket_files = keep;
}

void service_note_state_changed(Service *s)
{
        if (s->state_changed)
                s->state_changed(s->state_changed_userdata);
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

/* ---- peer observers (shared/observer-list.h: its rule for changes made
 * during a notification) ---- */

unsigned service_add_peer_observer(Service *s, PeerObserverFn fn, void *userdata)
{
        return observer_list_add(s->peer_observers, (ObserverFn) fn, userdata);
}

void service_remove_peer_observer(Service *s, unsigned id)
{
        observer_list_remove(s->peer_observers, id);
}

void service_notify_peer(Service *s, Peer *p, PeerEvent ev)
{
        ObserverIter it;

        for (observer_list_begin(s->peer_observers, &it);
             observer_list_next(s->peer_observers, &it);)
                ((PeerObserverFn) it.fn)(s, p, ev, it.userdata);
        observer_list_end(s->peer_observers);
}
