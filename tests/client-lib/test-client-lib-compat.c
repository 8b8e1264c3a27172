/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvhostshare-1 against services of other versions of the share1 API,
 * played by a fake service in this process: properties and interfaces it
 * does not know (a newer service: a peer's NextRetryTimestamp, Listener
 * objects) are ignored, properties it knows but the service lacks (an
 * older one) read as 0 or "", and a known property of a wrong type is not
 * believed. */

#include "client-lib-fixture.h"

#define ROOT "/org/vhostshare/share1"
#define OBJ_PATH ROOT "/object/2a8f4e53a5e14c3e8f2d0b1d7b1a9c11"
#define PEER_PATH ROOT "/peer/1"
#define LISTENER_PATH ROOT "/listener/1"

static const char introspection[] = "<node>"
                                    " <interface name='org.freedesktop.DBus.ObjectManager'>"
                                    "  <method name='GetManagedObjects'>"
                                    "   <arg type='a{oa{sa{sv}}}' name='objects' direction='out'/>"
                                    "  </method>"
                                    " </interface>"
                                    " <interface name='org.vhostshare.share1.Manager'>"
                                    "  <property name='Version' type='s' access='read'/>"
                                    "  <property name='ObjectCount' type='u' access='read'/>"
                                    "  <property name='ListenerCount' type='u' access='read'/>"
                                    " </interface>"
                                    "</node>";

static GVariant *managed_objects(void)
{
        GVariantBuilder b;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
        /* An object with a Size of the wrong type and a property of a
         * later version, plus an interface of a later version. */
        g_variant_builder_add_parsed(
            &b,
            "{%o, {'org.vhostshare.share1.Object': {'Uuid': <'2a8f4e53-a5e1-4c3e-8f2d-"
            "0b1d7b1a9c11'>, 'Type': <'dma-buf'>, 'Size': <'4096'>, 'Exporter': <'memfd'>, "
            "'Flavour': <'strawberry'>}, 'org.vhostshare.share1.Future': {'X': <1>}}}",
            OBJ_PATH);
        /* An older peer without LastError, a newer one's NextRetryTimestamp. */
        g_variant_builder_add_parsed(
            &b,
            "{%o, {'org.vhostshare.share1.Peer': {'Name': <'backend#1(dev.sock)'>, 'Role': "
            "<'back-end'>, 'State': <'connecting'>, 'NextRetryTimestamp': <uint64 5>}}}",
            PEER_PATH);
        g_variant_builder_add_parsed(
            &b, "{%o, {'org.vhostshare.share1.Listener': {'SocketPath': <'/run/a.sock'>}}}",
            LISTENER_PATH);
        return g_variant_builder_end(&b);
}

static void on_call(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                    const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
        g_dbus_method_invocation_return_value(
            inv, g_variant_new_tuple((GVariant *[]){managed_objects()}, 1));
}

static GVariant *on_get(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                        const char *prop, GError **error, gpointer data)
{
        if (g_str_equal(prop, "Version"))
                return g_variant_new_string("9.9.9");
        return g_variant_new_uint32(1);
}

typedef struct {
        GDBusConnection *service;
        GAsyncResult *result;
        guint state_notifies;
} Compat;

static gboolean got_result(gpointer data)
{
        return ((Compat *) data)->result != NULL;
}

static void count_state(GObject *peer, GParamSpec *pspec, gpointer data)
{
        ((Compat *) data)->state_notifies++;
}

static gboolean state_notified(gpointer data)
{
        return ((Compat *) data)->state_notifies > 0;
}

static void emit(GDBusConnection *c, const char *path, const char *iface, const char *member,
                 GVariant *params)
{
        g_autoptr(GError) error = NULL;

        g_assert_true(g_dbus_connection_emit_signal(c, NULL, path, iface, member, params, &error));
        g_assert_no_error(error);
}

