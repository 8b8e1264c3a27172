/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vhost-share-client-private.h"

#include <string.h>

#include "bus-names.h"
#include "vhost-share-error.h"
#include "vhost-share-item-private.h"

/**
 * VhostShareClient:
 *
 * A connection to vhost-shared (the D-Bus name org.vhostshare.share1) that
 * follows the service's shared objects, vhost-user peers and DRM devices
 * through its object manager, and calls its methods.
 *
 * The lists are kept up to date from the service's signals only: a new
 * item is announced with #VhostShareClient::object-added (and the peer and
 * device equivalents), one that goes with #VhostShareClient::object-removed;
 * a property of an item that changes emits #GObject::notify on it. When the
 * service leaves the bus every item is removed, and when it comes back its
 * items are added again (#VhostShareClient:name-owner says whether it runs).
 *
 * Signals are emitted in the thread-default main context of the thread that
 * created the client; use it from that thread.
 *
 * Items the service has but this library does not know (an interface added
 * in a later version of the API) are ignored, and so are properties it does
 * not know.
 */

enum {
        PROP_0,
        PROP_BUS_TYPE,
        PROP_ADDRESS,
        PROP_CONNECTION,
        PROP_NAME_OWNER,
        N_OWN_PROPS,
};

/**
 * VhostShareClient:version:
 *
 * The service's version, "" while it does not run.
 * D-Bus: org.vhostshare.share1.Manager.Version.
 */
/**
 * VhostShareClient:object-count:
 *
 * The number of objects in the service's table.
 * D-Bus: org.vhostshare.share1.Manager.ObjectCount.
 */
/**
 * VhostShareClient:peer-count:
 *
 * The number of vhost-user peers (connecting, negotiating or ready).
 * D-Bus: org.vhostshare.share1.Manager.PeerCount.
 */
/**
 * VhostShareClient:devices:
 *
 * The DRM device nodes, cards first, the form
 * vhost_share_client_allocate() takes; each is also a #VhostShareDevice.
 * D-Bus: org.vhostshare.share1.Manager.Devices.
 */
static const VshPropertyDesc rows[N_ROWS] = {
    {"Version", "version", 's', NULL},
    {"ObjectCount", "object-count", 'u', NULL},
    {"PeerCount", "peer-count", 'u', NULL},
    {"Devices", "devices", 'a', NULL},
};

static GParamSpec *own_props[N_OWN_PROPS];
static GParamSpec *row_props[N_ROWS];

typedef enum {
        OBJECT_ADDED,
        OBJECT_REMOVED,
        PEER_ADDED,
        PEER_REMOVED,
        DEVICE_ADDED,
        DEVICE_REMOVED,
        N_SIGNALS,
} Signal;

static guint signals[N_SIGNALS];

static void initable_iface_init(GInitableIface *iface);
static void async_initable_iface_init(GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(VhostShareClient, vhost_share_client, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_INITABLE, initable_iface_init)
                                  G_IMPLEMENT_INTERFACE(G_TYPE_ASYNC_INITABLE,
                                                        async_initable_iface_init))

/* ---- the three kinds of items ---- */

typedef struct {
        const char *interface;
        GType (*get_type)(void);
        size_t table_offset;
        Signal added;
        Signal removed;
} Kind;

static const Kind kinds[] = {
    {BUS_OBJECT_INTERFACE, vhost_share_object_get_type, G_STRUCT_OFFSET(VhostShareClient, objects),
     OBJECT_ADDED, OBJECT_REMOVED},
    {BUS_PEER_INTERFACE, vhost_share_peer_get_type, G_STRUCT_OFFSET(VhostShareClient, peers),
     PEER_ADDED, PEER_REMOVED},
    {BUS_DEVICE_INTERFACE, vhost_share_device_get_type, G_STRUCT_OFFSET(VhostShareClient, devices),
     DEVICE_ADDED, DEVICE_REMOVED},
};

static GHashTable *table_of(VhostShareClient *self, const Kind *k)
{
        return G_STRUCT_MEMBER(GHashTable *, self, k->table_offset);
}

