/* ----------------------------------------------------------------------------
 * report_text.c — the terminal report, on one screen of 100 columns for a
 * common run: who ran, how it ended (with the faulting stack), the failure
 * that caused it, a one-line diagnosis, the other key events grouped by
 * site, the zones, the address-space map of a limited profile by kind, the
 * top stacks (by address space charged on a limited profile, else by live
 * bytes) and the footprint against the device's RAM. --by zone|class|region
 * swaps the stack section for a table of that dimension.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include "options.h"
#include "sizeclass.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EVENT_GROUPS 5
#define MAX_FAULT_FRAMES 8
#define BAR_COLUMNS      72
#define WIDTH            100 /* columns: the report is read in a terminal */
#define LABEL            11  /* "diagnosis: " */

/* A unit after a number stays with it: "2.113 s", "64.0 KiB", "4.1 %". */
static bool unit_word(const char *w, unsigned len)
{
    static const char *const units[] = {
        "B",    "KiB",  "MiB",  "GiB",   "TiB",   "s",     "%",     "%)",   "%),", "B,",
        "KiB,", "MiB,", "GiB,", "s,",    "B)",    "KiB)",  "MiB)",  "GiB)", "B;",  "KiB;",
        "MiB;", "GiB;", "B);",  "KiB);", "MiB);", "GiB);", "KiB),", "MiB),"};
    for (unsigned i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i]) == len && memcmp(w, units[i], len) == 0) return true;
    return false;
}

/* `label` padded to LABEL columns, then `text` word-wrapped to WIDTH with a
 * hanging indent of `indent` columns. */
static void wrapped(FILE *out, const char *label, unsigned indent, const char *text)
{
    unsigned col = (unsigned)fprintf(out, "%-*s", (int)indent, label);
    const char *p = text;
    bool first = true;
    while (*p) {
        const char *w = p;
        while (*w == ' ')
            w++;
        const char *e = w;
        while (*e && *e != ' ')
            e++;
        /* Glue a following unit to its number. */
        if (*e == ' ') {
            const char *u = e + 1, *ue = u;
            while (*ue && *ue != ' ')
                ue++;
            if (unit_word(u, (unsigned)(ue - u))) e = ue;
        }
        unsigned len = (unsigned)(e - w);
        if (!first && col + 1 + len > WIDTH) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
            first = true;
        }
        col += (unsigned)fprintf(out, "%s%.*s", first ? "" : " ", (int)len, w);
        first = false;
        p = e;
    }
    fputc('\n', out);
}

