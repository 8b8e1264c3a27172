/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "viewer-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "viewer-details.h"
#include "viewer-format.h"
#include "viewer-table.h"

G_DEFINE_FINAL_TYPE(ViewerWindow, viewer_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- the columns ---- */

static char *object_uuid(gpointer o, gpointer w)
{
        return g_strdup(vhost_share_object_get_uuid(o));
}

static char *object_type(gpointer o, gpointer w)
{
        return g_strdup(vhost_share_object_get_object_type(o));
}

static char *object_owner(gpointer o, gpointer w)
{
        return viewer_owners_describe(VIEWER_WINDOW(w)->owners, o);
}

static char *object_size(gpointer o, gpointer w)
{
        return viewer_format_size(vhost_share_object_get_size(o));
}

static char *object_exporter(gpointer o, gpointer w)
{
        const char *e = vhost_share_object_get_exporter(o);

        return g_strdup(*e ? e : "—");
}

static char *object_lookups(gpointer o, gpointer w)
{
        return g_strdup_printf("%" G_GUINT64_FORMAT, vhost_share_object_get_lookup_count(o));
}

static char *object_age(gpointer o, gpointer w)
{
        return viewer_format_age(vhost_share_object_get_created_timestamp(o), g_get_real_time());
}

static const ViewerColumn object_columns[] = {
    {N_("UUID"), object_uuid, FALSE, 36},     {N_("Type"), object_type, FALSE},
    {N_("Owner"), object_owner, TRUE},        {N_("Size"), object_size, FALSE},
    {N_("Exporter"), object_exporter, FALSE}, {N_("Lookups"), object_lookups, FALSE},
    {N_("Age"), object_age, FALSE},
};

static char *peer_name(gpointer p, gpointer w)
{
        return g_strdup(vhost_share_peer_get_name(p));
}

static char *peer_role(gpointer p, gpointer w)
{
        return g_strdup(vhost_share_peer_get_role(p));
}

static char *peer_state(gpointer p, gpointer w)
{
        const char *error = vhost_share_peer_get_last_error(p);

        if (*error)
                return g_strdup_printf("%s (%s)", vhost_share_peer_get_state(p), error);
        return g_strdup(vhost_share_peer_get_state(p));
}

static char *peer_features(gpointer p, gpointer w)
{
        return viewer_format_features(p);
}

static char *peer_process(gpointer p, gpointer w)
{
        char *text =
            viewer_describe_process(vhost_share_peer_get_pid(p), vhost_share_peer_get_uid(p));

        return text ? text : g_strdup("—");
}

static char *peer_objects(gpointer p, gpointer w)
{
        return g_strdup_printf("%u", vhost_share_peer_get_exported_count(p));
}

static const ViewerColumn peer_columns[] = {
    {N_("Name"), peer_name, TRUE},        {N_("Role"), peer_role, FALSE},
    {N_("State"), peer_state, FALSE},     {N_("Features"), peer_features, TRUE},
    {N_("Process"), peer_process, FALSE}, {N_("Objects"), peer_objects, FALSE},
};

static char *device_node(gpointer d, gpointer w)
{
        return g_strdup(vhost_share_device_get_dev_node(d));
}

static char *device_kind(gpointer d, gpointer w)
{
        return g_strdup(vhost_share_device_get_kind(d));
}

static char *device_driver(gpointer d, gpointer w)
{
        return g_strdup(vhost_share_device_get_driver(d));
}

static char *device_pci(gpointer d, gpointer w)
{
        if (!*vhost_share_device_get_pci_slot(d))
                return g_strdup("—");
        return g_strdup_printf("%s [%04x:%04x]", vhost_share_device_get_pci_slot(d),
                               vhost_share_device_get_pci_vendor(d),
                               vhost_share_device_get_pci_device(d));
}

static char *device_allocates(gpointer d, gpointer w)
{
        return g_strdup(vhost_share_device_get_can_allocate(d) ? _("yes") : _("no"));
}

static const ViewerColumn device_columns[] = {
    {N_("Device"), device_node, TRUE},
    {N_("Kind"), device_kind, FALSE},
    {N_("Driver"), device_driver, FALSE},
    {N_("PCI"), device_pci, TRUE},
    {N_("Dumb buffers"), device_allocates, FALSE},
};

/* ---- the lists, from the client's signals ---- */

static void store_remove(GListStore *store, gpointer item)
{
        guint pos;

        if (g_list_store_find(store, item, &pos))
                g_list_store_remove(store, pos);
}

static void update_status(ViewerWindow *self)
{
        g_autofree char *owner = vhost_share_client_get_name_owner(self->client);
        g_autofree char *text = NULL;

        if (!owner)
                text =
                    g_strdup_printf(_("vhost-shared is not running on the %s."), self->bus_label);
        else
                text =
                    g_strdup_printf(_("vhost-shared %s on the %s: %u objects, %u peers"),
                                    vhost_share_client_get_version(self->client), self->bus_label,
                                    vhost_share_client_get_object_count(self->client),
                                    vhost_share_client_get_peer_count(self->client));
        gtk_label_set_text(GTK_LABEL(self->status), text);
}

static void on_added(VhostShareClient *c, gpointer item, gpointer store)
{
        g_list_store_append(store, item);
}

static void on_removed(VhostShareClient *c, gpointer item, gpointer store)
{
        store_remove(store, item);
}

static void on_client_notify(GObject *c, GParamSpec *pspec, gpointer self)
{
        update_status(self);
}

static void fill(GListStore *store, GPtrArray *items)
{
        for (guint i = 0; i < items->len; i++)
                g_list_store_append(store, items->pdata[i]);
        g_ptr_array_unref(items);
}

/* ---- search and selection ---- */

/* An item matches when one of its text properties contains the search. */
static gboolean matches(gpointer item, gpointer data)
{
        ViewerWindow *self = data;
        const char *search = gtk_editable_get_text(GTK_EDITABLE(self->search));
        g_autofree char *needle = g_utf8_casefold(search, -1);
        g_autofree GParamSpec **pspecs = NULL;
        guint n = 0;

        if (!*needle)
                return TRUE;
        pspecs = g_object_class_list_properties(G_OBJECT_GET_CLASS(item), &n);
        for (guint i = 0; i < n; i++) {
                g_autofree char *value = NULL, *folded = NULL;

                if (pspecs[i]->value_type != G_TYPE_STRING)
                        continue;
                g_object_get(item, pspecs[i]->name, &value, NULL);
                folded = g_utf8_casefold(value ? value : "", -1);
                if (strstr(folded, needle))
                        return TRUE;
        }
        return FALSE;
}

static void on_search_changed(GtkSearchEntry *entry, gpointer data)
{
        ViewerWindow *self = data;

        for (int i = 0; i < N_PAGES; i++)
                gtk_filter_changed(self->filters[i], GTK_FILTER_CHANGE_DIFFERENT);
}

gpointer viewer_window_selected(ViewerWindow *self, int page)
{
        return gtk_single_selection_get_selected_item(self->selections[page]);
}

static int current_page(ViewerWindow *self)
{
        const char *name = adw_view_stack_get_visible_child_name(ADW_VIEW_STACK(self->stack));

        return g_strcmp0(name, "peers") == 0     ? PAGE_PEERS
               : g_strcmp0(name, "devices") == 0 ? PAGE_DEVICES
                                                 : PAGE_OBJECTS;
}

static void update_selection(ViewerWindow *self)
{
        int page = current_page(self);

        viewer_details_show(self->details, viewer_window_selected(self, page));
        gtk_widget_set_sensitive(self->remove_button,
                                 viewer_window_selected(self, PAGE_OBJECTS) != NULL);
        gtk_widget_set_sensitive(self->detach_button,
                                 viewer_window_selected(self, PAGE_PEERS) != NULL);
}

static void on_selection(GObject *selection, GParamSpec *pspec, gpointer self)
{
        update_selection(self);
}

/* ---- layout ---- */

void viewer_window_toast(ViewerWindow *self, const char *text)
{
        AdwToast *toast = adw_toast_new(text);

        adw_toast_set_timeout(toast, 10);
        adw_toast_overlay_add_toast(ADW_TOAST_OVERLAY(self->toasts), toast);
}

static gboolean on_tick(gpointer data)
{
        ViewerWindow *self = data;

        /* The clock moves the ages; nothing is asked of the service. */
        viewer_table_refresh(self->tables[PAGE_OBJECTS]);
        return G_SOURCE_CONTINUE;
}

static void on_owner_resolved(gpointer data)
{
        viewer_table_refresh(VIEWER_WINDOW(data)->tables[PAGE_OBJECTS]);
}

static GtkWidget *add_page(ViewerWindow *self, int page, const char *name, const char *title,
                           const char *icon, const ViewerColumn *columns, guint n)
{
        GtkFilterListModel *filtered;
        GtkWidget *scroll = gtk_scrolled_window_new();
        AdwViewStackPage *p;

        self->filters[page] = GTK_FILTER(gtk_custom_filter_new(matches, self, NULL));
        filtered = gtk_filter_list_model_new(G_LIST_MODEL(g_object_ref(self->stores[page])),
                                             g_object_ref(self->filters[page]));
        self->selections[page] = gtk_single_selection_new(G_LIST_MODEL(filtered));
        gtk_single_selection_set_autoselect(self->selections[page], FALSE);
        gtk_single_selection_set_can_unselect(self->selections[page], TRUE);
        g_signal_connect(self->selections[page], "notify::selected-item", G_CALLBACK(on_selection),
                         self);
        self->tables[page] =
            viewer_table_new(GTK_SELECTION_MODEL(self->selections[page]), columns, n, self);
        gtk_widget_set_vexpand(self->tables[page], TRUE);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), self->tables[page]);
        p = adw_view_stack_add_titled(ADW_VIEW_STACK(self->stack), scroll, name, title);
        adw_view_stack_page_set_icon_name(p, icon);
        return scroll;
}

