/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "enum-name.h"

const char *enum_name(const char *const *names, size_t n, size_t v)
{
        if (v >= n || !names[v])
                return "unknown";
        return names[v];
}
