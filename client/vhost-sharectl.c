/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-sharectl: command line, verb table, help, main. */

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

/* getopt values of the long options without a short form. */
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
        ARG_READ_ONLY,
        ARG_NO_PAGER,
        ARG_UTC,
        ARG_NO_ASK_PASSWORD,
};

typedef enum {
        VERB_OPTION_FLAG,   /* sets a bool */
        VERB_OPTION_STRING, /* keeps its argument */
        VERB_OPTION_SIZE,   /* its argument through ctl_parse_size_arg, not 0 */
        VERB_OPTION_JSON,   /* an optional pretty|short|off into a CtlJsonMode */
} VerbOptionKind;

/* An option that only some verbs take (the verb table says which), the
 * field of Ctl it sets, and its line in the help (arg: the argument's name;
 * help: NULL prints the option alone). */
typedef struct {
        const char *name;
        int val;
        VerbOptionKind kind;
        size_t offset;
        const char *arg;
        const char *help;
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
        OPTION_READ_ONLY,
        _OPTION_MAX,
};

static const VerbOption verb_options[_OPTION_MAX] = {
    [OPTION_JSON] = {"json", ARG_JSON, VERB_OPTION_JSON, offsetof(Ctl, json), "[=MODE]",
                     N_("Print JSON: short (one line; the default) or pretty; off: text")},
    [OPTION_NO_LEGEND] = {"no-legend", ARG_NO_LEGEND, VERB_OPTION_FLAG, offsetof(Ctl, no_legend),
                          NULL, N_("Print no header and footer")},
    [OPTION_SIZE] = {"size", ARG_SIZE, VERB_OPTION_SIZE, offsetof(Ctl, size), "=SIZE",
                     N_("Share a pattern buffer of SIZE bytes (K, M, G, T: powers of 1024)")},
    [OPTION_UUID] = {"uuid", ARG_UUID, VERB_OPTION_STRING, offsetof(Ctl, uuid), "=UUID",
                     N_("Share under UUID instead of a new one")},
    [OPTION_DETACH] = {"detach", ARG_DETACH, VERB_OPTION_FLAG, offsetof(Ctl, detach), NULL,
                       N_("Hand the object to the service and exit instead of holding it")},
    [OPTION_OUTPUT] = {"output", 'o', VERB_OPTION_STRING, offsetof(Ctl, output), "=FILE",
                       N_("Write the buffer's bytes to FILE (- for standard output)")},
    [OPTION_VERIFY] = {"verify", ARG_VERIFY, VERB_OPTION_FLAG, offsetof(Ctl, verify), NULL,
                       N_("Check that the buffer holds the test pattern")},
    [OPTION_DEVICE] = {"device", ARG_DEVICE, VERB_OPTION_STRING, offsetof(Ctl, device), "=PATH",
                       N_("The DRM device to allocate on")},
    [OPTION_MAX_SIZE] = {"max-size", ARG_MAX_SIZE, VERB_OPTION_SIZE, offsetof(Ctl, max_size),
                         "=SIZE", N_("Refuse a FILE of more than SIZE bytes (default 1G)")},
    [OPTION_READ_ONLY] = {"read-only", ARG_READ_ONLY, VERB_OPTION_FLAG, offsetof(Ctl, read_only),
                          NULL, N_("Seal the buffer so that no importer can write to it")},
};

#define OPT(name) (1u << OPTION_##name)

