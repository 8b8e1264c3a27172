/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DRM devices over D-Bus, against umockdev-emulated devices: the Devices
 * property and Device objects, vhost-sharectl devices and monitor, and
 * hotplug on the bus. The service runs in-process (drm-bus-fixture.h). */

#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "drm-bus-fixture.h"
#include "introspect-check.h"

static void test_devices_listed(Fixture *f, gconstpointer data)
{
        g_autofree char *devices = devices_joined(f->client);
        g_autofree char *managed = managed_devices(f->client);

        /* Cards first; the connector is not a device. */
        g_assert_cmpstr(devices, ==, "/dev/dri/card0,/dev/dri/renderD128");
        g_assert_cmpstr(managed, ==, "card0,renderD128");
        assert_device(f->client, DPATH "card0", "/dev/dri/card0", f->drm.card0, "card", true);
        assert_device(f->client, DPATH "renderD128", "/dev/dri/renderD128", f->drm.render, "render",
                      false);
        introspect_check_xml(f->client, DEST, DPATH "card0", DIFACE);
        introspect_check_xml(f->client, DEST, MPATH, MIFACE);
}

/* vhost-sharectl devices, a client process on the same bus: the driver
 * and PCI slot come from the Device objects. */
static char *run_ctl(Fixture *f, const char *const *args)
{
        g_autofree char *ctl = harness_build_file("client/vhost-sharectl");
        g_autofree char *addr = g_strdup_printf("--address=%s", f->bus.address);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autofree char *errout = NULL;
        g_autoptr(GError) error = NULL;
        char *out = NULL;
        int status = 0;

        g_ptr_array_add(argv, ctl);
        g_ptr_array_add(argv, addr);
        for (const char *const *a = args; *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);
        /* The service answers from its own thread while this one waits. */
        if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                          &errout, &status, &error))
                g_error("cannot run %s: %s", ctl, error->message);
        if (!g_spawn_check_wait_status(status, &error))
                g_error("vhost-sharectl %s failed: %s\n%s", args[0], error->message, errout);
        return out;
}

static void test_ctl_devices(Fixture *f, gconstpointer data)
{
        const char *table[] = {"devices", "--no-legend", NULL};
        const char *json[] = {"devices", "--json", NULL};
        g_autofree char *out = run_ctl(f, table);
        g_autofree char *out_json = NULL;
        g_auto(GStrv) lines = g_strsplit(out, "\n", 0);
        g_autoptr(GRegex) spaces = g_regex_new(" +", 0, 0, NULL);
        g_autofree char *card = NULL, *render = NULL;

        g_test_message("vhost-sharectl devices:\n%s", out);
        g_assert_cmpuint(g_strv_length(lines), ==, 3); /* two rows and the final "" */
        card = g_regex_replace_literal(spaces, lines[0], -1, 0, " ", 0, NULL);
        render = g_regex_replace_literal(spaces, lines[1], -1, 0, " ", 0, NULL);
        g_assert_cmpstr(g_strchomp(card), ==, "/dev/dri/card0 card " FAKE_DRIVER " " PCI_SLOT);
        g_assert_cmpstr(g_strchomp(render), ==,
                        "/dev/dri/renderD128 render " FAKE_DRIVER " " PCI_SLOT);

        out_json = run_ctl(f, json);
        /* --json is json-glib's short form: no spaces between tokens. */
        g_assert_nonnull(strstr(out_json, "{\"device\":\"/dev/dri/card0\",\"kind\":\"card\","
                                          "\"driver\":\"" FAKE_DRIVER "\","
                                          "\"pci_slot\":\"" PCI_SLOT "\"}"));
        g_assert_nonnull(
            strstr(out_json, "\"device\":\"/dev/dri/renderD128\",\"kind\":\"render\""));
}

/* vhost-sharectl monitor, a client process, reports DRM hotplug: one
 * DeviceAdded and one DeviceRemoved line naming the device. */
