/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-share-bench: command line and the order of the workload groups.
 * The report (Markdown) goes to stdout, progress to stderr:
 *   build/tests/bench/vhost-share-bench --all > results.md */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"
#include "log.h"

typedef struct {
        const char *name;
        const char *help;
        int (*run)(Bench *b);
        gboolean selected;
} Group;

static Group groups[] = {
    {"floor", "the socketpair floor alone", bench_floor, false},
    {"hub", "ADD/REMOVE and LOOKUP through the hub (in process and the daemon)", bench_hub, false},
    {"hung", "other back-ends' ADD latency while an exporter never answers", bench_hung, false},
    {"idle", "wake-ups and armed timers of the idle daemon", bench_idle, false},
    {"memory", "the daemon's resident memory per object", bench_memory, false},
    {"qemu", "the same workloads against QEMU as the front-end", bench_qemu, false},
    {"dbus", "ADD to Added at a subscriber; GetManagedObjects and ListObjects", bench_dbus, false},
    {"deaf", "other back-ends' ADD/REMOVE and the daemon's memory while a VMM does not read",
     bench_deaf, false},
    {"flood", "4 back-ends ADD/REMOVE without acks for 10 s; every signal counted", bench_flood,
     false},
    {"bridge", "the bridge role: announcements to a VMM, its GETs, upstream lookups", bench_bridge,
     false},
    {"pair", "the daemon without and with D-Bus side by side, in alternating rounds", bench_pair,
     false},
};

static int parse_counts(const char *text, Bench *b)
{
        g_auto(GStrv) parts = g_strsplit(text, ",", -1);

        b->n_object_counts = 0;
        for (char **p = parts; *p; p++) {
                guint64 v;
                if (b->n_object_counts == G_N_ELEMENTS(b->object_counts) ||
                    !g_ascii_string_to_unsigned(*p, 10, 1, 1000000, &v, NULL))
                        return -EINVAL;
                b->object_counts[b->n_object_counts++] = (unsigned) v;
        }
        return b->n_object_counts ? 0 : -EINVAL;
}

/* The daemon next to the bench in the build tree: tests/bench/ -> service/. */
static char *default_service_path(void)
{
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;

        return dir ? g_build_filename(dir, "..", "..", "service", "vhost-shared", NULL) : NULL;
}

static void remove_tree(const char *path)
{
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir))) {
                g_autofree char *child = g_build_filename(path, name, NULL);
                if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
                    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                        remove_tree(child);
                else
                        g_unlink(child);
        }
        g_rmdir(path);
}

/* A round trip between two processes mostly measures how fast an idle CPU
 * wakes up: on a virtual machine a halted vCPU costs a hypervisor exit and
 * ~40 us, and whether it halted depends on what else ran, so rows flip
 * between ~10 and ~50 us independently of the code. Holding the CPU
 * latency request at 0 for the run (what latency benchmarks such as
 * cyclictest do) keeps idle CPUs polling; the fd must stay open. */
static int hold_cpus_awake(Bench *b, bool allow_sleep)
{
        int32_t zero = 0;
        int fd;

        if (allow_sleep) {
                b->cpu_sleep = "allowed (--cpu-sleep): latencies include idle CPUs waking up";
                return -1;
        }
        fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, &zero, sizeof(zero)) != sizeof(zero)) {
                b->cpu_sleep = "allowed: /dev/cpu_dma_latency could not be held at 0 (not root?); "
                               "latencies include idle CPUs waking up";
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        b->cpu_sleep = "held off for the run (/dev/cpu_dma_latency at 0): idle CPUs poll "
                       "instead of halting";
        return fd;
}

