/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-managed-objects.h"

#include <string.h>

#include "bus-object.h"
#include "bus-subtree.h"
#include "cleanup.h"
#include "log.h"

static int reply_managed_objects(BusManager *m, sd_bus_message *call)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusSubtree *small[] = {m->peers, m->listeners, m->devices};
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < G_N_ELEMENTS(small); i++) {
                r = bus_subtree_append_managed(small[i], reply);
                if (r < 0)
                        return r;
        }
        r = bus_object_append_managed(m, reply);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int on_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusManager *m = userdata;
        const char *path = sd_bus_message_get_path(msg);
        int r;

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects") ||
            !path || strcmp(path, BUS_MANAGER_PATH) != 0)
                return 0; /* sd-bus dispatches it */
        r = reply_managed_objects(m, msg);
        if (r < 0) {
                log_warning_errno(r, "Failed to answer GetManagedObjects of %s: %m",
                                  sd_bus_message_get_sender(msg));
                r = sd_bus_reply_method_errno(msg, r, NULL);
                if (r < 0)
                        log_debug_errno(r, "Cannot answer %s: %m", sd_bus_message_get_sender(msg));
        }
        return 1;
}

int bus_managed_objects_install(BusManager *m)
{
        return sd_bus_add_filter(m->bus, &m->managed_objects_slot, on_message, m);
}
