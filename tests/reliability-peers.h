/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* In-process peers for the reliability tests: a Service on a private
 * sd-event loop, well-behaved vhost-user back-ends built on the project's
 * own back-end engine (TestDev), and raw back-ends (RawBe) the test drives
 * message by message to misbehave. Everything runs on one thread: waiting
 * means running the loop until a condition holds, with a deadline. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "service.h"
#include "vu-connection.h"

/* Generous: the suite runs on loaded 2-core machines and under valgrind. */
#define TEST_DEADLINE_USEC (30 * G_USEC_PER_SEC)

typedef struct {
        sd_event *ev;
        Service *s;
        unsigned table_observer;
        unsigned added; /* table events seen */
        unsigned removed;
} TestService;

void test_service_init(TestService *t, const ServiceConfig *cfg);
void test_service_clear(TestService *t);
/* One loop iteration, waiting at most 1 ms. */
void test_service_iterate(TestService *t);

#define TEST_WAIT_FOR(t, cond)                                                                     \
        do {                                                                                       \
                gint64 _end = g_get_monotonic_time() + TEST_DEADLINE_USEC;                         \
                while (!(cond)) {                                                                  \
                        if (g_get_monotonic_time() > _end)                                         \
                                g_error("%s:%d: timed out waiting for %s", __FILE__, __LINE__,     \
                                        #cond);                                                    \
                        test_service_iterate(t);                                                   \
                }                                                                                  \
        } while (0)

/* A well-behaved back-end: answers the handshake, ADDs and LOOKUPs on
 * request, answers GET_SHARED_OBJECT with a sealed memfd of the UUID's
 * pattern (seed uuid[0]^uuid[7]^uuid[15]). */
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

/* A raw back-end: the test answers the hub's handshake itself and then
 * writes what it likes. */
typedef struct {
        TestService *t;
        uint64_t peer_id;
        VuConnection *main; /* requests from the hub in, our replies out */
        VuConnection *chan; /* our requests out, the hub's replies in */
} RawBe;

RawBe *raw_be_new(TestService *t);                         /* handshake done, hub ready */
void raw_be_free(RawBe *r);                                /* closes both sockets */
bool raw_be_connected(RawBe *r);                           /* the hub still has the peer */
void raw_be_send(RawBe *r, VuConnection *c, VuMessage *m); /* takes m's fds */
/* Waits for the next message on c. Returns 1, or < 0 when the hub hung up. */
int raw_be_recv(RawBe *r, VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m);
/* ADD/REMOVE/LOOKUP with NEED_REPLY on the channel; returns the ack and
 * stores a received fd in *ret_fd (when non-NULL; closed otherwise). */
int64_t raw_be_request(RawBe *r, uint32_t request, const uint8_t uuid[16], int *ret_fd);

/* A fresh UUID. */
void test_uuid(uint8_t uuid[16]);
uint8_t test_uuid_seed(const uint8_t uuid[16]);
/* Two fresh devices: one exports a fresh UUID, the other looks it up and
 * gets the right buffer. Asserts the service still serves. */
void test_assert_serves(TestService *t);
