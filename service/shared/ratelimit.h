/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* At most a burst of events per interval: for log lines a peer can make us
 * repeat at its own rate (one per message it sends or fails to read). The
 * *_ratelimited log macros keep one RateLimit per call site and, when an
 * interval that dropped lines is over, say how many with the next line. */

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

typedef struct {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin;      /* start of the current interval, 0 before the first event */
        unsigned n;          /* events in the current interval */
        unsigned suppressed; /* of them, over the burst */
} RateLimit;

#define RATELIMIT_INTERVAL_USEC (10ull * 1000 * 1000)
#define RATELIMIT_BURST 20
#define RATELIMIT_INIT                                                                             \
        {                                                                                          \
                .interval_usec = RATELIMIT_INTERVAL_USEC, .burst = RATELIMIT_BURST                 \
        }

/* Counts an event at now_usec (monotonic). true: let it through; then
 * *ret_suppressed is how many the interval before it dropped (0 mostly),
 * for the caller to report once. false: drop it. */
bool ratelimit_below(RateLimit *rl, uint64_t now_usec, unsigned *ret_suppressed);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t ratelimit_now_usec(void);

#define log_ratelimited(level, ...)                                                                \
        do {                                                                                       \
                static RateLimit _rl = RATELIMIT_INIT;                                             \
                unsigned _suppressed;                                                              \
                if (ratelimit_below(&_rl, ratelimit_now_usec(), &_suppressed)) {                   \
                        if (_suppressed > 0)                                                       \
                                log_internal(level, 0, "%s: %u similar messages suppressed",       \
                                             __func__, _suppressed);                               \
                        log_internal(level, 0, __VA_ARGS__);                                       \
                }                                                                                  \
        } while (0)

#define log_info_ratelimited(...) log_ratelimited(LOG_INFO, __VA_ARGS__)
#define log_warning_ratelimited(...) log_ratelimited(LOG_WARNING, __VA_ARGS__)
