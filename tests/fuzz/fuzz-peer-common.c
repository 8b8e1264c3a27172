/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whole-peer fuzz driver (see fuzz-peer-common.h). */

#include "fuzz-peer-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "async-close.h"
#include "fd-util.h"
#include "log.h"
#include "service-private.h"

#define FD_SCAN 1024
#define MAX_RECV_FDS 16

#define MAX_PEERS 2

typedef struct {
        uint64_t peer_id;
        int main_fd; /* our end of the peer's main socket */
        int chan_fd; /* our end of the back-end channel, -1 before there is one */
} FuzzPeer;

typedef struct {
        const FuzzPeerSpec *spec;
        sd_event *ev;
        Service *s;
        ShareOwner mine; /* entries the "bus" side of the test exports */
        FuzzPeer peers[MAX_PEERS];
        unsigned n_peers;
        unsigned lookups_started;
        unsigned lookups_done;
} FuzzRun;

static void die(const char *what)
{
        fprintf(stderr, "fuzz-peer: invariant broken: %s\n", what);
        abort();
}

static void open_fds(uint8_t map[FD_SCAN])
{
        /* Fds handed to the closers are closed once they are idle; their
         * plumbing is there from the first scan on. */
        if (async_close_init() < 0 || !async_close_wait_idle(30000))
                die("the closers are stuck");
        for (int fd = 0; fd < FD_SCAN; fd++)
                map[fd] = fcntl(fd, F_GETFD) >= 0;
}

const char *fuzz_fd_kind_name(FuzzFdKind kind)
{
        static const char *const names[] = {
            "none",  "memfd-sealed", "memfd-unsealed", "memfd-empty", "eventfd",
            "pipe",  "socket",       "devnull",        "tmpfile",     "directory",
            "epoll", "timerfd",      "flood",          "overflow",    "two",
        };
        _Static_assert(G_N_ELEMENTS(names) == _FUZZ_FD_MAX, "a name per kind");
        return (unsigned) kind < _FUZZ_FD_MAX ? names[kind] : "?";
}

