/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An unprivileged bus caller attaches a file on a FUSE mount it serves and
 * then stops answering (tests/helpers/fuse-trap.h) to a read-only method
 * call the policy lets everyone make (ListObjects). The shipped policy
 * refuses fds on every method that takes none, so the fd never reaches the
 * service; other clients are served and SIGTERM ends the service at once. */

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "cleanup.h"
#include "dbus-fixture.h"
#include "fd-util.h"
#include "fuse-trap.h"

typedef struct {
        int fuse_fd;
} Attack;

/* As nobody: ListObjects with the file attached; the bus refuses it. */
static int nobody_lists_with_fd(Testbed *t, void *data)
{
        Attack *a = data;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = testbed_connect(t);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, DEST, MPATH, MIFACE, "ListObjects");
        if (r >= 0)
                r = sd_bus_message_append(m, "h", a->fuse_fd);
        if (r < 0) {
                fprintf(stderr, "Failed to build the call: %s\n", strerror(-r));
                return 2;
        }
        r = sd_bus_call(bus, m, TEST_TIMEOUT_USEC, &err, &reply);
        fprintf(stderr, "ListObjects with an fd: %d %s\n", r, err.name ? err.name : "(no error)");
        return r < 0 && sd_bus_error_has_name(&err, SD_BUS_ERROR_ACCESS_DENIED) ? 0 : 1;
}

static void test_fuse_fd_list_objects(Fixture *f, gconstpointer data)
{
        struct passwd *pw = getpwnam("nobody");
        Attack a;
        FuseTrap *t;
        char *err;
        gint64 start, took;
        int status, code;

        if (fuse_trap_skip())
                return;
        g_assert_nonnull(pw);
        t = fuse_trap_new(f->tb.dir);
        a.fuse_fd = fuse_trap_open(t);
        fuse_trap_spring(t, f->tb.service_pid);

        code = testbed_run_as(&f->tb, pw->pw_uid, pw->pw_gid, (gid_t) -1, nobody_lists_with_fd, &a);
        if (code != 0)
                harness_fail(f->tb.h, "the call with the fd was not refused by the bus (%d)", code);

        /* Another client is served as before. */
        start = g_get_monotonic_time();
        err = call_simple(f->bus, "ListObjects", "");
        g_assert_null(err);
        g_test_message("another client's ListObjects: %" G_GINT64_FORMAT " us",
                       g_get_monotonic_time() - start);

        start = g_get_monotonic_time();
        status = harness_stop(f->tb.service, TEST_TIMEOUT_MS);
        took = g_get_monotonic_time() - start;
        f->tb.service = NULL;
        f->tb.service_pid = 0;
        g_test_message("SIGTERM to exit: %" G_GINT64_FORMAT " us", took);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_assert_cmpint(took, <, G_USEC_PER_SEC);
        /* The fd never reached the service. */
        g_assert_cmpuint(fuse_trap_stalled(t, 0), ==, 0);

        fuse_trap_free(t);
        close(a.fuse_fd);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/fuse/list-objects-shipped-policy", setup_shipped, NULL,
                      test_fuse_fd_list_objects);
        return g_test_run();
}
