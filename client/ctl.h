/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vhost-sharectl: what the verbs share. One file per verb group (ctl-list.c:
 * list, show; ctl-peers.c: peers, attach, detach; ...); main, the options
 * and the verb table in vhost-sharectl.c.
 *
 * Verbs and the helpers that print their errors return a CTL_EXIT_* code;
 * the rest return 0 or -errno. sd-bus hands out malloc() memory; glib
 * (>= 2.46) allocates with malloc() too, so g_autofree holds either. */

#include <glib.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "cleanup.h"
#include "uuid-util.h"

/* Exit codes, documented in vhost-sharectl(1). Keep in sync. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2, /* bad command line or invalid argument (InvalidUuid, InvalidArgs) */
        CTL_EXIT_NO_SERVICE = 3, /* no bus, the service is not running or cannot be started */
        CTL_EXIT_NOT_FOUND = 4,  /* NotFound, NoDevice */
        CTL_EXIT_ACCESS = 5,     /* AccessDenied, NotOwner, UnsafePath */
        CTL_EXIT_EXISTS = 6,     /* Exists, AddressInUse, NotASocket */
        CTL_EXIT_TIMEOUT = 7,    /* Timeout, PeerGone, no reply */
        CTL_EXIT_VERIFY = 8,     /* lookup --verify: the content is not the expected pattern */
};

/* The bus daemon's signal that the service started or stopped. */
#define CTL_MATCH_SERVICE_OWNER                                                                    \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"                \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" BUS_NAME "'"

typedef enum {
        CTL_BUS_SYSTEM,
        CTL_BUS_USER,
        CTL_BUS_ADDRESS,
} CtlBusKind;

/* --json=MODE; plain --json is short: one line per document. */
typedef enum {
        CTL_JSON_OFF,
        CTL_JSON_SHORT,
        CTL_JSON_PRETTY,
} CtlJsonMode;

/* The command line, and the connection made from it. */
typedef struct {
        CtlBusKind bus_kind;
        const char *address;
        CtlJsonMode json;
        bool no_legend;
        bool quiet;   /* -q: no legend, no hints, results alone */
        bool full;    /* -l: no ellipsizing on a terminal */
        bool utc;     /* --utc: times in UTC instead of local time */
        bool verbose; /* -v: errors also say what the service said */
        bool no_pager;
        bool no_ask_password; /* calls do not allow interactive authorization */
        bool detach;
        bool read_only; /* export: seal the buffer against writing for everyone */
        bool verify;
        uint64_t size;      /* export --size; 0: not given */
        uint64_t max_size;  /* export --max-size; 0: not given, CTL_EXPORT_MAX_SIZE */
        const char *uuid;   /* export --uuid */
        const char *output; /* lookup --output */
        const char *device; /* allocate --device */
        sd_bus *bus;
} Ctl;

/* What export FILE reads at most unless --max-size says otherwise: the
 * service's default MaxBytesPerClient=. */
#define CTL_EXPORT_MAX_SIZE (UINT64_C(1) << 30)

typedef int (*CtlVerbFunc)(Ctl *ctl, int argc, char **argv);

/* The verbs; argv[0] is the verb. Each returns a CTL_EXIT_* code. */
int verb_list(Ctl *ctl, int argc, char **argv);
int verb_show(Ctl *ctl, int argc, char **argv);
int verb_peers(Ctl *ctl, int argc, char **argv);
int verb_listeners(Ctl *ctl, int argc, char **argv);
int verb_attach(Ctl *ctl, int argc, char **argv);
int verb_detach(Ctl *ctl, int argc, char **argv);
int verb_monitor(Ctl *ctl, int argc, char **argv);
int verb_export(Ctl *ctl, int argc, char **argv);
int verb_lookup(Ctl *ctl, int argc, char **argv);
int verb_remove(Ctl *ctl, int argc, char **argv);
int verb_devices(Ctl *ctl, int argc, char **argv);
int verb_allocate(Ctl *ctl, int argc, char **argv);
int verb_status(Ctl *ctl, int argc, char **argv);

/* ctl-bus.c: the connection, calls, errors and exit codes. */

/* Connects ctl->bus as chosen by the options; prints why not. */
int ctl_connect(Ctl *ctl);
/* Calls member of the service's Manager with the arguments of types (as
 * sd_bus_call_method); error and reply may be NULL. 0 or -errno. */
