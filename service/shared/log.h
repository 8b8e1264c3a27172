/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One line per event on stderr: plain text on a terminal, a pipe or a file;
 * prefixed with the sd-daemon "<N>" priority when stderr is the journal
 * (JOURNAL_STREAM, as systemd sets it), which journald reads. Returns -abs(error) so callers can
 * write "return log_error_errno(r, "Failed to ...: %m")": "%m" is the text of error (when the
 * format has no "%m", ": <text>" is appended). */

#include <stdbool.h>
#include <syslog.h>

typedef enum {
        LOG_PREFIX_AUTO,   /* "<N>" when stderr is the journal (decided at the first line) */
        LOG_PREFIX_NEVER,  /* plain text */
        LOG_PREFIX_ALWAYS, /* "<N>" on every line (tests that read priorities) */
} LogPrefix;

void log_set_max_level(int level); /* LOG_INFO by default; LOG_DEBUG with --verbose */
int log_get_max_level(void);
/* LOG_PREFIX_AUTO by default; setting it decides again at the next line. */
void log_set_priority_prefix(LogPrefix mode);
/* Whether JOURNAL_STREAM names the device and inode of stderr, as systemd
 * sets it when it connects stderr to the journal. */
bool log_stderr_is_journal(void);

int log_internal(int level, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), nonnull(3)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
