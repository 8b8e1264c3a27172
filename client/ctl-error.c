/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: what went wrong, in the user's language. Every error name
 * the service or the bus returns has a message and an exit code here; the
 * service's own text (English, for its log) is shown only with --verbose. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

/* The messages name the group, which needs the bus: set by main for every
 * error path, so that no verb has to carry the Ctl into them. */
static const Ctl *error_ctl;

void ctl_error_setup(const Ctl *ctl)
{
        error_ctl = ctl;
}

typedef enum {
        TEXT_PLAIN,
        TEXT_NEEDS_GROUP,    /* the message names the privileged group */
        TEXT_NEEDS_PASSWORD, /* polkit would ask; the message names the group too */
} ErrorText;

static const struct {
        const char *name;
        bool prefix; /* name is a prefix (org.freedesktop.DBus.Error.Spawn.*) */
        int code;
        ErrorText text;
        const char *message;
} errors[] = {
    /* The service's own errors (bus-names.h). */
    {BUS_ERROR_NOT_FOUND, false, CTL_EXIT_NOT_FOUND, TEXT_PLAIN, N_("not found")},
    {BUS_ERROR_EXISTS, false, CTL_EXIT_EXISTS, TEXT_PLAIN, N_("it exists already")},
    {BUS_ERROR_ADDRESS_IN_USE, false, CTL_EXIT_EXISTS, TEXT_PLAIN,
     N_("another program listens on that socket; it was left alone")},
    {BUS_ERROR_NOT_A_SOCKET, false, CTL_EXIT_EXISTS, TEXT_PLAIN,
     N_("something that is not a socket is at that path; it was left alone")},
    {BUS_ERROR_UNSAFE_PATH, false, CTL_EXIT_ACCESS, TEXT_PLAIN,
     N_("the path leads through a symbolic link, which the service does not follow")},
    {BUS_ERROR_QUOTA_EXCEEDED, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("a quota of the service is exceeded (-v names it; see vhost-shared.conf(5))")},
    {BUS_ERROR_NOT_OWNER, false, CTL_EXIT_ACCESS, TEXT_PLAIN,
     N_("only its owner or root may do that")},
    {BUS_ERROR_INVALID_UUID, false, CTL_EXIT_USAGE, TEXT_PLAIN, N_("not a valid UUID")},
    {BUS_ERROR_INVALID_FD, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service does not take this file descriptor (a dma-buf or a sealed memfd is needed)")},
    {BUS_ERROR_UNSUPPORTED, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service does not support this")},
    {BUS_ERROR_TIMEOUT, false, CTL_EXIT_TIMEOUT, TEXT_PLAIN,
     N_("the back-end did not answer in time")},
    {BUS_ERROR_LIMIT_REACHED, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("a limit of the service is reached (see vhost-shared.conf(5))")},
    {BUS_ERROR_ACCESS_DENIED, false, CTL_EXIT_ACCESS, TEXT_NEEDS_GROUP, NULL},
    {BUS_ERROR_PEER_GONE, false, CTL_EXIT_TIMEOUT, TEXT_PLAIN, N_("the back-end went away")},
    {BUS_ERROR_NO_DEVICE, false, CTL_EXIT_NOT_FOUND, TEXT_PLAIN,
     N_("no such DRM device (--device=memfd asks for a sealed memfd)")},
    {BUS_ERROR_NO_MEMORY, false, CTL_EXIT_FAILURE, TEXT_PLAIN, N_("the service is out of memory")},
    {BUS_ERROR_INVALID_SIZE, false, CTL_EXIT_USAGE, TEXT_PLAIN,
     N_("the DRM device refuses this size")},
    {BUS_ERROR_LOOKUP_CYCLE, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the exporter is itself waiting for this lookup's importer")},
    {BUS_ERROR_FAILED, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service failed (its log says why)")},
    /* The bus's and sd-bus's. */
    {SD_BUS_ERROR_INVALID_ARGS, false, CTL_EXIT_USAGE, TEXT_PLAIN,
     N_("the service refuses an argument")},
    {SD_BUS_ERROR_ACCESS_DENIED, false, CTL_EXIT_ACCESS, TEXT_NEEDS_GROUP, NULL},
    {SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, false, CTL_EXIT_ACCESS, TEXT_NEEDS_PASSWORD,
     NULL},
    {SD_BUS_ERROR_SERVICE_UNKNOWN, false, CTL_EXIT_NO_SERVICE, TEXT_PLAIN,
     N_("the service is not on the bus; is vhost-shared running? (systemctl start "
        "vhost-shared, or see vhost-shared(8))")},
    {SD_BUS_ERROR_NAME_HAS_NO_OWNER, false, CTL_EXIT_NO_SERVICE, TEXT_PLAIN,
     N_("the service is not on the bus; is vhost-shared running? (systemctl start "
        "vhost-shared, or see vhost-shared(8))")},
    {"org.freedesktop.DBus.Error.Spawn.", true, CTL_EXIT_NO_SERVICE, TEXT_PLAIN,
     N_("the service could not be started by the bus; is vhost-shared running? (systemctl "
        "status vhost-shared, or see vhost-shared(8))")},
    {SD_BUS_ERROR_NO_REPLY, false, CTL_EXIT_TIMEOUT, TEXT_PLAIN,
     N_("the service did not answer in time")},
    {SD_BUS_ERROR_TIMEOUT, false, CTL_EXIT_TIMEOUT, TEXT_PLAIN,
     N_("the service did not answer in time")},
    {SD_BUS_ERROR_DISCONNECTED, false, CTL_EXIT_NO_SERVICE, TEXT_PLAIN,
     N_("the bus connection was lost")},
    {SD_BUS_ERROR_UNKNOWN_OBJECT, false, CTL_EXIT_NOT_FOUND, TEXT_PLAIN, N_("not found")},
    {SD_BUS_ERROR_UNKNOWN_METHOD, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service does not know this call (is it older than this client?)")},
    {SD_BUS_ERROR_UNKNOWN_PROPERTY, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service does not know this call (is it older than this client?)")},
    {SD_BUS_ERROR_UNKNOWN_INTERFACE, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("the service does not know this call (is it older than this client?)")},
    {SD_BUS_ERROR_LIMITS_EXCEEDED, false, CTL_EXIT_FAILURE, TEXT_PLAIN,
     N_("a limit of the bus is reached")},
};

static int find_error(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(errors); i++)
                if (errors[i].prefix ? g_str_has_prefix(name, errors[i].name)
                                     : strcmp(name, errors[i].name) == 0)
                        return (int) i;
        return -1;
}

/* The group that may call the privileged methods: the service's own word
 * (Manager.PrivilegedGroup, where the service has it), else this build's. */
static char *privileged_group(void)
{
        char *group = NULL;

        if (error_ctl && error_ctl->bus &&
            sd_bus_get_property_string(error_ctl->bus, BUS_NAME, BUS_MANAGER_PATH,
                                       BUS_MANAGER_INTERFACE, "PrivilegedGroup", NULL, &group) >= 0)
                return group;
        return g_strdup(PRIVILEGED_GROUP);
}

static char *needs_group_message(void)
{
        g_autofree char *group = privileged_group();

        if (!*group)
                return g_strdup(_("access denied; this needs root"));
        return g_strdup_printf(_("access denied; this needs root or membership of the group "
                                 "\"%s\""),
                               group);
}

/* InteractiveAuthorizationRequired: polkit would have asked for a
 * password, which the call did not allow (--no-ask-password). */
static char *needs_password_message(void)
{
        g_autofree char *group = privileged_group();

        if (!*group)
                return g_strdup(_("access denied; a password would be needed, which "
                                  "--no-ask-password does not allow; or run as root"));
        return g_strdup_printf(_("access denied; a password would be needed, which "
                                 "--no-ask-password does not allow; or run as root or as a "
                                 "member of the group \"%s\""),
                               group);
}

const char *ctl_errno_message(int r)
{
        switch (r < 0 ? -r : r) {
        case ENOENT:
        case ECONNREFUSED:
                return _("no bus listens there");
        case EACCES:
        case EPERM:
                return _("permission denied");
        case ETIMEDOUT:
                return _("no answer in time");
        case ECONNRESET:
        case ENOTCONN:
                return _("the connection was lost");
        case ENOMEM:
                return _("out of memory");
        case EINVAL:
                return _("invalid argument");
        default:
                return strerror(r < 0 ? -r : EIO);
        }
}

static int exit_code_for_errno(int r)
{
        if (r == -ETIMEDOUT)
                return CTL_EXIT_TIMEOUT;
        if (r == -ECONNRESET || r == -ENOTCONN)
                return CTL_EXIT_NO_SERVICE;
        return CTL_EXIT_FAILURE;
}

int ctl_bus_error(const sd_bus_error *error, int r, const char *fmt, ...)
{
        g_autofree char *what = NULL, *message = NULL;
        int i, code;
        va_list ap;

        va_start(ap, fmt);
        what = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!error || !error->name) {
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
                        ctl_errno_message(r));
                return exit_code_for_errno(r);
        }
        i = find_error(error->name);
        if (i < 0) {
                message = g_strdup(_("the service returned an error"));
                code = CTL_EXIT_FAILURE;
        } else {
                message = errors[i].text == TEXT_NEEDS_GROUP      ? needs_group_message()
                          : errors[i].text == TEXT_NEEDS_PASSWORD ? needs_password_message()
                                                                  : g_strdup(_(errors[i].message));
                code = errors[i].code;
        }
        fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what, message,
                error->name);
        if (error_ctl && error_ctl->verbose && error->message)
                fprintf(stderr, _("%s: details: %s\n"), program_invocation_short_name,
                        error->message);
        return code;
}
