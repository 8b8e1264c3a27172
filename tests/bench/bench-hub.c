/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub's round trips on the back-end channel, next to the floor: ADD and
 * REMOVE with REPLY_ACK, LOOKUP of a buffer the hub holds (answered from
 * the table), LOOKUP of a buffer another back-end exports (proxied through
 * GET_SHARED_OBJECT), with 1 and 8 back-ends at once, as the table grows
 * from 1k to 100k objects. Each row's ratio uses a floor measured right
 * before it, with as many clients and the same process pattern. */

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "buffer-pattern.h"
#include "fd-util.h"

typedef struct {
        HubOp op;
        WireBackend *clients;
        uint32_t run;            /* makes ADD UUIDs unique across runs */
        const uint8_t *uuid;     /* what LOOKUP asks for */
        Samples *first, *second; /* per client: ADD/REMOVE, or LOOKUP */
        LookupCounts *counts;    /* per client */
} HubRun;

static uint32_t next_run;

static void lookup_count(LookupCounts *c, int r, uint64_t value, int fd)
{
        if (r < 0) {
                c->no_answer++;
        } else if (value != 0) {
                c->refused++;
                c->last_refusal = value;
        } else if (fd < 0) {
                c->no_fd++;
        } else {
                c->ok++;
        }
}

static void hub_client(unsigned i, void *userdata)
{
        HubRun *run = userdata;
        WireBackend *w = &run->clients[i];
        unsigned warmup = BENCH_WARMUP_OPS;
        uint8_t uuid[VU_UUID_SIZE];

        for (unsigned k = 0; bench_running(); k++) {
                uint64_t value = 1, t0, t1, t2;
                int fd = -1, r;

                if (run->op == HUB_LOOKUP) {
                        t0 = bench_now_ns();
                        r = wire_call(w, VU_BREQ_SHARED_OBJECT_LOOKUP, run->uuid, true, &value,
                                      &fd);
                        t1 = bench_now_ns();
                        lookup_count(&run->counts[i], r, value, fd);
                        if (r < 0 || value != 0 || fd < 0)
                                run->first[i].failures++;
                        if (r == 0 && k >= warmup)
                                samples_add(&run->first[i], t1 - t0);
                        fd_close_safe(&fd);
                        if (r < 0)
                                return; /* the channel is out of step */
                        continue;
                }
                bench_uuid(uuid, run->run << 8 | i, k);
                t0 = bench_now_ns();
                r = wire_call(w, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &value, NULL);
                t1 = bench_now_ns();
                if (r < 0 || value != 0) {
                        run->first[i].failures++;
                        if (r < 0)
                                return;
                        continue;
                }
                r = wire_call(w, VU_BREQ_SHARED_OBJECT_REMOVE, uuid, true, &value, NULL);
                t2 = bench_now_ns();
                if (r < 0 || value != 0) {
                        run->second[i].failures++;
                        if (r < 0)
                                return;
                        continue;
                }
                if (k >= warmup) {
                        samples_add(&run->first[i], t1 - t0);
                        samples_add(&run->second[i], t2 - t1);
                }
        }
}

void hub_workload(HubOp op, WireBackend *clients, unsigned n, const uint8_t *uuid,
                  unsigned duration_ms, Samples *first, Samples *second, uint64_t *wall,
                  LookupCounts *counts)
{
        g_autofree Samples *s1 = g_new0(Samples, n);
        g_autofree Samples *s2 = g_new0(Samples, n);
        g_autofree LookupCounts *c = g_new0(LookupCounts, n);
        HubRun run = {
            .op = op,
            .clients = clients,
            .run = ++next_run,
            .uuid = uuid,
            .first = s1,
            .second = s2,
            .counts = c,
        };

        *wall += bench_run_threads(n, duration_ms, hub_client, &run);
        for (unsigned i = 0; i < n; i++) {
                samples_merge(first, &s1[i]);
                if (second)
                        samples_merge(second, &s2[i]);
                samples_clear(&s1[i]);
                samples_clear(&s2[i]);
                if (counts) {
                        counts->ok += c[i].ok;
                        counts->no_fd += c[i].no_fd;
                        counts->refused += c[i].refused;
                        counts->no_answer += c[i].no_answer;
                        if (c[i].refused)
                                counts->last_refusal = c[i].last_refusal;
                }
        }
}

