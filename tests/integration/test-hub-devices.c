/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub (vhost-shared --no-bus) between vhost-share-device processes:
 * export and import, removal rights, duplicates, unknown UUIDs, the
 * quota, batched commands, the connect role and its reconnect, and a real
 * back-end (qemu-storage-daemon). */

#include <signal.h>
#include <string.h>

#include <glib.h>

#include "hub-fixture.h"

/* ---- devices against the hub ---- */

static void test_export_import(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *a = start_device(f, "exporter", NULL);
        HarnessProc *b = start_device(f, "importer", NULL);

        dev_ino = export_ok(f, a, UUID_A);
        import_ok(f, b, UUID_A, dev_ino);
        harness_expect_line(a, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        /* A second import is a second GET_SHARED_OBJECT, the same buffer. */
        import_ok(f, b, UUID_A, dev_ino);
}

static void test_remove_owner_only(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *owner = start_device(f, "owner", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        dev_ino = export_ok(f, owner, UUID_A);
        command(f, other, "remove", UUID_A, "REMOVE-REFUSED");
        /* The refused remove left the entry alone. */
        import_ok(f, other, UUID_A, dev_ino);

        command(f, owner, "remove", UUID_A, "REMOVED");
        import_fails(f, other, UUID_A);
}

static void test_duplicate_add(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_ino = NULL;

        start_hub(f, NULL);
        HarnessProc *first = start_device(f, "first", NULL);
        HarnessProc *second = start_device(f, "second", NULL);
        HarnessProc *importer = start_device(f, "importer", NULL);

        dev_ino = export_ok(f, first, UUID_A);
        command(f, second, "export", UUID_A, "EXPORT-REFUSED");
        /* Still the first exporter's buffer, fetched from the first. */
        import_ok(f, importer, UUID_A, dev_ino);
        harness_expect_line(first, "SERVED " UUID_A, TEST_TIMEOUT_MS);
        g_assert_null(harness_find_line(second, HARNESS_STDOUT, "ASKED"));
}

static void test_unknown_lookup(Fixture *f, gconstpointer data)
{
        start_hub(f, NULL);
        HarnessProc *d = start_device(f, "importer", NULL);

        import_fails(f, d, UUID_UNKNOWN);
        /* The peer stays connected and usable. */
        HarnessProc *other = start_device(f, "other", NULL);
        pass_ok(f, d, other, UUID_A);
}

/* A --commands device listening (listen_arg) for the hub to connect,
 * past LISTENING and READY (the hub handed it its back-end channel). */
static HarnessProc *start_listening_device(Fixture *f, const char *name, const char *listen_arg)
{
        HarnessProc *d = harness_spawn_device(f->h, name, listen_arg, "--commands", NULL);

        harness_expect_line(d, "LISTENING", TEST_TIMEOUT_MS);
        harness_expect_line(d, "READY", TEST_TIMEOUT_MS);
        return d;
}

static void test_connect_role(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_path = harness_path(f->h, "device.sock");
        g_autofree char *connect_arg = g_strdup_printf("--connect=%s", dev_path);
        g_autofree char *listen_arg = g_strdup_printf("--listen=%s", dev_path);

        /* Nothing listens at dev_path yet: the hub must come up anyway and retry. */
        start_hub(f, connect_arg, NULL);
        g_assert_false(g_file_test(dev_path, G_FILE_TEST_EXISTS));
        HarnessProc *listening = start_listening_device(f, "listening", listen_arg);
        harness_expect_output(f->hub, HARNESS_STDERR, "ready", TEST_TIMEOUT_MS);

        HarnessProc *importer = start_device(f, "importer", NULL);
        pass_ok(f, listening, importer, UUID_A);
        /* And the other way round. */
        pass_ok(f, importer, listening, UUID_B);
}

static void test_connect_role_reconnect(Fixture *f, gconstpointer data)
{
        g_autofree char *dev_path = harness_path(f->h, "device.sock");
        g_autofree char *connect_arg = g_strdup_printf("--connect=%s", dev_path);
        g_autofree char *listen_arg = g_strdup_printf("--listen=%s", dev_path);

        start_hub(f, connect_arg, NULL);
        HarnessProc *first = start_listening_device(f, "first", listen_arg);
        HarnessProc *importer = start_device(f, "importer", NULL);
        pass_ok(f, first, importer, UUID_A);

        /* The back-end crashes: its entries go, the hub keeps trying. */
        harness_kill(first, SIGKILL);
        harness_expect_output(f->hub, HARNESS_STDERR, "1 shared object(s) purged", TEST_TIMEOUT_MS);
        import_fails(f, importer, UUID_A);

        HarnessProc *second = start_listening_device(f, "second", listen_arg);
        pass_ok(f, second, importer, UUID_B);
        pass_ok(f, importer, second, UUID_C);
}

static void test_quota(Fixture *f, gconstpointer data)
{
        g_autofree char *conf = harness_path(f->h, "vhost-shared.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);

        g_assert_true(g_file_set_contents(conf, "[Service]\nMaxObjectsPerPeer=2\n", -1, NULL));
        start_hub(f, conf_arg, NULL);
        HarnessProc *d = start_device(f, "greedy", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        g_free(export_ok(f, d, UUID_A));
        g_free(export_ok(f, d, UUID_B));
        command(f, d, "export", UUID_C, "EXPORT-REFUSED");
        import_fails(f, other, UUID_C);
        /* The quota is per peer, and a removal frees a place. */
        g_autofree char *other_ino = export_ok(f, other, UUID_C);
        command(f, d, "remove", UUID_A, "REMOVED");
        pass_ok(f, d, other, UUID_D);
        import_ok(f, d, UUID_C, other_ino);
}

/* Several commands in one write all run, and quit waits for them. */
static void test_device_commands_batched(Fixture *f, gconstpointer data)
{
        start_hub(f, NULL);
        HarnessProc *d = start_device(f, "device", NULL);
        HarnessProc *other = start_device(f, "other", NULL);

        g_free(export_ok(f, other, UUID_C));
        harness_send_line(d, "export %s\nexport %s\nimport %s\nquit", UUID_A, UUID_B, UUID_C);
        assert_line_is(f, d, harness_expect_line(d, "EXPORT", TEST_TIMEOUT_MS), "EXPORTED", UUID_A);
        assert_line_is(f, d, harness_expect_line(d, "EXPORT", TEST_TIMEOUT_MS), "EXPORTED", UUID_B);
        const HarnessLine *l = harness_expect_line(d, "IMPORT", TEST_TIMEOUT_MS);
        assert_line_is(f, d, l, "IMPORTED", UUID_C);
        g_assert_nonnull(strstr(l->text, "pattern-ok"));
        harness_expect_line(d, "DONE", TEST_TIMEOUT_MS);
}

/* ---- a real back-end ---- */

static void test_qemu_storage_daemon(Fixture *f, gconstpointer data)
{
        g_autofree char *qsd = g_find_program_in_path("qemu-storage-daemon");
        g_autofree char *sock = harness_path(f->h, "qsd.sock");
        g_autofree char *export_arg = NULL, *connect_arg = NULL;

        if (!qsd)
                harness_fail(f->h, "qemu-storage-daemon is not installed (package qemu-utils from "
                                   "bookworm-backports; run tools/install-deps)");
        export_arg = g_strdup_printf("type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,"
                                     "addr.path=%s",
                                     sock);
        const char *argv[] = {qsd,        "--blockdev", "driver=null-co,node-name=n0",
                              "--export", export_arg,   NULL};
        /* Spawned before the hub, so the teardown stops the hub first. */
        harness_spawn(f->h, "qemu-storage-daemon", argv, NULL, HARNESS_SPAWN_DEFAULT);

        connect_arg = g_strdup_printf("--connect=%s", sock);
        start_hub(f, connect_arg, NULL);
        const HarnessLine *l =
            harness_expect_output(f->hub, HARNESS_STDERR, "ready, features", TEST_TIMEOUT_MS);
        if (!strstr(l->text, "(no SHARED_OBJECT"))
                harness_fail(f->h, "the hub did not record the missing SHARED_OBJECT: %s", l->text);
        g_test_message("%s", l->text);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        HUB_TEST_ADD("/hub/export-import", NULL, test_export_import);
        HUB_TEST_ADD("/hub/remove-owner-only", NULL, test_remove_owner_only);
        HUB_TEST_ADD("/hub/duplicate-add", NULL, test_duplicate_add);
        HUB_TEST_ADD("/hub/unknown-lookup", NULL, test_unknown_lookup);
        HUB_TEST_ADD("/hub/connect-role", NULL, test_connect_role);
        HUB_TEST_ADD("/hub/connect-role-reconnect", NULL, test_connect_role_reconnect);
        HUB_TEST_ADD("/hub/quota", NULL, test_quota);
        HUB_TEST_ADD("/hub/device/commands-batched", NULL, test_device_commands_batched);
        HUB_TEST_ADD("/hub/qemu-storage-daemon", NULL, test_qemu_storage_daemon);
        return g_test_run();
}
