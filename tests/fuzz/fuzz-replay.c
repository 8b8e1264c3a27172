/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replays a fuzz corpus without libFuzzer: calls LLVMFuzzerTestOneInput on
 * every file of the directories (or files) given, one TAP line each, and
 * checks that no fd is left open. Lets every build, sanitized or not, run
 * the seeds and every past finding. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "fd-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int compare_paths(gconstpointer a, gconstpointer b)
{
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

/* Appends the regular files of path (or path itself) to files. */
static gboolean collect(const char *path, GPtrArray *files, GError **error)
{
        g_autoptr(GDir) dir = NULL;
        const char *name;

        if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
                g_ptr_array_add(files, g_strdup(path));
                return TRUE;
        }
        dir = g_dir_open(path, 0, error);
        if (!dir)
                return FALSE;
        while ((name = g_dir_read_name(dir)))
                g_ptr_array_add(files, g_build_filename(path, name, NULL));
        return TRUE;
}

int main(int argc, char **argv)
{
        g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
        unsigned failed = 0;
        int fds_before;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR|FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                g_autoptr(GError) error = NULL;

                if (!collect(argv[i], files, &error)) {
                        printf("1..0\nBail out! %s: %s\n", argv[i], error->message);
                        return 1;
                }
        }
        if (files->len == 0) {
                printf("1..0\nBail out! no corpus files in the given paths\n");
                return 1;
        }
        g_ptr_array_sort(files, compare_paths);

        /* First call outside the count: the target opens its helpers once. */
        LLVMFuzzerTestOneInput((const uint8_t *) "", 0);
        LLVMFuzzerTestOneInput((const uint8_t *) "\0", 1);
        fds_before = fd_count_open();

        printf("1..%u\n", files->len + 1);
        for (unsigned i = 0; i < files->len; i++) {
                const char *path = files->pdata[i];
                g_autoptr(GError) error = NULL;
                g_autofree char *data = NULL;
                gsize len = 0;

                if (!g_file_get_contents(path, &data, &len, &error)) {
                        printf("not ok %u - %s: %s\n", i + 1, path, error->message);
                        failed++;
                        continue;
                }
                /* An exact-size heap copy so that ASan sees any over-read. */
                {
                        g_autofree uint8_t *copy = g_memdup2(data, len);

                        LLVMFuzzerTestOneInput(copy, len);
                }
                printf("ok %u - %s (%zu bytes)\n", i + 1, path, (size_t) len);
        }
        if (fd_count_open() == fds_before) {
                printf("ok %u - no fd left open\n", files->len + 1);
        } else {
                printf("not ok %u - fds open: %d before, %d after\n", files->len + 1, fds_before,
                       fd_count_open());
                failed++;
        }
        return failed ? 1 : 0;
}