int main(int argc, char **argv)
{
        Bench b = {.duration_ms = 1000, .max_clients = 8};
        gboolean all = false, quick = false, keep = false, cpu_sleep = false;
        _cleanup_close_ int awake_fd = -1;
        g_autofree char *objects = NULL;
        int ms = 0, clients = 0;
        GOptionEntry entries[] = {
            {"all", 'a', 0, G_OPTION_ARG_NONE, &all, "Run every workload group", NULL},
            {"floor", 0, 0, G_OPTION_ARG_NONE, &groups[0].selected, groups[0].help, NULL},
            {"hub", 0, 0, G_OPTION_ARG_NONE, &groups[1].selected, groups[1].help, NULL},
            {"hung", 0, 0, G_OPTION_ARG_NONE, &groups[2].selected, groups[2].help, NULL},
            {"idle", 0, 0, G_OPTION_ARG_NONE, &groups[3].selected, groups[3].help, NULL},
            {"memory", 0, 0, G_OPTION_ARG_NONE, &groups[4].selected, groups[4].help, NULL},
            {"qemu", 0, 0, G_OPTION_ARG_NONE, &groups[5].selected, groups[5].help, NULL},
            {"dbus", 0, 0, G_OPTION_ARG_NONE, &groups[6].selected, groups[6].help, NULL},
            {"deaf", 0, 0, G_OPTION_ARG_NONE, &groups[7].selected, groups[7].help, NULL},
            {"flood", 0, 0, G_OPTION_ARG_NONE, &groups[8].selected, groups[8].help, NULL},
            {"bridge", 0, 0, G_OPTION_ARG_NONE, &groups[9].selected, groups[9].help, NULL},
            {"pair", 0, 0, G_OPTION_ARG_NONE, &groups[10].selected, groups[10].help, NULL},
            {"ms", 0, 0, G_OPTION_ARG_INT, &ms,
             "Milliseconds per measurement, in 5 rounds (default 1000)", "MS"},
            {"objects", 0, 0, G_OPTION_ARG_STRING, &objects,
             "Table sizes to measure at (default 1000,10000,100000)", "N,N,..."},
            {"clients", 0, 0, G_OPTION_ARG_INT, &clients,
             "Back-ends of the concurrent case (default 8)", "N"},
            {"quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
             "Few operations, 1000 objects: a smoke run", NULL},
            {"service", 0, 0, G_OPTION_ARG_FILENAME, &b.service_path,
             "The vhost-shared binary (default: the one of this build tree)", "PATH"},
            {"qemu-binary", 0, 0, G_OPTION_ARG_FILENAME, &b.qemu_path,
             "QEMU to drive (default qemu-system-x86_64 on PATH)", "PATH"},
            {"keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the temporary directory (sockets, logs)",
             NULL},
            {"cpu-sleep", 0, 0, G_OPTION_ARG_NONE, &cpu_sleep,
             "Let idle CPUs sleep (by default the run holds /dev/cpu_dma_latency at 0)", NULL},
            {"verbose", 'v', 0, G_OPTION_ARG_NONE, &b.verbose, "Log the in-process hub", NULL},
            {NULL},
        };
        g_autoptr(GOptionContext) ctx = g_option_context_new("- vhost-share benchmarks");
        g_autoptr(GError) error = NULL;
        bool any = false;
        int r = 0;

        g_option_context_set_summary(
            ctx, "Measures the hub, the vhost-shared daemon and QEMU against a socketpair floor,\n"
                 "all in one run. The report (Markdown) is written to stdout.");
        g_option_context_add_main_entries(ctx, entries, NULL);
        if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
                fprintf(stderr, "vhost-share-bench: %s\n", error->message);
                return 2;
        }
        b.object_counts[0] = 1000;
        b.object_counts[1] = 10000;
        b.object_counts[2] = 100000;
        b.n_object_counts = 3;
        if (quick) {
                b.duration_ms = 200;
                b.n_object_counts = 1;
        }
        if (ms > 0)
                b.duration_ms = (unsigned) ms;
        if (clients > 0)
                b.max_clients = MIN((unsigned) clients, 64u);
        if (objects && parse_counts(objects, &b) < 0) {
                fprintf(stderr, "vhost-share-bench: --objects wants numbers like 1000,10000\n");
                return 2;
        }
        if (!b.service_path)
                b.service_path = default_service_path();
        if (!b.qemu_path)
                b.qemu_path = g_find_program_in_path("qemu-system-x86_64");
        for (unsigned i = 0; i < G_N_ELEMENTS(groups); i++)
                any |= groups[i].selected;
        if (!any && !all) {
                fprintf(stderr, "vhost-share-bench: choose --all or some groups (see --help)\n");
                return 2;
        }

        signal(SIGPIPE, SIG_IGN);
        if (!b.verbose)
                log_set_max_level(LOG_ERR);
        b.tmpdir = g_dir_make_tmp("vhost-share-bench-XXXXXX", &error);
        if (!b.tmpdir) {
                fprintf(stderr, "vhost-share-bench: %s\n", error->message);
                return 1;
        }

        awake_fd = hold_cpus_awake(&b, cpu_sleep);
        printf("# vhost-share-bench results\n\n");
        report_machine(&b);
        for (unsigned i = 0; i < G_N_ELEMENTS(groups); i++) {
                if (!all && !groups[i].selected)
                        continue;
                progress("running %s", groups[i].name);
                int q = groups[i].run(&b);
                if (q < 0) {
                        progress("%s failed: %s", groups[i].name, g_strerror(-q));
                        r = q;
                }
        }

        if (keep)
                progress("kept %s", b.tmpdir);
        else
                remove_tree(b.tmpdir);
        g_free(b.tmpdir);
        g_free(b.service_path);
        g_free(b.qemu_path);
        return r < 0 ? 1 : 0;
}
