/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <uuid/uuid.h>

#include "uuid-util.h"

static void random_uuid(uint8_t out[SHARE_UUID_SIZE])
{
        uuid_generate_random(out);
}

static void test_uuid_strings(void)
{
        static const uint8_t known[SHARE_UUID_SIZE] = {
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
            0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
        };
        char s[SHARE_UUID_STR_LEN];
        uint8_t u[SHARE_UUID_SIZE], v[SHARE_UUID_SIZE];
        const char *bad[] = {
            "",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",   /* 35 */
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00", /* 37 */
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",  /* not hex */
            "0f1e2d3c4-b5a-6978-8796-a5b4c3d2e1f0",  /* dash moved */
            "0f1e2d3c 4b5a 6978 8796 a5b4c3d2e1f0",  /* not dashes */
            "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f}",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f",   /* 31 hex */
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00", /* 33 hex */
            "0f1e2d3c4b5a69788796a5b4c3d2e1fz",
            " 0f1e2d3c4b5a69788796a5b4c3d2e1f",
            "0x1e2d3c4b5a69788796a5b4c3d2e1f0",
        };

        share_uuid_to_string(known, s);
        g_assert_cmpstr(s, ==, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

        g_assert_cmpint(share_uuid_from_string("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0f1e2d3c4b5a69788796a5b4c3d2e1f0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);
        memset(u, 0, sizeof(u));
        g_assert_cmpint(share_uuid_from_string("0F1E2D3C4B5A69788796A5B4C3D2E1F0", u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);

        for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
                memcpy(u, known, sizeof(u));
                if (share_uuid_from_string(bad[i], u) != -EINVAL)
                        g_error("accepted \"%s\"", bad[i]);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE); /* untouched */
        }
        g_assert_cmpint(share_uuid_from_string(NULL, u), ==, -EINVAL);

        /* Syntax only: nil and max parse, but are not valid object ids. */
        g_assert_cmpint(share_uuid_from_string("00000000-0000-0000-0000-000000000000", u), ==, 0);
        g_assert_false(share_uuid_is_valid(u));
        g_assert_cmpint(share_uuid_from_string("ffffffffffffffffffffffffffffffff", u), ==, 0);
        g_assert_false(share_uuid_is_valid(u));
        g_assert_false(share_uuid_is_valid(NULL));
        g_assert_true(share_uuid_is_valid(known));

        for (int i = 0; i < 100; i++) {
                g_autoptr(GString) nodash = g_string_new(NULL);

                random_uuid(u);
                share_uuid_to_string(u, s);
                g_assert_cmpuint(strlen(s), ==, 36);
                for (const char *c = s; *c; c++) {
                        g_assert_true(*c == '-' || g_ascii_isdigit(*c) || (*c >= 'a' && *c <= 'f'));
                        if (*c != '-')
                                g_string_append_c(nodash, *c);
                }
                g_assert_cmpint(share_uuid_from_string(s, v), ==, 0);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, v, SHARE_UUID_SIZE);
                memset(v, 0, sizeof(v));
                g_assert_cmpint(share_uuid_from_string(nodash->str, v), ==, 0);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, v, SHARE_UUID_SIZE);
        }
}

/* The object-path form: 32 lowercase hex digits, the 36-character form
 * without its dashes; both parse back to the same bytes. */
static void test_uuid_hex(void)
{
        static const uint8_t known[SHARE_UUID_SIZE] = {
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
            0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
        };
        char hex[SHARE_UUID_HEX_LEN], s[SHARE_UUID_STR_LEN];
        uint8_t u[SHARE_UUID_SIZE], v[SHARE_UUID_SIZE];

        memset(hex, 'x', sizeof(hex));
        share_uuid_to_hex(known, hex);
        g_assert_cmpstr(hex, ==, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        g_assert_cmpint(share_uuid_from_string(hex, u), ==, 0);
        g_assert_cmpmem(u, SHARE_UUID_SIZE, known, SHARE_UUID_SIZE);

        for (int i = 0; i < 100; i++) {
                g_autoptr(GString) nodash = g_string_new(NULL);

                random_uuid(u);
                share_uuid_to_hex(u, hex);
                share_uuid_to_string(u, s);
                g_assert_cmpuint(strlen(hex), ==, 32);
                for (const char *c = hex; *c; c++)
                        g_assert_true(g_ascii_isdigit(*c) || (*c >= 'a' && *c <= 'f'));
                for (const char *c = s; *c; c++)
                        if (*c != '-')
                                g_string_append_c(nodash, *c);
                g_assert_cmpstr(hex, ==, nodash->str);
                memset(v, 0, sizeof(v));
                g_assert_cmpint(share_uuid_from_string(hex, v), ==, 0);
                g_assert_cmpmem(u, SHARE_UUID_SIZE, v, SHARE_UUID_SIZE);
        }
}

/* Only nil and max are refused: one byte off either is a valid id. */
static void test_uuid_validity(void)
{
        uint8_t u[SHARE_UUID_SIZE];

        memset(u, 0, sizeof(u));
        g_assert_false(share_uuid_is_valid(u));
        memset(u, 0xff, sizeof(u));
        g_assert_false(share_uuid_is_valid(u));
        u[15] = 0xfe;
        g_assert_true(share_uuid_is_valid(u));
        memset(u, 0, sizeof(u));
        u[0] = 1;
        g_assert_true(share_uuid_is_valid(u));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/uuid-util/strings", test_uuid_strings);
        g_test_add_func("/uuid-util/hex", test_uuid_hex);
        g_test_add_func("/uuid-util/validity", test_uuid_validity);
        return g_test_run();
}
