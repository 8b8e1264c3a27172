/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus API of vhost-shared on a private bus: fd hand-over, refused
 * descriptors, signals (exactly once, whatever the cause), access control
 * (both the shipped policy and the service's own check, calling as nobody),
 * vhost-user back-ends seen over D-Bus, and the introspection against
 * the XML files in dbus/. Each test gets its own dbus-daemon and service. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <uuid/uuid.h>

#include "dbus-testbed.h"
#include "introspect-check.h"
#include "buffer-pattern.h"
#include "fd-util.h"

#define DEST "org.vhostshare.share1"
#define MPATH "/org/vhostshare/share1"
#define MIFACE "org.vhostshare.share1.Manager"
#define OIFACE "org.vhostshare.share1.Object"
#define PIFACE "org.vhostshare.share1.Peer"
#define ERR(name) "org.vhostshare.share1.Error." name

typedef struct {
        Testbed tb;
        sd_bus *bus;
        SignalLog log;
} Fixture;

static void fixture_setup(Fixture *f, TestbedPolicy policy, const char *config)
{
        testbed_init(&f->tb, policy);
        if (config)
                testbed_set_config(&f->tb, config);
        testbed_start_service(&f->tb, NULL);
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus);
}

static void setup_shipped(Fixture *f, gconstpointer data)
{
        fixture_setup(f, TESTBED_POLICY_SHIPPED, data);
}

static void setup_open(Fixture *f, gconstpointer data)
{
        fixture_setup(f, TESTBED_POLICY_OPEN, data);
}

static void teardown(Fixture *f, gconstpointer data)
{
        signal_log_clear(&f->log);
        f->bus = sd_bus_flush_close_unref(f->bus);
        testbed_clear(&f->tb);
}

/* Method wrappers: NULL on success, else the error name (to free). */

static char *call_error(const char *what, sd_bus_error *e, int r)
{
        char *name = g_strdup(e->name ? e->name : "(no name)");

        g_test_message("%s: %s: %s", what, name, e->message ? e->message : g_strerror(-r));
        sd_bus_error_free(e);
        return name;
}

static char *call_export(sd_bus *bus, int fd, const char *uuid, char **ret_uuid, char **ret_path)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *u, *p;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Export", &e, &reply, "hs", fd, uuid);
        if (r < 0)
                return call_error("Export", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "so", &u, &p), >, 0);
        if (ret_uuid)
                *ret_uuid = g_strdup(u);
        if (ret_path)
                *ret_path = g_strdup(p);
        sd_bus_message_unref(reply);
        return NULL;
}

static char *call_lookup(sd_bus *bus, const char *uuid, int *ret_fd)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r, fd;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Lookup", &e, &reply, "s", uuid);
        if (r < 0)
                return call_error("Lookup", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "h", &fd), >, 0);
        /* The reply owns its fd. */
        *ret_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(*ret_fd, >=, 0);
        sd_bus_message_unref(reply);
        return NULL;
}

static char *call_simple(sd_bus *bus, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, DEST, MPATH, MIFACE, member), >=,
                        0);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        g_assert_cmpint(r, >=, 0);
        r = sd_bus_call(bus, m, 0, &e, &reply);
        sd_bus_message_unref(m);
        if (r < 0)
                return call_error(member, &e, r);
        sd_bus_message_unref(reply);
        return NULL;
}

static char *call_add_peer(sd_bus *bus, const char *role, const char *path, char **ret_path)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *p;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "AddPeer", &e, &reply, "ss", role, path);
        if (r < 0)
                return call_error("AddPeer", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &p), >, 0);
        if (ret_path)
                *ret_path = g_strdup(p);
        sd_bus_message_unref(reply);
        return NULL;
}

static char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *s = NULL, *r;

        if (sd_bus_get_property_string(bus, DEST, path, iface, prop, &e, &s) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        r = g_strdup(s);
        free(s);
        return r;
}

static char *get_objpath(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *o;
        char *r;

        if (sd_bus_get_property(bus, DEST, path, iface, prop, &e, &reply, "o") < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &o), >, 0);
        r = g_strdup(o);
        sd_bus_message_unref(reply);
        return r;
}

static uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t v = 0;

        if (sd_bus_get_property_trivial(bus, DEST, path, iface, prop, &e, 't', &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

static uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t v = 0;

        if (sd_bus_get_property_trivial(bus, DEST, path, iface, prop, &e, 'u', &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

static int new_memfd(size_t size, uint8_t seed)
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("test-dbus", size, seed, &fd), ==, 0);
        return fd;
}

static void assert_same_inode(int a, int b)
{
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        g_assert_cmpuint(sa.st_dev, ==, sb.st_dev);
        g_assert_cmpuint(sa.st_ino, ==, sb.st_ino);
}

static char *object_path(const char *uuid)
{
        char p[128];

        test_uuid_to_path(uuid, p, sizeof(p));
        return g_strdup(p);
}

static void assert_log_count(SignalLog *l, const char *event, guint n)
{
        guint got = signal_log_count(l, event);

        if (got != n) {
                g_autofree char *dump = signal_log_dump(l);
                g_error("expected %u x \"%s\", got %u; signals:\n%s", n, event, got, dump);
        }
}

/* ---- fd hand-over ---- */

static void test_export_lookup_round_trip(Fixture *f, gconstpointer data)
{
        g_autofree char *uuid = NULL, *path = NULL, *err = NULL, *s = NULL, *ev = NULL;
        uint64_t before = (uint64_t) g_get_real_time(), created;
        int fd = new_memfd(8192, 7), got = -1;
        uuid_t parsed;

        err = call_export(f->bus, fd, "", &uuid, &path);
        g_assert_null(err);
        /* A generated UUID is a random (version 4) one, its path the hex digits. */
        g_assert_cmpint(uuid_parse(uuid, parsed), ==, 0);
        g_assert_cmpint(uuid_type(parsed), ==, UUID_TYPE_DCE_RANDOM);
        g_assert_cmpstr(path, ==, (s = object_path(uuid)));
        g_clear_pointer(&s, g_free);

        g_assert_true(signal_log_wait(&f->log, f->bus, 2));
        testbed_sync(f->bus);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s dma-buf", uuid, path)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesAdded %s " OIFACE, path)), 1);
        g_clear_pointer(&ev, g_free);

        /* The object describes the buffer and its owner. */
        g_assert_cmpstr((s = get_string(f->bus, path, OIFACE, "Uuid")), ==, uuid);
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, path, OIFACE, "Type")), ==, "dma-buf");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_objpath(f->bus, path, OIFACE, "Owner")), ==, "/");
        g_clear_pointer(&s, g_free);
        const char *me = NULL;
        g_assert_cmpint(sd_bus_get_unique_name(f->bus, &me), >=, 0);
        g_assert_cmpstr((s = get_string(f->bus, path, OIFACE, "OwnerBusName")), ==, me);
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, path, OIFACE, "Exporter")), ==, "memfd");
        g_clear_pointer(&s, g_free);
        g_assert_cmpuint(get_u64(f->bus, path, OIFACE, "Size"), ==, 8192);
        created = get_u64(f->bus, path, OIFACE, "CreatedTimestamp");
        g_assert_cmpuint(created, >=, before);
        g_assert_cmpuint(created, <=, (uint64_t) g_get_real_time());
        g_assert_cmpuint(get_u64(f->bus, path, OIFACE, "LookupCount"), ==, 0);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 1);

        /* Lookup hands out the same buffer, and counts. */
        err = call_lookup(f->bus, uuid, &got);
        g_assert_null(err);
        assert_same_inode(fd, got);
        g_assert_cmpint(memfd_verify_pattern(got, 8192, 7), ==, 0);
        g_assert_cmpuint(get_u64(f->bus, path, OIFACE, "LookupCount"), ==, 1);
        testbed_sync(f->bus);
        assert_log_count(
            &f->log, (ev = g_strdup_printf("PropertiesChanged %s " OIFACE " LookupCount", path)),
            1);
        g_clear_pointer(&ev, g_free);
        close(got);

        /* GetObject and ListObjects agree. */
        sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *p, *u, *t;
        g_assert_cmpint(
            sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "GetObject", &e, &reply, "s", uuid), >=,
            0);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &p), >, 0);
        g_assert_cmpstr(p, ==, path);
        reply = sd_bus_message_unref(reply);
        g_assert_cmpint(
            sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "ListObjects", &e, &reply, NULL), >=,
            0);
        g_assert_cmpint(sd_bus_message_read(reply, "a(sso)", 1, &u, &t, &p), >, 0);
        g_assert_cmpstr(u, ==, uuid);
        g_assert_cmpstr(t, ==, "dma-buf");
        g_assert_cmpstr(p, ==, path);
        reply = sd_bus_message_unref(reply);
        close(fd);
}