static void header(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b[32], b2[32], line[4096];
    fprintf(out, "zonetrace report: %s\n", r->opt.path ? r->opt.path : "(record)");
    size_t n = zt_report_command(m, 0, line, sizeof line);
    /* The run time goes with the command, not on the device line: a long
     * device name and a run of 10 s or more would push that past 100
     * columns. */
    if (n < sizeof line - 1)
        snprintf(line + n, sizeof line - n, "  (pid %d, ran %s)", m->pid,
                 zt_fmt_secs(m->duration_ns, b));
    wrapped(out, "command:", LABEL, line);
    const char *mode = m->stacks_mode == ZT_STACKS_FULL     ? "full"
                       : m->stacks_mode == ZT_STACKS_SAMPLE ? "sampled"
                                                            : "off";
    n = (size_t)snprintf(line, sizeof line, "%s", m->device ? m->device : "?");
    if (m->ram_bytes)
        n += (size_t)snprintf(line + n, sizeof line - n, " (%s RAM", zt_fmt_bytes(m->ram_bytes, b));
    if (m->va_limit_bytes)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s address space",
                              m->ram_bytes ? ", " : " (", zt_fmt_bytes(m->va_limit_bytes, b2));
    if (m->ram_bytes || m->va_limit_bytes) n += (size_t)snprintf(line + n, sizeof line - n, ")");
    n += (size_t)snprintf(line + n, sizeof line - n, "; stacks %s", mode);
    snprintf(line + n, sizeof line - n, ", %s", m->unwind ? m->unwind : "?");
    wrapped(out, "device:", LABEL, line);
    if (m->foreign || m->platform != ZT_M_LINUX) { /* Linux records read on Linux: as before */
        snprintf(line, sizeof line, "%s%s%s, %s images%s", zt_platform_name(m->platform),
                 m->arch && m->arch[0] ? " " : "", m->arch ? m->arch : "",
                 m->image_format == ZT_M_MACHO ? "Mach-O" : "ELF",
                 m->foreign ? " (another OS than this one: its pid is not looked up here)" : "");
        wrapped(out, "recorded:", LABEL, line);
    }
    if (zt_report_sampling_note(m, line, sizeof line)) wrapped(out, "sampled:", LABEL, line);
    zt_report_ending(m, line, sizeof line);
    fprintf(out, "ended:     %s\n", line);
    if (m->term.state == ZT_TERM_SIGNALED && m->term.fault_stack_id) {
        zt_rframes_t f = zt_report_frames(r, m->term.fault_stack_id, true);
        unsigned shown = 0, max = r->opt.depth ? r->opt.depth : MAX_FAULT_FRAMES;
        char fb[1024];
        for (unsigned i = f.first; i < f.end && shown < max; i++, shown++)
            fprintf(out, "           %s %s\n", i == f.first ? "at" : "  ",
                    zt_report_frame_describe(&f.v[i], fb, sizeof fb));
        if (f.end - f.first > max)
            fprintf(out, "              ... %u more frames\n", f.end - f.first - max);
        zt_rframes_free(&f);
    }
    if (m->at != ZT_AT_END) {
        char at[96];
        zt_report_at_words(m, at, sizeof at);
        snprintf(line, sizeof line, "%s%s", at,
                 m->at == ZT_AT_END ? "" : "; totals and peaks are the whole run's");
        wrapped(out, "state:", LABEL, line);
    }
    const zt_m_event_t *nul, *map;
    bool cause = zt_report_cause(m, &nul, &map);
    if (cause) {
        zt_report_cause_text(r, line, sizeof line);
        wrapped(out, m->term.state == ZT_TERM_EXITED ? "failure:" : "cause:", LABEL, line);
        zt_report_later_text(r, line, sizeof line);
        if (line[0]) wrapped(out, "later:", LABEL, line);
        if (zt_report_xzone_sentence(m, line, sizeof line)) wrapped(out, "xzone:", LABEL, line);
    }
    char head[256];
    zt_report_diagnosis_parts(r, head, sizeof head, line, sizeof line);
    /* After a cause line the details would only repeat it. */
    if (!cause && line[0]) {
        char both[4096 + 300];
        snprintf(both, sizeof both, "%s: %s", head, line);
        wrapped(out, "diagnosis:", LABEL, both);
    } else {
        wrapped(out, "diagnosis:", LABEL, head);
    }
}

static bool key_event(uint32_t t)
{
    return t == ZT_REC_EV_NULL_RETURNED || t == ZT_REC_EV_MAP_FAILED ||
           t == ZT_REC_EV_NANO_DELEGATED || t == ZT_REC_EV_NANO_RELEASED || t == ZT_REC_EV_LIMIT ||
           t == ZT_REC_EV_PRESSURE || t == ZT_REC_EV_MEMORY_WARNING;
}

/* The images whose frames above are module+offset (missing here, changed,
 * or Mach-O), with what finds their symbols elsewhere: a Mach-O image's
 * UUID (dSYM lookup) and load address (atos -l), an ELF file's build id
 * (debuginfod). Only images with frames shown and an identity are listed. */
static void images(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    bool any_macho = false, any_elf = false, titled = false;
    for (unsigned i = 0; i < m->nmodules; i++) {
        const zt_m_module_t *mm = &m->modules[i];
        if (!mm->build_id_len || !zt_sym_module_fell_back(r->sym, i)) continue;
        if (!titled) {
            fprintf(out, "\nimages without symbols here (their frames above are image+offset)\n");
            titled = true;
        }
        const char *path = mm->path && mm->path[0] ? mm->path : m->exe ? m->exe : "?";
        const char *base = strrchr(path, '/');
        char id[48];
        if (mm->macho) {
            any_macho = true;
            fprintf(out, "  %-24s UUID %s  load 0x%llx  slide 0x%llx\n", base ? base + 1 : path,
                    zt_module_id(mm, id), (unsigned long long)mm->base,
                    (unsigned long long)mm->bias);
        } else {
            any_elf = true;
            fprintf(out, "  %-24s build-id %s  bias 0x%llx\n", base ? base + 1 : path,
                    zt_module_id(mm, id), (unsigned long long)mm->bias);
        }
        fprintf(out, "    %s\n", path);
    }
    if (any_macho)
        fprintf(out,
                "  offsets are from the load address: atos -arch %s -o IMAGE -l LOAD LOAD+OFFSET\n"
                "  (IMAGE: the binary or IMAGE.dSYM/Contents/Resources/DWARF/IMAGE; a dSYM by\n"
                "  UUID: mdfind \"com_apple_xcode_dsym_uuids == UUID\")\n",
                m->arch && m->arch[0] ? m->arch : "ARCH");
    if (any_elf)
        fprintf(out, "  ELF offsets are file addresses: addr2line -e FILE OFFSET; debuginfod-find "
                     "debuginfo BUILD-ID\n");
}

