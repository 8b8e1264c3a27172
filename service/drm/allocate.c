/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "allocate.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/udmabuf.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "cleanup.h"
#include "drm-ioctl.h"
#include "enum-name.h"
#include "fd-util.h"
#include "log.h"

/* Dumb buffers are allocated as 1024 px wide 32 bpp images: one row is 4 KiB,
 * so the height is the size in pages. The kernel caps a dumb buffer at
 * 4 GiB (u32 pitch * height). */
#define DUMB_WIDTH 1024u
#define DUMB_BPP 32u
#define DUMB_PITCH (DUMB_WIDTH * DUMB_BPP / 8u)
#define DUMB_MAX_SIZE ((uint64_t) UINT32_MAX / DUMB_PITCH * DUMB_PITCH)

static const char *const drm_exporter_names[] = {
    [DRM_EXPORTER_DRM_DUMB] = "drm-dumb",
    [DRM_EXPORTER_UDMABUF] = "udmabuf",
    [DRM_EXPORTER_MEMFD] = "memfd",
};
DEFINE_ENUM_TO_STRING(drm_exporter, DrmExporter);

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
                log_warning_errno(r, "Failed to close GEM handle %u: %m", h->handle);
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
        _cleanup_(gem_handle_closep) GemHandle gem = {.fd = -1};
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
                return log_warning_errno(
                    -EIO, "drm: %s made a dumb buffer of %llu bytes for %llu: %m", devnode,
                    (unsigned long long) create.size, (unsigned long long) size);

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
                return log_warning_errno(-EIO, "drm: %s exported %lld bytes for %llu: %m", devnode,
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

typedef struct {
        uint64_t size;
        DrmAllocResult *out;
        bool done;
} CardAttempt;

/* Tries a dumb buffer on each card node in turn until one makes it. */
static bool try_card(const DrmDevice *d, void *userdata)
{
        CardAttempt *a = userdata;
        int r;

        if (d->kind != DRM_DEVICE_CARD)
                return true;
        r = drm_dumb_allocate(d->devnode, a->size, a->out);
        if (r >= 0) {
                a->done = true;
                return false;
        }
        drm_alloc_result_init(a->out);
        log_debug_errno(r, "Failed to make a dumb buffer of %llu bytes on %s, trying the next: %m",
                        (unsigned long long) a->size, d->devnode);
        return true;
}

int drm_allocate(DrmDeviceList *l, const char *device, uint64_t size, DrmAllocResult *out)
{
        CardAttempt cards = {.size = size, .out = out};
        const char *udmabuf;
        int r;

        drm_alloc_result_init(out);
        if (size == 0)
                return -EINVAL;

        /* Only when asked for: a memfd is no dma-buf, whatever it stands in for. */
        if (device && strcmp(device, DRM_ALLOCATE_MEMFD) == 0) {
                r = memfd_allocate(size, out);
                if (r < 0)
                        drm_alloc_result_init(out);
                return r;
        }

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

        if (l) {
                drm_device_list_foreach(l, try_card, &cards);
                if (cards.done)
                        return 0;
        }

        udmabuf = l ? drm_device_list_udmabuf_path(l) : "/dev/udmabuf";
        if (udmabuf) {
                r = udmabuf_allocate(udmabuf, size, out);
                if (r >= 0)
                        return 0;
                drm_alloc_result_init(out);
                return r;
        }
        return -ENODEV;
}

void drm_alloc_result_clear(DrmAllocResult *out)
{
        fd_close_safe(&out->fd);
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
