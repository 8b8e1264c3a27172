/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the client's files share: vhost-share-client.c (construction, the
 * items, signals), vhost-share-client-state.c (lists and getters),
 * vhost-share-client-calls.c (the methods). */

#include "vhost-share-client.h"
#include "vhost-share-props.h"

struct _VhostShareClient {
        GObject parent_instance;

        GBusType bus_type;
        char *address;
        GDBusConnection *connection;
        GDBusObjectManager *manager;
        GDBusProxy *manager_proxy;
        VshProperties props;
        /* object path -> item, one table per kind */
        GHashTable *objects;
        GHashTable *peers;
        GHashTable *devices;
};

/* The manager's properties, rows of VhostShareClient.props. */
enum {
        ROW_VERSION,
        ROW_OBJECT_COUNT,
        ROW_PEER_COUNT,
        ROW_DEVICES,
        N_ROWS,
};