static void test_export_uuid_rules(Fixture *f, gconstpointer data)
{
        const char *u2 = "4f2b8c1e-5d3a-4e6f-9a7b-0c1d2e3f4a5b";
        g_autofree char *uuid = NULL, *err = NULL;
        int fd = new_memfd(4096, 1), other = new_memfd(4096, 2), got = -1;

        /* A caller's UUID is kept; upper case and the 32-digit form are the same UUID. */
        err = call_export(f->bus, fd, u2, &uuid, NULL);
        g_assert_null(err);
        g_assert_cmpstr(uuid, ==, u2);
        err = call_export(f->bus, other, "4F2B8C1E5D3A4E6F9A7B0C1D2E3F4A5B", NULL, NULL);
        g_assert_cmpstr(err, ==, ERR("Exists"));
        g_clear_pointer(&err, g_free);
        /* The first writer keeps it. */
        err = call_lookup(f->bus, u2, &got);
        g_assert_null(err);
        assert_same_inode(fd, got);
        close(got);

        for (const char *bad = "not-a-uuid"; bad; bad = NULL) {
                err = call_export(f->bus, other, bad, NULL, NULL);
                g_assert_cmpstr(err, ==, ERR("InvalidUuid"));
                g_clear_pointer(&err, g_free);
        }
        err = call_export(f->bus, other, "00000000-0000-0000-0000-000000000000", NULL, NULL);
        g_assert_cmpstr(err, ==, ERR("InvalidUuid"));
        g_clear_pointer(&err, g_free);
        err = call_export(f->bus, other, "ffffffff-ffff-ffff-ffff-ffffffffffff", NULL, NULL);
        g_assert_cmpstr(err, ==, ERR("InvalidUuid"));
        g_clear_pointer(&err, g_free);
        err = call_lookup(f->bus, "12345", &got);
        g_assert_cmpstr(err, ==, ERR("InvalidUuid"));
        g_clear_pointer(&err, g_free);

        /* Remove, then everything about it is NotFound. */
        err = call_simple(f->bus, "Remove", "s", u2);
        g_assert_null(err);
        err = call_simple(f->bus, "Remove", "s", u2);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        err = call_lookup(f->bus, u2, &got);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        err = call_simple(f->bus, "GetObject", "s", u2);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);
        close(fd);
        close(other);
}

static int open_or_die(const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

/* A 4 KiB memfd with exactly these seals. */
static int memfd_sealed(unsigned seals)
{
        int fd = memfd_create("partly-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 4096), ==, 0);
        g_assert_cmpint(fcntl(fd, F_ADD_SEALS, seals), ==, 0);
        return fd;
}

static void test_export_refuses_non_buffers(Fixture *f, gconstpointer data)
{
        g_autofree char *file = g_build_filename(f->tb.dir, "regular", NULL);
        int sv[2], pp[2];
        struct {
                const char *what;
                int fd;
        } cases[24];
        size_t n = 0;
        int unsealed;
        sigset_t mask;

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(pipe2(pp, O_CLOEXEC), ==, 0);
        g_assert_true(g_file_set_contents(file, "not a buffer", -1, NULL));
        unsealed = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        g_assert_cmpint(unsealed, >=, 0);
        g_assert_cmpint(ftruncate(unsealed, 4096), ==, 0);

        cases[n++] = (typeof(cases[0])){"socket", sv[0]};
        cases[n++] = (typeof(cases[0])){"pipe", pp[0]};
        cases[n++] = (typeof(cases[0])){"directory", open_or_die("/", O_RDONLY | O_DIRECTORY)};
        cases[n++] = (typeof(cases[0])){"O_PATH", open_or_die(file, O_PATH)};
        cases[n++] = (typeof(cases[0])){"regular file", open_or_die(file, O_RDWR)};
        cases[n++] = (typeof(cases[0])){"unsealed memfd", unsealed};
        cases[n++] = (typeof(cases[0])){"/dev/null", open_or_die("/dev/null", O_RDWR)};
        /* Every other kind of fd a caller could hand over. */
        cases[n++] = (typeof(cases[0])){"socket (other end)", sv[1]};
        cases[n++] = (typeof(cases[0])){"pipe (write end)", pp[1]};
        cases[n++] = (typeof(cases[0])){"eventfd", eventfd(0, EFD_CLOEXEC)};
        cases[n++] = (typeof(cases[0])){"timerfd", timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)};
        cases[n++] = (typeof(cases[0])){"epoll", epoll_create1(EPOLL_CLOEXEC)};
        cases[n++] = (typeof(cases[0])){"inotify", inotify_init1(IN_CLOEXEC)};
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        cases[n++] = (typeof(cases[0])){"signalfd", signalfd(-1, &mask, SFD_CLOEXEC)};
        cases[n++] = (typeof(cases[0])){"pidfd", (int) syscall(SYS_pidfd_open, getpid(), 0)};
        cases[n++] =
            (typeof(cases[0])){"memfd sealed against shrinking only", memfd_sealed(F_SEAL_SHRINK)};
        cases[n++] =
            (typeof(cases[0])){"memfd sealed against growing only", memfd_sealed(F_SEAL_GROW)};
        cases[n++] = (typeof(cases[0])){"memfd sealed against writing only",
                                        memfd_sealed(F_SEAL_WRITE | F_SEAL_SEAL)};
        cases[n++] = (typeof(cases[0])){"tmpfs file (/dev/shm)",
                                        open_or_die("/dev/shm", O_TMPFILE | O_RDWR)};
        cases[n++] = (typeof(cases[0])){"O_TMPFILE", open_or_die(f->tb.dir, O_TMPFILE | O_RDWR)};
        cases[n++] =
            (typeof(cases[0])){"character device (/dev/zero)", open_or_die("/dev/zero", O_RDONLY)};
        cases[n++] = (typeof(cases[0])){"/proc file", open_or_die("/proc/self/status", O_RDONLY)};
        g_assert_cmpuint(n, <=, G_N_ELEMENTS(cases));

        for (size_t i = 0; i < n; i++) {
                g_autofree char *err = NULL;

                g_assert_cmpint(cases[i].fd, >=, 0);
                err = call_export(f->bus, cases[i].fd, "", NULL, NULL);

                g_test_message("%s -> %s", cases[i].what, err ? err : "accepted");
                g_assert_cmpstr(err, ==, ERR("InvalidFd"));
        }
        testbed_sync(f->bus);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Added"), ==, 0);
        for (size_t i = 0; i < n; i++)
                close(cases[i].fd);
}

static void test_export_quota(Fixture *f, gconstpointer data)
{
        int fds[3] = {new_memfd(4096, 1), new_memfd(4096, 2), new_memfd(4096, 3)};
        g_autofree char *err = NULL;

        /* The fixture's configuration: MaxObjectsPerClient=2. */
        for (int i = 0; i < 2; i++) {
                err = call_export(f->bus, fds[i], "", NULL, NULL);
                g_assert_null(err);
        }
        err = call_export(f->bus, fds[2], "", NULL, NULL);
        g_assert_cmpstr(err, ==, ERR("LimitReached"));
        for (int i = 0; i < 3; i++)
                close(fds[i]);
}

static void test_allocate(Fixture *f, gconstpointer data)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *uuid, *path;
        g_autofree char *err = NULL, *s = NULL;
        int fd, got = -1;

        g_assert_cmpint(sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "Allocate", &e, &reply,
                                           "ts", (uint64_t) 65536, ""),
                        >=, 0);
        g_assert_cmpint(sd_bus_message_read(reply, "soh", &uuid, &path, &fd), >, 0);
        g_assert_cmpuint(get_u64(f->bus, path, OIFACE, "Size"), >=, 65536);
        s = get_string(f->bus, path, OIFACE, "Exporter");
        g_assert_cmpstr(s, !=, "");
        err = call_lookup(f->bus, uuid, &got);
        g_assert_null(err);
        assert_same_inode(fd, got);
        close(got);
        reply = sd_bus_message_unref(reply);

        err = call_simple(f->bus, "Allocate", "ts", (uint64_t) 0, "");
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        err = call_simple(f->bus, "Allocate", "ts", (uint64_t) 4096, "/dev/dri/card99");
        g_assert_cmpstr(err, ==, ERR("NoDevice"));
}

