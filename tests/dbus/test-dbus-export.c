/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The D-Bus API's fd hand-over: Export and Lookup of caller buffers, the
 * UUID rules, refused descriptors of every other kind, no fd kept that
 * should not be, the per-client quota, Allocate, and the signals of a bus
 * client's objects (exactly once, whatever the cause). Each test gets its
 * own dbus-daemon and service (dbus-fixture.h). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <glib.h>
#include <uuid/uuid.h>

#include "buffer-pattern.h"
#include "cleanup.h"
#include "dbus-fixture.h"
#include "raw-peer.h"

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
        /* Announced after the answer, coalesced over a short interval. */
        ev = g_strdup_printf("PropertiesChanged %s " OIFACE " LookupCount", path);
        g_assert_true(signal_log_wait_for(&f->log, f->bus, ev));
        testbed_sync(f->bus);
        assert_log_count(&f->log, ev, 1);
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

/* An importer gets the exporter's file description: it can write to the
 * buffer unless the exporter sealed it with F_SEAL_WRITE (as vhost-sharectl
 * export does); Export takes both (docs/security.md). */
static void test_export_write_seal(Fixture *f, gconstpointer data)
{
        int writable = memfd_create("writable", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        int sealed = new_memfd(4096, 3), got = -1;
        g_autofree char *uuid_w = NULL, *uuid_s = NULL, *err = NULL;
        const char byte = 0x5a;
        char back = 0;

        g_assert_cmpint(ftruncate(writable, 4096), ==, 0);
        g_assert_cmpint(fcntl(writable, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), ==, 0);
        g_assert_null((err = call_export(f->bus, writable, "", &uuid_w, NULL)));
        g_assert_null((err = call_export(f->bus, sealed, "", &uuid_s, NULL)));

        /* Without F_SEAL_WRITE the importer writes into the exporter's buffer. */
        g_assert_null((err = call_lookup(f->bus, uuid_w, &got)));
        g_assert_cmpint(pwrite(got, &byte, 1, 100), ==, 1);
        g_assert_cmpint(pread(writable, &back, 1, 100), ==, 1);
        g_assert_cmpint(back, ==, byte);
        close(got);

        /* With it, neither write() nor a writable shared mapping works. */
        g_assert_null((err = call_lookup(f->bus, uuid_s, &got)));
        g_assert_cmpint(pwrite(got, &byte, 1, 100), ==, -1);
        g_assert_cmpint(errno, ==, EPERM);
        g_assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0) == MAP_FAILED);
        close(got);
        close(writable);
        close(sealed);
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

/* Every fd the service receives is stored, handed on or closed: after
 * exports, lookups, refusals and removals its fd count is back where it
 * started. */
