/* ----------------------------------------------------------------------------
 * report.c — the pieces every report format shares (report.h): symbolized
 * stacks with the allocator's own frames trimmed, sorting, byte formatting,
 * and the wording of endings, events and the diagnosis, so that the text,
 * JSON and HTML reports say the same thing in the same words.
 * -------------------------------------------------------------------------- */
#include "report.h"
#include "profile.h"

#include "record_format.h"
#include "options.h"
#include "sizeclass.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The diagnosis names the stack holding the most live bytes only when it
 * holds at least this share of them. */
#define DIAGNOSIS_MIN_SHARE_PCT 5.0

const char *zt_fmt_bytes(uint64_t bytes, char buf[32])
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes;
    int u = 0;
    /* 1000..1023 of a unit reads better as 0.98 of the next. */
    while (v >= 1000 && u < 4)
        v /= 1024, u++;
    snprintf(buf, 32, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}

const char *zt_fmt_secs(uint64_t ns, char buf[32])
{
    snprintf(buf, 32, "%.3f s", (double)ns / 1e9);
    return buf;
}

const char *zt_signal_name(int sig)
{
    static char buf[32];
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
        {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig) return names[i].name;
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

const char *zt_platform_name(int platform)
{
    switch (platform) {
    case ZT_M_LINUX:
        return "linux";
    case ZT_M_MACOS:
        return "macos";
    case ZT_M_IOS:
        return "ios";
    case ZT_M_IOS_SIMULATOR:
        return "ios-simulator";
    case ZT_M_DARWIN_OTHER:
        return "darwin";
    }
    return "unknown";
}

const char *zt_module_id(const zt_m_module_t *mm, char buf[48])
{
    size_t at = 0;
    unsigned n = mm->build_id_len < 20 ? mm->build_id_len : 20;
    buf[0] = 0;
    for (unsigned k = 0; k < n; k++) {
        bool dash = mm->macho && n == 16 && (k == 4 || k == 6 || k == 8 || k == 10);
        at += (size_t)snprintf(buf + at, 48 - at, mm->macho ? "%s%02X" : "%s%02x", dash ? "-" : "",
                               mm->build_id[k]);
    }
    return buf;
}

const char *zt_term_state_name(const zt_model_t *m)
{
    if (m->term.state == ZT_TERM_EXITED) return "exited";
    if (m->term.state == ZT_TERM_SIGNALED) return "signaled";
    if (m->term.state == ZT_TERM_EXECED) return "exec";
    return m->term.killed ? "killed" : "running";
}

const char *zt_term_how_name(const zt_model_t *m)
{
    switch (m->term.how) {
    case 1:
        return "exit";
    case 2:
        return "_exit";
    case 3:
        return "signal";
    case 4:
        return "exec";
    case 5:
        return "jetsam";
    default:
        return "unknown";
    }
}

size_t zt_report_command(const zt_model_t *m, unsigned first, char *buf, size_t cap)
{
    size_t n = 0;
    if (!cap) return 0;
    buf[0] = 0;
    if (!m->argc) {
        snprintf(buf, cap, "%s", m->exe ? m->exe : "?");
        return strlen(buf);
    }
    for (unsigned i = first; i < m->argc; i++) {
        if (i > first && n + 1 < cap) buf[n++] = ' ';
        for (const unsigned char *c = (const unsigned char *)(m->argv[i] ? m->argv[i] : ""); *c;
             c++) {
            char esc[5];
            size_t k;
            if (*c == '\n' || *c == '\t')
                k = (size_t)snprintf(esc, sizeof esc, "\\%c", *c == '\n' ? 'n' : 't');
            else if (*c < 0x20 || *c == 0x7f)
                k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *c);
            else
                esc[0] = (char)*c, k = 1;
            if (n + k >= cap) goto full; /* never half an escape */
            memcpy(buf + n, esc, k);
            n += k;
        }
    }
full:
    buf[n] = 0;
    return n;
}

void zt_report_ending(const zt_model_t *m, char *buf, size_t cap)
{
    const zt_m_termination_t *t = &m->term;
    const char *seen = t->runner_only ? " (as zonetrace run saw it; no handler ran)" : "";
    if (t->state == ZT_TERM_EXECED) {
        if (t->runner && t->runner_state == ZT_TERM_EXITED)
            snprintf(buf, cap, "replaced by exec; the new program exited with status %d",
                     t->runner_code);
        else if (t->runner)
            snprintf(buf, cap, "replaced by exec; the new program was killed by %s",
                     zt_signal_name(t->runner_code));
        else
            snprintf(buf, cap, "replaced by exec (the new program has its own record)");
    } else if (t->state == ZT_TERM_EXITED) {
        if (t->how == 2)
            snprintf(buf, cap, "exited with status %d by _exit or _Exit (no exit handlers ran)",
                     t->exit_code);
        else
            snprintf(buf, cap, "exited with status %d%s", t->exit_code,
                     t->runner_only ? " (as zonetrace run saw it)" : "");
    } else if (t->jetsam) {
        char b1[32], b2[32];
        snprintf(buf, cap, "killed by jetsam (SIGKILL): per-process-limit, footprint %s of %s",
                 zt_fmt_bytes(m->jetsam_footprint_bytes, b1),
                 zt_fmt_bytes(m->jetsam_limit_bytes, b2));
    } else if (t->state == ZT_TERM_SIGNALED) {
        if (!t->runner_only && (t->signal == SIGSEGV || t->signal == SIGBUS ||
                                t->signal == SIGILL || t->signal == SIGFPE))
            snprintf(buf, cap, "killed by %s (fault address 0x%llx)", zt_signal_name(t->signal),
                     (unsigned long long)t->fault_addr);
        else
            snprintf(buf, cap, "killed by %s%s", zt_signal_name(t->signal), seen);
    } else if (t->killed && t->runner) {
        snprintf(buf, cap,
                 "killed without running handlers (SIGKILL: OOM killer, jetsam or "
                 "kill -9)");
    } else if (t->killed) {
        snprintf(buf, cap, "killed without running handlers (SIGKILL: OOM killer or jetsam)");
    } else {
        snprintf(buf, cap, "still running (pid %d): the record is a live snapshot", m->pid);
    }
}

