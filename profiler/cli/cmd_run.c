/* ----------------------------------------------------------------------------
 * cmd_run.c — `zonetrace run` and `zonetrace demo`.
 *
 * run: preload libzonetrace.so (found next to this executable) into CMD with
 * the profiling variables set, wait for it, forward SIGINT/SIGTERM sent to
 * us, say where the record is, and exit with CMD's status (128 + signal when
 * it died of one), so `zonetrace run` can stand in for CMD in scripts.
 * ZONETRACE_ROOT_PID names the process whose record is ZONETRACE_OUT; it is
 * set in the child after fork, since only then is its pid known.
 *
 * run --seeds N: CMD N times with ZONETRACE_SEED 0..N-1 (libmalloc's region
 * ASLR entropy, zone/aslr.h), a record per seed (FILE.seed-K.zt), then the
 * spread of the failure point: the heap address space in use at each run's
 * first region/large map failure (the ZT_EV_MAP_FAILED event), min / median
 * / max over the runs that failed, and a line per seed.
 * -------------------------------------------------------------------------- */
#include "cli.h"
#include "model.h"

#include "aslr.h"
#include "record_format.h"
#include "hooks.h"
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

typedef struct run_opts {
    const char *device, *stacks, *unwind, *out, *memory_limit, *entitlement;
    const char *seed, *seeds; /* --seed K (ZONETRACE_SEED), --seeds N */
    bool quiet_stdout;        /* child's stdout to /dev/null (demo) */
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
    if (o->entitlement) setenv("ZONETRACE_ENTITLEMENT", o->entitlement, 1);
    if (o->seed) setenv("ZONETRACE_SEED", o->seed, 1);
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
    if (o->entitlement && strcmp(o->entitlement, "extended-va") != 0) {
        zt_cli_error("--entitlement %s: expected extended-va", o->entitlement);
        return false;
    }
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
    unsigned long v;
    if (o->seed && !parse_count(o->seed, 0, 999999999, &v)) {
        zt_cli_error("--seed %s: expected a whole number from 0 to 999999999", o->seed);
        return false;
    }
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
    if (pread(fd, &h, offsetof(zt_rec_header_t, zones), 0) ==
            (ssize_t)offsetof(zt_rec_header_t, zones) &&
        memcmp(h.magic, ZT_REC_MAGIC, 8) == 0 && h.version == ZT_REC_VERSION &&
        h.header_bytes == sizeof(zt_rec_header_t)) {
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
        if (!zt_model_read(r->record, &m, err, sizeof err)) {
            zt_cli_error("seed %lu: %s", k, err);
            rc = ZT_CLI_EXIT_USAGE;
            continue;
        }
        nread++;
        r->peak = m.va_peak_bytes;
        for (unsigned e = 0; e < m.nevents; e++)
            if (m.events[e].type == ZT_EV_MAP_FAILED) {
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
        else if (strncmp(a, "--entitlement", 13) == 0 && (a[13] == 0 || a[13] == '='))
            slot = &o.entitlement, name = "--entitlement";
        else if (strncmp(a, "--seeds", 7) == 0 && (a[7] == 0 || a[7] == '='))
            slot = &o.seeds, name = "--seeds";
        else if (strncmp(a, "--seed", 6) == 0 && (a[6] == 0 || a[6] == '='))
            slot = &o.seed, name = "--seed";
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
    if (o.seeds) return run_seeds(&o, argv + i);
    char record[PATH_MAX];
    int status = 0;
    int rc = spawn(&o, argv + i, record, &status);
    if (rc >= 0) return rc;
    if (rc < 0) record_wait_status(record, status);
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
    static const char *const variants[] = {"crash", "nano", "jetsam", "jetsam-handled", "xzone"};
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
            zt_cli_error(
                "demo: expected [--variant crash|nano|jetsam|jetsam-handled|xzone] [-o DIR], "
                "got %s",
                argv[i]);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    bool nano = strcmp(variant, "nano") == 0;
    bool jetsam = strncmp(variant, "jetsam", 6) == 0, handled = jetsam && variant[6] != 0;
    bool xzone = strcmp(variant, "xzone") == 0;
    const char *name = jetsam ? "jetsam_grow" : xzone ? "xzone_highwater" : "attrlist";
    const char *build = zt_cli_exe_dir();
    if (!dir) dir = build;
    char scenario[PATH_MAX], record[PATH_MAX], html[PATH_MAX + 8], out[PATH_MAX];
    if (strlen(build) > PATH_MAX - 64 || strlen(dir) > PATH_MAX - 64) {
        zt_cli_error("demo: path too long");
        return ZT_CLI_EXIT_USAGE;
    }
    snprintf(scenario, sizeof scenario, "%s/scenario_%s", build, name);
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
    build_if_needed(build, scenario, name);
    int status = 0, rc;
    zt_report_opts_t ropt = {.top = 5, .by = ZT_BY_STACK, .format = ZT_FMT_TEXT};
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
