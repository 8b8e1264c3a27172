/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's Devices property over D-Bus, with DRM devices emulated by
 * umockdev: the daemon runs with the preload library and the testbed's
 * UMOCKDEV_DIR (inherited from this process), so it discovers the
 * emulated sysfs and hears its hotplug uevents. */

#include <glib.h>
#include <umockdev.h>

#include "dbus-testbed.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define PCI_SLOT "0000:00:02.0"

typedef struct {
        UMockdevTestbed *udev;
        char *pci;
        Testbed tb;
        sd_bus *bus;
        SignalLog log;
} Fixture;

static char *add_drm(Fixture *f, const char *name)
{
        g_autofree char *devnode = g_strdup_printf("/dev/dri/%s", name);
        bool render = g_str_has_prefix(name, "renderD");
        unsigned minor = (unsigned) g_ascii_strtoull(name + (render ? 7 : 4), NULL, 10);
        g_autofree char *dev = g_strdup_printf("226:%u", minor);
        char *syspath;

        syspath = umockdev_testbed_add_device(f->udev, "drm", name, f->pci, "dev", dev, NULL,
                                              "DEVNAME", devnode, "DEVTYPE", "drm_minor", NULL);
        g_assert_nonnull(syspath);
        return syspath;
}

static void setup(Fixture *f, gconstpointer data)
{
        g_autofree char *card0 = NULL, *render = NULL, *connector = NULL;

        f->udev = umockdev_testbed_new();
        if (!umockdev_in_mock_environment())
                g_error("test-dbus-devices must run with LD_PRELOAD=libumockdev-preload.so.0 "
                        "(meson test sets it)");
        f->pci = umockdev_testbed_add_device(f->udev, "pci", PCI_SLOT, NULL, "vendor", "0x1af4",
                                             "device", "0x1050", "class", "0x030000", NULL,
                                             "PCI_SLOT_NAME", PCI_SLOT, NULL);
        g_assert_nonnull(f->pci);
        card0 = add_drm(f, "card0");
        render = add_drm(f, "renderD128");
        /* A connector is in subsystem drm but is no device to allocate on. */
        connector = umockdev_testbed_add_device(f->udev, "drm", "card0-HDMI-A-1", card0, "status",
                                                "connected", NULL, NULL);
        g_assert_nonnull(connector);

        testbed_init(&f->tb, TESTBED_POLICY_SHIPPED);
        testbed_start_service(&f->tb, NULL);
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus);
}

static void teardown(Fixture *f, gconstpointer data)
{
        signal_log_clear(&f->log);
        f->bus = sd_bus_flush_close_unref(f->bus);
        testbed_clear(&f->tb);
        g_clear_object(&f->udev);
        g_free(f->pci);
}

static char *get_devices(Fixture *f)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **devices = NULL, *joined;

        if (sd_bus_get_property_strv(f->bus, DEST, MPATH, MIFACE, "Devices", &e, &devices) < 0)
                g_error("Get Devices: %s", e.message);
        joined = g_strjoinv(" ", devices);
        g_strfreev(devices);
        return joined;
}

/* Waits for the next Devices change signal, then compares. */
static void expect_devices_change(Fixture *f, guint seen_before, const char *want)
{
        g_autofree char *got = NULL;

        while (signal_log_count(&f->log, "PropertiesChanged " MPATH " " MIFACE " Devices") <=
               seen_before)
                g_assert_true(signal_log_wait(&f->log, f->bus, f->log.events->len + 1));
        got = get_devices(f);
        g_assert_cmpstr(got, ==, want);
}

static void test_devices_hotplug(Fixture *f, gconstpointer data)
{
        const char *changed = "PropertiesChanged " MPATH " " MIFACE " Devices";
        g_autofree char *devices = get_devices(f), *card1 = NULL;
        guint n;

        /* Card nodes first, then render nodes; the connector is not listed. */
        g_assert_cmpstr(devices, ==, "/dev/dri/card0 /dev/dri/renderD128");

        n = signal_log_count(&f->log, changed);
        card1 = add_drm(f, "card1");
        expect_devices_change(f, n, "/dev/dri/card0 /dev/dri/card1 /dev/dri/renderD128");

        n = signal_log_count(&f->log, changed);
        umockdev_testbed_uevent(f->udev, card1, "remove");
        umockdev_testbed_remove_device(f->udev, card1);
        expect_devices_change(f, n, "/dev/dri/card0 /dev/dri/renderD128");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add("/dbus/devices/hotplug", Fixture, NULL, setup, test_devices_hotplug, teardown);
        return g_test_run();
}
