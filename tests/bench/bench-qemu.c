/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's workloads against QEMU as the front-end: QEMU connects to
 * vhost-user-rng-pci back-ends the bench listens as (protocol.md §5), the
 * bench's back-ends send ADD/REMOVE/LOOKUP on their channels. QEMU 10.0.2
 * never delivers the LOOKUP fd, so LOOKUP rows report how it answered.
 * Last, an exporter that never answers GET_SHARED_OBJECT shows what a hung
 * exporter costs the other back-ends there. QEMU is stopped by PID before
 * the back-end sockets close (it aborts otherwise). */

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "buffer-pattern.h"
#include "fd-util.h"

#define QEMU_READY_TIMEOUT_MS 20000 /* TCG start-up on a loaded machine */

enum {
        DEV_EXPORTER,
        DEV_HUNG,
        DEV_CLIENTS, /* the first client; max_clients of them */
};

typedef struct {
        BenchChild child;
        WireServant *servant;
        WireBackend *devs;
        unsigned n_devs;
        char *log;
} Qemu;

static void qemu_stop(Qemu *q)
{
        /* By PID first: QEMU 10.0.2 aborts when a never-started device loses
         * its back-end, and a hung exporter may have blocked its main loop. */
        bench_child_stop(&q->child, SIGKILL);
        wire_servant_free(q->servant);
        for (unsigned i = 0; i < q->n_devs; i++)
                wire_backend_close(&q->devs[i]);
        g_free(q->devs);
        g_free(q->log);
}

