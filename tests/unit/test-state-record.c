/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The restart state (core/state-record.h, state-keeper.h,
 * state-restore.h): the record's text and versioning, the keeper against
 * an in-memory fd store (fds stored before the record names them, stale
 * ones removed, one fd for entries sharing an open file), and a new
 * service restored from that store. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "cleanup.h"
#include "fd-util.h"
#include "service.h"
#include "share-table-testlib.h"
#include "state-keeper.h"
#include "state-record.h"
#include "state-restore.h"

static void test_round_trip(void)
{
        g_auto(StateRecord) in = {0}, out = {0};
        StateObject o = {.fd_name = g_strdup("obj-x"),
                         .owner_kind = SHARE_OWNER_BUS_CLIENT,
                         .owner_name = g_strdup(":1.7\nforged=1"),
                         .owner_uid = 1000,
                         .uid = 1000,
                         .info = {.size = 4096, .dev = 12, .ino = 34},
                         .created_usec = 111,
                         .lookup_count = 5};
        StateListener l = {.id = 3,
                           .fd_name = g_strdup("lsn-3"),
                           .path = g_strdup("/run/x [y].sock"),
                           .role = ROLE_BACKEND,
                           .configured = true,
                           .owner = 1000,
                           .group = 27,
                           .mode = 0660,
                           .serve = {.device_id = 4, .queues = 2, .reply_ack = true},
                           .n_allowed_uids = 2,
                           .allowed_uids = {1000, 0}};
        g_autoptr(GError) error = NULL;
        _cleanup_close_ int fd = -1;

        strcpy(o.info.exporter, "memfd");
        strcpy(o.info.allocator, "udmabuf");
        random_uuid(o.uuid);
        state_record_init(&in);
        state_record_init(&out);
        in.generation = 42;
        g_array_append_val(in.objects, o);
        g_array_append_val(in.listeners, l);
        g_assert_cmpint(state_record_write_memfd(&in, &fd), ==, 0);
        /* Sealed against every change: nobody can edit the record in the store. */
        g_assert_cmpint(fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SEAL), ==,
                        F_SEAL_WRITE | F_SEAL_SEAL);
        g_assert_cmpint(state_record_read_fd(&out, fd, &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpuint(out.generation, ==, 42);
        g_assert_cmpuint(out.objects->len, ==, 1);
        g_assert_cmpuint(out.listeners->len, ==, 1);
        {
                StateObject *b = &g_array_index(out.objects, StateObject, 0);
                StateListener *m = &g_array_index(out.listeners, StateListener, 0);

                g_assert_cmpmem(b->uuid, 16, o.uuid, 16);
                g_assert_cmpstr(b->owner_name, ==, ":1.7\nforged=1");
                g_assert_cmpint(b->owner_kind, ==, SHARE_OWNER_BUS_CLIENT);
                g_assert_cmpuint(b->info.size, ==, 4096);
                g_assert_cmpuint(b->info.ino, ==, 34);
                g_assert_cmpstr(b->info.allocator, ==, "udmabuf");
                g_assert_cmpuint(b->lookup_count, ==, 5);
                g_assert_cmpuint(b->created_usec, ==, 111);
                g_assert_cmpstr(m->path, ==, "/run/x [y].sock");
                g_assert_cmpint(m->role, ==, ROLE_BACKEND);
                g_assert_true(m->configured);
                g_assert_cmpuint(m->serve.queues, ==, 2);
                g_assert_cmpuint(m->n_allowed_uids, ==, 2);
                g_assert_cmpuint(m->allowed_uids[1], ==, 0);
                g_assert_cmpuint(m->mode, ==, 0660);
        }
        g_assert_cmpuint(state_record_fd_generation("state-17"), ==, 17);
        g_assert_cmpuint(state_record_fd_generation("state-"), ==, 0);
        g_assert_cmpuint(state_record_fd_generation("obj-17"), ==, 0);
}

/* A VMM's connection (--serve): sockets, ring fds, what was negotiated and
 * presented, and the announced set come back as written. */
static void test_bridge_round_trip(void)
{
        g_auto(StateRecord) in = {0}, out = {0};
        StateBridge b = {.id = 9,
                         .main_fd_name = g_strdup("peer-vmm-5-main"),
                         .chan_fd_name = g_strdup("peer-vmm-5-chan"),
                         .path = g_strdup("/run/vm.sock"),
                         .pid = 77,
                         .uid = 64055,
                         .features = 1ull << 32 | 1ull << 30,
                         .protocol_features = 1u << 18 | 1u << 3,
                         .owned = true,
                         .status = 15,
                         .serve = {.device_id = 4, .queues = 2, .reply_ack = true},
                         .announced = g_array_new(false, false, 16),
                         .vrings = state_vring_fds_new()};
        StateVringFd v = {.queue = 1, .which = 2, .fd_name = g_strdup("peer-vmm-5-vring-1-2")};
        uint8_t uuid[16];
        g_autofree char *text = NULL;
        g_autoptr(GError) error = NULL, bad = NULL;
        size_t len;

        random_uuid(uuid);
        g_array_append_vals(b.announced, uuid, 1);
        g_array_append_val(b.vrings, v);
        state_record_init(&in);
        state_record_init(&out);
        g_array_append_val(in.bridges, b);
        text = state_record_to_text(&in, &len);
        g_assert_cmpint(state_record_from_text(&out, text, len, &error), ==, 0);
        g_assert_no_error(error);
        g_assert_cmpuint(out.bridges->len, ==, 1);
        {
                StateBridge *c = &g_array_index(out.bridges, StateBridge, 0);
                StateVringFd *w = &g_array_index(c->vrings, StateVringFd, 0);

                g_assert_cmpuint(c->id, ==, 9);
                g_assert_cmpstr(c->chan_fd_name, ==, "peer-vmm-5-chan");
                g_assert_cmpint(c->pid, ==, 77);
                g_assert_cmpuint(c->features, ==, b.features);
                g_assert_cmpuint(c->protocol_features, ==, b.protocol_features);
                g_assert_true(c->owned);
                g_assert_cmpuint(c->status, ==, 15);
                g_assert_cmpuint(c->serve.queues, ==, 2);
                g_assert_true(c->serve.reply_ack);
                g_assert_cmpuint(c->announced->len, ==, 1);
                g_assert_cmpmem(c->announced->data, 16, uuid, 16);
                g_assert_cmpuint(c->vrings->len, ==, 1);
                g_assert_cmpuint(w->queue, ==, 1);
                g_assert_cmpuint(w->which, ==, 2);
                g_assert_cmpstr(w->fd_name, ==, "peer-vmm-5-vring-1-2");
        }
        /* A ring fd of a queue past 63 or of no kind is malformed. */
        {
                g_auto(StateRecord) r = {0};
                const char *t = "[State]\nFormat=1\nGeneration=1\n[Bridge 2]\nMain=a\nChannel=b\n"
                                "Path=p\nPid=1\nUid=0\nFeatures=0\nProtocolFeatures=0\n"
                                "Status=0\nDeviceId=4\nQueues=1\nAnnounced=\nVrings=64:kick:x\n";

                state_record_init(&r);
                g_assert_cmpint(state_record_from_text(&r, t, strlen(t), &bad), ==, -EINVAL);
                g_assert_nonnull(strstr(bad->message, "Vrings="));
        }
}

static int parse(const char *text, GError **error)
{
        g_auto(StateRecord) r = {0};

        state_record_init(&r);
        return state_record_from_text(&r, text, strlen(text), error);
}

static void test_versioning(void)
{
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;

        /* A newer major format is refused, never half read. */
        g_assert_cmpint(parse("[State]\nFormat=2\nGeneration=1\n", &e1), ==, -EPROTONOSUPPORT);
        g_assert_nonnull(strstr(e1->message, "Format=2"));
        /* Keys a newer minor version adds are ignored. */
        g_assert_cmpint(
            parse("[State]\nFormat=1\nGeneration=1\nFuture=yes\n[Future 1]\nX=1\n", NULL), ==, 0);
        g_assert_cmpint(parse("[State]\nGeneration=1\n", &e2), ==, -EINVAL);
        /* A malformed object is an error naming it. */
        g_assert_cmpint(parse("[State]\nFormat=1\nGeneration=1\n[Object 123]\nFd=x\n", &e3), ==,
                        -EINVAL);
        g_assert_nonnull(strstr(e3->message, "Object 123"));
}

/* ---- the keeper against an in-memory store ---- */

typedef struct {
        GHashTable *fds; /* name -> GINT_TO_POINTER(fd), our copies */
        GPtrArray *ops;  /* "+name" / "-name", in order */
} MemStore;

static void close_value(void *p)
{
        close(GPOINTER_TO_INT(p));
}

static int mem_store(void *userdata, const char *name, int fd)
{
        MemStore *m = userdata;

        g_assert_false(g_hash_table_contains(m->fds, name));
        g_hash_table_insert(m->fds, g_strdup(name), GINT_TO_POINTER(fcntl(fd, F_DUPFD_CLOEXEC, 3)));
        g_ptr_array_add(m->ops, g_strconcat("+", name, NULL));
        return 0;
}

static int mem_remove(void *userdata, const char *name)
{
        MemStore *m = userdata;

        g_assert_true(g_hash_table_remove(m->fds, name));
        g_ptr_array_add(m->ops, g_strconcat("-", name, NULL));
        return 0;
}

static const StateSink mem_sink = {mem_store, mem_remove};

static void run_loop(sd_event *ev)
{
        for (int i = 0; i < 4; i++)
                g_assert_cmpint(sd_event_run(ev, 0), >=, 0);
}

static unsigned count_prefix(GHashTable *fds, const char *prefix)
{
        GHashTableIter it;
        gpointer name;
        unsigned n = 0;

        g_hash_table_iter_init(&it, fds);
        while (g_hash_table_iter_next(&it, &name, NULL))
                n += g_str_has_prefix(name, prefix);
        return n;
}

static int owner_is(void *userdata, const StateObject *o, ShareOwner **ret)
{
        if (o->owner_kind == SHARE_OWNER_BUS_CLIENT && strcmp(o->owner_name, ":1.gone") == 0)
                return -ESRCH;
        *ret = userdata;
        return 0;
}

static void test_keeper_and_restore(void)
{
        MemStore m = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_value),
                      g_ptr_array_new_with_free_func(g_free)};
        sd_event *ev = NULL;
        Service *s = NULL, *s2 = NULL;
        StateKeeper *k = NULL;
        ShareOwner client, gone, service, peer, back;
        uint8_t u[5][SHARE_UUID_SIZE];
        int fd, dup_fd, baseline = fd_count_open();
        ShareEntry *e;

        g_assert_cmpint(sd_event_new(&ev), >=, 0);
        g_assert_cmpint(service_new(ev, NULL, &s), ==, 0);
        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.5", 1000);
        share_owner_init(&gone, SHARE_OWNER_BUS_CLIENT, ":1.gone", 1001);
        share_owner_init(&service, SHARE_OWNER_SERVICE, "service", 0);
        share_owner_init(&peer, SHARE_OWNER_PEER, "back-end#1", 0);
        g_assert_cmpint(state_keeper_new(s, &mem_sink, &m, NULL, NULL, &k), ==, 0);

        for (int i = 0; i < 5; i++)
                random_uuid(u[i]);
        fd = new_memfd(8192, 1);
        g_assert_cmpint(service_export_fd(s, u[0], fd, &client, NULL, NULL), ==, 0);
        /* The same open file under two UUIDs: systemd would keep one copy. */
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(service_export_fd(s, u[1], dup_fd, &client, NULL, NULL), ==, 0);
        g_assert_cmpint(service_export_fd(s, u[2], new_memfd(4096, 3), &gone, NULL, NULL), ==, 0);
        g_assert_cmpint(service_export_fd(s, u[3], new_memfd(4096, 4), &peer, NULL, NULL), ==, 0);
        /* Handed to the service, still charged to uid 1000. */
        g_assert_cmpint(service_export_fd(s, u[4], new_memfd(4096, 5), &client, NULL, &e), ==, 0);
        g_assert_cmpint(share_table_set_owner(service_table(s), e, &service), ==, 0);
        share_table_note_lookup(service_table(s), e);
        run_loop(ev);

        /* One record, one fd per open file; a peer's object is not kept. */
        g_assert_cmpuint(count_prefix(m.fds, "state-"), ==, 1);
        g_assert_cmpuint(count_prefix(m.fds, "obj-"), ==, 3);
        g_assert_cmpuint(state_keeper_generation(k), ==, 1);
        /* The fds went in before the record that names them. */
        g_assert_true(g_str_has_prefix(g_ptr_array_index(m.ops, m.ops->len - 1), "+state-"));

        /* Removing the first of the two sharing an fd keeps that fd. */
        g_assert_cmpint(share_table_remove(service_table(s), u[0], NULL), ==, 0);
        run_loop(ev);
        g_assert_cmpuint(count_prefix(m.fds, "state-"), ==, 1);
        g_assert_cmpuint(count_prefix(m.fds, "obj-"), ==, 3);
        g_assert_cmpuint(state_keeper_generation(k), ==, 2);

        /* A restart: a new service from what the store holds. */
        state_keeper_flush(k, true);
        {
                g_auto(StateRecord) r = {0};
                GHashTableIter it;
                gpointer name, value;
                int state_fd = -1;
                g_autoptr(GHashTable) fds =
                    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_value);

                g_hash_table_iter_init(&it, m.fds);
                while (g_hash_table_iter_next(&it, &name, &value)) {
                        if (g_str_has_prefix(name, "state-"))
                                state_fd = GPOINTER_TO_INT(value);
                        g_hash_table_insert(
                            fds, g_strdup(name),
                            GINT_TO_POINTER(fcntl(GPOINTER_TO_INT(value), F_DUPFD_CLOEXEC, 3)));
                }
                state_record_init(&r);
                g_assert_cmpint(state_record_read_fd(&r, state_fd, NULL), ==, 0);
                g_assert_cmpuint(r.generation, ==, 3);
                g_assert_cmpint(service_new(ev, NULL, &s2), ==, 0);
                share_owner_init(&back, SHARE_OWNER_BUS_CLIENT, ":1.5", 1000);
                /* u[1] (client), u[4] (service, charged to 1000); u[2]'s client left. */
                g_assert_cmpuint(state_restore_objects(s2, &r, fds, owner_is, &back), ==, 2);

                /* The next keeper goes on with the names the store has: u[1]
                 * still under u[0]'s (its open file is stored once). */
                {
                        g_autoptr(GPtrArray) names = g_ptr_array_new();
                        StateKeeper *k2 = NULL;
                        guint ops = m.ops->len;

                        g_hash_table_iter_init(&it, m.fds);
                        while (g_hash_table_iter_next(&it, &name, NULL))
                                g_ptr_array_add(names, name);
                        g_ptr_array_add(names, NULL);
                        g_assert_cmpint(state_keeper_new(s2, &mem_sink, &m,
                                                         (const char *const *) names->pdata, &r,
                                                         &k2),
                                        ==, 0);
                        g_assert_cmpint(state_keeper_flush(k2, true), ==, 0);
                        g_assert_cmpuint(state_keeper_generation(k2), ==, 4);
                        for (guint i = ops; i < m.ops->len; i++)
                                g_assert_false(
                                    g_str_has_prefix(g_ptr_array_index(m.ops, i), "+obj-"));
                        /* u[2]'s buffer went with its client. */
                        g_assert_cmpuint(count_prefix(m.fds, "obj-"), ==, 2);
                        state_keeper_free(k2);
                }
        }
        e = share_table_lookup(service_table(s2), u[1]);
        g_assert_nonnull(e);
        g_assert_cmpint(memfd_verify_pattern(share_entry_fd(e), 8192, 1), ==, 0);
        g_assert_cmpuint(share_entry_info(e)->size, ==, 8192);
        e = share_table_lookup(service_table(s2), u[4]);
        g_assert_nonnull(e);
        g_assert_cmpuint(share_entry_lookup_count(e), ==, 1);
        g_assert_cmpuint(share_entry_uid(e), ==, 1000);
        g_assert_null(share_table_lookup(service_table(s2), u[2]));
        g_assert_null(share_table_lookup(service_table(s2), u[3]));

        share_table_remove_owner(service_table(s2), &back);
        service_free(s2);
        state_keeper_free(k);
        share_table_remove_owner(service_table(s), &client);
        share_table_remove_owner(service_table(s), &gone);
        share_table_remove_owner(service_table(s), &service);
        share_table_remove_owner(service_table(s), &peer);
        service_free(s);
        share_owner_clear(&client);
        share_owner_clear(&gone);
        share_owner_clear(&service);
        share_owner_clear(&peer);
        share_owner_clear(&back);
        g_hash_table_destroy(m.fds);
        g_ptr_array_free(m.ops, true);
        sd_event_unref(ev);
        g_assert_cmpint(fd_count_open(), ==, baseline);
}

