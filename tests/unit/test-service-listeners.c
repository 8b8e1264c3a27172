/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The service's listeners in-process, without a daemon or a bus: ids that
 * are never reused, what a listener records, its observers' events in
 * order, one listener per socket (by normalised path, by inode), and no fd
 * left behind by adding and removing. */

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "fd-util.h"
#include "service.h"

typedef struct {
        sd_event *event;
        Service *service;
        char *dir;
        GString *heard; /* "NEW 1 ", "CHANGED 1 ", "GONE 1 " ... */
        unsigned observer;
} Bench;

static void on_listener(Service *s, Listener *l, ListenerEvent ev, void *userdata)
{
        static const char *const names[] = {"NEW", "CHANGED", "GONE"};
        Bench *b = userdata;

        g_assert_true(s == b->service);
        g_string_append_printf(b->heard, "%s %" G_GUINT64_FORMAT " ", names[ev],
                               listener_get_id(l));
}

static void bench_init(Bench *b)
{
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(sd_event_new(&b->event), >=, 0);
        g_assert_cmpint(service_new(b->event, NULL, &b->service), ==, 0);
        b->dir = g_dir_make_tmp("test-listeners-XXXXXX", &error);
        g_assert_no_error(error);
        b->heard = g_string_new("");
        b->observer = service_add_listener_observer(b->service, on_listener, b);
        g_assert_cmpuint(b->observer, !=, 0);
}

static void bench_clear(Bench *b)
{
        service_remove_listener_observer(b->service, b->observer);
        service_free(b->service);
        sd_event_unref(b->event);
        g_assert_cmpint(rmdir(b->dir), ==, 0);
        g_free(b->dir);
        g_string_free(b->heard, true);
}

static char *sock_path(Bench *b, const char *name)
{
        return g_build_filename(b->dir, name, NULL);
}

static void test_properties_and_events(void)
{
        g_autofree char *a = NULL, *c = NULL;
        Listener *la = NULL, *lc = NULL;
        struct stat st;
        int64_t before;
        Bench b = {0};

        bench_init(&b);
        a = sock_path(&b, "a.sock");
        c = sock_path(&b, "c.sock");
        before = g_get_real_time();
        g_assert_cmpint(service_add_listener(b.service, a, ROLE_FRONTEND, NULL, 1000, &la), ==, 0);
        g_assert_cmpuint(listener_get_id(la), ==, 1);
        g_assert_cmpstr(listener_get_path(la), ==, a);
        g_assert_cmpint(listener_get_role(la), ==, ROLE_FRONTEND);
        g_assert_cmpstr(listener_role_to_string(listener_get_role(la)), ==, "accept");
        g_assert_cmpuint(listener_get_owner(la), ==, 1000);
        g_assert_cmpint(stat(a, &st), ==, 0);
        g_assert_cmpuint(listener_get_group(la), ==, st.st_gid);
        g_assert_cmpuint(listener_get_mode(la), ==, st.st_mode & 07777);
        g_assert_cmpuint(listener_get_accepted_count(la), ==, 0);
        g_assert_cmpuint(listener_get_created_usec(la), >=, (uint64_t) before);
        g_assert_cmpuint(listener_get_created_usec(la), <=, (uint64_t) g_get_real_time());
        g_assert_true(service_find_listener(b.service, 1) == la);

        /* Removed: its id is not given out again. */
        service_remove_listener(b.service, la);
        g_assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
        g_assert_null(service_find_listener(b.service, 1));
        g_assert_cmpint(service_add_listener(b.service, a, ROLE_BACKEND, NULL, 0, &la), ==, 0);
        g_assert_cmpuint(listener_get_id(la), ==, 2);
        g_assert_cmpstr(listener_role_to_string(listener_get_role(la)), ==, "serve");
        g_assert_cmpint(service_add_listener(b.service, c, ROLE_FRONTEND, NULL, 0, &lc), ==, 0);
        g_assert_cmpuint(service_n_listeners(b.service), ==, 2);
        g_assert_cmpstr(b.heard->str, ==, "NEW 1 GONE 1 NEW 2 NEW 3 ");
        bench_clear(&b);
        g_assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test(c, G_FILE_TEST_EXISTS));
}

/* 0 or the errno of a connect() to path. */
static int try_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? errno : 0;
}

