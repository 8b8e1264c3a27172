/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drm-device.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <systemd/sd-device.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "fd-util.h"
#include "log.h"

/* Dumb buffers are allocated as 1024 px wide 32 bpp images: one row is 4 KiB,
 * so the height is the size in pages. The kernel caps a dumb buffer at
 * 4 GiB (u32 pitch * height). */
#define DUMB_WIDTH 1024u
#define DUMB_BPP 32u
#define DUMB_PITCH (DUMB_WIDTH * DUMB_BPP / 8u)
#define DUMB_MAX_SIZE ((uint64_t) UINT32_MAX / DUMB_PITCH * DUMB_PITCH)

struct DrmDevice {
        char *syspath;
        char *sysname;
        char *devnode;
        char *driver;
        char *pci_slot;
        DrmDeviceKind kind;
        unsigned minor; /* the number in the sysname */
        uint16_t pci_vendor;
        uint16_t pci_device;
        bool dumb_buffers; /* a card node that said DRM_CAP_DUMB_BUFFER when found */
};

typedef struct {
        unsigned id;
        DrmDeviceObserverFn fn; /* NULL: removed while dispatching */
        void *userdata;
} DrmObserver;

struct DrmDeviceList {
        GPtrArray *devices; /* DrmDevice*, ordered by drm_device_compare */
        GArray *observers;  /* DrmObserver */
        unsigned next_observer_id;
        unsigned dispatching;
        sd_device_monitor *monitor;
        char *udmabuf_path;
};

/* ioctl that retries when interrupted, as DRM ioctls may be. -errno. */
static int drm_ioctl(int fd, unsigned long request, void *arg)
{
        for (;;) {
                if (ioctl(fd, request, arg) >= 0)
                        return 0;
                if (errno != EINTR && errno != EAGAIN)
                        return -errno;
        }
}

/* ---- devices ---- */

static void drm_device_free(DrmDevice *d)
{
        if (!d)
                return;
        g_free(d->syspath);
        g_free(d->sysname);
        g_free(d->devnode);
        g_free(d->driver);
        g_free(d->pci_slot);
        g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DrmDevice, drm_device_free)

/* "card3" -> CARD, 3; "renderD128" -> RENDER, 128; connectors
 * ("card0-HDMI-A-1") and anything else -> -EINVAL. */
static int drm_parse_sysname(const char *sysname, DrmDeviceKind *kind, unsigned *minor)
{
        static const struct {
                const char *prefix;
                DrmDeviceKind kind;
        } prefixes[] = {
            {"card", DRM_DEVICE_CARD},
            {"renderD", DRM_DEVICE_RENDER},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
                size_t n = strlen(prefixes[i].prefix);
                const char *digits = sysname + n;
                char *end = NULL;
                unsigned long v;

                if (strncmp(sysname, prefixes[i].prefix, n) != 0 || !g_ascii_isdigit(digits[0]))
                        continue;
                errno = 0;
                v = strtoul(digits, &end, 10);
                if (errno != 0 || *end != '\0' || v > UINT_MAX)
                        return -EINVAL;
                *kind = prefixes[i].kind;
                *minor = (unsigned) v;
                return 0;
        }
        return -EINVAL;
}

/* The driver name the node reports and, on a card node, whether it has dumb
 * buffers. Opening a card node is harmless for a non-root opener; as root it
 * can briefly make us DRM master, which is why the fd lives only for these
 * ioctls. *ret_driver stays NULL when DRM_IOCTL_VERSION tells nothing. */
static int drm_query_node(const char *devnode, DrmDeviceKind kind, char **ret_driver,
                          bool *ret_dumb)
{
        _cleanup_close_ int fd = open(devnode, O_RDWR | O_CLOEXEC | O_NOCTTY);
        struct drm_get_cap cap = {.capability = DRM_CAP_DUMB_BUFFER};
        char name[128] = "";
        struct drm_version v = {
            .name_len = sizeof(name) - 1,
            .name = name,
        };
        int r;

        *ret_driver = NULL;
        *ret_dumb = false;
        if (fd < 0)
                return -errno;
        if (kind == DRM_DEVICE_CARD && drm_ioctl(fd, DRM_IOCTL_GET_CAP, &cap) >= 0)
                *ret_dumb = cap.value != 0;
        r = drm_ioctl(fd, DRM_IOCTL_VERSION, &v);
        if (r < 0)
                return r;
        name[MIN(v.name_len, sizeof(name) - 1)] = '\0';
        if (name[0] == '\0')
                return -ENODATA;
        *ret_driver = g_strdup(name);
        return 0;
}

