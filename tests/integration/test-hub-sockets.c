/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets of vhost-shared's command line and configuration file:
 * what is at the path and not a stale socket is left alone (decoys), a
 * stale socket is replaced, only the service's own socket is unlinked at
 * exit, a second service on the same path refuses to start, paths with
 * control characters are refused, socket directories are created, and
 * sockets get the privileged group. vhost-shared --no-bus processes
 * driven through the harness. */

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "harness.h"
#include "socket-decoys.h"

#define NOGROUP_GID 65534

static char *write_config(Harness *h, const char *text)
{
        char *path = harness_path(h, "vhost-shared.conf");

        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        return path;
}

/* vhost-shared --no-bus with args must exit non-zero before it is ready,
 * saying why on stderr: every one of the substrings. */
static void expect_refused(Harness *h, const char *const *args, const char *const *why)
{
        g_autofree char *hub_path = harness_build_file("service/vhost-shared");
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        HarnessProc *bad;
        int status;

        g_ptr_array_add(argv, hub_path);
        g_ptr_array_add(argv, "--no-bus");
        for (const char *const *a = args; *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);
        bad = harness_spawn(h, "refused", (const char *const *) argv->pdata, NULL, 0);
        status = harness_wait_exit(bad, TEST_TIMEOUT_MS);
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
                harness_fail(h, "vhost-shared %s started: status 0x%x", args[0], status);
        for (const char *const *w = why; *w; w++)
                harness_wait_output(bad, HARNESS_STDERR, *w, TEST_TIMEOUT_MS);
}

static void stop_hub(HarnessProc *hub)
{
        harness_kill(hub, SIGTERM);
        g_assert_cmpint(harness_wait_exit(hub, TEST_TIMEOUT_MS), ==, 0);
}

static HarnessProc *start_device(Harness *h, const char *name, const char *sock)
{
        g_autofree char *connect = g_strdup_printf("--connect=%s", sock);
        HarnessProc *d = harness_spawn_device(h, name, connect, "--commands", NULL);

        harness_expect_line(d, "READY", TEST_TIMEOUT_MS);
        return d;
}

/* Each decoy, through --accept and --serve: refused, named, untouched. */
static void test_decoys_command_line(void)
{
        g_autoptr(Harness) h = harness_new();
        DecoySet s = {0};

        decoys_plant(&s, harness_dir(h));
        for (int k = 0; k < DECOY_N; k++) {
                const Decoy *d = &s.decoys[k];
                g_autofree char *accept = g_strdup_printf("--accept=%s", d->path);
                g_autofree char *serve = g_strdup_printf("--serve=%s,queues=2", d->path);
                const char *const accept_args[] = {accept, NULL};
                const char *const serve_args[] = {serve, NULL};
                const char *const why[] = {d->path, d->log_text, NULL};

                g_test_message("%s: %s", d->what, d->path);
                expect_refused(h, accept_args, why);
                decoys_assert_intact(&s);
                expect_refused(h, serve_args, why);
                decoys_assert_intact(&s);
        }
        decoys_clear(&s);
}

/* The same through [Peers] Accept= and Serve= of the configuration file. */
static void test_decoys_config_file(void)
{
        g_autoptr(Harness) h = harness_new();
        DecoySet s = {0};

        decoys_plant(&s, harness_dir(h));
        for (int k = 0; k < DECOY_N; k++) {
                const Decoy *d = &s.decoys[k];
                const char *const why[] = {d->path, d->log_text, NULL};

                for (int serve = 0; serve < 2; serve++) {
                        g_autofree char *text = g_strdup_printf(
                            "[Peers]\n%s=%s\n", serve ? "Serve" : "Accept", d->path);
                        g_autofree char *conf = write_config(h, text);
                        g_autofree char *config_arg = g_strdup_printf("--config=%s", conf);
                        const char *const args[] = {config_arg, NULL};

                        g_test_message("%s through %s", d->what, text);
                        expect_refused(h, args, why);
                        decoys_assert_intact(&s);
                }
        }
        decoys_clear(&s);
}

