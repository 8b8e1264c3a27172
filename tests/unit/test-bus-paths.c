/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus layer's pure parts: the object paths of the manager's children
 * (bus-paths.h: built, parsed, and refused when not exactly what the
 * builder makes) and the checks the Manager's methods make on their
 * arguments (bus-args.h), with the D-Bus errors they set. No bus. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "bus-args.h"
#include "bus-paths.h"
#include "cleanup.h"
#include "fd-util.h"

#define OBJ BUS_OBJECT_PREFIX "/"
#define PEER BUS_PEER_PREFIX "/"
#define DEV BUS_DEVICE_PREFIX "/"

static const uint8_t uuid_a[SHARE_UUID_SIZE] = {0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0x4c, 0xde,
                                                0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd};

/* ---- object/<32 lowercase hex digits> ---- */

static void test_object_path_build(void)
{
        char path[BUS_OBJECT_PATH_MAX];

        bus_object_path(uuid_a, path);
        g_assert_cmpstr(path, ==, OBJ "1234567890ab4cde8f0123456789abcd");
        g_assert_cmpuint(strlen(path) + 1, ==, BUS_OBJECT_PATH_MAX);
}

static void test_object_path_round_trip(void)
{
        static const uint8_t all_ff[SHARE_UUID_SIZE] = {
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        const uint8_t *uuids[] = {uuid_a, all_ff};

        for (size_t i = 0; i < G_N_ELEMENTS(uuids); i++) {
                char path[BUS_OBJECT_PATH_MAX];
                uint8_t back[SHARE_UUID_SIZE];

                bus_object_path(uuids[i], path);
                g_assert_cmpint(bus_object_path_to_uuid(path, back), ==, 0);
                g_assert_cmpmem(back, sizeof(back), uuids[i], SHARE_UUID_SIZE);
        }
}

static void test_object_path_refused(void)
{
        static const char *const bad[] = {
            "",
            BUS_OBJECT_PREFIX,
            OBJ,
            OBJ "1234567890AB4CDE8F0123456789ABCD",                       /* uppercase */
            OBJ "1234567890ab4cde8f0123456789abcD",                       /* one uppercase digit */
            OBJ "1234567890ab4cde8f0123456789abc",                        /* 31 digits */
            OBJ "1234567890ab4cde8f0123456789abcde",                      /* 33 digits */
            OBJ "12345678-90ab-4cde-8f01-23456789abcd",                   /* the dashed form */
            OBJ "1234567890ab4cde8f0123456789abcg",                       /* not hex */
            OBJ "1234567890ab4cde8f0123456789abcd/",                      /* trailing slash */
            OBJ "1234567890ab4cde8f0123456789abcd/x",                     /* below an object */
            BUS_MANAGER_PATH "/objects/1234567890ab4cde8f0123456789abcd", /* wrong prefix */
            PEER "1234567890ab4cde8f0123456789abcd",                      /* another subtree */
            "/1234567890ab4cde8f0123456789abcd",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                uint8_t uuid[SHARE_UUID_SIZE];

                /* Left alone on failure. */
                memset(uuid, 0x5a, sizeof(uuid));
                g_assert_cmpint(bus_object_path_to_uuid(bad[i], uuid), ==, -EINVAL);
                for (size_t k = 0; k < sizeof(uuid); k++)
                        g_assert_cmpuint(uuid[k], ==, 0x5a);
        }
}

/* ---- peer/<decimal id> ---- */

static void test_peer_path_build(void)
{
        char path[BUS_PEER_PATH_MAX];

        bus_peer_path(7, path);
        g_assert_cmpstr(path, ==, PEER "7");
        bus_peer_path(UINT64_MAX, path);
        g_assert_cmpstr(path, ==, PEER "18446744073709551615");
        g_assert_cmpuint(strlen(path) + 1, ==, BUS_PEER_PATH_MAX);
}

static void test_peer_path_round_trip(void)
{
        static const uint64_t ids[] = {0, 1, 42, 1000000, UINT64_MAX - 1, UINT64_MAX};

        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
                char path[BUS_PEER_PATH_MAX];
                uint64_t id = 12345;

                bus_peer_path(ids[i], path);
                g_assert_cmpint(bus_peer_path_to_id(path, &id), ==, 0);
                g_assert_cmpuint(id, ==, ids[i]);
        }
}