/* Adds the item of obj's interface of kind k; TRUE when it is new. */
static gboolean track(VhostShareClient *self, GDBusObject *obj, const Kind *k, gboolean announce)
{
        g_autoptr(GDBusInterface) iface = g_dbus_object_get_interface(obj, k->interface);
        const char *path = g_dbus_object_get_object_path(obj);
        VhostShareItem *item;

        if (!iface || !G_IS_DBUS_PROXY(iface) || g_hash_table_contains(table_of(self, k), path))
                return FALSE;
        item = vsh_item_new(k->get_type(), G_DBUS_PROXY(iface));
        g_hash_table_insert(table_of(self, k), g_strdup(path), item);
        if (announce)
                g_signal_emit(self, signals[k->added], 0, item);
        return TRUE;
}

static void untrack(VhostShareClient *self, const char *path, const Kind *k)
{
        g_autofree char *key = NULL;
        g_autoptr(VhostShareItem) item = NULL;

        if (!g_hash_table_steal_extended(table_of(self, k), path, (gpointer *) &key,
                                         (gpointer *) &item))
                return;
        g_signal_emit(self, signals[k->removed], 0, item);
}

static void on_object_added(GDBusObjectManager *manager, GDBusObject *obj, gpointer user_data)
{
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                track(user_data, obj, &kinds[i], TRUE);
}

static void on_object_removed(GDBusObjectManager *manager, GDBusObject *obj, gpointer user_data)
{
        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                untrack(user_data, g_dbus_object_get_object_path(obj), &kinds[i]);
}

static void on_interface_added(GDBusObjectManager *manager, GDBusObject *obj, GDBusInterface *iface,
                               gpointer user_data)
{
        on_object_added(manager, obj, user_data);
}

static void on_interface_removed(GDBusObjectManager *manager, GDBusObject *obj,
                                 GDBusInterface *iface, gpointer user_data)
{
        const char *name = g_dbus_interface_get_info(iface)
                               ? g_dbus_interface_get_info(iface)->name
                               : g_dbus_proxy_get_interface_name(G_DBUS_PROXY(iface));

        for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                if (g_strcmp0(kinds[i].interface, name) == 0)
                        untrack(user_data, g_dbus_object_get_object_path(obj), &kinds[i]);
}

static void on_name_owner(GObject *manager, GParamSpec *pspec, gpointer user_data)
{
        g_object_notify_by_pspec(user_data, own_props[PROP_NAME_OWNER]);
}

/* Both proxies are there: the items the service has now, then its signals. */
static void client_start(VhostShareClient *self)
{
        GList *objects = g_dbus_object_manager_get_objects(self->manager);

        for (GList *l = objects; l; l = l->next)
                for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
                        track(self, l->data, &kinds[i], FALSE);
        g_list_free_full(objects, g_object_unref);

        g_signal_connect_object(self->manager, "object-added", G_CALLBACK(on_object_added), self,
                                0);
        g_signal_connect_object(self->manager, "object-removed", G_CALLBACK(on_object_removed),
                                self, 0);
        g_signal_connect_object(self->manager, "interface-added", G_CALLBACK(on_interface_added),
                                self, 0);
        g_signal_connect_object(self->manager, "interface-removed",
                                G_CALLBACK(on_interface_removed), self, 0);
        g_signal_connect_object(self->manager, "notify::name-owner", G_CALLBACK(on_name_owner),
                                self, 0);
        vsh_properties_init(&self->props, G_OBJECT(self), self->manager_proxy, rows, row_props,
                            N_ROWS);
}

/* ---- GObject ---- */

static void vhost_share_client_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(object);

        switch (prop_id) {
        case PROP_BUS_TYPE:
                g_value_set_enum(value, self->bus_type);
                break;
        case PROP_ADDRESS:
                g_value_set_string(value, self->address);
                break;
        case PROP_CONNECTION:
                g_value_set_object(value, self->connection);
                break;
        case PROP_NAME_OWNER:
                g_value_take_string(value, vhost_share_client_get_name_owner(self));
                break;
        default:
                if (prop_id < N_OWN_PROPS || prop_id - N_OWN_PROPS >= N_ROWS)
                        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
                else if (self->props.proxy)
                        vsh_properties_get_value(&self->props, prop_id - N_OWN_PROPS, value);
                else if (G_VALUE_HOLDS_STRING(value))
                        g_value_set_static_string(value, "");
        }
}

