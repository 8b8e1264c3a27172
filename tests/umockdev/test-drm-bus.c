/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DRM devices over D-Bus, against umockdev-emulated devices.
 *
 * Runs under LD_PRELOAD=libumockdev-preload.so.0. The fd the emulated PRIME
 * export returns is valid in this process only, so the service core and
 * its bus layer run here, on their own sd-event loop in a thread, connected
 * to a private dbus-daemon; the test talks to them over D-Bus from client
 * connections like any other caller. Each case gets a fresh testbed (card0
 * and renderD128 on a fake PCI parent), bus and service. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "bus-setup.h"
#include "dbus-testbed.h"
#include "drm-testbed.h"
#include "introspect-check.h"
#include "service.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define OIFACE "org.vhostshare.share1.Object"
#define DIFACE "org.vhostshare.share1.Device"
#define DPATH MPATH "/device/"
#define ERR(name) "org.vhostshare.share1.Error." name

/* ---- the service, in a thread of this process ---- */

typedef struct {
        char *address;
        char *group; /* privileged group: the test's own */
        int stop_fd; /* eventfd: written by the test to end the loop */
        GMutex lock; /* guards state */
        GCond cond;
        int state; /* 0 starting, 1 running, < 0 failed to start (-errno) */
        GThread *thread;
        int loop_result;
} InProcService;

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void in_proc_set_state(InProcService *p, int state)
{
        g_mutex_lock(&p->lock);
        p->state = state;
        g_cond_signal(&p->cond);
        g_mutex_unlock(&p->lock);
}

/* Everything of the service (loop, table, bus connection, device list) is
 * created, run and freed on this thread. */
static gpointer in_proc_main(gpointer data)
{
        InProcService *p = data;
        ServiceConfig cfg;
        sd_event *ev = NULL;
        Service *s = NULL;
        BusSetup *b = NULL;
        int r;

        service_config_init_defaults(&cfg);
        r = sd_event_new(&ev);
        if (r >= 0)
                r = service_new(ev, &cfg, &s);
        if (r >= 0)
                r = sd_event_add_io(ev, NULL, p->stop_fd, EPOLLIN, on_stop, NULL);
        if (r >= 0)
                r = bus_setup_new(s, BUS_KIND_ADDRESS, p->address, p->group, &b);
        if (r < 0) {
                in_proc_set_state(p, r);
        } else {
                in_proc_set_state(p, 1);
                p->loop_result = sd_event_loop(ev);
        }
        bus_setup_free(b);
        service_free(s);
        sd_event_unref(ev);
        return NULL;
}

static void in_proc_start(InProcService *p, const char *address)
{
        struct group *gr = getgrgid(getegid());

        p->address = g_strdup(address);
        p->group = g_strdup(gr ? gr->gr_name : "");
        p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        g_assert_cmpint(p->stop_fd, >=, 0);
        g_mutex_init(&p->lock);
        g_cond_init(&p->cond);
        p->thread = g_thread_new("service", in_proc_main, p);

        g_mutex_lock(&p->lock);
        while (p->state == 0)
                g_cond_wait(&p->cond, &p->lock);
        g_mutex_unlock(&p->lock);
        if (p->state < 0)
                g_error("the service did not start: %s", g_strerror(-p->state));
}

static void in_proc_stop(InProcService *p)
{
        uint64_t one = 1;

        if (!p->thread)
                return;
        g_assert_cmpint(write(p->stop_fd, &one, sizeof(one)), ==, sizeof(one));
        g_thread_join(p->thread);
        p->thread = NULL;
        g_assert_cmpint(p->loop_result, >=, 0);
        close(p->stop_fd);
        g_mutex_clear(&p->lock);
        g_cond_clear(&p->cond);
        g_free(p->address);
        g_free(p->group);
}

/* ---- fixture ---- */

typedef struct {
        DrmTestbed drm;
        Testbed bus;
        InProcService service;
        sd_bus *client;
        SignalLog log;
} Fixture;

static bool name_has_owner(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0;

        g_assert_cmpint(sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s",
                                           DEST),
                        >=, 0);
        g_assert_cmpint(sd_bus_message_read(reply, "b", &has), >, 0);
        sd_bus_message_unref(reply);
        return has;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        *(bool *) userdata = true;
        return 0;
}

