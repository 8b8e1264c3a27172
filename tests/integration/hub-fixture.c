/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the hub tests share (see hub-fixture.h). */
#include "hub-fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "buffer-pattern.h"

/* ---- the hub and its devices ---- */

void fixture_setup(Fixture *f, gconstpointer data)
{
        f->h = harness_new();
        f->sock = harness_path(f->h, "hub.sock");
}

void fixture_teardown(Fixture *f, gconstpointer data)
{
        harness_free(f->h);
        g_free(f->sock);
}

void start_hub(Fixture *f, ...)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        va_list ap;

        g_ptr_array_add(args, g_strdup_printf("--accept=%s", f->sock));
        va_start(ap, f);
        for (const char *a; (a = va_arg(ap, const char *));)
                g_ptr_array_add(args, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(args, NULL);
        f->hub = harness_spawn_hubv(f->h, (const char *const *) args->pdata);
}

HarnessProc *start_device(Fixture *f, const char *name, ...)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        HarnessProc *d;
        va_list ap;

        g_ptr_array_add(args, g_strdup_printf("--connect=%s", f->sock));
        g_ptr_array_add(args, g_strdup("--commands"));
        va_start(ap, name);
        for (const char *a; (a = va_arg(ap, const char *));)
                g_ptr_array_add(args, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(args, NULL);
        d = harness_spawn_devicev(f->h, name, (const char *const *) args->pdata);
        harness_expect_line(d, "READY", TEST_TIMEOUT_MS);
        return d;
}

static GStrv words(const HarnessLine *l)
{
        return g_strsplit(l->text, " ", -1);
}

void assert_line_is(Fixture *f, HarnessProc *d, const HarnessLine *l, const char *verb,
                    const char *uuid)
{
        g_auto(GStrv) w = words(l);

        if (!w[0] || !w[1] || strcmp(w[0], verb) != 0 || strcmp(w[1], uuid) != 0)
                harness_fail(f->h, "%s: expected \"%s %s ...\", got \"%s\"", harness_proc_name(d),
                             verb, uuid, l->text);
}

const HarnessLine *command(Fixture *f, HarnessProc *d, const char *cmd, const char *uuid,
                           const char *answer)
{
        g_autofree char *prefix = g_ascii_strup(cmd, -1);
        const HarnessLine *l;

        harness_send_line(d, "%s %s", cmd, uuid);
        l = harness_expect_line(d, prefix, TEST_TIMEOUT_MS);
        assert_line_is(f, d, l, answer, uuid);
        return l;
}

char *export_ok(Fixture *f, HarnessProc *d, const char *uuid)
{
        const HarnessLine *l;

        l = command(f, d, "export", uuid, "EXPORTED");
        g_auto(GStrv) w = words(l);
        g_assert_cmpuint(g_strv_length(w), ==, 4);
        g_assert_cmpstr(w[2], ==, "4096");
        return g_strdup(w[3]);
}

uint64_t import_ok(Fixture *f, HarnessProc *d, const char *uuid, const char *dev_ino)
{
        const HarnessLine *l;

        l = command(f, d, "import", uuid, "IMPORTED");
        g_auto(GStrv) w = words(l);
        g_assert_cmpuint(g_strv_length(w), ==, 4);
        if (dev_ino)
                g_assert_cmpstr(w[2], ==, dev_ino);
        g_assert_cmpstr(w[3], ==, "pattern-ok");
        return l->seq;
}

const HarnessLine *import_fails(Fixture *f, HarnessProc *d, const char *uuid)
{
        return command(f, d, "import", uuid, "IMPORT-FAILED");
}

void pass_ok(Fixture *f, HarnessProc *from, HarnessProc *to, const char *uuid)
{
        g_autofree char *dev_ino = export_ok(f, from, uuid);

        import_ok(f, to, uuid, dev_ino);
}

/* ---- a raw back-end ---- */

RawPeer *raw_connect(Fixture *f, uint64_t offered)
{
        RawPeer *r = harness_raw_peer_connect(f->h, f->sock, RAW_PEER_BACKEND);

        raw_peer_handshake(r, offered);
        g_assert_cmphex(r->protocol_features, ==, offered);
        return r;
}

