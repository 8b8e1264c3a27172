/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's signals as strings (see signal-log.h). */
#include "signal-log.h"

#include <string.h>

#include "dbus-testbed.h"

static void append_interfaces(GString *s, sd_bus_message *m, bool with_properties)
{
        bool first = true;
        const char *iface;

        if (sd_bus_message_enter_container(m, 'a', with_properties ? "{sa{sv}}" : "s") < 0)
                return;
        for (;;) {
                int r;

                if (with_properties) {
                        r = sd_bus_message_enter_container(m, 'e', "sa{sv}");
                        if (r <= 0)
                                break;
                }
                r = sd_bus_message_read(m, "s", &iface);
                if (r <= 0)
                        break;
                if (with_properties) {
                        sd_bus_message_skip(m, "a{sv}");
                        sd_bus_message_exit_container(m);
                }
                /* Only ours: sd-bus adds the standard interfaces too. */
                if (!g_str_has_prefix(iface, "org.vhostshare."))
                        continue;
                g_string_append_printf(s, "%s%s", first ? " " : ",", iface);
                first = false;
        }
        sd_bus_message_exit_container(m);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        SignalLog *l = userdata;
        const char *member = sd_bus_message_get_member(m);
        const char *a = NULL, *b = NULL, *c = NULL;
        GString *s = g_string_new(member);

        if (strcmp(member, "Added") == 0 && sd_bus_message_read(m, "sos", &a, &b, &c) >= 0)
                g_string_append_printf(s, " %s %s %s", a, b, c);
        else if (strcmp(member, "Removed") == 0 && sd_bus_message_read(m, "so", &a, &b) >= 0)
                g_string_append_printf(s, " %s %s", a, b);
        else if (strcmp(member, "LookedUp") == 0 && sd_bus_message_read(m, "sss", &a, &b, &c) >= 0)
                g_string_append_printf(s, " %s %s %s", a, b, c);
        else if (strcmp(member, "InterfacesAdded") == 0 && sd_bus_message_read(m, "o", &a) >= 0) {
                g_string_append_printf(s, " %s", a);
                append_interfaces(s, m, true);
        } else if (strcmp(member, "InterfacesRemoved") == 0 &&
                   sd_bus_message_read(m, "o", &a) >= 0) {
                g_string_append_printf(s, " %s", a);
                append_interfaces(s, m, false);
        } else if (strcmp(member, "PropertiesChanged") == 0 &&
                   sd_bus_message_read(m, "s", &a) >= 0) {
                bool first = true;

                g_string_append_printf(s, " %s %s", sd_bus_message_get_path(m), a);
                if (sd_bus_message_enter_container(m, 'a', "{sv}") >= 0) {
                        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                                sd_bus_message_read(m, "s", &b);
                                sd_bus_message_skip(m, "v");
                                sd_bus_message_exit_container(m);
                                g_string_append_printf(s, "%s%s", first ? " " : ",", b);
                                first = false;
                        }
                        sd_bus_message_exit_container(m);
                }
                if (sd_bus_message_enter_container(m, 'a', "s") >= 0) {
                        while (sd_bus_message_read(m, "s", &b) > 0) {
                                g_string_append_printf(s, "%s%s", first ? " " : ",", b);
                                first = false;
                        }
                        sd_bus_message_exit_container(m);
                }
        }
        g_ptr_array_add(l->events, g_string_free(s, false));
        return 0;
}

void signal_log_start(SignalLog *l, sd_bus *bus)
{
        int r;

        l->events = g_ptr_array_new_with_free_func(g_free);
        /* Everything below the manager comes from the service. The match is
         * installed synchronously, so nothing sent after this is missed. */
        r = sd_bus_add_match(bus, &l->slot, "type='signal',path_namespace='/org/vhostshare/share1'",
                             on_signal, l);
        g_assert_cmpint(r, >=, 0);
}

void signal_log_clear(SignalLog *l)
{
        l->slot = sd_bus_slot_unref(l->slot);
        g_clear_pointer(&l->events, g_ptr_array_unref);
}

typedef struct {
        SignalLog *l;
        guint n;
} WaitN;

static bool has_n(void *data)
{
        WaitN *w = data;

        return w->l->events->len >= w->n;
}

bool signal_log_wait(SignalLog *l, sd_bus *bus, guint n)
{
        WaitN w = {l, n};

        return testbed_pump_until(bus, has_n, &w);
}

typedef struct {
        SignalLog *log;
        const char *event;
} WaitFor;

static bool has_event(void *data)
{
        WaitFor *w = data;

        return signal_log_count(w->log, w->event) > 0;
}

bool signal_log_wait_for(SignalLog *l, sd_bus *bus, const char *s)
{
        WaitFor w = {l, s};

        return testbed_pump_until(bus, has_event, &w);
}

guint signal_log_count(SignalLog *l, const char *s)
{
        guint n = 0;

        for (guint i = 0; i < l->events->len; i++)
                n += strcmp(g_ptr_array_index(l->events, i), s) == 0;
        return n;
}

guint signal_log_count_prefix(SignalLog *l, const char *prefix)
{
        guint n = 0;

        for (guint i = 0; i < l->events->len; i++)
                n += g_str_has_prefix(g_ptr_array_index(l->events, i), prefix);
        return n;
}

char *signal_log_dump(SignalLog *l)
{
        GString *s = g_string_new(NULL);

        for (guint i = 0; i < l->events->len; i++)
                g_string_append_printf(s, "  %s\n", (char *) g_ptr_array_index(l->events, i));
        return g_string_free(s, false);
}
