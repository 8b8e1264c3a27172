/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of vhost-share-device share: the device, its exports and
 * the library it plays (--mode). vhost-share-device.c runs it; device-get.c
 * answers GET_SHARED_OBJECT. */

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "backend.h"

typedef struct {
        uint8_t uuid[16];
        int fd;
        size_t size;
} Export;

/* Which back-end library the device plays (--mode). */
typedef enum {
        DEVICE_MODE_PLAIN,         /* our own engine as it is */
        DEVICE_MODE_LIBVHOST_USER, /* blocking lookups, unacknowledged ADD / REMOVE */
        DEVICE_MODE_RUST_VMM,      /* an fd on LOOKUP, empty GET answers */
} DeviceMode;

typedef struct {
        sd_event *event;
        VuBackend *backend;
        DeviceMode mode;
        unsigned lookups_waiting; /* libvhost-user: a LOOKUP blocks the device */
        GQueue held_gets;         /* DelayedAnswer*: GETs read while blocked */
        int listen_fd;
        sd_event_source *listen_io;
        GArray *exports; /* Export */
        GPtrArray *import_uuids;
        GString *input; /* stdin bytes not yet a whole line */
        char **want_uuids;
        int n_export;
        uint64_t size; /* --size: at most 1 GiB */
        int get_delay_ms;
        gboolean no_answer;
        gboolean remove;
        gboolean exit_when_done;
        gboolean no_shared_object;
        gboolean no_reply_ack;
        gboolean answer_without_uuid;
        gboolean commands;
        gboolean plain_memfd;
        unsigned outstanding;
        bool started;
        bool done;
        int exit_code;
} Device;

/* One line on stdout, for people and for tests. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

Export *device_find_export(Device *d, const uint8_t *uuid);
/* VuBackendOps.get_shared_object. */
void device_get_shared_object(VuBackend *b, const uint8_t *uuid, VuReplySlot *slot, void *userdata);
/* libvhost-user: a blocking lookup returned; GETs held meanwhile are read now. */
void device_unblock(Device *d);
/* GETs still held at exit. */
void device_drop_held_gets(Device *d);
