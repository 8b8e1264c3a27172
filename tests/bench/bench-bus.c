/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private dbus-daemon for the daemon under test: open policy, limits
 * high enough for a GetManagedObjects reply with 100k objects. */

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>

#include "bench.h"

static const char bus_config[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:path=%s/bus</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "    <allow own=\"*\"/>\n"
    "  </policy>\n"
    "  <limit name=\"max_incoming_bytes\">1000000000</limit>\n"
    "  <limit name=\"max_outgoing_bytes\">1000000000</limit>\n"
    "  <limit name=\"max_message_size\">1000000000</limit>\n"
    "  <limit name=\"reply_timeout\">300000</limit>\n"
    "</busconfig>\n";

int bench_bus_connect(const char *address, sd_bus **ret)
{
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int bench_bus_start(const char *dir, BenchBus *ret)
{
        g_autofree char *conf = g_build_filename(dir, "bus.conf", NULL);
        g_autofree char *log = g_build_filename(dir, "dbus-daemon.log", NULL);
        g_autofree char *text = g_strdup_printf(bus_config, dir);
        g_autofree char *daemon = g_find_program_in_path("dbus-daemon");
        g_autofree char *conf_arg = g_strdup_printf("--config-file=%s", conf);
        g_auto(GStrv) envp = g_get_environ();
        uint64_t deadline = bench_now_ns() + (uint64_t) BENCH_TIMEOUT_MS * 1000000u;
        int r;

        *ret = (BenchBus){.child = {.pidfd = -1}};
        if (!daemon) {
                progress("dbus-daemon is not installed (tools/install-deps installs it)");
                return -ENOENT;
        }
        if (!g_file_set_contents(conf, text, -1, NULL))
                return -EIO;
        char *argv[] = {daemon, "--nofork", "--nopidfile", conf_arg, NULL};
        r = bench_spawn(argv, envp, log, &ret->child);
        if (r < 0)
                return r;
        ret->address = g_strdup_printf("unix:path=%s/bus", dir);
        /* dbus-daemon has no readiness notification: connect until it answers. */
        while (bench_now_ns() < deadline) {
                sd_bus *probe = NULL;

                if (bench_child_exited(&ret->child))
                        break;
                if (bench_bus_connect(ret->address, &probe) >= 0) {
                        sd_bus_flush_close_unref(probe);
                        return 0;
                }
                g_usleep(10 * 1000);
        }
        progress("dbus-daemon did not come up; its log: %s", log);
        bench_bus_stop(ret);
        return -ETIMEDOUT;
}

void bench_bus_stop(BenchBus *b)
{
        bench_child_stop(&b->child, SIGTERM);
        g_clear_pointer(&b->address, g_free);
}
