/* ----------------------------------------------------------------------------
 * cmd_diff.c — `zonetrace diff A B`: what grew and what shrank from record A
 * to record B, by stack, zone or size class, in text, JSON, folded and HTML.
 *
 * Stack ids are per record (a hash of return addresses, which ASLR and a
 * rebuild change), so stacks are matched by their symbolized frames: the
 * chain of function names (module+offset where there are no symbols) from
 * the outermost interesting frame to the innermost, the same key a folded
 * line has. Line numbers are left out of the key on purpose, so that a
 * rebuild that moved code still matches (heaptrack's diff matches by
 * symbol too). Stacks of one record with the same key are summed. Zones
 * match by name, classes by zone name and class name.
 *
 * Reads records only through zt_model_read (model.h); the CLI may malloc.
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include "options.h"
#include "sizeclass.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum diff_metric { M_LIVE, M_ALLOCATED, M_COUNT, M_PEAK, M_VA, M_COUNT_ };
static const char *const metric_names[] = {"live", "allocated", "count", "peak", "address-space"};
static const char *const metric_words[] = {"live bytes at the end", "bytes allocated",
                                           "allocations", "peak live bytes",
                                           "address space charged"};
static const char *const metric_json[] = {"live_bytes", "total_bytes", "total_blocks", "peak_bytes",
                                          "va_bytes"};

typedef struct diff_row {
    char *key;     /* folded frames, zone name, or "zone;class" */
    char *label;   /* for text and HTML: innermost frames first */
    char **frames; /* stacks: the frames described, innermost first (JSON) */
    unsigned nframes;
    zt_m_counters_t c[2]; /* A, B */
} diff_row_t;

typedef struct diff {
    diff_row_t *v;
    unsigned n, cap;
    unsigned *index, icap; /* row number + 1 by key hash; 0 = empty */
} diff_t;

typedef struct diff_opts {
    int by, format, metric;
    unsigned top;
} diff_opts_t;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        zt_cli_error("diff: out of memory");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static void counters_add(zt_m_counters_t *to, const zt_m_counters_t *c)
{
    to->live_blocks += c->live_blocks;
    to->live_bytes += c->live_bytes;
    to->total_blocks += c->total_blocks;
    to->total_bytes += c->total_bytes;
    to->peak_bytes += c->peak_bytes; /* a sum of peaks: an upper bound when merged */
    to->va_bytes += c->va_bytes;
}

static uint64_t metric_of(const zt_m_counters_t *c, int metric)
{
    switch (metric) {
    case M_ALLOCATED:
        return c->total_bytes;
    case M_COUNT:
        return c->total_blocks;
    case M_PEAK:
        return c->peak_bytes;
    case M_VA:
        return c->va_bytes;
    default:
        return c->live_bytes;
    }
}

static uint64_t key_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

/* Rows are found through an open-addressing index of row numbers (+1),
 * kept at most half full: cc1's 30k stacks per record stay linear. */
static void index_grow(diff_t *d)
{
    unsigned cap = d->icap ? d->icap * 2 : 256;
    unsigned *ix = calloc(cap, sizeof *ix);
    if (!ix) {
        zt_cli_error("diff: out of memory");
        exit(1);
    }
    for (unsigned i = 0; i < d->n; i++) {
        unsigned h = (unsigned)key_hash(d->v[i].key) & (cap - 1);
        while (ix[h])
            h = (h + 1) & (cap - 1);
        ix[h] = i + 1;
    }
    free(d->index);
    d->index = ix;
    d->icap = cap;
}

static diff_row_t *row_for(diff_t *d, const char *key)
{
    if ((d->n + 1) * 2 > d->icap) index_grow(d);
    unsigned h = (unsigned)key_hash(key) & (d->icap - 1);
    for (; d->index[h]; h = (h + 1) & (d->icap - 1))
        if (strcmp(d->v[d->index[h] - 1].key, key) == 0) return &d->v[d->index[h] - 1];
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        diff_row_t *nv = realloc(d->v, d->cap * sizeof *nv);
        if (!nv) {
            zt_cli_error("diff: out of memory");
            exit(1);
        }
        d->v = nv;
    }
    d->index[h] = d->n + 1;
    diff_row_t *r = &d->v[d->n++];
    memset(r, 0, sizeof *r);
    r->key = xstrdup(key);
    return r;
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        char *ns = realloc(b->s, b->cap);
        if (!ns) {
            zt_cli_error("diff: out of memory");
            exit(1);
        }
        b->s = ns;
    }
    memcpy(b->s + b->n, s, k + 1);
    b->n += k;
}