static void test_export_no_fd_leak(Fixture *f, gconstpointer data)
{
        sd_bus *client = testbed_connect(&f->tb);
        int before, sv[2];

        testbed_sync(f->bus);
        before = harness_count_fds(f->tb.service_pid);
        g_assert_cmpint(before, >, 0);
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
        g_assert_cmpint(harness_count_fds(f->tb.service_pid), ==, before + 25);
        /* The rest go with the client. */
        client = sd_bus_flush_close_unref(client);
        g_assert_true(wait_object_count(f, 0));
        g_assert_cmpint(harness_count_fds(f->tb.service_pid), ==, before);
        close(sv[0]);
        close(sv[1]);
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
        g_assert_cmpstr(err, ==, ERR("QuotaExceeded"));
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

        /* A memfd, asked for by name (test-dbus-admin: not otherwise). */
        g_assert_cmpint(sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "Allocate", &e, &reply,
                                           "ts", (uint64_t) 65536, "memfd"),
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

/* ---- signals ---- */

/* Names that are not UTF-8: a memfd's (any bytes), and a process's comm
 * (prctl(PR_SET_NAME) takes any bytes), here the caller's and a back-end's.
 * The objects and the peer are there with readable names, and the
 * whole-table calls still answer everybody (before: the Name property,
 * GetManagedObjects and ListObjects failed with EINVAL). */
static void test_names_not_utf8(Fixture *f, gconstpointer data)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *uuid = NULL, *path = NULL, *name = NULL, *owner = NULL,
                        *command = NULL;
        g_autofree char *u_path = NULL;
        char old_comm[17] = "", u_str[37];
        VuMessage ack;
        uint8_t u[16];
        RawPeer *b;
        int fd = -1;

        g_assert_cmpint(prctl(PR_GET_NAME, old_comm), ==, 0);
        g_assert_cmpint(prctl(PR_SET_NAME, "tst\xff\xfe"), ==, 0);
        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        b = connect_backend(f, sock);
        g_assert_cmpint(memfd_new_sealed_pattern("frame\xff\xfe", 4096, 2, &fd), ==, 0);
        g_assert_null((err = call_export(f->bus, fd, "", &uuid, &path)));
        g_assert_cmpint(prctl(PR_SET_NAME, old_comm), ==, 0);

        g_assert_cmpint(sd_bus_get_property_string(f->bus, DEST, path, OIFACE, "Name", &e, &name),
                        >=, 0);
        g_assert_true(g_str_has_prefix(name, "frame"));
        g_assert_cmpint(
            sd_bus_get_property_string(f->bus, DEST, path, OIFACE, "OwnerCommand", &e, &owner), >=,
            0);
        g_assert_true(g_str_has_prefix(owner, "tst"));
        /* The back-end's object: its owner's command is the one read when
         * the back-end connected. */
        uuid_generate_random(u);
        uuid_unparse_lower(u, u_str);
        g_assert_cmpint(raw_peer_request(b, VU_BREQ_SHARED_OBJECT_ADD, u, -1, &ack), ==, 1);
        u_path = object_path(u_str);
        g_assert_cmpint(
            sd_bus_get_property_string(f->bus, DEST, u_path, OIFACE, "OwnerCommand", &e, &command),
            >=, 0);
        g_assert_true(g_str_has_prefix(command, "tst"));
        g_assert_cmpint(sd_bus_call_method(f->bus, DEST, MPATH,
                                           "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects", &e, &reply, NULL),
                        >=, 0);
        reply = sd_bus_message_unref(reply);
        g_assert_cmpint(
            sd_bus_call_method(f->bus, DEST, MPATH, MIFACE, "ListObjects", &e, &reply, NULL), >=,
            0);
        raw_peer_free(b);
        close(fd);
}

static void test_signals_bus_client(Fixture *f, gconstpointer data)
{
        sd_bus *client = testbed_connect(&f->tb);
        g_autofree char *a = NULL, *b = NULL, *pa = NULL, *pb = NULL, *ev = NULL;
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
        /* The count follows, coalesced (over 100 ms) but announced. */
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, 0);
        g_assert_true(signal_log_wait_for(&f->log, f->bus,
                                          "PropertiesChanged " MPATH " " MIFACE " ObjectCount"));
        close(fa);
        close(fb);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/export/round-trip", setup_shipped, NULL,
                      test_export_lookup_round_trip);
        DBUS_TEST_ADD("/dbus/export/uuid-rules", setup_shipped, NULL, test_export_uuid_rules);
        DBUS_TEST_ADD("/dbus/export/write-seal", setup_shipped, NULL, test_export_write_seal);
        DBUS_TEST_ADD("/dbus/export/refuses-non-buffers", setup_shipped, NULL,
                      test_export_refuses_non_buffers);
        DBUS_TEST_ADD("/dbus/export/no-fd-leak", setup_shipped, NULL, test_export_no_fd_leak);
        DBUS_TEST_ADD("/dbus/export/quota", setup_shipped, "[Service]\nMaxObjectsPerClient=2\n",
                      test_export_quota);
        DBUS_TEST_ADD("/dbus/export/names-not-utf8", setup_shipped, NULL, test_names_not_utf8);
        DBUS_TEST_ADD("/dbus/allocate", setup_shipped, NULL, test_allocate);
        DBUS_TEST_ADD("/dbus/signals/bus-client", setup_shipped, NULL, test_signals_bus_client);
        return g_test_run();
}
