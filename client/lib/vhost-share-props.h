/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private: D-Bus properties of one interface as GObject properties. A type
 * describes its interface's properties in a table; the helper installs one
 * GObject property per row, keeps the last value of each and notifies when a
 * PropertiesChanged signal changes it. Properties the table does not name
 * (added by a newer service) are ignored; ones the service lacks (an older
 * service) read as 0, FALSE or "". */

#include <gio/gio.h>

typedef struct {
        const char *dbus_name; /* "OwnerBusName" */
        const char *name;      /* "owner-bus-name" */
        char type;             /* the D-Bus type: 's', 'o', 't', 'u', 'q', 'b', or 'a' for "as" */
        const char *blurb;
} VshPropertyDesc;

typedef struct {
        GObject *owner; /* not a reference: the helper lives inside it */
        GDBusProxy *proxy;
        const VshPropertyDesc *descs;
        GParamSpec **pspecs;
        GVariant **values; /* one per row, NULL when the service has none */
        guint n;
        gulong changed_id;
} VshProperties;

/* Installs a property per row with ids first_id, first_id + 1, ...; pspecs
 * receives them. */
void vsh_properties_install(GObjectClass *klass, guint first_id, const VshPropertyDesc *descs,
                            guint n, GParamSpec **pspecs);
/* Starts following proxy's properties for owner. */
void vsh_properties_init(VshProperties *p, GObject *owner, GDBusProxy *proxy,
                         const VshPropertyDesc *descs, GParamSpec **pspecs, guint n);
void vsh_properties_clear(VshProperties *p);

/* The value of row i into value (initialized to the row's GType). */
void vsh_properties_get_value(const VshProperties *p, guint i, GValue *value);
/* Row i as a string ("" when absent), valid until the property changes. */
const char *vsh_properties_get_string(const VshProperties *p, guint i);
guint64 vsh_properties_get_uint64(const VshProperties *p, guint i);
guint vsh_properties_get_uint(const VshProperties *p, guint i);
gboolean vsh_properties_get_boolean(const VshProperties *p, guint i);
/* Row i ("as") as a new string array, empty when absent. */
char **vsh_properties_dup_strv(const VshProperties *p, guint i);
