/* ----------------------------------------------------------------------------
 * cli.h — the subcommands of the zonetrace CLI and what they share. Calls
 * run one way, each file calling only those to its right: main.c (dispatch,
 * profiles, options) → cmd_run.c (run, demo) → cmd_report.c (report) →
 * report_tree.c (several records; handed the one-record report to call) →
 * cli.c (error line, closing the output, executable's directory).
 * Every failure is one line on stderr, "zonetrace: ...", and a non-zero
 * status: ZT_CLI_EXIT_USAGE for bad arguments and unreadable or damaged
 * records.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CLI_H
#define ZT_CLI_H

#include "report.h"

#define ZT_CLI_EXIT_USAGE 2

/* ---- cmd_run.c ---------------------------------------------------------- */

/* `zonetrace run ...` (argv[0] is "run"). Returns the exit status. */
int zt_cli_run(int argc, char **argv);

/* `zonetrace demo`. */
int zt_cli_demo(int argc, char **argv);

/* ---- run_after.c (what run says once the program ended) ------------------ */

/* List on stderr, as a process tree, the records next to `record` that
 * the program's children and exec'd images wrote. */
void zt_run_list_records(const char *record);
/* Say on stderr why cmd left no record at `record` (a static binary, …). */
void zt_run_explain_no_record(char **cmd, const char *record);

/* ---- cmd_report.c ------------------------------------------------------- */

/* `zonetrace report ...` (argv[0] is "report"). Returns the exit status. */
int zt_cli_report(int argc, char **argv);

/* Read `path` and write one report to `out_path` (NULL or "-": stdout).
 * Returns 0 or ZT_CLI_EXIT_USAGE after one error line. */
int zt_cli_report_file(const char *path, const zt_report_opts_t *opt, const char *out_path);

/* ---- cli.c -------------------------------------------------------------- */

/* Print "zonetrace: <fmt>\n" on stderr. */
void zt_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Close `out` (flush it when it is stdout) and say in one line if any write
 * to it failed. Returns 0 or ZT_CLI_EXIT_USAGE. */
int zt_cli_close_output(FILE *out, const char *out_path);

/* Directory of the running zonetrace executable (readlink /proc/self/exe;
 * macOS: _NSGetExecutablePath, resolved). */
const char *zt_cli_exe_dir(void);

/* ---- help.c ------------------------------------------------------------- */

/* The help of a subcommand (NULL: the top-level usage); static text. */
const char *zt_cli_help_text(const char *cmd);
/* "zonetrace 0.1.0" */
const char *zt_cli_version(void);
/* "--va-limit" for the row va_limit: every user row of the options table is
 * a `zonetrace run` flag, its field name with '-' for '_'. */
struct zt_option_desc;
void zt_cli_option_flag(const struct zt_option_desc *d, char *buf, size_t cap);
/* text's words wrapped at width columns, each line indented by indent. */
void zt_cli_wrap(FILE *out, const char *text, unsigned indent, unsigned width);

/* `zonetrace diff A B ...` (cmd_diff.c; argv[0] is "diff"). */
int zt_cli_diff(int argc, char **argv);

/* The library `zonetrace run` loads into CMD, and how: LD_PRELOAD on Linux,
 * DYLD_INSERT_LIBRARIES on macOS (where the library installs its zone from
 * a constructor; README, "macOS and iOS"). */
#if defined(__APPLE__)
#define ZT_CLI_LIB_NAME    "libzonetrace.dylib"
#define ZT_CLI_PRELOAD_VAR "DYLD_INSERT_LIBRARIES"
#else
#define ZT_CLI_LIB_NAME    "libzonetrace.so"
#define ZT_CLI_PRELOAD_VAR "LD_PRELOAD"
#endif

/* `zonetrace jetsam ...` (cmd_jetsam.c; argv[0] is "jetsam"). */
int zt_cli_jetsam(int argc, char **argv);

#endif /* ZT_CLI_H */
