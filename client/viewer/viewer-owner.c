/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "viewer-owner.h"

#include <glib/gi18n.h>
#include <pwd.h>

struct ViewerOwners {
        VhostShareClient *client;
        GHashTable *names; /* bus name -> description, "" while asked */
        GCancellable *cancellable;
        GCallback changed;
        gpointer user_data;
};

ViewerOwners *viewer_owners_new(VhostShareClient *client, GCallback changed, gpointer user_data)
{
        ViewerOwners *o = g_new0(ViewerOwners, 1);

        o->client = g_object_ref(client);
        o->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        o->cancellable = g_cancellable_new();
        o->changed = changed;
        o->user_data = user_data;
        return o;
}

void viewer_owners_free(ViewerOwners *o)
{
        if (!o)
                return;
        g_cancellable_cancel(o->cancellable); /* answers after this find no ViewerOwners */
        g_object_unref(o->cancellable);
        g_hash_table_unref(o->names);
        g_object_unref(o->client);
        g_free(o);
}

char *viewer_describe_process(guint pid, guint uid)
{
        g_autofree char *path = g_strdup_printf("/proc/%u/comm", pid);
        g_autofree char *comm = NULL;
        struct passwd pw, *found = NULL;
        char buf[1024];

        if (pid == 0)
                return NULL;
        if (!g_file_get_contents(path, &comm, NULL, NULL))
                comm = g_strdup("?");
        g_strchomp(comm);
        if (uid != G_MAXUINT32 && getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found)
                return g_strdup_printf("%s[%u] (%s)", comm, pid, found->pw_name);
        return g_strdup_printf("%s[%u] (%u)", comm, pid, uid);
}

typedef struct {
        ViewerOwners *owners; /* valid while cancellable is not cancelled */
        GCancellable *cancellable;
        char *name;
} Query;

static void query_free(Query *q)
{
        g_object_unref(q->cancellable);
        g_free(q->name);
        g_free(q);
}

static void got_credentials(GObject *source, GAsyncResult *res, gpointer user_data)
{
        Query *q = user_data;
        g_autoptr(GVariant) reply = NULL;
        guint32 pid = 0, uid = G_MAXUINT32;
        char *text;

        reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, NULL);
        if (g_cancellable_is_cancelled(q->cancellable)) {
                query_free(q); /* the window is gone */
                return;
        }
        if (reply) {
                g_autoptr(GVariant) creds = g_variant_get_child_value(reply, 0);

                g_variant_lookup(creds, "ProcessID", "u", &pid);
                g_variant_lookup(creds, "UnixUserID", "u", &uid);
        }
        /* A name that left the bus stays a name. */
        text = viewer_describe_process(pid, uid);
        g_hash_table_replace(q->owners->names, g_strdup(q->name), text ? text : g_strdup(q->name));
        ((void (*)(gpointer)) q->owners->changed)(q->owners->user_data);
        query_free(q);
}

static const char *bus_client(ViewerOwners *o, const char *name)
{
        const char *known = g_hash_table_lookup(o->names, name);
        Query *q;

        if (known)
                return *known ? known : NULL;
        g_hash_table_insert(o->names, g_strdup(name), g_strdup(""));
        q = g_new0(Query, 1);
        q->owners = o;
        q->cancellable = g_object_ref(o->cancellable);
        q->name = g_strdup(name);
        g_dbus_connection_call(vhost_share_client_get_connection(o->client), "org.freedesktop.DBus",
                               "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", g_variant_new("(s)", name),
                               G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
                               o->cancellable, got_credentials, q);
        return NULL;
}

char *viewer_owners_describe(ViewerOwners *o, VhostShareObject *obj)
{
        const char *owner = vhost_share_object_get_owner(obj);
        const char *bus_name = vhost_share_object_get_owner_bus_name(obj);
        VhostSharePeer *peer;
        const char *known;

        if (g_strcmp0(owner, "/") != 0) {
                char *text = NULL;

                peer = vhost_share_client_get_peer(o->client, owner);
                if (peer)
                        text = viewer_describe_process(vhost_share_peer_get_pid(peer),
                                                       vhost_share_peer_get_uid(peer));
                return text ? text : g_strdup(peer ? vhost_share_peer_get_name(peer) : owner);
        }
        if (!*bus_name)
                return g_strdup(_("the service"));
        known = bus_client(o, bus_name);
        return g_strdup(known ? known : bus_name);
}
