/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A raw vhost-user peer the test scripts message by message: it plays a
 * back-end against the hub or a front-end (a VMM) against the bridge, and
 * can misbehave in ways no real program would (malformed bytes, late,
 * doubled or missing answers, never reading).
 *
 * It frames messages with the project's VuConnection on non-blocking
 * sockets and runs the rest of the world while it waits, through its
 * RawPeerEnv: the event loop of a service in this process
 * (tests/reliability), or the children of a harness (harness_raw_peer_*).
 * Every wait has TEST_TIMEOUT_MS as its deadline and fails the test
 * through the env. */

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vu-connection.h"

typedef struct {
        /* Lets the rest of the world run until fd has one of events (POLLIN,
         * POLLOUT) or timeout_ms passed; returning early is fine. */
        void (*wait)(void *userdata, int fd, short events, int timeout_ms);
        /* Fails the test with msg; does not return. */
        void (*fail)(void *userdata, const char *msg);
        void *userdata;
} RawPeerEnv;

typedef enum {
        RAW_PEER_BACKEND,  /* plays a back-end: the service is its front-end (the hub) */
        RAW_PEER_FRONTEND, /* plays a front-end, a VMM: the service is its back-end (the bridge) */
} RawPeerRole;

typedef struct {
        RawPeerRole role;
        VuConnection *main; /* the vhost-user socket */
        VuConnection *chan; /* the back-end channel, once the handshake set it up */
        RawPeerEnv env;
        /* What the handshake saw. */
        uint64_t protocol_features; /* as the front-end set them */
        bool asked_queue_num;       /* back-end: GET_QUEUE_NUM was asked */
        /* The service's id of this connection, for tests that know it. */
        uint64_t service_peer_id;
} RawPeer;

/* Takes fd (a connected AF_UNIX stream socket) on success. */
RawPeer *raw_peer_new(RawPeerRole role, int fd, const RawPeerEnv *env);
/* Closes both sockets, like a crash. NULL-safe. */
void raw_peer_free(RawPeer *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RawPeer, raw_peer_free)

/* Back-end: answers the front-end's handshake (each request as
 * libvhost-user does), offering the protocol features `features`, until the
 * back-end channel arrives; fails on a request no front-end sends there.
 * Front-end: drives the handshake as QEMU does, asking for `features`
 * (the service must offer all of them) and handing over a back-end channel
 * (with NEED_REPLY when `features` has REPLY_ACK). */
void raw_peer_handshake(RawPeer *r, uint64_t features);

/* Queues m on c (its fds are taken) and waits until it is written; returns
 * quietly when the service hung up (the test checks what it expects). */
void raw_peer_send(RawPeer *r, VuConnection *c, VuMessage *m);
/* Writes bytes on c as they are, for malformed input; nothing may be
 * queued on c. */
void raw_peer_send_bytes(RawPeer *r, VuConnection *c, const void *buf, size_t len);
/* Waits for the next message on c: requests on the socket where the
 * service asks, replies on the other (by role). Returns 1 with *m filled
 * (its fds are the caller's), or -errno when the service hung up. Fails the
 * test at the deadline or on a malformed message. */
int raw_peer_recv(RawPeer *r, VuConnection *c, VuMessage *m);
/* Sends request with a UUID payload and NEED_REPLY on the socket where this
 * peer asks (the channel for a back-end, the main socket for a front-end)
 * and waits for the reply to it. Returns 1 with *reply filled, or -errno
 * when the service hung up first. fd, when >= 0, is sent along (taken). */
int raw_peer_request(RawPeer *r, uint32_t request, const uint8_t uuid[16], int fd,
                     VuMessage *reply);
/* Waits until the service hangs up c, discarding (and closing the fds of)
 * any messages before it; fails the test at the deadline or on a malformed
 * message. */
void raw_peer_wait_hangup(RawPeer *r, VuConnection *c);
