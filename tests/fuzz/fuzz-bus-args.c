/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: what the D-Bus methods do with their arguments before
 * the table sees them. A UUID string (Export, Lookup, Remove, GetObject) is
 * parsed with share_uuid_from_string + share_uuid_is_valid; an fd (Export)
 * is classified with fd_is_dmabuf / fd_is_sealed_memfd and described with
 * share_buffer_info_from_fd. The fds are made from the input: every kind a
 * caller can pass, memfds with fuzzed names, sizes and seals.
 *
 * Input: one mode byte, then the argument bytes.
 *   mode bits 0-3  fd kind (FuzzFdKind; memfd kinds use the bytes below)
 *   mode bits 4-7  seals for a memfd (SEAL, SHRINK, GROW, WRITE)
 * The bytes (up to the first NUL) are the UUID string, the memfd's name and
 * the fdinfo text given to share_buffer_info_parse_fdinfo. Checks: a parsed
 * UUID prints back to a string that parses to the same bytes; an fd is
 * taken as a buffer exactly when it is a memfd sealed against shrinking and
 * growing; nothing leaks. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "fuzz-peer-common.h"
#include "share-table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "fuzz-bus-args: %s (%s)\n", what, arg);
        abort();
}

static void fuzz_uuid(const char *s)
{
        uint8_t uuid[SHARE_UUID_SIZE], again[SHARE_UUID_SIZE];
        char text[SHARE_UUID_STR_LEN];
        size_t len = strlen(s);

        if (share_uuid_from_string(s, uuid) < 0)
                return;
        if (len != 36 && len != 32)
                die("a UUID parsed from a string of the wrong length", s);
        share_uuid_to_string(uuid, text);
        if (strlen(text) != 36)
                die("a UUID printed to the wrong length", text);
        for (const char *c = text; *c; c++)
                if (!(g_ascii_isdigit(*c) || (*c >= 'a' && *c <= 'f') || *c == '-'))
                        die("a UUID printed with a character outside [0-9a-f-]", text);
        if (share_uuid_from_string(text, again) < 0 || memcmp(uuid, again, sizeof(uuid)) != 0)
                die("a printed UUID does not parse back to the same bytes", text);
        if (share_uuid_is_valid(uuid) !=
            (strcmp(text, "00000000-0000-0000-0000-000000000000") != 0 &&
             strcmp(text, "ffffffff-ffff-ffff-ffff-ffffffffffff") != 0))
                die("share_uuid_is_valid disagrees about nil/max", text);
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

static void fuzz_fd(uint8_t mode, const char *arg, size_t arg_len)
{
        FuzzFdKind kind = (FuzzFdKind) (mode & 15);
        unsigned seals = ((mode & 0x10) ? F_SEAL_SEAL : 0) | ((mode & 0x20) ? F_SEAL_SHRINK : 0) |
                         ((mode & 0x40) ? F_SEAL_GROW : 0) | ((mode & 0x80) ? F_SEAL_WRITE : 0);
        bool memfd = false, want_buffer = false;
        ShareBufferInfo info;
        int fd, other = -1, r;

        switch (kind) {
        case FUZZ_FD_NONE:
                /* A number that is not open. */
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                close(fd);
                if (fd_is_sealed_memfd(fd) >= 0 || fd_is_dmabuf(fd) >= 0 || fd_is_memfd(fd) >= 0)
                        die("a closed fd classified", "");
                if (share_buffer_info_from_fd(fd, &info) >= 0)
                        die("a closed fd described", "");
                return;
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
        if (fd_is_dmabuf(fd) != 0)
                die("an fd taken for a dma-buf", fuzz_fd_kind_name(kind));
        if (fd_is_memfd(fd) != memfd)
                die("fd_is_memfd wrong", fuzz_fd_kind_name(kind));
        if (fd_is_sealed_memfd(fd) != want_buffer)
                die("fd_is_sealed_memfd wrong", fuzz_fd_kind_name(kind));
        r = share_buffer_info_from_fd(fd, &info);
        if (r >= 0 && memfd) {
                if (strcmp(info.exporter, "memfd") != 0)
                        die("a memfd described with another exporter", info.exporter);
                if (info.size != (kind == FUZZ_FD_MEMFD_EMPTY ? 0 : arg_len * 64))
                        die("a memfd described with the wrong size", arg);
        }
        close(fd);
        if (other >= 0)
                close(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int fds_before = -1;
        g_autofree char *arg = NULL;
        ShareBufferInfo info = {0};
        uint8_t mode;

        if (size < 1)
                return 0;
        if (fds_before < 0)
                fds_before = fd_count_open();
        mode = data[0];
        arg = g_strndup((const char *) data + 1, size - 1);

        fuzz_uuid(arg);
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
