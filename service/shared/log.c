/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        int saved = errno;
        int e = abs(error);

        if (level <= max_level) {
                char buf[1024];
                va_list ap;

                /* "%m" in fmt names error; without it, the reason is appended. */
                errno = e;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof(buf), fmt, ap);
                va_end(ap);
                if (e != 0 && !strstr(fmt, "%m"))
                        fprintf(stderr, "<%d>%s: %s\n", level, buf, strerror(e));
                else
                        fprintf(stderr, "<%d>%s\n", level, buf);
        }
        errno = saved;
        return -e;
}
