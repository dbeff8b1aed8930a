/* ----------------------------------------------------------------------------
 * cmd_run.c — `zonetrace run` and `zonetrace demo`.
 *
 * run: preload libzonetrace.so (found next to this executable; macOS:
 * libzonetrace.dylib through DYLD_INSERT_LIBRARIES, cli.h) into CMD with
 * the profiling variables set, wait for it, forward SIGINT/SIGTERM sent to
 * us, say where the record is, and exit with CMD's status (128 + signal when
 * it died of one), so `zonetrace run` can stand in for CMD in scripts.
 * ZONETRACE_ROOT_PID names the process whose record is ZONETRACE_OUT; it is
 * set in the child after fork, since only then is its pid known.
 *
 * run --seeds N: CMD N times with ZONETRACE_SEED 0..N-1 (libmalloc's region
 * ASLR entropy, zone/aslr.h), a record per seed (FILE.seed-K.zt), then the
 * spread of the failure point: the heap address space in use at each run's
 * first region/large map failure (the ZT_REC_EV_MAP_FAILED event), min / median
 * / max over the runs that failed, and a line per seed.
 * -------------------------------------------------------------------------- */
#include "cli.h"
#include "model.h"

#include "aslr.h"
#include "record_format.h"
#include "options.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where the installed library and scenarios are, relative to the CLI
 * (cmake/install.cmake sets them from the install dirs). */
#ifndef ZT_REL_LIBDIR
#define ZT_REL_LIBDIR "../lib"
#endif
#ifndef ZT_REL_LIBEXECDIR
#define ZT_REL_LIBEXECDIR "../libexec/zonetrace"
#endif

#define ZT_RUN_ROW_COUNT_(field, type, def, env, min, max, help) +1
enum { ZT_RUN_ROWS = 0 ZT_OPTIONS_USER(ZT_RUN_ROW_COUNT_) };

typedef struct run_opts {
    const char *device, *stacks, *unwind, *out, *memory_limit;
    const char *seed, *seeds; /* --seed K (ZONETRACE_SEED), --seeds N */
    bool quiet_stdout;        /* child's stdout to /dev/null (demo) */
    /* The other options-table flags, "ZONETRACE_X=value", in the order given */
    char *env[ZT_RUN_ROWS + 1];
    unsigned nenv;
} run_opts_t;

static volatile pid_t child_pid;

/* A signal someone sent us (kill, systemd, timeout) goes on to the child. A
 * terminal's ^C (si_code SI_KERNEL) already reached the child through the
 * process group: forwarding it would deliver it twice. Darwin has no
 * SI_KERNEL: xnu gives every caught signal si_code 0 and the sender's pid
 * (xnu-11215.81.4 bsd/kern/kern_sig.c:2332-2335), a tty's included, so
 * there everything is forwarded and a ^C may reach the child twice. */
static void forward(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
#if defined(SI_KERNEL)
    if (si->si_code == SI_KERNEL) return;
#else
    (void)si;
#endif
    if (child_pid > 0) kill(child_pid, sig);
}

static bool absolute_path(const char *path, char *buf, size_t cap)
{
    if (path[0] == '/') return (size_t)snprintf(buf, cap, "%s", path) < cap;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return false;
    return (size_t)snprintf(buf, cap, "%s/%s", cwd, path) < cap;
}

/* A file the CLI ships with: next to the executable (a build tree), else
 * at rel (relative to the executable's directory: the installed layout,
 * cmake/install.cmake). False when neither exists. */
static bool find_beside(const char *name, const char *rel, char *buf, size_t cap)
{
    const char *dir = zt_cli_exe_dir();
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap && access(buf, F_OK) == 0) return true;
    return (size_t)snprintf(buf, cap, "%s/%s/%s", dir, rel, name) < cap && access(buf, F_OK) == 0;
}

/* Run cmd under the library; the record path is written to record (cap
 * PATH_MAX). Returns the wait status in *status, or an exit code >= 0 as the
 * return value on failure to start (-1 = started). */
