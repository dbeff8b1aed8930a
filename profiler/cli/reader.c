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
#include "hooks.h"
#include "record_format.h"
#include "prim/prim.h"
#include "options.h"

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
    mo->live_blocks = q16(rm.live_blocks, h->stacks_mode == 2);
    mo->va_used_bytes = rm.va_used_bytes;
    mo->failures = rm.failures;
    mo->has_event = rm.has_event == 1;
    if (mo->has_event) {
        const zt_rec_event_t *e = &rm.event;
        if (e->type == 0 || e->type > ZT_EV_BAD_FREE || e->zone < -1 ||
            e->zone >= (int32_t)h->nzones || e->stack_id > h->nstacks ||
            (e->type == ZT_EV_BAD_FREE &&
             (e->largest_free > h->nstacks || e->largest_aligned > h->nstacks)))
            return fail(r, "damaged: %s event", what);
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
    bool sampled = h->stacks_mode == 2;
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
        if (g.kind < 0 || g.kind >= ZT_KIND_COUNT || g.zone < -1 || g.zone >= (int32_t)h->nzones ||
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
        if (v.kind < -1 || v.kind >= ZT_KIND_COUNT)
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

/* Offset of dense index i in a chunk directory (0 = chunk absent). */
static bool chunk_at(rd_t *r, const uint64_t *dir, uint64_t index, size_t rec_bytes,
                     const char *what, uint64_t *off_out)
{
    uint64_t within;
    unsigned k = zt_rec_chunk_of(index, &within);
    *off_out = 0;
    if (k >= ZT_REC_MAX_CHUNKS)
        return fail(r, "damaged: %s index %llu out of range", what, (unsigned long long)index);
    if (dir[k] == 0) return true;
    if (!check_range(r, dir[k], zt_rec_chunk_cap(k) * rec_bytes, what)) return false;
    *off_out = dir[k] + within * rec_bytes;
    return true;
}

/* Slack when comparing a process's start time from /proc with the record's
 * wall clock: btime is whole seconds and the wall clock may have been
 * stepped since boot. */
#define PID_REUSE_SLACK_NS 2000000000ull

/* Wall time (Unix epoch, ns) when the process holding `pid` started, from
 * its /proc/<pid>/stat line (field 22, clock ticks after boot) and the
 * boot time in /proc/stat; false when unknown. */
static bool proc_start_wall_ns(const char *after_comm, uint64_t *out)
{
    /* after_comm points past "pid (comm)": " S ppid ..."; starttime is the
     * 20th field from the state. */
    const char *p = after_comm;
    for (unsigned field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p) return false;
    }
    unsigned long long ticks = strtoull(p, NULL, 10);
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return false;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (!btime || hz <= 0) return false;
    *out = btime * 1000000000ull + ticks * (1000000000ull / (unsigned long long)hz);
    return true;
}

/* Is the process that wrote a record still marked running actually there?
 * kill(pid, 0) alone says yes for a zombie (SIGKILLed but not yet reaped by
 * its parent) and for an unrelated process that got the pid later. So on
 * Linux /proc/<pid>/stat decides: state Z or X is dead, and a process that
 * started after the record's last sign of life (`last_seen_wall_ns`, the
 * heartbeat or the start) plus some slack holds a recycled pid. Best
 * effort: a pid reused within the slack is not caught, and without /proc
 * only kill() is asked. */
static bool writer_alive(int pid, uint64_t last_seen_wall_ns)
{
    if (pid <= 0) return false;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && access("/proc/self/stat", R_OK) == 0)
            return false; /* /proc works and has no such process */
        return kill(pid, 0) == 0 || errno != ESRCH;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false; /* gone between open and read */
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!rp || rp[1] != ' ' || !rp[2]) return kill(pid, 0) == 0 || errno != ESRCH;
    char state = rp[2];
    if (state == 'Z' || state == 'X' || state == 'x') return false;
    uint64_t started;
    if (last_seen_wall_ns && proc_start_wall_ns(rp + 1, &started) &&
        started > last_seen_wall_ns + PID_REUSE_SLACK_NS)
        return false;
    return true;
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

static int host_signal_named(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } host[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
        {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
        {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
        {"PROF", SIGPROF}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
        {"SYS", SIGSYS},
    };
    for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++)
        if (strcmp(host[i].name, name) == 0) return host[i].sig;
    return 0;
}

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
    int h = host_signal_named(name);
    return h > 0 ? h : sig;
}

