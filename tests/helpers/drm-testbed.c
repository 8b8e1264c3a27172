/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Emulated DRM devices for umockdev tests (see drm-testbed.h). */
#include "drm-testbed.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

/* ---- the emulated DRM device ---- */

FakeDrm *fake_drm_new(const char *devnode)
{
        FakeDrm *f = g_new0(FakeDrm, 1);

        g_mutex_init(&f->lock);
        f->devnode = g_strdup(devnode);
        f->dumb_cap = true;
        f->handles = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        f->next_handle = 1;
        return f;
}

void fake_drm_free(FakeDrm *f)
{
        g_hash_table_unref(f->handles);
        g_free(f->devnode);
        g_mutex_clear(&f->lock);
        g_free(f);
}

unsigned fake_drm_open_handles(FakeDrm *f)
{
        g_mutex_lock(&f->lock);
        unsigned n = g_hash_table_size(f->handles);
        g_mutex_unlock(&f->lock);
        return n;
}

/* Resolves the ioctl's struct argument, or completes with EFAULT. */
static UMockdevIoctlData *fake_resolve(UMockdevIoctlClient *c, size_t len)
{
        g_autoptr(GError) error = NULL;
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, len, &error);

        if (!d) {
                g_printerr("fake drm: cannot resolve ioctl argument: %s\n",
                           error ? error->message : "null pointer");
                umockdev_ioctl_client_complete(c, -1, EFAULT);
        }
        return d;
}

static void fake_version(FakeDrm *f, UMockdevIoctlClient *c)
{
        g_autoptr(UMockdevIoctlData) d = fake_resolve(c, sizeof(struct drm_version));
        g_autoptr(UMockdevIoctlData) name = NULL;
        struct drm_version *v;

        if (!d)
                return;
        if (f->version_errno) {
                umockdev_ioctl_client_complete(c, -1, f->version_errno);
                return;
        }
        v = (struct drm_version *) d->data;
        if (v->name_len > 0 && v->name) {
                size_t len = v->name_len;

                name = umockdev_ioctl_data_resolve(d, G_STRUCT_OFFSET(struct drm_version, name),
                                                   len, NULL);
                if (!name) {
                        umockdev_ioctl_client_complete(c, -1, EFAULT);
                        return;
                }
                /* Like the kernel: copy what fits, no terminator promised. */
                memcpy(name->data, FAKE_DRIVER, MIN(len, strlen(FAKE_DRIVER)));
        }
        v = (struct drm_version *) d->data;
        v->version_major = 1;
        v->name_len = strlen(FAKE_DRIVER);
        umockdev_ioctl_client_complete(c, 0, 0);
}

static void fake_get_cap(FakeDrm *f, UMockdevIoctlClient *c)
{
        g_autoptr(UMockdevIoctlData) d = fake_resolve(c, sizeof(struct drm_get_cap));
        struct drm_get_cap *cap;

        if (!d)
                return;
        cap = (struct drm_get_cap *) d->data;
        if (cap->capability != DRM_CAP_DUMB_BUFFER) {
                umockdev_ioctl_client_complete(c, -1, EINVAL);
                return;
        }
        cap->value = f->dumb_cap ? 1 : 0;
        umockdev_ioctl_client_complete(c, 0, 0);
}

static void fake_create_dumb(FakeDrm *f, UMockdevIoctlClient *c)
{
        g_autoptr(UMockdevIoctlData) d = fake_resolve(c, sizeof(struct drm_mode_create_dumb));
        struct drm_mode_create_dumb *cd;
        uint64_t pitch;

        if (!d)
                return;
        cd = (struct drm_mode_create_dumb *) d->data;
        f->last_create = *cd;
        if (!f->dumb_cap) {
                umockdev_ioctl_client_complete(c, -1, EOPNOTSUPP);
                return;
        }
        if (f->create_errno) {
                umockdev_ioctl_client_complete(c, -1, f->create_errno);
                return;
        }
        if (cd->width == 0 || cd->height == 0 || cd->bpp == 0) {
                umockdev_ioctl_client_complete(c, -1, EINVAL);
                return;
        }
        pitch = (uint64_t) cd->width * ((cd->bpp + 7) / 8);
        cd->pitch = (uint32_t) pitch;
        cd->size = pitch * cd->height;
        cd->handle = f->next_handle++;
        g_hash_table_insert(f->handles, GUINT_TO_POINTER(cd->handle), g_memdup2(&cd->size, 8));
        umockdev_ioctl_client_complete(c, 0, 0);
}

/* The exported "dma-buf": a sealed memfd of the buffer's size, starting with
 * a pattern naming the handle, so the test can tell it is this one. */
