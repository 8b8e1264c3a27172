/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's peers in-process, without a daemon or a bus: peer observers
 * added and removed while they are notified, service_adopt_peer() at the
 * peer cap and on a socket that cannot be watched (who owns the fd), and a
 * --connect peer whose reconnect cannot be armed. */

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "service-private.h"

#define N_RECORDERS 3
#define N_EVENTS (PEER_EVENT_GONE + 1)
#define NOBODY (-1)

typedef struct Bench Bench;

/* One peer observer: counts what it hears and, once, on the event
 * act_on, removes recorder `removes` or adds recorder `adds`. */
typedef struct {
        Bench *bench;
        unsigned id; /* 0: not registered */
        unsigned heard[N_EVENTS];
        int act_on;
        int removes;
        int adds;
} Recorder;

struct Bench {
        sd_event *event;
        Service *service;
        Recorder rec[N_RECORDERS];
};

static void recorder_on_peer(Service *s, Peer *p, PeerEvent ev, void *userdata);

static void recorder_register(Bench *b, int i)
{
        b->rec[i].id = service_add_peer_observer(b->service, recorder_on_peer, &b->rec[i]);
        g_assert_cmpuint(b->rec[i].id, !=, 0);
}

static void recorder_on_peer(Service *s, Peer *p, PeerEvent ev, void *userdata)
{
        Recorder *r = userdata;
        Bench *b = r->bench;

        g_assert_true(s == b->service);
        g_assert_cmpint(ev, <, N_EVENTS);
        r->heard[ev]++;
        if ((int) ev != r->act_on)
                return;
        r->act_on = NOBODY; /* once */
        if (r->removes != NOBODY) {
                service_remove_peer_observer(s, b->rec[r->removes].id);
                b->rec[r->removes].id = 0;
        }
        if (r->adds != NOBODY)
                recorder_register(b, r->adds);
}

static void bench_init(Bench *b, const ServiceConfig *cfg)
{
        *b = (Bench){0};
        g_assert_cmpint(sd_event_new(&b->event), >=, 0);
        g_assert_cmpint(service_new(b->event, cfg, &b->service), ==, 0);
        for (int i = 0; i < N_RECORDERS; i++)
                b->rec[i] =
                    (Recorder){.bench = b, .act_on = NOBODY, .removes = NOBODY, .adds = NOBODY};
}

static void bench_clear(Bench *b)
{
        service_free(b->service);
        sd_event_unref(b->event);
}

/* The loop ends: from now on every sd_event_add_*() and every enabling of
 * a source fails with -ESTALE. */
static void bench_finish_loop(Bench *b)
{
        g_assert_cmpint(sd_event_exit(b->event, 0), >=, 0);
        g_assert_cmpint(sd_event_loop(b->event), ==, 0);
        g_assert_cmpint(sd_event_get_state(b->event), ==, SD_EVENT_FINISHED);
}

/* A VMM's side of a bridge peer that waits for the VMM to speak: NEW and
 * CHANGED (negotiating) at once, GONE when closed. Returns the VMM's end. */
static int adopt_bridge_peer(Bench *b, Peer **ret)
{
        int sv[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(b->service, ROLE_BACKEND, sv[0], "vmm", ret), ==, 0);
        return sv[1];
}

/* One peer's life (adopted, negotiating, closed) heard by recorders 0..2,
 * set up by the test; then what each heard is compared with expect. */
static void run_peer_life(Bench *b, const unsigned expect[N_RECORDERS][N_EVENTS])
{
        Peer *p = NULL;
        int vmm;

        vmm = adopt_bridge_peer(b, &p);
        service_close_peer(b->service, p, "test over");
        close(vmm);
        for (int i = 0; i < N_RECORDERS; i++)
                for (int ev = 0; ev < N_EVENTS; ev++) {
                        if (b->rec[i].heard[ev] != expect[i][ev])
                                g_test_message("recorder %d heard event %d %u time(s), not %u", i,
                                               ev, b->rec[i].heard[ev], expect[i][ev]);
                        g_assert_cmpuint(b->rec[i].heard[ev], ==, expect[i][ev]);
                }
}

/* ---- observers changed during a notification ---- */

/* Recorders 0..n_registered-1 are registered; on event act_on, recorder
 * actor removes recorder `removes` or adds recorder `adds`. */
