/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shared/enum-name.h: names from a table indexed by the enum, "unknown"
 * for anything the table does not name. */

#include <stdint.h>

#include <glib.h>

#include "enum-name.h"

typedef enum {
        COLOUR_RED,
        COLOUR_GREEN,
        COLOUR_BLUE, /* deliberately left out of the table */
        COLOUR_GREY,
} Colour;

static const char *const colour_names[] = {
    [COLOUR_RED] = "red",
    [COLOUR_GREEN] = "green",
    [COLOUR_GREY] = "grey",
};

const char *colour_to_string(Colour v);
DEFINE_ENUM_TO_STRING(colour, Colour);

static void test_in_range(void)
{
        g_assert_cmpstr(enum_name(colour_names, G_N_ELEMENTS(colour_names), 0), ==, "red");
        g_assert_cmpstr(enum_name(colour_names, G_N_ELEMENTS(colour_names), 3), ==, "grey");
        g_assert_cmpstr(colour_to_string(COLOUR_RED), ==, "red");
        g_assert_cmpstr(colour_to_string(COLOUR_GREEN), ==, "green");
        g_assert_cmpstr(colour_to_string(COLOUR_GREY), ==, "grey");
}

static void test_unnamed(void)
{
        /* A value inside the table without a name: a hole, not a crash. */
        g_assert_cmpuint(G_N_ELEMENTS(colour_names), ==, 4);
        g_assert_cmpstr(colour_to_string(COLOUR_BLUE), ==, "unknown");
}

static void test_out_of_range(void)
{
        g_assert_cmpstr(enum_name(colour_names, G_N_ELEMENTS(colour_names), 4), ==, "unknown");
        g_assert_cmpstr(enum_name(colour_names, G_N_ELEMENTS(colour_names), SIZE_MAX), ==,
                        "unknown");
        g_assert_cmpstr(enum_name(colour_names, 0, 0), ==, "unknown");
        g_assert_cmpstr(colour_to_string((Colour) 4), ==, "unknown");
        g_assert_cmpstr(colour_to_string((Colour) -1), ==, "unknown");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/enum-name/in-range", test_in_range);
        g_test_add_func("/enum-name/unnamed", test_unnamed);
        g_test_add_func("/enum-name/out-of-range", test_out_of_range);
        return g_test_run();
}
