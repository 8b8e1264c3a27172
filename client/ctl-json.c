/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: JSON out, through json-glib (any string, escaped right),
 * in the two forms of --json: short (one line) and pretty (indented). */

#include <stdio.h>

#include "ctl.h"

void ctl_json_print(const Ctl *ctl, JsonNode *node)
{
        g_autoptr(JsonGenerator) generator = json_generator_new();
        g_autofree char *text = NULL;

        json_generator_set_root(generator, node);
        json_generator_set_pretty(generator, ctl->json == CTL_JSON_PRETTY);
        json_generator_set_indent(generator, 2);
        text = json_generator_to_data(generator, NULL);
        puts(text);
}

void ctl_json_print_new_object(const Ctl *ctl, const char *uuid, const char *path, uint64_t size)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) node = NULL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "uuid");
        json_builder_add_string_value(b, uuid);
        json_builder_set_member_name(b, "path");
        json_builder_add_string_value(b, path);
        json_builder_set_member_name(b, "size");
        json_builder_add_int_value(b, (gint64) size);
        json_builder_end_object(b);
        node = json_builder_get_root(b);
        ctl_json_print(ctl, node);
}