static int qemu_start(const Bench *b, Qemu *q)
{
        g_autofree char *dir = g_build_filename(b->tmpdir, "qemu", NULL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        g_auto(GStrv) envp = g_get_environ();
        int r;

        *q = (Qemu){.child = {.pidfd = -1}, .n_devs = DEV_CLIENTS + b->max_clients};
        q->devs = g_new0(WireBackend, q->n_devs);
        q->log = g_build_filename(dir, "qemu.log", NULL);
        for (unsigned i = 0; i < q->n_devs; i++)
                wire_backend_init(&q->devs[i], "qemu-dev");
        if (g_mkdir_with_parents(dir, 0700) < 0)
                return -errno;
        r = wire_servant_new(&q->servant);
        if (r < 0)
                return r;

        g_ptr_array_add(argv, g_strdup(b->qemu_path));
        for (const char *const *a =
                 (const char *const[]){"-machine", "q35,accel=tcg", "-m", "64M", "-nodefaults",
                                       "-display", "none", "-monitor", "none", "-serial", "none",
                                       "-S", NULL};
             *a; a++)
                g_ptr_array_add(argv, g_strdup(*a));
        /* Each back-end listens before QEMU starts: it connects while it realizes. */
        for (unsigned i = 0; i < q->n_devs; i++) {
                g_autofree char *path = g_strdup_printf("%s/be%u.sock", dir, i);
                r = wire_backend_listen(&q->devs[i], path);
                if (r < 0)
                        return r;
                wire_servant_add(q->servant, &q->devs[i]);
                g_ptr_array_add(argv, g_strdup("-chardev"));
                g_ptr_array_add(argv, g_strdup_printf("socket,id=c%u,path=%s", i, path));
                g_ptr_array_add(argv, g_strdup("-device"));
                g_ptr_array_add(argv, g_strdup_printf("vhost-user-rng-pci,chardev=c%u", i));
        }
        g_ptr_array_add(argv, NULL);
        r = bench_spawn((char **) argv->pdata, envp, q->log, &q->child);
        if (r < 0)
                return r;
        for (unsigned i = 0; r >= 0 && i < q->n_devs; i++)
                r = wire_servant_wait_ready(q->servant, &q->devs[i], QEMU_READY_TIMEOUT_MS);
        if (r < 0)
                progress("qemu: a device did not complete its handshake (%s); see %s",
                         g_strerror(-r), q->log);
        return r;
}

static void lookup_note(const char *what, const LookupCounts *c)
{
        report_text("- %s: %llu answered with an fd, %llu answered 0 without an fd, %llu "
                    "refused (last value %lld), %llu not answered in %d ms.\n",
                    what, (unsigned long long) c->ok, (unsigned long long) c->no_fd,
                    (unsigned long long) c->refused, (long long) c->last_refusal,
                    (unsigned long long) c->no_answer, BENCH_TIMEOUT_MS);
}

typedef struct {
        Qemu *q;
        Samples samples;
        LookupCounts counts;
        uint32_t seq;
} FreshLookups;

/* QEMU's table keys on a stack copy of the UUID that later requests
 * overwrite; a LOOKUP sent right after the exporter's ADD still finds the
 * entry, so QEMU really asks the exporter (GET_SHARED_OBJECT) and answers. */
static void fresh_lookup_client(unsigned i, void *userdata)
{
        FreshLookups *f = userdata;
        WireBackend *exporter = &f->q->devs[DEV_EXPORTER];
        WireBackend *importer = &f->q->devs[DEV_CLIENTS];

        for (unsigned k = 0; bench_running(); k++) {
                uint8_t uuid[VU_UUID_SIZE];
                uint64_t value = 1, t0;
                int fd = -1, r;

                bench_uuid(uuid, 0xabab0000u, f->seq++);
                r = wire_call(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, false, NULL, NULL);
                if (r < 0)
                        return;
                t0 = bench_now_ns();
                r = wire_call(importer, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true, &value, &fd);
                if (r < 0) {
                        f->counts.no_answer++;
                        return;
                }
                if (k >= BENCH_WARMUP_OPS)
                        samples_add(&f->samples, bench_now_ns() - t0);
                if (value != 0) {
                        f->counts.refused++;
                        f->counts.last_refusal = value;
                } else if (fd < 0) {
                        f->counts.no_fd++;
                } else {
                        f->counts.ok++;
                }
                if (value != 0 || fd < 0)
                        f->samples.failures++;
                fd_close_safe(&fd);
        }
}

/* ADD/REMOVE and LOOKUP rows for n clients, rounds alternating with the floor. */
static void qemu_rows(const Bench *b, Qemu *q, unsigned n, const uint8_t *uuid,
                      LookupCounts *counts, LookupCounts *fresh_counts)
{
        WireBackend *clients = &q->devs[DEV_CLIENTS];
        unsigned ms = MAX(1u, b->duration_ms / BENCH_ROUNDS);
        Samples fs, add, rem, lookup;
        uint64_t fwall = 0, awall = 0, lwall = 0;
        Summary f, a, r, l;
        FreshLookups fresh = {.q = q};
        uint64_t fresh_wall = 0;

        samples_init(&fs);
        samples_init(&add);
        samples_init(&rem);
        samples_init(&lookup);
        for (unsigned round = 0; round < BENCH_ROUNDS; round++) {
                floor_run(n, true, ms, &fs, &fwall);
                hub_workload(HUB_ADD_REMOVE, clients, n, NULL, ms, &add, &rem, &awall, NULL);
                hub_workload(HUB_LOOKUP, clients, n, uuid, ms, &lookup, NULL, &lwall, counts);
                if (n == 1)
                        fresh_wall += bench_run_threads(1, ms, fresh_lookup_client, &fresh);
        }
        samples_summarize(&fs, fwall, &f);
        samples_summarize(&add, awall, &a);
        samples_summarize(&rem, awall, &r);
        a.ops_per_sec = r.ops_per_sec =
            (double) (add.n + rem.n + add.failures + rem.failures) * 1e9 / (double) awall;
        samples_summarize(&lookup, lwall, &l);
        report_row("floor", n, 0, &f, NULL, NULL);
        report_row("ADD (ack)", n, 0, &a, &f, NULL);
        report_row("REMOVE (ack)", n, 0, &r, &f, NULL);
        report_row("LOOKUP (every answer)", n, 0, &l, &f, "no fd delivered");
        if (n == 1) {
                samples_summarize(&fresh.samples, fresh_wall, &l);
                report_row("LOOKUP right after the exporter's ADD (every answer)", n, 0, &l, &f,
                           "no fd delivered");
                *fresh_counts = fresh.counts;
                samples_clear(&fresh.samples);
        }
        samples_clear(&fs);
        samples_clear(&add);
        samples_clear(&rem);
        samples_clear(&lookup);
}

/* An exporter that never answers GET_SHARED_OBJECT: how long does another
 * back-end's ADD wait? Leaves QEMU possibly blocked: run it last. */
static void qemu_hung_exporter(Qemu *q)
{
        WireBackend *hung = &q->devs[DEV_HUNG];
        WireBackend *importer = &q->devs[DEV_CLIENTS];
        WireBackend *other = &q->devs[DEV_CLIENTS + (q->n_devs > DEV_CLIENTS + 1 ? 1 : 0)];
        uint8_t uuid[VU_UUID_SIZE], fresh[VU_UUID_SIZE];
        uint64_t value = 0, t0, gets_before;
        int r;

        bench_uuid(uuid, 0xaaaa0000u, 1);
        bench_uuid(fresh, 0xaaaa0000u, 2);
        hung->hang = true;
        gets_before = hung->gets;
        r = wire_call(hung, VU_BREQ_SHARED_OBJECT_ADD, uuid, false, NULL, NULL);
        if (r >= 0)
                r = wire_send(importer, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true);
        if (r < 0) {
                report_text("\nHung exporter: could not send (%s).\n", g_strerror(-r));
                return;
        }
        t0 = bench_now_ns();
        r = wire_call(other, VU_BREQ_SHARED_OBJECT_ADD, fresh, true, &value, NULL);
        report_text("\nHung exporter: the exporter saw %u GET_SHARED_OBJECT; another "
                    "back-end's ADD then %s after %.1f ms.\n",
                    hung->gets - (unsigned) gets_before,
                    r == -ETIMEDOUT ? "had no answer"
                    : r < 0         ? "failed"
                                    : "was answered",
                    (double) (bench_now_ns() - t0) / 1e6);
}

int bench_qemu(Bench *b)
{
        _cleanup_close_ int buffer_fd = -1;
        uint8_t uuid[VU_UUID_SIZE];
        LookupCounts one = {0}, many = {0}, fresh = {0};
        unsigned gets = 0, gets_without_uuid = 0, stray_fds = 0;
        Qemu q = {.child = {.pidfd = -1}};
        int r;

        report_section("QEMU as the front-end",
                       "QEMU 10 (q35, TCG, -S) with one vhost-user-rng-pci device per back-end "
                       "of the bench, the same raw back-ends as for the hub. An exporter "
                       "back-end ADDs one object without NEED_REPLY; the clients LOOKUP it. "
                       "Floor rows: server process. LOOKUP latencies are of every answer, "
                       "failures count the answers without an fd.");
        if (!b->qemu_path) {
                report_text("\nNot measured: qemu-system-x86_64 is not installed "
                            "(tools/install-deps installs it).\n");
                return 0;
        }
        r = memfd_new_sealed_pattern("bench-qemu", 4096, 5, &buffer_fd);
        if (r >= 0)
                r = qemu_start(b, &q);
        if (r < 0) {
                qemu_stop(&q);
                return r;
        }
        q.devs[DEV_EXPORTER].export_fd = buffer_fd;
        bench_uuid(uuid, 0xaaaa0000u, 0);
        r = wire_call(&q.devs[DEV_EXPORTER], VU_BREQ_SHARED_OBJECT_ADD, uuid, false, NULL, NULL);
        if (r >= 0) {
                qemu_rows(b, &q, 1, uuid, &one, &fresh);
                if (b->max_clients > 1)
                        qemu_rows(b, &q, b->max_clients, uuid, &many, &fresh);
                report_text("\nHow QEMU answered:\n\n");
                lookup_note("LOOKUP, 1 back-end", &one);
                lookup_note("LOOKUP, concurrent back-ends", &many);
                lookup_note("LOOKUP right after the exporter's ADD", &fresh);
                qemu_hung_exporter(&q);
        }
        for (unsigned i = 0; i < q.n_devs; i++) {
                gets += q.devs[i].gets;
                gets_without_uuid += q.devs[i].gets_without_uuid;
                stray_fds += q.devs[i].unexpected_fds;
        }
        report_text("\nGET_SHARED_OBJECT requests QEMU sent: %u, %u of them without the UUID. "
                    "Fds that arrived on main-socket messages that carry none: %u.\n",
                    gets, gets_without_uuid, stray_fds);
        qemu_stop(&q);
        return r < 0 ? r : 0;
}
