/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DRM discovery, hotplug and allocation against umockdev-emulated devices.
 *
 * Runs under LD_PRELOAD=libumockdev-preload.so.0. The testbed holds a PCI
 * device with card0, renderD128 and a connector under it; each node has an
 * ioctl handler (a FakeDrm) that answers the DRM ioctls service/drm makes.
 * The handlers run on the testbed's worker thread in this process, so the
 * fd the emulated PRIME export returns (a real sealed memfd) is valid here. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <umockdev.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "drm-device.h"
#include "drm-testbed.h"
#include "fd-util.h"
#include "test-timeout.h"

/* ---- fixture ---- */

typedef DrmTestbed Fixture;

static void fixture_setup_empty(Fixture *fx, gconstpointer data)
{
        drm_testbed_init_empty(fx);
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
        drm_testbed_init(fx);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
        drm_testbed_clear(fx);
}

#define fixture_add_drm drm_testbed_add_drm
#define fixture_add_node drm_testbed_add_node
#define count_open_fds drm_testbed_count_fds

static void assert_fd_is(int fd, dev_t dev, ino_t ino)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_dev, ==, dev);
        g_assert_cmpuint(st.st_ino, ==, ino);
}

/* Maps the buffer, checks it starts with prefix (may be NULL), writes a
 * pattern through the mapping and reads it back through the fd. */
static void assert_buffer_usable(int fd, uint64_t size, const char *prefix)
{
        uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        uint8_t probe[64];

        g_assert_true(map != MAP_FAILED);
        if (prefix)
                g_assert_cmpmem(map, strlen(prefix), prefix, strlen(prefix));
        for (uint64_t i = 0; i < size; i += 4096)
                map[i] = (uint8_t) (i / 4096 + 7);
        memset(map + size - sizeof(probe), 0xa5, sizeof(probe));
        g_assert_cmpint(munmap(map, size), ==, 0);

        for (uint64_t i = 0; i < size; i += 4096 * 97) {
                uint8_t b = 0;
                g_assert_cmpint(pread(fd, &b, 1, (off_t) i), ==, 1);
                g_assert_cmpuint(b, ==, (uint8_t) (i / 4096 + 7));
        }
        g_assert_cmpint(pread(fd, probe, sizeof(probe), (off_t) (size - sizeof(probe))), ==,
                        sizeof(probe));
        for (size_t i = 0; i < sizeof(probe); i++)
                g_assert_cmpuint(probe[i], ==, 0xa5);
}

static DrmDeviceList *list_new_snapshot(void)
{
        DrmDeviceList *l = NULL;

        g_assert_cmpint(drm_device_list_new(NULL, &l), ==, 0);
        g_assert_nonnull(l);
        return l;
}

/* ---- discovery ---- */

static bool collect_device(const DrmDevice *d, void *userdata)
{
        g_ptr_array_add(userdata, (gpointer) d);
        return true;
}

