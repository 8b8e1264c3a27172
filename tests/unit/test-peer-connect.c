/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --connect peers in-process (core/peer.c): a peer whose back-end is not
 * there waits, saying why (LastError) and when it tries again; paths that
 * can never work are refused at once; a path already connected to, or one
 * of the service's own listening sockets, is refused; the reconnect backoff
 * grows until a handshake completes, also against a back-end that accepts
 * and hangs up at once. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "service-private.h"
#include "test-timeout.h"

#define MAX_ACCEPTS 8

typedef enum {
        BACKEND_HANG_UP,   /* accepts and closes at once */
        BACKEND_HANDSHAKE, /* a vhost-user back-end engine on what it accepts */
} BackendMode;

/* The back-end's listening socket, in the test's loop. */
typedef struct {
        char *path;
        int fd;
        sd_event_source *io;
        BackendMode mode;
        Peer *peer; /* the --connect peer under test */
        unsigned accepts;
        int64_t accepted_usec[MAX_ACCEPTS];      /* monotonic */
        uint64_t backoff_at_accept[MAX_ACCEPTS]; /* the peer's backoff then */
        VuBackend *engine;
} Backend;

typedef struct {
        sd_event *event;
        Service *service;
        char *dir;
        Backend backend;
} Bench;

#define RUN_UNTIL(b, cond)                                                                         \
        do {                                                                                       \
                gint64 deadline_ = g_get_monotonic_time() + TEST_TIMEOUT_USEC;                     \
                while (!(cond)) {                                                                  \
                        g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                     \
                        g_assert_cmpint(sd_event_run((b)->event, 10 * 1000), >=, 0);               \
                }                                                                                  \
        } while (0)

static void bench_init(Bench *b)
{
        *b = (Bench){.backend.fd = -1};
        g_assert_cmpint(sd_event_new(&b->event), >=, 0);
        g_assert_cmpint(service_new(b->event, NULL, &b->service), ==, 0);
        b->dir = g_dir_make_tmp("test-peer-connect-XXXXXX", NULL);
        g_assert_nonnull(b->dir);
}

static char *bench_path(Bench *b, const char *name)
{
        return g_build_filename(b->dir, name, NULL);
}

static void backend_stop(Backend *be)
{
        vu_backend_free(g_steal_pointer(&be->engine));
        be->io = sd_event_source_disable_unref(be->io);
        fd_close_safe(&be->fd);
        if (be->path)
                (void) unlink(be->path);
        g_clear_pointer(&be->path, g_free);
}

static void bench_clear(Bench *b)
{
        backend_stop(&b->backend);
        service_free(b->service);
        sd_event_unref(b->event);
        g_assert_cmpint(rmdir(b->dir), ==, 0);
        g_free(b->dir);
}

static void engine_on_fail(VuBackend *vb, int error, const char *reason, void *userdata)
{
        Backend *be = userdata;

        vu_backend_free(g_steal_pointer(&be->engine));
}

static int backend_on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Backend *be = userdata;
        VuBackendOps ops = {
            .protocol_features = VU_SHARED_OBJECT_PROTOCOL_FEATURES,
            .queues = 1,
            .on_fail = engine_on_fail,
        };
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (cfd < 0)
                return 0;
        if (be->accepts < MAX_ACCEPTS) {
                be->accepted_usec[be->accepts] = g_get_monotonic_time();
                be->backoff_at_accept[be->accepts] = be->peer ? be->peer->backoff_usec : 0;
        }
        be->accepts++;
        if (be->mode == BACKEND_HANDSHAKE && !be->engine) {
                g_assert_cmpint(vu_backend_new(sd_event_source_get_event(src), cfd, &ops,
                                               "test back-end", be, &be->engine),
                                ==, 0);
                cfd = -1;
        }
        return 0;
}

