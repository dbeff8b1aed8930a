/* ----------------------------------------------------------------------------
 * report_folded.c — "outer;...;inner COST" lines for flamegraph.pl,
 * speedscope and the like: one line per stack, COST the --sort key (live
 * bytes at the --at moment by default; bytes or counts), the
 * allocator's own frames left out. A ';' inside a name would split a frame,
 * so it becomes ':'.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <stdlib.h>

static void frame_name(FILE *out, const zt_sym_frame_t *f)
{
    for (const char *p = zt_sym_short(f); *p; p++)
        fputc(*p == ';' ? ':' : *p == '\n' ? ' ' : *p, out);
}

void zt_report_folded(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    unsigned n;
    int sort = zt_report_sort_of(r);
    if (sort == ZT_SORT_VA && r->opt.sort == ZT_SORT_AUTO) sort = ZT_SORT_LIVE; /* as before */
    unsigned *idx = zt_report_sorted_stacks_by(m, sort, &n);
    for (unsigned i = 0; i < n; i++) {
        const zt_m_stack_t *st = &m->stacks[idx[i]];
        zt_rframes_t f = zt_report_frames(r, st->id, false);
        if (r->opt.folded_prefix) fputs(r->opt.folded_prefix, out); /* "python3;pid 123;" */
        if (f.first >= f.end) {
            fprintf(out, "[stack %u]", st->id);
        } else {
            for (unsigned k = f.end; k-- > f.first;) {
                frame_name(out, &f.v[k]);
                if (k > f.first) fputc(';', out);
            }
        }
        fprintf(out, " %llu\n", (unsigned long long)zt_report_sort_key(st, sort));
        zt_rframes_free(&f);
    }
    free(idx);
}
