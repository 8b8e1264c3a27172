/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd's fd store: what came back at start, and the sink that keeps
 * it (fd-store.h). */

#include "fd-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"

struct FdStore {
        GHashTable *fds; /* name -> GINT_TO_POINTER(fd) */
        char **names;    /* every name that came back */
        StateRecord record;
        bool have_record;
};

bool fd_store_wanted(bool asked)
{
        const char *max = getenv("FDSTORE");
        guint64 n = 0;

        if (!getenv("NOTIFY_SOCKET"))
                return false;
        if (max)
                (void) g_ascii_string_to_unsigned(max, 10, 0, UINT32_MAX, &n, NULL);
        return asked || n > 0;
}

static bool name_is_ours(const char *name)
{
        return g_str_has_prefix(name, STATE_RECORD_FD_PREFIX) || g_str_has_prefix(name, "obj-") ||
               g_str_has_prefix(name, "lsn-") || g_str_has_prefix(name, "peer-");
}

static void close_fd(void *p)
{
        int fd = GPOINTER_TO_INT(p);

        fd_close_safe(&fd);
}

/* The newest readable record of the ones that came back. */
static void fd_store_read_record(FdStore *st)
{
        uint64_t best = 0;
        const char *best_name = NULL;

        for (char **n = st->names; *n; n++) {
                uint64_t g = state_record_fd_generation(*n);

                if (g > best) {
                        best = g;
                        best_name = *n;
                }
        }
        if (!best_name)
                return;
        {
                g_autoptr(GError) error = NULL;
                int fd = GPOINTER_TO_INT(g_hash_table_lookup(st->fds, best_name));
                int r;

                state_record_init(&st->record);
                r = state_record_read_fd(&st->record, fd, &error);
                if (r < 0) {
                        log_error("cannot restore from %s, starting empty: %s", best_name,
                                  error ? error->message : g_strerror(-r));
                        state_record_clear(&st->record);
                        return;
                }
        }
        st->have_record = true;
        log_info("restoring from %s: %u object(s), %u listener(s)", best_name,
                 st->record.objects->len, st->record.listeners->len);
}

FdStore *fd_store_open(void)
{
        FdStore *st = g_new0(FdStore, 1);
        g_auto(GStrv) names = NULL;
        g_autoptr(GPtrArray) ours = g_ptr_array_new();
        int n;

        st->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_fd);
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                log_warning_errno(n, "Failed to read the fds handed over at start: %m");
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "unknown";

                if (!name_is_ours(name) || g_hash_table_contains(st->fds, name)) {
                        log_warning("closing fd %d handed over at start: unexpected name %s", fd,
                                    name);
                        close_fd(GINT_TO_POINTER(fd));
                        continue;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                g_hash_table_insert(st->fds, g_strdup(name), GINT_TO_POINTER(fd));
                g_ptr_array_add(ours, g_strdup(name));
        }
        g_ptr_array_add(ours, NULL);
        st->names = (char **) g_ptr_array_free(g_steal_pointer(&ours), false);
        fd_store_read_record(st);
        return st;
}

void fd_store_free(FdStore *st)
{
        if (!st)
                return;
        g_hash_table_destroy(st->fds);
        g_strfreev(st->names);
        if (st->have_record)
                state_record_clear(&st->record);
        g_free(st);
}

const StateRecord *fd_store_record(FdStore *st)
{
        return st->have_record ? &st->record : NULL;
}

GHashTable *fd_store_fds(FdStore *st)
{
        return st->fds;
}

const char *const *fd_store_names(FdStore *st)
{
        return (const char *const *) st->names;
}

/* ---- the sink ---- */

/* FDPOLL=0: systemd would drop an fd that reports EPOLLHUP; a buffer or a
 * listening socket must stay whatever it reports. A connection that hangs
 * up is dropped: the next instance finds it gone. */
static int sink_store(void *userdata, const char *name, int fd)
{
        g_autofree char *state = g_strdup_printf(
            "FDSTORE=1\n%sFDNAME=%s", g_str_has_prefix(name, "peer-") ? "" : "FDPOLL=0\n", name);
        int r;

        r = sd_pid_notify_with_fds(0, false, state, &fd, 1);
        if (r == 0)
                return -ENOTCONN; /* no NOTIFY_SOCKET (any more) */
        return r < 0 ? r : 0;
}

static int sink_remove(void *userdata, const char *name)
{
        g_autofree char *state = g_strdup_printf("FDSTOREREMOVE=1\nFDNAME=%s", name);
        int r;

        r = sd_pid_notify(0, false, state);
        if (r == 0)
                return -ENOTCONN;
        return r < 0 ? r : 0;
}

const StateSink fd_store_sink = {
    .store = sink_store,
    .remove = sink_remove,
};
