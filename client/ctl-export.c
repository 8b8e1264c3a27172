/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl export, lookup, remove: putting buffers into the table,
 * getting them out, taking them away. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <systemd/sd-event.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "ctl.h"
#include "buffer-pattern.h"
#include "fd-util.h"

static void message_unrefp(sd_bus_message **m)
{
        sd_bus_message_unref(*m);
}
#define _cleanup_message_ __attribute__((cleanup(message_unrefp)))

/* A fresh random UUID, never nil or max. */
static void new_uuid(char out[37])
{
        uuid_t u;

        do
                uuid_generate_random(u);
        while (uuid_is_null(u) || (u[0] == 0xff && u[7] == 0xff && u[15] == 0xff));
        uuid_unparse_lower(u, out);
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

/* Copies path's contents (- for standard input) into a memfd sealed against
 * resizing and writing. Prints why not. */
static int file_to_sealed_memfd(const char *path, int *ret_fd, uint64_t *ret_size)
{
        _cleanup_close_ int in = -1, fd = -1;
        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *name = g_strconcat("vhost-sharectl:", base, NULL);
        char buf[65536];
        uint64_t size = 0;
        ssize_t n;
        int r;

        in = strcmp(path, "-") == 0 ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                                    : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0) {
                fprintf(stderr, _("%s: cannot open %s: %s\n"), program_invocation_short_name, path,
                        strerror(errno));
                return errno == ENOENT ? CTL_EXIT_NOT_FOUND : CTL_EXIT_FAILURE;
        }
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
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return ctl_bus_error(NULL, -errno, _("cannot seal the memfd"));
        *ret_fd = g_steal_fd(&fd);
        *ret_size = size;
        return CTL_EXIT_OK;
}

static int call_remove(Ctl *ctl, const char *uuid, sd_bus_error *error)
{
        return sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                                  "Remove", error, NULL, "s", uuid);
}

typedef struct {
        Ctl *ctl;
        const char *uuid;
        sd_event *event;
        bool removed_elsewhere;
        bool service_gone;
        int exit_code;
} Hold;

static int on_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Hold *h = userdata;
        const char *uuid, *path;

        if (sd_bus_message_read(msg, "so", &uuid, &path) >= 0 && strcmp(uuid, h->uuid) == 0) {
                h->removed_elsewhere = true;
                sd_event_exit(h->event, 0);
        }
        return 0;
}

/* The service stopped: the object went with it. */
static int on_service_gone(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Hold *h = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) >= 0 && !*new_owner) {
                h->service_gone = true;
                sd_event_exit(h->event, 0);
        }
        return 0;
}

/* Removes the object while the loop still runs: when sd-event exits,
 * sd-bus closes the connection attached to it. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Hold *h = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = call_remove(h->ctl, h->uuid, &error);
        if (r < 0 && !sd_bus_error_has_name(&error, CTL_ERROR_PREFIX "NotFound")) {
                g_autofree char *what = g_strdup_printf(_("cannot remove %s"), h->uuid);

                h->exit_code = ctl_bus_error(&error, r, what);
        } else if (!h->ctl->json)
                printf(_("Removed %s.\n"), h->uuid);
        sd_bus_error_free(&error);
        sd_event_exit(h->event, 0);
        return 0;
}

int ctl_hold_object(Ctl *ctl, const char *uuid)
{
        g_autofree char *rule =
            g_strdup_printf("type='signal',sender='" CTL_BUS_NAME "',path='" CTL_MANAGER_PATH
                            "',interface='" CTL_MANAGER_INTERFACE "',member='Removed',arg0='%s'",
                            uuid);
        Hold h = {.ctl = ctl, .uuid = uuid, .exit_code = CTL_EXIT_OK};
        _cleanup_message_ sd_bus_message *reply = NULL;
        int has_owner = 0;
        int r;

        r = ctl_event_new(ctl, on_signal, &h, &h.event);
        if (r >= 0)
                r = sd_bus_add_match(ctl->bus, NULL, rule, on_removed, &h);
        if (r >= 0)
                r = sd_bus_add_match(
                    ctl->bus, NULL,
                    "type='signal',sender='org.freedesktop.DBus',"
                    "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                    "member='NameOwnerChanged',arg0='" CTL_BUS_NAME "'",
                    on_service_gone, &h);
        if (r >= 0) {
                /* It may have stopped before the match was in place. */
                r = sd_bus_call_method(ctl->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
                                       CTL_BUS_NAME);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has_owner);
                if (r >= 0 && !has_owner) {
                        h.service_gone = true;
                        r = 0;
                } else if (r >= 0) {
                        /* Scripts may rely on it: from now on nothing is missed. */
                        if (!ctl->json)
                                printf(_("Holding it until interrupted (Ctrl-C).\n"));
                        fflush(stdout);
                        r = sd_event_loop(h.event);
                }
        }
        sd_bus_detach_event(ctl->bus);
        sd_event_unref(h.event);

        if (r != 0) {
                fprintf(stderr, _("%s: lost the bus connection while holding %s\n"),
                        program_invocation_short_name, uuid);
                return CTL_EXIT_NO_SERVICE;
        }
        if (h.service_gone) {
                fprintf(stderr, _("%s: the service stopped; %s is gone\n"),
                        program_invocation_short_name, uuid);
                return CTL_EXIT_NO_SERVICE;
        }
        if (h.removed_elsewhere)
                fprintf(stderr, _("%s: %s was removed by someone else\n"),
                        program_invocation_short_name, uuid);
        return h.exit_code;
}

