/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager's methods, for its vtable in bus-manager.c: those on shared
 * objects (bus-manager-objects.c) and those on peers (bus-manager-peers.c),
 * and the pieces they share. Internal to the bus layer. */

#include <systemd/sd-bus.h>

#include "bus-manager.h"

/* Appends to a message from a foreach callback: the first error stops the
 * walk and stays in r for the caller. */
typedef struct {
        sd_bus_message *message;
        int r;
} BusAppender;

/* ListObjects() and ListPeers(): a reply of one array of contents, whose
 * elements fill appends. */
int bus_manager_reply_list(sd_bus_message *msg, const char *contents,
                           void (*fill)(BusManager *m, BusAppender *a), BusManager *m);

/* The privileged methods begin here: the caller's right (polkit,
 * bus-polkit.h, or bus-access.h's rule), then the arguments of types. 0
 * to go on; otherwise the handler returns what this returned at once: 1
 * when polkit is being asked (the handler runs again with the answer),
 * -errno with error set. */
int bus_manager_read_privileged_args(BusManager *m, sd_bus_message *msg, sd_bus_error *error,
                                     const char *types, ...);

/* On shared objects. */
int bus_manager_method_list_objects(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_get_object(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_export(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_lookup(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_remove(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_disown(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_allocate(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* On peers. */
int bus_manager_method_list_peers(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_add_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int bus_manager_method_remove_peer(sd_bus_message *msg, void *userdata, sd_bus_error *error);
