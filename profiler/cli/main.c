/* ----------------------------------------------------------------------------
 * main.c — the zonetrace command: dispatch, `report`, `profiles`, `options`.
 * `run` and `demo` are in cmd_run.c. The CLI is an ordinary program (malloc,
 * stdio); it reads records only through zt_model_read (model.h).
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include "options.h"
#include "profile.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: zonetrace COMMAND ...\n"
    "  run [--device P] [--stacks M] [--unwind U] [-o FILE] -- CMD ARGS\n"
    "        run CMD under libzonetrace.so and write its record file\n"
    "  report FILE [--top N] [--by stack|zone|class|region]\n"
    "              [--format text|json|folded|html] [-o OUT]\n"
    "        report on a record file (text by default)\n"
    "  jetsam FILE.ips... | DIR [--process NAME] [--all] [--format text|json]\n"
    "        read Apple JetsamEvent reports: footprints, kill reasons, the implied limit\n"
    "  profiles            list the device profiles\n"
    "  options [--markdown] list the ZONETRACE_* options\n"
    "  demo [--variant crash|nano] [-o DIR]\n"
    "        run the CA::AttrList::set crash demo on an emulated iOS 12 iPhone and report\n";

void zt_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("zonetrace: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *zt_cli_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0) {
            strcpy(dir, ".");
        } else {
            dir[n] = 0;
            char *slash = strrchr(dir, '/');
            if (slash && slash != dir)
                *slash = 0;
            else if (slash)
                slash[1] = 0;
        }
    }
    return dir;
}

int zt_cli_report_file(const char *path, const zt_report_opts_t *opt, const char *out_path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        zt_cli_error("%s: %s", path, strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        zt_cli_error("%s: is a directory, not a record file", path);
        return ZT_CLI_EXIT_USAGE;
    }
    zt_model_t m;
    char err[1024];
    memset(&m, 0, sizeof m);
    if (!zt_model_read(path, &m, err, sizeof err)) {
        /* The reader's message is one line; keep it one line whatever it says. */
        for (char *p = err; *p; p++)
            if (*p == '\n') *p = ' ';
        zt_cli_error("%s", err[0] ? err : "cannot read the record");
        return ZT_CLI_EXIT_USAGE;
    }
    FILE *out = stdout;
    if (out_path && strcmp(out_path, "-") != 0) {
        out = fopen(out_path, "w");
        if (!out) {
            zt_cli_error("%s: %s", out_path, strerror(errno));
            zt_model_free(&m);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    zt_report_t r = {.m = &m, .opt = *opt};
    r.opt.path = path;
    r.sym = zt_sym_open(&m, false);
    switch (opt->format) {
    case ZT_FMT_JSON:
        zt_report_json(out, &r);
        break;
    case ZT_FMT_FOLDED:
        zt_report_folded(out, &r);
        break;
    case ZT_FMT_HTML:
        zt_report_html(out, &r);
        break;
    default:
        zt_report_text(out, &r);
        break;
    }
    zt_sym_close(r.sym);
    zt_model_free(&m);
    int rc = 0;
    if (out != stdout) {
        if (ferror(out) | (fclose(out) != 0)) {
            zt_cli_error("%s: write failed: %s", out_path, strerror(errno));
            rc = ZT_CLI_EXIT_USAGE;
        }
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        zt_cli_error("writing the report failed: %s", strerror(errno));
        rc = ZT_CLI_EXIT_USAGE;
    }
    return rc;
}

/* "--name value" or "--name=value"; advances *i past what it used. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0) return NULL;
    if (*i + 1 >= argc) {
        zt_cli_error("%s needs a value", name);
        exit(ZT_CLI_EXIT_USAGE);
    }
    return argv[++*i];
}

static int pick(const char *opt, const char *v, const char *const *names, int count)
{
    for (int k = 0; k < count; k++)
        if (strcmp(v, names[k]) == 0) return k;
    char list[256] = "";
    for (int k = 0; k < count; k++) {
        strcat(list, k ? (k + 1 == count ? " or " : ", ") : "");
        strcat(list, names[k]);
    }
    zt_cli_error("%s %s: expected %s", opt, v, list);
    exit(ZT_CLI_EXIT_USAGE);
}

static int cmd_report(int argc, char **argv)
{
    static const char *const bys[] = {"stack", "zone", "class", "region"};
    static const char *const formats[] = {"text", "json", "folded", "html"};
    zt_report_opts_t opt = {.top = 10, .by = ZT_BY_STACK, .format = ZT_FMT_TEXT};
    const char *file = NULL, *out = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if ((v = opt_value(argc, argv, &i, "--top"))) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || errno || n < 1 || n > 100000) {
                zt_cli_error("--top %s: expected a number from 1 to 100000", v);
                return ZT_CLI_EXIT_USAGE;
            }
            opt.top = (unsigned)n;
        } else if ((v = opt_value(argc, argv, &i, "--by"))) {
            opt.by = pick("--by", v, bys, 4);
        } else if ((v = opt_value(argc, argv, &i, "--format"))) {
            opt.format = pick("--format", v, formats, 4);
        } else if ((v = opt_value(argc, argv, &i, "-o")) ||
                   (v = opt_value(argc, argv, &i, "--output"))) {
            out = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            zt_cli_error("report: unknown option %s (see zonetrace --help)", argv[i]);
            return ZT_CLI_EXIT_USAGE;
        } else if (!file) {
            file = argv[i];
        } else {
            zt_cli_error("report: one record file at a time (got %s and %s)", file, argv[i]);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    if (!file) {
        zt_cli_error("report: which record file? (zonetrace report FILE)");
        return ZT_CLI_EXIT_USAGE;
    }
    return zt_cli_report_file(file, &opt, out);
}

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
    if (strcmp(cmd, "report") == 0) return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "profiles") == 0) return cmd_profiles();
    if (strcmp(cmd, "options") == 0) return cmd_options(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0) return zt_cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "jetsam") == 0) return zt_cli_jetsam(argc - 1, argv + 1);
    zt_cli_error("unknown command %s (run, report, jetsam, profiles, options, demo; see --help)",
                 cmd);
    return ZT_CLI_EXIT_USAGE;
}
