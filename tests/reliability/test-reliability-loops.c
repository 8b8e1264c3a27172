/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lookups that could go round in circles, in-process: a --connect to the
 * service's own listening socket is refused, and the lookups of one UUID
 * the table lacks share one upstream walk. (Loops through other processes:
 * test-daemon-loops.c.) */

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "reliability-fixture.h"

/* The hub connecting to the service's own bridge: its own listening
 * socket is refused by path (Exists) before any connection. A connection
 * that still reaches this process under a name the path rules cannot see
 * would not loop either: the bridge never asks the asking process
 * (one-walk-per-uuid and the daemon loop tests). */
static void test_self_connection(void)
{
        g_autofree char *dir = g_dir_make_tmp("test-reliability-loops-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "serve.sock", NULL);
        int fds = fd_count_open();
        TestService t;
        ServiceConfig c;
        Peer *p = NULL;
        uint8_t uuid[16];

        test_config_defaults(&c);
        test_service_init(&t, &c);
        g_assert_cmpint(service_listen_frontends(t.s, path), ==, 0);
        g_assert_cmpint(service_connect_backend(t.s, path, &p), ==, -EEXIST);
        g_assert_cmpuint(service_n_peers(t.s), ==, 0);
        /* Nobody to ask upstream: not found, at once. */
        test_uuid(uuid);
        g_assert_cmpint(service_lookup(t.s, uuid, NULL, NULL), ==, -ENOENT);
        test_service_clear(&t);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

static ino_t fd_inode(int fd)
{
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        return st.st_ino;
}

/* Two importers look up a UUID only a VMM holds: the VMM is asked once,
 * and its one answer serves both (each its own descriptor of the buffer). */
static void test_one_walk_per_uuid(void)
{
        int fds = fd_count_open();
        TestService t;
        ServiceConfig c;
        RawPeer *vmm, *importer[2];
        uint8_t uuid[16];
        VuMessage m, answer;
        VuError err;
        ino_t ino;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        vmm = test_raw_peer_new(&t, RAW_PEER_FRONTEND, "vmm", true);
        test_uuid(uuid);
        for (unsigned i = 0; i < 2; i++) {
                importer[i] = test_raw_peer_new(&t, RAW_PEER_BACKEND, "importer", true);
                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
                raw_peer_send(importer[i], importer[i]->chan, &m);
        }
        g_assert_cmpint(raw_peer_recv(vmm, vmm->chan, &m), ==, 1);
        g_assert_cmpuint(m.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        g_assert_cmpmem(m.payload.uuid, 16, uuid, 16);
        vu_message_init_reply_u64(&answer, &m, 0);
        test_add_memfds(&answer, 1);
        ino = fd_inode(answer.fds[0]);
        raw_peer_send(vmm, vmm->chan, &answer);
        for (unsigned i = 0; i < 2; i++) {
                g_assert_cmpint(raw_peer_recv(importer[i], importer[i]->chan, &m), ==, 1);
                g_assert_cmpuint(m.payload.u64, ==, 0);
                g_assert_cmpuint(m.n_fds, ==, 1);
                g_assert_cmpuint(fd_inode(m.fds[0]), ==, ino);
                vu_message_close_fds(&m);
        }
        /* No second LOOKUP reached the VMM. */
        test_service_iterate(&t);
        g_assert_cmpint(vu_conn_read(vmm->chan, VU_CHANNEL_BACKEND, false, &m, &err), ==, 0);

        for (unsigned i = 0; i < 2; i++)
                raw_peer_free(importer[i]);
        raw_peer_free(vmm);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/loops/self-connection", test_self_connection);
        g_test_add_func("/reliability/loops/one-walk-per-uuid", test_one_walk_per_uuid);
        return g_test_run();
}
