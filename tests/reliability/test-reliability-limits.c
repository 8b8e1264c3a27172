/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's limits and what it reads of its peers: the transport at
 * RLIMIT_NOFILE, SO_PEERCRED, MaxPeers, and the caps on lookups pending at
 * one exporter and overall; everything in-process
 * (reliability-fixture.h). */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "reliability-fixture.h"

/* At RLIMIT_NOFILE the kernel cannot install a passed fd and says so with
 * MSG_CTRUNC. That is our shortage, not the sender's fault: a message whose
 * fd is optional arrives without it and says so; one that cannot do
 * without it ends the connection as -EMFILE, not as malformed. */
static void test_transport_out_of_fds(void)
{
        g_autoptr(GArray) fillers = g_array_new(false, false, sizeof(int));
        int fds = fd_count_open(), sv[2], passed, highest = 0;
        struct rlimit old, low;
        VuConnection *c;
        uint8_t uuid[16];
        VuMessage m;
        VuError err;

        if (g_getenv("VHOST_SHARE_VALGRIND")) {
                /* valgrind applies RLIMIT_NOFILE to the calls it wraps, but
                 * the kernel installs SCM_RIGHTS fds against the real,
                 * higher limit: the shortage cannot be made there. The
                 * normal and ASan builds run this. */
                g_test_skip("cannot lower the kernel's fd limit under valgrind");
                return;
        }
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        c = vu_conn_new(sv[1]);
        g_assert_cmpint(memfd_new_sealed_pattern("passed", 64, 1, &passed), ==, 0);
        test_uuid(uuid);

        /* Every fd number under the limit taken. */
        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        highest = fd;
        g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
        low = old;
        low.rlim_cur = (rlim_t) highest + 4;
        g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
        for (;;) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                if (fd < 0) {
                        g_assert_cmpint(errno, ==, EMFILE);
                        break;
                }
                g_array_append_val(fillers, fd);
        }

        /* A GET_SHARED_OBJECT answer: the fd is lost, the message arrives. */
        vu_message_init_uuid(&m, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
        g_assert_cmpint(fcntl(passed, F_DUPFD_CLOEXEC, 0), ==, -1);
        g_assert_cmpint(errno, ==, EMFILE);
        {
                /* No fd to spare for a duplicate: send the original. */
                int one[1] = {passed};
                uint8_t buf[VU_HEADER_SIZE + 16];
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
                union {
                        char b[CMSG_SPACE(sizeof(int))];
                        struct cmsghdr align;
                } control = {0};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = control.b,
                                    .msg_controllen = sizeof(control.b)};
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), one, sizeof(int));
                g_assert_cmpuint(vu_message_serialize(&m, buf, sizeof(buf)), ==, sizeof(buf));
                g_assert_cmpint(sendmsg(sv[0], &mh, MSG_NOSIGNAL), ==, (ssize_t) sizeof(buf));

                g_assert_cmpint(vu_conn_read(c, VU_CHANNEL_FRONTEND, true, &m, &err), ==, 1);
                g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
                g_assert_cmpuint(m.n_fds, ==, 0);
                g_assert_true(vu_conn_last_fds_lost(c));

                /* SET_BACKEND_REQ_FD cannot do without its fd. */
                vu_message_init(&m, VU_REQ_SET_BACKEND_REQ_FD, VU_FLAG_NEED_REPLY, 0);
                iov.iov_len = vu_message_serialize(&m, buf, sizeof(buf));
                g_assert_cmpint(sendmsg(sv[0], &mh, MSG_NOSIGNAL), ==, (ssize_t) iov.iov_len);
                g_assert_cmpint(vu_conn_read(c, VU_CHANNEL_FRONTEND, false, &m, &err), ==, -EMFILE);
        }

        for (guint i = 0; i < fillers->len; i++)
                close(g_array_index(fillers, int, i));
        g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
        vu_conn_free(c);
        close(sv[0]);
        close(passed);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* SO_PEERCRED is read for every peer, whatever the way in. */
static void test_peer_credentials(void)
{
        TestService t;
        ServiceConfig c;
        TestDev *d;
        Peer *p;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        d = test_dev_new(&t);
        p = service_find_peer(t.s, d->peer_id);
        g_assert_cmpint(peer_pid(p), ==, getpid());
        g_assert_cmpint(peer_uid(p), ==, getuid());
        g_assert_cmpint(peer_owner(p)->uid, ==, getuid());
        test_dev_free(d);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
}

/* ---- limits ---- */

