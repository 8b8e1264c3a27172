/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-shared: command line, configuration, the event loop. */

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
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon-config.h"
#include "log.h"
#include "bus-setup.h"
#include "service.h"

#define DEFAULT_CONFIG_FILE SYSCONFDIR "/vhost-share/vhost-shared.conf"

typedef struct {
        gboolean system;
        gboolean session;
        gboolean no_bus;
        char *bus_address;
        char **connect;
        char **accept;
        char **serve;
        char *config;
        gboolean verbose;
        gboolean version;
        int lookup_timeout_ms;
} Options;

static void options_clear(Options *o)
{
        g_free(o->bus_address);
        g_strfreev(o->connect);
        g_strfreev(o->accept);
        g_strfreev(o->serve);
        g_free(o->config);
}

static int parse_options(int *argc, char ***argv, Options *o)
{
        GOptionEntry entries[] = {
            {"system", 0, 0, G_OPTION_ARG_NONE, &o->system,
             N_("Connect to the system bus (the default)"), NULL},
            {"session", 0, 0, G_OPTION_ARG_NONE, &o->session, N_("Connect to the session bus"),
             NULL},
            {"bus-address", 0, 0, G_OPTION_ARG_STRING, &o->bus_address,
             N_("Connect to the bus at ADDRESS"), "ADDRESS"},
            {"no-bus", 0, 0, G_OPTION_ARG_NONE, &o->no_bus, N_("Run without D-Bus"), NULL},
            {"connect", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->connect,
             N_("Front-end role: connect to a back-end listening at PATH (repeatable)"), "PATH"},
            {"accept", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->accept,
             N_("Front-end role: listen at PATH for back-ends (repeatable)"), "PATH"},
            {"serve", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->serve,
             N_("Back-end role: listen at PATH for a VMM front-end (repeatable). Options: "
                "queues=N (GET_QUEUE_NUM answer, default 1), device-id=N (virtio device id, "
                "default 4 = rng), reply-ack=no (do not offer REPLY_ACK)"),
             "PATH[,queues=N][,device-id=N][,reply-ack=yes|no]"},
            {"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
             N_("Read FILE instead of the default configuration file"), "FILE"},
            {"lookup-timeout-ms", 0, 0, G_OPTION_ARG_INT, &o->lookup_timeout_ms,
             N_("Deadline for an exporter's answer to GET_SHARED_OBJECT (default 1000)"), "MS"},
            {"verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, N_("Log debug messages"), NULL},
            {"version", 0, 0, G_OPTION_ARG_NONE, &o->version, N_("Print the version and exit"),
             NULL},
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
        if ((o->system + o->session + o->no_bus + (o->bus_address != NULL)) > 1) {
                fprintf(stderr, _("vhost-shared: --system, --session, --bus-address and --no-bus "
                                  "exclude each other\n"));
                return -EINVAL;
        }
        if (o->lookup_timeout_ms < 0) {
                fprintf(stderr, _("vhost-shared: --lookup-timeout-ms must not be negative\n"));
                return -EINVAL;
        }
        return 0;
}

static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning_errno(-errno, "cannot raise the fd limit");
        }
}

static void add_paths(GPtrArray *to, char **paths)
{
        for (char **p = paths; p && *p; p++)
                g_ptr_array_add(to, g_strdup(*p));
}

