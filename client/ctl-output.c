/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: values as text, both ways (UUIDs, sizes, times), and the
 * two output forms of the listings: tables and JSON. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

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
        static const struct {
                char suffix;
                uint64_t factor;
        } units[] = {
            {'K', 1ULL << 10}, {'k', 1ULL << 10}, {'M', 1ULL << 20}, {'G', 1ULL << 30}, {0, 1},
        };
        char *end = NULL;
        guint64 v;

        if (!s || !g_ascii_isdigit(*s))
                return false;
        v = g_ascii_strtoull(s, &end, 10);
        for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
                if (*end != units[i].suffix)
                        continue;
                if (units[i].suffix && end[1])
                        return false;
                if (v > UINT64_MAX / units[i].factor)
                        return false;
                *ret = v * units[i].factor;
                return true;
        }
        return false;
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

const char *ctl_format_timestamp(uint64_t usec, char buf[64])
{
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;
        char date[40];

        gmtime_r(&sec, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, 64, "%s.%06u", date, (unsigned) (usec % 1000000));
        return buf;
}

struct CtlTable {
        guint n_columns;
        GPtrArray *rows; /* GStrv, the first one the header */
        GPtrArray *json; /* char*, one per row after the header */
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
        t->json = g_ptr_array_new_with_free_func(g_free);
        return t;
}

void ctl_table_add_row(CtlTable *t, const char *json, const char *first_cell, ...)
{
        va_list ap;
        GStrv row;

        va_start(ap, first_cell);
        row = collect(first_cell, ap);
        va_end(ap);
        g_assert(g_strv_length(row) == t->n_columns);
        g_ptr_array_add(t->rows, row);
        g_ptr_array_add(t->json, g_strdup(json));
}

static void print_json_array(const CtlTable *t)
{
        g_autoptr(GString) out = g_string_new("[");

        for (guint i = 0; i < t->json->len; i++) {
                g_string_append(out, i ? ",\n  " : "\n  ");
                g_string_append(out, g_ptr_array_index(t->json, i));
        }
        g_string_append(out, t->json->len ? "\n]\n" : "]\n");
        fputs(out->str, stdout);
}

static void print_rows(const CtlTable *t, bool no_legend)
{
        g_autofree size_t *width = g_new0(size_t, t->n_columns);

        for (guint r = no_legend ? 1 : 0; r < t->rows->len; r++) {
                GStrv row = g_ptr_array_index(t->rows, r);

                for (guint c = 0; c < t->n_columns; c++)
                        width[c] = MAX(width[c], (size_t) g_utf8_strlen(row[c], -1));
        }
        for (guint r = no_legend ? 1 : 0; r < t->rows->len; r++) {
                GStrv row = g_ptr_array_index(t->rows, r);

                for (guint c = 0; c < t->n_columns; c++) {
                        size_t pad = width[c] - (size_t) g_utf8_strlen(row[c], -1);

                        fputs(row[c], stdout);
                        if (c + 1 < t->n_columns)
                                printf("%*s", (int) pad + 1, "");
                }
                fputc('\n', stdout);
        }
}

void ctl_table_print(const CtlTable *t, const Ctl *ctl, const char *footer)
{
        if (ctl->json) {
                print_json_array(t);
                return;
        }
        if (t->json->len > 0 || ctl->no_legend)
                print_rows(t, ctl->no_legend);
        if (!ctl->no_legend)
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

void ctl_json_string(GString *out, const char *s)
{
        static const char *const escapes[] = {
            ['"'] = "\\\"",
            ['\\'] = "\\\\",
            ['\n'] = "\\n",
            ['\t'] = "\\t",
        };

        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
                if (*p < G_N_ELEMENTS(escapes) && escapes[*p])
                        g_string_append(out, escapes[*p]);
                else if (*p < 0x20)
                        g_string_append_printf(out, "\\u%04x", *p);
                else
                        g_string_append_c(out, (char) *p);
        }
        g_string_append_c(out, '"');
}

/* Starts a member: ", " unless it is the first, then "key": . */
static void json_member(GString *out, const char *key)
{
        bool first = out->len > 0 && out->str[out->len - 1] == '{';

        g_string_append_printf(out, "%s\"%s\": ", first ? "" : ", ", key);
}

void ctl_json_member_string(GString *out, const char *key, const char *value)
{
        json_member(out, key);
        ctl_json_string(out, value);
}

void ctl_json_member_u64(GString *out, const char *key, uint64_t value)
{
        json_member(out, key);
        g_string_append_printf(out, "%" PRIu64, value);
}

void ctl_json_member_bool(GString *out, const char *key, bool value)
{
        json_member(out, key);
        g_string_append(out, value ? "true" : "false");
}

void ctl_json_print_new_object(const char *uuid, const char *path, uint64_t size)
{
        g_autoptr(GString) out = g_string_new("{");

        ctl_json_member_string(out, "uuid", uuid);
        ctl_json_member_string(out, "path", path);
        ctl_json_member_u64(out, "size", size);
        g_string_append_c(out, '}');
        puts(out->str);
}
