/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the D-Bus tests share (see dbus-fixture.h). */
#include "dbus-fixture.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "buffer-pattern.h"
#include "raw-peer.h"

void fixture_setup(Fixture *f, TestbedPolicy policy, const char *config)
{
        testbed_init(&f->tb, policy);
        if (config)
                testbed_set_config(&f->tb, config);
        testbed_start_service(&f->tb, NULL);
        f->bus = testbed_connect(&f->tb);
        signal_log_start(&f->log, f->bus);
}

void setup_shipped(Fixture *f, gconstpointer data)
{
        fixture_setup(f, TESTBED_POLICY_SHIPPED, data);
}

void setup_open(Fixture *f, gconstpointer data)
{
        fixture_setup(f, TESTBED_POLICY_OPEN, data);
}

void teardown(Fixture *f, gconstpointer data)
{
        signal_log_clear(&f->log);
        f->bus = sd_bus_flush_close_unref(f->bus);
        testbed_clear(&f->tb);
}

static char *call_error(const char *what, sd_bus_error *e, int r)
{
        char *name = g_strdup(e->name ? e->name : "(no name)");

        g_test_message("%s: %s: %s", what, name, e->message ? e->message : g_strerror(-r));
        sd_bus_error_free(e);
        return name;
}

char *call_export(sd_bus *bus, int fd, const char *uuid, char **ret_uuid, char **ret_path)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *u, *p;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Export", &e, &reply, "hs", fd, uuid);
        if (r < 0)
                return call_error("Export", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "so", &u, &p), >, 0);
        if (ret_uuid)
                *ret_uuid = g_strdup(u);
        if (ret_path)
                *ret_path = g_strdup(p);
        sd_bus_message_unref(reply);
        return NULL;
}

char *call_lookup(sd_bus *bus, const char *uuid, int *ret_fd)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r, fd;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "Lookup", &e, &reply, "s", uuid);
        if (r < 0)
                return call_error("Lookup", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "h", &fd), >, 0);
        /* The reply owns its fd. */
        *ret_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(*ret_fd, >=, 0);
        sd_bus_message_unref(reply);
        return NULL;
}

char *call_simple(sd_bus *bus, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        g_assert_cmpint(sd_bus_message_new_method_call(bus, &m, DEST, MPATH, MIFACE, member), >=,
                        0);
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        g_assert_cmpint(r, >=, 0);
        r = sd_bus_call(bus, m, 0, &e, &reply);
        sd_bus_message_unref(m);
        if (r < 0)
                return call_error(member, &e, r);
        sd_bus_message_unref(reply);
        return NULL;
}

char *call_add_peer(sd_bus *bus, const char *role, const char *path, char **ret_path)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *p;
        int r;

        r = sd_bus_call_method(bus, DEST, MPATH, MIFACE, "AddPeer", &e, &reply, "ss", role, path);
        if (r < 0)
                return call_error("AddPeer", &e, r);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &p), >, 0);
        if (ret_path)
                *ret_path = g_strdup(p);
        sd_bus_message_unref(reply);
        return NULL;
}

char *get_string(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *s = NULL, *r;

        if (sd_bus_get_property_string(bus, DEST, path, iface, prop, &e, &s) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        r = g_strdup(s);
        free(s);
        return r;
}

char *get_objpath(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *o;
        char *r;

        if (sd_bus_get_property(bus, DEST, path, iface, prop, &e, &reply, "o") < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &o), >, 0);
        r = g_strdup(o);
        sd_bus_message_unref(reply);
        return r;
}

uint64_t get_u64(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t v = 0;

        if (sd_bus_get_property_trivial(bus, DEST, path, iface, prop, &e, 't', &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

uint32_t get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t v = 0;

        if (sd_bus_get_property_trivial(bus, DEST, path, iface, prop, &e, 'u', &v) < 0)
                g_error("Get %s.%s on %s: %s", iface, prop, path, e.message);
        return v;
}

int new_memfd(size_t size, uint8_t seed)
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("test-dbus", size, seed, &fd), ==, 0);
        return fd;
}

void assert_same_inode(int a, int b)
{
        struct stat sa, sb;

        g_assert_cmpint(fstat(a, &sa), ==, 0);
        g_assert_cmpint(fstat(b, &sb), ==, 0);
        g_assert_cmpuint(sa.st_dev, ==, sb.st_dev);
        g_assert_cmpuint(sa.st_ino, ==, sb.st_ino);
}

char *object_path(const char *uuid)
{
        char p[128];

        test_uuid_to_path(uuid, p, sizeof(p));
        return g_strdup(p);
}

void assert_log_count(SignalLog *l, const char *event, guint n)
{
        guint got = signal_log_count(l, event);

        if (got != n) {
                g_autofree char *dump = signal_log_dump(l);
                g_error("expected %u x \"%s\", got %u; signals:\n%s", n, event, got, dump);
        }
}

typedef struct {
        Fixture *f;
        uint32_t n;
} CountWait;

static bool object_count_is(void *data)
{
        CountWait *w = data;

        return get_u32(w->f->bus, MPATH, MIFACE, "ObjectCount") == w->n;
}

bool wait_object_count(Fixture *f, uint32_t n)
{
        CountWait w = {f, n};

        return testbed_pump_until(f->bus, object_count_is, &w);
}

RawPeer *connect_backend(Fixture *f, const char *sock)
{
        RawPeer *b = harness_raw_peer_connect(f->tb.h, sock, RAW_PEER_BACKEND);

        raw_peer_handshake(b, VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_BACKEND_REQ) |
                                  VU_BIT(VU_PF_SHARED_OBJECT));
        return b;
}