static void test_discovery(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();
        g_autoptr(GPtrArray) devs = g_ptr_array_new();
        const DrmDevice *card, *render;

        drm_device_list_foreach(l, collect_device, devs);
        g_assert_cmpuint(drm_device_list_size(l), ==, 2); /* not the connector */
        g_assert_cmpuint(devs->len, ==, 2);

        card = devs->pdata[0]; /* cards first */
        g_assert_cmpstr(card->sysname, ==, "card0");
        g_assert_cmpstr(card->devnode, ==, "/dev/dri/card0");
        g_assert_cmpstr(card->syspath, ==, fx->card0);
        g_assert_cmpint(card->kind, ==, DRM_DEVICE_CARD);
        g_assert_cmpstr(drm_device_kind_to_string(card->kind), ==, "card");
        g_assert_cmpstr(card->driver, ==, FAKE_DRIVER);
        g_assert_cmpstr(card->pci_slot, ==, PCI_SLOT);
        g_assert_cmpuint(card->pci_vendor, ==, 0x1af4);
        g_assert_cmpuint(card->pci_device, ==, 0x1050);
        g_assert_true(card->can_allocate);

        render = devs->pdata[1];
        g_assert_cmpstr(render->sysname, ==, "renderD128");
        g_assert_cmpstr(render->devnode, ==, "/dev/dri/renderD128");
        g_assert_cmpint(render->kind, ==, DRM_DEVICE_RENDER);
        g_assert_cmpstr(drm_device_kind_to_string(render->kind), ==, "render");
        g_assert_cmpstr(render->driver, ==, FAKE_DRIVER);
        g_assert_cmpstr(render->pci_slot, ==, PCI_SLOT);
        /* Render nodes are not asked for dumb buffers, not even when found. */
        g_assert_false(render->can_allocate);
        g_assert_cmpint(fx->fake_render->n_get_cap, ==, 0);

        /* The driver came from DRM_IOCTL_VERSION on each node. */
        g_assert_cmpint(fx->fake_card0->n_version, ==, 1);
        g_assert_cmpint(fx->fake_render->n_version, ==, 1);

        g_assert_true(drm_device_list_find(l, "/dev/dri/card0") == card);
        g_assert_true(drm_device_list_find(l, fx->card0) == card);
        g_assert_true(drm_device_list_find(l, "card0") == card);
        g_assert_true(drm_device_list_find(l, "renderD128") == render);
        g_assert_null(drm_device_list_find(l, "card0-HDMI-A-1"));
        g_assert_null(drm_device_list_find(l, "/dev/dri/card1"));
        g_assert_null(drm_device_list_find(l, NULL));

        drm_device_list_free(l);
}

/* A node whose VERSION ioctl fails still gets a driver: the sysfs link. */
static void test_discovery_sysfs_driver(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l;
        const DrmDevice *card;

        umockdev_testbed_set_attribute_link(fx->tb, fx->pci, "driver",
                                            "../../bus/pci/drivers/vsh-sysfs");
        fx->fake_card0->version_errno = EACCES;
        l = list_new_snapshot();
        card = drm_device_list_find(l, "card0");
        g_assert_nonnull(card);
        g_assert_cmpstr(card->driver, ==, "vsh-sysfs");
        g_assert_cmpstr(drm_device_list_find(l, "renderD128")->driver, ==, FAKE_DRIVER);
        drm_device_list_free(l);
}

/* A card without dumb buffers is listed, but cannot allocate. */
static void test_discovery_no_dumb_buffers(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l;

        fx->fake_card0->dumb_cap = false;
        l = list_new_snapshot();
        g_assert_nonnull(drm_device_list_find(l, "card0"));
        g_assert_false(drm_device_list_find(l, "card0")->can_allocate);
        g_assert_cmpint(fx->fake_card0->n_get_cap, ==, 1);
        drm_device_list_free(l);
}

static void test_discovery_empty(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();

        g_assert_cmpuint(drm_device_list_size(l), ==, 0);
        drm_device_list_free(l);
}

/* ---- allocation ---- */

