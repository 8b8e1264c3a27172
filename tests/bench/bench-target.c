/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hub under test: either the core library's Service running on its own
 * thread and sd-event loop inside the bench (no process boundary, the
 * cleanest view of the hub's own cost), or the vhost-shared daemon, with
 * --no-bus or on a private dbus-daemon (what a deployment runs). Back-ends
 * reach all of them the same way, through the --accept socket. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bench.h"
#include "bus-manager.h"
#include "fd-util.h"
#include "service.h"

#define PREFILL_WHO 0xfff00000u
#define PREFILL_CHUNK 1000

struct Target {
        TargetKind kind;
        char *dir;
        char *socket_path;
        char *serve_path;

        /* TARGET_IN_PROCESS: the loop thread and its control socket. */
        pthread_t tid;
        int ctl[2]; /* [0] the bench's end, [1] the loop's */
        sd_event *event;
        Service *service;
        ShareOwner holder; /* owner of the buffers the service holds */
        ServiceConfig config;

        BenchChild child; /* TARGET_PROCESS */
        BenchBus bus;     /* with TargetOptions.bus */
        sd_bus *client;   /* the bench's connection to it */

        WireServant *servant;
        WireBackend prefill;
        bool prefill_connected;
        unsigned prefilled;
};

/* ---- in process: calls into the loop thread ---- */

typedef struct {
        int (*fn)(Target *t, void *arg);
        void *arg;
        int result;
} TargetCall;

static int loop_on_ctl(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Target *t = userdata;
        TargetCall *call = NULL;

        if (read(fd, &call, sizeof(call)) != sizeof(call) || !call)
                return sd_event_exit(t->event, 0);
        call->result = call->fn(t, call->arg);
        (void) !write(fd, "", 1);
        return 0;
}

/* Runs fn on the loop thread and waits for it. */
static int target_call(Target *t, int (*fn)(Target *t, void *arg), void *arg)
{
        TargetCall call = {.fn = fn, .arg = arg};
        TargetCall *p = &call;
        char done;

        if (write(t->ctl[0], &p, sizeof(p)) != sizeof(p) || read(t->ctl[0], &done, 1) != 1)
                return -EIO;
        return call.result;
}

static void *loop_thread(void *arg)
{
        Target *t = arg;
        int r;

        r = sd_event_new(&t->event);
        if (r >= 0)
                r = service_new(t->event, &t->config, &t->service);
        if (r >= 0)
                r = service_listen_backends(t->service, t->socket_path);
        if (r >= 0)
                r = sd_event_add_io(t->event, NULL, t->ctl[1], EPOLLIN, loop_on_ctl, t);
        (void) !write(t->ctl[1], &r, sizeof(r));
        if (r >= 0)
                sd_event_loop(t->event);
        /* The service goes first: freeing the table empties holder's list. */
        service_free(t->service);
        share_owner_clear(&t->holder);
        t->event = sd_event_unref(t->event);
        return NULL;
}

static int start_in_process(Target *t, const TargetOptions *o)
{
        int r;

        service_config_init_defaults(&t->config);
        t->config.max_objects_per_peer = 0; /* the prefill back-end holds them all */
        t->config.max_peers = 256;
        if (o && o->lookup_timeout_ms)
                t->config.lookup_timeout_usec = (uint64_t) o->lookup_timeout_ms * 1000;
        share_owner_init(&t->holder, SHARE_OWNER_SERVICE, "bench", getuid());
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t->ctl) < 0)
                return -errno;
        if (pthread_create(&t->tid, NULL, loop_thread, t) != 0)
                return -EAGAIN;
        if (read(t->ctl[0], &r, sizeof(r)) != sizeof(r))
                r = -EIO;
        return r;
}

/* ---- the daemon ---- */

static int wait_ready(int notify_fd, BenchChild *child)
{
        uint64_t deadline = bench_now_ns() + (uint64_t) BENCH_TIMEOUT_MS * 1000000u;
        char buf[512];

        while (bench_now_ns() < deadline) {
                struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};

                if (bench_child_exited(child))
                        return -ECHILD;
                if (poll(&pfd, 1, 100) == 1) {
                        ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
                        if (n > 0) {
                                buf[n] = '\0';
                                if (strstr(buf, "READY=1"))
                                        return 0;
                        }
                }
        }
        return -ETIMEDOUT;
}

