/* ----------------------------------------------------------------------------
 * cmd_jetsam.c — `zonetrace jetsam FILE.ips... | DIR`: what Apple's
 * JetsamEvent reports (read by jetsam.c) say about a process's memory, and
 * the `zonetrace run` that reproduces its device and limit.
 *
 * One file: the device, OS, page size and largest process; every process's
 * footprint (rpages × pageSize) and kill reason, largest first (the top 15
 * and every killed one, or --all); the process of interest (--process, else
 * the largest) with, for a per-process-limit kill, the limit that implies:
 * jetsam kills as the footprint passes the limit, so the footprint at the
 * kill ≈ the limit (reference/modern_apple.md §5). Several files or a
 * folder: one line per event and the inferred limit range per process and
 * device. Then a suggestion: the product's own device profile (the
 * catalogue in zone/profile.c lists each row's models), else one whose RAM
 * matches the product's (from a small table of the iPhones in the
 * measured-limit table, modern_apple.md §4), and --memory-limit from the
 * kill, else from that table. The table stays beside the catalogue: it
 * names and sizes iPhones the catalogue does not emulate (before iOS 12's
 * devices and after them); for the catalogue's devices its limits are the
 * same measured numbers.
 *
 * A damaged file is one line on stderr, the others are still read, and the
 * exit status is 2 if any failed. In a folder, reports of another kind
 * (crash reports, bug_type 309, share Apple's Analytics folder) are skipped
 * and counted; named on the command line, they are an error.
 * -------------------------------------------------------------------------- */
#define ZT_CMD_JETSAM_C /* its parts in jetsam/ check that they are included from here */
#include "cli.h"
#include "jetsam.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WIDTH        100 /* columns: read in a terminal */
#define TOP_DEFAULT  15  /* processes listed without --all (plus every killed one) */
#define MiB          (1ull << 20)
#define NAME_COLUMNS 30 /* process names (the kernel keeps 32 characters) */

/* ---- devices -------------------------------------------------------------- */

/* The iPhones of the measured table (modern_apple.md §4: "crash MB / total
 * MB", a community measurement of the footprint at which a test app was
 * killed). ram_mb is the nominal RAM, used to match device profiles. */
typedef struct device {
    const char *product, *name;
    unsigned ram_mb;
    unsigned limit_mb, total_mb; /* measured: killed at limit_mb of total_mb */
    const char *measured_os;     /* iOS of the measurement when the table says */
} device_t;

static const device_t devices[] = {
    {"iPhone3,1", "iPhone 4", 512, 325, 512, NULL},
    {"iPhone3,2", "iPhone 4", 512, 325, 512, NULL},
    {"iPhone3,3", "iPhone 4", 512, 325, 512, NULL},
    {"iPhone4,1", "iPhone 4s", 512, 286, 512, NULL},
    {"iPhone5,1", "iPhone 5", 1024, 645, 1024, NULL},
    {"iPhone5,2", "iPhone 5", 1024, 645, 1024, NULL},
    {"iPhone6,1", "iPhone 5s", 1024, 646, 1024, NULL},
    {"iPhone6,2", "iPhone 5s", 1024, 646, 1024, NULL},
    {"iPhone7,2", "iPhone 6", 1024, 645, 1024, NULL},
    {"iPhone7,1", "iPhone 6 Plus", 1024, 645, 1024, NULL},
    {"iPhone8,1", "iPhone 6s", 2048, 1396, 2048, "9.2"},
    {"iPhone8,2", "iPhone 6s Plus", 2048, 1392, 2048, NULL},
    {"iPhone8,4", "iPhone SE", 2048, 1395, 2048, NULL},
    {"iPhone9,1", "iPhone 7", 2048, 1395, 2048, NULL},
    {"iPhone9,3", "iPhone 7", 2048, 1395, 2048, NULL},
    {"iPhone9,2", "iPhone 7 Plus", 3072, 2040, 3072, NULL},
    {"iPhone9,4", "iPhone 7 Plus", 3072, 2040, 3072, NULL},
    {"iPhone10,1", "iPhone 8", 2048, 1364, 1990, "12.1"},
    {"iPhone10,4", "iPhone 8", 2048, 1364, 1990, "12.1"},
    {"iPhone10,3", "iPhone X", 3072, 1392, 2785, "11.2.1"},
    {"iPhone10,6", "iPhone X", 3072, 1392, 2785, "11.2.1"},
    {"iPhone11,2", "iPhone XS", 4096, 2040, 3754, "12.1"},
    {"iPhone11,4", "iPhone XS Max", 4096, 2039, 3735, NULL},
    {"iPhone11,6", "iPhone XS Max", 4096, 2039, 3735, NULL},
    {"iPhone11,8", "iPhone XR", 3072, 1792, 2813, "12.1"},
    {"iPhone12,1", "iPhone 11", 4096, 2068, 3844, "13.1.3"},
    {"iPhone12,5", "iPhone 11 Pro Max", 4096, 2067, 3740, "13.2.3"},
};

