/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: what the Manager's methods do with a caller's
 * arguments before the service sees them, through the service's own
 * functions: the checks of service/bus/bus-args.c (a UUID for GetObject,
 * Export, Lookup, Remove, Disown; Export's fd; Allocate's size; AddPeer's
 * role and socket path) and the object-path parsers of
 * service/bus/bus-paths.c (RemovePeer's argument, and the path of every
 * call to an Object, Peer or Device). The fds are made from the input:
 * every kind a caller can pass, memfds with fuzzed names, sizes and seals.
 *
 * Input: one mode byte, then the argument bytes.
 *   mode bits 0-3  fd kind (FuzzFdKind; memfd kinds use the bytes below)
 *   mode bits 4-7  seals for a memfd (SEAL, SHRINK, GROW, WRITE)
 * The bytes (up to the first NUL) are the string argument of every check
 * and parser, the memfd's name and the fdinfo text given to
 * share_buffer_info_parse_fdinfo; their first 8 (little-endian) are the
 * size and the peer id. Checks: an accepted UUID is neither nil nor max and
 * prints back to a string that parses to the same bytes; a refused argument
 * comes with the method's error; an fd is taken as a buffer exactly when it
 * is a memfd sealed against shrinking and growing, and a refusal names what
 * it is; a parsed path is the one its builder makes (one path per object)
 * and every built path parses back; nothing leaks. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "bus-args.h"
#include "bus-paths.h"
#include "cleanup.h"
#include "fd-util.h"
#include "fuzz-peer-common.h"
#include "share-table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "fuzz-bus-args: %s (%s)\n", what, arg);
        abort();
}

/* A refusal must carry the error the method replies with. */
static void expect_error(int r, int want_r, const sd_bus_error *e, const char *name,
                         const char *arg)
{
        if (r != want_r)
                die("a refusal with an unexpected return value", arg);
        if (!sd_bus_error_has_name(e, name) || !e->message || !*e->message)
                die("a refusal without the method's error", arg);
}

static void fuzz_uuid(const char *s)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        uint8_t uuid[SHARE_UUID_SIZE], again[SHARE_UUID_SIZE];
        char text[SHARE_UUID_STR_LEN], path[BUS_OBJECT_PATH_MAX];
        size_t len = strlen(s);
        int r;

        r = bus_args_parse_uuid(s, uuid, &e);
        if (r < 0) {
                expect_error(r, -EINVAL, &e, BUS_ERROR_INVALID_UUID, s);
                /* Well-formed but refused: only the reserved ones. */
                if (share_uuid_from_string(s, uuid) == 0 && share_uuid_is_valid(uuid))
                        die("a valid UUID refused", s);
                return;
        }
        if (len != 36 && len != 32)
                die("a UUID accepted from a string of the wrong length", s);
        if (!share_uuid_is_valid(uuid))
                die("the nil or max UUID accepted", s);
        share_uuid_to_string(uuid, text);
        if (strlen(text) != 36)
                die("a UUID printed to the wrong length", text);
        for (const char *c = text; *c; c++)
                if (!(g_ascii_isdigit(*c) || (*c >= 'a' && *c <= 'f') || *c == '-'))
                        die("a UUID printed with a character outside [0-9a-f-]", text);
        if (bus_args_parse_uuid(text, again, &e) < 0 || memcmp(uuid, again, sizeof(uuid)) != 0)
                die("a printed UUID does not parse back to the same bytes", text);
        bus_object_path(uuid, path);
        if (bus_object_path_to_uuid(path, again) < 0 || memcmp(uuid, again, sizeof(uuid)) != 0)
                die("an object path does not parse back to its UUID", path);
}