static int start_peers(Service *s, const DaemonConfig *c)
{
        int r;

        for (guint i = 0; i < c->accept->len; i++)
                if ((r = service_listen_backends(s, g_ptr_array_index(c->accept, i))) < 0)
                        return r;
        for (guint i = 0; i < c->serve->len; i++) {
                g_autoptr(GError) error = NULL;
                g_autofree char *path = NULL;
                ServeOptions opts;

                r = serve_spec_parse(g_ptr_array_index(c->serve, i), &c->service, &path, &opts,
                                     &error);
                if (r < 0) {
                        log_error("--serve=%s: %s", (char *) g_ptr_array_index(c->serve, i),
                                  error->message);
                        return r;
                }
                if ((r = service_listen_frontends_with(s, path, &opts)) < 0)
                        return r;
        }
        for (guint i = 0; i < c->connect->len; i++)
                if ((r = service_connect_backend(s, g_ptr_array_index(c->connect, i), NULL)) < 0)
                        return r;
        /* Before the loop runs, so no connection gets in ahead of its list. */
        for (guint i = 0; i < c->socket_allow->len; i++) {
                const DaemonSocketAllow *a = g_ptr_array_index(c->socket_allow, i);

                r = service_set_allowed_uids(s, a->path, a->uids, a->n_uids);
                if (r < 0)
                        return log_error_errno(r, "[Socket %s]: no such listening socket", a->path);
        }
        return 0;
}

static int run(Options *o)
{
        g_auto(DaemonConfig) cfg = {0};
        g_autoptr(GError) error = NULL;
        sd_event *ev = NULL;
        Service *s = NULL;
        sigset_t mask;
        int r;

        daemon_config_init(&cfg);
        r = daemon_config_load(&cfg, o->config ? o->config : DEFAULT_CONFIG_FILE, &error);
        if (r == -ENOENT && !o->config)
                r = 0; /* no configuration file is fine */
        if (r < 0) {
                log_error("cannot use configuration %s: %s",
                          o->config ? o->config : DEFAULT_CONFIG_FILE, error->message);
                return r;
        }
        add_paths(cfg.connect, o->connect);
        add_paths(cfg.accept, o->accept);
        add_paths(cfg.serve, o->serve);
        if (o->lookup_timeout_ms > 0)
                cfg.service.lookup_timeout_usec = (uint64_t) o->lookup_timeout_ms * 1000;

        raise_fd_limit();
        /* Sockets are bound with the umask's mode and then chmod'ed to
         * SocketMode=: start from nothing so no wider mode is ever visible. */
        umask(0077);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&ev);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        sd_event_add_signal(ev, NULL, SIGTERM, NULL, NULL);
        sd_event_add_signal(ev, NULL, SIGINT, NULL, NULL);
        service_new(ev, &cfg.service, &s);

        r = start_peers(s, &cfg);
        /* bus */
        BusSetup *bus = NULL;
        if (r >= 0 && !o->no_bus) {
                BusKind kind = o->session       ? BUS_KIND_SESSION
                               : o->bus_address ? BUS_KIND_ADDRESS
                                                : BUS_KIND_SYSTEM;
                /* Sends READY=1 itself, once the bus name is owned. */
                r = bus_setup_new(s, kind, o->bus_address, cfg.privileged_group, &bus);
        }
        if (r >= 0) {
                if (!bus)
                        sd_notify(0, "READY=1\nSTATUS=Serving shared objects");
                log_info("vhost-shared %s running", PACKAGE_VERSION);
                r = sd_event_loop(ev);
                sd_notify(0, "STOPPING=1");
                log_info("stopping");
        }
        bus_setup_free(bus);
        service_free(s);
        sd_event_unref(ev);
        return r;
}

int main(int argc, char **argv)
{
        Options o = {0};
        int r;

        setlocale(LC_ALL, "");
        /* Options and command-line errors are translated; the log is not
         * (it is read by journald and grep). */
        const char *localedir = getenv("TEXTDOMAINDIR"); /* tests: the build tree's catalogs */
        bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);
        r = parse_options(&argc, &argv, &o);
        if (r < 0) {
                options_clear(&o);
                return 2;
        }
        if (o.version) {
                printf("vhost-shared %s\n", PACKAGE_VERSION);
                options_clear(&o);
                return 0;
        }
        if (o.verbose)
                log_set_max_level(LOG_DEBUG);
        r = run(&o);
        options_clear(&o);
        return r < 0 ? 1 : 0;
}
