/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Names of enum values, from a table indexed by the enum (systemd's string
 * tables). A file defines foo_to_string() with
 *
 *         static const char *const foo_names[] = {
 *             [FOO_A] = "a",
 *             [FOO_B] = "b",
 *         };
 *         DEFINE_ENUM_TO_STRING(foo, Foo);
 *
 * and declares `const char *foo_to_string(Foo v);` in its header. */

#include <glib.h>
#include <stddef.h>

/* names[v], or "unknown" when v is outside the table or has no name in it. */
const char *enum_name(const char *const *names, size_t n, size_t v);

#define DEFINE_ENUM_TO_STRING(name, type)                                                          \
        const char *name##_to_string(type v)                                                       \
        {                                                                                          \
                return enum_name(name##_names, G_N_ELEMENTS(name##_names), (size_t) v);            \
        }
