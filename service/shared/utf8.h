/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text from outside (memfd and dma-buf names, a process's comm, paths) is
 * any bytes; what the service keeps to show on D-Bus must be valid UTF-8:
 * sd-bus refuses a message with one invalid string, and with it a whole
 * GetManagedObjects for everybody. Invalid bytes become U+FFFD. */

#include <stdbool.h>
#include <stddef.h>

/* text made valid, into dst (dst_size > 0), cut at a character boundary. */
void utf8_copy_valid(char *dst, size_t dst_size, const char *text);
/* text made valid, newly allocated (g_free()); NULL for NULL. */
char *utf8_dup_valid(const char *text);
