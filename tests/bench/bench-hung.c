/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hung exporter must cost only its own importers a timeout. One back-end
 * exports an object and never answers GET_SHARED_OBJECT; an importer keeps
 * lookups of it outstanding; meanwhile other back-ends' ADD/REMOVE latency
 * is measured and compared with the same back-ends before the hang and
 * after the exporter was dropped. QEMU 10.0.2 blocks its main loop in the
 * same situation (protocol.md §5). */

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"

#define HUNG_LOOKUPS 8 /* outstanding at the hung exporter */
#define HUNG_LOOKUP_TIMEOUT_MS 4000

typedef struct {
        Samples add, rem;
        uint64_t wall;
} Phase;

static void phase_measure(const Bench *b, WireBackend *others, unsigned n, Phase *p)
{
        samples_init(&p->add);
        samples_init(&p->rem);
        p->wall = 0;
        hub_workload(HUB_ADD_REMOVE, others, n, NULL, b->duration_ms, &p->add, &p->rem, &p->wall,
                     NULL);
}

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

static void hung_run(const Bench *b, WireBackend *others, unsigned n, WireBackend *importer,
                     WireBackend *exporter, const uint8_t *uuid)
{
        Summary base_add, base_rem, add, rem, fs;
        uint64_t sent_ns, hung_end_ns;
        Samples failed;
        Phase phase;
        bool waiting;

        phase_measure(b, others, n, &phase);
        phase_rows(&phase, "before the hang", n, NULL, NULL, &base_add, &base_rem);

        sent_ns = bench_now_ns();
        for (unsigned k = 0; k < HUNG_LOOKUPS; k++)
                if (wire_send(importer, VU_BREQ_SHARED_OBJECT_LOOKUP, uuid, true) < 0)
                        progress("hung: sending a LOOKUP failed");
        phase_measure(b, others, n, &phase);
        hung_end_ns = bench_now_ns();
        waiting = still_waiting(importer);
        phase_rows(&phase, waiting ? "exporter hung" : "exporter hung (ended early!)", n, &base_add,
                   &base_rem, &add, &rem);

        /* The importer's lookups fail at the deadline (the exporter is then
         * disconnected: a late answer could not be matched any more). */
        samples_init(&failed);
        for (unsigned k = 0; k < HUNG_LOOKUPS; k++) {
                uint64_t value = 0;
                int r = wire_wait_reply(importer, VU_BREQ_SHARED_OBJECT_LOOKUP,
                                        HUNG_LOOKUP_TIMEOUT_MS + BENCH_TIMEOUT_MS, &value, NULL);
                if (r < 0 || value == 0)
                        failed.failures++; /* not the refusal that was due */
                else
                        samples_add(&failed, bench_now_ns() - sent_ns);
        }
        samples_summarize(&failed, 0, &fs);
        report_row("LOOKUP of the hung exporter's object (refused at the deadline)", 1, 0, &fs,
                   NULL, NULL);
        samples_clear(&failed);

        phase_measure(b, others, n, &phase);
        phase_rows(&phase, "after the exporter was dropped", n, &base_add, &base_rem, &add, &rem);
        report_text("\nThe hang phase lasted %.0f ms with %d lookups outstanding at the exporter "
                    "throughout: %s. The exporter saw %u GET_SHARED_OBJECT requests.\n",
                    (double) (hung_end_ns - sent_ns) / 1e6, HUNG_LOOKUPS,
                    waiting ? "yes" : "no, an answer came early", exporter->gets);
}

int bench_hung(Bench *b)
{
        unsigned n = MAX(1u, b->max_clients / 2);
        g_autofree WireBackend *others = g_new0(WireBackend, n);
        WireBackend exporter, importer;
        TargetOptions o = {.lookup_timeout_ms = HUNG_LOOKUP_TIMEOUT_MS};
        uint8_t uuid[VU_UUID_SIZE];
        Target *t = NULL;
        uint64_t ack = 1;
        int r;

        report_section(
            "Hung exporter",
            "The daemon with a 4 s GET_SHARED_OBJECT deadline. An exporter never answers; an "
            "importer has 8 LOOKUPs of its object outstanding. Other back-ends' ADD/REMOVE "
            "latency before, during and after the hang; the ratio columns compare with the "
            "row measured before the hang (not with the floor).");
        wire_backend_init(&exporter, "hung-exporter");
        wire_backend_init(&importer, "importer");
        for (unsigned i = 0; i < n; i++)
                wire_backend_init(&others[i], "other");
        r = target_start(b, TARGET_PROCESS, &o, &t);
        for (unsigned i = 0; r >= 0 && i < n; i++)
                r = target_connect(t, &others[i], "other");
        if (r >= 0)
                r = target_connect(t, &importer, "importer");
        if (r >= 0)
                r = target_connect(t, &exporter, "hung-exporter");
        exporter.hang = true; /* read by the servant, which sees no GET before this */
        bench_uuid(uuid, 0xcccc0000u, 0);
        if (r >= 0)
                r = wire_call(&exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL);
        if (r >= 0 && ack != 0)
                r = -EEXIST;
        if (r >= 0)
                hung_run(b, others, n, &importer, &exporter, uuid);
        else
                progress("hung: setting up failed (%s)", g_strerror(-r));
        target_stop(t);
        for (unsigned i = 0; i < n; i++)
                wire_backend_close(&others[i]);
        wire_backend_close(&importer);
        wire_backend_close(&exporter);
        return r < 0 ? r : 0;
}
