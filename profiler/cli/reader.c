/* ----------------------------------------------------------------------------
 * reader.c — reads and validates a record file (profiler/record_format.h)
 * into the reports' model (model.h).
 *
 * The file comes from a process that may have been killed mid-write, or
 * from anywhere: every offset, count and length is checked against the
 * buffer before it is used, every record is copied out with memcpy (no
 * unaligned or out-of-bounds reads), and the first problem is reported as
 * one line "NAME: what is wrong". A libFuzzer target (fuzz_reader.c) keeps
 * it honest.
 * -------------------------------------------------------------------------- */
#include "model.h"
#include "host.h"
#include "record_format.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void zones_live_from_cells(zt_model_t *m, const zt_m_moment_t *mo);

typedef struct rd {
    const uint8_t *buf;
    uint64_t len; /* bytes in the buffer */
    uint64_t lim; /* end of valid data (used_bytes) */
    const char *name;
    char *err;
    size_t errcap;
    bool failed;
    zt_rec_zone_t *zones; /* the zone blocks, copied ([nzones]; zeros where absent) */
} rd_t;

__attribute__((format(printf, 2, 3))) static bool fail(rd_t *r, const char *fmt, ...)
{
    if (r->failed) return false;
    r->failed = true;
    if (r->err && r->errcap) {
        int n = snprintf(r->err, r->errcap, "%s: ", r->name);
        if (n < 0) n = 0;
        if ((size_t)n < r->errcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

/* [off, off+bytes) inside the valid data, 8-byte aligned, no overflow. */
static bool in_range(const rd_t *r, uint64_t off, uint64_t bytes)
{
    return off >= sizeof(zt_rec_header_t) && (off & 7) == 0 && off <= r->lim &&
           bytes <= r->lim - off;
}

static bool check_range(rd_t *r, uint64_t off, uint64_t bytes, const char *what)
{
    if (in_range(r, off, bytes)) return true;
    if (off <= r->lim && off >= sizeof(zt_rec_header_t) && bytes > r->lim - off)
        return fail(r,
                    "truncated or damaged: %s at byte %llu needs %llu bytes but the data "
                    "ends at byte %llu",
                    what, (unsigned long long)off, (unsigned long long)bytes,
                    (unsigned long long)r->lim);
    return fail(r, "damaged: %s offset %llu is outside the file (%llu bytes)", what,
                (unsigned long long)off, (unsigned long long)r->lim);
}

static char *dup_bounded(rd_t *r, const char *s, size_t cap, const char *what)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        fail(r, "damaged: %s is not terminated", what);
        return NULL;
    }
    char *d = malloc(n + 1);
    if (!d) {
        fail(r, "out of memory");
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Section header at off with records of rec_bytes; returns the payload
 * offset and count. */
static bool section(rd_t *r, uint64_t off, uint32_t type, size_t rec_bytes, const char *what,
                    zt_rec_section_t *out)
{
    if (!check_range(r, off, sizeof(zt_rec_section_t), what)) return false;
    memcpy(out, r->buf + off, sizeof *out);
    if (out->magic != ZT_REC_SEC_MAGIC || out->type != type)
        return fail(r, "damaged: %s at byte %llu has a bad section header", what,
                    (unsigned long long)off);
    if (out->bytes < sizeof(zt_rec_section_t) || !check_range(r, off, out->bytes, what))
        return r->failed ? false : fail(r, "damaged: %s has a bad length", what);
    uint64_t need;
    if (!mul_ok(out->count, rec_bytes, &need) || need > out->bytes - sizeof(zt_rec_section_t))
        return fail(r, "damaged: %s claims %llu records in %llu bytes", what,
                    (unsigned long long)out->count, (unsigned long long)out->bytes);
    return true;
}

/* count NUL-terminated strings from a strings section. */
static char **strings(rd_t *r, uint64_t off, unsigned *count_out, const char *what)
{
    zt_rec_section_t sh;
    if (!section(r, off, ZT_REC_SEC_STRINGS, 0, what, &sh)) return NULL;
    if (sh.count > 1u << 20)
        return fail(r, "damaged: %s has %llu strings", what, (unsigned long long)sh.count), NULL;
    const char *p = (const char *)r->buf + off + sizeof sh;
    const char *end = (const char *)r->buf + off + sh.bytes;
    char **v = calloc(sh.count + 1, sizeof *v);
    if (!v) return fail(r, "out of memory"), NULL;
    for (uint64_t i = 0; i < sh.count; i++) {
        size_t n = strnlen(p, (size_t)(end - p));
        if (p + n >= end) {
            for (uint64_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return fail(r, "damaged: %s string %llu is not terminated", what,
                        (unsigned long long)i),
                   NULL;
        }
        v[i] = strndup(p, n);
        p += n + 1;
    }
    *count_out = (unsigned)sh.count;
    return v;
}

static uint64_t q16(uint64_t v, bool sampled)
{
    return sampled ? (v + 32768) >> 16 : v; /* blocks are Q16 fixed point in sample mode */
}

static void counters_from(zt_m_counters_t *m, const zt_rec_counters_t *c, bool sampled)
{
    uint64_t tb = q16(c->total_blocks, sampled), fb = q16(c->freed_blocks, sampled);
    m->peak_blocks = q16(c->peak_blocks, sampled);
    m->temp_blocks = q16(c->temp_blocks, sampled);
    m->requested_bytes = c->requested_bytes;
    m->total_blocks = tb;
    m->total_bytes = c->total_bytes;
    m->live_blocks = tb > fb ? tb - fb : 0;
    m->live_bytes = c->total_bytes > c->freed_bytes ? c->total_bytes - c->freed_bytes : 0;
    m->peak_bytes = c->peak_bytes > m->live_bytes ? c->peak_bytes : m->live_bytes;
    if (m->peak_blocks < m->live_blocks) m->peak_blocks = m->live_blocks;
}

/* An event names a known type, and zones and stacks the record has. */
static bool event_ok(const zt_rec_header_t *h, const zt_rec_event_t *e)
{
    return e->type != 0 && e->type <= ZT_REC_EV_MAX && e->zone >= -1 &&
           e->zone < (int32_t)h->nzones && e->stack_id <= h->nstacks &&
           (e->type != ZT_REC_EV_BAD_FREE ||
            (e->largest_free <= h->nstacks && e->largest_aligned <= h->nstacks));
}

/* A moment section at off (record_format.h zt_rec_moment_t). */
static bool read_moment(rd_t *r, const zt_rec_header_t *h, uint64_t off, const char *what,
                        zt_m_moment_t *mo)
{
    zt_rec_section_t sh;
    if (!section(r, off, ZT_REC_SEC_MOMENT, sizeof(zt_rec_moment_t), what, &sh)) return false;
    if (sh.count != 1)
        return fail(r, "damaged: %s has %llu records", what, (unsigned long long)sh.count);
    zt_rec_moment_t rm;
    memcpy(&rm, r->buf + off + sizeof sh, sizeof rm);
    uint64_t room = sh.bytes - sizeof sh - sizeof rm, need = 0, part;
    const uint64_t counts[4] = {rm.ncells, rm.nregions, rm.ncharges, rm.nruns};
    const size_t sizes[4] = {sizeof(zt_rec_cell_t), sizeof(zt_rec_region_t),
                             sizeof(zt_rec_charge_t), sizeof(zt_rec_va_run_t)};
    for (unsigned i = 0; i < 4; i++) {
        if (counts[i] > (1u << 28) || !mul_ok(counts[i], sizes[i], &part) ||
            __builtin_add_overflow(need, part, &need))
            return fail(r, "damaged: %s counts", what);
    }
    if (need > room)
        return fail(r, "damaged: %s needs %llu bytes but has %llu", what, (unsigned long long)need,
                    (unsigned long long)room);
    if (rm.kind > ZT_REC_MOMENT_ZONE_FAILURE || rm.kind == ZT_REC_MOMENTS || rm.zone < -1 ||
        rm.zone >= (int32_t)h->nzones || rm.has_event > 1)
        return fail(r, "damaged: %s header", what);
    mo->present = true;
    mo->kind = rm.kind;
    mo->zone = rm.zone;
    mo->time_ns = rm.time_ns;
    mo->live_bytes = rm.live_bytes;
    mo->live_blocks = q16(rm.live_blocks, h->stacks_mode == ZT_REC_STACKS_SAMPLE);
    mo->va_used_bytes = rm.va_used_bytes;
    mo->failures = rm.failures;
    mo->has_event = rm.has_event == 1;
    if (mo->has_event) {
        const zt_rec_event_t *e = &rm.event;
        if (!event_ok(h, e)) return fail(r, "damaged: %s event", what);
        mo->event = (zt_m_event_t){e->time_ns,  e->type,     e->cls,          e->kind,
                                   e->stack_id, e->zone,     e->size,         e->align,
                                   e->va_used,  e->va_limit, e->largest_free, e->largest_aligned,
                                   e->value};
    }
    const uint8_t *p = r->buf + off + sizeof sh + sizeof rm;
    mo->cells = calloc(rm.ncells ? rm.ncells : 1, sizeof *mo->cells);
    mo->regions = calloc(rm.nregions ? rm.nregions : 1, sizeof *mo->regions);
    mo->charges = calloc(rm.ncharges ? rm.ncharges : 1, sizeof *mo->charges);
    mo->va_runs = calloc(rm.nruns ? rm.nruns : 1, sizeof *mo->va_runs);
    if (!mo->cells || !mo->regions || !mo->charges || !mo->va_runs) return fail(r, "out of memory");
    bool sampled = h->stacks_mode == ZT_REC_STACKS_SAMPLE;
    for (uint64_t i = 0; i < rm.ncells; i++, p += sizeof(zt_rec_cell_t)) {
        zt_rec_cell_t c;
        memcpy(&c, p, sizeof c);
        if (c.stack_id > h->nstacks || c.zone >= h->nzones || c.cls >= ZT_REC_CLASSES)
            return fail(r, "damaged: %s cell %llu", what, (unsigned long long)i);
        mo->cells[mo->ncells++] =
            (zt_m_cell_t){c.stack_id, c.zone, c.cls, q16(c.live_blocks, sampled), c.live_bytes};
    }
    for (uint64_t i = 0; i < rm.nregions; i++, p += sizeof(zt_rec_region_t)) {
        zt_rec_region_t g;
        memcpy(&g, p, sizeof g);
        if (g.kind < 0 || g.kind >= ZT_REC_KINDS || g.zone < -1 || g.zone >= (int32_t)h->nzones ||
            g.top_stack > h->nstacks)
            return fail(r, "damaged: %s region %llu", what, (unsigned long long)i);
        mo->regions[mo->nregions++] =
            (zt_m_region_t){g.base, g.bytes, g.kind, g.zone, g.used_bytes, g.top_stack};
    }
    for (uint64_t i = 0; i < rm.ncharges; i++, p += sizeof(zt_rec_charge_t)) {
        zt_rec_charge_t c;
        memcpy(&c, p, sizeof c);
        if (c.stack_id == 0 || c.stack_id > h->nstacks || c.zone >= h->nzones)
            return fail(r, "damaged: %s charge %llu", what, (unsigned long long)i);
        mo->charges[mo->ncharges++] = (zt_m_charge_t){c.stack_id, c.zone, c.va_bytes};
    }
    for (uint64_t i = 0; i < rm.nruns; i++, p += sizeof(zt_rec_va_run_t)) {
        zt_rec_va_run_t v;
        memcpy(&v, p, sizeof v);
        if (v.kind < -1 || v.kind >= ZT_REC_KINDS)
            return fail(r, "damaged: %s address-space run %llu", what, (unsigned long long)i);
        mo->va_runs[mo->nva_runs++] = (zt_m_va_run_t){v.base, v.bytes, v.kind, v.window};
    }
    return true;
}

static void moment_free(zt_m_moment_t *mo)
{
    free(mo->cells);
    free(mo->regions);
    free(mo->charges);
    free(mo->va_runs);
    memset(mo, 0, sizeof *mo);
}

/* Offset of dense index i in a chunk directory of nchunks chunks, chunk k
 * holding chunk0 << k records (0 = chunk absent). */
static bool chunk_in(rd_t *r, const uint64_t *dir, unsigned nchunks, uint64_t chunk0,
                     uint64_t index, size_t rec_bytes, const char *what, uint64_t *off_out)
{
    uint64_t within;
    unsigned k = zt_rec_chunk_in(index, chunk0, &within);
    *off_out = 0;
    if (k >= nchunks)
        return fail(r, "damaged: %s index %llu out of range", what, (unsigned long long)index);
    if (dir[k] == 0) return true;
    if (!check_range(r, dir[k], (chunk0 << k) * rec_bytes, what)) return false;
    *off_out = dir[k] + within * rec_bytes;
    return true;
}

/* The stack table's chunking (stack entries, per-zone stack counters). */
static bool chunk_at(rd_t *r, const uint64_t *dir, uint64_t index, size_t rec_bytes,
                     const char *what, uint64_t *off_out)
{
    return chunk_in(r, dir, ZT_REC_MAX_CHUNKS, ZT_REC_CHUNK0, index, rec_bytes, what, off_out);
}

/* ---- platforms ------------------------------------------------------------- */

_Static_assert((int)ZT_M_LINUX == (int)ZT_REC_PLATFORM_LINUX &&
                   (int)ZT_M_MACOS == (int)ZT_REC_PLATFORM_MACOS &&
                   (int)ZT_M_IOS == (int)ZT_REC_PLATFORM_IOS &&
                   (int)ZT_M_IOS_SIMULATOR == (int)ZT_REC_PLATFORM_IOS_SIMULATOR &&
                   (int)ZT_M_DARWIN_OTHER == (int)ZT_REC_PLATFORM_DARWIN_OTHER &&
                   (int)ZT_M_ELF == (int)ZT_REC_IMAGE_ELF &&
                   (int)ZT_M_MACHO == (int)ZT_REC_IMAGE_MACHO,
               "the model's platform values are the record's");

/* Linux and Darwin number signals differently (Linux <asm/signal.h>, Darwin
 * <sys/signal.h>): a record's signal numbers are its platform's, the model's
 * the reading host's, translated by name. A signal the host does not have
 * (Darwin's SIGEMT, SIGINFO; Linux's SIGSTKFLT, SIGPWR) keeps its number. */
static const char *const linux_signal_names[32] = {
    NULL,   "HUP",  "INT",  "QUIT", "ILL",    "TRAP",   "ABRT",  "BUS",  "FPE",  "KILL", "USR1",
    "SEGV", "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD",  "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG",  "XCPU", "XFSZ", "VTALRM", "PROF",   "WINCH", "IO",   "PWR",  "SYS"};
static const char *const darwin_signal_names[32] = {
    NULL,   "HUP", "INT",  "QUIT", "ILL",    "TRAP", "ABRT",  "EMT",  "FPE",  "KILL", "BUS",
    "SEGV", "SYS", "PIPE", "ALRM", "TERM",   "URG",  "STOP",  "TSTP", "CONT", "CHLD", "TTIN",
    "TTOU", "IO",  "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "INFO", "USR1", "USR2"};

static bool darwin_platform(int platform)
{
    return platform >= ZT_REC_PLATFORM_MACOS && platform <= ZT_REC_PLATFORM_DARWIN_OTHER;
}

/* The record's signal number sig, as the reading host numbers it. */
static int host_signal(bool foreign, int platform, int sig)
{
    if (!foreign || sig <= 0 || sig >= 32) return sig;
    const char *name =
        darwin_platform(platform) ? darwin_signal_names[sig] : linux_signal_names[sig];
    int h = zt_host_signal_named(name);
    return h > 0 ? h : sig;
}

static bool read_all(rd_t *r, const zt_rec_header_t *h, zt_model_t *m)
{
    bool sampled = h->stacks_mode == ZT_REC_STACKS_SAMPLE;

    m->version = h->version;
    m->platform = (int)h->platform;
    m->image_format = (int)h->image_format;
    if (!(m->arch = dup_bounded(r, h->arch, sizeof h->arch, "architecture name"))) return false;
    m->foreign = darwin_platform(m->platform) != zt_host_darwin();
    m->pid = h->pid;
    m->monitor_ms = h->monitor_ms;
    m->ppid = h->ppid;
    m->stacks_mode = h->stacks_mode;
    m->sample_bytes = h->sample_bytes;
    m->depth = h->depth;
    m->page_bytes = h->page_bytes;
    m->start_wall_ns = h->start_wall_ns;
    m->ram_bytes = h->ram_bytes;
    m->va_limit_bytes = h->va_limit_bytes;
    m->va_used_bytes = h->va_used_bytes;
    m->va_peak_bytes = h->va_peak_bytes;
    m->largest_free_bytes = h->largest_free_bytes;
    m->largest_aligned_1m_bytes = h->largest_aligned_1m_bytes;
    m->largest_aligned_8m_bytes = h->largest_aligned_8m_bytes;
    m->cgroup_limit_bytes = h->cgroup_limit_bytes;
    m->jetsam_limit_bytes = h->jetsam_limit_bytes;
    m->jetsam_warning_bytes = h->jetsam_warning_bytes;
    m->jetsam_footprint_bytes = h->jetsam_footprint_bytes;
    m->peak_footprint_bytes = h->peak_footprint_bytes;
    m->jetsam_mode = h->jetsam_mode <= ZT_REC_JETSAM_KILL ? h->jetsam_mode : 0;
    m->jetsam_explicit = h->jetsam_explicit != 0;
    m->peak_rss_bytes = h->peak_rss_bytes;
    if (!(m->exe = dup_bounded(r, h->exe, sizeof h->exe, "executable path")) ||
        !(m->device = dup_bounded(r, h->device, sizeof h->device, "device name")) ||
        !(m->unwind = dup_bounded(r, h->unwind, sizeof h->unwind, "unwinder name")))
        return false;

    if (h->argv_off) {
        m->argv = strings(r, h->argv_off, &m->argc, "argv");
        if (!m->argv) return false;
    }
    if (h->options_off) {
        unsigned n = 0;
        char **v = strings(r, h->options_off, &n, "options");
        if (!v) return false;
        m->options = n ? v[0] : strdup("");
        for (unsigned i = 1; i < n; i++)
            free(v[i]);
        free(v);
    } else {
        m->options = strdup("");
    }

    /* termination */
    const zt_rec_term_t *t = &h->term;
    int tsig =
        t->state == ZT_REC_SIGNALED ? host_signal(m->foreign, m->platform, t->signal) : t->signal;
    m->term.state = t->state;
    m->term.exit_code = t->exit_code;
    m->term.signal = tsig;
    m->term.si_code = t->si_code;
    m->term.fault_addr = t->fault_addr;
    m->term.fault_stack_id = t->fault_stack_id;
    m->term.end_wall_ns = t->end_wall_ns;
    m->term.last_heartbeat_ns = h->heartbeat_wall_ns;
    m->term.jetsam = t->state == ZT_REC_SIGNALED && t->signal == 9 && h->jetsam_footprint_bytes;
    /* Running with no wait status: whether it still runs is not in the
     * file (alive.c decides, for the commands). */
    m->term.ask_alive = t->state == ZT_REC_RUNNING && !h->runner_state;
    m->term.how = (int)h->end_how;
    if (h->runner_state == ZT_REC_EXITED || h->runner_state == ZT_REC_SIGNALED) {
        /* The wait status is the truth for the exit code and the signal. */
        zt_m_termination_t *mt = &m->term;
        int code = h->runner_state == ZT_REC_SIGNALED
                       ? host_signal(m->foreign, m->platform, h->runner_code)
                       : h->runner_code;
        mt->runner = true;
        mt->runner_state = (int)h->runner_state;
        mt->runner_code = code;
        mt->runner_only = t->state == ZT_REC_RUNNING;
        mt->still_running = false;
        mt->killed = false;
        mt->ask_alive = false;
        if (t->state == ZT_REC_EXECED) {
            /* the record's image was replaced; the status is the new one's */
        } else if (h->runner_state == ZT_REC_EXITED) {
            mt->state = ZT_TERM_EXITED;
            mt->exit_code = code;
        } else if (code == 9 && !mt->jetsam) {
            mt->state = ZT_TERM_RUNNING;
            mt->killed = true;
        } else if (!(t->state == ZT_REC_SIGNALED && tsig == code)) {
            mt->state = ZT_TERM_SIGNALED;
            mt->signal = code;
            mt->si_code = 0;
            mt->fault_addr = 0;
            mt->fault_stack_id = 0;
        }
    }
    uint64_t end =
        t->state != ZT_REC_RUNNING && t->end_wall_ns ? t->end_wall_ns : h->heartbeat_wall_ns;
    m->duration_ns = end > h->start_wall_ns ? end - h->start_wall_ns : 0;

    /* modules */
    if (h->modules_off) {
        zt_rec_section_t sh;
        if (!section(r, h->modules_off, ZT_REC_SEC_MODULES, sizeof(zt_rec_module_t), "modules",
                     &sh))
            return false;
        m->modules = calloc(sh.count ? sh.count : 1, sizeof *m->modules);
        if (!m->modules) return fail(r, "out of memory");
        bool macho = m->image_format == ZT_REC_IMAGE_MACHO;
        for (uint64_t i = 0; i < sh.count; i++) {
            zt_rec_module_t rm;
            memcpy(&rm, r->buf + h->modules_off + sizeof sh + i * sizeof rm, sizeof rm);
            unsigned long long mi = (unsigned long long)i;
            if (rm.path_off < sizeof sh + sh.count * sizeof rm ||
                (uint64_t)rm.path_off + rm.path_len + 1 > sh.bytes)
                return fail(r,
                            "damaged: module %llu: its path (%u bytes at %u) is outside the "
                            "path strings of the modules section (%llu bytes)",
                            mi, rm.path_len, rm.path_off, (unsigned long long)sh.bytes);
            const char *p = (const char *)r->buf + h->modules_off + rm.path_off;
            if (p[rm.path_len] != 0 || strnlen(p, rm.path_len) != rm.path_len)
                return fail(r, "damaged: module %llu: its path is not a %u-byte string", mi,
                            rm.path_len);
            if (rm.build_id_len > sizeof rm.build_id)
                return fail(r, "damaged: module %llu (%.*s): a build id of %u bytes (at most %zu)",
                            mi, (int)(rm.path_len < 200 ? rm.path_len : 200), p, rm.build_id_len,
                            sizeof rm.build_id);
            if (macho && rm.build_id_len != 0 && rm.build_id_len != 16)
                return fail(r, "damaged: module %llu (%.*s): a Mach-O UUID of %u bytes (not 16)",
                            mi, (int)(rm.path_len < 200 ? rm.path_len : 200), p, rm.build_id_len);
            if (rm.bytes == 0 || rm.base + rm.bytes < rm.base)
                return fail(r, "damaged: module %llu (%.*s): extent 0x%llx + 0x%llx", mi,
                            (int)(rm.path_len < 200 ? rm.path_len : 200), p,
                            (unsigned long long)rm.base, (unsigned long long)rm.bytes);
            zt_m_module_t *mm = &m->modules[m->nmodules++];
            mm->path = strndup(p, rm.path_len);
            mm->base = rm.base;
            mm->bytes = rm.bytes;
            mm->bias = rm.bias;
            memcpy(mm->build_id, rm.build_id, sizeof mm->build_id);
            mm->build_id_len = rm.build_id_len;
            mm->macho = macho;
        }
    }

    /* zones: each a block of its own (0 = the writer could not make it) */
    m->nzones = h->nzones;
    m->zones = calloc(h->nzones ? h->nzones : 1, sizeof *m->zones);
    r->zones = calloc(h->nzones ? h->nzones : 1, sizeof *r->zones);
    if (!m->zones || !r->zones) return fail(r, "out of memory");
    zt_rec_counters_t heap = {0}; /* version 5: the heap's counts are the zones' sums */
    for (unsigned z = 0; z < h->nzones; z++) {
        zt_rec_zone_t *rz = &r->zones[z];
        zt_m_zone_t *mz = &m->zones[z];
        if (h->zones_off[z] &&
            !check_range(r, h->zones_off[z], sizeof(zt_rec_zone_t), "zone block"))
            return false;
        if (h->zones_off[z]) memcpy(rz, r->buf + h->zones_off[z], sizeof *rz);
        if (!(mz->name = dup_bounded(r, rz->name, sizeof rz->name, "zone name"))) return false;
        mz->address = rz->address;
        mz->classes = calloc(ZT_REC_CLASSES, sizeof *mz->classes);
        if (!mz->classes) return fail(r, "out of memory");
        for (unsigned j = 0; j < ZT_REC_CLASS_CHUNKS; j++) {
            uint64_t off = rz->class_chunks_off[j];
            if (off == 0) continue;
            if (!check_range(r, off, ZT_REC_CLASS_CHUNK * sizeof(zt_rec_counters_t),
                             "zone class counters"))
                return false;
            for (unsigned c = j * ZT_REC_CLASS_CHUNK;
                 c < (j + 1) * ZT_REC_CLASS_CHUNK && c < ZT_REC_CLASSES; c++) {
                zt_rec_counters_t rc;
                memcpy(&rc, r->buf + off + (c % ZT_REC_CLASS_CHUNK) * sizeof rc, sizeof rc);
                if (rc.total_blocks == 0) continue;
                zt_m_class_t *mc = &mz->classes[mz->nclasses++];
                mc->cls = c;
                counters_from(&mc->c, &rc, sampled);
            }
        }
        counters_from(&mz->c, &rz->total, sampled);
        mz->c.va_bytes = rz->va_bytes;
        heap.total_blocks += rz->total.total_blocks, heap.total_bytes += rz->total.total_bytes;
        heap.freed_blocks += rz->total.freed_blocks, heap.freed_bytes += rz->total.freed_bytes;
        heap.temp_blocks += rz->total.temp_blocks;
        heap.requested_bytes += rz->total.requested_bytes;
    }

    /* stacks: the last id's chunk must exist, which bounds nstacks by the file size */
    if (h->nstacks) {
        uint64_t off;
        if (!chunk_at(r, h->stack_chunks_off, h->nstacks - 1, sizeof(zt_rec_stack_t), "stack table",
                      &off))
            return false;
        if (off == 0)
            return fail(r, "damaged: %u stacks but the stack table is shorter", h->nstacks);
    }
    m->nstacks = h->nstacks;
    m->stacks = calloc(h->nstacks ? h->nstacks : 1, sizeof *m->stacks);
    if (!m->stacks) return fail(r, "out of memory");
    for (uint32_t id = 1; id <= h->nstacks; id++) {
        uint64_t off;
        if (!chunk_at(r, h->stack_chunks_off, id - 1, sizeof(zt_rec_stack_t), "stack table", &off))
            return false;
        if (off == 0) return fail(r, "damaged: stack %u has no table entry", id);
        zt_rec_stack_t e;
        memcpy(&e, r->buf + off, sizeof e);
        if (e.ready != 1 || e.nframes == 0 || e.nframes > ZT_REC_MAX_FRAMES)
            return fail(r, "damaged: stack %u has %u frames", id, e.nframes);
        if (!check_range(r, e.frames_off, (uint64_t)e.nframes * 8, "stack frames")) return false;
        zt_m_stack_t *ms = &m->stacks[id - 1];
        ms->id = id;
        ms->nframes = e.nframes;
        ms->pcs = malloc(e.nframes * sizeof *ms->pcs);
        ms->per_zone = calloc(h->nzones ? h->nzones : 1, sizeof *ms->per_zone);
        if (!ms->pcs || !ms->per_zone) return fail(r, "out of memory");
        memcpy(ms->pcs, r->buf + e.frames_off, e.nframes * sizeof *ms->pcs);
        /* Over all zones: version 4, the entry's own counters (exact);
         * version 5, the sums of the per-zone counters (exact) with the
         * entry's peaks, the highs of the stack's live over all zones
         * while it was counted in more than one zone, or the per-zone
         * peaks, whichever is higher (FORMAT.md §1.3d). */
        zt_rec_counters_t sum = {0};
        for (unsigned z = 0; z < h->nzones; z++) {
            if (!chunk_at(r, r->zones[z].stack_chunks_off, id - 1, sizeof(zt_rec_counters_t),
                          "zone stack counters", &off))
                return false;
            if (off) {
                zt_rec_counters_t rc;
                memcpy(&rc, r->buf + off, sizeof rc);
                counters_from(&ms->per_zone[z], &rc, sampled);
                sum.total_blocks += rc.total_blocks, sum.total_bytes += rc.total_bytes;
                sum.freed_blocks += rc.freed_blocks, sum.freed_bytes += rc.freed_bytes;
                sum.temp_blocks += rc.temp_blocks, sum.requested_bytes += rc.requested_bytes;
                if (rc.peak_bytes > sum.peak_bytes) sum.peak_bytes = rc.peak_bytes;
                if (rc.peak_blocks > sum.peak_blocks) sum.peak_blocks = rc.peak_blocks;
            }
        }
        if (h->version >= 5) {
            if (e.total.peak_bytes > sum.peak_bytes) sum.peak_bytes = e.total.peak_bytes;
            if (e.total.peak_blocks > sum.peak_blocks) sum.peak_blocks = e.total.peak_blocks;
            counters_from(&ms->total, &sum, sampled);
        } else {
            counters_from(&ms->total, &e.total, sampled);
        }
        ms->request_bytes = e.request_bytes;
    }
    if (t->fault_stack_id > h->nstacks)
        return fail(r, "damaged: fault stack %u beyond the %u stacks", t->fault_stack_id,
                    h->nstacks);

    /* address-space charges */
    if (h->charges_off) {
        zt_rec_section_t sh;
        if (!section(r, h->charges_off, ZT_REC_SEC_CHARGES, sizeof(zt_rec_charge_t), "charges",
                     &sh))
            return false;
        for (uint64_t i = 0; i < sh.count; i++) {
            zt_rec_charge_t c;
            memcpy(&c, r->buf + h->charges_off + sizeof sh + i * sizeof c, sizeof c);
            if (c.stack_id == 0 || c.stack_id > h->nstacks || c.zone >= h->nzones)
                return fail(r, "damaged: charge %llu names stack %u zone %u", (unsigned long long)i,
                            c.stack_id, c.zone);
            m->stacks[c.stack_id - 1].total.va_bytes += c.va_bytes;
            m->stacks[c.stack_id - 1].per_zone[c.zone].va_bytes += c.va_bytes;
        }
    }

    /* regions */
    if (h->regions_off) {
        zt_rec_section_t sh;
        if (!section(r, h->regions_off, ZT_REC_SEC_REGIONS, sizeof(zt_rec_region_t), "regions",
                     &sh))
            return false;
        m->regions = calloc(sh.count ? sh.count : 1, sizeof *m->regions);
        if (!m->regions) return fail(r, "out of memory");
        for (uint64_t i = 0; i < sh.count; i++) {
            zt_rec_region_t g;
            memcpy(&g, r->buf + h->regions_off + sizeof sh + i * sizeof g, sizeof g);
            if (g.kind < 0 || g.kind >= ZT_REC_KINDS || g.zone < -1 ||
                g.zone >= (int32_t)h->nzones || g.top_stack > h->nstacks)
                return fail(r, "damaged: region %llu", (unsigned long long)i);
            m->regions[m->nregions++] =
                (zt_m_region_t){g.base, g.bytes, g.kind, g.zone, g.used_bytes, g.top_stack};
        }
    }

    /* address-space map */
    if (h->va_runs_off) {
        zt_rec_section_t sh;
        if (!section(r, h->va_runs_off, ZT_REC_SEC_VA_RUNS, sizeof(zt_rec_va_run_t),
                     "address-space map", &sh))
            return false;
        m->va_runs = calloc(sh.count ? sh.count : 1, sizeof *m->va_runs);
        if (!m->va_runs) return fail(r, "out of memory");
        for (uint64_t i = 0; i < sh.count; i++) {
            zt_rec_va_run_t v;
            memcpy(&v, r->buf + h->va_runs_off + sizeof sh + i * sizeof v, sizeof v);
            if (v.kind < -1 || v.kind >= ZT_REC_KINDS)
                return fail(r, "damaged: address-space run %llu", (unsigned long long)i);
            m->va_runs[m->nva_runs++] = (zt_m_va_run_t){v.base, v.bytes, v.kind, v.window};
        }
    }

    /* events */
    if (h->events_head) {
        if (h->events_cap != zt_rec_chunks_cap(ZT_REC_EVENT_CHUNK0, ZT_REC_EVENT_CHUNKS))
            return fail(r, "damaged: event ring of %llu slots", (unsigned long long)h->events_cap);
        uint64_t head = h->events_head;
        uint64_t first = head > h->events_cap ? head - h->events_cap + 1 : 1;
        m->events_lost = first - 1;
        uint64_t n = head >= first ? head - first + 1 : 0;
        m->events = calloc(n ? n : 1, sizeof *m->events);
        if (!m->events) return fail(r, "out of memory");
        for (uint64_t s = first; s <= head && s != 0; s++) {
            zt_rec_event_t e;
            uint64_t off;
            if (!chunk_in(r, h->events_chunks_off, ZT_REC_EVENT_CHUNKS, ZT_REC_EVENT_CHUNK0,
                          (s - 1) % h->events_cap, sizeof e, "event ring", &off))
                return false;
            if (off == 0) continue; /* its chunk could not be made: the event is lost */
            memcpy(&e, r->buf + off, sizeof e);
            if (e.seq != s) continue; /* being written when the process stopped */
            if (!event_ok(h, &e)) return fail(r, "damaged: event %llu", (unsigned long long)s);
            m->events[m->nevents++] = (zt_m_event_t){
                e.time_ns, e.type,    e.cls,      e.kind,         e.stack_id,        e.zone, e.size,
                e.align,   e.va_used, e.va_limit, e.largest_free, e.largest_aligned, e.value};
        }
    }

    /* heap, failures, moments */
    if (h->version >= 5) { /* the header keeps the heap's peaks (FORMAT.md §1.3d) */
        heap.peak_bytes = h->heap.peak_bytes;
        heap.peak_blocks = h->heap.peak_blocks;
        counters_from(&m->heap, &heap, sampled);
    } else {
        counters_from(&m->heap, &h->heap, sampled);
    }
    m->failures = h->failures;
    m->null_returns = h->null_returns;
    m->map_failures = h->map_failures;
    static const char *const moment_names[ZT_REC_MOMENTS] = {
        "first-failure moment", "address-space peak moment", "live peak moment", "end moment"};
    for (unsigned k = 0; k < ZT_REC_MOMENTS; k++)
        if (h->moments_off[k] &&
            !read_moment(r, h, h->moments_off[k], moment_names[k], &m->moments[k]))
            return false;
    m->zone_failures = calloc(h->nzones ? h->nzones : 1, sizeof *m->zone_failures);
    m->zone_failure_counts = calloc(h->nzones ? h->nzones : 1, sizeof *m->zone_failure_counts);
    if (!m->zone_failures || !m->zone_failure_counts) return fail(r, "out of memory");
    for (unsigned z = 0; z < h->nzones; z++) {
        m->zone_failure_counts[z] = r->zones[z].failures;
        if (r->zones[z].first_failure_off &&
            !read_moment(r, h, r->zones[z].first_failure_off, "zone failure moment",
                         &m->zone_failures[z]))
            return false;
    }

    for (unsigned i = 0; i < m->nstacks; i++)
        m->stacks[i].end_live_bytes = m->stacks[i].total.live_bytes;
    /* Stacks off: no counters, but the last walk (at exit, or the monitor's
     * last before a kill) saw every live block. */
    if (m->stacks_mode == ZT_REC_STACKS_OFF && m->moments[ZT_REC_MOMENT_END].present) {
        zones_live_from_cells(m, &m->moments[ZT_REC_MOMENT_END]);
        /* the heap is the zones' sum, as the diagnosis line says (JSON said
         * 0 B live beside zones that held 11 KiB) */
        m->heap.live_bytes = m->heap.live_blocks = 0;
        for (unsigned z = 0; z < m->nzones; z++) {
            m->heap.live_bytes += m->zones[z].c.live_bytes;
            m->heap.live_blocks += m->zones[z].c.live_blocks;
        }
    }
    const zt_m_moment_t *ff = &m->moments[ZT_REC_MOMENT_FIRST_FAILURE];
    for (unsigned i = 0; ff->present && i < ff->ncells; i++)
        if (ff->cells[i].stack_id)
            m->stacks[ff->cells[i].stack_id - 1].ff_live_bytes += ff->cells[i].live_bytes;
    for (unsigned i = 0; ff->present && i < ff->ncharges; i++)
        m->stacks[ff->charges[i].stack_id - 1].ff_va_bytes += ff->charges[i].va_bytes;

    /* timeline */
    if (h->timeline_count) {
        if (h->timeline_cap != zt_rec_chunks_cap(ZT_REC_TIMELINE_CHUNK0, ZT_REC_TIMELINE_CHUNKS) ||
            h->timeline_count > h->timeline_cap)
            return fail(r, "damaged: timeline of %llu/%llu samples",
                        (unsigned long long)h->timeline_count, (unsigned long long)h->timeline_cap);
        m->timeline = calloc(h->timeline_count ? h->timeline_count : 1, sizeof *m->timeline);
        if (!m->timeline) return fail(r, "out of memory");
        for (uint64_t i = 0; i < h->timeline_count; i++) {
            zt_rec_sample_t s;
            uint64_t off;
            if (!chunk_in(r, h->timeline_chunks_off, ZT_REC_TIMELINE_CHUNKS, ZT_REC_TIMELINE_CHUNK0,
                          i, sizeof s, "timeline", &off))
                return false;
            if (off == 0)
                return fail(r, "damaged: timeline sample %llu has no chunk", (unsigned long long)i);
            memcpy(&s, r->buf + off, sizeof s);
            m->timeline[m->ntimeline++] = (zt_m_sample_t){s.time_ns, s.rss_bytes, s.anon_bytes,
                                                          s.va_used_bytes, s.live_bytes};
        }
    }
    return true;
}

bool zt_model_read_buffer(const void *buf, size_t len, const char *name, zt_model_t *m, char *err,
                          size_t errcap)
{
    memset(m, 0, sizeof *m);
    rd_t r = {buf, len, 0, name ? name : "record", err, errcap, false, NULL};
    if (err && errcap) err[0] = 0;
    if (len == 0) return fail(&r, "empty file (0 bytes): the process wrote no record");
    if (len < 16 || memcmp(buf, ZT_REC_MAGIC, 8) != 0)
        return fail(&r, "not a zonetrace record (bad magic)");
    uint32_t version;
    memcpy(&version, (const uint8_t *)buf + 8, 4);
    if (version < ZT_REC_VERSION_MIN || version > ZT_REC_VERSION)
        return fail(&r, "unsupported record version %u (this zonetrace reads version %u%s)",
                    version, ZT_REC_VERSION,
                    version > ZT_REC_VERSION
                        ? "; a newer zonetrace wrote it"
                        : "; an older zonetrace wrote it: report it with that one");
    if (len < sizeof(zt_rec_header_t))
        return fail(&r, "truncated: the header needs %zu bytes but the file has %zu",
                    sizeof(zt_rec_header_t), len);
    zt_rec_header_t *h = malloc(sizeof *h);
    if (!h) return fail(&r, "out of memory");
    memcpy(h, buf, sizeof *h);
    bool ok = false;
    if (h->endian != ZT_REC_ENDIAN || h->header_bytes != sizeof(zt_rec_header_t))
        fail(&r, "damaged: bad header (byte order or header size)");
    else if (h->used_bytes > len || h->file_bytes > len)
        fail(&r, "truncated: data ends at byte %llu but the file has %zu bytes",
             (unsigned long long)(h->file_bytes > h->used_bytes ? h->file_bytes : h->used_bytes),
             len);
    else if (h->used_bytes < sizeof(zt_rec_header_t) || h->used_bytes > h->file_bytes)
        fail(&r, "damaged: bad data length %llu", (unsigned long long)h->used_bytes);
    else if (h->pid <= 0)
        fail(&r, "damaged: bad pid %d", h->pid);
    else if (h->nzones > ZT_REC_MAX_ZONES)
        fail(&r, "damaged: %u zones (at most %u)", h->nzones, ZT_REC_MAX_ZONES);
    else if (h->term.state < ZT_REC_RUNNING || h->term.state > ZT_REC_EXECED)
        fail(&r, "damaged: bad termination state %d", h->term.state);
    else if (h->stacks_mode < ZT_REC_STACKS_OFF || h->stacks_mode > ZT_REC_STACKS_SAMPLE ||
             h->depth > ZT_REC_MAX_FRAMES)
        fail(&r, "damaged: bad options (stacks mode %d, depth %u)", h->stacks_mode, h->depth);
    else if ((h->platform == ZT_REC_PLATFORM_UNKNOWN || h->platform > ZT_REC_PLATFORM_MAX ||
              h->image_format == ZT_REC_IMAGE_UNKNOWN || h->image_format > ZT_REC_IMAGE_MAX))
        fail(&r, "damaged: unknown platform %u or image format %u", h->platform, h->image_format);
    else {
        r.lim = h->used_bytes;
        ok = read_all(&r, h, m);
    }
    free(h);
    free(r.zones);
    if (!ok) {
        if (!r.failed) fail(&r, "damaged");
        zt_model_free(m);
        return false;
    }
    return true;
}

bool zt_model_read(const char *path, zt_model_t *m, char *err, size_t errcap)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s: not a regular file", path);
        close(fd);
        return false;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        snprintf(err, errcap, "%s: out of memory (%zu bytes)", path, len);
        close(fd);
        return false;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    bool ok = zt_model_read_buffer(buf, got, path, m, err, errcap);
    free(buf);
    return ok;
}

void zt_model_free(zt_model_t *m)
{
    if (!m) return;
    free(m->exe);
    free(m->arch);
    if (m->argv)
        for (unsigned i = 0; m->argv[i]; i++)
            free(m->argv[i]);
    free(m->argv);
    free(m->device);
    free(m->options);
    free(m->unwind);
    for (unsigned i = 0; i < m->nmodules; i++)
        free(m->modules[i].path);
    free(m->modules);
    if (m->stacks)
        for (unsigned i = 0; i < m->nstacks; i++) {
            free(m->stacks[i].pcs);
            free(m->stacks[i].per_zone);
        }
    free(m->stacks);
    if (m->zones)
        for (unsigned i = 0; i < m->nzones; i++) {
            free(m->zones[i].name);
            free(m->zones[i].classes);
        }
    free(m->zones);
    free(m->regions);
    free(m->va_runs);
    free(m->events);
    free(m->timeline);
    for (unsigned k = 0; k < 4; k++)
        moment_free(&m->moments[k]);
    if (m->zone_failures)
        for (unsigned z = 0; z < m->nzones; z++)
            moment_free(&m->zone_failures[z]);
    free(m->zone_failures);
    free(m->zone_failure_counts);
    memset(m, 0, sizeof *m);
}

const char *zt_model_at_name(int at)
{
    switch (at) {
    case ZT_AT_FIRST_FAILURE:
        return "first-failure";
    case ZT_AT_PEAK:
        return "peak";
    case ZT_AT_PEAK_VA:
        return "peak-va";
    default:
        return "end";
    }
}

/* The class of zone zz with index cls, added (in class order) if the
 * counters never saw it; NULL if there is no room. */
static zt_m_class_t *class_of(zt_m_zone_t *zz, unsigned cls)
{
    unsigned j = 0;
    while (j < zz->nclasses && zz->classes[j].cls < cls)
        j++;
    if (j < zz->nclasses && zz->classes[j].cls == cls) return &zz->classes[j];
    if (!zz->classes || zz->nclasses >= ZT_REC_CLASSES) return NULL;
    memmove(&zz->classes[j + 1], &zz->classes[j], (zz->nclasses - j) * sizeof *zz->classes);
    zz->nclasses++;
    memset(&zz->classes[j], 0, sizeof zz->classes[j]);
    zz->classes[j].cls = cls;
    return &zz->classes[j];
}

/* Zone and class live figures as a moment's walk saw them, exact: every
 * cell with stacks full or off; with sampling only the stack-0 cells,
 * which count every block at its size (FORMAT.md, Moments; the stack
 * cells' weighted estimates stand for the same blocks). */
static void zones_live_from_cells(zt_model_t *m, const zt_m_moment_t *mo)
{
    bool sampled = m->stacks_mode == ZT_REC_STACKS_SAMPLE;
    for (unsigned z = 0; z < m->nzones; z++) {
        zt_m_zone_t *zz = &m->zones[z];
        zz->c.live_blocks = zz->c.live_bytes = 0;
        for (unsigned c = 0; c < zz->nclasses; c++)
            zz->classes[c].c.live_blocks = zz->classes[c].c.live_bytes = 0;
    }
    for (unsigned i = 0; i < mo->ncells; i++) {
        const zt_m_cell_t *c = &mo->cells[i];
        if (c->zone >= m->nzones || (sampled && c->stack_id != 0)) continue;
        zt_m_zone_t *zz = &m->zones[c->zone];
        zz->c.live_blocks += c->live_blocks;
        zz->c.live_bytes += c->live_bytes;
        zt_m_class_t *k = class_of(zz, c->cls);
        if (k) {
            k->c.live_blocks += c->live_blocks;
            k->c.live_bytes += c->live_bytes;
        }
    }
}

bool zt_model_at(zt_model_t *m, int at, char *err, size_t errcap)
{
    if (at == ZT_AT_END) {
        m->at = ZT_AT_END;
        return true;
    }
    unsigned k = at == ZT_AT_FIRST_FAILURE ? ZT_REC_MOMENT_FIRST_FAILURE
                 : at == ZT_AT_PEAK        ? ZT_REC_MOMENT_PEAK_LIVE
                                           : ZT_REC_MOMENT_PEAK_VA;
    const zt_m_moment_t *mo = &m->moments[k];
    if (!mo->present) {
        snprintf(err, errcap, "the record has no %s moment (%s)", zt_model_at_name(at),
                 at == ZT_AT_FIRST_FAILURE ? "no allocation failed"
                                           : "the peak never passed the first step (1 MiB) "
                                             "while the monitor ran");
        return false;
    }
    for (unsigned i = 0; i < m->nstacks; i++) {
        zt_m_stack_t *s = &m->stacks[i];
        s->total.live_blocks = s->total.live_bytes = s->total.va_bytes = 0;
        for (unsigned z = 0; z < m->nzones; z++)
            s->per_zone[z].live_blocks = s->per_zone[z].live_bytes = s->per_zone[z].va_bytes = 0;
    }
    zones_live_from_cells(m, mo);
    for (unsigned z = 0; z < m->nzones; z++)
        m->zones[z].c.va_bytes = 0;
    for (unsigned i = 0; i < mo->ncells; i++) {
        const zt_m_cell_t *c = &mo->cells[i];
        if (c->zone >= m->nzones) continue;
        if (c->stack_id == 0 || c->stack_id > m->nstacks) continue;
        zt_m_stack_t *s = &m->stacks[c->stack_id - 1];
        s->total.live_blocks += c->live_blocks;
        s->total.live_bytes += c->live_bytes;
        s->per_zone[c->zone].live_blocks += c->live_blocks;
        s->per_zone[c->zone].live_bytes += c->live_bytes;
    }
    for (unsigned i = 0; i < mo->ncharges; i++) {
        const zt_m_charge_t *c = &mo->charges[i];
        if (c->stack_id == 0 || c->stack_id > m->nstacks || c->zone >= m->nzones) continue;
        m->stacks[c->stack_id - 1].total.va_bytes += c->va_bytes;
        m->stacks[c->stack_id - 1].per_zone[c->zone].va_bytes += c->va_bytes;
    }
    for (unsigned i = 0; i < mo->nregions; i++) {
        const zt_m_region_t *g = &mo->regions[i];
        if (g->zone >= 0 && (unsigned)g->zone < m->nzones) m->zones[g->zone].c.va_bytes += g->bytes;
    }
    zt_m_region_t *regions = malloc((mo->nregions ? mo->nregions : 1) * sizeof *regions);
    zt_m_va_run_t *runs = malloc((mo->nva_runs ? mo->nva_runs : 1) * sizeof *runs);
    if (!regions || !runs) {
        free(regions);
        free(runs);
        snprintf(err, errcap, "out of memory");
        return false;
    }
    memcpy(regions, mo->regions, mo->nregions * sizeof *regions);
    memcpy(runs, mo->va_runs, mo->nva_runs * sizeof *runs);
    free(m->regions);
    free(m->va_runs);
    m->regions = regions;
    m->nregions = mo->nregions;
    if (mo->nva_runs || !m->va_runs) {
        m->va_runs = runs;
        m->nva_runs = mo->nva_runs;
    } else {
        free(runs);
        m->va_runs = NULL;
        m->nva_runs = 0;
    }
    m->va_used_bytes = mo->va_used_bytes;
    m->at = at;
    m->at_time_ns = mo->time_ns;
    return true;
}
