/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: command line, verb table, main. */

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

/* getopt values of the long options without a short form. An option that
 * lacks its argument is reported as "-%c" of its value (optopt), so the
 * values stay as they were. */
enum {
        ARG_VERSION = 0x100,
        ARG_SYSTEM,
        ARG_USER,
        ARG_ADDRESS,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_SIZE,
        ARG_UUID,
        ARG_DETACH,
        ARG_VERIFY,
        ARG_DEVICE,
        ARG_MAX_SIZE,
};

typedef enum {
        VERB_OPTION_FLAG,   /* sets a bool */
        VERB_OPTION_STRING, /* keeps its argument */
        VERB_OPTION_SIZE,   /* its argument through ctl_parse_size, not 0 */
} VerbOptionKind;

/* An option that only some verbs take (the verb table says which), and the
 * field of Ctl it sets. */
typedef struct {
        const char *name;
        int val;
        VerbOptionKind kind;
        size_t offset;
} VerbOption;

enum {
        OPTION_JSON,
        OPTION_NO_LEGEND,
        OPTION_SIZE,
        OPTION_UUID,
        OPTION_DETACH,
        OPTION_OUTPUT,
        OPTION_VERIFY,
        OPTION_DEVICE,
        OPTION_MAX_SIZE,
        _OPTION_MAX,
};

static const VerbOption verb_options[_OPTION_MAX] = {
    [OPTION_JSON] = {"json", ARG_JSON, VERB_OPTION_FLAG, offsetof(Ctl, json)},
    [OPTION_NO_LEGEND] = {"no-legend", ARG_NO_LEGEND, VERB_OPTION_FLAG, offsetof(Ctl, no_legend)},
    [OPTION_SIZE] = {"size", ARG_SIZE, VERB_OPTION_SIZE, offsetof(Ctl, size)},
    [OPTION_UUID] = {"uuid", ARG_UUID, VERB_OPTION_STRING, offsetof(Ctl, uuid)},
    [OPTION_DETACH] = {"detach", ARG_DETACH, VERB_OPTION_FLAG, offsetof(Ctl, detach)},
    [OPTION_OUTPUT] = {"output", 'o', VERB_OPTION_STRING, offsetof(Ctl, output)},
    [OPTION_VERIFY] = {"verify", ARG_VERIFY, VERB_OPTION_FLAG, offsetof(Ctl, verify)},
    [OPTION_DEVICE] = {"device", ARG_DEVICE, VERB_OPTION_STRING, offsetof(Ctl, device)},
    [OPTION_MAX_SIZE] = {"max-size", ARG_MAX_SIZE, VERB_OPTION_SIZE, offsetof(Ctl, max_size)},
};

#define OPT(name) (1u << OPTION_##name)

typedef struct {
        const char *name;
        int min_args; /* positional arguments after the verb */
        int max_args;
        unsigned options; /* OPT() of the verb options it takes */
        CtlVerbFunc func;
} CtlVerb;

static const CtlVerb verbs[] = {
    {"list", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_list},
    {"show", 1, 1, OPT(JSON), verb_show},
    {"peers", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_peers},
    {"listeners", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_listeners},
    {"monitor", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_monitor},
    {"export", 0, 1, OPT(SIZE) | OPT(UUID) | OPT(DETACH) | OPT(JSON) | OPT(MAX_SIZE), verb_export},
    {"lookup", 1, 1, OPT(OUTPUT) | OPT(VERIFY) | OPT(JSON), verb_lookup},
    {"remove", 1, 1, 0, verb_remove},
    {"attach", 2, 2, 0, verb_attach},
    {"detach", 1, 1, 0, verb_detach},
    {"devices", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_devices},
    {"allocate", 1, 1, OPT(DEVICE) | OPT(DETACH) | OPT(JSON), verb_allocate},
};

static void help(void)
{
        printf(_("Usage: %s [OPTIONS...] COMMAND [ARGUMENTS...]\n"
                 "\n"
                 "Inspect and use the vhost-user shared-object service (vhost-shared).\n"
                 "\n"
                 "Commands:\n"
                 "  list                     List the shared objects\n"
                 "  show UUID                Show the properties of one shared object\n"
                 "  peers                    List the vhost-user peers\n"
                 "  listeners                List the listening sockets\n"
                 "  monitor                  Print object and peer events until interrupted\n"
                 "  export FILE | --size N   Share a file's contents or a pattern buffer\n"
                 "  lookup UUID              Fetch a shared object's buffer\n"
                 "  remove UUID              Remove a shared object\n"
                 "  attach ROLE PATH         Attach vhost-user peers (connect, accept, serve)\n"
                 "  detach PEER|LISTENER     Disconnect a peer (ID, name or object path), or\n"
                 "                           close a listener (socket path, listener/ID or\n"
                 "                           object path)\n"
                 "  devices                  List the DRM devices the service can allocate on\n"
                 "  allocate SIZE            Allocate a dma-buf on a DRM device and share it\n"
                 "\n"
                 "Options:\n"
                 "  -h --help                Show this help\n"
                 "     --version             Show the version\n"
                 "     --system              Talk to the service on the system bus (default)\n"
                 "     --user                Talk to the service on the user's session bus\n"
                 "     --address=ADDRESS     Talk to the service on the bus at ADDRESS\n"
                 "     --json                Print JSON (list, show, peers, listeners, monitor,\n"
                 "                           devices, export, lookup, allocate)\n"
                 "     --no-legend           Print no header and footer\n"
                 "     --size=SIZE           export: share a pattern buffer of SIZE bytes\n"
                 "     --max-size=SIZE       export FILE: refuse more than SIZE bytes of\n"
                 "                           input (default 1G)\n"
                 "     --uuid=UUID           export: share under UUID instead of a new one\n"
                 "     --detach              export, allocate: hand the object to the service\n"
                 "                           and exit instead of holding it\n"
                 "  -o --output=FILE         lookup: write the buffer's bytes to FILE (- for\n"
                 "                           standard output)\n"
                 "     --verify              lookup: check the buffer holds the test pattern\n"
                 "     --device=PATH         allocate: the DRM device to allocate on\n"
                 "\n"
                 "See vhost-sharectl(1) for the exit codes and the JSON fields.\n"),
               program_invocation_short_name);
}