/* A connection it accepts counts, and is announced. */
static void test_accepted_count(void)
{
        g_autofree char *a = NULL;
        Listener *l = NULL;
        Bench b = {0};

        bench_init(&b);
        a = sock_path(&b, "a.sock");
        g_assert_cmpint(service_add_listener(b.service, a, ROLE_FRONTEND, NULL, 0, &l), ==, 0);
        g_assert_cmpint(try_connect(a), ==, 0);
        /* One iteration accepts (the socket is readable at once). */
        while (listener_get_accepted_count(l) == 0)
                g_assert_cmpint(sd_event_run(b.event, 1000 * 1000), >, 0);
        g_assert_cmpuint(listener_get_accepted_count(l), ==, 1);
        g_assert_cmpstr(b.heard->str, ==, "NEW 1 CHANGED 1 ");
        bench_clear(&b);
}

/* The same socket by another name is the same listener: -EEXIST, and the
 * first one's socket file is left as it was. */
static void test_one_listener_per_socket(void)
{
        g_autofree char *a = NULL, *spelled = NULL, *linked = NULL, *relative = NULL;
        g_autofree char *cwd = g_get_current_dir();
        Listener *l = NULL;
        struct stat before, after;
        Bench b = {0};

        bench_init(&b);
        a = sock_path(&b, "a.sock");
        spelled = g_strdup_printf("%s/./sub/..//a.sock", b.dir);
        linked = sock_path(&b, "linked.sock");
        g_assert_cmpint(service_add_listener(b.service, a, ROLE_FRONTEND, NULL, 0, &l), ==, 0);
        g_assert_cmpint(stat(a, &before), ==, 0);
        g_assert_cmpint(link(a, linked), ==, 0);

        g_assert_true(service_find_listener_by_path(b.service, a) == l);
        g_assert_true(service_find_listener_by_path(b.service, spelled) == l);
        g_assert_true(service_find_listener_by_path(b.service, linked) == l);
        g_assert_cmpint(chdir(b.dir), ==, 0);
        g_assert_true(service_find_listener_by_path(b.service, "a.sock") == l);
        g_assert_cmpint(chdir(cwd), ==, 0);
        g_assert_null(service_find_listener_by_path(b.service, b.dir));

        g_assert_cmpint(service_add_listener(b.service, a, ROLE_FRONTEND, NULL, 0, NULL), ==,
                        -EEXIST);
        g_assert_cmpint(service_add_listener(b.service, spelled, ROLE_BACKEND, NULL, 0, NULL), ==,
                        -EEXIST);
        g_assert_cmpint(service_add_listener(b.service, linked, ROLE_FRONTEND, NULL, 0, NULL), ==,
                        -EEXIST);
        g_assert_cmpuint(service_n_listeners(b.service), ==, 1);
        g_assert_cmpint(stat(a, &after), ==, 0);
        g_assert_cmpuint(after.st_ino, ==, before.st_ino);
        g_assert_cmpint(try_connect(a), ==, 0);
        g_assert_cmpstr(b.heard->str, ==, "NEW 1 ");
        g_assert_cmpint(unlink(linked), ==, 0);
        bench_clear(&b);
}

/* 200 add + remove cycles leave the process with the fds it had. */
static void test_cycles_leak_nothing(void)
{
        g_autofree char *a = NULL;
        int baseline;
        Bench b = {0};

        bench_init(&b);
        a = sock_path(&b, "a.sock");
        baseline = fd_count_open();
        g_assert_cmpint(baseline, >, 0);
        for (int i = 0; i < 200; i++) {
                Listener *l = NULL;

                g_assert_cmpint(service_add_listener(b.service, a,
                                                     i % 2 ? ROLE_BACKEND : ROLE_FRONTEND, NULL, 0,
                                                     &l),
                                ==, 0);
                service_remove_listener(b.service, l);
        }
        g_assert_cmpint(fd_count_open(), ==, baseline);
        g_assert_cmpuint(service_n_listeners(b.service), ==, 0);
        bench_clear(&b);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/service-listeners/properties-and-events", test_properties_and_events);
        g_test_add_func("/service-listeners/accepted-count", test_accepted_count);
        g_test_add_func("/service-listeners/one-per-socket", test_one_listener_per_socket);
        g_test_add_func("/service-listeners/cycles", test_cycles_leak_nothing);
        return g_test_run();
}
