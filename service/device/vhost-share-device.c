/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-share-device: a small vhost-user back-end that shares buffers. It
 * exports sealed memfds filled with a known pattern (SHARED_OBJECT_ADD, then
 * answers GET_SHARED_OBJECT), imports by UUID (SHARED_OBJECT_LOOKUP) and
 * verifies the pattern, removes, and prints one line per thing it did, for
 * people and for tests:
 *   READY | EXPORTED uuid size dev:ino | EXPORT-REFUSED uuid reason |
 *   ASKED uuid (GET_SHARED_OBJECT arrived) | SERVED uuid | NOT-SERVED uuid |
 *   IMPORTED uuid dev:ino pattern-ok|pattern-bad |
 *   IMPORT-FAILED uuid reason | REMOVED uuid | REMOVE-REFUSED uuid reason |
 *   DELAY ms | DONE | DISCONNECTED reason
 * uuid is "-" in ASKED / NOT-SERVED when the request carried none (QEMU 10.x).
 * --mode makes it send and answer as libvhost-user or rust-vmm back-ends
 * do (device.h, device-get.c). */

#include <errno.h>
#include <glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "config.h"
#include "device.h"
#include "fd-util.h"
#include "log.h"
#include "buffer-pattern.h"
#include "size-parse.h"
#include "uuid-util.h"

static int device_mode_from_string(const char *s, DeviceMode *ret)
{
        static const char *const names[] = {
            [DEVICE_MODE_PLAIN] = "plain",
            [DEVICE_MODE_LIBVHOST_USER] = "libvhost-user",
            [DEVICE_MODE_RUST_VMM] = "rust-vmm",
        };

        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
                if (g_strcmp0(s ? s : "plain", names[i]) == 0) {
                        *ret = (DeviceMode) i;
                        return 0;
                }
        return -EINVAL;
}

static void device_maybe_done(Device *d)
{
        if (d->outstanding > 0 || d->done || !d->started)
                return;
        d->done = true;
        say("DONE");
        if (d->exit_when_done)
                sd_event_exit(d->event, d->exit_code);
}

/* ---- exporting, importing, removing ---- */

typedef struct {
        Device *device;
        uint8_t uuid[16];
} Op;

static Op *op_new(Device *d, const uint8_t *uuid)
{
        Op *op = g_new0(Op, 1);

        op->device = d;
        memcpy(op->uuid, uuid, 16);
        d->outstanding++;
        return op;
}

static void op_finish(Op *op)
{
        Device *d = op->device;

        d->outstanding--;
        g_free(op);
        device_maybe_done(d);
}

static const char *result_text(int64_t result)
{
        return result > 0 ? "refused by the front-end" : strerror((int) -result);
}

static void device_on_add_ack(VuBackend *b, int64_t result, void *userdata)
{
        Op *op = userdata;
        Export *x = device_find_export(op->device, op->uuid);
        char ustr[SHARE_UUID_STR_LEN];
        struct stat st;

        share_uuid_to_string(op->uuid, ustr);
        if (result == 0 && x && fstat(x->fd, &st) == 0)
                say("EXPORTED %s %zu %llu:%llu", ustr, x->size, (unsigned long long) st.st_dev,
                    (unsigned long long) st.st_ino);
        else
                say("EXPORT-REFUSED %s %s", ustr, result_text(result));
        op_finish(op);
}

static int device_export(Device *d, const uint8_t *uuid)
{
        char ustr[SHARE_UUID_STR_LEN];
        Export x = {.size = (size_t) d->size};
        int r;

        memcpy(x.uuid, uuid, 16);
        share_uuid_to_string(uuid, ustr);
        r = d->plain_memfd
                /* No seals: what test rigs of the libraries export. The
                 * service refuses it unless AcceptedBuffers= has "memfd". */
                ? memfd_new_pattern(ustr, x.size, buffer_pattern_seed(uuid), 0, &x.fd)
                : memfd_new_sealed_pattern(ustr, x.size, buffer_pattern_seed(uuid), &x.fd);
        if (r < 0)
                return log_error_errno(r, "cannot make the buffer for %s: %m", ustr);
        g_array_append_val(d->exports, x);
        r = vu_backend_add(d->backend, uuid, device_on_add_ack, op_new(d, uuid));
        if (r < 0) {
                say("EXPORT-REFUSED %s %s", ustr, strerror(-r));
                d->outstanding--;
        }
        return r;
}

