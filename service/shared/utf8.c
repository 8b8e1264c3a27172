/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "utf8.h"

#include <string.h>

#include <glib.h>

void utf8_copy_valid(char *dst, size_t dst_size, const char *text)
{
        g_autofree char *valid = g_utf8_make_valid(text, -1);
        const char *end = valid;

        while (*end) {
                const char *next = g_utf8_next_char(end);
                if ((size_t) (next - valid) >= dst_size)
                        break;
                end = next;
        }
        memcpy(dst, valid, (size_t) (end - valid));
        dst[end - valid] = '\0';
}

char *utf8_dup_valid(const char *text)
{
        return text ? g_utf8_make_valid(text, -1) : NULL;
}
