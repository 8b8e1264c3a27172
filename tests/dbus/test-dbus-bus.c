/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service as a bus citizen: its introspection against the XML files
 * in dbus/, what busctl sees, a second service finding the name taken, and
 * the bus going away (a failure, so that systemd restarts it). */

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-fixture.h"
#include "introspect-check.h"

/* ---- introspection ---- */

static void test_introspection_matches_xml(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "absent.sock", NULL);
        g_autofree char *lsock = g_build_filename(f->tb.dir, "listen.sock", NULL);
        g_autofree char *peer = NULL, *path = NULL, *listener = NULL, *err = NULL;
        int fd = new_memfd(4096, 3);

        /* One object, one (connecting) peer and one listener to introspect. */
        err = call_export(f->bus, fd, "", NULL, &path);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        err = call_add_peer(f->bus, "accept", lsock, &listener);
        g_assert_null(err);
        introspect_check_xml(f->bus, DEST, MPATH, MIFACE);
        introspect_check_xml(f->bus, DEST, path, OIFACE);
        introspect_check_xml(f->bus, DEST, peer, PIFACE);
        introspect_check_xml(f->bus, DEST, listener, LIFACE);
        close(fd);
}

/* ---- busctl ---- */

static char *run_busctl(Fixture *f, const char *const *args)
{
        g_autofree char *addr = g_strdup_printf("--address=%s", f->tb.address);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autofree char *out = NULL, *errout = NULL;
        g_autoptr(GError) error = NULL;
        int status = 0;

        g_ptr_array_add(argv, "busctl");
        g_ptr_array_add(argv, addr);
        g_ptr_array_add(argv, "--no-pager");
        for (const char *const *a = args; *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);
        if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                          &errout, &status, &error))
                g_error("cannot run busctl (package systemd): %s", error->message);
        if (!g_spawn_check_wait_status(status, &error))
                g_error("busctl %s failed: %s\n%s", args[0], error->message, errout);
        return g_steal_pointer(&out);
}

static void test_busctl(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "absent.sock", NULL);
        g_autofree char *peer = NULL, *path = NULL, *uuid = NULL, *err = NULL, *out = NULL;
        g_autofree char *addr = g_strdup_printf("--address=%s", f->tb.address);
        const char *tree[] = {"tree", "--list", DEST, NULL};
        const char *intro[] = {"introspect", DEST, MPATH, NULL};
        const char *argv[] = {"/usr/bin/busctl", addr, "monitor", DEST, NULL};
        int fd = new_memfd(4096, 4), fd2 = new_memfd(4096, 5);
        const HarnessLine *line;
        HarnessProc *mon;

        err = call_export(f->bus, fd, "", &uuid, &path);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);

        out = run_busctl(f, tree);
        g_assert_nonnull(strstr(out, path));
        g_assert_nonnull(strstr(out, peer));
        g_clear_pointer(&out, g_free);
        out = run_busctl(f, intro);
        for (const char *m = ".Export"; m; m = NULL)
                g_assert_nonnull(strstr(out, m));
        g_assert_nonnull(strstr(out, ".Added"));
        g_assert_nonnull(strstr(out, "org.freedesktop.DBus.ObjectManager"));
        g_clear_pointer(&out, g_free);

        /* busctl monitor sees the Added signal of an Export. */
        /* It says it is ready on stderr. */
        mon = harness_spawn(f->tb.h, "busctl monitor", argv, NULL, HARNESS_SPAWN_DEFAULT);
        line = harness_expect_output(mon, HARNESS_STDERR, "Monitoring bus message stream",
                                     TEST_TIMEOUT_MS);
        g_assert_true(g_str_has_prefix(line->text, "Monitoring bus message stream"));
        g_clear_pointer(&err, g_free);
        err = call_export(f->bus, fd2, "", NULL, NULL);
        g_assert_null(err);
        harness_expect_output(mon, HARNESS_STDOUT, "Member=Added", TEST_TIMEOUT_MS);
        harness_stop(mon, TEST_TIMEOUT_MS);
        close(fd);
        close(fd2);
}

/* ---- the bus name ---- */

static void test_name_taken(Fixture *f, gconstpointer data)
{
        g_autofree char *daemon = harness_build_file("service/vhost-shared");
        g_autofree char *addr = g_strdup_printf("--bus-address=%s", f->tb.address);
        g_autofree char *config = g_strdup_printf("--config=%s", f->tb.config);
        const char *argv[] = {daemon, addr, config, NULL};
        const HarnessLine *line;
        HarnessProc *second;
        int status;

        /* A second service on the same bus gives up, and says why. */
        second = harness_spawn(f->tb.h, "second vhost-shared", argv, NULL, HARNESS_SPAWN_DEFAULT);
        line = harness_expect_output(second, HARNESS_STDERR, "Cannot own org.vhostshare.share1",
                                     TEST_TIMEOUT_MS);
        /* Plain text: stderr is a pipe, not the journal. */
        g_assert_true(g_str_has_prefix(line->text, "Cannot own org.vhostshare.share1"));
        status = harness_wait_exit(second, TEST_TIMEOUT_MS);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 1);
        /* The first one still serves. */
        testbed_sync(f->bus);
}

/* ---- the bus going away ---- */

static void test_bus_loss_is_a_failure(Fixture *f, gconstpointer data)
{
        f->bus = sd_bus_flush_close_unref(f->bus);
        signal_log_clear(&f->log);
        testbed_stop_bus(&f->tb);
        /* Non-zero, so that Restart=on-failure brings the service back. */
        g_assert_cmpint(testbed_wait_service(&f->tb), ==, 1);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/introspection/matches-xml", setup_shipped, NULL,
                      test_introspection_matches_xml);
        DBUS_TEST_ADD("/dbus/busctl", setup_shipped, NULL, test_busctl);
        DBUS_TEST_ADD("/dbus/name-taken", setup_shipped, NULL, test_name_taken);
        DBUS_TEST_ADD("/dbus/bus-loss", setup_shipped, NULL, test_bus_loss_is_a_failure);
        return g_test_run();
}