typedef struct {
        Samples s[2];
        uint64_t wall;
} Acc;

static void acc_summarize(Acc *a, Summary *first, Summary *second)
{
        size_t n = a->s[0].n + a->s[1].n + a->s[0].failures + a->s[1].failures;

        samples_summarize(&a->s[0], a->wall, first);
        if (second) {
                /* ADD and REMOVE alternate: both share the wall time. */
                samples_summarize(&a->s[1], a->wall, second);
                first->ops_per_sec = second->ops_per_sec = (double) n * 1e9 / (double) a->wall;
        }
        samples_clear(&a->s[0]);
        samples_clear(&a->s[1]);
}

/* The floor and the workloads in alternating rounds, then one row each. */
static void hub_rows(const Bench *b, Target *t, WireBackend *clients, unsigned n,
                     const uint8_t *held_uuid, const uint8_t *exported_uuid)
{
        Acc floor = {0}, chain = {0}, addrm = {0}, held = {0}, proxied = {0};
        unsigned objects = target_objects(t);
        unsigned ops = MAX(1u, b->duration_ms / BENCH_ROUNDS); /* ms per round */
        Summary f, fc, add, rem, s;
        char note[64];

        /* On a bus every ADD, REMOVE and LOOKUP also sends signals: each
         * round starts once the dbus-daemon caught up with the last one, so
         * that it does not work through one workload's backlog in the next. */
        for (unsigned round = 0; round < BENCH_ROUNDS; round++) {
                target_sync(t);
                floor_run(n, target_pid(t) != getpid(), ops, &floor.s[0], &floor.wall);
                floor_chain_run(n, target_pid(t) != getpid(), ops, &chain.s[0], &chain.wall);
                target_sync(t);
                hub_workload(HUB_ADD_REMOVE, clients, n, NULL, ops, &addrm.s[0], &addrm.s[1],
                             &addrm.wall, NULL);
                target_sync(t);
                if (held_uuid)
                        hub_workload(HUB_LOOKUP, clients, n, held_uuid, ops, &held.s[0], NULL,
                                     &held.wall, NULL);
                target_sync(t);
                hub_workload(HUB_LOOKUP, clients, n, exported_uuid, ops, &proxied.s[0], NULL,
                             &proxied.wall, NULL);
        }
        acc_summarize(&floor, &f, NULL);
        report_row("floor", n, 0, &f, NULL, NULL);
        acc_summarize(&chain, &fc, NULL);
        report_row("floor, proxied (through a relay)", n, 0, &fc, &f, NULL);
        acc_summarize(&addrm, &add, &rem);
        report_row("ADD (ack)", n, objects, &add, &f, NULL);
        report_row("REMOVE (ack)", n, objects, &rem, &f, NULL);
        if (held_uuid) {
                acc_summarize(&held, &s, NULL);
                report_row("LOOKUP, held dma-buf", n, objects, &s, &f, NULL);
        }
        acc_summarize(&proxied, &s, NULL);
        snprintf(note, sizeof(note), "(p50 %.2fx the proxied floor)",
                 fc.p50_us > 0 ? s.p50_us / fc.p50_us : 0);
        report_row("LOOKUP, proxied", n, objects, &s, &f, note);
}

/* The exporter answers GET_SHARED_OBJECT through its servant; right after
 * its handshake the hub may not count it as ready yet, so the first proxied
 * LOOKUP is retried until it works (bounded). */
static int hub_wait_proxied(WireBackend *importer, const uint8_t *uuid)
{
        uint64_t deadline = bench_now_ns() + (uint64_t) BENCH_TIMEOUT_MS * 1000000u;

        while (bench_now_ns() < deadline) {
                uint64_t value = 1;
                int fd = -1;
                int r = wire_call(importer, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true, &value, &fd);
                if (r < 0)
                        return r;
                if (value == 0 && fd >= 0) {
                        close(fd);
                        return 0;
                }
                fd_close_safe(&fd);
                g_usleep(1000);
        }
        return -ETIMEDOUT;
}