/* The sysfs driver link of the device or its nearest parent that has one. */
static char *drm_sysfs_driver(sd_device *sd)
{
        for (sd_device *d = sd; d;) {
                const char *driver = NULL;
                sd_device *parent = NULL;

                if (sd_device_get_driver(d, &driver) >= 0 && driver && driver[0])
                        return g_strdup(driver);
                if (sd_device_get_parent(d, &parent) < 0)
                        break;
                d = parent;
        }
        return NULL;
}

static uint16_t sysattr_hex16(sd_device *d, const char *attr)
{
        const char *value = NULL;
        char *end = NULL;
        unsigned long v;

        if (sd_device_get_sysattr_value(d, attr, &value) < 0 || !value)
                return 0;
        errno = 0;
        v = strtoul(value, &end, 16);
        if (errno != 0 || end == value || v > UINT16_MAX)
                return 0;
        return (uint16_t) v;
}

/* A DrmDevice for a card or render node; *ret NULL (and 0) for what we do
 * not track: connectors, nodes without a devnode. */
static int drm_device_new_from_sd(sd_device *sd, DrmDevice **ret)
{
        g_autoptr(DrmDevice) d = NULL;
        const char *syspath = NULL, *sysname = NULL, *devnode = NULL;
        sd_device *pci = NULL;
        DrmDeviceKind kind;
        unsigned minor;
        int r;

        *ret = NULL;
        r = sd_device_get_syspath(sd, &syspath);
        if (r < 0)
                return r;
        r = sd_device_get_sysname(sd, &sysname);
        if (r < 0)
                return r;
        if (drm_parse_sysname(sysname, &kind, &minor) < 0)
                return 0;
        if (sd_device_get_devname(sd, &devnode) < 0 || !devnode)
                return 0;

        d = g_new0(DrmDevice, 1);
        d->syspath = g_strdup(syspath);
        d->sysname = g_strdup(sysname);
        d->devnode = g_strdup(devnode);
        d->kind = kind;
        d->minor = minor;

        r = drm_query_node(devnode, kind, &d->driver, &d->dumb_buffers);
        if (r < 0) {
                log_debug_errno(r, "drm: %s: DRM_IOCTL_VERSION failed, using the sysfs driver",
                                devnode);
                d->driver = drm_sysfs_driver(sd);
        }
        if (!d->driver)
                d->driver = g_strdup("");

        if (sd_device_get_parent_with_subsystem_devtype(sd, "pci", NULL, &pci) >= 0) {
                const char *slot = NULL;

                if (sd_device_get_sysname(pci, &slot) >= 0 && slot)
                        d->pci_slot = g_strdup(slot);
                d->pci_vendor = sysattr_hex16(pci, "vendor");
                d->pci_device = sysattr_hex16(pci, "device");
        }
        if (!d->pci_slot)
                d->pci_slot = g_strdup("");

        *ret = g_steal_pointer(&d);
        return 0;
}

static gint drm_device_compare(gconstpointer a, gconstpointer b)
{
        const DrmDevice *x = *(const DrmDevice *const *) a;
        const DrmDevice *y = *(const DrmDevice *const *) b;

        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        if (x->minor != y->minor)
                return x->minor < y->minor ? -1 : 1;
        return strcmp(x->syspath, y->syspath);
}

const char *drm_device_syspath(const DrmDevice *d)
{
        return d->syspath;
}

const char *drm_device_sysname(const DrmDevice *d)
{
        return d->sysname;
}

const char *drm_device_devnode(const DrmDevice *d)
{
        return d->devnode;
}

DrmDeviceKind drm_device_kind(const DrmDevice *d)
{
        return d->kind;
}

const char *drm_device_driver(const DrmDevice *d)
{
        return d->driver;
}

const char *drm_device_pci_slot(const DrmDevice *d)
{
        return d->pci_slot;
}

bool drm_device_can_allocate(const DrmDevice *d)
{
        return d->dumb_buffers;
}

uint16_t drm_device_pci_vendor(const DrmDevice *d)
{
        return d->pci_vendor;
}

