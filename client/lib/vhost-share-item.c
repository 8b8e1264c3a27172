/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-item-private.h"

/**
 * VhostShareItem:
 *
 * What a shared object (#VhostShareObject), a vhost-user peer
 * (#VhostSharePeer) and a DRM device (#VhostShareDevice) have in common:
 * one D-Bus object of the service, every property of its interface as a
 * GObject property that emits #GObject::notify when the service announces
 * a change.
 *
 * Items are made by #VhostShareClient; an item that left the service keeps
 * its last values.
 */

typedef struct {
        const VshPropertyDesc *descs;
        GParamSpec **pspecs;
        guint n;
} ItemTable;

typedef struct {
        VshProperties props;
} VhostShareItemPrivate;

enum {
        PROP_0,
        PROP_OBJECT_PATH,
        PROP_PROXY,
        N_OWN_PROPS,
};

static GParamSpec *own_props[N_OWN_PROPS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(VhostShareItem, vhost_share_item, G_TYPE_OBJECT)

static GQuark table_quark(void)
{
        return g_quark_from_static_string("vhost-share-item-table");
}

static const ItemTable *table_of(gpointer instance)
{
        return g_type_get_qdata(G_TYPE_FROM_INSTANCE(instance), table_quark());
}

static void vhost_share_item_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec)
{
        VhostShareItem *self = VHOST_SHARE_ITEM(object);
        VhostShareItemPrivate *priv = vhost_share_item_get_instance_private(self);

        switch (prop_id) {
        case PROP_OBJECT_PATH:
                g_value_set_string(value, vhost_share_item_get_object_path(self));
                break;
        case PROP_PROXY:
                g_value_set_object(value, priv->props.proxy);
                break;
        default:
                if (prop_id >= N_OWN_PROPS && prop_id - N_OWN_PROPS < priv->props.n)
                        vsh_properties_get_value(&priv->props, prop_id - N_OWN_PROPS, value);
                else
                        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void vhost_share_item_finalize(GObject *object)
{
        VhostShareItemPrivate *priv =
            vhost_share_item_get_instance_private(VHOST_SHARE_ITEM(object));

        vsh_properties_clear(&priv->props);
        G_OBJECT_CLASS(vhost_share_item_parent_class)->finalize(object);
}

static void vhost_share_item_class_init(VhostShareItemClass *klass)
{
        GObjectClass *object_class = G_OBJECT_CLASS(klass);

        object_class->get_property = vhost_share_item_get_property;
        object_class->finalize = vhost_share_item_finalize;

        /**
         * VhostShareItem:object-path:
         *
         * The item's D-Bus object path, e.g.
         * "/org/vhostshare/share1/peer/3".
         */
        own_props[PROP_OBJECT_PATH] = g_param_spec_string(
            "object-path", "Path", NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        /**
         * VhostShareItem:proxy:
         *
         * The #GDBusProxy of the item's interface, for what this library
         * does not wrap.
         */
        own_props[PROP_PROXY] = g_param_spec_object("proxy", NULL, NULL, G_TYPE_DBUS_PROXY,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(object_class, N_OWN_PROPS, own_props);
}

static void vhost_share_item_init(VhostShareItem *self)
{
}

void vsh_item_class_install(VhostShareItemClass *klass, const VshPropertyDesc *descs,
                            GParamSpec **pspecs, guint n)
{
        ItemTable *t = g_new0(ItemTable, 1); /* lives as long as the type */

        *t = (ItemTable){.descs = descs, .pspecs = pspecs, .n = n};
        /* GObject does not inherit get_property: the subclass's rows are read
         * here too. */
        G_OBJECT_CLASS(klass)->get_property = vhost_share_item_get_property;
        g_type_set_qdata(G_TYPE_FROM_CLASS(klass), table_quark(), t);
        vsh_properties_install(G_OBJECT_CLASS(klass), N_OWN_PROPS, descs, n, pspecs);
}

gpointer vsh_item_new(GType type, GDBusProxy *proxy)
{
        VhostShareItem *self = g_object_new(type, NULL);
        VhostShareItemPrivate *priv = vhost_share_item_get_instance_private(self);
        const ItemTable *t = table_of(self);

        vsh_properties_init(&priv->props, G_OBJECT(self), proxy, t->descs, t->pspecs, t->n);
        return self;
}

static const VshProperties *props_of(gpointer item)
{
        VhostShareItemPrivate *priv = vhost_share_item_get_instance_private(item);

        return &priv->props;
}

const char *vsh_item_string(gpointer item, guint row)
{
        return vsh_properties_get_string(props_of(item), row);
}

guint64 vsh_item_uint64(gpointer item, guint row)
{
        return vsh_properties_get_uint64(props_of(item), row);
}

guint vsh_item_uint(gpointer item, guint row)
{
        return vsh_properties_get_uint(props_of(item), row);
}

gboolean vsh_item_boolean(gpointer item, guint row)
{
        return vsh_properties_get_boolean(props_of(item), row);
}

/**
 * vhost_share_item_get_object_path:
 * @self: a #VhostShareItem
 *
 * Returns: the item's D-Bus object path
 */
const char *vhost_share_item_get_object_path(VhostShareItem *self)
{
        VhostShareItemPrivate *priv;

        g_return_val_if_fail(VHOST_SHARE_IS_ITEM(self), NULL);
        priv = vhost_share_item_get_instance_private(self);
        return g_dbus_proxy_get_object_path(priv->props.proxy);
}

/**
 * vhost_share_item_get_proxy:
 * @self: a #VhostShareItem
 *
 * Returns: (transfer none): the #GDBusProxy of the item's interface
 */
GDBusProxy *vhost_share_item_get_proxy(VhostShareItem *self)
{
        VhostShareItemPrivate *priv;

        g_return_val_if_fail(VHOST_SHARE_IS_ITEM(self), NULL);
        priv = vhost_share_item_get_instance_private(self);
        return priv->props.proxy;
}