static bool read_all(rd_t *r, const zt_rec_header_t *h, zt_model_t *m)
{
    bool sampled = h->stacks_mode == 2; /* ZT_STACKS_SAMPLE */

    m->version = h->version;
    if (h->version >= 3) {
        m->platform = (int)h->platform;
        m->image_format = (int)h->image_format;
        if (!(m->arch = dup_bounded(r, h->arch, sizeof h->arch, "architecture name"))) return false;
    } else { /* version 2: only Linux wrote it */
        m->platform = ZT_REC_PLATFORM_LINUX;
        m->image_format = ZT_REC_IMAGE_ELF;
        m->arch = strdup("");
    }
    zt_prim_platform_t host;
    zt_prim_platform(&host);
    m->foreign = darwin_platform(m->platform) != darwin_platform(host.os);
    m->pid = h->pid;
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
    if (t->state == ZT_REC_RUNNING && !h->runner_state) {
        uint64_t last_seen =
            h->heartbeat_wall_ns > h->start_wall_ns ? h->heartbeat_wall_ns : h->start_wall_ns;
        /* A record from another OS: its pid means nothing here; only a fresh
         * heartbeat says the process may still run. */
        bool alive = m->foreign ? h->monitor_ms != 0 : writer_alive(h->pid, last_seen);
        uint64_t now = zt_prim_wall_ns();
        uint64_t stale_ns = (uint64_t)h->monitor_ms * 50 * 1000000u;
        if (stale_ns < 5000000000ull) stale_ns = 5000000000ull;
        bool stale =
            h->monitor_ms && now > h->heartbeat_wall_ns && now - h->heartbeat_wall_ns > stale_ns;
        m->term.killed = !alive || stale;
        m->term.still_running = !m->term.killed;
    }
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

    /* zones */
    bool shards = h->class_shards_off != 0;
    if (shards && !check_range(r, h->class_shards_off,
                               (uint64_t)ZT_REC_MAX_ZONES * ZT_REC_SHARDS * sizeof(uint64_t),
                               "class shard directory"))
        return false;
    m->nzones = h->nzones;
    m->zones = calloc(h->nzones ? h->nzones : 1, sizeof *m->zones);
    if (!m->zones) return fail(r, "out of memory");
    for (unsigned z = 0; z < h->nzones; z++) {
        const zt_rec_zone_t *rz = &h->zones[z];
        zt_m_zone_t *mz = &m->zones[z];
        if (!(mz->name = dup_bounded(r, rz->name, sizeof rz->name, "zone name"))) return false;
        mz->address = rz->address;
        zt_rec_counters_t sum = {0, 0, 0, 0, 0};
        if (rz->classes_off) {
            if (!check_range(r, rz->classes_off, ZT_REC_CLASSES * sizeof(zt_rec_counters_t),
                             "zone class counters"))
                return false;
            /* the zone's per-thread shards, added to the shared counters */
            uint64_t shard_off[ZT_REC_SHARDS];
            unsigned nshards = 0;
            for (unsigned s = 0; shards && s < ZT_REC_SHARDS; s++) {
                uint64_t so;
                memcpy(&so, r->buf + h->class_shards_off + (z * ZT_REC_SHARDS + s) * 8, 8);
                if (so == 0) continue;
                if (!check_range(r, so, ZT_REC_CLASSES * sizeof(zt_rec_counters_t),
                                 "zone class counter shard"))
                    return false;
                shard_off[nshards++] = so;
            }
            mz->classes = calloc(ZT_REC_CLASSES, sizeof *mz->classes);
            if (!mz->classes) return fail(r, "out of memory");
            for (unsigned c = 0; c < ZT_REC_CLASSES; c++) {
                zt_rec_counters_t rc;
                memcpy(&rc, r->buf + rz->classes_off + c * sizeof rc, sizeof rc);
                for (unsigned s = 0; s < nshards; s++) {
                    zt_rec_counters_t sc;
                    memcpy(&sc, r->buf + shard_off[s] + c * sizeof sc, sizeof sc);
                    rc.total_blocks += sc.total_blocks;
                    rc.total_bytes += sc.total_bytes;
                    rc.freed_blocks += sc.freed_blocks;
                    rc.freed_bytes += sc.freed_bytes;
                }
                sum.total_blocks += rc.total_blocks;
                sum.total_bytes += rc.total_bytes;
                sum.freed_blocks += rc.freed_blocks;
                sum.freed_bytes += rc.freed_bytes;
                if (rc.total_blocks == 0) continue;
                zt_m_class_t *mc = &mz->classes[mz->nclasses++];
                mc->cls = c;
                counters_from(&mc->c, &rc, sampled);
            }
        }
        (void)sum; /* the zone's own counters are exact (v3) */
        counters_from(&mz->c, &rz->total, sampled);
        mz->c.va_bytes = rz->va_bytes;
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
        /* Over all zones: the entry's own counters, exact (v3). */
        for (unsigned z = 0; z < h->nzones; z++) {
            if (!chunk_at(r, h->zones[z].stack_chunks_off, id - 1, sizeof(zt_rec_counters_t),
                          "zone stack counters", &off))
                return false;
            if (off) {
                zt_rec_counters_t rc;
                memcpy(&rc, r->buf + off, sizeof rc);
                counters_from(&ms->per_zone[z], &rc, sampled);
            }
        }
        counters_from(&ms->total, &e.total, sampled);
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
            if (g.kind < 0 || g.kind >= ZT_KIND_COUNT || g.zone < -1 ||
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
            if (v.kind < -1 || v.kind >= ZT_KIND_COUNT)
                return fail(r, "damaged: address-space run %llu", (unsigned long long)i);
            m->va_runs[m->nva_runs++] = (zt_m_va_run_t){v.base, v.bytes, v.kind, v.window};
        }
    }

    /* events */
    if (h->events_off) {
        uint64_t bytes;
        if (h->events_cap == 0 || h->events_cap > (1u << 24) ||
            !mul_ok(h->events_cap, sizeof(zt_rec_event_t), &bytes))
            return fail(r, "damaged: event ring of %llu slots", (unsigned long long)h->events_cap);
        if (!check_range(r, h->events_off, bytes, "event ring")) return false;
        uint64_t head = h->events_head;
        uint64_t first = head > h->events_cap ? head - h->events_cap + 1 : 1;
        m->events_lost = first - 1;
        uint64_t n = head >= first ? head - first + 1 : 0;
        m->events = calloc(n ? n : 1, sizeof *m->events);
        if (!m->events) return fail(r, "out of memory");
        for (uint64_t s = first; s <= head && s != 0; s++) {
            zt_rec_event_t e;
            memcpy(&e, r->buf + h->events_off + ((s - 1) % h->events_cap) * sizeof e, sizeof e);
            if (e.seq != s) continue; /* being written when the process stopped */
            if (e.type == 0 || e.type > ZT_EV_BAD_FREE || e.zone < -1 ||
                e.zone >= (int32_t)h->nzones || e.stack_id > h->nstacks ||
                (e.type == ZT_EV_BAD_FREE &&
                 (e.largest_free > h->nstacks || e.largest_aligned > h->nstacks)))
                return fail(r, "damaged: event %llu", (unsigned long long)s);
            m->events[m->nevents++] = (zt_m_event_t){
                e.time_ns, e.type,    e.cls,      e.kind,         e.stack_id,        e.zone, e.size,
                e.align,   e.va_used, e.va_limit, e.largest_free, e.largest_aligned, e.value};
        }
    }

    /* heap, failures, moments */
    counters_from(&m->heap, &h->heap, sampled);
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
        m->zone_failure_counts[z] = h->zones[z].failures;
        if (h->zones[z].first_failure_off &&
            !read_moment(r, h, h->zones[z].first_failure_off, "zone failure moment",
                         &m->zone_failures[z]))
            return false;
    }

    for (unsigned i = 0; i < m->nstacks; i++)
        m->stacks[i].end_live_bytes = m->stacks[i].total.live_bytes;
    /* Stacks off: no counters, but the last walk (at exit, or the monitor's
     * last before a kill) saw every live block. */
    if (m->stacks_mode == ZT_STACKS_OFF && m->moments[ZT_REC_MOMENT_END].present)
        zones_live_from_cells(m, &m->moments[ZT_REC_MOMENT_END]);
    const zt_m_moment_t *ff = &m->moments[ZT_REC_MOMENT_FIRST_FAILURE];
    for (unsigned i = 0; ff->present && i < ff->ncells; i++)
        if (ff->cells[i].stack_id)
            m->stacks[ff->cells[i].stack_id - 1].ff_live_bytes += ff->cells[i].live_bytes;
    for (unsigned i = 0; ff->present && i < ff->ncharges; i++)
        m->stacks[ff->charges[i].stack_id - 1].ff_va_bytes += ff->charges[i].va_bytes;

    /* timeline */
    if (h->timeline_off) {
        uint64_t bytes;
        if (h->timeline_cap > (1u << 24) || h->timeline_count > h->timeline_cap ||
            !mul_ok(h->timeline_cap, sizeof(zt_rec_sample_t), &bytes))
            return fail(r, "damaged: timeline of %llu/%llu samples",
                        (unsigned long long)h->timeline_count, (unsigned long long)h->timeline_cap);
        if (!check_range(r, h->timeline_off, bytes, "timeline")) return false;
        m->timeline = calloc(h->timeline_count ? h->timeline_count : 1, sizeof *m->timeline);
        if (!m->timeline) return fail(r, "out of memory");
        for (uint64_t i = 0; i < h->timeline_count; i++) {
            zt_rec_sample_t s;
            memcpy(&s, r->buf + h->timeline_off + i * sizeof s, sizeof s);
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
    rd_t r = {buf, len, 0, name ? name : "record", err, errcap, false};
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
    else if (h->term.state < 0 || h->term.state > 3)
        fail(&r, "damaged: bad termination state %d", h->term.state);
    else if (h->stacks_mode < 0 || h->stacks_mode > 2 || h->depth > ZT_REC_MAX_FRAMES)
        fail(&r, "damaged: bad options (stacks mode %d, depth %u)", h->stacks_mode, h->depth);
    else if (h->version >= 3 &&
             (h->platform == ZT_REC_PLATFORM_UNKNOWN || h->platform > ZT_REC_PLATFORM_MAX ||
              h->image_format == ZT_REC_IMAGE_UNKNOWN || h->image_format > ZT_REC_IMAGE_MAX))
        fail(&r, "damaged: unknown platform %u or image format %u", h->platform, h->image_format);
    else {
        r.lim = h->used_bytes;
        ok = read_all(&r, h, m);
    }
    free(h);
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
    bool sampled = m->stacks_mode == ZT_STACKS_SAMPLE;
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