static void test_allocate_card0(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();
        const uint64_t size = 1024 * 1024 + 1; /* one byte into a 257th row */
        DrmAllocResult res;
        FakeDrm *f = fx->fake_card0;
        unsigned fds_before = count_open_fds();

        g_assert_cmpint(drm_allocate(l, "/dev/dri/card0", size, &res), ==, 0);

        g_assert_cmpint(res.fd, >=, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_DRM_DUMB);
        g_assert_cmpstr(drm_exporter_to_string(res.exporter), ==, "drm-dumb");
        g_assert_cmpstr(res.device, ==, "/dev/dri/card0");
        g_assert_cmpuint(res.size, ==, 4096u * 257u);

        /* The handler saw the capability check, a dumb buffer sized to hold
         * the request, the export, and the handle closed again. */
        g_assert_cmpint(f->n_get_cap, ==, 2); /* found, then asked */
        g_assert_cmpint(f->n_create, ==, 1);
        g_assert_cmpuint(f->last_create.width, ==, 1024);
        g_assert_cmpuint(f->last_create.bpp, ==, 32);
        g_assert_cmpuint(f->last_create.height, ==, 257);
        g_assert_cmpint(f->n_prime, ==, 1);
        g_assert_cmpuint(f->last_prime_flags, ==, DRM_CLOEXEC | DRM_RDWR);
        g_assert_cmpint(f->n_close, ==, 1);
        g_assert_cmpuint(fake_drm_open_handles(f), ==, 0);
        g_assert_cmpint(fx->fake_render->n_create, ==, 0);

        /* The fd is the handler's memfd, and the buffer works through it. */
        assert_fd_is(res.fd, f->memfd_dev, f->memfd_ino);
        g_assert_cmpint(fcntl(res.fd, F_GETFD), ==, FD_CLOEXEC);
        assert_buffer_usable(res.fd, res.size, FAKE_DRIVER ":/dev/dri/card0:handle=1");

        /* What the share table would record: the fd's identity, the device. */
        ShareBufferInfo info;
        g_assert_cmpint(drm_alloc_result_buffer_info(&res, &info), ==, 0);
        g_assert_cmpuint(info.size, ==, res.size);
        g_assert_cmpstr(info.device, ==, "/dev/dri/card0");
        g_assert_cmpstr(info.exporter, ==, "memfd"); /* what the fake exports */
        g_assert_cmpstr(info.allocator, ==, "drm-dumb");
        g_assert_cmpuint(info.ino, ==, f->memfd_ino);

        /* Only the buffer stays open: the device fd was closed. */
        g_assert_cmpuint(count_open_fds(), ==, fds_before + 1);
        drm_alloc_result_clear(&res);
        g_assert_cmpint(drm_alloc_result_buffer_info(&res, &info), ==, -EBADF);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);
        drm_device_list_free(l);
}

/* No device named: the first card that can. */
static void test_allocate_auto(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();
        DrmAllocResult res;

        g_assert_cmpint(drm_allocate(l, NULL, 8192, &res), ==, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_DRM_DUMB);
        g_assert_cmpstr(res.device, ==, "/dev/dri/card0");
        g_assert_cmpuint(res.size, ==, 8192);
        g_assert_cmpuint(fx->fake_card0->last_create.height, ==, 2);
        assert_fd_is(res.fd, fx->fake_card0->memfd_dev, fx->fake_card0->memfd_ino);
        g_assert_cmpuint(fake_drm_open_handles(fx->fake_card0), ==, 0);
        /* Render nodes are never asked for dumb buffers. */
        g_assert_cmpint(fx->fake_render->n_get_cap, ==, 0);
        drm_alloc_result_clear(&res);
        drm_device_list_free(l);
}

/* card0 cannot, card1 can: card1 serves the request. */
static void test_allocate_auto_skips_incapable(Fixture *fx, gconstpointer data)
{
        g_autofree char *card1 = NULL;
        FakeDrm *f1 = fixture_add_drm(fx, "card1", fx->pci, &card1);
        DrmDeviceList *l;
        DrmAllocResult res;

        fx->fake_card0->dumb_cap = false;
        l = list_new_snapshot();
        g_assert_cmpint(drm_allocate(l, NULL, 4096, &res), ==, 0);
        g_assert_cmpstr(res.device, ==, "/dev/dri/card1");
        g_assert_cmpint(fx->fake_card0->n_get_cap, ==, 2); /* found, then asked */
        g_assert_cmpint(fx->fake_card0->n_create, ==, 0);
        g_assert_cmpint(f1->n_create, ==, 1);
        assert_fd_is(res.fd, f1->memfd_dev, f1->memfd_ino);
        g_assert_cmpuint(fake_drm_open_handles(f1), ==, 0);
        drm_alloc_result_clear(&res);
        drm_device_list_free(l);
}

