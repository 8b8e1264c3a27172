/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets as D-Bus objects: AddPeer accept|serve returns a
 * Listener, whose properties tell what was created; InterfacesAdded and
 * InterfacesRemoved announce it; RemovePeer closes and unlinks it; a second
 * listener on the same socket is refused with Exists; command-line
 * listeners are objects too; adding and removing leaks nothing. Each test
 * gets its own dbus-daemon and service (dbus-fixture.h). */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-fixture.h"

#define LPREFIX MPATH "/listener/"

/* 0, or the errno of connecting to the unix socket at path. */
static int try_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd, r = 0;

        g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                r = errno;
        close(fd);
        return r;
}

typedef struct {
        SignalLog *log;
        const char *event;
} EventWait;

static bool event_seen(void *data)
{
        EventWait *w = data;

        return signal_log_count(w->log, w->event) > 0;
}

/* Waits until the log holds event (fails with the log otherwise). */
static void wait_event(Fixture *f, const char *event)
{
        EventWait w = {&f->log, event};

        if (!testbed_pump_until(f->bus, event_seen, &w)) {
                g_autofree char *dump = signal_log_dump(&f->log);
                g_error("no \"%s\" in time; signals:\n%s", event, dump);
        }
}

/* The paths that have the Listener interface, from GetManagedObjects. */
static GPtrArray *managed_listeners(sd_bus *bus)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
        const char *path, *iface;

        if (sd_bus_call_method(bus, DEST, MPATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, "") < 0)
                g_error("GetManagedObjects: %s", e.message);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), >, 0);
        while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
                g_assert_cmpint(sd_bus_message_read(reply, "o", &path), >, 0);
                g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{sa{sv}}"), >, 0);
                while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
                        g_assert_cmpint(sd_bus_message_read(reply, "s", &iface), >, 0);
                        if (strcmp(iface, LIFACE) == 0)
                                g_ptr_array_add(paths, g_strdup(path));
                        g_assert_cmpint(sd_bus_message_skip(reply, "a{sv}"), >=, 0);
                        g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                }
                g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(reply), >=, 0);
        }
        sd_bus_message_unref(reply);
        return paths;
}

/* The listener's properties against the socket file at sock. */
static void assert_listener(Fixture *f, const char *path, const char *sock, const char *role,
                            uid_t owner)
{
        g_autofree char *s = NULL, *r = NULL;
        struct stat st;

        g_assert_cmpint(stat(sock, &st), ==, 0);
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmpstr((s = get_string(f->bus, path, LIFACE, "SocketPath")), ==, sock);
        g_assert_cmpstr((r = get_string(f->bus, path, LIFACE, "Role")), ==, role);
        g_assert_cmpuint(get_u32(f->bus, path, LIFACE, "Owner"), ==, owner);
        g_assert_cmpuint(get_u32(f->bus, path, LIFACE, "Group"), ==, st.st_gid);
        g_assert_cmpuint(get_u32(f->bus, path, LIFACE, "Mode"), ==, st.st_mode & 07777);
}

/* AddPeer accept: a Listener at the returned path, announced; a connection
 * counts in AcceptedCount (PropertiesChanged); RemovePeer takes it away
 * with its socket file, and then nothing can connect there. */
static void test_accept_listener(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *path = NULL, *err = NULL, *ev = NULL;
        int64_t before, after;

        before = g_get_real_time();
        err = call_add_peer(f->bus, "accept", sock, &path);
        after = g_get_real_time();
        g_assert_null(err);
        g_assert_true(g_str_has_prefix(path, LPREFIX));
        wait_event(f, (ev = g_strdup_printf("InterfacesAdded %s " LIFACE, path)));
        g_clear_pointer(&ev, g_free);
        assert_listener(f, path, sock, "accept", 0);
        g_assert_cmpuint(get_u64(f->bus, path, LIFACE, "AcceptedCount"), ==, 0);
        g_assert_cmpuint(get_u64(f->bus, path, LIFACE, "CreatedTimestamp"), >=, (uint64_t) before);
        g_assert_cmpuint(get_u64(f->bus, path, LIFACE, "CreatedTimestamp"), <=, (uint64_t) after);

        /* A connection (it never speaks vhost-user: the peer stays negotiating). */
        g_assert_cmpint(try_connect(sock), ==, 0);
        wait_event(f,
                   (ev = g_strdup_printf("PropertiesChanged %s " LIFACE " AcceptedCount", path)));
        g_clear_pointer(&ev, g_free);
        g_assert_cmpuint(get_u64(f->bus, path, LIFACE, "AcceptedCount"), ==, 1);

        err = call_simple(f->bus, "RemovePeer", "o", path);
        g_assert_null(err);
        wait_event(f, (ev = g_strdup_printf("InterfacesRemoved %s " LIFACE, path)));
        testbed_sync(f->bus);
        assert_log_count(&f->log, ev, 1);
        g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
        g_assert_cmpint(try_connect(sock), ==, ENOENT);
        err = call_simple(f->bus, "RemovePeer", "o", path);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        g_autoptr(GPtrArray) left = managed_listeners(f->bus);
        g_assert_cmpuint(left->len, ==, 0);
}

