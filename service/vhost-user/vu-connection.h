/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Non-blocking vhost-user framing over an AF_UNIX stream socket.
 *
 * Reading: the header is read on its own (exactly 12 bytes, fds with it
 * through SCM_RIGHTS and MSG_CMSG_CLOEXEC), then exactly the payload, so fds
 * of the next message never arrive early. Partial reads are kept across
 * calls. Writing: messages are queued and flushed as the socket allows; the
 * fds ride on the first byte. Knows nothing of the event loop: the owner
 * calls vu_conn_read() when the fd is readable and vu_conn_flush() when it is
 * writable (vu_conn_want_write() says whether it should watch for that). */

#include <stdbool.h>
#include <stddef.h>

#include "vu-message.h"

typedef struct VuConnection VuConnection;

/* Takes ownership of fd and makes it non-blocking; NULL (fd untouched) when
 * fd is negative. The channel and the direction are not part of the
 * connection: vu_conn_read() is told them per message. */
VuConnection *vu_conn_new(int fd);
/* Closes the socket, any partial message's fds and the queued messages' fds. */
void vu_conn_free(VuConnection *c);

int vu_conn_fd(const VuConnection *c);

/* Reads as much of one message as is available.
 * Returns 1 with *m filled (fds owned by the caller) when a message is
 * complete; 0 when more bytes are needed (try again when readable);
 * -EPIPE on orderly hang-up between messages; -EPROTO with *err set when the
 * peer sent something malformed (hang-up inside a message, bad header);
 * another -errno on socket errors. The whole message is checked with
 * vu_header_check() and vu_message_check() for ch/is_reply before it is
 * returned, so fds the request does not expect never reach the caller.
 * Fds beyond VU_MAX_FDS are closed and reported as VU_ERR_TOO_MANY_FDS.
 * After -EPROTO the stream is out of step: later calls return it again. */
int vu_conn_read(VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m, VuError *err);
/* Whether the message vu_conn_read() last returned lost fds on the way in
 * because this process was at its fd limit (it arrives without them). When
 * a lost fd was one the request cannot do without, vu_conn_read() returns
 * -EMFILE instead of a message. */
bool vu_conn_last_fds_lost(const VuConnection *c);

/* Queues m (header, payload and fds; the fds are taken: m's slots become -1,
 * even on error) and tries to send at once. Returns 0 (sent or queued) or
 * -errno (the connection is then broken). */
int vu_conn_send(VuConnection *c, VuMessage *m);

/* Sends what is queued. Returns 1 when the queue is empty, 0 when bytes
 * remain (wait for writable), -errno on error. */
int vu_conn_flush(VuConnection *c);

bool vu_conn_want_write(const VuConnection *c);
/* A message is partly read (its header, or fds, but not all of it). */
bool vu_conn_receiving(const VuConnection *c);

/* Bytes queued and not yet sent (for tests and limits). */
size_t vu_conn_queued(const VuConnection *c);
/* Messages queued and not completely sent. */
unsigned vu_conn_queued_messages(const VuConnection *c);