/* e is the event already told (the cause, or the first failure's copy). */
static bool told(const zt_m_event_t *e, const zt_m_event_t *cause)
{
    return cause && (e == cause || (e->type == cause->type && e->time_ns == cause->time_ns &&
                                    e->stack_id == cause->stack_id && e->size == cause->size));
}

/* Key events grouped by (type, kind, class, stack): one line per group with
 * the first time, the count and the last event's words. A flood of NULLs
 * from a retrying caller is one line, and the events already told as the
 * cause are left out. */
static void events(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    const zt_m_event_t *nul, *map;
    zt_report_cause(m, &nul, &map);
    unsigned counts[16] = {0}, nkey = 0, ngroups = 0;
    for (unsigned i = 0; i < m->nevents; i++) {
        if (m->events[i].type < 16) counts[m->events[i].type]++;
        nkey += key_event(m->events[i].type);
    }
    if (!nkey && !m->events_lost) return;
    /* group[i] = index of the group's first event; last[g], count[g]. */
    unsigned *first = calloc(m->nevents + 1, sizeof *first);
    unsigned *last = calloc(m->nevents + 1, sizeof *last);
    unsigned *count = calloc(m->nevents + 1, sizeof *count);
    if (!first || !last || !count) abort();
    for (unsigned i = 0; i < m->nevents; i++) {
        const zt_m_event_t *e = &m->events[i];
        if (!key_event(e->type) || told(e, nul) || told(e, map)) continue;
        unsigned g = 0;
        for (; g < ngroups; g++) {
            const zt_m_event_t *f = &m->events[first[g]];
            if (f->type == e->type && f->kind == e->kind && f->stack_id == e->stack_id &&
                (e->type == ZT_REC_EV_MAP_FAILED || f->cls == e->cls))
                break;
        }
        if (g == ngroups) first[ngroups++] = i;
        last[g] = i;
        count[g]++;
    }
    unsigned shown = ngroups < MAX_EVENT_GROUPS ? ngroups : MAX_EVENT_GROUPS;
    if (ngroups || m->events_lost) {
        fprintf(out, "\nevents");
        if (nul && (unsigned)(nkey - (nul != NULL) - (map != NULL)) > 0)
            fprintf(out, zt_report_first_failure_leads(m) ? " around it" : " before it");
        fprintf(out, "\n");
    }
    char line[1024], label[64], b[32];
    for (unsigned g = 0; g < shown; g++) {
        zt_report_event(r, &m->events[last[g]], line, sizeof line);
        if (count[g] > 1)
            snprintf(label, sizeof label, "  %7s %4u x ",
                     zt_fmt_secs(m->events[first[g]].time_ns, b), count[g]);
        else
            snprintf(label, sizeof label, "  %7s        ",
                     zt_fmt_secs(m->events[first[g]].time_ns, b));
        wrapped(out, label, 17, line);
    }
    if (ngroups > shown || m->events_lost) {
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
    free(first);
    free(last);
    free(count);
}

static void zones(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32];
    fprintf(out, "\n%-28s %12s %10s %14s %12s\n", "zone", "live bytes", "blocks", "address space",
            "allocated");
    for (unsigned i = 0; i < m->nzones; i++) {
        const zt_m_zone_t *z = &m->zones[i];
        fprintf(out, "  %-26s %12s %10llu %14s %12s\n", zt_report_zone_name(m, (int)i),
                zt_fmt_bytes(z->c.live_bytes, b1), (unsigned long long)z->c.live_blocks,
                zt_fmt_bytes(z->c.va_bytes, b2),
                m->stacks_mode == ZT_STACKS_OFF ? "-" : zt_fmt_bytes(z->c.total_bytes, b3));
    }
    if (m->stacks_mode == ZT_STACKS_OFF)
        fprintf(out, "  (stacks off: live bytes and blocks as the last walk found them, exact; "
                     "allocations not counted)\n");
}