static bool refuse;

static int refusing_store(void *userdata, const char *name, int fd)
{
        return refuse ? -ECONNREFUSED : mem_store(userdata, name, fd);
}

static const StateSink refusing_sink = {refusing_store, mem_remove};

/* A store that refuses (no systemd listening, say): the write fails and is
 * tried again; once the store takes fds, the record is complete. */
static void test_keeper_store_refusing(void)
{
        MemStore m = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_value),
                      g_ptr_array_new_with_free_func(g_free)};
        sd_event *ev = NULL;
        Service *s = NULL;
        StateKeeper *k = NULL;
        ShareOwner client;
        uint8_t u[SHARE_UUID_SIZE];
        int baseline = fd_count_open();

        g_assert_cmpint(sd_event_new(&ev), >=, 0);
        g_assert_cmpint(service_new(ev, NULL, &s), ==, 0);
        share_owner_init(&client, SHARE_OWNER_BUS_CLIENT, ":1.5", 1000);
        g_assert_cmpint(state_keeper_new(s, &refusing_sink, &m, NULL, NULL, &k), ==, 0);
        random_uuid(u);
        g_assert_cmpint(service_export_fd(s, u, new_memfd(4096, 1), &client, NULL, NULL), ==, 0);
        refuse = true;
        g_assert_cmpint(state_keeper_flush(k, false), ==, -ECONNREFUSED);
        g_assert_cmpint(state_keeper_flush(k, true), ==, -ECONNREFUSED);
        g_assert_cmpuint(state_keeper_generation(k), ==, 0);
        refuse = false;
        g_assert_cmpint(state_keeper_flush(k, true), ==, 0);
        g_assert_cmpuint(state_keeper_generation(k), ==, 1);
        g_assert_cmpuint(count_prefix(m.fds, "obj-"), ==, 1);
        g_assert_cmpuint(count_prefix(m.fds, "state-"), ==, 1);

        state_keeper_free(k);
        share_table_remove_owner(service_table(s), &client);
        service_free(s);
        share_owner_clear(&client);
        g_hash_table_destroy(m.fds);
        g_ptr_array_free(m.ops, true);
        sd_event_unref(ev);
        g_assert_cmpint(fd_count_open(), ==, baseline);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/state-record/round-trip", test_round_trip);
        g_test_add_func("/state-record/versioning", test_versioning);
        g_test_add_func("/state-record/bridge-round-trip", test_bridge_round_trip);
        g_test_add_func("/state-keeper/keep-and-restore", test_keeper_and_restore);
        g_test_add_func("/state-keeper/store-refusing", test_keeper_store_refusing);
        return g_test_run();
}
