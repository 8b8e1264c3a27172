/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vu-message.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "async-close.h"

/* What one direction of one request id may carry. Sizes are payload bytes;
 * when step > 1 the size must also be min + k * step (SET_MEM_TABLE regions,
 * GET_SHARED_OBJECT's 0/16). */
typedef struct {
        uint16_t min_size;
        uint16_t max_size;
        uint16_t step;
        uint8_t min_fds;
        uint8_t max_fds;
} VuRule;

typedef struct {
        const char *name;
        VuRule request;
        VuRule reply;
} VuRequestInfo;

/* Shorthands for the tables below. */
#define EXACT(n)                                                                                   \
        {                                                                                          \
                .min_size = (n), .max_size = (n)                                                   \
        }
#define RANGE(a, b)                                                                                \
        {                                                                                          \
                .min_size = (a), .max_size = (b)                                                   \
        }
#define EXACT_FDS(n, lo, hi)                                                                       \
        {                                                                                          \
                .min_size = (n), .max_size = (n), .min_fds = (lo), .max_fds = (hi)                 \
        }
#define RANGE_FDS(a, b, lo, hi)                                                                    \
        {                                                                                          \
                .min_size = (a), .max_size = (b), .min_fds = (lo), .max_fds = (hi)                 \
        }
#define NO_PAYLOAD EXACT(0)
#define U64 EXACT(8)
/* REPLY_ACK makes any request answerable with a u64 status. */
#define ACK U64

/* A vring state (u32 index, u32 num) and a vring address (index, flags,
 * four u64 addresses) as in the vhost-user spec. */
#define VRING_STATE 8
#define VRING_ADDR 40
/* SET_MEM_TABLE: u32 nregions, u32 padding, then up to 8 regions of 4 x u64. */
#define MEM_REGION 32
#define MEM_TABLE_MAX (8 + VU_MAX_FDS * MEM_REGION)
/* ADD/REM_MEM_REG: u64 padding + one region. */
#define MEM_REG_MSG (8 + MEM_REGION)
/* GET/SET_CONFIG: offset, size, flags (3 x u32) then up to 256 bytes. */
#define CONFIG_HDR 12
#define CONFIG_MAX (CONFIG_HDR + 256)
/* struct vhost_iotlb_msg: 3 x u64, perm, type: the fields end at byte 26,
 * the C struct pads to 32. */
#define IOTLB_MIN 26
#define IOTLB_MAX 32
/* VhostUserInflight: 2 x u64, 2 x u16, padded to 24. */
#define INFLIGHT_MIN 20
#define INFLIGHT_MAX 24
/* Messages this project never acts on whose layout moved between
 * versions: accept anything up to a bound well above every known layout. */
#define OPAQUE_SMALL 64

