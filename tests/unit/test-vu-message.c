/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vhost-user codec: names, size and fd rules of every id on both
 * channels, each kind of malformed message, builders and UUID checks. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "async-close.h"
#include "test-timeout.h"
#include "vu-message.h"

/* One valid shape per direction of a request: the sizes real peers send
 * (protocol.md and the vhost-user spec), written out independently of the
 * codec's table so that a mistake there shows up here. */
typedef struct {
        uint32_t id;
        const char *name;
        uint32_t req_size;
        unsigned req_fds;
        uint32_t reply_size;
        unsigned reply_fds;
} Shape;

static const Shape frontend_shapes[] = {
    {1, "GET_FEATURES", 0, 0, 8, 0},
    {2, "SET_FEATURES", 8, 0, 8, 0},
    {3, "SET_OWNER", 0, 0, 8, 0},
    {4, "RESET_OWNER", 0, 0, 8, 0},
    {5, "SET_MEM_TABLE", 8 + 2 * 32, 2, 8, 0},
    {6, "SET_LOG_BASE", 16, 1, 8, 0},
    {7, "SET_LOG_FD", 0, 1, 8, 0},
    {8, "SET_VRING_NUM", 8, 0, 8, 0},
    {9, "SET_VRING_ADDR", 40, 0, 8, 0},
    {10, "SET_VRING_BASE", 8, 0, 8, 0},
    {11, "GET_VRING_BASE", 8, 0, 8, 0},
    {12, "SET_VRING_KICK", 8, 1, 8, 0},
    {13, "SET_VRING_CALL", 8, 1, 8, 0},
    {14, "SET_VRING_ERR", 8, 1, 8, 0},
    {15, "GET_PROTOCOL_FEATURES", 0, 0, 8, 0},
    {16, "SET_PROTOCOL_FEATURES", 8, 0, 8, 0},
    {17, "GET_QUEUE_NUM", 0, 0, 8, 0},
    {18, "SET_VRING_ENABLE", 8, 0, 8, 0},
    {19, "SEND_RARP", 8, 0, 8, 0},
    {20, "NET_SET_MTU", 8, 0, 8, 0},
    {21, "SET_BACKEND_REQ_FD", 0, 1, 8, 0},
    {22, "IOTLB_MSG", 32, 0, 8, 0},
    {23, "SET_VRING_ENDIAN", 8, 0, 8, 0},
    {24, "GET_CONFIG", 12 + 60, 0, 12 + 60, 0},
    {25, "SET_CONFIG", 12 + 4, 0, 8, 0},
    {26, "CREATE_CRYPTO_SESSION", 1072, 0, 1072, 0},
    {27, "CLOSE_CRYPTO_SESSION", 8, 0, 8, 0},
    {28, "POSTCOPY_ADVISE", 0, 0, 0, 1},
    {29, "POSTCOPY_LISTEN", 0, 0, 8, 0},
    {30, "POSTCOPY_END", 0, 0, 8, 0},
    {31, "GET_INFLIGHT_FD", 24, 0, 24, 1},
    {32, "SET_INFLIGHT_FD", 24, 1, 8, 0},
    {33, "GPU_SET_SOCKET", 0, 1, 8, 0},
    {34, "RESET_DEVICE", 0, 0, 8, 0},
    {35, "VRING_KICK", 8, 0, 8, 0},
    {36, "GET_MAX_MEM_SLOTS", 0, 0, 8, 0},
    {37, "ADD_MEM_REG", 40, 1, 8, 0},
    {38, "REM_MEM_REG", 40, 0, 8, 0},
    {39, "SET_STATUS", 8, 0, 8, 0},
    {40, "GET_STATUS", 0, 0, 8, 0},
    {41, "GET_SHARED_OBJECT", 16, 0, 16, 1},
    {42, "SET_DEVICE_STATE_FD", 8, 1, 8, 0},
    {43, "CHECK_DEVICE_STATE", 0, 0, 8, 0},
    {44, "GET_SHMEM_CONFIG", 0, 0, 8 + 256 * 8, 0},
};

