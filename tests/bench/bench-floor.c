/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor: what the kernel alone costs for the hub's LOOKUP pattern. A
 * client sends 28 bytes (a vhost-user header and a UUID) on a socketpair
 * and waits with poll for 20 bytes (a header and a u64) carrying one fd via
 * SCM_RIGHTS; one server (a thread, or a forked process like the daemon)
 * answers all clients from a single poll loop, as the hub's event loop
 * does. Nothing else happens: no parsing, no table, no dup. The proxied
 * floor puts a relay between them, as a proxied LOOKUP has the hub between
 * the importer and the exporter: two round trips chained. */

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "buffer-pattern.h"
#include "fd-util.h"

#define REQUEST_SIZE 28 /* VU_HEADER_SIZE + VU_UUID_SIZE */
#define ANSWER_SIZE 20  /* VU_HEADER_SIZE + sizeof(uint64_t) */

typedef struct {
        int *fds; /* server ends */
        unsigned n;
        int buffer_fd;
} FloorServer;

/* Serves until every client hung up. Only poll, recvmsg, sendmsg: safe in a
 * forked child of a threaded process. */
static int floor_serve(FloorServer *srv)
{
        struct pollfd pfd[64];
        uint8_t req[REQUEST_SIZE], ans[ANSWER_SIZE] = {0};
        unsigned open = srv->n;

        for (unsigned i = 0; i < srv->n; i++)
                pfd[i] = (struct pollfd){.fd = srv->fds[i], .events = POLLIN};
        while (open > 0) {
                int r = poll(pfd, srv->n, BENCH_TIMEOUT_MS);
                if (r <= 0)
                        return r == 0 ? -ETIMEDOUT : -errno;
                for (unsigned i = 0; i < srv->n; i++) {
                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t n = bench_recv_fd(pfd[i].fd, req, sizeof(req), NULL);
                        if (n <= 0) {
                                pfd[i].fd = -1;
                                open--;
                                continue;
                        }
                        /* The answer's header echoes the request id, as a reply does. */
                        memcpy(ans, req, 4);
                        if (bench_send_fd(pfd[i].fd, ans, sizeof(ans), srv->buffer_fd) !=
                            (ssize_t) sizeof(ans))
                                return -EIO;
                }
        }
        return 0;
}

static void *floor_server_thread(void *arg)
{
        floor_serve(arg);
        return NULL;
}

typedef struct {
        int *fds;         /* client ends */
        Samples *samples; /* one per client */
} FloorClients;

static void floor_client(unsigned i, void *userdata)
{
        FloorClients *c = userdata;
        int fd = c->fds[i];
        uint8_t req[REQUEST_SIZE] = {0}, ans[ANSWER_SIZE];

        req[0] = VU_BREQ_SHARED_OBJECT_LOOKUP;
        for (unsigned k = 0; bench_running(); k++) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int got = -1;
                uint64_t t0 = bench_now_ns();

                memcpy(req + 24, &k, 4);
                if (bench_send_fd(fd, req, sizeof(req), -1) != (ssize_t) sizeof(req) ||
                    poll(&pfd, 1, BENCH_TIMEOUT_MS) != 1 ||
                    bench_recv_fd(fd, ans, sizeof(ans), &got) != (ssize_t) sizeof(ans) || got < 0) {
                        fd_close_safe(&got);
                        c->samples[i].failures++;
                        break;
                }
                close(got);
                if (k >= BENCH_WARMUP_OPS)
                        samples_add(&c->samples[i], bench_now_ns() - t0);
        }
}