/* The options every verb takes. */
static const struct {
        struct option option;
        const char *arg;
        const char *help;
} global_options[] = {
    {{"help", no_argument, NULL, 'h'}, NULL, N_("Show this help, or with a command, its help")},
    {{"version", no_argument, NULL, ARG_VERSION}, NULL, N_("Show the version")},
    {{"system", no_argument, NULL, ARG_SYSTEM},
     NULL,
     N_("Talk to the service on the system bus (default)")},
    {{"user", no_argument, NULL, ARG_USER},
     NULL,
     N_("Talk to the service on the user's session bus")},
    {{"address", required_argument, NULL, ARG_ADDRESS},
     "=ADDRESS",
     N_("Talk to the service on the bus at ADDRESS")},
    {{"quiet", no_argument, NULL, 'q'},
     NULL,
     N_("Print results only: no legend, hints or confirmations")},
    {{"full", no_argument, NULL, 'l'}, NULL, N_("Do not cut table cells to the terminal's width")},
    {{"utc", no_argument, NULL, ARG_UTC}, NULL, N_("Show times in UTC instead of local time")},
    {{"no-pager", no_argument, NULL, ARG_NO_PAGER},
     NULL,
     N_("Accepted for systemd's habits; there is no pager")},
    {{"no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD},
     NULL,
     N_("Do not let polkit ask for a password; fail instead")},
    {{"verbose", no_argument, NULL, 'v'},
     NULL,
     N_("With an error, also print what the service said")},
};

typedef struct {
        const char *name;
        int min_args; /* positional arguments after the verb */
        int max_args;
        unsigned options; /* OPT() of the verb options it takes */
        CtlVerbFunc func; /* NULL: help */
        const char *args;
        const char *summary;
} CtlVerb;

static const CtlVerb verbs[] = {
    {"status", 0, 0, OPT(JSON), verb_status, "",
     N_("Show the service's version, pid, uptime, counts, bytes held and limits")},
    {"list", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_list, "", N_("List the shared objects")},
    {"show", 1, 1, OPT(JSON), verb_show, "UUID", N_("Show the properties of one shared object")},
    {"peers", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_peers, "", N_("List the vhost-user peers")},
    {"listeners", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_listeners, "",
     N_("List the listening sockets")},
    {"monitor", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_monitor, "",
     N_("Print object and peer events until interrupted")},
    {"export", 0, 1,
     OPT(SIZE) | OPT(UUID) | OPT(DETACH) | OPT(JSON) | OPT(MAX_SIZE) | OPT(READ_ONLY), verb_export,
     "FILE | --size=SIZE", N_("Share a file's contents or a pattern buffer")},
    {"lookup", 1, 1, OPT(OUTPUT) | OPT(VERIFY) | OPT(JSON), verb_lookup, "UUID",
     N_("Fetch a shared object's buffer")},
    {"remove", 1, 1, 0, verb_remove, "UUID", N_("Remove a shared object")},
    {"attach", 2, 2, 0, verb_attach, "ROLE PATH",
     N_("Attach vhost-user peers (connect, accept, serve)")},
    {"detach", 1, 1, 0, verb_detach, "PEER|LISTENER",
     N_("Disconnect a peer (ID, name or object path), or close a listener (socket path, "
        "listener/ID or object path)")},
    {"devices", 0, 0, OPT(JSON) | OPT(NO_LEGEND), verb_devices, "",
     N_("List the DRM devices the service can allocate on")},
    {"allocate", 1, 1, OPT(DEVICE) | OPT(DETACH) | OPT(JSON), verb_allocate, "SIZE",
     N_("Allocate a dma-buf on a DRM device and share it")},
    {"help", 0, 1, 0, NULL, "[COMMAND]", N_("Show this help, or a command's")},
};

/* The width of the left column of the help, before the text. */
#define HELP_COLUMN 24

/* The help fits 80 columns: text wraps at this many characters. */
#define HELP_TEXT_WIDTH (79 - 2 - HELP_COLUMN - 1)

/* "  left   text", text wrapped at spaces into its column; on a line of its
 * own when left is too wide. */
static void help_line(const char *left, const char *text)
{
        int n = (int) g_utf8_strlen(left, -1);
        g_auto(GStrv) words = g_strsplit(text ?: "", " ", -1);
        int used = 0;

        printf("  %s", left);
        if (n > HELP_COLUMN && text)
                printf("\n%*s", HELP_COLUMN + 2, "");
        else if (text)
                printf("%*s", HELP_COLUMN - n, "");
        for (char **w = words; *w; w++) {
                int len = (int) g_utf8_strlen(*w, -1);

                if (used > 0 && used + 1 + len > HELP_TEXT_WIDTH) {
                        printf("\n%*s", HELP_COLUMN + 2, "");
                        used = 0;
                }
                printf(" %s", *w);
                used += 1 + len;
        }
        putchar('\n');
}

static void help_option(char short_name, const char *name, const char *arg, const char *text)
{
        g_autofree char *left = short_name
                                    ? g_strdup_printf("-%c --%s%s", short_name, name, arg ?: "")
                                    : g_strdup_printf("   --%s%s", name, arg ?: "");

        help_line(left, text ? _(text) : NULL);
}

static void help_verb_option(const VerbOption *o, bool with_verbs)
{
        g_autoptr(GString) text = g_string_new(o->help ? _(o->help) : NULL);
        g_autofree char *left = o->val < 0x100
                                    ? g_strdup_printf("-%c --%s%s", o->val, o->name, o->arg ?: "")
                                    : g_strdup_printf("   --%s%s", o->name, o->arg ?: "");

        if (with_verbs) {
                unsigned bit = 1u << (o - verb_options);
                bool first = true;

                for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                        if (verbs[i].options & bit) {
                                g_string_append_printf(text, "%s%s", first ? " (" : ", ",
                                                       verbs[i].name);
                                first = false;
                        }
                g_string_append(text, ")");
        }
        help_line(left, text->len ? text->str : NULL);
}

static void help_global_options(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(global_options); i++) {
                const struct option *o = &global_options[i].option;

                help_option(o->val < 0x100 ? (char) o->val : 0, o->name, global_options[i].arg,
                            global_options[i].help);
        }
}