static const Shape backend_shapes[] = {
    {1, "IOTLB_MSG", 32, 0, 8, 0},
    {2, "CONFIG_CHANGE_MSG", 0, 0, 8, 0},
    {3, "VRING_HOST_NOTIFIER_MSG", 24, 1, 8, 0},
    {4, "VRING_CALL", 8, 0, 8, 0},
    {5, "VRING_ERR", 8, 0, 8, 0},
    {6, "SHARED_OBJECT_ADD", 16, 0, 8, 0},
    {7, "SHARED_OBJECT_REMOVE", 16, 0, 8, 0},
    {8, "SHARED_OBJECT_LOOKUP", 16, 0, 8, 1},
    {9, "SHMEM_MAP", 40, 1, 8, 0},
    {10, "SHMEM_UNMAP", 40, 0, 8, 0},
};

static const uint8_t test_uuid[VU_UUID_SIZE] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                                0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

static void close_msg_fds(VuMessage *m)
{
        vu_message_close_fds(m);
}
#define _cleanup_msg_ __attribute__((cleanup(close_msg_fds)))

static int new_fd(void)
{
        int fd = eventfd(0, EFD_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

/* Serializes a header and len payload bytes (which may disagree with
 * hdr.size) into buf; returns the byte count. */
static size_t raw(uint8_t *buf, uint32_t request, uint32_t flags, uint32_t size, size_t len)
{
        VuHeader hdr = {.request = request, .flags = flags, .size = size};

        memcpy(buf, &hdr, sizeof(hdr));
        for (size_t i = 0; i < len; i++)
                buf[VU_HEADER_SIZE + i] = (uint8_t) (i * 7 + 1);
        return VU_HEADER_SIZE + len;
}

static VuError parse_raw(VuChannel ch, bool is_reply, uint32_t request, uint32_t flags,
                         uint32_t size, size_t len)
{
        g_autofree uint8_t *buf = g_malloc0(VU_HEADER_SIZE + len);
        VuMessage m;

        raw(buf, request, flags, size, len);
        return vu_message_parse(buf, VU_HEADER_SIZE + len, ch, is_reply, &m);
}

/* Size alone, no fds. */
static VuError check_size(VuChannel ch, bool is_reply, uint32_t request, uint32_t size)
{
        uint32_t flags = VU_VERSION | (is_reply ? VU_FLAG_REPLY : 0);

        return parse_raw(ch, is_reply, request, flags, size, size);
}

/* Header and size valid, n fds attached. */
static VuError check_fds(VuChannel ch, bool is_reply, uint32_t request, uint32_t size, unsigned n)
{
        _cleanup_msg_ VuMessage m;

        vu_message_init(&m, request, is_reply ? VU_FLAG_REPLY : 0, size);
        for (unsigned i = 0; i < n; i++)
                g_assert_cmpint(vu_message_add_fd(&m, new_fd()), ==, 0);
        return vu_message_check(&m, ch, is_reply);
}

static void round_trip_one(VuChannel ch, const Shape *s, bool is_reply)
{
        uint32_t size = is_reply ? s->reply_size : s->req_size;
        unsigned n_fds = is_reply ? s->reply_fds : s->req_fds;
        uint32_t flags = is_reply ? VU_FLAG_REPLY : VU_FLAG_NEED_REPLY;
        uint8_t buf[VU_HEADER_SIZE + VU_PAYLOAD_MAX];
        _cleanup_msg_ VuMessage out, in;
        size_t len;
        VuError e;

        vu_message_init(&out, s->id, flags, size);
        for (uint32_t i = 0; i < size; i++)
                out.payload.bytes[i] = (uint8_t) (s->id + i * 13);
        len = vu_message_serialize(&out, buf, sizeof(buf));
        g_assert_cmpuint(len, ==, VU_HEADER_SIZE + size);

        e = vu_message_parse(buf, len, ch, is_reply, &in);
        /* parse carries no fds: a request that needs one says so. */
        if (n_fds > 0 && e == VU_ERR_MISSING_FD)
                e = VU_OK;
        if (e != VU_OK)
                g_error("%s %s (%s) size %u: %s",
                        ch == VU_CHANNEL_FRONTEND ? "front-end" : "back-end", s->name,
                        is_reply ? "reply" : "request", size, vu_error_to_string(e));
        g_assert_cmpuint(in.hdr.request, ==, s->id);
        g_assert_cmpuint(in.hdr.flags, ==, flags | VU_VERSION);
        g_assert_cmpuint(in.hdr.size, ==, size);
        g_assert_cmpmem(in.payload.bytes, size, out.payload.bytes, size);
        g_assert_cmpuint(in.n_fds, ==, 0);

        /* With its fds the message passes the full check. */
        for (unsigned i = 0; i < n_fds; i++)
                g_assert_cmpint(vu_message_add_fd(&in, new_fd()), ==, 0);
        g_assert_cmpint(vu_message_check(&in, ch, is_reply), ==, VU_OK);
        g_assert_cmpstr(vu_request_name(ch, s->id), ==, s->name);
}

static void test_round_trip(void)
{
        g_assert_cmpuint(G_N_ELEMENTS(frontend_shapes), ==, VU_REQ_MAX);
        g_assert_cmpuint(G_N_ELEMENTS(backend_shapes), ==, VU_BREQ_MAX);
        for (size_t i = 0; i < G_N_ELEMENTS(frontend_shapes); i++) {
                g_assert_cmpuint(frontend_shapes[i].id, ==, i + 1);
                round_trip_one(VU_CHANNEL_FRONTEND, &frontend_shapes[i], false);
                round_trip_one(VU_CHANNEL_FRONTEND, &frontend_shapes[i], true);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(backend_shapes); i++) {
                g_assert_cmpuint(backend_shapes[i].id, ==, i + 1);
                round_trip_one(VU_CHANNEL_BACKEND, &backend_shapes[i], false);
                round_trip_one(VU_CHANNEL_BACKEND, &backend_shapes[i], true);
        }
}

/* The rule for a header alone: vu_message_check reads no payload. */
static VuError check_rule(VuChannel ch, bool is_reply, uint32_t request, uint32_t size)
{
        VuMessage m = {.hdr = {.request = request,
                               .flags = VU_VERSION | (is_reply ? VU_FLAG_REPLY : 0),
                               .size = size}};

        return vu_message_check(&m, ch, is_reply);
}

/* Every id accepts some size, none accepts a size beyond the largest known
 * layout (GET_SHMEM_CONFIG's 2056-byte reply), and the fd limit of each
 * request is exact. */
static void test_rules_bounded(void)
{
        for (int c = 0; c < 2; c++) {
                VuChannel ch = c ? VU_CHANNEL_BACKEND : VU_CHANNEL_FRONTEND;
                uint32_t max_id = c ? VU_BREQ_MAX : VU_REQ_MAX;

                for (uint32_t id = 1; id <= max_id; id++) {
                        unsigned max_fds = vu_request_max_fds(ch, id);

                        for (int r = 0; r < 2; r++) {
                                unsigned accepted = 0, largest = 0;

                                for (uint32_t size = 0; size <= VU_PAYLOAD_MAX; size++) {
                                        VuError e = check_rule(ch, r, id, size);

                                        g_assert_true(e == VU_OK || e == VU_ERR_BAD_SIZE ||
                                                      e == VU_ERR_MISSING_FD);
                                        if (e != VU_ERR_BAD_SIZE) {
                                                accepted++;
                                                largest = size;
                                        }
                                }
                                g_assert_cmpuint(accepted, >, 0);
                                g_assert_cmpuint(largest, <=, 8 + 256 * 8);
                                if (!r) {
                                        g_assert_cmpint(check_fds(ch, r, id, largest, max_fds), ==,
                                                        VU_OK);
                                        if (max_fds < VU_MAX_FDS)
                                                g_assert_cmpint(
                                                    check_fds(ch, r, id, largest, max_fds + 1), ==,
                                                    VU_ERR_TOO_MANY_FDS);
                                }
                        }
                        g_assert_cmpuint(max_fds, <=, VU_MAX_FDS);
                }
        }
}

static void test_names(void)
{
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        char buf[256];

        for (uint32_t id = 0; id <= VU_REQ_MAX; id++) {
                const char *name = vu_request_name(VU_CHANNEL_FRONTEND, id);

                g_assert_nonnull(name);
                g_assert_cmpstr(name, !=, "UNKNOWN");
                g_assert_false(g_hash_table_contains(seen, name));
                g_hash_table_add(seen, (gpointer) name);
        }
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, 0), ==, "NONE");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, 41), ==, "GET_SHARED_OBJECT");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, 45), ==, "UNKNOWN");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_FRONTEND, UINT32_MAX), ==, "UNKNOWN");
        for (uint32_t id = 0; id <= VU_BREQ_MAX; id++)
                g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, id), !=, "UNKNOWN");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, 6), ==, "SHARED_OBJECT_ADD");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, 7), ==, "SHARED_OBJECT_REMOVE");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, 8), ==, "SHARED_OBJECT_LOOKUP");
        g_assert_cmpstr(vu_request_name(VU_CHANNEL_BACKEND, 11), ==, "UNKNOWN");
        g_assert_cmpstr(vu_request_name((VuChannel) 7, 1), ==, "UNKNOWN");

        for (unsigned bit = 0; bit <= VU_PF_MAX; bit++)
                g_assert_cmpstr(vu_protocol_feature_name(bit), !=, "UNKNOWN");
        g_assert_cmpstr(vu_protocol_feature_name(VU_PF_SHARED_OBJECT), ==, "SHARED_OBJECT");
        g_assert_cmpstr(vu_protocol_feature_name(VU_PF_BACKEND_REQ), ==, "BACKEND_REQ");
        g_assert_cmpstr(vu_protocol_feature_name(24), ==, "UNKNOWN");

        /* What QEMU 10.0.2 set in the measured handshake. */
        g_assert_cmpstr(vu_protocol_features_to_string(0x40429, buf, sizeof(buf)), ==,
                        "MQ|REPLY_ACK|BACKEND_REQ|BACKEND_SEND_FD|SHARED_OBJECT");
        g_assert_cmpstr(vu_protocol_features_to_string(0, buf, sizeof(buf)), ==, "");
        g_assert_cmpstr(
            vu_protocol_features_to_string(VU_BIT(3) | VU_BIT(40) | VU_BIT(63), buf, sizeof(buf)),
            ==, "REPLY_ACK|bit40|bit63");
        /* Truncated, still terminated, never past the buffer. */
        memset(buf, 'x', sizeof(buf));
        vu_protocol_features_to_string(0x40429, buf, 8);
        g_assert_cmpstr(buf, ==, "MQ|REPL");
        g_assert_cmpint(buf[8], ==, 'x');
        buf[0] = 'x';
        vu_protocol_features_to_string(0x40429, buf, 1);
        g_assert_cmpstr(buf, ==, "");
        {
                char all[1024];

                vu_protocol_features_to_string(UINT64_MAX, all, sizeof(all));
                g_assert_true(g_str_has_prefix(all, "MQ|LOG_SHMFD|"));
                g_assert_true(g_str_has_suffix(all, "|bit63"));
        }

        g_hash_table_remove_all(seen);
        for (int e = 0; e < _VU_ERR_MAX; e++) {
                const char *text = vu_error_to_string((VuError) e);

                g_assert_nonnull(text);
                g_assert_false(g_hash_table_contains(seen, text));
                g_hash_table_add(seen, (gpointer) text);
        }
        g_assert_cmpstr(vu_error_to_string(_VU_ERR_MAX), ==, "unknown error");
        g_assert_cmpstr(vu_error_to_string((VuError) -1), ==, "unknown error");
}