int floor_run(unsigned clients, bool process, unsigned duration_ms, Samples *acc,
              uint64_t *wall_acc)
{
        g_autofree int *server_fds = g_new(int, clients);
        g_autofree int *client_fds = g_new(int, clients);
        g_autofree Samples *samples = g_new0(Samples, clients);
        _cleanup_close_ int buffer_fd = -1;
        pthread_t tid = 0;
        pid_t pid = -1;
        int r;

        g_assert(clients <= 64);
        r = memfd_new_sealed_pattern("bench-floor", 4096, 1, &buffer_fd);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < clients; i++) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        g_error("socketpair: %s", g_strerror(errno));
                server_fds[i] = sv[0];
                client_fds[i] = sv[1];
        }

        FloorServer srv = {.fds = server_fds, .n = clients, .buffer_fd = buffer_fd};
        if (process) {
                pid = fork();
                if (pid < 0)
                        return -errno;
                if (pid == 0) {
                        /* The clients' ends must close in one place only, or no EOF. */
                        for (unsigned i = 0; i < clients; i++)
                                close(client_fds[i]);
                        _exit(floor_serve(&srv) < 0 ? 1 : 0);
                }
                for (unsigned i = 0; i < clients; i++)
                        close(server_fds[i]);
        } else if (pthread_create(&tid, NULL, floor_server_thread, &srv) != 0) {
                return -EAGAIN;
        }

        FloorClients c = {.fds = client_fds, .samples = samples};
        *wall_acc += bench_run_threads(clients, duration_ms, floor_client, &c);
        for (unsigned i = 0; i < clients; i++)
                close(client_fds[i]);
        if (process) {
                int status;
                waitpid(pid, &status, 0);
        } else {
                pthread_join(tid, NULL);
                for (unsigned i = 0; i < clients; i++)
                        close(server_fds[i]);
        }
        for (unsigned i = 0; i < clients; i++) {
                samples_merge(acc, &samples[i]);
                samples_clear(&samples[i]);
        }
        return 0;
}

/* ---- the proxied floor: client -> relay -> server and back ---- */

typedef struct {
        int *front; /* the clients' peers */
        int *back;  /* towards the server */
        unsigned n;
} FloorRelay;

/* Forwards requests to the server and answers (with their fd) back, one
 * poll loop for all, as the hub does for a proxied LOOKUP. Only poll,
 * recvmsg, sendmsg, close: safe in a forked child. */
static int floor_relay(FloorRelay *relay)
{
        struct pollfd pfd[128];
        uint8_t buf[REQUEST_SIZE];
        unsigned n = relay->n, open = n;

        for (unsigned i = 0; i < n; i++) {
                pfd[i] = (struct pollfd){.fd = relay->front[i], .events = POLLIN};
                pfd[n + i] = (struct pollfd){.fd = relay->back[i], .events = POLLIN};
        }
        while (open > 0) {
                int r = poll(pfd, 2 * n, BENCH_TIMEOUT_MS);
                if (r <= 0)
                        return r == 0 ? -ETIMEDOUT : -errno;
                for (unsigned i = 0; i < 2 * n; i++) {
                        bool from_client = i < n;
                        unsigned k = from_client ? i : i - n;
                        int fd = -1;
                        ssize_t got;

                        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        got =
                            bench_recv_fd(pfd[i].fd, buf, from_client ? REQUEST_SIZE : ANSWER_SIZE,
                                          from_client ? NULL : &fd);
                        if (got <= 0) {
                                /* A client left: let the server see it too. */
                                pfd[i].fd = -1;
                                if (from_client) {
                                        shutdown(relay->back[k], SHUT_WR);
                                        open--;
                                }
                                continue;
                        }
                        bench_send_fd(from_client ? relay->back[k] : relay->front[k], buf,
                                      (size_t) got, fd);
                        if (fd >= 0)
                                close(fd);
                }
        }
        return 0;
}

static void *floor_relay_thread(void *arg)
{
        floor_relay(arg);
        return NULL;
}

