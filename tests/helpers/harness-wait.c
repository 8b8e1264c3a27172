/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting on the harness's children: for lines of their output, for a
 * count of their open fds; and writing to their stdin. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness-private.h"

/* ---- lines ---- */

static const HarnessLine *expect(HarnessProc *p, HarnessStream s, const char *text, bool prefix,
                                 bool anywhere, int timeout_ms)
{
        Harness *h = p->harness;
        int64_t deadline = harness_now_ms() + timeout_ms;

        for (;;) {
                for (guint i = anywhere ? 0 : p->cursor[s]; i < p->lines[s]->len; i++) {
                        HarnessLine *l = g_ptr_array_index(p->lines[s], i);
                        if (prefix ? g_str_has_prefix(l->text, text) : !!strstr(l->text, text)) {
                                if (!anywhere)
                                        p->cursor[s] = i + 1;
                                return l;
                        }
                }
                if (p->out_fd[s] < 0)
                        harness_fail(h, "%s: %s ended without a line %s \"%s\"", p->name,
                                     harness_stream_names[s],
                                     prefix ? "starting with" : "containing", text);
                if (harness_now_ms() >= deadline)
                        harness_fail(h, "%s: no line %s \"%s\" on %s within %d ms", p->name,
                                     prefix ? "starting with" : "containing", text,
                                     harness_stream_names[s], timeout_ms);
                harness_pump(h, harness_remaining_ms(deadline));
        }
}

const HarnessLine *harness_expect_line(HarnessProc *p, const char *prefix, int timeout_ms)
{
        return expect(p, HARNESS_STDOUT, prefix, true, false, timeout_ms);
}

const HarnessLine *harness_expect_output(HarnessProc *p, HarnessStream stream,
                                         const char *substring, int timeout_ms)
{
        return expect(p, stream, substring, false, false, timeout_ms);
}

const HarnessLine *harness_wait_output(HarnessProc *p, HarnessStream stream, const char *substring,
                                       int timeout_ms)
{
        return expect(p, stream, substring, false, true, timeout_ms);
}

const HarnessLine *harness_find_line(HarnessProc *p, HarnessStream stream, const char *substring)
{
        harness_pump(p->harness, 0);
        for (guint i = p->lines[stream]->len; i > 0; i--) {
                HarnessLine *l = g_ptr_array_index(p->lines[stream], i - 1);
                if (strstr(l->text, substring))
                        return l;
        }
        return NULL;
}

const GPtrArray *harness_lines(HarnessProc *p, HarnessStream stream)
{
        harness_pump(p->harness, 0);
        return p->lines[stream];
}

unsigned harness_count_lines(HarnessProc *p, HarnessStream stream, const char *substring)
{
        unsigned n = 0;

        harness_pump(p->harness, 0);
        for (guint i = 0; i < p->lines[stream]->len; i++)
                if (strstr(((HarnessLine *) g_ptr_array_index(p->lines[stream], i))->text,
                           substring))
                        n++;
        return n;
}

void harness_send_line(HarnessProc *p, const char *fmt, ...)
{
        g_autofree char *line = NULL;
        va_list ap;
        size_t off = 0, len;

        va_start(ap, fmt);
        line = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        len = strlen(line);
        line = g_realloc(line, len + 2);
        line[len++] = '\n';
        line[len] = '\0';
        while (off < len) {
                ssize_t n = p->in_fd >= 0 ? write(p->in_fd, line + off, len - off) : -1;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        harness_fail(p->harness, "%s: cannot write \"%s\" to its stdin: %s",
                                     p->name, g_strstrip(line), g_strerror(errno));
                off += (size_t) n;
        }
}

/* ---- fds ---- */

int harness_count_fds(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        /* Files under /proc are read and closed at once (the service's
         * fdinfo reads, the sanitizer runtime's maps reads): a count taken
         * while one is open is no baseline, so they are not counted. */
        while ((de = readdir(d))) {
                char link[300], target[16];
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int) pid, de->d_name);
                len = readlink(link, target, sizeof(target));
                if (len >= 6 && memcmp(target, "/proc/", 6) == 0)
                        continue;
                n++;
        }
        closedir(d);
        return n;
}

/* "fd -> target" lines, for a failure message. */
static char *describe_fds(pid_t pid)
{
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        GString *s = g_string_new(NULL);
        DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char link[300], target[256];
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int) pid, de->d_name);
                len = readlink(link, target, sizeof(target) - 1);
                target[len < 0 ? 0 : len] = '\0';
                g_string_append_printf(s, "  %s -> %s\n", de->d_name, target);
        }
        if (d)
                closedir(d);
        return g_string_free(s, false);
}

void harness_wait_fd_count(HarnessProc *p, int n, int timeout_ms)
{
        int64_t deadline = harness_now_ms() + timeout_ms;
        int count;

        /* Nothing announces a closed fd: check after every event from the
         * children, and at least every 20 ms. */
        /* Under a wrapper such as valgrind the tool's own fds come and go:
         * there, fewer than expected is no leak either. */
        bool wrapped = g_getenv("VHOST_SHARE_DAEMON_WRAPPER") != NULL;

        while ((count = harness_count_fds(p->pid)) != n && !(wrapped && count >= 0 && count < n)) {
                if (harness_now_ms() >= deadline) {
                        g_autofree char *list = describe_fds(p->pid);
                        harness_fail(p->harness, "%s has %d fds open, expected %d after %d ms:\n%s",
                                     p->name, count, n, timeout_ms, list);
                }
                harness_pump(p->harness, MIN(20, harness_remaining_ms(deadline)));
        }
}
