/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hung exporter must cost only its own importers a timeout. In each of
 * a few cycles a fresh back-end exports an object and never answers
 * GET_SHARED_OBJECT; other back-ends' ADD/REMOVE latency is measured once
 * with no hang, then while an importer has lookups of that object
 * outstanding; then the deadline refuses them and the exporter is dropped.
 * The cycles alternate the two cases so that both see the same phases of a
 * busy machine. QEMU 10.0.2 blocks its main loop in the same situation
 * (protocol.md §5, bench-qemu.c). */

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"

#define HUNG_LOOKUPS 8 /* outstanding at the hung exporter */
#define HUNG_LOOKUP_TIMEOUT_MS 1000
#define HUNG_CYCLES 6
#define HUNG_PHASE_MS 400 /* each phase ends well before the deadline */

typedef struct {
        Samples add, rem;
        uint64_t wall;
} Phase;

static void phase_rows(Phase *p, const char *what, unsigned n, const Summary *base_add,
                       const Summary *base_rem, Summary *ret_add, Summary *ret_rem)
{
        char name[128];

        samples_summarize(&p->add, p->wall, ret_add);
        samples_summarize(&p->rem, p->wall, ret_rem);
        snprintf(name, sizeof(name), "ADD (ack), %s", what);
        report_row(name, n, 0, ret_add, base_add, NULL);
        snprintf(name, sizeof(name), "REMOVE (ack), %s", what);
        report_row(name, n, 0, ret_rem, base_rem, NULL);
        samples_clear(&p->add);
        samples_clear(&p->rem);
}

/* True when the importer has no answer yet: the hang was still on. */
static bool still_waiting(WireBackend *importer)
{
        struct pollfd pfd = {.fd = importer->chan_fd, .events = POLLIN};

        return poll(&pfd, 1, 0) == 0;
}

/* One cycle: a new hung exporter, a phase without and one with lookups
 * outstanding at it, then the refusals at the deadline. */
static int hung_cycle(Target *t, unsigned cycle, WireBackend *others, unsigned n,
                      WireBackend *importer, WireBackend *exporter, Phase *calm, Phase *hung,
                      Samples *refused, unsigned *ended_early)
{
        uint8_t uuid[VU_UUID_SIZE];
        uint64_t ack = 1, sent_ns;
        int r;

        r = target_connect(t, exporter, "hung-exporter");
        exporter->hang = true; /* read by the servant, which sees no GET before this */
        bench_uuid(uuid, 0xcccc0000u, cycle);
        if (r >= 0)
                r = wire_call(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL);
        if (r >= 0 && ack != 0)
                r = -EEXIST;
        if (r < 0)
                return r;

        /* Odd cycles measure the calm phase after the hang, even ones
         * before: neither case always follows the same thing. */
        if (cycle % 2 == 0)
                hub_workload(HUB_ADD_REMOVE, others, n, NULL, HUNG_PHASE_MS, &calm->add, &calm->rem,
                             &calm->wall, NULL);
        sent_ns = bench_now_ns();
        for (unsigned k = 0; k < HUNG_LOOKUPS && r >= 0; k++)
                r = wire_send(importer, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true);
        if (r < 0)
                return r;
        hub_workload(HUB_ADD_REMOVE, others, n, NULL, HUNG_PHASE_MS, &hung->add, &hung->rem,
                     &hung->wall, NULL);
        if (!still_waiting(importer))
                (*ended_early)++;

        /* The lookups are refused at the deadline; the exporter is then
         * dropped (a late answer could not be matched any more). */
        for (unsigned k = 0; k < HUNG_LOOKUPS; k++) {
                uint64_t value = 0;
                r = wire_wait_reply(importer, VU_BREQ_SHARED_OBJECT_LOOKUP,
                                    HUNG_LOOKUP_TIMEOUT_MS + BENCH_TIMEOUT_MS, &value, NULL);
                if (r < 0 || value == 0)
                        refused->failures++; /* not the refusal that was due */
                else
                        samples_add(refused, bench_now_ns() - sent_ns);
        }
        if (cycle % 2 == 1)
                hub_workload(HUB_ADD_REMOVE, others, n, NULL, HUNG_PHASE_MS, &calm->add, &calm->rem,
                             &calm->wall, NULL);
        return 0;
}

int bench_hung(Bench *b)
{
        unsigned n = MAX(1u, b->max_clients / 2);
        g_autofree WireBackend *others = g_new0(WireBackend, n);
        WireBackend exporters[HUNG_CYCLES], importer;
        TargetOptions o = {.lookup_timeout_ms = HUNG_LOOKUP_TIMEOUT_MS};
        Phase calm = {0}, hung = {0};
        Summary base_add, base_rem, add, rem, fs;
        unsigned ended_early = 0, gets = 0;
        Samples refused = {0};
        Target *t = NULL;
        int r;

        report_section(
            "Hung exporter",
            "The daemon with a 1 s GET_SHARED_OBJECT deadline, 4 other back-ends doing "
            "ADD/REMOVE. In 6 cycles a new exporter never answers: 400 ms while an importer has 8 "
            "LOOKUPs of its object outstanding, then the deadline refuses them and drops the "
            "exporter; 400 ms with no hang are measured before (even cycles) or after (odd). The "
            "ratio columns compare with the "
            "no-hang row (not with the floor).");
        wire_backend_init(&importer, "importer");
        for (unsigned i = 0; i < n; i++)
                wire_backend_init(&others[i], "other");
        for (unsigned c = 0; c < HUNG_CYCLES; c++)
                wire_backend_init(&exporters[c], "hung-exporter");
        r = target_start(b, TARGET_PROCESS, &o, &t);
        for (unsigned i = 0; r >= 0 && i < n; i++)
                r = target_connect(t, &others[i], "other");
        if (r >= 0)
                r = target_connect(t, &importer, "importer");
        for (unsigned c = 0; r >= 0 && c < HUNG_CYCLES; c++)
                r = hung_cycle(t, c, others, n, &importer, &exporters[c], &calm, &hung, &refused,
                               &ended_early);
        if (r >= 0) {
                phase_rows(&calm, "no exporter hung", n, NULL, NULL, &base_add, &base_rem);
                phase_rows(&hung, "an exporter hung, 8 LOOKUPs outstanding", n, &base_add,
                           &base_rem, &add, &rem);
                samples_summarize(&refused, 0, &fs);
                report_row("LOOKUP at the hung exporter (refused at the deadline)", 1, 0, &fs, NULL,
                           NULL);
                for (unsigned c = 0; c < HUNG_CYCLES; c++)
                        gets += exporters[c].gets;
                report_text("\nThe lookups were still outstanding at the end of every hung "
                            "phase: %s. The hung exporters saw %u GET_SHARED_OBJECT requests.\n",
                            ended_early ? "no" : "yes", gets);
        } else {
                progress("hung: %s", g_strerror(-r));
        }
        samples_clear(&calm.add);
        samples_clear(&calm.rem);
        samples_clear(&hung.add);
        samples_clear(&hung.rem);
        samples_clear(&refused);
        target_stop(t);
        for (unsigned i = 0; i < n; i++)
                wire_backend_close(&others[i]);
        for (unsigned c = 0; c < HUNG_CYCLES; c++)
                wire_backend_close(&exporters[c]);
        wire_backend_close(&importer);
        return r < 0 ? r : 0;
}