static int spawn(const run_opts_t *o, char **cmd, char *record, int *status)
{
    char lib[PATH_MAX];
    if (!find_beside(ZT_CLI_LIB_NAME, ZT_REL_LIBDIR, lib, sizeof lib)) {
        zt_cli_error("cannot find " ZT_CLI_LIB_NAME
                     " next to the zonetrace executable nor in %s/%s",
                     zt_cli_exe_dir(), ZT_REL_LIBDIR);
        return ZT_CLI_EXIT_USAGE;
    }
    const char *old = getenv(ZT_CLI_PRELOAD_VAR);
    size_t need = strlen(lib) + (old ? strlen(old) + 2 : 1);
    char *preload = malloc(need);
    if (!preload) abort();
    snprintf(preload, need, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv(ZT_CLI_PRELOAD_VAR, preload, 1);
    free(preload);
    setenv("ZONETRACE_STACKS", o->stacks ? o->stacks : "full", 1);
    if (o->device) setenv("ZONETRACE_DEVICE", o->device, 1);
    if (o->unwind) setenv("ZONETRACE_UNWIND", o->unwind, 1);
    if (o->memory_limit) setenv("ZONETRACE_MEMORY_LIMIT", o->memory_limit, 1);
    if (o->seed) setenv("ZONETRACE_SEED", o->seed, 1);
    for (unsigned k = 0; k < o->nenv; k++) {
        char *eq = strchr(o->env[k], '=');
        *eq = 0;
        setenv(o->env[k], eq + 1, 1);
        *eq = '=';
    }
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

#define ZT_SEEDS_MAX 1000

/* A decimal in lo..hi, nothing else. */
static bool parse_count(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > hi) return false;
    }
    if (v < lo) return false;
    *out = v;
    return true;
}

/* The flags' values checked by the library's own rules (options.c) before
 * the program starts, so a bad one is the CLI's one-line error naming the
 * flag, not the child's. */
static bool check_run_opts(const run_opts_t *o)
{
    const char *pairs[ZT_RUN_ROWS + 8];
    char typed[6][PATH_MAX + 64];
    unsigned np = 0, nt = 0;
    const struct {
        const char *env, *v;
    } t[] = {{"ZONETRACE_DEVICE", o->device}, {"ZONETRACE_STACKS", o->stacks},
             {"ZONETRACE_UNWIND", o->unwind}, {"ZONETRACE_MEMORY_LIMIT", o->memory_limit},
             {"ZONETRACE_SEED", o->seed},     {"ZONETRACE_OUT", o->out}};
    for (unsigned k = 0; k < sizeof t / sizeof *t; k++)
        if (t[k].v) {
            snprintf(typed[nt], sizeof typed[nt], "%s=%s", t[k].env, t[k].v);
            pairs[np++] = typed[nt++];
        }
    for (unsigned k = 0; k < o->nenv; k++)
        pairs[np++] = o->env[k];
    pairs[np] = NULL;
    char msg[512];
    if (!zt_options_validate(pairs, msg, sizeof msg)) {
        /* "ZONETRACE_X=v: why" → "--x v: why" when a flag set it */
        const char *eq = strchr(msg, '='), *colon = eq ? strstr(eq, ": ") : NULL;
        for (unsigned i = 0; eq && colon && i < zt_option_count; i++) {
            const zt_option_desc_t *d = &zt_option_table[i];
            size_t n = strlen(d->env);
            if (d->internal || (size_t)(eq - msg) != n || strncmp(msg, d->env, n) != 0) continue;
            bool from_flag = false;
            for (unsigned k = 0; k < np; k++)
                from_flag |= strncmp(pairs[k], d->env, n) == 0 && pairs[k][n] == '=';
            if (!from_flag) break;
            char flag[64];
            zt_cli_option_flag(d, flag, sizeof flag);
            zt_cli_error("%s %.*s%s", flag, (int)(colon - eq - 1), eq + 1, colon);
            return false;
        }
        zt_cli_error("%s", msg);
        return false;
    }
    if (o->out && !o->out[0]) {
        zt_cli_error("-o: empty file name");
        return false;
    }
    unsigned long v;
    if (o->seeds && !parse_count(o->seeds, 1, ZT_SEEDS_MAX, &v)) {
        zt_cli_error("--seeds %s: expected a number of runs from 1 to %d", o->seeds, ZT_SEEDS_MAX);
        return false;
    }
    if (o->seeds && o->stacks && strcmp(o->stacks, "off") == 0) {
        zt_cli_error("--seeds reads each run's record: not with --stacks off");
        return false;
    }
    if (o->seed && o->seeds) {
        zt_cli_error("--seed and --seeds together: --seeds N runs seeds 0..N-1");
        return false;
    }
    return true;
}

