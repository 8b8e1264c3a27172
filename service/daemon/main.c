/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-shared: the command line, the configuration it names, and the
 * event loop that runs the service and its bus connection. */

#include <errno.h>
#include <glib.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon-config.h"
#include "daemon-reload.h"
#include "daemon-signals.h"
#include "fd-store.h"
#include "log.h"
#include "bus-setup.h"
#include "cleanup.h"
#include "service.h"
#include "socket-util.h"
#include "state-keeper.h"
#include "state-restore.h"

#define DEFAULT_CONFIG_FILE SYSCONFDIR "/vhost-share/vhost-shared.conf"

/* What the command line says; the peers and the timeout are added to the
 * configuration file's (load_config). */
typedef struct {
        gboolean system;
        gboolean session;
        gboolean no_bus;
        char *bus_address;
        char **connect;
        char **accept;
        char **serve; /* serve specs */
        char *config_file;
        gboolean verbose;
        gboolean version;
        gboolean print_config;
        gboolean fd_store;
        int lookup_timeout_ms;
} CommandLine;

static void command_line_clear(CommandLine *cl)
{
        g_free(cl->bus_address);
        g_strfreev(cl->connect);
        g_strfreev(cl->accept);
        g_strfreev(cl->serve);
        g_free(cl->config_file);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CommandLine, command_line_clear)

/* Errors are printed for the user, translated, not logged. */
static int parse_command_line(int *argc, char ***argv, CommandLine *cl)
{
        GOptionEntry entries[] = {
            {"system", 0, 0, G_OPTION_ARG_NONE, &cl->system,
             N_("Connect to the system bus (the default)"), NULL},
            {"session", 0, 0, G_OPTION_ARG_NONE, &cl->session, N_("Connect to the session bus"),
             NULL},
            {"bus-address", 0, 0, G_OPTION_ARG_STRING, &cl->bus_address,
             N_("Connect to the bus at ADDRESS"), "ADDRESS"},
            {"no-bus", 0, 0, G_OPTION_ARG_NONE, &cl->no_bus, N_("Run without D-Bus"), NULL},
            {"connect", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &cl->connect,
             N_("Front-end role: connect to a back-end listening at PATH (repeatable)"), "PATH"},
            {"accept", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &cl->accept,
             N_("Front-end role: listen at PATH for back-ends (repeatable)"), "PATH"},
            {"serve", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &cl->serve,
             N_("Back-end role: listen at PATH for a VMM front-end (repeatable). Options: "
                "queues=N (GET_QUEUE_NUM answer, default 1), device-id=N (virtio device id, "
                "default 4 = rng), reply-ack=no (do not offer REPLY_ACK)"),
             "PATH[,queues=N][,device-id=N][,reply-ack=yes|no]"},
            {"config", 0, 0, G_OPTION_ARG_FILENAME, &cl->config_file,
             N_("Read FILE instead of the default configuration file"), "FILE"},
            {"lookup-timeout-ms", 0, 0, G_OPTION_ARG_INT, &cl->lookup_timeout_ms,
             N_("Deadline for an exporter's answer to GET_SHARED_OBJECT (default 1000)"), "MS"},
            {"fd-store", 0, 0, G_OPTION_ARG_NONE, &cl->fd_store,
             N_("Keep objects and sockets in systemd's file descriptor store across restarts"),
             NULL},
            {"verbose", 'v', 0, G_OPTION_ARG_NONE, &cl->verbose, N_("Log debug messages"), NULL},
            {"version", 0, 0, G_OPTION_ARG_NONE, &cl->version, N_("Print the version and exit"),
             NULL},
            {"print-config", 0, 0, G_OPTION_ARG_NONE, &cl->print_config,
             N_("Print the effective configuration (file and command line) and exit"), NULL},
            {NULL},
        };
        g_autoptr(GOptionContext) ctx =
            g_option_context_new(_("- the vhost-user shared-object service"));
        g_autoptr(GError) error = NULL;

        g_option_context_set_summary(
            ctx, _("Keeps the virtio-dmabuf table (UUID -> dma-buf), serves vhost-user back-ends\n"
                   "as their front-end (hub), serves VMM front-ends as a back-end (bridge),\n"
                   "and publishes everything on D-Bus as org.vhostshare.share1."));
        g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
        if (!g_option_context_parse(ctx, argc, argv, &error)) {
                fprintf(stderr, "vhost-shared: %s\n", error->message);
                return -EINVAL;
        }
        if (*argc > 1) {
                fprintf(stderr, _("vhost-shared: unexpected argument '%s'\n"), (*argv)[1]);
                return -EINVAL;
        }
        if ((cl->system + cl->session + cl->no_bus + (cl->bus_address != NULL)) > 1) {
                fprintf(stderr, _("vhost-shared: --system, --session, --bus-address and --no-bus "
                                  "exclude each other\n"));
                return -EINVAL;
        }
        if (cl->lookup_timeout_ms < 0) {
                fprintf(stderr, _("vhost-shared: --lookup-timeout-ms must not be negative\n"));
                return -EINVAL;
        }
        return 0;
}

