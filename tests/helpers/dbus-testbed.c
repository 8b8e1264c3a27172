/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private D-Bus for one test, on the harness (see dbus-testbed.h). */
#include "dbus-testbed.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char bus_config_head[] =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>system</type>\n"
    "  <listen>unix:path=%s/bus</listen>\n"
    "  <auth>EXTERNAL</auth>\n";

/* The defaults of Debian's system.conf: nothing may be owned or called
 * unless a policy file opens it. */
static const char bus_policy_system[] =
    "  <policy context=\"default\">\n"
    "    <allow user=\"*\"/>\n"
    "    <deny own=\"*\"/>\n"
    "    <deny send_type=\"method_call\"/>\n"
    "    <allow send_type=\"signal\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
    "    <allow receive_type=\"method_call\"/>\n"
    "    <allow receive_type=\"method_return\"/>\n"
    "    <allow receive_type=\"error\"/>\n"
    "    <allow receive_type=\"signal\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Monitoring\"/>\n"
    "  </policy>\n"
    "  <include>%s</include>\n";

static const char bus_policy_open[] = "  <policy context=\"default\">\n"
                                      "    <allow user=\"*\"/>\n"
                                      "    <allow own=\"*\"/>\n"
                                      "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                                      "    <allow eavesdrop=\"true\"/>\n"
                                      "  </policy>\n";

int testbed_exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

static void start_bus(Testbed *t)
{
        g_autofree char *daemon = g_find_program_in_path("dbus-daemon");
        g_autofree char *conf = harness_path(t->h, "bus.conf");
        g_autofree char *conf_arg = g_strdup_printf("--config-file=%s", conf);
        const char *argv[] = {daemon,   "--nofork",          "--nopidfile",
                              conf_arg, "--print-address=1", NULL};
        /* Preloaded libraries (umockdev, a sanitizer runtime) are for the
         * service, not the bus. */
        const char *env[] = {"LD_PRELOAD=", NULL};
        const HarnessLine *l;

        if (!daemon)
                g_error("cannot find dbus-daemon (package dbus-daemon)");
        t->bus = harness_spawn(t->h, "dbus-daemon", argv, env, HARNESS_SPAWN_DEFAULT);
        l = harness_expect_line(t->bus, "unix:", TEST_TIMEOUT_MS);
        t->address = g_strdup(l->text);
}

void testbed_init(Testbed *t, TestbedPolicy policy)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *policy_file = harness_build_file("data/org.vhostshare.share1.conf");
        g_autofree char *conf = NULL;
        g_autoptr(GString) text = g_string_new(NULL);

        *t = (Testbed){0};
        t->h = harness_new();
        t->dir = harness_dir(t->h);
        /* Callers running as nobody must reach the bus socket. */
        g_assert_cmpint(chmod(t->dir, 0755), ==, 0);

        g_string_append_printf(text, bus_config_head, t->dir);
        if (policy == TESTBED_POLICY_SHIPPED) {
                if (!g_file_test(policy_file, G_FILE_TEST_EXISTS))
                        g_error("%s is missing: build the project first", policy_file);
                g_string_append_printf(text, bus_policy_system, policy_file);
        } else
                g_string_append(text, bus_policy_open);
        g_string_append(text, "</busconfig>\n");
        conf = harness_path(t->h, "bus.conf");
        g_file_set_contents(conf, text->str, -1, &error);
        g_assert_no_error(error);

        t->config = harness_path(t->h, "vhost-shared.conf");
        testbed_set_config(t, "");
        start_bus(t);
}

void testbed_set_config(Testbed *t, const char *text)
{
        g_autoptr(GError) error = NULL;

        g_file_set_contents(t->config, text, -1, &error);
        g_assert_no_error(error);
}

void testbed_start_service(Testbed *t, const char *const *extra_args)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

        g_assert_null(t->service);
        g_ptr_array_add(argv, harness_build_file("service/vhost-shared"));
        g_ptr_array_add(argv, g_strdup_printf("--bus-address=%s", t->address));
        g_ptr_array_add(argv, g_strdup_printf("--config=%s", t->config));
        for (const char *const *a = extra_args; a && *a; a++)
                g_ptr_array_add(argv, g_strdup(*a));
        g_ptr_array_add(argv, NULL);
        /* A clean exit at the end: no crash, no sanitizer report. */
        t->service = harness_spawn(t->h, "vhost-shared", (const char *const *) argv->pdata, NULL,
                                   HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT);
        t->service_pid = harness_proc_pid(t->service);
}

