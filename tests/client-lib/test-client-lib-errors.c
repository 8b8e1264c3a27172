/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error domain of libvhostshare-1: every D-Bus error name of the API
 * maps to its VhostShareError code and back, and the service's access
 * check reaches an unprivileged caller as VHOST_SHARE_ERROR_ACCESS_DENIED. */

#include <unistd.h>

#include "bus-names.h"
#include "client-lib-fixture.h"

static const struct {
        const char *name;
        VhostShareError code;
} names[] = {
    {BUS_ERROR_NOT_FOUND, VHOST_SHARE_ERROR_NOT_FOUND},
    {BUS_ERROR_EXISTS, VHOST_SHARE_ERROR_EXISTS},
    {BUS_ERROR_NOT_OWNER, VHOST_SHARE_ERROR_NOT_OWNER},
    {BUS_ERROR_INVALID_UUID, VHOST_SHARE_ERROR_INVALID_UUID},
    {BUS_ERROR_INVALID_FD, VHOST_SHARE_ERROR_INVALID_FD},
    {BUS_ERROR_UNSUPPORTED, VHOST_SHARE_ERROR_UNSUPPORTED},
    {BUS_ERROR_TIMEOUT, VHOST_SHARE_ERROR_TIMEOUT},
    {BUS_ERROR_LIMIT_REACHED, VHOST_SHARE_ERROR_LIMIT_REACHED},
    {BUS_ERROR_ACCESS_DENIED, VHOST_SHARE_ERROR_ACCESS_DENIED},
    {BUS_ERROR_PEER_GONE, VHOST_SHARE_ERROR_PEER_GONE},
    {BUS_ERROR_NO_DEVICE, VHOST_SHARE_ERROR_NO_DEVICE},
    {BUS_ERROR_NO_MEMORY, VHOST_SHARE_ERROR_NO_MEMORY},
    {BUS_ERROR_INVALID_SIZE, VHOST_SHARE_ERROR_INVALID_SIZE},
    {BUS_ERROR_FAILED, VHOST_SHARE_ERROR_FAILED},
    {BUS_ERROR_QUOTA_EXCEEDED, VHOST_SHARE_ERROR_QUOTA_EXCEEDED},
    {BUS_ERROR_NOT_A_SOCKET, VHOST_SHARE_ERROR_NOT_A_SOCKET},
    {BUS_ERROR_ADDRESS_IN_USE, VHOST_SHARE_ERROR_ADDRESS_IN_USE},
    {BUS_ERROR_UNSAFE_PATH, VHOST_SHARE_ERROR_UNSAFE_PATH},
    {BUS_ERROR_LOOKUP_CYCLE, VHOST_SHARE_ERROR_LOOKUP_CYCLE},
};

static void test_names(void)
{
        GEnumClass *klass = g_type_class_ref(VHOST_SHARE_TYPE_ERROR);

        /* Every code has a name, and every name its own code. */
        g_assert_cmpuint(klass->n_values, ==, G_N_ELEMENTS(names));
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autoptr(GError) e = NULL;
                g_autofree char *back = NULL;

                (void) VHOST_SHARE_ERROR;
                e = g_dbus_error_new_for_dbus_error(names[i].name, "the message");
                g_assert_error(e, VHOST_SHARE_ERROR, (gint) names[i].code);
                back = g_dbus_error_encode_gerror(e);
                g_assert_cmpstr(back, ==, names[i].name);
                g_assert_nonnull(g_enum_get_value(klass, (gint) names[i].code));
        }
        g_type_class_unref(klass);
}

static int export_as_nobody(Testbed *t, void *data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(VhostShareClient) client = NULL;
        g_autofree char *uuid = NULL;
        int fd = lib_sealed_memfd(4096, 1);

        client = vhost_share_client_new_for_address_sync(t->address, NULL, &error);
        if (!client) {
                g_printerr("no client: %s\n", error->message);
                return 1;
        }
        uuid = vhost_share_client_export_fd_sync(client, fd, NULL, NULL, &error);
        close(fd);
        if (!g_error_matches(error, VHOST_SHARE_ERROR, VHOST_SHARE_ERROR_ACCESS_DENIED)) {
                g_printerr("expected AccessDenied, got %s\n", error ? error->message : uuid);
                return 1;
        }
        g_printerr("refused: %s\n", error->message);
        return 0;
}

/* On a bus that lets everyone call (only the service checks), nobody's
 * Export is the service's AccessDenied. Run in a child that made no GDBus
 * connection before the fork. */
static void test_access_denied(void)
{
        Testbed tb;

        testbed_init(&tb, TESTBED_POLICY_OPEN);
        testbed_start_service(&tb, NULL);
        g_assert_cmpint(testbed_run_as(&tb, 65534, 65534, (gid_t) -1, export_as_nobody, NULL), ==,
                        0);
        testbed_clear(&tb);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/client-lib/errors/names", test_names);
        g_test_add_func("/client-lib/errors/access-denied", test_access_denied);
        return g_test_run();
}