int ctl_disown_object(Ctl *ctl, const char *uuid)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                               "Disown", &error, NULL, "s", uuid);
        if (r < 0) {
                g_autofree char *what =
                    g_strdup_printf(_("cannot hand %s over to the service"), uuid);

                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        if (!ctl->json)
                printf(_("Handed %s over to the service.\n"), uuid);
        return CTL_EXIT_OK;
}

int verb_export(Ctl *ctl, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -1;
        const char *file = argc > 1 ? argv[1] : NULL, *uuid_out, *path;
        char uuid[37];
        uint64_t size = 0;
        int r;

        if (!!file == ctl->size_set)
                return ctl_usage_error(_("export needs either a FILE or --size=SIZE"));
        if (ctl->uuid && !ctl_parse_uuid(ctl->uuid, uuid))
                return ctl_usage_error(_("\"%s\" is not a UUID"), ctl->uuid);
        if (!ctl->uuid)
                /* Ours, not the service's: the pattern's seed comes from it. */
                new_uuid(uuid);

        if (file) {
                r = file_to_sealed_memfd(file, &fd, &size);
                if (r != CTL_EXIT_OK)
                        return r;
        } else {
                size = ctl->size;
                r = memfd_new_sealed_pattern("vhost-sharectl", size, ctl_uuid_pattern_seed(uuid),
                                             &fd);
                if (r < 0)
                        return ctl_bus_error(NULL, r, _("cannot create the pattern buffer"));
        }

        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                               "Export", &error, &reply, "hs", fd, uuid);
        if (r >= 0)
                r = sd_bus_message_read(reply, "so", &uuid_out, &path);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf(_("cannot export %s"), uuid);

                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }

        if (ctl->json)
                ctl_json_print_new_object(uuid_out, path, size);
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

int verb_lookup(Ctl *ctl, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -1;
        const char *kind;
        struct stat st;
        char uuid[37];
        int64_t size;
        int in_fd, r, verified = -1;
        bool quiet = ctl->output && strcmp(ctl->output, "-") == 0; /* stdout has the bytes */

        if (!ctl_parse_uuid(argv[1], uuid))
                return ctl_usage_error(_("\"%s\" is not a UUID"), argv[1]);
        r = sd_bus_call_method(ctl->bus, CTL_BUS_NAME, CTL_MANAGER_PATH, CTL_MANAGER_INTERFACE,
                               "Lookup", &error, &reply, "s", uuid);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &in_fd);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf(_("cannot look up %s"), uuid);

                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        /* The message owns in_fd. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || fstat(fd, &st) < 0)
                return ctl_bus_error(NULL, -errno, _("cannot use the received descriptor"));
        size = buffer_size(fd);
        if (size < 0)
                return ctl_bus_error(NULL, (int) size, _("cannot tell the buffer's size"));
        kind = fd_is_dmabuf(fd) == 1 ? "dma-buf" : fd_is_memfd(fd) == 1 ? "memfd" : "other";

        if (ctl->output) {
                _cleanup_close_ int out = -1;
                bool to_stdout = strcmp(ctl->output, "-") == 0;

                out = to_stdout ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
                                : open(ctl->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (out < 0) {
                        fprintf(stderr, _("%s: cannot open %s: %s\n"),
                                program_invocation_short_name, ctl->output, strerror(errno));
                        return CTL_EXIT_FAILURE;
                }
                fflush(stdout);
                r = copy_buffer(fd, (uint64_t) size, out);
                if (r < 0) {
                        g_autofree char *what =
                            g_strdup_printf(_("cannot copy %s to %s"), uuid, ctl->output);

                        return ctl_bus_error(NULL, r, what);
                }
        }
        if (ctl->verify) {
                r = memfd_verify_pattern(fd, (size_t) size, ctl_uuid_pattern_seed(uuid));
                if (r < 0 && r != -EBADMSG) {
                        g_autofree char *what = g_strdup_printf(_("cannot read %s"), uuid);

                        return ctl_bus_error(NULL, r, what);
                }
                verified = r == 0;
        }

        if (!quiet && ctl->json) {
                g_autoptr(GString) out = g_string_new("{\"uuid\": ");

                ctl_json_string(out, uuid);
                g_string_append_printf(
                    out,
                    ", \"size\": %" PRIi64 ", \"dev\": \"%u:%u\", \"ino\": %" PRIu64
                    ", \"kind\": \"%s\"",
                    size, major(st.st_dev), minor(st.st_dev), (uint64_t) st.st_ino, kind);
                if (verified >= 0)
                        g_string_append_printf(out, ", \"verified\": %s",
                                               verified ? "true" : "false");
                g_string_append_c(out, '}');
                puts(out->str);
        } else if (!quiet) {
                printf(_("%s: %lld bytes, %s, inode %u:%u:%llu\n"), uuid, (long long) size, kind,
                       major(st.st_dev), minor(st.st_dev), (unsigned long long) st.st_ino);
                if (verified == 1)
                        printf(_("%s: the content is the expected pattern\n"), uuid);
        }
        if (verified == 0) {
                fprintf(stderr, _("%s: %s does not hold the expected pattern\n"),
                        program_invocation_short_name, uuid);
                return CTL_EXIT_VERIFY;
        }
        return CTL_EXIT_OK;
}

int verb_remove(Ctl *ctl, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char uuid[37];
        int r;

        if (!ctl_parse_uuid(argv[1], uuid))
                return ctl_usage_error(_("\"%s\" is not a UUID"), argv[1]);
        r = call_remove(ctl, uuid, &error);
        if (r < 0) {
                g_autofree char *what = g_strdup_printf(_("cannot remove %s"), uuid);

                r = ctl_bus_error(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        printf(_("Removed %s.\n"), uuid);
        return CTL_EXIT_OK;
}