uint16_t drm_device_pci_device(const DrmDevice *d)
{
        return d->pci_device;
}

const char *drm_device_kind_to_string(DrmDeviceKind k)
{
        switch (k) {
        case DRM_DEVICE_CARD:
                return "card";
        case DRM_DEVICE_RENDER:
                return "render";
        }
        return "unknown";
}

const char *drm_exporter_to_string(DrmExporter e)
{
        switch (e) {
        case DRM_EXPORTER_DRM_DUMB:
                return "drm-dumb";
        case DRM_EXPORTER_UDMABUF:
                return "udmabuf";
        case DRM_EXPORTER_MEMFD:
                return "memfd";
        }
        return "unknown";
}

/* ---- the list ---- */

static void drm_device_list_notify(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev)
{
        l->dispatching++;
        /* observers->len is read each time: observers added from a callback
         * are called too; removed ones have fn NULL until we compact. */
        for (guint i = 0; i < l->observers->len; i++) {
                DrmObserver *o = &g_array_index(l->observers, DrmObserver, i);

                if (o->fn)
                        o->fn(l, d, ev, o->userdata);
        }
        l->dispatching--;
        if (l->dispatching == 0) {
                for (guint i = l->observers->len; i > 0; i--)
                        if (!g_array_index(l->observers, DrmObserver, i - 1).fn)
                                g_array_remove_index(l->observers, i - 1);
        }
}

static DrmDevice *drm_device_list_find_syspath(const DrmDeviceList *l, const char *syspath,
                                               guint *index)
{
        for (guint i = 0; i < l->devices->len; i++) {
                DrmDevice *d = g_ptr_array_index(l->devices, i);

                if (strcmp(d->syspath, syspath) == 0) {
                        if (index)
                                *index = i;
                        return d;
                }
        }
        return NULL;
}

/* Takes d. Returns false (and frees d) when the syspath is already known. */
static bool drm_device_list_insert(DrmDeviceList *l, DrmDevice *d)
{
        guint at = 0;

        if (drm_device_list_find_syspath(l, d->syspath, NULL)) {
                drm_device_free(d);
                return false;
        }
        while (at < l->devices->len &&
               drm_device_compare(&g_ptr_array_index(l->devices, at), &d) < 0)
                at++;
        g_ptr_array_insert(l->devices, (gint) at, d);
        return true;
}

static int drm_device_list_enumerate(DrmDeviceList *l)
{
        __attribute__((cleanup(sd_device_enumerator_unrefp))) sd_device_enumerator *e = NULL;
        int r;

        r = sd_device_enumerator_new(&e);
        if (r < 0)
                return r;
        r = sd_device_enumerator_add_match_subsystem(e, "drm", true);
        if (r < 0)
                return r;
        for (sd_device *sd = sd_device_enumerator_get_device_first(e); sd;
             sd = sd_device_enumerator_get_device_next(e)) {
                DrmDevice *d = NULL;

                r = drm_device_new_from_sd(sd, &d);
                if (r < 0) {
                        log_debug_errno(r, "drm: skipping a device that vanished while listed");
                        continue;
                }
                if (d)
                        drm_device_list_insert(l, d);
        }
        return 0;
}

static void drm_device_list_on_add(DrmDeviceList *l, sd_device *sd)
{
        DrmDevice *d = NULL;
        int r;

        r = drm_device_new_from_sd(sd, &d);
        if (r < 0) {
                log_warning_errno(r, "drm: cannot read an added device");
                return;
        }
        if (!d)
                return;
        /* A device we already know (a repeated "add") is not news. */
        if (!drm_device_list_insert(l, d))
                return;
        log_info("drm: device %s added (driver %s)", d->devnode, d->driver);
        drm_device_list_notify(l, d, DRM_DEVICE_ADDED);
}

static void drm_device_list_on_remove(DrmDeviceList *l, sd_device *sd)
{
        const char *syspath = NULL;
        DrmDevice *d;
        guint index;

        if (sd_device_get_syspath(sd, &syspath) < 0 || !syspath)
                return;
        d = drm_device_list_find_syspath(l, syspath, &index);
        if (!d)
                return;
        log_info("drm: device %s removed", d->devnode);
        g_ptr_array_steal_index(l->devices, index);
        drm_device_list_notify(l, d, DRM_DEVICE_REMOVED);
        drm_device_free(d);
}