static const VuRequestInfo frontend_requests[VU_REQ_MAX + 1] = {
    [VU_REQ_NONE] = {"NONE", NO_PAYLOAD, NO_PAYLOAD},
    [VU_REQ_GET_FEATURES] = {"GET_FEATURES", NO_PAYLOAD, U64},
    [VU_REQ_SET_FEATURES] = {"SET_FEATURES", U64, ACK},
    [VU_REQ_SET_OWNER] = {"SET_OWNER", NO_PAYLOAD, ACK},
    [VU_REQ_RESET_OWNER] = {"RESET_OWNER", NO_PAYLOAD, ACK},
    /* The postcopy variant answers with the mapped table. */
    [VU_REQ_SET_MEM_TABLE] =
        {"SET_MEM_TABLE",
         {.min_size = 8, .max_size = MEM_TABLE_MAX, .step = MEM_REGION, .max_fds = VU_MAX_FDS},
         {.min_size = 8, .max_size = MEM_TABLE_MAX, .step = MEM_REGION}},
    /* Older front-ends send a bare u64, LOG_SHMFD ones a VhostUserLog and the fd. */
    [VU_REQ_SET_LOG_BASE] = {"SET_LOG_BASE",
                             {.min_size = 8, .max_size = 16, .step = 8, .max_fds = 1},
                             ACK},
    [VU_REQ_SET_LOG_FD] = {"SET_LOG_FD", RANGE_FDS(0, 8, 1, 1), ACK},
    [VU_REQ_SET_VRING_NUM] = {"SET_VRING_NUM", EXACT(VRING_STATE), ACK},
    [VU_REQ_SET_VRING_ADDR] = {"SET_VRING_ADDR", EXACT(VRING_ADDR), ACK},
    [VU_REQ_SET_VRING_BASE] = {"SET_VRING_BASE", EXACT(VRING_STATE), ACK},
    [VU_REQ_GET_VRING_BASE] = {"GET_VRING_BASE", EXACT(VRING_STATE), EXACT(VRING_STATE)},
    /* u64 index; bit 8 set means "no fd" (polling), so the fd is optional. */
    [VU_REQ_SET_VRING_KICK] = {"SET_VRING_KICK", EXACT_FDS(8, 0, 1), ACK},
    [VU_REQ_SET_VRING_CALL] = {"SET_VRING_CALL", EXACT_FDS(8, 0, 1), ACK},
    [VU_REQ_SET_VRING_ERR] = {"SET_VRING_ERR", EXACT_FDS(8, 0, 1), ACK},
    [VU_REQ_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", NO_PAYLOAD, U64},
    [VU_REQ_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", U64, ACK},
    [VU_REQ_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", NO_PAYLOAD, U64},
    [VU_REQ_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", EXACT(VRING_STATE), ACK},
    [VU_REQ_SEND_RARP] = {"SEND_RARP", U64, ACK},
    [VU_REQ_NET_SET_MTU] = {"NET_SET_MTU", U64, ACK},
    /* QEMU sends no payload, only the socket. */
    [VU_REQ_SET_BACKEND_REQ_FD] = {"SET_BACKEND_REQ_FD", EXACT_FDS(0, 1, 1), ACK},
    [VU_REQ_IOTLB_MSG] = {"IOTLB_MSG", RANGE(IOTLB_MIN, IOTLB_MAX), ACK},
    [VU_REQ_SET_VRING_ENDIAN] = {"SET_VRING_ENDIAN", EXACT(VRING_STATE), ACK},
    [VU_REQ_GET_CONFIG] = {"GET_CONFIG", RANGE(CONFIG_HDR, CONFIG_MAX),
                           RANGE(CONFIG_HDR, CONFIG_MAX)},
    [VU_REQ_SET_CONFIG] = {"SET_CONFIG", RANGE(CONFIG_HDR, CONFIG_MAX), ACK},
    /* Crypto sessions carry keys; QEMU's largest payload (1072 bytes). */
    [VU_REQ_CREATE_CRYPTO_SESSION] = {"CREATE_CRYPTO_SESSION", RANGE(8, 2048), RANGE(8, 2048)},
    [VU_REQ_CLOSE_CRYPTO_SESSION] = {"CLOSE_CRYPTO_SESSION", U64, ACK},
    /* The back-end answers with its userfaultfd. */
    [VU_REQ_POSTCOPY_ADVISE] = {"POSTCOPY_ADVISE", NO_PAYLOAD, RANGE_FDS(0, 8, 0, 1)},
    [VU_REQ_POSTCOPY_LISTEN] = {"POSTCOPY_LISTEN", NO_PAYLOAD, ACK},
    [VU_REQ_POSTCOPY_END] = {"POSTCOPY_END", NO_PAYLOAD, ACK},
    [VU_REQ_GET_INFLIGHT_FD] = {"GET_INFLIGHT_FD", RANGE(INFLIGHT_MIN, INFLIGHT_MAX),
                                RANGE_FDS(INFLIGHT_MIN, INFLIGHT_MAX, 0, 1)},
    [VU_REQ_SET_INFLIGHT_FD] = {"SET_INFLIGHT_FD", RANGE_FDS(INFLIGHT_MIN, INFLIGHT_MAX, 1, 1),
                                ACK},
    [VU_REQ_GPU_SET_SOCKET] = {"GPU_SET_SOCKET", EXACT_FDS(0, 1, 1), ACK},
    [VU_REQ_RESET_DEVICE] = {"RESET_DEVICE", NO_PAYLOAD, ACK},
    [VU_REQ_VRING_KICK] = {"VRING_KICK", EXACT(VRING_STATE), ACK},
    [VU_REQ_GET_MAX_MEM_SLOTS] = {"GET_MAX_MEM_SLOTS", NO_PAYLOAD, U64},
    [VU_REQ_ADD_MEM_REG] = {"ADD_MEM_REG", EXACT_FDS(MEM_REG_MSG, 1, 1), ACK},
    /* Some front-ends attach the region's fd again; it is not needed. */
    [VU_REQ_REM_MEM_REG] = {"REM_MEM_REG", EXACT_FDS(MEM_REG_MSG, 0, 1), ACK},
    [VU_REQ_SET_STATUS] = {"SET_STATUS", U64, ACK},
    [VU_REQ_GET_STATUS] = {"GET_STATUS", NO_PAYLOAD, U64},
    /* The spec puts a uuid here; QEMU 10.0.2 sends nothing (protocol.md §5),
     * so both pass and the handler decides. The answer is libvhost-user's
     * uuid echo, a u64 status, or rust-vmm's empty error; an fd at most. */
    [VU_REQ_GET_SHARED_OBJECT] =
        {"GET_SHARED_OBJECT",
         {.min_size = 0, .max_size = VU_UUID_SIZE, .step = VU_UUID_SIZE},
         {.min_size = 0, .max_size = VU_UUID_SIZE, .step = 8, .max_fds = 1}},
    /* VhostUserTransferDeviceState (direction, phase) and the pipe end; the
     * answer may hand back a pipe of the back-end's own. */
    [VU_REQ_SET_DEVICE_STATE_FD] = {"SET_DEVICE_STATE_FD", EXACT_FDS(8, 1, 1), EXACT_FDS(8, 0, 1)},
    [VU_REQ_CHECK_DEVICE_STATE] = {"CHECK_DEVICE_STATE", NO_PAYLOAD, U64},
    /* nregions + padding + up to 256 u64 region sizes. */
    [VU_REQ_GET_SHMEM_CONFIG] = {"GET_SHMEM_CONFIG",
                                 NO_PAYLOAD,
                                 {.min_size = 8, .max_size = 8 + 256 * 8, .step = 8}},
};

static const VuRequestInfo backend_requests[VU_BREQ_MAX + 1] = {
    [VU_BREQ_NONE] = {"NONE", NO_PAYLOAD, NO_PAYLOAD},
    [VU_BREQ_IOTLB_MSG] = {"IOTLB_MSG", RANGE(IOTLB_MIN, IOTLB_MAX), ACK},
    [VU_BREQ_CONFIG_CHANGE_MSG] = {"CONFIG_CHANGE_MSG", NO_PAYLOAD, ACK},
    /* VhostUserVringArea (u64 index, size, offset); no fd unmaps. */
    [VU_BREQ_VRING_HOST_NOTIFIER_MSG] = {"VRING_HOST_NOTIFIER_MSG", EXACT_FDS(24, 0, 1), ACK},
    [VU_BREQ_VRING_CALL] = {"VRING_CALL", EXACT(VRING_STATE), ACK},
    [VU_BREQ_VRING_ERR] = {"VRING_ERR", EXACT(VRING_STATE), ACK},
    [VU_BREQ_SHARED_OBJECT_ADD] = {"SHARED_OBJECT_ADD", EXACT(VU_UUID_SIZE), ACK},
    [VU_BREQ_SHARED_OBJECT_REMOVE] = {"SHARED_OBJECT_REMOVE", EXACT(VU_UUID_SIZE), ACK},
    /* rust-vmm back-ends attach an fd to the request; the spec's answer is
     * a u64 with the dma-buf fd on success (protocol.md §4-5). */
    [VU_BREQ_SHARED_OBJECT_LOOKUP] = {"SHARED_OBJECT_LOOKUP", EXACT_FDS(VU_UUID_SIZE, 0, 1),
                                      EXACT_FDS(8, 0, 1)},
    [VU_BREQ_SHMEM_MAP] = {"SHMEM_MAP", RANGE_FDS(8, OPAQUE_SMALL, 0, 1), ACK},
    [VU_BREQ_SHMEM_UNMAP] = {"SHMEM_UNMAP", RANGE(8, OPAQUE_SMALL), ACK},
};

static const char *const protocol_feature_names[VU_PF_MAX + 1] = {
    [VU_PF_MQ] = "MQ",
    [VU_PF_LOG_SHMFD] = "LOG_SHMFD",
    [VU_PF_RARP] = "RARP",
    [VU_PF_REPLY_ACK] = "REPLY_ACK",
    [VU_PF_NET_MTU] = "NET_MTU",
    [VU_PF_BACKEND_REQ] = "BACKEND_REQ",
    [VU_PF_CROSS_ENDIAN] = "CROSS_ENDIAN",
    [VU_PF_CRYPTO_SESSION] = "CRYPTO_SESSION",
    [VU_PF_PAGEFAULT] = "PAGEFAULT",
    [VU_PF_CONFIG] = "CONFIG",
    [VU_PF_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
    [VU_PF_HOST_NOTIFIER] = "HOST_NOTIFIER",
    [VU_PF_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
    [VU_PF_RESET_DEVICE] = "RESET_DEVICE",
    [VU_PF_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
    [VU_PF_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
    [VU_PF_STATUS] = "STATUS",
    [VU_PF_XEN_MMAP] = "XEN_MMAP",
    [VU_PF_SHARED_OBJECT] = "SHARED_OBJECT",
    [VU_PF_DEVICE_STATE] = "DEVICE_STATE",
    [VU_PF_GET_VRING_BASE_INFLIGHT] = "GET_VRING_BASE_INFLIGHT",
    [VU_PF_GPA_ADDRESSES] = "GPA_ADDRESSES",
    [VU_PF_SHMEM] = "SHMEM",
    [VU_PF_GET_VRING_BASE_SKIP_DRAIN] = "GET_VRING_BASE_SKIP_DRAIN",
};

static const char *const error_texts[_VU_ERR_MAX] = {
    [VU_OK] = "ok",
    [VU_ERR_SHORT_HEADER] = "message ends inside the 12-byte header",
    [VU_ERR_BAD_VERSION] = "version bits are not 1",
    [VU_ERR_UNKNOWN_FLAGS] = "unknown or misplaced flag bits",
    [VU_ERR_TOO_LARGE] = "payload size over the 4096-byte cap",
    [VU_ERR_UNKNOWN_REQUEST] = "request id unknown on this channel",
    [VU_ERR_BAD_SIZE] = "payload size not allowed for this request",
    [VU_ERR_TOO_MANY_FDS] = "more file descriptors than this request may carry",
    [VU_ERR_MISSING_FD] = "file descriptor missing",
    [VU_ERR_UNEXPECTED_REPLY] = "REPLY flag does not match the direction",
    [VU_ERR_SHORT_PAYLOAD] = "message ends inside the payload",
};

const char *vu_error_to_string(VuError e)
{
        if ((unsigned) e >= _VU_ERR_MAX)
                return "unknown error";
        return error_texts[e];
}

static const VuRequestInfo *request_info(VuChannel ch, uint32_t request)
{
        switch (ch) {
        case VU_CHANNEL_FRONTEND:
                return request <= VU_REQ_MAX ? &frontend_requests[request] : NULL;
        case VU_CHANNEL_BACKEND:
                return request <= VU_BREQ_MAX ? &backend_requests[request] : NULL;
        }
        return NULL;
}

const char *vu_request_name(VuChannel ch, uint32_t request)
{
        const VuRequestInfo *info = request_info(ch, request);

        return info ? info->name : "UNKNOWN";
}

const char *vu_protocol_feature_name(unsigned bit)
{
        if (bit > VU_PF_MAX)
                return "UNKNOWN";
        return protocol_feature_names[bit];
}

/* Appends s to buf (total capacity len), truncating; buf stays terminated. */
static void append(char *buf, size_t len, size_t *pos, const char *s)
{
        size_t n = strlen(s);

        if (*pos + 1 >= len)
                return;
        if (n > len - 1 - *pos)
                n = len - 1 - *pos;
        memcpy(buf + *pos, s, n);
        *pos += n;
        buf[*pos] = '\0';
}

char *vu_protocol_features_to_string(uint64_t mask, char *buf, size_t len)
{
        size_t pos = 0;

        if (!buf || len == 0)
                return buf;
        buf[0] = '\0';
        for (unsigned bit = 0; bit < 64; bit++) {
                char unknown[16];
                const char *name;

                if (!(mask & VU_BIT(bit)))
                        continue;
                if (bit <= VU_PF_MAX) {
                        name = protocol_feature_names[bit];
                } else {
                        snprintf(unknown, sizeof(unknown), "bit%u", bit);
                        name = unknown;
                }
                if (pos > 0)
                        append(buf, len, &pos, "|");
                append(buf, len, &pos, name);
        }
        return buf;
}

VuError vu_header_check(const VuHeader *hdr, VuChannel ch, bool is_reply)
{
        const uint32_t known = VU_FLAG_VERSION_MASK | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY;
        bool has_reply = hdr->flags & VU_FLAG_REPLY;

        if ((hdr->flags & VU_FLAG_VERSION_MASK) != VU_VERSION)
                return VU_ERR_BAD_VERSION;
        if (hdr->flags & ~known)
                return VU_ERR_UNKNOWN_FLAGS;
        if (has_reply != is_reply)
                return VU_ERR_UNEXPECTED_REPLY;
        /* A reply cannot ask for a reply of its own. */
        if (is_reply && (hdr->flags & VU_FLAG_NEED_REPLY))
                return VU_ERR_UNKNOWN_FLAGS;
        if (hdr->size > VU_PAYLOAD_MAX)
                return VU_ERR_TOO_LARGE;
        if (hdr->request == 0 || !request_info(ch, hdr->request))
                return VU_ERR_UNKNOWN_REQUEST;
        return VU_OK;
}

static const VuRule *message_rule(VuChannel ch, uint32_t request, bool is_reply)
{
        const VuRequestInfo *info = request_info(ch, request);

        if (!info || request == 0)
                return NULL;
        return is_reply ? &info->reply : &info->request;
}

VuError vu_message_check(const VuMessage *m, VuChannel ch, bool is_reply)
{
        const VuRule *rule;
        VuError e = vu_header_check(&m->hdr, ch, is_reply);

        if (e != VU_OK)
                return e;
        rule = message_rule(ch, m->hdr.request, is_reply);
        if (m->hdr.size < rule->min_size || m->hdr.size > rule->max_size)
                return VU_ERR_BAD_SIZE;
        if (rule->step > 1 && (m->hdr.size - rule->min_size) % rule->step != 0)
                return VU_ERR_BAD_SIZE;
        if (m->n_fds > rule->max_fds)
                return VU_ERR_TOO_MANY_FDS;
        if (m->n_fds < rule->min_fds)
                return VU_ERR_MISSING_FD;
        return VU_OK;
}

unsigned vu_request_max_fds(VuChannel ch, uint32_t request)
{
        const VuRule *rule = message_rule(ch, request, false);

        return rule ? rule->max_fds : 0;
}

static void message_reset_fds(VuMessage *m)
{
        for (unsigned i = 0; i < VU_MAX_FDS; i++)
                m->fds[i] = -1;
        m->n_fds = 0;
}

VuError vu_message_parse(const uint8_t *buf, size_t len, VuChannel ch, bool is_reply, VuMessage *m)
{
        VuError e;

        memset(&m->hdr, 0, sizeof(m->hdr));
        message_reset_fds(m);
        if (len < VU_HEADER_SIZE)
                return VU_ERR_SHORT_HEADER;
        memcpy(&m->hdr, buf, VU_HEADER_SIZE);
        e = vu_header_check(&m->hdr, ch, is_reply);
        if (e != VU_OK)
                return e;
        if (len - VU_HEADER_SIZE < m->hdr.size)
                return VU_ERR_SHORT_PAYLOAD;
        /* Bytes after the payload mean the size field lies. */
        if (len - VU_HEADER_SIZE > m->hdr.size)
                return VU_ERR_BAD_SIZE;
        memcpy(m->payload.bytes, buf + VU_HEADER_SIZE, m->hdr.size);
        return vu_message_check(m, ch, is_reply);
}

void vu_message_init(VuMessage *m, uint32_t request, uint32_t flags, uint32_t size)
{
        if (size > VU_PAYLOAD_MAX)
                size = VU_PAYLOAD_MAX;
        m->hdr.request = request;
        m->hdr.flags = (flags & ~VU_FLAG_VERSION_MASK) | VU_VERSION;
        m->hdr.size = size;
        memset(m->payload.bytes, 0, size);
        message_reset_fds(m);
}

void vu_message_init_u64(VuMessage *m, uint32_t request, uint32_t flags, uint64_t value)
{
        vu_message_init(m, request, flags, sizeof(uint64_t));
        m->payload.u64 = value;
}

void vu_message_init_uuid(VuMessage *m, uint32_t request, uint32_t flags,
                          const uint8_t uuid[VU_UUID_SIZE])
{
        vu_message_init(m, request, flags, VU_UUID_SIZE);
        memcpy(m->payload.uuid, uuid, VU_UUID_SIZE);
}

void vu_message_init_reply_u64(VuMessage *m, const VuMessage *req, uint64_t value)
{
        /* Exactly REPLY|VERSION: QEMU refuses any other flags on a reply. */
        vu_message_init_u64(m, req->hdr.request, VU_FLAG_REPLY, value);
}

int vu_message_add_fd(VuMessage *m, int fd)
{
        if (fd < 0)
                return -EBADF;
        if (m->n_fds >= VU_MAX_FDS)
                return -E2BIG;
        m->fds[m->n_fds++] = fd;
        return 0;
}

int vu_message_steal_fd(VuMessage *m, unsigned i)
{
        int fd;

        if (i >= m->n_fds || i >= VU_MAX_FDS)
                return -1;
        fd = m->fds[i];
        m->fds[i] = -1;
        return fd;
}

void vu_message_close_fds(VuMessage *m)
{
        /* A message's fds came from a peer (or go to one): their close may
         * wait on whoever serves the file. */
        for (unsigned i = 0; i < VU_MAX_FDS; i++) {
                async_close(m->fds[i]);
                m->fds[i] = -1;
        }
        m->n_fds = 0;
}

size_t vu_message_serialize(const VuMessage *m, uint8_t *buf, size_t len)
{
        size_t total;

        if (m->hdr.size > VU_PAYLOAD_MAX)
                return 0;
        total = VU_HEADER_SIZE + m->hdr.size;
        if (len < total)
                return 0;
        memcpy(buf, &m->hdr, VU_HEADER_SIZE);
        memcpy(buf + VU_HEADER_SIZE, m->payload.bytes, m->hdr.size);
        return total;
}
