/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UUIDs of shared objects: 16 bytes on the wire, 36 characters in logs and
 * on D-Bus, 32 lowercase hex digits in object paths. libvhost-user and QEMU
 * treat the nil and the max UUID as "none"; so do we. */

#include <stdbool.h>
#include <stdint.h>

#define SHARE_UUID_SIZE 16
#define SHARE_UUID_STR_LEN 37 /* 36 + NUL */
#define SHARE_UUID_HEX_LEN 33 /* 32 + NUL */

/* UUID helpers (libuuid underneath). */
void share_uuid_to_string(const uint8_t uuid[SHARE_UUID_SIZE], char out[SHARE_UUID_STR_LEN]);
/* Accepts the 36-char form and the 32-hex-digit form, either case; checks
 * syntax only (the nil UUID parses). -EINVAL otherwise. */
int share_uuid_from_string(const char *s, uint8_t uuid[SHARE_UUID_SIZE]);
bool share_uuid_is_valid(const uint8_t uuid[SHARE_UUID_SIZE]); /* not nil, not max */
/* The object-path form: 32 lowercase hex digits. */
void share_uuid_to_hex(const uint8_t uuid[SHARE_UUID_SIZE], char out[SHARE_UUID_HEX_LEN]);

/* GHashTable functions for keys that point to 16 UUID bytes. UUIDs come
 * from peers, so the hash is keyed with a per-process random secret: no
 * peer can pick colliding UUIDs and make every operation O(n). */
unsigned share_uuid_hash(const void *uuid);
int share_uuid_equal(const void *a, const void *b);