static void test_peer_path_refused(void)
{
        static const char *const bad[] = {
            "",
            BUS_PEER_PREFIX,
            PEER,
            PEER "07", /* leading zero: 7 has one path */
            PEER "00",
            PEER "+7",
            PEER "-1",
            PEER " 7",
            PEER "7 ",
            PEER "7/", /* trailing slash */
            PEER "7a",
            PEER "0x7",
            PEER "18446744073709551616", /* UINT64_MAX + 1 */
            PEER "99999999999999999999999",
            BUS_MANAGER_PATH "/peers/7", /* wrong prefix */
            OBJ "7",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                uint64_t id = 12345;

                g_assert_cmpint(bus_peer_path_to_id(bad[i], &id), ==, -EINVAL);
                g_assert_cmpuint(id, ==, 12345);
        }
}

/* ---- listener/<decimal id>: the peers' rule ---- */

static void test_listener_path(void)
{
        static const char *const bad[] = {
            BUS_LISTENER_PREFIX "/07",
            BUS_LISTENER_PREFIX "/",
            BUS_LISTENER_PREFIX "/7/",
            BUS_LISTENER_PREFIX "/-1",
            BUS_LISTENER_PREFIX "/18446744073709551616",
            PEER "7", /* a peer's path names no listener, and back */
        };
        char path[BUS_LISTENER_PATH_MAX];
        uint64_t id = 12345;

        bus_listener_path(UINT64_MAX, path);
        g_assert_cmpstr(path, ==, BUS_MANAGER_PATH "/listener/18446744073709551615");
        g_assert_cmpuint(strlen(path) + 1, ==, BUS_LISTENER_PATH_MAX);
        g_assert_cmpint(bus_listener_path_to_id(path, &id), ==, 0);
        g_assert_cmpuint(id, ==, UINT64_MAX);
        bus_listener_path(3, path);
        g_assert_cmpint(bus_listener_path_to_id(path, &id), ==, 0);
        g_assert_cmpuint(id, ==, 3);
        g_assert_cmpint(bus_peer_path_to_id(path, &id), ==, -EINVAL);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                id = 12345;
                g_assert_cmpint(bus_listener_path_to_id(bad[i], &id), ==, -EINVAL);
                g_assert_cmpuint(id, ==, 12345);
        }
}

/* ---- device/<escaped sysname> ---- */

static void test_device_path_build(void)
{
        static const struct {
                const char *name, *path;
        } cases[] = {
            {"card0", DEV "card0"}, {"renderD128", DEV "renderD128"},
            {"a-b", DEV "a_2db"},   {"x y", DEV "x_20y"},
            {"", DEV "_"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *path = bus_device_path(cases[i].name);

                g_assert_cmpstr(path, ==, cases[i].path);
        }
}

static void test_device_path_round_trip(void)
{
        static const char *const names[] = {"card0", "renderD128", "a-b",     "x y",
                                            "_",     "card_30",    "\xc3\xbc"};

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autofree char *path = bus_device_path(names[i]);
                g_autofree char *name = NULL;

                g_assert_cmpint(bus_device_path_to_sysname(path, &name), ==, 0);
                g_assert_cmpstr(name, ==, names[i]);
        }
}

static void test_device_path_refused(void)
{
        static const char *const bad[] = {
            "",
            "not a path",
            BUS_DEVICE_PREFIX,
            DEV,
            DEV "_",                           /* the empty name */
            DEV "card_30",                     /* decodes to "card0", whose path is device/card0 */
            DEV "a_2Db",                       /* uppercase escape */
            DEV "card0/",                      /* trailing slash */
            DEV "card0/x",                     /* below a device */
            BUS_MANAGER_PATH "/devices/card0", /* wrong prefix */
            PEER "card0",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *name = NULL;

                g_assert_cmpint(bus_device_path_to_sysname(bad[i], &name), ==, -EINVAL);
                g_assert_null(name);
        }
}