typedef struct {
        Fixture *f;
        uint32_t n;
} CountWait;

static bool object_count_is(void *data)
{
        CountWait *w = data;

        return get_u32(w->f->bus, MPATH, MIFACE, "ObjectCount") == w->n;
}

/* The fixture's signal match wakes the wait up when the table changes. */
static bool wait_object_count(Fixture *f, uint32_t n)
{
        CountWait w = {f, n};

        return testbed_pump_until(f->bus, object_count_is, &w);
}

static int count_fds(pid_t pid)
{
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        int n = 0;

        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
        return n;
}

/* Every fd the service receives is stored, handed on or closed: after
 * exports, lookups, refusals and removals its fd count is back where it
 * started. */
static void test_export_no_fd_leak(Fixture *f, gconstpointer data)
{
        sd_bus *client = testbed_connect(&f->tb);
        int before, sv[2];

        testbed_sync(f->bus);
        before = count_fds(f->tb.service_pid);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        for (int i = 0; i < 50; i++) {
                g_autofree char *uuid = NULL, *err = NULL;
                int fd = new_memfd(4096, (uint8_t) i), got = -1;

                err = call_export(client, fd, "", &uuid, NULL);
                g_assert_null(err);
                err = call_lookup(f->bus, uuid, &got);
                g_assert_null(err);
                close(got);
                err = call_export(client, sv[0], "", NULL, NULL);
                g_assert_cmpstr(err, ==, ERR("InvalidFd"));
                g_clear_pointer(&err, g_free);
                if (i % 2) {
                        err = call_simple(client, "Remove", "s", uuid);
                        g_assert_null(err);
                }
                close(fd);
        }
        g_assert_cmpint(count_fds(f->tb.service_pid), ==, before + 25);
        /* The rest go with the client. */
        client = sd_bus_flush_close_unref(client);
        g_assert_true(wait_object_count(f, 0));
        g_assert_cmpint(count_fds(f->tb.service_pid), ==, before);
        close(sv[0]);
        close(sv[1]);
}

/* ---- signals ---- */