typedef struct {
        const char *path;
        int n_registered;
        int actor;
        PeerEvent act_on;
        int removes;
        int adds;
        unsigned expect[N_RECORDERS][N_EVENTS]; /* NEW, CHANGED, GONE heard */
} ObserverCase;

static const ObserverCase observer_cases[] = {
    /* 0 hears only the NEW it left on; the next one is not skipped. */
    {.path = "/service/peer-observers/remove-self-on-new",
     .n_registered = 3,
     .actor = 0,
     .act_on = PEER_EVENT_NEW,
     .removes = 0,
     .adds = NOBODY,
     .expect = {{1, 0, 0}, {1, 1, 1}, {1, 1, 1}}},
    /* 1 removes 0 (already called) during CHANGED: 2 still hears it. */
    {.path = "/service/peer-observers/remove-earlier-on-changed",
     .n_registered = 3,
     .actor = 1,
     .act_on = PEER_EVENT_CHANGED,
     .removes = 0,
     .adds = NOBODY,
     .expect = {{1, 1, 0}, {1, 1, 1}, {1, 1, 1}}},
    {.path = "/service/peer-observers/remove-self-on-gone",
     .n_registered = 3,
     .actor = 0,
     .act_on = PEER_EVENT_GONE,
     .removes = 0,
     .adds = NOBODY,
     .expect = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}}},
    /* 0 removes 1 before its turn: 1 hears nothing, 2 everything. */
    {.path = "/service/peer-observers/remove-later-on-new",
     .n_registered = 3,
     .actor = 0,
     .act_on = PEER_EVENT_NEW,
     .removes = 1,
     .adds = NOBODY,
     .expect = {{1, 1, 1}, {0, 0, 0}, {1, 1, 1}}},
    /* 2, added by 0 during NEW, hears from the next event on. */
    {.path = "/service/peer-observers/add-on-new",
     .n_registered = 2,
     .actor = 0,
     .act_on = PEER_EVENT_NEW,
     .removes = NOBODY,
     .adds = 2,
     .expect = {{1, 1, 1}, {1, 1, 1}, {0, 1, 1}}},
};

static void test_observer_case(gconstpointer data)
{
        const ObserverCase *c = data;
        Bench b;

        bench_init(&b, NULL);
        for (int i = 0; i < c->n_registered; i++)
                recorder_register(&b, i);
        b.rec[c->actor].act_on = c->act_on;
        b.rec[c->actor].removes = c->removes;
        b.rec[c->actor].adds = c->adds;
        run_peer_life(&b, c->expect);
        if (c->removes != NOBODY)
                g_assert_cmpuint(b.rec[c->removes].id, ==, 0);
        bench_clear(&b);
}

/* ---- service_adopt_peer() and the fd ---- */

static void test_adopt_at_limit_leaves_fd(void)
{
        ServiceConfig c;
        Bench b;
        Peer *p = NULL;
        int vmm, sv[2], fds = fd_count_open();

        service_config_init_defaults(&c);
        c.max_peers = 1;
        bench_init(&b, &c);
        vmm = adopt_bridge_peer(&b, &p);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(b.service, ROLE_BACKEND, sv[0], "one-too-many", NULL),
                        ==, -EUSERS);
        /* Refused, and the fd is still the caller's: open, not hung up. */
        g_assert_cmpint(fcntl(sv[0], F_GETFD), >=, 0);
        g_assert_cmpint(recv(sv[1], (char[1]){0}, 1, MSG_DONTWAIT), ==, -1);
        g_assert_cmpint(errno, ==, EAGAIN);
        g_assert_cmpuint(service_n_peers(b.service), ==, 1);
        close(sv[0]);
        close(sv[1]);
        close(vmm);
        bench_clear(&b);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* A peer whose socket cannot be watched (the loop has finished, so no
 * event source can be added) fails at once; the adopted fd was taken, so
 * the peer closes it: the other end sees the hang-up, nothing leaks. */
