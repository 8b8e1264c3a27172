/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Latency samples, percentiles and the Markdown report on stdout (progress
 * goes to stderr, so stdout can be pasted into docs/benchmarks.md). */

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void samples_init(Samples *s)
{
        *s = (Samples){0};
}

void samples_add(Samples *s, uint64_t ns)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4096;
                s->ns = g_renew(uint64_t, s->ns, s->cap);
        }
        s->ns[s->n++] = ns;
}

void samples_merge(Samples *into, const Samples *from)
{
        for (size_t i = 0; i < from->n; i++)
                samples_add(into, from->ns[i]);
        into->failures += from->failures;
}

void samples_clear(Samples *s)
{
        g_free(s->ns);
        *s = (Samples){0};
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted samples. */
static double percentile_us(const Samples *s, double p)
{
        size_t rank;

        if (s->n == 0)
                return 0;
        rank = (size_t) (p * (double) s->n + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > s->n)
                rank = s->n;
        return (double) s->ns[rank - 1] / 1000.0;
}

void samples_summarize(Samples *s, uint64_t wall_ns, Summary *out)
{
        qsort(s->ns, s->n, sizeof(uint64_t), cmp_u64);
        *out = (Summary){
            .n = s->n,
            .failures = s->failures,
            .ops_per_sec = wall_ns ? (double) (s->n + s->failures) * 1e9 / (double) wall_ns : 0,
            .p50_us = percentile_us(s, 0.50),
            .p99_us = percentile_us(s, 0.99),
            .max_us = s->n ? (double) s->ns[s->n - 1] / 1000.0 : 0,
        };
}

/* ---- the report ---- */

static char *first_line_of(const char *cmd)
{
        g_autofree char *out = NULL;

        if (!g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL) || !out)
                return g_strdup("unknown");
        g_strstrip(out);
        char *nl = strchr(out, '\n');
        if (nl)
                *nl = '\0';
        return g_strdup(out);
}

static char *cpu_model(void)
{
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL))
                return g_strdup("unknown");
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, "model name")) {
                        const char *colon = strchr(*l, ':');
                        return g_strstrip(g_strdup(colon ? colon + 1 : *l));
                }
        return g_strdup("unknown");
}

void report_machine(const Bench *b)
{
        struct utsname u;
        g_autofree char *model = cpu_model();
        g_autofree char *qemu = NULL;
        g_autofree char *load = NULL;
        char date[64];
        time_t now = time(NULL);

        strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
        uname(&u);
        if (b->qemu_path) {
                g_autofree char *cmd = g_strdup_printf("%s --version", b->qemu_path);
                qemu = first_line_of(cmd);
        }
        if (g_file_get_contents("/proc/loadavg", &load, NULL, NULL))
                g_strstrip(load);

        printf("## Machine and run\n\n");
        printf("| | |\n|---|---|\n");
        printf("| date | %s |\n", date);
        printf("| CPUs (nproc) | %ld |\n", sysconf(_SC_NPROCESSORS_ONLN));
        printf("| CPU model | %s |\n", model);
        printf("| kernel | %s %s |\n", u.sysname, u.release);
        printf("| compiler | gcc %s; meson build %s |\n", __VERSION__, BENCH_BUILD);
        printf("| QEMU | %s |\n", qemu ? qemu : "not used");
        printf("| load average at start | %s |\n", load ? load : "unknown");
        printf("| CPU sleep states | %s |\n", b->cpu_sleep);
        printf("| time per measurement | %u ms in %d rounds alternating with the floor's |\n\n",
               b->duration_ms, BENCH_ROUNDS);
        fflush(stdout);
}

void report_section(const char *title, const char *text)
{
        printf("\n## %s\n\n%s\n\n", title, text);
        printf("| workload | back-ends | objects | ops/s | ops/s / floor | p50 µs | p99 µs | "
               "max µs | p50 / floor | p99 / floor | failures |\n");
        printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        fflush(stdout);
}

