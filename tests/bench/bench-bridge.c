/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge role: the daemon on D-Bus with a --serve socket and one VMM
 * (a thread of the bench speaking vhost-user as QEMU does, REPLY_ACK
 * negotiated) that answers the announcements on its back-end channel and
 * LOOKUPs with a sealed memfd. Three paths: a back-end's ADD announced to
 * the VMM, the VMM's GET_SHARED_OBJECT of a held buffer answered, and a
 * back-end's LOOKUP of a UUID the table lacks answered from the VMM
 * (upstream; the VMM is a child process, as the bridge asks no VMM of the
 * importer's own process). Allocate over D-Bus is measured here too. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "buffer-pattern.h"
#include "bus-manager.h"
#include "fd-util.h"

#define BRIDGE_WHO 0xb1000000u

/* The VMM's back-end channel, served by a child process (the bridge does
 * not ask a VMM for what its own process looks up), in shared memory; it
 * writes a byte to notify for every ADD and REMOVE it receives. */
typedef struct {
        int chan;
        int lookup_fd;          /* the answer to every LOOKUP (sent, never closed here) */
        int notify[2];          /* the child writes, the bench reads */
        uint64_t adds, removes; /* atomic */
        uint64_t last_add_ns;   /* atomic, set before adds */
        uint64_t lookups;       /* atomic */
        bool stop;              /* atomic */
        int error;
} Vmm;

static int vmm_reply(Vmm *v, const VuMessage *req, uint64_t value, int fd)
{
        VuMessage reply;

        vu_message_init_reply_u64(&reply, req, value);
        return wire_send_message(v->chan, &reply, fd);
}

static void vmm_main(Vmm *v)
{
        struct pollfd pfd = {.fd = v->chan, .events = POLLIN};

        while (!__atomic_load_n(&v->stop, __ATOMIC_RELAXED) && v->error == 0) {
                VuMessage m;
                uint64_t now;
                int r = poll(&pfd, 1, 50);

                if (r <= 0)
                        continue;
                r = wire_read_message(v->chan, &m);
                now = bench_now_ns();
                if (r < 0) {
                        v->error = r;
                        break;
                }
                vu_message_close_fds(&m);
                if (m.hdr.request == VU_BREQ_SHARED_OBJECT_ADD) {
                        __atomic_store_n(&v->last_add_ns, now, __ATOMIC_RELAXED);
                        __atomic_add_fetch(&v->adds, 1, __ATOMIC_RELEASE);
                } else if (m.hdr.request == VU_BREQ_SHARED_OBJECT_REMOVE)
                        __atomic_add_fetch(&v->removes, 1, __ATOMIC_RELEASE);
                if (m.hdr.request == VU_BREQ_SHARED_OBJECT_ADD ||
                    m.hdr.request == VU_BREQ_SHARED_OBJECT_REMOVE)
                        (void) !write(v->notify[1], "", 1);
                if (m.hdr.request == VU_BREQ_SHARED_OBJECT_LOOKUP) {
                        __atomic_add_fetch(&v->lookups, 1, __ATOMIC_RELAXED);
                        r = vmm_reply(v, &m, 0, v->lookup_fd);
                } else if (m.hdr.flags & VU_FLAG_NEED_REPLY)
                        r = vmm_reply(v, &m, 0, -1);
                if (r < 0)
                        v->error = r;
        }
}

/* Forks the VMM: the child connects (the service takes its pid from the
 * connection), hands its main socket to the bench over sv and serves the
 * channel. */
static int vmm_start(Vmm *v, const char *path, pid_t *ret_pid, int *ret_main)
{
        int sv[2], main_fd = -1;
        char byte;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                int r = vmm_connect(path, true, &main_fd, &v->chan);
                if (r < 0 || bench_send_fd(sv[1], "", 1, main_fd) != 1)
                        _exit(1);
                close(main_fd);
                vmm_main(v);
                _exit(0);
        }
        close(sv[1]);
        *ret_pid = pid;
        if (bench_recv_fd(sv[0], &byte, 1, &main_fd) != 1 || main_fd < 0) {
                close(sv[0]);
                return -ECONNREFUSED;
        }
        close(sv[0]);
        *ret_main = main_fd;
        return 0;
}