static bool flag_set(void *data)
{
        return *(bool *) data;
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
        sd_bus_slot *slot = NULL;
        bool owned = false;

        /* The bus first: dbus-daemon must not inherit the testbed's
         * environment (main() dropped LD_PRELOAD for children). */
        testbed_init(&f->bus, TESTBED_POLICY_SHIPPED);
        drm_testbed_init(&f->drm);
        f->client = testbed_connect(&f->bus);

        /* Only the service's name: the bus announces unique names too. */
        g_assert_cmpint(sd_bus_add_match(f->client, &slot,
                                         "type='signal',sender='org.freedesktop.DBus',"
                                         "member='NameOwnerChanged',arg0='" DEST "'",
                                         on_name_owner_changed, &owned),
                        >=, 0);
        in_proc_start(&f->service, f->bus.address);
        if (!name_has_owner(f->client) && !testbed_pump_until(f->client, flag_set, &owned))
                g_error("the in-process service did not own %s in time", DEST);
        sd_bus_slot_unref(slot);
        signal_log_start(&f->log, f->client);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
        signal_log_clear(&f->log);
        f->client = sd_bus_flush_close_unref(f->client);
        in_proc_stop(&f->service);
        drm_testbed_clear(&f->drm);
        testbed_clear(&f->bus);
}

/* ---- D-Bus helpers ---- */

static char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;

        if (sd_bus_get_property_string(bus, DEST, path, iface, prop, &e, &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

static uint64_t get_trivial(sd_bus *bus, const char *path, const char *iface, const char *prop,
                            char type)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        union {
                uint64_t t;
                uint32_t u;
                uint16_t q;
                int b;
        } v = {0};

        if (sd_bus_get_property_trivial(bus, DEST, path, iface, prop, &e, type, &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        switch (type) {
        case 't':
                return v.t;
        case 'u':
                return v.u;
        case 'q':
                return v.q;
        case 'b':
                return (uint64_t) v.b;
        }
        g_assert_not_reached();
}

static unsigned object_count(sd_bus *bus)
{
        return (unsigned) get_trivial(bus, MPATH, MIFACE, "ObjectCount", 'u');
}

static char *devices_joined(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **v = NULL;
        char *joined;

        if (sd_bus_get_property_strv(bus, DEST, MPATH, MIFACE, "Devices", &e, &v) < 0)
                g_error("Get Devices: %s", e.message);
        joined = g_strjoinv(",", v);
        g_strfreev(v);
        return joined;
}

/* Allocate(size, device): NULL and the object on success, else the error
 * name (to free). *ret_fd is a duplicate the caller closes. */
static char *call_allocate(sd_bus *bus, uint64_t size, const char *device, char **ret_uuid,
                           char **ret_path, int *ret_fd)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *uuid, *path;
        int fd, r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Allocate", &e, &reply, "ts", size,
                               device);
        if (r < 0) {
                char *name = g_strdup(e.name);

                g_test_message("Allocate(%" G_GUINT64_FORMAT ", \"%s\"): %s: %s", size, device,
                               e.name, e.message);
                sd_bus_error_free(&e);
                return name;
        }
        g_assert_cmpint(sd_bus_message_read(reply, "soh", &uuid, &path, &fd), >, 0);
        if (ret_uuid)
                *ret_uuid = g_strdup(uuid);
        if (ret_path)
                *ret_path = g_strdup(path);
        if (ret_fd) {
                *ret_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                g_assert_cmpint(*ret_fd, >=, 0);
        }
        sd_bus_message_unref(reply);
        return NULL;
}

static int call_lookup(sd_bus *bus, const char *uuid)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int fd, dup;

        if (sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Lookup", &e, &reply, "s", uuid) < 0)
                g_error("Lookup %s: %s", uuid, e.message);
        g_assert_cmpint(sd_bus_message_read(reply, "h", &fd), >, 0);
        dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(dup, >=, 0);
        sd_bus_message_unref(reply);
        return dup;
}

typedef struct {
        int n_create, n_prime, n_close;
        struct drm_mode_create_dumb last_create;
        uint32_t last_prime_flags;
        dev_t memfd_dev;
        ino_t memfd_ino;
} FakeSeen;

/* What the handler (another thread) saw, read under its lock. */
static FakeSeen fake_seen(FakeDrm *fk)
{
        FakeSeen s;

        g_mutex_lock(&fk->lock);
        s = (FakeSeen){fk->n_create,         fk->n_prime,   fk->n_close,  fk->last_create,
                       fk->last_prime_flags, fk->memfd_dev, fk->memfd_ino};
        g_mutex_unlock(&fk->lock);
        return s;
}

static void assert_fd_is(int fd, dev_t dev, ino_t ino)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_dev, ==, dev);
        g_assert_cmpuint(st.st_ino, ==, ino);
}