/* A frame's name in a key: ';' would split a folded frame. */
static void sb_frame(sbuf_t *b, const zt_sym_frame_t *f)
{
    char name[512];
    snprintf(name, sizeof name, "%s", zt_sym_short(f));
    for (char *p = name; *p; p++)
        if (*p == ';' || *p == '\n') *p = ':';
    sb_put(b, name);
}

static void add_stacks(diff_t *d, zt_report_t *r, int side)
{
    const zt_model_t *m = r->m;
    for (unsigned i = 0; i < m->nstacks; i++) {
        const zt_m_stack_t *st = &m->stacks[i];
        if (!st->total.total_blocks && !st->total.live_bytes && !st->total.va_bytes) continue;
        zt_rframes_t f = zt_report_frames(r, st->id, false);
        sbuf_t key = {0}, label = {0};
        if (f.first >= f.end) {
            sb_put(&key, "[no frames]");
            sb_put(&label, "[no frames]");
        }
        for (unsigned k = f.end; k-- > f.first;) {
            sb_frame(&key, &f.v[k]);
            if (k > f.first) sb_put(&key, ";");
        }
        unsigned shown = 0;
        for (unsigned k = f.first; k < f.end && shown < 3; k++, shown++) {
            if (shown) sb_put(&label, " < ");
            sb_put(&label, zt_sym_short(&f.v[k]));
        }
        if (f.end - f.first > 3) sb_put(&label, " < ...");
        diff_row_t *row = row_for(d, key.s);
        if (!row->label) {
            row->label = label.s;
            row->nframes = f.end > f.first ? f.end - f.first : 0;
            row->frames = xmalloc((row->nframes + 1) * sizeof *row->frames);
            for (unsigned k = 0; k < row->nframes; k++)
                row->frames[k] = xstrdup(zt_sym_describe(&f.v[f.first + k]));
        } else {
            free(label.s);
        }
        counters_add(&row->c[side], &st->total);
        free(key.s);
        zt_rframes_free(&f);
    }
}

