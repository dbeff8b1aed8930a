/* ----------------------------------------------------------------------------
 * cli.h — the subcommands of the zonetrace CLI and what they share. Calls
 * run one way, each file calling only those to its right: main.c (dispatch,
 * profiles, options) → cmd_run.c (run, demo) → cmd_report.c (report) →
 * cli.c (error line, executable's directory).
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

/* ---- cmd_report.c ------------------------------------------------------- */

/* `zonetrace report ...` (argv[0] is "report"). Returns the exit status. */
int zt_cli_report(int argc, char **argv);

/* Read `path` and write one report to `out_path` (NULL or "-": stdout).
 * Returns 0 or ZT_CLI_EXIT_USAGE after one error line. */
int zt_cli_report_file(const char *path, const zt_report_opts_t *opt, const char *out_path);

/* ---- cli.c -------------------------------------------------------------- */

/* Print "zonetrace: <fmt>\n" on stderr. */
void zt_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Directory of the running zonetrace executable (readlink /proc/self/exe;
 * macOS: _NSGetExecutablePath, resolved). */
const char *zt_cli_exe_dir(void);

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
