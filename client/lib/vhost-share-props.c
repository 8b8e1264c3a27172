/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-props.h"

#include <string.h>

static GType gtype_of(char type)
{
        switch (type) {
        case 's':
        case 'o':
                return G_TYPE_STRING;
        case 't':
                return G_TYPE_UINT64;
        case 'u':
        case 'q':
                return G_TYPE_UINT;
        case 'b':
                return G_TYPE_BOOLEAN;
        case 'a':
                return G_TYPE_STRV;
        default:
                g_assert_not_reached();
        }
}

static GParamSpec *pspec_new(const VshPropertyDesc *d)
{
        GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

        switch (gtype_of(d->type)) {
        case G_TYPE_STRING:
                return g_param_spec_string(d->name, d->dbus_name, d->blurb, "", flags);
        case G_TYPE_UINT64:
                return g_param_spec_uint64(d->name, d->dbus_name, d->blurb, 0, G_MAXUINT64, 0,
                                           flags);
        case G_TYPE_UINT:
                return g_param_spec_uint(d->name, d->dbus_name, d->blurb, 0, G_MAXUINT, 0, flags);
        case G_TYPE_BOOLEAN:
                return g_param_spec_boolean(d->name, d->dbus_name, d->blurb, FALSE, flags);
        default:
                return g_param_spec_boxed(d->name, d->dbus_name, d->blurb, G_TYPE_STRV, flags);
        }
}

void vsh_properties_install(GObjectClass *klass, guint first_id, const VshPropertyDesc *descs,
                            guint n, GParamSpec **pspecs)
{
        for (guint i = 0; i < n; i++) {
                pspecs[i] = pspec_new(&descs[i]);
                g_object_class_install_property(klass, first_id + i, pspecs[i]);
        }
}

/* v (taken) if it has the row's D-Bus type, else NULL: a service that sends
 * another type for a name we know is not believed. */
static GVariant *checked(const VshPropertyDesc *d, GVariant *v)
{
        const char *type = d->type == 'a' ? "as" : (char[]){d->type, '\0'};

        if (v && !g_variant_is_of_type(v, G_VARIANT_TYPE(type)))
                g_clear_pointer(&v, g_variant_unref);
        return v;
}

static int find_row(const VshProperties *p, const char *dbus_name)
{
        for (guint i = 0; i < p->n; i++)
                if (strcmp(p->descs[i].dbus_name, dbus_name) == 0)
                        return (int) i;
        return -1;
}

/* v is taken. */
static void set_row(VshProperties *p, guint i, GVariant *v)
{
        g_autoptr(GVariant) value = checked(&p->descs[i], v);

        if (!value && !p->values[i])
                return;
        if (value && p->values[i] && g_variant_equal(value, p->values[i]))
                return;
        g_clear_pointer(&p->values[i], g_variant_unref);
        p->values[i] = g_steal_pointer(&value);
        g_object_notify_by_pspec(p->owner, p->pspecs[i]);
}

static void on_properties_changed(GDBusProxy *proxy, GVariant *changed,
                                  const char *const *invalidated, gpointer user_data)
{
        VshProperties *p = user_data;
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_object_freeze_notify(p->owner);
        g_variant_iter_init(&iter, changed);
        while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
                int i = find_row(p, name);

                if (i >= 0)
                        set_row(p, (guint) i, value);
                else
                        g_variant_unref(value);
        }
        /* GDBusProxy drops an invalidated property (and all of them when the
         * service leaves the bus) from its cache: so do we. */
        for (guint k = 0; invalidated && invalidated[k]; k++) {
                int i = find_row(p, invalidated[k]);

                if (i >= 0)
                        set_row(p, (guint) i,
                                g_dbus_proxy_get_cached_property(proxy, invalidated[k]));
        }
        g_object_thaw_notify(p->owner);
}

void vsh_properties_init(VshProperties *p, GObject *owner, GDBusProxy *proxy,
                         const VshPropertyDesc *descs, GParamSpec **pspecs, guint n)
{
        *p = (VshProperties){
            .owner = owner,
            .proxy = g_object_ref(proxy),
            .descs = descs,
            .pspecs = pspecs,
            .values = g_new0(GVariant *, n),
            .n = n,
        };
        for (guint i = 0; i < n; i++)
                p->values[i] =
                    checked(&descs[i], g_dbus_proxy_get_cached_property(proxy, descs[i].dbus_name));
        p->changed_id =
            g_signal_connect(proxy, "g-properties-changed", G_CALLBACK(on_properties_changed), p);
}

void vsh_properties_clear(VshProperties *p)
{
        if (p->proxy) {
                g_clear_signal_handler(&p->changed_id, p->proxy);
                g_clear_object(&p->proxy);
        }
        for (guint i = 0; p->values && i < p->n; i++)
                g_clear_pointer(&p->values[i], g_variant_unref);
        g_clear_pointer(&p->values, g_free);
}

void vsh_properties_get_value(const VshProperties *p, guint i, GValue *value)
{
        switch (gtype_of(p->descs[i].type)) {
        case G_TYPE_STRING:
                g_value_set_string(value, vsh_properties_get_string(p, i));
                break;
        case G_TYPE_UINT64:
                g_value_set_uint64(value, vsh_properties_get_uint64(p, i));
                break;
        case G_TYPE_UINT:
                g_value_set_uint(value, vsh_properties_get_uint(p, i));
                break;
        case G_TYPE_BOOLEAN:
                g_value_set_boolean(value, vsh_properties_get_boolean(p, i));
                break;
        default:
                g_value_take_boxed(value, vsh_properties_dup_strv(p, i));
                break;
        }
}

const char *vsh_properties_get_string(const VshProperties *p, guint i)
{
        return p->values[i] ? g_variant_get_string(p->values[i], NULL) : "";
}

guint64 vsh_properties_get_uint64(const VshProperties *p, guint i)
{
        return p->values[i] ? g_variant_get_uint64(p->values[i]) : 0;
}

guint vsh_properties_get_uint(const VshProperties *p, guint i)
{
        if (!p->values[i])
                return 0;
        return p->descs[i].type == 'q' ? g_variant_get_uint16(p->values[i])
                                       : g_variant_get_uint32(p->values[i]);
}

gboolean vsh_properties_get_boolean(const VshProperties *p, guint i)
{
        return p->values[i] ? g_variant_get_boolean(p->values[i]) : FALSE;
}

char **vsh_properties_dup_strv(const VshProperties *p, guint i)
{
        static const char *const none[] = {NULL};

        return p->values[i] ? g_variant_dup_strv(p->values[i], NULL) : g_strdupv((char **) none);
}
