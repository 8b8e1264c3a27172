/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whole-table replies are built in chunks while the service goes on
 * serving back-ends (bus-table-reply.h). A back-end that removes and adds
 * objects during a GetManagedObjects: the reply lists each object at most
 * once, none added after the call (a UUID removed and added again is a new
 * object, told by the Added after the reply), none removed before its
 * chunk, and every object nobody touched. */

#include <string.h>
#include <uuid/uuid.h>

#include <glib.h>

#include "cleanup.h"
#include "dbus-fixture.h"
#include "raw-peer.h"

/* Enough for a build of several chunks (about 2 ms each) on a fast machine. */
#define N_OBJECTS 8000u

typedef struct {
        Fixture *f;
        bool done;
        guint log_len;      /* signals that came before the reply */
        GHashTable *listed; /* object path -> times listed */
} ReplyState;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        ReplyState *s = userdata;
        const char *path;

        s->done = true;
        s->log_len = s->f->log.events->len;
        g_assert_false(sd_bus_message_is_method_error(m, NULL));
        g_assert_cmpint(sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}"), >=, 0);
        while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
                g_assert_cmpint(sd_bus_message_read(m, "o", &path), >, 0);
                g_assert_cmpint(sd_bus_message_skip(m, "a{sa{sv}}"), >=, 0);
                g_assert_cmpint(sd_bus_message_exit_container(m), >=, 0);
                g_hash_table_insert(
                    s->listed, g_strdup(path),
                    GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(s->listed, path)) + 1));
        }
        return 0;
}

static bool reply_done(void *data)
{
        return ((ReplyState *) data)->done;
}

static void uuid_of(const uint8_t base[16], uint32_t i, uint8_t out[16])
{
        memcpy(out, base, 16);
        memcpy(out, &i, sizeof(i));
}

static unsigned times_listed(ReplyState *s, const uint8_t uuid[16])
{
        char str[37];
        g_autofree char *path = NULL;

        uuid_unparse_lower(uuid, str);
        path = object_path(str);
        return GPOINTER_TO_UINT(g_hash_table_lookup(s->listed, path));
}

static void send_uuid(RawPeer *b, uint32_t request, const uint8_t uuid[16])
{
        VuMessage m;

        vu_message_init_uuid(&m, request, 0, uuid);
        raw_peer_send(b, b->chan, &m);
}

static void test_changes_during_build(Fixture *f, gconstpointer data)
{
        g_autofree char *sock = g_build_filename(f->tb.dir, "accept.sock", NULL);
        g_autofree char *err = NULL, *removed = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ReplyState s = {.f = f};
        uint8_t base[16], u[16], fresh[16];
        char str[37];
        VuMessage ack;
        guint removed_at = G_MAXUINT, first;
        RawPeer *b;

        s.listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_assert_null((err = call_add_peer(f->bus, "accept", sock, NULL)));
        b = connect_backend(f, sock);
        uuid_generate_random(base);
        for (uint32_t i = 0; i + 1 < N_OBJECTS; i++) {
                uuid_of(base, i, u);
                send_uuid(b, VU_BREQ_SHARED_OBJECT_ADD, u);
        }
        uuid_of(base, N_OBJECTS - 1, u);
        g_assert_cmpint(raw_peer_request(b, VU_BREQ_SHARED_OBJECT_ADD, u, -1, &ack), ==, 1);
        g_assert_cmpuint(ack.payload.u64, ==, 0);
        g_assert_true(wait_object_count(f, N_OBJECTS));

        /* The call, then one after it: when that one is answered, the
         * service has started building the reply (calls are taken in order,
         * the build starts when its call is). */
        g_assert_cmpint(sd_bus_call_method_async(f->bus, &slot, DEST, MPATH,
                                                 "org.freedesktop.DBus.ObjectManager",
                                                 "GetManagedObjects", on_reply, &s, NULL),
                        >=, 0);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, N_OBJECTS);

        /* The last (not reached yet) removed; the one before it removed and
         * added again; the first (in the first chunk, or not reached yet)
         * removed and added again; a new one. */
        uuid_of(base, N_OBJECTS - 1, u);
        send_uuid(b, VU_BREQ_SHARED_OBJECT_REMOVE, u);
        uuid_of(base, N_OBJECTS - 2, u);
        send_uuid(b, VU_BREQ_SHARED_OBJECT_REMOVE, u);
        send_uuid(b, VU_BREQ_SHARED_OBJECT_ADD, u);
        uuid_of(base, 0, u);
        send_uuid(b, VU_BREQ_SHARED_OBJECT_REMOVE, u);
        send_uuid(b, VU_BREQ_SHARED_OBJECT_ADD, u);
        uuid_generate_random(fresh);
        g_assert_cmpint(raw_peer_request(b, VU_BREQ_SHARED_OBJECT_ADD, fresh, -1, &ack), ==, 1);
        g_assert_cmpuint(ack.payload.u64, ==, 0);

        g_assert_true(testbed_pump_until(f->bus, reply_done, &s));
        uuid_of(base, N_OBJECTS - 1, u);
        uuid_unparse_lower(u, str);
        {
                g_autofree char *path = object_path(str);
                removed = g_strdup_printf("Removed %s %s", str, path);
        }
        g_assert_true(signal_log_wait_for(&f->log, f->bus, removed));
        for (guint i = 0; i < f->log.events->len; i++)
                if (strcmp(g_ptr_array_index(f->log.events, i), removed) == 0)
                        removed_at = i;
        /* Held while the reply was built, so the changes came during it. */
        if (removed_at < s.log_len)
                g_error("the reply was complete before the back-end's changes (%u objects "
                        "built too fast to test this):\n%s",
                        N_OBJECTS, signal_log_dump(&f->log));

        uuid_of(base, N_OBJECTS - 1, u);
        g_assert_cmpuint(times_listed(&s, u), ==, 0);
        uuid_of(base, N_OBJECTS - 2, u);
        g_assert_cmpuint(times_listed(&s, u), ==, 0);
        g_assert_cmpuint(times_listed(&s, fresh), ==, 0);
        uuid_of(base, 0, u);
        first = times_listed(&s, u);
        g_assert_cmpuint(first, <=, 1);
        for (uint32_t i = 1; i + 2 < N_OBJECTS; i++) {
                uuid_of(base, i, u);
                g_assert_cmpuint(times_listed(&s, u), ==, 1);
        }
        /* Nothing else but the peer and the listener. */
        g_assert_cmpuint(g_hash_table_size(s.listed), ==, N_OBJECTS - 3 + first + 2);
        g_assert_cmpuint(get_u32(f->bus, MPATH, MIFACE, "ObjectCount"), ==, N_OBJECTS);
        g_hash_table_unref(s.listed);
        raw_peer_free(b);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        DBUS_TEST_ADD("/dbus/table-reply/changes-during-build", setup_shipped,
                      "[Service]\nMaxObjectsPerPeer=0\nMaxObjectsPerUid=0\n",
                      test_changes_during_build);
        return g_test_run();
}
