/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A back-end attaches a file on a FUSE mount it serves and then stops
 * answering (tests/helpers/fuse-trap.h) to a LOOKUP, to an ADD and to its
 * answer to GET_SHARED_OBJECT. Whatever the hub does with the fd (inspect
 * it, refuse it, close it) must not wait for that server: other back-ends
 * are served meanwhile, and SIGTERM ends the hub at once. */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "buffer-pattern.h"
#include "fd-util.h"
#include "fuse-trap.h"
#include "hub-fixture.h"
#include "vu-message.h"

typedef enum {
        ATTACH_TO_LOOKUP,
        ATTACH_TO_ADD,
        ATTACH_TO_GET_ANSWER,
} Attach;

/* Two well-behaved devices pass a buffer through the hub. */
static void bystanders_served(Fixture *f, const char *uuid)
{
        gint64 start = g_get_monotonic_time();
        HarnessProc *exporter = start_device(f, "bystander-exporter", NULL);
        HarnessProc *importer = start_device(f, "bystander-importer", NULL);

        pass_ok(f, exporter, importer, uuid);
        g_test_message("bystanders started, connected and passed a buffer in %" G_GINT64_FORMAT
                       " us",
                       g_get_monotonic_time() - start);
}

static void test_fuse_fd(Fixture *f, gconstpointer data)
{
        Attach attach = GPOINTER_TO_INT(data);
        FuseTrap *t;
        RawPeer *r;
        uint8_t uuid[16];
        VuMessage m, reply;
        gint64 start, took;
        int fuse_fd;

        if (fuse_trap_skip())
                return;
        start_hub(f, NULL);
        t = fuse_trap_new(harness_dir(f->h));
        fuse_fd = fuse_trap_open(t);
        fuse_trap_spring(t, harness_proc_pid(f->hub));
        parse_uuid(UUID_A, uuid);
        r = raw_connect(f, RAW_FEATURES);

        switch (attach) {
        case ATTACH_TO_LOOKUP:
                /* rust-vmm's form of LOOKUP carries an fd: the hub closes it. */
                raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid,
                              fuse_fd);
                break;
        case ATTACH_TO_ADD:
                /* ADD takes no fd: a protocol error, the peer is dropped. */
                raw_send_uuid(r, r->chan, VU_BREQ_SHARED_OBJECT_ADD, VU_FLAG_NEED_REPLY, uuid,
                              fuse_fd);
                break;
        case ATTACH_TO_GET_ANSWER: {
                HarnessProc *importer = start_device(f, "importer", NULL);

                g_assert_cmpuint(raw_request_u64(f, r, VU_BREQ_SHARED_OBJECT_ADD, uuid), ==, 0);
                harness_send_line(importer, "import %s", UUID_A);
                g_assert_cmpint(raw_peer_recv(r, r->main, &m), ==, 1);
                g_assert_cmpuint(m.hdr.request, ==, VU_REQ_GET_SHARED_OBJECT);
                vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
                g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(fuse_fd)), ==, 0);
                raw_peer_send(r, r->main, &reply);
                import_fails(f, importer, UUID_A);
                break;
        }
        }
        /* The hub has reached the file system: closing the fd (FLUSH). */
        g_assert_true(fuse_trap_wait_stalled(t, 1, TEST_TIMEOUT_MS));
        g_test_message("stalled: %u (FLUSH %u, STATFS %u, GETATTR %u)", fuse_trap_stalled(t, 0),
                       fuse_trap_stalled(t, 25), fuse_trap_stalled(t, 17), fuse_trap_stalled(t, 3));

        bystanders_served(f, UUID_B);

        start = g_get_monotonic_time();
        harness_stop(f->hub, TEST_TIMEOUT_MS);
        took = g_get_monotonic_time() - start;
        g_test_message("SIGTERM to exit: %" G_GINT64_FORMAT " us, FUSE server still silent", took);
        g_assert_cmpint(fuse_trap_stalled(t, 0), >=, 1);
        g_assert_cmpint(took, <, G_USEC_PER_SEC);

        raw_peer_free(r);
        fuse_trap_free(t);
        close(fuse_fd);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        HUB_TEST_ADD("/hub-fuse/lookup", GINT_TO_POINTER(ATTACH_TO_LOOKUP), test_fuse_fd);
        HUB_TEST_ADD("/hub-fuse/add", GINT_TO_POINTER(ATTACH_TO_ADD), test_fuse_fd);
        HUB_TEST_ADD("/hub-fuse/get-answer", GINT_TO_POINTER(ATTACH_TO_GET_ANSWER), test_fuse_fd);
        return g_test_run();
}
