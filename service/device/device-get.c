/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-share-device: answering GET_SHARED_OBJECT, now, after a delay or
 * never, and holding the requests back while a libvhost-user style lookup
 * blocks the device. */

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "uuid-util.h"

void say(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

Export *device_find_export(Device *d, const uint8_t *uuid)
{
        for (guint i = 0; i < d->exports->len; i++) {
                Export *x = &g_array_index(d->exports, Export, i);
                if (memcmp(x->uuid, uuid, 16) == 0)
                        return x;
        }
        return NULL;
}

/* ---- answering GET_SHARED_OBJECT ---- */

typedef struct {
        Device *device;
        VuReplySlot *slot;
        uint8_t uuid[16];
        bool has_uuid; /* QEMU 10.x asks without one */
        sd_event_source *timer;
} DelayedAnswer;

static void device_answer(Device *d, VuReplySlot *slot, const uint8_t *uuid)
{
        Export *x = uuid ? device_find_export(d, uuid) : NULL;

        if (!uuid && d->answer_without_uuid && d->exports->len > 0) {
                x = &g_array_index(d->exports, Export, 0);
                uuid = x->uuid; /* QEMU 10.x asked without one: see what it does with an fd */
        }
        char ustr[SHARE_UUID_STR_LEN] = "-";
        int fd = -1;

        if (uuid)
                share_uuid_to_string(uuid, ustr);
        if (x)
                fd = fcntl(x->fd, F_DUPFD_CLOEXEC, 3);
        vu_backend_answer_shared_object(d->backend, slot, uuid, fd);
        say(fd >= 0 ? "SERVED %s" : "NOT-SERVED %s", ustr);
}

static void delayed_answer_free(DelayedAnswer *a)
{
        sd_event_source_disable_unref(a->timer);
        g_free(a);
}

static int device_on_delay(sd_event_source *s, uint64_t usec, void *userdata)
{
        DelayedAnswer *a = userdata;

        if (a->device->backend)
                device_answer(a->device, a->slot, a->has_uuid ? a->uuid : NULL);
        delayed_answer_free(a);
        return 0;
}

/* Answers a GET now, later (--get-delay-ms, the "delay" command) or never
 * (--no-answer); a is used up. */
static void device_take_get(Device *d, DelayedAnswer *a)
{
        char ustr[SHARE_UUID_STR_LEN] = "-"; /* QEMU 10.x asks without a UUID */
        uint64_t now;
        int r;

        if (a->has_uuid)
                share_uuid_to_string(a->uuid, ustr);
        /* Before any delay: tests order other events against this one. */
        say("ASKED %s", ustr);
        if (d->no_answer) {
                g_free(a); /* deliberately never answered: the front-end must cope */
                return;
        }
        if (d->get_delay_ms <= 0) {
                device_answer(d, a->slot, a->has_uuid ? a->uuid : NULL);
                g_free(a);
                return;
        }
        r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(d->event, &a->timer, CLOCK_MONOTONIC,
                                      now + (uint64_t) d->get_delay_ms * 1000, 0, device_on_delay,
                                      a);
        if (r < 0) {
                log_warning_errno(r, "Failed to delay the answer for %s, answering at once: %m",
                                  ustr);
                device_answer(d, a->slot, a->has_uuid ? a->uuid : NULL);
                g_free(a);
        }
}

void device_get_shared_object(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot, void *userdata)
{
        Device *d = userdata;
        DelayedAnswer *a = g_new0(DelayedAnswer, 1);

        a->device = d;
        a->slot = slot;
        if (uuid) {
                memcpy(a->uuid, uuid, 16);
                a->has_uuid = true;
        }
        if (d->lookups_waiting > 0) {
                /* libvhost-user's lookup blocks the device: nothing on the
                 * main socket is read until its answer comes. */
                g_queue_push_tail(&d->held_gets, a);
                return;
        }
        device_take_get(d, a);
}

/* libvhost-user: the blocking lookup returned; what came meanwhile is read now. */
void device_unblock(Device *d)
{
        DelayedAnswer *a;

        if (d->mode != DEVICE_MODE_LIBVHOST_USER || --d->lookups_waiting > 0)
                return;
        while (d->backend && (a = g_queue_pop_head(&d->held_gets)))
                device_take_get(d, a);
}

void device_drop_held_gets(Device *d)
{
        g_queue_clear_full(&d->held_gets, g_free);
}
