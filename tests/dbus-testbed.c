/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dbus-testbed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
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

static uint64_t now_usec(void)
{
        return (uint64_t) g_get_monotonic_time();
}

static int ms_left(uint64_t deadline)
{
        uint64_t now = now_usec();

        return now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
}

static int pidfd_open_(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for pid with the deadline; returns the wait status, or -1 on
 * timeout. Without pidfds (valgrind does not know pidfd_open) it polls
 * waitpid in short steps. */
static int wait_pid(pid_t pid, uint64_t deadline)
{
        int pidfd = pidfd_open_(pid), status = 0;

        for (;;) {
                struct pollfd p = {.fd = pidfd, .events = POLLIN};
                int r;

                if (pidfd < 0) {
                        r = waitpid(pid, &status, WNOHANG);
                        g_assert_cmpint(r, >=, 0);
                        if (r == pid)
                                return status;
                        if (ms_left(deadline) == 0)
                                return -1;
                        (void) poll(NULL, 0, MIN(ms_left(deadline), 10));
                        continue;
                }
                r = poll(&p, 1, ms_left(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        close(pidfd);
                        return -1;
                }
                break;
        }
        close(pidfd);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        return status;
}

static int exit_code(int status)
{
        if (status < 0)
                return -1;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

static const char *env_or_die(const char *name)
{
        const char *v = g_getenv(name);

        if (!v)
                g_error("%s is not set: run the test through meson test", name);
        return v;
}

char *testbed_build_path(const char *relative)
{
        return g_build_filename(env_or_die("VHOST_SHARE_BUILD_ROOT"), relative, NULL);
}

char *testbed_source_path(const char *relative)
{
        return g_build_filename(env_or_die("VHOST_SHARE_SOURCE_ROOT"), relative, NULL);
}

/* In a child: die with the test, keep stdout off the TAP stream. */
static void child_setup(bool stdout_to_stderr)
{
        int devnull;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0)
                dup2(devnull, STDIN_FILENO);
        if (stdout_to_stderr)
                dup2(STDERR_FILENO, STDOUT_FILENO);
        signal(SIGPIPE, SIG_DFL);
}

static void start_bus(Testbed *t)
{
        g_autofree char *conf = g_build_filename(t->dir, "bus.conf", NULL);
        g_autofree char *fdarg = NULL;
        uint64_t deadline = now_usec() + TESTBED_TIMEOUT_USEC;
        char buf[512];
        size_t n = 0;
        int pipefd[2];

        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        t->bus_pid = fork();
        g_assert_cmpint(t->bus_pid, >=, 0);
        if (t->bus_pid == 0) {
                child_setup(true);
                /* umockdev or sanitizer runtimes are for the service, not the bus. */
                unsetenv("LD_PRELOAD");
                /* The write end must survive exec. */
                dup2(pipefd[1], 3);
                fdarg = g_strdup("--print-address=3");
                execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", fdarg,
                       g_strdup_printf("--config-file=%s", conf), (char *) NULL);
                fprintf(stderr, "cannot run dbus-daemon: %m (package dbus-daemon)\n");
                _exit(127);
        }
        close(pipefd[1]);
        while (!memchr(buf, '\n', n)) {
                struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
                ssize_t k;

                if (poll(&p, 1, ms_left(deadline)) <= 0)
                        g_error("dbus-daemon did not print its address in time");
                k = read(pipefd[0], buf + n, sizeof(buf) - 1 - n);
                if (k <= 0)
                        g_error("dbus-daemon exited before printing its address (see above)");
                n += (size_t) k;
                g_assert_cmpuint(n, <, sizeof(buf) - 1);
        }
        close(pipefd[0]);
        *strchr(buf, '\n') = 0;
        t->address = g_strndup(buf, n);
}

void testbed_init(Testbed *t, TestbedPolicy policy)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *policy_file = testbed_build_path("data/org.vhostshare.share1.conf");
        g_autofree char *conf = NULL;
        g_autoptr(GString) text = g_string_new(NULL);

        *t = (Testbed){0};
        t->dir = g_dir_make_tmp("vhost-share-dbus-XXXXXX", &error);
        g_assert_no_error(error);
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
        conf = g_build_filename(t->dir, "bus.conf", NULL);
        g_file_set_contents(conf, text->str, -1, &error);
        g_assert_no_error(error);

        t->config = g_build_filename(t->dir, "vhost-shared.conf", NULL);
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
        g_autofree char *daemon = testbed_build_path("service/vhost-shared");
        g_autofree char *notify_path = g_build_filename(t->dir, "notify", NULL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        uint64_t deadline = now_usec() + TESTBED_TIMEOUT_USEC;
        bool ready = false;
        int nfd, pidfd;

        g_assert_cmpint(t->service_pid, ==, 0);
        g_ptr_array_add(argv, g_strdup(daemon));
        g_ptr_array_add(argv, g_strdup_printf("--bus-address=%s", t->address));
        g_ptr_array_add(argv, g_strdup_printf("--config=%s", t->config));
        for (const char *const *a = extra_args; a && *a; a++)
                g_ptr_array_add(argv, g_strdup(*a));
        g_ptr_array_add(argv, NULL);

        nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(nfd, >=, 0);
        unlink(notify_path);
        g_assert_cmpuint(strlen(notify_path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, notify_path);
        g_assert_cmpint(bind(nfd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);

        t->service_pid = fork();
        g_assert_cmpint(t->service_pid, >=, 0);
        if (t->service_pid == 0) {
                child_setup(true);
                setenv("NOTIFY_SOCKET", notify_path, 1);
                execv(daemon, (char **) argv->pdata);
                fprintf(stderr, "cannot run %s: %m\n", daemon);
                _exit(127);
        }

        /* -1 under valgrind: then poll(2) ignores it and waitpid checks. */
        pidfd = pidfd_open_(t->service_pid);
        while (!ready) {
                struct pollfd p[2] = {{.fd = nfd, .events = POLLIN},
                                      {.fd = pidfd, .events = POLLIN}};
                char msg[4096];
                int status = 0;
                ssize_t k;

                if (poll(p, 2, pidfd >= 0 ? ms_left(deadline) : MIN(ms_left(deadline), 10)) < 0 ||
                    ms_left(deadline) == 0)
                        g_error("vhost-shared did not send READY=1 in time (log above)");
                if (p[1].revents ||
                    (pidfd < 0 && waitpid(t->service_pid, &status, WNOHANG) == t->service_pid)) {
                        if (pidfd >= 0)
                                status = wait_pid(t->service_pid, now_usec());
                        t->service_pid = 0;
                        g_error("vhost-shared exited with %d before READY=1 (log above)",
                                exit_code(status));
                }
                k = recv(nfd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
                if (k <= 0)
                        continue;
                msg[k] = 0;
                for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n"))
                        if (strcmp(line, "READY=1") == 0)
                                ready = true;
        }
        if (pidfd >= 0)
                close(pidfd);
        close(nfd);
}

void testbed_stop_service(Testbed *t)
{
        int status;

        if (t->service_pid <= 0)
                return;
        kill(t->service_pid, SIGTERM);
        status = wait_pid(t->service_pid, now_usec() + TESTBED_TIMEOUT_USEC);
        if (status < 0) {
                kill(t->service_pid, SIGKILL);
                wait_pid(t->service_pid, now_usec() + TESTBED_TIMEOUT_USEC);
        }
        t->service_pid = 0;
        g_assert_cmpint(status, >=, 0);
        /* A clean exit: no crash, no sanitizer report. */
        g_assert_cmpint(exit_code(status), ==, 0);
}

static void remove_tree(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d) {
                unlink(path);
                return;
        }
        while ((de = readdir(d))) {
                g_autofree char *p = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                p = g_build_filename(path, de->d_name, NULL);
                remove_tree(p);
        }
        closedir(d);
        rmdir(path);
}

int testbed_wait_service(Testbed *t)
{
        int status;

        g_assert_cmpint(t->service_pid, >, 0);
        status = wait_pid(t->service_pid, now_usec() + TESTBED_TIMEOUT_USEC);
        if (status < 0)
                return -1;
        t->service_pid = 0;
        return exit_code(status);
}

void testbed_stop_bus(Testbed *t)
{
        if (t->bus_pid <= 0)
                return;
        kill(t->bus_pid, SIGTERM);
        if (wait_pid(t->bus_pid, now_usec() + TESTBED_TIMEOUT_USEC) < 0) {
                kill(t->bus_pid, SIGKILL);
                wait_pid(t->bus_pid, now_usec() + TESTBED_TIMEOUT_USEC);
        }
        t->bus_pid = 0;
}

void testbed_clear(Testbed *t)
{
        testbed_stop_service(t);
        testbed_stop_bus(t);
        if (t->dir)
                remove_tree(t->dir);
        g_free(t->dir);
        g_free(t->address);
        g_free(t->service_log);
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
        uint64_t deadline = now_usec() + TESTBED_TIMEOUT_USEC;

        for (;;) {
                int r;

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                g_assert_cmpint(r, >=, 0);
                if (pred(data))
                        return true;
                if (now_usec() >= deadline)
                        return false;
                r = sd_bus_wait(bus, deadline - now_usec());
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

int testbed_run_as(Testbed *t, uid_t uid, gid_t gid, gid_t gid_extra,
                   int (*fn)(Testbed *t, void *data), void *data)
{
        pid_t pid;
        int status;

        if (geteuid() != 0)
                g_error("this test calls the service as another user and must run as root");
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(STDERR_FILENO, STDOUT_FILENO);
                if ((gid_extra != (gid_t) -1 ? setgroups(1, &gid_extra) : setgroups(0, NULL)) < 0 ||
                    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
                        fprintf(stderr, "cannot become %u:%u: %m\n", uid, gid);
                        _exit(126);
                }
                _exit(fn(t, data));
        }
        status = wait_pid(pid, now_usec() + 3 * TESTBED_TIMEOUT_USEC);
        if (status < 0) {
                kill(pid, SIGKILL);
                wait_pid(pid, now_usec() + TESTBED_TIMEOUT_USEC);
        }
        return exit_code(status);
}

/* Signal log. */

static void append_interfaces(GString *s, sd_bus_message *m, bool with_properties)
{
        bool first = true;
        const char *iface;

        if (sd_bus_message_enter_container(m, 'a', with_properties ? "{sa{sv}}" : "s") < 0)
                return;
        for (;;) {
                int r;

                if (with_properties) {
                        r = sd_bus_message_enter_container(m, 'e', "sa{sv}");
                        if (r <= 0)
                                break;
                }
                r = sd_bus_message_read(m, "s", &iface);
                if (r <= 0)
                        break;
                if (with_properties) {
                        sd_bus_message_skip(m, "a{sv}");
                        sd_bus_message_exit_container(m);
                }
                /* Only ours: sd-bus adds the standard interfaces too. */
                if (!g_str_has_prefix(iface, "org.vhostshare."))
                        continue;
                g_string_append_printf(s, "%s%s", first ? " " : ",", iface);
                first = false;
        }
        sd_bus_message_exit_container(m);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        SignalLog *l = userdata;
        const char *member = sd_bus_message_get_member(m);
        const char *a = NULL, *b = NULL, *c = NULL;
        GString *s = g_string_new(member);

        if (strcmp(member, "Added") == 0 && sd_bus_message_read(m, "sos", &a, &b, &c) >= 0)
                g_string_append_printf(s, " %s %s %s", a, b, c);
        else if (strcmp(member, "Removed") == 0 && sd_bus_message_read(m, "so", &a, &b) >= 0)
                g_string_append_printf(s, " %s %s", a, b);
        else if (strcmp(member, "InterfacesAdded") == 0 && sd_bus_message_read(m, "o", &a) >= 0) {
                g_string_append_printf(s, " %s", a);
                append_interfaces(s, m, true);
        } else if (strcmp(member, "InterfacesRemoved") == 0 &&
                   sd_bus_message_read(m, "o", &a) >= 0) {
                g_string_append_printf(s, " %s", a);
                append_interfaces(s, m, false);
        } else if (strcmp(member, "PropertiesChanged") == 0 &&
                   sd_bus_message_read(m, "s", &a) >= 0) {
                bool first = true;

                g_string_append_printf(s, " %s %s", sd_bus_message_get_path(m), a);
                if (sd_bus_message_enter_container(m, 'a', "{sv}") >= 0) {
                        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                                sd_bus_message_read(m, "s", &b);
                                sd_bus_message_skip(m, "v");
                                sd_bus_message_exit_container(m);
                                g_string_append_printf(s, "%s%s", first ? " " : ",", b);
                                first = false;
                        }
                        sd_bus_message_exit_container(m);
                }
                if (sd_bus_message_enter_container(m, 'a', "s") >= 0) {
                        while (sd_bus_message_read(m, "s", &b) > 0) {
                                g_string_append_printf(s, "%s%s", first ? " " : ",", b);
                                first = false;
                        }
                        sd_bus_message_exit_container(m);
                }
        }
        g_ptr_array_add(l->events, g_string_free(s, false));
        return 0;
}

void signal_log_start(SignalLog *l, sd_bus *bus)
{
        int r;

        l->events = g_ptr_array_new_with_free_func(g_free);
        /* Everything below the manager comes from the service. The match is
         * installed synchronously, so nothing sent after this is missed. */
        r = sd_bus_add_match(bus, &l->slot, "type='signal',path_namespace='/org/vhostshare/share1'",
                             on_signal, l);
        g_assert_cmpint(r, >=, 0);
}

void signal_log_clear(SignalLog *l)
{
        l->slot = sd_bus_slot_unref(l->slot);
        g_clear_pointer(&l->events, g_ptr_array_unref);
}

typedef struct {
        SignalLog *l;
        guint n;
} WaitN;

static bool has_n(void *data)
{
        WaitN *w = data;

        return w->l->events->len >= w->n;
}

bool signal_log_wait(SignalLog *l, sd_bus *bus, guint n)
{
        WaitN w = {l, n};

        return testbed_pump_until(bus, has_n, &w);
}

guint signal_log_count(SignalLog *l, const char *s)
{
        guint n = 0;

        for (guint i = 0; i < l->events->len; i++)
                n += strcmp(g_ptr_array_index(l->events, i), s) == 0;
        return n;
}

guint signal_log_count_prefix(SignalLog *l, const char *prefix)
{
        guint n = 0;

        for (guint i = 0; i < l->events->len; i++)
                n += g_str_has_prefix(g_ptr_array_index(l->events, i), prefix);
        return n;
}

char *signal_log_dump(SignalLog *l)
{
        GString *s = g_string_new(NULL);

        for (guint i = 0; i < l->events->len; i++)
                g_string_append_printf(s, "  %s\n", (char *) g_ptr_array_index(l->events, i));
        return g_string_free(s, false);
}

/* Processes. */

void test_process_spawn(TestProcess *p, const char *const *argv, bool merge_stderr)
{
        int in[2], out[2];

        *p = (TestProcess){.buf = g_string_new(NULL)};
        g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
        g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
        p->pid = fork();
        g_assert_cmpint(p->pid, >=, 0);
        if (p->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(in[0], STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                if (merge_stderr)
                        dup2(out[1], STDERR_FILENO);
                signal(SIGPIPE, SIG_DFL);
                execv(argv[0], (char **) argv);
                fprintf(stderr, "cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        p->stdin_fd = in[1];
        p->stdout_fd = out[0];
}

char *test_process_read_line(TestProcess *p)
{
        uint64_t deadline = now_usec() + TESTBED_TIMEOUT_USEC;

        for (;;) {
                char *nl = memchr(p->buf->str, '\n', p->buf->len);
                struct pollfd pf = {.fd = p->stdout_fd, .events = POLLIN};
                char chunk[1024];
                ssize_t k;

                if (nl) {
                        char *line = g_strndup(p->buf->str, (gsize) (nl - p->buf->str));
                        g_string_erase(p->buf, 0, nl - p->buf->str + 1);
                        return line;
                }
                if (p->stdout_fd < 0 || poll(&pf, 1, ms_left(deadline)) <= 0)
                        return NULL;
                k = read(p->stdout_fd, chunk, sizeof(chunk));
                if (k <= 0)
                        return NULL;
                g_string_append_len(p->buf, chunk, k);
        }
}

char *test_process_expect(TestProcess *p, const char *prefix)
{
        for (;;) {
                char *line = test_process_read_line(p);

                if (!line)
                        return NULL;
                if (g_str_has_prefix(line, prefix))
                        return line;
                g_free(line);
        }
}

void test_process_write(TestProcess *p, const char *text)
{
        size_t n = strlen(text);

        g_assert_cmpint(write(p->stdin_fd, text, n), ==, (ssize_t) n);
}

int test_process_wait(TestProcess *p)
{
        int status;

        if (p->pid <= 0)
                return -1;
        status = wait_pid(p->pid, now_usec() + TESTBED_TIMEOUT_USEC);
        if (status >= 0)
                p->pid = 0;
        return status;
}

int test_process_stop(TestProcess *p)
{
        int status = 0;

        if (p->pid > 0) {
                kill(p->pid, SIGTERM);
                status = test_process_wait(p);
                if (status < 0) {
                        kill(p->pid, SIGKILL);
                        status = test_process_wait(p);
                }
        }
        if (p->stdin_fd >= 0)
                close(p->stdin_fd);
        if (p->stdout_fd >= 0)
                close(p->stdout_fd);
        p->stdin_fd = p->stdout_fd = -1;
        if (p->buf)
                g_string_free(p->buf, true);
        p->buf = NULL;
        return status;
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
