/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: values as text, both ways (UUIDs, sizes, times), and the
 * two output forms of the listings: tables and JSON arrays. */

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "size-parse.h"

bool ctl_parse_uuid(const char *s, CtlUuid *ret)
{
        if (share_uuid_from_string(s, ret->bytes) < 0)
                return false;
        share_uuid_to_string(ret->bytes, ret->str);
        return true;
}

int ctl_parse_uuid_arg(const char *arg, CtlUuid *ret)
{
        if (!ctl_parse_uuid(arg, ret))
                return ctl_usage_error(_("\"%s\" is not a UUID"), arg);
        return CTL_EXIT_OK;
}

bool ctl_parse_size(const char *s, uint64_t *ret)
{
        return size_parse(s, ret) == 0;
}

int ctl_parse_size_arg(const char *arg, uint64_t *ret)
{
        int r = size_parse(arg, ret);

        if (r == -ERANGE)
                return ctl_usage_error(_("size \"%s\" is too large (at most 16 EiB - 1 byte)"),
                                       arg);
        if (r < 0)
                return ctl_usage_error(_("invalid size \"%s\" (bytes, or a number with K, M, G "
                                         "or T, powers of 1024)"),
                                       arg);
        if (*ret == 0)
                return ctl_usage_error(_("size 0: a buffer needs at least 1 byte"));
        return CTL_EXIT_OK;
}

const char *ctl_format_size(uint64_t bytes, char buf[32])
{
        static const char units[] = "KMGT";
        double v = (double) bytes;
        int u = -1;

        if (bytes < 1024) {
                snprintf(buf, 32, "%" PRIu64 "B", bytes);
                return buf;
        }
        while (v >= 1024 && u < 3) {
                v /= 1024;
                u++;
        }
        snprintf(buf, 32, "%.1f%c", v, units[u]);
        return buf;
}

const char *ctl_format_timestamp(const Ctl *ctl, uint64_t usec, bool with_zone, char buf[80])
{
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;
        char date[40], zone[32] = "UTC";

        if (ctl->utc)
                gmtime_r(&sec, &tm);
        else {
                localtime_r(&sec, &tm);
                strftime(zone, sizeof(zone), "%Z", &tm);
        }
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, 80, "%s.%06u%s%s", date, (unsigned) (usec % 1000000), with_zone ? " " : "",
                 with_zone ? zone : "");
        return buf;
}

void ctl_print_label(const char *label, int width)
{
        glong n = g_utf8_strlen(label, -1);

        printf("  %s%*s ", label, n < width ? (int) (width - n) : 0, "");
}

struct CtlTable {
        guint n_columns;
        GPtrArray *rows; /* GStrv, the first one the header */
        GPtrArray *json; /* JsonNode*, one per row after the header */
};

static GStrv collect(const char *first, va_list ap)
{
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();

        for (const char *s = first; s; s = va_arg(ap, const char *))
                g_strv_builder_add(b, s);
        return g_strv_builder_end(b);
}

CtlTable *ctl_table_new(const char *first_header, ...)
{
        CtlTable *t = g_new0(CtlTable, 1);
        va_list ap;
        GStrv header;

        va_start(ap, first_header);
        header = collect(first_header, ap);
        va_end(ap);
        t->n_columns = g_strv_length(header);
        t->rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        g_ptr_array_add(t->rows, header);
        t->json = g_ptr_array_new_with_free_func((GDestroyNotify) json_node_unref);
        return t;
}

void ctl_table_add_row(CtlTable *t, JsonNode *json, const char *first_cell, ...)
{
        va_list ap;
        GStrv row;

        va_start(ap, first_cell);
        row = collect(first_cell, ap);
        va_end(ap);
        g_assert(g_strv_length(row) == t->n_columns);
        g_ptr_array_add(t->rows, row);
        g_ptr_array_add(t->json, json);
}

