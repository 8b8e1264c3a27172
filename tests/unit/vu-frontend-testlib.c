/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vu-frontend-testlib.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "log.h"

const uint8_t uuid_a[VU_UUID_SIZE] = {0x5e, 0x1f, 0x00, 0x01, 0xaa, 0xbb, 0x40, 0x01,
                                      0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
const uint8_t uuid_b[VU_UUID_SIZE] = {0x5e, 0x1f, 0x00, 0x02, 0xaa, 0xbb, 0x40, 0x02,
                                      0x80, 0x02, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08};

static void note(T *t, const char *what)
{
        g_string_append_printf(t->events, "%s%s", t->events->len ? " " : "", what);
}

static void maybe_free(T *t, FreeIn where)
{
        if (t->free_in != where)
                return;
        vu_frontend_free(t->f);
        t->f = NULL;
        note(t, "freed");
}

static void on_change(VuFrontend *f, void *userdata)
{
        T *t = userdata;

        note(t, "change");
        maybe_free(t, FREE_IN_CHANGE);
}

static void on_ready(VuFrontend *f, void *userdata)
{
        T *t = userdata;

        note(t, "ready");
        g_assert_true(vu_frontend_ready(f));
        maybe_free(t, FREE_IN_READY);
}

static void on_fail(VuFrontend *f, int error, const char *reason, void *userdata)
{
        T *t = userdata;

        note(t, "fail");
        t->fail_error = error;
        g_free(t->fail_reason);
        t->fail_reason = g_strdup(reason);
        maybe_free(t, FREE_IN_FAIL);
}

/* ADD and REMOVE: noted, kept in uuids, answered with result. */
static int on_add_remove(T *t, const char *what, GArray *uuids, const uint8_t *uuid, FreeIn where,
                         int result)
{
        note(t, what);
        g_array_append_vals(uuids, uuid, VU_UUID_SIZE);
        maybe_free(t, where);
        return result;
}

static int on_add(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        T *t = userdata;

        return on_add_remove(t, "add", t->added, uuid, FREE_IN_ADD, t->add_result);
}

static int on_remove(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], void *userdata)
{
        T *t = userdata;

        return on_add_remove(t, "remove", t->removed, uuid, FREE_IN_REMOVE, t->remove_result);
}

static void on_lookup(VuFrontend *f, const uint8_t uuid[VU_UUID_SIZE], VuReplySlot *slot,
                      void *userdata)
{
        T *t = userdata;
        Lookup l = {.slot = slot};

        note(t, "lookup");
        memcpy(l.uuid, uuid, VU_UUID_SIZE);
        g_array_append_val(t->lookups, l);
        maybe_free(t, FREE_IN_LOOKUP);
}

static int check_object(VuFrontend *f, int fd, const char **why, void *userdata)
{
        T *t = userdata;

        note(t, "check");
        g_assert_cmpint(fd, >=, 0);
        maybe_free(t, FREE_IN_CHECK);
        if (t->check_result < 0)
                *why = "an fd the test refuses";
        return t->check_result;
}

void on_get(VuFrontend *f, int fd, int error, void *userdata)
{
        T *t = userdata;
        GetResult g = {.fd = fd, .error = error};

        note(t, "get");
        /* Either an fd and 0, or none and an error. */
        g_assert_true((fd >= 0) == (error == 0));
        g_array_append_val(t->gets, g);
        maybe_free(t, FREE_IN_GET_DONE);
}

void t_init_timeouts(T *t, uint64_t reply_usec, uint64_t get_usec)
{
        t_init_grace(t, reply_usec, get_usec, 0, 0);
}