/* ---- the arguments ---- */

static void assert_error(const sd_bus_error *e, const char *name, const char *message)
{
        g_assert_cmpstr(e->name, ==, name);
        g_assert_cmpstr(e->message, ==, message);
}

static void test_args_uuid(void)
{
        static const char *const forms[] = {
            "12345678-90ab-4cde-8f01-23456789abcd",
            "12345678-90AB-4CDE-8F01-23456789ABCD",
            "1234567890ab4cde8f0123456789abcd",
            "1234567890AB4CDE8F0123456789ABCD",
        };
        static const char *const bad[] = {
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "00000000000000000000000000000000",
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "{12345678-90ab-4cde-8f01-23456789abcd}",
            "12345678-90ab-4cde-8f01-23456789abc",
            "1234567-890ab-4cde-8f01-23456789abcd",
            "12345678-90ab-4cde-8f01-23456789abcg",
            "",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                uint8_t uuid[SHARE_UUID_SIZE];

                g_assert_cmpint(bus_args_parse_uuid(forms[i], uuid, &e), ==, 0);
                g_assert_cmpmem(uuid, sizeof(uuid), uuid_a, sizeof(uuid_a));
                g_assert_false(sd_bus_error_is_set(&e));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                g_autofree char *message = g_strdup_printf(
                    "\"%s\" is not a valid UUID (nil and max are reserved)", bad[i]);
                uint8_t uuid[SHARE_UUID_SIZE];

                g_assert_cmpint(bus_args_parse_uuid(bad[i], uuid, &e), ==, -EINVAL);
                assert_error(&e, BUS_ERROR_INVALID_UUID, message);
        }
}

/* A memfd sealed with seals only. */
static int memfd_sealed_with(unsigned seals)
{
        int fd = memfd_create("test-bus-paths", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        if (seals)
                g_assert_cmpint(fcntl(fd, F_ADD_SEALS, seals), ==, 0);
        return fd;
}

/* Export's fd check on fd: accepted, or refused saying fd is what. */
static void assert_fd(int fd, const char *what)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        g_autofree char *message = NULL;

        if (!what) {
                g_assert_cmpint(bus_args_check_buffer_fd(fd, &e), ==, 0);
                g_assert_false(sd_bus_error_is_set(&e));
                return;
        }
        message = g_strdup_printf("The descriptor is %s, not a dma-buf or a sealed memfd", what);
        g_assert_cmpint(bus_args_check_buffer_fd(fd, &e), ==, -EBADF);
        assert_error(&e, BUS_ERROR_INVALID_FD, message);
        g_assert_cmpstr(bus_args_describe_fd(fd), ==, what);
}

static void test_args_buffer_fd(void)
{
        _cleanup_close_ int sealed = memfd_sealed_with(F_SEAL_SHRINK | F_SEAL_GROW);
        _cleanup_close_ int unsealed = memfd_sealed_with(0);
        _cleanup_close_ int shrink_only = memfd_sealed_with(F_SEAL_SHRINK);
        _cleanup_close_ int all = -1; /* every seal: what the sample device sends */
        _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        _cleanup_close_ int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int opath = open("/", O_PATH | O_CLOEXEC);
        _cleanup_close_ int tmp = open(g_get_tmp_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        _cleanup_close_ int pipe_r = -1, pipe_w = -1, sock_a = -1, sock_b = -1;
        int p[2], sv[2];

        g_assert_cmpint(memfd_new_sealed_pattern("test-bus-paths", 4096, 1, &all), ==, 0);
        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        pipe_r = p[0];
        pipe_w = p[1];
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        sock_a = sv[0];
        sock_b = sv[1];
        g_assert_cmpint(devnull, >=, 0);
        g_assert_cmpint(dir, >=, 0);
        g_assert_cmpint(opath, >=, 0);

        assert_fd(sealed, NULL);
        assert_fd(all, NULL);
        assert_fd(unsealed, "a memfd without F_SEAL_SHRINK|F_SEAL_GROW");
        assert_fd(shrink_only, "a memfd without F_SEAL_SHRINK|F_SEAL_GROW");
        assert_fd(pipe_r, "a pipe");
        assert_fd(sock_a, "a socket");
        assert_fd(devnull, "a device node");
        assert_fd(dir, "a directory");
        assert_fd(opath, "an O_PATH descriptor");
        assert_fd(-1, "not a valid descriptor");
        if (tmp >= 0)
                assert_fd(tmp, "a regular file");
}

static void test_args_size(void)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        g_assert_cmpint(bus_args_check_size(1, &e), ==, 0);
        g_assert_cmpint(bus_args_check_size(UINT64_MAX, &e), ==, 0);
        g_assert_false(sd_bus_error_is_set(&e));
        g_assert_cmpint(bus_args_check_size(0, &e), ==, -EINVAL);
        assert_error(&e, SD_BUS_ERROR_INVALID_ARGS, "Size must not be 0");
}

