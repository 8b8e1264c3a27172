/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Emulated DRM devices for tests that run under
 * LD_PRELOAD=libumockdev-preload.so.0: a umockdev testbed with a PCI device
 * holding card0, renderD128 and a connector, and ioctl handlers (FakeDrm)
 * that answer the DRM ioctls service/drm makes. The handlers run on
 * umockdev's worker thread in the test process, so the fd the emulated
 * PRIME export returns (a real sealed memfd) is valid in this process only:
 * tests that allocate run the service in-process. A FakeDrm's fields are
 * shared with that thread: read and change them under its lock. */

#include <glib.h>
#include <linux/udmabuf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <umockdev.h>

#include <drm.h>
#include <drm_mode.h>

#define FAKE_DRIVER "vsh-fake"
#define PCI_SLOT "0000:00:02.0"
#define FAKE_PCI_VENDOR 0x1af4
#define FAKE_PCI_DEVICE 0x1050

typedef struct {
        GMutex lock;
        char *devnode;
        /* behaviour */
        bool dumb_cap;
        int version_errno; /* DRM_IOCTL_VERSION fails with this when set */
        int create_errno;  /* CREATE_DUMB fails with this when set */
        int prime_errno;   /* PRIME_HANDLE_TO_FD fails with this when set */
        bool short_export; /* the exported buffer is smaller than promised */
        /* what it saw */
        int n_version, n_get_cap, n_create, n_prime, n_close, n_other;
        struct drm_mode_create_dumb last_create;
        uint32_t last_prime_flags;
        GHashTable *handles; /* handle -> size (open GEM handles) */
        uint32_t next_handle;
        dev_t memfd_dev; /* identity of the last exported memfd */
        ino_t memfd_ino;
} FakeDrm;

FakeDrm *fake_drm_new(const char *devnode);
void fake_drm_free(FakeDrm *f);
/* GEM handles created and not closed yet. */
unsigned fake_drm_open_handles(FakeDrm *f);
/* The "handle-ioctl" callback of a FakeDrm (userdata). The exported
 * buffer starts with FAKE_DRIVER ":" devnode ":handle=" N. */
gboolean fake_drm_on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *c, gpointer userdata);

typedef struct {
        GMutex lock;
        int n_create;
        struct udmabuf_create last;
        int last_seals;
        dev_t memfd_dev; /* identity of the memfd the caller passed */
        ino_t memfd_ino;
} FakeUdmabuf;

/* The "handle-ioctl" callback of /dev/udmabuf (userdata: a FakeUdmabuf). */
gboolean fake_udmabuf_on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *c,
                               gpointer userdata);

typedef struct {
        UMockdevTestbed *tb;
        char *root;
        char *pci;
        char *card0;
        char *render;
        FakeDrm *fake_card0;
        FakeDrm *fake_render;
        GPtrArray *handlers; /* UMockdevIoctlBase*, kept alive while attached */
        GPtrArray *fakes;    /* FakeDrm* owned here */
} DrmTestbed;

/* A testbed with no devices; fails the test unless the preload library is
 * loaded. */
void drm_testbed_init_empty(DrmTestbed *fx);
/* PCI_SLOT with card0, renderD128 and the connector card0-HDMI-A-1. */
void drm_testbed_init(DrmTestbed *fx);
void drm_testbed_clear(DrmTestbed *fx);
/* A device node served by cb(data) in the testbed's /dev. */
void drm_testbed_add_node(DrmTestbed *fx, const char *devnode, GCallback cb, gpointer data);
/* Adds card<N> or renderD<N> under parent (sending its "add" uevent) with a
 * FakeDrm the testbed owns; *syspath is the caller's. */
FakeDrm *drm_testbed_add_drm(DrmTestbed *fx, const char *name, const char *parent, char **syspath);
/* Open fds that are not sockets: the umockdev ioctl channels are sockets
 * that its worker closes asynchronously; device fds and buffers are not. */
unsigned drm_testbed_count_fds(void);