/* ---- devices ---- */

static void assert_device(sd_bus *bus, const char *path, const char *devnode, const char *syspath,
                          const char *kind, bool can_allocate)
{
        g_autofree char *dn = get_string(bus, path, DIFACE, "DevNode");
        g_autofree char *sp = get_string(bus, path, DIFACE, "SysPath");
        g_autofree char *k = get_string(bus, path, DIFACE, "Kind");
        g_autofree char *drv = get_string(bus, path, DIFACE, "Driver");
        g_autofree char *slot = get_string(bus, path, DIFACE, "PciSlot");

        g_assert_cmpstr(dn, ==, devnode);
        g_assert_cmpstr(sp, ==, syspath);
        g_assert_cmpstr(k, ==, kind);
        g_assert_cmpstr(drv, ==, FAKE_DRIVER);
        g_assert_cmpstr(slot, ==, PCI_SLOT);
        g_assert_cmpuint(get_trivial(bus, path, DIFACE, "PciVendor", 'q'), ==, FAKE_PCI_VENDOR);
        g_assert_cmpuint(get_trivial(bus, path, DIFACE, "PciDevice", 'q'), ==, FAKE_PCI_DEVICE);
        g_assert_cmpuint(get_trivial(bus, path, DIFACE, "CanAllocate", 'b'), ==, can_allocate);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The managed objects below the device prefix, sorted, comma-joined. */
static char *managed_devices(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        const char *path;

        if (sd_bus_call_method(bus, DEST, MPATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, NULL) < 0)
                g_error("GetManagedObjects: %s", e.message);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), >, 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                g_assert_cmpint(sd_bus_message_read(reply, "o", &path), >, 0);
                if (g_str_has_prefix(path, DPATH))
                        g_ptr_array_add(paths, g_strdup(path + strlen(DPATH)));
                g_assert_cmpint(sd_bus_message_skip(reply, "a{sa{sv}}"), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
        }
        sd_bus_message_unref(reply);
        g_ptr_array_sort(paths, compare_strings);
        g_ptr_array_add(paths, NULL);
        return g_strjoinv(",", (char **) paths->pdata);
}

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
        g_assert_nonnull(strstr(out_json, "{\"device\": \"/dev/dri/card0\", \"kind\": \"card\", "
                                          "\"driver\": \"" FAKE_DRIVER "\", "
                                          "\"pci_slot\": \"" PCI_SLOT "\"}"));
        g_assert_nonnull(
            strstr(out_json, "\"device\": \"/dev/dri/renderD128\", \"kind\": \"render\""));
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

/* ---- allocation ---- */

