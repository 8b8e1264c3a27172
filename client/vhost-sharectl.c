/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: command line, verb table, main. */

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

/* Options a verb accepts besides the global ones. */
enum {
        OPT_JSON = 1 << 0,
        OPT_LEGEND = 1 << 1,
        OPT_SIZE = 1 << 2,
        OPT_UUID = 1 << 3,
        OPT_DETACH = 1 << 4,
        OPT_OUTPUT = 1 << 5,
        OPT_VERIFY = 1 << 6,
        OPT_DEVICE = 1 << 7,
};

typedef struct {
        const char *name;
        int min_args; /* positional arguments after the verb */
        int max_args;
        unsigned options;
        CtlVerbFunc func;
} CtlVerb;

static const CtlVerb verbs[] = {
    {"list", 0, 0, OPT_JSON | OPT_LEGEND, verb_list},
    {"show", 1, 1, OPT_JSON, verb_show},
    {"peers", 0, 0, OPT_JSON | OPT_LEGEND, verb_peers},
    {"monitor", 0, 0, OPT_JSON | OPT_LEGEND, verb_monitor},
    {"export", 0, 1, OPT_SIZE | OPT_UUID | OPT_DETACH | OPT_JSON, verb_export},
    {"lookup", 1, 1, OPT_OUTPUT | OPT_VERIFY | OPT_JSON, verb_lookup},
    {"remove", 1, 1, 0, verb_remove},
    {"attach", 2, 2, 0, verb_attach},
    {"detach", 1, 1, 0, verb_detach},
    {"devices", 0, 0, OPT_JSON | OPT_LEGEND, verb_devices},
    {"allocate", 1, 1, OPT_DEVICE | OPT_DETACH | OPT_JSON, verb_allocate},
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
                 "  monitor                  Print object and peer events until interrupted\n"
                 "  export FILE | --size N   Share a file's contents or a pattern buffer\n"
                 "  lookup UUID              Fetch a shared object's buffer\n"
                 "  remove UUID              Remove a shared object\n"
                 "  attach ROLE PATH         Attach vhost-user peers (connect, accept, serve)\n"
                 "  detach PEER              Disconnect a peer (ID, name or object path)\n"
                 "  devices                  List the DRM devices the service can allocate on\n"
                 "  allocate SIZE            Allocate a dma-buf on a DRM device and share it\n"
                 "\n"
                 "Options:\n"
                 "  -h --help                Show this help\n"
                 "     --version             Show the version\n"
                 "     --system              Talk to the service on the system bus (default)\n"
                 "     --user                Talk to the service on the user's session bus\n"
                 "     --address=ADDRESS     Talk to the service on the bus at ADDRESS\n"
                 "     --json                Print JSON (list, show, peers, monitor, devices,\n"
                 "                           export, lookup, allocate)\n"
                 "     --no-legend           Print no header and footer\n"
                 "     --size=SIZE           export: share a pattern buffer of SIZE bytes\n"
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
};

static const struct {
        int arg;
        unsigned mask;
        const char *name;
} verb_options[] = {
    {ARG_JSON, OPT_JSON, "--json"},       {ARG_NO_LEGEND, OPT_LEGEND, "--no-legend"},
    {ARG_SIZE, OPT_SIZE, "--size"},       {ARG_UUID, OPT_UUID, "--uuid"},
    {ARG_DETACH, OPT_DETACH, "--detach"}, {'o', OPT_OUTPUT, "--output"},
    {ARG_VERIFY, OPT_VERIFY, "--verify"}, {ARG_DEVICE, OPT_DEVICE, "--device"},
};

/* Returns -1 to go on, or an exit code. */
static int parse_argv(Ctl *ctl, int argc, char **argv, unsigned *ret_used)
{
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {"system", no_argument, NULL, ARG_SYSTEM},
            {"user", no_argument, NULL, ARG_USER},
            {"address", required_argument, NULL, ARG_ADDRESS},
            {"json", no_argument, NULL, ARG_JSON},
            {"no-legend", no_argument, NULL, ARG_NO_LEGEND},
            {"size", required_argument, NULL, ARG_SIZE},
            {"uuid", required_argument, NULL, ARG_UUID},
            {"detach", no_argument, NULL, ARG_DETACH},
            {"output", required_argument, NULL, 'o'},
            {"verify", no_argument, NULL, ARG_VERIFY},
            {"device", required_argument, NULL, ARG_DEVICE},
            {},
        };
        unsigned used = 0;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
                for (size_t i = 0; i < G_N_ELEMENTS(verb_options); i++)
                        if (verb_options[i].arg == c)
                                used |= verb_options[i].mask;
                switch (c) {
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case ARG_VERSION:
                        printf("vhost-sharectl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case ARG_SYSTEM:
                        ctl->bus_kind = CTL_BUS_SYSTEM;
                        break;
                case ARG_USER:
                        ctl->bus_kind = CTL_BUS_USER;
                        break;
                case ARG_ADDRESS:
                        ctl->bus_kind = CTL_BUS_ADDRESS;
                        ctl->address = optarg;
                        break;
                case ARG_JSON:
                        ctl->json = true;
                        break;
                case ARG_NO_LEGEND:
                        ctl->no_legend = true;
                        break;
                case ARG_SIZE:
                        if (!ctl_parse_size(optarg, &ctl->size) || ctl->size == 0)
                                return ctl_usage_error(_("invalid size \"%s\""), optarg);
                        ctl->size_set = true;
                        break;
                case ARG_UUID:
                        ctl->uuid = optarg;
                        break;
                case ARG_DETACH:
                        ctl->detach = true;
                        break;
                case 'o':
                        ctl->output = optarg;
                        break;
                case ARG_VERIFY:
                        ctl->verify = true;
                        break;
                case ARG_DEVICE:
                        ctl->device = optarg;
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

int main(int argc, char **argv)
{
        const char *localedir = getenv("TEXTDOMAINDIR");
        Ctl ctl = {.bus_kind = CTL_BUS_SYSTEM};
        const CtlVerb *verb;
        unsigned used = 0;
        int r, nargs;

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
        for (size_t i = 0; i < G_N_ELEMENTS(verb_options); i++)
                if ((used & verb_options[i].mask) && !(verb->options & verb_options[i].mask))
                        return ctl_usage_error(_("option %s does not apply to \"%s\""),
                                               verb_options[i].name, verb->name);
        nargs = argc - optind - 1;
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