static void test_args_add_peer_role(void)
{
        static const struct {
                const char *s;
                BusAddPeerRole role;
        } good[] = {
            {"connect", BUS_ADD_PEER_CONNECT},
            {"accept", BUS_ADD_PEER_ACCEPT},
            {"serve", BUS_ADD_PEER_SERVE},
        };
        static const char *const bad[] = {"", "Connect", "listen", "connect ", "serv"};

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                BusAddPeerRole role = (BusAddPeerRole) -1;

                g_assert_cmpint(bus_args_parse_add_peer_role(good[i].s, &role, &e), ==, 0);
                g_assert_cmpint(role, ==, good[i].role);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                g_autofree char *message =
                    g_strdup_printf("Unknown role \"%s\" (connect, accept or serve)", bad[i]);
                BusAddPeerRole role;

                g_assert_cmpint(bus_args_parse_add_peer_role(bad[i], &role, &e), ==, -EINVAL);
                assert_error(&e, SD_BUS_ERROR_INVALID_ARGS, message);
        }
}

static void test_args_socket_path(void)
{
        g_autofree char *longest = g_strnfill(107, 's');
        g_autofree char *too_long = g_strnfill(108, 's');
        const char *good[] = {"/run/vhost-share/backend.sock", "/", NULL};
        const char *bad[] = {"", "relative.sock", "./x.sock", NULL};

        /* sun_path holds 108 bytes: 107 and the NUL. */
        longest[0] = too_long[0] = '/';
        good[2] = longest;
        bad[3] = too_long;
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                g_assert_cmpint(bus_args_check_socket_path(good[i], &e), ==, 0);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                g_autofree char *message = g_strdup_printf(
                    "\"%s\" is not an absolute socket path that fits sockaddr_un", bad[i]);

                g_assert_cmpint(bus_args_check_socket_path(bad[i], &e), ==, -EINVAL);
                assert_error(&e, SD_BUS_ERROR_INVALID_ARGS, message);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/bus-paths/object/build", test_object_path_build);
        g_test_add_func("/bus-paths/object/round-trip", test_object_path_round_trip);
        g_test_add_func("/bus-paths/object/refused", test_object_path_refused);
        g_test_add_func("/bus-paths/peer/build", test_peer_path_build);
        g_test_add_func("/bus-paths/peer/round-trip", test_peer_path_round_trip);
        g_test_add_func("/bus-paths/peer/refused", test_peer_path_refused);
        g_test_add_func("/bus-paths/listener", test_listener_path);
        g_test_add_func("/bus-paths/device/build", test_device_path_build);
        g_test_add_func("/bus-paths/device/round-trip", test_device_path_round_trip);
        g_test_add_func("/bus-paths/device/refused", test_device_path_refused);
        g_test_add_func("/bus-args/uuid", test_args_uuid);
        g_test_add_func("/bus-args/buffer-fd", test_args_buffer_fd);
        g_test_add_func("/bus-args/size", test_args_size);
        g_test_add_func("/bus-args/add-peer-role", test_args_add_peer_role);
        g_test_add_func("/bus-args/socket-path", test_args_socket_path);
        return g_test_run();
}
