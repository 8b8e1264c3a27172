/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The vhost-user wire format: message ids of both channels, the 12-byte
 * header, payload size rules, and parse/build helpers. Knows nothing of
 * sockets; vu-connection.h moves these messages. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uuid-util.h"

#define VU_HEADER_SIZE 12u
#define VU_PAYLOAD_MAX 4096u
#define VU_MAX_FDS 8u
/* A shared object's UUID on the wire; nil and max are refused
 * (share_uuid_is_valid). */
#define VU_UUID_SIZE SHARE_UUID_SIZE

#define VU_FLAG_VERSION_MASK 0x3u
#define VU_VERSION 0x1u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u

/* Which id space a message belongs to. */
typedef enum {
        VU_CHANNEL_FRONTEND, /* front-end -> back-end, main socket */
        VU_CHANNEL_BACKEND,  /* back-end -> front-end, back-end channel */
} VuChannel;

/* Front-end requests (main socket). */
enum {
        VU_REQ_NONE = 0,
        VU_REQ_GET_FEATURES = 1,
        VU_REQ_SET_FEATURES = 2,
        VU_REQ_SET_OWNER = 3,
        VU_REQ_RESET_OWNER = 4,
        VU_REQ_SET_MEM_TABLE = 5,
        VU_REQ_SET_LOG_BASE = 6,
        VU_REQ_SET_LOG_FD = 7,
        VU_REQ_SET_VRING_NUM = 8,
        VU_REQ_SET_VRING_ADDR = 9,
        VU_REQ_SET_VRING_BASE = 10,
        VU_REQ_GET_VRING_BASE = 11,
        VU_REQ_SET_VRING_KICK = 12,
        VU_REQ_SET_VRING_CALL = 13,
        VU_REQ_SET_VRING_ERR = 14,
        VU_REQ_GET_PROTOCOL_FEATURES = 15,
        VU_REQ_SET_PROTOCOL_FEATURES = 16,
        VU_REQ_GET_QUEUE_NUM = 17,
        VU_REQ_SET_VRING_ENABLE = 18,
        VU_REQ_SEND_RARP = 19,
        VU_REQ_NET_SET_MTU = 20,
        VU_REQ_SET_BACKEND_REQ_FD = 21,
        VU_REQ_IOTLB_MSG = 22,
        VU_REQ_SET_VRING_ENDIAN = 23,
        VU_REQ_GET_CONFIG = 24,
        VU_REQ_SET_CONFIG = 25,
        VU_REQ_CREATE_CRYPTO_SESSION = 26,
        VU_REQ_CLOSE_CRYPTO_SESSION = 27,
        VU_REQ_POSTCOPY_ADVISE = 28,
        VU_REQ_POSTCOPY_LISTEN = 29,
        VU_REQ_POSTCOPY_END = 30,
        VU_REQ_GET_INFLIGHT_FD = 31,
        VU_REQ_SET_INFLIGHT_FD = 32,
        VU_REQ_GPU_SET_SOCKET = 33,
        VU_REQ_RESET_DEVICE = 34,
        VU_REQ_VRING_KICK = 35,
        VU_REQ_GET_MAX_MEM_SLOTS = 36,
        VU_REQ_ADD_MEM_REG = 37,
        VU_REQ_REM_MEM_REG = 38,
        VU_REQ_SET_STATUS = 39,
        VU_REQ_GET_STATUS = 40,
        VU_REQ_GET_SHARED_OBJECT = 41,
        VU_REQ_SET_DEVICE_STATE_FD = 42,
        VU_REQ_CHECK_DEVICE_STATE = 43,
        VU_REQ_GET_SHMEM_CONFIG = 44,
        VU_REQ_MAX = 44,
};

/* Back-end requests (back-end channel). */
enum {
        VU_BREQ_NONE = 0,
        VU_BREQ_IOTLB_MSG = 1,
        VU_BREQ_CONFIG_CHANGE_MSG = 2,
        VU_BREQ_VRING_HOST_NOTIFIER_MSG = 3,
        VU_BREQ_VRING_CALL = 4,
        VU_BREQ_VRING_ERR = 5,
        VU_BREQ_SHARED_OBJECT_ADD = 6,
        VU_BREQ_SHARED_OBJECT_REMOVE = 7,
        VU_BREQ_SHARED_OBJECT_LOOKUP = 8,
        VU_BREQ_SHMEM_MAP = 9,
        VU_BREQ_SHMEM_UNMAP = 10,
        VU_BREQ_MAX = 10,
};

/* Virtio feature bits we care about. */
#define VU_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32

/* Protocol feature bits (protocol.md §2). */
enum {
        VU_PF_MQ = 0,
        VU_PF_LOG_SHMFD = 1,
        VU_PF_RARP = 2,
        VU_PF_REPLY_ACK = 3,
        VU_PF_NET_MTU = 4,
        VU_PF_BACKEND_REQ = 5,
        VU_PF_CROSS_ENDIAN = 6,
        VU_PF_CRYPTO_SESSION = 7,
        VU_PF_PAGEFAULT = 8,
        VU_PF_CONFIG = 9,
        VU_PF_BACKEND_SEND_FD = 10,
        VU_PF_HOST_NOTIFIER = 11,
        VU_PF_INFLIGHT_SHMFD = 12,
        VU_PF_RESET_DEVICE = 13,
        VU_PF_INBAND_NOTIFICATIONS = 14,
        VU_PF_CONFIGURE_MEM_SLOTS = 15,
        VU_PF_STATUS = 16,
        VU_PF_XEN_MMAP = 17,
        VU_PF_SHARED_OBJECT = 18,
        VU_PF_DEVICE_STATE = 19,
        VU_PF_GET_VRING_BASE_INFLIGHT = 20,
        VU_PF_GPA_ADDRESSES = 21,
        VU_PF_SHMEM = 22,
        VU_PF_GET_VRING_BASE_SKIP_DRAIN = 23,
        VU_PF_MAX = 23,
};

