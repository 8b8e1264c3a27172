/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the interop tests share (see interop-fixture.h). */
#include "interop-fixture.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fixture ---- */

char *fx_path(Fixture *fx, const char *name)
{
        return harness_path(fx->h, name);
}

Proc *fx_add(Fixture *fx, HarnessProc *hp)
{
        Proc *p;

        g_assert_cmpuint(fx->n_procs, <, MAX_PROCS);
        p = &fx->procs[fx->n_procs++];
        p->hp = hp;
        p->name = harness_proc_name(hp);
        return p;
}

pid_t proc_pid(Proc *p)
{
        return harness_proc_pid(p->hp);
}

/* The first line after seq `after`, on either stream, containing a (and
 * b), or NULL. */
static const HarnessLine *proc_find_after(Proc *p, uint64_t after, const char *a, const char *b)
{
        const HarnessLine *best = NULL;

        for (int s = HARNESS_STDOUT; s <= HARNESS_STDERR; s++) {
                const GPtrArray *lines = harness_lines(p->hp, s);
                for (guint i = 0; i < lines->len; i++) {
                        const HarnessLine *l = g_ptr_array_index(lines, i);
                        if (l->seq > after && strstr(l->text, a) && (!b || strstr(l->text, b))) {
                                if (!best || l->seq < best->seq)
                                        best = l;
                                break;
                        }
                }
        }
        return best;
}

const HarnessLine *proc_expect2(Fixture *fx, Proc *p, const char *a, const char *b, const char *why)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        const HarnessLine *l;

        while (!(l = proc_find_after(p, p->cursor, a, b))) {
                if (g_get_monotonic_time() >= deadline)
                        harness_fail(fx->h, "%s: no line with '%s'%s%s from %s within %d ms: %s",
                                     g_test_get_path(), a, b ? "' and '" : "", b ? b : "", p->name,
                                     TEST_TIMEOUT_MS, why);
                harness_pump(fx->h, 100);
        }
        p->cursor = l->seq;
        return l;
}

const char *proc_expect(Fixture *fx, Proc *p, const char *a, const char *why)
{
        return proc_expect2(fx, p, a, NULL, why)->text;
}

bool proc_said(Fixture *fx, Proc *p, const char *a, const char *b)
{
        return proc_find_after(p, 0, a, b) != NULL;
}

void proc_send(Proc *p, const char *line)
{
        harness_send_line(p->hp, "%s", line);
}

void proc_stop(Proc *p)
{
        harness_stop(p->hp, TEST_TIMEOUT_MS);
}

void fx_setup(Fixture *fx, gconstpointer data)
{
        memset(fx, 0, sizeof(*fx));
        fx->h = harness_new();
}

void fx_teardown(Fixture *fx, gconstpointer data)
{
        /* Newest first: importers, QEMU, then the services and the devices
         * QEMU connected to. Services must exit cleanly. */
        harness_free(fx->h);
}

/* ---- the programs ---- */

static GPtrArray *argv_new(const char *program)
{
        GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

        g_ptr_array_add(argv, g_strdup(program));
        return argv;
}

