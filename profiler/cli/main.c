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
    "  run [--device P] [--stacks M] [--unwind U] [--memory-limit SIZE] [--entitlement E]\n"
    "      [--seed K | --seeds N]\n"
    "      [-o FILE] -- CMD ARGS\n"
    "        run CMD under libzonetrace.so and write its record file; --seeds N: N runs\n"
    "        (ZONETRACE_SEED 0..N-1, records FILE.seed-K.zt) and the spread of the failure point\n"
    "  report FILE [--top N] [--by stack|zone|class|region]\n"
    "              [--format text|json|folded|html] [-o OUT]\n"
    "        report on a record file (text by default)\n"
    "  jetsam FILE.ips... | DIR [--process NAME] [--all] [--format text|json]\n"
    "        read Apple JetsamEvent reports: footprints, kill reasons, the implied limit\n"
    "  profiles [--sources] list the device profiles (--sources: where each fact comes from)\n"
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

/* "2 GiB + 896 MiB", "unlimited". */
static const char *windows_text(const zt_profile_t *p, char win[64])
{
    char b1[32], b2[32];
    if (p->window_bytes[0] && p->window_bytes[1])
        snprintf(win, 64, "%s + %s", size_text(p->window_bytes[0], b1),
                 size_text(p->window_bytes[1], b2));
    else if (p->window_bytes[0])
        snprintf(win, 64, "%s", size_text(p->window_bytes[0], b1));
    else
        snprintf(win, 64, "unlimited");
    return win;
}

/* The table: one row per device, then the aliases; --sources adds where
 * each row's facts come from. */
static int cmd_profiles(int argc, char **argv)
{
    bool sources = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sources") == 0) {
            sources = true;
        } else {
            zt_cli_error("profiles: unknown option %s (only --sources)", argv[i]);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    static const char *const nano[] = {"off", "v2 multi", "v2 single"};
    static const char row_fmt[] = "%-20s %-15s %-11s %-5s %-6s %-6s %-24s %-17s %-9s %s\n";
    printf(row_fmt, "profile", "device", "model", "cores", "RAM", "page", "OS (libmalloc)",
           "heap windows", "nano", "jetsam limit");
    for (const zt_profile_t *p = zt_profiles; p->name; p++) {
        char ram[32], page[32], win[64], lim[32], cores[16], model[16], os[64];
        snprintf(cores, sizeof cores, "%u", p->cores);
        snprintf(lim, sizeof lim, "%llu MiB", (unsigned long long)(p->memory_limit_bytes >> 20));
        /* The first model of the row; the others are in --sources. */
        snprintf(model, sizeof model, "%.*s", (int)strcspn(p->model, " "), p->model);
        const char *t = p->libmalloc_tag;
        snprintf(os, sizeof os, "%s (%s)", p->os_version,
                 strncmp(t, "libmalloc-", 10) == 0 ? t + 10 : t);
        printf(row_fmt, p->name, p->device_name, model, p->cores ? cores : "host",
               p->ram_bytes ? size_text(p->ram_bytes, ram) : "host",
               p->page_bytes ? size_text(p->page_bytes, page) : "host", os, windows_text(p, win),
               nano[p->nano <= ZT_NANO_SINGLE ? p->nano : 0], p->memory_limit_bytes ? lim : "none");
        if (!sources) continue;
        printf("    %s; SoC %s; small to %llu KiB, medium %s\n", p->description, p->soc,
               (unsigned long long)(p->small_limit_bytes >> 10), p->medium ? "yes" : "no");
        printf("    models: %s; %s\n", p->model, p->libmalloc_tag);
        /* One fact a line: the source text is "fact: source; fact: ..." and
         * a ';' inside parentheses stays on its line. */
        const char *f = p->device_source;
        while (*f) {
            int depth = 0;
            size_t n = 0;
            for (; f[n] && !(depth == 0 && f[n] == ';'); n++)
                depth += f[n] == '(' ? 1 : f[n] == ')' ? -1 : 0;
            printf("    %.*s\n", (int)n, f);
            f += n;
            while (*f == ';' || *f == ' ')
                f++;
        }
        printf("    jetsam: %s", p->memory_limit_source);
        if (p->entitled_limit_bytes)
            printf("; with increased-memory-limit %llu MiB",
                   (unsigned long long)(p->entitled_limit_bytes >> 20));
        printf("\n");
    }
    printf("\nold names, kept as aliases:\n");
    for (const zt_profile_alias_t *a = zt_profile_aliases; a->alias; a++)
        printf("%-11s = %-20s %s\n", a->alias, a->name, a->note);
    printf("\nA model (e.g. iPhone8,2) also names its row.%s\n",
           sources ? "" : " Sources of every fact: zonetrace profiles --sources");
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
    if (strcmp(cmd, "profiles") == 0) return cmd_profiles(argc - 1, argv + 1);
    if (strcmp(cmd, "options") == 0) return cmd_options(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0) return zt_cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "jetsam") == 0) return zt_cli_jetsam(argc - 1, argv + 1);
    zt_cli_error("unknown command %s (run, report, jetsam, profiles, options, demo; see --help)",
                 cmd);
    return ZT_CLI_EXIT_USAGE;
}