/* The configuration file (the default one may be missing), then the
 * command line's peers and timeout on top. Logs why not. */
static int load_config(const CommandLine *cl, DaemonConfig *config)
{
        const char *file = cl->config_file ? cl->config_file : DEFAULT_CONFIG_FILE;
        g_autoptr(GError) error = NULL;
        int r;

        r = daemon_config_load_file(config, file, &error);
        if (r == -ENOENT && !cl->config_file)
                r = 0; /* no configuration file is fine */
        if (r < 0) {
                log_error("cannot use configuration %s: %s", file, error->message);
                return r;
        }
        for (char **p = cl->connect; p && *p; p++)
                g_ptr_array_add(config->connect, g_strdup(*p));
        for (char **p = cl->accept; p && *p; p++)
                g_ptr_array_add(config->accept, g_strdup(*p));
        for (char **spec = cl->serve; spec && *spec; spec++) {
                g_autoptr(GError) serve_error = NULL;

                r = daemon_config_add_serve(config, *spec, &serve_error);
                if (r < 0) {
                        log_error("--serve=%s: %s", *spec, serve_error->message);
                        return r;
                }
        }
        if (cl->lookup_timeout_ms > 0)
                config->service_config.lookup_timeout_usec =
                    (uint64_t) cl->lookup_timeout_ms * 1000;
        if (daemon_config_default_socket_group(config) < 0)
                log_debug("Privileged group \"%s\" does not exist: sockets get the service's group",
                          config->privileged_group);
        return 0;
}

static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning_errno(errno, "Failed to raise the fd limit: %m");
        }
}

/* The socket directories that are missing (by default the runtime
 * directory, which systemd's RuntimeDirectory= may not have made). Not
 * fatal: a socket there then fails with its own error. */
static void create_socket_directories(const ServiceConfig *config)
{
        for (const char *const *d = config->socket_directories; d && *d; d++) {
                int r = socket_directory_create(*d, 0755);

                if (r > 0)
                        log_info("created socket directory %s", *d);
                else if (r < 0 && geteuid() == 0)
                        log_warning("cannot create socket directory %s: %s", *d,
                                    socket_error_to_string(r));
                else if (r < 0)
                        log_debug("not creating socket directory %s: %s", *d,
                                  socket_error_to_string(r));
        }
}

/* A listening socket that failed: a live one is most likely a second
 * instance, which must stop without touching the first one's socket. */
static int listen_failed(const char *path, int r)
{
        if (r == -EADDRINUSE)
                log_error("%s: another service listens there (is vhost-shared already running?); "
                          "not starting",
                          path);
        return r;
}

static bool peer_connects_to(Peer *p, void *userdata)
{
        const char **path = userdata;

        if (peer_role(p) == ROLE_FRONTEND && g_strcmp0(peer_socket_path(p), *path) == 0) {
                *path = NULL; /* found */
                return false;
        }
        return true;
}

/* Whether a back-end peer (kept across a restart) is at path. */
static bool connects_to(Service *s, const char *path)
{
        service_foreach_peer(s, peer_connects_to, &path);
        return path == NULL;
}

/* Listens and connects as config says, but for the listeners a restart
 * brought back (restored). The service_* calls log the socket errors they
 * meet; only what is the configuration's fault is logged here. */
