/* ----------------------------------------------------------------------------
 * report_text.c — the terminal report: who ran, how it ended, why (one line),
 * the key events, the zones, the address-space map of a limited profile, the
 * top stacks by live bytes and by address space, and the footprint. Sized to
 * fit one screen for a common run; --by zone|class|region swaps the stack
 * section for a table of that dimension.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include "hooks.h"
#include "options.h"
#include "sizeclass.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEY_EVENTS 6
#define MAX_FRAMES 6
#define BAR_COLUMNS 72

static void header(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b[32], line[2048];
    fprintf(out, "zonetrace report: %s\n", r->opt.path ? r->opt.path : "(record)");
    fprintf(out, "command:   ");
    if (m->argc)
        for (unsigned i = 0; i < m->argc; i++)
            fprintf(out, "%s%s", i ? " " : "", m->argv[i] ? m->argv[i] : "");
    else
        fprintf(out, "%s", m->exe ? m->exe : "?");
    fprintf(out, "  (pid %d)\n", m->pid);
    const char *mode = m->stacks_mode == ZT_STACKS_FULL     ? "full"
                       : m->stacks_mode == ZT_STACKS_SAMPLE ? "sampled"
                                                            : "off";
    fprintf(out, "device:    %s, stacks %s", m->device ? m->device : "?", mode);
    if (m->stacks_mode == ZT_STACKS_SAMPLE)
        fprintf(out, " (every %s on average)", zt_fmt_bytes(m->sample_bytes, b));
    fprintf(out, ", %s unwinding, ran %s\n", m->unwind ? m->unwind : "?",
            zt_fmt_secs(m->duration_ns, b));
    zt_report_ending(m, line, sizeof line);
    fprintf(out, "ended:     %s\n", line);
    if (m->term.state == ZT_TERM_SIGNALED && m->term.fault_stack_id) {
        zt_rframes_t f = zt_report_frames(r, m->term.fault_stack_id, true);
        unsigned shown = 0;
        for (unsigned i = f.first; i < f.end && shown < 8; i++, shown++)
            fprintf(out, "           %s %s\n", i == f.first ? "at" : "  ", zt_sym_describe(&f.v[i]));
        zt_rframes_free(&f);
    }
    zt_report_diagnosis(r, line, sizeof line);
    fprintf(out, "diagnosis: %s\n", line);
}

static bool key_event(uint32_t t)
{
    return t == ZT_EV_NULL_RETURNED || t == ZT_EV_MAP_FAILED || t == ZT_EV_NANO_DELEGATED ||
           t == ZT_EV_NANO_RELEASED || t == ZT_EV_LIMIT || t == ZT_EV_PRESSURE;
}

static void events(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    unsigned counts[16] = {0}, nkey = 0;
    for (unsigned i = 0; i < m->nevents; i++) {
        if (m->events[i].type < 16)
            counts[m->events[i].type]++;
        nkey += key_event(m->events[i].type);
    }
    if (!nkey && !m->events_lost)
        return;
    fprintf(out, "\nkey events");
    if (nkey > MAX_KEY_EVENTS)
        fprintf(out, " (%u of %u)", MAX_KEY_EVENTS, nkey);
    fprintf(out, "\n");
    char line[1024], b[32];
    /* The first and the last of each type, then the earliest others: one
     * flood of NULLs must not hide the map failure that caused it, nor the
     * last failure before a crash. Shown in time order. */
    bool *pick = calloc(m->nevents + 1, sizeof *pick);
    bool seen[16] = {false};
    unsigned shown = 0;
    if (!pick)
        abort();
    for (unsigned i = 0; i < m->nevents && shown < MAX_KEY_EVENTS; i++)
        if (key_event(m->events[i].type) && !seen[m->events[i].type])
            seen[m->events[i].type] = pick[i] = true, shown++;
    /* The last of each type: what happened just before the end. */
    bool seen_last[16] = {false};
    for (unsigned i = m->nevents; i-- > 0 && shown < MAX_KEY_EVENTS;)
        if (key_event(m->events[i].type) && !seen_last[m->events[i].type]) {
            seen_last[m->events[i].type] = true;
            if (!pick[i])
                pick[i] = true, shown++;
        }
    for (unsigned i = 0; i < m->nevents && shown < MAX_KEY_EVENTS; i++)
        if (key_event(m->events[i].type) && !pick[i])
            pick[i] = true, shown++;
    for (unsigned i = 0; i < m->nevents; i++) {
        if (!pick[i])
            continue;
        zt_report_event(r, &m->events[i], line, sizeof line);
        fprintf(out, "  %9s  %s\n", zt_fmt_secs(m->events[i].time_ns, b), line);
    }
    free(pick);
    if (nkey > shown || m->events_lost) {
        fprintf(out, "  in all:");
        const char *sep = " ";
        for (unsigned t = 0; t < 16; t++)
            if (counts[t] && key_event(t)) {
                fprintf(out, "%s%u %s", sep, counts[t], zt_event_name(t));
                sep = ", ";
            }
        if (m->events_lost)
            fprintf(out, "%s%llu older events lost", sep, (unsigned long long)m->events_lost);
        fprintf(out, "\n");
    }
}

