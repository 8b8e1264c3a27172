/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tests of libvhostshare-1 share (see client-lib-fixture.h). */
#include "client-lib-fixture.h"

#include <stdarg.h>

#include "buffer-pattern.h"

static void record(LibFixture *f, const char *what, VhostShareItem *item)
{
        const char *id = VHOST_SHARE_IS_OBJECT(item)
                             ? vhost_share_object_get_uuid(VHOST_SHARE_OBJECT(item))
                             : vhost_share_item_get_object_path(item);

        g_ptr_array_add(f->events, g_strdup_printf("%s %s", what, id));
}

#define RECORDER(name, event)                                                                      \
        static void name(VhostShareClient *c, VhostShareItem *item, gpointer f)                    \
        {                                                                                          \
                record(f, event, item);                                                            \
        }
RECORDER(on_object_added, "object-added")
RECORDER(on_object_removed, "object-removed")
RECORDER(on_peer_added, "peer-added")
RECORDER(on_peer_removed, "peer-removed")

void lib_record(LibFixture *f, VhostShareClient *client)
{
        g_signal_connect(client, "object-added", G_CALLBACK(on_object_added), f);
        g_signal_connect(client, "object-removed", G_CALLBACK(on_object_removed), f);
        g_signal_connect(client, "peer-added", G_CALLBACK(on_peer_added), f);
        g_signal_connect(client, "peer-removed", G_CALLBACK(on_peer_removed), f);
}

void lib_store_result(GObject *source, GAsyncResult *result, gpointer slot)
{
        *(GAsyncResult **) slot = g_object_ref(result);
}

static gboolean slot_filled(gpointer slot)
{
        return *(GAsyncResult **) slot != NULL;
}

GAsyncResult *lib_wait_result(LibFixture *f, GAsyncResult **slot)
{
        if (!lib_wait(f, slot_filled, slot))
                harness_fail(f->tb.h, "an async call did not finish in time");
        return g_steal_pointer(slot);
}

void lib_setup(LibFixture *f, gconstpointer config)
{
        GAsyncResult *result = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) r = NULL;

        testbed_init(&f->tb, TESTBED_POLICY_SHIPPED);
        if (config)
                testbed_set_config(&f->tb, config);
        testbed_start_service(&f->tb, NULL);
        f->events = g_ptr_array_new_with_free_func(g_free);
        vhost_share_client_new_for_address(f->tb.address, NULL, lib_store_result, &result);
        r = lib_wait_result(f, &result);
        f->client = vhost_share_client_new_finish(r, &error);
        g_assert_no_error(error);
        lib_record(f, f->client);
}

void lib_teardown(LibFixture *f, gconstpointer config)
{
        g_clear_object(&f->client);
        /* What the client's connection still has to deliver, before the bus goes. */
        while (g_main_context_iteration(NULL, FALSE))
                ;
        g_ptr_array_unref(f->events);
        testbed_clear(&f->tb);
}

gboolean lib_wait(LibFixture *f, gboolean (*pred)(gpointer data), gpointer data)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_USEC;

        while (!pred(data) && g_get_monotonic_time() < deadline) {
                if (!g_main_context_iteration(NULL, FALSE))
                        harness_pump(f->tb.h, 1); /* the children's output, or 1 ms */
        }
        return pred(data);
}

guint lib_count_event(LibFixture *f, const char *event)
{
        guint n = 0;

        for (guint i = 0; i < f->events->len; i++)
                n += g_strcmp0(f->events->pdata[i], event) == 0;
        return n;
}

typedef struct {
        LibFixture *f;
        const char *event;
} EventWait;

static gboolean has_event(gpointer data)
{
        EventWait *w = data;

        return lib_count_event(w->f, w->event) > 0;
}

void lib_wait_event(LibFixture *f, const char *fmt, ...)
{
        g_autofree char *event = NULL;
        va_list ap;

        va_start(ap, fmt);
        event = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!lib_wait(f, has_event, &(EventWait){f, event})) {
                for (guint i = 0; i < f->events->len; i++)
                        g_printerr("event: %s\n", (char *) f->events->pdata[i]);
                harness_fail(f->tb.h, "no \"%s\" in time", event);
        }
}

int lib_sealed_memfd(size_t size, uint8_t seed)
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("client-lib-test", size, seed, &fd), ==, 0);
        return fd;
}

HarnessProc *lib_start_device(LibFixture *f, const char *name, char **ret_peer, const char *arg,
                              ...)
{
        g_autofree char *sock = g_strdup_printf("%s/%s.sock", f->tb.dir, name);
        g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        HarnessProc *dev;
        va_list ap;

        g_ptr_array_add(args, g_strdup_printf("--listen=%s", sock));
        va_start(ap, arg);
        for (const char *a = arg; a; a = va_arg(ap, const char *))
                g_ptr_array_add(args, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(args, NULL);
        dev = harness_spawn_devicev(f->tb.h, name, (const char *const *) args->pdata);
        harness_expect_line(dev, "LISTENING", TEST_TIMEOUT_MS);
        *ret_peer = vhost_share_client_add_peer_sync(f->client, "connect", sock, NULL, &error);
        g_assert_no_error(error);
        return dev;
}

char *lib_expect_export(HarnessProc *dev)
{
        const HarnessLine *line = harness_expect_line(dev, "EXPORTED ", TEST_TIMEOUT_MS);
        g_auto(GStrv) w = g_strsplit(line->text, " ", 0);

        g_assert_cmpuint(g_strv_length(w), >=, 2);
        return g_strdup(w[1]);
}