static const char kind_char[ZT_KIND_COUNT] = {'N', 't', 's', 'm', 'L', 'd', 'p'};

/* The character of one column: any used space shows, as the kind holding
 * most of it, because a 1 MiB tiny region in a 40 MiB column still splits
 * the holes around it; only an all-free column is '.'. */
static char column_char(const double fill[ZT_KIND_COUNT + 1])
{
    int best = -1;
    for (int j = 0; j < ZT_KIND_COUNT; j++)
        if (fill[j] > 0 && (best < 0 || fill[j] > fill[best])) best = j;
    return best < 0 ? '.' : kind_char[best];
}

/* One character per slice of the heap windows. */
static void va_bar(FILE *out, const zt_model_t *m)
{
    uint64_t total = 0;
    int nwin = 0;
    for (unsigned i = 0; i < m->nva_runs; i++) {
        total += m->va_runs[i].bytes;
        if (m->va_runs[i].window + 1 > nwin) nwin = m->va_runs[i].window + 1;
    }
    if (!total) return;
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
    fprintf(out, "  [%s]\n", bar);
}

static void address_space(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    uint64_t reserved[ZT_KIND_COUNT], used[ZT_KIND_COUNT];
    unsigned count[ZT_KIND_COUNT];
    zt_report_kind_totals(m, reserved, used, count);
    char b1[32], b2[32], b3[32], b4[32];
    bool any = false;
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        any |= count[k] != 0;
    if (!any && !m->nva_runs) return;
    if (m->va_limit_bytes)
        fprintf(out, "\naddress space: %s of %s heap windows used (peak %s); | between windows\n",
                zt_fmt_bytes(m->va_used_bytes, b1), zt_fmt_bytes(m->va_limit_bytes, b2),
                zt_fmt_bytes(m->va_peak_bytes, b3));
    else
        fprintf(out, "\naddress space: %s used by the heap (peak %s, no limit)\n",
                zt_fmt_bytes(m->va_used_bytes, b1), zt_fmt_bytes(m->va_peak_bytes, b3));
    va_bar(out, m);
    fprintf(out, "    %-8s %8s %12s %12s %10s\n", "kind", "regions", "reserved", "live",
            "occupancy");
    for (int k = 0; k < ZT_KIND_COUNT; k++) {
        if (!count[k]) continue;
        fprintf(out, "  %c %-8s %8u %12s %12s %9.1f %%\n", kind_char[k],
                zt_kind_name((enum zt_kind)k), count[k], zt_fmt_bytes(reserved[k], b1),
                zt_fmt_bytes(used[k], b2),
                reserved[k] ? 100.0 * (double)used[k] / (double)reserved[k] : 0.0);
    }
    if (m->va_limit_bytes) {
        uint64_t free_bytes =
            m->va_limit_bytes > m->va_used_bytes ? m->va_limit_bytes - m->va_used_bytes : 0;
        fprintf(out, "  . %-8s %8s %12s  largest hole %s; aligned 1 MiB: %s, 8 MiB: %s\n", "free",
                "", zt_fmt_bytes(free_bytes, b1), zt_fmt_bytes(m->largest_free_bytes, b2),
                zt_fmt_bytes(m->largest_aligned_1m_bytes, b3),
                zt_fmt_bytes(m->largest_aligned_8m_bytes, b4));
    }
}

/* "a < b < c": a stack's user frames on one line after `indent` columns,
 * innermost first, cut at WIDTH with " < ...". With --depth D: the first D
 * user frames, one per line, however wide, then how many were left out. */
