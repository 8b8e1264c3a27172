/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vhost-share-bench: measures the hub, the service process and QEMU against
 * the physical floor (a socketpair round trip with one fd), all in one run,
 * so that the ratios compare figures taken on the same machine minutes
 * apart. One file per workload group; this header holds what they share:
 * samples and the report (bench-stats.c), raw vhost-user back-ends
 * (bench-wire.c) and the hub under test (bench-target.c). */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "vu-message.h"

#define BENCH_TIMEOUT_MS 5000 /* no single wait in the bench lasts longer */
/* A measurement is split in rounds that alternate with the floor's, so that
 * both see the same phases of a noisy machine. */
#define BENCH_ROUNDS 5

typedef struct {
        unsigned duration_ms;      /* of one measurement (all its rounds together) */
        unsigned object_counts[4]; /* table sizes to measure at */
        unsigned n_object_counts;
        unsigned max_clients; /* 8: the concurrent case */
        char *service_path;   /* the vhost-shared binary */
        char *qemu_path;      /* qemu-system-x86_64 */
        char *tmpdir;         /* sockets, config, logs; removed at exit */
        bool verbose;
        const char *cpu_sleep; /* how the run treats CPU sleep states (bench-main.c) */
} Bench;

/* ---- time, samples, the report (bench-stats.c) ---- */

uint64_t bench_now_ns(void);

typedef struct {
        uint64_t *ns; /* one latency per operation */
        size_t n, cap;
        uint64_t failures;
} Samples;

void samples_init(Samples *s);
void samples_add(Samples *s, uint64_t ns);
void samples_merge(Samples *into, const Samples *from);
void samples_clear(Samples *s);

typedef struct {
        uint64_t n, failures;
        double ops_per_sec; /* operations / wall time of the measurement */
        double p50_us, p99_us, max_us;
} Summary;

/* Sorts s in place. wall_ns is the time all clients together took. */
void samples_summarize(Samples *s, uint64_t wall_ns, Summary *out);

void report_machine(const Bench *b);
/* A section: a heading, a paragraph, then the table header. */
void report_section(const char *title, const char *text);
/* One table row; floor may be NULL (the row is a floor itself). */
void report_row(const char *workload, unsigned clients, unsigned objects, const Summary *s,
                const Summary *floor, const char *note);
/* Free text between tables (a paragraph, or a small table of its own). */
void report_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A UUID no other run or client uses: random prefix, then who and which. */
void bench_uuid(uint8_t uuid[VU_UUID_SIZE], uint32_t who, uint32_t seq);

/* Runs fn(i, userdata) on n threads released together; after duration_ms
 * bench_running() turns false and the threads should return. Returns the
 * wall time from the release to the last thread's end. Time-boxed rather
 * than counted, so that all clients overlap for the whole measurement. */
uint64_t bench_run_threads(unsigned n, unsigned duration_ms, void (*fn)(unsigned i, void *userdata),
                           void *userdata);
bool bench_running(void);
/* Operations a client discards before it records samples. */
#define BENCH_WARMUP_OPS 20

/* ---- child processes (bench-spawn.c) ---- */

typedef struct {
        pid_t pid;
        int pidfd;
} BenchChild;

/* Starts argv[0] (a path) with envp, stdin /dev/null, output to log_path. */
int bench_spawn(char **argv, char **envp, const char *log_path, BenchChild *ret);
bool bench_child_exited(BenchChild *c);
/* Sends signal_first, waits (bounded), then SIGKILL; reaps. Returns the wait status. */
int bench_child_stop(BenchChild *c, int signal_first);

/* ---- a private bus (bench-bus.c) ---- */

typedef struct {
        BenchChild child;
        char *address;
} BenchBus;

/* Starts dbus-daemon listening in dir; returns once it accepts clients. */
int bench_bus_start(const char *dir, BenchBus *ret);
void bench_bus_stop(BenchBus *b);
int bench_bus_connect(const char *address, sd_bus **ret);

/* ---- the floor (bench-floor.c) ---- */

/* A socketpair round trip: 28-byte request, 20-byte answer with one fd via
 * SCM_RIGHTS, poll/recvmsg/sendmsg, served by one thread (or a forked
 * process) for all clients. */
int floor_measure(const Bench *b, unsigned clients, bool process, Summary *out);
/* One round of duration_ms: samples appended to acc, wall time added. */
int floor_run(unsigned clients, bool process, unsigned duration_ms, Samples *acc,
              uint64_t *wall_acc);
