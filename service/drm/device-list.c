/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "device-list.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-device.h>
#include <unistd.h>

#include <drm.h>

#include "cleanup.h"
#include "drm-ioctl.h"
#include "enum-name.h"
#include "fd-util.h"
#include "log.h"
#include "observer-list.h"

struct DrmDeviceList {
        GPtrArray *devices;      /* DrmDevice*, ordered by drm_device_compare */
        ObserverList *observers; /* DrmDeviceObserverFn */
        sd_device_monitor *monitor;
        char *udmabuf_path;
};

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
        const char *syspath = NULL, *sysname = NULL, *devnode = NULL;
        DrmDevice *d;
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

        /* Nothing fails from here: what the node and sysfs do not tell stays "" or 0. */
        d = g_new0(DrmDevice, 1);
        d->syspath = g_strdup(syspath);
        d->sysname = g_strdup(sysname);
        d->devnode = g_strdup(devnode);
        d->kind = kind;
        d->minor = minor;

        r = drm_query_node(devnode, kind, &d->driver, &d->can_allocate);
        if (r < 0) {
                log_debug_errno(r, "Failed to ask %s for its driver, using the sysfs one: %m",
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

        *ret = d;
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

static const char *const drm_device_kind_names[] = {
    [DRM_DEVICE_CARD] = "card",
    [DRM_DEVICE_RENDER] = "render",
};
DEFINE_ENUM_TO_STRING(drm_device_kind, DrmDeviceKind);

/* ---- the list ---- */

static void drm_device_list_notify(DrmDeviceList *l, const DrmDevice *d, DrmDeviceEvent ev)
{
        ObserverIter it;

        for (observer_list_begin(l->observers, &it); observer_list_next(l->observers, &it);)
                ((DrmDeviceObserverFn) it.fn)(l, d, ev, it.userdata);
        observer_list_end(l->observers);
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
        _cleanup_(sd_device_enumerator_unrefp) sd_device_enumerator *e = NULL;
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
                        log_debug_errno(r,
                                        "Failed to read a DRM device while listing, skipping: %m");
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
                log_warning_errno(r, "Failed to read an added DRM device: %m");
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
        /* The monitor names its event source when it starts (there is none yet). */
        r = sd_device_monitor_set_description(l->monitor, "drm-monitor");
        if (r < 0)
                return r;
        return sd_device_monitor_start(l->monitor, drm_device_list_on_uevent, l);
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
        observer_list_free(l->observers);
        g_free(l->udmabuf_path);
        g_free(l);
}

DEFINE_FREEP(DrmDeviceList, drm_device_list_free);

int drm_device_list_new(sd_event *ev, DrmDeviceList **ret)
{
        _cleanup_(drm_device_list_freep) DrmDeviceList *l = g_new0(DrmDeviceList, 1);
        int r;

        l->devices = g_ptr_array_new_with_free_func((GDestroyNotify) drm_device_free);
        l->observers = observer_list_new();
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
                if (r < 0)
                        return log_debug_errno(r, "Failed to monitor DRM uevents: %m");
        }
        r = drm_device_list_enumerate(l);
        if (r < 0)
                return log_debug_errno(r, "Failed to enumerate DRM devices: %m");
        *ret = g_steal_pointer(&l);
        return 0;
}

int drm_device_list_set_udmabuf_path(DrmDeviceList *l, const char *path)
{
        if (path && path[0] != '/')
                return -EINVAL;
        g_free(l->udmabuf_path);
        l->udmabuf_path = g_strdup(path);
        return 0;
}

const char *drm_device_list_udmabuf_path(const DrmDeviceList *l)
{
        return l->udmabuf_path;
}

unsigned drm_device_list_add_observer(DrmDeviceList *l, DrmDeviceObserverFn fn, void *userdata)
{
        return observer_list_add(l->observers, (ObserverFn) fn, userdata);
}

void drm_device_list_remove_observer(DrmDeviceList *l, unsigned id)
{
        observer_list_remove(l->observers, id);
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
