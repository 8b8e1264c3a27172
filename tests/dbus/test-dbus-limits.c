/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus side of running out of fds: the service's soft RLIMIT_NOFILE
 * is cut to exactly what it holds, and a client calls Export with an fd the
 * bus cannot hand to the service. The call must fail (with an error, not
 * hang), the service must stay on the bus, and once the limit is back it
 * must export and hand out buffers again. */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-testbed.h"
#include "buffer-pattern.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"

/* Highest open fd number of pid + 1, and how many are open. */
static int proc_fds(pid_t pid, int *ret_count)
{
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;
        int highest = -1, n = 0;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                int fd = atoi(name);

                highest = MAX(highest, fd);
                n++;
        }
        *ret_count = n;
        return highest + 1;
}

static int export(sd_bus *bus, int fd, char **ret_error)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Export", &e, &reply, "hs", fd, "");
        if (ret_error)
                *ret_error = g_strdup(r < 0 ? (e.name ? e.name : strerror(-r)) : "");
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        return r;
}

static void test_export_out_of_fds(void)
{
        Testbed tb;
        sd_bus *bus;
        g_autofree char *err = NULL;
        struct rlimit old, low;
        int fd, n, top, objects;
        uint32_t count = 0;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        testbed_init(&tb, TESTBED_POLICY_OPEN);
        testbed_start_service(&tb, NULL);
        bus = testbed_connect(&tb);

        g_assert_cmpint(memfd_new_sealed_pattern("before", 4096, 1, &fd), ==, 0);
        g_assert_cmpint(export(bus, fd, NULL), >=, 0);
        close(fd);

        /* Every fd number below the limit in use: the next one passed
         * cannot be installed in the service. */
        top = proc_fds(tb.service_pid, &n);
        g_test_message("service: %d fds open, highest %d", n, top - 1);
        g_assert_cmpint(prlimit(tb.service_pid, RLIMIT_NOFILE, NULL, &old), ==, 0);
        low = old;
        low.rlim_cur = (rlim_t) top;
        g_assert_cmpint(prlimit(tb.service_pid, RLIMIT_NOFILE, &low, NULL), ==, 0);
        if (n != top)
                g_test_message("holes below the highest fd: %d free numbers", top - n);

        g_assert_cmpint(memfd_new_sealed_pattern("starved", 4096, 2, &fd), ==, 0);
        {
                int r = 0;

                /* Holes below the highest fd take one passed fd each; after
                 * them none fits, and the call fails with an error. */
                for (int i = 0; i <= top - n && r >= 0; i++) {
                        g_clear_pointer(&err, g_free);
                        r = export(bus, fd, &err);
                        g_test_message("Export at the limit (%d): %s", i, r < 0 ? err : "accepted");
                }
                g_assert_cmpint(r, <, 0);
        }
        g_assert_cmpint(kill(tb.service_pid, 0), ==, 0);

        /* Back to normal: the service is still there and works. */
        g_assert_cmpint(prlimit(tb.service_pid, RLIMIT_NOFILE, &old, NULL), ==, 0);
        g_assert_cmpint(export(bus, fd, NULL), >=, 0);
        close(fd);
        g_assert_cmpint(
            sd_bus_get_property_trivial(bus, DEST, MPATH, MIFACE, "ObjectCount", &e, 'u', &count),
            >=, 0);
        objects = (int) count;
        g_test_message("objects afterwards: %d", objects);
        g_assert_cmpint(objects, >=, 2);
        sd_bus_flush_close_unref(bus);
        testbed_stop_service(&tb);
        testbed_clear(&tb);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        if (getuid() != 0)
                g_error("test-dbus-limits needs root: it lowers the service's fd limit");
        g_test_add_func("/dbus-limits/export-out-of-fds", test_export_out_of_fds);
        return g_test_run();
}