static void test_max_peers(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open(), sv[2];
        TestDev *devs[3];

        test_config_defaults(&c);
        c.max_peers = 3;
        test_service_init(&t, &c);
        for (unsigned i = 0; i < 3; i++)
                devs[i] = test_dev_new(&t);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(service_adopt_peer(t.s, ROLE_FRONTEND, sv[0], "one-too-many", NULL), ==,
                        -EUSERS);
        close(sv[0]); /* refused: the fd is still ours */
        g_assert_cmpint(recv(sv[1], (char[1]){0}, 1, MSG_DONTWAIT), ==, 0);
        close(sv[1]);
        g_assert_cmpuint(service_n_peers(t.s), ==, 3);

        test_dev_free(devs[2]);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 2);
        devs[2] = test_dev_new(&t);
        for (unsigned i = 0; i < 3; i++)
                test_dev_free(devs[i]);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

/* How many lookups of uuid the hub handled (refused ones too). */
static uint64_t lookup_count(TestService *t, const uint8_t uuid[16])
{
        ShareEntry *e = share_table_lookup(service_table(t->s), uuid);

        return e ? share_entry_lookup_count(e) : 0;
}

/* A back-end that never answers GET_SHARED_OBJECT: at most
 * max_pending_lookups_per_peer requests reach it, further lookups are
 * refused at once (in order, after the earlier ones), and a bus-side lookup
 * gets -EBUSY. The global cap works the same across exporters. */
static void run_pending_limit(bool global)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        const unsigned cap = 3, asked = 7;
        uint8_t uuid[2][16];
        RawPeer *exporter[2], *importer;
        unsigned gets = 0;
        VuMessage m;

        test_config_defaults(&c);
        if (global)
                c.max_pending_lookups = cap;
        else
                c.max_pending_lookups_per_peer = cap;
        test_service_init(&t, &c);
        for (unsigned i = 0; i < 2; i++) {
                exporter[i] = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
                test_uuid(uuid[i]);
                g_assert_cmpint(
                    test_raw_request(exporter[i], VU_BREQ_SHARED_OBJECT_ADD, uuid[i], NULL), ==, 0);
        }
        importer = test_raw_peer_new(&t, RAW_PEER_BACKEND, "raw", true);
        for (unsigned i = 0; i < asked; i++) {
                /* Per peer: all to exporter 0. Global: alternate. */
                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY,
                                     uuid[global ? i % 2 : 0]);
                raw_peer_send(importer, importer->chan, &m);
        }
        /* Every lookup was handled once the entries count them (refused
         * ones too); by then each GET that was let through is on its way. */
        TEST_WAIT_FOR(&t, lookup_count(&t, uuid[0]) + lookup_count(&t, uuid[1]) == asked);
        VuMessage held[16];
        unsigned held_from[16];
        for (unsigned i = 0; i < 2; i++) {
                VuError err;
                int k;

                test_service_iterate(&t);
                while ((k = vu_conn_read(exporter[i]->main, VU_CHANNEL_FRONTEND, false, &m,
                                         &err)) == 1) {
                        g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
                        g_assert_cmpuint(gets, <, G_N_ELEMENTS(held));
                        held[gets] = m;
                        held_from[gets++] = i;
                }
                g_assert_cmpint(k, ==, 0);
        }
        g_assert_cmpuint(gets, ==, cap);
        {
                int r = service_lookup(t.s, uuid[0], NULL, NULL);
                g_assert_cmpint(r, ==, -EBUSY);
        }
        for (unsigned i = 0; i < gets; i++)
                test_answer_get(exporter[held_from[i]], VU_REQ_GET_SHARED_OBJECT,
                                held[i].payload.uuid);
        for (unsigned i = 0; i < asked; i++) {
                g_assert_cmpint(raw_peer_recv(importer, importer->chan, &m), ==, 1);
                g_assert_cmpuint(m.payload.u64, ==, i < cap ? 0 : 1);
                g_assert_cmpuint(m.n_fds, ==, i < cap ? 1 : 0);
                vu_message_close_fds(&m);
        }
        raw_peer_free(importer);
        for (unsigned i = 0; i < 2; i++)
                raw_peer_free(exporter[i]);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

static void test_pending_lookups_per_peer(void)
{
        run_pending_limit(false);
}

static void test_pending_lookups_global(void)
{
        run_pending_limit(true);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/transport-out-of-fds", test_transport_out_of_fds);
        g_test_add_func("/reliability/peer-credentials", test_peer_credentials);
        g_test_add_func("/reliability/limits/max-peers", test_max_peers);
        g_test_add_func("/reliability/limits/pending-lookups-per-peer",
                        test_pending_lookups_per_peer);
        g_test_add_func("/reliability/limits/pending-lookups-global", test_pending_lookups_global);
        return g_test_run();
}