static void zones(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32];
    fprintf(out, "\n%-28s %12s %10s %14s %12s\n", "zone", "live bytes", "blocks",
            "address space", "allocated");
    for (unsigned i = 0; i < m->nzones; i++) {
        const zt_m_zone_t *z = &m->zones[i];
        fprintf(out, "  %-26s %12s %10llu %14s %12s\n", zt_report_zone_name(m, (int)i),
                zt_fmt_bytes(z->c.live_bytes, b1), (unsigned long long)z->c.live_blocks,
                zt_fmt_bytes(z->c.va_bytes, b2), zt_fmt_bytes(z->c.total_bytes, b3));
    }
}

static const char kind_char[ZT_KIND_COUNT] = {'N', 't', 's', 'm', 'L'};

/* The character of one column: any used space shows, as the kind holding
 * most of it, because a 1 MiB tiny region in a 40 MiB column still splits
 * the holes around it; only an all-free column is '.'. */
static char column_char(const double fill[ZT_KIND_COUNT + 1])
{
    int best = -1;
    for (int j = 0; j < ZT_KIND_COUNT; j++)
        if (fill[j] > 0 && (best < 0 || fill[j] > fill[best]))
            best = j;
    return best < 0 ? '.' : kind_char[best];
}

/* One character per slice of the heap windows. */
static void va_bar(FILE *out, const zt_model_t *m)
{
    uint64_t total = 0;
    int nwin = 0;
    for (unsigned i = 0; i < m->nva_runs; i++) {
        total += m->va_runs[i].bytes;
        if (m->va_runs[i].window + 1 > nwin)
            nwin = m->va_runs[i].window + 1;
    }
    if (!total)
        return;
    char bar[BAR_COLUMNS + 8];
    unsigned col = 0;
    double per_col = (double)total / BAR_COLUMNS;
    /* Walk runs in order, accumulating bytes per kind per column. */
    double fill[ZT_KIND_COUNT + 1] = {0}, in_col = 0;
    int cur_window = m->va_runs[0].window;
    for (unsigned i = 0; i < m->nva_runs && col < BAR_COLUMNS; i++) {
        const zt_m_va_run_t *v = &m->va_runs[i];
        if (v->window != cur_window && col < BAR_COLUMNS + 4) {
            cur_window = v->window;
            bar[col++] = '|';
        }
        double left = (double)v->bytes;
        int k = v->kind < 0 || v->kind >= ZT_KIND_COUNT ? ZT_KIND_COUNT : v->kind;
        while (left > 0 && col < BAR_COLUMNS + 4) {
            double take = per_col - in_col < left ? per_col - in_col : left;
            fill[k] += take;
            in_col += take;
            left -= take;
            if (in_col >= per_col - 1e-6) {
                bar[col++] = column_char(fill);
                memset(fill, 0, sizeof fill);
                in_col = 0;
            }
        }
    }
    if (in_col > 0 && col < BAR_COLUMNS + 4) {
        bar[col++] = column_char(fill);
    }
    bar[col] = 0;
    fprintf(out, "  [%s]\n  N nano  t tiny  s small  m medium  L large  . free  | next window\n",
            bar);
}