int ctl_call_manager(Ctl *ctl, const char *member, sd_bus_error *error, sd_bus_message **reply,
                     const char *types, ...);
/* For the verbs that wait (monitor, hold): *ret, a new event loop with
 * ctl->bus attached that ends when the bus goes away; SIGINT and SIGTERM go
 * to handler (NULL: sd-event's default, ending the loop). 0 or -errno; on
 * failure *ret may already hold the loop, for the caller to unref. */
int ctl_event_new(Ctl *ctl, sd_event_signal_handler_t handler, void *userdata, sd_event **ret);
/* Walks the dictionary a{KV} at m's position (key_type 's' or 'o', value_type
 * V): fn gets each key with m at its value and returns > 0 when it read the
 * value, 0 to have it skipped, or -errno to stop. 0 or -errno. */
typedef int (*CtlDictFunc)(sd_bus_message *m, const char *key, void *userdata);
int ctl_read_dict(sd_bus_message *m, char key_type, const char *value_type, CtlDictFunc fn,
                  void *userdata);

/* Prints "vhost-sharectl: MESSAGE" on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* ctl-error.c: D-Bus errors and errnos as translated messages and exit codes. */

/* What the messages need of the command line: --verbose, and the bus to ask
 * for the privileged group. Set once the bus is connected (or not). */
void ctl_error_setup(const Ctl *ctl);
/* Prints "vhost-sharectl: WHAT: MESSAGE (ERROR.NAME)" on stderr, WHAT from
 * fmt and MESSAGE our translated text for the error's name (or for r when
 * error is NULL or unset); with --verbose, a second line with the
 * service's own text. Returns the exit code for the error. */
int ctl_bus_error(const sd_bus_error *error, int r, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Our translated text for -errno r (what the C library would say, in
 * English only, for the rest). */
const char *ctl_errno_message(int r);

/* ctl-managed.c: what the service publishes, read into records and shown as JSON. */

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
        char *buffer_type; /* "dma-buf", "memfd", or "" when a back-end holds it */
        uint32_t owner_pid;
        uint32_t owner_uid;
        char *owner_command;
        char *owner_process; /* "comm[pid] (user)", parts "-" when unknown */
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
        char *short_name; /* the name without the socket: "back-end#1" */
} CtlPeer;

/* Properties of org.vhostshare.share1.Listener. */
typedef struct {
        char *path;
        char *socket_path;
        char *role;
        uint32_t owner;
        uint32_t group;
        uint32_t mode;
        uint64_t accepted_count;
        uint64_t created_usec;
} CtlListener;

/* Properties of org.vhostshare.share1.Device that the client shows. */
typedef struct {
        char *path;
        char *devnode; /* from Manager.Devices */
        char *kind;
        char *driver;
        char *pci_slot;
} CtlDevice;

void ctl_object_free(CtlObject *o);
void ctl_peer_free(CtlPeer *p);
void ctl_listener_free(CtlListener *l);
void ctl_device_free(CtlDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlObject, ctl_object_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlPeer, ctl_peer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlListener, ctl_listener_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlDevice, ctl_device_free)

/* Everything below the manager, from GetManagedObjects: arrays of
 * CtlObject*, CtlPeer* and CtlListener*, sorted (objects oldest first,
 * peers and listeners by id); each ret may be NULL. Prints errors; returns
 * an exit code. */
int ctl_get_managed(Ctl *ctl, GPtrArray **ret_objects, GPtrArray **ret_peers,
                    GPtrArray **ret_listeners);
/* The object of uuid (GetObject, then its properties). Prints errors;
 * returns an exit code. */
int ctl_get_object(Ctl *ctl, const char *uuid, CtlObject **ret);
/* What the service tells about the DRM device node devnode; fields it does
 * not tell (a device that went away in between) stay NULL. */
CtlDevice *ctl_get_device(Ctl *ctl, const char *devnode);

/* One object / peer / listener / device as a JSON object. */
JsonNode *ctl_json_object(const CtlObject *o, GPtrArray *peers);
JsonNode *ctl_json_peer(const CtlPeer *p);
JsonNode *ctl_json_listener(const CtlListener *l);
JsonNode *ctl_json_device(const CtlDevice *d);

/* The display name of an object's owner: the peer's short name, the bus
 * client's process as "comm[pid] (user)", or "service". peers may be NULL. */
const char *ctl_object_owner_display(const CtlObject *o, GPtrArray *peers);
/* What kind of buffer an object is: BufferType ("dma-buf", "memfd"), or
 * "vhost-device" when a back-end holds it. */
