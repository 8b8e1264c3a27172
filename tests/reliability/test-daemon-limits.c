/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon under resource pressure and access rules: its fd limit raised
 * at start, running out of fds (accept paused, a lost fd answered with an
 * error) and recovering, SIGTERM in the middle of traffic, socket file
 * permissions and owners, and the uid allow-lists of listening sockets.
 * vhost-shared --no-bus processes driven through the harness
 * (tests/helpers/harness.h). */

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "buffer-pattern.h"
#include "harness.h"
#include "share-table.h"
#include "vu-message.h"

#define UUID_A "5e1f0c3a-7b2d-4c11-8e3f-00000000000a"
#define UUID_B "5e1f0c3a-7b2d-4c11-8e3f-00000000000b"
#define UUID_UNKNOWN "5e1f0c3a-7b2d-4c11-8e3f-0000000000ff"
#define NOBODY_UID 65534

static HarnessProc *start_device(Harness *h, const char *name, const char *sock)
{
        g_autofree char *connect = g_strdup_printf("--connect=%s", sock);
        HarnessProc *d = harness_spawn_device(h, name, connect, "--commands", NULL);

        harness_expect_line(d, "READY", TEST_TIMEOUT_MS);
        return d;
}

static void export_ok(Harness *h, HarnessProc *d, const char *uuid)
{
        const HarnessLine *l;

        harness_send_line(d, "export %s", uuid);
        l = harness_expect_line(d, "EXPORT", TEST_TIMEOUT_MS);
        if (!g_str_has_prefix(l->text, "EXPORTED "))
                harness_fail(h, "%s: export failed: %s", harness_proc_name(d), l->text);
}

static void import_expect(Harness *h, HarnessProc *d, const char *uuid, bool ok)
{
        const HarnessLine *l;

        harness_send_line(d, "import %s", uuid);
        l = harness_expect_line(d, "IMPORT", TEST_TIMEOUT_MS);
        if (ok ? !(g_str_has_prefix(l->text, "IMPORTED ") &&
                   g_str_has_suffix(l->text, "pattern-ok"))
               : !g_str_has_prefix(l->text, "IMPORT-FAILED "))
                harness_fail(h, "%s: import %s: expected %s, got \"%s\"", harness_proc_name(d),
                             uuid, ok ? "success" : "failure", l->text);
}

/* The soft and hard RLIMIT_NOFILE of pid, from /proc/PID/limits. */
static void proc_nofile(pid_t pid, unsigned long *soft, unsigned long *hard)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/limits", (int) pid);
        g_autofree char *text = NULL;
        const char *line;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        line = strstr(text, "Max open files");
        g_assert_nonnull(line);
        g_assert_cmpint(sscanf(line + strlen("Max open files"), "%lu %lu", soft, hard), ==, 2);
}

static char *write_config(Harness *h, const char *text)
{
        char *path = harness_path(h, "vhost-shared.conf");

        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        return path;
}

/* SIGTERM, and a clean exit. */
static void stop_hub(HarnessProc *hub)
{
        harness_kill(hub, SIGTERM);
        g_assert_cmpint(harness_wait_exit(hub, TEST_TIMEOUT_MS), ==, 0);
}

/* vhost-shared --no-bus accept_arg config_arg does not start: it exits
 * non-zero, naming why in its log. */
static void expect_start_refused(Harness *h, const char *accept_arg, const char *config_arg,
                                 const char *why)
{
        g_autofree char *hub_path = harness_build_file("service/vhost-shared");
        const char *argv[] = {hub_path, "--no-bus", accept_arg, config_arg, NULL};
        HarnessProc *bad = harness_spawn(h, "bad-config", argv, NULL, 0);
        int status = harness_wait_exit(bad, TEST_TIMEOUT_MS);

        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);
        harness_expect_output(bad, HARNESS_STDERR, why, TEST_TIMEOUT_MS);
}

/* Started with a soft limit of 256, the daemon runs at its hard limit. */
static void test_fd_limit_raised(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *hub_path = harness_build_file("service/vhost-shared");
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        g_autofree char *nofile = NULL;
        unsigned long soft, hard;
        struct rlimit rl;
        HarnessProc *hub;

        g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
        g_assert_cmpuint(rl.rlim_max, >, 256);
        nofile = g_strdup_printf("--nofile=256:%llu", (unsigned long long) rl.rlim_max);
        const char *argv[] = {"/usr/bin/prlimit", nofile, hub_path, "--no-bus", accept, NULL};
        if (!g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE))
                g_error("%s is missing (package util-linux, tools/install-deps)", argv[0]);
        hub = harness_spawn(h, "hub", argv, NULL,
                            HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT);
        proc_nofile(harness_proc_pid(hub), &soft, &hard);
        g_assert_cmpuint(hard, ==, rl.rlim_max);
        g_assert_cmpuint(soft, ==, hard);
}