static void vhost_share_client_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(object);

        switch (prop_id) {
        case PROP_BUS_TYPE:
                self->bus_type = g_value_get_enum(value);
                break;
        case PROP_ADDRESS:
                self->address = g_value_dup_string(value);
                break;
        case PROP_CONNECTION:
                self->connection = g_value_dup_object(value);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void vhost_share_client_dispose(GObject *object)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(object);

        vsh_properties_clear(&self->props);
        if (self->manager)
                g_signal_handlers_disconnect_by_data(self->manager, self);
        g_clear_object(&self->manager);
        g_clear_object(&self->manager_proxy);
        g_hash_table_remove_all(self->objects);
        g_hash_table_remove_all(self->peers);
        g_hash_table_remove_all(self->devices);
        G_OBJECT_CLASS(vhost_share_client_parent_class)->dispose(object);
}

static void vhost_share_client_finalize(GObject *object)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(object);

        g_hash_table_unref(self->objects);
        g_hash_table_unref(self->peers);
        g_hash_table_unref(self->devices);
        g_clear_object(&self->connection);
        g_free(self->address);
        G_OBJECT_CLASS(vhost_share_client_parent_class)->finalize(object);
}

static void add_signal(GObjectClass *klass, Signal id, const char *name, GType item_type)
{
        signals[id] = g_signal_new(name, G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                   NULL, G_TYPE_NONE, 1, item_type);
}

static void vhost_share_client_class_init(VhostShareClientClass *klass)
{
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        const GParamFlags construct =
            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

        object_class->get_property = vhost_share_client_get_property;
        object_class->set_property = vhost_share_client_set_property;
        object_class->dispose = vhost_share_client_dispose;
        object_class->finalize = vhost_share_client_finalize;

        /* Registered before any call can fail with one of the names. */
        (void) VHOST_SHARE_ERROR;

        /**
         * VhostShareClient:bus-type:
         *
         * The bus to connect to when neither #VhostShareClient:address nor
         * #VhostShareClient:connection is set: %G_BUS_TYPE_SYSTEM (where
         * the service runs as a system service) or %G_BUS_TYPE_SESSION.
         */
        own_props[PROP_BUS_TYPE] = g_param_spec_enum("bus-type", NULL, NULL, G_TYPE_BUS_TYPE,
                                                     G_BUS_TYPE_SYSTEM, construct);
        /**
         * VhostShareClient:address:
         *
         * The D-Bus address of a message bus to connect to instead of
         * #VhostShareClient:bus-type, or %NULL.
         */
        own_props[PROP_ADDRESS] = g_param_spec_string("address", NULL, NULL, NULL, construct);
        /**
         * VhostShareClient:connection:
         *
         * The bus connection. Set at construction to share one the caller
         * has; otherwise the client opens it.
         */
        own_props[PROP_CONNECTION] =
            g_param_spec_object("connection", NULL, NULL, G_TYPE_DBUS_CONNECTION, construct);
        /**
         * VhostShareClient:name-owner:
         *
         * The unique bus name of the running service, or %NULL while none
         * runs.
         */
        own_props[PROP_NAME_OWNER] = g_param_spec_string("name-owner", NULL, NULL, NULL,
                                                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(object_class, N_OWN_PROPS, own_props);
        vsh_properties_install(object_class, N_OWN_PROPS, rows, N_ROWS, row_props);

        /**
         * VhostShareClient::object-added:
         * @self: the client
         * @object: the new shared object
         *
         * A shared object entered the service's table (or the service came
         * back with it).
         */
        add_signal(object_class, OBJECT_ADDED, "object-added", VHOST_SHARE_TYPE_OBJECT);
        /**
         * VhostShareClient::object-removed:
         * @self: the client
         * @object: the shared object, with its last properties
         *
         * A shared object left the service's table (or the service left the
         * bus).
         */
        add_signal(object_class, OBJECT_REMOVED, "object-removed", VHOST_SHARE_TYPE_OBJECT);
        /**
         * VhostShareClient::peer-added:
         * @self: the client
         * @peer: the new vhost-user peer
         *
         * The service made a vhost-user connection (connecting, or accepted).
         */
        add_signal(object_class, PEER_ADDED, "peer-added", VHOST_SHARE_TYPE_PEER);
        /**
         * VhostShareClient::peer-removed:
         * @self: the client
         * @peer: the peer, with its last properties
         *
         * A vhost-user peer is gone.
         */
        add_signal(object_class, PEER_REMOVED, "peer-removed", VHOST_SHARE_TYPE_PEER);
        /**
         * VhostShareClient::device-added:
         * @self: the client
         * @device: the new DRM device
         *
         * A DRM device appeared.
         */
        add_signal(object_class, DEVICE_ADDED, "device-added", VHOST_SHARE_TYPE_DEVICE);
        /**
         * VhostShareClient::device-removed:
         * @self: the client
         * @device: the DRM device, with its last properties
         *
         * A DRM device went away.
         */
        add_signal(object_class, DEVICE_REMOVED, "device-removed", VHOST_SHARE_TYPE_DEVICE);
}

static void vhost_share_client_init(VhostShareClient *self)
{
        self->bus_type = G_BUS_TYPE_SYSTEM;
        self->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
        self->peers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
        self->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
}

/* ---- GInitable: the connection, the object manager, the manager's proxy ---- */

#define MANAGER_CLIENT_FLAGS G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START
#define PROXY_FLAGS G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START
#define ADDRESS_FLAGS                                                                              \
        (G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |                                           \
         G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION)

static gboolean initable_init(GInitable *initable, GCancellable *cancellable, GError **error)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(initable);

        if (!self->connection && self->address)
                self->connection = g_dbus_connection_new_for_address_sync(
                    self->address, ADDRESS_FLAGS, NULL, cancellable, error);
        else if (!self->connection)
                self->connection = g_bus_get_sync(self->bus_type, cancellable, error);
        if (!self->connection)
                return FALSE;
        self->manager = g_dbus_object_manager_client_new_sync(
            self->connection, MANAGER_CLIENT_FLAGS, BUS_NAME, BUS_MANAGER_PATH, NULL, NULL, NULL,
            cancellable, error);
        if (!self->manager)
                return FALSE;
        self->manager_proxy =
            g_dbus_proxy_new_sync(self->connection, PROXY_FLAGS, NULL, BUS_NAME, BUS_MANAGER_PATH,
                                  BUS_MANAGER_INTERFACE, cancellable, error);
        if (!self->manager_proxy)
                return FALSE;
        client_start(self);
        return TRUE;
}

