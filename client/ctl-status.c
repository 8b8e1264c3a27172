/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl status: the service at a glance, from the Manager's
 * properties and the bus's word on who owns the name. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* What status shows; the Manager's properties and the owner's pid. */
typedef struct {
        char *version;
        uint32_t pid; /* 0: the bus did not say */
        uint64_t start_usec;
        uint32_t objects;
        uint32_t peers;
        uint32_t listeners;
        uint32_t devices;
        uint64_t bytes_held;
        char *privileged_group;
        GArray *limits; /* StatusLimit, in the service's order */
} Status;

typedef struct {
        char *key;
        uint64_t value;
} StatusLimit;

static void status_clear(Status *st)
{
        g_free(st->version);
        g_free(st->privileged_group);
        for (guint i = 0; st->limits && i < st->limits->len; i++)
                g_free(g_array_index(st->limits, StatusLimit, i).key);
        if (st->limits)
                g_array_free(st->limits, true);
}

static int read_limit(sd_bus_message *m, const char *key, void *userdata)
{
        StatusLimit limit = {.key = g_strdup(key)};
        int r;

        r = sd_bus_message_read_basic(m, 't', &limit.value);
        if (r < 0) {
                g_free(limit.key);
                return r;
        }
        g_array_append_val(userdata, limit);
        return 1;
}

/* One Manager property into st; 0 for the ones status does not show. */
static int read_manager_property(sd_bus_message *m, const char *name, void *userdata)
{
        Status *st = userdata;
        const char *s;
        int r;

        if (strcmp(name, "Version") == 0 || strcmp(name, "PrivilegedGroup") == 0) {
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r >= 0)
                        *(name[0] == 'V' ? &st->version : &st->privileged_group) = g_strdup(s);
        } else if (strcmp(name, "ObjectCount") == 0)
                r = sd_bus_message_read(m, "v", "u", &st->objects);
        else if (strcmp(name, "PeerCount") == 0)
                r = sd_bus_message_read(m, "v", "u", &st->peers);
        else if (strcmp(name, "ListenerCount") == 0)
                r = sd_bus_message_read(m, "v", "u", &st->listeners);
        else if (strcmp(name, "StartTimestamp") == 0)
                r = sd_bus_message_read(m, "v", "t", &st->start_usec);
        else if (strcmp(name, "BytesHeld") == 0)
                r = sd_bus_message_read(m, "v", "t", &st->bytes_held);
        else if (strcmp(name, "Devices") == 0) {
                g_auto(GStrv) devices = NULL;

                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &devices);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                st->devices = devices ? g_strv_length(devices) : 0;
        } else if (strcmp(name, "Limits") == 0) {
                r = sd_bus_message_enter_container(m, 'v', "a{st}");
                if (r >= 0)
                        r = ctl_read_dict(m, 's', "t", read_limit, st->limits);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        } else
                return 0;
        return r < 0 ? r : 1;
}

static int get_status(Ctl *ctl, Status *st)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        pid_t pid;
        int r;

        r = sd_bus_call_method(ctl->bus, BUS_NAME, BUS_MANAGER_PATH,
                               "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s",
                               BUS_MANAGER_INTERFACE);
        if (r < 0)
                return ctl_bus_error(&error, r, _("cannot read the service's status"));
        st->limits = g_array_new(false, false, sizeof(StatusLimit));
        r = ctl_read_dict(reply, 's', "v", read_manager_property, st);
        if (r < 0)
                return ctl_bus_error(NULL, r, _("cannot parse the service's answer"));
        /* The bus knows the owner's pid (GetConnectionUnixProcessID); a
         * bus that does not tell leaves it unknown. */
        if (sd_bus_get_name_creds(ctl->bus, BUS_NAME, SD_BUS_CREDS_PID, &creds) >= 0 &&
            sd_bus_creds_get_pid(creds, &pid) >= 0)
                st->pid = (uint32_t) pid;
        return CTL_EXIT_OK;
}