bool zt_report_sampling_note(const zt_model_t *m, char *buf, size_t cap)
{
    char b[32], b2[32];
    buf[0] = 0;
    if (m->stacks_mode != ZT_STACKS_SAMPLE) return false;
    snprintf(buf, cap,
             "mean %s between samples; block and byte counts are unbiased estimates, "
             "live bytes with %d %% intervals; below the sampling resolution, %s (N ln 40), a "
             "stack is missed more than 2.5 %% of the time (one of B bytes with probability "
             "e^(-B/N)), so a leak smaller than that may be absent",
             zt_fmt_bytes(m->sample_bytes, b), ZT_EST_CONFIDENCE_PCT,
             zt_fmt_bytes(zt_estimate_resolution_bytes(m->sample_bytes), b2));
    return true;
}

zt_estimate_t zt_report_live_estimate(const zt_model_t *m, const zt_m_stack_t *s)
{
    if (m->stacks_mode != ZT_STACKS_SAMPLE)
        return (zt_estimate_t){.bytes = s->total.live_bytes,
                               .low_bytes = s->total.live_bytes,
                               .high_bytes = s->total.live_bytes,
                               .samples = s->total.live_blocks};
    return zt_estimate_live(s->total.live_blocks, s->total.live_bytes, m->sample_bytes);
}

void zt_report_interval_words(const zt_model_t *m, const zt_m_stack_t *s, char *buf, size_t cap)
{
    char b1[32], b2[32];
    zt_estimate_t e = zt_report_live_estimate(m, s);
    buf[0] = 0;
    if (m->stacks_mode != ZT_STACKS_SAMPLE || !e.bytes) return;
    snprintf(buf, cap, "%d %% interval %s to %s (%llu sample%s)%s", ZT_EST_CONFIDENCE_PCT,
             zt_fmt_bytes(e.low_bytes, b1), zt_fmt_bytes(e.high_bytes, b2),
             (unsigned long long)e.samples, e.samples == 1 ? "" : "s",
             e.below_resolution ? ", below the sampling resolution" : "");
}

const char *zt_event_name(uint32_t type)
{
    switch (type) {
    case ZT_REC_EV_NANO_DELEGATED:
        return "nano class delegated";
    case ZT_REC_EV_NANO_RELEASED:
        return "nano class released";
    case ZT_REC_EV_MAP_FAILED:
        return "region map failed";
    case ZT_REC_EV_NULL_RETURNED:
        return "NULL returned";
    case ZT_REC_EV_VA_HIGH_WATER:
        return "address-space high water";
    case ZT_REC_EV_PROCESS_END:
        return "process end";
    case ZT_REC_EV_LIMIT:
        return "memory limit";
    case ZT_REC_EV_PRESSURE:
        return "memory pressure";
    case ZT_REC_EV_MEMORY_WARNING:
        return "memory warning";
    case ZT_REC_EV_BAD_FREE:
        return "bad free";
    }
    return "unknown event";
}

const char *zt_report_zone_name(const zt_model_t *m, int zone)
{
    if (zone < 0 || (unsigned)zone >= m->nzones) return "-";
    return m->zones[zone].name && m->zones[zone].name[0] ? m->zones[zone].name : "(unnamed zone)";
}

const char *zt_report_kind_name(int kind)
{
    if (kind < 0 || kind >= ZT_KIND_COUNT) return "free";
    return zt_kind_name((enum zt_kind)kind);
}

uint64_t zt_report_peak_rss(const zt_model_t *m)
{
    uint64_t peak = m->peak_rss_bytes;
    for (unsigned i = 0; i < m->ntimeline; i++)
        if (m->timeline[i].rss_bytes > peak) peak = m->timeline[i].rss_bytes;
    return peak;
}

void zt_report_kind_totals(const zt_model_t *m, uint64_t reserved[ZT_KIND_COUNT],
                           uint64_t used[ZT_KIND_COUNT], unsigned count[ZT_KIND_COUNT])
{
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        reserved[k] = used[k] = 0, count[k] = 0;
    for (unsigned i = 0; i < m->nregions; i++) {
        int k = m->regions[i].kind;
        if (k < 0 || k >= ZT_KIND_COUNT) continue;
        reserved[k] += m->regions[i].bytes;
        used[k] += m->regions[i].used_bytes;
        count[k]++;
    }
}

const zt_m_stack_t *zt_report_stack(const zt_model_t *m, uint32_t id)
{
    if (id == 0) return NULL;
    /* The reader stores index = id - 1; check rather than trust. */
    if (id <= m->nstacks && m->stacks[id - 1].id == id) return &m->stacks[id - 1];
    for (unsigned i = 0; i < m->nstacks; i++)
        if (m->stacks[i].id == id) return &m->stacks[i];
    return NULL;
}

