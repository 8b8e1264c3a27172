/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory per object: the daemon's resident set (VmRSS) as one back-end
 * exports more and more objects, per object over the near-empty table;
 * without D-Bus and on a private bus (where every object is also a D-Bus
 * object). */

#include <errno.h>
#include <glib.h>
#include <stdio.h>

#include "bench.h"

static int memory_target(Bench *b, const TargetOptions *o)
{
        Target *t = NULL;
        long base;
        int r;

        r = target_start(b, TARGET_PROCESS, o, &t);
        if (r < 0)
                return r;
        r = target_prefill(t, 1); /* connects the exporting back-end */
        base = proc_rss_kib(target_pid(t));
        report_text("| %s | 1 | %ld | — | — |\n", target_name(t), base);
        for (unsigned i = 0; r >= 0 && i < b->n_object_counts; i++) {
                unsigned n = b->object_counts[i];
                long rss;

                progress("memory: %s, %u objects", target_name(t), n);
                r = target_prefill(t, n);
                if (r < 0)
                        break;
                rss = proc_rss_kib(target_pid(t));
                report_text("| %s | %u | %ld | %ld | %.0f |\n", target_name(t), n, rss, rss - base,
                            (double) (rss - base) * 1024.0 / (double) n);
        }
        if (r < 0)
                progress("memory: %s", g_strerror(-r));
        target_stop(t);
        return r;
}

int bench_memory(Bench *b)
{
        TargetOptions bus = {.bus = true};
        int r, q;

        report_text("\n## Daemon memory per object\n\nVmRSS from /proc/PID/status once one "
                    "back-end is connected and has exported one object, then after it exported "
                    "N objects (SHARED_OBJECT_ADD); per object = growth / N.\n\n");
        report_text("| daemon | objects | VmRSS KiB | growth KiB | bytes per object |\n");
        report_text("|---|---:|---:|---:|---:|\n");
        r = memory_target(b, NULL);
        q = memory_target(b, &bus);
        return r < 0 ? r : q;
}