/* "1d 2h 3min 4s", systemd's way: the two largest units that are not 0. */
static char *format_duration(uint64_t usec)
{
        static const struct {
                const char *unit;
                uint64_t sec;
        } units[] = {{"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}};
        uint64_t sec = usec / 1000000;
        g_autoptr(GString) s = g_string_new(NULL);
        int shown = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(units) && shown < 2; i++) {
                uint64_t n = sec / units[i].sec;

                if (n == 0 && !(shown == 0 && units[i].sec == 1))
                        continue;
                g_string_append_printf(s, "%s%" PRIu64 "%s", shown ? " " : "", n, units[i].unit);
                sec -= n * units[i].sec;
                shown++;
        }
        return g_string_free(g_steal_pointer(&s), false);
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void print_json(const Ctl *ctl, const Status *st, uint64_t now)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "version");
        json_builder_add_string_value(b, st->version ?: "");
        json_builder_set_member_name(b, "pid");
        if (st->pid)
                json_builder_add_int_value(b, st->pid);
        else
                json_builder_add_null_value(b);
        json_builder_set_member_name(b, "start_usec");
        json_builder_add_int_value(b, (gint64) st->start_usec);
        json_builder_set_member_name(b, "uptime_usec");
        json_builder_add_int_value(b, (gint64) (now > st->start_usec ? now - st->start_usec : 0));
        json_builder_set_member_name(b, "objects");
        json_builder_add_int_value(b, st->objects);
        json_builder_set_member_name(b, "peers");
        json_builder_add_int_value(b, st->peers);
        json_builder_set_member_name(b, "listeners");
        json_builder_add_int_value(b, st->listeners);
        json_builder_set_member_name(b, "devices");
        json_builder_add_int_value(b, st->devices);
        json_builder_set_member_name(b, "bytes_held");
        json_builder_add_int_value(b, (gint64) st->bytes_held);
        json_builder_set_member_name(b, "privileged_group");
        if (st->privileged_group && *st->privileged_group)
                json_builder_add_string_value(b, st->privileged_group);
        else
                json_builder_add_null_value(b);
        json_builder_set_member_name(b, "limits");
        json_builder_begin_object(b);
        for (guint i = 0; i < st->limits->len; i++) {
                const StatusLimit *l = &g_array_index(st->limits, StatusLimit, i);

                json_builder_set_member_name(b, l->key);
                json_builder_add_int_value(b, (gint64) l->value);
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        ctl_json_print(ctl, root);
}

/* The labels of the text form; the values line up after the longest one
 * in the user's language. */
static const char *const status_labels[] = {
    N_("PID:"),       N_("Started:"), N_("Objects:"),          N_("Bytes held:"), N_("Peers:"),
    N_("Listeners:"), N_("Devices:"), N_("Privileged group:"), N_("Limits:"),
};

static int label_width(void)
{
        glong width = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(status_labels); i++)
                width = MAX(width, g_utf8_strlen(_(status_labels[i]), -1));
        return (int) width;
}

static void print_count(const char *label, uint32_t n, int width)
{
        ctl_print_label(label, width);
        printf("%" PRIu32 "\n", n);
}

static void print_text(const Ctl *ctl, const Status *st, uint64_t now)
{
        g_autofree char *uptime = format_duration(now > st->start_usec ? now - st->start_usec : 0);
        int width = label_width();
        char when[80], size[32];

        printf("vhost-shared %s\n", st->version ?: "-");
        ctl_print_label(_("PID:"), width);
        if (st->pid)
                printf("%" PRIu32 "\n", st->pid);
        else
                printf("-\n");
        ctl_print_label(_("Started:"), width);
        printf(_("%s; up %s\n"), ctl_format_timestamp(ctl, st->start_usec, true, when), uptime);
        print_count(_("Objects:"), st->objects, width);
        ctl_print_label(_("Bytes held:"), width);
        printf("%" PRIu64 " (%s)\n", st->bytes_held, ctl_format_size(st->bytes_held, size));
        print_count(_("Peers:"), st->peers, width);
        print_count(_("Listeners:"), st->listeners, width);
        print_count(_("Devices:"), st->devices, width);
        ctl_print_label(_("Privileged group:"), width);
        printf("%s\n", st->privileged_group && *st->privileged_group ? st->privileged_group
                                                                     : _("none (root only)"));
        for (guint i = 0; i < st->limits->len; i++) {
                const StatusLimit *l = &g_array_index(st->limits, StatusLimit, i);

                ctl_print_label(i == 0 ? _("Limits:") : "", width);
                if (l->value)
                        printf("%s=%" PRIu64 "\n", l->key, l->value);
                else
                        printf(_("%s=0 (unlimited)\n"), l->key);
        }
}

int verb_status(Ctl *ctl, int argc, char **argv)
{
        Status st = {};
        int r;

        r = get_status(ctl, &st);
        if (r == CTL_EXIT_OK) {
                if (ctl->json)
                        print_json(ctl, &st, now_usec());
                else
                        print_text(ctl, &st, now_usec());
        }
        status_clear(&st);
        return r;
}