static int memfd_with(size_t size, unsigned seals)
{
        int fd = memfd_create("fuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int fuzz_make_fd(FuzzFdKind kind, int *ret_other)
{
        int fd = -1, sv[2];

        switch (kind) {
        case FUZZ_FD_MEMFD_SEALED:
                return memfd_with(4096, F_SEAL_SHRINK | F_SEAL_GROW);
        case FUZZ_FD_MEMFD_UNSEALED:
                return memfd_with(4096, 0);
        case FUZZ_FD_MEMFD_EMPTY:
                return memfd_with(0, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        case FUZZ_FD_EVENTFD:
                fd = eventfd(0, EFD_CLOEXEC);
                break;
        case FUZZ_FD_PIPE:
                if (pipe2(sv, O_CLOEXEC) < 0)
                        return -errno;
                close(sv[1]);
                return sv[0];
        case FUZZ_FD_SOCKET:
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        return -errno;
                if (ret_other)
                        *ret_other = sv[1];
                else
                        close(sv[1]);
                return sv[0];
        case FUZZ_FD_DEVNULL:
                fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                break;
        case FUZZ_FD_TMPFILE:
                fd = open(g_get_tmp_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                break;
        case FUZZ_FD_DIRECTORY:
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                break;
        case FUZZ_FD_EPOLL:
                fd = epoll_create1(EPOLL_CLOEXEC);
                break;
        case FUZZ_FD_TIMERFD:
                fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
                break;
        default:
                return -EINVAL;
        }
        return fd < 0 ? -errno : fd;
}

/* The fds a write carries, per kind; *n set. */
static void make_fds(FuzzFdKind kind, int fds[MAX_RECV_FDS], unsigned *n, int *other)
{
        unsigned count = 1;
        *n = 0;

        if (kind == FUZZ_FD_NONE || kind >= _FUZZ_FD_MAX)
                return;
        if (kind == FUZZ_FD_FLOOD || kind == FUZZ_FD_OVERFLOW || kind == FUZZ_FD_TWO) {
                FuzzFdKind each = kind == FUZZ_FD_OVERFLOW ? FUZZ_FD_DEVNULL : FUZZ_FD_MEMFD_SEALED;

                count = kind == FUZZ_FD_FLOOD ? 8 : kind == FUZZ_FD_OVERFLOW ? 12 : 2;
                for (unsigned i = 0; i < count; i++) {
                        int fd = fuzz_make_fd(
                            i == 1 && kind == FUZZ_FD_TWO ? FUZZ_FD_DEVNULL : each, NULL);
                        if (fd >= 0)
                                fds[(*n)++] = fd;
                }
                return;
        }
        int fd = fuzz_make_fd(kind, other);
        if (fd >= 0)
                fds[(*n)++] = fd;
}

static void send_chunk(int sock, const uint8_t *buf, size_t len, int *fds, unsigned n_fds)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * MAX_RECV_FDS)];
                struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        /* A stream socket drops ancillary data that has no byte to ride on. */
        if (len > 0 && n_fds > 0) {
                struct cmsghdr *c;

                memset(&control, 0, sizeof(control));
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        if (len > 0)
                (void) sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
}

/* Reads everything the service sent on sock; fds are closed, except that a
 * socket arriving on the hub's main socket is the back-end channel. Returns
 * the bytes read. */
static size_t drain(FuzzPeer *peer, int sock, bool may_carry_channel)
{
        size_t total = 0;

        for (;;) {
                union {
                        char buf[CMSG_SPACE(sizeof(int) * MAX_RECV_FDS)];
                        struct cmsghdr align;
                } control;
                uint8_t buf[4096];
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = control.buf,
                                    .msg_controllen = sizeof(control.buf)};
                ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n <= 0)
                        return total;
                total += (size_t) n;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        unsigned k;
                        int fds[MAX_RECV_FDS];

                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(fds, CMSG_DATA(c), k * sizeof(int));
                        for (unsigned i = 0; i < k; i++) {
                                struct stat st;

                                if (may_carry_channel && fstat(fds[i], &st) == 0 &&
                                    S_ISSOCK(st.st_mode)) {
                                        if (peer->chan_fd >= 0)
                                                close(peer->chan_fd);
                                        peer->chan_fd = fds[i];
                                } else {
                                        close(fds[i]);
                                }
                        }
                }
        }
}

static void pump(FuzzRun *run)
{
        for (unsigned round = 0; round < 256; round++) {
                bool busy = false;

                for (unsigned i = 0; i < 4096; i++) {
                        int r = sd_event_run(run->ev, 0);
                        if (r < 0)
                                die("sd_event_run failed");
                        if (r == 0)
                                break;
                        busy = true;
                }
                for (unsigned k = 0; k < run->n_peers; k++) {
                        FuzzPeer *peer = &run->peers[k];

                        if (peer->main_fd >= 0 &&
                            drain(peer, peer->main_fd, run->spec->role == ROLE_FRONTEND) > 0)
                                busy = true;
                        if (peer->chan_fd >= 0 && drain(peer, peer->chan_fd, false) > 0)
                                busy = true;
                }
                if (!busy)
                        return;
        }
}

typedef struct {
        FuzzRun *run;
        unsigned owned_by_peer[MAX_PEERS];
        unsigned owned_by_me;
        unsigned other;
} TableCount;

static bool count_entry(const ShareEntry *e, void *userdata)
{
        TableCount *c = userdata;
        ShareOwner *o = share_entry_owner(e);
        bool known = false;

        if (o == &c->run->mine) {
                c->owned_by_me++;
                known = true;
        }
        for (unsigned k = 0; k < c->run->n_peers && !known; k++) {
                Peer *p = service_find_peer(c->run->s, c->run->peers[k].peer_id);

                if (p && o == peer_owner(p)) {
                        c->owned_by_peer[k]++;
                        known = true;
                }
        }
        if (!known)
                c->other++;
        if (share_entry_type(e) == SHARE_TYPE_DMABUF && fcntl(share_entry_fd(e), F_GETFD) < 0)
                die("a dma-buf entry holds a closed fd");
        if (share_entry_type(e) == SHARE_TYPE_VHOST_DEV && o == &c->run->mine)
                die("an exporter entry owned by a bus client");
        return true;
}

