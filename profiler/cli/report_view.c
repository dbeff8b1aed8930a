/* ----------------------------------------------------------------------------
 * report_view.c — what --top, --depth, --by and --sort mean, once for the
 * four formats: how many stacks or rows a format shows, how many frames of
 * each, and the ranked rows of --by zone / class / region. Each format only
 * draws what these give it, so text, JSON, folded and HTML agree on which
 * rows come first and how many there are.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <stdlib.h>

unsigned zt_report_top(const zt_report_t *r, unsigned dflt)
{
    return r->opt.top_given ? r->opt.top : dflt;
}

unsigned zt_report_depth_end(const zt_report_t *r, const zt_rframes_t *f)
{
    if (!r->opt.depth || f->first >= f->end) return f->end;
    return f->end - f->first > r->opt.depth ? f->first + r->opt.depth : f->end;
}

uint64_t zt_report_counter_key(const zt_m_counters_t *c, int sort)
{
    switch (sort) {
    case ZT_SORT_PEAK:
        return c->peak_bytes;
    case ZT_SORT_ALLOCATED:
        return c->total_bytes;
    case ZT_SORT_COUNT:
        return c->total_blocks;
    case ZT_SORT_TEMPORARY:
        return c->temp_blocks;
    case ZT_SORT_VA:
        return c->va_bytes;
    default: /* live, leaks, first-failure: the counters are the moment's */
        return c->live_bytes;
    }
}

int zt_report_row_sort(const zt_report_t *r)
{
    return r->opt.sort == ZT_SORT_AUTO ? ZT_SORT_LIVE : r->opt.sort;
}

const char *zt_report_by_name(int by)
{
    switch (by) {
    case ZT_BY_ZONE:
        return "zone";
    case ZT_BY_CLASS:
        return "class";
    case ZT_BY_REGION:
        return "region";
    default:
        return "stack";
    }
}

static int cmp_rows(const void *a, const void *b)
{
    const zt_report_row_t *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    if (x->base != y->base) return x->base < y->base ? -1 : 1;
    if (x->zone != y->zone) return x->zone < y->zone ? -1 : 1;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    return (x->region > y->region) - (x->region < y->region);
}

zt_report_row_t *zt_report_rows(const zt_report_t *r, int by, unsigned *count)
{
    const zt_model_t *m = r->m;
    int sort = zt_report_row_sort(r);
    size_t n = 0;
    if (by == ZT_BY_ZONE)
        n = m->nzones;
    else if (by == ZT_BY_REGION)
        n = m->nregions;
    else
        for (unsigned i = 0; i < m->nzones; i++)
            n += m->zones[i].nclasses;
    zt_report_row_t *rows = calloc(n + 1, sizeof *rows);
    if (!rows) abort();
    n = 0;
    if (by == ZT_BY_ZONE) {
        for (unsigned i = 0; i < m->nzones; i++)
            rows[n++] = (zt_report_row_t){
                (int)i, -1, -1, &m->zones[i].c, zt_report_counter_key(&m->zones[i].c, sort), 0};
    } else if (by == ZT_BY_REGION) {
        for (unsigned i = 0; i < m->nregions; i++)
            rows[n++] = (zt_report_row_t){m->regions[i].zone, -1, (int)i, NULL, m->regions[i].bytes,
                                          m->regions[i].base};
    } else {
        for (unsigned i = 0; i < m->nzones; i++)
            for (unsigned c = 0; c < m->zones[i].nclasses; c++)
                rows[n++] =
                    (zt_report_row_t){(int)i,
                                      (int)c,
                                      -1,
                                      &m->zones[i].classes[c].c,
                                      zt_report_counter_key(&m->zones[i].classes[c].c, sort),
                                      0};
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    *count = (unsigned)n;
    return rows;
}
