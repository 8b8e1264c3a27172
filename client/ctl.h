/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vhost-sharectl: what the verbs share. The verbs live in one file per
 * group (ctl-list.c, ctl-monitor.c, ...); main, options and the bus
 * connection in vhost-sharectl.c. */

#include <glib.h>
#include <glib/gi18n.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define CTL_BUS_NAME "org.vhostshare.share1"
#define CTL_MANAGER_PATH "/org/vhostshare/share1"
#define CTL_MANAGER_INTERFACE "org.vhostshare.share1.Manager"
#define CTL_OBJECT_INTERFACE "org.vhostshare.share1.Object"
#define CTL_PEER_INTERFACE "org.vhostshare.share1.Peer"
#define CTL_DEVICE_INTERFACE "org.vhostshare.share1.Device"
#define CTL_OBJECT_PATH_PREFIX "/org/vhostshare/share1/object/"
#define CTL_PEER_PATH_PREFIX "/org/vhostshare/share1/peer/"
#define CTL_DEVICE_PATH_PREFIX "/org/vhostshare/share1/device/"
#define CTL_ERROR_PREFIX "org.vhostshare.share1.Error."

/* Exit codes, documented in vhost-sharectl(1). Keep in sync. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2, /* bad command line or invalid argument (InvalidUuid, InvalidArgs) */
        CTL_EXIT_NO_SERVICE = 3, /* no bus, or the service is not running */
        CTL_EXIT_NOT_FOUND = 4,  /* NotFound, NoDevice */
        CTL_EXIT_ACCESS = 5,     /* AccessDenied, NotOwner */
        CTL_EXIT_EXISTS = 6,     /* Exists */
        CTL_EXIT_TIMEOUT = 7,    /* Timeout, PeerGone, no reply */
        CTL_EXIT_VERIFY = 8,     /* lookup --verify: the content is not the expected pattern */
};

typedef enum {
        CTL_BUS_SYSTEM,
        CTL_BUS_USER,
        CTL_BUS_ADDRESS,
} CtlBusKind;

typedef struct {
        CtlBusKind bus_kind;
        const char *address;
        bool json;
        bool no_legend;
        bool detach;
        bool verify;
        bool size_set;
        uint64_t size;
        const char *uuid;   /* export --uuid */
        const char *output; /* lookup --output */
        const char *device; /* allocate --device */
        sd_bus *bus;
} Ctl;

typedef int (*CtlVerbFunc)(Ctl *ctl, int argc, char **argv);

/* The verbs; argv[0] is the verb. Each returns a CTL_EXIT_* code. */
int verb_list(Ctl *ctl, int argc, char **argv);
int verb_show(Ctl *ctl, int argc, char **argv);
int verb_peers(Ctl *ctl, int argc, char **argv);
int verb_attach(Ctl *ctl, int argc, char **argv);
int verb_detach(Ctl *ctl, int argc, char **argv);
int verb_monitor(Ctl *ctl, int argc, char **argv);
int verb_export(Ctl *ctl, int argc, char **argv);
int verb_lookup(Ctl *ctl, int argc, char **argv);
int verb_remove(Ctl *ctl, int argc, char **argv);
int verb_devices(Ctl *ctl, int argc, char **argv);
int verb_allocate(Ctl *ctl, int argc, char **argv);

/* Connects ctl->bus as chosen by the options; prints why not. */
int ctl_connect(Ctl *ctl);
/* For the verbs that wait (monitor, export's hold): *ret, a new event loop
 * with ctl->bus attached that ends when the bus goes away; SIGINT and SIGTERM
 * go to handler (NULL: sd-event's default, ending the loop). *ret is set even
 * when a later step fails. */
int ctl_event_new(Ctl *ctl, sd_event_signal_handler_t handler, void *userdata, sd_event **ret);

/* Prints "vhost-sharectl: WHAT: MESSAGE (ERROR.NAME)" on stderr and returns
 * the exit code for the error. */