static void fuzz_paths(const char *s, uint64_t id)
{
        uint8_t uuid[SHARE_UUID_SIZE];
        char object[BUS_OBJECT_PATH_MAX], peer[BUS_PEER_PATH_MAX];
        char listener[BUS_LISTENER_PATH_MAX];
        g_autofree char *name = NULL, *device = NULL, *built = NULL;
        uint64_t parsed;

        if (bus_object_path_to_uuid(s, uuid) == 0) {
                bus_object_path(uuid, object);
                if (strcmp(object, s) != 0)
                        die("an object path accepted that its builder does not make", s);
        }
        if (bus_peer_path_to_id(s, &parsed) == 0) {
                bus_peer_path(parsed, peer);
                if (strcmp(peer, s) != 0)
                        die("a peer path accepted that its builder does not make", s);
        }
        bus_peer_path(id, peer);
        if (bus_peer_path_to_id(peer, &parsed) < 0 || parsed != id)
                die("a peer path does not parse back to its id", peer);
        if (bus_listener_path_to_id(s, &parsed) == 0) {
                bus_listener_path(parsed, listener);
                if (strcmp(listener, s) != 0)
                        die("a listener path accepted that its builder does not make", s);
        }
        if (bus_device_path_to_sysname(s, &name) == 0) {
                built = bus_device_path(name);
                if (!*name || strcmp(built, s) != 0)
                        die("a device path accepted that its builder does not make", s);
        }
        /* Any name, even a hostile one, makes a path that names it alone. */
        device = bus_device_path(s);
        g_clear_pointer(&name, g_free);
        if (bus_device_path_to_sysname(device, &name) == 0 ? strcmp(name, s) != 0 : *s != '\0')
                die("a device path does not parse back to its name", device);
}

static void fuzz_add_peer(const char *s)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e2 = SD_BUS_ERROR_NULL;
        static const char *const roles[] = {
            [BUS_ADD_PEER_CONNECT] = "connect",
            [BUS_ADD_PEER_ACCEPT] = "accept",
            [BUS_ADD_PEER_SERVE] = "serve",
        };
        bool fits = s[0] == '/' && strlen(s) < sizeof(((struct sockaddr_un *) NULL)->sun_path);
        BusAddPeerRole role;
        int r;

        r = bus_args_parse_add_peer_role(s, &role, &e);
        if (r < 0)
                expect_error(r, -EINVAL, &e, SD_BUS_ERROR_INVALID_ARGS, s);
        else if ((unsigned) role >= G_N_ELEMENTS(roles) || strcmp(roles[role], s) != 0)
                die("a role parsed to another one", s);

        r = bus_args_check_socket_path(s, &e2);
        if (r < 0)
                expect_error(r, -EINVAL, &e2, SD_BUS_ERROR_INVALID_ARGS, s);
        if ((r == 0) != fits)
                die("a socket path taken that is not absolute or does not fit, or refused", s);
}

static void fuzz_size(uint64_t size)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = bus_args_check_size(size, &e);
        if (r < 0)
                expect_error(r, -EINVAL, &e, SD_BUS_ERROR_INVALID_ARGS, "size");
        if ((r == 0) != (size > 0))
                die("Allocate's size check wrong about 0", "size");
}

static int make_memfd(const char *name, unsigned seals, size_t size)
{
        int fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
                close(fd);
                return -1;
        }
        return fd;
}

/* What the InvalidFd message must call an fd of kind, when it is that
 * simple; NULL for kinds whose file type the kernel chooses (anonymous
 * inodes). */
static const char *expected_description(FuzzFdKind kind, bool memfd)
{
        if (memfd)
                return "a memfd without F_SEAL_SHRINK|F_SEAL_GROW";
        switch (kind) {
        case FUZZ_FD_NONE:
                return "not a valid descriptor";
        case FUZZ_FD_PIPE:
                return "a pipe";
        case FUZZ_FD_SOCKET:
                return "a socket";
        case FUZZ_FD_DEVNULL:
        case FUZZ_FD_OVERFLOW:
        case FUZZ_FD_TWO:
                return "a device node";
        case FUZZ_FD_TMPFILE:
                return "a regular file";
        case FUZZ_FD_DIRECTORY:
                return "a directory";
        default:
                return NULL;
        }
}

