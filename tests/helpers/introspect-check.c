/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The running service's introspection against the XML files in dbus/. */
#include "introspect-check.h"

#include <string.h>

#include <gio/gio.h>

#include "harness.h"

static const char *emits_changed(GDBusPropertyInfo *p)
{
        const char *v = g_dbus_annotation_info_lookup(
            p->annotations, "org.freedesktop.DBus.Property.EmitsChangedSignal");
        return v ? v : "true";
}

static void describe_args(GString *s, GDBusArgInfo **args, const char *dir)
{
        for (GDBusArgInfo **a = args; a && *a; a++)
                g_string_append_printf(s, " %s %s:%s", dir, (*a)->name, (*a)->signature);
}

/* One line per member: what a client depends on. */
static char *describe_interface(GDBusInterfaceInfo *i)
{
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *out = g_string_new(NULL);

        for (GDBusMethodInfo **m = i->methods; m && *m; m++) {
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "method %s", (*m)->name);
                describe_args(s, (*m)->in_args, "in");
                describe_args(s, (*m)->out_args, "out");
                for (GDBusAnnotationInfo **a = (*m)->annotations; a && *a; a++)
                        g_string_append_printf(s, " @%s=%s", (*a)->key, (*a)->value);
                g_ptr_array_add(lines, g_string_free(s, false));
        }
        for (GDBusSignalInfo **sg = i->signals; sg && *sg; sg++) {
                GString *s = g_string_new(NULL);
                g_string_append_printf(s, "signal %s", (*sg)->name);
                describe_args(s, (*sg)->args, "arg");
                g_ptr_array_add(lines, g_string_free(s, false));
        }
        for (GDBusPropertyInfo **p = i->properties; p && *p; p++)
                g_ptr_array_add(
                    lines,
                    g_strdup_printf(
                        "property %s %s %s emits-change=%s", (*p)->name, (*p)->signature,
                        (*p)->flags & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE ? "readwrite" : "read",
                        emits_changed(*p)));
        for (guint k = 0; k < lines->len; k++)
                g_string_append_printf(out, "%s\n", (char *) g_ptr_array_index(lines, k));
        return g_string_free(out, false);
}

static int compare_lines(gconstpointer a, gconstpointer b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *describe_sorted(GDBusInterfaceInfo *i)
{
        g_autofree char *text = describe_interface(i);
        g_auto(GStrv) lines = g_strsplit(text, "\n", 0);
        guint n = g_strv_length(lines);

        qsort(lines, n, sizeof(char *), compare_lines);
        return g_strjoinv("\n", lines);
}

void introspect_check_xml(sd_bus *bus, const char *dest, const char *path, const char *iface)
{
        g_autofree char *file = g_strdup_printf("dbus/%s.xml", iface);
        g_autofree char *xml_path = harness_source_file(file);
        g_autofree char *xml = NULL, *want = NULL, *got = NULL;
        g_autoptr(GDBusNodeInfo) doc = NULL, live = NULL;
        g_autoptr(GError) error = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *text;

        g_assert_true(g_file_get_contents(xml_path, &xml, NULL, &error));
        doc = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        g_assert_nonnull(g_dbus_node_info_lookup_interface(doc, iface));

        g_assert_cmpint(sd_bus_call_method(bus, dest, path, "org.freedesktop.DBus.Introspectable",
                                           "Introspect", &e, &reply, NULL),
                        >=, 0);
        g_assert_cmpint(sd_bus_message_read(reply, "s", &text), >, 0);
        live = g_dbus_node_info_new_for_xml(text, &error);
        g_assert_no_error(error);
        sd_bus_message_unref(reply);
        g_assert_nonnull(g_dbus_node_info_lookup_interface(live, iface));

        want = describe_sorted(g_dbus_node_info_lookup_interface(doc, iface));
        got = describe_sorted(g_dbus_node_info_lookup_interface(live, iface));
        g_test_message("%s:\n%s", iface, got);
        if (strcmp(want, got) != 0)
                g_error("%s: dbus/%s.xml and the service differ.\nXML:\n%s\nservice:\n%s", iface,
                        iface, want, got);
}