/* AddPeer serve: a Listener with Role "serve"; ids are never reused. */
static void test_serve_listener(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "serve.sock", NULL);
        g_autofree char *first = NULL, *second = NULL, *err = NULL, *ev = NULL;

        err = call_add_peer(f->bus, "serve", sock, &first);
        g_assert_null(err);
        g_assert_true(g_str_has_prefix(first, LPREFIX));
        assert_listener(f, first, sock, "serve", 0);
        err = call_simple(f->bus, "RemovePeer", "o", first);
        g_assert_null(err);
        wait_event(f, (ev = g_strdup_printf("InterfacesRemoved %s " LIFACE, first)));

        err = call_add_peer(f->bus, "serve", sock, &second);
        g_assert_null(err);
        g_assert_cmpstr(second, !=, first);
        assert_listener(f, second, sock, "serve", 0);
}

/* A second listener on the same socket, by the same name, another spelling
 * of it, or a hard link to it, is refused with Exists; the first stays and
 * accepts. */
static void test_duplicate_refused(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "dup.sock", NULL);
        g_autofree char *spelled = g_strdup_printf("%s//./dup.sock", f->tb.dir);
        g_autofree char *linked = g_build_filename(f->tb.dir, "link.sock", NULL);
        g_autofree char *path = NULL, *err = NULL;
        struct stat before, after;

        err = call_add_peer(f->bus, "accept", sock, &path);
        g_assert_null(err);
        g_assert_cmpint(stat(sock, &before), ==, 0);
        g_assert_cmpint(link(sock, linked), ==, 0);

        const char *const cases[][2] = {
            {"accept", sock},   {"serve", sock},    {"accept", spelled},
            {"serve", spelled}, {"accept", linked}, {"serve", linked},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                err = call_add_peer(f->bus, cases[i][0], cases[i][1], NULL);
                if (g_strcmp0(err, ERR("Exists")) != 0)
                        g_error("AddPeer %s %s: %s, expected Exists", cases[i][0], cases[i][1],
                                err ? err : "success");
                g_clear_pointer(&err, g_free);
        }
        g_autoptr(GPtrArray) listeners = managed_listeners(f->bus);
        g_assert_cmpuint(listeners->len, ==, 1);
        g_assert_cmpstr(g_ptr_array_index(listeners, 0), ==, path);
        /* The first one's socket is the same file, and still accepts. */
        g_assert_cmpint(stat(sock, &after), ==, 0);
        g_assert_cmpuint(after.st_ino, ==, before.st_ino);
        g_assert_true(g_file_test(linked, G_FILE_TEST_EXISTS));
        g_assert_cmpint(try_connect(sock), ==, 0);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), <=, 1);
}

/* 200 AddPeer + RemovePeer cycles: the service's fds are back where they
 * started, and one listener at a time existed. */
static void test_cycles_leak_nothing(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "cycle.sock", NULL);
        g_autofree char *err = NULL;
        int baseline = -1, now;

        /* One cycle first: whatever the first call allocates once. */
        for (int i = 0; i <= 200; i++) {
                g_autofree char *path = NULL;

                if (i == 1)
                        baseline = harness_count_fds(f->tb.service_pid);
                err = call_add_peer(f->bus, i % 2 ? "accept" : "serve", sock, &path);
                if (err)
                        g_error("cycle %d: AddPeer: %s", i, err);
                g_assert_true(g_str_has_prefix(path, LPREFIX));
                err = call_simple(f->bus, "RemovePeer", "o", path);
                if (err)
                        g_error("cycle %d: RemovePeer %s: %s", i, path, err);
                g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
        }
        now = harness_count_fds(f->tb.service_pid);
        g_assert_cmpint(baseline, >, 0);
        g_assert_cmpint(now, ==, baseline);
        g_autoptr(GPtrArray) left = managed_listeners(f->bus);
        g_assert_cmpuint(left->len, ==, 0);
}

/* --accept and --serve sockets are Listener objects from the start (owner
 * root), and removable like the others. */