static void device_on_lookup(VuBackend *b, int fd, int error, void *userdata)
{
        Op *op = userdata;
        char ustr[SHARE_UUID_STR_LEN];
        struct stat st;

        share_uuid_to_string(op->uuid, ustr);
        if (fd < 0) {
                say("IMPORT-FAILED %s %s", ustr, strerror(-error));
                op->device->exit_code = 1;
        } else {
                bool ok =
                    fstat(fd, &st) == 0 && memfd_verify_pattern(fd, (size_t) st.st_size,
                                                                buffer_pattern_seed(op->uuid)) == 0;
                say("IMPORTED %s %llu:%llu %s", ustr, (unsigned long long) st.st_dev,
                    (unsigned long long) st.st_ino, ok ? "pattern-ok" : "pattern-bad");
                if (!ok)
                        op->device->exit_code = 1;
                close(fd);
        }
        device_unblock(op->device);
        op_finish(op);
}

static int device_import(Device *d, const uint8_t *uuid)
{
        Op *op = op_new(d, uuid);
        int r, attached;

        if (d->mode == DEVICE_MODE_LIBVHOST_USER)
                d->lookups_waiting++;
        if (d->mode == DEVICE_MODE_RUST_VMM) {
                /* rust-vmm's lookup takes an fd and sends it along; any will do. */
                attached = eventfd(0, EFD_CLOEXEC);
                r = attached < 0 ? -errno
                                 : vu_backend_lookup_with_fd(d->backend, uuid, attached,
                                                             device_on_lookup, op);
        } else {
                r = vu_backend_lookup(d->backend, uuid, device_on_lookup, op);
        }
        if (r < 0)
                device_on_lookup(d->backend, -1, r, op);
        return r;
}

static void device_on_remove_ack(VuBackend *b, int64_t result, void *userdata)
{
        Op *op = userdata;
        char ustr[SHARE_UUID_STR_LEN];

        share_uuid_to_string(op->uuid, ustr);
        if (result == 0)
                say("REMOVED %s", ustr);
        else
                say("REMOVE-REFUSED %s %s", ustr, result_text(result));
        op_finish(op);
}

static int device_remove(Device *d, const uint8_t *uuid)
{
        Op *op = op_new(d, uuid);
        int r = vu_backend_remove(d->backend, uuid, device_on_remove_ack, op);

        if (r < 0)
                device_on_remove_ack(d->backend, r, op);
        return r;
}

static int device_run_plan(Device *d)
{
        uint8_t uuid[16];

        for (int i = 0; i < d->n_export; i++) {
                if (d->want_uuids && d->want_uuids[i]) {
                        if (share_uuid_from_string(d->want_uuids[i], uuid) < 0)
                                return log_error_errno(-EINVAL, "--uuid %s is not a UUID: %m",
                                                       d->want_uuids[i]);
                } else {
                        uuid_generate_random(uuid);
                }
                device_export(d, uuid);
        }
        for (guint i = 0; i < d->import_uuids->len; i++) {
                if (share_uuid_from_string(g_ptr_array_index(d->import_uuids, i), uuid) < 0) {
                        say("IMPORT-FAILED %s invalid UUID",
                            (char *) g_ptr_array_index(d->import_uuids, i));
                        d->exit_code = 1;
                        continue;
                }
                device_import(d, uuid);
        }
        if (d->remove)
                for (guint i = 0; i < d->exports->len; i++)
                        device_remove(d, g_array_index(d->exports, Export, i).uuid);
        return 0;
}

static void device_on_change(VuBackend *b, void *userdata)
{
        Device *d = userdata;

        if (d->started || !vu_backend_has_channel(b))
                return;
        d->started = true;
        say("READY");
        if (device_run_plan(d) < 0)
                sd_event_exit(d->event, 1);
        device_maybe_done(d);
}