static GtkWidget *action_button(const char *label, const char *action)
{
        GtkWidget *b = gtk_button_new_with_mnemonic(label);

        gtk_actionable_set_action_name(GTK_ACTIONABLE(b), action);
        return b;
}

static void build(ViewerWindow *self)
{
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
        GtkWidget *header = adw_header_bar_new();
        GtkWidget *switcher = adw_view_switcher_title_new();
        GtkWidget *paned = gtk_paned_new(GTK_ORIENTATION_HORIZONTAL);
        GtkWidget *bar = gtk_action_bar_new();

        self->toasts = adw_toast_overlay_new();
        adw_application_window_set_content(ADW_APPLICATION_WINDOW(self), self->toasts);
        adw_toast_overlay_set_child(ADW_TOAST_OVERLAY(self->toasts), box);

        self->stack = adw_view_stack_new();
        adw_view_switcher_title_set_stack(ADW_VIEW_SWITCHER_TITLE(switcher),
                                          ADW_VIEW_STACK(self->stack));
        adw_view_switcher_title_set_title(ADW_VIEW_SWITCHER_TITLE(switcher),
                                          _("vhost-share Viewer"));
        adw_header_bar_set_title_widget(ADW_HEADER_BAR(header), switcher);
        adw_header_bar_pack_start(ADW_HEADER_BAR(header),
                                  action_button(_("_Export File…"), "win.export-file"));
        self->search = gtk_search_entry_new();
        g_object_set(self->search, "placeholder-text", _("Search"), NULL);
        gtk_accessible_update_property(GTK_ACCESSIBLE(self->search), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       _("Search"), -1);
        g_signal_connect(self->search, "search-changed", G_CALLBACK(on_search_changed), self);
        adw_header_bar_pack_end(ADW_HEADER_BAR(header), self->search);
        gtk_box_append(GTK_BOX(box), header);

        self->status = gtk_label_new(NULL);
        gtk_label_set_xalign(GTK_LABEL(self->status), 0);
        gtk_widget_set_margin_start(self->status, 12);
        gtk_widget_set_margin_top(self->status, 6);
        gtk_widget_set_margin_bottom(self->status, 6);
        gtk_widget_add_css_class(self->status, "dim-label");
        gtk_box_append(GTK_BOX(box), self->status);

        add_page(self, PAGE_OBJECTS, "objects", _("Objects"), "view-grid-symbolic", object_columns,
                 G_N_ELEMENTS(object_columns));
        add_page(self, PAGE_PEERS, "peers", _("Peers"), "network-wired-symbolic", peer_columns,
                 G_N_ELEMENTS(peer_columns));
        add_page(self, PAGE_DEVICES, "devices", _("Devices"), "video-display-symbolic",
                 device_columns, G_N_ELEMENTS(device_columns));
        g_signal_connect_swapped(self->stack, "notify::visible-child", G_CALLBACK(update_selection),
                                 self);
        self->details = viewer_details_new();
        gtk_paned_set_start_child(GTK_PANED(paned), self->stack);
        gtk_paned_set_end_child(GTK_PANED(paned), self->details);
        gtk_paned_set_resize_end_child(GTK_PANED(paned), FALSE);
        gtk_paned_set_position(GTK_PANED(paned), 900);
        gtk_widget_set_vexpand(paned, TRUE);
        gtk_box_append(GTK_BOX(box), paned);

        self->remove_button = action_button(_("_Remove Object"), "win.remove-object");
        self->detach_button = action_button(_("_Detach Peer"), "win.detach-peer");
        gtk_action_bar_pack_start(GTK_ACTION_BAR(bar), self->remove_button);
        gtk_action_bar_pack_start(GTK_ACTION_BAR(bar), self->detach_button);
        gtk_action_bar_pack_end(GTK_ACTION_BAR(bar),
                                action_button(_("_Attach Socket…"), "win.attach-socket"));
        gtk_box_append(GTK_BOX(box), bar);
}

