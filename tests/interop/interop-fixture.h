/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the interop tests that read the processes' logs share: a fixture of
 * harness children (services, devices, QEMU) each with a cursor over its
 * stdout and stderr as one stream, in arrival order. Every wait has
 * TEST_TIMEOUT_MS as its deadline; a failure dumps what every process said.
 *
 * QEMU is spawned after the services it connects to, so the harness
 * (newest first) stops it before them: QEMU 10.0.2 aborts when a back-end
 * of a never-started device closes its sockets under it (docs/interop.md). */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"
#include "qemu.h"

#define MAX_PROCS 12

/* A child with a cursor over its merged output. */
typedef struct {
        HarnessProc *hp;
        const char *name;
        uint64_t cursor; /* seq of the line last matched; expectations look after it */
} Proc;

typedef struct {
        Harness *h;
        Proc procs[MAX_PROCS];
        unsigned n_procs;
} Fixture;

void fx_setup(Fixture *fx, gconstpointer data);
void fx_teardown(Fixture *fx, gconstpointer data);
#define INTEROP_TEST_ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)

/* dir/name of the fixture's directory (g_free it). */
char *fx_path(Fixture *fx, const char *name);
Proc *fx_add(Fixture *fx, HarnessProc *hp);
pid_t proc_pid(Proc *p);

/* The first line after the cursor containing a (and b), waiting up to
 * TEST_TIMEOUT_MS; the cursor moves to it. Fails the test with why and
 * everything every process said when it does not come. */
const HarnessLine *proc_expect2(Fixture *fx, Proc *p, const char *a, const char *b,
                                const char *why);
const char *proc_expect(Fixture *fx, Proc *p, const char *a, const char *why);
/* Whether any line so far (cursor or not) contains a (and b). */
bool proc_said(Fixture *fx, Proc *p, const char *a, const char *b);
void proc_send(Proc *p, const char *line);
/* SIGTERM, and waits for the exit. */
void proc_stop(Proc *p);

/* vhost-shared --no-bus -v ARGS...; returns once it sent READY=1. At the
 * end it must exit with status 0 on SIGTERM. */
Proc *start_service(Fixture *fx, const char *name, ...) G_GNUC_NULL_TERMINATED;
/* vhost-share-device ARGS.... */
Proc *start_device(Fixture *fx, const char *name, ...) G_GNUC_NULL_TERMINATED;
/* A vhost-share-device --commands connected to accept_sock, past READY. */
Proc *start_commands_device(Fixture *fx, const char *name, const char *accept_sock);
Proc *start_qemu(Fixture *fx, const char *const *sockets);

/* service-a (--serve=a.sock --accept=a-dev.sock) and service-b (b.sock,
 * b-dev.sock), then QEMU with a device on a.sock first and b.sock; returns
 * once both bridges are ready. */
void start_two_bridges(Fixture *fx, Proc **ret_a, Proc **ret_b);
/* vhost-share-device --import=uuid --exit-when-done on the hub of
 * accept_sock. */
Proc *start_importer(Fixture *fx, const char *accept_sock, const char *uuid);

/* --serve=PATH[,options] for a socket in the fixture directory. */
char *serve_arg(Fixture *fx, const char *sock, const char *options);
/* --option=PATH for a socket in the fixture directory. */
char *path_arg(Fixture *fx, const char *option, const char *sock);
/* Field n (0-based, space-separated) of a line. */
char *field(const char *line, unsigned n);
/* Waits for the bridge on socket sock (a file name in the fixture) to be
 * ready with shared objects; returns the line. */
const HarnessLine *expect_bridge_ready(Fixture *fx, Proc *svc, const char *sock);

/* The open fds of pid (asserted readable). */
int count_fds(pid_t pid);
/* The target of an fd of pid whose link contains part, or NULL. */
char *fd_target_matching(pid_t pid, const char *part);
/* Waits until p has at most n fds open; returns the count. */
int wait_fds_at_most(Fixture *fx, Proc *p, int n);

#define UUID_A "3f0a5e7c-1b2d-4c6e-8f90-a1b2c3d4e5f6"
#define UUID_B "7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d"
#define UUID_C "c0ffee00-1234-4567-89ab-cdef01234567"
#define UUID_D "d00dfeed-9876-4543-8210-fedcba987654"