static void add_zones(diff_t *d, const zt_model_t *m, int side, bool classes)
{
    for (unsigned i = 0; i < m->nzones; i++) {
        const zt_m_zone_t *z = &m->zones[i];
        const char *zname = zt_report_zone_name(m, (int)i);
        if (!classes) {
            diff_row_t *row = row_for(d, zname);
            if (!row->label) row->label = xstrdup(zname);
            counters_add(&row->c[side], &z->c);
            continue;
        }
        for (unsigned c = 0; c < z->nclasses; c++) {
            const zt_m_class_t *k = &z->classes[c];
            char key[256];
            snprintf(key, sizeof key, "%s;%s", zname,
                     k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?");
            diff_row_t *row = row_for(d, key);
            if (!row->label) {
                snprintf(key, sizeof key, "%s in %s",
                         k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?", zname);
                row->label = xstrdup(key);
            }
            counters_add(&row->c[side], &k->c);
        }
    }
}

static int sort_metric;

static int64_t delta_of(const diff_row_t *r, int metric)
{
    return (int64_t)(metric_of(&r->c[1], metric) - metric_of(&r->c[0], metric));
}

/* Biggest change first (growth before an equal shrink), then the key. */
static int cmp_rows(const void *a, const void *b)
{
    const diff_row_t *x = a, *y = b;
    int64_t dx = delta_of(x, sort_metric), dy = delta_of(y, sort_metric);
    uint64_t ax = dx < 0 ? (uint64_t)-dx : (uint64_t)dx, ay = dy < 0 ? (uint64_t)-dy : (uint64_t)dy;
    if (ax != ay) return ax > ay ? -1 : 1;
    if (dx != dy) return dx > dy ? -1 : 1;
    return strcmp(x->key, y->key);
}

static bool metric_is_count(int metric)
{
    return metric == M_COUNT;
}

/* "+1.5 MiB", "-12 B", "+300" */
static const char *fmt_delta(int64_t d, int metric, char buf[40])
{
    char b[32];
    uint64_t a = d < 0 ? (uint64_t)-d : (uint64_t)d;
    if (d == 0)
        snprintf(buf, 40, "0");
    else if (metric_is_count(metric))
        snprintf(buf, 40, "%c%" PRIu64, d < 0 ? '-' : '+', a);
    else
        snprintf(buf, 40, "%c%s", d < 0 ? '-' : '+', zt_fmt_bytes(a, b));
    return buf;
}

static const char *fmt_value(uint64_t v, int metric, char buf[32])
{
    if (metric_is_count(metric)) {
        snprintf(buf, 32, "%" PRIu64, v);
        return buf;
    }
    return zt_fmt_bytes(v, buf);
}

static void totals(const zt_model_t *m, zt_m_counters_t *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < m->nzones; i++)
        counters_add(t, &m->zones[i].c);
}

static const char *by_name(int by)
{
    return by == ZT_BY_ZONE ? "zone" : by == ZT_BY_CLASS ? "class" : "stack";
}

static const char *record_what(const zt_model_t *m)
{
    return m->exe ? m->exe : "?";
}

static unsigned changed_rows(const diff_t *d, int metric)
{
    unsigned n = 0;
    while (n < d->n && delta_of(&d->v[n], metric) != 0)
        n++;
    return n;
}

static void out_text(FILE *out, const diff_t *d, const zt_model_t *ma, const zt_model_t *mb,
                     const char *pa, const char *pb, const diff_opts_t *o)
{
    zt_m_counters_t ta, tb;
    totals(ma, &ta);
    totals(mb, &tb);
    fprintf(out, "zonetrace diff\n  A: %s (%s, device %s)\n  B: %s (%s, device %s)\n", pa,
            record_what(ma), ma->device ? ma->device : "?", pb, record_what(mb),
            mb->device ? mb->device : "?");
    if (ma->stacks_mode == ZT_STACKS_SAMPLE || mb->stacks_mode == ZT_STACKS_SAMPLE)
        fprintf(out, "  (a sampled record: its stack figures are estimates)\n");
    fprintf(out, "\ntotals, all zones        %12s %12s %12s\n", "A", "B", "change");
    for (int k = 0; k < M_COUNT_; k++) {
        if (k == M_PEAK) continue; /* a sum of per-zone peaks is no peak */
        char b1[32], b2[32], b3[40];
        uint64_t a = metric_of(&ta, k), b = metric_of(&tb, k);
        fprintf(out, "  %-22s %12s %12s %12s\n", metric_words[k], fmt_value(a, k, b1),
                fmt_value(b, k, b2), fmt_delta((int64_t)(b - a), k, b3));
    }
    unsigned changed = changed_rows(d, o->metric);
    unsigned top = changed < o->top ? changed : o->top;
    fprintf(out, "\n%ss by change in %s (%u of %u changed)\n", by_name(o->by),
            metric_words[o->metric], top, changed);
    if (!changed) {
        fprintf(out, "  no change\n");
        return;
    }
    fprintf(out, "  %12s %12s %12s  %s\n", "change", "A", "B", by_name(o->by));
    for (unsigned i = 0; i < top; i++) {
        const diff_row_t *r = &d->v[i];
        char b1[40], b2[32], b3[32];
        uint64_t a = metric_of(&r->c[0], o->metric), b = metric_of(&r->c[1], o->metric);
        fprintf(out, "  %12s %12s %12s  %s%s\n", fmt_delta((int64_t)(b - a), o->metric, b1),
                fmt_value(a, o->metric, b2), fmt_value(b, o->metric, b3), r->label,
                a == 0   ? "  (new in B)"
                : b == 0 ? "  (gone in B)"
                         : "");
    }
}

static void json_counters(FILE *out, const zt_m_counters_t *c)
{
    fprintf(
        out,
        "{\"live_bytes\": %" PRIu64 ", \"live_blocks\": %" PRIu64 ", \"total_bytes\": %" PRIu64
        ", \"total_blocks\": %" PRIu64 ", \"peak_bytes\": %" PRIu64 ", \"va_bytes\": %" PRIu64 "}",
        c->live_bytes, c->live_blocks, c->total_bytes, c->total_blocks, c->peak_bytes, c->va_bytes);
}

static void out_json(FILE *out, const diff_t *d, const zt_model_t *ma, const zt_model_t *mb,
                     const char *pa, const char *pb, const diff_opts_t *o)
{
    zt_m_counters_t t[2];
    totals(ma, &t[0]);
    totals(mb, &t[1]);
    const char *paths[2] = {pa, pb};
    const zt_model_t *ms[2] = {ma, mb};
    fprintf(out, "{\n  \"zonetrace_diff\": 1,\n  \"by\": \"%s\",\n  \"sort\": \"%s\",\n",
            by_name(o->by), metric_names[o->metric]);
    fprintf(out, "  \"metric\": \"%s\",\n", metric_json[o->metric]);
    for (int s = 0; s < 2; s++) {
        fprintf(out, "  \"%c\": {\"path\": ", s ? 'b' : 'a');
        zt_json_string(out, paths[s]);
        fprintf(out, ", \"exe\": ");
        zt_json_string(out, ms[s]->exe);
        fprintf(out, ", \"device\": ");
        zt_json_string(out, ms[s]->device);
        fprintf(out, ", \"estimated\": %s, \"totals\": ",
                ms[s]->stacks_mode == ZT_STACKS_SAMPLE ? "true" : "false");
        json_counters(out, &t[s]);
        fprintf(out, "},\n");
    }
    unsigned changed = changed_rows(d, o->metric);
    unsigned top = changed < o->top ? changed : o->top;
    fprintf(out, "  \"changed\": %u,\n  \"shown\": %u,\n  \"rows\": [", changed, top);
    for (unsigned i = 0; i < top; i++) {
        const diff_row_t *r = &d->v[i];
        fprintf(out, "%s\n    {\"key\": ", i ? "," : "");
        zt_json_string(out, r->key);
        if (o->by == ZT_BY_STACK) {
            fprintf(out, ", \"frames\": [");
            for (unsigned k = 0; k < r->nframes; k++) {
                if (k) fprintf(out, ", ");
                zt_json_string(out, r->frames[k]);
            }
            fprintf(out, "]");
        }
        fprintf(out, ", \"delta\": %" PRId64 ", \"a\": ", delta_of(r, o->metric));
        json_counters(out, &r->c[0]);
        fprintf(out, ", \"b\": ");
        json_counters(out, &r->c[1]);
        fprintf(out, "}");
    }
    fprintf(out, "\n  ]\n}\n");
}

/* Brendan Gregg's difffolded.pl format, which flamegraph.pl draws as a
 * differential flame graph: "frames valueA valueB". */
static void out_folded(FILE *out, const diff_t *d, const diff_opts_t *o)
{
    unsigned changed = changed_rows(d, o->metric);
    unsigned top = changed < o->top ? changed : o->top;
    for (unsigned i = 0; i < top; i++)
        fprintf(out, "%s %" PRIu64 " %" PRIu64 "\n", d->v[i].key,
                metric_of(&d->v[i].c[0], o->metric), metric_of(&d->v[i].c[1], o->metric));
}

static void out_html(FILE *out, const diff_t *d, const zt_model_t *ma, const zt_model_t *mb,
                     const char *pa, const char *pb, const diff_opts_t *o)
{
    unsigned changed = changed_rows(d, o->metric);
    unsigned top = changed < o->top ? changed : o->top;
    uint64_t biggest = 1;
    for (unsigned i = 0; i < top; i++) {
        int64_t x = delta_of(&d->v[i], o->metric);
        uint64_t ax = x < 0 ? (uint64_t)-x : (uint64_t)x;
        if (ax > biggest) biggest = ax;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>zonetrace diff</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}\n"
          "td.l,th.l{text-align:left;font-family:ui-monospace,monospace}\n"
          "tr:nth-child(even){background:#f4f4f4}\n"
          ".bar{display:inline-block;height:10px}.g{background:#c0392b}.s{background:#2e86c1}\n"
          "</style></head><body>\n<h1>zonetrace diff</h1>\n<p>A: ",
          out);
    zt_html_text(out, pa);
    fputs(" (", out);
    zt_html_text(out, record_what(ma));
    fputs(")<br>B: ", out);
    zt_html_text(out, pb);
    fputs(" (", out);
    zt_html_text(out, record_what(mb));
    fprintf(out, ")</p>\n<h2>%ss by change in %s (%u of %u changed)</h2>\n", by_name(o->by),
            metric_words[o->metric], top, changed);
    fputs("<p>Red grew from A to B, blue shrank.</p>\n<table>\n<tr><th>change</th><th>A</th>"
          "<th>B</th><th></th><th class=\"l\">",
          out);
    fprintf(out, "%s</th></tr>\n", by_name(o->by));
    for (unsigned i = 0; i < top; i++) {
        const diff_row_t *r = &d->v[i];
        char b1[40], b2[32], b3[32];
        uint64_t a = metric_of(&r->c[0], o->metric), b = metric_of(&r->c[1], o->metric);
        int64_t x = (int64_t)(b - a);
        uint64_t ax = x < 0 ? (uint64_t)-x : (uint64_t)x;
        fprintf(out,
                "<tr><td>%s</td><td>%s</td><td>%s</td><td><span class=\"bar %s\" "
                "style=\"width:%upx\"></span></td><td class=\"l\" title=\"",
                fmt_delta(x, o->metric, b1), fmt_value(a, o->metric, b2),
                fmt_value(b, o->metric, b3), x < 0 ? "s" : "g",
                (unsigned)(1 + 200.0 * (double)ax / (double)biggest));
        zt_html_text(out, r->key);
        fputs("\">", out);
        zt_html_text(out, r->label);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n</body></html>\n", out);
}

/* A record whose process ran exec is followed to its last image
 * (<record>.exec.zt, hooks.c), as `report` does: `run -- python3` through
 * env and a shim leaves env's record under the name the user gave, and a
 * diff of two env records says "no change". *used is the record compared
 * (path itself, or a malloc'd name of the image it became). */
static bool read_one(const char *path, zt_model_t *m, char **used)
{
    char err[1024];
    *used = NULL;
    memset(m, 0, sizeof *m);
    if (!zt_model_load(path, m, err, sizeof err)) {
        for (char *p = err; *p; p++)
            if (*p == '\n') *p = ' ';
        zt_cli_error("%s", err[0] ? err : "cannot read the record");
        return false;
    }
    for (unsigned hops = 0; m->term.state == ZT_TERM_EXECED && hops < 64; hops++) {
        const char *cur = *used ? *used : path;
        size_t n = strlen(cur) + sizeof ".exec.zt";
        char *next = malloc(n);
        zt_model_t nm;
        memset(&nm, 0, sizeof nm);
        if (!next) break;
        snprintf(next, n, "%s.exec.zt", cur);
        if (access(next, R_OK) != 0 || !zt_model_load(next, &nm, err, sizeof err) ||
            nm.pid != m->pid) {
            zt_model_free(&nm);
            free(next);
            break; /* the image left no readable record: compare the one we have */
        }
        zt_model_free(m);
        *m = nm;
        free(*used);
        *used = next;
    }
    return true;
}

static int pick_name(const char *opt, const char *v, const char *const *names, int count)
{
    for (int k = 0; k < count; k++)
        if (strcmp(v, names[k]) == 0) return k;
    zt_cli_error("diff: %s %s: not one of the choices (see zonetrace diff --help)", opt, v);
    return -1;
}

int zt_cli_diff(int argc, char **argv)
{
    static const char *const bys[] = {"stack", "zone", "class"};
    static const char *const formats[] = {"text", "json", "folded", "html"};
    diff_opts_t o = {.by = ZT_BY_STACK, .format = ZT_FMT_TEXT, .metric = M_LIVE, .top = 20};
    const char *files[2] = {NULL, NULL}, *out_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(zt_cli_help_text("diff"), stdout);
            return 0;
        }
        static const char *const valued[] = {"--by",     "--sort", "--top",
                                             "--format", "-o",     "--output"};
        const char *name = NULL;
        for (unsigned k = 0; k < sizeof valued / sizeof *valued && !name; k++) {
            size_t n = strlen(valued[k]);
            if (strncmp(a, valued[k], n) == 0 && (a[n] == 0 || a[n] == '=')) {
                name = valued[k];
                if (a[n] == '=') {
                    v = a + n + 1;
                } else if (i + 1 < argc) {
                    v = argv[++i];
                } else {
                    zt_cli_error("diff: %s needs a value", name);
                    return ZT_CLI_EXIT_USAGE;
                }
            }
        }
        if (name && strcmp(name, "--by") == 0) {
            if ((o.by = pick_name(name, v, bys, 3)) < 0) return ZT_CLI_EXIT_USAGE;
        } else if (name && strcmp(name, "--sort") == 0) {
            if ((o.metric = pick_name(name, v, metric_names, M_COUNT_)) < 0)
                return ZT_CLI_EXIT_USAGE;
        } else if (name && strcmp(name, "--format") == 0) {
            if ((o.format = pick_name(name, v, formats, 4)) < 0) return ZT_CLI_EXIT_USAGE;
        } else if (name && strcmp(name, "--top") == 0) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || errno || n < 1 || n > 1000000) {
                zt_cli_error("diff: --top %s: expected a number from 1 to 1000000", v);
                return ZT_CLI_EXIT_USAGE;
            }
            o.top = (unsigned)n;
        } else if (name) {
            out_path = v;
        } else if (a[0] == '-' && a[1]) {
            zt_cli_error("diff: unknown option %s (see zonetrace diff --help)", a);
            return ZT_CLI_EXIT_USAGE;
        } else if (!files[0]) {
            files[0] = a;
        } else if (!files[1]) {
            files[1] = a;
        } else {
            zt_cli_error("diff: two record files, A and B (a third: %s)", a);
            return ZT_CLI_EXIT_USAGE;
        }
    }
    if (!files[1]) {
        zt_cli_error("diff: which two records? (zonetrace diff A.zt B.zt)");
        return ZT_CLI_EXIT_USAGE;
    }
    zt_model_t m[2];
    char *followed[2] = {NULL, NULL};
    if (!read_one(files[0], &m[0], &followed[0])) return ZT_CLI_EXIT_USAGE;
    if (!read_one(files[1], &m[1], &followed[1])) {
        zt_model_free(&m[0]);
        free(followed[0]);
        return ZT_CLI_EXIT_USAGE;
    }
    for (int s = 0; s < 2; s++)
        if (followed[s]) files[s] = followed[s];
    FILE *out = stdout;
    if (out_path && strcmp(out_path, "-") != 0 && !(out = fopen(out_path, "w"))) {
        zt_cli_error("diff: %s: %s", out_path, strerror(errno));
        zt_model_free(&m[0]);
        zt_model_free(&m[1]);
        free(followed[0]);
        free(followed[1]);
        return ZT_CLI_EXIT_USAGE;
    }
    diff_t d = {0};
    zt_report_t r[2];
    for (int s = 0; s < 2; s++) {
        memset(&r[s], 0, sizeof r[s]);
        r[s].m = &m[s];
        r[s].opt.path = files[s];
        r[s].sym = o.by == ZT_BY_STACK ? zt_sym_open(&m[s], false) : NULL;
        if (o.by == ZT_BY_STACK)
            add_stacks(&d, &r[s], s);
        else
            add_zones(&d, &m[s], s, o.by == ZT_BY_CLASS);
    }
    sort_metric = o.metric;
    if (d.n) qsort(d.v, d.n, sizeof *d.v, cmp_rows);
    switch (o.format) {
    case ZT_FMT_JSON:
        out_json(out, &d, &m[0], &m[1], files[0], files[1], &o);
        break;
    case ZT_FMT_FOLDED:
        out_folded(out, &d, &o);
        break;
    case ZT_FMT_HTML:
        out_html(out, &d, &m[0], &m[1], files[0], files[1], &o);
        break;
    default:
        out_text(out, &d, &m[0], &m[1], files[0], files[1], &o);
    }
    int rc = zt_cli_close_output(out, out_path);
    for (unsigned i = 0; i < d.n; i++) {
        free(d.v[i].key);
        free(d.v[i].label);
        for (unsigned k = 0; k < d.v[i].nframes; k++)
            free(d.v[i].frames[k]);
        free(d.v[i].frames);
    }
    free(d.v);
    free(d.index);
    for (int s = 0; s < 2; s++) {
        if (r[s].sym) zt_sym_close(r[s].sym);
        zt_model_free(&m[s]);
        free(followed[s]);
    }
    return rc;
}
