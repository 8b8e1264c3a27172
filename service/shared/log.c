/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define LOG_LINE_MAX 1024

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

/* Copies text to out (4 * LOG_LINE_MAX + 1 bytes), escaping what could end
 * the line or hide what it says: control characters as \n \t \r or \xNN,
 * the backslash (so an escape reads as one), and bytes that are not UTF-8,
 * which journald would store as an unreadable blob. */
static void escape_line(const char *text, char *out)
{
        const char *end = text + strlen(text);
        char *o = out;

        for (const char *c = text; c < end;) {
                unsigned char b = (unsigned char) *c;
                const char *valid_end;

                if (b >= 0x80) { /* copy a run of valid UTF-8 as it is */
                        g_utf8_validate(c, end - c, &valid_end);
                        if (valid_end > c) {
                                memcpy(o, c, valid_end - c);
                                o += valid_end - c;
                                c = valid_end;
                                continue;
                        }
                }
                if (b == '\n')
                        o = stpcpy(o, "\\n");
                else if (b == '\t')
                        o = stpcpy(o, "\\t");
                else if (b == '\r')
                        o = stpcpy(o, "\\r");
                else if (b == '\\')
                        o = stpcpy(o, "\\\\");
                else if (b < 0x20 || b >= 0x7f)
                        o += snprintf(o, 5, "\\x%02x", b);
                else
                        *o++ = (char) b;
                c++;
        }
        *o = 0;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        int saved = errno;
        int e = abs(error);

        if (level <= max_level) {
                char buf[LOG_LINE_MAX], line[4 * LOG_LINE_MAX + 1];
                va_list ap;
                size_t len;

                /* "%m" in fmt names error; without it, the reason is appended. */
                errno = e;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof(buf), fmt, ap);
                va_end(ap);
                len = strlen(buf);
                if (e != 0 && !strstr(fmt, "%m"))
                        snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(e));
                /* Whatever a logged string holds, it cannot start a line. */
                escape_line(buf, line);
                fprintf(stderr, "<%d>%s\n", level, line);
        }
        errno = saved;
        return -e;
}
