/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AddPeer accept|serve and the files at their paths: decoys refused with a
 * named error and left byte-identical, control characters refused, the
 * privileged group's members confined to SocketDirectories= (root is not),
 * and a member's back-end connecting to the socket the member attached
 * (the socket has the privileged group). Each test gets its own
 * dbus-daemon and service (dbus-fixture.h). */

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-fixture.h"
#include "socket-decoys.h"

#define NOBODY_UID 65534
#define NOGROUP_GID 65534
#define OTHER_GID 54321 /* a primary gid that is not the privileged group */

static const char *const roles[] = {"accept", "serve"};

/* The service with nogroup as its privileged group and dir/sockets as its
 * only socket directory (created by the service). */
static void setup_sockets(Fixture *f, gconstpointer data)
{
        struct group *gr = getgrgid(NOGROUP_GID);
        g_autofree char *config = NULL;

        g_assert_nonnull(gr);
        testbed_init(&f->tb, TESTBED_POLICY_OPEN);
        config = g_strdup_printf("[Service]\nSocketDirectories=%s/sockets\n\n"
                                 "[DBus]\nPrivilegedGroup=%s\n",
                                 f->tb.dir, gr->gr_name);
        testbed_set_config(&f->tb, config);
        testbed_start_service(&f->tb, NULL);
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus);
}

static void expect_add_peer_error(sd_bus *bus, const char *role, const char *path,
                                  const char *error)
{
        g_autofree char *err = call_add_peer(bus, role, path, NULL);

        if (g_strcmp0(err, error) != 0)
                g_error("AddPeer %s %s: %s, expected %s", role, path, err ? err : "success", error);
}

/* Root's AddPeer on each decoy, in both listening roles. */
static void test_decoys(Fixture *f, gconstpointer data)
{
        DecoySet s = {0};

        decoys_plant(&s, f->tb.dir);
        for (int k = 0; k < DECOY_N; k++) {
                const Decoy *d = &s.decoys[k];

                for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
                        g_test_message("%s %s: %s", roles[i], d->what, d->path);
                        expect_add_peer_error(f->bus, roles[i], d->path, d->error);
                        decoys_assert_intact(&s);
                }
        }
        decoys_clear(&s);
}

/* Any byte below 0x20 or 0x7f in a path, in every role. */
static void test_control_characters(Fixture *f, gconstpointer data)
{
        const char *const bad[] = {"evil\n<0>forged.sock", "tab\there.sock", "del\x7f.sock",
                                   "esc\x1b[31m.sock"};
        const char *const all_roles[] = {"accept", "serve", "connect"};

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *path = g_build_filename(f->tb.dir, bad[i], NULL);

                for (size_t j = 0; j < G_N_ELEMENTS(all_roles); j++)
                        expect_add_peer_error(f->bus, all_roles[j], path,
                                              "org.freedesktop.DBus.Error.InvalidArgs");
                g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        }
}

typedef struct {
        const char *path;
        const char *error; /* NULL: must succeed */
} MemberAdd;

static int member_adds(Testbed *t, void *data)
{
        const MemberAdd *add = data;
        sd_bus *bus = testbed_connect(t);
        g_autofree char *err = call_add_peer(bus, "accept", add->path, NULL);
        int r = g_strcmp0(err, add->error) == 0 ? 0 : 1;

        if (r)
                fprintf(stderr, "AddPeer accept %s: %s, expected %s\n", add->path,
                        err ? err : "success", add->error ? add->error : "success");
        sd_bus_flush_close_unref(bus);
        return r;
}

static int run_member_add(Fixture *f, const char *path, const char *error)
{
        MemberAdd add = {path, error};

        return testbed_run_as(&f->tb, NOBODY_UID, OTHER_GID, NOGROUP_GID, member_adds, &add);
}

/* A back-end as the member: connects and hears the hub's first request
 * (GET_FEATURES), so the service accepted it. */
static int member_connects(Testbed *t, void *data)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint8_t header[12];

        g_strlcpy(sa.sun_path, data, sizeof(sa.sun_path));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "connect %s: %s\n", (const char *) data, g_strerror(errno));
                return 2;
        }
        if (poll(&pfd, 1, TEST_TIMEOUT_MS) != 1 || read(fd, header, sizeof(header)) != 12) {
                fprintf(stderr, "no request from the hub on %s\n", (const char *) data);
                return 3;
        }
        close(fd);
        return header[0] == 1 ? 0 : 4; /* VHOST_USER_GET_FEATURES */
}

/* A member of the privileged group attaches a socket in a socket directory
 * and its back-end connects to it; outside the directories (or through a
 * symlink into one) the member is refused, root is not. */
static void test_member(Fixture *f, gconstpointer data)
{
        g_autofree char *dir = g_build_filename(f->tb.dir, "sockets", NULL);
        g_autofree char *inside = g_build_filename(dir, "member.sock", NULL);
        g_autofree char *outside = g_build_filename(f->tb.dir, "outside.sock", NULL);
        g_autofree char *link = g_build_filename(f->tb.dir, "sockets-link", NULL);
        g_autofree char *via_link = g_build_filename(link, "via-link.sock", NULL);
        g_autofree char *root_sock = g_build_filename(f->tb.dir, "root.sock", NULL);
        struct stat st;

        g_assert_cmpint(symlink(dir, link), ==, 0);
        g_assert_cmpint(run_member_add(f, outside, ERR("AccessDenied")), ==, 0);
        g_assert_false(g_file_test(outside, G_FILE_TEST_EXISTS));
        g_assert_cmpint(run_member_add(f, via_link, ERR("UnsafePath")), ==, 0);
        g_assert_cmpint(run_member_add(f, inside, NULL), ==, 0);

        g_assert_cmpint(lstat(inside, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0660);
        g_assert_cmpint(st.st_gid, ==, NOGROUP_GID);
        g_assert_cmpint(
            testbed_run_as(&f->tb, NOBODY_UID, OTHER_GID, NOGROUP_GID, member_connects, inside), ==,
            0);

        /* A second listener on the service's own socket: Exists, also for
         * root (another process's live socket is AddressInUse: the decoys). */
        g_assert_cmpint(run_member_add(f, inside, ERR("Exists")), ==, 0);
        expect_add_peer_error(f->bus, "serve", inside, ERR("Exists"));

        /* Root may go anywhere. */
        g_assert_null(call_add_peer(f->bus, "accept", root_sock, NULL));
        g_assert_true(g_file_test(root_sock, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/sockets/decoys", setup_sockets, NULL, test_decoys);
        DBUS_TEST_ADD("/dbus/sockets/control-characters", setup_sockets, NULL,
                      test_control_characters);
        DBUS_TEST_ADD("/dbus/sockets/member", setup_sockets, NULL, test_member);
        return g_test_run();
}