static void test_allocate_card0(Fixture *f, gconstpointer data)
{
        static const char prefix[] = FAKE_DRIVER ":/dev/dri/card0:handle=1";
        static const char message[] = "written by the allocating client";
        FakeDrm *fk = f->drm.fake_card0;
        g_autofree char *uuid = NULL, *path = NULL, *err = NULL;
        g_autofree char *s_device = NULL, *s_alloc = NULL, *s_exp = NULL, *s_type = NULL;
        g_autofree char *s_owner = NULL;
        unsigned fds_before = drm_testbed_count_fds();
        char buf[64] = "";
        const char *unique = NULL;
        sd_bus *other;
        FakeSeen seen;
        int fd = -1, fd2;

        g_assert_cmpuint(object_count(f->client), ==, 0);
        err = call_allocate(f->client, 4096, "/dev/dri/card0", &uuid, &path, &fd);
        g_assert_null(err);

        /* The handler saw one dumb buffer of one 4 KiB row, its PRIME export
         * and the GEM handle closed again. */
        seen = fake_seen(fk);
        g_assert_cmpint(seen.n_create, ==, 1);
        g_assert_cmpuint(seen.last_create.width, ==, 1024);
        g_assert_cmpuint(seen.last_create.bpp, ==, 32);
        g_assert_cmpuint(seen.last_create.height, ==, 1);
        g_assert_cmpint(seen.n_prime, ==, 1);
        g_assert_cmpuint(seen.last_prime_flags, ==, DRM_CLOEXEC | DRM_RDWR);
        g_assert_cmpint(seen.n_close, ==, 1);
        g_assert_cmpuint(fake_drm_open_handles(fk), ==, 0);

        /* The caller's fd is the exported buffer, and carries data. */
        assert_fd_is(fd, seen.memfd_dev, seen.memfd_ino);
        g_assert_cmpint(pread(fd, buf, strlen(prefix), 0), ==, (ssize_t) strlen(prefix));
        g_assert_cmpmem(buf, strlen(prefix), prefix, strlen(prefix));
        g_assert_cmpint(pwrite(fd, message, sizeof(message), 1024), ==, sizeof(message));

        /* The object says where the buffer came from and what it is. */
        g_assert_cmpuint(object_count(f->client), ==, 1);
        s_device = get_string(f->client, path, OIFACE, "Device");
        s_alloc = get_string(f->client, path, OIFACE, "Allocator");
        s_exp = get_string(f->client, path, OIFACE, "Exporter");
        s_type = get_string(f->client, path, OIFACE, "Type");
        s_owner = get_string(f->client, path, OIFACE, "OwnerBusName");
        g_assert_cmpstr(s_device, ==, "/dev/dri/card0");
        g_assert_cmpstr(s_alloc, ==, "drm-dumb");
        g_assert_cmpstr(s_exp, ==, "memfd"); /* the kernel's word: the fake exports a memfd */
        g_assert_cmpstr(s_type, ==, "dma-buf");
        g_assert_cmpint(sd_bus_get_unique_name(f->client, &unique), >=, 0);
        g_assert_cmpstr(s_owner, ==, unique);
        g_assert_cmpuint(get_trivial(f->client, path, OIFACE, "Size", 't'), ==, 4096);
        g_assert_cmpuint(get_trivial(f->client, path, OIFACE, "Inode", 't'), ==, seen.memfd_ino);
        g_assert_cmpuint(get_trivial(f->client, path, OIFACE, "InodeDevice", 't'), ==,
                         seen.memfd_dev);
        introspect_check_xml(f->client, DEST, path, OIFACE);
        /* Added and InterfacesAdded went out for it. */
        testbed_sync(f->client);
        {
                g_autofree char *added = g_strdup_printf("Added %s %s dma-buf", uuid, path);
                g_assert_cmpuint(signal_log_count(&f->log, added), ==, 1);
        }

        /* A second client looks it up and reads what the first wrote. */
        other = testbed_connect(&f->bus);
        fd2 = call_lookup(other, uuid);
        assert_fd_is(fd2, seen.memfd_dev, seen.memfd_ino);
        memset(buf, 0, sizeof(buf));
        g_assert_cmpint(pread(fd2, buf, sizeof(message), 1024), ==, sizeof(message));
        g_assert_cmpstr(buf, ==, message);
        g_assert_cmpuint(get_trivial(other, path, OIFACE, "LookupCount", 't'), ==, 1);
        close(fd2);

        /* The allocating client leaves: its object goes, the service's fd with it. */
        {
                g_autofree char *removed = g_strdup_printf("Removed %s %s", uuid, path);
                SignalLog log2;

                signal_log_start(&log2, other);
                signal_log_clear(&f->log);
                f->client = sd_bus_flush_close_unref(f->client);
                while (signal_log_count(&log2, removed) == 0)
                        g_assert_true(signal_log_wait(&log2, other, log2.events->len + 1));
                g_assert_cmpuint(object_count(other), ==, 0);
                signal_log_clear(&log2);
                /* The fixture's teardown still clears the log: start an empty one. */
                f->client = testbed_connect(&f->bus);
                signal_log_start(&f->log, f->client);
        }
        close(fd);
        sd_bus_flush_close_unref(other);
        g_assert_cmpuint(drm_testbed_count_fds(), ==, fds_before);
}

/* ---- hotplug ---- */

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

/* ---- failure paths ---- */

typedef struct {
        const char *name;
        const char *device;
        uint64_t size;
        bool no_dumb_cap;
        int create_errno;
        int prime_errno;
        bool short_export;
        const char *error; /* the named error expected */
        int creates;       /* CREATE_DUMB calls expected */
} FailCase;