static void test_short_header(void)
{
        uint8_t buf[VU_HEADER_SIZE];
        VuMessage m;

        raw(buf, VU_REQ_GET_FEATURES, VU_VERSION, 0, 0);
        for (size_t len = 0; len < VU_HEADER_SIZE; len++) {
                /* A heap copy of exactly len bytes lets ASan catch an over-read. */
                g_autofree uint8_t *copy = g_memdup2(buf, len);

                g_assert_cmpint(vu_message_parse(copy, len, VU_CHANNEL_FRONTEND, false, &m), ==,
                                VU_ERR_SHORT_HEADER);
        }
        g_assert_cmpint(vu_message_parse(buf, VU_HEADER_SIZE, VU_CHANNEL_FRONTEND, false, &m), ==,
                        VU_OK);
}

static void test_bad_version(void)
{
        for (uint32_t v = 0; v <= 3; v++) {
                VuError e = parse_raw(VU_CHANNEL_FRONTEND, false, VU_REQ_GET_FEATURES, v, 0, 0);

                g_assert_cmpint(e, ==, v == 1 ? VU_OK : VU_ERR_BAD_VERSION);
        }
        g_assert_cmpint(parse_raw(VU_CHANNEL_BACKEND, true, 6, VU_FLAG_REPLY | 2, 8, 8), ==,
                        VU_ERR_BAD_VERSION);
}

