/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon without and with D-Bus, side by side: both run at once and
 * take turns, round by round (the side that goes first alternates), so
 * both see the same machine. On a shared 2-CPU machine the round-trip time
 * jumps between states (an idle CPU that has to wake up costs ~40 us); rows
 * measured minutes apart compare those states, not the daemons. Each row's
 * note gives the D-Bus daemon's p50 against the --no-bus daemon's, over all
 * rounds and round by round. */

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define PAIR_ROUNDS (2 * BENCH_ROUNDS)

enum { NO_BUS, ON_BUS, N_SIDES };

/* One workload on both sides: all samples, and each round's p50. */
typedef struct {
        Samples all[N_SIDES], round[N_SIDES];
        uint64_t wall[N_SIDES];
        double round_p50[N_SIDES][PAIR_ROUNDS];
} PairAcc;

static void pair_end_round(PairAcc *a, unsigned side, unsigned round)
{
        Summary s;

        samples_merge(&a->all[side], &a->round[side]);
        samples_summarize(&a->round[side], 1, &s);
        a->round_p50[side][round] = s.p50_us;
        samples_clear(&a->round[side]);
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* The rows of one workload: --no-bus, then D-Bus with the ratios. */
static void pair_report(PairAcc *a, const char *workload, unsigned objects, const Summary *floor)
{
        double ratios[PAIR_ROUNDS];
        Summary s[N_SIDES];
        char name[96], note[256];
        size_t len;

        for (unsigned side = 0; side < N_SIDES; side++)
                samples_summarize(&a->all[side], a->wall[side], &s[side]);
        for (unsigned r = 0; r < PAIR_ROUNDS; r++)
                ratios[r] = a->round_p50[NO_BUS][r] > 0
                                ? a->round_p50[ON_BUS][r] / a->round_p50[NO_BUS][r]
                                : 0;
        len = (size_t) snprintf(note, sizeof(note), "p50 %.2fx the --no-bus daemon's; by round:",
                                s[NO_BUS].p50_us > 0 ? s[ON_BUS].p50_us / s[NO_BUS].p50_us : 0);
        for (unsigned r = 0; r < PAIR_ROUNDS && len < sizeof(note); r++)
                len += (size_t) snprintf(note + len, sizeof(note) - len, " %.2f", ratios[r]);
        qsort(ratios, PAIR_ROUNDS, sizeof(double), compare_double);
        if (len < sizeof(note))
                snprintf(note + len, sizeof(note) - len, " (median %.2fx)",
                         (ratios[PAIR_ROUNDS / 2 - 1] + ratios[PAIR_ROUNDS / 2]) / 2);
        snprintf(name, sizeof(name), "%s, --no-bus", workload);
        report_row(name, 1, objects, &s[NO_BUS], floor, NULL);
        snprintf(name, sizeof(name), "%s, D-Bus", workload);
        report_row(name, 1, objects, &s[ON_BUS], floor, note);
        for (unsigned side = 0; side < N_SIDES; side++)
                samples_clear(&a->all[side]);
}

static void pair_rows(const Bench *b, HubSetup side[N_SIDES], unsigned objects)
{
        PairAcc add = {0}, rem = {0}, proxied = {0};
        Samples floor = {0}, held = {0};
        uint64_t floor_wall = 0, held_wall = 0;
        unsigned ms = MAX(1u, b->duration_ms / BENCH_ROUNDS);
        Summary f, s;

        for (unsigned round = 0; round < PAIR_ROUNDS; round++) {
                for (unsigned k = 0; k < N_SIDES; k++)
                        target_sync(side[k].t);
                floor_run(1, true, ms, &floor, &floor_wall);
                for (unsigned k = 0; k < N_SIDES; k++) {
                        unsigned i = k ^ (round & 1); /* who goes first alternates */
                        HubSetup *h = &side[i];

                        target_sync(h->t);
                        hub_workload(HUB_ADD_REMOVE, h->clients, 1, NULL, ms, &add.round[i],
                                     &rem.round[i], &add.wall[i], NULL);
                        rem.wall[i] = add.wall[i];
                        target_sync(h->t);
                        hub_workload(HUB_LOOKUP, h->clients, 1, h->exported_uuid, ms,
                                     &proxied.round[i], NULL, &proxied.wall[i], NULL);
                        if (i == ON_BUS && h->have_held) {
                                target_sync(h->t);
                                hub_workload(HUB_LOOKUP, h->clients, 1, h->held_uuid, ms, &held,
                                             NULL, &held_wall, NULL);
                        }
                        pair_end_round(&add, i, round);
                        pair_end_round(&rem, i, round);
                        pair_end_round(&proxied, i, round);
                }
        }
        samples_summarize(&floor, floor_wall, &f);
        report_row("floor", 1, 0, &f, NULL, NULL);
        pair_report(&add, "ADD (ack)", objects, &f);
        pair_report(&rem, "REMOVE (ack)", objects, &f);
        pair_report(&proxied, "LOOKUP, proxied", objects, &f);
        if (side[ON_BUS].have_held) {
                samples_summarize(&held, held_wall, &s);
                report_row("LOOKUP, held dma-buf, D-Bus", 1, objects, &s, &f, NULL);
        }
        samples_clear(&floor);
        samples_clear(&held);
}

int bench_pair(Bench *b)
{
        TargetOptions bus = {.bus = true};
        HubSetup side[N_SIDES];
        int r;

        r = hub_setup(b, TARGET_PROCESS, NULL, &side[NO_BUS]);
        if (r < 0)
                return r;
        r = hub_setup(b, TARGET_PROCESS, &bus, &side[ON_BUS]);
        if (r < 0) {
                hub_teardown(&side[NO_BUS]);
                return r;
        }
        report_section("The daemon without and with D-Bus, side by side",
                       "Both daemons run at once; 1 back-end each; in every round the floor, "
                       "then each daemon in turn (the first alternates), ADD/REMOVE with "
                       "REPLY_ACK and a proxied LOOKUP, and on D-Bus a LOOKUP of a buffer it "
                       "holds. The note compares the D-Bus daemon's p50 with the --no-bus "
                       "daemon's: over all rounds, each round, and their median.");
        for (unsigned c = 0; c < b->n_object_counts && r >= 0; c++) {
                unsigned objects = b->object_counts[c];

                progress("side by side: %u objects", objects);
                for (unsigned k = 0; k < N_SIDES && r >= 0; k++)
                        r = target_prefill(side[k].t, objects);
                if (r < 0) {
                        progress("prefill to %u objects failed (%s)", objects, g_strerror(-r));
                        break;
                }
                pair_rows(b, side, objects);
        }
        hub_teardown(&side[ON_BUS]);
        hub_teardown(&side[NO_BUS]);
        return r;
}