static void run_help(void)
{
    printf("usage: zonetrace run [OPTIONS] [--] CMD ARGS...\n"
           "  Run CMD with libzonetrace preloaded and profiling on, wait for it, say where the\n"
           "  record is, and exit with CMD's status (128 + signal when a signal ended it).\n\n"
           "  -o, --output FILE    the record (default zonetrace-<pid>.zt here; children write\n"
           "                       FILE.<pid>.zt)\n"
           "  --seeds N            N runs with ZONETRACE_SEED 0..N-1 and the spread of the\n"
           "                       failure point (records FILE.seed-K.zt)\n"
           "  -h, --help           this help\n\n"
           "Every option of `zonetrace options` is a flag (a boolean flag alone means on);\n"
           "a flag overrides the environment variable of the same option:\n");
    for (unsigned i = 0; i < zt_option_count; i++) {
        const zt_option_desc_t *d = &zt_option_table[i];
        if (d->internal || strcmp(d->name, "out") == 0) continue;
        char flag[64], def[96];
        zt_cli_option_flag(d, flag, sizeof flag);
        if (strcmp(d->name, "stacks") == 0)
            snprintf(def, sizeof def, "full under run; %s", d->env);
        else
            snprintf(def, sizeof def, "%s%s; %s", d->def[0] ? "default " : "no default", d->def,
                     d->env);
        printf("  %s%s\n", flag,
               strcmp(d->type, "BOOL") == 0   ? "[=on|off]"
               : strcmp(d->type, "INT") == 0  ? " N"
               : strcmp(d->type, "SIZE") == 0 ? " SIZE"
                                              : " VALUE");
        char text[1024];
        snprintf(text, sizeof text, "%s (%s)", d->help, def);
        zt_cli_wrap(stdout, text, 6, 80);
    }
}

/* Write the wait status we got into the record (header runner_*), so the
 * report states how the child really ended even when its runtime could not
 * say (_exit through a shell, an uncaught signal, SIGKILL). A record that
 * is not one (or a damaged one) is left alone. */
static void record_wait_status(const char *record, int status)
{
    if (!WIFEXITED(status) && !WIFSIGNALED(status)) return;
    int fd = open(record, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    zt_rec_header_t h;
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && memcmp(h.magic, ZT_REC_MAGIC, 8) == 0 &&
        h.version == ZT_REC_VERSION && h.header_bytes == sizeof(zt_rec_header_t)) {
        uint32_t state = WIFEXITED(status) ? ZT_REC_EXITED : ZT_REC_SIGNALED;
        int32_t rest[2] = {WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), status};
        /* state last: a reader sees all of it or none */
        size_t at = offsetof(zt_rec_header_t, runner_state);
        if (pwrite(fd, rest, sizeof rest, (off_t)(at + 4)) == (ssize_t)sizeof rest)
            (void)!pwrite(fd, &state, sizeof state, (off_t)at);
    }
    close(fd);
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

/* ---- run --seeds N ------------------------------------------------------ */

typedef struct seed_run {
    unsigned seed;
    int status;       /* wait status */
    bool failed;      /* a map failed */
    int kind;         /* of the first failure */
    uint64_t va_used; /* heap address space in use at the first failure */
    uint64_t peak;    /* peak heap address space of the run */
    char record[PATH_MAX];
} seed_run_t;

