/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory per object: the daemon's resident set (VmRSS) as one back-end
 * exports more and more objects, per object over the empty table. */

#include <errno.h>
#include <glib.h>
#include <stdio.h>

#include "bench.h"

int bench_memory(Bench *b)
{
        Target *t = NULL;
        long base;
        int r;

        report_text("\n## Daemon memory per object\n\nThe daemon (--no-bus): VmRSS from "
                    "/proc/PID/status once one back-end is connected, then after it exported N "
                    "objects (SHARED_OBJECT_ADD); per object = growth / N.\n\n");
        report_text("| objects | VmRSS KiB | growth KiB | bytes per object |\n");
        report_text("|---:|---:|---:|---:|\n");
        r = target_start(b, TARGET_PROCESS, NULL, &t);
        if (r < 0)
                return r;
        r = target_prefill(t, 1); /* connects the exporting back-end */
        base = proc_rss_kib(target_pid(t));
        report_text("| 1 | %ld | — | — |\n", base);
        for (unsigned i = 0; r >= 0 && i < b->n_object_counts; i++) {
                unsigned n = b->object_counts[i];
                long rss;

                r = target_prefill(t, n);
                if (r < 0)
                        break;
                rss = proc_rss_kib(target_pid(t));
                report_text("| %u | %ld | %ld | %.0f |\n", n, rss, rss - base,
                            (double) (rss - base) * 1024.0 / (double) n);
        }
        if (r < 0)
                progress("memory: %s", g_strerror(-r));
        target_stop(t);
        return r < 0 ? r : 0;
}
