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
 * device. Then a suggestion: the device profile whose RAM matches the
 * product (from a small table of the iPhones in the measured-limit table,
 * modern_apple.md §4) and --memory-limit from the kill, else from that
 * table.
 *
 * A damaged file is one line on stderr, the others are still read, and the
 * exit status is 2 if any failed. In a folder, reports of another kind
 * (crash reports, bug_type 309, share Apple's Analytics folder) are skipped
 * and counted; named on the command line, they are an error.
 * -------------------------------------------------------------------------- */
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
    unsigned profile_os; /* the iOS major a profile "iosN-..." models */
    long limit_mb;       /* -1: none known */
    const char *limit_source;
    char note[256]; /* why no profile, or how the profile differs; "" */
} sugg_t;

static unsigned profile_os(const zt_profile_t *p)
{
    unsigned v = 0;
    if (strncmp(p->name, "ios", 3) != 0) return 0;
    for (const char *s = p->name + 3; *s >= '0' && *s <= '9' && v < 1000; s++)
        v = v * 10 + (unsigned)(*s - '0');
    return v;
}

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
    /* A profile of the device's RAM: the one of the report's iOS, else the
     * newest older one, else the oldest newer one. */
    unsigned best = UINT32_MAX;
    for (const zt_profile_t *p = zt_profiles; p->name; p++) {
        unsigned pos = profile_os(p);
        if (!pos || p->ram_bytes != (uint64_t)dev->ram_mb * MiB) continue;
        unsigned distance = pos <= os_major ? os_major - pos : 1000 + pos - os_major;
        if (distance < best) best = distance, s->profile = p, s->profile_os = pos;
    }
    if (!s->profile)
        snprintf(s->note, sizeof s->note,
                 "no device profile has the %s's %u GB of RAM (see zonetrace profiles)", dev->name,
                 dev->ram_mb / 1024);
    else if (os_major && s->profile_os != os_major)
        snprintf(s->note, sizeof s->note, "%s models iOS %u; this report is from iOS %u",
                 s->profile->name, s->profile_os, os_major);
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

/* ---- text ------------------------------------------------------------------ */

/* Terminal columns of the UTF-8 character at *p (advanced past it): 2 for
 * the East Asian wide ranges and emoji, else 1. Names come from the JSON
 * parser, so the UTF-8 is valid; a stray byte counts as one column. */
static int char_width(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned cp = *s++;
    if (cp >= 0xc0) {
        int more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : 1;
        cp &= 0x3fu >> more;
        for (; more > 0 && (*s & 0xc0) == 0x80; more--)
            cp = cp << 6 | (*s++ & 0x3fu);
    }
    *p = s;
    bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
                (cp >= 0x20000 && cp <= 0x3fffd);
    return wide ? 2 : 1;
}

/* Terminal columns of s. */
static int text_len(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;)
        n += char_width(&p);
    return n;
}

/* s in a column of `width` terminal columns, control characters shown as
 * '?', cut to fit, padded unless last. Right-aligned columns hold numbers
 * (ASCII), which are never cut. */
static void col(FILE *out, const char *s, int width, bool right, bool last)
{
    if (right) {
        fprintf(out, "%*s", width, s);
        return;
    }
    int n = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "-"), *end = p;
    while (*end) {
        const unsigned char *next = end;
        int w = char_width(&next);
        if (n + w > width) break;
        n += w;
        end = next;
    }
    for (const unsigned char *q = p; q < end; q++)
        fputc(*q < 0x20 || *q == 0x7f ? '?' : *q, out);
    if (!last) fprintf(out, "%*s", width - n, "");
}

static const char *os_text(const zt_jetsam_report_t *r, char *buf, size_t cap)
{
    if (!r->os_version && !r->build) return "unknown OS";
    snprintf(buf, cap, "%s%s%s", r->os_version ? r->os_version : "unknown OS",
             r->build ? ", build " : "", r->build ? r->build : "");
    return buf;
}