static void test_signals_bus_client(Fixture *f, gconstpointer data)
{
        sd_bus *client = testbed_connect(&f->tb);
        g_autofree char *a = NULL, *b = NULL, *pa = NULL, *pb = NULL, *err = NULL, *ev = NULL;
        int fa = new_memfd(4096, 1), fb = new_memfd(4096, 2);

        g_assert_null(call_export(client, fa, "", &a, &pa));
        g_assert_null(call_export(client, fb, "", &b, &pb));
        g_assert_null(call_simple(client, "Remove", "s", a));
        /* The client leaves the bus: its remaining object goes. */
        client = sd_bus_flush_close_unref(client);
        g_assert_true(signal_log_wait(&f->log, f->bus, 8));
        testbed_sync(f->bus);

        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s dma-buf", a, pa)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s dma-buf", b, pb)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("Removed %s %s", a, pa)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("Removed %s %s", b, pb)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesAdded %s " OIFACE, pa)), 1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesRemoved %s " OIFACE, pb)), 1);
        g_clear_pointer(&ev, g_free);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Added "), ==, 2);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Removed "), ==, 2);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "InterfacesAdded "), ==, 2);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "InterfacesRemoved "), ==, 2);
        /* The count follows, coalesced but announced. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);
        g_assert_cmpuint(
            signal_log_count(&f->log, "PropertiesChanged " MPATH " " MIFACE " ObjectCount"), >=, 1);
        close(fa);
        close(fb);
}

/* ---- access control ---- */

typedef struct {
        const char *denied_error; /* expected for the privileged methods */
        char *uuid;               /* an object root exported */
        int ready_pipe;           /* the signal child says it listens */
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
        DENIED(call_export(bus, fd, "", NULL, NULL));
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

static void run_access_case(Fixture *f, const char *denied_error)
{
        AccessCase c = {.denied_error = denied_error};
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
        /* The bus itself refuses: the policy file's wall. */
        run_access_case(f, "org.freedesktop.DBus.Error.AccessDenied");
}

static void test_access_service_check(Fixture *f, gconstpointer data)
{
        /* A bus that lets everything through: the service's own wall. */
        run_access_case(f, ERR("AccessDenied"));
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

/* ---- vhost-user back-ends ---- */

typedef struct {
        char uuid[64];
        char devino[64];
} Exported;

static void parse_exported(const char *line, Exported *x)
{
        g_auto(GStrv) w = g_strsplit(line, " ", 0);

        g_assert_cmpuint(g_strv_length(w), ==, 4);
        g_assert_cmpstr(w[0], ==, "EXPORTED");
        g_strlcpy(x->uuid, w[1], sizeof(x->uuid));
        g_strlcpy(x->devino, w[3], sizeof(x->devino));
}

static char *fd_devino(int fd)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return g_strdup_printf("%llu:%llu", (unsigned long long) st.st_dev,
                               (unsigned long long) st.st_ino);
}

static void test_backend_objects(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "dev.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *peer = NULL, *err = NULL, *s = NULL, *ev = NULL;
        g_autofree char *p0 = NULL, *p1 = NULL, *p2 = NULL, *devino = NULL;
        const HarnessLine *line;
        Exported x[3];
        HarnessProc *dev;
        int fd = -1;

        dev = harness_spawn_device(f->tb.h, "device", listen, "--export=2", "--commands", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);

        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        g_assert_true(g_str_has_prefix(peer, MPATH "/peer/"));
        for (int i = 0; i < 2; i++) {
                line = harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS);
                parse_exported(line->text, &x[i]);
        }
        p0 = object_path(x[0].uuid);
        p1 = object_path(x[1].uuid);

        /* Each ADD is announced once, as a vhost-device object owned by the peer. */
        g_assert_true(signal_log_wait(&f->log, f->bus, 1));
        testbed_sync(f->bus);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s vhost-device", x[0].uuid, p0)),
                         1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("Added %s %s vhost-device", x[1].uuid, p1)),
                         1);
        g_clear_pointer(&ev, g_free);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesAdded %s " PIFACE, peer)), 1);
        g_clear_pointer(&ev, g_free);
        g_assert_cmpstr((s = get_objpath(f->bus, p0, OIFACE, "Owner")), ==, peer);
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, p0, OIFACE, "OwnerBusName")), ==, "");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "Role")), ==, "back-end");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "State")), ==, "ready");
        g_clear_pointer(&s, g_free);
        g_assert_cmpstr((s = get_string(f->bus, peer, PIFACE, "SocketPath")), ==, sock);
        g_clear_pointer(&s, g_free);
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "ExportedCount"), ==, 2);
        g_assert_cmpuint(get_u32(f->bus, peer, PIFACE, "Pid"), ==,
                         (uint32_t) harness_proc_pid(dev));
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);

        /* Lookup asks the back-end and hands over its buffer. */
        err = call_lookup(f->bus, x[0].uuid, &fd);
        g_assert_null(err);
        devino = fd_devino(fd);
        g_assert_cmpstr(devino, ==, x[0].devino);
        close(fd);
        line = harness_expect_line(dev, "SERVED", TEST_TIMEOUT_MS);
        g_assert_cmpstr(line->text + strlen("SERVED "), ==, x[0].uuid);
        g_assert_cmpuint(get_u64(f->bus, p0, OIFACE, "LookupCount"), ==, 1);

        /* The back-end's REMOVE and a new ADD. */
        /* One command at a time: the device reads stdin a line per wakeup. */
        harness_send_line(dev, "remove %s", x[0].uuid);
        harness_expect_line(dev, "REMOVED", TEST_TIMEOUT_MS);
        harness_send_line(dev, "export");
        line = harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS);
        parse_exported(line->text, &x[2]);
        p2 = object_path(x[2].uuid);

        /* The back-end goes away: its objects go with it, once each. */
        harness_stop(dev, TEST_TIMEOUT_MS);
        g_assert_true(signal_log_wait(&f->log, f->bus, 9));
        testbed_sync(f->bus);
        guint removed = 0;
        for (int i = 0; i < 3; i++) {
                g_autofree char *p = object_path(x[i].uuid);
                g_autofree char *r = g_strdup_printf("Removed %s %s", x[i].uuid, p);
                g_autofree char *a = g_strdup_printf("Added %s %s vhost-device", x[i].uuid, p);

                /* Wait for each object's removal in turn (the disconnect is async). */
                for (;;) {
                        if (signal_log_count(&f->log, r) > 0)
                                break;
                        g_assert_true(signal_log_wait(&f->log, f->bus, f->log.events->len + 1));
                }
                testbed_sync(f->bus);
                assert_log_count(&f->log, a, 1);
                assert_log_count(&f->log, r, 1);
                removed++;
        }
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Added "), ==, 3);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, "Removed "), ==, 3);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);

        /* The peer's state changes were announced on its object. */
        g_autofree char *state_changed =
            g_strdup_printf("PropertiesChanged %s " PIFACE " State,", peer);
        g_assert_cmpuint(signal_log_count_prefix(&f->log, state_changed), >=, 2);

        /* The peer stays (it reconnects) until removed over D-Bus. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
        const char *count_changed = "PropertiesChanged " MPATH " " MIFACE " PeerCount";
        guint n_count = signal_log_count(&f->log, count_changed);
        err = call_simple(f->bus, "RemovePeer", "o", peer);
        g_assert_null(err);
        /* PeerCount's change comes from a deferred event, after the reply. */
        while (signal_log_count(&f->log, count_changed) == n_count)
                g_assert_true(signal_log_wait(&f->log, f->bus, f->log.events->len + 1));
        testbed_sync(f->bus);
        assert_log_count(&f->log, (ev = g_strdup_printf("InterfacesRemoved %s " PIFACE, peer)), 1);
        g_clear_pointer(&ev, g_free);
        err = call_simple(f->bus, "RemovePeer", "o", peer);
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 0);
}