static int start_process(Target *t, const Bench *b, const TargetOptions *o)
{
        g_autofree char *bus_arg = NULL;
        g_autofree char *conf = g_build_filename(t->dir, "vhost-shared.conf", NULL);
        g_autofree char *notify = g_build_filename(t->dir, "notify", NULL);
        g_autofree char *log = g_build_filename(t->dir, "service.log", NULL);
        g_autofree char *accept_arg = g_strdup_printf("--accept=%s", t->socket_path);
        g_autofree char *conf_arg = g_strdup_printf("--config=%s", conf);
        g_autofree char *text =
            g_strdup_printf("[Service]\nMaxObjectsPerPeer=0\nMaxPeers=256\n"
                            "LookupTimeoutMSec=%u\n",
                            o && o->lookup_timeout_ms ? o->lookup_timeout_ms : 1000);
        _cleanup_close_ int notify_fd = -1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        if (!g_file_set_contents(conf, text, -1, NULL))
                return -EIO;
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (notify_fd < 0 || strlen(notify) >= sizeof(sa.sun_path))
                return -EINVAL;
        strcpy(sa.sun_path, notify);
        if (bind(notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), "NOTIFY_SOCKET", notify, true);
        if (o && o->bus) {
                r = bench_bus_start(t->dir, &t->bus);
                if (r < 0)
                        return r;
                r = bench_bus_connect(t->bus.address, &t->client);
                if (r < 0)
                        return r;
                bus_arg = g_strdup_printf("--bus-address=%s", t->bus.address);
        }
        g_autofree char *serve_arg =
            o && o->serve ? g_strdup_printf("--serve=%s%s", t->serve_path,
                                            o->serve_reply_ack ? "" : ",reply-ack=no")
                          : NULL;
        char *argv[] = {
            b->service_path, bus_arg ? bus_arg : "--no-bus", accept_arg, conf_arg, serve_arg, NULL};
        r = bench_spawn(argv, envp, log, &t->child);
        if (r < 0)
                return r;
        r = wait_ready(notify_fd, &t->child);
        if (r < 0)
                progress("%s did not get ready (%s); its log: %s", b->service_path, g_strerror(-r),
                         log);
        return r;
}

/* ---- both ---- */

int target_start(const Bench *b, TargetKind kind, const TargetOptions *o, Target **ret)
{
        static unsigned seq;
        Target *t = g_new0(Target, 1);
        int r;

        t->kind = kind;
        t->ctl[0] = t->ctl[1] = t->child.pidfd = t->bus.child.pidfd = -1;
        t->dir = g_strdup_printf("%s/target%u", b->tmpdir, ++seq);
        if (g_mkdir_with_parents(t->dir, 0700) < 0) {
                g_free(t->dir);
                g_free(t);
                return -errno;
        }
        t->socket_path = g_build_filename(t->dir, "hub.sock", NULL);
        t->serve_path = g_build_filename(t->dir, "vmm.sock", NULL);
        wire_backend_init(&t->prefill, "prefill");
        r = kind == TARGET_IN_PROCESS ? start_in_process(t, o) : start_process(t, b, o);
        if (r >= 0)
                r = wire_servant_new(&t->servant);
        if (r < 0) {
                target_stop(t);
                return r;
        }
        *ret = t;
        return 0;
}

void target_stop(Target *t)
{
        if (!t)
                return;
        /* The service goes first: back-ends leaving before it would make it
         * purge (and, on a bus, announce) every object on the way out. */
        if (t->kind == TARGET_IN_PROCESS && t->ctl[0] >= 0) {
                TargetCall *stop = NULL;
                if (t->tid && write(t->ctl[0], &stop, sizeof(stop)) == sizeof(stop))
                        pthread_join(t->tid, NULL);
                close(t->ctl[0]);
                close(t->ctl[1]);
        }
        bench_child_stop(&t->child, SIGTERM);
        wire_servant_free(t->servant);
        wire_backend_close(&t->prefill);
        t->client = sd_bus_flush_close_unref(t->client);
        bench_bus_stop(&t->bus);
        g_free(t->socket_path);
        g_free(t->serve_path);
        g_free(t->dir);
        g_free(t);
}

const char *target_name(const Target *t)
{
        if (t->kind == TARGET_IN_PROCESS)
                return "hub in process";
        return t->client ? "vhost-shared on D-Bus" : "vhost-shared --no-bus";
}

const char *target_bus_address(const Target *t)
{
        return t->bus.address;
}

