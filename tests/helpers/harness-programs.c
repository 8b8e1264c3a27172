/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The project's programs as harness children: vhost-shared (optionally
 * under VHOST_SHARE_DAEMON_WRAPPER) and vhost-share-device, from the build
 * tree. */
#include "harness.h"

#include <stdarg.h>

static HarnessProc *spawn_built(Harness *h, const char *name, const char *binary,
                                const char *first_fixed, HarnessSpawnFlags flags, GPtrArray *args)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

        /* VHOST_SHARE_DAEMON_WRAPPER (meson test --setup valgrinddaemon) runs
         * the daemon under a tool such as valgrind; the tests stay unwrapped. */
        const char *wrapper = g_getenv("VHOST_SHARE_DAEMON_WRAPPER");
        if (wrapper && *wrapper && g_str_has_suffix(binary, "/vhost-shared")) {
                g_auto(GStrv) w = NULL;
                if (!g_shell_parse_argv(wrapper, NULL, &w, NULL))
                        harness_fail(h, "VHOST_SHARE_DAEMON_WRAPPER is not a command: %s", wrapper);
                g_autofree char *tool = g_find_program_in_path(w[0]);
                if (!tool)
                        harness_fail(h, "VHOST_SHARE_DAEMON_WRAPPER: %s not found", w[0]);
                g_ptr_array_add(argv, g_steal_pointer(&tool));
                for (char **a = w + 1; *a; a++)
                        g_ptr_array_add(argv, g_strdup(*a));
        }
        g_ptr_array_add(argv, harness_build_file(binary));
        if (first_fixed)
                g_ptr_array_add(argv, g_strdup(first_fixed));
        for (guint i = 0; i < args->len; i++)
                g_ptr_array_add(argv, g_strdup(g_ptr_array_index(args, i)));
        g_ptr_array_add(argv, NULL);
        return harness_spawn(h, name, (const char *const *) argv->pdata, NULL, flags);
}

static GPtrArray *args_from_va(const char *arg, va_list ap)
{
        GPtrArray *args = g_ptr_array_new();

        for (const char *a = arg; a; a = va_arg(ap, const char *))
                g_ptr_array_add(args, (char *) a);
        return args;
}

static GPtrArray *args_from_array(const char *const *v)
{
        GPtrArray *args = g_ptr_array_new();

        for (; v && *v; v++)
                g_ptr_array_add(args, (char *) *v);
        return args;
}

#define HUB_FLAGS (HARNESS_SPAWN_WAIT_READY | HARNESS_SPAWN_CHECK_EXIT)

HarnessProc *harness_spawn_hub(Harness *h, const char *arg, ...)
{
        g_autoptr(GPtrArray) args = NULL;
        va_list ap;

        va_start(ap, arg);
        args = args_from_va(arg, ap);
        va_end(ap);
        return spawn_built(h, "vhost-shared", "service/vhost-shared", "--no-bus", HUB_FLAGS, args);
}

HarnessProc *harness_spawn_hubv(Harness *h, const char *const *v)
{
        g_autoptr(GPtrArray) args = args_from_array(v);

        return spawn_built(h, "vhost-shared", "service/vhost-shared", "--no-bus", HUB_FLAGS, args);
}

HarnessProc *harness_spawn_device(Harness *h, const char *name, const char *arg, ...)
{
        g_autoptr(GPtrArray) args = NULL;
        va_list ap;

        va_start(ap, arg);
        args = args_from_va(arg, ap);
        va_end(ap);
        return spawn_built(h, name, "service/vhost-share-device", NULL, HARNESS_SPAWN_DEFAULT,
                           args);
}

HarnessProc *harness_spawn_devicev(Harness *h, const char *name, const char *const *v)
{
        g_autoptr(GPtrArray) args = args_from_array(v);

        return spawn_built(h, name, "service/vhost-share-device", NULL, HARNESS_SPAWN_DEFAULT,
                           args);
}