static uint64_t vmm_adds(Vmm *v)
{
        return __atomic_load_n(&v->adds, __ATOMIC_ACQUIRE);
}

static uint64_t vmm_removes(Vmm *v)
{
        return __atomic_load_n(&v->removes, __ATOMIC_ACQUIRE);
}

/* Waits (bounded) until the VMM has seen adds ADDs and removes REMOVEs;
 * returns the arrival of the last ADD, 0 on timeout. */
static uint64_t vmm_wait_ms(Vmm *v, uint64_t adds, uint64_t removes, unsigned timeout_ms)
{
        struct pollfd pfd = {.fd = v->notify[0], .events = POLLIN};
        uint64_t deadline = bench_now_ns() + (uint64_t) timeout_ms * 1000000u;
        char buf[256];

        while (vmm_adds(v) < adds || vmm_removes(v) < removes) {
                uint64_t now = bench_now_ns();
                if (now >= deadline || poll(&pfd, 1, (int) ((deadline - now) / 1000000u) + 1) < 0)
                        return 0;
                (void) !read(v->notify[0], buf, sizeof(buf));
        }
        return __atomic_load_n(&v->last_add_ns, __ATOMIC_RELAXED);
}

static uint64_t vmm_wait(Vmm *v, uint64_t adds, uint64_t removes)
{
        return vmm_wait_ms(v, adds, removes, BENCH_TIMEOUT_MS);
}

/* A back-end ADDs (ack) a fresh UUID, the VMM receives its announcement,
 * the back-end REMOVEs it and the VMM receives that: one in flight. */
static void measure_announce(const Bench *b, Vmm *v, WireBackend *w, Summary *out)
{
        uint64_t start = bench_now_ns(), end = start + (uint64_t) b->duration_ms * 1000000u;
        Samples s;
        uint32_t n = 0;

        samples_init(&s);
        while (bench_now_ns() < end) {
                uint8_t uuid[VU_UUID_SIZE];
                uint64_t ack = 1, t0, t1;

                uint64_t adds = vmm_adds(v), removes = vmm_removes(v);

                bench_uuid(uuid, BRIDGE_WHO, n);
                t0 = bench_now_ns();
                if (wire_call(w, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL) < 0 ||
                    ack != 0 || !(t1 = vmm_wait(v, adds + 1, removes)) ||
                    wire_call(w, VU_BREQ_SHARED_OBJECT_REMOVE, uuid, true, &ack, NULL) < 0 ||
                    ack != 0 || !vmm_wait(v, adds + 1, removes + 1)) {
                        progress("bridge: an ADD/REMOVE failed or was not announced (VMM: %s)",
                                 g_strerror(-v->error));
                        s.failures++;
                        break;
                }
                if (n++ >= BENCH_WARMUP_OPS)
                        samples_add(&s, t1 - t0);
        }
        samples_summarize(&s, bench_now_ns() - start, out);
        samples_clear(&s);
}

/* The VMM asks for a held buffer on its main socket, as QEMU does for a
 * guest's import. */
static void measure_vmm_get(const Bench *b, int vmm_sock, const uint8_t *uuid, Summary *out)
{
        uint64_t start = bench_now_ns(), end = start + (uint64_t) b->duration_ms * 1000000u;
        Samples s;
        unsigned n = 0;

        samples_init(&s);
        while (bench_now_ns() < end) {
                VuMessage m;
                uint64_t t0 = bench_now_ns();
                bool ok;

                vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, 0, uuid);
                if (wire_send_message(vmm_sock, &m, -1) < 0 ||
                    wire_read_message(vmm_sock, &m) < 0) {
                        s.failures++;
                        break;
                }
                ok = m.hdr.request == VU_REQ_GET_SHARED_OBJECT && m.n_fds == 1;
                vu_message_close_fds(&m);
                if (!ok)
                        s.failures++;
                else if (n++ >= BENCH_WARMUP_OPS)
                        samples_add(&s, bench_now_ns() - t0);
        }
        samples_summarize(&s, bench_now_ns() - start, out);
        samples_clear(&s);
}