static void setup_command_line(Fixture *f, gconstpointer data)
{
        g_autofree char *accept = NULL, *serve = NULL;

        testbed_init(&f->tb, TESTBED_POLICY_SHIPPED);
        accept = g_strdup_printf("--accept=%s/cl-accept.sock", f->tb.dir);
        serve = g_strdup_printf("--serve=%s/cl-serve.sock", f->tb.dir);
        const char *const args[] = {accept, serve, NULL};
        testbed_start_service(&f->tb, args);
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus);
}

static void test_command_line_listeners(Fixture *f, gconstpointer data)
{
        g_autofree char *accept = g_build_filename(f->tb.dir, "cl-accept.sock", NULL);
        g_autofree char *serve = g_build_filename(f->tb.dir, "cl-serve.sock", NULL);
        g_autoptr(GPtrArray) listeners = managed_listeners(f->bus);
        g_autofree char *ev = NULL, *err = NULL, *a = NULL, *s = NULL;

        /* --accept is made first: the lower id. */
        g_assert_cmpuint(listeners->len, ==, 2);
        a = g_strdup(g_ptr_array_index(listeners, 0));
        s = g_strdup(g_ptr_array_index(listeners, 1));
        if (strcmp(a, s) > 0) {
                char *t = a;
                a = s;
                s = t;
        }
        assert_listener(f, a, accept, "accept", 0);
        assert_listener(f, s, serve, "serve", 0);

        err = call_add_peer(f->bus, "accept", accept, NULL);
        g_assert_cmpstr(err, ==, ERR("Exists"));
        g_clear_pointer(&err, g_free);

        err = call_simple(f->bus, "RemovePeer", "o", a);
        g_assert_null(err);
        wait_event(f, (ev = g_strdup_printf("InterfacesRemoved %s " LIFACE, a)));
        g_assert_cmpint(try_connect(accept), ==, ENOENT);
        g_assert_cmpint(try_connect(serve), ==, 0);
        g_ptr_array_unref(listeners);
        listeners = managed_listeners(f->bus);
        g_assert_cmpuint(listeners->len, ==, 1);
        g_assert_cmpstr(g_ptr_array_index(listeners, 0), ==, s);
}

/* A member of the privileged group who adds a listener owns it. */

static int member_adds_listener(Testbed *t, void *data)
{
        g_autofree char *sock = g_build_filename(t->dir, "member.sock", NULL);
        g_autofree char *path = NULL;
        sd_bus *bus = testbed_connect(t);
        char *err = call_add_peer(bus, "accept", sock, &path);

        if (err) {
                fprintf(stderr, "AddPeer as a member: %s\n", err);
                return 1;
        }
        printf("LISTENER %s\n", path);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static void setup_group(Fixture *f, gconstpointer data)
{
        struct passwd *pw = getpwnam("nobody");
        g_autofree char *config = NULL;
        struct group *gr;

        g_assert_nonnull(pw);
        gr = getgrgid(pw->pw_gid);
        g_assert_nonnull(gr);
        /* The testbed's directory is made below the temporary directory. */
        config = g_strdup_printf("[Service]\nSocketDirectories=%s\n\n[DBus]\nPrivilegedGroup=%s\n",
                                 g_get_tmp_dir(), gr->gr_name);
        fixture_setup(f, TESTBED_POLICY_OPEN, config);
}

static void test_owner_is_the_caller(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "member.sock", NULL);
        struct passwd *pw = getpwnam("nobody");
        g_autoptr(GPtrArray) listeners = NULL;

        g_assert_cmpint(
            testbed_run_as(&f->tb, pw->pw_uid, pw->pw_gid, (gid_t) -1, member_adds_listener, NULL),
            ==, 0);
        listeners = managed_listeners(f->bus);
        g_assert_cmpuint(listeners->len, ==, 1);
        assert_listener(f, g_ptr_array_index(listeners, 0), sock, "accept", pw->pw_uid);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/listeners/accept", setup_shipped, NULL, test_accept_listener);
        DBUS_TEST_ADD("/dbus/listeners/serve", setup_shipped, NULL, test_serve_listener);
        DBUS_TEST_ADD("/dbus/listeners/duplicate", setup_shipped, NULL, test_duplicate_refused);
        DBUS_TEST_ADD("/dbus/listeners/cycles", setup_shipped, NULL, test_cycles_leak_nothing);
        DBUS_TEST_ADD("/dbus/listeners/command-line", setup_command_line, NULL,
                      test_command_line_listeners);
        DBUS_TEST_ADD("/dbus/listeners/owner", setup_group, NULL, test_owner_is_the_caller);
        return g_test_run();
}