/* A listening socket at path, accepting in the bench's loop. */
static void backend_listen(Bench *b, const char *path, BackendMode mode)
{
        Backend *be = &b->backend;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        be->path = g_strdup(path);
        be->mode = mode;
        g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
        be->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        g_assert_cmpint(be->fd, >=, 0);
        g_assert_cmpint(bind(be->fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(listen(be->fd, 8), ==, 0);
        g_assert_cmpint(sd_event_add_io(b->event, &be->io, be->fd, EPOLLIN, backend_on_accept, be),
                        >=, 0);
}

static uint64_t realtime_now(Bench *b)
{
        uint64_t now;

        g_assert_cmpint(sd_event_now(b->event, CLOCK_REALTIME, &now), >=, 0);
        return now;
}

/* ---- waiting, and saying why ---- */

/* Nobody listens yet: the peer waits with the connect() error and the time
 * of the next attempt; once the back-end is there it connects, and the
 * completed handshake clears the error. */
static void test_waiting_then_ready(void)
{
        g_autofree char *path = NULL;
        Peer *p = NULL;
        Bench b;

        bench_init(&b);
        path = bench_path(&b, "later.sock");
        g_assert_cmpint(service_connect_backend(b.service, path, &p), ==, 0);
        g_assert_cmpstr(peer_state_to_string(peer_state(p)), ==, "waiting");
        g_assert_cmpstr(peer_last_error(p), ==, "connect: No such file or directory");
        g_assert_cmpuint(peer_next_retry_usec(p), >, realtime_now(&b));
        g_assert_cmpuint(peer_next_retry_usec(p), <=, realtime_now(&b) + 5 * G_USEC_PER_SEC);
        g_assert_cmpuint(peer_pid(p), ==, 0);

        b.backend.peer = p;
        backend_listen(&b, path, BACKEND_HANDSHAKE);
        RUN_UNTIL(&b, peer_state(p) == PEER_STATE_READY);
        g_assert_cmpstr(peer_last_error(p), ==, "");
        g_assert_cmpuint(peer_next_retry_usec(p), ==, 0);
        g_assert_cmpuint(peer_pid(p), ==, (uint32_t) getpid());
        g_assert_cmpuint(b.backend.accepts, ==, 1);
        bench_clear(&b);
}

/* ---- refused at once ---- */

typedef enum {
        DECOY_REGULAR_FILE,
        DECOY_FILE_AS_DIRECTORY,
        DECOY_DATAGRAM_SOCKET,
        DECOY_RELATIVE,
} Decoy;

typedef struct {
        const char *path;
        Decoy decoy;
        int error;
} RefuseCase;

static const RefuseCase refuse_cases[] = {
    {"/peer-connect/refused/regular-file", DECOY_REGULAR_FILE, -ENOTSOCK},
    {"/peer-connect/refused/file-as-directory", DECOY_FILE_AS_DIRECTORY, -ENOTDIR},
    {"/peer-connect/refused/datagram-socket", DECOY_DATAGRAM_SOCKET, -EPROTOTYPE},
    {"/peer-connect/refused/relative", DECOY_RELATIVE, -EINVAL},
};

/* What can never become a stream socket to connect to fails the call, with
 * no peer left behind and the file untouched. */
static void test_refused(const void *data)
{
        const RefuseCase *c = data;
        g_autofree char *file = NULL, *path = NULL, *content = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int dgram = -1, fds;
        Bench b;

        bench_init(&b);
        fds = fd_count_open();
        file = bench_path(&b, "data");
        g_assert_true(g_file_set_contents(file, "precious", -1, NULL));
        switch (c->decoy) {
        case DECOY_REGULAR_FILE:
                path = g_strdup(file);
                break;
        case DECOY_FILE_AS_DIRECTORY:
                path = g_build_filename(file, "x.sock", NULL);
                break;
        case DECOY_DATAGRAM_SOCKET:
                path = bench_path(&b, "dgram.sock");
                g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
                dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                g_assert_cmpint(bind(dgram, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
                fds++;
                break;
        case DECOY_RELATIVE:
                path = g_strdup("relative.sock");
                break;
        }
        g_assert_cmpint(service_connect_backend(b.service, path, NULL), ==, c->error);
        g_assert_cmpuint(service_n_peers(b.service), ==, 0);
        g_assert_true(g_file_get_contents(file, &content, NULL, NULL));
        g_assert_cmpstr(content, ==, "precious");
        service_reap_peers(b.service);
        g_assert_cmpint(fd_count_open(), ==, fds);
        if (dgram >= 0) {
                close(dgram);
                g_assert_cmpint(unlink(path), ==, 0);
        }
        g_assert_cmpint(unlink(file), ==, 0);
        bench_clear(&b);
}

/* ---- one peer per socket, never the service's own ---- */

static void test_duplicate(void)
{
        g_autofree char *waiting = NULL, *live = NULL, *alias = NULL, *slashes = NULL;
        Bench b;

        bench_init(&b);
        waiting = bench_path(&b, "waiting.sock");
        live = bench_path(&b, "live.sock");
        alias = bench_path(&b, "alias.sock");
        g_assert_cmpint(service_connect_backend(b.service, waiting, NULL), ==, 0);
        g_assert_cmpint(service_connect_backend(b.service, waiting, NULL), ==, -EEXIST);
        slashes = g_strdup_printf("%s//./waiting.sock", b.dir);
        g_assert_cmpint(service_connect_backend(b.service, slashes, NULL), ==, -EEXIST);
        /* A symlink to a socket already connected to is the same back-end. */
        backend_listen(&b, live, BACKEND_HANG_UP);
        g_assert_cmpint(service_connect_backend(b.service, live, NULL), ==, 0);
        g_assert_cmpint(symlink(live, alias), ==, 0);
        g_assert_cmpint(service_connect_backend(b.service, alias, NULL), ==, -EEXIST);
        g_assert_cmpuint(service_n_peers(b.service), ==, 2);
        g_assert_cmpint(unlink(alias), ==, 0);
        bench_clear(&b);
}

static void test_own_listener(void)
{
        g_autofree char *accept = NULL, *serve = NULL, *alias = NULL, *later = NULL;
        Peer *p = NULL;
        Bench b;

        bench_init(&b);
        accept = bench_path(&b, "accept.sock");
        serve = bench_path(&b, "serve.sock");
        alias = bench_path(&b, "alias.sock");
        later = bench_path(&b, "later.sock");
        g_assert_cmpint(service_listen_backends(b.service, accept), ==, 0);
        g_assert_cmpint(service_listen_frontends(b.service, serve), ==, 0);
        g_assert_cmpint(service_connect_backend(b.service, accept, NULL), ==, -EEXIST);
        g_assert_cmpint(service_connect_backend(b.service, serve, NULL), ==, -EEXIST);
        g_assert_cmpint(symlink(accept, alias), ==, 0);
        g_assert_cmpint(service_connect_backend(b.service, alias, NULL), ==, -EEXIST);
        g_assert_cmpuint(service_n_peers(b.service), ==, 0);

        /* A listener that appears where a peer waits: the peer does not
         * connect to it, and says why. */
        g_assert_cmpint(service_connect_backend(b.service, later, &p), ==, 0);
        g_assert_cmpint(service_listen_frontends(b.service, later), ==, 0);
        RUN_UNTIL(&b, strstr(peer_last_error(p), "own listening socket"));
        g_assert_cmpint(peer_state(p), ==, PEER_STATE_WAITING);
        g_assert_cmpuint(peer_next_retry_usec(p), >, 0);
        g_assert_cmpuint(service_n_peers(b.service), ==, 1);
        g_assert_cmpint(unlink(alias), ==, 0);
        bench_clear(&b);
}

static void test_at_limit(void)
{
        g_autofree char *a = NULL, *c = NULL;
        ServiceConfig cfg;
        Bench b;

        bench_init(&b);
        service_free(b.service);
        service_config_init_defaults(&cfg);
        cfg.max_peers = 1;
        g_assert_cmpint(service_new(b.event, &cfg, &b.service), ==, 0);
        a = bench_path(&b, "a.sock");
        c = bench_path(&b, "c.sock");
        g_assert_cmpint(service_connect_backend(b.service, a, NULL), ==, 0);
        g_assert_cmpint(service_connect_backend(b.service, c, NULL), ==, -EUSERS);
        bench_clear(&b);
}

/* ---- backoff ---- */

/* A back-end that accepts and hangs up: each connect() succeeds, no
 * handshake completes, so the wait doubles from one attempt to the next
 * (and each real gap is at least the wait). Once a handshake completes, the
 * next failure waits the shortest time again. */
static void test_backoff_grows_until_handshake(void)
{
        g_autofree char *path = NULL;
        Backend *be;
        Peer *p = NULL;
        Bench b;

        bench_init(&b);
        be = &b.backend;
        path = bench_path(&b, "flaky.sock");
        backend_listen(&b, path, BACKEND_HANG_UP);
        g_assert_cmpint(service_connect_backend(b.service, path, &p), ==, 0);
        be->peer = p;
        RUN_UNTIL(&b, be->accepts >= 6);
        for (unsigned i = 1; i + 1 < 6; i++) {
                int64_t gap = be->accepted_usec[i + 1] - be->accepted_usec[i];

                g_test_message("attempt %u: waited %" G_GUINT64_FORMAT " us, gap %" G_GINT64_FORMAT
                               " us",
                               i + 1, be->backoff_at_accept[i + 1], gap);
                g_assert_cmpuint(be->backoff_at_accept[i + 1], >, be->backoff_at_accept[i]);
                g_assert_cmpuint(be->backoff_at_accept[i + 1], ==, 2 * be->backoff_at_accept[i]);
                g_assert_cmpint(gap, >=, (int64_t) be->backoff_at_accept[i + 1]);
        }
        g_assert_cmpint(peer_state(p), !=, PEER_STATE_READY);

        /* Now it speaks vhost-user: ready, and the backoff starts over. */
        be->mode = BACKEND_HANDSHAKE;
        RUN_UNTIL(&b, peer_state(p) == PEER_STATE_READY);
        g_assert_cmpuint(p->backoff_usec, ==, 0);
        vu_backend_free(g_steal_pointer(&be->engine));
        RUN_UNTIL(&b, peer_state(p) == PEER_STATE_WAITING);
        g_assert_cmpuint(peer_next_retry_usec(p) - realtime_now(&b), <=, 50 * 1000);
        bench_clear(&b);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/peer-connect/waiting-then-ready", test_waiting_then_ready);
        for (size_t i = 0; i < G_N_ELEMENTS(refuse_cases); i++)
                g_test_add_data_func(refuse_cases[i].path, &refuse_cases[i], test_refused);
        g_test_add_func("/peer-connect/duplicate", test_duplicate);
        g_test_add_func("/peer-connect/own-listener", test_own_listener);
        g_test_add_func("/peer-connect/at-limit", test_at_limit);
        g_test_add_func("/peer-connect/backoff-grows-until-handshake",
                        test_backoff_grows_until_handshake);
        return g_test_run();
}