pid_t target_bus_pid(const Target *t)
{
        return t->bus.child.pid;
}

sd_bus *target_bus(Target *t)
{
        return t->client;
}

/* Waits until the daemon wrote out everything it queued for the bus: its
 * answer to a ping leaves after the signals queued before it. */
int target_sync(Target *t)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        if (!t->client)
                return 0;
        r = sd_bus_call_method(t->client, BUS_NAME, BUS_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                               "Ping", &error, &reply, "");
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

const char *target_socket(const Target *t)
{
        return t->socket_path;
}

const char *target_serve_socket(const Target *t)
{
        return t->serve_path;
}

pid_t target_pid(const Target *t)
{
        return t->kind == TARGET_IN_PROCESS ? getpid() : t->child.pid;
}

WireServant *target_servant(Target *t)
{
        return t->servant;
}

int target_connect(Target *t, WireBackend *w, const char *name)
{
        int r;

        wire_backend_init(w, name);
        r = wire_backend_connect(w, t->socket_path);
        if (r < 0)
                return r;
        wire_servant_add(t->servant, w);
        return wire_servant_wait_ready(t->servant, w, BENCH_TIMEOUT_MS);
}

int target_prefill(Target *t, unsigned n)
{
        uint8_t uuid[VU_UUID_SIZE];
        uint64_t ack = 1;
        int r;

        if (n <= t->prefilled)
                return 0;
        if (!t->prefill_connected) {
                r = target_connect(t, &t->prefill, "prefill");
                if (r < 0)
                        return r;
                t->prefill_connected = true;
        }
        /* Unacknowledged ADDs stream in, a chunk at a time; the chunk's last
         * ADD asks for the ack, which comes after the others were handled,
         * and a bus round trip waits until their signals left the daemon
         * (so that its queues stay small and its RSS means the table). */
        while (t->prefilled < n) {
                unsigned end = MIN(n, t->prefilled + PREFILL_CHUNK);

                for (unsigned i = t->prefilled; i + 1 < end; i++) {
                        bench_uuid(uuid, PREFILL_WHO, i);
                        r = wire_send(&t->prefill, VU_BREQ_SHARED_OBJECT_ADD, uuid, false);
                        if (r < 0)
                                return r;
                }
                bench_uuid(uuid, PREFILL_WHO, end - 1);
                r = wire_call(&t->prefill, VU_BREQ_SHARED_OBJECT_ADD, uuid, true, &ack, NULL);
                if (r < 0)
                        return r;
                if (ack != 0)
                        return -EEXIST;
                r = target_sync(t);
                if (r < 0)
                        return r;
                t->prefilled = end;
        }
        return 0;
}

unsigned target_objects(const Target *t)
{
        return t->prefilled;
}

typedef struct {
        const uint8_t *uuid;
        int fd;
} HoldArgs;

static int hold_on_loop(Target *t, void *arg)
{
        HoldArgs *h = arg;
        int fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
        int r;

        if (fd < 0)
                return -errno;
        r = service_export_fd(t->service, h->uuid, fd, &t->holder, NULL, NULL);
        if (r < 0)
                close(fd);
        return r;
}

int target_hold_buffer(Target *t, const uint8_t uuid[VU_UUID_SIZE], int fd)
{
        HoldArgs h = {.uuid = uuid, .fd = fd};
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char s[SHARE_UUID_STR_LEN];
        int r;

        if (t->kind == TARGET_IN_PROCESS)
                return target_call(t, hold_on_loop, &h);
        if (!t->client)
                return -EOPNOTSUPP; /* the daemon takes buffers over D-Bus only */
        /* The bench's connection owns it and keeps it while connected. */
        share_uuid_to_string(uuid, s);
        r = sd_bus_call_method(t->client, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                               "Export", &error, &reply, "hs", fd, s);
        if (r < 0)
                progress("Export failed: %s", error.message ? error.message : g_strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

uint64_t target_manager_u64(Target *t, const char *property, char type)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t v64 = 0;
        uint32_t v32 = 0;
        int r;

        r = sd_bus_get_property_trivial(target_bus(t), BUS_NAME, BUS_MANAGER_PATH,
                                        BUS_MANAGER_INTERFACE, property, &error, type,
                                        type == 't' ? (void *) &v64 : (void *) &v32);
        sd_bus_error_free(&error);
        if (r < 0)
                return UINT64_MAX;
        return type == 't' ? v64 : v32;
}