/* A back-end LOOKUPs a UUID the table lacks: the bridge asks the VMM. */
static void measure_upstream(const Bench *b, WireBackend *w, Summary *out)
{
        uint64_t start = bench_now_ns(), end = start + (uint64_t) b->duration_ms * 1000000u;
        Samples s;
        unsigned n = 0;

        samples_init(&s);
        while (bench_now_ns() < end) {
                uint64_t value = 1, t0 = bench_now_ns();
                uint8_t uuid[VU_UUID_SIZE];
                int fd = -1;

                /* Fresh each time: the bridge asks a VMM for a UUID once. */
                bench_uuid(uuid, BRIDGE_WHO + 0x100, n);
                if (wire_call(w, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true, &value, &fd) < 0) {
                        s.failures++;
                        break;
                }
                if (value != 0 || fd < 0) {
                        if (s.failures++ == 0)
                                progress("bridge: upstream LOOKUP answered %" G_GUINT64_FORMAT "%s",
                                         value, fd < 0 ? " without an fd" : "");
                } else if (n++ >= BENCH_WARMUP_OPS)
                        samples_add(&s, bench_now_ns() - t0);
                fd_close_safe(&fd);
        }
        samples_summarize(&s, bench_now_ns() - start, out);
        samples_clear(&s);
}

/* Allocate(4096, "") and Remove over D-Bus, one after the other; on a
 * machine without a DRM device (this one) Allocate(4096, "memfd"), which
 * the service refuses to pick by itself, and the row says so. */
static void measure_allocate(const Bench *b, Target *t, Summary *out, char *why, size_t why_len)
{
        uint64_t start = bench_now_ns(), end = start + (uint64_t) b->duration_ms * 1000000u;
        sd_bus *bus = target_bus(t);
        Samples s;
        unsigned n = 0;

        samples_init(&s);
        *why = 0;
        const char *device = "";
        while (bench_now_ns() < end) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                const char *uuid = NULL, *path;
                uint64_t t0 = bench_now_ns();
                int fd, r;

                r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                       "Allocate", &error, &reply, "ts", UINT64_C(4096), device);
                if (r < 0 && n == 0 && !device[0] &&
                    sd_bus_error_has_name(&error, BUS_ERROR_NO_DEVICE)) {
                        sd_bus_error_free(&error);
                        device = "memfd";
                        snprintf(why, why_len, "device \"memfd\" (no DRM device here)");
                        continue;
                }
                if (r >= 0)
                        r = sd_bus_message_read(reply, "soh", &uuid, &path, &fd);
                if (r >= 0) {
                        uint64_t t1 = bench_now_ns();
                        if (n++ >= BENCH_WARMUP_OPS)
                                samples_add(&s, t1 - t0);
                        r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH,
                                               BUS_MANAGER_INTERFACE, "Remove", &error, NULL, "s",
                                               uuid);
                }
                if (r < 0) {
                        snprintf(why, why_len, "%s", error.message ?: g_strerror(-r));
                        s.failures++;
                }
                sd_bus_error_free(&error);
                sd_bus_message_unref(reply);
                if (r < 0)
                        break;
        }
        samples_summarize(&s, bench_now_ns() - start, out);
        samples_clear(&s);
}