static const CtlVerb *find_verb(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

static int verb_option_index(int val)
{
        for (int i = 0; i < _OPTION_MAX; i++)
                if (verb_options[i].val == val)
                        return i;
        return -1;
}

/* Stores the argument of a verb option; -1 to go on, or an exit code. */
static int verb_option_store(Ctl *ctl, const VerbOption *o, const char *arg)
{
        void *field = (char *) ctl + o->offset;

        switch (o->kind) {
        case VERB_OPTION_FLAG:
                *(bool *) field = true;
                break;
        case VERB_OPTION_STRING:
                *(const char **) field = arg;
                break;
        case VERB_OPTION_SIZE:
                if (!ctl_parse_size(arg, field) || *(uint64_t *) field == 0)
                        return ctl_usage_error(_("invalid size \"%s\""), arg);
                break;
        }
        return -1;
}

/* Returns -1 to go on, or an exit code. *ret_used: OPT() of the verb
 * options given. */
static int parse_argv(Ctl *ctl, int argc, char **argv, unsigned *ret_used)
{
        static const struct option global_options[] = {
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {"system", no_argument, NULL, ARG_SYSTEM},
            {"user", no_argument, NULL, ARG_USER},
            {"address", required_argument, NULL, ARG_ADDRESS},
        };
        struct option options[G_N_ELEMENTS(global_options) + _OPTION_MAX + 1] = {};
        unsigned used = 0;
        int c, r;

        memcpy(options, global_options, sizeof(global_options));
        for (size_t i = 0; i < _OPTION_MAX; i++)
                options[G_N_ELEMENTS(global_options) + i] = (struct option){
                    verb_options[i].name,
                    verb_options[i].kind == VERB_OPTION_FLAG ? no_argument : required_argument,
                    NULL,
                    verb_options[i].val,
                };

        opterr = 0;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
                int i = verb_option_index(c);

                if (i >= 0) {
                        used |= 1u << i;
                        r = verb_option_store(ctl, &verb_options[i], optarg);
                        if (r >= 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case ARG_VERSION:
                        printf("vhost-sharectl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case ARG_SYSTEM:
                case ARG_USER:
                        ctl->bus_kind = c == ARG_USER ? CTL_BUS_USER : CTL_BUS_SYSTEM;
                        break;
                case ARG_ADDRESS:
                        ctl->bus_kind = CTL_BUS_ADDRESS;
                        ctl->address = optarg;
                        break;
                case '?':
                        if (optopt)
                                return ctl_usage_error(_("unknown option \"-%c\""), optopt);
                        return ctl_usage_error(_("unknown or incomplete option \"%s\""),
                                               argv[optind - 1]);
                default:
                        return ctl_usage_error(_("unknown option"));
                }
        }
        *ret_used = used;
        return -1;
}

/* Checks the verb's arguments and options; -1 to go on, or an exit code. */
static int check_verb_args(const CtlVerb *verb, unsigned used, int nargs)
{
        for (size_t i = 0; i < _OPTION_MAX; i++)
                if ((used & (1u << i)) && !(verb->options & (1u << i))) {
                        g_autofree char *option = g_strconcat("--", verb_options[i].name, NULL);

                        return ctl_usage_error(_("option %s does not apply to \"%s\""), option,
                                               verb->name);
                }
        if (nargs < verb->min_args)
                return ctl_usage_error(_("\"%s\" needs more arguments; see --help"), verb->name);
        if (nargs > verb->max_args) {
                if (verb->max_args == 0)
                        return ctl_usage_error(_("\"%s\" takes no arguments"), verb->name);
                return ctl_usage_error(ngettext("\"%s\" takes at most %d argument",
                                                "\"%s\" takes at most %d arguments",
                                                verb->max_args),
                                       verb->name, verb->max_args);
        }
        return -1;
}

int main(int argc, char **argv)
{
        const char *localedir = getenv("TEXTDOMAINDIR");
        Ctl ctl = {.bus_kind = CTL_BUS_SYSTEM};
        const CtlVerb *verb;
        unsigned used = 0;
        int r;

        setlocale(LC_ALL, "");
        /* TEXTDOMAINDIR lets the tests use the build tree's catalogs. */
        bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);

        r = parse_argv(&ctl, argc, argv, &used);
        if (r >= 0)
                return r;
        if (optind >= argc)
                return ctl_usage_error(_("no command given; see --help"));

        verb = find_verb(argv[optind]);
        if (!verb)
                return ctl_usage_error(_("unknown command \"%s\"; see --help"), argv[optind]);
        r = check_verb_args(verb, used, argc - optind - 1);
        if (r >= 0)
                return r;

        /* Events and results reach pipes (scripts, tests) as they happen. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        r = ctl_connect(&ctl);
        if (r == CTL_EXIT_OK)
                r = verb->func(&ctl, argc - optind, argv + optind);
        if (fflush(stdout) != 0 && r == CTL_EXIT_OK)
                r = CTL_EXIT_FAILURE;
        sd_bus_flush_close_unref(ctl.bus);
        return r;
}
