/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SHARED_OBJECT_ADD and REMOVE announcements held back while the front-end
 * is not reading, in order, coalesced: a REMOVE whose ADD is still held
 * cancels it (the front-end never hears of either), a REMOVE of an object
 * whose ADD was sent stays. So what a deaf front-end costs is bounded by
 * the table it should see, not by how often the table changed. */

#include <stdbool.h>
#include <stdint.h>

#include "vu-message.h"

typedef struct AnnounceQueue AnnounceQueue;

AnnounceQueue *announce_queue_new(void);
/* The queue must be empty (pop everything first: the data are the caller's). */
void announce_queue_free(AnnounceQueue *q);

/* Holds an announcement; data is the caller's, given back by pop. A REMOVE
 * whose ADD is still held takes that ADD out instead and returns true with
 * *ret_cancelled set to the ADD's data (the REMOVE is not held: the caller
 * still has its own). false: held. */
bool announce_queue_push(AnnounceQueue *q, const uint8_t uuid[VU_UUID_SIZE], bool add, void *data,
                         void **ret_cancelled);
/* The oldest held announcement: true and its parts, or false when empty. */
bool announce_queue_pop(AnnounceQueue *q, uint8_t uuid[VU_UUID_SIZE], bool *ret_add,
                        void **ret_data);
unsigned announce_queue_length(const AnnounceQueue *q);
