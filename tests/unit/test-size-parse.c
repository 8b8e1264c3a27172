/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* size_parse(): the one rule for sizes on the command lines of
 * vhost-sharectl and vhost-share-device. */

#include <errno.h>
#include <stdint.h>

#include <glib.h>

#include "size-parse.h"

static void test_accepted(void)
{
        static const struct {
                const char *text;
                uint64_t bytes;
        } table[] = {
            {"0", 0},
            {"1", 1},
            {"4096", 4096},
            {"4096B", 4096},
            {"4096b", 4096},
            {"1k", 1024},
            {"1K", 1024},
            {"1KiB", 1024},
            {"1kib", 1024},
            {"64K", 65536},
            {"1M", 1 << 20},
            {"1m", 1 << 20},
            {"1MiB", 1 << 20},
            {"1g", 1 << 30},
            {"1G", 1 << 30},
            {"1GiB", 1 << 30},
            {"1T", 1ULL << 40},
            {"1t", 1ULL << 40},
            {"1TiB", 1ULL << 40},
            {"007K", 7 << 10},
            {"18446744073709551615", UINT64_MAX},
            {"16777215T", 16777215ULL << 40},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                uint64_t v = 12345;

                if (size_parse(table[i].text, &v) != 0)
                        g_error("\"%s\" refused", table[i].text);
                if (v != table[i].bytes)
                        g_error("\"%s\" is %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT,
                                table[i].text, v, table[i].bytes);
        }
}

static void test_refused(void)
{
        static const struct {
                const char *text;
                int error;
        } table[] = {
            {"", -EINVAL},
            {"K", -EINVAL},
            {"-1", -EINVAL},
            {"+1", -EINVAL},
            {" 1", -EINVAL},
            {"1 ", -EINVAL},
            {"1 K", -EINVAL},
            {"1.5M", -EINVAL},
            {"0x10", -EINVAL},
            {"1KB", -EINVAL}, /* SI or IEC? Not guessed. */
            {"1Ki", -EINVAL},
            {"1P", -EINVAL},
            {"1KK", -EINVAL},
            {"lots", -EINVAL},
            {"1\n", -EINVAL},
            {"99999999999999999999x", -EINVAL},
            {"18446744073709551616", -ERANGE},
            {"99999999999999999999", -ERANGE},
            {"99999999999999999999K", -ERANGE},
            {"16777216T", -ERANGE},
            {"17179869184G", -ERANGE},
            {"18014398509481984K", -ERANGE},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                uint64_t v = 12345;
                int r = size_parse(table[i].text, &v);

                if (r != table[i].error)
                        g_error("\"%s\": %d, expected %d", table[i].text, r, table[i].error);
                g_assert_cmpuint(v, ==, 12345); /* untouched */
        }
        g_assert_cmpint(size_parse(NULL, &(uint64_t){0}), ==, -EINVAL);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/size-parse/accepted", test_accepted);
        g_test_add_func("/size-parse/refused", test_refused);
        return g_test_run();
}
