/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fair shares of the lookup pool (MaxPendingLookups=): greedy importers
 * that keep every lookup they may outstanding cannot starve a bystander;
 * lookups are accounted per importer and per uid, and a reserved part of
 * the pool serves an importer that has none outstanding. In-process
 * (reliability-fixture.h). */

#include <errno.h>
#include <glib.h>
#include <unistd.h>

#include "fd-util.h"
#include "reliability-fixture.h"
#include "service-private.h"

#define GREEDY_PEERS 16
#define GREEDY_LOOKUPS 64 /* each: the default MaxPendingLookupsPerPeer= */
#define BYSTANDER_LOOKUPS 200

static uint64_t lookup_count(TestService *t, const uint8_t uuid[16])
{
        ShareEntry *e = share_table_lookup(service_table(t->s), uuid);

        return e ? share_entry_lookup_count(e) : 0;
}

/* Sends n LOOKUPs of uuid on r's channel without waiting for the replies. */
static void send_lookups(RawPeer *r, const uint8_t uuid[16], unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                VuMessage m;

                vu_message_init_uuid(&m, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_FLAG_NEED_REPLY, uuid);
                raw_peer_send(r, r->chan, &m);
        }
}

/* 16 back-ends of one uid (well under MaxPeers) each export an object and
 * keep 64 lookups of it outstanding; they never answer GET_SHARED_OBJECT
 * while the bystander runs (as if each answer came just inside the
 * deadline). A bystander's lookups of an unrelated exporter's object must
 * still succeed: counted, not timed. Defaults everywhere but the deadlines. */
