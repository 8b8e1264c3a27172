/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-polkit.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus-error.h"
#include "cleanup.h"
#include "log.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorization()'s flag: polkit may ask the user (an agent prompts). */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef enum {
        ANSWER_PENDING,
        ANSWER_ALLOWED,
        ANSWER_DENIED,
        ANSWER_CHALLENGE, /* polkit would ask: interaction needed */
        ANSWER_NO_POLKIT, /* nobody on the bus answers for polkit */
        ANSWER_FAILED,    /* polkit answered with an error */
} Answer;

/* One question to polkit, for one method call. */
typedef struct {
        BusPolkit *polkit;
        sd_bus_message *call; /* the key in queries; referenced */
        char *action;
        sd_bus_slot *slot; /* the CheckAuthorization() call while pending */
        Answer answer;
        char *failure; /* ANSWER_FAILED: polkit's error, for the caller */
} PolkitQuery;

struct BusPolkit {
        sd_bus *bus;
        GHashTable *queries; /* sd_bus_message * (the method call) -> PolkitQuery */
};

static void query_free(void *p)
{
        PolkitQuery *q = p;

        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        g_free(q->action);
        g_free(q->failure);
        g_free(q);
}

BusPolkit *bus_polkit_new(sd_bus *bus)
{
        BusPolkit *p = g_new0(BusPolkit, 1);

        p->bus = sd_bus_ref(bus);
        p->queries = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, query_free);
        return p;
}

void bus_polkit_free(BusPolkit *p)
{
        if (!p)
                return;
        g_hash_table_destroy(p->queries);
        sd_bus_unref(p->bus);
        g_free(p);
}

static bool is_no_polkit_error(const sd_bus_error *e)
{
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                      SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                      SD_BUS_ERROR_UNKNOWN_METHOD);
}

static Answer read_answer(PolkitQuery *q, sd_bus_message *reply)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized, challenge, r;

        if (e) {
                if (is_no_polkit_error(e))
                        return ANSWER_NO_POLKIT;
                q->failure = g_strdup_printf("%s: %s", e->name, e->message ?: "");
                return ANSWER_FAILED;
        }
        /* (bba{ss}): is_authorized, is_challenge, details (not needed). */
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                q->failure =
                    g_strdup_printf("malformed CheckAuthorization() reply: %s", strerror(-r));
                return ANSWER_FAILED;
        }
        if (authorized)
                return ANSWER_ALLOWED;
        return challenge ? ANSWER_CHALLENGE : ANSWER_DENIED;
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PolkitQuery *q = userdata;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->answer = read_answer(q, reply);
        /* The call again, through its handler, which now finds the answer. */
        r = sd_bus_enqueue_for_read(q->polkit->bus, q->call);
        if (r < 0) {
                log_warning_errno(r, "Failed to requeue %s() of %s after polkit's answer: %m",
                                  sd_bus_message_get_member(q->call),
                                  sd_bus_message_get_sender(q->call) ?: "?");
                g_hash_table_remove(q->polkit->queries, q->call);
        }
        return 0;
}

static int ask_polkit(BusPolkit *p, sd_bus_message *m, const char *action)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        uint32_t flags = 0;
        PolkitQuery *q;
        int r;

        if (sd_bus_message_get_allow_interactive_authorization(m) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;
        r = sd_bus_message_new_method_call(p->bus, &call, POLKIT_NAME, POLKIT_PATH,
                                           POLKIT_INTERFACE, "CheckAuthorization");
        if (r < 0)
                return r;
        /* The subject is the bus name: polkit asks the bus who it is, so
         * nothing can take the caller's place meanwhile. */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(m), action, 0, flags, "");
        if (r < 0)
                return r;
        q = g_new0(PolkitQuery, 1);
        q->polkit = p;
        q->call = sd_bus_message_ref(m);
        q->action = g_strdup(action);
        /* No deadline of our own beyond sd-bus's: a password prompt takes
         * what it takes, the caller's own timeout ends its wait. */
        r = sd_bus_call_async(p->bus, &q->slot, call, on_check_reply, q, 0);
        if (r < 0) {
                query_free(q);
                return r;
        }
        g_hash_table_insert(p->queries, q->call, q);
        return 0;
}

static int set_denied(sd_bus_message *m, const char *action, sd_bus_error *error)
{
        log_info("Denied %s() to %s: polkit does not authorize %s", sd_bus_message_get_member(m),
                 sd_bus_message_get_sender(m) ?: "?", action);
        sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                          "%s() is not authorized (polkit action %s); root or an administrator "
                          "may allow it",
                          sd_bus_message_get_member(m), action);
        return -EACCES;
}

/* What the answer to m's question says; consumes the question. */
static int use_answer(BusPolkit *p, PolkitQuery *q, const BusAccess *a, sd_bus_message *m,
                      sd_bus_error *error)
{
        g_autofree char *action = g_strdup(q->action);
        g_autofree char *failure = g_strdup(q->failure);
        Answer answer = q->answer;
        int r;

        g_hash_table_remove(p->queries, m);
        switch (answer) {
        case ANSWER_ALLOWED:
                return 1;
        case ANSWER_NO_POLKIT:
                /* Without polkit, the privileged group as before. */
                r = bus_access_check(a, m, error);
                return r < 0 ? r : 1;
        case ANSWER_CHALLENGE:
                if (sd_bus_message_get_allow_interactive_authorization(m) <= 0) {
                        log_info("Denied %s() to %s: polkit would ask for authentication, the "
                                 "call does not allow it",
                                 sd_bus_message_get_member(m), sd_bus_message_get_sender(m) ?: "?");
                        sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                          "%s() needs authentication (polkit action %s)",
                                          sd_bus_message_get_member(m), action);
                        return -EACCES;
                }
                return set_denied(m, action, error);
        case ANSWER_FAILED:
                log_warning("polkit failed to check %s for %s: %s", action,
                            sd_bus_message_get_sender(m) ?: "?", failure);
                sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED,
                                  "%s() could not be authorized: polkit failed (%s)",
                                  sd_bus_message_get_member(m), failure);
                return -EACCES;
        case ANSWER_DENIED:
        case ANSWER_PENDING:
                break;
        }
        return set_denied(m, action, error);
}

int bus_polkit_authorize(BusPolkit *p, const BusAccess *a, sd_bus_message *m, const char *action,
                         sd_bus_error *error)
{
        PolkitQuery *q;
        uid_t euid;
        int r;

        /* Root, and the service's own user, never ask. */
        r = bus_access_is_owner_or_root(m, &euid, error);
        if (r != 0)
                return r;

        q = g_hash_table_lookup(p->queries, m);
        if (q && q->answer != ANSWER_PENDING)
                return use_answer(p, q, a, m, error);
        if (q) /* the same call dispatched again before the answer: still waiting */
                return 0;
        r = ask_polkit(p, m, action);
        if (r < 0)
                return bus_error_set_errno(error, r, "Cannot ask polkit about %s", action);
        return 0;
}
