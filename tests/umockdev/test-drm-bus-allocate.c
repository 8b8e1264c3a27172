/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Allocate() over D-Bus on umockdev-emulated DRM devices: a dumb buffer
 * exported through PRIME and shared with a second client, and every way
 * the device can fail, leaving nothing behind. The service runs
 * in-process (drm-bus-fixture.h). */

#include <errno.h>
#include <fcntl.h> /* DRM_CLOEXEC and DRM_RDWR are O_CLOEXEC and O_RDWR */
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "drm-bus-fixture.h"
#include "introspect-check.h"

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
        /* Children (dbus-daemon, vhost-sharectl) run without the preload
         * libraries: they belong to this process, not to the programs it
         * starts. */
        g_unsetenv("LD_PRELOAD");
        g_test_init(&argc, &argv, NULL);
        DRM_BUS_TEST_ADD("/drm-bus/allocate/card0", NULL, test_allocate_card0);
        for (size_t i = 0; i < G_N_ELEMENTS(fail_cases); i++) {
                g_autofree char *path = g_strdup_printf("/drm-bus/fail/%s", fail_cases[i].name);

                DRM_BUS_TEST_ADD(path, &fail_cases[i], test_allocate_failure);
        }
        return g_test_run();
}