static int start_peers(Service *s, const DaemonConfig *config, bool restored)
{
        int r;

        for (guint i = 0; i < config->accept->len; i++) {
                const char *path = g_ptr_array_index(config->accept, i);

                if (restored && service_find_listener_by_path(s, path))
                        continue;
                r = service_listen_backends(s, path);
                if (r < 0)
                        return listen_failed(path, r);
        }
        for (guint i = 0; i < config->serve->len; i++) {
                const DaemonServeSocket *serve = g_ptr_array_index(config->serve, i);

                if (restored && service_find_listener_by_path(s, serve->path))
                        continue;
                r = service_listen_frontends_with(s, serve->path, &serve->options);
                if (r < 0)
                        return listen_failed(serve->path, r);
        }
        for (guint i = 0; i < config->connect->len; i++) {
                const char *path = g_ptr_array_index(config->connect, i);

                if (restored && connects_to(s, path))
                        continue; /* its connection was kept */
                r = service_connect_backend(s, path, NULL);
                if (r < 0)
                        return r;
        }
        /* Before the loop runs, so no connection gets in ahead of its list. */
        for (guint i = 0; i < config->sockets->len; i++) {
                const DaemonSocketSection *section = g_ptr_array_index(config->sockets, i);

                r = service_set_allowed_uids(s, section->path, section->allowed_uids,
                                             section->n_allowed_uids);
                if (r >= 0 && section->accepted_buffers)
                        r = service_set_accepted_buffers(s, section->path,
                                                         section->accepted_buffers);
                if (r < 0)
                        return log_error_errno(r, "[Socket %s]: no such listening socket: %m",
                                               section->path);
        }
        return 0;
}

/* The signals daemon-signals.c handles, blocked for its signalfd. */
static int event_new(sd_event **ret)
{
        _cleanup_(sd_event_unrefp) sd_event *ev = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block SIGTERM, SIGINT and SIGHUP: %m");
        r = sd_event_default(&ev);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");
        *ret = g_steal_pointer(&ev);
        return 0;
}

/* What a reload needs: the command line to read the configuration as at
 * start, the configuration in force, and what to apply it to. */
typedef struct {
        const CommandLine *cl;
        DaemonConfig *config;
        Service *service;
        BusSetup *bus;
        StateKeeper *keeper; /* with --fd-store */
} Reload;

/* The last record, before the peers close: the connections that can go
 * on are in it, the others' sockets leave the store (then hang up). */
static void on_stopping(void *userdata)
{
        Reload *rl = userdata;

        if (!rl->keeper)
                return;
        (void) state_keeper_flush(rl->keeper, true);
        g_clear_pointer(&rl->keeper, state_keeper_free);
}

static void on_reload(void *userdata)
{
        Reload *rl = userdata;
        DaemonConfig next = {0};

        daemon_config_init(&next);
        if (load_config(rl->cl, &next) < 0) {
                log_error("reload: keeping the configuration in force");
                daemon_config_clear(&next);
                return;
        }
        (void) daemon_reload_apply(rl->service, rl->bus, rl->config, &next);
        daemon_config_clear(rl->config);
        *rl->config = next; /* its socket_directories move along */
}

/* The listening sockets of the configuration (accept and serve). */
static char **configured_paths(const DaemonConfig *config)
{
        GPtrArray *paths = g_ptr_array_new();

        for (guint i = 0; i < config->accept->len; i++)
                g_ptr_array_add(paths, g_strdup(g_ptr_array_index(config->accept, i)));
        for (guint i = 0; i < config->serve->len; i++)
                g_ptr_array_add(
                    paths,
                    g_strdup(((DaemonServeSocket *) g_ptr_array_index(config->serve, i))->path));
        g_ptr_array_add(paths, NULL);
        return (char **) g_ptr_array_free(paths, false);
}

/* A restored object's owner: the bus client or the service, through the
 * bus (without one there are no such objects to give back). */
static int restore_owner_of(void *userdata, const StateObject *o, ShareOwner **ret)
{
        BusSetup *bus = userdata;

        if (!bus)
                return -ENODEV;
        return bus_manager_restore_owner(bus_setup_manager(bus), o->owner_kind, o->owner_name,
                                         o->owner_uid, ret);
}

/* Restart: the table back from the store's record (the listeners are back
 * already), then the keeper that keeps the store up to date. */
static int start_keeping(Service *s, BusSetup *bus, FdStore *store, const DaemonConfig *config,
                         StateKeeper **ret)
{
        const StateRecord *record = fd_store_record(store);
        g_auto(GStrv) configured = configured_paths(config);
        int r;

        if (record) {
                unsigned n =
                    state_restore_objects(s, record, fd_store_fds(store), restore_owner_of, bus);

                log_info("restored %u of %u object(s) and %u listener(s)", n, record->objects->len,
                         service_n_listeners(s));
                state_restore_announce(s);
        }
        r = state_keeper_new(s, &fd_store_sink, NULL, fd_store_names(store), record, ret);
        if (r < 0)
                return r;
        state_keeper_set_configured(*ret, (const char *const *) configured);
        /* The first record now: a crash right after start keeps what came back. */
        (void) state_keeper_flush(*ret, true);
        /* Sockets stay for the next instance from here on. */
        service_keep_socket_files(s, true);
        return 0;
}

