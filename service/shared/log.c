/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#define LOG_LINE_MAX 1024

static int max_level = LOG_INFO;
static LogPrefix prefix_mode = LOG_PREFIX_AUTO;
static int prefix_decided = -1; /* LOG_PREFIX_AUTO's answer: -1 not yet, 0, 1 */

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_priority_prefix(LogPrefix mode)
{
        prefix_mode = mode;
        prefix_decided = -1;
}

bool log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int end = 0;

        /* systemd sets "DEV:INO" of the stream it connected to stderr; a
         * child that inherited the variable but not the stream (a shell
         * started from the unit, a redirected stderr) must not match. */
        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 || e[end] != '\0')
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static bool want_prefix(void)
{
        if (prefix_mode != LOG_PREFIX_AUTO)
                return prefix_mode == LOG_PREFIX_ALWAYS;
        if (prefix_decided < 0)
                prefix_decided = log_stderr_is_journal();
        return prefix_decided;
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
                if (want_prefix())
                        fprintf(stderr, "<%d>%s\n", level, line);
                else
                        fprintf(stderr, "%s\n", line);
        }
        errno = saved;
        return -e;
}