typedef struct {
        bool done;
        char *error; /* NULL: success */
} AsyncCall;

static int on_async_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        AsyncCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->error = e ? g_strdup(e->name) : NULL;
        c->done = true;
        return 0;
}

static bool async_done(void *data)
{
        return ((AsyncCall *) data)->done;
}

/* Starts vhost-share-device --no-answer with one export, attaches it with
 * AddPeer and returns the exported UUID. */
static HarnessProc *start_mute_device(Fixture *f, Exported *x)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "mute.sock", NULL);
        g_autofree char *listen = g_strdup_printf("--listen=%s", sock);
        g_autofree char *err = NULL;
        HarnessProc *dev;

        dev =
            harness_spawn_device(f->tb.h, "mute-device", listen, "--export=1", "--no-answer", NULL);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);
        err = call_add_peer(f->bus, "connect", sock, NULL);
        g_assert_null(err);
        parse_exported(harness_expect_line(dev, "EXPORTED", TEST_TIMEOUT_MS)->text, x);
        return dev;
}

/* A lookup the exporter never answers costs its caller a Timeout, and only
 * its caller: the service keeps answering others meanwhile. */
static void test_backend_lookup_timeout(Fixture *f, gconstpointer data)
{
        sd_bus_slot *slot = NULL;
        AsyncCall c = {0};
        HarnessProc *dev;
        Exported x;
        gint64 start;

        dev = start_mute_device(f, &x);
        /* The fixture's configuration: LookupTimeoutMSec=300. */
        start = g_get_monotonic_time();
        g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH, MIFACE, "Lookup",
                                                 on_async_reply, &c, "s", x.uuid),
                        >=, 0);
        for (int i = 0; i < 3; i++)
                g_assert_null(call_simple(f->bus, "ListObjects", ""));
        g_assert_false(c.done);
        g_assert_true(testbed_pump_until(f->bus, async_done, &c));
        g_assert_cmpstr(c.error, ==, ERR("Timeout"));
        g_assert_cmpint(g_get_monotonic_time() - start, >=, 300 * 1000);
        sd_bus_slot_unref(slot);
        g_free(c.error);
        harness_stop(dev, TEST_TIMEOUT_MS);
}