/* No DRM device, but /dev/udmabuf: a udmabuf over a shrink-sealed memfd. */
static void test_allocate_udmabuf(Fixture *fx, gconstpointer data)
{
        FakeUdmabuf u = {0};
        DrmDeviceList *l;
        DrmAllocResult res;
        unsigned fds_before;

        g_mutex_init(&u.lock);
        fixture_add_node(fx, "/dev/udmabuf", G_CALLBACK(fake_udmabuf_on_ioctl), &u);
        l = list_new_snapshot();
        g_assert_cmpuint(drm_device_list_size(l), ==, 0);
        fds_before = count_open_fds();

        g_assert_cmpint(drm_allocate(l, NULL, 5000, &res), ==, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_UDMABUF);
        g_assert_cmpstr(drm_exporter_to_string(res.exporter), ==, "udmabuf");
        g_assert_cmpstr(res.device, ==, "/dev/udmabuf");
        g_assert_cmpuint(res.size, ==, 8192); /* whole pages */

        g_assert_cmpint(u.n_create, ==, 1);
        g_assert_cmpuint(u.last.size, ==, 8192);
        g_assert_cmpuint(u.last.offset, ==, 0);
        g_assert_cmpuint(u.last.flags, ==, UDMABUF_FLAGS_CLOEXEC);
        g_assert_true(u.last_seals & F_SEAL_SHRINK);
        g_assert_false(u.last_seals & F_SEAL_WRITE);
        assert_fd_is(res.fd, u.memfd_dev, u.memfd_ino);
        assert_buffer_usable(res.fd, res.size, NULL);
        ShareBufferInfo info;
        g_assert_cmpint(drm_alloc_result_buffer_info(&res, &info), ==, 0);
        g_assert_cmpstr(info.device, ==, "/dev/udmabuf");
        g_assert_cmpstr(info.allocator, ==, "udmabuf");
        g_assert_cmpuint(info.size, ==, 8192);

        /* The memfd and the udmabuf device fd are closed; the buffer is not. */
        g_assert_cmpuint(count_open_fds(), ==, fds_before + 1);
        drm_alloc_result_clear(&res);
        drm_device_list_free(l);
        g_mutex_clear(&u.lock);
}

/* Nothing at all: no dma-buf, and no memfd passed off as one (-ENODEV);
 * asked for by name, a sealed memfd of exactly the size asked for. */
static void test_allocate_memfd(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();
        DrmAllocResult res;
        unsigned fds_before = count_open_fds();
        int seals;

        g_assert_cmpint(drm_device_list_set_udmabuf_path(l, "/dev/vsh-no-udmabuf"), ==, 0);
        g_assert_cmpint(drm_allocate(l, NULL, 10000, &res), ==, -ENODEV);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);
        g_assert_cmpint(drm_allocate(l, DRM_ALLOCATE_MEMFD, 10000, &res), ==, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_MEMFD);
        g_assert_cmpstr(drm_exporter_to_string(res.exporter), ==, "memfd");
        g_assert_cmpstr(res.device, ==, "");
        g_assert_cmpuint(res.size, ==, 10000);
        seals = fcntl(res.fd, F_GET_SEALS);
        g_assert_cmpint(seals, >=, 0);
        g_assert_cmpint(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), ==,
                        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        g_assert_cmpint(fd_is_sealed_memfd(res.fd), ==, 1);
        g_assert_cmpint(ftruncate(res.fd, 20000), ==, -1);
        assert_buffer_usable(res.fd, res.size, NULL);
        g_assert_cmpuint(count_open_fds(), ==, fds_before + 1);
        drm_alloc_result_clear(&res);

        /* With the udmabuf step switched off the same holds. */
        g_assert_cmpint(drm_device_list_set_udmabuf_path(l, NULL), ==, 0);
        g_assert_cmpint(drm_allocate(l, NULL, 1, &res), ==, -ENODEV);
        g_assert_cmpint(drm_allocate(l, DRM_ALLOCATE_MEMFD, 1, &res), ==, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_MEMFD);
        g_assert_cmpuint(res.size, ==, 1);
        drm_alloc_result_clear(&res);
        drm_device_list_free(l);
}

