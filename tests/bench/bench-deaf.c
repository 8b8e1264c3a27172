/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VMM that stops reading its back-end channel (a stopped QEMU) must cost
 * other peers nothing and the daemon a bounded amount of memory: the
 * daemon serves a VMM socket, other back-ends do ADD/REMOVE for 20 s with
 * no VMM, then for 20 s while a VMM that completed its handshake never
 * reads the channel; without and with REPLY_ACK. Every table change is an
 * announcement to the VMM, held back and coalesced once it stops reading. */

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"

#define DEAF_PHASE_MS 20000

/* One front-end request on the main socket; with a reply, its u64. */
static int vmm_call(int sock, uint32_t request, uint32_t flags, const uint64_t *value, int fd,
                    uint64_t *ret)
{
        VuMessage m;
        int r;

        if (value)
                vu_message_init_u64(&m, request, flags, *value);
        else
                vu_message_init(&m, request, flags, 0);
        r = wire_send_message(sock, &m, fd);
        if (r < 0 || !ret)
                return r;
        r = wire_read_message(sock, &m);
        if (r < 0)
                return r;
        vu_message_close_fds(&m);
        if (m.hdr.request != request || m.hdr.size != sizeof(uint64_t))
                return -EPROTO;
        *ret = m.payload.u64;
        return 0;
}

int vmm_connect(const char *path, bool reply_ack, int *ret_main, int *ret_chan)
{
        _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        uint64_t features = 0, pf = VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_SHARED_OBJECT);
        int ch[2], r;

        if (sock < 0 || strlen(path) >= sizeof(sa.sun_path))
                return -EINVAL;
        strcpy(sa.sun_path, path);
        if (connect(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (reply_ack)
                pf |= VU_BIT(VU_PF_REPLY_ACK);
        r = vmm_call(sock, VU_REQ_GET_FEATURES, 0, NULL, -1, &features);
        if (r >= 0)
                r = vmm_call(sock, VU_REQ_SET_FEATURES, 0, &features, -1, NULL);
        if (r >= 0)
                r = vmm_call(sock, VU_REQ_SET_PROTOCOL_FEATURES, 0, &pf, -1, NULL);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch) < 0)
                return -errno;
        r = vmm_call(sock, VU_REQ_SET_BACKEND_REQ_FD, reply_ack ? VU_FLAG_NEED_REPLY : 0, NULL,
                     ch[1], reply_ack ? &features : NULL);
        close(ch[1]);
        if (r < 0) {
                close(ch[0]);
                return r;
        }
        *ret_main = g_steal_fd(&sock);
        *ret_chan = ch[0];
        return 0;
}

static int deaf_target(Bench *b, bool reply_ack, unsigned n)
{
        TargetOptions o = {.serve = true, .serve_reply_ack = reply_ack};
        g_autofree WireBackend *others = g_new0(WireBackend, n);
        Samples add = {0}, rem = {0}, dadd = {0}, drem = {0};
        Summary base_add, base_rem, sum_add, sum_rem;
        int vmm_main = -1, vmm_chan = -1, r;
        uint64_t wall = 0, dwall = 0;
        long rss_calm, rss_before, rss_after;
        const char *what = reply_ack ? "with REPLY_ACK" : "without REPLY_ACK";
        char name[128];
        Target *t = NULL;

        for (unsigned i = 0; i < n; i++)
                wire_backend_init(&others[i], "other");
        r = target_start(b, TARGET_PROCESS, &o, &t);
        for (unsigned i = 0; r >= 0 && i < n; i++)
                r = target_connect(t, &others[i], "other");
        if (r >= 0) {
                progress("deaf: %s, %u s without a VMM", what, DEAF_PHASE_MS / 1000);
                hub_workload(HUB_ADD_REMOVE, others, n, NULL, DEAF_PHASE_MS, &add, &rem, &wall,
                             NULL);
                rss_calm = proc_rss_kib(target_pid(t));
                r = vmm_connect(target_serve_socket(t), reply_ack, &vmm_main, &vmm_chan);
        }
        if (r >= 0) {
                /* Let the bridge call it ready before the churn. */
                usleep(200 * 1000);
                rss_before = proc_rss_kib(target_pid(t));
                progress("deaf: %s, %u s with a deaf VMM", what, DEAF_PHASE_MS / 1000);
                hub_workload(HUB_ADD_REMOVE, others, n, NULL, DEAF_PHASE_MS, &dadd, &drem, &dwall,
                             NULL);
                rss_after = proc_rss_kib(target_pid(t));
                samples_summarize(&add, wall, &base_add);
                samples_summarize(&rem, wall, &base_rem);
                samples_summarize(&dadd, dwall, &sum_add);
                samples_summarize(&drem, dwall, &sum_rem);
                snprintf(name, sizeof(name), "ADD (ack), no VMM (%s socket)", what);
                report_row(name, n, 0, &base_add, NULL, NULL);
                snprintf(name, sizeof(name), "REMOVE (ack), no VMM (%s socket)", what);
                report_row(name, n, 0, &base_rem, NULL, NULL);
                snprintf(name, sizeof(name), "ADD (ack), a deaf VMM %s", what);
                report_row(name, n, 0, &sum_add, &base_add, NULL);
                snprintf(name, sizeof(name), "REMOVE (ack), a deaf VMM %s", what);
                report_row(name, n, 0, &sum_rem, &base_rem, NULL);
                report_text("\nDaemon VmRSS %s: %ld KiB after the calm phase, %ld KiB with the "
                            "deaf VMM connected, %ld KiB after %u s of churn with it. The VMM was "
                            "%s at the end.\n\n",
                            what, rss_calm, rss_before, rss_after, DEAF_PHASE_MS / 1000,
                            recv(vmm_main, name, 1, MSG_DONTWAIT | MSG_PEEK) == 0
                                ? "dropped"
                                : "still connected");
        }
        if (r < 0)
                progress("deaf: %s", g_strerror(-r));
        samples_clear(&add);
        samples_clear(&rem);
        samples_clear(&dadd);
        samples_clear(&drem);
        fd_close_safe(&vmm_main);
        fd_close_safe(&vmm_chan);
        target_stop(t);
        for (unsigned i = 0; i < n; i++)
                wire_backend_close(&others[i]);
        return r;
}

int bench_deaf(Bench *b)
{
        unsigned n = MAX(1u, b->max_clients / 2);
        int r, q;

        report_section("Deaf VMM",
                       "The daemon with a --serve socket; 4 back-ends do ADD/REMOVE (each with "
                       "NEED_REPLY) for 20 s with no VMM, then for 20 s while a VMM that completed "
                       "its handshake never reads its back-end channel. The ratio columns compare "
                       "with the no-VMM rows (not with the floor).");
        r = deaf_target(b, false, n);
        q = deaf_target(b, true, n);
        return r < 0 ? r : q;
}