static const device_t *device_find(const char *product)
{
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
        if (strcmp(devices[i].product, product) == 0) return &devices[i];
    return NULL;
}

/* ---- events --------------------------------------------------------------- */

typedef struct event {
    char *path;        /* the file */
    const char *label; /* its name in a folder, else the path as given */
    zt_jetsam_report_t r;
    const device_t *dev;
    const zt_jetsam_proc_t *proc; /* the process of interest; NULL: not in the report */
    unsigned same_name;           /* processes in the report with proc's name */
    long implied_mb;              /* the limit a per-process-limit kill of proc implies; -1 */
} event_t;

typedef struct opts {
    const char *process; /* --process NAME; NULL: the largest process */
    bool all;
    bool json;
} opts_t;

static bool is_limit_kill(const zt_jetsam_proc_t *p)
{
    return p->reason && strcmp(p->reason, "per-process-limit") == 0;
}

/* Among processes of one name, the one that says most: a per-process-limit
 * kill, else another kill, else the largest. */
static int weight(const zt_jetsam_proc_t *p)
{
    return is_limit_kill(p) ? 2 : p->reason ? 1 : 0;
}

static bool better(const zt_jetsam_proc_t *a, const zt_jetsam_proc_t *b)
{
    if (!b) return true;
    if (weight(a) != weight(b)) return weight(a) > weight(b);
    return a->rpages > b->rpages;
}

static void pick_process(event_t *e, const char *want)
{
    const zt_jetsam_report_t *r = &e->r;
    const char *name = want ? want : r->largest;
    e->proc = NULL;
    e->same_name = 0;
    e->implied_mb = -1;
    for (size_t i = 0; name && i < r->nprocs; i++)
        if (strcmp(r->procs[i].name, name) == 0 && better(&r->procs[i], e->proc))
            e->proc = &r->procs[i];
    /* No largestProcess, or one not in the list: the largest by footprint. */
    if (!want && !e->proc)
        for (size_t i = 0; i < r->nprocs; i++)
            if (!e->proc || r->procs[i].rpages > e->proc->rpages) e->proc = &r->procs[i];
    if (!e->proc) return;
    for (size_t i = 0; i < r->nprocs; i++)
        if (strcmp(r->procs[i].name, e->proc->name) == 0) e->same_name++;
    /* Limits are whole MB (2^20 B); the footprint at the kill is the limit
     * plus what the last allocation overshot, so round to the nearest MB. */
    if (is_limit_kill(e->proc)) {
        e->implied_mb = (long)((e->proc->footprint_bytes + MiB / 2) / MiB);
        if (e->implied_mb < 1) e->implied_mb = 1; /* the smallest limit there is */
    }
}

/* ---- suggestion ----------------------------------------------------------- */

typedef struct sugg {
    const zt_profile_t *profile;
    unsigned profile_os; /* the iOS major the profile models */
    long limit_mb;       /* -1: none known */
    const char *limit_source;
    char note[256]; /* why no profile, or how the profile differs; "" */
} sugg_t;