static void test_other_versions(LibFixture *f, gconstpointer data)
{
        static const GDBusInterfaceVTable vtable = {.method_call = on_call, .get_property = on_get};
        g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(introspection, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) objects = NULL, peers = NULL;
        g_autoptr(VhostShareClient) client = NULL;
        VhostShareObject *obj;
        VhostSharePeer *peer;
        Compat c = {0};

        /* The fake service, on its own connection, dispatched by this loop. */
        c.service = g_dbus_connection_new_for_address_sync(
            f->tb.address,
            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
            NULL, NULL, &error);
        g_assert_no_error(error);
        for (int i = 0; i < 2; i++)
                g_assert_cmpuint(g_dbus_connection_register_object(c.service, ROOT,
                                                                   info->interfaces[i], &vtable,
                                                                   NULL, NULL, &error),
                                 >, 0);
        g_assert_no_error(error);
        g_assert_cmpuint(g_bus_own_name_on_connection(c.service, "org.vhostshare.share1",
                                                      G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL,
                                                      NULL),
                         >, 0);
        g_dbus_connection_call_sync(c.service, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "GetId", NULL, NULL,
                                    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL); /* name owned */

        vhost_share_client_new_for_address(f->tb.address, NULL, lib_store_result, &c.result);
        g_assert_true(lib_wait(f, got_result, &c));
        client = vhost_share_client_new_finish(c.result, &error);
        g_clear_object(&c.result);
        g_assert_no_error(error);
        g_assert_cmpstr(vhost_share_client_get_version(client), ==, "9.9.9");
        lib_record(f, client);

        objects = vhost_share_client_list_objects(client);
        g_assert_cmpuint(objects->len, ==, 1);
        obj = objects->pdata[0];
        g_assert_cmpstr(vhost_share_object_get_uuid(obj), ==,
                        "2a8f4e53-a5e1-4c3e-8f2d-0b1d7b1a9c11");
        g_assert_cmpstr(vhost_share_object_get_exporter(obj), ==, "memfd");
        g_assert_cmpuint(vhost_share_object_get_size(obj), ==, 0); /* "4096" is no t */
        g_assert_cmpuint(vhost_share_object_get_lookup_count(obj), ==, 0);
        peers = vhost_share_client_list_peers(client);
        g_assert_cmpuint(peers->len, ==, 1); /* not the listener */
        peer = peers->pdata[0];
        g_assert_cmpstr(vhost_share_peer_get_last_error(peer), ==, "");
        g_assert_cmpstr(vhost_share_peer_get_state(peer), ==, "connecting");

        /* A newer service's change: the known property notifies, the rest is
         * ignored; a new Listener is no item; a new object is. */
        g_signal_connect(peer, "notify::state", G_CALLBACK(count_state), &c);
        emit(c.service, PEER_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
             g_variant_new_parsed("('org.vhostshare.share1.Peer', {'State': <'ready'>, "
                                  "'NextRetryTimestamp': <uint64 0>}, @as [])"));
        emit(c.service, ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
             g_variant_new_parsed("(%o, {'org.vhostshare.share1.Listener': {'SocketPath': "
                                  "<'/run/b.sock'>}})",
                                  ROOT "/listener/2"));
        emit(c.service, ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
             g_variant_new_parsed("(%o, {'org.vhostshare.share1.Object': {'Uuid': "
                                  "<'11111111-2222-4333-8444-555555555555'>, 'Size': <uint64 "
                                  "8192>}})",
                                  ROOT "/object/11111111222243338444555555555555"));
        g_assert_true(lib_wait(f, state_notified, &c));
        g_assert_cmpstr(vhost_share_peer_get_state(peer), ==, "ready");
        lib_wait_event(f, "object-added 11111111-2222-4333-8444-555555555555");
        g_assert_cmpuint(c.state_notifies, ==, 1);
        g_assert_cmpuint(f->events->len, ==, 1);
        g_assert_cmpuint(vhost_share_object_get_size(vhost_share_client_get_object(
                             client, "11111111-2222-4333-8444-555555555555")),
                         ==, 8192);

        g_signal_handlers_disconnect_by_data(client, f);
        g_clear_object(&client);
        g_dbus_connection_close_sync(c.service, NULL, NULL);
        g_object_unref(c.service);
}

static void setup_bus_only(LibFixture *f, gconstpointer data)
{
        testbed_init(&f->tb, TESTBED_POLICY_OPEN);
        f->events = g_ptr_array_new_with_free_func(g_free);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add("/client-lib/compat/other-versions", LibFixture, NULL, setup_bus_only,
                   test_other_versions, lib_teardown);
        return g_test_run();
}
