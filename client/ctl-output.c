/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: tables, JSON, and the formats of sizes, times and UUIDs. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "ctl.h"

struct CtlTable {
        guint n_columns;
        GPtrArray *rows; /* GStrv, the first one the header */
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
        return t;
}

void ctl_table_add_row(CtlTable *t, const char *first_cell, ...)
{
        va_list ap;
        GStrv row;

        va_start(ap, first_cell);
        row = collect(first_cell, ap);
        va_end(ap);
        g_assert(g_strv_length(row) == t->n_columns);
        g_ptr_array_add(t->rows, row);
}

guint ctl_table_rows(const CtlTable *t)
{
        return t->rows->len - 1;
}

void ctl_table_print(const CtlTable *t, bool no_legend)
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

void ctl_table_free(CtlTable *t)
{
        if (!t)
                return;
        g_ptr_array_unref(t->rows);
        g_free(t);
}

void ctl_json_string(GString *out, const char *s)
{
        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
                switch (*p) {
                case '"':
                        g_string_append(out, "\\\"");
                        break;
                case '\\':
                        g_string_append(out, "\\\\");
                        break;
                case '\n':
                        g_string_append(out, "\\n");
                        break;
                case '\t':
                        g_string_append(out, "\\t");
                        break;
                default:
                        if (*p < 0x20)
                                g_string_append_printf(out, "\\u%04x", *p);
                        else
                                g_string_append_c(out, (char) *p);
                }
        }
        g_string_append_c(out, '"');
}

static void json_key_string(GString *out, const char *key, const char *value, bool comma)
{
        g_string_append_printf(out, "%s\"%s\": ", comma ? ", " : "", key);
        ctl_json_string(out, value);
}

static void json_key_u64(GString *out, const char *key, uint64_t value)
{
        g_string_append_printf(out, ", \"%s\": %" PRIu64, key, value);
}

/* The JSON field names are a stable interface, listed in vhost-sharectl(1). */
void ctl_json_object(GString *out, const CtlObject *o, GPtrArray *peers)
{
        g_string_append_c(out, '{');
        json_key_string(out, "uuid", o->uuid, false);
        json_key_string(out, "path", o->path, true);
        json_key_string(out, "type", o->type, true);
        json_key_string(out, "owner", ctl_object_owner_display(o, peers), true);
        json_key_string(out, "owner_path", o->owner, true);
        json_key_string(out, "owner_bus_name", o->owner_bus_name, true);
        json_key_u64(out, "size", o->size);
        json_key_string(out, "exporter", o->exporter, true);
        json_key_string(out, "name", o->name, true);
        json_key_string(out, "device", o->device, true);
        json_key_u64(out, "created_usec", o->created_usec);
        json_key_u64(out, "lookup_count", o->lookup_count);
        g_string_append_c(out, '}');
}

void ctl_json_print_new_object(const char *uuid, const char *path, uint64_t size)
{
        g_autoptr(GString) out = g_string_new("{");

        json_key_string(out, "uuid", uuid, false);
        json_key_string(out, "path", path, true);
        json_key_u64(out, "size", size);
        g_string_append_c(out, '}');
        puts(out->str);
}

void ctl_json_peer(GString *out, const CtlPeer *p)
{
        g_string_append_c(out, '{');
        json_key_string(out, "id", ctl_peer_id(p), false);
        json_key_string(out, "path", p->path, true);
        json_key_string(out, "name", p->name, true);
        json_key_string(out, "role", p->role, true);
        json_key_string(out, "socket_path", p->socket_path, true);
        json_key_string(out, "state", p->state, true);
        json_key_u64(out, "features", p->features);
        json_key_u64(out, "protocol_features", p->protocol_features);
        g_string_append_printf(out, ", \"shared_objects\": %s",
                               p->shared_objects ? "true" : "false");
        json_key_u64(out, "pid", p->pid);
        json_key_u64(out, "uid", p->uid);
        json_key_u64(out, "exported_count", p->exported_count);
        json_key_string(out, "last_error", p->last_error, true);
        g_string_append_c(out, '}');
}

bool ctl_parse_uuid(const char *s, char out[37])
{
        uuid_t u;
        char buf[37];

        if (strlen(s) == 32) {
                /* The object-path form: 32 hex digits. */
                for (int i = 0; i < 32; i++)
                        if (!g_ascii_isxdigit(s[i]))
                                return false;
                snprintf(buf, sizeof(buf), "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12, s + 16,
                         s + 20);
                s = buf;
        }
        if (strlen(s) != 36 || uuid_parse(s, u) < 0)
                return false;
        uuid_unparse_lower(u, out);
        return true;
}

uint8_t ctl_uuid_pattern_seed(const char *uuid36)
{
        uuid_t u;

        if (uuid_parse(uuid36, u) < 0)
                return 0;
        return u[0] ^ u[7] ^ u[15];
}

bool ctl_parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        guint64 v, mult = 1;

        if (!s || !g_ascii_isdigit(*s))
                return false;
        v = g_ascii_strtoull(s, &end, 10);
        switch (*end) {
        case 'K':
        case 'k':
                mult = 1ULL << 10;
                end++;
                break;
        case 'M':
                mult = 1ULL << 20;
                end++;
                break;
        case 'G':
                mult = 1ULL << 30;
                end++;
                break;
        case 0:
                break;
        default:
                return false;
        }
        if (*end || v > UINT64_MAX / mult)
                return false;
        *ret = v * mult;
        return true;
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