/* A socket nobody listens on (a crashed run's) is replaced. */
static void test_stale_socket_replaced(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct stat st;
        HarnessProc *hub;

        g_strlcpy(sa.sun_path, sock, sizeof(sa.sun_path));
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        close(fd);

        /* (tmpfs may give the new socket the old inode number: the proof is
         * that a back-end gets through.) */
        hub = harness_spawn_hub(h, accept, NULL);
        g_assert_cmpint(lstat(sock, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        start_device(h, "device", sock);
        stop_hub(hub);
        g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
}

/* At exit the service unlinks its socket only while it is still its own:
 * a file put in its place while it ran survives. */
static void test_exit_unlinks_only_own(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        DecoyPhoto photo = {0};
        HarnessProc *hub;

        hub = harness_spawn_hub(h, accept, NULL);
        g_assert_cmpint(unlink(sock), ==, 0);
        g_assert_true(g_file_set_contents(sock, "an administrator's notes\n", -1, NULL));
        decoy_photo_take(&photo, sock);
        stop_hub(hub);
        decoy_photo_assert(&photo);
        decoy_photo_clear(&photo);
}

/* A second vhost-shared on the first one's --accept path (an
 * administrator's mistake) refuses to start, says why, and leaves the
 * first one's socket alone: back-ends still reach the first service. */
static void test_second_instance(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        const char *const args[] = {accept, NULL};
        const char *const why[] = {sock, "another process already listens there", NULL};
        DecoyPhoto photo = {0};
        HarnessProc *hub, *dev;

        hub = harness_spawn_hub(h, accept, NULL);
        decoy_photo_take(&photo, sock);
        expect_refused(h, args, why);
        decoy_photo_assert(&photo);
        dev = start_device(h, "device", sock);
        harness_send_line(dev, "export %s", "0b7a4c1e-5d2f-4e11-9a3b-000000000001");
        harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS);
        stop_hub(hub);
        decoy_photo_clear(&photo);
}

/* A control character in a path is refused, and the log line shows it
 * escaped: it cannot forge a line. */
static void test_control_characters(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *bad = harness_path(h, "evil\n<0>forged.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", bad);
        /* GKeyFile reads \n in a value as a newline. */
        g_autofree char *text =
            g_strdup_printf("[Peers]\nServe=%s/evil\\n<0>forged.sock\x7f\n", harness_dir(h));
        g_autofree char *conf = write_config(h, text);
        g_autofree char *config_arg = g_strdup_printf("--config=%s", conf);
        const char *const cl_args[] = {accept, NULL};
        const char *const file_args[] = {config_arg, NULL};
        const char *const why[] = {"evil\\n<0>forged.sock", "control character", NULL};

        expect_refused(h, cl_args, why);
        expect_refused(h, file_args, why);
        g_assert_false(g_file_test(bad, G_FILE_TEST_EXISTS));
}

/* SocketDirectories= that do not exist are created (0755), so a socket can
 * be put there at once; the default group of sockets is the privileged
 * group, the default mode 0660. */
static void test_socket_directories_created(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *run = harness_path(h, "run");
        g_autofree char *other = harness_path(h, "other");
        g_autofree char *sock = g_build_filename(run, "hub.sock", NULL);
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        struct group *nogroup = getgrgid(NOGROUP_GID);
        g_autofree char *text = NULL, *conf = NULL, *config_arg = NULL;
        HarnessProc *hub;
        struct stat st;

        g_assert_nonnull(nogroup);
        text = g_strdup_printf("[Service]\nSocketDirectories=%s %s\n\n[DBus]\nPrivilegedGroup=%s\n",
                               run, other, nogroup->gr_name);
        conf = write_config(h, text);
        config_arg = g_strdup_printf("--config=%s", conf);
        hub = harness_spawn_hub(h, accept, config_arg, NULL);
        for (const char *d = run; d; d = d == run ? other : NULL) {
                g_assert_cmpint(lstat(d, &st), ==, 0);
                g_assert_true(S_ISDIR(st.st_mode));
                g_assert_cmpint(st.st_mode & 07777, ==, 0755);
        }
        g_assert_cmpint(lstat(sock, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0660);
        g_assert_cmpint(st.st_gid, ==, NOGROUP_GID);
        start_device(h, "device", sock);
        stop_hub(hub);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hub-sockets/decoys-command-line", test_decoys_command_line);
        g_test_add_func("/hub-sockets/decoys-config-file", test_decoys_config_file);
        g_test_add_func("/hub-sockets/stale-socket-replaced", test_stale_socket_replaced);
        g_test_add_func("/hub-sockets/exit-unlinks-only-own", test_exit_unlinks_only_own);
        g_test_add_func("/hub-sockets/second-instance", test_second_instance);
        g_test_add_func("/hub-sockets/control-characters", test_control_characters);
        g_test_add_func("/hub-sockets/socket-directories-created", test_socket_directories_created);
        return g_test_run();
}
