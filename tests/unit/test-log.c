/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shared/log.h: one line per event, whatever the strings logged contain.
 * A control character from a peer or a caller (a newline in a socket path)
 * must not start a line of its own, which journald would read with the
 * "<N>" priority the attacker wrote. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "log.h"

/* What the logging call wrote to stderr. */
static char *capture_stderr(void (*fn)(const void *data), const void *data)
{
        int fd = memfd_create("stderr", MFD_CLOEXEC);
        int saved = dup(STDERR_FILENO);
        char buf[16384];
        ssize_t n;

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(saved, >=, 0);
        fflush(stderr);
        g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
        fn(data);
        fflush(stderr);
        g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
        close(saved);
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        g_assert_cmpint(n, >=, 0);
        close(fd);
        buf[n] = 0;
        return g_strdup(buf);
}

static void log_string(const void *data)
{
        log_set_priority_prefix(LOG_PREFIX_ALWAYS);
        log_info("peer %s: hello", (const char *) data);
}

typedef struct {
        const char *path;
        const char *in;
        const char *out; /* the whole line written */
} EscapeCase;

static const EscapeCase escape_cases[] = {
    {"/log/escape/plain", "/run/dev.sock", "<6>peer /run/dev.sock: hello\n"},
    {"/log/escape/newline-forges-nothing", "/tmp/a\n<0>forged",
     "<6>peer /tmp/a\\n<0>forged: hello\n"},
    {"/log/escape/tab-cr", "a\tb\rc", "<6>peer a\\tb\\rc: hello\n"},
    {"/log/escape/other-controls", "\x01\x1b[31m\x7f", "<6>peer \\x01\\x1b[31m\\x7f: hello\n"},
    /* Else a logged "\n" (two characters) reads like an escaped newline. */
    {"/log/escape/backslash", "a\\nb", "<6>peer a\\\\nb: hello\n"},
    {"/log/escape/utf8-kept", "gr\xc3\xbc\xc3\x9f", "<6>peer gr\xc3\xbc\xc3\x9f: hello\n"},
    /* journald stores a line that is not UTF-8 as a blob nobody reads. */
    {"/log/escape/invalid-utf8", "a\xff\xc3(", "<6>peer a\\xff\\xc3(: hello\n"},
};

static void test_escape(const void *data)
{
        const EscapeCase *c = data;
        g_autofree char *out = capture_stderr(log_string, c->in);

        g_assert_cmpstr(out, ==, c->out);
}

static void log_errno_with_newline(const void *data)
{
        log_set_priority_prefix(LOG_PREFIX_ALWAYS);
        log_error_errno(-ENOENT, "cannot open %s: %m", (const char *) data);
        log_warning_errno(-EACCES, "cannot open %s", (const char *) data);
}

/* %m and the appended reason are part of the one escaped line. */
static void test_errno(void)
{
        g_autofree char *out = capture_stderr(log_errno_with_newline, "x\ny");

        g_assert_cmpstr(out, ==,
                        "<3>cannot open x\\ny: No such file or directory\n"
                        "<4>cannot open x\\ny: Permission denied\n");
}

static void log_long(const void *data)
{
        log_set_priority_prefix(LOG_PREFIX_ALWAYS);
        log_info("%s", (const char *) data);
}

/* A message of newlines, each four times as long escaped, is cut but stays
 * one line. */
static void test_long(void)
{
        g_autofree char *in = g_strnfill(4000, '\n');
        g_autofree char *out = capture_stderr(log_long, in);
        const char *nl = strchr(out, '\n');

        g_assert_nonnull(nl);
        g_assert_cmpint(nl[1], ==, 0);
        g_assert_true(g_str_has_prefix(out, "<6>\\n\\n\\n"));
        g_assert_cmpuint(strlen(out), >, 1000);
}

static void log_hello(const void *data)
{
        log_info("hello");
}

/* JOURNAL_STREAM as systemd sets it for the stream on stderr: the device
 * and inode of the capture's memfd. */
static void set_journal_stream_to_stderr(const void *data)
{
        struct stat st;
        g_autofree char *v = NULL;

        g_assert_cmpint(fstat(STDERR_FILENO, &st), ==, 0);
        v = g_strdup_printf("%llu:%llu", (unsigned long long) st.st_dev,
                            (unsigned long long) st.st_ino + GPOINTER_TO_UINT(data));
        g_setenv("JOURNAL_STREAM", v, true);
        log_set_priority_prefix(LOG_PREFIX_AUTO);
        log_info("hello");
}

/* Plain text on a terminal, a pipe, a file: no "<N>" an administrator has
 * to read past. */
static void test_prefix_plain(void)
{
        g_autofree char *out = NULL;

        g_unsetenv("JOURNAL_STREAM");
        log_set_priority_prefix(LOG_PREFIX_AUTO);
        out = capture_stderr(log_hello, NULL);
        g_assert_cmpstr(out, ==, "hello\n");
}

/* Under the journal: the priority for journald. */
static void test_prefix_journal(void)
{
        g_autofree char *out = capture_stderr(set_journal_stream_to_stderr, GUINT_TO_POINTER(0));

        g_assert_cmpstr(out, ==, "<6>hello\n");
        g_unsetenv("JOURNAL_STREAM");
}

/* A JOURNAL_STREAM inherited with a different stderr (a shell started from
 * the unit, a redirection) is not the journal. */
static void test_prefix_other_stream(void)
{
        g_autofree char *out = capture_stderr(set_journal_stream_to_stderr, GUINT_TO_POINTER(1));

        g_assert_cmpstr(out, ==, "hello\n");
        g_unsetenv("JOURNAL_STREAM");
        g_setenv("JOURNAL_STREAM", "garbage", true);
        g_assert_false(log_stderr_is_journal());
        g_unsetenv("JOURNAL_STREAM");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/log/prefix/plain", test_prefix_plain);
        g_test_add_func("/log/prefix/journal", test_prefix_journal);
        g_test_add_func("/log/prefix/other-stream", test_prefix_other_stream);
        for (size_t i = 0; i < G_N_ELEMENTS(escape_cases); i++)
                g_test_add_data_func(escape_cases[i].path, &escape_cases[i], test_escape);
        g_test_add_func("/log/escape/errno", test_errno);
        g_test_add_func("/log/escape/long", test_long);
        return g_test_run();
}