void report_row(const char *workload, unsigned clients, unsigned objects, const Summary *s,
                const Summary *floor, const char *note)
{
        char rops[32] = "—", r50[32] = "—", r99[32] = "—", objs[32] = "—";

        if (floor && floor->ops_per_sec > 0)
                snprintf(rops, sizeof(rops), "%.2f", s->ops_per_sec / floor->ops_per_sec);
        if (floor && floor->p50_us > 0)
                snprintf(r50, sizeof(r50), "%.2fx", s->p50_us / floor->p50_us);
        if (floor && floor->p99_us > 0)
                snprintf(r99, sizeof(r99), "%.2fx", s->p99_us / floor->p99_us);
        if (objects)
                snprintf(objs, sizeof(objs), "%u", objects);
        printf("| %s | %u | %s | %.0f | %s | %.1f | %.1f | %.1f | %s | %s | %llu%s%s |\n", workload,
               clients, objs, s->ops_per_sec, rops, s->p50_us, s->p99_us, s->max_us, r50, r99,
               (unsigned long long) s->failures, note ? " " : "", note ? note : "");
        fflush(stdout);
}

void report_text(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
}

void progress(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "bench[%d]: ", (int) getpid());
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void bench_uuid(uint8_t uuid[VU_UUID_SIZE], uint32_t who, uint32_t seq)
{
        static uint64_t run_prefix;
        uint64_t prefix;

        /* One prefix per run: UUIDs of an earlier run still held by a
         * lingering service cannot collide. */
        if (!__atomic_load_n(&run_prefix, __ATOMIC_ACQUIRE)) {
                uint64_t p = ((uint64_t) g_random_int() << 32) | g_random_int() | 1;
                uint64_t expected = 0;
                __atomic_compare_exchange_n(&run_prefix, &expected, p, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE);
        }
        prefix = __atomic_load_n(&run_prefix, __ATOMIC_ACQUIRE);
        memcpy(uuid, &prefix, 8);
        memcpy(uuid + 8, &who, 4);
        memcpy(uuid + 12, &seq, 4);
        uuid[6] = (uuid[6] & 0x0f) | 0x40; /* version 4 */
        uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
}

/* ---- threads released together ---- */

static bool threads_stop;

bool bench_running(void)
{
        return !__atomic_load_n(&threads_stop, __ATOMIC_RELAXED);
}

typedef struct {
        pthread_barrier_t barrier;
        void (*fn)(unsigned i, void *userdata);
        void *userdata;
        uint64_t start_ns;
} ThreadRun;

typedef struct {
        ThreadRun *run;
        unsigned i;
        uint64_t end_ns;
} ThreadSlot;

static void *thread_main(void *arg)
{
        ThreadSlot *slot = arg;

        pthread_barrier_wait(&slot->run->barrier);
        slot->run->fn(slot->i, slot->run->userdata);
        slot->end_ns = bench_now_ns();
        return NULL;
}

uint64_t bench_run_threads(unsigned n, unsigned duration_ms, void (*fn)(unsigned i, void *userdata),
                           void *userdata)
{
        ThreadRun run = {.fn = fn, .userdata = userdata};
        g_autofree ThreadSlot *slots = g_new0(ThreadSlot, n);
        g_autofree pthread_t *tids = g_new0(pthread_t, n);
        uint64_t end = 0;

        pthread_barrier_init(&run.barrier, NULL, n + 1);
        for (unsigned i = 0; i < n; i++) {
                slots[i] = (ThreadSlot){.run = &run, .i = i};
                if (pthread_create(&tids[i], NULL, thread_main, &slots[i]) != 0)
                        g_error("pthread_create failed");
        }
        __atomic_store_n(&threads_stop, false, __ATOMIC_RELAXED);
        run.start_ns = bench_now_ns();
        pthread_barrier_wait(&run.barrier);
        g_usleep((gulong) duration_ms * 1000);
        __atomic_store_n(&threads_stop, true, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < n; i++) {
                pthread_join(tids[i], NULL);
                if (slots[i].end_ns > end)
                        end = slots[i].end_ns;
        }
        pthread_barrier_destroy(&run.barrier);
        return end - run.start_ns;
}