static void test_unknown_flags(void)
{
        for (unsigned bit = 4; bit < 32; bit++)
                g_assert_cmpint(parse_raw(VU_CHANNEL_FRONTEND, false, VU_REQ_GET_FEATURES,
                                          VU_VERSION | (1u << bit), 0, 0),
                                ==, VU_ERR_UNKNOWN_FLAGS);
        /* A reply cannot ask for a reply; a request may. */
        g_assert_cmpint(parse_raw(VU_CHANNEL_FRONTEND, true, VU_REQ_GET_FEATURES,
                                  VU_VERSION | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY, 8, 8),
                        ==, VU_ERR_UNKNOWN_FLAGS);
        g_assert_cmpint(parse_raw(VU_CHANNEL_BACKEND, false, VU_BREQ_SHARED_OBJECT_ADD,
                                  VU_VERSION | VU_FLAG_NEED_REPLY, 16, 16),
                        ==, VU_OK);
}

static void test_reply_flag(void)
{
        g_assert_cmpint(parse_raw(VU_CHANNEL_FRONTEND, false, VU_REQ_GET_FEATURES,
                                  VU_VERSION | VU_FLAG_REPLY, 0, 0),
                        ==, VU_ERR_UNEXPECTED_REPLY);
        g_assert_cmpint(parse_raw(VU_CHANNEL_FRONTEND, true, VU_REQ_GET_FEATURES, VU_VERSION, 8, 8),
                        ==, VU_ERR_UNEXPECTED_REPLY);
        g_assert_cmpint(parse_raw(VU_CHANNEL_FRONTEND, true, VU_REQ_GET_FEATURES,
                                  VU_VERSION | VU_FLAG_REPLY, 8, 8),
                        ==, VU_OK);
}