void t_init_grace(T *t, uint64_t reply_usec, uint64_t get_usec, uint64_t grace_usec,
                  unsigned max_missed)
{
        int sv[2];

        *t = (T){
            .ops =
                {
                    .reply_timeout_usec = reply_usec,
                    .get_shared_object_timeout_usec = get_usec,
                    .get_shared_object_grace_usec = grace_usec,
                    .max_missed_answers = max_missed,
                    .on_change = on_change,
                    .on_ready = on_ready,
                    .on_fail = on_fail,
                    .on_add = on_add,
                    .on_remove = on_remove,
                    .on_lookup = on_lookup,
                    .check_object = check_object,
                },
        };
        g_assert_cmpint(sd_event_new(&t->event), >=, 0);
        g_assert_no_errno(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        g_assert_cmpint(vu_frontend_new(t->event, sv[0], &t->ops, "be", t, &t->f), ==, 0);
        t->be_main = vu_conn_new(sv[1]);
        t->events = g_string_new(NULL);
        t->added = g_array_new(false, false, 1);
        t->removed = g_array_new(false, false, 1);
        t->lookups = g_array_new(false, false, sizeof(Lookup));
        t->gets = g_array_new(false, false, sizeof(GetResult));
}

void t_init(T *t)
{
        t_init_timeouts(t, LONG_USEC, LONG_USEC);
}

void t_clear(T *t)
{
        vu_frontend_free(t->f);
        vu_conn_free(t->be_main);
        vu_conn_free(t->be_chan);
        for (guint i = 0; i < t->gets->len; i++) {
                int fd = g_array_index(t->gets, GetResult, i).fd;
                fd_close_safe(&fd);
        }
        g_array_free(t->gets, true);
        g_array_free(t->lookups, true);
        g_array_free(t->added, true);
        g_array_free(t->removed, true);
        g_string_free(t->events, true);
        g_free(t->fail_reason);
        sd_event_unref(t->event);
}

/* stderr into a memfd until capture_end(), which returns what was logged. */
void capture_begin(LogCapture *c)
{
        c->fd = memfd_create("log", MFD_CLOEXEC);
        g_assert_cmpint(c->fd, >=, 0);
        c->saved = dup(STDERR_FILENO);
        g_assert_cmpint(c->saved, >=, 0);
        g_assert_cmpint(dup2(c->fd, STDERR_FILENO), ==, STDERR_FILENO);
        /* The tests read the priorities too. */
        log_set_priority_prefix(LOG_PREFIX_ALWAYS);
}

char *capture_end(LogCapture *c)
{
        GString *s = g_string_new(NULL);
        char buf[512];
        ssize_t n;
        off_t off = 0;

        g_assert_cmpint(dup2(c->saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(c->saved);
        while ((n = pread(c->fd, buf, sizeof(buf), off)) > 0) {
                g_string_append_len(s, buf, n);
                off += n;
        }
        close(c->fd);
        fputs(s->str, stderr); /* still in the test's log */
        return g_string_free(s, false);
}

void assert_logged(const char *log, const char *line)
{
        if (!strstr(log, line))
                g_error("no log line with \"%s\" in:\n%s", line, log);
}

/* Runs the engine's loop until c, a socket of the scripted back-end, has
 * a whole message from the engine (1) or an error (-EPIPE: closed). */
static int run_read(T *t, VuConnection *c, VuChannel ch, bool is_reply, VuMessage *m)
{
        gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        VuError err;
        int r;

        while ((r = vu_conn_read(c, ch, is_reply, m, &err)) == 0) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                g_assert_cmpint(sd_event_run(t->event, 10 * 1000), >=, 0);
        }
        return r;
}

void be_expect(T *t, uint32_t request, VuMessage *m)
{
        g_assert_cmpint(run_read(t, t->be_main, VU_CHANNEL_FRONTEND, false, m), ==, 1);
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, m->hdr.request), ==,
                        vu_request_name(VU_CHANNEL_FRONTEND, request));
}

/* The engine closed the main socket (it was freed). */
void be_expect_hangup(T *t)
{
        VuMessage m;
        int r = run_read(t, t->be_main, VU_CHANNEL_FRONTEND, false, &m);

        if (r == 1)
                g_error("expected a hang-up, got %s",
                        vu_request_name(VU_CHANNEL_FRONTEND, m.hdr.request));
        g_assert_cmpint(r, ==, -EPIPE);
}

void be_reply(T *t, const VuMessage *req, uint64_t value)
{
        VuMessage r;

        vu_message_init_reply_u64(&r, req, value);
        g_assert_cmpint(vu_conn_send(t->be_main, &r), ==, 0);
}

void be_handshake(T *t, const Offer *o)
{
        uint64_t features = o->features & BASE_FEATURES;
        uint64_t pf = o->protocol_features & VU_SHARED_OBJECT_PROTOCOL_FEATURES;
        VuMessage m;

        if (!(pf & VU_BIT(VU_PF_BACKEND_REQ)))
                pf &= ~VU_BIT(VU_PF_SHARED_OBJECT);
        be_expect(t, VU_REQ_GET_FEATURES, &m);
        be_reply(t, &m, o->features);
        be_expect(t, VU_REQ_SET_FEATURES, &m);
        g_assert_cmphex(m.payload.u64, ==, features);
        if (features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
                be_expect(t, VU_REQ_GET_PROTOCOL_FEATURES, &m);
                be_reply(t, &m, o->protocol_features);
                be_expect(t, VU_REQ_SET_PROTOCOL_FEATURES, &m);
                g_assert_cmphex(m.payload.u64, ==, pf);
                g_assert_cmphex(m.hdr.flags, ==, VU_VERSION);
                if (pf & VU_BIT(VU_PF_MQ)) {
                        be_expect(t, VU_REQ_GET_QUEUE_NUM, &m);
                        be_reply(t, &m, o->queues);
                }
        } else {
                pf = 0;
        }
        be_expect(t, VU_REQ_SET_OWNER, &m);
        if (!(pf & VU_BIT(VU_PF_BACKEND_REQ)))
                return;
        be_expect(t, VU_REQ_SET_BACKEND_REQ_FD, &m);
        g_assert_cmpuint(m.n_fds, ==, 1);
        g_assert_cmphex(m.hdr.flags, ==,
                        VU_VERSION | (pf & VU_BIT(VU_PF_REPLY_ACK) ? VU_FLAG_NEED_REPLY : 0));
        t->be_chan = vu_conn_new(vu_message_steal_fd(&m, 0));
        if ((pf & VU_BIT(VU_PF_REPLY_ACK)) && !o->leave_channel_unacked)
                be_reply(t, &m, o->channel_ack);
}