/* The soft limit at which exactly `free` fd numbers stay available to pid:
 * the kernel hands out the lowest free number and fails once none is below
 * the limit. Holes and fds of a wrapper far above (valgrind's) count right. */
static rlim_t limit_leaving_free(pid_t pid, unsigned free)
{
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GHashTable) used = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;
        unsigned seen = 0;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d)))
                g_hash_table_add(used, GINT_TO_POINTER(atoi(name) + 1));
        for (int fd = 0;; fd++) {
                if (g_hash_table_contains(used, GINT_TO_POINTER(fd + 1)))
                        continue;
                if (seen++ == free)
                        return (rlim_t) fd;
        }
}

/* Out of fds: the daemon's soft limit is cut to what it holds plus two
 * while it serves. New connections beyond those two wait (accept paused,
 * logged once, no busy loop); a buffer fd that cannot be received makes
 * that lookup fail, not the exporter's connection; and when fds free up,
 * it accepts and serves again. */
static void test_fd_exhaustion(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        g_autofree char *conf = NULL, *config_arg = NULL;
        HarnessProc *hub, *exporter, *importer, *late;
        struct rlimit old, low;
        int extra[6], n;
        pid_t pid;

        /* The raw connections never answer the handshake: a long reply
         * deadline keeps them (and the shortage) for the whole test, however
         * slow the machine. */
        conf = write_config(h, "[Service]\nReplyTimeoutMSec=600000\n");
        config_arg = g_strdup_printf("--config=%s", conf);
        hub = harness_spawn_hub(h, accept, config_arg, NULL);
        pid = harness_proc_pid(hub);
        exporter = start_device(h, "exporter", sock);
        importer = start_device(h, "importer", sock);
        export_ok(h, exporter, UUID_A);
        import_expect(h, importer, UUID_A, true);
        /* The importer may print IMPORTED before the daemon closed its copy
         * of the buffer; an answer without an fd comes after that. */
        import_expect(h, importer, UUID_UNKNOWN, false);

        n = harness_count_fds(pid);
        g_assert_cmpint(n, >, 0);
        g_assert_cmpint(prlimit(pid, RLIMIT_NOFILE, NULL, &old), ==, 0);
        low = old;
        low.rlim_cur = limit_leaving_free(pid, 2);
        g_assert_cmpint(prlimit(pid, RLIMIT_NOFILE, &low, NULL), ==, 0);

        for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++)
                extra[i] = harness_unix_connect(h, sock);
        harness_expect_output(hub, HARNESS_STDERR, "pausing it", TEST_TIMEOUT_MS);
        harness_wait_fd_count(hub, n + 2, TEST_TIMEOUT_MS);

        /* The exporter's answer carries an fd the daemon cannot take. */
        import_expect(h, importer, UUID_A, false);
        harness_expect_output(hub, HARNESS_STDERR, "arrived without its fds", TEST_TIMEOUT_MS);
        g_assert_null(harness_find_line(exporter, HARNESS_STDOUT, "DISCONNECTED"));

        /* Fds free up: the waiting connections are taken (and found closed). */
        for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++)
                close(extra[i]);
        harness_expect_output(hub, HARNESS_STDERR, "accepting on", TEST_TIMEOUT_MS);
        import_expect(h, importer, UUID_A, true);

        g_assert_cmpint(prlimit(pid, RLIMIT_NOFILE, &old, NULL), ==, 0);
        late = start_device(h, "late", sock);
        export_ok(h, late, UUID_B);
        import_expect(h, importer, UUID_B, true);
        import_expect(h, late, UUID_A, true);
        /* One warning for the whole shortage, not one per wake-up. */
        g_assert_cmpuint(harness_count_lines(hub, HARNESS_STDERR, "pausing it"), ==, 1);
        g_assert_false(harness_proc_exited(hub));
}