static int cmp_footprint(const void *a, const void *b)
{
    const zt_jetsam_proc_t *x = *(const zt_jetsam_proc_t *const *)a;
    const zt_jetsam_proc_t *y = *(const zt_jetsam_proc_t *const *)b;
    if (x->rpages != y->rpages) return x->rpages > y->rpages ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

/* The processes largest first (malloc'd; NULL when out of memory). */
static const zt_jetsam_proc_t **sorted(const zt_jetsam_report_t *r)
{
    const zt_jetsam_proc_t **v = malloc((r->nprocs ? r->nprocs : 1) * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < r->nprocs; i++)
        v[i] = &r->procs[i];
    qsort(v, r->nprocs, sizeof *v, cmp_footprint);
    return v;
}

static void text_proc_row(FILE *out, const zt_jetsam_proc_t *p)
{
    char b[32], pages[24], pid[16], last[256];
    snprintf(pages, sizeof pages, "%llu", (unsigned long long)p->rpages);
    snprintf(pid, sizeof pid, "%lld", (long long)p->pid);
    snprintf(last, sizeof last, "%s%s%s%s%s", p->reason ? p->reason : "",
             p->reason && p->states[0] ? " " : "", p->states[0] ? "[" : "", p->states,
             p->states[0] ? "]" : "");
    fputs(p->reason ? "* " : "  ", out);
    col(out, zt_fmt_bytes(p->footprint_bytes, b), 9, true, false);
    fputs("  ", out);
    col(out, pages, 8, true, false);
    fputs("  ", out);
    col(out, p->pid >= 0 ? pid : "-", 6, true, false);
    fputs("  ", out);
    col(out, p->name, NAME_COLUMNS, false, !last[0]);
    if (last[0]) fputs("  ", out);
    col(out, last, WIDTH - 2 - 9 - 2 - 8 - 2 - 6 - 2 - NAME_COLUMNS - 2, false, true);
    fputc('\n', out);
}

static void text_memory(FILE *out, const zt_jetsam_report_t *r)
{
    int colm = fprintf(out, "  memory     ");
    bool any = false;
    for (int k = 0; k < ZT_JETSAM_MEM_FIELDS; k++) {
        if (r->mem_pages[k] < 0) continue;
        char b[32], item[64];
        int n = snprintf(item, sizeof item, "%s%s %s", any ? ", " : "", zt_jetsam_mem_field[k],
                         zt_fmt_bytes((uint64_t)r->mem_pages[k] * r->page_bytes, b));
        if (any && colm + n > WIDTH) {
            colm = fprintf(out, ",\n             ") - 2;
            n = snprintf(item, sizeof item, "%s %s", zt_jetsam_mem_field[k],
                         zt_fmt_bytes((uint64_t)r->mem_pages[k] * r->page_bytes, b));
        }
        colm += fprintf(out, "%s", item);
        any = true;
    }
    if (!any) fprintf(out, "(no memoryStatus.memoryPages)");
    fputc('\n', out);
}

static void text_report(FILE *out, const event_t *e, const opts_t *o)
{
    const zt_jetsam_report_t *r = &e->r;
    char b[32], b2[32], os[160];
    fprintf(out, "JetsamEvent report: ");
    col(out, e->path, WIDTH, false, true);
    fprintf(out, "\n  device     ");
    col(out, r->product, 40, false, true);
    if (e->dev) fprintf(out, " = %s (%u GB RAM)", e->dev->name, e->dev->ram_mb / 1024);
    fprintf(out, "\n  OS         ");
    col(out, os_text(r, os, sizeof os), 80, false, true);
    fprintf(out, "\n  date       ");
    col(out, r->date ? r->date : "unknown", 80, false, true);
    fprintf(out, "\n  page size  %llu KiB\n", (unsigned long long)r->page_bytes >> 10);
    fprintf(out, "  largest    ");
    col(out, r->largest ? r->largest : "(not named in the report)", 80, false, true);
    fputc('\n', out);
    text_memory(out, r);

    const zt_jetsam_proc_t **v = sorted(r);
    if (!v) {
        zt_cli_error("out of memory");
        return;
    }
    size_t killed = 0;
    for (size_t i = 0; i < r->nprocs; i++)
        killed += r->procs[i].reason != NULL;
    bool all = o->all || r->nprocs <= TOP_DEFAULT;
    if (all)
        fprintf(out, "\n%zu process%s, %zu killed (*), largest first\n", r->nprocs,
                r->nprocs == 1 ? "" : "es", killed);
    else
        fprintf(out,
                "\n%zu processes, %zu killed (*); the %d largest and every killed one "
                "(--all: every process)\n",
                r->nprocs, killed, TOP_DEFAULT);
    fprintf(out, "  %9s  %8s  %6s  %-*s  reason [states]\n", "footprint", "pages", "pid",
            NAME_COLUMNS, "name");
    size_t hidden = 0;
    for (size_t i = 0; i < r->nprocs; i++) {
        if (all || i < TOP_DEFAULT || v[i]->reason || v[i] == e->proc)
            text_proc_row(out, v[i]);
        else
            hidden++;
    }
    if (hidden) fprintf(out, "  (%zu more, none killed)\n", hidden);
    free(v);

    /* The process of interest. */
    fputc('\n', out);
    if (!e->proc) {
        fprintf(out, "no process named ");
        col(out, o->process, 40, false, true);
        fprintf(out, " in this report\n");
    } else {
        const zt_jetsam_proc_t *p = e->proc;
        col(out, p->name, 40, false, true);
        if (p->pid >= 0) fprintf(out, " (pid %lld)", (long long)p->pid);
        fprintf(out, ", at the event:\n  footprint %s = %llu pages × %llu B = %llu B = %.1f MB\n",
                zt_fmt_bytes(p->footprint_bytes, b), (unsigned long long)p->rpages,
                (unsigned long long)r->page_bytes, (unsigned long long)p->footprint_bytes,
                (double)p->footprint_bytes / (double)MiB);
        if (p->lifetime_max_pages >= 0)
            fprintf(out, "  lifetime maximum %s\n",
                    zt_fmt_bytes((uint64_t)p->lifetime_max_pages * r->page_bytes, b2));
        if (e->same_name > 1)
            fprintf(out, "  (%u processes have this name; this is the %s)\n", e->same_name,
                    p->reason ? "killed one" : "largest");
        if (e->implied_mb >= 0)
            fprintf(out,
                    "  killed: per-process-limit, so its limit ≈ %ld MB\n"
                    "  (jetsam kills as the footprint passes the limit; a limit is whole MB "
                    "of 2^20 B)\n",
                    e->implied_mb);
        else if (p->reason)
            fprintf(out,
                    "  killed: %s; not a per-process-limit kill, so no limit follows from "
                    "its footprint\n",
                    p->reason);
        else
            fprintf(out, "  not killed in this event; no limit follows from its footprint\n");
    }
    if (e->dev) {
        fprintf(out, "  measured table: %s killed at %u MB of %u MB", e->dev->name,
                e->dev->limit_mb, e->dev->total_mb);
        if (e->dev->measured_os) fprintf(out, " (iOS %s)", e->dev->measured_os);
        fputc('\n', out);
    }
    sugg_t s;
    suggest(r->product, e->dev, r->os_major, e->implied_mb,
            "the per-process-limit kill in this report", &s);
    print_suggestion(out, &s, "");
}

/* Limits inferred per (process, product) over a set of events. */
typedef struct group {
    const event_t *first;
    long min_mb, max_mb;
    unsigned kills;
} group_t;

static size_t limit_groups(const event_t *ev, size_t n, group_t *g)
{
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].implied_mb < 0) continue;
        size_t k = 0;
        while (k < ng && (strcmp(g[k].first->proc->name, ev[i].proc->name) != 0 ||
                          strcmp(g[k].first->r.product, ev[i].r.product) != 0))
            k++;
        if (k == ng) g[ng++] = (group_t){&ev[i], ev[i].implied_mb, ev[i].implied_mb, 0};
        if (ev[i].implied_mb < g[k].min_mb) g[k].min_mb = ev[i].implied_mb;
        if (ev[i].implied_mb > g[k].max_mb) g[k].max_mb = ev[i].implied_mb;
        g[k].kills++;
    }
    return ng;
}

