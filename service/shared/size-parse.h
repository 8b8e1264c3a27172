/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sizes on command lines, one rule for every program: decimal digits and an
 * optional IEC unit, powers of 1024. */

#include <stdint.h>

/* s is digits, then nothing, "B", or K, M, G or T alone or followed by "iB"
 * (any case: 1k, 1K, 1KiB, 1kib). No sign, space, fraction or SI "KB".
 * Returns 0 and *ret, -EINVAL for text that is no size, -ERANGE for a size
 * of 2^64 bytes or more; *ret is untouched on failure. */
int size_parse(const char *s, uint64_t *ret);