static void check_invariants(FuzzRun *run)
{
        TableCount c = {.run = run};
        const ServiceConfig *cfg = service_config(run->s);
        unsigned total = 0;

        share_table_foreach(service_table(run->s), count_entry, &c);
        if (c.other)
                die("an entry with an owner that is neither a peer nor the test");
        for (unsigned k = 0; k < run->n_peers; k++)
                total += c.owned_by_peer[k];
        if (c.owned_by_me + total != share_table_size(service_table(run->s)))
                die("foreach and size disagree");
        if (c.owned_by_me != run->mine.n_entries)
                die("the test's owner count is off");
        for (unsigned k = 0; k < run->n_peers; k++) {
                Peer *p = service_find_peer(run->s, run->peers[k].peer_id);

                if (!p)
                        continue;
                if (c.owned_by_peer[k] != peer_owner(p)->n_entries)
                        die("a peer's owner count is off");
                if (cfg->max_objects_per_peer && c.owned_by_peer[k] > cfg->max_objects_per_peer)
                        die("the per-peer quota was exceeded");
                if (cfg->max_pending_lookups_per_peer &&
                    p->pending_gets > cfg->max_pending_lookups_per_peer)
                        die("too many GET_SHARED_OBJECT outstanding to one peer");
        }
        if (cfg->max_pending_lookups && run->s->pending_lookups > cfg->max_pending_lookups)
                die("too many lookups outstanding");
        if (run->lookups_done > run->lookups_started)
                die("a lookup completed twice");
}

static void on_lookup_done(Service *s, int fd, int error, void *userdata)
{
        FuzzRun *run = userdata;

        if ((fd >= 0) != (error == 0))
                die("a lookup result with both or neither of fd and error");
        if (fd >= 0)
                close(fd);
        run->lookups_done++;
}

static void table_action(FuzzRun *run, uint8_t action, const uint8_t uuid[SHARE_UUID_SIZE])
{
        int fd, r;

        switch (action % 3) {
        case 0:
                fd = fuzz_make_fd(FUZZ_FD_MEMFD_SEALED, NULL);
                if (fd < 0)
                        return;
                if (service_export_fd(run->s, uuid, fd, &run->mine, NULL, NULL) < 0)
                        close(fd);
                break;
        case 1:
                (void) service_remove(run->s, uuid, &run->mine);
                break;
        default:
                r = service_lookup(run->s, uuid, on_lookup_done, run);
                if (r == 0)
                        run->lookups_started++;
                break;
        }
}

static void peer_hang_up(FuzzPeer *peer)
{
        if (peer->chan_fd >= 0)
                close(peer->chan_fd);
        if (peer->main_fd >= 0)
                close(peer->main_fd);
        peer->chan_fd = peer->main_fd = -1;
}

static void add_peer(FuzzRun *run)
{
        FuzzPeer *peer = &run->peers[run->n_peers++];
        Peer *p = NULL;
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair");
        peer->main_fd = sv[1];
        peer->chan_fd = -1;
        if (service_adopt_peer(run->s, run->spec->role, sv[0], "fuzz", &p) < 0) {
                close(sv[0]); /* refused: the fd is still ours */
                die("service_adopt_peer");
        }
        peer->peer_id = peer_id(p);
}

