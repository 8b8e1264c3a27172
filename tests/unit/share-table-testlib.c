/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "share-table-testlib.h"

#include <fcntl.h>
#include <string.h>

#include <uuid/uuid.h>

#include "buffer-pattern.h"

void random_uuid(uint8_t out[SHARE_UUID_SIZE])
{
        uuid_generate_random(out);
}

int new_memfd(size_t size, uint8_t seed)
{
        int fd = -1;

        g_assert_cmpint(memfd_new_sealed_pattern("share-table-test", size, seed, &fd), ==, 0);
        return fd;
}

bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

void record(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        Recorder *r = userdata;
        Record rec = {
            .observer = r->observer,
            .ev = ev,
            .entry = e,
            .owner = share_entry_owner(e),
            .lookup_count = share_entry_lookup_count(e),
            .found_in_table = share_table_lookup(t, share_entry_uuid(e)) == e,
            .table_size = share_table_size(t),
            .owner_entries = share_entry_owner(e)->n_entries,
            .fd_open = share_entry_type(e) == SHARE_TYPE_DMABUF && fd_is_open(share_entry_fd(e)),
        };

        memcpy(rec.uuid, share_entry_uuid(e), SHARE_UUID_SIZE);
        g_array_append_val(r->log->records, rec);
}

Log *log_new(void)
{
        Log *l = g_new0(Log, 1);

        l->records = g_array_new(FALSE, TRUE, sizeof(Record));
        return l;
}

void log_free(Log *l)
{
        g_array_unref(l->records);
        g_free(l);
}

Record *log_at(Log *l, guint i)
{
        g_assert_cmpuint(i, <, l->records->len);
        return &g_array_index(l->records, Record, i);
}

void count_events(ShareTable *t, const ShareEntry *e, ShareEvent ev, void *userdata)
{
        (*(unsigned *) userdata)++;
}
