/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: what export and allocate do with the object they made:
 * hold it until interrupted (then remove it), or hand it over to the
 * service (--detach). */

#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "ctl.h"

/* How long a held object may be without its service: a restart (systemd's
 * fd store keeps the object) brings it back well within this. */
#define HOLD_RESTART_GRACE_USEC (10 * 1000 * 1000)

typedef struct {
        Ctl *ctl;
        const char *uuid;
        sd_event *event;
        sd_event_source *grace; /* the service is away: how long we wait */
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
                return sd_event_exit(h->event, 0);
        }
        return 0;
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata)
{
        Hold *h = userdata;

        return sd_event_exit(h->event, 0);
}

/* Whether the service that is back holds the object again. */
static bool object_is_back(Hold *h)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        return ctl_call_manager(h->ctl, "GetObject", &error, NULL, "s", h->uuid) >= 0;
}

/* The service stopped: the object went with it, unless the service was
 * restarting and comes back with it (then we go on holding). */
static int on_service_owner(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Hold *h = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (!*new_owner) {
                h->service_gone = true;
                r = sd_event_add_time_relative(h->event, &h->grace, CLOCK_MONOTONIC,
                                               HOLD_RESTART_GRACE_USEC, 0, on_grace_over, h);
                return r < 0 ? sd_event_exit(h->event, 0) : 0;
        }
        if (!h->service_gone)
                return 0;
        h->grace = sd_event_source_disable_unref(h->grace);
        if (!object_is_back(h))
                return sd_event_exit(h->event, 0);
        h->service_gone = false;
        fprintf(stderr, _("%s: the service restarted; still holding %s\n"),
                program_invocation_short_name, h->uuid);
        return 0;
}

/* Removes the object while the loop still runs: when sd-event exits,
 * sd-bus closes the connection attached to it. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Hold *h = userdata;
        int r;

        r = ctl_call_manager(h->ctl, "Remove", &error, NULL, "s", h->uuid);
        if (r < 0 && !sd_bus_error_has_name(&error, BUS_ERROR_NOT_FOUND))
                h->exit_code = ctl_bus_error(&error, r, _("cannot remove %s"), h->uuid);
        else if (ctl_chatty(h->ctl))
                printf(_("Removed %s.\n"), h->uuid);
        return sd_event_exit(h->event, 0);
}

/* Whether the service is on the bus: it may have stopped before our match
 * for its going was in place. */
static int service_has_owner(Ctl *ctl)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has_owner, r;

        r = sd_bus_call_method(ctl->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s", BUS_NAME);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &has_owner);
        if (r < 0)
                return r;
        return has_owner;
}

/* Runs the loop until the object is gone; 0, or -errno / the loop's exit
 * code when the bus connection failed. */
static int hold_loop(Ctl *ctl, Hold *h)
{
        g_autofree char *removed_rule =
            g_strdup_printf("type='signal',sender='" BUS_NAME "',path='" BUS_MANAGER_PATH
                            "',interface='" BUS_MANAGER_INTERFACE "',member='Removed',arg0='%s'",
                            h->uuid);
        int r;

        r = sd_bus_add_match(ctl->bus, NULL, removed_rule, on_removed, h);
        if (r < 0)
                return r;
        r = sd_bus_add_match(ctl->bus, NULL, CTL_MATCH_SERVICE_OWNER, on_service_owner, h);
        if (r < 0)
                return r;
        r = service_has_owner(ctl);
        if (r < 0)
                return r;
        if (r == 0) {
                h->service_gone = true;
                return 0;
        }
        /* Scripts may rely on it: from now on nothing is missed. */
        if (ctl_chatty(ctl))
                printf(_("Holding it until interrupted (Ctrl-C).\n"));
        fflush(stdout);
        return sd_event_loop(h->event);
}

int ctl_hold_object(Ctl *ctl, const char *uuid)
{
        Hold h = {.ctl = ctl, .uuid = uuid, .exit_code = CTL_EXIT_OK};
        int r;

        r = ctl_event_new(ctl, on_signal, &h, &h.event);
        if (r >= 0)
                r = hold_loop(ctl, &h);
        (void) sd_bus_detach_event(ctl->bus);
        sd_event_source_disable_unref(h.grace);
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
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = ctl_call_manager(ctl, "Disown", &error, NULL, "s", uuid);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot hand %s over to the service"), uuid);
        if (ctl_chatty(ctl))
                printf(_("Handed %s over to the service.\n"), uuid);
        return CTL_EXIT_OK;
}