static int drm_device_list_on_uevent(sd_device_monitor *m, sd_device *sd, void *userdata)
{
        DrmDeviceList *l = userdata;
        sd_device_action_t action;

        if (sd_device_get_action(sd, &action) < 0)
                return 0;
        if (action == SD_DEVICE_ADD)
                drm_device_list_on_add(l, sd);
        else if (action == SD_DEVICE_REMOVE)
                drm_device_list_on_remove(l, sd);
        return 0;
}

static int drm_device_list_start_monitor(DrmDeviceList *l, sd_event *ev)
{
        int r;

        r = sd_device_monitor_new(&l->monitor);
        if (r < 0)
                return r;
        r = sd_device_monitor_filter_add_match_subsystem_devtype(l->monitor, "drm", NULL);
        if (r < 0)
                return r;
        r = sd_device_monitor_attach_event(l->monitor, ev);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(sd_device_monitor_get_event_source(l->monitor),
                                               "drm-monitor");
        return sd_device_monitor_start(l->monitor, drm_device_list_on_uevent, l);
}

int drm_device_list_new(sd_event *ev, DrmDeviceList **ret)
{
        DrmDeviceList *l = g_new0(DrmDeviceList, 1);
        int r;

        l->devices = g_ptr_array_new_with_free_func((GDestroyNotify) drm_device_free);
        l->observers = g_array_new(FALSE, FALSE, sizeof(DrmObserver));
        l->next_observer_id = 1;
        l->udmabuf_path = g_strdup("/dev/udmabuf");

        /* Monitor first, enumerate second: a device plugged in between is then
         * seen twice (harmless) rather than never. */
        if (ev) {
                /* sd-device's monitor listens to udevd's multicast group; without
                 * udevd it binds to no group and stays silent. */
                if (access("/run/udev/control", F_OK) < 0)
                        log_notice("drm: udev does not seem to run (no /run/udev/control): "
                                   "DRM hotplug may go unnoticed");
                r = drm_device_list_start_monitor(l, ev);
                if (r < 0) {
                        drm_device_list_free(l);
                        return log_error_errno(r, "drm: cannot monitor DRM uevents");
                }
        }
        r = drm_device_list_enumerate(l);
        if (r < 0) {
                drm_device_list_free(l);
                return log_error_errno(r, "drm: cannot enumerate DRM devices");
        }
        *ret = l;
        return 0;
}

void drm_device_list_free(DrmDeviceList *l)
{
        if (!l)
                return;
        if (l->monitor) {
                (void) sd_device_monitor_stop(l->monitor);
                (void) sd_device_monitor_detach_event(l->monitor);
                sd_device_monitor_unref(l->monitor);
        }
        g_ptr_array_unref(l->devices);
        g_array_unref(l->observers);
        g_free(l->udmabuf_path);
        g_free(l);
}

int drm_device_list_set_udmabuf_path(DrmDeviceList *l, const char *path)
{
        if (path && path[0] != '/')
                return -EINVAL;
        g_free(l->udmabuf_path);
        l->udmabuf_path = g_strdup(path);
        return 0;
}

unsigned drm_device_list_add_observer(DrmDeviceList *l, DrmDeviceObserverFn fn, void *userdata)
{
        DrmObserver o = {
            .id = l->next_observer_id++,
            .fn = fn,
            .userdata = userdata,
        };

        g_array_append_val(l->observers, o);
        return o.id;
}

void drm_device_list_remove_observer(DrmDeviceList *l, unsigned id)
{
        for (guint i = 0; i < l->observers->len; i++) {
                DrmObserver *o = &g_array_index(l->observers, DrmObserver, i);

                if (o->id != id)
                        continue;
                if (l->dispatching > 0)
                        o->fn = NULL;
                else
                        g_array_remove_index(l->observers, i);
                return;
        }
}

unsigned drm_device_list_size(const DrmDeviceList *l)
{
        return l->devices->len;
}

void drm_device_list_foreach(DrmDeviceList *l, bool (*fn)(const DrmDevice *d, void *userdata),
                             void *userdata)
{
        for (guint i = 0; i < l->devices->len; i++)
                if (!fn(g_ptr_array_index(l->devices, i), userdata))
                        return;
}

