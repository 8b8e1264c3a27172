/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "size-parse.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>

/* The suffixes after the digits, with their shift; "" is plain bytes. */
static const struct {
        const char *suffix;
        unsigned shift;
} units[] = {
    {"", 0},     {"b", 0},  {"k", 10},   {"kib", 10}, {"m", 20},
    {"mib", 20}, {"g", 30}, {"gib", 30}, {"t", 40},   {"tib", 40},
};

int size_parse(const char *s, uint64_t *ret)
{
        bool overflow = false;
        uint64_t v = 0;
        const char *p;

        if (!s || !g_ascii_isdigit(*s))
                return -EINVAL;
        /* All digits are read even past an overflow: "99999999999999999999x"
         * is junk (-EINVAL), not too large. */
        for (p = s; g_ascii_isdigit(*p); p++) {
                unsigned digit = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - digit) / 10)
                        overflow = true;
                else
                        v = v * 10 + digit;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
                if (g_ascii_strcasecmp(p, units[i].suffix) != 0)
                        continue;
                if (overflow || v > (UINT64_MAX >> units[i].shift))
                        return -ERANGE;
                *ret = v << units[i].shift;
                return 0;
        }
        return -EINVAL;
}