Proc *start_service(Fixture *fx, const char *name, ...)
{
        g_autofree char *exe = harness_build_file("service/vhost-shared");
        g_autoptr(GPtrArray) argv = argv_new(exe);
        va_list ap;
        const char *a;

        g_ptr_array_add(argv, g_strdup("--no-bus"));
        g_ptr_array_add(argv, g_strdup("-v"));
        va_start(ap, name);
        while ((a = va_arg(ap, const char *)))
                g_ptr_array_add(argv, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        return fx_add(fx, harness_spawn(fx->h, name, (const char *const *) argv->pdata, NULL,
                                        HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT));
}

Proc *start_device(Fixture *fx, const char *name, ...)
{
        g_autofree char *exe = harness_build_file("service/vhost-share-device");
        g_autoptr(GPtrArray) argv = argv_new(exe);
        va_list ap;
        const char *a;

        va_start(ap, name);
        while ((a = va_arg(ap, const char *)))
                g_ptr_array_add(argv, g_strdup(a));
        va_end(ap);
        g_ptr_array_add(argv, NULL);
        return fx_add(fx, harness_spawn(fx->h, name, (const char *const *) argv->pdata, NULL,
                                        HARNESS_SPAWN_DEFAULT));
}

Proc *start_qemu(Fixture *fx, const char *const *sockets)
{
        return fx_add(fx, qemu_spawn(fx->h, sockets));
}

char *serve_arg(Fixture *fx, const char *sock, const char *options)
{
        g_autofree char *path = fx_path(fx, sock);

        return g_strdup_printf("--serve=%s%s%s", path, options ? "," : "", options ? options : "");
}

char *path_arg(Fixture *fx, const char *option, const char *sock)
{
        g_autofree char *path = fx_path(fx, sock);

        return g_strdup_printf("--%s=%s", option, path);
}

char *field(const char *line, unsigned n)
{
        g_auto(GStrv) w = g_strsplit(line, " ", -1);

        g_assert_cmpuint(g_strv_length(w), >, n);
        return g_strdup(w[n]);
}

const HarnessLine *expect_bridge_ready(Fixture *fx, Proc *svc, const char *sock)
{
        g_autofree char *path = fx_path(fx, sock);

        return proc_expect2(fx, svc, path, "ready, shared objects negotiated",
                            "QEMU should complete the vhost-user handshake with the bridge "
                            "(SET_BACKEND_REQ_FD and SHARED_OBJECT negotiated)");
}

void start_two_bridges(Fixture *fx, Proc **ret_a, Proc **ret_b)
{
        g_autofree char *serve_a = serve_arg(fx, "a.sock", NULL);
        g_autofree char *serve_b = serve_arg(fx, "b.sock", NULL);
        g_autofree char *accept_a = path_arg(fx, "accept", "a-dev.sock");
        g_autofree char *accept_b = path_arg(fx, "accept", "b-dev.sock");
        g_autofree char *sa = fx_path(fx, "a.sock");
        g_autofree char *sb = fx_path(fx, "b.sock");

        *ret_a = start_service(fx, "service-a", serve_a, accept_a, NULL);
        *ret_b = start_service(fx, "service-b", serve_b, accept_b, NULL);
        start_qemu(fx, (const char *[]){sa, sb, NULL});
        expect_bridge_ready(fx, *ret_a, "a.sock");
        expect_bridge_ready(fx, *ret_b, "b.sock");
}

Proc *start_importer(Fixture *fx, const char *accept_sock, const char *uuid)
{
        g_autofree char *connect = path_arg(fx, "connect", accept_sock);
        g_autofree char *import = g_strconcat("--import=", uuid, NULL);

        return start_device(fx, "importer", connect, import, "--exit-when-done", NULL);
}

Proc *start_commands_device(Fixture *fx, const char *name, const char *accept_sock)
{
        g_autofree char *connect = path_arg(fx, "connect", accept_sock);
        Proc *d = start_device(fx, name, connect, "--commands", NULL);

        proc_expect(fx, d, "READY", "the device should connect to the service");
        return d;
}

int count_fds(pid_t pid)
{
        int n = harness_count_fds(pid);

        g_assert_cmpint(n, >=, 0);
        return n;
}

char *fd_target_matching(pid_t pid, const char *part)
{
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *link = g_build_filename(dir, name, NULL);
                g_autofree char *target = g_file_read_link(link, NULL);
                if (target && strstr(target, part))
                        return g_steal_pointer(&target);
        }
        return NULL;
}

int wait_fds_at_most(Fixture *fx, Proc *p, int n)
{
        gint64 deadline = g_get_monotonic_time() + TEST_TIMEOUT_USEC;
        int c;

        while ((c = count_fds(proc_pid(p))) > n) {
                if (g_get_monotonic_time() > deadline)
                        harness_fail(fx->h, "%s still has %d fds open, expected at most %d",
                                     p->name, c, n);
                harness_pump(fx->h, 10);
        }
        return c;
}
