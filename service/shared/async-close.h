/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Closing fds that came from outside without ever blocking the caller.
 *
 * close() of a file on a FUSE mount sends FLUSH and waits for the server's
 * answer, uninterruptibly once the server has read it (not even SIGKILL ends
 * the wait); the last close of a socket may linger. A peer or bus caller
 * that serves such a file would stop the event loop. So every fd that came
 * from outside is closed by a closer: a small set (up to four, started as
 * needed) of helper processes that share this process's fd table
 * (clone(CLONE_FILES), not a thread: a thread stuck in FLUSH would keep the
 * whole process from exiting; a process of its own lets the service exit at
 * once and only the closer waits). A closer dies with the thread that first
 * started one. Where such a process cannot be made (valgrind) the closers
 * are threads.
 *
 * Everything here is for one thread (the event loop's). */

#include <stdbool.h>

/* Starts the plumbing and the first closer (idempotent): 0 or -errno.
 * async_close() calls it; the service calls it early so that its fd
 * count does not change later. */
int async_close_init(void);

/* Hands fd to a closer and returns at once; fd is taken (nothing when
 * fd < 0). Without a closer (async_close_init() failed) it closes fd
 * here. */
void async_close(int fd);

/* _cleanup_async_close_ int fd = ...: async_close() at the end of the scope,
 * for an fd that came from outside. */
static inline void async_closep(int *fd)
{
        async_close(*fd);
}
#define _cleanup_async_close_ __attribute__((cleanup(async_closep)))

typedef void (*AsyncCloseDone)(void *userdata);

/* Makes slot fd refer to /dev/null (dup2 on a closer), so that the file it
 * held is let go there; the slot itself stays open for its owner to close
 * (sd-bus, whose message owns it). done(userdata) runs from
 * async_close_dispatch() once the old file is released. 0 or -errno (then
 * done never runs and nothing happened). */
int async_close_replace(int fd, AsyncCloseDone done, void *userdata);

/* Readable when finished requests are waiting for async_close_dispatch(),
 * or -errno before async_close_init(). */
int async_close_event_fd(void);
/* Takes in what the closers finished and runs the done callbacks due. */
void async_close_dispatch(void);

/* Requests handed over and not finished yet. */
unsigned async_close_pending(void);
/* Waits until every request handed over is finished, dispatching; false
 * at the deadline. For tests and leak counts. */
bool async_close_wait_idle(int timeout_ms);
/* How many fds the closers' plumbing holds open (0 before init). */
int async_close_own_fds(void);