static double mib(uint64_t b)
{
    return (double)b / (double)(1u << 20);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void describe_end(int status, char *buf, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(buf, cap, "%s",
                 WTERMSIG(status) == SIGKILL   ? "SIGKILL"
                 : WTERMSIG(status) == SIGSEGV ? "SIGSEGV"
                 : WTERMSIG(status) == SIGABRT ? "SIGABRT"
                 : WTERMSIG(status) == SIGBUS  ? "SIGBUS"
                                               : "signal");
    else
        snprintf(buf, cap, "exit %d", exit_status(status));
}

/* Where the seed's tiny/small regions start on a profile whose window 0
 * holds window0 bytes below the shared region (aslr.h). */
static void describe_hint(unsigned seed, uint64_t window0, char *buf, size_t cap)
{
    uint64_t hint = zt_aslr_entropic_address(seed);
    uint64_t w0 = window0 < ZT_IOS_SHARED_REGION_BASE ? ZT_IOS_SHARED_REGION_BASE - window0 : 0;
    if (hint < w0)
        snprintf(buf, cap, "bottom");
    else
        snprintf(buf, cap, "0x%llx", (unsigned long long)hint);
}

/* Run CMD once per seed 0..N-1 (records FILE.seed-K.zt) and print the spread
 * of the failure point. Exit 0 when every run started and left a readable
 * record, whatever the program's own status (failing is what is measured). */
static int run_seeds(run_opts_t *o, char **cmd)
{
    unsigned long n = 0;
    parse_count(o->seeds, 1, ZT_SEEDS_MAX, &n); /* checked by check_run_opts */
    const char *device = o->device ? o->device : getenv("ZONETRACE_DEVICE");
    if (!device || !*device) device = "native";
    const zt_profile_t *p = zt_profile_find(device);
    if (!p) {
        zt_cli_error("ZONETRACE_DEVICE=%s: unknown device profile (zonetrace profiles lists them)",
                     device);
        return ZT_CLI_EXIT_USAGE;
    }
    bool ios = zt_profile_va_limit_bytes(p) > 0;
    char base[PATH_MAX];
    if (o->out) {
        size_t len = strlen(o->out);
        if (len > 3 && strcmp(o->out + len - 3, ".zt") == 0) len -= 3;
        if (len >= sizeof base - 32) {
            zt_cli_error("%s: path too long", o->out);
            return ZT_CLI_EXIT_USAGE;
        }
        snprintf(base, sizeof base, "%.*s", (int)len, o->out);
    } else {
        snprintf(base, sizeof base, "zonetrace-%d", (int)getpid());
    }
    /* N runs that cannot write their records would measure nothing: say so
     * before the first. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", base);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK | X_OK) != 0) {
        zt_cli_error("-o %s: cannot write records in %s: %s", o->out ? o->out : base, dir,
                     strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    seed_run_t *runs = calloc(n, sizeof *runs);
    uint64_t *points = calloc(n, sizeof *points);
    if (!runs || !points) abort();
    printf("zonetrace: %lu runs of %s on %s, ZONETRACE_SEED 0..%lu%s\n", n, cmd[0], device, n - 1,
           ios ? "" : " (this profile maps anywhere: the seed changes nothing)");
    printf("%6s %5s  %-14s %-9s %-40s %s\n", "seed", "bits", "regions from", "ended",
           "first map failure (heap in use)", "record");
    fflush(stdout);
    unsigned nfailed = 0, nread = 0;
    int rc = 0;
    for (unsigned long k = 0; k < n; k++) {
        seed_run_t *r = &runs[k];
        char seed[16], out[PATH_MAX + 32], hint[32], end[16], what[96], err[256];
        r->seed = (unsigned)k;
        snprintf(seed, sizeof seed, "%lu", k);
        if (snprintf(out, sizeof out, "%s.seed-%lu.zt", base, k) >= PATH_MAX) {
            zt_cli_error("%s: path too long", base);
            rc = ZT_CLI_EXIT_USAGE;
            break;
        }
        run_opts_t one = *o;
        one.seed = seed;
        one.out = out;
        one.quiet_stdout = true; /* N copies of the program's output would bury the table */
        int started = spawn(&one, cmd, r->record, &r->status);
        if (started < 0) record_wait_status(r->record, r->status);
        if (started >= 0) {
            rc = started;
            break;
        }
        zt_model_t m;
        if (!zt_model_load(r->record, &m, err, sizeof err)) {
            zt_cli_error("seed %lu: %s", k, err);
            rc = ZT_CLI_EXIT_USAGE;
            continue;
        }
        nread++;
        r->peak = m.va_peak_bytes;
        for (unsigned e = 0; e < m.nevents; e++)
            if (m.events[e].type == ZT_REC_EV_MAP_FAILED) {
                r->failed = true;
                r->kind = m.events[e].kind;
                r->va_used = m.events[e].va_used;
                break;
            }
        zt_model_free(&m);
        if (r->failed) points[nfailed++] = r->va_used;
        describe_end(r->status, end, sizeof end);
        if (ios)
            describe_hint(r->seed, p->window_bytes[0], hint, sizeof hint);
        else
            snprintf(hint, sizeof hint, "anywhere");
        if (r->failed)
            snprintf(what, sizeof what, "%s map, %.1f MiB", zt_report_kind_name(r->kind),
                     mib(r->va_used));
        else
            snprintf(what, sizeof what, "none (peak %.1f MiB)", mib(r->peak));
        printf("%6u %5u  %-14s %-9s %-40s %s\n", r->seed, zt_aslr_entropic_bits(r->seed), hint, end,
               what, r->record);
        fflush(stdout);
    }
    if (nfailed > 0) {
        qsort(points, nfailed, sizeof *points, cmp_u64);
        double med = nfailed & 1 ? mib(points[nfailed / 2])
                                 : (mib(points[nfailed / 2 - 1]) + mib(points[nfailed / 2])) / 2;
        printf("the failure point ranges from %.1f to %.1f MiB of heap address space over %u "
               "seed%s (median %.1f MiB)",
               mib(points[0]), mib(points[nfailed - 1]), nfailed, nfailed == 1 ? "" : "s", med);
        if (nfailed < nread) printf("; %u of %lu runs never failed a map", nread - nfailed, n);
        printf("\n");
    } else if (nread > 0) {
        printf("no run failed a map: the seed moved no failure point over %u seed%s\n", nread,
               nread == 1 ? "" : "s");
    }
    if (nread < n) {
        printf("%lu of %lu runs left no readable record: the spread covers %u run%s only\n",
               n - nread, n, nread, nread == 1 ? "" : "s");
        if (rc == 0) rc = ZT_CLI_EXIT_USAGE;
    }
    printf("report one: zonetrace report %s.seed-K.zt; rerun one: zonetrace run --seed K ...\n",
           base);
    free(runs);
    free(points);
    return rc;
}

