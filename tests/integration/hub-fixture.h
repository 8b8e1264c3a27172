/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the hub tests share: a fixture with a harness and the hub's socket,
 * vhost-share-device processes driven by their command lines, and a raw
 * back-end (raw-peer.h) with the checks the raw tests make. Every wait has
 * TEST_TIMEOUT_MS as its deadline. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "raw-peer.h"

/* Fixed UUIDs keep failures readable; each test has its own hub. */
#define UUID_A "0b7a4c1e-5d2f-4e11-9a3b-000000000001"
#define UUID_B "0b7a4c1e-5d2f-4e11-9a3b-000000000002"
#define UUID_C "0b7a4c1e-5d2f-4e11-9a3b-000000000003"
#define UUID_D "0b7a4c1e-5d2f-4e11-9a3b-000000000004"
#define UUID_UNKNOWN "0b7a4c1e-5d2f-4e11-9a3b-0000000000ff"

typedef struct {
        Harness *h;
        HarnessProc *hub;
        char *sock; /* the hub's --accept socket */
} Fixture;

void fixture_setup(Fixture *f, gconstpointer data);
void fixture_teardown(Fixture *f, gconstpointer data);
/* Adds a test case with the fixture; data is passed on. */
#define HUB_TEST_ADD(path, data, fn)                                                               \
        g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)

/* vhost-shared --no-bus --accept=SOCK plus the NULL-terminated extras. */
void start_hub(Fixture *f, ...) G_GNUC_NULL_TERMINATED;
/* A device connected to the hub, reading commands, past READY. */
HarnessProc *start_device(Fixture *f, const char *name, ...) G_GNUC_NULL_TERMINATED;

/* Asserts that the device line l is "verb uuid ...". */
void assert_line_is(Fixture *f, HarnessProc *d, const HarnessLine *l, const char *verb,
                    const char *uuid);
/* Sends "cmd uuid" to d and asserts that its answer (the next line that
 * starts with CMD in capitals) is "answer uuid ...". */
const HarnessLine *command(Fixture *f, HarnessProc *d, const char *cmd, const char *uuid,
                           const char *answer);
/* export UUID on d; returns the buffer's dev:ino (g_free it). */
char *export_ok(Fixture *f, HarnessProc *d, const char *uuid);
/* import UUID on d; asserts success, the pattern and (when given) the
 * buffer's identity. Returns the arrival number of the IMPORTED line. */
uint64_t import_ok(Fixture *f, HarnessProc *d, const char *uuid, const char *dev_ino);
const HarnessLine *import_fails(Fixture *f, HarnessProc *d, const char *uuid);
/* export_ok() on from, then import_ok() of that buffer on to. */
void pass_ok(Fixture *f, HarnessProc *from, HarnessProc *to, const char *uuid);

/* ---- a raw back-end ---- */

/* What libvhost-user offers by default, plus SHARED_OBJECT. */
#define RAW_LIBVHOST_USER_FEATURES                                                                 \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_SHARED_OBJECT))
#define RAW_FEATURES                                                                               \
        (VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT))

/* A raw back-end connected to the hub, past the handshake: the hub must
 * have taken every feature offered that it knows. */
RawPeer *raw_connect(Fixture *f, uint64_t offered);
/* A duplicate of fd for a message to take (the caller keeps fd). */
int dup_fd(int fd);
/* Sends request with uuid on c; fd (when >= 0) goes along as a copy. */
void raw_send_uuid(RawPeer *r, VuConnection *c, uint32_t request, uint32_t flags,
                   const uint8_t uuid[16], int fd);
void parse_uuid(const char *s, uint8_t uuid[16]);
bool same_inode(int a, int b);
/* Expects GET_SHARED_OBJECT for uuid on the main socket and answers as
 * libvhost-user does: the 16-byte request echoed, a copy of buffer attached. */
void raw_serve_get(Fixture *f, RawPeer *r, const uint8_t uuid[16], int buffer);
/* Expects the LOOKUP reply as the next message on the channel: u64 0 and
 * exactly one fd, the same file as buffer. */
void raw_expect_lookup_reply(Fixture *f, RawPeer *r, int buffer, const uint8_t uuid[16]);
/* Nothing more is waiting on c. */
void assert_quiet(Fixture *f, VuConnection *c, const char *what);
/* Sends uuid on the channel with NEED_REPLY and returns the u64 answer. */
uint64_t raw_request_u64(Fixture *f, RawPeer *r, uint32_t request, const uint8_t uuid[16]);
