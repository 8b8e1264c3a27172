/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may call the privileged methods (those that change the table or hand
 * out fds): effective uid 0, the service's own effective uid, or a member of
 * the privileged group. Checked by the service itself on every call,
 * whatever the bus policy says. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct {
        gid_t group;     /* the privileged group */
        bool have_group; /* false: no such group, no member passes */
        char *group_name;
} BusAccess;

/* Resolves group_name (NULL or "" for none). A missing group is not an
 * error: then only root and the service's own user pass (have_group is
 * false). */
void bus_access_init(BusAccess *a, const char *group_name);
void bus_access_clear(BusAccess *a);

/* 1 if the caller of m is privileged, 0 if not, -errno if its credentials
 * cannot be had (it left the bus). */
int bus_access_is_privileged(const BusAccess *a, sd_bus_message *m);

/* The caller's effective uid. 0 or -errno. */
int bus_access_get_euid(sd_bus_message *m, uid_t *ret);
/* 1 if the caller is root or the service's own user (who could do it all
 * itself), 0 if not, with its effective uid in *ret_euid; -errno with error
 * set when its credentials are unknown. */
int bus_access_is_owner_or_root(sd_bus_message *m, uid_t *ret_euid, sd_bus_error *error);
/* 1 if the caller's effective uid is 0, 0 if not, -errno. */
int bus_access_is_root(sd_bus_message *m);

/* For method handlers: 0 when allowed; otherwise sets error
 * (org.vhostshare.share1.Error.AccessDenied, or the credential error) and
 * returns -EACCES or -errno. */
int bus_access_check(const BusAccess *a, sd_bus_message *m, sd_bus_error *error);

/* Where the caller of m may have the service listen (AddPeer accept|serve):
 * root and the service's own user anywhere, the privileged group only in
 * dirs or below (compared on the safely resolved directory, socket-util.h).
 * 0 when allowed; otherwise sets error (AccessDenied, or the error of
 * resolving path: NotFound, UnsafePath, ...) and returns -errno. */
int bus_access_check_socket_place(sd_bus_message *m, const char *path, const char *const *dirs,
                                  sd_bus_error *error);