int bench_bridge(Bench *b)
{
        TargetOptions o = {.bus = true, .serve = true, .serve_reply_ack = true};
        Vmm *v = mmap(NULL, sizeof(Vmm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        pid_t child = 0;
        int vmm_sock = -1, held_fd = -1, r;
        uint8_t held[VU_UUID_SIZE];
        Summary s;
        char why[256];
        WireBackend w;
        Target *t = NULL;

        report_section("Bridge and Allocate",
                       "The daemon on a private dbus-daemon with a --serve socket; one VMM (a "
                       "thread speaking vhost-user as QEMU does, REPLY_ACK negotiated) acks the "
                       "announcements on its back-end channel and answers LOOKUPs with a sealed "
                       "memfd. Announced: from before a back-end's ADD (with REPLY_ACK) to the "
                       "VMM's receipt of the ADD, one in flight. VMM GET: GET_SHARED_OBJECT of a "
                       "held buffer on the VMM's main socket, answered with the fd. Upstream: a "
                       "back-end's LOOKUP of a UUID the table lacks, answered with the VMM's fd. "
                       "Allocate: Allocate(4096, \"\") over D-Bus until its reply (each object "
                       "removed again after); Allocate(4096, \"memfd\") where no DRM device is.");
        if (v == MAP_FAILED)
                return -errno;
        *v = (Vmm){.chan = -1, .lookup_fd = -1, .notify = {-1, -1}};
        wire_backend_init(&w, "bridged");
        r = pipe2(v->notify, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = memfd_new_sealed_pattern("bench-upstream", 4096, 9, &v->lookup_fd);
        if (r >= 0)
                r = memfd_new_sealed_pattern("bench-held", 4096, 8, &held_fd);
        if (r >= 0)
                r = target_start(b, TARGET_PROCESS, &o, &t);
        if (r >= 0)
                r = target_connect(t, &w, "bridged");
        if (r >= 0)
                r = vmm_start(v, target_serve_socket(t), &child, &vmm_sock);
        if (r >= 0) {
                bench_uuid(held, BRIDGE_WHO + 0x200, 0);
                r = target_hold_buffer(t, held, held_fd);
        }
        for (unsigned i = 0; r >= 0 && i < b->n_object_counts; i++) {
                unsigned n = b->object_counts[i];

                uint64_t before = vmm_adds(v), added = n - target_objects(t);

                progress("bridge: %u objects", n);
                r = target_prefill(t, n);
                if (r < 0)
                        break;
                /* The prefill's announcements reach the VMM first: an ADD
                 * and its REMOVE both held back behind them would cancel
                 * out, and the VMM see neither. */
                if (!vmm_wait_ms(v, before + added, 0, 60000)) {
                        r = -ETIMEDOUT;
                        break;
                }
                measure_announce(b, v, &w, &s);
                report_row("ADD announced to a VMM", 1, n, &s, NULL, NULL);
                measure_vmm_get(b, vmm_sock, held, &s);
                report_row("VMM GET_SHARED_OBJECT of a held buffer", 1, n, &s, NULL, NULL);
                measure_upstream(b, &w, &s);
                report_row("LOOKUP upstream (through the VMM)", 1, n, &s, NULL, NULL);
                measure_allocate(b, t, &s, why, sizeof(why));
                report_row("Allocate over D-Bus", 1, n, &s, NULL, *why ? why : NULL);
        }
        if (r < 0)
                progress("bridge: %s", g_strerror(-r));
        if (child > 0) {
                __atomic_store_n(&v->stop, true, __ATOMIC_RELAXED);
                (void) waitpid(child, NULL, 0);
        }
        target_stop(t);
        wire_backend_close(&w);
        fd_close_safe(&vmm_sock);
        fd_close_safe(&v->chan);
        fd_close_safe(&v->lookup_fd);
        fd_close_safe(&v->notify[0]);
        fd_close_safe(&v->notify[1]);
        fd_close_safe(&held_fd);
        munmap(v, sizeof(Vmm));
        return r < 0 ? r : 0;
}
