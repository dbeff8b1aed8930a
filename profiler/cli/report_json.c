/* ----------------------------------------------------------------------------
 * report_json.c — the whole model, symbolized, as one JSON document for
 * tools (schema: profiler/FORMAT.md §3). Addresses are hex strings (a JS
 * number cannot hold every 64-bit address); byte counts are plain numbers.
 * The HTML report embeds this same document.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include "options.h"
#include "sizeclass.h"

#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 3

static void hex(FILE *out, uint64_t v)
{
    fprintf(out, "\"0x%llx\"", (unsigned long long)v);
}

/* With stacks off nothing counts allocations: only live bytes and blocks
 * (from the last walk) and address space are known, and the rest is null,
 * not a 0 a consumer would take for "nothing was allocated". */
static bool uncounted;

static void counters(FILE *out, const zt_m_counters_t *c)
{
    if (uncounted) {
        fprintf(out,
                "\"live_bytes\":%llu,\"live_blocks\":%llu,\"total_bytes\":null,"
                "\"total_blocks\":null,\"peak_bytes\":null,\"va_bytes\":%llu,"
                "\"peak_blocks\":null,\"temp_blocks\":null,\"requested_bytes\":null",
                (unsigned long long)c->live_bytes, (unsigned long long)c->live_blocks,
                (unsigned long long)c->va_bytes);
        return;
    }
    fprintf(out,
            "\"live_bytes\":%llu,\"live_blocks\":%llu,\"total_bytes\":%llu,\"total_blocks\":%llu,"
            "\"peak_bytes\":%llu,\"va_bytes\":%llu,\"peak_blocks\":%llu,\"temp_blocks\":%llu,"
            "\"requested_bytes\":%llu",
            (unsigned long long)c->live_bytes, (unsigned long long)c->live_blocks,
            (unsigned long long)c->total_bytes, (unsigned long long)c->total_blocks,
            (unsigned long long)c->peak_bytes, (unsigned long long)c->va_bytes,
            (unsigned long long)c->peak_blocks, (unsigned long long)c->temp_blocks,
            (unsigned long long)c->requested_bytes);
}

/* A stack's frames. `depth_cut`: --depth given, so only the user frames
 * it keeps are written (all of them "user"). "function" is the short name
 * (shorten.c), "function_full" the demangled name as the symbolizer gave it. */
static void frames(FILE *out, zt_report_t *r, uint32_t id, bool fault, bool depth_cut)
{
    zt_rframes_t f = zt_report_frames(r, id, fault);
    unsigned from = 0, to = f.n;
    if (depth_cut && r->opt.depth) {
        from = f.first < f.end ? f.first : f.n;
        to = f.first < f.end ? zt_report_depth_end(r, &f) : f.n;
    }
    char shortname[1024];
    fputc('[', out);
    for (unsigned i = from; i < to; i++) {
        const zt_sym_frame_t *s = &f.v[i];
        fprintf(out, "%s\n      {\"pc\":", i > from ? "," : "");
        hex(out, s->pc);
        fprintf(out, ",\"module\":");
        zt_json_string(out, s->module);
        fprintf(out, ",\"offset\":");
        hex(out, s->offset);
        fprintf(out, ",\"function\":");
        if (s->function) zt_shorten_name(s->function, shortname, sizeof shortname);
        zt_json_string(out, s->function ? shortname : NULL);
        fprintf(out, ",\"function_full\":");
        zt_json_string(out, s->function);
        fprintf(out, ",\"file\":");
        zt_json_string(out, s->file);
        fprintf(out, ",\"line\":%d,\"inlined\":%s,\"user\":%s}", s->line,
                s->inlined ? "true" : "false", i >= f.first && i < f.end ? "true" : "false");
    }
    fputc(']', out);
    zt_rframes_free(&f);
}

