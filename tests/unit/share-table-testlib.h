/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the share table's two test files share: entries to add (random
 * UUIDs, sealed pattern memfds) and observers that record what they saw. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "share-table.h"

void random_uuid(uint8_t out[SHARE_UUID_SIZE]);
/* A sealed memfd of size bytes holding seed's pattern (buffer-pattern.h). */
int new_memfd(size_t size, uint8_t seed);
bool fd_is_open(int fd);

/* One call of record(): the event and what the observer saw. */
typedef struct {
        int observer; /* which recorder */
        ShareEvent ev;
        uint8_t uuid[SHARE_UUID_SIZE];
        const ShareEntry *entry;
        ShareOwner *owner;
        uint64_t lookup_count;
        /* The table as the observer saw it. */
        bool found_in_table;
        unsigned table_size;
        unsigned owner_entries;
        bool fd_open;
} Record;

typedef struct {
        GArray *records; /* Record */
} Log;

typedef struct {
        Log *log;
        int observer;
} Recorder;

/* Observers (ShareObserverFn): record() appends to the log of the Recorder
 * in userdata; count_events() counts the calls in the unsigned in userdata. */
void record(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata);
void count_events(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata);

Log *log_new(void);
void log_free(Log *l);
/* The i-th record; asserts there is one. */
Record *log_at(Log *l, guint i);
