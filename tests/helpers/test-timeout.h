/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one deadline of the C tests: how long any single wait (a line, a
 * message, an exit, a condition, a bus signal) may take before the test
 * fails. Generous, for loaded 2-core machines and the sanitizer and
 * valgrind builds: a wait ends as soon as its condition holds, so only a
 * failure takes this long. The Python tests use the same value
 * (TIMEOUT in tests/helpers/vshtest.py). */
#define TEST_TIMEOUT_MS 30000

#define TEST_TIMEOUT_USEC ((int64_t) TEST_TIMEOUT_MS * 1000)