static void viewer_window_dispose(GObject *object)
{
        ViewerWindow *self = VIEWER_WINDOW(object);

        g_clear_handle_id(&self->tick, g_source_remove);
        if (self->client)
                g_signal_handlers_disconnect_by_data(self->client, self);
        for (int i = 0; i < N_PAGES; i++) {
                if (self->client)
                        g_signal_handlers_disconnect_by_data(self->client, self->stores[i]);
                g_clear_object(&self->stores[i]);
                g_clear_object(&self->filters[i]);
        }
        g_clear_pointer(&self->owners, viewer_owners_free);
        g_clear_object(&self->client);
        G_OBJECT_CLASS(viewer_window_parent_class)->dispose(object);
}

static void viewer_window_finalize(GObject *object)
{
        g_free(VIEWER_WINDOW(object)->bus_label);
        G_OBJECT_CLASS(viewer_window_parent_class)->finalize(object);
}

static void viewer_window_class_init(ViewerWindowClass *klass)
{
        G_OBJECT_CLASS(klass)->dispose = viewer_window_dispose;
        G_OBJECT_CLASS(klass)->finalize = viewer_window_finalize;
}

static void viewer_window_init(ViewerWindow *self)
{
        self->stores[PAGE_OBJECTS] = g_list_store_new(VHOST_SHARE_TYPE_OBJECT);
        self->stores[PAGE_PEERS] = g_list_store_new(VHOST_SHARE_TYPE_PEER);
        self->stores[PAGE_DEVICES] = g_list_store_new(VHOST_SHARE_TYPE_DEVICE);
}