/* Export's check on fd (of kind; a memfd with seals when memfd). */
static void check_export_fd(int fd, FuzzFdKind kind, bool memfd, bool want_buffer)
{
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *what = expected_description(kind, memfd);
        g_autofree char *message = NULL;
        int r;

        r = bus_args_check_buffer_fd(fd, &e);
        if ((r == 0) != want_buffer)
                die("Export takes an fd exactly when it is a size-sealed memfd",
                    fuzz_fd_kind_name(kind));
        if (r == 0)
                return;
        expect_error(r, -EBADF, &e, BUS_ERROR_INVALID_FD, fuzz_fd_kind_name(kind));
        message = g_strdup_printf("The descriptor is %s, not a dma-buf or a sealed memfd",
                                  bus_args_describe_fd(fd));
        if (strcmp(e.message, message) != 0)
                die("InvalidFd does not say what the fd is", e.message);
        if (what && strcmp(bus_args_describe_fd(fd), what) != 0)
                die("an fd described as something else", bus_args_describe_fd(fd));
}

static void fuzz_fd(uint8_t mode, const char *arg, size_t arg_len)
{
        FuzzFdKind kind = (FuzzFdKind) (mode & 15);
        unsigned seals = ((mode & 0x10) ? F_SEAL_SEAL : 0) | ((mode & 0x20) ? F_SEAL_SHRINK : 0) |
                         ((mode & 0x40) ? F_SEAL_GROW : 0) | ((mode & 0x80) ? F_SEAL_WRITE : 0);
        bool memfd = false, want_buffer = false;
        _cleanup_close_ int fd = -1, other = -1;
        ShareBufferInfo info;
        int r;

        if (kind == FUZZ_FD_NONE) {
                /* A number that is not open. */
                int closed = open("/dev/null", O_RDONLY | O_CLOEXEC);

                close(closed);
                check_export_fd(closed, kind, false, false);
                if (share_buffer_info_from_fd(closed, &info) >= 0)
                        die("a closed fd described", "");
                return;
        }
        switch (kind) {
        case FUZZ_FD_MEMFD_SEALED:
        case FUZZ_FD_MEMFD_UNSEALED:
        case FUZZ_FD_MEMFD_EMPTY:
        case FUZZ_FD_FLOOD:
                /* memfd_create refuses names over 249 bytes and "/". */
                fd = make_memfd(arg_len <= 249 && !strchr(arg, '/') ? arg : "fuzz", seals,
                                kind == FUZZ_FD_MEMFD_EMPTY ? 0 : arg_len * 64);
                if (fd < 0)
                        return;
                memfd = true;
                want_buffer =
                    (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW);
                break;
        case FUZZ_FD_OVERFLOW:
        case FUZZ_FD_TWO:
                fd = fuzz_make_fd(FUZZ_FD_DEVNULL, NULL);
                break;
        default:
                fd = fuzz_make_fd(kind, &other);
                break;
        }
        if (fd < 0)
                return;
        check_export_fd(fd, kind, memfd, want_buffer);
        /* What Export() records of an fd it takes (service_export_fd, no info). */
        r = share_buffer_info_from_fd(fd, &info);
        if (r >= 0 && memfd) {
                if (strcmp(info.exporter, "memfd") != 0)
                        die("a memfd described with another exporter", info.exporter);
                if (info.size != (kind == FUZZ_FD_MEMFD_EMPTY ? 0 : arg_len * 64))
                        die("a memfd described with the wrong size", arg);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int fds_before = -1;
        g_autofree char *arg = NULL;
        ShareBufferInfo info = {0};
        uint64_t number = 0;
        uint8_t mode;

        if (size < 1)
                return 0;
        if (fds_before < 0)
                fds_before = fd_count_open();
        mode = data[0];
        arg = g_strndup((const char *) data + 1, size - 1);
        for (size_t i = 0; i < 8 && 1 + i < size; i++)
                number |= (uint64_t) data[1 + i] << (8 * i);

        fuzz_uuid(arg);
        fuzz_paths(arg, number);
        fuzz_add_peer(arg);
        fuzz_size(number);
        fuzz_fd(mode, arg, strlen(arg));
        /* The fdinfo text is kernel output, but parse it as if hostile. */
        share_buffer_info_parse_fdinfo(arg, &info);
        if (memchr(info.exporter, 0, sizeof(info.exporter)) == NULL ||
            memchr(info.name, 0, sizeof(info.name)) == NULL)
                die("an fdinfo field without its terminator", arg);

        if (fd_count_open() != fds_before)
                die("an fd leaked", fuzz_fd_kind_name((FuzzFdKind) (mode & 15)));
        return 0;
}