void testbed_stop_service(Testbed *t)
{
        int status;

        if (!t->service)
                return;
        status = harness_stop(t->service, TEST_TIMEOUT_MS);
        t->service = NULL;
        t->service_pid = 0;
        g_assert_cmpint(testbed_exit_code(status), ==, 0);
}

int testbed_wait_service(Testbed *t)
{
        HarnessProc *p = t->service;

        g_assert_nonnull(p);
        harness_proc_skip_exit_check(p);
        t->service = NULL;
        t->service_pid = 0;
        return testbed_exit_code(harness_wait_exit(p, TEST_TIMEOUT_MS));
}

void testbed_stop_bus(Testbed *t)
{
        if (!t->bus)
                return;
        harness_stop(t->bus, TEST_TIMEOUT_MS);
        t->bus = NULL;
}

void testbed_clear(Testbed *t)
{
        testbed_stop_service(t);
        harness_free(t->h);
        g_free(t->address);
        g_free(t->config);
        *t = (Testbed){0};
}

sd_bus *testbed_connect(Testbed *t)
{
        sd_bus *bus = NULL;

        g_assert_cmpint(sd_bus_new(&bus), >=, 0);
        g_assert_cmpint(sd_bus_set_address(bus, t->address), >=, 0);
        g_assert_cmpint(sd_bus_set_bus_client(bus, true), >=, 0);
        g_assert_cmpint(sd_bus_negotiate_fds(bus, true), >=, 0);
        g_assert_cmpint(sd_bus_start(bus), >=, 0);
        return bus;
}

bool testbed_pump_until(sd_bus *bus, bool (*pred)(void *data), void *data)
{
        uint64_t deadline = (uint64_t) (g_get_monotonic_time() + TEST_TIMEOUT_USEC);

        for (;;) {
                uint64_t now;
                int r;

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                g_assert_cmpint(r, >=, 0);
                if (pred(data))
                        return true;
                now = (uint64_t) g_get_monotonic_time();
                if (now >= deadline)
                        return false;
                r = sd_bus_wait(bus, deadline - now);
                g_assert_cmpint(r, >=, 0);
        }
}

void testbed_sync(sd_bus *bus)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, "org.vhostshare.share1", "/org/vhostshare/share1",
                               "org.freedesktop.DBus.Peer", "Ping", &error, NULL, NULL);
        if (r < 0)
                g_error("Ping failed: %s", error.message);
        sd_bus_error_free(&error);
        while ((r = sd_bus_process(bus, NULL)) > 0)
                ;
        g_assert_cmpint(r, >=, 0);
}

typedef struct {
        Testbed *t;
        uid_t uid;
        gid_t gid;
        gid_t gid_extra;
        int (*fn)(Testbed *t, void *data);
        void *data;
} CallAs;

static int call_as(void *userdata)
{
        CallAs *c = userdata;

        if ((c->gid_extra != (gid_t) -1 ? setgroups(1, &c->gid_extra) : setgroups(0, NULL)) < 0 ||
            setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0) {
                fprintf(stderr, "cannot become %u:%u: %m\n", c->uid, c->gid);
                return 126;
        }
        return c->fn(c->t, c->data);
}

HarnessProc *testbed_start_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                              int (*fn)(Testbed *t, void *data), void *data)
{
        CallAs c = {t, uid, gid, gid_extra, fn, data};
        g_autofree char *name = g_strdup_printf("as uid %u", (unsigned) uid);

        if (geteuid() != 0)
                g_error("this test calls the service as another user and must run as root");
        return harness_fork(t->h, name, call_as, &c);
}

int testbed_run_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                   int (*fn)(Testbed *t, void *data), void *data)
{
        HarnessProc *p = testbed_start_as(t, uid, gid, gid_extra, fn, data);

        /* The child makes several calls, each of which may take a deadline. */
        return testbed_exit_code(harness_wait_exit(p, 3 * TEST_TIMEOUT_MS));
}

void test_uuid_to_path(const char *uuid, char *out, size_t n)
{
        GString *s = g_string_new("/org/vhostshare/share1/object/");

        for (const char *c = uuid; *c; c++)
                if (*c != '-')
                        g_string_append_c(s, g_ascii_tolower(*c));
        g_assert_cmpuint(s->len, <, n);
        strcpy(out, s->str);
        g_string_free(s, true);
}
