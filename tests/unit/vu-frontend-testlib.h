/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the front-end engine's test files share: a VuFrontend on one end of
 * a socketpair and a scripted back-end (be_*, chan_*) on the other, the
 * callbacks noting what the engine told, stderr capture, pattern buffers. */

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "frontend.h"
#include "vu-connection.h"

#define LONG_USEC (5 * G_USEC_PER_SEC)
#define SHORT_USEC (50 * 1000)
/* Features the back-ends in these tests offer: ours plus one we never ask. */
#define ALL_PF (VU_SHARED_OBJECT_PROTOCOL_FEATURES | VU_BIT(VU_PF_CONFIG))
#define BASE_FEATURES (VU_BIT(VIRTIO_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES))

extern const uint8_t uuid_a[VU_UUID_SIZE];
extern const uint8_t uuid_b[VU_UUID_SIZE];

/* Where a test frees the engine from inside a callback. */
typedef enum {
        FREE_NOWHERE,
        FREE_IN_CHANGE,
        FREE_IN_READY,
        FREE_IN_FAIL,
        FREE_IN_ADD,
        FREE_IN_REMOVE,
        FREE_IN_LOOKUP,
        FREE_IN_CHECK,
        FREE_IN_GET_DONE,
} FreeIn;

typedef struct {
        VuReplySlot *slot;
        uint8_t uuid[VU_UUID_SIZE];
} Lookup;

typedef struct {
        int fd;
        int error;
} GetResult;

typedef struct {
        sd_event *event;
        VuFrontend *f;
        VuConnection *be_main; /* the scripted back-end's end of the main socket */
        VuConnection *be_chan; /* its end of the back-end channel, once handed over */
        VuFrontendOps ops;
        FreeIn free_in;

        /* What the engine told us, in order: "change", "ready", "fail",
         * "add", "remove", "lookup", "check", "get". */
        GString *events;
        int fail_error;
        char *fail_reason;
        int add_result, remove_result; /* what on_add / on_remove return */
        GArray *added, *removed;       /* uuids */
        GArray *lookups;               /* Lookup */
        int check_result;              /* what check_object returns */
        GArray *gets;                  /* GetResult */
} T;

/* Runs the engine's loop until cond holds; fails after 5 s. */
#define RUN_UNTIL(t, cond)                                                                         \
        do {                                                                                       \
                gint64 deadline_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;                    \
                while (!(cond)) {                                                                  \
                        g_assert_cmpint(g_get_monotonic_time(), <, deadline_);                     \
                        g_assert_cmpint(sd_event_run((t)->event, 10 * 1000), >=, 0);               \
                }                                                                                  \
        } while (0)

/* A T with its engine on a fresh socketpair; the deadlines of its ops. */
void t_init_timeouts(T *t, uint64_t reply_usec, uint64_t get_usec);
/* The same with a grace for late GET answers and a limit of misses in a row. */
void t_init_grace(T *t, uint64_t reply_usec, uint64_t get_usec, uint64_t grace_usec,
                  unsigned max_missed);
void t_init(T *t);
void t_clear(T *t);

/* on_get (VuFrontendGetFn): notes "get", keeps the result in t->gets. */
void on_get(VuFrontend *f, int fd, int error, void *userdata);
GetResult get_result(T *t, guint i);

typedef struct {
        int saved;
        int fd;
} LogCapture;

/* stderr into a memfd until capture_end(), which returns what was logged. */
void capture_begin(LogCapture *c);
char *capture_end(LogCapture *c);
void assert_logged(const char *log, const char *line);

/* ---- the scripted back-end, main socket ---- */

/* The next request the engine sent on the main socket. */
void be_expect(T *t, uint32_t request, VuMessage *m);
/* The engine closed the main socket (it was freed). */
void be_expect_hangup(T *t);
void be_reply(T *t, const VuMessage *req, uint64_t value);

typedef struct {
        uint64_t features;
        uint64_t protocol_features;
        uint64_t queues;
        bool leave_channel_unacked; /* the test answers SET_BACKEND_REQ_FD itself */
        uint64_t channel_ack;
} Offer;

extern const Offer full_offer;

/* Plays a back-end through the handshake, checking each request the
 * engine sends, in order, against what it should ask after offer. */
void be_handshake(T *t, const Offer *o);
/* Starts the engine and plays the handshake with o until it is ready. */
void t_handshake(T *t, const Offer *o);
/* t_handshake() with full_offer, then forgets the events so far. */
void t_ready(T *t);
/* t_init() and t_ready(). */
void t_init_ready(T *t);

/* Sends GET_SHARED_OBJECT for uuid and reads it on the back-end's side. */
void get_and_expect(T *t, const uint8_t *uuid, VuMessage *m);
/* The back-end's answer: size bytes of payload (the UUID when 16), fd
 * attached when >= 0. */
void be_answer_get(T *t, const uint8_t *uuid, uint32_t size, int fd);
/* The u64-status form of the answer (size 8), with fd when >= 0. */
void be_answer_get_status(T *t, uint64_t status, int fd);

/* ---- the back-end channel, the back-end's side ---- */

void chan_send(T *t, uint32_t request, uint32_t flags, const uint8_t *uuid, int fd);
/* The engine's next answer on the channel: 1 and *m, or -EPIPE when it
 * closed the channel instead. */
int chan_read(T *t, VuMessage *m);
/* The engine's answer to request: its u64 (fds left in m). */
uint64_t chan_expect_reply(T *t, uint32_t request, VuMessage *m);
/* Nothing arrives on the channel while the loop runs a while. */
void chan_expect_nothing(T *t);

/* A sealed 4096-byte memfd holding uuid's pattern (buffer-pattern.h). */
int new_pattern_memfd(const uint8_t uuid[VU_UUID_SIZE]);
void assert_pattern(int fd, const uint8_t uuid[VU_UUID_SIZE]);
unsigned count_fds(void);