static void device_on_fail(VuBackend *b, int error, const char *reason, void *userdata)
{
        Device *d = userdata;

        say("DISCONNECTED %s", reason);
        sd_event_exit(d->event, d->done ? d->exit_code : 1);
}

/* ---- commands on stdin: "export [UUID]", "import UUID", "remove UUID" ---- */

static void device_run_command(Device *d, char *line)
{
        uint8_t uuid[16];

        g_strstrip(line);
        g_auto(GStrv) w = g_strsplit(line, " ", 2);
        if (!w[0] || !*w[0])
                return;
        if (!d->backend || !d->started) {
                say("ERROR not connected");
                return;
        }
        d->done = false;
        if (g_str_equal(w[0], "quit")) {
                d->exit_when_done = TRUE; /* after what is still under way */
        } else if (g_str_equal(w[0], "delay") && w[1]) {
                d->get_delay_ms = atoi(w[1]);
                say("DELAY %d", d->get_delay_ms);
        } else if (g_str_equal(w[0], "export")) {
                if (w[1] ? share_uuid_from_string(w[1], uuid) < 0 : (uuid_generate_random(uuid), 0))
                        say("ERROR bad UUID");
                else
                        device_export(d, uuid);
        } else if ((g_str_equal(w[0], "import") || g_str_equal(w[0], "remove")) && w[1] &&
                   share_uuid_from_string(w[1], uuid) == 0) {
                if (w[0][0] == 'i')
                        device_import(d, uuid);
                else
                        device_remove(d, uuid);
        } else {
                say("ERROR unknown command: %s", line);
        }
        device_maybe_done(d);
}

/* stdin is read with read(2), not stdio: several commands may arrive in one
 * write, and a stdio buffer would hide the later ones from epoll. */
static int device_on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Device *d = userdata;
        char buf[1024];
        ssize_t n = read(fd, buf, sizeof(buf));
        char *nl;
        int r;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                r = sd_event_source_set_enabled(s, SD_EVENT_OFF);
                if (r < 0)
                        return log_error_errno(r, "Failed to stop watching stdin: %m");
                return 0;
        }
        g_string_append_len(d->input, buf, n);
        while ((nl = memchr(d->input->str, '\n', d->input->len))) {
                g_autofree char *line = g_strndup(d->input->str, nl - d->input->str);
                g_string_erase(d->input, 0, nl - d->input->str + 1);
                device_run_command(d, line);
        }
        if (d->input->len > 4096) {
                say("ERROR command line too long");
                g_string_truncate(d->input, 0);
        }
        return 0;
}

/* ---- connections ---- */

static int device_attach(Device *d, int fd)
{
        VuBackendOps ops = {
            .protocol_features = VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |
                                 VU_BIT(VU_PF_BACKEND_SEND_FD) | VU_BIT(VU_PF_SHARED_OBJECT),
            .queues = 1,
            .reply_timeout_usec = 10 * 1000 * 1000,
            .get_shared_object = device_get_shared_object,
            .on_change = device_on_change,
            .on_fail = device_on_fail,
        };

        /* libvhost-user offers MQ (and answers GET_QUEUE_NUM) by default. */
        if (d->mode == DEVICE_MODE_LIBVHOST_USER)
                ops.protocol_features |= VU_BIT(VU_PF_MQ);
        ops.announce_without_reply = d->mode == DEVICE_MODE_LIBVHOST_USER;
        ops.get_answer_empty = d->mode == DEVICE_MODE_RUST_VMM;
        if (d->no_shared_object)
                ops.protocol_features &= ~VU_BIT(VU_PF_SHARED_OBJECT);
        if (d->no_reply_ack)
                ops.protocol_features &= ~VU_BIT(VU_PF_REPLY_ACK);
        return vu_backend_new(d->event, fd, &ops, "device", d, &d->backend);
}

static int device_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Device *d = userdata;
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (cfd < 0 || d->backend) /* one front-end at a time */
                return 0;
        if (device_attach(d, cfd) < 0)
                sd_event_exit(d->event, 1);
        else
                cfd = -1; /* the back-end's now */
        return 0;
}