int floor_chain_run(unsigned clients, bool process, unsigned duration_ms, Samples *acc,
                    uint64_t *wall_acc)
{
        g_autofree int *client_fds = g_new(int, clients);
        g_autofree int *front = g_new(int, clients);
        g_autofree int *back = g_new(int, clients);
        g_autofree int *server_fds = g_new(int, clients);
        g_autofree Samples *samples = g_new0(Samples, clients);
        _cleanup_close_ int buffer_fd = -1;
        pthread_t server_tid = 0, relay_tid = 0;
        pid_t pid = -1;
        int r;

        g_assert(clients <= 64);
        r = memfd_new_sealed_pattern("bench-floor", 4096, 1, &buffer_fd);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < clients; i++) {
                int a[2], b[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) < 0 ||
                    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) < 0)
                        g_error("socketpair: %s", g_strerror(errno));
                client_fds[i] = a[0];
                front[i] = a[1];
                back[i] = b[0];
                server_fds[i] = b[1];
        }
        FloorServer srv = {.fds = server_fds, .n = clients, .buffer_fd = buffer_fd};
        FloorRelay relay = {.front = front, .back = back, .n = clients};

        if (pthread_create(&server_tid, NULL, floor_server_thread, &srv) != 0)
                return -EAGAIN;
        if (process) {
                pid = fork();
                if (pid < 0)
                        return -errno;
                if (pid == 0) {
                        for (unsigned i = 0; i < clients; i++) {
                                close(client_fds[i]);
                                close(server_fds[i]);
                        }
                        _exit(floor_relay(&relay) < 0 ? 1 : 0);
                }
                for (unsigned i = 0; i < clients; i++) {
                        close(front[i]);
                        close(back[i]);
                }
        } else if (pthread_create(&relay_tid, NULL, floor_relay_thread, &relay) != 0) {
                return -EAGAIN;
        }

        FloorClients c = {.fds = client_fds, .samples = samples};
        *wall_acc += bench_run_threads(clients, duration_ms, floor_client, &c);
        for (unsigned i = 0; i < clients; i++)
                close(client_fds[i]);
        if (process) {
                int status;
                waitpid(pid, &status, 0);
        } else {
                pthread_join(relay_tid, NULL);
                for (unsigned i = 0; i < clients; i++) {
                        close(front[i]);
                        close(back[i]);
                }
        }
        pthread_join(server_tid, NULL);
        for (unsigned i = 0; i < clients; i++) {
                close(server_fds[i]);
                samples_merge(acc, &samples[i]);
                samples_clear(&samples[i]);
        }
        return 0;
}

int floor_measure(const Bench *b, unsigned clients, bool process, Summary *out)
{
        Samples all;
        uint64_t wall = 0;
        int r;

        samples_init(&all);
        r = floor_run(clients, process, b->duration_ms, &all, &wall);
        samples_summarize(&all, wall, out);
        samples_clear(&all);
        return r;
}

static int floor_chain_measure(const Bench *b, unsigned clients, bool process, Summary *out)
{
        Samples all;
        uint64_t wall = 0;
        int r;

        samples_init(&all);
        r = floor_chain_run(clients, process, b->duration_ms, &all, &wall);
        samples_summarize(&all, wall, out);
        samples_clear(&all);
        return r;
}

int bench_floor(Bench *b)
{
        static const unsigned counts[] = {1, 8};
        Summary s;

        report_section("Floor",
                       "A socketpair round trip: a 28-byte request, a 20-byte answer with one "
                       "fd (SCM_RIGHTS), poll/recvmsg/sendmsg, one server for all clients. "
                       "The proxied floor puts a relay (one poll loop) between the clients and "
                       "the server thread: two round trips chained, as a proxied LOOKUP has. "
                       "Every later table repeats the floors measured next to its rows.");
        for (unsigned k = 0; k < G_N_ELEMENTS(counts); k++) {
                unsigned n = MIN(counts[k], b->max_clients);
                if (floor_measure(b, n, false, &s) == 0)
                        report_row("floor, server thread", n, 0, &s, NULL, NULL);
                if (floor_measure(b, n, true, &s) == 0)
                        report_row("floor, server process", n, 0, &s, NULL, NULL);
                if (floor_chain_measure(b, n, false, &s) == 0)
                        report_row("proxied floor, relay thread", n, 0, &s, NULL, NULL);
                if (floor_chain_measure(b, n, true, &s) == 0)
                        report_row("proxied floor, relay process", n, 0, &s, NULL, NULL);
        }
        return 0;
}