/* A raw back-end connected up to its back-end channel. */
static RawPeer *raw_connect(Harness *h, const char *sock)
{
        RawPeer *r = harness_raw_peer_connect(h, sock, RAW_PEER_BACKEND);

        raw_peer_handshake(r, VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT));
        return r;
}

/* SIGTERM while devices export and import and a raw back-end pours ADDs
 * in: exit status 0 (and, in the sanitized build, no leak report), every
 * listening socket unlinked. */
static void test_sigterm_under_load(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *serve = harness_path(h, "serve.sock");
        g_autofree char *accept_arg = g_strdup_printf("--accept=%s", sock);
        g_autofree char *serve_arg = g_strdup_printf("--serve=%s", serve);
        HarnessProc *hub, *exporter, *importer;
        uint8_t uuid[16] = {0x5e, 0x1f, 0x0c, 0x3a, 0x7b, 0x2d, 0x4c, 0x11, 0x8e, 0x3f};
        RawPeer *raw;
        int status;

        hub = harness_spawn_hub(h, accept_arg, serve_arg, NULL);
        exporter = start_device(h, "exporter", sock);
        importer = start_device(h, "importer", sock);
        export_ok(h, exporter, UUID_A);
        raw = raw_connect(h, sock);
        /* ADDs without NEED_REPLY, as libvhost-user sends them: the hub reads
         * while we keep writing; the channel is non-blocking on our side so
         * a full socket only stops the flood. */
        for (unsigned i = 0; i < 2000; i++) {
                uint8_t buf[VU_HEADER_SIZE + 16];
                VuMessage m;

                uuid[14] = (uint8_t) (i >> 8);
                uuid[15] = (uint8_t) i;
                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_ADD, 0, uuid);
                vu_message_serialize(&m, buf, sizeof(buf));
                if (write(vu_conn_fd(raw->chan), buf, sizeof(buf)) != (ssize_t) sizeof(buf))
                        break;
        }
        for (unsigned i = 0; i < 20; i++)
                harness_send_line(importer, "import %s", UUID_A);
        harness_kill(hub, SIGTERM);
        status = harness_wait_exit(hub, TEST_TIMEOUT_MS);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                harness_fail(h, "vhost-shared did not exit cleanly on SIGTERM: status 0x%x",
                             status);
        g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test(serve, G_FILE_TEST_EXISTS));
        harness_expect_line(exporter, "DISCONNECTED", TEST_TIMEOUT_MS);
        harness_expect_line(importer, "DISCONNECTED", TEST_TIMEOUT_MS);
        raw_peer_free(raw);
}

