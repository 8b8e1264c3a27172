/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scope-bound cleanup for the types glib's g_auto* do not cover: sd-bus and
 * sd-event objects with libsystemd's own *_unrefp helpers, e.g.
 *
 *         _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
 *
 * fds use _cleanup_close_ (fd-util.h), glib memory g_autofree/g_autoptr.
 * docs/hacking.md lists the idiom of each resource type. */

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Our objects: DEFINE_FREEP(Foo, foo_free); defines foo_freep() for
 *
 *         _cleanup_(foo_freep) Foo *foo = NULL;
 *
 * foo_free() must take NULL. */
#define DEFINE_FREEP(type, func)                                                                   \
        static inline void func##p(type **p)                                                       \
        {                                                                                          \
                func(*p);                                                                          \
        }