static const FailCase fail_cases[] = {
    {"create-enomem", "/dev/dri/card0", 65536, false, ENOMEM, 0, false, ERR("NoMemory"), 1},
    {"create-einval", "/dev/dri/card0", 65536, false, EINVAL, 0, false, ERR("InvalidSize"), 1},
    {"create-eacces", "/dev/dri/card0", 65536, false, EACCES, 0, false, ERR("AccessDenied"), 1},
    {"prime-enomem", "/dev/dri/card0", 65536, false, 0, ENOMEM, false, ERR("NoMemory"), 1},
    {"prime-unsupported", "/dev/dri/card0", 65536, false, 0, ENOSYS, false, ERR("Unsupported"), 1},
    {"prime-short", "card0", 65536, false, 0, 0, true, ERR("Failed"), 1},
    {"no-dumb-buffers", "card0", 65536, true, 0, 0, false, ERR("Unsupported"), 0},
    {"render-node", "/dev/dri/renderD128", 4096, false, 0, 0, false, ERR("Unsupported"), 0},
    {"unknown-device", "/dev/dri/card9", 4096, false, 0, 0, false, ERR("NoDevice"), 0},
    {"too-large", "card0", (uint64_t) 8 << 30, false, 0, 0, false, ERR("InvalidSize"), 0},
};

static void fake_configure(FakeDrm *fk, const FailCase *fc)
{
        g_mutex_lock(&fk->lock);
        fk->dumb_cap = fc ? !fc->no_dumb_cap : true;
        fk->create_errno = fc ? fc->create_errno : 0;
        fk->prime_errno = fc ? fc->prime_errno : 0;
        fk->short_export = fc ? fc->short_export : false;
        g_mutex_unlock(&fk->lock);
}

static void test_allocate_failure(Fixture *f, gconstpointer data)
{
        const FailCase *fc = data;
        FakeDrm *fk = f->drm.fake_card0;
        g_autofree char *err = NULL, *uuid = NULL;
        unsigned fds_before;
        int fd = -1;

        fake_configure(fk, fc);
        fds_before = drm_testbed_count_fds();
        err = call_allocate(f->client, fc->size, fc->device, NULL, NULL, NULL);
        g_assert_cmpstr(err, ==, fc->error);

        /* Nothing left behind: no object, no signal, no GEM handle, no fd. */
        g_assert_cmpint(fake_seen(fk).n_create, ==, fc->creates);
        g_assert_cmpint(fake_seen(f->drm.fake_render).n_create, ==, 0);
        g_assert_cmpuint(fake_drm_open_handles(fk), ==, 0);
        g_assert_cmpuint(object_count(f->client), ==, 0);
        testbed_sync(f->client);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Added "), ==, 0);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "InterfacesAdded "), ==, 0);
        g_assert_cmpuint(drm_testbed_count_fds(), ==, fds_before);

        /* The device recovers: the same client allocates on it. */
        fake_configure(fk, NULL);
        g_clear_pointer(&err, g_free);
        err = call_allocate(f->client, 4096, "card0", &uuid, NULL, &fd);
        g_assert_null(err);
        assert_fd_is(fd, fake_seen(fk).memfd_dev, fake_seen(fk).memfd_ino);
        g_assert_cmpuint(object_count(f->client), ==, 1);
        g_assert_cmpuint(fake_drm_open_handles(fk), ==, 0);
        close(fd);
}

int main(int argc, char **argv)
{
        /* Children (dbus-daemon, busctl) run without the preload libraries:
         * they belong to this process, not to the programs it starts. */
        g_unsetenv("LD_PRELOAD");
        g_test_init(&argc, &argv, NULL);

#define ADD(path, data, fn) g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)
        ADD("/drm-bus/devices", NULL, test_devices_listed);
        ADD("/drm-bus/ctl-devices", NULL, test_ctl_devices);
        ADD("/drm-bus/allocate/card0", NULL, test_allocate_card0);
        ADD("/drm-bus/hotplug", NULL, test_hotplug);
        ADD("/drm-bus/ctl-monitor-hotplug", NULL, test_ctl_monitor_hotplug);
        for (size_t i = 0; i < G_N_ELEMENTS(fail_cases); i++) {
                g_autofree char *path = g_strdup_printf("/drm-bus/fail/%s", fail_cases[i].name);

                ADD(path, &fail_cases[i], test_allocate_failure);
        }
#undef ADD
        return g_test_run();
}