/* The part of an OS version after its last space: "iPhone OS 14.1" -> "14.1". */
static const char *os_short(const zt_jetsam_report_t *r)
{
    if (!r->os_version) return "?";
    const char *sp = strrchr(r->os_version, ' ');
    return sp ? sp + 1 : r->os_version;
}

static int maxi(int a, int b)
{
    return a > b ? a : b;
}

enum { C_FILE, C_DATE, C_PRODUCT, C_OS, C_PROC, C_FOOT, C_REASON, NCOLS };

/* The text of column c for event e. */
static const char *cell(const event_t *e, int c, const opts_t *o, char buf[64])
{
    switch (c) {
    case C_FILE: {
        /* The name without ".ips"; a long one keeps its end, where Apple
         * puts the time ("JetsamEvent-2020-11-02-101112"). */
        size_t n = strlen(e->label);
        if (n > 4 && strcmp(e->label + n - 4, ".ips") == 0) n -= 4;
        if (n > 63) {
            snprintf(buf, 64, "..%s", e->label + n - 61);
            buf[63] = 0;
            return buf;
        }
        snprintf(buf, 64, "%.*s", (int)n, e->label);
        return buf;
    }
    case C_DATE:
        return e->r.date ? e->r.date : "?";
    case C_PRODUCT:
        return e->r.product;
    case C_OS:
        return os_short(&e->r);
    case C_PROC:
        return e->proc ? e->proc->name : o->process;
    case C_FOOT:
        return e->proc ? zt_fmt_bytes(e->proc->footprint_bytes, buf) : "-";
    default:
        return !e->proc          ? "(not in this report)"
               : e->proc->reason ? e->proc->reason
                                 : "(not killed)";
    }
}