static void process(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    fprintf(out, "  \"zonetrace\": %u,\n  \"platform\": \"%s\",\n  \"arch\": ", m->version,
            zt_platform_name(m->platform));
    zt_json_string(out, m->arch);
    fprintf(out, ",\n  \"image_format\": \"%s\",\n  \"pid\": %d,\n  \"exe\": ",
            m->image_format == ZT_M_MACHO ? "macho" : "elf", m->pid);
    zt_json_string(out, m->exe);
    fprintf(out, ",\n  \"argv\": [");
    for (unsigned i = 0; i < m->argc; i++) {
        if (i) fputc(',', out);
        zt_json_string(out, m->argv[i]);
    }
    fprintf(out, "],\n  \"device\": ");
    zt_json_string(out, m->device);
    fprintf(out, ",\n  \"options\": ");
    zt_json_string(out, m->options);
    fprintf(out, ",\n  \"stacks_mode\": \"%s\",\n  \"sample_bytes\": %llu,\n  \"estimated\": %s,\n",
            m->stacks_mode == ZT_STACKS_FULL     ? "full"
            : m->stacks_mode == ZT_STACKS_SAMPLE ? "sample"
                                                 : "off",
            (unsigned long long)m->sample_bytes,
            m->stacks_mode == ZT_STACKS_SAMPLE ? "true" : "false");
    if (m->stacks_mode == ZT_STACKS_SAMPLE)
        fprintf(out, "  \"confidence_pct\": %d,\n  \"resolution_bytes\": %llu,\n",
                ZT_EST_CONFIDENCE_PCT,
                (unsigned long long)zt_estimate_resolution_bytes(m->sample_bytes));
    fputs("  \"unwind\": ", out);
    zt_json_string(out, m->unwind);
    fprintf(out,
            ",\n  \"depth\": %u,\n  \"page_bytes\": %llu,\n  \"start_wall_ns\": %llu,\n"
            "  \"duration_ns\": %llu,\n",
            m->depth, (unsigned long long)m->page_bytes, (unsigned long long)m->start_wall_ns,
            (unsigned long long)m->duration_ns);
}