static void test_ctl_monitor_hotplug(Fixture *f, gconstpointer data)
{
        g_autofree char *ctl = harness_build_file("client/vhost-sharectl");
        g_autofree char *addr = g_strdup_printf("--address=%s", f->bus.address);
        g_autofree char *card1 = NULL;
        const char *argv[] = {ctl, addr, "monitor", NULL};
        const HarnessLine *added, *removed;
        HarnessProc *mon;

        mon = harness_spawn(f->bus.h, "vhost-sharectl monitor", argv, NULL, HARNESS_SPAWN_DEFAULT);
        harness_expect_output(mon, HARNESS_STDOUT, "Monitoring", TEST_TIMEOUT_MS);

        drm_testbed_add_drm(&f->drm, "card1", f->drm.pci, &card1);
        added = harness_expect_output(mon, HARNESS_STDOUT, " DeviceAdded ", TEST_TIMEOUT_MS);
        g_test_message("%s", added->text);
        g_assert_nonnull(strstr(added->text, " card1 " DPATH "card1 DevNode=/dev/dri/card1 "));
        g_assert_nonnull(strstr(added->text, " Kind=card"));

        umockdev_testbed_uevent(f->drm.tb, card1, "remove");
        umockdev_testbed_remove_device(f->drm.tb, card1);
        removed = harness_expect_output(mon, HARNESS_STDOUT, " DeviceRemoved ", TEST_TIMEOUT_MS);
        g_assert_true(g_str_has_suffix(removed->text, " DeviceRemoved card1 " DPATH "card1"));

        g_assert_cmpint(harness_stop(mon, TEST_TIMEOUT_MS), ==, 0);
}

static void wait_for_signal(Fixture *f, const char *event)
{
        while (signal_log_count(&f->log, event) == 0)
                if (!signal_log_wait(&f->log, f->client, f->log.events->len + 1)) {
                        g_autofree char *dump = signal_log_dump(&f->log);
                        g_error("no \"%s\" in time; seen:\n%s", event, dump);
                }
}

static void test_hotplug(Fixture *f, gconstpointer data)
{
        g_autofree char *card1 = NULL, *devices = NULL, *err = NULL, *uuid = NULL;
        FakeDrm *f1;
        int fd = -1;

        f1 = drm_testbed_add_drm(&f->drm, "card1", f->drm.pci, &card1);
        wait_for_signal(f, "InterfacesAdded " DPATH "card1 " DIFACE);
        wait_for_signal(f, "PropertiesChanged " MPATH " " MIFACE " Devices");
        devices = devices_joined(f->client);
        g_assert_cmpstr(devices, ==, "/dev/dri/card0,/dev/dri/card1,/dev/dri/renderD128");
        assert_device(f->client, DPATH "card1", "/dev/dri/card1", card1, "card", true);

        /* The new card serves Allocate(). */
        err = call_allocate(f->client, 8192, "card1", &uuid, NULL, &fd);
        g_assert_null(err);
        assert_fd_is(fd, fake_seen(f1).memfd_dev, fake_seen(f1).memfd_ino);
        close(fd);

        signal_log_clear(&f->log);
        signal_log_start(&f->log, f->client);
        umockdev_testbed_uevent(f->drm.tb, card1, "remove");
        umockdev_testbed_remove_device(f->drm.tb, card1);
        wait_for_signal(f, "InterfacesRemoved " DPATH "card1 " DIFACE);
        wait_for_signal(f, "PropertiesChanged " MPATH " " MIFACE " Devices");
        g_clear_pointer(&devices, g_free);
        devices = devices_joined(f->client);
        g_assert_cmpstr(devices, ==, "/dev/dri/card0,/dev/dri/renderD128");
        {
                g_autofree char *managed = managed_devices(f->client);
                g_assert_cmpstr(managed, ==, "card0,renderD128");
        }
        /* Gone from the bus and from Allocate(); the buffer made on it stays. */
        g_clear_pointer(&err, g_free);
        err = call_allocate(f->client, 4096, "/dev/dri/card1", NULL, NULL, NULL);
        g_assert_cmpstr(err, ==, ERR("NoDevice"));
        g_assert_cmpuint(object_count(f->client), ==, 1);
        g_assert_cmpuint(fake_drm_open_handles(f1), ==, 0);
}

int main(int argc, char **argv)
{
        /* Children (dbus-daemon, vhost-sharectl) run without the preload
         * libraries: they belong to this process, not to the programs it
         * starts. */
        g_unsetenv("LD_PRELOAD");
        g_test_init(&argc, &argv, NULL);
        DRM_BUS_TEST_ADD("/drm-bus/devices", NULL, test_devices_listed);
        DRM_BUS_TEST_ADD("/drm-bus/ctl-devices", NULL, test_ctl_devices);
        DRM_BUS_TEST_ADD("/drm-bus/hotplug", NULL, test_hotplug);
        DRM_BUS_TEST_ADD("/drm-bus/ctl-monitor-hotplug", NULL, test_ctl_monitor_hotplug);
        return g_test_run();
}