/* Requests no device can serve, whatever the devices do. */
static void test_allocate_bad_requests(Fixture *fx, gconstpointer data)
{
        DrmDeviceList *l = list_new_snapshot();
        DrmAllocResult res;
        unsigned fds_before = count_open_fds();

        g_assert_cmpint(drm_allocate(l, "/dev/dri/card0", 0, &res), ==, -EINVAL);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpint(drm_allocate(l, NULL, 0, &res), ==, -EINVAL);
        g_assert_cmpint(drm_allocate(l, "/dev/dri/card7", 4096, &res), ==, -ENODEV);
        g_assert_cmpint(drm_allocate(l, "card0-HDMI-A-1", 4096, &res), ==, -ENODEV);
        g_assert_cmpint(drm_allocate(NULL, "card0", 4096, &res), ==, -ENODEV);
        g_assert_cmpint(drm_allocate(l, "renderD128", 4096, &res), ==, -EOPNOTSUPP);
        g_assert_cmpint(drm_allocate(l, "card0", (uint64_t) 8 << 30, &res), ==, -EFBIG);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpint(fx->fake_card0->n_create, ==, 0);
        g_assert_cmpint(fx->fake_render->n_get_cap, ==, 0);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);
        drm_device_list_free(l);
}

/* ---- failure paths on a named device ---- */

typedef struct {
        const char *name;
        bool dumb_cap;
        int create_errno;
        int prime_errno;
        bool short_export;
        int expected;        /* drm_allocate's error */
        bool reaches_create; /* whether CREATE_DUMB was issued */
} FailCase;

static const FailCase fail_cases[] = {
    {.name = "create-enomem",
     .dumb_cap = true,
     .create_errno = ENOMEM,
     .expected = -ENOMEM,
     .reaches_create = true},
    {.name = "create-einval",
     .dumb_cap = true,
     .create_errno = EINVAL,
     .expected = -EINVAL,
     .reaches_create = true},
    {.name = "create-eacces",
     .dumb_cap = true,
     .create_errno = EACCES,
     .expected = -EACCES,
     .reaches_create = true},
    {.name = "prime-enomem",
     .dumb_cap = true,
     .prime_errno = ENOMEM,
     .expected = -ENOMEM,
     .reaches_create = true},
    {.name = "prime-unsupported",
     .dumb_cap = true,
     .prime_errno = ENOSYS,
     .expected = -EOPNOTSUPP,
     .reaches_create = true},
    /* The export is smaller than the buffer the device promised. */
    {.name = "prime-short",
     .dumb_cap = true,
     .short_export = true,
     .expected = -EIO,
     .reaches_create = true},
    {.name = "no-dumb-buffers", .dumb_cap = false, .expected = -EOPNOTSUPP},
};

static void test_allocate_failure(Fixture *fx, gconstpointer data)
{
        const FailCase *fc = data;
        DrmDeviceList *l = list_new_snapshot();
        FakeDrm *f = fx->fake_card0;
        DrmAllocResult res;
        unsigned fds_before;

        fds_before = count_open_fds();
        f->dumb_cap = fc->dumb_cap;
        f->create_errno = fc->create_errno;
        f->prime_errno = fc->prime_errno;
        f->short_export = fc->short_export;

        g_assert_cmpint(drm_allocate(l, "/dev/dri/card0", 65536, &res), ==, fc->expected);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpint(f->n_get_cap, ==, 2); /* found, then asked */
        g_assert_cmpint(f->n_create, ==, fc->reaches_create ? 1 : 0);
        /* A handle that was created was closed again, exactly once. */
        g_assert_cmpuint(fake_drm_open_handles(f), ==, 0);
        g_assert_cmpint(f->n_close, ==, fc->reaches_create && !fc->create_errno ? 1 : 0);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);

        /* The named device is the only one tried: no fallback. */
        g_assert_cmpint(fx->fake_render->n_get_cap, ==, 0);

        /* Without a name the same failure, with no udmabuf either, is no
         * device: no memfd in disguise. */
        g_assert_cmpint(drm_device_list_set_udmabuf_path(l, "/dev/vsh-no-udmabuf"), ==, 0);
        g_assert_cmpint(drm_allocate(l, NULL, 65536, &res), ==, -ENODEV);
        g_assert_cmpint(res.fd, ==, -1);
        g_assert_cmpuint(fake_drm_open_handles(f), ==, 0);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);

        /* And once the device recovers, the named allocation works again. */
        f->dumb_cap = true;
        f->create_errno = 0;
        f->prime_errno = 0;
        f->short_export = false;
        g_assert_cmpint(drm_allocate(l, "card0", 65536, &res), ==, 0);
        g_assert_cmpint(res.exporter, ==, DRM_EXPORTER_DRM_DUMB);
        drm_alloc_result_clear(&res);
        g_assert_cmpuint(fake_drm_open_handles(f), ==, 0);
        g_assert_cmpuint(count_open_fds(), ==, fds_before);
        drm_device_list_free(l);
}

