/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The process harness of the tests that drive real programs: a per-test
 * temporary directory, children (programs or forked functions) with their
 * stdin, stdout and stderr piped and read line by line (each line stamped
 * with a harness-wide arrival number, so tests can assert on the order of
 * events across processes), sd_notify readiness, exit and fd-count waits.
 * Every wait has a deadline (the caller's, normally TEST_TIMEOUT_MS) and
 * fails the test with everything the children printed so far; nothing
 * sleeps a fixed time. Raw vhost-user peers (raw-peer.h) wait through it.
 *
 * Children die with the test process (PR_SET_PDEATHSIG) and are stopped and
 * reaped, newest first, by harness_free(). harness.c starts, pumps and
 * stops them; harness-wait.c waits on their output and fds;
 * harness-programs.c starts the project's own programs. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "raw-peer.h"
#include "test-timeout.h"

typedef struct Harness Harness;
typedef struct HarnessProc HarnessProc;

typedef struct {
        char *text;   /* without the newline */
        uint64_t seq; /* harness-wide arrival order, from 1 */
        int64_t usec; /* when it was read (g_get_monotonic_time), for timing */
} HarnessLine;

typedef enum {
        HARNESS_STDOUT,
        HARNESS_STDERR,
} HarnessStream;

typedef enum {
        HARNESS_SPAWN_DEFAULT = 0,
        /* Set NOTIFY_SOCKET and wait for READY=1 from this child. */
        HARNESS_SPAWN_WAIT_READY = 1 << 0,
        /* At teardown, SIGTERM must make it exit with status 0 (sanitizer
         * reports and leaks turn into a failure). */
        HARNESS_SPAWN_CHECK_EXIT = 1 << 1,
} HarnessSpawnFlags;

/* Creates the temporary directory (removed again by harness_free unless the
 * test failed). */
Harness *harness_new(void);
void harness_free(Harness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Harness, harness_free)

const char *harness_dir(Harness *h);
/* dir/name; g_free the result. */
char *harness_path(Harness *h, const char *name);
/* $VHOST_SHARE_BUILD_ROOT/rel and $VHOST_SHARE_SOURCE_ROOT/rel (fail the
 * test when unset: meson test sets them); g_free the result. */
char *harness_build_file(const char *rel);
char *harness_source_file(const char *rel);

/* Fails the test: logs message, then every child's output, then aborts. */
void harness_fail(Harness *h, const char *fmt, ...) G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN;

/* Starts argv (argv[0] a path) with stdin, stdout and stderr piped. env_extra
 * holds "NAME=value" strings (may be NULL). name is for messages. */
HarnessProc *harness_spawn(Harness *h, const char *name, const char *const *argv,
                           const char *const *env_extra, HarnessSpawnFlags flags);
/* vhost-shared --no-bus plus the NULL-terminated arguments; waits for
 * READY=1 and checks a clean exit at teardown. */
HarnessProc *harness_spawn_hub(Harness *h, const char *arg, ...) G_GNUC_NULL_TERMINATED;
/* vhost-share-device with the NULL-terminated arguments. */
HarnessProc *harness_spawn_device(Harness *h, const char *name, const char *arg,
                                  ...) G_GNUC_NULL_TERMINATED;
/* The same with a NULL-terminated argument array. */
HarnessProc *harness_spawn_hubv(Harness *h, const char *const *args);
HarnessProc *harness_spawn_devicev(Harness *h, const char *name, const char *const *args);

/* Runs fn(userdata) in a forked child (stdin, stdout and stderr piped like
 * a program's) and exits with what it returns. The child must not touch
 * the harness. */
HarnessProc *harness_fork(Harness *h, const char *name, int (*fn)(void *userdata), void *userdata);

pid_t harness_proc_pid(const HarnessProc *p);
const char *harness_proc_name(const HarnessProc *p);

/* Waits for the next line of the stream that starts with prefix (earlier
 * lines are passed over and stay in the log) and returns it; the line
 * belongs to the harness. Fails the test at the deadline or when the
 * stream ends first. */
const HarnessLine *harness_expect_line(HarnessProc *p, const char *prefix, int timeout_ms);
/* The same for any stream, matching a substring. */
const HarnessLine *harness_expect_output(HarnessProc *p, HarnessStream stream,
                                         const char *substring, int timeout_ms);
/* Waits for any line of the stream, seen before or not, containing
 * substring; leaves the expect position alone (for events whose order
 * does not matter). */
const HarnessLine *harness_wait_output(HarnessProc *p, HarnessStream stream, const char *substring,
                                       int timeout_ms);
/* The newest line so far of the stream containing substring, without
 * waiting, or NULL. */
const HarnessLine *harness_find_line(HarnessProc *p, HarnessStream stream, const char *substring);

/* How many lines of the stream so far contain substring (no waiting). */
unsigned harness_count_lines(HarnessProc *p, HarnessStream stream, const char *substring);

/* Every line of the stream so far (HarnessLine*), oldest first, for tests
 * that match in their own way; pumps first. Owned by the harness. */
const GPtrArray *harness_lines(HarnessProc *p, HarnessStream stream);

/* Writes one line to the child's stdin. */
void harness_send_line(HarnessProc *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Sends SIGTERM and waits for the exit; returns the wait status. A child
 * spawned with HARNESS_SPAWN_CHECK_EXIT is still checked at teardown. */
int harness_stop(HarnessProc *p, int timeout_ms);
/* Sends sig (no-op once the child has been reaped); the child is no longer
 * checked for a clean exit. */
void harness_kill(HarnessProc *p, int sig);
/* Waits until the child exits; returns its wait status. */
int harness_wait_exit(HarnessProc *p, int timeout_ms);
bool harness_proc_exited(const HarnessProc *p);
/* The test judges this child's exit itself: teardown no longer checks it. */
void harness_proc_skip_exit_check(HarnessProc *p);

/* Reads everything the children wrote, and notifications, for up to
 * timeout_ms or until something arrived. Tests that wait on their own fds
 * call it so children never block on a full pipe. */
void harness_pump(Harness *h, int timeout_ms);
/* The same, returning early with true when fd has one of events. */
bool harness_wait_fd(Harness *h, int fd, short events, int timeout_ms);

/* The open fds of pid (files under /proc, opened and closed in passing,
 * do not count), or -errno. */
int harness_count_fds(pid_t pid);
/* Waits until the child has exactly n open fds; fails with the last count. */
void harness_wait_fd_count(HarnessProc *p, int n, int timeout_ms);

/* ---- sockets ---- */

/* Connects an AF_UNIX stream socket to path. */
int harness_unix_connect(Harness *h, const char *path);
/* A raw peer (raw-peer.h) connected to path, waiting through this harness
 * and failing the test with its children's output. No handshake yet. */
RawPeer *harness_raw_peer_connect(Harness *h, const char *path, RawPeerRole role);
