/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: the bus connection, calls to the service, the event loop
 * of the verbs that wait, and D-Bus errors as messages and exit codes. */

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
                        which, strerror(-r));
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

static const struct {
        const char *name;
        int code;
} error_codes[] = {
    {BUS_ERROR_NOT_FOUND, CTL_EXIT_NOT_FOUND},
    {BUS_ERROR_NO_DEVICE, CTL_EXIT_NOT_FOUND},
    {BUS_ERROR_ACCESS_DENIED, CTL_EXIT_ACCESS},
    {BUS_ERROR_NOT_OWNER, CTL_EXIT_ACCESS},
    {BUS_ERROR_EXISTS, CTL_EXIT_EXISTS},
    {BUS_ERROR_ADDRESS_IN_USE, CTL_EXIT_EXISTS},
    {BUS_ERROR_NOT_A_SOCKET, CTL_EXIT_EXISTS},
    {BUS_ERROR_UNSAFE_PATH, CTL_EXIT_ACCESS},
    {BUS_ERROR_TIMEOUT, CTL_EXIT_TIMEOUT},
    {BUS_ERROR_PEER_GONE, CTL_EXIT_TIMEOUT},
    {BUS_ERROR_INVALID_UUID, CTL_EXIT_USAGE},
    {BUS_ERROR_INVALID_SIZE, CTL_EXIT_USAGE},
    {SD_BUS_ERROR_INVALID_ARGS, CTL_EXIT_USAGE},
    {SD_BUS_ERROR_ACCESS_DENIED, CTL_EXIT_ACCESS},
    {SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, CTL_EXIT_ACCESS},
    {SD_BUS_ERROR_SERVICE_UNKNOWN, CTL_EXIT_NO_SERVICE},
    {SD_BUS_ERROR_NAME_HAS_NO_OWNER, CTL_EXIT_NO_SERVICE},
    {SD_BUS_ERROR_NO_REPLY, CTL_EXIT_TIMEOUT},
    {SD_BUS_ERROR_TIMEOUT, CTL_EXIT_TIMEOUT},
    {SD_BUS_ERROR_UNKNOWN_OBJECT, CTL_EXIT_NOT_FOUND},
};

static int exit_code_for_error(const sd_bus_error *error, int r)
{
        if (error && error->name) {
                for (size_t i = 0; i < G_N_ELEMENTS(error_codes); i++)
                        if (strcmp(error->name, error_codes[i].name) == 0)
                                return error_codes[i].code;
                return CTL_EXIT_FAILURE;
        }
        if (r == -ETIMEDOUT)
                return CTL_EXIT_TIMEOUT;
        if (r == -ECONNRESET || r == -ENOTCONN)
                return CTL_EXIT_NO_SERVICE;
        return CTL_EXIT_FAILURE;
}

int ctl_bus_error(const sd_bus_error *error, int r, const char *fmt, ...)
{
        g_autofree char *what = NULL;
        va_list ap;

        va_start(ap, fmt);
        what = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (error && error->name)
                fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what,
                        error->message ? error->message : error->name, error->name);
        else
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
                        strerror(r < 0 ? -r : EIO));
        return exit_code_for_error(error, r);
}