#define VU_BIT(n) (UINT64_C(1) << (n))

/* The protocol features the service offers and asks for, in both roles. */
#define VU_SHARED_OBJECT_PROTOCOL_FEATURES                                                         \
        (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |                  \
         VU_BIT(VU_PF_BACKEND_SEND_FD) | VU_BIT(VU_PF_SHARED_OBJECT))

typedef struct __attribute__((packed)) {
        uint32_t request;
        uint32_t flags;
        uint32_t size;
} VuHeader;

_Static_assert(sizeof(VuHeader) == VU_HEADER_SIZE, "vhost-user header is 12 bytes");

/* A whole message: header, payload and the fds that travelled with it.
 * Owners of a VuMessage close its fds with vu_message_close_fds() unless
 * they took them (set the slot to -1). */
typedef struct {
        VuHeader hdr;
        union {
                uint8_t bytes[VU_PAYLOAD_MAX];
                uint64_t u64;
                uint8_t uuid[VU_UUID_SIZE];
        } payload;
        int fds[VU_MAX_FDS];
        unsigned n_fds;
} VuMessage;

/* Why a message was refused. Each has a stable text (vu_error_to_string). */
typedef enum {
        VU_OK = 0,
        VU_ERR_SHORT_HEADER,     /* fewer than 12 bytes before EOF */
        VU_ERR_BAD_VERSION,      /* flags & 3 != 1 */
        VU_ERR_UNKNOWN_FLAGS,    /* bits other than version/REPLY/NEED_REPLY */
        VU_ERR_TOO_LARGE,        /* size over VU_PAYLOAD_MAX */
        VU_ERR_UNKNOWN_REQUEST,  /* id outside the channel's id space */
        VU_ERR_BAD_SIZE,         /* size not allowed for this request */
        VU_ERR_TOO_MANY_FDS,     /* more fds than the request may carry */
        VU_ERR_MISSING_FD,       /* a request that needs an fd came without */
        VU_ERR_UNEXPECTED_REPLY, /* REPLY flag where a request was due, or vice versa */
        VU_ERR_SHORT_PAYLOAD,    /* EOF inside the payload */
        _VU_ERR_MAX,
} VuError;

const char *vu_error_to_string(VuError e);

/* Names for logs; "UNKNOWN" outside the id space. */
const char *vu_request_name(VuChannel ch, uint32_t request);
const char *vu_protocol_feature_name(unsigned bit);

/* Writes the set protocol feature names of mask, '|'-separated, into buf.
 * Returns buf. Unknown bits appear as "bit<N>". */
char *vu_protocol_features_to_string(uint64_t mask, char *buf, size_t len);

/* Checks a header for one channel. When is_reply is true the message is a
 * reply to a request we sent (REPLY flag must be set), otherwise a request.
 * Returns VU_OK or the specific error. */
VuError vu_header_check(const VuHeader *hdr, VuChannel ch, bool is_reply);

/* Checks the payload size and fd count of a complete message against the
 * rules of its request id. Call after vu_header_check. */
VuError vu_message_check(const VuMessage *m, VuChannel ch, bool is_reply);

/* How many fds a request (not a reply) may carry on a channel. */
unsigned vu_request_max_fds(VuChannel ch, uint32_t request);

/* Parses a complete byte buffer (header + payload) into m, with no fds.
 * Used by the fuzzer and the tests: never reads past len. Bytes after the
 * payload are refused as VU_ERR_BAD_SIZE (the size field lies). */
VuError vu_message_parse(const uint8_t *buf, size_t len, VuChannel ch, bool is_reply, VuMessage *m);

/* Builders. All set the version bit (and clear other version values). Size
 * is the payload size (clamped to VU_PAYLOAD_MAX); the payload is zeroed and
 * the message has no fds. */
void vu_message_init(VuMessage *m, uint32_t request, uint32_t flags, uint32_t size);
void vu_message_init_u64(VuMessage *m, uint32_t request, uint32_t flags, uint64_t value);
void vu_message_init_uuid(VuMessage *m, uint32_t request, uint32_t flags,
                          const uint8_t uuid[VU_UUID_SIZE]);
/* A reply to req: same request id, flags REPLY|VERSION, u64 payload. */
void vu_message_init_reply_u64(VuMessage *m, const VuMessage *req, uint64_t value);

/* Attaches fd (not duplicated; the message owns it until sent). Returns
 * -EBADF for a negative fd, -E2BIG when VU_MAX_FDS are attached; on error
 * the caller still owns fd. */
int vu_message_add_fd(VuMessage *m, int fd);
/* Takes fd i out of the message (the slot becomes -1); -1 when absent. */
int vu_message_steal_fd(VuMessage *m, unsigned i);
void vu_message_close_fds(VuMessage *m);

/* Serializes header + payload into buf (at least VU_HEADER_SIZE + size).
 * Returns the bytes written, 0 when buf is too small. */
size_t vu_message_serialize(const VuMessage *m, uint8_t *buf, size_t len);