static void initable_iface_init(GInitableIface *iface)
{
        iface->init = initable_init;
}

static void init_got_proxy(GObject *source, GAsyncResult *res, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        VhostShareClient *self = g_task_get_source_object(task);
        GError *error = NULL;

        self->manager_proxy = g_dbus_proxy_new_finish(res, &error);
        if (!self->manager_proxy) {
                g_task_return_error(task, error);
                return;
        }
        client_start(self);
        g_task_return_boolean(task, TRUE);
}

static void init_got_manager(GObject *source, GAsyncResult *res, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        VhostShareClient *self = g_task_get_source_object(task);
        GCancellable *cancellable = g_task_get_cancellable(task);
        GError *error = NULL;

        self->manager = g_dbus_object_manager_client_new_finish(res, &error);
        if (!self->manager) {
                g_task_return_error(task, error);
                return;
        }

        g_dbus_proxy_new(self->connection, PROXY_FLAGS, NULL, BUS_NAME, BUS_MANAGER_PATH,
                         BUS_MANAGER_INTERFACE, cancellable, init_got_proxy,
                         g_steal_pointer(&task));
}

static void init_with_connection(GTask *task)
{
        VhostShareClient *self = g_task_get_source_object(task);

        g_dbus_object_manager_client_new(self->connection, MANAGER_CLIENT_FLAGS, BUS_NAME,
                                         BUS_MANAGER_PATH, NULL, NULL, NULL,
                                         g_task_get_cancellable(task), init_got_manager, task);
}