static void one_line_frames(FILE *out, zt_report_t *r, uint32_t id, unsigned indent)
{
    zt_rframes_t f = zt_report_frames(r, id, false);
    unsigned col = indent;
    char fb[1024];
    if (r->opt.depth) {
        unsigned end = zt_report_depth_end(r, &f);
        for (unsigned i = f.first; i < end; i++)
            fprintf(out, "%*s%s %s\n", (int)indent, "", i == f.first ? "at" : "  ",
                    zt_report_frame_describe(&f.v[i], fb, sizeof fb));
        if (f.first >= f.end) fprintf(out, "%*s(no frames)\n", (int)indent, "");
        if (end < f.end) fprintf(out, "%*s   ... %u more frames\n", (int)indent, "", f.end - end);
        zt_rframes_free(&f);
        return;
    }
    fprintf(out, "%*s", (int)indent, "");
    for (unsigned i = f.first; i < f.end; i++) {
        const char *d = zt_report_frame_describe(&f.v[i], fb, sizeof fb);
        unsigned len = (unsigned)strlen(d) + (i > f.first ? 3 : 0);
        bool more = i + 1 < f.end;
        if (i > f.first && col + len + (more ? 6 : 0) > WIDTH) {
            fprintf(out, " < ...");
            break;
        }
        col += (unsigned)fprintf(out, "%s%s", i > f.first ? " < " : "", d);
    }
    if (f.first >= f.end) fprintf(out, "(no frames)");
    fputc('\n', out);
    zt_rframes_free(&f);
}

/* Where a stack's address space lies: the kind of region it is the main
 * owner of most often, e.g. "205 small regions, 4.1 % used". */
static void stack_where(const zt_model_t *m, uint32_t id, char *buf, size_t cap)
{
    uint64_t bytes[ZT_KIND_COUNT] = {0}, used[ZT_KIND_COUNT] = {0};
    unsigned count[ZT_KIND_COUNT] = {0};
    for (unsigned i = 0; i < m->nregions; i++) {
        const zt_m_region_t *g = &m->regions[i];
        if (g->top_stack != id || g->kind < 0 || g->kind >= ZT_KIND_COUNT) continue;
        bytes[g->kind] += g->bytes;
        used[g->kind] += g->used_bytes;
        count[g->kind]++;
    }
    int best = -1;
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        if (count[k] && (best < 0 || bytes[k] > bytes[best])) best = k;
    buf[0] = 0;
    if (best < 0) return;
    if (best == ZT_KIND_LARGE)
        snprintf(buf, cap, "%u large block%s", count[best], count[best] == 1 ? "" : "s");
    else
        snprintf(buf, cap, "main user of %u %s region%s, %.1f %% used", count[best],
                 zt_kind_name((enum zt_kind)best), count[best] == 1 ? "" : "s",
                 bytes[best] ? 100.0 * (double)used[best] / (double)bytes[best] : 0.0);
}

/* The top stacks, two lines each: counters, then the user frames. With a
 * limited address space they are ranked by the address space charged to
 * them (what runs out there), otherwise by live bytes. */
