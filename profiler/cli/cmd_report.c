/* ----------------------------------------------------------------------------
 * cmd_report.c — `zonetrace report`, and zt_cli_report_file: one report of
 * one record file, which `demo` writes too. Reads the record only through
 * zt_model_read (model.h). Several records (a run's processes) go to
 * report_tree.c, which comes back here for the one reported in full.
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    if (!zt_model_load(path, &m, err, sizeof err)) {
        /* The reader's message is one line; keep it one line whatever it says. */
        for (char *p = err; *p; p++)
            if (*p == '\n') *p = ' ';
        zt_cli_error("%s", err[0] ? err : "cannot read the record");
        return ZT_CLI_EXIT_USAGE;
    }
    /* --at: the moment whose state every view shows; by default the first
     * failure when anything failed (its state explains it), else the end. */
    int at = opt->at                             ? opt->at - 1
             : zt_report_first_failure_leads(&m) ? ZT_AT_FIRST_FAILURE
                                                 : ZT_AT_END;
    if (!zt_model_at(&m, at, err, sizeof err)) {
        zt_cli_error("%s: --at %s: %s", path, zt_model_at_name(at), err);
        zt_model_free(&m);
        return ZT_CLI_EXIT_USAGE;
    }
    if ((opt->sort == ZT_SORT_FIRST_FAILURE && !m.moments[0].present)) {
        zt_cli_error("%s: --sort first-failure: no allocation failed", path);
        zt_model_free(&m);
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
    return zt_cli_close_output(out, out_path);
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

int zt_cli_report(int argc, char **argv)
{
    static const char *const bys[] = {"stack", "zone", "class", "region"};
    static const char *const formats[] = {"text", "json", "folded", "html"};
    static const char *const ats[] = {"end", "first-failure", "peak", "peak-va"};
    static const char *const sorts[] = {"live",      "leaks", "peak",      "first-failure",
                                        "allocated", "count", "temporary", "address-space"};
    zt_report_opts_t opt = {.top = 10, .by = ZT_BY_STACK, .format = ZT_FMT_TEXT};
    const char *out = NULL, *v;
    char **files = calloc((size_t)argc, sizeof *files); /* report_tree.c reads several */
    unsigned nfiles = 0;
    int pid = 0;
    bool only = false; /* --only: FILE alone, not its run's other records */
    if (!files) return ZT_CLI_EXIT_USAGE;
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
            opt.top_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--depth"))) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || errno || n < 1 || n > 1000) {
                zt_cli_error("--depth %s: expected a number of frames from 1 to 1000", v);
                return ZT_CLI_EXIT_USAGE;
            }
            opt.depth = (unsigned)n;
        } else if ((v = opt_value(argc, argv, &i, "--by"))) {
            opt.by = pick("--by", v, bys, 4);
        } else if ((v = opt_value(argc, argv, &i, "--at"))) {
            opt.at = pick("--at", v, ats, 4) + 1;
        } else if ((v = opt_value(argc, argv, &i, "--sort"))) {
            opt.sort = pick("--sort", v, sorts, 8) + 1;
        } else if ((v = opt_value(argc, argv, &i, "--format"))) {
            opt.format = pick("--format", v, formats, 4);
        } else if ((v = opt_value(argc, argv, &i, "-o")) ||
                   (v = opt_value(argc, argv, &i, "--output"))) {
            out = v;
        } else if (strcmp(argv[i], "--only") == 0) {
            only = true;
        } else if ((v = opt_value(argc, argv, &i, "--pid"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || n < 1 || n > 0x7fffffff) {
                zt_cli_error("--pid %s: expected a process id", v);
                free(files);
                return ZT_CLI_EXIT_USAGE;
            }
            pid = (int)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            zt_cli_error("report: unknown option %s (see zonetrace --help)", argv[i]);
            free(files);
            return ZT_CLI_EXIT_USAGE;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!nfiles) {
        zt_cli_error("report: which record file? (zonetrace report FILE)");
        free(files);
        return ZT_CLI_EXIT_USAGE;
    }
    if (only && (nfiles != 1 || pid)) {
        zt_cli_error("report: --only takes one record and no --pid");
        free(files);
        return ZT_CLI_EXIT_USAGE;
    }
    int rc = only ? zt_cli_report_file(files[0], &opt, out)
                  : zt_cli_report_records(files, nfiles, &opt, out, pid, zt_cli_report_file);
    free(files);
    return rc;
}