static void help(void)
{
        printf(_("Usage: %s [OPTIONS...] COMMAND [ARGUMENTS...]\n"), program_invocation_short_name);
        printf("\n%s\n", _("Inspect and use the vhost-user shared-object service (vhost-shared).\n"
                           "Without a command, list the shared objects."));
        printf("\n%s\n", _("Commands:"));
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                g_autofree char *left = g_strjoin(" ", verbs[i].name, verbs[i].args, NULL);

                help_line(g_strchomp(left), _(verbs[i].summary));
        }
        printf("\n%s\n", _("Options:"));
        help_global_options();
        for (size_t i = 0; i < _OPTION_MAX; i++)
                help_verb_option(&verb_options[i], true);
        printf("\n%s\n", _("See vhost-sharectl(1) for the exit codes and the JSON fields."));
}

static void help_verb(const CtlVerb *verb)
{
        g_autofree char *usage = g_strjoin(" ", verb->name, verb->args, NULL);

        printf(_("Usage: %s [OPTIONS...] %s\n"), program_invocation_short_name, g_strchomp(usage));
        printf("\n%s.\n", _(verb->summary));
        if (verb->options) {
                printf("\n%s\n", _("Options:"));
                for (size_t i = 0; i < _OPTION_MAX; i++)
                        if (verb->options & (1u << i))
                                help_verb_option(&verb_options[i], false);
        }
        printf("\n%s\n", _("The options of every command: vhost-sharectl --help. Exit codes and "
                           "JSON fields: vhost-sharectl(1)."));
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

static int parse_json_mode(const char *arg, CtlJsonMode *ret)
{
        static const char *const modes[] = {
            [CTL_JSON_OFF] = "off",
            [CTL_JSON_SHORT] = "short",
            [CTL_JSON_PRETTY] = "pretty",
        };

        if (!arg) {
                *ret = CTL_JSON_SHORT;
                return CTL_EXIT_OK;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
                if (strcmp(arg, modes[i]) == 0) {
                        *ret = (CtlJsonMode) i;
                        return CTL_EXIT_OK;
                }
        return ctl_usage_error(_("invalid --json mode \"%s\" (pretty, short or off)"), arg);
}

/* Stores the argument of a verb option; -1 to go on, or an exit code. */
static int verb_option_store(Ctl *ctl, const VerbOption *o, const char *arg)
{
        void *field = (char *) ctl + o->offset;
        int r = CTL_EXIT_OK;

        switch (o->kind) {
        case VERB_OPTION_FLAG:
                *(bool *) field = true;
                break;
        case VERB_OPTION_STRING:
                *(const char **) field = arg;
                break;
        case VERB_OPTION_SIZE:
                r = ctl_parse_size_arg(arg, field);
                break;
        case VERB_OPTION_JSON:
                r = parse_json_mode(arg, field);
                break;
        }
        return r == CTL_EXIT_OK ? -1 : r;
}

/* The option as written in word: "--name" without "=value". */
static char *long_option_name(const char *word)
{
        return g_strndup(word, strcspn(word, "="));
}

/* getopt's '?' and ':' as our messages; returns CTL_EXIT_USAGE. */
static int option_error(int c, char **argv)
{
        const char *word = optind > 0 ? argv[optind - 1] : "";
        g_autofree char *name =
            g_str_has_prefix(word, "--") ? long_option_name(word) : g_strdup_printf("-%c", optopt);

        if (c == ':')
                return ctl_usage_error(_("option \"%s\" needs an argument"), name);
        /* A known long option with "=value" it does not take: optopt is its value. */
        if (optopt && g_str_has_prefix(word, "--"))
                return ctl_usage_error(_("option \"%s\" takes no argument"), name);
        return ctl_usage_error(_("unknown option \"%s\""), name);
}

typedef struct {
        unsigned used; /* OPT() of the verb options given */
        bool help;
} ParsedArgs;

/* Returns -1 to go on, or an exit code. */
static int parse_argv(Ctl *ctl, int argc, char **argv, ParsedArgs *ret)
{
        struct option options[G_N_ELEMENTS(global_options) + _OPTION_MAX + 1] = {};
        int c, r;

        for (size_t i = 0; i < G_N_ELEMENTS(global_options); i++)
                options[i] = global_options[i].option;
        for (size_t i = 0; i < _OPTION_MAX; i++)
                options[G_N_ELEMENTS(global_options) + i] = (struct option){
                    verb_options[i].name,
                    verb_options[i].kind == VERB_OPTION_FLAG   ? no_argument
                    : verb_options[i].kind == VERB_OPTION_JSON ? optional_argument
                                                               : required_argument,
                    NULL,
                    verb_options[i].val,
                };

        /* ':' first: a missing argument is ':', told apart from unknown. */
        while ((c = getopt_long(argc, argv, ":ho:qlv", options, NULL)) >= 0) {
                int i = verb_option_index(c);

                if (i >= 0) {
                        const char *arg = optarg;

                        /* "--json MODE" as well as "--json=MODE". */
                        if (verb_options[i].kind == VERB_OPTION_JSON && !arg && optind < argc &&
                            parse_json_mode(argv[optind], &(CtlJsonMode){0}) == CTL_EXIT_OK)
                                arg = argv[optind++];
                        ret->used |= 1u << i;
                        r = verb_option_store(ctl, &verb_options[i], arg);
                        if (r >= 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'h':
                        ret->help = true;
                        break;
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
                case 'q':
                        ctl->quiet = true;
                        break;
                case 'l':
                        ctl->full = true;
                        break;
                case 'v':
                        ctl->verbose = true;
                        break;
                case ARG_UTC:
                        ctl->utc = true;
                        break;
                case ARG_NO_PAGER:
                        ctl->no_pager = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        ctl->no_ask_password = true;
                        break;
                default:
                        return option_error(c, argv);
                }
        }
        return -1;
}

/* Checks the verb's arguments and options; -1 to go on, or an exit code. */
static int check_verb_args(const CtlVerb *verb, unsigned used, int nargs)
{
        for (size_t i = 0; i < _OPTION_MAX; i++)
                if ((used & (1u << i)) && !(verb->options & (1u << i))) {
                        g_autofree char *option = g_strconcat("--", verb_options[i].name, NULL);

                        return ctl_usage_error(_("option \"%s\" does not apply to \"%s\""), option,
                                               verb->name);
                }
        if (nargs < verb->min_args)
                return ctl_usage_error(_("\"%s\" needs more arguments; see %s --help"), verb->name,
                                       verb->name);
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

/* help [COMMAND], and --help with or without a command. */
static int show_help(const char *topic)
{
        const CtlVerb *verb;

        if (!topic || strcmp(topic, "help") == 0) {
                help();
                return CTL_EXIT_OK;
        }
        verb = find_verb(topic);
        if (!verb)
                return ctl_usage_error(_("unknown command \"%s\"; see --help"), topic);
        help_verb(verb);
        return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
        const char *localedir = getenv("TEXTDOMAINDIR");
        Ctl ctl = {.bus_kind = CTL_BUS_SYSTEM};
        ParsedArgs parsed = {};
        const CtlVerb *verb;
        const char *name;
        int r, nargs;

        setlocale(LC_ALL, "");
        /* TEXTDOMAINDIR lets the tests use the build tree's catalogs. */
        bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);
        ctl_error_setup(&ctl);

        r = parse_argv(&ctl, argc, argv, &parsed);
        if (r >= 0)
                return r;
        /* No command lists, as systemctl, busctl and machinectl do. */
        name = optind < argc ? argv[optind] : NULL;
        nargs = optind < argc ? argc - optind - 1 : 0;
        if (parsed.help)
                return show_help(name);
        if (name && strcmp(name, "help") == 0)
                return nargs > 1 ? ctl_usage_error(ngettext("\"%s\" takes at most %d argument",
                                                            "\"%s\" takes at most %d arguments", 1),
                                                   name, 1)
                                 : show_help(nargs ? argv[optind + 1] : NULL);
        verb = find_verb(name ?: "list");
        if (!verb)
                return ctl_usage_error(_("unknown command \"%s\"; see --help"), name);
        r = check_verb_args(verb, parsed.used, nargs);
        if (r >= 0)
                return r;

        /* Events and results reach pipes (scripts, tests) as they happen. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        r = ctl_connect(&ctl);
        if (r == CTL_EXIT_OK) {
                char *list_argv[] = {(char *) "list", NULL};

                r = name ? verb->func(&ctl, nargs + 1, argv + optind)
                         : verb->func(&ctl, 1, list_argv);
        }
        if (fflush(stdout) != 0 && r == CTL_EXIT_OK)
                r = CTL_EXIT_FAILURE;
        sd_bus_flush_close_unref(ctl.bus);
        return r;
}