static void test_adopt_unwatchable_closes_fd(gconstpointer data)
{
        Role role = GPOINTER_TO_INT(data);
        Bench b;
        Peer *p = NULL;
        uint64_t id;
        int sv[2], fds = fd_count_open();

        bench_init(&b, NULL);
        recorder_register(&b, 0);
        bench_finish_loop(&b);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(b.service, role, sv[0], "unwatchable", &p), ==, 0);
        id = peer_id(p);
        g_assert_cmpstr(peer_last_error(p), ==, "cannot watch the socket");
        g_assert_null(service_find_peer(b.service, id));
        g_assert_cmpuint(b.rec[0].heard[PEER_EVENT_GONE], ==, 1);
        g_assert_cmpint(recv(sv[1], (char[1]){0}, 1, MSG_DONTWAIT), ==, 0);
        close(sv[1]);
        bench_clear(&b);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* ---- reconnecting peers whose retry cannot be armed ---- */

static void test_connect_retry_unarmable(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-service-peers-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "nobody.sock", NULL);
        Bench b;

        g_assert_nonnull(dir);
        bench_init(&b, NULL);
        recorder_register(&b, 0);
        bench_finish_loop(&b);
        /* Nobody listens: the first retry cannot be armed, so the call
         * fails rather than leave a peer that never tries again. */
        g_assert_cmpint(service_connect_backend(b.service, path, NULL), <, 0);
        g_assert_cmpuint(service_n_peers(b.service), ==, 0);
        g_assert_cmpuint(b.rec[0].heard[PEER_EVENT_NEW], ==, 1);
        g_assert_cmpuint(b.rec[0].heard[PEER_EVENT_GONE], ==, 1);
        bench_clear(&b);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

static void test_reconnect_unarmable(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-service-peers-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "nobody.sock", NULL);
        Peer *p = NULL;
        uint64_t id;
        Bench b;

        g_assert_nonnull(dir);
        bench_init(&b, NULL);
        recorder_register(&b, 0);
        /* Waiting for its back-end, a retry armed. */
        g_assert_cmpint(service_connect_backend(b.service, path, &p), ==, 0);
        id = peer_id(p);
        g_assert_cmpint(peer_state(p), ==, PEER_STATE_WAITING);
        bench_finish_loop(&b);
        /* It breaks; the next retry cannot be armed: it goes, and says so,
         * rather than stay "waiting" for ever. */
        peer_fail(p, "broken for the test");
        g_assert_null(service_find_peer(b.service, id));
        g_assert_cmpuint(service_n_peers(b.service), ==, 0);
        g_assert_cmpuint(b.rec[0].heard[PEER_EVENT_GONE], ==, 1);
        bench_clear(&b);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

/* The names the D-Bus Role and State properties and the logs use. */
static void test_names(void)
{
        g_assert_cmpstr(role_remote_to_string(ROLE_FRONTEND), ==, "back-end");
        g_assert_cmpstr(role_remote_to_string(ROLE_BACKEND), ==, "front-end");
        g_assert_cmpstr(peer_state_to_string(PEER_STATE_CONNECTING), ==, "connecting");
        g_assert_cmpstr(peer_state_to_string(PEER_STATE_WAITING), ==, "waiting");
        g_assert_cmpstr(peer_state_to_string(PEER_STATE_NEGOTIATING), ==, "negotiating");
        g_assert_cmpstr(peer_state_to_string(PEER_STATE_READY), ==, "ready");
        g_assert_cmpstr(peer_state_to_string(PEER_STATE_CLOSED), ==, "closed");
        g_assert_cmpstr(peer_state_to_string((PeerState) (PEER_STATE_CLOSED + 1)), ==, "unknown");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(observer_cases); i++)
                g_test_add_data_func(observer_cases[i].path, &observer_cases[i],
                                     test_observer_case);
        g_test_add_func("/service/adopt/at-limit-leaves-fd", test_adopt_at_limit_leaves_fd);
        g_test_add_data_func("/service/adopt/unwatchable-closes-fd/hub",
                             GINT_TO_POINTER(ROLE_FRONTEND), test_adopt_unwatchable_closes_fd);
        g_test_add_data_func("/service/adopt/unwatchable-closes-fd/bridge",
                             GINT_TO_POINTER(ROLE_BACKEND), test_adopt_unwatchable_closes_fd);
        g_test_add_func("/service/connect/retry-unarmable", test_connect_retry_unarmable);
        g_test_add_func("/service/connect/reconnect-unarmable", test_reconnect_unarmable);
        g_test_add_func("/service/names", test_names);
        return g_test_run();
}
