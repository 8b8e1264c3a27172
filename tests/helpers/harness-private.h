/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the harness*.c files share: the structures and the pump. */

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <time.h>

#include <glib.h>

#include "harness.h"

#define N_STREAMS 2

struct HarnessProc {
        Harness *harness;
        char *name;
        HarnessSpawnFlags flags;
        pid_t pid;
        int pidfd;             /* -1 where pidfd_open is missing (valgrind): then polled */
        int in_fd;             /* our end of its stdin, -1 when closed */
        int out_fd[N_STREAMS]; /* our ends of stdout and stderr, -1 after EOF */
        GString *partial[N_STREAMS];
        GPtrArray *lines[N_STREAMS]; /* HarnessLine* */
        guint cursor[N_STREAMS];     /* first line harness_expect_* has not passed */
        bool ready;
        bool exited;
        bool killed; /* the test sent a signal itself or judges the exit: no exit check */
        int status;
};

struct Harness {
        char *dir;
        char *notify_path;
        int notify_fd;
        GPtrArray *procs; /* HarnessProc*, spawn order */
        uint64_t seq;
        bool dumped;
        struct sigaction old_abort;
};

extern const char *const harness_stream_names[N_STREAMS];

static inline int64_t harness_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int harness_remaining_ms(int64_t deadline)
{
        int64_t left = deadline - harness_now_ms();

        return left < 0 ? 0 : (int) MIN(left, INT32_MAX);
}

/* Waits up to timeout_ms for anything from the children (output, exit,
 * notification) or for extra_fd (when >= 0) to have extra_events, and
 * takes it in; *extra_ready says whether extra_fd did. */
void harness_pump_full(Harness *h, int extra_fd, short extra_events, int timeout_ms,
                       bool *extra_ready);
