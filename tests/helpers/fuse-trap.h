/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A real FUSE file system that stops answering: the fd a hostile peer or
 * caller attaches to make the service block (docs/security.md, "Untrusted
 * fds"). The test mounts it itself on /dev/fuse (root, no libfuse) and a
 * thread of the test serves the minimal protocol: INIT, LOOKUP, GETATTR,
 * OPEN, FLUSH, RELEASE, STATFS, so that one regular file can be opened.
 *
 * Once sprung for a victim process, every request from a thread of that
 * process or of its children is left unanswered (FLUSH on close, STATFS, GETATTR, ...), as a
 * hostile server would; requests of other processes (the test itself, the
 * test's dbus-daemon, which closes the fds it forwards) are still answered,
 * so the test measures the victim alone. fuse_trap_free() aborts the
 * connection (every stalled request fails) and unmounts. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct FuseTrap FuseTrap;

/* Why a FUSE trap cannot be used here, or NULL. Under valgrind the closers
 * of shared/async-close.c are threads (valgrind ends a program that makes
 * a process sharing its fd table), and a thread stuck in FLUSH holds the
 * whole process: these tests are about exactly that, so they do not run
 * under --setup valgrind or valgrinddaemon (memcheck runs the rest). */
const char *fuse_trap_unusable(void);
/* g_test_skip() with that reason; true when the test must return. */
bool fuse_trap_skip(void);
/* A test function that only skips, for g_test_add_func(). */
void fuse_trap_skip_test(void);
#define FUSE_TEST_ADD_FUNC(path, fn)                                                               \
        g_test_add_func(path, fuse_trap_unusable() ? fuse_trap_skip_test : fn)

/* Mounts the file system in a new directory under dir and starts serving.
 * Fails the test when it cannot (not root, no /dev/fuse). */
FuseTrap *fuse_trap_new(const char *dir);
/* Aborts the connection, unmounts, stops the thread. NULL-safe. */
void fuse_trap_free(FuseTrap *t);

/* Opens the trap's regular file (O_RDWR | O_CLOEXEC); fails the test when
 * it cannot. */
int fuse_trap_open(FuseTrap *t);
/* From now on requests of every thread of process victim, and of its child
 * processes, stay unanswered. */
void fuse_trap_spring(FuseTrap *t, pid_t victim);
/* How many requests of the victim are left unanswered so far, and how many
 * of them were opcode (FUSE_FLUSH ...), 0 for all. */
unsigned fuse_trap_stalled(FuseTrap *t, uint32_t opcode);
/* Runs fn(userdata) on a thread of this process, sprung for this process,
 * and waits for it until timeout_ms: true when it returned in time without
 * any request stalled. A call still stuck is released by fuse_trap_free(),
 * which joins it. One call per trap. */
bool fuse_trap_call(FuseTrap *t, void (*fn)(void *userdata), void *userdata, int timeout_ms);
/* Waits until at least n requests of the victim are stalled; false at the
 * deadline. */
bool fuse_trap_wait_stalled(FuseTrap *t, unsigned n, int timeout_ms);