/* A file name cut to `width`, keeping its end. */
/* A file name cut to `width` columns, keeping its end. */
static void col_tail(FILE *out, const char *s, int width)
{
    int len = text_len(s);
    const unsigned char *t = (const unsigned char *)s;
    if (len > width) {
        fputs("..", out);
        width -= 2;
        while (*t && len > width) {
            len -= char_width(&t);
        }
    }
    col(out, (const char *)t, width, false, false);
}

static void text_summary(FILE *out, const event_t *ev, size_t n, const opts_t *o,
                         const char **skipped, size_t nskipped)
{
    static const char *const head[NCOLS] = {"file", "date",      "product", "OS",
                                            NULL,   "footprint", "reason"};
    static const int cap[NCOLS] = {48, 16 /* "2020-11-02 10:11" */, 12, 10, 28, 9, 40};
    int w[NCOLS];
    bool show[NCOLS];
    char b[64], b2[64];
    const char *proc_head = o->process ? "process" : "largest";
    for (int c = 0; c < NCOLS; c++) {
        w[c] = text_len(c == C_PROC ? proc_head : head[c]);
        show[c] = true;
        for (size_t i = 0; i < n; i++)
            w[c] = maxi(w[c], text_len(cell(&ev[i], c, o, b)));
        if (w[c] > cap[c] && c != C_REASON) w[c] = cap[c];
    }
    /* One device and OS (a folder from one phone): say it once, above. */
    for (int c = C_PRODUCT; c <= C_OS && n > 1; c++) {
        show[c] = false;
        for (size_t i = 1; i < n && !show[c]; i++)
            show[c] = strcmp(cell(&ev[i], c, o, b), cell(&ev[0], c, o, b2)) != 0;
    }
    if (n > 1 && (!show[C_PRODUCT] || !show[C_OS])) {
        fprintf(out, "every report:");
        if (!show[C_PRODUCT]) {
            fputc(' ', out);
            col(out, ev[0].r.product, 40, false, true);
            if (ev[0].dev) fprintf(out, " = %s", ev[0].dev->name);
            if (!show[C_OS]) fputc(',', out);
        }
        if (!show[C_OS]) {
            fputc(' ', out);
            col(out, os_text(&ev[0].r, b, sizeof b), 60, false, true);
        }
        fputs("\n\n", out);
    }
    /* Cut the process and file columns until a line fits (the reason, last,
     * is never cut). */
    for (;;) {
        int total = 0;
        for (int c = 0; c < NCOLS; c++)
            total += show[c] ? w[c] + (c ? 2 : 0) : 0;
        if (total <= WIDTH) break;
        if (w[C_PROC] > 16)
            w[C_PROC]--;
        else if (w[C_FILE] > 20)
            w[C_FILE]--;
        else if (w[C_PROC] > 10)
            w[C_PROC]--;
        else if (w[C_FILE] > 12)
            w[C_FILE]--;
        else
            break;
    }
    for (int c = 0; c < NCOLS; c++) {
        if (!show[c]) continue;
        if (c) fputs("  ", out);
        col(out, c == C_PROC ? proc_head : head[c], w[c], c == C_FOOT, c == C_REASON);
    }
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < NCOLS; c++) {
            if (!show[c]) continue;
            if (c) fputs("  ", out);
            if (c == C_FILE)
                col_tail(out, cell(&ev[i], c, o, b), w[c]);
            else
                col(out, cell(&ev[i], c, o, b), w[c], c == C_FOOT, c == C_REASON);
        }
        fputc('\n', out);
    }
    if (nskipped) {
        fprintf(out, "\nskipped %zu report%s of another kind (bug_type not 298):", nskipped,
                nskipped == 1 ? "" : "s");
        for (size_t i = 0; i < nskipped && i < 5; i++) {
            const char *slash = strrchr(skipped[i], '/');
            fputc(' ', out);
            col(out, slash ? slash + 1 : skipped[i], 60, false, true);
        }
        fprintf(out, "%s\n", nskipped > 5 ? " ..." : "");
    }

    group_t *g = calloc(n ? n : 1, sizeof *g);
    if (!g) {
        zt_cli_error("out of memory");
        return;
    }
    size_t ng = limit_groups(ev, n, g);
    fputc('\n', out);
    if (ng == 0) {
        fprintf(out, "no per-process-limit kill of ");
        col(out, o->process ? o->process : "the largest process", 40, false, true);
        fprintf(out, " in %s: no limit inferred\n", n == 1 ? "this report" : "these reports");
    }
    for (size_t k = 0; k < ng; k++) {
        const event_t *f = g[k].first;
        fprintf(out, "limit of ");
        col(out, f->proc->name, 32, false, true);
        fprintf(out, " on ");
        col(out, f->r.product, 16, false, true);
        if (f->dev) fprintf(out, " (%s)", f->dev->name);
        if (g[k].min_mb == g[k].max_mb)
            fprintf(out, ": ≈ %ld MB", g[k].min_mb);
        else
            fprintf(out, ": ≈ %ld .. %ld MB", g[k].min_mb, g[k].max_mb);
        fprintf(out, " (%u per-process-limit kill%s)\n", g[k].kills, g[k].kills == 1 ? "" : "s");
        sugg_t s;
        suggest(f->r.product, f->dev, f->r.os_major, g[k].min_mb,
                g[k].kills == 1              ? "this kill"
                : g[k].min_mb == g[k].max_mb ? "these kills"
                                             : "the lowest of these kills",
                &s);
        print_suggestion(out, &s, "  ");
    }
    free(g);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_sugg(FILE *out, const sugg_t *s)
{
    fprintf(out, "{\"device\": ");
    zt_json_string(out, s->profile ? s->profile->name : NULL);
    if (s->limit_mb >= 0)
        fprintf(out, ", \"memory_limit_mb\": %ld, \"limit_source\": ", s->limit_mb);
    else
        fprintf(out, ", \"memory_limit_mb\": null, \"limit_source\": ");
    zt_json_string(out, s->limit_mb >= 0 ? s->limit_source : NULL);
    fprintf(out, ", \"note\": ");
    zt_json_string(out, s->note[0] ? s->note : NULL);
    fprintf(out, ", \"command\": ");
    if (!s->profile && s->limit_mb < 0) {
        fputs("null", out);
    } else {
        char cmd[160];
        int k = snprintf(cmd, sizeof cmd, "zonetrace run");
        if (s->profile)
            k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --device %s", s->profile->name);
        if (s->limit_mb >= 0)
            k += snprintf(cmd + k, sizeof cmd - (size_t)k, " --memory-limit %ldM", s->limit_mb);
        snprintf(cmd + k, sizeof cmd - (size_t)k, " -- APP");
        zt_json_string(out, cmd);
    }
    fputc('}', out);
}