static void test_too_large(void)
{
        const uint32_t sizes[] = {VU_PAYLOAD_MAX + 1, 65536, UINT32_MAX};
        VuMessage m;

        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
                /* Only the header exists: the parser must not look further. */
                g_autofree uint8_t *buf = g_malloc(VU_HEADER_SIZE);

                raw(buf, VU_REQ_SET_CONFIG, VU_VERSION, sizes[i], 0);
                g_assert_cmpint(
                    vu_message_parse(buf, VU_HEADER_SIZE, VU_CHANNEL_FRONTEND, false, &m), ==,
                    VU_ERR_TOO_LARGE);
        }
        /* The cap itself is a size error for every type, not a size-cap error. */
        g_assert_cmpint(check_size(VU_CHANNEL_FRONTEND, false, VU_REQ_SET_CONFIG, VU_PAYLOAD_MAX),
                        ==, VU_ERR_BAD_SIZE);
}

static void test_unknown_request(void)
{
        g_assert_cmpint(check_size(VU_CHANNEL_FRONTEND, false, 0, 0), ==, VU_ERR_UNKNOWN_REQUEST);
        g_assert_cmpint(check_size(VU_CHANNEL_FRONTEND, false, 45, 0), ==, VU_ERR_UNKNOWN_REQUEST);
        g_assert_cmpint(check_size(VU_CHANNEL_FRONTEND, false, UINT32_MAX, 0), ==,
                        VU_ERR_UNKNOWN_REQUEST);
        g_assert_cmpint(check_size(VU_CHANNEL_BACKEND, false, 0, 0), ==, VU_ERR_UNKNOWN_REQUEST);
        g_assert_cmpint(check_size(VU_CHANNEL_BACKEND, false, 11, 16), ==, VU_ERR_UNKNOWN_REQUEST);
        g_assert_cmpint(check_size(VU_CHANNEL_BACKEND, true, 41, 16), ==, VU_ERR_UNKNOWN_REQUEST);
        /* Ids are per channel: 41 is GET_SHARED_OBJECT only on the main socket. */
        g_assert_cmpint(check_size(VU_CHANNEL_FRONTEND, false, 41, 16), ==, VU_OK);
        g_assert_cmpuint(vu_request_max_fds(VU_CHANNEL_BACKEND, 41), ==, 0);
        g_assert_cmpuint(vu_request_max_fds(VU_CHANNEL_FRONTEND, 0), ==, 0);
}

