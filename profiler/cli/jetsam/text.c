/* ----------------------------------------------------------------------------
 * jetsam/text.c — the terminal output of `zonetrace jetsam`: one report
 * (device, memory, processes, the chosen process and the suggestion) and the
 * one-line-per-event summary of a folder.
 *
 * A part of cmd_jetsam.c, #included there: it sees that file's types (event,
 * suggestion, options) and has no includes of its own.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CMD_JETSAM_C
#error "this file is a part of cmd_jetsam.c and is only included from there"
#endif

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