static const zt_model_t *sort_model;

static int sort_key;

int zt_report_sort_of(const zt_report_t *r)
{
    if (r->opt.sort != ZT_SORT_AUTO) return r->opt.sort;
    return r->m->va_limit_bytes ? ZT_SORT_VA : ZT_SORT_LIVE;
}

const char *zt_report_sort_name(int sort)
{
    static const char *const names[ZT_SORT_COUNT_OF] = {"auto",  "live",          "leaks",
                                                        "peak",  "first-failure", "allocated",
                                                        "count", "temporary",     "address-space"};
    return sort >= 0 && sort < ZT_SORT_COUNT_OF ? names[sort] : "?";
}

const char *zt_report_sort_words(int sort)
{
    switch (sort) {
    case ZT_SORT_LEAKS:
        return "live bytes at the end (leaks)";
    case ZT_SORT_PEAK:
        return "their own peak of live bytes";
    case ZT_SORT_FIRST_FAILURE:
        return "live bytes at the first failure";
    case ZT_SORT_ALLOCATED:
        return "bytes allocated";
    case ZT_SORT_COUNT:
        return "allocations";
    case ZT_SORT_TEMPORARY:
        return "temporary allocations";
    case ZT_SORT_VA:
        return "address space charged";
    default:
        return "live bytes";
    }
}

bool zt_report_sort_is_bytes(int sort)
{
    return sort != ZT_SORT_COUNT && sort != ZT_SORT_TEMPORARY;
}

uint64_t zt_report_sort_key(const zt_m_stack_t *s, int sort)
{
    switch (sort) {
    case ZT_SORT_LEAKS:
        return s->end_live_bytes;
    case ZT_SORT_PEAK:
        return s->total.peak_bytes;
    case ZT_SORT_FIRST_FAILURE:
        return s->ff_live_bytes;
    case ZT_SORT_ALLOCATED:
        return s->total.total_bytes;
    case ZT_SORT_COUNT:
        return s->total.total_blocks;
    case ZT_SORT_TEMPORARY:
        return s->total.temp_blocks;
    case ZT_SORT_VA:
        return s->total.va_bytes;
    default:
        return s->total.live_bytes;
    }
}

uint64_t zt_report_requested_live(const zt_m_stack_t *s, bool *exact, bool *known)
{
    *exact = false;
    *known = true;
    if (s->request_bytes && s->request_bytes != UINT64_MAX) {
        *exact = true;
        return s->total.live_blocks * s->request_bytes;
    }
    if (s->total.requested_bytes && s->total.total_bytes)
        return (uint64_t)((double)s->total.live_bytes * (double)s->total.requested_bytes /
                          (double)s->total.total_bytes);
    *known = false;
    return 0;
}

void zt_report_at_words(const zt_model_t *m, char *buf, size_t cap)
{
    char b[32];
    switch (m->at) {
    case ZT_AT_FIRST_FAILURE:
        snprintf(buf, cap, "at the first failure (%s)", zt_fmt_secs(m->at_time_ns, b));
        break;
    case ZT_AT_PEAK:
        snprintf(buf, cap, "at the peak of live heap (%s)", zt_fmt_secs(m->at_time_ns, b));
        break;
    case ZT_AT_PEAK_VA:
        snprintf(buf, cap, "at the peak of heap address space (%s)", zt_fmt_secs(m->at_time_ns, b));
        break;
    default:
        snprintf(buf, cap, "%s",
                 m->term.state == ZT_TERM_RUNNING && !m->term.killed ? "now" : "at the end");
    }
}

