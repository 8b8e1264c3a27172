/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shared/ratelimit.h: a burst per interval, then silence, then one count of
 * what was dropped. */

#include <glib.h>

#include "ratelimit.h"

#define SEC (1000ull * 1000)

static void test_burst_then_count(void)
{
        RateLimit rl = {.interval_usec = 10 * SEC, .burst = 3};
        unsigned suppressed = 99;
        uint64_t t = 5 * SEC;

        for (unsigned i = 0; i < 3; i++) {
                g_assert_true(ratelimit_below(&rl, t + i, &suppressed));
                g_assert_cmpuint(suppressed, ==, 0);
        }
        for (unsigned i = 0; i < 1000; i++)
                g_assert_false(ratelimit_below(&rl, t + 10 + i, &suppressed));
        /* Still inside the interval. */
        g_assert_false(ratelimit_below(&rl, t + 10 * SEC - 1, &suppressed));
        /* The next interval: the first event says what was dropped, once. */
        g_assert_true(ratelimit_below(&rl, t + 10 * SEC, &suppressed));
        g_assert_cmpuint(suppressed, ==, 1001);
        g_assert_true(ratelimit_below(&rl, t + 10 * SEC + 1, &suppressed));
        g_assert_cmpuint(suppressed, ==, 0);
}

static void test_quiet_site_never_drops(void)
{
        RateLimit rl = {.interval_usec = 10 * SEC, .burst = 2};
        unsigned suppressed;

        for (unsigned i = 0; i < 100; i++) {
                g_assert_true(ratelimit_below(&rl, (uint64_t) i * 6 * SEC, &suppressed));
                g_assert_cmpuint(suppressed, ==, 0);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/ratelimit/burst-then-count", test_burst_then_count);
        g_test_add_func("/ratelimit/quiet-site-never-drops", test_quiet_site_never_drops);
        return g_test_run();
}