/* limit_mb: from a per-process-limit kill, or -1. */
static void suggest(const char *product, const device_t *dev, unsigned os_major, long limit_mb,
                    const char *limit_source, sugg_t *s)
{
    memset(s, 0, sizeof *s);
    s->limit_mb = limit_mb;
    s->limit_source = limit_source;
    if (limit_mb < 0 && dev) {
        s->limit_mb = dev->limit_mb;
        s->limit_source = "the measured table";
    }
    if (!dev) {
        snprintf(s->note, sizeof s->note,
                 "no device profile matches %.40s (not one of the iPhones zonetrace knows)",
                 product);
        return;
    }
    /* The device's own profile (its model in the catalogue, profile.c),
     * else one of the device's RAM; among several, the one of the report's
     * iOS, else the newest older one, else the oldest newer one. */
    unsigned best = UINT32_MAX;
    for (int pass = 0; pass < 2 && !s->profile; pass++)
        for (const zt_profile_t *p = zt_profiles; p->name; p++) {
            unsigned pos = zt_profile_os_major(p);
            bool fits = pass == 0 ? zt_profile_has_model(p, product)
                                  : p->ram_bytes == (uint64_t)dev->ram_mb * MiB;
            if (!pos || !fits) continue;
            unsigned distance = pos <= os_major ? os_major - pos : 1000 + pos - os_major;
            if (distance < best) best = distance, s->profile = p, s->profile_os = pos;
        }
    if (!s->profile)
        snprintf(s->note, sizeof s->note,
                 "no device profile has the %s's %u GB of RAM (see zonetrace profiles)", dev->name,
                 dev->ram_mb / 1024);
    else {
        /* Say how the profile differs: another device of the same RAM (its
         * CPUs and page size may differ), another iOS. */
        char other[128] = "", os[96] = "";
        if (!zt_profile_has_model(s->profile, product))
            snprintf(other, sizeof other, "%s is the %s (same RAM)", s->profile->name,
                     s->profile->device_name);
        if (os_major && s->profile_os != os_major)
            snprintf(os, sizeof os, "%s models iOS %u, this report is from iOS %u",
                     other[0] ? "it" : s->profile->name, s->profile_os, os_major);
        snprintf(s->note, sizeof s->note, "%s%s%s", other, other[0] && os[0] ? "; " : "", os);
    }
}

static void print_suggestion(FILE *out, const sugg_t *s, const char *indent)
{
    if (!s->profile && s->limit_mb < 0) {
        fprintf(out,
                "%ssuggest: nothing to run: %s, and no limit is known (measure one with "
                "os_proc_available_memory())\n",
                indent, s->note);
        return;
    }
    fprintf(out, "%ssuggest: zonetrace run", indent);
    if (s->profile) fprintf(out, " --device %s", s->profile->name);
    if (s->limit_mb >= 0) fprintf(out, " --memory-limit %ldM", s->limit_mb);
    fprintf(out, " -- APP\n");
    if (s->limit_mb >= 0)
        fprintf(out, "%s         --memory-limit from %s\n", indent, s->limit_source);
    if (s->note[0]) fprintf(out, "%s         %s\n", indent, s->note);
}

#include "jetsam/text.c"
#include "jetsam/json_out.c"

/* ---- inputs ---------------------------------------------------------------- */

typedef struct input {
    char *path;
    const char *label;
    bool in_dir;
} input_t;

typedef struct list {
    input_t *v;
    size_t n, cap;
} list_t;

static bool add_input(list_t *l, char *path, const char *label, bool in_dir)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        input_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (input_t){path, label, in_dir};
    return true;
}

static int cmp_input(const void *a, const void *b)
{
    return strcmp(((const input_t *)a)->label, ((const input_t *)b)->label);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The .ips files of dir, sorted by name. Returns false after an error line. */
static bool scan_dir(list_t *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        zt_cli_error("%s: %s", dir, strerror(errno));
        return false;
    }
    size_t first = l->n;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!ends_with(de->d_name, ".ips")) continue;
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(need);
        if (!path) break;
        snprintf(path, need, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            !add_input(l, path, path + strlen(path) - strlen(de->d_name), true)) {
            free(path);
            continue;
        }
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof *l->v, cmp_input);
    if (l->n == first) {
        zt_cli_error("%s: no .ips files in this folder", dir);
        return false;
    }
    return true;
}