static void test_wrong_size(void)
{
        const VuChannel F = VU_CHANNEL_FRONTEND, B = VU_CHANNEL_BACKEND;

        g_assert_cmpint(check_size(F, false, VU_REQ_GET_FEATURES, 8), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, true, VU_REQ_GET_FEATURES, 4), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, true, VU_REQ_GET_FEATURES, 16), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, false, VU_REQ_SET_FEATURES, 4), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, false, VU_REQ_SET_FEATURES, 0), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, false, VU_REQ_SET_VRING_ADDR, 32), ==, VU_ERR_BAD_SIZE);
        /* An ack to a SET message is a u64. */
        g_assert_cmpint(check_size(F, true, VU_REQ_SET_OWNER, 0), ==, VU_ERR_BAD_SIZE);

        for (uint32_t s = 0; s <= 32; s++) {
                VuError add = check_size(B, false, VU_BREQ_SHARED_OBJECT_ADD, s);
                VuError rm = check_size(B, false, VU_BREQ_SHARED_OBJECT_REMOVE, s);
                VuError look = check_size(B, false, VU_BREQ_SHARED_OBJECT_LOOKUP, s);
                VuError look_reply = check_size(B, true, VU_BREQ_SHARED_OBJECT_LOOKUP, s);
                VuError get = check_size(F, false, VU_REQ_GET_SHARED_OBJECT, s);
                VuError get_reply = check_size(F, true, VU_REQ_GET_SHARED_OBJECT, s);

                g_assert_cmpint(add, ==, s == 16 ? VU_OK : VU_ERR_BAD_SIZE);
                g_assert_cmpint(rm, ==, s == 16 ? VU_OK : VU_ERR_BAD_SIZE);
                g_assert_cmpint(look, ==, s == 16 ? VU_OK : VU_ERR_BAD_SIZE);
                g_assert_cmpint(look_reply, ==, s == 8 ? VU_OK : VU_ERR_BAD_SIZE);
                /* QEMU 10.0.2 sends it empty; the spec with the uuid. */
                g_assert_cmpint(get, ==, s == 0 || s == 16 ? VU_OK : VU_ERR_BAD_SIZE);
                /* Empty (rust-vmm error), u64 status, or uuid echo (libvhost-user). */
                g_assert_cmpint(get_reply, ==,
                                s == 0 || s == 8 || s == 16 ? VU_OK : VU_ERR_BAD_SIZE);
        }

        /* SET_MEM_TABLE: 8 bytes then whole 32-byte regions, at most 8. */
        for (uint32_t s = 0; s <= 8 + 9 * 32; s++) {
                bool ok = s >= 8 && (s - 8) % 32 == 0 && s <= 8 + 8 * 32;

                g_assert_cmpint(check_fds(F, false, VU_REQ_SET_MEM_TABLE, s, 1), ==,
                                ok ? VU_OK : VU_ERR_BAD_SIZE);
        }
        g_assert_cmpint(check_size(F, false, VU_REQ_GET_CONFIG, 11), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, false, VU_REQ_GET_CONFIG, 12 + 256), ==, VU_OK);
        g_assert_cmpint(check_size(F, false, VU_REQ_GET_CONFIG, 12 + 257), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_size(F, false, VU_REQ_CREATE_CRYPTO_SESSION, 2049), ==,
                        VU_ERR_BAD_SIZE);
}

static void test_short_payload(void)
{
        const VuChannel B = VU_CHANNEL_BACKEND;

        for (size_t len = 0; len < 16; len++)
                g_assert_cmpint(parse_raw(B, false, VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 16, len),
                                ==, VU_ERR_SHORT_PAYLOAD);
        g_assert_cmpint(parse_raw(B, false, VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 16, 16), ==,
                        VU_OK);
        /* More bytes than the header announced. */
        g_assert_cmpint(parse_raw(B, false, VU_BREQ_SHARED_OBJECT_ADD, VU_VERSION, 16, 17), ==,
                        VU_ERR_BAD_SIZE);
        g_assert_cmpint(
            parse_raw(VU_CHANNEL_FRONTEND, false, VU_REQ_GET_FEATURES, VU_VERSION, 0, 1), ==,
            VU_ERR_BAD_SIZE);
}