/* Default 0660; SocketMode=, SocketUser= and SocketGroup= as configured. */
static void test_socket_permissions(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *a = harness_path(h, "a.sock");
        g_autofree char *b = harness_path(h, "b.sock");
        g_autofree char *accept_a = g_strdup_printf("--accept=%s", a);
        g_autofree char *serve_b = g_strdup_printf("--serve=%s", b);
        g_autofree char *conf = NULL, *config_arg = NULL;
        struct group *nogroup = getgrgid(NOBODY_UID);
        HarnessProc *hub;
        struct stat st;

        hub = harness_spawn_hub(h, accept_a, NULL);
        g_assert_cmpint(stat(a, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0660);
        g_assert_cmpint(st.st_uid, ==, getuid());
        stop_hub(hub);

        conf = write_config(h, "[Service]\nSocketMode=0640\nSocketUser=65534\n"
                               "SocketGroup=65534\n");
        config_arg = g_strdup_printf("--config=%s", conf);
        hub = harness_spawn_hub(h, accept_a, serve_b, config_arg, NULL);
        for (const char *p = a; p; p = p == a ? b : NULL) {
                g_assert_cmpint(stat(p, &st), ==, 0);
                g_assert_cmpint(st.st_mode & 07777, ==, 0640);
                g_assert_cmpint(st.st_uid, ==, NOBODY_UID);
                g_assert_cmpint(st.st_gid, ==, NOBODY_UID);
        }
        stop_hub(hub);

        /* Names work too; a user that does not exist stops the start. */
        if (nogroup && getpwuid(NOBODY_UID)) {
                g_autofree char *text =
                    g_strdup_printf("[Service]\nSocketUser=%s\nSocketGroup=%s\n",
                                    getpwuid(NOBODY_UID)->pw_name, nogroup->gr_name);
                g_free(write_config(h, text));
                hub = harness_spawn_hub(h, accept_a, config_arg, NULL);
                g_assert_cmpint(stat(a, &st), ==, 0);
                g_assert_cmpint(st.st_uid, ==, NOBODY_UID);
                g_assert_cmpint(st.st_gid, ==, NOBODY_UID);
                stop_hub(hub);
        }
        g_free(write_config(h, "[Service]\nSocketUser=no-such-user-vhost-share\n"));
        expect_start_refused(h, accept_a, config_arg, "no-such-user-vhost-share");
}

/* The limits of the configuration file, at the daemon: MaxObjectsPerPeer=
 * refuses the third export with a non-zero ack; MaxPeers= closes the
 * connection over the cap with a log line; MaxPendingLookupsPerPeer=1 lets
 * one GET_SHARED_OBJECT wait at a silent exporter and refuses the next
 * lookup at once; the waiting one completes when the exporter answers. */
static void test_config_limits(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *sock = harness_path(h, "hub.sock");
        g_autofree char *accept = g_strdup_printf("--accept=%s", sock);
        g_autofree char *conf = write_config(h, "[Service]\nMaxObjectsPerPeer=2\nMaxPeers=4\n"
                                                "MaxPendingLookupsPerPeer=1\n"
                                                "LookupTimeoutMSec=60000\n");
        g_autofree char *config_arg = g_strdup_printf("--config=%s", conf);
        const char *uuids[] = {"5e1f0c3a-7b2d-4c11-8e3f-000000000001",
                               "5e1f0c3a-7b2d-4c11-8e3f-000000000002",
                               "5e1f0c3a-7b2d-4c11-8e3f-000000000003"};
        const char *held_text = "5e1f0c3a-7b2d-4c11-8e3f-0000000000ee";
        uint8_t held[16];
        HarnessProc *hub, *a, *b, *c;
        const HarnessLine *l;
        RawPeer *raw, *over;
        VuMessage m;
        int buffer;

        hub = harness_spawn_hub(h, accept, config_arg, NULL);
        a = start_device(h, "a", sock);
        export_ok(h, a, uuids[0]);
        export_ok(h, a, uuids[1]);
        harness_send_line(a, "export %s", uuids[2]);
        l = harness_expect_line(a, "EXPORT", TEST_TIMEOUT_MS);
        if (!g_str_has_prefix(l->text, "EXPORT-REFUSED "))
                harness_fail(h, "the third export got through: %s", l->text);

        b = start_device(h, "b", sock);
        c = start_device(h, "c", sock);
        import_expect(h, b, uuids[1], true);

        /* The fourth peer: a silent exporter. */
        raw = raw_connect(h, sock);
        g_assert_cmpint(share_uuid_from_string(held_text, held), ==, 0);
        g_assert_cmpint(raw_peer_request(raw, VU_BREQ_SHARED_OBJECT_ADD, held, -1, &m), ==, 1);
        g_assert_cmpuint(m.payload.u64, ==, 0);

        /* A fifth is over MaxPeers=4. */
        over = harness_raw_peer_connect(h, sock, RAW_PEER_BACKEND);
        raw_peer_wait_hangup(over, over->main);
        raw_peer_free(over);
        harness_expect_output(hub, HARNESS_STDERR, "4 peers is the limit", TEST_TIMEOUT_MS);

        /* One lookup waits at the exporter, the next is refused at once. */
        harness_send_line(b, "import %s", held_text);
        g_assert_cmpint(raw_peer_recv(raw, raw->main, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        import_expect(h, c, held_text, false);
        g_assert_null(harness_find_line(b, HARNESS_STDOUT, held_text));

        g_assert_cmpint(memfd_new_sealed_pattern("held", 4096, buffer_pattern_seed(held), &buffer),
                        ==, 0);
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, held);
        g_assert_cmpint(vu_message_add_fd(&m, buffer), ==, 0);
        raw_peer_send(raw, raw->main, &m);
        l = harness_expect_line(b, "IMPORT", TEST_TIMEOUT_MS);
        if (!g_str_has_prefix(l->text, "IMPORTED ") || !g_str_has_suffix(l->text, "pattern-ok"))
                harness_fail(h, "the waiting lookup: %s", l->text);
        raw_peer_free(raw);
}

typedef struct {
        const char *path;
        uid_t uid;
} ConnectAs;

/* In the child: 1 when the hub spoke first, 0 when it closed, 3 when
 * connecting failed. */
static int connect_as_child(void *userdata)
{
        const ConnectAs *c = userdata;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct pollfd pfd;
        char byte;
        int fd;

        if (setresgid(c->uid, c->uid, c->uid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0)
                return 10;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_strlcpy(sa.sun_path, c->path, sizeof(sa.sun_path));
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 3;
        pfd = (struct pollfd){.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, TEST_TIMEOUT_MS) != 1)
                return 11;
        return read(fd, &byte, 1) == 1 ? 1 : 0;
}

/* Connects to path as uid (a forked child) and reports what it saw: 1 when
 * the hub spoke first (GET_FEATURES: accepted), 0 when it closed the
 * connection (refused), -1 when it could not connect at all. */
static int connect_as(Harness *h, const char *path, uid_t uid)
{
        ConnectAs c = {path, uid};
        HarnessProc *child = harness_fork(h, "connect-as", connect_as_child, &c);
        int status = harness_wait_exit(child, 2 * TEST_TIMEOUT_MS);

        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), <=, 3);
        return WEXITSTATUS(status) == 3 ? -1 : WEXITSTATUS(status);
}

