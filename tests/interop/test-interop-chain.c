/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two services chained, A --serve=S and B --connect=S (no QEMU): an
 * export announced upstream, lookups that go upstream, and a bridge with
 * two hubs asking each in turn. Processes and expectations through
 * interop-fixture.h. */

#include <glib.h>

#include "interop-fixture.h"

/* A --serve=s.sock --accept=a-dev.sock and B --connect=s.sock
 * --accept=b-dev.sock, A's bridge ready. */
static void start_chain(Fixture *fx, Proc **ret_a, Proc **ret_b)
{
        g_autofree char *serve = serve_arg(fx, "s.sock", NULL);
        g_autofree char *connect = path_arg(fx, "connect", "s.sock");
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");

        *ret_a = start_service(fx, "service-a", serve, accept_a, NULL);
        *ret_b = start_service(fx, "service-b", connect, accept_b, NULL);
        expect_bridge_ready(fx, *ret_a, "s.sock");
}

/* A --commands device on accept_sock exports uuid; returns the buffer's
 * dev:ino (g_free it). */
static char *export_on(Fixture *fx, const char *accept_sock, const char *uuid, const char *why,
                       Proc **ret_dev)
{
        g_autofree char *line = g_strconcat("EXPORTED ", uuid, NULL);
        g_autofree char *cmd = g_strconcat("export ", uuid, NULL);

        *ret_dev = start_commands_device(fx, "exporter", accept_sock);
        proc_send(*ret_dev, cmd);
        return field(proc_expect(fx, *ret_dev, line, why), 3);
}

/* A --commands device on accept_sock imports uuid and gets the buffer
 * devino, its pattern intact. */
static void import_on(Fixture *fx, const char *accept_sock, const char *uuid, const char *devino)
{
        g_autofree char *line = g_strconcat("IMPORTED ", uuid, NULL);
        g_autofree char *cmd = g_strconcat("import ", uuid, NULL);
        Proc *imp = start_commands_device(fx, "importer", accept_sock);

        proc_send(imp, cmd);
        const char *imported = proc_expect(fx, imp, line, "the fd arrives");
        g_autofree char *imp_devino = field(imported, 2);
        g_autofree char *verdict = field(imported, 3);
        g_assert_cmpstr(imp_devino, ==, devino);
        g_assert_cmpstr(verdict, ==, "pattern-ok");
}

static void test_chain_export_upstream(Fixture *fx, gconstpointer data)
{
        Proc *svc_a, *svc_b, *exp;

        start_chain(fx, &svc_a, &svc_b);
        g_autofree char *devino = export_on(fx, "a-dev.sock", UUID_A, "A takes the export", &exp);
        proc_expect(fx, svc_a, "front-end acked ADD " UUID_A " (0)", "B's hub acks A's ADD");
        proc_expect2(fx, svc_b, "added " UUID_A, "(vhost-device)",
                     "B's table holds the UUID as a vhost-device entry of its back-end A");

        import_on(fx, "b-dev.sock", UUID_A, devino);
        proc_expect(fx, exp, "SERVED " UUID_A, "A asked its exporter");
}

static void test_chain_lookup_upstream(Fixture *fx, gconstpointer data)
{
        Proc *svc_a, *svc_b, *exp;

        start_chain(fx, &svc_a, &svc_b);
        g_autofree char *devino = export_on(fx, "b-dev.sock", UUID_B, "B takes the export", &exp);

        /* A does not know the UUID: its bridge asks B upstream (LOOKUP). */
        import_on(fx, "a-dev.sock", UUID_B, devino);
        proc_expect(fx, exp, "SERVED " UUID_B, "B asked its exporter");
}

/* A serves two hubs; only the second has the UUID: A's LOOKUP upstream
 * is refused by the first and answered by the second. */
static void test_chain_lookup_each_upstream(Fixture *fx, gconstpointer data)
{
        g_autofree char *serve1 = serve_arg(fx, "s1.sock", NULL);
        g_autofree char *serve2 = serve_arg(fx, "s2.sock", NULL);
        g_autofree char *connect1 = path_arg(fx, "connect", "s1.sock");
        g_autofree char *connect2 = path_arg(fx, "connect", "s2.sock");
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_c = path_arg(fx, "accept", "c-dev.sock");
        Proc *svc_a = start_service(fx, "service-a", serve1, serve2, accept_a, NULL);
        /* One after the other, so A's peer for B is the older one. */
        Proc *svc_b = start_service(fx, "service-b", connect1, NULL);
        expect_bridge_ready(fx, svc_a, "s1.sock");
        start_service(fx, "service-c", connect2, accept_c, NULL);
        expect_bridge_ready(fx, svc_a, "s2.sock");
        Proc *exp;
        g_autofree char *devino = export_on(fx, "c-dev.sock", UUID_C, "C takes the export", &exp);

        import_on(fx, "a-dev.sock", UUID_C, devino);
        /* B was asked first and did not have it. */
        proc_expect(fx, svc_b, "LOOKUP " UUID_C " failed", "the first upstream is asked first");
        proc_expect(fx, svc_a, "LOOKUP " UUID_C " refused by the front-end",
                    "A hears B's refusal, then asks C");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        INTEROP_TEST_ADD("/interop/chain/export-upstream", test_chain_export_upstream);
        INTEROP_TEST_ADD("/interop/chain/lookup-upstream", test_chain_lookup_upstream);
        INTEROP_TEST_ADD("/interop/chain/lookup-each-upstream", test_chain_lookup_each_upstream);
        return g_test_run();
}