static void address_space(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    uint64_t reserved[5], used[5];
    unsigned count[5];
    zt_report_kind_totals(m, reserved, used, count);
    char b1[32], b2[32], b3[32], b4[32];
    bool any = false;
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        any |= count[k] != 0;
    if (!any && !m->nva_runs)
        return;
    if (m->va_limit_bytes)
        fprintf(out, "\naddress space: %s of %s heap windows used (peak %s)\n",
                zt_fmt_bytes(m->va_used_bytes, b1), zt_fmt_bytes(m->va_limit_bytes, b2),
                zt_fmt_bytes(m->va_peak_bytes, b3));
    else
        fprintf(out, "\naddress space: %s used by the heap (peak %s, no limit)\n",
                zt_fmt_bytes(m->va_used_bytes, b1), zt_fmt_bytes(m->va_peak_bytes, b3));
    va_bar(out, m);
    fprintf(out, "  %-8s %8s %12s %12s %10s\n", "kind", "regions", "reserved", "live", "occupancy");
    for (int k = 0; k < ZT_KIND_COUNT; k++) {
        if (!count[k])
            continue;
        fprintf(out, "  %-8s %8u %12s %12s %9.1f %%\n", zt_kind_name((enum zt_kind)k), count[k],
                zt_fmt_bytes(reserved[k], b1), zt_fmt_bytes(used[k], b2),
                reserved[k] ? 100.0 * (double)used[k] / (double)reserved[k] : 0.0);
    }
    if (m->va_limit_bytes) {
        uint64_t free_bytes = m->va_limit_bytes > m->va_used_bytes
                                  ? m->va_limit_bytes - m->va_used_bytes
                                  : 0;
        fprintf(out, "  %-8s %8s %12s   largest hole %s, 1 MiB-aligned %s, 8 MiB-aligned %s\n",
                "free", "", zt_fmt_bytes(free_bytes, b1), zt_fmt_bytes(m->largest_free_bytes, b2),
                zt_fmt_bytes(m->largest_aligned_1m_bytes, b3),
                zt_fmt_bytes(m->largest_aligned_8m_bytes, b4));
    }
}

static void print_frames(FILE *out, zt_report_t *r, uint32_t id)
{
    zt_rframes_t f = zt_report_frames(r, id, false);
    unsigned shown = 0;
    for (unsigned i = f.first; i < f.end && shown < MAX_FRAMES; i++, shown++)
        fprintf(out, "        %s\n", zt_sym_describe(&f.v[i]));
    if (f.end - f.first > MAX_FRAMES)
        fprintf(out, "        ... %u more frames\n", f.end - f.first - MAX_FRAMES);
    if (f.first >= f.end)
        fprintf(out, "        (no frames)\n");
    zt_rframes_free(&f);
}

/* "a < b < c": a stack on one line, innermost first. */
static void one_line_frames(FILE *out, zt_report_t *r, uint32_t id, unsigned max)
{
    zt_rframes_t f = zt_report_frames(r, id, false);
    unsigned shown = 0;
    for (unsigned i = f.first; i < f.end && shown < max; i++, shown++)
        fprintf(out, "%s%s", shown ? " < " : "", zt_sym_describe(&f.v[i]));
    if (f.first >= f.end)
        fprintf(out, "(no frames)");
    fputc('\n', out);
    zt_rframes_free(&f);
}

