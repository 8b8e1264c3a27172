/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus face of the daemon as the table grows: how long a back-end's
 * ADD takes to reach a subscriber as the Added signal (through the private
 * dbus-daemon), and how long GetManagedObjects and ListObjects take. */

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bus-manager.h"
#include "share-table.h"

#define ADDED_WHO 0xadd00000u /* the low byte of "who" is not kept (bench_uuid) */
#define ADDED_MAX (1u << 20)
#define CALL_TIMEOUT_USEC (300ull * 1000 * 1000)

typedef struct {
        const char *address;
        uint64_t *t_signal; /* by seq; 0 until its Added arrived */
        unsigned seen;      /* under lock, like t_signal */
        bool stop;          /* atomic */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int state; /* 0 starting, 1 subscribed, < 0 failed */
} Subscriber;

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Subscriber *s = userdata;
        uint64_t now = bench_now_ns();
        const char *uuid_s, *path, *type;
        uint8_t uuid[SHARE_UUID_SIZE];
        uint32_t who, seq;

        if (sd_bus_message_read(m, "sos", &uuid_s, &path, &type) < 0 ||
            share_uuid_from_string(uuid_s, uuid) < 0)
                return 0;
        memcpy(&who, uuid + 8, 4);
        memcpy(&seq, uuid + 12, 4);
        if ((who >> 8) != (ADDED_WHO >> 8) || seq >= ADDED_MAX || s->t_signal[seq])
                return 0;
        pthread_mutex_lock(&s->lock);
        s->t_signal[seq] = now;
        s->seen++;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static void subscriber_set_state(Subscriber *s, int state)
{
        pthread_mutex_lock(&s->lock);
        s->state = state;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void *subscriber_main(void *arg)
{
        Subscriber *s = arg;
        sd_bus *bus = NULL;
        int r;

        r = bench_bus_connect(s->address, &bus);
        /* Synchronous AddMatch: once it returns, every later Added is ours. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                        "Added", on_added, s);
        subscriber_set_state(s, r < 0 ? r : 1);
        while (r >= 0 && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, 50 * 1000);
        }
        sd_bus_flush_close_unref(bus);
        return NULL;
}

/* Waits until the subscriber saw the Added of seq (bounded). */
static bool subscriber_wait(Subscriber *s, unsigned seq)
{
        struct timespec deadline;
        int r = 0;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += BENCH_TIMEOUT_MS / 1000;
        pthread_mutex_lock(&s->lock);
        while (!s->t_signal[seq] && r == 0)
                r = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
        pthread_mutex_unlock(&s->lock);
        return r == 0;
}

/* ADD, wait for its Added, REMOVE (so the table keeps its size), for
 * duration_ms: one object in flight end to end, as a latency measurement
 * must (the ack does not wait for the bus, so an open loop would measure
 * the dbus-daemon's queue instead). The latency is from before the ADD
 * left the back-end to the subscriber's receipt of its Added. */
static void added_measure(const Bench *b, Target *t, WireBackend *w, Summary *out)
{
        Subscriber s = {.address = target_bus_address(t)};
        g_autofree uint64_t *t_add = g_new0(uint64_t, ADDED_MAX);
        uint64_t start, end;
        pthread_t tid;
        Samples samples;
        unsigned n = 0;

        s.t_signal = g_new0(uint64_t, ADDED_MAX);
        pthread_mutex_init(&s.lock, NULL);
        pthread_cond_init(&s.cond, NULL);
        samples_init(&samples);
        if (pthread_create(&tid, NULL, subscriber_main, &s) != 0)
                g_error("pthread_create failed");
        pthread_mutex_lock(&s.lock);
        while (s.state == 0)
                pthread_cond_wait(&s.cond, &s.lock);
        pthread_mutex_unlock(&s.lock);

        start = bench_now_ns();
        end = start + (uint64_t) b->duration_ms * 1000000u;
        while (s.state > 0 && n < ADDED_MAX && bench_now_ns() < end) {
                uint8_t uuid[VU_UUID_SIZE];
                uint64_t ack = 1;

                bench_uuid(uuid, ADDED_WHO, n);
                t_add[n] = bench_now_ns();
                if (wire_call(w, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL) < 0 ||
                    ack != 0 || !subscriber_wait(&s, n) ||
                    wire_call(w, VU_BREQ_SHARED_OBJECT_REMOVE, uuid, true, &ack, NULL) < 0 ||
                    ack != 0) {
                        progress("dbus: ADD/REMOVE failed or its Added did not come");
                        n++; /* counted: a missing signal is a failure */
                        break;
                }
                n++;
        }
        end = bench_now_ns();
        __atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
        pthread_join(tid, NULL);

        for (unsigned k = 0; k < n; k++) {
                if (!s.t_signal[k])
                        samples.failures++;
                else if (k >= BENCH_WARMUP_OPS)
                        samples_add(&samples, s.t_signal[k] - t_add[k]);
        }
        samples_summarize(&samples, end - start, out);
        samples_clear(&samples);
        g_free(s.t_signal);
        pthread_cond_destroy(&s.cond);
        pthread_mutex_destroy(&s.lock);
}

/* Entries in a reply whose body is one array of contents. */
static long count_entries(sd_bus_message *reply, const char *contents)
{
        long n = 0;

        if (sd_bus_message_enter_container(reply, 'a', contents) < 0)
                return -1;
        while (sd_bus_message_skip(reply, contents) > 0)
                n++;
        return n;
}

/* Calls a method with no arguments repeatedly; appends a row to text. */
static void call_measure(Target *t, const char *interface, const char *method, const char *contents,
                         unsigned objects, GString *text)
{
        unsigned repeats = objects >= 100000 ? 3 : 5;
        sd_bus *bus = target_bus(t);
        uint64_t cpu_service = proc_cpu_ns(target_pid(t));
        uint64_t cpu_bus = proc_cpu_ns(target_bus_pid(t));
        Samples s;
        Summary sum;
        long entries = -1;

        samples_init(&s);
        for (unsigned i = 0; i < repeats; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *call = NULL, *reply = NULL;
                uint64_t t0;
                int r;

                r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_MANAGER_PATH,
                                                   interface, method);
                t0 = bench_now_ns();
                if (r >= 0)
                        r = sd_bus_call(bus, call, CALL_TIMEOUT_USEC, &error, &reply);
                if (r >= 0)
                        samples_add(&s, bench_now_ns() - t0);
                else
                        s.failures++;
                if (r >= 0 && i == 0)
                        entries = count_entries(reply, contents);
                sd_bus_error_free(&error);
                sd_bus_message_unref(call);
                sd_bus_message_unref(reply);
        }
        cpu_service = proc_cpu_ns(target_pid(t)) - cpu_service;
        cpu_bus = proc_cpu_ns(target_bus_pid(t)) - cpu_bus;
        samples_summarize(&s, 0, &sum);
        g_string_append_printf(
            text, "| %s | %u | %.1f | %.1f | %.2f | %.1f | %.1f | %ld | %llu |\n", method, objects,
            sum.p50_us / 1000.0, sum.max_us / 1000.0, objects ? sum.p50_us / objects : 0,
            (double) cpu_service / 1e6 / repeats, (double) cpu_bus / 1e6 / repeats, entries,
            (unsigned long long) sum.failures);
        samples_clear(&s);
}

typedef struct {
        const char *address;
        bool done; /* atomic */
        int r;
        uint64_t ns; /* the call's duration */
} WholeTableCall;

static void *whole_table_call_main(void *arg)
{
        WholeTableCall *c = arg;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        uint64_t t0 = bench_now_ns();

        c->r = bench_bus_connect(c->address, &bus);
        t0 = bench_now_ns();
        if (c->r >= 0)
                c->r = sd_bus_call_method(bus, BUS_NAME, BUS_MANAGER_PATH,
                                          "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                          &error, &reply, NULL);
        c->ns = bench_now_ns() - t0;
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        __atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
        return NULL;
}

/* ADD + REMOVE round trips (each acked) of one back-end until *done or
 * for ms; ADD latencies into s. */
static void acks_until(WireBackend *w, const bool *done, unsigned ms, uint32_t *seq, Samples *s)
{
        uint64_t end = bench_now_ns() + (uint64_t) ms * 1000000u;

        while (done ? !__atomic_load_n(done, __ATOMIC_ACQUIRE) : bench_now_ns() < end) {
                uint8_t uuid[VU_UUID_SIZE];
                uint64_t ack = 1, t0 = bench_now_ns(), t1;

                bench_uuid(uuid, ADDED_WHO + 0x100, (*seq)++);
                if (wire_call(w, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL) < 0 ||
                    ack != 0) {
                        s->failures++;
                        return;
                }
                t1 = bench_now_ns();
                samples_add(s, t1 - t0);
                if (wire_call(w, VU_BREQ_SHARED_OBJECT_REMOVE, uuid, true, &ack, NULL) < 0 ||
                    ack != 0) {
                        s->failures++;
                        return;
                }
        }
}

/* A back-end's ADD acks while a GetManagedObjects of the whole table is
 * being answered, next to the same without one: what a large reply costs
 * the back-ends. */
static void acks_during_whole_table(Target *t, WireBackend *w, unsigned objects, GString *text)
{
        WholeTableCall c = {.address = target_bus_address(t)};
        Samples calm, busy;
        Summary sc, sb;
        uint64_t pauses, paused;
        uint32_t seq = 0;
        pthread_t tid;

        samples_init(&calm);
        samples_init(&busy);
        acks_until(w, NULL, 300, &seq, &calm);
        target_sync(t);
        pauses = target_manager_u64(t, "InputPauses", 't');
        paused = target_manager_u64(t, "InputPausedUSec", 't');
        if (pthread_create(&tid, NULL, whole_table_call_main, &c) != 0)
                g_error("pthread_create failed");
        acks_until(w, &c.done, 0, &seq, &busy);
        pthread_join(tid, NULL);
        pauses = target_manager_u64(t, "InputPauses", 't') - pauses;
        paused = target_manager_u64(t, "InputPausedUSec", 't') - paused;
        samples_summarize(&calm, 0, &sc);
        samples_summarize(&busy, 0, &sb);
        g_string_append_printf(text,
                               "| %u | %.1f | %.1f / %.1f / %.1f | %" G_GUINT64_FORMAT
                               " | %.1f / %.1f / %.1f | %" G_GUINT64_FORMAT " / %.1f | %llu |\n",
                               objects, (double) c.ns / 1e6, sc.p50_us, sc.p99_us, sc.max_us, sb.n,
                               sb.p50_us, sb.p99_us, sb.max_us, pauses, (double) paused / 1000,
                               (unsigned long long) (sb.failures + (c.r < 0)));
        samples_clear(&calm);
        samples_clear(&busy);
}

int bench_dbus(Bench *b)
{
        TargetOptions o = {.bus = true};
        g_autoptr(GString) calls = g_string_new(NULL);
        g_autoptr(GString) acks = g_string_new(NULL);
        WireBackend w;
        Target *t = NULL;
        int r;

        report_section("D-Bus",
                       "The daemon on a private dbus-daemon. A back-end ADDs (with REPLY_ACK) "
                       "and REMOVEs fresh UUIDs one at a time; a subscriber connection matching "
                       "Added timestamps each signal: latency from before the ADD left the "
                       "back-end to the signal's arrival. Failures: signals that never came.");
        wire_backend_init(&w, "adder");
        r = target_start(b, TARGET_PROCESS, &o, &t);
        if (r >= 0)
                r = target_connect(t, &w, "adder");
        for (unsigned i = 0; r >= 0 && i < b->n_object_counts; i++) {
                unsigned n = b->object_counts[i];
                Summary s;

                progress("dbus: %u objects", n);
                r = target_prefill(t, n);
                if (r < 0)
                        break;
                added_measure(b, t, &w, &s);
                report_row("ADD → Added at a subscriber", 1, n, &s, NULL, NULL);
                call_measure(t, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                             "{oa{sa{sv}}}", target_objects(t), calls);
                call_measure(t, BUS_MANAGER_INTERFACE, "ListObjects", "(sso)", target_objects(t),
                             calls);
                acks_during_whole_table(t, &w, target_objects(t), acks);
        }
        report_text("\nWhole-table method calls from a client of the same bus: time to the "
                    "complete reply (entries counted afterwards), and the CPU time the daemon "
                    "and the dbus-daemon spent per call (schedstat).\n\n");
        report_text("| method | objects | p50 ms | max ms | µs per object | service CPU ms per "
                    "call | dbus-daemon CPU ms per call | entries returned | failures |\n"
                    "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n%s",
                    calls->str);
        report_text("\nA back-end's ADD (with REPLY_ACK, then a REMOVE) one at a time: for "
                    "300 ms alone, then while another client's GetManagedObjects of the whole "
                    "table is answered (the daemon builds it in chunks between other work).\n\n"
                    "| objects | GetManagedObjects ms | ADD ack alone p50 / p99 / max µs | ADDs "
                    "during the call | ADD ack during the call p50 / p99 / max µs | input "
                    "pauses / ms paused (the bus behind) | failures |\n"
                    "|---:|---:|---:|---:|---:|---:|---:|\n%s",
                    acks->str);
        if (r < 0)
                progress("dbus: %s", g_strerror(-r));
        target_stop(t);
        wire_backend_close(&w);
        return r < 0 ? r : 0;
}