static void test_fds(void)
{
        const VuChannel F = VU_CHANNEL_FRONTEND, B = VU_CHANNEL_BACKEND;

        /* Unexpected fds. */
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_FEATURES, 8, 1), ==, VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(F, false, VU_REQ_GET_FEATURES, 0, 1), ==, VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(F, true, VU_REQ_GET_FEATURES, 8, 1), ==, VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(B, false, VU_BREQ_SHARED_OBJECT_ADD, 16, 1), ==,
                        VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(B, false, VU_BREQ_SHARED_OBJECT_REMOVE, 16, 1), ==,
                        VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(F, false, VU_REQ_GET_SHARED_OBJECT, 16, 1), ==,
                        VU_ERR_TOO_MANY_FDS);

        /* Optional fds: at most one. */
        for (unsigned n = 0; n <= 3; n++) {
                VuError want = n <= 1 ? VU_OK : VU_ERR_TOO_MANY_FDS;

                g_assert_cmpint(check_fds(F, false, VU_REQ_SET_VRING_CALL, 8, n), ==, want);
                g_assert_cmpint(check_fds(F, false, VU_REQ_SET_VRING_KICK, 8, n), ==, want);
                g_assert_cmpint(check_fds(F, false, VU_REQ_SET_VRING_ERR, 8, n), ==, want);
                /* rust-vmm attaches an fd to the LOOKUP request. */
                g_assert_cmpint(check_fds(B, false, VU_BREQ_SHARED_OBJECT_LOOKUP, 16, n), ==, want);
                g_assert_cmpint(check_fds(B, true, VU_BREQ_SHARED_OBJECT_LOOKUP, 8, n), ==, want);
                g_assert_cmpint(check_fds(F, true, VU_REQ_GET_SHARED_OBJECT, 16, n), ==, want);
                g_assert_cmpint(check_fds(F, true, VU_REQ_GET_SHARED_OBJECT, 0, n), ==, want);
        }
        g_assert_cmpuint(vu_request_max_fds(F, VU_REQ_SET_VRING_CALL), ==, 1);
        g_assert_cmpuint(vu_request_max_fds(B, VU_BREQ_SHARED_OBJECT_LOOKUP), ==, 1);
        g_assert_cmpuint(vu_request_max_fds(B, VU_BREQ_SHARED_OBJECT_ADD), ==, 0);
        g_assert_cmpuint(vu_request_max_fds(F, VU_REQ_SET_MEM_TABLE), ==, VU_MAX_FDS);

        /* Required fds: exactly one. */
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_BACKEND_REQ_FD, 0, 0), ==,
                        VU_ERR_MISSING_FD);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_BACKEND_REQ_FD, 0, 1), ==, VU_OK);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_BACKEND_REQ_FD, 0, 2), ==,
                        VU_ERR_TOO_MANY_FDS);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_BACKEND_REQ_FD, 8, 1), ==, VU_ERR_BAD_SIZE);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_LOG_FD, 0, 0), ==, VU_ERR_MISSING_FD);
        g_assert_cmpint(check_fds(F, false, VU_REQ_ADD_MEM_REG, 40, 0), ==, VU_ERR_MISSING_FD);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_INFLIGHT_FD, 24, 0), ==, VU_ERR_MISSING_FD);
        g_assert_cmpint(check_fds(F, false, VU_REQ_GPU_SET_SOCKET, 0, 0), ==, VU_ERR_MISSING_FD);

        /* SET_MEM_TABLE: one fd a region, up to 8. */
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_MEM_TABLE, 8 + 8 * 32, 8), ==, VU_OK);
        g_assert_cmpint(check_fds(F, false, VU_REQ_SET_MEM_TABLE, 8, 0), ==, VU_OK);
}