/* Connects kind's added/removed signals of the client to its store. */
static void follow(ViewerWindow *self, int page, const char *added, const char *removed)
{
        g_signal_connect(self->client, added, G_CALLBACK(on_added), self->stores[page]);
        g_signal_connect(self->client, removed, G_CALLBACK(on_removed), self->stores[page]);
}

ViewerWindow *viewer_window_new(AdwApplication *app, VhostShareClient *client,
                                const char *bus_label)
{
        ViewerWindow *self =
            g_object_new(VIEWER_TYPE_WINDOW, "application", app, "default-width", 1260,
                         "default-height", 720, "title", _("vhost-share Viewer"), NULL);

        self->client = g_object_ref(client);
        self->bus_label = g_strdup(bus_label);
        self->owners = viewer_owners_new(client, G_CALLBACK(on_owner_resolved), self);
        build(self);
        viewer_actions_install(self);
        fill(self->stores[PAGE_OBJECTS], vhost_share_client_list_objects(client));
        fill(self->stores[PAGE_PEERS], vhost_share_client_list_peers(client));
        fill(self->stores[PAGE_DEVICES], vhost_share_client_list_devices(client));
        follow(self, PAGE_OBJECTS, "object-added", "object-removed");
        follow(self, PAGE_PEERS, "peer-added", "peer-removed");
        follow(self, PAGE_DEVICES, "device-added", "device-removed");
        g_signal_connect(client, "notify", G_CALLBACK(on_client_notify), self);
        update_status(self);
        update_selection(self);
        self->tick = g_timeout_add_seconds(1, on_tick, self);
        return self;
}
