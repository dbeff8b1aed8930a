/* ----------------------------------------------------------------------------
 * cmd_run.c — `zonetrace run` and `zonetrace demo`.
 *
 * run: preload libzonetrace.so (found next to this executable) into CMD with
 * the profiling variables set, wait for it, forward SIGINT/SIGTERM sent to
 * us, say where the record is, and exit with CMD's status (128 + signal when
 * it died of one), so `zonetrace run` can stand in for CMD in scripts.
 * ZONETRACE_ROOT_PID names the process whose record is ZONETRACE_OUT; it is
 * set in the child after fork, since only then is its pid known.
 * -------------------------------------------------------------------------- */
#include "cli.h"
#include "model.h"

#include "options.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_opts {
    const char *device, *stacks, *unwind, *out, *memory_limit;
    bool quiet_stdout; /* child's stdout to /dev/null (demo) */
} run_opts_t;

static volatile pid_t child_pid;

/* A signal someone sent us (kill, systemd, timeout) goes on to the child. A
 * terminal's ^C (si_code SI_KERNEL) already reached the child through the
 * process group: forwarding it would deliver it twice. */
static void forward(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (child_pid > 0 && si->si_code != SI_KERNEL) kill(child_pid, sig);
}

static bool absolute_path(const char *path, char *buf, size_t cap)
{
    if (path[0] == '/') return (size_t)snprintf(buf, cap, "%s", path) < cap;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return false;
    return (size_t)snprintf(buf, cap, "%s/%s", cwd, path) < cap;
}

/* Run cmd under the library; the record path is written to record (cap
 * PATH_MAX). Returns the wait status in *status, or an exit code >= 0 as the
 * return value on failure to start (-1 = started). */