static void termination(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    const zt_m_termination_t *t = &m->term;
    char line[2048];
    fprintf(out, "  \"termination\": {\"state\":\"%s\",", zt_term_state_name(m));
    fprintf(out, "\"how\":\"%s\",\"runner\":", zt_term_how_name(m));
    if (!t->runner)
        fputs("null,", out);
    else if (t->runner_state == ZT_TERM_EXITED)
        fprintf(out, "{\"exit_code\":%d,\"signal\":null},", t->runner_code);
    else
        fprintf(out, "{\"exit_code\":null,\"signal\":%d},", t->runner_code);
    if (t->state == ZT_TERM_EXITED)
        fprintf(out, "\"exit_code\":%d,", t->exit_code);
    else
        fprintf(out, "\"exit_code\":null,");
    if (t->state == ZT_TERM_SIGNALED) {
        fprintf(out,
                "\"signal\":%d,\"signal_name\":\"%s\",\"si_code\":%d,\"fault_addr\":", t->signal,
                zt_signal_name(t->signal), t->si_code);
        hex(out, t->fault_addr);
    } else if (t->killed) {
        fprintf(out, "\"signal\":9,\"signal_name\":\"SIGKILL\",\"si_code\":null,"
                     "\"fault_addr\":null");
    } else {
        fprintf(out, "\"signal\":null,\"signal_name\":null,\"si_code\":null,\"fault_addr\":null");
    }
    if (t->jetsam)
        fprintf(out,
                ",\"reason\":\"jetsam: per-process-limit\",\"footprint_bytes\":%llu,"
                "\"limit_bytes\":%llu",
                (unsigned long long)m->jetsam_footprint_bytes,
                (unsigned long long)m->jetsam_limit_bytes);
    fprintf(out,
            ",\"killed\":%s,\"still_running\":%s,\"end_wall_ns\":%llu,"
            "\"last_heartbeat_ns\":%llu,\"fault_stack_id\":%u,\"fault_stack\":",
            t->killed ? "true" : "false", t->still_running ? "true" : "false",
            (unsigned long long)t->end_wall_ns, (unsigned long long)t->last_heartbeat_ns,
            t->fault_stack_id);
    if (t->fault_stack_id && zt_report_stack(m, t->fault_stack_id)) {
        fprintf(out, "{\"id\":%u,\"frames\":", t->fault_stack_id);
        frames(out, r, t->fault_stack_id, true, false);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    zt_report_ending(m, line, sizeof line);
    fprintf(out, ",\"description\":");
    zt_json_string(out, line);
    fprintf(out, "},\n  \"diagnosis\": ");
    zt_report_diagnosis(r, line, sizeof line);
    zt_json_string(out, line);
    fprintf(out, ",\n");
}

static void memory(FILE *out, const zt_model_t *m)
{
    fprintf(out,
            "  \"ram_bytes\": %llu,\n  \"peak_rss_bytes\": %llu,\n  \"cgroup_limit_bytes\": %llu,\n"
            "  \"address_space\": {\"limit_bytes\":%llu,\"used_bytes\":%llu,\"peak_bytes\":%llu,"
            "\"largest_free_bytes\":%llu,\"largest_aligned_1m_bytes\":%llu,"
            "\"largest_aligned_8m_bytes\":%llu},\n",
            (unsigned long long)m->ram_bytes, (unsigned long long)zt_report_peak_rss(m),
            (unsigned long long)m->cgroup_limit_bytes, (unsigned long long)m->va_limit_bytes,
            (unsigned long long)m->va_used_bytes, (unsigned long long)m->va_peak_bytes,
            (unsigned long long)m->largest_free_bytes,
            (unsigned long long)m->largest_aligned_1m_bytes,
            (unsigned long long)m->largest_aligned_8m_bytes);
}

static void modules(FILE *out, const zt_model_t *m)
{
    fprintf(out, "  \"modules\": [");
    for (unsigned i = 0; i < m->nmodules; i++) {
        const zt_m_module_t *mm = &m->modules[i];
        fprintf(out, "%s\n    {\"path\":", i ? "," : "");
        zt_json_string(out, mm->path);
        fprintf(out, ",\"base\":");
        hex(out, mm->base);
        fprintf(out, ",\"bytes\":%llu,\"bias\":", (unsigned long long)mm->bytes);
        hex(out, mm->bias);
        fprintf(out, ",\"build_id\":\"");
        for (unsigned k = 0; k < mm->build_id_len && k < sizeof mm->build_id; k++)
            fprintf(out, "%02x", mm->build_id[k]);
        char id[48];
        fprintf(out, "\",\"format\":\"%s\",\"uuid\":", mm->macho ? "macho" : "elf");
        if (mm->macho && mm->build_id_len == 16)
            fprintf(out, "\"%s\"", zt_module_id(mm, id));
        else
            fprintf(out, "null");
        fputc('}', out);
    }
    fprintf(out, "],\n");
}

static void zones(FILE *out, const zt_model_t *m)
{
    fprintf(out, "  \"zones\": [");
    for (unsigned i = 0; i < m->nzones; i++) {
        const zt_m_zone_t *z = &m->zones[i];
        fprintf(out, "%s\n    {\"index\":%u,\"name\":", i ? "," : "", i);
        zt_json_string(out, zt_report_zone_name(m, (int)i));
        fprintf(out, ",\"address\":");
        hex(out, z->address);
        fputc(',', out);
        counters(out, &z->c);
        fprintf(out, ",\"classes\":[");
        for (unsigned c = 0; c < z->nclasses; c++) {
            const zt_m_class_t *k = &z->classes[c];
            bool valid = k->cls < ZT_CLASS_COUNT;
            fprintf(out,
                    "%s\n      {\"class\":%u,\"name\":\"%s\",\"kind\":\"%s\",\"block_bytes\":%zu,",
                    c ? "," : "", k->cls, valid ? zt_class_name(k->cls) : "?",
                    valid ? zt_kind_name(zt_class_kind(k->cls)) : "?",
                    valid ? zt_class_block_bytes(k->cls) : 0);
            counters(out, &k->c);
            fputc('}', out);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "],\n");
}

/* The stacks written: every one in model order, or (--top, or the HTML
 * report's bound) the top ones by the sort, in rank order, plus the given
 * extra ids (the HTML map's region owners) after them. Caller frees. */
static unsigned *chosen_stacks(zt_report_t *r, unsigned top, const uint32_t *extra, unsigned nextra,
                               unsigned *count)
{
    const zt_model_t *m = r->m;
    unsigned *sel = calloc(m->nstacks + 1, sizeof *sel);
    if (!sel) abort();
    unsigned n = 0;
    if (!top) {
        for (unsigned i = 0; i < m->nstacks; i++)
            sel[n++] = i;
        *count = n;
        return sel;
    }
    unsigned nr;
    unsigned *idx = zt_report_sorted_stacks_by(m, zt_report_sort_of(r), &nr);
    for (unsigned i = 0; i < nr && n < top; i++)
        sel[n++] = idx[i];
    free(idx);
    for (unsigned e = 0; e < nextra; e++) {
        for (unsigned i = 0; i < m->nstacks; i++) {
            if (m->stacks[i].id != extra[e]) continue;
            bool have = false;
            for (unsigned k = 0; k < n && !have; k++)
                have = sel[k] == i;
            if (!have && n < m->nstacks) sel[n++] = i;
            break;
        }
    }
    *count = n;
    return sel;
}

static void stacks(FILE *out, zt_report_t *r, const unsigned *sel, unsigned nsel)
{
    const zt_model_t *m = r->m;
    fprintf(out, "  \"stacks\": [");
    for (unsigned j = 0; j < nsel; j++) {
        const zt_m_stack_t *st = &m->stacks[sel[j]];
        fprintf(out, "%s\n    {\"id\":%u,", j ? "," : "", st->id);
        counters(out, &st->total);
        fprintf(out, ",\"cost\":%llu,\"end_live_bytes\":%llu,\"first_failure_live_bytes\":%llu",
                (unsigned long long)zt_report_sort_key(st, zt_report_sort_of(r)),
                (unsigned long long)st->end_live_bytes, (unsigned long long)st->ff_live_bytes);
        zt_estimate_t e = zt_report_live_estimate(m, st);
        fprintf(out,
                ",\"charged_bytes\":%llu,\"live_bytes_ci_low\":%llu,\"live_bytes_ci_high\":%llu,"
                "\"live_samples\":%llu,\"below_resolution\":%s",
                (unsigned long long)zt_report_charged_bytes(st), (unsigned long long)e.low_bytes,
                (unsigned long long)e.high_bytes, (unsigned long long)e.samples,
                e.below_resolution ? "true" : "false");
        bool exact, known;
        uint64_t req = zt_report_requested_live(st, &exact, &known);
        fprintf(out, ",\"requested_live_bytes\":");
        if (known)
            fprintf(out, "%llu,\"requested_exact\":%s", (unsigned long long)req,
                    exact ? "true" : "false");
        else
            fputs("null,\"requested_exact\":false", out);
        fprintf(out, ",\"per_zone\":[");
        bool first = true;
        for (unsigned z = 0; st->per_zone && z < m->nzones; z++) {
            const zt_m_counters_t *c = &st->per_zone[z];
            if (!c->total_blocks && !c->live_blocks && !c->va_bytes) continue;
            fprintf(out, "%s{\"zone\":%u,\"name\":", first ? "" : ",", z);
            zt_json_string(out, zt_report_zone_name(m, (int)z));
            fputc(',', out);
            counters(out, c);
            fputc('}', out);
            first = false;
        }
        fprintf(out, "],\"frames\":");
        frames(out, r, st->id, false, true);
        fputc('}', out);
    }
    fprintf(out, "],\n");
}

/* What --by, --top and --depth chose, and the ranked rows of --by: stacks
 * (id and cost), zones, (zone, class) pairs or regions, --top of them
 * (every row without it, or the HTML report's bound). */
static void view(FILE *out, zt_report_t *r, unsigned top, unsigned nstacks_shown)
{
    const zt_model_t *m = r->m;
    fprintf(out, "  \"view\": {\"by\":\"%s\",\"top\":", zt_report_by_name(r->opt.by));
    if (top)
        fprintf(out, "%u", top);
    else
        fputs("null", out);
    fputs(",\"depth\":", out);
    if (r->opt.depth)
        fprintf(out, "%u", r->opt.depth);
    else
        fputs("null", out);
    fprintf(out, ",\"stacks_total\":%u,\"stacks_shown\":%u,\"rows_sort\":\"%s\",\"rows\":[",
            m->nstacks, nstacks_shown,
            zt_report_sort_name(r->opt.by == ZT_BY_STACK ? zt_report_sort_of(r)
                                                         : zt_report_row_sort(r)));
    if (r->opt.by == ZT_BY_STACK) {
        int sort = zt_report_sort_of(r);
        unsigned n;
        unsigned *idx = zt_report_sorted_stacks_by(m, sort, &n);
        for (unsigned i = 0; i < n && (!top || i < top); i++)
            fprintf(out, "%s\n    {\"stack\":%u,\"cost\":%llu}", i ? "," : "", m->stacks[idx[i]].id,
                    (unsigned long long)zt_report_sort_key(&m->stacks[idx[i]], sort));
        free(idx);
        fprintf(out, "]},\n");
        return;
    }
    unsigned n;
    zt_report_row_t *row = zt_report_rows(r, r->opt.by, &n);
    for (unsigned i = 0; i < n && (!top || i < top); i++) {
        const zt_report_row_t *w = &row[i];
        fprintf(out, "%s\n    {", i ? "," : "");
        if (w->region >= 0) {
            const zt_m_region_t *g = &m->regions[w->region];
            fprintf(out, "\"region\":%d,\"base\":", w->region);
            hex(out, g->base);
            fprintf(out,
                    ",\"kind\":\"%s\",\"zone\":%d,\"zone_name\":", zt_report_kind_name(g->kind),
                    g->zone);
            zt_json_string(out, zt_report_zone_name(m, g->zone));
            fprintf(out, ",\"bytes\":%llu,\"used_bytes\":%llu,\"top_stack\":%u,\"cost\":%llu}",
                    (unsigned long long)g->bytes, (unsigned long long)g->used_bytes, g->top_stack,
                    (unsigned long long)w->key);
            continue;
        }
        fprintf(out, "\"zone\":%d,\"zone_name\":", w->zone);
        zt_json_string(out, zt_report_zone_name(m, w->zone));
        if (w->cls >= 0) {
            unsigned cls = m->zones[w->zone].classes[w->cls].cls;
            fprintf(out, ",\"class\":%u,\"name\":\"%s\"", cls,
                    cls < ZT_CLASS_COUNT ? zt_class_name(cls) : "?");
        }
        fprintf(out, ",\"cost\":%llu,", (unsigned long long)w->key);
        counters(out, w->c);
        fputc('}', out);
    }
    free(row);
    fprintf(out, "]},\n");
}

static void regions(FILE *out, const zt_model_t *m)
{
    fprintf(out, "  \"regions\": [");
    for (unsigned i = 0; i < m->nregions; i++) {
        const zt_m_region_t *g = &m->regions[i];
        fprintf(out, "%s\n    {\"base\":", i ? "," : "");
        hex(out, g->base);
        fprintf(out,
                ",\"bytes\":%llu,\"kind\":\"%s\",\"zone\":%d,\"used_bytes\":%llu,"
                "\"top_stack\":%u}",
                (unsigned long long)g->bytes, zt_report_kind_name(g->kind), g->zone,
                (unsigned long long)g->used_bytes, g->top_stack);
    }
    fprintf(out, "],\n  \"va_runs\": [");
    for (unsigned i = 0; i < m->nva_runs; i++) {
        const zt_m_va_run_t *v = &m->va_runs[i];
        fprintf(out, "%s\n    {\"base\":", i ? "," : "");
        hex(out, v->base);
        fprintf(out, ",\"bytes\":%llu,\"kind\":\"%s\",\"window\":%d}", (unsigned long long)v->bytes,
                zt_report_kind_name(v->kind), v->window);
    }
    fprintf(out, "],\n");
}

static const char *event_key(uint32_t t)
{
    switch (t) {
    case ZT_REC_EV_NANO_DELEGATED:
        return "nano_delegated";
    case ZT_REC_EV_NANO_RELEASED:
        return "nano_released";
    case ZT_REC_EV_MAP_FAILED:
        return "map_failed";
    case ZT_REC_EV_NULL_RETURNED:
        return "null_returned";
    case ZT_REC_EV_VA_HIGH_WATER:
        return "va_high_water";
    case ZT_REC_EV_PROCESS_END:
        return "process_end";
    case ZT_REC_EV_LIMIT:
        return "limit";
    case ZT_REC_EV_PRESSURE:
        return "pressure";
    case ZT_REC_EV_MEMORY_WARNING:
        return "memory_warning";
    case ZT_REC_EV_BAD_FREE:
        return "bad_free";
    }
    return "unknown";
}

/* Which of an event's class and kind fields mean something for its type:
 * the record leaves the others 0, which would read as "nano-16" / "nano"
 * (and process_end keeps its termination state in kind), so they are
 * written as null. A va_high_water's kind is the kind of the mapping that
 * crossed the step. */
static bool event_has_class(uint32_t t)
{
    return t == ZT_REC_EV_NANO_DELEGATED || t == ZT_REC_EV_NANO_RELEASED ||
           t == ZT_REC_EV_NULL_RETURNED;
}

static bool event_has_kind(uint32_t t)
{
    return event_has_class(t) || t == ZT_REC_EV_MAP_FAILED || t == ZT_REC_EV_VA_HIGH_WATER ||
           t == ZT_REC_EV_BAD_FREE;
}

/* BAD_FREE (FORMAT.md): what it was, and the allocating and first freeing
 * stacks' frames (null when not recorded). */
static void bad_free(FILE *out, zt_report_t *r, const zt_m_event_t *e)
{
    static const char *const what[] = {"?", "double_free", "interior", "stack", "foreign"};
    fprintf(out, "\"bad_free\":{\"what\":\"%s\",\"call\":\"%s\",\"pointer\":",
            e->align < 5 ? what[e->align] : "?", e->cls ? "realloc" : "free");
    hex(out, e->value);
    fputs(",\"allocated_by\":", out);
    if (e->largest_free)
        frames(out, r, (uint32_t)e->largest_free, false, false);
    else
        fputs("null", out);
    fputs(",\"first_freed_by\":", out);
    if (e->largest_aligned)
        frames(out, r, (uint32_t)e->largest_aligned, false, false);
    else
        fputs("null", out);
    fputs("},", out);
}

static void event(FILE *out, zt_report_t *r, const zt_m_event_t *e)
{
    char line[1024];
    fprintf(out, "{\"time_ns\":%llu,\"type\":\"%s\",", (unsigned long long)e->time_ns,
            event_key(e->type));
    if (event_has_class(e->type))
        fprintf(out, "\"class\":%u,\"class_name\":\"%s\",", e->cls,
                e->cls < ZT_CLASS_COUNT ? zt_class_name(e->cls) : "-");
    else
        fputs("\"class\":null,\"class_name\":null,", out);
    if (event_has_kind(e->type) && !(e->type == ZT_REC_EV_BAD_FREE && e->kind < 0))
        fprintf(out, "\"kind\":\"%s\",", zt_report_kind_name(e->kind));
    else
        fputs("\"kind\":null,", out);
    if (e->type == ZT_REC_EV_BAD_FREE) bad_free(out, r, e);
    fprintf(out,
            "\"stack_id\":%u,\"zone\":%d,\"size\":%llu,\"align\":%llu,"
            "\"va_used\":%llu,\"va_limit\":%llu,\"largest_free\":%llu,"
            "\"largest_aligned\":%llu,\"value\":%llu,\"description\":",
            e->stack_id, e->zone, (unsigned long long)e->size, (unsigned long long)e->align,
            (unsigned long long)e->va_used, (unsigned long long)e->va_limit,
            (unsigned long long)e->largest_free, (unsigned long long)e->largest_aligned,
            (unsigned long long)e->value);
    zt_report_event(r, e, line, sizeof line);
    zt_json_string(out, line);
    fputc('}', out);
}

static void events(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    fprintf(out, "  \"events_lost\": %llu,\n  \"events\": [", (unsigned long long)m->events_lost);
    for (unsigned i = 0; i < m->nevents; i++) {
        fprintf(out, "%s\n    ", i ? "," : "");
        event(out, r, &m->events[i]);
    }
    fprintf(out, "],\n");
}

static void moment(FILE *out, zt_report_t *r, const zt_m_moment_t *mo)
{
    static const char *const kinds[] = {"first-failure", "peak-va", "peak",
                                        "end",           "?",       "zone-failure"};
    fprintf(out,
            "{\"kind\":\"%s\",\"zone\":%d,\"time_ns\":%llu,\"live_bytes\":%llu,"
            "\"live_blocks\":%llu,\"va_used_bytes\":%llu,\"failures\":%llu,\"event\":",
            mo->kind < 6 ? kinds[mo->kind] : "?", mo->zone, (unsigned long long)mo->time_ns,
            (unsigned long long)mo->live_bytes, (unsigned long long)mo->live_blocks,
            (unsigned long long)mo->va_used_bytes, (unsigned long long)mo->failures);
    if (mo->has_event)
        event(out, r, &mo->event);
    else
        fputs("null", out);
    fputc('}', out);
}

/* What the live figures show, the ranking, the exact heap counters, the
 * failures and the moments the record holds. */
static void moments(FILE *out, zt_report_t *r)
{
    const zt_model_t *m = r->m;
    fprintf(out, "  \"at\": {\"moment\":\"%s\",\"time_ns\":%llu},\n  \"sort\": \"%s\",\n",
            zt_model_at_name(m->at), (unsigned long long)m->at_time_ns,
            zt_report_sort_name(zt_report_sort_of(r)));
    fprintf(out, "  \"heap\": {");
    counters(out, &m->heap);
    fprintf(out,
            "},\n  \"failures\": {\"count\":%llu,\"null_returns\":%llu,\"map_failures\":%llu,"
            "\"per_zone\":[",
            (unsigned long long)m->failures, (unsigned long long)m->null_returns,
            (unsigned long long)m->map_failures);
    bool first = true;
    for (unsigned z = 0; z < m->nzones; z++) {
        if (!m->zone_failure_counts || !m->zone_failure_counts[z]) continue;
        fprintf(out, "%s{\"zone\":%u,\"count\":%llu,\"first\":", first ? "" : ",", z,
                (unsigned long long)m->zone_failure_counts[z]);
        if (m->zone_failures[z].present)
            moment(out, r, &m->zone_failures[z]);
        else
            fputs("null", out);
        fputc('}', out);
        first = false;
    }
    fprintf(out, "]},\n  \"moments\": [");
    first = true;
    for (unsigned k = 0; k < 4; k++) {
        if (!m->moments[k].present) continue;
        fprintf(out, "%s\n    ", first ? "" : ",");
        moment(out, r, &m->moments[k]);
        first = false;
    }
    fprintf(out, "],\n");
}

static void timeline(FILE *out, const zt_model_t *m)
{
    fprintf(out, "  \"timeline\": [");
    for (unsigned i = 0; i < m->ntimeline; i++) {
        const zt_m_sample_t *s = &m->timeline[i];
        fprintf(out,
                "%s\n    {\"time_ns\":%llu,\"rss_bytes\":%llu,\"anon_bytes\":%llu,"
                "\"va_used_bytes\":%llu,\"live_bytes\":%llu}",
                i ? "," : "", (unsigned long long)s->time_ns, (unsigned long long)s->rss_bytes,
                (unsigned long long)s->anon_bytes, (unsigned long long)s->va_used_bytes,
                (unsigned long long)s->live_bytes);
    }
    fprintf(out, "]");
}

void zt_report_json_doc(FILE *out, zt_report_t *r, unsigned top_default, const uint32_t *extra,
                        unsigned nextra)
{
    unsigned top = zt_report_top(r, top_default), nsel;
    unsigned *sel = chosen_stacks(r, top, extra, nextra, &nsel);
    uncounted = r->m->stacks_mode == ZT_REC_STACKS_OFF;
    fprintf(out,
            "{\n  \"format\": \"zonetrace-report\",\n  \"schema_version\": %d,\n  \"record\": ",
            SCHEMA_VERSION);
    zt_json_string(out, r->opt.path);
    fprintf(out, ",\n");
    process(out, r);
    termination(out, r);
    moments(out, r);
    view(out, r, top, nsel);
    memory(out, r->m);
    modules(out, r->m);
    zones(out, r->m);
    stacks(out, r, sel, nsel);
    regions(out, r->m);
    events(out, r);
    timeline(out, r->m);
    if (r->opt.tree_out) { /* several processes: "processes", "unreadable" */
        fputs(",\n", out);
        r->opt.tree_out(out, r, ZT_FMT_JSON);
    }
    fprintf(out, "\n}\n");
    free(sel);
}

void zt_report_json(FILE *out, zt_report_t *r)
{
    zt_report_json_doc(out, r, 0, NULL, 0);
}