int dup_fd(int fd)
{
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        g_assert_cmpint(copy, >=, 0);
        return copy;
}

void raw_send_uuid(RawPeer *r, VuConnection *c, uint32_t request, uint32_t flags,
                   const uint8_t uuid[16], int fd)
{
        VuMessage m;

        vu_message_init_uuid(&m, request, flags, uuid);
        if (fd >= 0)
                g_assert_cmpint(vu_message_add_fd(&m, dup_fd(fd)), ==, 0);
        raw_peer_send(r, c, &m);
}

void parse_uuid(const char *s, uint8_t uuid[16])
{
        g_assert_cmpint(share_uuid_from_string(s, uuid), ==, 0);
}

bool same_inode(int a, int b)
{
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void raw_serve_get(Fixture *f, RawPeer *r, const uint8_t uuid[16], int buffer)
{
        VuMessage m, reply;

        if (raw_peer_recv(r, r->main, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of sending GET_SHARED_OBJECT");
        if (m.hdr.request != VU_REQ_GET_SHARED_OBJECT)
                harness_fail(f->h, "expected GET_SHARED_OBJECT on the main socket, got %s",
                             vu_request_name(VU_CHANNEL_FRONTEND, m.hdr.request));
        g_assert_cmphex(m.hdr.flags & (VU_FLAG_VERSION_MASK | VU_FLAG_REPLY), ==, VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 16);
        g_assert_cmpmem(m.payload.uuid, 16, uuid, 16);
        g_assert_cmpuint(m.n_fds, ==, 0);
        vu_message_init_uuid(&reply, VU_REQ_GET_SHARED_OBJECT, VU_FLAG_REPLY, uuid);
        g_assert_cmpint(vu_message_add_fd(&reply, dup_fd(buffer)), ==, 0);
        raw_peer_send(r, r->main, &reply);
}

void raw_expect_lookup_reply(Fixture *f, RawPeer *r, int buffer, const uint8_t uuid[16])
{
        VuMessage m;

        if (raw_peer_recv(r, r->chan, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of answering LOOKUP");
        if (m.hdr.request != VU_BREQ_SHARED_OBJECT_LOOKUP)
                harness_fail(f->h,
                             "first message on the channel is %s (flags 0x%x), not the "
                             "LOOKUP reply",
                             vu_request_name(VU_CHANNEL_BACKEND, m.hdr.request), m.hdr.flags);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 8);
        g_assert_cmpuint(m.payload.u64, ==, 0);
        g_assert_cmpuint(m.n_fds, ==, 1);
        g_assert_true(same_inode(m.fds[0], buffer));
        g_assert_cmpint(memfd_verify_pattern(m.fds[0], 4096, buffer_pattern_seed(uuid)), ==, 0);
        vu_message_close_fds(&m);
}

void assert_quiet(Fixture *f, VuConnection *c, const char *what)
{
        struct pollfd p = {.fd = vu_conn_fd(c), .events = POLLIN};

        harness_pump(f->h, 0);
        if (poll(&p, 1, 0) != 0)
                harness_fail(f->h, "unexpected data on the %s", what);
}

uint64_t raw_request_u64(Fixture *f, RawPeer *r, uint32_t request, const uint8_t uuid[16])
{
        VuMessage m;
        uint64_t v;

        raw_send_uuid(r, r->chan, request, VU_FLAG_NEED_REPLY, uuid, -1);
        if (raw_peer_recv(r, r->chan, &m) < 0)
                harness_fail(f->h, "the hub hung up instead of answering %s",
                             vu_request_name(VU_CHANNEL_BACKEND, request));
        g_assert_cmpuint(m.hdr.request, ==, request);
        g_assert_cmphex(m.hdr.flags, ==, VU_FLAG_REPLY | VU_VERSION);
        g_assert_cmpuint(m.hdr.size, ==, 8);
        g_assert_cmpuint(m.n_fds, ==, 0); /* also for LOOKUP: a failure has no fd */
        v = m.payload.u64;
        vu_message_close_fds(&m);
        return v;
}