/* The service, its peers and (unless --no-bus) its bus connection, until
 * a signal or the loss of the bus ends the loop. With the fd store, what
 * the previous instance stored comes back first, and the store is kept. */
static int run_service(sd_event *ev, DaemonConfig *config, const CommandLine *cl)
{
        g_autoptr(FdStore) store = NULL;
        DaemonSignals *signals = NULL;
        Reload reload = {.cl = cl, .config = config};
        BusSetup *bus = NULL;
        Service *s = NULL;
        bool restored = false;
        int r;

        r = service_new(ev, &config->service_config, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to create the service: %m");
        if (fd_store_wanted(cl->fd_store))
                store = fd_store_open();
        /* Sockets first, then the bus name: a second instance stops at its
         * first live socket, before it could disturb anything. */
        create_socket_directories(&config->service_config);
        if (store && fd_store_record(store)) {
                g_auto(GStrv) configured = configured_paths(config);

                (void) state_restore_listeners(s, fd_store_record(store), fd_store_fds(store),
                                               (const char *const *) configured);
                (void) state_restore_peers(s, fd_store_record(store), fd_store_fds(store));
                restored = true;
        }
        r = start_peers(s, config, restored);
        if (r >= 0 && !cl->no_bus) {
                BusKind kind = cl->session       ? BUS_KIND_SESSION
                               : cl->bus_address ? BUS_KIND_ADDRESS
                                                 : BUS_KIND_SYSTEM;

                /* Sends READY=1 itself, once the bus name is owned. */
                r = bus_setup_new(s, kind, cl->bus_address, config->privileged_group, &bus);
        }
        if (r >= 0 && store)
                r = start_keeping(s, bus, store, config, &reload.keeper);
        g_clear_pointer(&store, fd_store_free); /* closes what was not taken back */
        reload.service = s;
        reload.bus = bus;
        if (r >= 0)
                r = daemon_signals_new(ev, s, on_reload, on_stopping, &reload, &signals);
        if (r >= 0) {
                if (!bus)
                        (void) sd_notify(0, "READY=1\nSTATUS=Serving shared objects");
                log_info("vhost-shared %s running", PACKAGE_VERSION);
                r = sd_event_loop(ev);
                (void) sd_notify(0, "STOPPING=1");
                log_info("stopping");
        }
        daemon_signals_free(signals);
        /* Not stopped by a signal (the bus went): the last record now. */
        on_stopping(&reload);
        bus_setup_free(bus);
        service_free(s);
        return r;
}

static int run(const CommandLine *cl)
{
        g_auto(DaemonConfig) config = {0};
        _cleanup_(sd_event_unrefp) sd_event *ev = NULL;
        int r;

        daemon_config_init(&config);
        r = load_config(cl, &config);
        if (r < 0)
                return r;
        if (cl->print_config) {
                g_autofree char *text = daemon_config_to_text(&config);

                fputs(text, stdout);
                return 0;
        }

        raise_fd_limit();
        /* Files are created with nothing for group and others and then
         * opened up (SocketMode=, 0755 directories): never wider meanwhile. */
        umask(0077);
        /* A peer that hangs up mid-write is an EPIPE of that write, not our end. */
        signal(SIGPIPE, SIG_IGN);
        r = event_new(&ev);
        if (r < 0)
                return r;
        return run_service(ev, &config, cl);
}

int main(int argc, char **argv)
{
        g_auto(CommandLine) cl = {0};
        const char *localedir = getenv("TEXTDOMAINDIR"); /* tests: the build tree's catalogs */
        int r;

        setlocale(LC_ALL, "");
        /* Options and command-line errors are translated; the log is not
         * (it is read by journald and grep). */
        bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);
        r = parse_command_line(&argc, &argv, &cl);
        if (r < 0)
                return 2;
        if (cl.version) {
                printf("vhost-shared %s\n", PACKAGE_VERSION);
                return 0;
        }
        if (cl.verbose)
                log_set_max_level(LOG_DEBUG);
        r = run(&cl);
        return r < 0 ? 1 : 0;
}
