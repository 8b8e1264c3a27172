/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl export, lookup, remove: putting buffers into the table,
 * getting them out, taking them away. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "ctl.h"
#include "buffer-pattern.h"
#include "fd-util.h"

/* A fresh random UUID, never nil or max. */
static void new_uuid(CtlUuid *ret)
{
        do
                uuid_generate_random(ret->bytes);
        while (!share_uuid_is_valid(ret->bytes));
        share_uuid_to_string(ret->bytes, ret->str);
}

static int write_all(int fd, const void *buf, size_t n)
{
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int too_large(const char *path, uint64_t max)
{
        char buf[32];

        fprintf(stderr, _("%s: %s is larger than %s (--max-size); nothing was exported\n"),
                program_invocation_short_name, path, ctl_format_size(max, buf));
        return CTL_EXIT_FAILURE;
}

/* Copies path's contents (- for standard input), at most max bytes, into a
 * memfd with seals added. Prints why not. */
static int file_to_sealed_memfd(const char *path, uint64_t max, int seals, int *ret_fd,
                                uint64_t *ret_size)
{
        _cleanup_close_ int in = -1, fd = -1;
        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *name = g_strconcat("vhost-sharectl:", base, NULL);
        char buf[65536];
        uint64_t size = 0;
        struct stat st;
        ssize_t n;
        int r;

        in = strcmp(path, "-") == 0 ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                                    : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0) {
                int error = errno;

                fprintf(stderr, _("%s: cannot open %s: %s\n"), program_invocation_short_name, path,
                        strerror(error));
                return error == ENOENT ? CTL_EXIT_NOT_FOUND : CTL_EXIT_FAILURE;
        }
        /* A regular file says its size; anything else (a pipe, /dev/zero)
         * is counted as it is read. */
        if (fstat(in, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t) st.st_size > max)
                return too_large(path, max);
        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return ctl_bus_error(NULL, -errno, _("cannot create a memfd"));
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, _("%s: cannot read %s: %s\n"),
                                program_invocation_short_name, path, strerror(errno));
                        return CTL_EXIT_FAILURE;
                }
                if ((uint64_t) n > max - size)
                        return too_large(path, max);
                r = write_all(fd, buf, (size_t) n);
                if (r < 0)
                        return ctl_bus_error(NULL, r, _("cannot fill the memfd"));
                size += (uint64_t) n;
        }
        if (size == 0) {
                fprintf(stderr, _("%s: %s is empty; a shared buffer needs at least one byte\n"),
                        program_invocation_short_name, path);
                return CTL_EXIT_FAILURE;
        }
        if (fcntl(fd, F_ADD_SEALS, seals) < 0)
                return ctl_bus_error(NULL, -errno, _("cannot seal the memfd"));
        *ret_fd = g_steal_fd(&fd);
        *ret_size = size;
        return CTL_EXIT_OK;
}

int verb_export(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -1;
        const char *file = argc > 1 ? argv[1] : NULL, *uuid_out, *path;
        /* A fixed size always (the service's buffer rule); unwritable for
         * everyone, the importers included, only when asked: importers get
         * this very file description. */
        int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL | (ctl->read_only ? F_SEAL_WRITE : 0);
        CtlUuid uuid;
        uint64_t size = 0;
        int r;

        if (!!file == (ctl->size > 0))
                return ctl_usage_error(_("export needs either a FILE or --size=SIZE"));
        if (ctl->uuid) {
                r = ctl_parse_uuid_arg(ctl->uuid, &uuid);
                if (r != CTL_EXIT_OK)
                        return r;
        } else
                /* Ours, not the service's: the pattern's seed comes from it. */
                new_uuid(&uuid);

        if (file) {
                r = file_to_sealed_memfd(file, ctl->max_size ? ctl->max_size : CTL_EXPORT_MAX_SIZE,
                                         seals, &fd, &size);
                if (r != CTL_EXIT_OK)
                        return r;
        } else {
                size = ctl->size;
                r = memfd_new_pattern("vhost-sharectl", size, buffer_pattern_seed(uuid.bytes),
                                      seals, &fd);
                if (r < 0)
                        return ctl_bus_error(NULL, r, _("cannot create the pattern buffer"));
        }

        r = ctl_call_manager(ctl, "Export", &error, &reply, "hs", fd, uuid.str);
        if (r >= 0)
                r = sd_bus_message_read(reply, "so", &uuid_out, &path);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot export %s"), uuid.str);

        if (ctl->json)
                ctl_json_print_new_object(ctl, uuid_out, path, size);
        else if (ctl->quiet)
                printf("%s\n", uuid_out);
        else
                printf(_("Exported %s (%llu bytes) as %s.\n"), uuid_out, (unsigned long long) size,
                       path);
        fflush(stdout);

        if (ctl->detach)
                return ctl_disown_object(ctl, uuid_out);
        /* The buffer stays alive in the service; our copy is not needed. */
        fd_close_safe(&fd);
        return ctl_hold_object(ctl, uuid_out);
}

/* The buffer's size: memfds have one in fstat, dma-bufs answer SEEK_END. */
static int64_t buffer_size(int fd)
{
        struct stat st;
        off_t end;

        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
                return st.st_size;
        end = lseek(fd, 0, SEEK_END);
        return end < 0 ? -errno : end;
}

