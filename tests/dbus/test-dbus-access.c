/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Access control of the D-Bus API, calling as nobody in a child: the
 * shipped policy's wall, the service's own check behind an open bus, and
 * the privileged group (supplementary or primary) whose members remove
 * only their own objects. Reading and signals are for everyone. */

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "dbus-fixture.h"

/* ---- access control ---- */

typedef struct {
        const char *denied_error;        /* expected for the privileged methods */
        const char *export_denied_error; /* for Export, which carries an fd */
        char *uuid;                      /* an object root exported */
        int ready_pipe;                  /* the signal child says it listens */
} AccessCase;

static void nobody_ids(uid_t *uid, gid_t *gid)
{
        struct passwd *pw = getpwnam("nobody");

        g_assert_nonnull(pw);
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
}

#define CHILD_CHECK(cond)                                                                          \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "as nobody: check failed at line %d: %s\n", __LINE__,      \
                                #cond);                                                            \
                        return 1;                                                                  \
                }                                                                                  \
        } while (0)

static int nobody_calls(Testbed *t, void *data)
{
        AccessCase *c = data;
        sd_bus *bus = testbed_connect(t);
        g_autofree char *path = object_path(c->uuid);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int fd = new_memfd(4096, 9), got = -1;
        char *err, *s = NULL;
        uint32_t n = 0;

        /* Reading is for everyone. */
        CHILD_CHECK(sd_bus_get_property_trivial(bus, DEST, MPATH, MIFACE, "ObjectCount", &e, 'u',
                                                &n) >= 0 &&
                    n == 1);
        CHILD_CHECK(sd_bus_get_property_string(bus, DEST, MPATH, MIFACE, "Version", &e, &s) >= 0);
        free(s);
        CHILD_CHECK(sd_bus_get_property_string(bus, DEST, path, OIFACE, "Uuid", &e, &s) >= 0 &&
                    strcmp(s, c->uuid) == 0);
        free(s);
        CHILD_CHECK(sd_bus_call_method(bus, DEST, MPATH, "org.freedesktop.DBus.Properties",
                                       "GetAll", &e, NULL, "s", MIFACE) >= 0);
        CHILD_CHECK(sd_bus_call_method(bus, DEST, MPATH, "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", &e, NULL, NULL) >= 0);
        CHILD_CHECK(sd_bus_call_method(bus, DEST, MPATH, "org.freedesktop.DBus.Introspectable",
                                       "Introspect", &e, NULL, NULL) >= 0);
        CHILD_CHECK(sd_bus_call_method(bus, DEST, MPATH, MIFACE, "ListObjects", &e, &reply, NULL) >=
                    0);
        reply = sd_bus_message_unref(reply);
        CHILD_CHECK(sd_bus_call_method(bus, DEST, MPATH, MIFACE, "ListPeers", &e, NULL, NULL) >= 0);
        CHILD_CHECK(
            sd_bus_call_method(bus, DEST, MPATH, MIFACE, "GetObject", &e, NULL, "s", c->uuid) >= 0);

        /* Changing the table or getting fds is not. */
#define DENIED(call)                                                                               \
        do {                                                                                       \
                err = (call);                                                                      \
                fprintf(stderr, "as nobody: %s -> %s\n", #call, err ? err : "allowed");            \
                CHILD_CHECK(err &&strcmp(err, c->denied_error) == 0);                              \
                g_free(err);                                                                       \
        } while (0)
        err = call_export(bus, fd, "", NULL, NULL);
        fprintf(stderr, "as nobody: Export -> %s\n", err ? err : "allowed");
        CHILD_CHECK(err && strcmp(err, c->export_denied_error) == 0);
        g_free(err);
        DENIED(call_lookup(bus, c->uuid, &got));
        DENIED(call_simple(bus, "Remove", "s", c->uuid));
        DENIED(call_simple(bus, "Allocate", "ts", (uint64_t) 4096, ""));
        DENIED(call_add_peer(bus, "connect", "/nonexistent/vhost.sock", NULL));
        DENIED(call_simple(bus, "RemovePeer", "o", MPATH "/peer/1"));
#undef DENIED
        sd_bus_flush_close_unref(bus);
        close(fd);
        return 0;
}

static int nobody_receives_signal(Testbed *t, void *data)
{
        AccessCase *c = data;
        sd_bus *bus = testbed_connect(t);
        SignalLog log;
        g_autofree char *want = NULL, *path = object_path(c->uuid);

        signal_log_start(&log, bus);
        testbed_sync(bus); /* the match is in place */
        CHILD_CHECK(write(c->ready_pipe, "R", 1) == 1);
        CHILD_CHECK(signal_log_wait(&log, bus, 1));
        want = g_strdup_printf("Added %s %s dma-buf", c->uuid, path);
        CHILD_CHECK(signal_log_count_prefix(&log, "Added ") >= 1);
        CHILD_CHECK(signal_log_count(&log, want) == 1);
        signal_log_clear(&log);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static void run_access_case(Fixture *f, const char *denied_error, const char *export_denied_error)
{
        AccessCase c = {.denied_error = denied_error, .export_denied_error = export_denied_error};
        g_autofree char *err = NULL;
        HarnessProc *listener;
        int fd = new_memfd(4096, 5), pp[2];
        uid_t uid;
        gid_t gid;
        char byte;

        nobody_ids(&uid, &gid);
        err = call_export(f->bus, fd, "", &c.uuid, NULL);
        g_assert_null(err);
        g_assert_cmpint(testbed_run_as(&f->tb, uid, gid, (gid_t) -1, nobody_calls, &c), ==, 0);
        /* Nothing changed. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 1);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 0);
        g_free(c.uuid);

        /* Signals reach nobody: it listens, root exports. */
        g_assert_cmpint(pipe2(pp, O_CLOEXEC), ==, 0);
        c.ready_pipe = pp[1];
        c.uuid = g_strdup("5e1d7a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
        listener = testbed_start_as(&f->tb, uid, gid, (gid_t) -1, nobody_receives_signal, &c);
        close(pp[1]);
        g_assert_cmpint(read(pp[0], &byte, 1), ==, 1); /* the child dies with a deadline */
        close(pp[0]);
        close(fd);
        fd = new_memfd(4096, 6);
        err = call_export(f->bus, fd, c.uuid, NULL, NULL);
        g_assert_null(err);
        int status = harness_wait_exit(listener, TEST_TIMEOUT_MS);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_free(c.uuid);
        close(fd);
}

static void test_access_shipped_policy(Fixture *f, gconstpointer data)
{
        /* The bus lets the call through (polkit may allow it); without
         * polkit on the bus the service refuses: not root, not in the group.
         * Export's fd is for root and the group only: the bus refuses it. */
        run_access_case(f, ERR("AccessDenied"), "org.freedesktop.DBus.Error.AccessDenied");
}

static void test_access_service_check(Fixture *f, gconstpointer data)
{
        /* A bus that lets everything through: the service's own wall. */
        run_access_case(f, ERR("AccessDenied"), ERR("AccessDenied"));
}

/* Members of the privileged group (here nobody's group, made privileged
 * through [DBus] PrivilegedGroup) may call the privileged methods, as a
 * supplementary or as the primary group, but remove only their own
 * objects. */

#define OTHER_GID 54321 /* a gid that is not the privileged group */

static int member_calls(Testbed *t, void *data)
{
        const char *root_uuid = data;
        sd_bus *bus = testbed_connect(t);
        int fd = new_memfd(4096, 11), got = -1;
        char *uuid = NULL, *err;

        err = call_export(bus, fd, "", &uuid, NULL);
        CHILD_CHECK(!err);
        err = call_lookup(bus, root_uuid, &got);
        CHILD_CHECK(!err && got >= 0);
        close(got);
        err = call_simple(bus, "Remove", "s", root_uuid);
        CHILD_CHECK(err && strcmp(err, ERR("NotOwner")) == 0);
        g_free(err);
        err = call_simple(bus, "Remove", "s", uuid);
        CHILD_CHECK(!err);
        g_free(uuid);
        sd_bus_flush_close_unref(bus);
        close(fd);
        return 0;
}

static int non_member_calls(Testbed *t, void *data)
{
        sd_bus *bus = testbed_connect(t);
        int fd = new_memfd(4096, 12);
        char *err = call_export(bus, fd, "", NULL, NULL);

        CHILD_CHECK(err && strcmp(err, ERR("AccessDenied")) == 0);
        g_free(err);
        sd_bus_flush_close_unref(bus);
        close(fd);
        return 0;
}

static int member_exports(Testbed *t, void *data)
{
        sd_bus *bus = testbed_connect(t);
        int fd = new_memfd(4096, 13);
        char *err = call_export(bus, fd, "", NULL, NULL);

        CHILD_CHECK(!err);
        sd_bus_flush_close_unref(bus);
        close(fd);
        return 0;
}

static void setup_group(Fixture *f, gconstpointer data)
{
        g_autofree char *config = NULL;
        struct group *gr;
        uid_t uid;
        gid_t gid;

        nobody_ids(&uid, &gid);
        gr = getgrgid(gid);
        g_assert_nonnull(gr);
        config = g_strdup_printf("[DBus]\nPrivilegedGroup=%s\n", gr->gr_name);
        fixture_setup(f, TESTBED_POLICY_OPEN, config);
}

static void test_access_group_member(Fixture *f, gconstpointer data)
{
        g_autofree char *uuid = NULL, *err = NULL;
        int fd = new_memfd(4096, 10);
        uid_t uid;
        gid_t gid;

        nobody_ids(&uid, &gid);
        err = call_export(f->bus, fd, "", &uuid, NULL);
        g_assert_null(err);
        /* Supplementary member. */
        g_assert_cmpint(testbed_run_as(&f->tb, uid, OTHER_GID, gid, member_calls, uuid), ==, 0);
        /* Not a member at all. */
        g_assert_cmpint(testbed_run_as(&f->tb, uid, OTHER_GID, (gid_t) -1, non_member_calls, NULL),
                        ==, 0);
        /* Primary group. */
        g_assert_cmpint(testbed_run_as(&f->tb, uid, gid, (gid_t) -1, member_exports, NULL), ==, 0);
        /* Root's object survived; the members' went (removed, or the caller left). */
        g_assert_true(wait_object_count(f, 1));
        close(fd);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/access/shipped-policy", setup_shipped, NULL,
                      test_access_shipped_policy);
        DBUS_TEST_ADD("/dbus/access/service-check", setup_open, NULL, test_access_service_check);
        DBUS_TEST_ADD("/dbus/access/group-member", setup_group, NULL, test_access_group_member);
        return g_test_run();
}