const char *ctl_object_kind(const CtlObject *o);
/* The peer's short id: the last component of its path. */
const char *ctl_peer_id(const CtlPeer *p);
/* The listener's short id, the same way. */
const char *ctl_listener_id(const CtlListener *l);

/* ctl-listeners.c: the listening sockets. */

/* The object path of the listener that arg names: "listener/ID", or a
 * socket path (compared once both are absolute and normalised). Prints
 * why not; returns an exit code. */
int ctl_find_listener(Ctl *ctl, const char *arg, char **ret);
/* Whether the service has a listener with the id (digits). */
bool ctl_listener_exists(Ctl *ctl, const char *id);

/* ctl-output.c: values as text, both ways; tables; JSON text. */

/* A UUID argument (36 characters or 32 hex digits, either case): its
 * bytes and its 36-character lowercase form. */
typedef struct {
        uint8_t bytes[SHARE_UUID_SIZE];
        char str[SHARE_UUID_STR_LEN];
} CtlUuid;

/* false if s is not a UUID. */
bool ctl_parse_uuid(const char *s, CtlUuid *ret);
/* As ctl_parse_uuid for a command-line argument: prints why not and returns
 * CTL_EXIT_USAGE, or CTL_EXIT_OK. */
int ctl_parse_uuid_arg(const char *arg, CtlUuid *ret);
/* size_parse() (shared/size-parse.h): true when s is a size. */
bool ctl_parse_size(const char *s, uint64_t *ret);
/* As ctl_parse_size for a command-line argument that must not be 0: prints
 * why not (junk, too large, 0) and returns CTL_EXIT_USAGE, or CTL_EXIT_OK. */
int ctl_parse_size_arg(const char *arg, uint64_t *ret);
/* "64.0K" style; returns buf. */
const char *ctl_format_size(uint64_t bytes, char buf[32]);
/* "2026-11-25 15:18:07.123456" in local time (UTC with --utc) for a
 * CLOCK_REALTIME µs value, with the zone's name appended when with_zone;
 * returns buf. */
const char *ctl_format_timestamp(const Ctl *ctl, uint64_t usec, bool with_zone, char buf[80]);

/* "  Label:    " of a "Label: value" line (show, status), padded to width
 * characters (not bytes: translations are UTF-8). */
void ctl_print_label(const char *label, int width);

/* A listing (list, peers, devices): a table, and each row's JSON for --json. */
typedef struct CtlTable CtlTable;
CtlTable *ctl_table_new(const char *first_header, ...) G_GNUC_NULL_TERMINATED;
/* A row: json (taken) is what --json prints for it, then the cells. */
void ctl_table_add_row(CtlTable *t, JsonNode *json, const char *first_cell,
                       ...) G_GNUC_NULL_TERMINATED;
/* With --json: the rows' JSON as an array. Otherwise the table, its header
 * unless --no-legend or -q, cells cut to the terminal's width unless -l;
 * then, unless --no-legend or -q, footer, or empty for a table without
 * rows. */
void ctl_table_print(const CtlTable *t, const Ctl *ctl, const char *empty, const char *footer);
void ctl_table_free(CtlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlTable, ctl_table_free)
/* A table cell: s, or "-" when s is NULL or empty. */
const char *ctl_cell(const char *s);
/* Whether hints and confirmations ("Holding it ...", "Removed ...") are
 * printed: not with -q or --json. */
bool ctl_chatty(const Ctl *ctl);

/* ctl-json.c: JSON, built with json-glib. */

/* Prints node as --json asks (one line, or indented), then a newline. */
void ctl_json_print(const Ctl *ctl, JsonNode *node);
/* What export and allocate print with --json for the object they made:
 * {"uuid": ..., "path": ..., "size": ...}. */
void ctl_json_print_new_object(const Ctl *ctl, const char *uuid, const char *path, uint64_t size);

/* ctl-hold.c: an object we exported or allocated, after the call. */

/* Holds an object we own until SIGINT/SIGTERM (then removes it, ignoring
 * NotFound), until someone else removes it, or until the service stops.
 * Returns an exit code. */
int ctl_hold_object(Ctl *ctl, const char *uuid);
/* Hands an object we own over to the service (Manager.Disown). Returns an
 * exit code. */
int ctl_disown_object(Ctl *ctl, const char *uuid);