/* An exporter that disconnects while a lookup waits on it: PeerGone. */
static void test_backend_lookup_peer_gone(Fixture *f, gconstpointer data)
{
        sd_bus_slot *slot = NULL;
        AsyncCall c = {0};
        HarnessProc *dev;
        Exported x;

        dev = start_mute_device(f, &x);
        g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH, MIFACE, "Lookup",
                                                 on_async_reply, &c, "s", x.uuid),
                        >=, 0);
        testbed_sync(f->bus); /* the lookup is in the service, waiting */
        g_assert_false(c.done);
        harness_stop(dev, TEST_TIMEOUT_MS);
        g_assert_true(testbed_pump_until(f->bus, async_done, &c));
        g_assert_cmpstr(c.error, ==, ERR("PeerGone"));
        sd_bus_slot_unref(slot);
        g_free(c.error);
}

static void test_add_peer_arguments(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *path = NULL;
        char longpath[200];

        err = call_add_peer(f->bus, "sideways", sock, NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        err = call_add_peer(f->bus, "connect", "relative.sock", NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        memset(longpath, 'x', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = 0;
        err = call_add_peer(f->bus, "connect", longpath, NULL);
        g_assert_cmpstr(err, ==, "org.freedesktop.DBus.Error.InvalidArgs");
        g_clear_pointer(&err, g_free);
        err = call_simple(f->bus, "RemovePeer", "o", MPATH "/peer/999");
        g_assert_cmpstr(err, ==, ERR("NotFound"));
        g_clear_pointer(&err, g_free);

        /* A listener has no peer yet: "/" and the socket appears. */
        err = call_add_peer(f->bus, "accept", sock, &path);
        g_assert_null(err);
        g_assert_cmpstr(path, ==, "/");
        g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
}

static void test_peer_limit(Fixture *f, gconstpointer data)
{
        g_autofree char *a = g_build_filename(f->tb.dir, "a.sock", NULL);
        g_autofree char *b = g_build_filename(f->tb.dir, "b.sock", NULL);
        g_autofree char *err = NULL;

        /* The fixture's configuration: MaxPeers=1. */
        err = call_add_peer(f->bus, "connect", a, NULL);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", b, NULL);
        g_assert_cmpstr(err, ==, ERR("LimitReached"));
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "PeerCount"), ==, 1);
}

/* ---- introspection ---- */

static void test_introspection_matches_xml(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "absent.sock", NULL);
        g_autofree char *peer = NULL, *path = NULL, *err = NULL;
        int fd = new_memfd(4096, 3);

        /* One object and one (connecting) peer to introspect. */
        err = call_export(f->bus, fd, "", NULL, &path);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);
        introspect_check_xml(f->bus, DEST, MPATH, MIFACE);
        introspect_check_xml(f->bus, DEST, path, OIFACE);
        introspect_check_xml(f->bus, DEST, peer, PIFACE);
        close(fd);
}

/* ---- busctl ---- */

static char *run_busctl(Fixture *f, const char *const *args)
{
        g_autofree char *addr = g_strdup_printf("--address=%s", f->tb.address);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autofree char *out = NULL, *errout = NULL;
        g_autoptr(GError) error = NULL;
        int status = 0;

        g_ptr_array_add(argv, "busctl");
        g_ptr_array_add(argv, addr);
        g_ptr_array_add(argv, "--no-pager");
        for (const char *const *a = args; *a; a++)
                g_ptr_array_add(argv, (char *) *a);
        g_ptr_array_add(argv, NULL);
        if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                          &errout, &status, &error))
                g_error("cannot run busctl (package systemd): %s", error->message);
        if (!g_spawn_check_wait_status(status, &error))
                g_error("busctl %s failed: %s\n%s", args[0], error->message, errout);
        return g_steal_pointer(&out);
}

static void test_busctl(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "absent.sock", NULL);
        g_autofree char *peer = NULL, *path = NULL, *uuid = NULL, *err = NULL, *out = NULL;
        g_autofree char *addr = g_strdup_printf("--address=%s", f->tb.address);
        const char *tree[] = {"tree", "--list", DEST, NULL};
        const char *intro[] = {"introspect", DEST, MPATH, NULL};
        const char *argv[] = {"/usr/bin/busctl", addr, "monitor", DEST, NULL};
        int fd = new_memfd(4096, 4), fd2 = new_memfd(4096, 5);
        const HarnessLine *line;
        HarnessProc *mon;

        err = call_export(f->bus, fd, "", &uuid, &path);
        g_assert_null(err);
        err = call_add_peer(f->bus, "connect", sock, &peer);
        g_assert_null(err);

        out = run_busctl(f, tree);
        g_assert_nonnull(strstr(out, path));
        g_assert_nonnull(strstr(out, peer));
        g_clear_pointer(&out, g_free);
        out = run_busctl(f, intro);
        for (const char *m = ".Export"; m; m = NULL)
                g_assert_nonnull(strstr(out, m));
        g_assert_nonnull(strstr(out, ".Added"));
        g_assert_nonnull(strstr(out, "org.freedesktop.DBus.ObjectManager"));
        g_clear_pointer(&out, g_free);

        /* busctl monitor sees the Added signal of an Export. */
        /* It says it is ready on stderr. */
        mon = harness_spawn(f->tb.h, "busctl monitor", argv, NULL, HARNESS_SPAWN_DEFAULT);
        line = harness_expect_output(mon, HARNESS_STDERR, "Monitoring bus message stream",
                                     TEST_TIMEOUT_MS);
        g_assert_true(g_str_has_prefix(line->text, "Monitoring bus message stream"));
        g_clear_pointer(&err, g_free);
        err = call_export(f->bus, fd2, "", NULL, NULL);
        g_assert_null(err);
        harness_expect_output(mon, HARNESS_STDOUT, "Member=Added", TEST_TIMEOUT_MS);
        harness_stop(mon, TEST_TIMEOUT_MS);
        close(fd);
        close(fd2);
}