static void print_json_array(const CtlTable *t, const Ctl *ctl)
{
        g_autoptr(JsonArray) array = json_array_sized_new(t->json->len);
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_ARRAY);

        for (guint i = 0; i < t->json->len; i++)
                json_array_add_element(array, json_node_ref(g_ptr_array_index(t->json, i)));
        json_node_set_array(node, array);
        ctl_json_print(ctl, node);
}

/* The terminal's width when stdout is one (COLUMNS first, as systemd's
 * tools), else 0: no limit. */
static size_t terminal_columns(void)
{
        const char *env = getenv("COLUMNS");
        struct winsize ws;
        guint64 n;

        if (!isatty(STDOUT_FILENO))
                return 0;
        if (env && g_ascii_string_to_unsigned(env, 10, 1, G_MAXINT, &n, NULL))
                return (size_t) n;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 0;
}

/* Narrows the widest column, one character at a time, until the rows fit
 * columns (or no column is wider than a few characters). */
static void fit_widths(size_t *width, guint n, size_t columns)
{
        enum { MIN_WIDTH = 6 };
        size_t total = n ? n - 1 : 0; /* the spaces between */

        for (guint c = 0; c < n; c++)
                total += width[c];
        while (total > columns) {
                guint widest = 0;

                for (guint c = 1; c < n; c++)
                        if (width[c] > width[widest])
                                widest = c;
                if (width[widest] <= MIN_WIDTH)
                        return;
                width[widest]--;
                total--;
        }
}

/* cell, cut to width characters with an ellipsis at the end. */
static char *ellipsize(const char *cell, size_t width)
{
        const char *dots = g_str_equal(nl_langinfo(CODESET), "UTF-8") ? "…" : "...";
        g_autofree char *head = NULL;

        if ((size_t) g_utf8_strlen(cell, -1) <= width)
                return g_strdup(cell);
        head = g_utf8_substring(cell, 0, (glong) (width - (size_t) g_utf8_strlen(dots, -1)));
        return g_strconcat(head, dots, NULL);
}

static void print_rows(const CtlTable *t, bool legend, bool full)
{
        g_autofree size_t *width = g_new0(size_t, t->n_columns);
        size_t columns = full ? 0 : terminal_columns();
        guint first = legend ? 0 : 1;

        for (guint r = first; r < t->rows->len; r++) {
                GStrv row = g_ptr_array_index(t->rows, r);

                for (guint c = 0; c < t->n_columns; c++)
                        width[c] = MAX(width[c], (size_t) g_utf8_strlen(row[c], -1));
        }
        if (columns > 0)
                fit_widths(width, t->n_columns, columns);
        for (guint r = first; r < t->rows->len; r++) {
                GStrv row = g_ptr_array_index(t->rows, r);

                for (guint c = 0; c < t->n_columns; c++) {
                        g_autofree char *cell = ellipsize(row[c], width[c]);
                        size_t pad = width[c] - (size_t) g_utf8_strlen(cell, -1);

                        fputs(cell, stdout);
                        if (c + 1 < t->n_columns)
                                printf("%*s", (int) pad + 1, "");
                }
                fputc('\n', stdout);
        }
}

void ctl_table_print(const CtlTable *t, const Ctl *ctl, const char *empty, const char *footer)
{
        bool legend = !ctl->no_legend && !ctl->quiet;

        if (ctl->json) {
                print_json_array(t, ctl);
                return;
        }
        if (t->json->len == 0) {
                if (legend)
                        fputs(empty, stdout);
                return;
        }
        print_rows(t, legend, ctl->full);
        if (legend)
                fputs(footer, stdout);
}

void ctl_table_free(CtlTable *t)
{
        if (!t)
                return;
        g_ptr_array_unref(t->rows);
        g_ptr_array_unref(t->json);
        g_free(t);
}

const char *ctl_cell(const char *s)
{
        return s && *s ? s : "-";
}

bool ctl_chatty(const Ctl *ctl)
{
        return !ctl->quiet && !ctl->json;
}
