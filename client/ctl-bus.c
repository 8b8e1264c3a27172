/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: the bus connection, calls to the service and the event
 * loop of the verbs that wait (ctl-error.c: what their errors say). */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-open.h"
#include "ctl.h"

int ctl_usage_error(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return CTL_EXIT_USAGE;
}

int ctl_connect(Ctl *ctl)
{
        const char *which;
        int r;

        switch (ctl->bus_kind) {
        case CTL_BUS_USER:
                which = _("the user bus");
                r = sd_bus_open_user(&ctl->bus);
                break;
        case CTL_BUS_ADDRESS:
                which = ctl->address;
                r = bus_open_address(ctl->address, "vhost-sharectl", &ctl->bus);
                break;
        case CTL_BUS_SYSTEM:
        default:
                which = _("the system bus");
                r = sd_bus_open_system(&ctl->bus);
                break;
        }
        if (r < 0) {
                fprintf(stderr, _("%s: cannot connect to %s: %s\n"), program_invocation_short_name,
                        which, ctl_errno_message(r));
                return r == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_NO_SERVICE;
        }
        return CTL_EXIT_OK;
}

int ctl_call_manager(Ctl *ctl, const char *member, sd_bus_error *error, sd_bus_message **reply,
                     const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(ctl->bus, &call, BUS_NAME, BUS_MANAGER_PATH,
                                           BUS_MANAGER_INTERFACE, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(call, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        /* polkit may ask for a password (through the user's agent) unless
         * --no-ask-password; the service ignores the flag where it does not
         * ask polkit. */
        r = sd_bus_message_set_allow_interactive_authorization(call, !ctl->no_ask_password);
        if (r < 0)
                return r;
        return sd_bus_call(ctl->bus, call, 0, error, reply);
}

int ctl_event_new(Ctl *ctl, sd_event_signal_handler_t handler, void *userdata, sd_event **ret)
{
        sigset_t mask;
        int r;

        /* A shell starts background jobs with SIGINT ignored, which would
         * drop it before our signalfd sees it; "until interrupted" holds. */
        if (signal(SIGINT, SIG_DFL) == SIG_ERR)
                return -errno;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_new(ret);
        if (r < 0)
                return r;
        r = sd_event_add_signal(*ret, NULL, SIGINT, handler, userdata);
        if (r < 0)
                return r;
        r = sd_event_add_signal(*ret, NULL, SIGTERM, handler, userdata);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(ctl->bus, *ret, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        return sd_bus_set_exit_on_disconnect(ctl->bus, true);
}

int ctl_read_dict(sd_bus_message *m, char key_type, const char *value_type, CtlDictFunc fn,
                  void *userdata)
{
        g_autofree char *entry = g_strdup_printf("%c%s", key_type, value_type);
        g_autofree char *array = g_strdup_printf("{%s}", entry);
        int r;

        r = sd_bus_message_enter_container(m, 'a', array);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(m, key_type, &key);
                if (r < 0)
                        return r;
                r = fn(m, key, userdata);
                if (r == 0)
                        r = sd_bus_message_skip(m, value_type);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}