/* ---- hotplug ---- */

typedef struct {
        GPtrArray *added;   /* syspaths */
        GPtrArray *removed; /* syspaths */
        char *added_driver;
} HotplugLog;

static void on_device_event(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev, void *userdata)
{
        HotplugLog *log = userdata;

        if (ev == DRM_DEVICE_ADDED) {
                g_ptr_array_add(log->added, g_strdup(d->syspath));
                g_free(log->added_driver);
                log->added_driver = g_strdup(d->driver);
                /* The list already holds it when observers hear of it. */
                g_assert_true(drm_device_list_find(l, d->syspath) == d);
        } else {
                g_ptr_array_add(log->removed, g_strdup(d->syspath));
                g_assert_null(drm_device_list_find(l, d->syspath));
        }
}

/* Runs ev until *count reaches want or the deadline passes. */
static void run_until(sd_event *ev, const guint *count, guint want)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_USEC;

        while (*count < want) {
                gint64 left = deadline - g_get_monotonic_time();

                if (left <= 0)
                        g_error("timed out waiting for a DRM uevent (%u of %u seen)", *count, want);
                g_assert_cmpint(sd_event_run(ev, (uint64_t) left), >=, 0);
        }
}

static void test_hotplug(Fixture *fx, gconstpointer data)
{
        HotplugLog log = {
            .added = g_ptr_array_new_with_free_func(g_free),
            .removed = g_ptr_array_new_with_free_func(g_free),
        };
        g_autofree char *card1 = NULL;
        sd_event *ev = NULL;
        DrmDeviceList *l = NULL;
        DrmAllocResult res;
        FakeDrm *f1;

        g_assert_cmpint(sd_event_new(&ev), >=, 0);
        g_assert_cmpint(drm_device_list_new(ev, &l), ==, 0);
        drm_device_list_add_observer(l, on_device_event, &log);
        g_assert_cmpuint(drm_device_list_size(l), ==, 2);

        /* Adding the device to the testbed sends its "add" uevent. */
        f1 = fixture_add_drm(fx, "card1", fx->pci, &card1);
        run_until(ev, &log.added->len, 1);
        g_assert_cmpstr(log.added->pdata[0], ==, card1);
        g_assert_cmpstr(log.added_driver, ==, FAKE_DRIVER);
        g_assert_cmpuint(drm_device_list_size(l), ==, 3);
        g_assert_nonnull(drm_device_list_find(l, "/dev/dri/card1"));

        /* A repeated "add" of a known device is not news. */
        umockdev_testbed_uevent(fx->tb, card1, "add");
        /* A connector appearing is not a device. */
        g_autofree char *conn = umockdev_testbed_add_device(fx->tb, "drm", "card1-DP-1", card1,
                                                            "status", "disconnected", NULL, NULL);
        g_assert_nonnull(conn);

        /* The new card serves allocations. */
        g_assert_cmpint(drm_allocate(l, "card1", 4096, &res), ==, 0);
        assert_fd_is(res.fd, f1->memfd_dev, f1->memfd_ino);
        drm_alloc_result_clear(&res);

        umockdev_testbed_uevent(fx->tb, card1, "remove");
        umockdev_testbed_remove_device(fx->tb, card1);
        run_until(ev, &log.removed->len, 1);
        g_assert_cmpstr(log.removed->pdata[0], ==, card1);
        /* Both extra events (the repeated add, the connector) came before the
         * remove and changed nothing. */
        g_assert_cmpuint(log.added->len, ==, 1);
        g_assert_cmpuint(drm_device_list_size(l), ==, 2);
        g_assert_null(drm_device_list_find(l, "card1"));
        g_assert_cmpint(drm_allocate(l, "card1", 4096, &res), ==, -ENODEV);

        drm_device_list_free(l);
        sd_event_unref(ev);
        g_ptr_array_unref(log.added);
        g_ptr_array_unref(log.removed);
        g_free(log.added_driver);
}