const DrmDevice *drm_device_list_find(const DrmDeviceList *l, const char *name)
{
        if (!name)
                return NULL;
        for (guint i = 0; i < l->devices->len; i++) {
                const DrmDevice *d = g_ptr_array_index(l->devices, i);

                if (strcmp(d->devnode, name) == 0 || strcmp(d->syspath, name) == 0 ||
                    strcmp(d->sysname, name) == 0)
                        return d;
        }
        return NULL;
}

/* ---- allocation ---- */

/* Errors of opening a device or of its ioctls, as drm_allocate names them. */
static int drm_alloc_error(int r)
{
        switch (-r) {
        case EPERM:
        case EACCES:
                return -EACCES;
        case ENOENT:
        case ENXIO:
        case ENODEV:
                return -ENODEV;
        case ENOTTY:
        case ENOSYS:
        case EOPNOTSUPP:
                return -EOPNOTSUPP;
        default:
                return r;
        }
}

typedef struct {
        int fd;
        uint32_t handle;
} GemHandle;

/* Every dumb buffer handle is closed, whatever happened after creating it:
 * the exported dma-buf keeps its own reference to the buffer. */
static void gem_handle_closep(GemHandle *h)
{
        struct drm_gem_close c = {.handle = h->handle};
        int r;

        if (h->fd < 0)
                return;
        r = drm_ioctl(h->fd, DRM_IOCTL_GEM_CLOSE, &c);
        if (r < 0)
                log_warning_errno(r, "drm: cannot close GEM handle %u", h->handle);
}

/* Size of what fd refers to, or -errno. dma-bufs and memfds both answer. */
static int64_t fd_size(int fd)
{
        off_t end = lseek(fd, 0, SEEK_END);

        if (end < 0)
                return -errno;
        (void) lseek(fd, 0, SEEK_SET);
        return end;
}

static int drm_dumb_allocate(const char *devnode, uint64_t size, DrmAllocResult *out)
{
        struct drm_get_cap cap = {.capability = DRM_CAP_DUMB_BUFFER};
        struct drm_mode_create_dumb create = {
            .width = DUMB_WIDTH,
            .bpp = DUMB_BPP,
        };
        struct drm_prime_handle prime = {.flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1};
        /* Cleanups run in reverse order: the handle is closed before its device. */
        _cleanup_close_ int fd = -1;
        __attribute__((cleanup(gem_handle_closep))) GemHandle gem = {.fd = -1};
        _cleanup_close_ int buf = -1;
        int64_t actual;
        int r;

        if (size > DUMB_MAX_SIZE)
                return -EFBIG;
        create.height = (uint32_t) ((size + DUMB_PITCH - 1) / DUMB_PITCH);

        fd = open(devnode, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return drm_alloc_error(-errno);

        r = drm_ioctl(fd, DRM_IOCTL_GET_CAP, &cap);
        if (r < 0 && drm_alloc_error(r) == -EACCES)
                return -EACCES;
        if (r < 0 || cap.value == 0)
                return -EOPNOTSUPP;

        r = drm_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create);
        if (r < 0)
                return drm_alloc_error(r);
        gem = (GemHandle){.fd = fd, .handle = create.handle};
        if (create.size < size)
                return log_warning_errno(-EIO, "drm: %s made a dumb buffer of %llu bytes for %llu",
                                         devnode, (unsigned long long) create.size,
                                         (unsigned long long) size);

        prime.handle = create.handle;
        r = drm_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
        if (r < 0)
                return drm_alloc_error(r);
        if (prime.fd < 0)
                return -EIO;
        buf = prime.fd;

        /* The fd must hold what the device promised before anyone relies on it. */
        actual = fd_size(buf);
        if (actual >= 0 && (uint64_t) actual < size)
                return log_warning_errno(-EIO, "drm: %s exported %lld bytes for %llu", devnode,
                                         (long long) actual, (unsigned long long) size);

        out->fd = g_steal_fd(&buf);
        out->size = create.size;
        out->exporter = DRM_EXPORTER_DRM_DUMB;
        g_strlcpy(out->device, devnode, sizeof(out->device));
        return 0;
}

static int sealed_memfd(const char *name, uint64_t size, unsigned seals, int *ret)
{
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0)
                return -errno;
        if (fcntl(fd, F_ADD_SEALS, seals) < 0)
                return -errno;
        *ret = g_steal_fd(&fd);
        return 0;
}