static int fake_export_memfd(FakeDrm *f, uint32_t handle, uint64_t size)
{
        g_autofree char *pattern =
            g_strdup_printf("%s:%s:handle=%u", FAKE_DRIVER, f->devnode, handle);
        struct stat st;
        int fd = memfd_create("vsh-fake-dmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0 ||
            pwrite(fd, pattern, strlen(pattern), 0) != (ssize_t) strlen(pattern) ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
            fstat(fd, &st) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        f->memfd_dev = st.st_dev;
        f->memfd_ino = st.st_ino;
        return fd;
}

static void fake_prime_handle_to_fd(FakeDrm *f, UMockdevIoctlClient *c)
{
        g_autoptr(UMockdevIoctlData) d = fake_resolve(c, sizeof(struct drm_prime_handle));
        struct drm_prime_handle *p;
        uint64_t *size;
        int fd;

        if (!d)
                return;
        p = (struct drm_prime_handle *) d->data;
        f->last_prime_flags = p->flags;
        size = g_hash_table_lookup(f->handles, GUINT_TO_POINTER(p->handle));
        if (!size) {
                umockdev_ioctl_client_complete(c, -1, ENOENT);
                return;
        }
        if (f->prime_errno) {
                umockdev_ioctl_client_complete(c, -1, f->prime_errno);
                return;
        }
        fd = fake_export_memfd(f, p->handle, f->short_export ? *size / 2 : *size);
        if (fd < 0) {
                umockdev_ioctl_client_complete(c, -1, -fd);
                return;
        }
        p->fd = fd;
        umockdev_ioctl_client_complete(c, 0, 0);
}

static void fake_gem_close(FakeDrm *f, UMockdevIoctlClient *c, size_t len)
{
        /* drm_gem_close and drm_mode_destroy_dumb both start with the handle. */
        g_autoptr(UMockdevIoctlData) d = fake_resolve(c, len);
        uint32_t handle;

        if (!d)
                return;
        memcpy(&handle, d->data, sizeof(handle));
        if (!g_hash_table_remove(f->handles, GUINT_TO_POINTER(handle))) {
                umockdev_ioctl_client_complete(c, -1, EINVAL);
                return;
        }
        umockdev_ioctl_client_complete(c, 0, 0);
}

gboolean fake_drm_on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *c, gpointer userdata)
{
        FakeDrm *f = userdata;
        gulong request = umockdev_ioctl_client_get_request(c);

        g_mutex_lock(&f->lock);
        switch (request) {
        case DRM_IOCTL_VERSION:
                f->n_version++;
                fake_version(f, c);
                break;
        case DRM_IOCTL_GET_CAP:
                f->n_get_cap++;
                fake_get_cap(f, c);
                break;
        case DRM_IOCTL_MODE_CREATE_DUMB:
                f->n_create++;
                fake_create_dumb(f, c);
                break;
        case DRM_IOCTL_PRIME_HANDLE_TO_FD:
                f->n_prime++;
                fake_prime_handle_to_fd(f, c);
                break;
        case DRM_IOCTL_GEM_CLOSE:
                f->n_close++;
                fake_gem_close(f, c, sizeof(struct drm_gem_close));
                break;
        case DRM_IOCTL_MODE_DESTROY_DUMB:
                f->n_close++;
                fake_gem_close(f, c, sizeof(struct drm_mode_destroy_dumb));
                break;
        default:
                f->n_other++;
                umockdev_ioctl_client_complete(c, -1, ENOTTY);
                break;
        }
        g_mutex_unlock(&f->lock);
        return TRUE;
}

/* ---- the emulated udmabuf device ---- */

gboolean fake_udmabuf_on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *c,
                               gpointer userdata)
{
        FakeUdmabuf *u = userdata;
        g_autoptr(UMockdevIoctlData) d = NULL;
        struct udmabuf_create *cr;
        struct stat st;
        int fd;

        if (umockdev_ioctl_client_get_request(c) != UDMABUF_CREATE) {
                umockdev_ioctl_client_complete(c, -1, ENOTTY);
                return TRUE;
        }
        d = fake_resolve(c, sizeof(struct udmabuf_create));
        if (!d)
                return TRUE;
        cr = (struct udmabuf_create *) d->data;
        g_mutex_lock(&u->lock);
        u->n_create++;
        u->last = *cr;
        /* The memfd number is the caller's, and the caller is this process. */
        u->last_seals = fcntl((int) cr->memfd, F_GET_SEALS);
        if (fstat((int) cr->memfd, &st) == 0) {
                u->memfd_dev = st.st_dev;
                u->memfd_ino = st.st_ino;
        }
        g_mutex_unlock(&u->lock);
        if (!(u->last_seals >= 0 && (u->last_seals & F_SEAL_SHRINK))) {
                umockdev_ioctl_client_complete(c, -1, EINVAL);
                return TRUE;
        }
        /* Stands in for the dma-buf: the same pages, hence a dup. */
        fd = fcntl((int) cr->memfd, F_DUPFD_CLOEXEC, 3);
        umockdev_ioctl_client_complete(c, fd, fd < 0 ? errno : 0);
        return TRUE;
}