int hub_setup(const Bench *b, TargetKind kind, const TargetOptions *o, HubSetup *h)
{
        uint64_t ack = 1;
        int r;

        *h = (HubSetup){.buffer_fd = -1};
        wire_backend_init(&h->exporter, "exporter");
        h->clients = g_new0(WireBackend, b->max_clients);
        h->n_clients = b->max_clients;
        for (unsigned i = 0; i < h->n_clients; i++)
                wire_backend_init(&h->clients[i], "client");
        r = target_start(b, kind, o, &h->t);
        if (r < 0) {
                progress("cannot start the hub (%s)", g_strerror(-r));
                hub_teardown(h);
                return r;
        }
        r = memfd_new_sealed_pattern("bench-buffer", 4096, 7, &h->buffer_fd);
        for (unsigned i = 0; r >= 0 && i < h->n_clients; i++) {
                char name[32];
                snprintf(name, sizeof(name), "client%u", i);
                r = target_connect(h->t, &h->clients[i], name);
        }
        if (r >= 0) {
                r = target_connect(h->t, &h->exporter, "exporter");
                h->exporter.export_fd = h->buffer_fd;
        }
        bench_uuid(h->exported_uuid, 0xeeee0000u, 0);
        if (r >= 0)
                r = wire_call(&h->exporter, VU_BREQ_SHARED_OBJECT_ADD, h->exported_uuid, true, &ack,
                              NULL);
        if (r >= 0 && ack != 0)
                r = -EEXIST;
        if (r >= 0)
                r = hub_wait_proxied(&h->clients[0], h->exported_uuid);
        if (r < 0) {
                progress("%s: setting up the back-ends failed (%s)", target_name(h->t),
                         g_strerror(-r));
                hub_teardown(h);
                return r;
        }
        bench_uuid(h->held_uuid, 0xdddd0000u, kind);
        h->have_held = target_hold_buffer(h->t, h->held_uuid, h->buffer_fd) >= 0;
        return 0;
}

void hub_teardown(HubSetup *h)
{
        if (h->t)
                target_stop(h->t);
        for (unsigned i = 0; i < h->n_clients; i++)
                wire_backend_close(&h->clients[i]);
        g_free(h->clients);
        wire_backend_close(&h->exporter);
        fd_close_safe(&h->buffer_fd);
        *h = (HubSetup){.buffer_fd = -1};
}

static int hub_target(Bench *b, TargetKind kind, const TargetOptions *o)
{
        HubSetup h;
        int r;

        r = hub_setup(b, kind, o, &h);
        if (r < 0)
                return r;
        for (unsigned c = 0; c < b->n_object_counts; c++) {
                unsigned objects = b->object_counts[c];

                progress("%s: %u objects", target_name(h.t), objects);
                r = target_prefill(h.t, objects);
                if (r < 0) {
                        progress("prefill to %u objects failed (%s)", objects, g_strerror(-r));
                        break;
                }
                hub_rows(b, h.t, h.clients, 1, h.have_held ? h.held_uuid : NULL, h.exported_uuid);
                if (b->max_clients > 1)
                        hub_rows(b, h.t, h.clients, b->max_clients,
                                 h.have_held ? h.held_uuid : NULL, h.exported_uuid);
        }
        if (!h.have_held)
                report_text("\nLOOKUP of a held dma-buf is not measured on %s: the daemon "
                            "takes buffers over D-Bus only.\n",
                            target_name(h.t));
        report_text("\nThe exporter answered %u GET_SHARED_OBJECT requests.\n", h.exporter.gets);
        hub_teardown(&h);
        return r;
}

int bench_hub(Bench *b)
{
        TargetOptions bus = {.bus = true};
        int r = 0, q;

        report_section("Hub in process",
                       "The core library's Service on its own thread and sd-event loop inside "
                       "the bench; back-ends are threads of the bench speaking raw vhost-user "
                       "over the --accept socket. Floor rows: server thread.");
        q = hub_target(b, TARGET_IN_PROCESS, NULL);
        r = r < 0 ? r : q;
        report_section("vhost-shared --no-bus",
                       "The daemon without D-Bus, back-ends as above. Floor rows: server "
                       "process.");
        q = hub_target(b, TARGET_PROCESS, NULL);
        r = r < 0 ? r : q;
        report_section("vhost-shared on D-Bus",
                       "The daemon on a private dbus-daemon: every ADD and REMOVE also emits "
                       "Added/Removed and InterfacesAdded/Removed; the held dma-buf is a memfd "
                       "the bench Export()ed over D-Bus. Floor rows: server process.");
        q = hub_target(b, TARGET_PROCESS, &bus);
        return r < 0 ? r : q;
}
