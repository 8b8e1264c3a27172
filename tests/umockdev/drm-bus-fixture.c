/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the DRM-over-D-Bus tests share (see drm-bus-fixture.h). */
#include "drm-bus-fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-setup.h"
#include "service.h"

/* ---- the service, in a thread of this process ---- */

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
        /* The device's own refusals are tested with sizes beyond the
         * default byte quotas (8 GiB: too large for a dumb buffer). */
        cfg.max_bytes_per_client = cfg.max_bytes_per_uid = cfg.max_bytes_total = 0;
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

void fixture_setup(Fixture *f, gconstpointer data)
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

void fixture_teardown(Fixture *f, gconstpointer data)
{
        signal_log_clear(&f->log);
        f->client = sd_bus_flush_close_unref(f->client);
        in_proc_stop(&f->service);
        drm_testbed_clear(&f->drm);
        testbed_clear(&f->bus);
}

/* ---- D-Bus helpers ---- */

char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;

        if (sd_bus_get_property_string(bus, DEST, path, iface, prop, &e, &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

uint64_t get_trivial(sd_bus *bus, const char *path, const char *iface, const char *prop, char type)
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

unsigned object_count(sd_bus *bus)
{
        return (unsigned) get_trivial(bus, MPATH, MIFACE, "ObjectCount", 'u');
}

char *devices_joined(sd_bus *bus)
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

char *call_allocate(sd_bus *bus, uint64_t size, const char *device, char **ret_uuid,
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

int call_lookup(sd_bus *bus, const char *uuid)
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

FakeSeen fake_seen(FakeDrm *fk)
{
        FakeSeen s;

        g_mutex_lock(&fk->lock);
        s = (FakeSeen){fk->n_create,         fk->n_prime,   fk->n_close,  fk->last_create,
                       fk->last_prime_flags, fk->memfd_dev, fk->memfd_ino};
        g_mutex_unlock(&fk->lock);
        return s;
}

void assert_fd_is(int fd, dev_t dev, ino_t ino)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_dev, ==, dev);
        g_assert_cmpuint(st.st_ino, ==, ino);
}

void assert_device(sd_bus *bus, const char *path, const char *devnode, const char *syspath,
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

char *managed_devices(sd_bus *bus)
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
