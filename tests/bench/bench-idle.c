/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The idle daemon must not wake up: no timer may stay armed once nothing is
 * pending. Measured from /proc over a quiet window: context switches of all
 * its threads (every wake-up is one), CPU time, and the timerfds that are
 * armed (their fdinfo shows a non-zero it_value). */

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "buffer-pattern.h"
#include "fd-util.h"

#define IDLE_WINDOW_MS 2000
#define IDLE_SETTLE_MS 300 /* after activity, before the window opens */

typedef struct {
        uint64_t switches; /* voluntary + involuntary, all threads */
        uint64_t cpu_ns;   /* schedstat: time on a CPU, all threads */
} ProcTicks;

static uint64_t status_field(const char *text, const char *key)
{
        const char *p = strstr(text, key);

        return p ? g_ascii_strtoull(p + strlen(key), NULL, 10) : 0;
}

long proc_rss_kib(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *text = NULL;

        if (!g_file_get_contents(path, &text, NULL, NULL))
                return -ENOENT;
        return (long) status_field(text, "VmRSS:");
}

static int proc_ticks(pid_t pid, ProcTicks *ret)
{
        g_autofree char *dirname = g_strdup_printf("/proc/%d/task", (int) pid);
        g_autoptr(GDir) dir = g_dir_open(dirname, 0, NULL);
        const char *tid;

        *ret = (ProcTicks){0};
        if (!dir)
                return -ENOENT;
        while ((tid = g_dir_read_name(dir))) {
                g_autofree char *status = g_strdup_printf("%s/%s/status", dirname, tid);
                g_autofree char *sched = g_strdup_printf("%s/%s/schedstat", dirname, tid);
                g_autofree char *text = NULL;

                if (g_file_get_contents(status, &text, NULL, NULL))
                        ret->switches += status_field(text, "\nvoluntary_ctxt_switches:") +
                                         status_field(text, "\nnonvoluntary_ctxt_switches:");
                g_clear_pointer(&text, g_free);
                if (g_file_get_contents(sched, &text, NULL, NULL))
                        ret->cpu_ns += g_ascii_strtoull(text, NULL, 10);
        }
        return 0;
}

uint64_t proc_cpu_ns(pid_t pid)
{
        ProcTicks t;

        if (pid <= 0 || proc_ticks(pid, &t) < 0)
                return 0;
        return t.cpu_ns;
}

/* timerfds of pid whose it_value is not zero. */
static int proc_armed_timers(pid_t pid, unsigned *ret_total)
{
        g_autofree char *fddir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) dir = g_dir_open(fddir, 0, NULL);
        const char *fd;
        int armed = 0;

        *ret_total = 0;
        if (!dir)
                return -ENOENT;
        while ((fd = g_dir_read_name(dir))) {
                g_autofree char *link = g_strdup_printf("%s/%s", fddir, fd);
                g_autofree char *target = g_file_read_link(link, NULL);
                g_autofree char *info = g_strdup_printf("/proc/%d/fdinfo/%s", (int) pid, fd);
                g_autofree char *text = NULL;
                const char *v;

                if (!target || !strstr(target, "timerfd"))
                        continue;
                (*ret_total)++;
                if (!g_file_get_contents(info, &text, NULL, NULL))
                        continue;
                v = strstr(text, "it_value: (");
                if (v && !g_str_has_prefix(v, "it_value: (0, 0)"))
                        armed++;
        }
        return armed;
}

static void idle_row(const char *scenario, pid_t pid, unsigned peers, unsigned objects)
{
        ProcTicks a, b;
        unsigned timers = 0;
        int armed;

        g_usleep(IDLE_SETTLE_MS * 1000);
        armed = proc_armed_timers(pid, &timers);
        proc_ticks(pid, &a);
        g_usleep(IDLE_WINDOW_MS * 1000);
        proc_ticks(pid, &b);
        report_text("| %s | %u | %u | %llu | %.0f | %d of %u |\n", scenario, peers, objects,
                    (unsigned long long) (b.switches - a.switches),
                    (double) (b.cpu_ns - a.cpu_ns) / 1000.0, armed, timers);
}

/* Activity that arms every timer the hub has: handshakes, lookups through
 * an exporter, and one GET_SHARED_OBJECT that times out. */
/* How long the lookup refused at the GET deadline took, per target. */
static GString *deadline_rows;

