/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ratelimit.h"

#include <time.h>

bool ratelimit_below(RateLimit *rl, uint64_t now_usec, unsigned *ret_suppressed)
{
        *ret_suppressed = 0;
        if (rl->begin == 0 || now_usec - rl->begin >= rl->interval_usec) {
                *ret_suppressed = rl->suppressed;
                rl->begin = now_usec ? now_usec : 1;
                rl->n = 0;
                rl->suppressed = 0;
        }
        if (rl->n < rl->burst) {
                rl->n++;
                return true;
        }
        rl->suppressed++;
        return false;
}

uint64_t ratelimit_now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
