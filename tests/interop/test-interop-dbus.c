/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge against real QEMU 10, seen through D-Bus: the Peer objects of
 * the VMM connections (SharedObjects, ExportedCount, LastError), an Export
 * announced to QEMU, QEMU's refusal of the same UUID on a second bridge,
 * REMOVE, and Lookups that go upstream to QEMU (docs/interop.md). QEMU is
 * stopped before the service: QEMU 10.0.2 aborts when its back-ends go away
 * under a never-started device. */

#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbus-testbed.h"
#include "qemu.h"
#include "buffer-pattern.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define PIFACE "org.vhostshare.share1.Peer"

#define UUID_U "5a1d2c3b-4e5f-4061-8273-94a5b6c7d8e9"
#define UUID_W "6b2e3d4c-5f60-4172-9384-a5b6c7d8e9fa"
#define UUID_NONE "7c3f4e5d-6071-4283-a495-b6c7d8e9fa0b"

typedef struct {
        Testbed tb;
        sd_bus *bus;
        SignalLog log;
        HarnessProc *qemu;
} Fixture;

/* Waits for a line of p containing s (on either stream), dispatching the
 * bus meanwhile. */
static void wait_output(Fixture *f, HarnessProc *p, const char *s)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_USEC;

        while (!harness_find_line(p, HARNESS_STDOUT, s) &&
               !harness_find_line(p, HARNESS_STDERR, s)) {
                if (g_get_monotonic_time() > deadline)
                        harness_fail(f->tb.h, "no '%s' from %s in time", s, harness_proc_name(p));
                if (f->bus)
                        while (sd_bus_process(f->bus, NULL) > 0)
                                ;
                harness_pump(f->tb.h, 20);
        }
}

static void setup(Fixture *f, gconstpointer data)
{
        memset(f, 0, sizeof(*f));
        qemu_require();
        testbed_init(&f->tb, TESTBED_POLICY_OPEN);
}

static void teardown(Fixture *f, gconstpointer data)
{
        /* QEMU first, before the service its devices are connected to. */
        if (f->qemu)
                harness_stop(f->qemu, TEST_TIMEOUT_MS);
        signal_log_clear(&f->log);
        f->bus = sd_bus_flush_close_unref(f->bus);
        testbed_clear(&f->tb);
}

/* ---- the peers over D-Bus ---- */

typedef struct {
        Fixture *f;
        GPtrArray *paths; /* front-end peers, in order */
} Peers;

static void list_frontends(Fixture *f, GPtrArray *out)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *name, *path;

        g_ptr_array_set_size(out, 0);
        if (sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "ListPeers", &e, &reply, "") < 0)
                g_error("ListPeers: %s", e.message);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "(so)"), >, 0);
        while (sd_bus_message_read(reply, "(so)", &name, &path) > 0)
                if (g_str_has_prefix(name, "front-end"))
                        g_ptr_array_add(out, g_strdup(path));
        sd_bus_message_unref(reply);
}

static bool get_bool(Fixture *f, const char *path, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int v = 0;

        if (sd_bus_get_property_trivial(f->bus, DEST, path, PIFACE, prop, &e, 'b', &v) < 0)
                g_error("Get %s on %s: %s", prop, path, e.message);
        return v;
}

static uint32_t get_u32(Fixture *f, const char *path, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t v = 0;

        if (sd_bus_get_property_trivial(f->bus, DEST, path, PIFACE, prop, &e, 'u', &v) < 0)
                g_error("Get %s on %s: %s", prop, path, e.message);
        return v;
}

static char *get_string(Fixture *f, const char *path, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *s = NULL, *r;

        if (sd_bus_get_property_string(f->bus, DEST, path, PIFACE, prop, &e, &s) < 0)
                g_error("Get %s on %s: %s", prop, path, e.message);
        r = g_strdup(s);
        free(s);
        return r;
}

static bool two_frontends_ready(void *data)
{
        Peers *p = data;

        list_frontends(p->f, p->paths);
        if (p->paths->len != 2)
                return false;
        for (guint i = 0; i < 2; i++)
                if (!get_bool(p->f, g_ptr_array_index(p->paths, i), "SharedObjects"))
                        return false;
        return true;
}

typedef struct {
        Fixture *f;
        GPtrArray *paths;
        const char *error_part; /* a LastError of one of them contains this */
        uint32_t exported_sum;
} CountWait;

static bool counts_reached(void *data)
{
        CountWait *w = data;
        uint32_t sum = 0;
        bool error_seen = false;

        for (guint i = 0; i < w->paths->len; i++) {
                const char *path = g_ptr_array_index(w->paths, i);
                g_autofree char *err = get_string(w->f, path, "LastError");
                sum += get_u32(w->f, path, "ExportedCount");
                error_seen |= strstr(err, w->error_part) != NULL;
        }
        return sum == w->exported_sum && error_seen;
}

static void wait_counts(Fixture *f, GPtrArray *paths, uint32_t sum, const char *error_part)
{
        CountWait w = {f, paths, error_part, sum};

        if (!testbed_pump_until(f->bus, counts_reached, &w)) {
                for (guint i = 0; i < paths->len; i++) {
                        const char *path = g_ptr_array_index(paths, i);
                        g_autofree char *err = get_string(f, path, "LastError");
                        g_printerr("%s: ExportedCount %u, LastError '%s'\n", path,
                                   get_u32(f, path, "ExportedCount"), err);
                }
                harness_fail(f->tb.h,
                             "peers did not reach ExportedCount sum %u with a LastError "
                             "containing '%s'",
                             sum, error_part);
        }
}

