/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU 10 as a harness child (see qemu.h). */
#include "qemu.h"

#include <stdlib.h>
#include <string.h>

void qemu_require(void)
{
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;
        int status = 0, major = 0;
        const char *v;

        if (!g_spawn_command_line_sync("qemu-system-x86_64 --version", &out, NULL, &status,
                                       &error) ||
            !g_spawn_check_wait_status(status, NULL))
                g_error("qemu-system-x86_64 is needed for the interop suite (QEMU 10 from "
                        "bookworm-backports: run tools/install-deps): %s",
                        error ? error->message : "it failed to run");
        v = strstr(out, "version ");
        if (v)
                major = atoi(v + strlen("version "));
        if (major < 10)
                g_error("qemu-system-x86_64 is too old (%s); the interop suite needs QEMU 10 "
                        "(tools/install-deps installs it from bookworm-backports)",
                        g_strstrip(out));
}

HarnessProc *qemu_spawn(Harness *h, const char *const *sockets)
{
        g_autofree char *qmp = harness_path(h, "qmp.sock");
        g_autofree char *exe = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        const char *fixed[] = {"-machine",    "q35,accel=tcg", "-m", "64M",
                               "-nodefaults", "-nographic",    "-S"};

        qemu_require();
        exe = g_find_program_in_path("qemu-system-x86_64");
        g_ptr_array_add(argv, g_steal_pointer(&exe));
        for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++)
                g_ptr_array_add(argv, g_strdup(fixed[i]));
        for (unsigned i = 0; sockets[i]; i++) {
                g_ptr_array_add(argv, g_strdup("-chardev"));
                g_ptr_array_add(argv, g_strdup_printf("socket,id=c%u,path=%s", i, sockets[i]));
                g_ptr_array_add(argv, g_strdup("-device"));
                g_ptr_array_add(argv, g_strdup_printf("vhost-user-rng-pci,chardev=c%u", i));
        }
        g_ptr_array_add(argv, g_strdup("-qmp"));
        g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off", qmp));
        g_ptr_array_add(argv, NULL);
        return harness_spawn(h, "qemu", (const char *const *) argv->pdata, NULL,
                             HARNESS_SPAWN_DEFAULT);
}