/* [Service] AllowedUids= for every socket, [Socket PATH] for one: a uid
 * not on the list is refused at accept, with its uid in the log; the file
 * mode stays the first wall. */
static void test_allowed_uids(void)
{
        g_autoptr(Harness) h = harness_new();
        g_autofree char *a = harness_path(h, "a.sock");
        g_autofree char *b = harness_path(h, "b.sock");
        g_autofree char *accept_a = g_strdup_printf("--accept=%s", a);
        g_autofree char *accept_b = g_strdup_printf("--accept=%s", b);
        g_autofree char *conf = NULL, *config_arg = NULL, *text = NULL;
        HarnessProc *hub;

        /* The test directory must be reachable for the other uid. */
        g_assert_cmpint(chmod(harness_dir(h), 0755), ==, 0);

        /* Default: mode 0660 root-owned keeps nobody out at connect(). */
        hub = harness_spawn_hub(h, accept_a, NULL);
        g_assert_cmpint(connect_as(h, a, NOBODY_UID), ==, -1);
        g_assert_cmpint(connect_as(h, a, 0), ==, 1);
        stop_hub(hub);

        /* World-writable sockets, the allow-list as the only wall: root
         * everywhere, nobody only on b. */
        text = g_strdup_printf("[Service]\nSocketMode=0666\nAllowedUids=0\n\n"
                               "[Socket %s]\nAllowedUids=root, %d\n",
                               b, NOBODY_UID);
        conf = write_config(h, text);
        config_arg = g_strdup_printf("--config=%s", conf);
        hub = harness_spawn_hub(h, accept_a, accept_b, config_arg, NULL);
        g_assert_cmpint(connect_as(h, a, NOBODY_UID), ==, 0);
        harness_expect_output(hub, HARNESS_STDERR, "refusing a connection from uid 65534",
                              TEST_TIMEOUT_MS);
        g_assert_cmpint(connect_as(h, a, 0), ==, 1);
        g_assert_cmpint(connect_as(h, b, NOBODY_UID), ==, 1);
        g_assert_cmpint(connect_as(h, b, 0), ==, 1);

        /* A list naming a socket that is not there stops the start. */
        g_free(text);
        text = g_strdup_printf("[Socket %s/elsewhere.sock]\nAllowedUids=0\n", harness_dir(h));
        g_free(write_config(h, text));
        {
                g_autofree char *c = harness_path(h, "c.sock");
                g_autofree char *accept_c = g_strdup_printf("--accept=%s", c);

                expect_start_refused(h, accept_c, config_arg, "elsewhere.sock");
                g_assert_false(g_file_test(c, G_FILE_TEST_EXISTS));
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        if (getuid() != 0)
                g_error("test-daemon-limits needs root: it lowers another process's fd limit, "
                        "chowns sockets and connects as another uid");
        g_test_add_func("/daemon/fd-limit-raised", test_fd_limit_raised);
        g_test_add_func("/daemon/fd-exhaustion", test_fd_exhaustion);
        g_test_add_func("/daemon/sigterm-under-load", test_sigterm_under_load);
        g_test_add_func("/daemon/config-limits", test_config_limits);
        g_test_add_func("/daemon/socket-permissions", test_socket_permissions);
        g_test_add_func("/daemon/allowed-uids", test_allowed_uids);
        return g_test_run();
}