/* The same with a relay (a thread, or a forked process) between the
 * clients and the server thread: the floor of a proxied LOOKUP. */
int floor_chain_run(unsigned clients, bool process, unsigned duration_ms, Samples *acc,
                    uint64_t *wall_acc);
int bench_floor(Bench *b);

/* ---- raw vhost-user back-ends (bench-wire.c) ----
 * A back-end as a device process would be: its main socket is answered by
 * a servant thread (handshake, GET_SHARED_OBJECT), its back-end channel is
 * driven by a workload thread with blocking round trips. */

typedef struct WireServant WireServant;

/* sendmsg of len bytes with fd attached (fd < 0: none); returns bytes or -errno. */
ssize_t bench_send_fd(int sock, const void *buf, size_t len, int fd);
/* One whole message on a blocking socket, with fd (< 0: none) / into m
 * (its fd, if any, in m->fds). 0 or -errno. */
int wire_send_message(int sock, VuMessage *m, int fd);
int wire_read_message(int sock, VuMessage *m);
/* recvmsg of up to len bytes; the first fd that came along goes to *ret_fd
 * (-1 if none; ret_fd NULL: closed), any others are closed. Returns bytes
 * (0 at end of stream) or -errno. */
ssize_t bench_recv_fd(int sock, void *buf, size_t len, int *ret_fd);

typedef struct {
        char name[32];
        int listen_fd; /* QEMU: we listen, it connects; -1 otherwise */
        int main_fd;
        int chan_fd; /* set by the servant once SET_BACKEND_REQ_FD arrived */
        uint64_t offered_protocol_features;
        uint64_t protocol_features; /* as SET_PROTOCOL_FEATURES said */
        bool ready;                 /* the channel can be used */
        bool main_closed;

        /* GET_SHARED_OBJECT: answered with export_fd (the same fd every
         * time), or not at all when hang is set. */
        int export_fd;
        bool hang;
        unsigned gets; /* GET_SHARED_OBJECT requests seen */
        unsigned gets_without_uuid;
        unsigned unexpected_fds; /* fds on messages that should have none */
} WireBackend;

void wire_backend_init(WireBackend *w, const char *name);
/* Closes its sockets (never its export_fd). */
void wire_backend_close(WireBackend *w);

/* Connects to a hub's --accept socket. */
int wire_backend_connect(WireBackend *w, const char *path);
/* Listens at path for a front-end (QEMU) that connects later. */
int wire_backend_listen(WireBackend *w, const char *path);

/* A thread answering the main sockets of the back-ends added to it. */
int wire_servant_new(WireServant **ret);
int wire_servant_add(WireServant *s, WireBackend *w);
/* Waits until w's channel is ready (hub: SET_BACKEND_REQ_FD acked). */
int wire_servant_wait_ready(WireServant *s, WireBackend *w, int timeout_ms);
/* Stops the thread; the back-ends stay open. */
void wire_servant_free(WireServant *s);

/* One request on the back-end channel. With need_reply, waits (bounded)
 * for the u64 answer and the fd that may ride on it (*ret_fd, -1 if none;
 * ret_fd NULL: closed). 0, or -errno (-ETIMEDOUT, -EPROTO, -EPIPE). */
int wire_call(WireBackend *w, uint32_t request, const uint8_t uuid[VU_UUID_SIZE], bool need_reply,
              uint64_t *ret_value, int *ret_fd);
/* The same in two halves, for requests that stay outstanding. */
int wire_send(WireBackend *w, uint32_t request, const uint8_t uuid[VU_UUID_SIZE], bool need_reply);
int wire_wait_reply(WireBackend *w, uint32_t request, int timeout_ms, uint64_t *ret_value,
                    int *ret_fd);

/* ---- the hub under test (bench-target.c) ---- */

typedef enum {
        TARGET_IN_PROCESS, /* the core library's Service on a thread of the bench */
        TARGET_PROCESS,    /* the vhost-shared daemon: --no-bus, or TargetOptions.bus */
} TargetKind;

typedef struct Target Target;

typedef struct {
        unsigned lookup_timeout_ms; /* 0: the service's default */
        bool bus;                   /* TARGET_PROCESS: on a private bus instead of --no-bus */
        /* TARGET_PROCESS: also --serve at target_serve_socket() for a VMM,
         * with REPLY_ACK offered or not. */
        bool serve;
        bool serve_reply_ack;
} TargetOptions;