static int idle_activity(const Bench *b, Target *t, WireBackend *clients, unsigned n,
                         WireBackend *exporter, WireBackend *hung)
{
        uint8_t uuid[VU_UUID_SIZE], hung_uuid[VU_UUID_SIZE];
        Samples s1, s2;
        uint64_t wall = 0, ack = 1, value = 0;
        int r;

        bench_uuid(uuid, 0xbbbb0000u, 0);
        bench_uuid(hung_uuid, 0xbbbb0000u, 1);
        r = wire_call(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL);
        if (r >= 0)
                r = wire_call(hung, VU_BREQ_SHARED_OBJECT_ADD, hung_uuid, true, &ack, NULL);
        if (r < 0)
                return r;
        samples_init(&s1);
        samples_init(&s2);
        hub_workload(HUB_ADD_REMOVE, clients, n, NULL, 200, &s1, &s2, &wall, NULL);
        hub_workload(HUB_LOOKUP, clients, n, uuid, 200, &s1, NULL, &wall, NULL);
        samples_clear(&s1);
        samples_clear(&s2);
        /* Refused when the 300 ms deadline passes; the hung exporter is
         * dropped when it has been silent for four deadlines (the default
         * ExporterSilenceLimitMSec=), which is waited for below. */
        uint64_t t0 = bench_now_ns();
        r = wire_call(&clients[0], VU_BREQ_SHARED_OBJECT_LOOKUP, hung_uuid, true, &value, NULL);
        if (r >= 0 && value == 0)
                r = -EPROTO;
        if (r >= 0)
                g_string_append_printf(deadline_rows, "| %s | 300 | %.2f | %.2f |\n",
                                       target_name(t), (double) (bench_now_ns() - t0) / 1e6,
                                       (double) (bench_now_ns() - t0) / 1e6 - 300.0);
        /* That drop is the service's last timer: the window opens after it. */
        if (r >= 0)
                g_usleep((4 * 300 - 300 + 100) * 1000);
        return r;
}

static int idle_target(Bench *b, const TargetOptions *o)
{
        unsigned n = b->max_clients;
        g_autofree WireBackend *clients = g_new0(WireBackend, n);
        WireBackend exporter, hung;
        int buffer_fd = -1;
        Target *t = NULL;
        char what[128];
        int r;

        wire_backend_init(&exporter, "exporter");
        wire_backend_init(&hung, "hung");
        for (unsigned i = 0; i < n; i++)
                wire_backend_init(&clients[i], "client");

        r = target_start(b, TARGET_PROCESS, o, &t);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "%s, just started", target_name(t));
        idle_row(what, target_pid(t), 0, 0);
        for (unsigned i = 0; r >= 0 && i < n; i++)
                r = target_connect(t, &clients[i], "client");
        if (r >= 0)
                r = target_connect(t, &exporter, "exporter");
        if (r >= 0)
                r = target_connect(t, &hung, "hung");
        hung.hang = true;
        if (r >= 0)
                r = target_prefill(t, 1000);
        snprintf(what, sizeof(what), "%s, back-ends connected, objects held", target_name(t));
        if (r >= 0)
                idle_row(what, target_pid(t), n + 2, target_objects(t));
        if (r >= 0)
                r = memfd_new_sealed_pattern("bench-idle", 4096, 3, &buffer_fd);
        exporter.export_fd = buffer_fd;
        if (r >= 0)
                r = idle_activity(b, t, clients, n, &exporter, &hung);
        snprintf(what, sizeof(what), "%s, after ADD/REMOVE, lookups and a lookup timeout",
                 target_name(t));
        if (r >= 0)
                idle_row(what, target_pid(t), n + 1, target_objects(t) + 1);
        if (r < 0)
                progress("idle: %s", g_strerror(-r));
        target_stop(t);
        for (unsigned i = 0; i < n; i++)
                wire_backend_close(&clients[i]);
        wire_backend_close(&exporter);
        wire_backend_close(&hung);
        if (buffer_fd >= 0)
                close(buffer_fd);
        return r < 0 ? r : 0;
}

int bench_idle(Bench *b)
{
        TargetOptions plain = {.lookup_timeout_ms = 300};
        TargetOptions bus = {.lookup_timeout_ms = 300, .bus = true};
        int r, q;

        report_text("\n## Idle daemon\n\nThe daemon over a %d ms window after %d ms "
                    "of quiet: context switches of all its threads (each wake-up is one), CPU "
                    "time, and armed timerfds (fdinfo it_value not zero) out of all its "
                    "timerfds. GET_SHARED_OBJECT deadline 300 ms.\n\n",
                    IDLE_WINDOW_MS, IDLE_SETTLE_MS);
        report_text("| scenario | back-ends | objects | wake-ups | CPU µs | armed timers |\n");
        report_text("|---|---:|---:|---:|---:|---:|\n");
        deadline_rows = g_string_new(NULL);
        r = idle_target(b, &plain);
        q = idle_target(b, &bus);
        report_text("\nThe lookup refused at the GET_SHARED_OBJECT deadline: from the LOOKUP's "
                    "send to the refusal's arrival at the importer.\n\n"
                    "| daemon | deadline ms | refused after ms | late by ms |\n"
                    "|---|---:|---:|---:|\n%s",
                    deadline_rows->str);
        g_string_free(deadline_rows, TRUE);
        return r < 0 ? r : q;
}
