/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One list of observers (callback + userdata) with one rule for changes made
 * while it is being notified, shared by the table, the DRM device list and
 * the service's peer events:
 *
 * - observers are called in the order added;
 * - an observer added during a notification is first called for the next
 *   one (a notification that begins after the add, a nested one too);
 * - an observer removed during a notification (itself or another) is not
 *   called again, not even for the notification in progress, and no other
 *   observer is skipped because of it.
 *
 * The callback's type is the owner's: the list stores it as a plain function
 * pointer and the owner casts it back in its loop:
 *
 *         ObserverIter it;
 *         for (observer_list_begin(l, &it); observer_list_next(l, &it);)
 *                 ((MyFn) it.fn)(..., it.userdata);
 *         observer_list_end(l);
 */

#include <stdbool.h>

typedef void (*ObserverFn)(void);
typedef struct ObserverList ObserverList;

typedef struct {
        unsigned index; /* private */
        unsigned end;   /* private: observers added later are not called */
        ObserverFn fn;
        void *userdata;
} ObserverIter;

ObserverList *observer_list_new(void);
/* Must not be called during a notification of l. */
void observer_list_free(ObserverList *l);

/* fn must not be NULL. Returns an id, never 0 and never one of an observer
 * still in l. */
unsigned observer_list_add(ObserverList *l, ObserverFn fn, void *userdata);
/* Unknown ids (and 0) are ignored. */
void observer_list_remove(ObserverList *l, unsigned id);
unsigned observer_list_size(const ObserverList *l); /* not counting removed ones */

/* A notification; may nest (an observer that causes another one). */
void observer_list_begin(ObserverList *l, ObserverIter *it);
bool observer_list_next(ObserverList *l, ObserverIter *it);
void observer_list_end(ObserverList *l);
