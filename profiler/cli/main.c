/* ----------------------------------------------------------------------------
 * main.c — the zonetrace command: dispatch, `profiles`, `options`. `run`
 * and `demo` are in cmd_run.c, `report` in cmd_report.c. The CLI is an
 * ordinary program (malloc, stdio); it reads records only through
 * zt_model_read (model.h).
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include "options.h"
#include "profile.h"

#include <string.h>

static const char usage_text[] =
    "usage: zonetrace COMMAND ...\n"
    "  run [--device P] [--stacks M] [--unwind U] [--memory-limit SIZE] [--seed K | --seeds N]\n"
    "      [-o FILE] -- CMD ARGS\n"
    "        run CMD under libzonetrace.so and write its record file; --seeds N: N runs\n"
    "        (ZONETRACE_SEED 0..N-1, records FILE.seed-K.zt) and the spread of the failure point\n"
    "  report FILE [--top N] [--by stack|zone|class|region]\n"
    "              [--format text|json|folded|html] [-o OUT]\n"
    "        report on a record file (text by default)\n"
    "  jetsam FILE.ips... | DIR [--process NAME] [--all] [--format text|json]\n"
    "        read Apple JetsamEvent reports: footprints, kill reasons, the implied limit\n"
    "  profiles            list the device profiles\n"
    "  options [--markdown] list the ZONETRACE_* options\n"
    "  demo [--variant crash|nano] [-o DIR]\n"
    "        run the CA::AttrList::set crash demo on an emulated iOS 12 iPhone and report\n";

static const char *size_text(uint64_t bytes, char buf[32])
{
    if (bytes == 0) return "-";
    if (bytes >= (1ull << 30))
        snprintf(buf, 32, "%g GiB", (double)bytes / (double)(1ull << 30));
    else if (bytes % (1ull << 20) == 0)
        snprintf(buf, 32, "%llu MiB", (unsigned long long)(bytes >> 20));
    else if (bytes % (1ull << 10) == 0)
        snprintf(buf, 32, "%llu KiB", (unsigned long long)(bytes >> 10));
    else
        return zt_fmt_bytes(bytes, buf);
    return buf;
}

static int cmd_profiles(void)
{
    static const char *const nano[] = {"off", "v2 multi", "v2 single"};
    printf("%-12s %-7s %-9s %-6s %-7s %-22s %s\n", "profile", "page", "nano", "small", "medium",
           "heap address space", "RAM");
    for (const zt_profile_t *p = zt_profiles; p->name; p++) {
        char b1[32], b2[32], b3[32], b4[32], win[64];
        if (p->window_bytes[0] && p->window_bytes[1])
            snprintf(win, sizeof win, "%s + %s", size_text(p->window_bytes[0], b2),
                     size_text(p->window_bytes[1], b3));
        else if (p->window_bytes[0])
            snprintf(win, sizeof win, "%s", size_text(p->window_bytes[0], b2));
        else
            snprintf(win, sizeof win, "unlimited");
        printf("%-12s %-7s %-9s %-6s %-7s %-22s %s\n", p->name,
               p->page_bytes ? size_text(p->page_bytes, b1) : "host",
               nano[p->nano <= ZT_NANO_SINGLE ? p->nano : 0], size_text(p->small_limit_bytes, b4),
               p->medium ? "yes" : "no", win, p->ram_bytes ? size_text(p->ram_bytes, b3) : "host");
        printf("             %s\n", p->description);
        if (p->memory_limit_bytes) {
            printf("             jetsam limit %llu MiB (%s)",
                   (unsigned long long)(p->memory_limit_bytes >> 20), p->memory_limit_source);
            if (p->entitled_limit_bytes)
                printf("; with increased-memory-limit %llu MiB",
                       (unsigned long long)(p->entitled_limit_bytes >> 20));
            printf("\n");
        } else {
            printf("             jetsam limit none (%s)\n", p->memory_limit_source);
        }
    }
    return 0;
}

static int cmd_options(int argc, char **argv)
{
    bool markdown = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0) {
            markdown = true;
        } else {
            zt_cli_error("options: unknown option %s (only --markdown)", argv[i]);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    for (unsigned i = 0; i < zt_option_count; i++) {
        const zt_option_desc_t *o = &zt_option_table[i];
        if (o->internal) continue; /* set by `zonetrace run`, not by users */
        char range[64] = "";
        if (strcmp(o->type, "INT") == 0) snprintf(range, sizeof range, "%ld..%ld", o->min, o->max);
        const char *def = o->def[0] ? o->def : "\"\"";
        if (markdown && range[0])
            printf("- `%s` (default `%s`, range `%s`): %s\n", o->env, def, range, o->help);
        else if (markdown)
            printf("- `%s` (default `%s`): %s\n", o->env, def, o->help);
        else
            printf("%-28s %-10s %-10s %s\n", o->env, def, range, o->help);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? ZT_CLI_EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("zonetrace 0.1.0\n");
        return 0;
    }
    if (strcmp(cmd, "run") == 0) return zt_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0) return zt_cli_report(argc - 1, argv + 1);
    if (strcmp(cmd, "profiles") == 0) return cmd_profiles();
    if (strcmp(cmd, "options") == 0) return cmd_options(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0) return zt_cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "jetsam") == 0) return zt_cli_jetsam(argc - 1, argv + 1);
    zt_cli_error("unknown command %s (run, report, jetsam, profiles, options, demo; see --help)",
                 cmd);
    return ZT_CLI_EXIT_USAGE;
}