static char *lookup_error(Fixture *f, const char *uuid)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *name;
        int r;

        r = sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "Lookup", &e, &reply, "s", uuid);
        if (r >= 0) {
                sd_bus_message_unref(reply);
                return NULL;
        }
        name = g_strdup_printf("%s: %s", e.name, e.message);
        sd_bus_error_free(&e);
        return name;
}

/* One service, two --serve sockets, two vhost-user-rng-pci devices of one
 * QEMU, and in front of them a vhost-share-device attached to QEMU
 * directly (the first device, so QEMU's dangling key survives until the
 * lookup: docs/interop.md, defect 3). */
static void test_bridges_over_dbus(Fixture *f, gconstpointer data)
{
        g_autofree char *b1 = g_build_filename(f->tb.dir, "b1.sock", NULL);
        g_autofree char *b2 = g_build_filename(f->tb.dir, "b2.sock", NULL);
        g_autofree char *d0 = g_build_filename(f->tb.dir, "d0.sock", NULL);
        g_autofree char *serve1 = g_strdup_printf("--serve=%s", b1);
        g_autofree char *serve2 = g_strdup_printf("--serve=%s", b2);
        g_autofree char *listen = g_strdup_printf("--listen=%s", d0);
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        const char *args[] = {serve1, serve2, "-v", "--lookup-timeout-ms=5000", NULL};
        g_autofree char *err = NULL;
        HarnessProc *dev, *svc;
        int fd = -1;

        dev = harness_spawn_device(f->tb.h, "exporter", listen, "--no-reply-ack",
                                   "--answer-without-uuid", "--export=1", "--uuid=" UUID_W, NULL);
        testbed_start_service(&f->tb, args);
        svc = f->tb.service;
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus); /* wakes the pumps on every change */
        wait_output(f, dev, "LISTENING");

        f->qemu = qemu_spawn(f->tb.h, (const char *[]){d0, b1, b2, NULL});

        /* The handshake: both Peer objects say SharedObjects. */
        Peers p = {f, paths};
        if (!testbed_pump_until(f->bus, two_frontends_ready, &p))
                harness_fail(f->tb.h, "QEMU's devices did not become ready with SharedObjects");
        wait_output(f, dev, "EXPORTED " UUID_W);

        /* A Lookup of what only QEMU knows goes upstream: QEMU asks the
         * exporter without the UUID, the exporter answers with its buffer
         * anyway, QEMU acks the LOOKUP with 0 and no fd (defects 1 and 2). */
        err = lookup_error(f, UUID_W);
        g_assert_nonnull(err);
        g_test_message("Lookup of a UUID QEMU holds: %s", err);
        wait_output(f, dev, "SERVED " UUID_W);
        wait_output(f, svc, "LOOKUP " UUID_W " acked with 0 but no fd");
        g_assert_true(g_str_has_prefix(err, "org.vhostshare.share1.Error.Failed: "));
        /* Both bridges lead to the same QEMU (same pid): asked once. */
        g_assert_cmpuint(harness_count_lines(svc, HARNESS_STDOUT, "LOOKUP " UUID_W " acked") +
                             harness_count_lines(svc, HARNESS_STDERR, "LOOKUP " UUID_W " acked"),
                         ==, 1);
        g_clear_pointer(&err, g_free);

        /* Export over D-Bus: announced on both bridges; QEMU acks one and
         * refuses the other (its table is one for all devices). */
        g_assert_cmpint(memfd_new_sealed_pattern("interop", 4096, 0x5a, &fd), ==, 0);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        if (sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "Export", &e, &reply, "hs", fd,
                               UUID_U) < 0)
                g_error("Export: %s", e.message);
        sd_bus_message_unref(reply);
        close(fd);
        wait_counts(f, paths, 1, "front-end refused ADD " UUID_U);

        /* Remove: the owner bridge's REMOVE is acked, the other's refused. */
        if (sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "Remove", &e, &reply, "s", UUID_U) < 0)
                g_error("Remove: %s", e.message);
        sd_bus_message_unref(reply);
        wait_counts(f, paths, 0, "front-end refused REMOVE " UUID_U);

        /* A UUID nobody has: QEMU answers the upstream LOOKUP with -22. */
        err = lookup_error(f, UUID_NONE);
        g_assert_nonnull(err);
        g_test_message("Lookup of an unknown UUID: %s", err);
        g_assert_true(g_str_has_prefix(err, "org.vhostshare.share1.Error.NotFound: "));
        wait_output(f, svc, "LOOKUP " UUID_NONE " refused by the front-end (-22)");

        harness_stop(f->qemu, TEST_TIMEOUT_MS); /* before the service stops */
        f->qemu = NULL;
        testbed_stop_service(&f->tb);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        signal(SIGPIPE, SIG_IGN);
        g_test_add("/interop/dbus/bridges", Fixture, NULL, setup, test_bridges_over_dbus, teardown);
        return g_test_run();
}
