/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-device.h"

#include "vhost-share-item-private.h"

/**
 * VhostShareDevice:
 *
 * One DRM device node of the machine (a card or render node), at
 * /org/vhostshare/share1/device/SYSNAME. All properties are fixed while the device exists.
 *
 * Every property of the D-Bus interface org.vhostshare.share1.Device is a GObject property of
 * the same name in lower case with dashes; each emits #GObject::notify
 * when the service announces a change. A property the service does not
 * have (an older version) reads as 0, %FALSE or "".
 */

struct _VhostShareDevice {
        VhostShareItem parent_instance;
};

G_DEFINE_FINAL_TYPE(VhostShareDevice, vhost_share_device, VHOST_SHARE_TYPE_ITEM)

enum {
        ROW_DEV_NODE,
        ROW_SYS_PATH,
        ROW_KIND,
        ROW_DRIVER,
        ROW_PCI_SLOT,
        ROW_PCI_VENDOR,
        ROW_PCI_DEVICE,
        ROW_CAN_ALLOCATE,
        N_ROWS,
};

static const VshPropertyDesc rows[N_ROWS] = {
    {"DevNode", "dev-node", 's', NULL},
    {"SysPath", "sys-path", 's', NULL},
    {"Kind", "kind", 's', NULL},
    {"Driver", "driver", 's', NULL},
    {"PciSlot", "pci-slot", 's', NULL},
    {"PciVendor", "pci-vendor", 'q', NULL},
    {"PciDevice", "pci-device", 'q', NULL},
    {"CanAllocate", "can-allocate", 'b', NULL},
};

static GParamSpec *pspecs[N_ROWS];

/**
 * VhostShareDevice:dev-node:
 *
 * The device node, e.g. "/dev/dri/card0": what vhost_share_client_allocate() takes.
 * D-Bus: org.vhostshare.share1.Device.DevNode.
 */
/**
 * VhostShareDevice:sys-path:
 *
 * The device's path in sysfs.
 * D-Bus: org.vhostshare.share1.Device.SysPath.
 */
/**
 * VhostShareDevice:kind:
 *
 * "card" (a primary node: dumb buffers) or "render" (a render node).
 * D-Bus: org.vhostshare.share1.Device.Kind.
 */
/**
 * VhostShareDevice:driver:
 *
 * The kernel driver's name, e.g. "i915", "virtio_gpu", or "".
 * D-Bus: org.vhostshare.share1.Device.Driver.
 */
/**
 * VhostShareDevice:pci-slot:
 *
 * The PCI parent's slot name (e.g. "0000:00:02.0"), or "" when not on PCI.
 * D-Bus: org.vhostshare.share1.Device.PciSlot.
 */
/**
 * VhostShareDevice:pci-vendor:
 *
 * The PCI parent's vendor id, 0 when not on PCI.
 * D-Bus: org.vhostshare.share1.Device.PciVendor.
 */
/**
 * VhostShareDevice:pci-device:
 *
 * The PCI parent's device id, 0 when not on PCI.
 * D-Bus: org.vhostshare.share1.Device.PciDevice.
 */
/**
 * VhostShareDevice:can-allocate:
 *
 * Whether the device offered dumb buffers when the service found it.
 * D-Bus: org.vhostshare.share1.Device.CanAllocate.
 */
static void vhost_share_device_class_init(VhostShareDeviceClass *klass)
{
        vsh_item_class_install(VHOST_SHARE_ITEM_CLASS(klass), rows, pspecs, N_ROWS);
}

static void vhost_share_device_init(VhostShareDevice *self)
{
}

/**
 * vhost_share_device_get_dev_node:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:dev-node property.
 *
 * Returns: (transfer none): The device node, e.g. "/dev/dri/card0": what
 * vhost_share_client_allocate() takes.
 */
const char *vhost_share_device_get_dev_node(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), NULL);
        return vsh_item_string(self, ROW_DEV_NODE);
}

/**
 * vhost_share_device_get_sys_path:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:sys-path property.
 *
 * Returns: (transfer none): The device's path in sysfs.
 */
const char *vhost_share_device_get_sys_path(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), NULL);
        return vsh_item_string(self, ROW_SYS_PATH);
}

/**
 * vhost_share_device_get_kind:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:kind property.
 *
 * Returns: (transfer none): "card" (a primary node: dumb buffers) or "render" (a render node).
 */
const char *vhost_share_device_get_kind(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), NULL);
        return vsh_item_string(self, ROW_KIND);
}

/**
 * vhost_share_device_get_driver:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:driver property.
 *
 * Returns: (transfer none): The kernel driver's name, e.g. "i915", "virtio_gpu", or "".
 */
const char *vhost_share_device_get_driver(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), NULL);
        return vsh_item_string(self, ROW_DRIVER);
}

/**
 * vhost_share_device_get_pci_slot:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:pci-slot property.
 *
 * Returns: (transfer none): The PCI parent's slot name (e.g. "0000:00:02.0"), or "" when not on
 * PCI.
 */
const char *vhost_share_device_get_pci_slot(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), NULL);
        return vsh_item_string(self, ROW_PCI_SLOT);
}

/**
 * vhost_share_device_get_pci_vendor:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:pci-vendor property.
 *
 * Returns: The PCI parent's vendor id, 0 when not on PCI.
 */
guint vhost_share_device_get_pci_vendor(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), 0);
        return vsh_item_uint(self, ROW_PCI_VENDOR);
}

/**
 * vhost_share_device_get_pci_device:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:pci-device property.
 *
 * Returns: The PCI parent's device id, 0 when not on PCI.
 */
guint vhost_share_device_get_pci_device(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), 0);
        return vsh_item_uint(self, ROW_PCI_DEVICE);
}

/**
 * vhost_share_device_get_can_allocate:
 * @self: a #VhostShareDevice
 *
 * The #VhostShareDevice:can-allocate property.
 *
 * Returns: Whether the device offered dumb buffers when the service found it.
 */
gboolean vhost_share_device_get_can_allocate(VhostShareDevice *self)
{
        g_return_val_if_fail(VHOST_SHARE_IS_DEVICE(self), 0);
        return vsh_item_boolean(self, ROW_CAN_ALLOCATE);
}
