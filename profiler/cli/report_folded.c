/* ----------------------------------------------------------------------------
 * report_folded.c — "outer;...;inner COST" lines for flamegraph.pl,
 * speedscope and the like: one line per stack, COST the --sort key (live
 * bytes at the --at moment by default; bytes or counts), the
 * allocator's own frames left out. A ';' inside a name would split a frame,
 * so it becomes ':'. C++ names are shortened (shorten.c).
 *
 * --top N keeps the N costliest lines (all by default: flame graph tools
 * want the whole picture); --depth D keeps each stack's D innermost user
 * frames. --by zone writes "ZONE COST" lines, --by class "ZONE;CLASS COST"
 * (the keys `zonetrace diff --format folded` uses), --by region
 * "KIND;ZONE;0xBASE BYTES"; rows with no cost are left out.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include "sizeclass.h"

#include <stdlib.h>

static void name(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == ';' ? ':' : *s == '\n' ? ' ' : *s, out);
}

static void rows(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    unsigned n;
    zt_report_row_t *row = zt_report_rows(r, r->opt.by, &n);
    unsigned top = zt_report_top(r, 0), shown = 0;
    for (unsigned i = 0; i < n && (!top || shown < top); i++) {
        const zt_report_row_t *w = &row[i];
        if (!w->key) continue;
        if (w->region >= 0) {
            const zt_m_region_t *g = &m->regions[w->region];
            name(out, zt_report_kind_name(g->kind));
            fputc(';', out);
            name(out, zt_report_zone_name(m, g->zone));
            fprintf(out, ";0x%llx", (unsigned long long)g->base);
        } else {
            name(out, zt_report_zone_name(m, w->zone));
            if (w->cls >= 0) {
                unsigned cls = m->zones[w->zone].classes[w->cls].cls;
                fputc(';', out);
                name(out, cls < ZT_CLASS_COUNT ? zt_class_name(cls) : "?");
            }
        }
        fprintf(out, " %llu\n", (unsigned long long)w->key);
        shown++;
    }
    free(row);
}

void zt_report_folded(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    if (r->opt.by != ZT_BY_STACK) {
        rows(out, r);
        return;
    }
    unsigned n;
    int sort = zt_report_sort_of(r);
    if (sort == ZT_SORT_VA && r->opt.sort == ZT_SORT_AUTO) sort = ZT_SORT_LIVE; /* as before */
    unsigned *idx = zt_report_sorted_stacks_by(m, sort, &n);
    unsigned top = zt_report_top(r, 0);
    if (top && top < n) n = top;
    char buf[1024];
    for (unsigned i = 0; i < n; i++) {
        const zt_m_stack_t *st = &m->stacks[idx[i]];
        zt_rframes_t f = zt_report_frames(r, st->id, false);
        if (r->opt.folded_prefix) fputs(r->opt.folded_prefix, out); /* "python3;pid 123;" */
        unsigned end = zt_report_depth_end(r, &f);
        if (f.first >= f.end) {
            fprintf(out, "[stack %u]", st->id);
        } else {
            for (unsigned k = end; k-- > f.first;) {
                name(out, zt_report_frame_short(&f.v[k], buf, sizeof buf));
                if (k > f.first) fputc(';', out);
            }
        }
        fprintf(out, " %llu\n", (unsigned long long)zt_report_sort_key(st, sort));
        zt_rframes_free(&f);
    }
    free(idx);
}
