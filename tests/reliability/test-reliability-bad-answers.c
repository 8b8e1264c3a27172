/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers that come wrong: a back-end answering the hub's
 * GET_SHARED_OBJECT late, never, twice or with another request's id, and a
 * VMM answering the bridge's ADD the same ways. The offender is dropped
 * (or, for a late VMM, kept through a grace period) with its objects. A
 * VMM answering the bridge's upstream LOOKUP with something that is not a
 * buffer: every importer gets an error, the VMM stays. Everything
 * in-process (reliability-fixture.h). */

#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "reliability-fixture.h"

/* ---- GET_SHARED_OBJECT answered badly ---- */

typedef enum {
        ANSWER_LATE,
        ANSWER_NEVER,
        ANSWER_TWICE,
        ANSWER_WRONG_ID,
} AnswerFault;

static void run_answer_fault(AnswerFault fault)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        uint8_t uuid[16], other[16];
        TestLookup l = {0};
        TestDev *importer;
        gint64 start;
        VuMessage get;
        RawPeer *r;

        test_config_defaults(&c);
        /* Short enough to wait out, long enough for a loaded machine to
         * answer the well-behaved lookups in time. */
        c.lookup_timeout_usec =
            (fault == ANSWER_LATE || fault == ANSWER_NEVER) ? 500 * 1000 : TEST_TIMEOUT_USEC;
        test_service_init(&t, &c);
        r = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        importer = test_dev_new(&t);
        test_uuid(uuid);
        test_uuid(other);
        g_assert_cmpint(test_raw_request(r, VU_BREQ_SHARED_OBJECT_ADD, uuid, NULL), ==, 0);
        g_assert_cmpint(test_raw_request(r, VU_BREQ_SHARED_OBJECT_ADD, other, NULL), ==, 0);

        start = g_get_monotonic_time();
        g_assert_cmpint(vu_backend_lookup(importer->b, uuid, test_on_lookup, &l), ==, 0);
        g_assert_cmpint(raw_peer_recv(r, r->main, &get), ==, 1);
        g_assert_cmpuint(get.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
        g_assert_cmpmem(get.payload.uuid, 16, uuid, 16);

        switch (fault) {
        case ANSWER_LATE:
        case ANSWER_NEVER:
                TEST_WAIT_FOR(&t, l.done);
                g_assert_cmpint(l.fd, <, 0);
                g_assert_cmpint(g_get_monotonic_time() - start, >=, 500 * 1000);
                TEST_WAIT_FOR(&t, !test_raw_peer_connected(&t, r));
                if (fault == ANSWER_LATE) /* to a closed socket: nobody listens */
                        test_answer_get(r, VU_REQ_GET_SHARED_OBJECT, uuid);
                break;
        case ANSWER_TWICE:
                test_answer_get(r, VU_REQ_GET_SHARED_OBJECT, uuid);
                TEST_WAIT_FOR(&t, l.done);
                g_assert_cmpint(l.fd, >=, 0);
                close(l.fd);
                g_assert_true(test_raw_peer_connected(&t, r));
                test_answer_get(r, VU_REQ_GET_SHARED_OBJECT, uuid);
                TEST_WAIT_FOR(&t, !test_raw_peer_connected(&t, r));
                break;
        case ANSWER_WRONG_ID:
                test_answer_get(r, VU_REQ_GET_STATUS, uuid);
                TEST_WAIT_FOR(&t, l.done);
                g_assert_cmpint(l.fd, <, 0);
                TEST_WAIT_FOR(&t, !test_raw_peer_connected(&t, r));
                break;
        }
        /* The offender's objects are gone, with Removed for each. */
        g_assert_null(share_table_lookup(service_table(t.s), uuid));
        g_assert_null(share_table_lookup(service_table(t.s), other));
        g_assert_cmpuint(t.removed, ==, 2);
        g_assert_false(importer->failed);
        test_assert_serves(&t);

        raw_peer_free(r);
        test_dev_free(importer);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

static void test_get_late(void)
{
        run_answer_fault(ANSWER_LATE);
}

static void test_get_never(void)
{
        run_answer_fault(ANSWER_NEVER);
}

static void test_get_twice(void)
{
        run_answer_fault(ANSWER_TWICE);
}

static void test_get_wrong_id(void)
{
        run_answer_fault(ANSWER_WRONG_ID);
}

/* ---- a raw VMM against the bridge ---- */

typedef enum {
        VMM_ACK_LATE,
        VMM_ACK_TWICE,
        VMM_ACK_WRONG_ID,
} VmmAckFault;

/* The bridge announces an object (ADD with NEED_REPLY); the VMM answers
 * late: the announcement fails at the deadline (the peer's LastError says
 * so) and the late ack is dropped, but the VM keeps its device (QEMU answers
 * late while it waits on another back-end: a grace period, then it is
 * dropped). Twice, or with another id: dropped at once. The hub side goes
 * on either way. */
static void run_vmm_ack_fault(VmmAckFault fault)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        ShareOwner client;
        uint8_t uuid[16];
        VuMessage m;
        RawPeer *v;

        test_config_defaults(&c);
        c.reply_timeout_usec = 500 * 1000; /* the bridge's deadline for an ADD's ack */
        test_service_init(&t, &c);
        v = test_raw_peer_new(&t, RAW_PEER_FRONTEND, "vmm", true);
        test_hold_buffer(&t, &client, uuid);
        g_assert_cmpint(raw_peer_recv(v, v->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_ADD);
        g_assert_true(m.hdr.flags & VU_FLAG_NEED_REPLY);
        g_assert_cmpmem(m.payload.uuid, 16, uuid, 16);
        switch (fault) {
        case VMM_ACK_LATE: {
                VuMessage ack;
                Peer *p = service_find_peer(t.s, v->service_peer_id);

                TEST_WAIT_FOR(&t, strstr(peer_last_error(p), "no answer to ADD") != NULL);
                vu_message_init_reply_u64(&ack, &m, 0);
                raw_peer_send(v, v->chan, &ack);
                test_assert_serves(&t);
                g_assert_true(service_find_peer(t.s, v->service_peer_id) == p);
                g_assert_cmpuint(peer_exported_count(p), ==, 0);
                /* The VM leaves; the grace does not outlive it. */
                vu_conn_free(v->chan);
                v->chan = NULL;
                vu_conn_free(v->main);
                v->main = NULL;
                break;
        }
        case VMM_ACK_TWICE: {
                VuMessage ack;

                vu_message_init_reply_u64(&ack, &m, 0);
                raw_peer_send(v, v->chan, &ack);
                TEST_WAIT_FOR(&t,
                              peer_exported_count(service_find_peer(t.s, v->service_peer_id)) == 1);
                vu_message_init_reply_u64(&ack, &m, 0);
                raw_peer_send(v, v->chan, &ack);
                break;
        }
        case VMM_ACK_WRONG_ID: {
                VuMessage ack;

                vu_message_init_u64(&ack, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_REPLY, 0);
                raw_peer_send(v, v->chan, &ack);
                break;
        }
        }
        TEST_WAIT_FOR(&t, service_find_peer(t.s, v->service_peer_id) == NULL);
        /* The bus client's object is not the VMM's: it stays. */
        g_assert_nonnull(share_table_lookup(service_table(t.s), uuid));
        test_assert_serves(&t);
        raw_peer_free(v);
        test_finish_with_client(&t, &client, fds);
}

static void test_vmm_ack_late(void)
{
        run_vmm_ack_fault(VMM_ACK_LATE);
}

static void test_vmm_ack_twice(void)
{
        run_vmm_ack_fault(VMM_ACK_TWICE);
}

static void test_vmm_ack_wrong_id(void)
{
        run_vmm_ack_fault(VMM_ACK_WRONG_ID);
}

/* ---- the bridge's upstream LOOKUP answered with something else ---- */

typedef enum {
        UPSTREAM_PIPE,
        UPSTREAM_SOCKET,
        UPSTREAM_DIRECTORY,
        UPSTREAM_DEV_ZERO,
        UPSTREAM_UNSEALED_MEMFD,
        UPSTREAM_ERROR_WITH_MEMFD, /* status 1 and a valid sealed memfd */
        UPSTREAM_BUFFER,           /* the control: status 0 and a sealed memfd */
} UpstreamAnswer;

/* The fd of the answer, and its status. */
static int upstream_answer_fd(UpstreamAnswer kind, const uint8_t uuid[16], uint64_t *status)
{
        int fd = -1, pair[2];

        *status = kind == UPSTREAM_ERROR_WITH_MEMFD ? 1 : 0;
        switch (kind) {
        case UPSTREAM_PIPE:
                g_assert_cmpint(pipe2(pair, O_CLOEXEC), ==, 0);
                close(pair[1]);
                return pair[0];
        case UPSTREAM_SOCKET:
                g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
                close(pair[1]);
                return pair[0];
        case UPSTREAM_DIRECTORY:
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                break;
        case UPSTREAM_DEV_ZERO:
                fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
                break;
        case UPSTREAM_UNSEALED_MEMFD:
                fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                g_assert_cmpint(ftruncate(fd, TEST_BUFFER_SIZE), ==, 0);
                break;
        case UPSTREAM_ERROR_WITH_MEMFD:
        case UPSTREAM_BUFFER:
                g_assert_cmpint(memfd_new_sealed_pattern("upstream", TEST_BUFFER_SIZE,
                                                         buffer_pattern_seed(uuid), &fd),
                                ==, 0);
                break;
        }
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

/* The VMM takes the bridge's next upstream LOOKUP of uuid and answers it. */
static void vmm_answer_lookup(RawPeer *v, UpstreamAnswer kind, const uint8_t uuid[16])
{
        VuMessage m, reply;
        uint64_t status;
        int fd;

        g_assert_cmpint(raw_peer_recv(v, v->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        g_assert_cmpmem(m.payload.uuid, 16, uuid, 16);
        fd = upstream_answer_fd(kind, uuid, &status);
        vu_message_init_reply_u64(&reply, &m, status);
        g_assert_cmpint(vu_message_add_fd(&reply, fd), ==, 0);
        raw_peer_send(v, v->chan, &reply);
}

/* What service_lookup(), the D-Bus Lookup's way in, delivers. */
static void on_service_lookup(Service *s, int fd, int error, void *userdata)
{
        TestLookup *l = userdata;

        l->fd = fd >= 0 ? fd : error;
        l->done = true;
}

static void test_upstream_answer(gconstpointer data)
{
        UpstreamAnswer kind = GPOINTER_TO_INT(data);
        TestLookup hub = {0}, bus = {0};
        int fds = fd_count_open();
        TestDev *importer;
        ServiceConfig c;
        uint8_t uuid[16];
        TestService t;
        RawPeer *v;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        v = test_raw_peer_new(&t, RAW_PEER_FRONTEND, "vmm", true);
        importer = test_dev_new(&t);
        test_uuid(uuid); /* not in the table: the bridge asks the VMM */

        /* A back-end of the hub imports it. */
        g_assert_cmpint(vu_backend_lookup(importer->b, uuid, test_on_lookup, &hub), ==, 0);
        vmm_answer_lookup(v, kind, uuid);
        TEST_WAIT_FOR(&t, hub.done);
        /* A bus caller (Lookup) imports it. */
        g_assert_cmpint(service_lookup(t.s, uuid, on_service_lookup, &bus), ==, 0);
        vmm_answer_lookup(v, kind, uuid);
        TEST_WAIT_FOR(&t, bus.done);

        if (kind == UPSTREAM_BUFFER) {
                g_assert_cmpint(hub.fd, >=, 0);
                g_assert_cmpint(bus.fd, >=, 0);
                g_assert_cmpint(
                    memfd_verify_pattern(hub.fd, TEST_BUFFER_SIZE, buffer_pattern_seed(uuid)), ==,
                    0);
                close(hub.fd);
                close(bus.fd);
        } else {
                g_assert_cmpint(hub.fd, <, 0);
                g_assert_cmpint(bus.fd, ==, kind == UPSTREAM_ERROR_WITH_MEMFD ? -ENOENT : -EBADFD);
        }
        /* A well-framed answer with the wrong content costs that lookup, not
         * the VM's device. */
        g_assert_true(test_raw_peer_connected(&t, v));
        g_assert_false(importer->failed);
        test_assert_serves(&t);

        raw_peer_free(v);
        test_dev_free(importer);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

int main(int argc, char **argv)
{
        static const struct {
                const char *name;
                UpstreamAnswer kind;
        } upstream[] = {
            {"pipe", UPSTREAM_PIPE},
            {"socket", UPSTREAM_SOCKET},
            {"directory", UPSTREAM_DIRECTORY},
            {"dev-zero", UPSTREAM_DEV_ZERO},
            {"unsealed-memfd", UPSTREAM_UNSEALED_MEMFD},
            {"error-with-memfd", UPSTREAM_ERROR_WITH_MEMFD},
            {"buffer", UPSTREAM_BUFFER},
        };

        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/get-shared-object/late", test_get_late);
        g_test_add_func("/reliability/get-shared-object/never", test_get_never);
        g_test_add_func("/reliability/get-shared-object/twice", test_get_twice);
        g_test_add_func("/reliability/get-shared-object/wrong-id", test_get_wrong_id);
        g_test_add_func("/reliability/bridge/ack-late", test_vmm_ack_late);
        g_test_add_func("/reliability/bridge/ack-twice", test_vmm_ack_twice);
        g_test_add_func("/reliability/bridge/ack-wrong-id", test_vmm_ack_wrong_id);
        for (size_t i = 0; i < G_N_ELEMENTS(upstream); i++) {
                g_autofree char *path =
                    g_strdup_printf("/reliability/bridge/upstream-answer/%s", upstream[i].name);
                g_test_add_data_func(path, GINT_TO_POINTER(upstream[i].kind), test_upstream_answer);
        }
        return g_test_run();
}