static void stacks(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32], where[128], at[96];
    if (m->stacks_mode == ZT_STACKS_OFF) {
        fprintf(out, "\nno stacks recorded (stacks off)\n");
        return;
    }
    int sort = zt_report_sort_of(r);
    bool by_va = sort == ZT_SORT_VA;
    bool bytes = zt_report_sort_is_bytes(sort);
    unsigned n;
    unsigned *idx = zt_report_sorted_stacks_by(m, sort, &n);
    uint64_t total = 0, shown_total = 0;
    for (unsigned i = 0; i < n; i++)
        total += zt_report_sort_key(&m->stacks[idx[i]], sort);
    unsigned top = n < r->opt.top ? n : r->opt.top;
    for (unsigned i = 0; i < top; i++)
        shown_total += zt_report_sort_key(&m->stacks[idx[i]], sort);
    zt_report_at_words(m, at, sizeof at);
    fprintf(out, "\ntop stacks by %s (%u of %u", zt_report_sort_words(sort), top, n);
    if (total) fprintf(out, ", %.0f %% of the total", 100.0 * (double)shown_total / (double)total);
    fprintf(out, ")%s\n", m->stacks_mode == ZT_STACKS_SAMPLE ? ", estimated from samples" : "");
    if (top && !by_va)
        fprintf(out, "  (bytes are allocated block sizes; req: live bytes as requested, "
                     "~ estimated)\n");
    if (top)
        fprintf(out, "  %-6s %10s %10s %10s %10s  %s\n", "stack", by_va ? "charged" : "live",
                by_va ? "live" : "charged", "blocks", "peak", "where / allocated");
    for (unsigned i = 0; i < top; i++) {
        const zt_m_stack_t *st = &m->stacks[idx[i]];
        char id[16];
        snprintf(id, sizeof id, "#%u", st->id);
        stack_where(m, st->id, where, sizeof where);
        if (!where[0] || !by_va) {
            int w = snprintf(where, sizeof where, "%llu allocated, %s",
                             (unsigned long long)st->total.total_blocks,
                             zt_fmt_bytes(st->total.total_bytes, b1));
            bool exact, known;
            uint64_t req = zt_report_requested_live(st, &exact, &known);
            if (known && st->total.live_blocks && w > 0 && (size_t)w < sizeof where)
                snprintf(where + w, sizeof where - (size_t)w, "; req %s%s", exact ? "" : "~",
                         zt_fmt_bytes(req, b3));
        }
        if (sort != ZT_SORT_VA && sort != ZT_SORT_LIVE) {
            /* the ranking's own number first, then the usual columns */
            uint64_t k = zt_report_sort_key(st, sort);
            if (bytes)
                fprintf(out, "  %-6s %s: %s\n", id, zt_report_sort_name(sort), zt_fmt_bytes(k, b3));
            else
                fprintf(out, "  %-6s %s: %llu\n", id, zt_report_sort_name(sort),
                        (unsigned long long)k);
            id[0] = 0;
        }
        uint64_t charged = zt_report_charged_bytes(st);
        fprintf(out, "  %-6s %10s %10s %10llu %10s  %s\n", id,
                zt_fmt_bytes(by_va ? charged : st->total.live_bytes, b1),
                zt_fmt_bytes(by_va ? st->total.live_bytes : charged, b2),
                (unsigned long long)st->total.live_blocks, zt_fmt_bytes(st->total.peak_bytes, b3),
                where);
        char ci[160];
        zt_report_interval_words(m, st, ci, sizeof ci);
        if (ci[0]) fprintf(out, "         live: %s\n", ci);
        one_line_frames(out, r, st->id, 9);
    }
    free(idx);
}

static void footprint(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32], b3[32], line[512];
    uint64_t rss = zt_report_peak_rss(m);
    size_t n = 0;
    if (m->ntimeline)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s resident at the %s, ",
                              zt_fmt_bytes(m->timeline[m->ntimeline - 1].rss_bytes, b1),
                              m->term.state == ZT_TERM_RUNNING && !m->term.killed ? "last sample"
                                                                                  : "end");
    n += (size_t)snprintf(line + n, sizeof line - n, "peak %s", zt_fmt_bytes(rss, b2));
    if (m->ram_bytes)
        n += (size_t)snprintf(line + n, sizeof line - n, " of %s device RAM (%.0f %%)",
                              zt_fmt_bytes(m->ram_bytes, b3),
                              100.0 * (double)rss / (double)m->ram_bytes);
    if (m->cgroup_limit_bytes)
        snprintf(line + n, sizeof line - n, "; cgroup limit %s",
                 zt_fmt_bytes(m->cgroup_limit_bytes, b3));
    fputc('\n', out);
    wrapped(out, "footprint:", LABEL, line);
}

/* --by zone: the top zones by the row ranking (live bytes unless --sort),
 * each with its size classes. */