void fuzz_peer_run(const FuzzPeerSpec *spec, const uint8_t *data, size_t size)
{
        static uint8_t before[FD_SCAN], after[FD_SCAN];
        FuzzRun run = {.spec = spec};
        ServiceConfig cfg;
        size_t pos = 0;
        uint8_t conf;

        if (!getenv("VHOST_SHARE_FUZZ_LOG"))
                log_set_max_level(-1);
        if (size < 1)
                return;
        open_fds(before);

        /* Limits small enough for an input to reach them; deadlines far
         * enough never to fire within one input, so that runs repeat. */
        conf = data[pos++];
        service_config_init_defaults(&cfg);
        cfg.max_objects_per_peer = (conf & 7) ? (conf & 7) * 2u : 0;
        cfg.max_pending_lookups_per_peer = ((conf >> 3) & 3) + 1u;
        cfg.max_pending_lookups = (conf & 0x20) ? 2 : 1024;
        cfg.lookup_timeout_usec = cfg.reply_timeout_usec = 600 * 1000 * 1000ull;

        if (sd_event_new(&run.ev) < 0)
                die("sd_event_new");
        service_new(run.ev, &cfg, &run.s);
        share_owner_init(&run.mine, SHARE_OWNER_BUS_CLIENT, ":1.fuzz", 0);
        if (conf & 0x40)
                run.mine.max_entries = 3;
        add_peer(&run);
        if (conf & 0x80)
                add_peer(&run);
        pump(&run);
        check_invariants(&run);

        while (pos + 2 <= size) {
                uint8_t op = data[pos++];
                size_t len = data[pos++];
                FuzzFdKind kind = (FuzzFdKind) ((op >> 2) & 15);
                FuzzPeer *peer = &run.peers[(op >> 6) % run.n_peers];
                int fds[MAX_RECV_FDS], other = -1;
                unsigned n_fds;

                if (len > size - pos)
                        len = size - pos;
                switch (op & 3) {
                case 0:
                case 1:
                        make_fds(kind, fds, &n_fds, &other);
                        if (peer->main_fd >= 0)
                                send_chunk((op & 3) == 1 && peer->chan_fd >= 0 ? peer->chan_fd
                                                                               : peer->main_fd,
                                           data + pos, len, fds, n_fds);
                        else
                                for (unsigned i = 0; i < n_fds; i++)
                                        close(fds[i]);
                        pos += len;
                        if (other >= 0) {
                                if (spec->socket_fd_is_channel && peer->main_fd >= 0) {
                                        if (peer->chan_fd >= 0)
                                                close(peer->chan_fd);
                                        peer->chan_fd = other;
                                } else {
                                        close(other);
                                }
                        }
                        break;
                case 2: {
                        uint8_t uuid[SHARE_UUID_SIZE] = {0};
                        uint8_t action = len & 0xff;

                        /* len is the action here; 16 uuid bytes follow. */
                        memcpy(uuid, data + pos, MIN(sizeof(uuid), size - pos));
                        pos += MIN(sizeof(uuid), size - pos);
                        table_action(&run, action, uuid);
                        break;
                }
                default:
                        /* Hang-ups: the fd-kind bits say which. */
                        switch (kind & 3) {
                        case 0:
                                if (peer->chan_fd >= 0)
                                        close(peer->chan_fd);
                                peer->chan_fd = -1;
                                break;
                        case 1:
                                peer_hang_up(peer);
                                break;
                        case 2: /* stop reading: only our sends notice */
                                if (peer->chan_fd >= 0)
                                        (void) shutdown(peer->chan_fd, SHUT_RD);
                                break;
                        default:
                                if (peer->main_fd >= 0)
                                        (void) shutdown(peer->main_fd, SHUT_RD);
                                break;
                        }
                        break;
                }
                pump(&run);
                check_invariants(&run);
        }

        /* The peers hang up: they must go, and take their entries and
         * lookups along. */
        for (unsigned k = 0; k < run.n_peers; k++)
                peer_hang_up(&run.peers[k]);
        for (unsigned i = 0; i < 4096 && sd_event_run(run.ev, 0) > 0; i++)
                ;
        for (unsigned k = 0; k < run.n_peers; k++)
                if (service_find_peer(run.s, run.peers[k].peer_id))
                        die("a peer outlived its hang-up");
        if (share_table_size(service_table(run.s)) != run.mine.n_entries)
                die("the peers' entries survived them");
        if (run.s->pending_lookups != 0)
                die("lookups outstanding after the exporters left");
        if (run.lookups_done != run.lookups_started)
                die("a lookup never completed");

        share_table_remove_owner(service_table(run.s), &run.mine);
        service_free(run.s);
        sd_event_unref(run.ev);
        share_owner_clear(&run.mine);

        open_fds(after);
        for (int fd = 0; fd < FD_SCAN; fd++)
                if (before[fd] != after[fd]) {
                        fprintf(stderr, "fuzz-peer: fd %d %s\n", fd,
                                after[fd] ? "leaked" : "closed behind our back");
                        abort();
                }
}