static void stacks(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32];
    unsigned n;
    unsigned *idx = zt_report_sorted_stacks(m, false, &n);
    uint64_t live = 0;
    for (unsigned i = 0; i < m->nzones; i++)
        live += m->zones[i].c.live_bytes;
    if (m->stacks_mode == ZT_STACKS_OFF) {
        fprintf(out, "\nno stacks recorded (stacks off)\n");
        free(idx);
        return;
    }
    unsigned top = n < r->opt.top ? n : r->opt.top;
    uint64_t shown_bytes = 0;
    for (unsigned i = 0; i < top; i++)
        shown_bytes += m->stacks[idx[i]].total.live_bytes;
    fprintf(out, "\ntop stacks by live bytes (%u of %u", top, n);
    if (live)
        fprintf(out, ", %.0f %% of the live heap", 100.0 * (double)shown_bytes / (double)live);
    fprintf(out, ")%s\n", m->stacks_mode == ZT_STACKS_SAMPLE ? ", estimated from samples" : "");
    for (unsigned i = 0; i < top; i++) {
        const zt_m_stack_t *st = &m->stacks[idx[i]];
        fprintf(out, "  #%-4u %10s in %llu block%s (allocated %llu, %s)\n", st->id,
                zt_fmt_bytes(st->total.live_bytes, b1), (unsigned long long)st->total.live_blocks,
                st->total.live_blocks == 1 ? "" : "s", (unsigned long long)st->total.total_blocks,
                zt_fmt_bytes(st->total.total_bytes, b2));
        print_frames(out, r, st->id);
    }
    free(idx);

    idx = zt_report_sorted_stacks(m, true, &n);
    top = n < (r->opt.top + 1) / 2 ? n : (r->opt.top + 1) / 2;
    if (top) {
        fprintf(out, "\ntop stacks by address space charged (%u of %u)\n", top, n);
        for (unsigned i = 0; i < top; i++) {
            const zt_m_stack_t *st = &m->stacks[idx[i]];
            fprintf(out, "  #%-4u %10s  ", st->id, zt_fmt_bytes(st->total.va_bytes, b3));
            one_line_frames(out, r, st->id, 3);
        }
    }
    free(idx);
}

static void footprint(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32];
    uint64_t rss = zt_report_peak_rss(m);
    fprintf(out, "\nfootprint: peak RSS %s", zt_fmt_bytes(rss, b1));
    if (m->ram_bytes)
        fprintf(out, " of %s device RAM (%.1f %%)", zt_fmt_bytes(m->ram_bytes, b2),
                100.0 * (double)rss / (double)m->ram_bytes);
    if (m->cgroup_limit_bytes)
        fprintf(out, "; cgroup limit %s", zt_fmt_bytes(m->cgroup_limit_bytes, b3));
    else
        fprintf(out, "; no cgroup limit");
    fprintf(out, "; %u samples\n", m->ntimeline);
}

/* --by zone: each zone with its size classes. */
static void by_zone(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32];
    for (unsigned i = 0; i < m->nzones; i++) {
        const zt_m_zone_t *z = &m->zones[i];
        fprintf(out, "\nzone %s: %s live in %llu blocks, %s of address space\n",
                zt_report_zone_name(m, (int)i), zt_fmt_bytes(z->c.live_bytes, b1),
                (unsigned long long)z->c.live_blocks, zt_fmt_bytes(z->c.va_bytes, b2));
        if (!z->nclasses)
            continue;
        fprintf(out, "  %-14s %12s %10s %12s %12s %12s\n", "class", "live bytes", "blocks",
                "allocations", "allocated", "peak");
        for (unsigned c = 0; c < z->nclasses; c++) {
            const zt_m_class_t *k = &z->classes[c];
            char b3[32], b4[32];
            fprintf(out, "  %-14s %12s %10llu %12llu %12s %12s\n",
                    k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?",
                    zt_fmt_bytes(k->c.live_bytes, b1), (unsigned long long)k->c.live_blocks,
                    (unsigned long long)k->c.total_blocks, zt_fmt_bytes(k->c.total_bytes, b3),
                    zt_fmt_bytes(k->c.peak_bytes, b4));
        }
    }
}

typedef struct class_row {
    unsigned zone;
    const zt_m_class_t *k;
} class_row_t;

static int cmp_class_rows(const void *a, const void *b)
{
    const class_row_t *x = a, *y = b;
    if (x->k->c.live_bytes != y->k->c.live_bytes)
        return x->k->c.live_bytes > y->k->c.live_bytes ? -1 : 1;
    if (x->zone != y->zone)
        return x->zone < y->zone ? -1 : 1;
    return x->k->cls < y->k->cls ? -1 : x->k->cls > y->k->cls;
}

