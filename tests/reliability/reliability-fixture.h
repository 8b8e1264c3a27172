/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the reliability tests share: a Service on a private sd-event loop
 * in the test process, well-behaved vhost-user back-ends built on the
 * project's own back-end engine (TestDev), and raw peers (raw-peer.h) the
 * test drives message by message to misbehave, as back-ends of the hub or
 * as VMMs of the bridge. Everything runs on one thread: waiting means
 * running the loop until a condition holds, with TEST_TIMEOUT_MS as the
 * deadline. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "raw-peer.h"
#include "service.h"
#include "test-timeout.h"
#include "vu-connection.h"

typedef struct {
        sd_event *ev;
        Service *s;
        unsigned table_observer;
        unsigned added; /* table events seen */
        unsigned removed;
} TestService;

/* The defaults, with the service's own deadlines at TEST_TIMEOUT_MS so
 * that only the one a test shortens can fire. */
void test_config_defaults(ServiceConfig *c);
void test_service_init(TestService *t, const ServiceConfig *cfg);
void test_service_clear(TestService *t);
/* One loop iteration, waiting at most 1 ms. */
void test_service_iterate(TestService *t);

#define TEST_WAIT_FOR(t, cond)                                                                     \
        do {                                                                                       \
                gint64 _end = g_get_monotonic_time() + TEST_TIMEOUT_USEC;                          \
                while (!(cond)) {                                                                  \
                        if (g_get_monotonic_time() > _end)                                         \
                                g_error("%s:%d: timed out waiting for %s", __FILE__, __LINE__,     \
                                        #cond);                                                    \
                        test_service_iterate(t);                                                   \
                }                                                                                  \
        } while (0)

/* A well-behaved back-end: answers the handshake, ADDs and LOOKUPs on
 * request, answers GET_SHARED_OBJECT with a sealed memfd of the UUID's
 * pattern (buffer_pattern_seed). */
typedef struct {
        TestService *t;
        VuBackend *b;
        uint64_t peer_id;
        bool failed;
        unsigned gets;
} TestDev;

#define TEST_BUFFER_SIZE 4096

TestDev *test_dev_new(TestService *t);                    /* waits until the hub calls it ready */
void test_dev_free(TestDev *d);                           /* an abrupt close, like a crash */
int64_t test_dev_add(TestDev *d, const uint8_t uuid[16]); /* the ack: 0, > 0 refused */
/* The fd, or -errno; the pattern is checked. */
int test_dev_lookup(TestDev *d, const uint8_t uuid[16]);

/* A raw peer on a socket the service adopted (as its hub for a
 * RAW_PEER_BACKEND, as its bridge for a RAW_PEER_FRONTEND), its
 * service_peer_id set; waits by running the service's loop. With
 * handshake, it returns once the service calls the peer ready. */
RawPeer *test_raw_peer_new(TestService *t, RawPeerRole role, const char *name, bool handshake);
/* The service still has the peer. */
bool test_raw_peer_connected(TestService *t, RawPeer *r);
/* ADD/REMOVE/LOOKUP with NEED_REPLY on a back-end's channel; returns the
 * ack, or < 0 when the hub hung up, and stores a received fd in *ret_fd
 * (when non-NULL; closed otherwise). */
int64_t test_raw_request(RawPeer *r, uint32_t request, const uint8_t uuid[16], int *ret_fd);

/* A fresh UUID. */
void test_uuid(uint8_t uuid[16]);
/* Two fresh devices: one exports a fresh UUID, the other looks it up and
 * gets the right buffer. Asserts the service still serves. */
void test_assert_serves(TestService *t);

/* ---- what the tests do to peers ---- */

/* The bytes of request with a UUID payload; returns their count. */
size_t test_serialize_uuid(uint32_t request, uint32_t flags, const uint8_t uuid[16],
                           uint8_t buf[VU_HEADER_SIZE + VU_UUID_SIZE]);
/* write(2) of exactly len bytes, asserted. */
void test_write_all(int fd, const void *buf, size_t len);
/* Attaches n fresh sealed memfds to m. */
void test_add_memfds(VuMessage *m, unsigned n);
/* A raw back-end answers GET_SHARED_OBJECT: request (normally
 * GET_SHARED_OBJECT) with REPLY, uuid and a fresh memfd. */
void test_answer_get(RawPeer *r, uint32_t request, const uint8_t *uuid);

/* The result of a VuBackend lookup, for test_on_lookup. */
typedef struct {
        bool done;
        int fd; /* or -errno */
} TestLookup;

void test_on_lookup(VuBackend *b, int fd, int error, void *userdata);

/* A buffer held as a bus-client-like owner: client set up, a fresh uuid,
 * a sealed memfd of its pattern exported under client. */
void test_hold_buffer(TestService *t, ShareOwner *client, uint8_t uuid[16]);
/* The end of a test that held a buffer as a bus-client-like owner: the
 * owner's entries go, the service goes, and every fd the test saw open at
 * its start is the only one left. */
void test_finish_with_client(TestService *t, ShareOwner *client, int fds);