static void json_proc(FILE *out, const zt_jetsam_proc_t *p, uint64_t page_bytes)
{
    fprintf(out, "{\"name\": ");
    zt_json_string(out, p->name);
    if (p->pid >= 0)
        fprintf(out, ", \"pid\": %lld", (long long)p->pid);
    else
        fprintf(out, ", \"pid\": null");
    fprintf(out, ", \"rpages\": %llu, \"footprint_bytes\": %llu", (unsigned long long)p->rpages,
            (unsigned long long)p->footprint_bytes);
    if (p->lifetime_max_pages >= 0)
        fprintf(out, ", \"lifetime_max_bytes\": %llu",
                (unsigned long long)p->lifetime_max_pages * page_bytes);
    else
        fprintf(out, ", \"lifetime_max_bytes\": null");
    fprintf(out, ", \"killed\": %s, \"reason\": ", p->reason ? "true" : "false");
    zt_json_string(out, p->reason);
    fprintf(out, ", \"states\": [");
    for (const char *s = p->states; *s;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        char *one = strndup(s, len);
        if (s != p->states) fputs(", ", out);
        zt_json_string(out, one ? one : "");
        free(one);
        s += len + (c != NULL);
    }
    fputs("]}", out);
}

static void json_report(FILE *out, const event_t *e)
{
    const zt_jetsam_report_t *r = &e->r;
    fprintf(out, "    {\"file\": ");
    zt_json_string(out, e->path);
    fprintf(out, ",\n     \"product\": ");
    zt_json_string(out, r->product);
    fprintf(out, ", \"device_name\": ");
    zt_json_string(out, e->dev ? e->dev->name : NULL);
    if (e->dev)
        fprintf(out, ", \"ram_mb\": %u, \"measured_limit_mb\": %u", e->dev->ram_mb,
                e->dev->limit_mb);
    else
        fprintf(out, ", \"ram_mb\": null, \"measured_limit_mb\": null");
    fprintf(out, ",\n     \"os_version\": ");
    zt_json_string(out, r->os_version);
    fprintf(out, ", \"build\": ");
    zt_json_string(out, r->build);
    fprintf(out, ", \"date\": ");
    zt_json_string(out, r->date);
    fprintf(out, ",\n     \"kernel\": ");
    zt_json_string(out, r->kernel);
    fprintf(out, ",\n     \"page_size\": %llu, \"largest_process\": ",
            (unsigned long long)r->page_bytes);
    zt_json_string(out, r->largest);
    fprintf(out, ",\n     \"memory_pages\": {");
    bool any = false;
    for (int k = 0; k < ZT_JETSAM_MEM_FIELDS; k++) {
        if (r->mem_pages[k] < 0) continue;
        fprintf(out, "%s\"%s\": %lld", any ? ", " : "", zt_jetsam_mem_field[k],
                (long long)r->mem_pages[k]);
        any = true;
    }
    fprintf(out, "},\n     \"process\": ");
    if (e->proc)
        json_proc(out, e->proc, r->page_bytes);
    else
        fputs("null", out);
    if (e->implied_mb >= 0)
        fprintf(out, ",\n     \"implied_limit_mb\": %ld", e->implied_mb);
    else
        fprintf(out, ",\n     \"implied_limit_mb\": null");
    sugg_t s;
    suggest(r->product, e->dev, r->os_major, e->implied_mb,
            "the per-process-limit kill in this report", &s);
    fprintf(out, ",\n     \"suggestion\": ");
    json_sugg(out, &s);
    fprintf(out, ",\n     \"processes\": [");
    const zt_jetsam_proc_t **v = sorted(r);
    for (size_t i = 0; v && i < r->nprocs; i++) {
        fputs(i ? ",\n       " : "\n       ", out);
        json_proc(out, v[i], r->page_bytes);
    }
    free(v);
    fprintf(out, "]}");
}