/* Frees what zt_cli_run's parser put in o->env. */
static void run_opts_free(run_opts_t *o)
{
    for (unsigned k = 0; k < o->nenv; k++)
        free(o->env[k]);
    o->nenv = 0;
}

/* One options-table flag at argv[*i] ("--x v", "--x=v", a BOOL alone): its
 * value into the typed slot or o->env. 1 = taken, 0 = not a table flag,
 * -1 = error (said). */
static int table_flag(run_opts_t *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    for (unsigned r = 0; r < zt_option_count; r++) {
        const zt_option_desc_t *d = &zt_option_table[r];
        char flag[64];
        if (d->internal) continue;
        zt_cli_option_flag(d, flag, sizeof flag);
        size_t n = strlen(flag);
        if (strncmp(a, flag, n) != 0 || (a[n] != 0 && a[n] != '=')) continue;
        const char *v;
        if (a[n] == '=')
            v = a + n + 1;
        else if (strcmp(d->type, "BOOL") == 0)
            v = "1";
        else if (*i + 1 < argc)
            v = argv[++*i];
        else {
            zt_cli_error("run: %s needs a value (%s)", flag, d->help);
            return -1;
        }
        const char **typed = strcmp(d->name, "device") == 0         ? &o->device
                             : strcmp(d->name, "stacks") == 0       ? &o->stacks
                             : strcmp(d->name, "unwind") == 0       ? &o->unwind
                             : strcmp(d->name, "memory_limit") == 0 ? &o->memory_limit
                             : strcmp(d->name, "seed") == 0         ? &o->seed
                             : strcmp(d->name, "out") == 0          ? &o->out
                                                                    : NULL;
        if (typed) {
            *typed = v;
            return 1;
        }
        size_t len = strlen(d->env) + strlen(v) + 2;
        char *pair = malloc(len);
        if (!pair) abort();
        snprintf(pair, len, "%s=%s", d->env, v);
        for (unsigned k = 0; k < o->nenv; k++) /* the last of a repeated flag wins */
            if (strncmp(o->env[k], d->env, strlen(d->env)) == 0 &&
                o->env[k][strlen(d->env)] == '=') {
                free(o->env[k]);
                o->env[k] = pair;
                return 1;
            }
        o->env[o->nenv++] = pair;
        return 1;
    }
    return 0;
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
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            run_help();
            run_opts_free(&o);
            return 0;
        }
        int t = table_flag(&o, argc, argv, &i);
        if (t < 0) {
            run_opts_free(&o);
            return ZT_CLI_EXIT_USAGE;
        }
        if (t > 0) continue;
        if (strncmp(a, "--seeds", 7) == 0 && (a[7] == 0 || a[7] == '='))
            slot = &o.seeds, name = "--seeds";
        else if (strcmp(a, "-o") == 0 || strncmp(a, "--output", 8) == 0)
            slot = &o.out, name = a[1] == 'o' ? "-o" : "--output";
        else if (a[0] == '-') {
            zt_cli_error("run: unknown option %s (zonetrace run --help lists them)", a);
            run_opts_free(&o);
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
            run_opts_free(&o);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        zt_cli_error("run: which command? (zonetrace run [options] -- CMD ARGS)");
        run_opts_free(&o);
        return ZT_CLI_EXIT_USAGE;
    }
    if (!check_run_opts(&o)) {
        run_opts_free(&o);
        return ZT_CLI_EXIT_USAGE;
    }
    if (o.seeds) {
        int src = run_seeds(&o, argv + i);
        run_opts_free(&o);
        return src;
    }
    char record[PATH_MAX];
    int status = 0;
    int rc = spawn(&o, argv + i, record, &status);
    run_opts_free(&o);
    if (rc >= 0) return rc;
    if (rc < 0) record_wait_status(record, status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) say_if_jetsam(record);
    if (access(record, R_OK) == 0) {
        fprintf(stderr, "zonetrace: record written to %s (report: zonetrace report %s)\n", record,
                record);
        zt_run_list_records(record);
    } else if (!o.stacks || strcmp(o.stacks, "off") != 0) {
        zt_run_explain_no_record(argv + i, record);
    }
    return exit_status(status);
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
    static const char *const variants[] = {"crash", "nano", "jetsam", "jetsam-handled", "xzone"};
    const char *variant = "crash", *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(zt_cli_help_text("demo"), stdout);
            return 0;
        }
        bool is_variant = strcmp(a, "--variant") == 0,
             is_dir = strcmp(a, "-o") == 0 || strcmp(a, "--output-dir") == 0;
        if (!is_variant && !is_dir) {
            zt_cli_error("demo: unknown argument %s (zonetrace demo --help)", a);
            return ZT_CLI_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            zt_cli_error("demo: %s needs a value", a);
            return ZT_CLI_EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (is_dir) {
            dir = v;
            continue;
        }
        bool known = false;
        for (unsigned k = 0; k < sizeof variants / sizeof *variants; k++)
            known |= strcmp(v, variants[k]) == 0;
        if (!known) {
            zt_cli_error(
                "demo: --variant %s: expected crash, nano, jetsam, jetsam-handled or xzone", v);
            return ZT_CLI_EXIT_USAGE;
        }
        variant = v;
    }
    if (dir) {
        struct stat st;
        if (stat(dir, &st) != 0) {
            zt_cli_error("demo: -o %s: %s", dir, strerror(errno));
            return ZT_CLI_EXIT_USAGE;
        }
        if (!S_ISDIR(st.st_mode)) {
            zt_cli_error("demo: -o %s: not a directory", dir);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    bool nano = strcmp(variant, "nano") == 0;
    bool jetsam = strncmp(variant, "jetsam", 6) == 0, handled = jetsam && variant[6] != 0;
    bool xzone = strcmp(variant, "xzone") == 0;
    const char *name = jetsam ? "jetsam_grow" : xzone ? "xzone_highwater" : "attrlist";
    const char *build = zt_cli_exe_dir();
    char scenario[PATH_MAX], record[PATH_MAX], html[PATH_MAX + 8], out[PATH_MAX];
    if (strlen(build) > PATH_MAX - 64 || (dir && strlen(dir) > PATH_MAX - 64)) {
        zt_cli_error("demo: path too long");
        return ZT_CLI_EXIT_USAGE;
    }
    char scenario_name[64];
    snprintf(scenario_name, sizeof scenario_name, "scenario_%s", name);
    if (!find_beside(scenario_name, ZT_REL_LIBEXECDIR, scenario, sizeof scenario))
        snprintf(scenario, sizeof scenario, "%s/%s", build, scenario_name);
    /* From a build tree the records go next to zonetrace (build/); an
     * installed zonetrace writes them here. */
    bool in_build_tree = strncmp(scenario, build, strlen(build)) == 0 &&
                         strchr(scenario + strlen(build) + 1, '/') == NULL;
    static char here[PATH_MAX - 64];
    if (!dir) dir = in_build_tree || !getcwd(here, sizeof here) ? build : here;
    if (xzone)
        printf("running scenario_xzone_highwater: size class after size class fills 256 MiB and "
               "frees almost all of it, on an iPhone 12 under iOS 26 (--device iphone12-ios26, "
               "xzone)\xe2\x80\xa6\n");
    else if (jetsam)
        printf("running scenario_jetsam_grow%s: a cache that grows at 1 GB/s on an iPhone 6s Plus "
               "(--device iphone6s-plus, limit 1392 MiB)%s\xe2\x80\xa6\n",
               handled ? " --handler" : "",
               handled ? "; its memory-warning handler trims the cache" : ", warning ignored");
    else
        printf("running scenario_attrlist%s: an iOS 12 app on an iPhone 6s Plus "
               "(--device iphone6s-plus)\xe2\x80\xa6\n",
               nano ? " --variant nano" : "");
    fflush(stdout);
    int status = 0, rc;
    zt_report_opts_t ropt = {.top = 5, .top_given = true, .by = ZT_BY_STACK, .format = ZT_FMT_TEXT};
    if (access(scenario, X_OK) == 0) {
        /* libmalloc writes "can't allocate region" to a terminal at every
         * failed map (zone/error.c); the report lists each of them, so the
         * demo keeps the terminal for the report unless the user asked. */
        setenv("MallocDebugReport", "none", 0);
        snprintf(out, sizeof out, "%s/demo-%s%s.zt", dir,
                 jetsam  ? "jetsam"
                 : xzone ? "xzone"
                         : "attrlist",
                 nano      ? "-nano"
                 : handled ? "-handled"
                           : "");
        run_opts_t o = {.device = xzone ? "iphone12-ios26" : "iphone6s-plus",
                        .stacks = "full",
                        .out = out,
                        .quiet_stdout = true};
        char *crash_cmd[] = {scenario, nano ? "--variant" : NULL, "nano", NULL};
        char *jetsam_cmd[] = {scenario, handled ? "--handler" : NULL, NULL};
        if ((rc = spawn(&o, jetsam || xzone ? jetsam_cmd : crash_cmd, record, &status)) >= 0)
            return rc;
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