/* ---- the bus name ---- */

static void test_name_taken(Fixture *f, gconstpointer data)
{
        g_autofree char *daemon = harness_build_file("service/vhost-shared");
        g_autofree char *addr = g_strdup_printf("--bus-address=%s", f->tb.address);
        g_autofree char *config = g_strdup_printf("--config=%s", f->tb.config);
        const char *argv[] = {daemon, addr, config, NULL};
        const HarnessLine *line;
        HarnessProc *second;
        int status;

        /* A second service on the same bus gives up, and says why. */
        second = harness_spawn(f->tb.h, "second vhost-shared", argv, NULL, HARNESS_SPAWN_DEFAULT);
        line = harness_expect_output(second, HARNESS_STDERR, "Cannot own org.vhostshare.share1",
                                     TEST_TIMEOUT_MS);
        g_assert_true(g_str_has_prefix(line->text, "<3>Cannot own org.vhostshare.share1"));
        status = harness_wait_exit(second, TEST_TIMEOUT_MS);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 1);
        /* The first one still serves. */
        testbed_sync(f->bus);
}

/* ---- the bus going away ---- */

static void test_bus_loss_is_a_failure(Fixture *f, gconstpointer data)
{
        f->bus = sd_bus_flush_close_unref(f->bus);
        signal_log_clear(&f->log);
        testbed_stop_bus(&f->tb);
        /* Non-zero, so that Restart=on-failure brings the service back. */
        g_assert_cmpint(testbed_wait_service(&f->tb), ==, 1);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define ADD(path, setup, config, fn) g_test_add(path, Fixture, config, setup, fn, teardown)
        ADD("/dbus/export/round-trip", setup_shipped, NULL, test_export_lookup_round_trip);
        ADD("/dbus/export/uuid-rules", setup_shipped, NULL, test_export_uuid_rules);
        ADD("/dbus/export/refuses-non-buffers", setup_shipped, NULL,
            test_export_refuses_non_buffers);
        ADD("/dbus/export/no-fd-leak", setup_shipped, NULL, test_export_no_fd_leak);
        ADD("/dbus/export/quota", setup_shipped, "[Service]\nMaxObjectsPerClient=2\n",
            test_export_quota);
        ADD("/dbus/allocate", setup_shipped, NULL, test_allocate);
        ADD("/dbus/signals/bus-client", setup_shipped, NULL, test_signals_bus_client);
        ADD("/dbus/access/shipped-policy", setup_shipped, NULL, test_access_shipped_policy);
        ADD("/dbus/access/service-check", setup_open, NULL, test_access_service_check);
        g_test_add("/dbus/access/group-member", Fixture, NULL, setup_group,
                   test_access_group_member, teardown);
        ADD("/dbus/peers/backend-objects", setup_shipped, NULL, test_backend_objects);
        ADD("/dbus/peers/add-peer-arguments", setup_shipped, NULL, test_add_peer_arguments);
        ADD("/dbus/peers/lookup-timeout", setup_shipped, "[Service]\nLookupTimeoutMSec=300\n",
            test_backend_lookup_timeout);
        ADD("/dbus/peers/lookup-peer-gone", setup_shipped, "[Service]\nLookupTimeoutMSec=60000\n",
            test_backend_lookup_peer_gone);
        ADD("/dbus/peers/limit", setup_shipped, "[Service]\nMaxPeers=1\n", test_peer_limit);
        ADD("/dbus/introspection/matches-xml", setup_shipped, NULL, test_introspection_matches_xml);
        ADD("/dbus/busctl", setup_shipped, NULL, test_busctl);
        ADD("/dbus/name-taken", setup_shipped, NULL, test_name_taken);
        ADD("/dbus/bus-loss", setup_shipped, NULL, test_bus_loss_is_a_failure);
#undef ADD
        return g_test_run();
}