static void test_greedy_back_ends(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        RawPeer *greedy[GREEDY_PEERS];
        uint8_t uuid[GREEDY_PEERS][16], obj[16];
        uint64_t handled = 0;
        unsigned ok = 0;
        TestDev *exporter, *bystander;

        test_config_defaults(&c);
        test_service_init(&t, &c);
        for (unsigned i = 0; i < GREEDY_PEERS; i++) {
                greedy[i] = test_raw_peer_new(&t, RAW_PEER_BACKEND, "greedy", true);
                test_uuid(uuid[i]);
                g_assert_cmpint(
                    test_raw_request(greedy[i], VU_BREQ_SHARED_OBJECT_ADD, uuid[i], NULL), ==, 0);
        }
        exporter = test_dev_new(&t);
        bystander = test_dev_new(&t);
        test_uuid(obj);
        g_assert_cmpint(test_dev_add(exporter, obj), ==, 0);

        for (unsigned i = 0; i < GREEDY_PEERS; i++)
                send_lookups(greedy[i], uuid[i], GREEDY_LOOKUPS);
        /* Every greedy lookup handled (admitted or refused). */
        for (;;) {
                handled = 0;
                for (unsigned i = 0; i < GREEDY_PEERS; i++)
                        handled += lookup_count(&t, uuid[i]);
                if (handled == GREEDY_PEERS * GREEDY_LOOKUPS)
                        break;
                test_service_iterate(&t);
        }

        g_test_message("greedy: %u of %u lookups waiting on their exporters, %u reserved",
                       t.s->pending_lookups, GREEDY_PEERS * GREEDY_LOOKUPS, t.s->pending_reserved);
        for (unsigned i = 0; i < BYSTANDER_LOOKUPS; i++) {
                int fd = test_dev_lookup(bystander, obj);

                if (fd >= 0) {
                        ok++;
                        close(fd);
                }
        }
        g_test_message("bystander: %u of %u lookups served", ok, BYSTANDER_LOOKUPS);
        g_assert_cmpuint(ok * 100, >=, BYSTANDER_LOOKUPS * 99u);

        for (unsigned i = 0; i < GREEDY_PEERS; i++)
                raw_peer_free(greedy[i]);
        test_dev_free(exporter);
        test_dev_free(bystander);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

static void on_done(Service *s, int fd, int error, void *userdata)
{
        unsigned *done = userdata;

        g_assert_cmpint(fd, <, 0);
        g_assert_cmpint(error, ==, -ECONNRESET);
        (*done)++;
}

/* A lookup of obj on behalf of a bus caller of uid (bus callers are one
 * importer per uid). */
static int lookup_as_uid(TestService *t, const uint8_t obj[16], uid_t uid, unsigned *done)
{
        ServiceImporter who = {.uid = uid};

        return service_lookup_as(t->s, obj, &who, on_done, done);
}

/* Per uid: MaxPendingLookupsPerUid= stops a uid's importers together, not
 * another uid's. The reserve: the last eighth of MaxPendingLookups= is kept
 * for importers that hold none, one place each; a full reserve refuses. The
 * exporter never answers; when it hangs up every place comes back. */
static void test_uid_share_and_reserve(void)
{
        TestService t;
        ServiceConfig c;
        int fds = fd_count_open();
        unsigned done = 0, admitted = 0;
        uint8_t obj[16];
        RawPeer *exporter;

        test_config_defaults(&c);
        c.max_pending_lookups = 16; /* 14 shared, 2 reserved */
        c.max_pending_lookups_per_uid = 4;
        test_service_init(&t, &c);
        exporter = test_raw_peer_new(&t, RAW_PEER_BACKEND, "silent", true);
        test_uuid(obj);
        g_assert_cmpint(test_raw_request(exporter, VU_BREQ_SHARED_OBJECT_ADD, obj, NULL), ==, 0);

        /* uids 1000..1002: four each, the fifth refused (its importer holds
         * some, so no reserved place either). */
        for (uid_t uid = 1000; uid < 1003; uid++) {
                for (unsigned i = 0; i < 4; i++, admitted++)
                        g_assert_cmpint(lookup_as_uid(&t, obj, uid, &done), ==, 0);
                g_assert_cmpint(lookup_as_uid(&t, obj, uid, &done), ==, -EBUSY);
        }
        /* uid 1003: two more fill the shared part (14). */
        for (unsigned i = 0; i < 2; i++, admitted++)
                g_assert_cmpint(lookup_as_uid(&t, obj, 1003, &done), ==, 0);
        g_assert_cmpint(lookup_as_uid(&t, obj, 1003, &done), ==, -EBUSY);
        g_assert_cmpuint(t.s->pending_reserved, ==, 0);
        /* Bystanders holding none: one reserved place each, while it lasts. */
        g_assert_cmpint(lookup_as_uid(&t, obj, 2000, &done), ==, 0);
        g_assert_cmpint(lookup_as_uid(&t, obj, 2000, &done), ==, -EBUSY);
        g_assert_cmpint(service_lookup(t.s, obj, on_done, &done), ==, 0);
        admitted += 2;
        g_assert_cmpuint(t.s->pending_reserved, ==, 2);
        g_assert_cmpint(lookup_as_uid(&t, obj, 2001, &done), ==, -EBUSY);
        g_assert_cmpuint(t.s->pending_lookups, ==, 16);

        raw_peer_free(exporter);
        TEST_WAIT_FOR(&t, service_n_peers(t.s) == 0);
        g_assert_cmpuint(done, ==, admitted);
        g_assert_cmpuint(t.s->pending_lookups, ==, 0);
        g_assert_cmpuint(t.s->pending_reserved, ==, 0);
        g_assert_cmpuint(g_hash_table_size(t.s->lookups_by_importer), ==, 0);
        g_assert_cmpuint(g_hash_table_size(t.s->lookups_by_uid), ==, 0);
        test_service_clear(&t);
        g_assert_cmpint(fd_count_open(), ==, fds);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/reliability/fairness/greedy-back-ends", test_greedy_back_ends);
        g_test_add_func("/reliability/fairness/uid-share-and-reserve", test_uid_share_and_reserve);
        return g_test_run();
}