static int socket_address(const char *path, struct sockaddr_un *sa)
{
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        strcpy(sa->sun_path, path);
        return 0;
}

static int device_listen(Device *d, const char *path)
{
        struct sockaddr_un sa;
        int r = socket_address(path, &sa);

        if (r < 0)
                return log_error_errno(r, "socket path %s: %m", path);
        d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void) unlink(path);
        if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            listen(d->listen_fd, 4) < 0)
                return log_error_errno(-errno, "cannot listen on %s: %m", path);
        r = sd_event_add_io(d->event, &d->listen_io, d->listen_fd, EPOLLIN, device_on_accept, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", path);
        return 0;
}

static int device_connect(Device *d, const char *path)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        int r = socket_address(path, &sa);

        if (r < 0)
                return log_error_errno(r, "socket path %s: %m", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(-errno, "cannot connect to %s: %m", path);
        r = device_attach(d, fd);
        if (r < 0)
                return log_error_errno(r, "Failed to start the back-end: %m");
        fd = -1; /* the back-end's now */
        return 0;
}

/* SIGTERM and SIGINT end the loop; with --commands, stdin feeds it. */
static int device_setup_event(Device *d)
{
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m");
        r = sd_event_add_signal(d->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM and SIGINT: %m");
        if (d->commands) {
                r = sd_event_add_io(d->event, NULL, STDIN_FILENO, EPOLLIN, device_on_stdin, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch stdin for commands: %m");
        }
        return 0;
}

/* Returns the exit code. */
static int device_run(Device *d, const char *listen_path, const char *connect_path)
{
        int r = device_setup_event(d);

        if (r < 0)
                return 1;
        r = listen_path ? device_listen(d, listen_path) : device_connect(d, connect_path);
        if (r < 0)
                return 1;
        if (listen_path)
                say("LISTENING %s", listen_path);
        r = sd_event_loop(d->event);
        return r < 0 ? 1 : r;
}

static void device_clear(Device *d, const char *listen_path)
{
        vu_backend_free(d->backend);
        d->backend = NULL;
        for (guint i = 0; i < d->exports->len; i++)
                close(g_array_index(d->exports, Export, i).fd);
        g_array_free(d->exports, true);
        g_ptr_array_free(d->import_uuids, true);
        g_string_free(d->input, true);
        g_strfreev(d->want_uuids);
        device_drop_held_gets(d);
        sd_event_source_disable_unref(d->listen_io);
        if (d->listen_fd >= 0) {
                close(d->listen_fd);
                unlink(listen_path);
        }
        sd_event_unref(d->event);
}

/* The largest buffer the device makes: it is a sample, not a stress tool. */
#define DEVICE_MAX_SIZE (UINT64_C(1) << 30)

/* --size: the shared rule for sizes (size-parse.h), then our bounds. */
static gboolean parse_size_option(const char *name, const char *value, gpointer data,
                                  GError **error)
{
        Device *d = data;
        uint64_t size;
        int r;

        r = size_parse(value, &size);
        if (r == -ERANGE || (r == 0 && size > DEVICE_MAX_SIZE)) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "size \"%s\" is too large (at most 1 GiB)", value);
                return FALSE;
        }
        if (r < 0) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "invalid size \"%s\" (bytes, or a number with K, M or G)", value);
                return FALSE;
        }
        if (size == 0) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "size \"%s\": a buffer needs at least 1 byte", value);
                return FALSE;
        }
        d->size = size;
        return TRUE;
}

/* A flag: --NAME sets *var. */
#define OPTION_FLAG(name, var, help)                                                               \
        {                                                                                          \
                name, 0, 0, G_OPTION_ARG_NONE, var, help, NULL                                     \
        }