/* --by class: every (zone, class) pair by live bytes. */
static void by_class(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    unsigned n = 0;
    for (unsigned i = 0; i < m->nzones; i++)
        n += m->zones[i].nclasses;
    class_row_t *rows = malloc((n + 1) * sizeof *rows);
    if (!rows)
        abort();
    n = 0;
    for (unsigned i = 0; i < m->nzones; i++)
        for (unsigned c = 0; c < m->zones[i].nclasses; c++)
            rows[n++] = (class_row_t){i, &m->zones[i].classes[c]};
    qsort(rows, n, sizeof *rows, cmp_class_rows);
    unsigned top = n < r->opt.top ? n : r->opt.top;
    fprintf(out, "\nsize classes by live bytes (%u of %u)\n", top, n);
    fprintf(out, "  %-14s %-22s %12s %10s %12s %12s\n", "class", "zone", "live bytes", "blocks",
            "allocations", "allocated");
    char b1[32], b2[32];
    for (unsigned i = 0; i < top; i++) {
        const zt_m_class_t *k = rows[i].k;
        fprintf(out, "  %-14s %-22s %12s %10llu %12llu %12s\n",
                k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?",
                zt_report_zone_name(m, (int)rows[i].zone), zt_fmt_bytes(k->c.live_bytes, b1),
                (unsigned long long)k->c.live_blocks, (unsigned long long)k->c.total_blocks,
                zt_fmt_bytes(k->c.total_bytes, b2));
    }
    free(rows);
}

static const zt_model_t *region_model;

static int cmp_regions(const void *a, const void *b)
{
    const zt_m_region_t *x = &region_model->regions[*(const unsigned *)a];
    const zt_m_region_t *y = &region_model->regions[*(const unsigned *)b];
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* --by region: the biggest regions, their occupancy and main owner. */
static void by_region(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    address_space(out, r);
    unsigned *idx = malloc((m->nregions + 1) * sizeof *idx);
    if (!idx)
        abort();
    for (unsigned i = 0; i < m->nregions; i++)
        idx[i] = i;
    region_model = m;
    qsort(idx, m->nregions, sizeof *idx, cmp_regions);
    unsigned top = m->nregions < r->opt.top ? m->nregions : r->opt.top;
    fprintf(out, "\nregions by size (%u of %u)\n", top, m->nregions);
    fprintf(out, "  %-18s %-6s %-18s %10s %10s %6s  %s\n", "address", "kind", "zone", "size",
            "live", "used", "charged mostly to");
    char b1[32], b2[32];
    for (unsigned i = 0; i < top; i++) {
        const zt_m_region_t *g = &m->regions[idx[i]];
        fprintf(out, "  0x%016llx %-6s %-18s %10s %10s %5.1f%%  ", (unsigned long long)g->base,
                zt_report_kind_name(g->kind), zt_report_zone_name(m, g->zone),
                zt_fmt_bytes(g->bytes, b1), zt_fmt_bytes(g->used_bytes, b2),
                g->bytes ? 100.0 * (double)g->used_bytes / (double)g->bytes : 0.0);
        if (g->top_stack) {
            fprintf(out, "#%u ", g->top_stack);
            one_line_frames(out, r, g->top_stack, 1);
        } else {
            fprintf(out, "-\n");
        }
    }
    free(idx);
}

void zt_report_text(FILE *out, zt_report_t *r)
{
    header(out, r);
    events(out, r);
    switch (r->opt.by) {
    case ZT_BY_ZONE:
        zones(out, r);
        by_zone(out, r);
        break;
    case ZT_BY_CLASS:
        zones(out, r);
        by_class(out, r);
        break;
    case ZT_BY_REGION:
        by_region(out, r);
        break;
    default:
        zones(out, r);
        if (r->m->va_limit_bytes)
            address_space(out, r);
        stacks(out, r);
    }
    footprint(out, r);
}
