/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deadline timers fire within a millisecond of their deadline: sd-event's
 * default accuracy (250 ms) let a 1 s lookup deadline refuse after up to
 * 1.25 s. Not a timed test: it reads the accuracy set on each deadline
 * source (the bench measures the lateness). */

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service-private.h"
#include "vu-endpoint.h"

static void on_fail(VuEndpoint *ep, int error, const char *reason, void *userdata)
{
}

/* Every request's reply deadline (lookups, GET_SHARED_OBJECT, acks of
 * announcements) is the endpoint's one timer. */
static void test_endpoint_deadline(void)
{
        VuEndpointOps ops = {
            .channel = VU_CHANNEL_BACKEND,
            .receives_requests = false,
            .on_fail = on_fail,
        };
        sd_event *event = NULL;
        VuEndpoint *ep = NULL;
        uint64_t accuracy = 0;
        int sv[2];

        g_assert_cmpint(sd_event_new(&event), >=, 0);
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(vu_endpoint_new(event, sv[0], &ops, "test", &ep), ==, 0);
        g_assert_cmpint(vu_endpoint_deadline_accuracy(ep, &accuracy), ==, 0);
        g_assert_cmpuint(accuracy, ==, 1000);
        vu_endpoint_free(ep);
        close(sv[1]);
        sd_event_unref(event);
}

/* A --connect peer's next attempt, shown as NextRetryTimestamp. */
static void test_peer_retry(void)
{
        g_autofree char *dir = g_dir_make_tmp("deadline-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "absent.sock", NULL);
        ServiceConfig cfg;
        sd_event *event = NULL;
        Service *s = NULL;
        uint64_t accuracy = 0;
        Peer *p = NULL;

        service_config_init_defaults(&cfg);
        g_assert_cmpint(sd_event_new(&event), >=, 0);
        g_assert_cmpint(service_new(event, &cfg, &s), ==, 0);
        g_assert_cmpint(service_connect_backend(s, path, &p), ==, 0);
        g_assert_cmpstr(peer_state_to_string(peer_state(p)), ==, "waiting");
        g_assert_nonnull(p->retry);
        g_assert_cmpint(sd_event_source_get_time_accuracy(p->retry, &accuracy), ==, 0);
        g_assert_cmpuint(accuracy, ==, 1000);
        service_free(s);
        sd_event_unref(event);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/deadline-accuracy/endpoint", test_endpoint_deadline);
        g_test_add_func("/deadline-accuracy/peer-retry", test_peer_retry);
        return g_test_run();
}
