/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Orderly stop and reload on signals (daemon-signals.h). */

#include "daemon-signals.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include <glib.h>

#include "log.h"

/* The longest an orderly stop waits for lookups in flight (less when the
 * lookup deadline is shorter): what is still open then fails cleanly. */
#define STOP_GRACE_USEC (500 * 1000)

struct DaemonSignals {
        sd_event *event;
        Service *service;
        DaemonReloadFn reload;
        DaemonReloadFn on_stopping;
        void *userdata;
        sd_event_source *sources[3]; /* SIGTERM, SIGINT, SIGHUP */
        sd_event_source *drained;    /* stopping: a post source that checks */
        sd_event_source *deadline;   /* stopping: the grace is over */
        bool stopping;
};

/* Peers close (their lookups failing) while the loop still runs: once it
 * has ended, sd-bus is closed and no caller would get its error. */
static void signals_exit(DaemonSignals *d)
{
        int r;

        if (d->on_stopping)
                d->on_stopping(d->userdata);
        service_close_peers(d->service, "service stopping");
        r = sd_event_exit(d->event, 0);

        if (r < 0)
                log_error_errno(r, "Failed to end the event loop: %m");
}

static int on_drained(sd_event_source *src, void *userdata)
{
        DaemonSignals *d = userdata;

        if (service_quiet(d->service)) {
                log_info("the requests in flight are answered");
                signals_exit(d);
        }
        return 0;
}

static int on_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
        DaemonSignals *d = userdata;

        log_info("%u lookup(s) still in flight at the stop deadline; they fail",
                 service_pending_lookups(d->service));
        signals_exit(d);
        return 0;
}

/* Stop accepting, let the lookups in flight finish, then end the loop. */
static void signals_stop(DaemonSignals *d, int sig)
{
        uint64_t grace = MIN(service_config(d->service)->lookup_timeout_usec, STOP_GRACE_USEC);
        unsigned pending = service_pending_lookups(d->service);
        int r;

        if (d->stopping) {
                log_info("%s again: stopping at once", strsignal(sig));
                signals_exit(d);
                return;
        }
        d->stopping = true;
        (void) sd_notify(false, "STOPPING=1");
        service_stop_accepting(d->service);
        service_stop_requests(d->service);
        if (service_quiet(d->service)) {
                signals_exit(d);
                return;
        }
        log_info("%s: accepting and reading no more, waiting up to %" G_GUINT64_FORMAT
                 " ms for %u lookup(s) and the answers in flight",
                 strsignal(sig), grace / 1000, pending);
        r = sd_event_add_post(d->event, &d->drained, on_drained, d);
        if (r >= 0)
                r = sd_event_add_time_relative(d->event, &d->deadline, CLOCK_MONOTONIC, grace, 0,
                                               on_deadline, d);
        if (r < 0) {
                log_error_errno(r, "Failed to wait for the lookups in flight, stopping now: %m");
                signals_exit(d);
        }
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        DaemonSignals *d = userdata;
        struct timespec ts;
        g_autofree char *reloading = NULL;

        if (si->ssi_signo != SIGHUP) {
                signals_stop(d, (int) si->ssi_signo);
                return 0;
        }
        if (d->stopping)
                return 0;
        /* systemd 253+ (Type=notify-reload) wants the time with RELOADING=1. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        reloading = g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GUINT64_FORMAT,
                                    (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000);
        (void) sd_notify(false, reloading);
        d->reload(d->userdata);
        (void) sd_notify(false, "READY=1");
        return 0;
}

int daemon_signals_new(sd_event *ev, Service *s, DaemonReloadFn reload, DaemonReloadFn stopping,
                       void *userdata, DaemonSignals **ret)
{
        static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
        DaemonSignals *d = g_new0(DaemonSignals, 1);
        int r;

        d->event = ev;
        d->service = s;
        d->reload = reload;
        d->on_stopping = stopping;
        d->userdata = userdata;
        for (size_t i = 0; i < G_N_ELEMENTS(signals); i++) {
                r = sd_event_add_signal(ev, &d->sources[i], signals[i], on_signal, d);
                if (r < 0) {
                        daemon_signals_free(d);
                        return log_error_errno(r, "Failed to watch %s: %m", strsignal(signals[i]));
                }
        }
        *ret = d;
        return 0;
}

void daemon_signals_free(DaemonSignals *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < G_N_ELEMENTS(d->sources); i++)
                sd_event_source_disable_unref(d->sources[i]);
        sd_event_source_disable_unref(d->drained);
        sd_event_source_disable_unref(d->deadline);
        g_free(d);
}
