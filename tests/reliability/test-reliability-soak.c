/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The leak soak: connect, export, look up and crash, a thousand times
 * over, with the hub in-process (reliability-fixture.h); fds, peers, the
 * table, the heap and VmRSS must not grow with the cycles. */

#include <glib.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "reliability-fixture.h"

/* ---- leak soak ---- */

static long vm_rss_kib(void)
{
        g_autofree char *status = NULL;
        const char *line;

        g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
        line = strstr(status, "\nVmRSS:");
        g_assert_nonnull(line);
        return strtol(line + 7, NULL, 10);
}

static unsigned soak_cycles(void)
{
        const char *env = g_getenv("VHOST_SHARE_SOAK_CYCLES");

        if (env)
                return (unsigned) strtoul(env, NULL, 10);
        return g_getenv("VHOST_SHARE_VALGRIND") ? 100 : 1000;
}

/* Connect, export, look up, crash: many times over. Afterwards the fds
 * and peers are back to where they started, the table is empty, and the
 * heap (malloc's in-use bytes) and VmRSS did not grow with the cycles. */
static void test_soak(void)
{
        TestService t;
        ServiceConfig c;
        const unsigned cycles = soak_cycles(), warmup = MIN(cycles / 10, 50u);
        int fds = fd_count_open(), fds_warm = 0;
        size_t heap_warm = 0, heap_end;
        long rss_warm = 0, rss_end;
        TestDev *importer;
        gint64 start = g_get_monotonic_time();

        test_config_defaults(&c);
        test_service_init(&t, &c);
        importer = test_dev_new(&t);
        for (unsigned i = 0; i < cycles; i++) {
                uint8_t uuid[16];
                int fd;

                if (i == warmup) {
                        fds_warm = fd_count_open();
                        heap_warm = mallinfo2().uordblks;
                        rss_warm = vm_rss_kib();
                }
                test_uuid(uuid);
                if (i % 2 == 0) {
                        TestDev *exporter = test_dev_new(&t);

                        g_assert_cmpint(test_dev_add(exporter, uuid), ==, 0);
                        fd = test_dev_lookup(importer, uuid);
                        g_assert_cmpint(fd, >=, 0);
                        close(fd);
                        test_dev_free(exporter); /* its socket closes as in a crash */
                } else {
                        /* A raw exporter that dies with a lookup outstanding. */
                        RawPeer *exporter = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
                        TestLookup l = {0};
                        VuMessage get;

                        g_assert_cmpint(
                            test_raw_request(exporter, VU_BREQ_SHARED_OBJECT_ADD, uuid, NULL), ==,
                            0);
                        g_assert_cmpint(vu_backend_lookup(importer->b, uuid, test_on_lookup, &l),
                                        ==, 0);
                        g_assert_cmpint(raw_peer_recv(exporter, exporter->main, &get), ==, 1);
                        raw_peer_free(exporter);
                        TEST_WAIT_FOR(&t, l.done);
                        g_assert_cmpint(l.fd, <, 0);
                }
                TEST_WAIT_FOR(&t, service_n_peers(t.s) == 1);
                g_assert_cmpuint(share_table_size(service_table(t.s)), ==, 0);
        }
        g_assert_false(importer->failed);
        heap_end = mallinfo2().uordblks;
        rss_end = vm_rss_kib();
        g_test_message("soak: %u cycles in %.1f s; heap in use %zu -> %zu bytes, VmRSS %ld -> %ld "
                       "KiB, fds %d -> %d",
                       cycles, (g_get_monotonic_time() - start) / 1e6, heap_warm, heap_end,
                       rss_warm, rss_end, fds_warm, fd_count_open());
        g_assert_cmpint(fd_count_open(), ==, fds_warm);
        g_assert_cmpuint(t.removed, ==, t.added);
        g_assert_cmpuint(t.added, ==, cycles);
#if !defined(__SANITIZE_ADDRESS__)
        /* Under ASan malloc statistics and RSS follow the quarantine; there
         * LeakSanitizer checks instead, at exit. Bounds: well under one
         * cycle's worth of garbage per cycle. */
        if (!g_getenv("VHOST_SHARE_VALGRIND")) {
                g_assert_cmpuint(heap_end, <, heap_warm + 256 * 1024);
                g_assert_cmpint(rss_end, <, rss_warm + 4096);
        }
#endif
        test_dev_free(importer);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/soak", test_soak);
        return g_test_run();
}