typedef struct failure {
    const char *path;
    char *message;
} failure_t;

static void json_all(FILE *out, const event_t *ev, size_t n, const char **skipped, size_t nskipped,
                     const failure_t *bad, size_t nbad)
{
    fprintf(out, "{\"reports\": [");
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_report(out, &ev[i]);
    }
    fprintf(out, "],\n \"skipped\": [");
    for (size_t i = 0; i < nskipped; i++) {
        if (i) fputs(", ", out);
        zt_json_string(out, skipped[i]);
    }
    fprintf(out, "],\n \"errors\": [");
    for (size_t i = 0; i < nbad; i++) {
        fputs(i ? ",\n   " : "\n   ", out);
        fprintf(out, "{\"file\": ");
        zt_json_string(out, bad[i].path);
        fprintf(out, ", \"error\": ");
        zt_json_string(out, bad[i].message);
        fputc('}', out);
    }
    fprintf(out, "],\n \"limits\": [");
    group_t *g = calloc(n ? n : 1, sizeof *g);
    size_t ng = g ? limit_groups(ev, n, g) : 0;
    for (size_t k = 0; k < ng; k++) {
        const event_t *f = g[k].first;
        fputs(k ? ",\n   " : "\n   ", out);
        fprintf(out, "{\"process\": ");
        zt_json_string(out, f->proc->name);
        fprintf(out, ", \"product\": ");
        zt_json_string(out, f->r.product);
        fprintf(out,
                ", \"kills\": %u, \"min_mb\": %ld, \"max_mb\": %ld, \"suggestion\": ", g[k].kills,
                g[k].min_mb, g[k].max_mb);
        sugg_t s;
        suggest(f->r.product, f->dev, f->r.os_major, g[k].min_mb,
                g[k].kills == 1              ? "this kill"
                : g[k].min_mb == g[k].max_mb ? "these kills"
                                             : "the lowest of these kills",
                &s);
        json_sugg(out, &s);
        fputc('}', out);
    }
    free(g);
    fprintf(out, "]}\n");
}

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