static int cmp_stacks(const void *a, const void *b)
{
    const zt_m_stack_t *x = &sort_model->stacks[*(const unsigned *)a];
    const zt_m_stack_t *y = &sort_model->stacks[*(const unsigned *)b];
    uint64_t kx = zt_report_sort_key(x, sort_key);
    uint64_t ky = zt_report_sort_key(y, sort_key);
    if (kx != ky) return kx > ky ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

unsigned *zt_report_sorted_stacks(const zt_model_t *m, bool by_va, unsigned *count)
{
    return zt_report_sorted_stacks_by(m, by_va ? ZT_SORT_VA : ZT_SORT_LIVE, count);
}

unsigned *zt_report_sorted_stacks_by(const zt_model_t *m, int sort, unsigned *count)
{
    unsigned *idx = malloc((m->nstacks + 1) * sizeof *idx);
    if (!idx) abort();
    unsigned n = 0;
    for (unsigned i = 0; i < m->nstacks; i++)
        if (zt_report_sort_key(&m->stacks[i], sort)) idx[n++] = i;
    sort_model = m;
    sort_key = sort;
    qsort(idx, n, sizeof *idx, cmp_stacks);
    *count = n;
    return idx;
}

/* Modules whose frames at the top of a stack are the allocation machinery,
 * not the caller the reader is looking for. */
static bool wrapper_module(const char *mod)
{
    static const char *const prefixes[] = {"libzonetrace", "libc.so",   "libc-",    "ld-linux",
                                           "ld-",          "libstdc++", "libgcc_s", "libunwind"};
    for (unsigned i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(mod, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

static bool wrapper_function(const char *fn)
{
    static const char *const names[] = {
        "malloc",   "calloc",        "realloc",        "free",         "valloc", "pvalloc",
        "memalign", "aligned_alloc", "posix_memalign", "reallocarray", "strdup", "strndup"};
    if (!fn) return false;
    if (strncmp(fn, "zt_", 3) == 0 || strncmp(fn, "malloc_zone_", 12) == 0 ||
        strncmp(fn, "operator new", 12) == 0)
        return true;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(fn, names[i]) == 0) return true;
    return false;
}

/* abort()'s own frames at the top of a crash stack (glibc, Apple's libc
 * and kernel shims): the reader wants the frame that called abort. */
static bool abort_function(const char *fn)
{
    static const char *const names[] = {"abort",        "raise",      "gsignal",
                                        "pthread_kill", "__GI_raise", "__GI_abort"};
    if (!fn) return false;
    if (strncmp(fn, "__pthread_kill", 14) == 0 || strncmp(fn, "__abort", 7) == 0 ||
        strncmp(fn, "abort_with", 10) == 0)
        return true;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(fn, names[i]) == 0) return true;
    return false;
}

/* Start-up frames below main / the thread function. */
static bool startup_frame(const zt_sym_frame_t *f)
{
    if (strncmp(f->module, "libc.so", 7) == 0 || strncmp(f->module, "libc-", 5) == 0 ||
        strncmp(f->module, "ld-", 3) == 0)
        return true;
    return f->function &&
           (strcmp(f->function, "_start") == 0 || strcmp(f->function, "__libc_start_main") == 0 ||
            strncmp(f->function, "__libc_start_", 13) == 0 ||
            strcmp(f->function, "start_thread") == 0 || strncmp(f->function, "clone", 5) == 0);
}

zt_rframes_t zt_report_frames(zt_report_t *r, uint32_t id, bool fault)
{
    zt_rframes_t out = {0};
    const zt_m_stack_t *st = zt_report_stack(r->m, id);
    if (!st || st->nframes == 0) return out;
    unsigned cap = st->nframes * 2 + 4;
    out.v = malloc(cap * sizeof *out.v);
    if (!out.v) abort();
    for (unsigned i = 0; i < st->nframes; i++) {
        const zt_sym_frame_t *f;
        unsigned k = zt_sym_lookup(r->sym, st->pcs[i], !(fault && i == 0), &f);
        if (out.n + k > cap) {
            cap = 2 * (out.n + k);
            out.v = realloc(out.v, cap * sizeof *out.v);
            if (!out.v) abort();
        }
        memcpy(&out.v[out.n], f, k * sizeof *f);
        out.n += k;
    }
    /* A crash's frames are all interesting except a signal handler's own
     * (when the capture started inside it) and, for an abort, abort's own
     * frames and the allocator's that called it (a misused free: the
     * program's frame that called free leads). */
    out.first = 0;
    if (fault) {
        bool aborted = r->m->term.signal == SIGABRT;
        while (out.first + 1 < out.n &&
               (strncmp(out.v[out.first].module, "libzonetrace", 12) == 0 ||
                (out.v[out.first].function &&
                 strcmp(out.v[out.first].function, "__restore_rt") == 0) ||
                (aborted && (abort_function(out.v[out.first].function) ||
                             wrapper_function(out.v[out.first].function)))))
            out.first++;
    } else {
        while (out.first < out.n && (wrapper_module(out.v[out.first].module) ||
                                     wrapper_function(out.v[out.first].function)))
            out.first++;
        if (out.first == out.n) /* all machinery: show what there is, past our own frames */
            for (out.first = 0; out.first + 1 < out.n &&
                                strncmp(out.v[out.first].module, "libzonetrace", 12) == 0;)
                out.first++;
    }
    out.end = out.n;
    while (out.end > out.first + 1 && startup_frame(&out.v[out.end - 1]))
        out.end--;
    return out;
}

void zt_rframes_free(zt_rframes_t *f)
{
    free(f->v);
    f->v = NULL;
    f->n = f->first = f->end = 0;
}

/* The innermost interesting frame of a stack, described; "stack #id" when
 * there is none. */
static void stack_site(zt_report_t *r, uint32_t id, char *buf, size_t cap)
{
    zt_rframes_t f = zt_report_frames(r, id, false);
    if (f.first < f.end)
        snprintf(buf, cap, "%s", zt_sym_describe(&f.v[f.first]));
    else if (id)
        snprintf(buf, cap, "stack #%u", id);
    else
        snprintf(buf, cap, "an unrecorded stack");
    zt_rframes_free(&f);
}

/* "1 MiB" for a whole number of MiB or KiB (alignments, region sizes),
 * zt_fmt_bytes otherwise. */
static const char *exact_bytes(uint64_t bytes, char buf[32])
{
    if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
        snprintf(buf, 32, "%llu MiB", (unsigned long long)(bytes >> 20));
    else if (bytes >= 1024 && bytes % 1024 == 0 && bytes < (1ull << 20))
        snprintf(buf, 32, "%llu KiB", (unsigned long long)(bytes >> 10));
    else
        return zt_fmt_bytes(bytes, buf);
    return buf;
}

/* "a 1 MiB-aligned 1 MiB hole" / "a 10.5 MiB hole": what a failed map
 * needed. Large blocks need only page alignment: not worth saying. */
static void needed_hole(const zt_m_event_t *e, char *buf, size_t cap)
{
    char b1[32], b2[32];
    if (e->align > 65536 && e->kind != ZT_KIND_LARGE)
        snprintf(buf, cap, "a %s-aligned %s hole", exact_bytes(e->align, b1),
                 exact_bytes(e->size, b2));
    else
        snprintf(buf, cap, "a %s hole", exact_bytes(e->size, b2));
}

/* A misused free (BAD_FREE, record_format.h): "double free of a 64 B block
 * allocated at <frame>, first freed at <frame>" and, in detail, where the
 * bad call was made. */
void zt_report_bad_free(zt_report_t *r, const zt_m_event_t *e, char *head, size_t hcap,
                        char *detail, size_t dcap)
{
    char site[512], first[512], b1[32];
    const char *op = e->cls ? "realloc" : "free";
    unsigned long long ptr = (unsigned long long)e->value;
    if (e->align == ZT_REC_BAD_DOUBLE_FREE) {
        char block[64];
        if (e->size)
            snprintf(block, sizeof block, "a %s block", exact_bytes(e->size, b1));
        else
            snprintf(block, sizeof block, "0x%llx", ptr);
        const char *verb = e->cls ? "realloc of a freed block" : "double free";
        if (e->largest_free) {
            stack_site(r, (uint32_t)e->largest_free, site, sizeof site);
            if (e->largest_aligned) {
                stack_site(r, (uint32_t)e->largest_aligned, first, sizeof first);
                snprintf(head, hcap, "%s of %s allocated at %s (first freed at %s)", verb, block,
                         site, first);
            } else {
                snprintf(head, hcap, "%s of %s allocated at %s", verb, block, site);
            }
        } else {
            snprintf(head, hcap, "%s of %s (where it was allocated was not recorded)", verb, block);
        }
    } else {
        const char *where = e->align == ZT_REC_BAD_STACK ? "a stack address"
                            : e->align == ZT_REC_BAD_INTERIOR
                                ? "inside the heap, not a block's start"
                                : "not from this allocator";
        snprintf(head, hcap, "invalid %s of 0x%llx (%s)", op, ptr, where);
    }
    if (e->stack_id) {
        stack_site(r, e->stack_id, site, sizeof site);
        snprintf(detail, dcap, "%s(0x%llx) called at %s", op, ptr, site);
    } else {
        snprintf(detail, dcap, "%s(0x%llx)", op, ptr);
    }
}

void zt_report_event(zt_report_t *r, const zt_m_event_t *e, char *buf, size_t cap)
{
    char b1[32], b2[32], b3[32], b4[32], site[512], hole[96];
    const zt_model_t *m = r->m;
    switch (e->type) {
    case ZT_REC_EV_NULL_RETURNED:
        stack_site(r, e->stack_id, site, sizeof site);
        snprintf(buf, cap, "NULL for %llu B (%s) from zone %s at %s", (unsigned long long)e->size,
                 e->cls < ZT_CLASS_COUNT ? zt_class_name(e->cls) : zt_report_kind_name(e->kind),
                 zt_report_zone_name(m, e->zone), site);
        break;
    case ZT_REC_EV_MAP_FAILED:
        needed_hole(e, hole, sizeof hole);
        if (e->align > 65536 && e->kind != ZT_KIND_LARGE)
            snprintf(buf, cap,
                     "%s region map failed: needs %s (largest hole %s, largest %s-aligned %s); "
                     "%s of %s used",
                     zt_report_kind_name(e->kind), hole, zt_fmt_bytes(e->largest_free, b1),
                     exact_bytes(e->align, b2), zt_fmt_bytes(e->largest_aligned, b3),
                     zt_fmt_bytes(e->va_used, b4),
                     e->va_limit ? zt_fmt_bytes(e->va_limit, site) : "unlimited");
        else
            snprintf(buf, cap, "%s map failed: needs %s (largest hole %s); %s of %s used",
                     e->kind == ZT_KIND_LARGE ? "large block" : zt_report_kind_name(e->kind), hole,
                     zt_fmt_bytes(e->largest_free, b1), zt_fmt_bytes(e->va_used, b4),
                     e->va_limit ? zt_fmt_bytes(e->va_limit, site) : "unlimited");
        break;
    case ZT_REC_EV_NANO_DELEGATED:
        if (e->stack_id) {
            stack_site(r, e->stack_id, site, sizeof site);
            snprintf(buf, cap,
                     "nano class %s full: delegated to the helper zone's tiny, filled by %s",
                     e->cls < ZT_CLASS_COUNT ? zt_class_name(e->cls) : "?", site);
        } else {
            snprintf(buf, cap, "nano class %s full: delegated to the helper zone's tiny",
                     e->cls < ZT_CLASS_COUNT ? zt_class_name(e->cls) : "?");
        }
        break;
    case ZT_REC_EV_NANO_RELEASED:
        snprintf(buf, cap, "nano class %s back in nano (a block is 75 %% free)",
                 e->cls < ZT_CLASS_COUNT ? zt_class_name(e->cls) : "?");
        break;
    case ZT_REC_EV_VA_HIGH_WATER:
        snprintf(buf, cap, "heap address space reached %s of %s", zt_fmt_bytes(e->va_used, b1),
                 e->va_limit ? zt_fmt_bytes(e->va_limit, b2) : "unlimited");
        break;
    case ZT_REC_EV_LIMIT:
        snprintf(buf, cap, "memory limit (cgroup memory.max) %s",
                 e->value ? zt_fmt_bytes(e->value, b1) : "none");
        break;
    case ZT_REC_EV_PRESSURE:
        snprintf(buf, cap, "memory pressure rose: PSI some avg10 %.2f %%", (double)e->value / 100);
        break;
    case ZT_REC_EV_MEMORY_WARNING:
        snprintf(buf, cap, "memory warning: footprint %s of the jetsam limit %s",
                 zt_fmt_bytes(e->value, b1), zt_fmt_bytes(e->size, b2));
        break;
    case ZT_REC_EV_PROCESS_END:
        zt_report_ending(m, buf, cap);
        break;
    case ZT_REC_EV_BAD_FREE: {
        char head[512], detail[1024];
        zt_report_bad_free(r, e, head, sizeof head, detail, sizeof detail);
        snprintf(buf, cap, "%s; %s", head, detail);
        break;
    }
    default:
        snprintf(buf, cap, "event type %u", e->type);
    }
}

/* The map failure behind the NULL at events[ni]: the last one before it,
 * from the same stack (or, without stacks, of the same kind), after any
 * earlier NULL. */
static const zt_m_event_t *map_before(const zt_model_t *m, unsigned ni, const zt_m_event_t *nul)
{
    for (unsigned i = ni; i-- > 0;) {
        const zt_m_event_t *e = &m->events[i];
        if (e->type == ZT_REC_EV_NULL_RETURNED) break;
        if (e->type == ZT_REC_EV_MAP_FAILED &&
            (nul->stack_id ? e->stack_id == nul->stack_id : e->kind == nul->kind))
            return e;
    }
    return NULL;
}

/* The first failure is the headline, except for a process killed by a
 * signal: it died of the last failure it met (the demo's NULL used at
 * CA_AttrList_set), and its end is the state that explains it. */
bool zt_report_first_failure_leads(const zt_model_t *m)
{
    return m->moments[0].present && m->moments[0].has_event && m->term.state != ZT_TERM_SIGNALED;
}

static bool same_event(const zt_m_event_t *a, const zt_m_event_t *b)
{
    return a->type == b->type && a->time_ns == b->time_ns && a->stack_id == b->stack_id &&
           a->size == b->size;
}

bool zt_report_cause(const zt_model_t *m, const zt_m_event_t **null_ev, const zt_m_event_t **map_ev)
{
    *null_ev = *map_ev = NULL;
    const zt_m_moment_t *ff = &m->moments[0]; /* ZT_REC_MOMENT_FIRST_FAILURE */
    if (zt_report_first_failure_leads(m)) {
        /* The first failure explains; later ones are its consequences. */
        const zt_m_event_t *fe = &ff->event;
        if (fe->type == ZT_REC_EV_NULL_RETURNED) {
            *null_ev = fe;
            for (unsigned i = 0; i < m->nevents; i++)
                if (same_event(&m->events[i], fe)) {
                    *map_ev = map_before(m, i, fe);
                    break;
                }
            return true;
        }
        *map_ev = fe;
        for (unsigned i = 0; i < m->nevents; i++) {
            const zt_m_event_t *e = &m->events[i];
            if (e->type == ZT_REC_EV_NULL_RETURNED && e->time_ns >= fe->time_ns &&
                (!fe->stack_id || !e->stack_id || e->stack_id == fe->stack_id)) {
                *null_ev = e;
                return true;
            }
        }
        return false;
    }
    unsigned ni = 0;
    for (unsigned i = 0; i < m->nevents; i++)
        if (m->events[i].type == ZT_REC_EV_NULL_RETURNED) *null_ev = &m->events[i], ni = i;
    if (!*null_ev) return false;
    *map_ev = map_before(m, ni, *null_ev);
    return true;
}

void zt_report_cause_text(zt_report_t *r, char *buf, size_t cap)
{
    const zt_model_t *m = r->m;
    const zt_m_event_t *nul, *map;
    buf[0] = 0;
    if (!zt_report_cause(m, &nul, &map)) return;
    char b1[32], b2[32], b3[32], b4[32], b5[32], site[512], hole[96];
    stack_site(r, nul->stack_id, site, sizeof site);
    int n = snprintf(
        buf, cap, "NULL for %llu B (%s) from zone %s at %s", (unsigned long long)nul->size,
        nul->cls < ZT_CLASS_COUNT ? zt_class_name(nul->cls) : zt_report_kind_name(nul->kind),
        zt_report_zone_name(m, nul->zone), site);
    if (n < 0 || (size_t)n >= cap || !map) return;
    needed_hole(map, hole, sizeof hole);
    if (map->align > 65536 && map->kind != ZT_KIND_LARGE)
        snprintf(buf + n, cap - (size_t)n,
                 ": a new %s region needs %s and none is left (largest hole %s, largest "
                 "%s-aligned %s); heap address space %s of %s used",
                 zt_report_kind_name(map->kind), hole, zt_fmt_bytes(map->largest_free, b1),
                 exact_bytes(map->align, b2), zt_fmt_bytes(map->largest_aligned, b3),
                 zt_fmt_bytes(map->va_used, b4),
                 map->va_limit ? zt_fmt_bytes(map->va_limit, b5) : "unlimited");
    else
        snprintf(buf + n, cap - (size_t)n,
                 ": the block needs %s and none is left (largest hole %s); heap address space "
                 "%s of %s used",
                 hole, zt_fmt_bytes(map->largest_free, b1), zt_fmt_bytes(map->va_used, b4),
                 map->va_limit ? zt_fmt_bytes(map->va_limit, b5) : "unlimited");
}

void zt_report_later_text(zt_report_t *r, char *buf, size_t cap)
{
    const zt_model_t *m = r->m;
    buf[0] = 0;
    if (!zt_report_first_failure_leads(m) || m->failures < 2) return;
    const zt_m_event_t *last = NULL;
    for (unsigned i = 0; i < m->nevents; i++)
        if (m->events[i].type == ZT_REC_EV_NULL_RETURNED ||
            m->events[i].type == ZT_REC_EV_MAP_FAILED)
            last = &m->events[i];
    int n = snprintf(buf, cap,
                     "%llu more failure%s after the first (%llu NULL returned, %llu region map%s "
                     "failed in all)",
                     (unsigned long long)(m->failures - 1), m->failures == 2 ? "" : "s",
                     (unsigned long long)m->null_returns, (unsigned long long)m->map_failures,
                     m->map_failures == 1 ? "" : "s");
    if (!last || n < 0 || (size_t)n >= cap) return;
    char ev[1024];
    zt_report_event(r, last, ev, sizeof ev);
    snprintf(buf + n, cap - (size_t)n, "; the last: %s", ev);
}

/* "<prefix>1.2 GiB live <when>, 90 % of it from f (a.c:12)": the heap by
 * its largest stack. */
/* Live bytes of every zone: the heap as the zone sees it. */
static uint64_t heap_live_bytes(const zt_model_t *m)
{
    uint64_t live = 0;
    for (unsigned i = 0; i < m->nzones; i++)
        live += m->zones[i].c.live_bytes;
    return live;
}

static void live_summary(zt_report_t *r, const char *prefix, const char *when, char *detail,
                         size_t dcap)
{
    const zt_model_t *m = r->m;
    char b1[32], site[512];
    uint64_t live = heap_live_bytes(m);
    const char *approx = m->stacks_mode == ZT_STACKS_SAMPLE ? "~" : "";
    unsigned n;
    unsigned *idx = zt_report_sorted_stacks(m, false, &n);
    if (n && live) {
        const zt_m_stack_t *st = &m->stacks[idx[0]];
        double share = 100.0 * (double)st->total.live_bytes / (double)live;
        if (share >= DIAGNOSIS_MIN_SHARE_PCT) {
            stack_site(r, st->id, site, sizeof site);
            snprintf(detail, dcap, "%s%s%s live %s, %.0f %% of it from %s", prefix, approx,
                     zt_fmt_bytes(live, b1), when, share, site);
        } else {
            /* Naming the biggest of many small stacks would point at noise. */
            snprintf(detail, dcap,
                     "%s%s%s live %s, spread over %u stacks (the largest holds %.1f %%)", prefix,
                     approx, zt_fmt_bytes(live, b1), when, n, share);
        }
    } else {
        snprintf(detail, dcap, "%s%s%s live %s", prefix, approx, zt_fmt_bytes(live, b1), when);
    }
    free(idx);
}

void zt_report_diagnosis_parts(zt_report_t *r, char *head, size_t hcap, char *detail, size_t dcap)
{
    const zt_model_t *m = r->m;
    const zt_m_event_t *null_ev = NULL, *map_ev = NULL, *last_null = NULL;
    unsigned nulls = 0, maps = 0;
    for (unsigned i = 0; i < m->nevents; i++) {
        const zt_m_event_t *e = &m->events[i];
        /* The last ones: what the program met just before it ended. */
        if (e->type == ZT_REC_EV_NULL_RETURNED) null_ev = e, nulls++;
        if (e->type == ZT_REC_EV_MAP_FAILED) map_ev = e, maps++;
    }
    last_null = null_ev;
    /* With a first-failure moment (v3): the first failure is the headline,
     * the exact counts come from the header. */
    bool first = zt_report_first_failure_leads(m);
    if (first) {
        zt_report_cause(m, &null_ev, &map_ev);
        if (m->null_returns) nulls = (unsigned)m->null_returns;
        if (m->map_failures) maps = (unsigned)m->map_failures;
    }
    uint64_t rss = zt_report_peak_rss(m);
    char b1[32], b2[32], b3[32], b4[32], site[512];
    detail[0] = 0;
    if (m->term.jetsam) {
        const zt_profile_t *p = m->device ? zt_profile_find(m->device) : NULL;
        char limit[96];
        if (m->jetsam_explicit || !p || !p->device_name)
            snprintf(limit, sizeof limit, "the limit %s (--memory-limit)",
                     zt_fmt_bytes(m->jetsam_limit_bytes, b2));
        else
            snprintf(limit, sizeof limit, "the %s limit %s", p->device_name,
                     zt_fmt_bytes(m->jetsam_limit_bytes, b2));
        snprintf(head, hcap, "killed by jetsam: footprint %s passed %s",
                 zt_fmt_bytes(m->jetsam_footprint_bytes, b1), limit);
        live_summary(r, "the heap at that moment: ", "at the kill", detail, dcap);
        /* The zone sees only what malloc serves: a footprint mostly made of
         * the program's own mappings (an interpreter's arenas, mmap, stacks)
         * must not read as if the heap's top stack were the whole story. */
        uint64_t live = heap_live_bytes(m);
        size_t len = strlen(detail);
        if (live < m->jetsam_footprint_bytes / 2 && len < dcap)
            snprintf(detail + len, dcap - len,
                     "; the other %s of the footprint is memory the program mapped itself "
                     "(its own allocators, mmap, thread stacks), which zonetrace does not see",
                     zt_fmt_bytes(m->jetsam_footprint_bytes - live, b1));
        return;
    }
    if (null_ev || map_ev) {
        bool far_below_ram = m->ram_bytes && rss < m->ram_bytes / 2;
        bool limited = m->va_limit_bytes != 0;
        const zt_m_event_t *e = map_ev ? map_ev : null_ev;
        bool fragmented = map_ev && map_ev->largest_free >= map_ev->size &&
                          map_ev->largest_aligned < map_ev->size;
        if (far_below_ram || (limited && !m->ram_bytes))
            snprintf(head, hcap, "%s, not physical memory",
                     fragmented ? "address space fragmented"
                                : "address space exhausted (or fragmented)");
        else
            snprintf(head, hcap, "allocation failed");
        int n;
        if (null_ev) {
            stack_site(r, null_ev->stack_id, site, sizeof site);
            n = snprintf(detail, dcap, "malloc returned NULL %u time%s (%s%llu B at %s)", nulls,
                         nulls == 1 ? "" : "s",
                         nulls == 1 ? ""
                         : first    ? "first "
                                    : "last ",
                         (unsigned long long)null_ev->size, site);
            if (first && nulls > 1 && last_null && last_null != null_ev && n > 0 &&
                (size_t)n < dcap) {
                char site2[512];
                stack_site(r, last_null->stack_id, site2, sizeof site2);
                n += snprintf(detail + n, dcap - (size_t)n, "; the last: %llu B at %s",
                              (unsigned long long)last_null->size, site2);
            }
        } else {
            n = snprintf(detail, dcap, "%u region map%s failed", maps, maps == 1 ? "" : "s");
        }
        if (n < 0 || (size_t)n >= dcap) return;
        if (fragmented)
            n += snprintf(detail + n, dcap - (size_t)n, "; a %s hole exists but none aligned to %s",
                          zt_fmt_bytes(map_ev->largest_free, b1), exact_bytes(map_ev->align, b2));
        if ((size_t)n >= dcap) return;
        snprintf(detail + n, dcap - (size_t)n, "; heap address space %s of %s, peak RSS %s%s%s",
                 zt_fmt_bytes(e->va_used ? e->va_used : m->va_used_bytes, b1),
                 e->va_limit || m->va_limit_bytes
                     ? zt_fmt_bytes(e->va_limit ? e->va_limit : m->va_limit_bytes, b2)
                     : "unlimited",
                 zt_fmt_bytes(rss, b3), m->ram_bytes ? " of RAM " : "",
                 m->ram_bytes ? zt_fmt_bytes(m->ram_bytes, b4) : "");
        return;
    }
    const zt_m_event_t *bad = NULL;
    for (unsigned i = 0; i < m->nevents && !bad; i++)
        if (m->events[i].type == ZT_REC_EV_BAD_FREE) bad = &m->events[i];
    if (bad) {
        /* The first misuse: what came after it may be its consequence. */
        zt_report_bad_free(r, bad, head, hcap, detail, dcap);
        size_t len = strlen(detail);
        if (m->term.state == ZT_TERM_SIGNALED && m->term.signal == SIGABRT && len < dcap)
            snprintf(detail + len, dcap - len, "; malloc aborted the process (SIGABRT)");
        else if (m->term.state == ZT_TERM_SIGNALED && len < dcap)
            snprintf(detail + len, dcap - len, "; the process then ended by %s",
                     zt_signal_name(m->term.signal));
        else if (len < dcap)
            snprintf(detail + len, dcap - len, "; the program went on (ZONETRACE_ON_ERROR=report)");
        return;
    }
    if (m->term.killed) {
        uint64_t live = heap_live_bytes(m);
        if (m->cgroup_limit_bytes && rss >= m->cgroup_limit_bytes / 10 * 9) {
            snprintf(head, hcap, "killed at the memory limit (OOM killer)");
            snprintf(detail, dcap, "peak RSS %s of the cgroup limit %s", zt_fmt_bytes(rss, b1),
                     zt_fmt_bytes(m->cgroup_limit_bytes, b2));
        } else {
            snprintf(head, hcap, "killed with SIGKILL (OOM killer, jetsam or kill -9)");
            snprintf(detail, dcap, "%s%s live in the heap at the kill, peak RSS %s",
                     m->stacks_mode == ZT_STACKS_SAMPLE ? "~" : "", zt_fmt_bytes(live, b1),
                     zt_fmt_bytes(rss, b2));
        }
        return;
    }
    if (m->term.state == ZT_TERM_SIGNALED) {
        int sig = m->term.signal;
        if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGABRT &&
            sig != SIGTRAP && sig != SIGSYS) {
            snprintf(head, hcap, "killed by %s; no allocation failed", zt_signal_name(sig));
            live_summary(r, "", "at the end", detail, dcap);
            return;
        }
        bool near_null = m->term.fault_addr < 65536;
        snprintf(
            head, hcap, "crashed with %s%s; no allocation failed", zt_signal_name(m->term.signal),
            near_null && m->term.signal == SIGSEGV ? " near address 0 (a NULL pointer used)" : "");
        return;
    }
    snprintf(head, hcap, "no allocation failed");
    live_summary(r, "", m->term.state == ZT_TERM_RUNNING ? "now" : "at the end", detail, dcap);
}

void zt_report_diagnosis(zt_report_t *r, char *buf, size_t cap)
{
    char head[256], detail[1024];
    zt_report_diagnosis_parts(r, head, sizeof head, detail, sizeof detail);
    snprintf(buf, cap, "%s%s%s", head, detail[0] ? ": " : "", detail);
}

void zt_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '<':
            fputs("\\u003c", out);
            break; /* safe inside an HTML <script> too */
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}