static void test_builders(void)
{
        _cleanup_msg_ VuMessage m, reply;
        uint8_t buf[VU_HEADER_SIZE + 16];
        int fds[VU_MAX_FDS];
        _cleanup_close_ int extra = new_fd();

        /* Version bits are forced to 1 whatever the caller passes. */
        vu_message_init(&m, VU_REQ_GET_FEATURES, VU_FLAG_NEED_REPLY | 0x3, 0);
        g_assert_cmpuint(m.hdr.flags, ==, VU_FLAG_NEED_REPLY | VU_VERSION);
        g_assert_cmpuint(m.n_fds, ==, 0);
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                g_assert_cmpint(m.fds[i], ==, -1);

        vu_message_init_u64(&m, VU_REQ_SET_PROTOCOL_FEATURES, 0, 0x40429);
        g_assert_cmpuint(m.hdr.size, ==, 8);
        g_assert_cmpuint(m.payload.u64, ==, 0x40429);

        vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, test_uuid);
        g_assert_cmpuint(m.hdr.size, ==, VU_UUID_SIZE);
        g_assert_cmpmem(m.payload.uuid, 16, test_uuid, 16);
        g_assert_cmpuint(vu_message_serialize(&m, buf, sizeof(buf)), ==, sizeof(buf));
        /* UUIDs travel as raw bytes, no swapping. */
        g_assert_cmpmem(buf + VU_HEADER_SIZE, 16, test_uuid, 16);
        g_assert_cmpuint(vu_message_serialize(&m, buf, sizeof(buf) - 1), ==, 0);

        /* QEMU accepts a reply only with flags exactly 0x5. */
        vu_message_init_reply_u64(&reply, &m, 1);
        g_assert_cmpuint(reply.hdr.request, ==, VU_BREQ_SHARED_OBJECT_LOOKUP);
        g_assert_cmpuint(reply.hdr.flags, ==, 0x5);
        g_assert_cmpuint(reply.hdr.size, ==, 8);
        g_assert_cmpuint(reply.payload.u64, ==, 1);

        /* An oversized builder size is clamped, never serialised past the cap. */
        vu_message_init(&m, VU_REQ_SET_CONFIG, 0, VU_PAYLOAD_MAX + 100);
        g_assert_cmpuint(m.hdr.size, ==, VU_PAYLOAD_MAX);

        /* fds: owned by the message, up to 8. */
        vu_message_init(&m, VU_REQ_SET_MEM_TABLE, 0, 8);
        g_assert_cmpint(vu_message_add_fd(&m, -1), ==, -EBADF);
        for (unsigned i = 0; i < VU_MAX_FDS; i++) {
                fds[i] = new_fd();
                g_assert_cmpint(vu_message_add_fd(&m, fds[i]), ==, 0);
        }
        g_assert_cmpint(vu_message_add_fd(&m, extra), ==, -E2BIG);
        g_assert_cmpuint(m.n_fds, ==, VU_MAX_FDS);
        g_assert_true(fd_is_open(extra));

        g_assert_cmpint(vu_message_steal_fd(&m, 2), ==, fds[2]);
        g_assert_cmpint(vu_message_steal_fd(&m, 2), ==, -1);
        g_assert_cmpint(vu_message_steal_fd(&m, VU_MAX_FDS), ==, -1);
        g_assert_cmpint(vu_message_steal_fd(&m, 1000), ==, -1);
        vu_message_close_fds(&m);
        g_assert_cmpuint(m.n_fds, ==, 0);
        /* A message's fds go to the closers (async-close.h). */
        g_assert_true(async_close_wait_idle(TEST_TIMEOUT_MS));
        for (unsigned i = 0; i < VU_MAX_FDS; i++) {
                g_assert_cmpint(m.fds[i], ==, -1);
                /* Every fd but the stolen one is closed. */
                g_assert_true(fd_is_open(fds[i]) == (i == 2));
        }
        close(fds[2]);
        g_assert_cmpint(vu_message_steal_fd(&m, 0), ==, -1);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/vu-message/names", test_names);
        g_test_add_func("/vu-message/round-trip", test_round_trip);
        g_test_add_func("/vu-message/rules-bounded", test_rules_bounded);
        g_test_add_func("/vu-message/short-header", test_short_header);
        g_test_add_func("/vu-message/bad-version", test_bad_version);
        g_test_add_func("/vu-message/unknown-flags", test_unknown_flags);
        g_test_add_func("/vu-message/reply-flag", test_reply_flag);
        g_test_add_func("/vu-message/too-large", test_too_large);
        g_test_add_func("/vu-message/unknown-request", test_unknown_request);
        g_test_add_func("/vu-message/wrong-size", test_wrong_size);
        g_test_add_func("/vu-message/short-payload", test_short_payload);
        g_test_add_func("/vu-message/fds", test_fds);
        g_test_add_func("/vu-message/builders", test_builders);
        return g_test_run();
}