static void init_got_connection(GObject *source, GAsyncResult *res, gpointer user_data)
{
        GTask *task = user_data;
        VhostShareClient *self = g_task_get_source_object(task);
        GError *error = NULL;

        self->connection = self->address ? g_dbus_connection_new_for_address_finish(res, &error)
                                         : g_bus_get_finish(res, &error);
        if (!self->connection) {
                g_task_return_error(task, error);
                g_object_unref(task);
                return;
        }
        init_with_connection(task);
}

static void async_initable_init_async(GAsyncInitable *initable, int io_priority,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
        VhostShareClient *self = VHOST_SHARE_CLIENT(initable);
        GTask *task = g_task_new(self, cancellable, callback, user_data);

        g_task_set_source_tag(task, async_initable_init_async);
        if (self->connection)
                init_with_connection(task);
        else if (self->address)
                g_dbus_connection_new_for_address(self->address, ADDRESS_FLAGS, NULL, cancellable,
                                                  init_got_connection, task);
        else
                g_bus_get(self->bus_type, cancellable, init_got_connection, task);
}

static gboolean async_initable_init_finish(GAsyncInitable *initable, GAsyncResult *res,
                                           GError **error)
{
        return g_task_propagate_boolean(G_TASK(res), error);
}

static void async_initable_iface_init(GAsyncInitableIface *iface)
{
        iface->init_async = async_initable_init_async;
        iface->init_finish = async_initable_init_finish;
}

/* ---- constructors ---- */

/**
 * vhost_share_client_new:
 * @bus_type: %G_BUS_TYPE_SYSTEM or %G_BUS_TYPE_SESSION
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the client is ready
 * @user_data: data for @callback
 *
 * Connects to the service on a message bus, asynchronously; finish with
 * vhost_share_client_new_finish(). The client is made even while the
 * service does not run (#VhostShareClient:name-owner is %NULL then).
 */
void vhost_share_client_new(GBusType bus_type, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
        g_async_initable_new_async(VHOST_SHARE_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable,
                                   callback, user_data, "bus-type", bus_type, NULL);
}

/**
 * vhost_share_client_new_for_address:
 * @address: a D-Bus address of a message bus, e.g. "unix:path=/run/bus"
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the client is ready
 * @user_data: data for @callback
 *
 * Like vhost_share_client_new() on the message bus at @address.
 */
void vhost_share_client_new_for_address(const char *address, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(address != NULL);
        g_async_initable_new_async(VHOST_SHARE_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable,
                                   callback, user_data, "address", address, NULL);
}

/**
 * vhost_share_client_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes vhost_share_client_new() or vhost_share_client_new_for_address().
 *
 * Returns: (transfer full): a new #VhostShareClient, or %NULL with @error set
 */
VhostShareClient *vhost_share_client_new_finish(GAsyncResult *result, GError **error)
{
        g_autoptr(GObject) source = g_async_result_get_source_object(result);
        GObject *client = g_async_initable_new_finish(G_ASYNC_INITABLE(source), result, error);

        return client ? VHOST_SHARE_CLIENT(client) : NULL;
}

/**
 * vhost_share_client_new_sync:
 * @bus_type: %G_BUS_TYPE_SYSTEM or %G_BUS_TYPE_SESSION
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Connects to the service on a message bus, blocking.
 *
 * Returns: (transfer full): a new #VhostShareClient, or %NULL with @error set
 */
VhostShareClient *vhost_share_client_new_sync(GBusType bus_type, GCancellable *cancellable,
                                              GError **error)
{
        return g_initable_new(VHOST_SHARE_TYPE_CLIENT, cancellable, error, "bus-type", bus_type,
                              NULL);
}

/**
 * vhost_share_client_new_for_address_sync:
 * @address: a D-Bus address of a message bus
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like vhost_share_client_new_sync() on the message bus at @address.
 *
 * Returns: (transfer full): a new #VhostShareClient, or %NULL with @error set
 */
VhostShareClient *vhost_share_client_new_for_address_sync(const char *address,
                                                          GCancellable *cancellable, GError **error)
{
        g_return_val_if_fail(address != NULL, NULL);
        return g_initable_new(VHOST_SHARE_TYPE_CLIENT, cancellable, error, "address", address,
                              NULL);
}