/* One line: control characters (a newline in a file name) become '?'. */
static void one_line(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
}

static const char usage[] =
    "usage: zonetrace jetsam FILE.ips... | DIR [--process NAME] [--all] [--format text|json]\n";

int zt_cli_jetsam(int argc, char **argv)
{
    opts_t o = {0};
    list_t in = {0};
    bool folder = false, failed = false;
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--all") == 0) {
            o.all = true;
        } else if (strcmp(a, "--process") == 0 || strncmp(a, "--process=", 10) == 0 ||
                   strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0) {
            bool proc = a[2] == 'p';
            const char *eq = strchr(a, '=');
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                zt_cli_error("jetsam: %s needs a value", a);
                return ZT_CLI_EXIT_USAGE;
            }
            if (proc && !v[0]) {
                zt_cli_error("jetsam: --process needs a process name");
                return ZT_CLI_EXIT_USAGE;
            }
            if (proc) {
                o.process = v;
            } else if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0) {
                o.json = v[0] == 'j';
            } else {
                zt_cli_error("jetsam: --format %s: expected text or json", v);
                return ZT_CLI_EXIT_USAGE;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            zt_cli_error("jetsam: unknown option %s (see zonetrace --help)", a);
            return ZT_CLI_EXIT_USAGE;
        } else {
            nargs++;
            struct stat st;
            if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
                folder = true;
                if (!scan_dir(&in, a)) failed = true;
            } else {
                char *path = strdup(a);
                if (!path || !add_input(&in, path, path, false)) {
                    free(path);
                    zt_cli_error("out of memory");
                    return ZT_CLI_EXIT_USAGE;
                }
            }
        }
    }
    if (nargs == 0) {
        zt_cli_error("jetsam: which reports? (zonetrace jetsam FILE.ips... | DIR)");
        return ZT_CLI_EXIT_USAGE;
    }
    bool detail = nargs == 1 && !folder;

    event_t *ev = calloc(in.n ? in.n : 1, sizeof *ev);
    const char **skipped = calloc(in.n ? in.n : 1, sizeof *skipped);
    failure_t *bad = calloc(in.n ? in.n : 1, sizeof *bad);
    size_t n = 0, nskipped = 0, nbad = 0;
    if (!ev || !skipped || !bad) {
        zt_cli_error("out of memory");
        return ZT_CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < in.n; i++) {
        char err[512];
        event_t *e = &ev[n];
        zt_jetsam_status_t st = zt_jetsam_read(in.v[i].path, &e->r, err, sizeof err);
        if (st == ZT_JETSAM_OK) {
            e->path = in.v[i].path;
            e->label = in.v[i].label;
            e->dev = device_find(e->r.product);
            pick_process(e, o.process);
            n++;
        } else if (st == ZT_JETSAM_FOREIGN && in.v[i].in_dir) {
            skipped[nskipped++] = in.v[i].path;
        } else {
            one_line(err);
            zt_cli_error("%s", err);
            bad[nbad].path = in.v[i].path;
            bad[nbad++].message = strdup(err);
            failed = true;
        }
    }
    if (n == 0 && !failed && nskipped) {
        zt_cli_error("no JetsamEvent report among the %zu .ips files (all of another kind)",
                     nskipped);
        failed = true;
    }
    if (o.json && (n || nbad || nskipped) && !(detail && n == 0)) {
        json_all(stdout, ev, n, skipped, nskipped, bad, nbad);
    } else if (!o.json && detail && n == 1) {
        text_report(stdout, &ev[0], &o);
    } else if (!o.json && n) {
        text_summary(stdout, ev, n, &o, skipped, nskipped);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        zt_cli_error("writing the report failed: %s", strerror(errno));
        failed = true;
    }
    for (size_t i = 0; i < n; i++)
        zt_jetsam_free(&ev[i].r);
    for (size_t i = 0; i < nbad; i++)
        free(bad[i].message);
    for (size_t i = 0; i < in.n; i++)
        free(in.v[i].path);
    free(in.v);
    free(ev);
    free((void *)skipped);
    free(bad);
    return failed ? ZT_CLI_EXIT_USAGE : 0;
}