int main(int argc, char **argv)
{
        g_autofree char *listen_path = NULL, *connect_path = NULL, *mode = NULL;
        g_auto(GStrv) imports = NULL;
        Device d = {.listen_fd = -1, .size = 4096};
        gboolean version = FALSE, verbose = FALSE;
        GOptionEntry entries[] = {
            {"listen", 0, 0, G_OPTION_ARG_FILENAME, &listen_path,
             "Listen at PATH for a front-end (vhost-shared --connect)", "PATH"},
            {"connect", 0, 0, G_OPTION_ARG_FILENAME, &connect_path,
             "Connect to a front-end listening at PATH (vhost-shared --accept)", "PATH"},
            {"export", 0, 0, G_OPTION_ARG_INT, &d.n_export, "Export N buffers", "N"},
            {"uuid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &d.want_uuids,
             "UUID of the next exported buffer (repeatable; default random)", "UUID"},
            {"size", 0, 0, G_OPTION_ARG_CALLBACK, parse_size_option,
             "Size of each buffer: bytes, or with K, M, G (powers of 1024; default 4096, at most "
             "1G)",
             "SIZE"},
            {"import", 0, 0, G_OPTION_ARG_STRING_ARRAY, &imports,
             "Look up UUID and verify its pattern (repeatable)", "UUID"},
            OPTION_FLAG("remove", &d.remove, "Remove the exported buffers after the imports"),
            OPTION_FLAG("exit-when-done", &d.exit_when_done,
                        "Exit once everything asked for is done"),
            OPTION_FLAG("commands", &d.commands,
                        "Read commands from stdin: export [UUID], import UUID, remove UUID, quit "
                        "(once the earlier ones are done)"),
            {"get-delay-ms", 0, 0, G_OPTION_ARG_INT, &d.get_delay_ms,
             "Answer GET_SHARED_OBJECT after MS milliseconds", "MS"},
            OPTION_FLAG("no-answer", &d.no_answer,
                        "Never answer GET_SHARED_OBJECT (to test a front-end's deadline)"),
            OPTION_FLAG("no-shared-object", &d.no_shared_object,
                        "Do not offer the SHARED_OBJECT protocol feature"),
            OPTION_FLAG("no-reply-ack", &d.no_reply_ack,
                        "Do not offer REPLY_ACK (ADD and REMOVE go unacknowledged, as in "
                        "libvhost-user)"),
            {"mode", 0, 0, G_OPTION_ARG_STRING, &mode,
             "Behave like a back-end built on LIBRARY: plain (default), libvhost-user or "
             "rust-vmm",
             "LIBRARY"},
            OPTION_FLAG("plain-memfd", &d.plain_memfd,
                        "Export plain memfds, without seals (as test rigs of the libraries do)"),
            OPTION_FLAG("answer-without-uuid", &d.answer_without_uuid,
                        "Answer GET_SHARED_OBJECT without a UUID (QEMU 10.x sends those) with the "
                        "first exported buffer"),
            {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
            {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
            {NULL},
        };
        g_autoptr(GOptionContext) ctx =
            g_option_context_new("- a vhost-user back-end that shares buffers");
        g_autoptr(GError) error = NULL;
        GOptionGroup *group;
        int r;

        setlocale(LC_ALL, "");
        group = g_option_group_new(NULL, NULL, NULL, &d, NULL);
        g_option_group_add_entries(group, entries);
        g_option_context_set_main_group(ctx, group);
        if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
                fprintf(stderr, "vhost-share-device: %s\n", error->message);
                return 2;
        }
        if (version) {
                printf("vhost-share-device %s\n", PACKAGE_VERSION);
                return 0;
        }
        if (!listen_path == !connect_path || d.n_export < 0) {
                fprintf(stderr, "vhost-share-device: give exactly one of --listen and --connect\n");
                return 2;
        }
        if (verbose)
                log_set_max_level(LOG_DEBUG);
        signal(SIGPIPE, SIG_IGN);
        if (device_mode_from_string(mode, &d.mode) < 0) {
                fprintf(stderr, "vhost-share-device: --mode must be plain, libvhost-user or "
                                "rust-vmm\n");
                return 2;
        }
        d.exports = g_array_new(false, true, sizeof(Export));
        d.import_uuids = g_ptr_array_new();
        d.input = g_string_new(NULL);
        for (char **p = imports; p && *p; p++)
                g_ptr_array_add(d.import_uuids, *p);

        r = device_run(&d, listen_path, connect_path);
        device_clear(&d, listen_path);
        return r;
}
