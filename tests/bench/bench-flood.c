/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A signal flood: 4 back-ends ADD and REMOVE fresh UUIDs without
 * NEED_REPLY, as fast as the daemon reads them, for 10 s, while a
 * subscriber on the bus counts every Added and Removed. Every table event
 * must arrive (the daemon pauses the back-ends when the bus falls behind
 * instead of dropping signals), and the daemon's memory stays bounded. */

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bus-manager.h"

#define FLOOD_MS 10000
#define FLOOD_BACKENDS 4
#define FLOOD_WHO 0xf1000000u
#define DRAIN_TIMEOUT_MS 60000 /* the bus may be far behind when the flood stops */

typedef struct {
        const char *address;
        uint64_t added, removed; /* atomic */
        uint64_t last_ns;        /* atomic: arrival of the latest one */
        bool stop;               /* atomic */
        int state;               /* atomic: 0 starting, 1 subscribed, < 0 failed */
} Counter;

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Counter *c = userdata;

        if (sd_bus_message_is_signal(m, BUS_MANAGER_INTERFACE, "Added"))
                __atomic_add_fetch(&c->added, 1, __ATOMIC_RELAXED);
        else if (sd_bus_message_is_signal(m, BUS_MANAGER_INTERFACE, "Removed"))
                __atomic_add_fetch(&c->removed, 1, __ATOMIC_RELAXED);
        else
                return 0;
        __atomic_store_n(&c->last_ns, bench_now_ns(), __ATOMIC_RELAXED);
        return 0;
}

static void *counter_main(void *arg)
{
        Counter *c = arg;
        sd_bus *bus = NULL;
        int r;

        r = bench_bus_connect(c->address, &bus);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',path='" BUS_MANAGER_PATH
                                     "',interface='" BUS_MANAGER_INTERFACE "'",
                                     on_signal, c);
        __atomic_store_n(&c->state, r < 0 ? r : 1, __ATOMIC_RELEASE);
        while (r >= 0 && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, 50 * 1000);
        }
        sd_bus_flush_close_unref(bus);
        return NULL;
}

typedef struct {
        WireBackend *w;
        uint32_t who;
        uint64_t pairs;
        int error;
        bool *stop;
} Writer;

static void *writer_main(void *arg)
{
        Writer *wr = arg;

        while (!__atomic_load_n(wr->stop, __ATOMIC_RELAXED)) {
                uint8_t uuid[VU_UUID_SIZE];

                bench_uuid(uuid, wr->who, (uint32_t) wr->pairs);
                wr->error = wire_send(wr->w, VU_BREQ_SHARED_OBJECT_ADD, uuid, false);
                if (wr->error >= 0)
                        wr->error = wire_send(wr->w, VU_BREQ_SHARED_OBJECT_REMOVE, uuid, false);
                if (wr->error < 0)
                        break;
                wr->pairs++;
        }
        return NULL;
}

int bench_flood(Bench *b)
{
        TargetOptions o = {.bus = true};
        WireBackend w[FLOOD_BACKENDS];
        Writer wr[FLOOD_BACKENDS];
        pthread_t tw[FLOOD_BACKENDS], tc;
        Counter c = {0};
        bool stop = false;
        Target *t = NULL;
        uint64_t start, stopped, sent = 0, got_added, got_removed;
        long rss_start = 0, rss_peak = 0, rss_end;
        int r;

        report_text("\n## Signal flood\n\n"
                    "The daemon on a private dbus-daemon; 4 back-ends ADD and REMOVE fresh "
                    "UUIDs without NEED_REPLY as fast as the daemon reads them for 10 s, while "
                    "a subscriber counts every Added and Removed. Lost: table events whose "
                    "signal never arrived (waited for up to 60 s after the flood). The rate "
                    "relayed is the subscriber's: signals counted over the time from the "
                    "start to the last arrival. VmRSS sampled every 100 ms.\n");
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++)
                wire_backend_init(&w[i], "flood");
        r = target_start(b, TARGET_PROCESS, &o, &t);
        for (unsigned i = 0; r >= 0 && i < FLOOD_BACKENDS; i++)
                r = target_connect(t, &w[i], "flood");
        if (r < 0)
                goto out;
        c.address = target_bus_address(t);
        if (pthread_create(&tc, NULL, counter_main, &c) != 0)
                g_error("pthread_create failed");
        while (__atomic_load_n(&c.state, __ATOMIC_ACQUIRE) == 0)
                g_usleep(1000);
        if (c.state < 0) {
                r = c.state;
                __atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
                pthread_join(tc, NULL);
                goto out;
        }

        progress("flood: %u back-ends for %u s", FLOOD_BACKENDS, FLOOD_MS / 1000);
        rss_start = rss_peak = proc_rss_kib(target_pid(t));
        start = bench_now_ns();
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++) {
                wr[i] = (Writer){.w = &w[i], .who = FLOOD_WHO + (i << 8), .stop = &stop};
                if (pthread_create(&tw[i], NULL, writer_main, &wr[i]) != 0)
                        g_error("pthread_create failed");
        }
        while (bench_now_ns() - start < (uint64_t) FLOOD_MS * 1000000u) {
                g_usleep(100 * 1000);
                rss_peak = MAX(rss_peak, proc_rss_kib(target_pid(t)));
        }
        __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++) {
                pthread_join(tw[i], NULL);
                sent += wr[i].pairs;
                if (wr[i].error < 0)
                        r = wr[i].error;
        }
        stopped = bench_now_ns();
        progress("flood: %" G_GUINT64_FORMAT " pairs sent; waiting for the signals", sent);
        /* The last pairs were sent; their signals follow the bus's queue. */
        while (bench_now_ns() - stopped < (uint64_t) DRAIN_TIMEOUT_MS * 1000000u &&
               (__atomic_load_n(&c.added, __ATOMIC_RELAXED) < sent ||
                __atomic_load_n(&c.removed, __ATOMIC_RELAXED) < sent)) {
                g_usleep(20 * 1000);
                rss_peak = MAX(rss_peak, proc_rss_kib(target_pid(t)));
        }
        rss_end = proc_rss_kib(target_pid(t));
        __atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
        pthread_join(tc, NULL);
        got_added = c.added;
        got_removed = c.removed;

        report_text("\n| back-ends | s | pairs sent (ADD+REMOVE) | table events | Added + Removed "
                    "arrived | lost | events/s relayed | last signal after the flood, ms | "
                    "BusQueueHighWater | InputPauses | InputPausedUSec | VmRSS KiB: start → "
                    "peak → end |\n"
                    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        report_text("| %u | %u | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT
                    " | %" G_GINT64_FORMAT " | %.0f | %.0f | %" G_GUINT64_FORMAT
                    " | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | %ld → %ld → %ld |\n\n",
                    FLOOD_BACKENDS, FLOOD_MS / 1000, sent, 2 * sent, got_added + got_removed,
                    (int64_t) (2 * sent) - (int64_t) (got_added + got_removed),
                    (double) (got_added + got_removed) * 1e9 / (double) (c.last_ns - start),
                    c.last_ns > stopped ? (double) (c.last_ns - stopped) / 1e6 : 0.0,
                    target_manager_u64(t, "BusQueueHighWater", 'u'),
                    target_manager_u64(t, "InputPauses", 't'),
                    target_manager_u64(t, "InputPausedUSec", 't'), rss_start, rss_peak, rss_end);
out:
        if (r < 0)
                progress("flood: %s", g_strerror(-r));
        target_stop(t);
        for (unsigned i = 0; i < FLOOD_BACKENDS; i++)
                wire_backend_close(&w[i]);
        return r < 0 ? r : 0;
}