/* Writes size bytes of fd to out: pread where it works (memfd), a read-only
 * mapping where not (a dma-buf has no read()). */
static int copy_buffer(int fd, uint64_t size, int out)
{
        char buf[65536];
        uint64_t off = 0;
        void *map;
        int r;

        while (off < size) {
                ssize_t n = pread(fd, buf, MIN(sizeof(buf), size - off), (off_t) off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && off == 0 && (errno == EINVAL || errno == ESPIPE))
                        break;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                r = write_all(out, buf, (size_t) n);
                if (r < 0)
                        return r;
                off += (uint64_t) n;
        }
        if (off == size)
                return 0;
        map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        r = write_all(out, map, size);
        munmap(map, size);
        return r;
}

/* The lookup line of --json: identity, size, kind, and the verdict of
 * --verify (verified < 0: not asked). */
static void print_lookup_json(const Ctl *ctl, const CtlUuid *uuid, int64_t size,
                              const struct stat *st, const char *kind, int verified)
{
        g_autoptr(JsonObject) o = json_object_new();
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
        g_autofree char *dev = g_strdup_printf("%u:%u", major(st->st_dev), minor(st->st_dev));

        json_object_set_string_member(o, "uuid", uuid->str);
        json_object_set_int_member(o, "size", size);
        json_object_set_string_member(o, "dev", dev);
        json_object_set_int_member(o, "ino", (gint64) st->st_ino);
        json_object_set_string_member(o, "kind", kind);
        if (verified >= 0)
                json_object_set_boolean_member(o, "verified", verified);
        json_node_set_object(node, o);
        ctl_json_print(ctl, node);
}

/* lookup --output: the buffer's bytes to a file, or to stdout for "-". */
static int write_output(Ctl *ctl, const CtlUuid *uuid, int fd, uint64_t size)
{
        _cleanup_close_ int out = -1;
        int r;

        out = strcmp(ctl->output, "-") == 0
                  ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
                  : open(ctl->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
                fprintf(stderr, _("%s: cannot open %s: %s\n"), program_invocation_short_name,
                        ctl->output, strerror(errno));
                return CTL_EXIT_FAILURE;
        }
        fflush(stdout);
        r = copy_buffer(fd, size, out);
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot copy %s to %s"), uuid->str, ctl->output);
        return CTL_EXIT_OK;
}

int verb_lookup(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -1;
        const char *kind;
        struct stat st;
        CtlUuid uuid;
        int64_t size;
        int in_fd, r, verified = -1;
        /* -q without --json (the JSON is the result), or stdout has the bytes */
        bool quiet = (ctl->quiet && !ctl->json) || (ctl->output && strcmp(ctl->output, "-") == 0);

        r = ctl_parse_uuid_arg(argv[1], &uuid);
        if (r != CTL_EXIT_OK)
                return r;
        r = ctl_call_manager(ctl, "Lookup", &error, &reply, "s", uuid.str);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &in_fd);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot look up %s"), uuid.str);
        /* The message owns in_fd. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || fstat(fd, &st) < 0)
                return ctl_bus_error(NULL, -errno, _("cannot use the received descriptor"));
        size = buffer_size(fd);
        if (size < 0)
                return ctl_bus_error(NULL, (int) size, _("cannot tell the buffer's size"));
        kind = fd_is_dmabuf(fd) == 1 ? "dma-buf" : fd_is_memfd(fd) == 1 ? "memfd" : "other";

        if (ctl->output) {
                r = write_output(ctl, &uuid, fd, (uint64_t) size);
                if (r != CTL_EXIT_OK)
                        return r;
        }
        if (ctl->verify) {
                r = memfd_verify_pattern(fd, (size_t) size, buffer_pattern_seed(uuid.bytes));
                if (r < 0 && r != -EBADMSG)
                        return ctl_bus_error(NULL, r, _("cannot read %s"), uuid.str);
                verified = r == 0;
        }

        if (!quiet && ctl->json)
                print_lookup_json(ctl, &uuid, size, &st, kind, verified);
        else if (!quiet) {
                printf(_("%s: %lld bytes, %s, inode %u:%u:%llu\n"), uuid.str, (long long) size,
                       kind, major(st.st_dev), minor(st.st_dev), (unsigned long long) st.st_ino);
                if (verified == 1)
                        printf(_("%s: the content is the expected pattern\n"), uuid.str);
        }
        if (verified == 0) {
                fprintf(stderr, _("%s: %s does not hold the expected pattern\n"),
                        program_invocation_short_name, uuid.str);
                return CTL_EXIT_VERIFY;
        }
        return CTL_EXIT_OK;
}

int verb_remove(Ctl *ctl, int argc, char **argv)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        CtlUuid uuid;
        int r;

        r = ctl_parse_uuid_arg(argv[1], &uuid);
        if (r != CTL_EXIT_OK)
                return r;
        r = ctl_call_manager(ctl, "Remove", &error, NULL, "s", uuid.str);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot remove %s"), uuid.str);
        if (ctl_chatty(ctl))
                printf(_("Removed %s.\n"), uuid.str);
        return CTL_EXIT_OK;
}