static int spawn(const run_opts_t *o, char **cmd, char *record, int *status)
{
    char lib[PATH_MAX];
    if ((size_t)snprintf(lib, sizeof lib, "%s/libzonetrace.so", zt_cli_exe_dir()) >= sizeof lib ||
        access(lib, R_OK) != 0) {
        zt_cli_error("cannot find libzonetrace.so next to the zonetrace executable (%s)", lib);
        return ZT_CLI_EXIT_USAGE;
    }
    const char *old = getenv("LD_PRELOAD");
    size_t need = strlen(lib) + (old ? strlen(old) + 2 : 1);
    char *preload = malloc(need);
    if (!preload) abort();
    snprintf(preload, need, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    free(preload);
    setenv("ZONETRACE_STACKS", o->stacks ? o->stacks : "full", 1);
    if (o->device) setenv("ZONETRACE_DEVICE", o->device, 1);
    if (o->unwind) setenv("ZONETRACE_UNWIND", o->unwind, 1);
    if (o->memory_limit) setenv("ZONETRACE_MEMORY_LIMIT", o->memory_limit, 1);
    char cwd[PATH_MAX - 64]; /* room for "/zonetrace-<pid>.zt" */
    if (!getcwd(cwd, sizeof cwd)) {
        zt_cli_error("cannot get the current directory: %s", strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    if (o->out) {
        if (!absolute_path(o->out, record, PATH_MAX)) {
            zt_cli_error("%s: path too long", o->out);
            return ZT_CLI_EXIT_USAGE;
        }
        /* A stale record there would be reported as this run's. */
        if (unlink(record) != 0 && errno != ENOENT) {
            zt_cli_error("%s: cannot replace it: %s", record, strerror(errno));
            return ZT_CLI_EXIT_USAGE;
        }
        setenv("ZONETRACE_OUT", record, 1);
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        zt_cli_error("fork: %s", strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    if (pid == 0) {
        char buf[PATH_MAX + 64];
        snprintf(buf, sizeof buf, "%d", (int)getpid());
        setenv("ZONETRACE_ROOT_PID", buf, 1);
        if (!o->out) {
            snprintf(buf, sizeof buf, "%s/zonetrace-%d.zt", cwd, (int)getpid());
            setenv("ZONETRACE_OUT", buf, 1);
        }
        if (o->quiet_stdout) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1), close(fd);
        }
        execvp(cmd[0], cmd);
        int e = errno;
        fprintf(stderr, "zonetrace: %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (!o->out) snprintf(record, PATH_MAX, "%s/zonetrace-%d.zt", cwd, (int)pid);
    pid_t w;
    while ((w = waitpid(pid, status, 0)) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    child_pid = 0;
    if (w < 0) {
        zt_cli_error("waitpid: %s", strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    return -1;
}

static int exit_status(int status)
{
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

static bool check_run_opts(const run_opts_t *o)
{
    int mode;
    uint64_t n;
    if (o->device && !zt_profile_find(o->device)) {
        zt_cli_error("--device %s: unknown device profile (zonetrace profiles lists them)",
                     o->device);
        return false;
    }
    if (o->stacks && !zt_options_parse_stacks(o->stacks, &mode, &n)) {
        zt_cli_error("--stacks %s: expected off, full, sample or sample:N (N bytes, K/M/G)",
                     o->stacks);
        return false;
    }
    if (o->unwind && strcmp(o->unwind, "libunwind") != 0 && strcmp(o->unwind, "fp") != 0) {
        zt_cli_error("--unwind %s: expected libunwind or fp", o->unwind);
        return false;
    }
    uint64_t limit;
    if (o->memory_limit && (!zt_options_parse_size(o->memory_limit, &limit) || limit == 0)) {
        zt_cli_error("--memory-limit %s: expected a size in bytes with an optional K, M or G "
                     "suffix, above 0",
                     o->memory_limit);
        return false;
    }
    if (o->out && !o->out[0]) {
        zt_cli_error("-o: empty file name");
        return false;
    }
    return true;
}

/* A SIGKILL is jetsam's when the record says so (the library wrote it
 * before killing itself); one line, as the report's ending. */
static void say_if_jetsam(const char *record)
{
    zt_model_t m;
    char err[256];
    if (!zt_model_read(record, &m, err, sizeof err)) return;
    if (m.term.jetsam) {
        char b1[32], b2[32];
        fprintf(stderr,
                "zonetrace: killed by jetsam (SIGKILL, per-process-limit): footprint %s passed "
                "the limit %s\n",
                zt_fmt_bytes(m.jetsam_footprint_bytes, b1), zt_fmt_bytes(m.jetsam_limit_bytes, b2));
    }
    zt_model_free(&m);
}

int zt_cli_run(int argc, char **argv)
{
    run_opts_t o = {0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *name = a;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--device", 8) == 0 && (a[8] == 0 || a[8] == '='))
            slot = &o.device, name = "--device";
        else if (strncmp(a, "--stacks", 8) == 0 && (a[8] == 0 || a[8] == '='))
            slot = &o.stacks, name = "--stacks";
        else if (strncmp(a, "--unwind", 8) == 0 && (a[8] == 0 || a[8] == '='))
            slot = &o.unwind, name = "--unwind";
        else if (strncmp(a, "--memory-limit", 14) == 0 && (a[14] == 0 || a[14] == '='))
            slot = &o.memory_limit, name = "--memory-limit";
        else if (strcmp(a, "-o") == 0 || strncmp(a, "--output", 8) == 0)
            slot = &o.out, name = a[1] == 'o' ? "-o" : "--output";
        else if (a[0] == '-') {
            zt_cli_error("run: unknown option %s (see zonetrace --help)", a);
            return ZT_CLI_EXIT_USAGE;
        } else {
            break; /* the command, without "--" */
        }
        const char *eq = strchr(a, '=');
        if (eq && a[1] == '-') {
            *slot = eq + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            zt_cli_error("%s needs a value", name);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        zt_cli_error("run: which command? (zonetrace run [options] -- CMD ARGS)");
        return ZT_CLI_EXIT_USAGE;
    }
    if (!check_run_opts(&o)) return ZT_CLI_EXIT_USAGE;
    char record[PATH_MAX];
    int status = 0;
    int rc = spawn(&o, argv + i, record, &status);
    if (rc >= 0) return rc;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) say_if_jetsam(record);
    if (access(record, R_OK) == 0)
        fprintf(stderr, "zonetrace: record written to %s (report: zonetrace report %s)\n", record,
                record);
    else if (!o.stacks || strcmp(o.stacks, "off") != 0)
        fprintf(stderr, "zonetrace: no record was written to %s\n", record);
    return exit_status(status);
}

/* Build the demo's targets when the scenario is missing or older than its
 * source and this zonetrace runs from a configured build tree. Output goes
 * to a log so the demo's screen stays the report. */
static void build_if_needed(const char *build, const char *scenario, const char *name)
{
    char src[PATH_MAX], cache[PATH_MAX], log[PATH_MAX], lib[PATH_MAX], cmd[3 * PATH_MAX];
    struct stat st_src, st_bin;
    snprintf(lib, sizeof lib, "%s/libzonetrace.so", build);
    snprintf(src, sizeof src, "%s/tests/scenarios/%s.c", ZT_SOURCE_DIR, name);
    snprintf(cache, sizeof cache, "%s/CMakeCache.txt", build);
    if (access(cache, R_OK) != 0 || stat(src, &st_src) != 0)
        return; /* an installed zonetrace: nothing to build from */
    if (stat(scenario, &st_bin) == 0 && st_bin.st_mtime >= st_src.st_mtime &&
        access(lib, R_OK) == 0)
        return;
    snprintf(log, sizeof log, "%s/demo-build.log", build);
    printf("building scenario_%s first (log: %s)\n", name, log);
    fflush(stdout);
    snprintf(cmd, sizeof cmd, "cmake --build '%s' --target scenario_%s zonetrace_shared >'%s' 2>&1",
             build, name, log);
    if (system(cmd) != 0) zt_cli_error("building scenario_%s failed; see %s", name, log);
}

/* demo: the CA::AttrList::set crash (or, --variant nano, the nano class
 * delegation) on an emulated 2 GiB iPhone under iOS 12; or the other seed
 * story, --variant jetsam: a cache that ignores the memory warning is killed
 * by jetsam at the iPhone 6s Plus limit (jetsam-handled: its warning handler
 * trims the cache and it survives). Then the text report on one screen and
 * an HTML report next to the record. Without the scenario (an installed
 * zonetrace), a short real program's zone statistics. */
int zt_cli_demo(int argc, char **argv)
{
    static const char *const variants[] = {"crash", "nano", "jetsam", "jetsam-handled"};
    const char *variant = "crash", *dir = NULL;
    for (int i = 1; i < argc; i++) {
        bool known = false;
        for (unsigned v = 0; i + 1 < argc && v < sizeof variants / sizeof *variants; v++)
            known |= strcmp(argv[i + 1], variants[v]) == 0;
        if (strcmp(argv[i], "--variant") == 0 && known) {
            variant = argv[++i];
        } else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output-dir") == 0) &&
                   i + 1 < argc) {
            dir = argv[++i];
        } else {
            zt_cli_error("demo: expected [--variant crash|nano|jetsam|jetsam-handled] [-o DIR], "
                         "got %s",
                         argv[i]);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    bool nano = strcmp(variant, "nano") == 0;
    bool jetsam = strncmp(variant, "jetsam", 6) == 0, handled = jetsam && variant[6] != 0;
    const char *name = jetsam ? "jetsam_grow" : "attrlist";
    const char *build = zt_cli_exe_dir();
    if (!dir) dir = build;
    char scenario[PATH_MAX], record[PATH_MAX], html[PATH_MAX + 8], out[PATH_MAX];
    if (strlen(build) > PATH_MAX - 64 || strlen(dir) > PATH_MAX - 64) {
        zt_cli_error("demo: path too long");
        return ZT_CLI_EXIT_USAGE;
    }
    snprintf(scenario, sizeof scenario, "%s/scenario_%s", build, name);
    if (jetsam)
        printf("running scenario_jetsam_grow%s: a cache that grows at 1 GB/s on an iPhone 6s Plus "
               "(--device iphone6s-plus, limit 1392 MiB)%s\xe2\x80\xa6\n",
               handled ? " --handler" : "",
               handled ? "; its memory-warning handler trims the cache" : ", warning ignored");
    else
        printf("running scenario_attrlist%s: an iOS 12 app on an iPhone 6s Plus "
               "(--device iphone6s-plus)\xe2\x80\xa6\n",
               nano ? " --variant nano" : "");
    fflush(stdout);
    build_if_needed(build, scenario, name);
    int status = 0, rc;
    zt_report_opts_t ropt = {.top = 5, .by = ZT_BY_STACK, .format = ZT_FMT_TEXT};
    if (access(scenario, X_OK) == 0) {
        snprintf(out, sizeof out, "%s/demo-%s%s.zt", dir, jetsam ? "jetsam" : "attrlist",
                 nano      ? "-nano"
                 : handled ? "-handled"
                           : "");
        run_opts_t o = {
            .device = "iphone6s-plus", .stacks = "full", .out = out, .quiet_stdout = true};
        char *crash_cmd[] = {scenario, nano ? "--variant" : NULL, "nano", NULL};
        char *jetsam_cmd[] = {scenario, handled ? "--handler" : NULL, NULL};
        if ((rc = spawn(&o, jetsam ? jetsam_cmd : crash_cmd, record, &status)) >= 0) return rc;
        if ((rc = zt_cli_report_file(record, &ropt, NULL)) != 0) return rc;
        snprintf(html, sizeof html, "%.*s.html", (int)(strlen(record) - 3), record);
        ropt.format = ZT_FMT_HTML;
        ropt.top = 20;
        if ((rc = zt_cli_report_file(record, &ropt, html)) != 0) return rc;
        printf("HTML report (flame graph, address-space map): %s\n", html);
        return 0;
    }
    snprintf(out, sizeof out, "%s/demo-ls.zt", dir);
    run_opts_t o = {.stacks = "full", .out = out, .quiet_stdout = true};
    char *cmd[] = {"ls", "-lR", "/usr/include", NULL};
    fprintf(stderr,
            "zonetrace: demo: %s not built; running ls -lR /usr/include under the "
            "library instead\n",
            scenario);
    if ((rc = spawn(&o, cmd, record, &status)) >= 0) return rc;
    ropt.by = ZT_BY_ZONE;
    if ((rc = zt_cli_report_file(record, &ropt, NULL)) != 0) return rc;
    fprintf(stderr, "zonetrace: demo: record %s\n", record);
    return 0;
}