int target_start(const Bench *b, TargetKind kind, const TargetOptions *o, Target **ret);
void target_stop(Target *t);
const char *target_name(const Target *t);
const char *target_socket(const Target *t);       /* where back-ends connect */
const char *target_serve_socket(const Target *t); /* where a VMM connects (TargetOptions.serve) */
pid_t target_pid(const Target *t);                /* the service's process */
/* Grows the table to n objects (exported by a back-end of the bench). */
int target_prefill(Target *t, unsigned n);
unsigned target_objects(const Target *t);
/* Puts a buffer the service holds (a dma-buf entry) into the table; the
 * fd is duplicated. -EOPNOTSUPP where the target has no way yet. */
int target_hold_buffer(Target *t, const uint8_t uuid[VU_UUID_SIZE], int fd);
/* The daemon's bus (NULL without one) and a connection of the bench to it. */
const char *target_bus_address(const Target *t);
pid_t target_bus_pid(const Target *t); /* the dbus-daemon, 0 without one */
sd_bus *target_bus(Target *t);
/* Returns once the daemon's bus traffic so far went through the dbus-daemon
 * (a ping's answer follows the signals queued before it); 0 without a bus. */
int target_sync(Target *t);
/* A Manager property of type type ('u' or 't'); UINT64_MAX when unknown. */
uint64_t target_manager_u64(Target *t, const char *property, char type);
/* The servant answering the bench's back-ends of this target. */
WireServant *target_servant(Target *t);
/* Connects a back-end and waits for its handshake. */
int target_connect(Target *t, WireBackend *w, const char *name);

/* A VMM as QEMU connects to a --serve socket: the handshake and a back-end
 * channel handed over (bench-deaf.c); *ret_chan is our end of it. */
int vmm_connect(const char *path, bool reply_ack, int *ret_main, int *ret_chan);

/* ---- workload groups ---- */

typedef enum {
        HUB_ADD_REMOVE, /* ADD then REMOVE of a fresh UUID, both with NEED_REPLY */
        HUB_LOOKUP,     /* LOOKUP of one UUID; success needs u64 0 and an fd */
} HubOp;

/* How LOOKUPs were answered. */
typedef struct {
        uint64_t ok;           /* u64 0 and an fd */
        uint64_t no_fd;        /* u64 0 but no fd */
        uint64_t refused;      /* a non-zero u64 */
        uint64_t no_answer;    /* none within BENCH_TIMEOUT_MS, or not a well-formed reply */
        uint64_t last_refusal; /* the last non-zero u64 seen */
} LookupCounts;

/* One round of op by n clients for duration_ms (bench-hub.c): latencies of
 * the answered requests appended to first (ADD or LOOKUP) and second
 * (REMOVE), the wall time added, LOOKUP outcomes added to counts (may be
 * NULL). A LOOKUP answered without an fd counts as a failure; its latency
 * is kept. */
void hub_workload(HubOp op, WireBackend *clients, unsigned n, const uint8_t *uuid,
                  unsigned duration_ms, Samples *first, Samples *second, uint64_t *wall,
                  LookupCounts *counts);

/* A hub with its back-ends (bench-hub.c): b->max_clients clients and an
 * exporter connected, the exporter's buffer in the table under
 * exported_uuid (LOOKUPs of it are proxied), and where the target can hold
 * one, a buffer of its own under held_uuid. */
typedef struct {
        Target *t;
        WireBackend *clients;
        unsigned n_clients;
        WireBackend exporter;
        int buffer_fd;
        uint8_t exported_uuid[VU_UUID_SIZE], held_uuid[VU_UUID_SIZE];
        bool have_held;
} HubSetup;

int hub_setup(const Bench *b, TargetKind kind, const TargetOptions *o, HubSetup *h);
void hub_teardown(HubSetup *h);

int bench_hub(Bench *b);
int bench_pair(Bench *b);
int bench_hung(Bench *b);
int bench_idle(Bench *b);
int bench_memory(Bench *b);
int bench_qemu(Bench *b);
int bench_dbus(Bench *b);
int bench_deaf(Bench *b);
int bench_flood(Bench *b);
int bench_bridge(Bench *b);

/* /proc figures of a process (bench-idle.c). */
long proc_rss_kib(pid_t pid);
uint64_t proc_cpu_ns(pid_t pid); /* all threads, from schedstat; 0 if unknown */