int ctl_bus_error(const sd_bus_error *error, int r, const char *what);
int ctl_exit_code_for_error(const sd_bus_error *error, int r);

/* Prints "vhost-sharectl: MESSAGE" on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Normalizes a UUID argument (36 characters or 32 hex digits) into its
 * 36-character lowercase form; false if it is not a UUID. */
bool ctl_parse_uuid(const char *s, char out[37]);
/* The pattern seed vhost-share-device and vhost-sharectl use for a UUID. */
uint8_t ctl_uuid_pattern_seed(const char *uuid36);

/* "4096", "64K", "1M", "2G" (powers of 1024). */
bool ctl_parse_size(const char *s, uint64_t *ret);
/* "64.0K" style; returns buf. */
const char *ctl_format_size(uint64_t bytes, char buf[32]);
/* "2026-11-25 15:18:07.123456" (UTC) for a CLOCK_REALTIME µs value; returns buf. */
const char *ctl_format_timestamp(uint64_t usec, char buf[64]);

/* Properties of org.vhostshare.share1.Object. */
typedef struct {
        char *path;
        char *uuid;
        char *type;
        char *owner;
        char *owner_bus_name;
        uint64_t size;
        char *exporter;
        char *name;
        char *device;
        uint64_t created_usec;
        uint64_t lookup_count;
} CtlObject;

/* Properties of org.vhostshare.share1.Peer. */
typedef struct {
        char *path;
        char *name;
        char *role;
        char *socket_path;
        char *state;
        uint64_t features;
        uint64_t protocol_features;
        bool shared_objects;
        uint32_t pid;
        uint32_t uid;
        uint32_t exported_count;
        char *last_error;
} CtlPeer;

void ctl_object_free(CtlObject *o);
void ctl_peer_free(CtlPeer *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlObject, ctl_object_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlPeer, ctl_peer_free)

/* Reads the properties of an a{sv} dictionary into o / p (unknown ones
 * are skipped). The message must be positioned at the array. */
int ctl_read_object_props(sd_bus_message *m, CtlObject *o);
int ctl_read_peer_props(sd_bus_message *m, CtlPeer *p);

/* Everything below the manager, from GetManagedObjects: arrays of
 * CtlObject* and CtlPeer*, sorted by path. */
int ctl_get_managed(Ctl *ctl, GPtrArray **ret_objects, GPtrArray **ret_peers);

/* The display name of an object's owner: the peer's name, the bus name, or
 * "service". peers may be NULL. */
const char *ctl_object_owner_display(const CtlObject *o, GPtrArray *peers);
/* The peer's short id: the last component of its path. */
const char *ctl_peer_id(const CtlPeer *p);

/* Output: tables and JSON. */
typedef struct CtlTable CtlTable;
CtlTable *ctl_table_new(const char *first_header, ...) G_GNUC_NULL_TERMINATED;
void ctl_table_add_row(CtlTable *t, const char *first_cell, ...) G_GNUC_NULL_TERMINATED;
guint ctl_table_rows(const CtlTable *t);
/* Prints the table, the header unless no_legend. */
void ctl_table_print(const CtlTable *t, bool no_legend);
void ctl_table_free(CtlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlTable, ctl_table_free)

/* Appends s as a JSON string literal (with quotes). */
void ctl_json_string(GString *out, const char *s);
/* JSON for one object / peer (a single-line object). */
void ctl_json_object(GString *out, const CtlObject *o, GPtrArray *peers);
void ctl_json_peer(GString *out, const CtlPeer *p);
/* Prints the line export and allocate print with --json for the object they
 * made: {"uuid": ..., "path": ..., "size": ...}. */
void ctl_json_print_new_object(const char *uuid, const char *path, uint64_t size);

/* Holds an object we own until SIGINT/SIGTERM or until someone else
 * removes it, then removes it (ignoring NotFound). Returns an exit code. */
int ctl_hold_object(Ctl *ctl, const char *uuid);
/* Hands an object we own over to the service (Manager.Disown). */
int ctl_disown_object(Ctl *ctl, const char *uuid);