/* ---- fixture ---- */

/* The fake device node: a plain file in the testbed's /dev, which the
 * preload library redirects opens to and whose ioctls go to the handler. */
void drm_testbed_add_node(DrmTestbed *fx, const char *devnode, GCallback cb, gpointer data)
{
        g_autofree char *path = g_build_filename(fx->root, devnode, NULL);
        g_autofree char *dir = g_path_get_dirname(path);
        g_autoptr(GError) error = NULL;
        UMockdevIoctlBase *h;

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, "", 0, &error));
        g_assert_no_error(error);
        h = umockdev_ioctl_base_new();
        g_signal_connect(h, "handle-ioctl", cb, data);
        g_assert_true(umockdev_testbed_attach_ioctl(fx->tb, devnode, h, &error));
        g_assert_no_error(error);
        g_ptr_array_add(fx->handlers, h);
}

FakeDrm *drm_testbed_add_drm(DrmTestbed *fx, const char *name, const char *parent, char **syspath)
{
        g_autofree char *devnode = g_strdup_printf("/dev/dri/%s", name);
        bool render = g_str_has_prefix(name, "renderD");
        unsigned minor = (unsigned) g_ascii_strtoull(name + (render ? 7 : 4), NULL, 10);
        g_autofree char *dev = g_strdup_printf("226:%u", minor);
        FakeDrm *f = fake_drm_new(devnode);

        g_ptr_array_add(fx->fakes, f);
        /* The node and its handler exist before the device is announced, as
         * udev has created the node by the time its "add" reaches monitors. */
        drm_testbed_add_node(fx, devnode, G_CALLBACK(fake_drm_on_ioctl), f);
        *syspath = umockdev_testbed_add_device(fx->tb, "drm", name, parent, "dev", dev, NULL,
                                               "DEVNAME", devnode, "DEVTYPE", "drm_minor", NULL);
        g_assert_nonnull(*syspath);
        return f;
}

void drm_testbed_init_empty(DrmTestbed *fx)
{
        fx->tb = umockdev_testbed_new();
        if (!umockdev_in_mock_environment()) {
                g_printerr("%s must run with LD_PRELOAD=libumockdev-preload.so.0 "
                           "(meson test sets it)\n",
                           g_get_prgname());
                g_assert_not_reached();
        }
        fx->root = umockdev_testbed_get_root_dir(fx->tb);
        fx->handlers = g_ptr_array_new_with_free_func(g_object_unref);
        fx->fakes = g_ptr_array_new_with_free_func((GDestroyNotify) fake_drm_free);
}

void drm_testbed_init(DrmTestbed *fx)
{
        g_autofree char *connector = NULL;

        drm_testbed_init_empty(fx);
        fx->pci = umockdev_testbed_add_device(fx->tb, "pci", PCI_SLOT, NULL, "vendor", "0x1af4",
                                              "device", "0x1050", "class", "0x030000", NULL,
                                              "PCI_SLOT_NAME", PCI_SLOT, NULL);
        g_assert_nonnull(fx->pci);
        fx->fake_card0 = drm_testbed_add_drm(fx, "card0", fx->pci, &fx->card0);
        fx->fake_render = drm_testbed_add_drm(fx, "renderD128", fx->pci, &fx->render);
        /* A connector: in subsystem drm, but not a device node. */
        connector =
            umockdev_testbed_add_device(fx->tb, "drm", "card0-HDMI-A-1", fx->card0, "status",
                                        "connected", "enabled", "enabled", NULL, NULL);
        g_assert_nonnull(connector);
}

void drm_testbed_clear(DrmTestbed *fx)
{
        g_clear_object(&fx->tb);
        g_ptr_array_unref(fx->handlers);
        g_ptr_array_unref(fx->fakes);
        g_free(fx->root);
        g_free(fx->pci);
        g_free(fx->card0);
        g_free(fx->render);
}

/* ---- helpers ---- */

/* Open fds that are not sockets: the umockdev ioctl channels are sockets
 * that its worker closes asynchronously; device fds and buffers are not. */
unsigned drm_testbed_count_fds(void)
{
        g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
        const char *name;
        unsigned n = 0;

        g_assert_nonnull(dir);
        while ((name = g_dir_read_name(dir))) {
                g_autofree char *path = g_build_filename("/proc/self/fd", name, NULL);
                g_autofree char *target = g_file_read_link(path, NULL);

                if (target && !g_str_has_prefix(target, "socket:"))
                        n++;
        }
        return n - 1; /* the GDir's own fd */
}
