/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "uuid-util.h"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <uuid/uuid.h>

/* By hand: libuuid's unparse goes through sprintf, a third of a
 * microsecond per UUID, which a 100k-object GetManagedObjects pays 100k
 * times. */
void share_uuid_to_string(const uint8_t uuid[SHARE_UUID_SIZE], char out[SHARE_UUID_STR_LEN])
{
        static const char hex[] = "0123456789abcdef";
        char *p = out;

        for (unsigned i = 0; i < SHARE_UUID_SIZE; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = hex[uuid[i] >> 4];
                *p++ = hex[uuid[i] & 15];
        }
        *p = 0;
}

static int parse_hex(const char *s, uint8_t uuid[SHARE_UUID_SIZE])
{
        uint8_t u[SHARE_UUID_SIZE];

        for (size_t i = 0; i < SHARE_UUID_SIZE; i++) {
                int hi = g_ascii_xdigit_value(s[2 * i]);
                int lo = g_ascii_xdigit_value(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                u[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(uuid, u, SHARE_UUID_SIZE);
        return 0;
}

int share_uuid_from_string(const char *s, uint8_t uuid[SHARE_UUID_SIZE])
{
        size_t len;

        if (!s || !uuid)
                return -EINVAL;
        len = strlen(s);
        if (len == SHARE_UUID_STR_LEN - 1) {
                uuid_t u;

                if (uuid_parse(s, u) < 0)
                        return -EINVAL;
                memcpy(uuid, u, SHARE_UUID_SIZE);
                return 0;
        }
        if (len == 2 * SHARE_UUID_SIZE)
                return parse_hex(s, uuid);
        return -EINVAL;
}

bool share_uuid_is_valid(const uint8_t uuid[SHARE_UUID_SIZE])
{
        static const uint8_t max[SHARE_UUID_SIZE] = {
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        static const uint8_t nil[SHARE_UUID_SIZE];

        return uuid && memcmp(uuid, nil, SHARE_UUID_SIZE) != 0 &&
               memcmp(uuid, max, SHARE_UUID_SIZE) != 0;
}

void share_uuid_to_hex(const uint8_t uuid[SHARE_UUID_SIZE], char out[SHARE_UUID_HEX_LEN])
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < SHARE_UUID_SIZE; i++) {
                out[2 * i] = digits[uuid[i] >> 4];
                out[2 * i + 1] = digits[uuid[i] & 15];
        }
        out[2 * SHARE_UUID_SIZE] = '\0';
}

/* Both halves are mixed with the process's key through the murmur3
 * finalizer, then folded. */
static uint64_t mix64(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

unsigned share_uuid_hash(const void *p)
{
        static uint64_t key[2];
        static gsize key_init = 0;
        const uint8_t *uuid = p;
        uint64_t a, b, x;

        if (g_once_init_enter(&key_init)) {
                key[0] = ((uint64_t) g_random_int() << 32) | g_random_int();
                key[1] = ((uint64_t) g_random_int() << 32) | g_random_int();
                g_once_init_leave(&key_init, 1);
        }
        memcpy(&a, uuid, 8);
        memcpy(&b, uuid + 8, 8);
        x = mix64(a ^ key[0]) ^ mix64(b ^ key[1]);
        return (unsigned) (x ^ (x >> 32));
}

int share_uuid_equal(const void *a, const void *b)
{
        return memcmp(a, b, SHARE_UUID_SIZE) == 0;
}