static void by_zone(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    char b1[32], b2[32];
    unsigned nrows;
    zt_report_row_t *rows = zt_report_rows(r, ZT_BY_ZONE, &nrows);
    unsigned top = nrows < r->opt.top ? nrows : r->opt.top;
    if (top < nrows)
        fprintf(out, "\nzones by %s: %u of %u\n", zt_report_sort_name(zt_report_row_sort(r)), top,
                nrows);
    for (unsigned ri = 0; ri < top; ri++) {
        unsigned i = (unsigned)rows[ri].zone;
        const zt_m_zone_t *z = &m->zones[i];
        char b5[32];
        fprintf(out,
                "\nzone %s: %s live in %llu blocks, %s of address space; peak %s in %llu "
                "blocks\n",
                zt_report_zone_name(m, (int)i), zt_fmt_bytes(z->c.live_bytes, b1),
                (unsigned long long)z->c.live_blocks, zt_fmt_bytes(z->c.va_bytes, b2),
                zt_fmt_bytes(z->c.peak_bytes, b5), (unsigned long long)z->c.peak_blocks);
        if (!z->nclasses) continue;
        fprintf(out, "  %-14s %12s %10s %12s %12s %12s %11s\n", "class", "live bytes", "blocks",
                "allocations", "allocated", "peak", "peak blocks");
        for (unsigned c = 0; c < z->nclasses; c++) {
            const zt_m_class_t *k = &z->classes[c];
            char b3[32], b4[32];
            fprintf(out, "  %-14s %12s %10llu %12llu %12s %12s %11llu\n",
                    k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?",
                    zt_fmt_bytes(k->c.live_bytes, b1), (unsigned long long)k->c.live_blocks,
                    (unsigned long long)k->c.total_blocks, zt_fmt_bytes(k->c.total_bytes, b3),
                    zt_fmt_bytes(k->c.peak_bytes, b4), (unsigned long long)k->c.peak_blocks);
        }
    }
    free(rows);
}

/* --by class: every (zone, class) pair, by live bytes unless --sort. */
static void by_class(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    unsigned n;
    zt_report_row_t *rows = zt_report_rows(r, ZT_BY_CLASS, &n);
    int sort = zt_report_row_sort(r);
    unsigned top = n < r->opt.top ? n : r->opt.top;
    fprintf(out, "\nsize classes by %s (%u of %u)\n",
            sort == ZT_SORT_LIVE ? "live bytes" : zt_report_sort_words(sort), top, n);
    fprintf(out, "  %-14s %-22s %12s %10s %12s %12s\n", "class", "zone", "live bytes", "blocks",
            "allocations", "allocated");
    char b1[32], b2[32];
    for (unsigned i = 0; i < top; i++) {
        const zt_m_class_t *k = &m->zones[rows[i].zone].classes[rows[i].cls];
        fprintf(out, "  %-14s %-22s %12s %10llu %12llu %12s\n",
                k->cls < ZT_CLASS_COUNT ? zt_class_name(k->cls) : "?",
                zt_report_zone_name(m, rows[i].zone), zt_fmt_bytes(k->c.live_bytes, b1),
                (unsigned long long)k->c.live_blocks, (unsigned long long)k->c.total_blocks,
                zt_fmt_bytes(k->c.total_bytes, b2));
    }
    free(rows);
}

/* --by region: the biggest regions, their occupancy and main owner. */
static void by_region(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    address_space(out, r);
    unsigned nrows;
    zt_report_row_t *rows = zt_report_rows(r, ZT_BY_REGION, &nrows);
    unsigned top = m->nregions < r->opt.top ? m->nregions : r->opt.top;
    fprintf(out, "\nregions by size (%u of %u)\n", top, m->nregions);
    fprintf(out, "  %-18s %-6s %-18s %10s %10s %6s  %s\n", "address", "kind", "zone", "size",
            "live", "used", "charged mostly to");
    char b1[32], b2[32];
    for (unsigned i = 0; i < top; i++) {
        const zt_m_region_t *g = &m->regions[rows[i].region];
        fprintf(out, "  0x%016llx %-6s %-18s %10s %10s %5.1f%%  ", (unsigned long long)g->base,
                zt_report_kind_name(g->kind), zt_report_zone_name(m, g->zone),
                zt_fmt_bytes(g->bytes, b1), zt_fmt_bytes(g->used_bytes, b2),
                g->bytes ? 100.0 * (double)g->used_bytes / (double)g->bytes : 0.0);
        if (g->top_stack) {
            zt_rframes_t f = zt_report_frames(r, g->top_stack, false);
            char fb[1024];
            fprintf(out, "#%u %s\n", g->top_stack,
                    f.first < f.end ? zt_report_frame_describe(&f.v[f.first], fb, sizeof fb)
                                    : "(no frames)");
            zt_rframes_free(&f);
        } else {
            fprintf(out, "-\n");
        }
    }
    free(rows);
}

void zt_report_text(FILE *out, zt_report_t *r)
{
    if (r->opt.tree_out) r->opt.tree_out(out, r, ZT_FMT_TEXT); /* several processes */
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
        if (r->m->va_limit_bytes) address_space(out, r);
        stacks(out, r);
    }
    footprint(out, r);
    images(out, r);
}