const Offer full_offer = {
    .features = BASE_FEATURES | VU_BIT(0),
    .protocol_features = ALL_PF,
    .queues = 3,
};

/* Starts the engine and plays the handshake with o until it is ready. */
void t_handshake(T *t, const Offer *o)
{
        g_assert_cmpint(vu_frontend_start(t->f), ==, 0);
        be_handshake(t, o);
        RUN_UNTIL(t, vu_frontend_ready(t->f));
}

void t_ready(T *t)
{
        t_handshake(t, &full_offer);
        g_string_truncate(t->events, 0);
}

void t_init_ready(T *t)
{
        t_init(t);
        t_ready(t);
}

/* Sends GET_SHARED_OBJECT for uuid and reads it on the back-end's side. */
void get_and_expect(T *t, const uint8_t *uuid, VuMessage *m)
{
        g_assert_cmpint(vu_frontend_get_shared_object(t->f, uuid, on_get, t), ==, 0);
        be_expect(t, VU_REQ_GET_SHARED_OBJECT, m);
        g_assert_cmphex(m->hdr.flags, ==, VU_VERSION);
        g_assert_cmpmem(m->payload.uuid, m->hdr.size, uuid, VU_UUID_SIZE);
}

/* The back-end's answer: size bytes of payload (the UUID when 16), fd
 * attached when >= 0. */
void be_answer_get(T *t, const uint8_t *uuid, uint32_t size, int fd)
{
        VuMessage r;

        vu_message_init(&r, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, size);
        if (size == VU_UUID_SIZE)
                memcpy(r.payload.uuid, uuid, VU_UUID_SIZE);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&r, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(t->be_main, &r), ==, 0);
}

void be_answer_get_status(T *t, uint64_t status, int fd)
{
        VuMessage r;

        vu_message_init_u64(&r, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, status);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&r, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(t->be_main, &r), ==, 0);
}

GetResult get_result(T *t, guint i)
{
        return g_array_index(t->gets, GetResult, i);
}

/* ---- the back-end channel, the back-end's side ---- */

void chan_send(T *t, uint32_t request, uint32_t flags, const uint8_t *uuid, int fd)
{
        VuMessage m;

        if (uuid)
                vu_message_init_uuid(&m, request, flags, uuid);
        else
                vu_message_init(&m, request, flags, 0);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, fd), ==, 0);
        g_assert_cmpint(vu_conn_send(t->be_chan, &m), ==, 0);
}

/* The engine's next answer on the channel: 1 and *m, or -EPIPE when it
 * closed the channel instead. */
int chan_read(T *t, VuMessage *m)
{
        return run_read(t, t->be_chan, VU_CHANNEL_BACKEND, true, m);
}

/* The engine's answer to request: its u64 (fds left in m). */
uint64_t chan_expect_reply(T *t, uint32_t request, VuMessage *m)
{
        g_assert_cmpint(chan_read(t, m), ==, 1);
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, m->hdr.request), ==,
                        vu_request_name(VU_CHANNEL_BACKEND, request));
        g_assert_cmpuint(m->hdr.size, ==, sizeof(uint64_t));
        return m->payload.u64;
}

/* Nothing arrives on the channel while the loop runs a while. */
void chan_expect_nothing(T *t)
{
        VuMessage m;
        VuError err;

        for (int i = 0; i < 10; i++)
                sd_event_run(t->event, 5 * 1000);
        g_assert_cmpint(vu_conn_read(t->be_chan, VU_CHANNEL_BACKEND, true, &m, &err), ==, 0);
}

int new_pattern_memfd(const uint8_t uuid[VU_UUID_SIZE])
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("test", 4096, buffer_pattern_seed(uuid), &fd), ==,
                        0);
        return fd;
}

void assert_pattern(int fd, const uint8_t uuid[VU_UUID_SIZE])
{
        g_assert_cmpint(memfd_verify_pattern(fd, 4096, buffer_pattern_seed(uuid)), ==, 0);
}

unsigned count_fds(void)
{
        int n = fd_count_open();

        g_assert_cmpint(n, >=, 0);
        return (unsigned) n;
}