static int udmabuf_allocate(const char *path, uint64_t size, DrmAllocResult *out)
{
        uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);
        uint64_t rounded = (size + page - 1) / page * page;
        struct udmabuf_create create = {
            .flags = UDMABUF_FLAGS_CLOEXEC,
            .offset = 0,
            .size = rounded,
        };
        _cleanup_close_ int dev = -1;
        _cleanup_close_ int memfd = -1;
        int buf;
        int r;

        if (rounded < size || rounded > INT64_MAX)
                return -EFBIG;
        dev = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (dev < 0)
                return drm_alloc_error(-errno);
        /* udmabuf insists on a memfd that cannot shrink under the pages it pins. */
        r = sealed_memfd("vhost-share-udmabuf", rounded, F_SEAL_SHRINK, &memfd);
        if (r < 0)
                return r;
        create.memfd = (uint32_t) memfd;
        buf = ioctl(dev, UDMABUF_CREATE, &create);
        if (buf < 0)
                return drm_alloc_error(-errno);

        out->fd = buf;
        out->size = rounded;
        out->exporter = DRM_EXPORTER_UDMABUF;
        g_strlcpy(out->device, path, sizeof(out->device));
        return 0;
}

static int memfd_allocate(uint64_t size, DrmAllocResult *out)
{
        int r;

        if (size > INT64_MAX)
                return -EFBIG;
        /* Sealed so that whoever receives the fd sees a fixed size, like a dma-buf. */
        r = sealed_memfd("vhost-share", size, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, &out->fd);
        if (r < 0)
                return r;
        out->size = size;
        out->exporter = DRM_EXPORTER_MEMFD;
        out->device[0] = '\0';
        return 0;
}

static void drm_alloc_result_init(DrmAllocResult *out)
{
        *out = (DrmAllocResult){.fd = -1};
}

int drm_allocate(DrmDeviceList *l, const char *device, uint64_t size, DrmAllocResult *out)
{
        int r;

        drm_alloc_result_init(out);
        if (size == 0)
                return -EINVAL;

        if (device) {
                const DrmDevice *d = l ? drm_device_list_find(l, device) : NULL;

                if (!d)
                        return -ENODEV;
                if (d->kind != DRM_DEVICE_CARD)
                        return -EOPNOTSUPP; /* render nodes refuse the dumb-buffer ioctls */
                r = drm_dumb_allocate(d->devnode, size, out);
                if (r < 0)
                        drm_alloc_result_init(out);
                return r;
        }

        for (guint i = 0; l && i < l->devices->len; i++) {
                const DrmDevice *d = g_ptr_array_index(l->devices, i);

                if (d->kind != DRM_DEVICE_CARD)
                        continue;
                r = drm_dumb_allocate(d->devnode, size, out);
                if (r >= 0)
                        return 0;
                drm_alloc_result_init(out);
                log_debug_errno(r, "drm: no dumb buffer of %llu bytes on %s, trying the next",
                                (unsigned long long) size, d->devnode);
        }

        const char *udmabuf = l ? l->udmabuf_path : "/dev/udmabuf";
        if (udmabuf) {
                r = udmabuf_allocate(udmabuf, size, out);
                if (r >= 0)
                        return 0;
                drm_alloc_result_init(out);
                log_debug_errno(r, "drm: no udmabuf of %llu bytes from %s, using a memfd",
                                (unsigned long long) size, udmabuf);
        }

        r = memfd_allocate(size, out);
        if (r < 0)
                drm_alloc_result_init(out);
        return r;
}

void drm_alloc_result_clear(DrmAllocResult *out)
{
        if (out->fd >= 0)
                close(out->fd);
        out->fd = -1;
}

int drm_alloc_result_buffer_info(const DrmAllocResult *r, ShareBufferInfo *info)
{
        int k;

        if (!r || !info)
                return -EINVAL;
        k = share_buffer_info_from_fd(r->fd, info);
        if (k < 0)
                return k;
        if (info->size == 0)
                info->size = r->size;
        if (info->exporter[0] == '\0')
                g_strlcpy(info->exporter, drm_exporter_to_string(r->exporter),
                          sizeof(info->exporter));
        g_strlcpy(info->device, r->device, sizeof(info->device));
        g_strlcpy(info->allocator, drm_exporter_to_string(r->exporter), sizeof(info->allocator));
        return 0;
}