/* An observer may remove itself (or another) while being told. */
typedef struct {
        DrmDeviceList *l;
        unsigned self_id;
        unsigned calls;
} SelfRemover;

static void on_event_remove_self(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev,
                                 void *userdata)
{
        SelfRemover *s = userdata;

        s->calls++;
        drm_device_list_remove_observer(l, s->self_id);
}

static void test_hotplug_observer_removal(Fixture *fx, gconstpointer data)
{
        HotplugLog log = {
            .added = g_ptr_array_new_with_free_func(g_free),
            .removed = g_ptr_array_new_with_free_func(g_free),
        };
        SelfRemover s = {0};
        g_autofree char *card1 = NULL;
        sd_event *ev = NULL;

        g_assert_cmpint(sd_event_new(&ev), >=, 0);
        g_assert_cmpint(drm_device_list_new(ev, &s.l), ==, 0);
        s.self_id = drm_device_list_add_observer(s.l, on_event_remove_self, &s);
        g_assert_cmpuint(s.self_id, !=, 0);
        drm_device_list_add_observer(s.l, on_device_event, &log);

        fixture_add_drm(fx, "card1", fx->pci, &card1);
        run_until(ev, &log.added->len, 1);
        umockdev_testbed_uevent(fx->tb, card1, "remove");
        umockdev_testbed_remove_device(fx->tb, card1);
        run_until(ev, &log.removed->len, 1);
        /* Told once, then gone; the observer after it heard both. */
        g_assert_cmpuint(s.calls, ==, 1);

        drm_device_list_free(s.l);
        sd_event_unref(ev);
        g_ptr_array_unref(log.added);
        g_ptr_array_unref(log.removed);
        g_free(log.added_driver);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define ADD(path, setup, fn) g_test_add(path, Fixture, NULL, setup, fn, fixture_teardown)
        ADD("/drm/discovery/devices", fixture_setup, test_discovery);
        ADD("/drm/discovery/sysfs-driver", fixture_setup, test_discovery_sysfs_driver);
        ADD("/drm/discovery/empty", fixture_setup_empty, test_discovery_empty);
        ADD("/drm/discovery/no-dumb-buffers", fixture_setup, test_discovery_no_dumb_buffers);
        ADD("/drm/allocate/card0", fixture_setup, test_allocate_card0);
        ADD("/drm/allocate/auto", fixture_setup, test_allocate_auto);
        ADD("/drm/allocate/auto-skips-incapable", fixture_setup,
            test_allocate_auto_skips_incapable);
        ADD("/drm/allocate/udmabuf", fixture_setup_empty, test_allocate_udmabuf);
        ADD("/drm/allocate/memfd", fixture_setup_empty, test_allocate_memfd);
        ADD("/drm/allocate/bad-requests", fixture_setup, test_allocate_bad_requests);
        ADD("/drm/hotplug/add-remove", fixture_setup, test_hotplug);
        ADD("/drm/hotplug/observer-removal", fixture_setup, test_hotplug_observer_removal);
#undef ADD
        for (size_t i = 0; i < G_N_ELEMENTS(fail_cases); i++) {
                g_autofree char *path = g_strdup_printf("/drm/fail/%s", fail_cases[i].name);

                g_test_add(path, Fixture, &fail_cases[i], fixture_setup, test_allocate_failure,
                           fixture_teardown);
        }
        return g_test_run();
}
