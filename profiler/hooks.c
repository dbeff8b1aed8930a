/* ----------------------------------------------------------------------------
 * hooks.c — the profiler's side of the zone's hook interface (zone/hooks.h):
 * its table, zt_hooks_linked, which the link gives the zone, so the zone
 * calls us without naming us; we turn tagging on through the zone's
 * zt_profiling and sampling state.
 *
 * Hot path costs:
 *  - stacks off: the zone never calls us (zt_profiling is 0).
 *  - sample:N:   one thread-local decrement per allocation, no shared
 *                memory; a sampled block (mean one per N bytes, exponential
 *                intervals as in jemalloc and tcmalloc; --sample-seed fixes
 *                the draw) pays for capture +
 *                intern + counters, and is counted with weight 1/p
 *                (p = 1 - exp(-size/N)). Untagged frees return at once.
 *  - full:       capture (with libunwind, from hook_alloc's own frame) +
 *                XXH3-128 + per-thread stack cache (the shared table only on
 *                a miss) + the counters of account.c (three structs); a free
 *                is the counters without capture, its temporary count in
 *                the same update.
 * Recursion is impossible: a thread-local (initial-exec) flag marks code
 * running inside the profiler, whose own allocations (libunwind's first
 * use, pthread_create of the monitor) are then neither sampled nor tagged.
 *
 * Start-up: our init hook (zt_hook_init, end of zt_init, maybe inside the
 * first malloc) only opens and maps the record file; the monitor thread,
 * signal handlers and exit hook are started from our constructor, or from
 * the first profiled allocation after it has run if the record opened
 * later.
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "internal.h"

#include <stddef.h>
#include <string.h>

static int prof_mode; /* ZT_STACKS_*; 0 until zt_hook_init opened a record */
static uint64_t sample_mean_bytes;
static unsigned capture_depth = ZT_OPT_DEPTH_DEFAULT;
static int main_started; /* our constructor ran */
static int threads_started;
static char out_base[1024]; /* ZONETRACE_OUT as configured (for fork children) */

extern int zt_rec_forked;

static __thread int tls_in_profiler;
#define tls_sample_countdown zt_hook_sample_countdown /* the zone's (hooks.h) */
static __thread int tls_sample_ready;
static __thread uint64_t tls_rng;
/* Temporary allocations (heaptrack's definition, per thread): the block
 * this thread allocated last, and (sample mode) the sample countdown right
 * after it, which every later allocation of the thread lowers. */
static __thread void *tls_last_ptr;
static __thread int64_t tls_last_countdown;

/* ---- sampling math (no libm: this runs inside malloc) ----------------------- */

/* ln(x) for x > 0: x = m·2^e with m in [1, 2); ln m = 2 atanh((m-1)/(m+1)),
 * a series in t^2 with |t| <= 1/3: error < 1.1e-9 after 8 terms (measured
 * against libm; 6 terms, as before, left 1.07e-7). */
double zt_sample_ln(double x)
{
    if (!(x > 0)) return -1e300;
    union {
        double d;
        uint64_t u;
    } v = {x};
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double t = (v.d - 1) / (v.d + 1), t2 = t * t;
    double s =
        t * (1 + t2 * (1.0 / 3 +
                       t2 * (1.0 / 5 +
                             t2 * (1.0 / 7 +
                                   t2 * (1.0 / 9 + t2 * (1.0 / 11 + t2 * (1.0 / 13 + t2 / 15)))))));
    return 2 * s + e * 0.69314718055994530942;
}

/* 1/i!, i = 0..15: exp's Taylor coefficients. */
static const double inv_fact[16] = {1,
                                    1,
                                    1.0 / 2,
                                    1.0 / 6,
                                    1.0 / 24,
                                    1.0 / 120,
                                    1.0 / 720,
                                    1.0 / 5040,
                                    1.0 / 40320,
                                    1.0 / 362880,
                                    1.0 / 3628800,
                                    1.0 / 39916800,
                                    1.0 / 479001600,
                                    1.0 / 6227020800.0,
                                    1.0 / 87178291200.0,
                                    1.0 / 1307674368000.0};

/* 1 - exp(-x) for x >= 0 without cancellation for small x. The series by
 * Horner's rule on the coefficients above, with no division: the loop of
 * `term *= -r / i` it replaces made 15 dependent divisions per call (two
 * calls per sample, alloc and free; 0.45 % of mixed's CPU time in sample
 * mode, perf). Error: the first term left out, (ln 2)^16 / 16!, < 1e-15. */
static double one_minus_exp_neg(double x)
{
    if (x < 1e-4) return x * (1 - x / 2 * (1 - x / 3));
    if (x > 40) return 1;
    /* exp(-x) = 2^-k · exp(-r), r = x - k ln2 in [0, ln2) */
    int k = (int)(x * (1 / 0.69314718055994530942));
    double r = x - k * 0.69314718055994530942;
    double er = inv_fact[15];
    for (int i = 14; i >= 0; i--)
        er = er * -r + inv_fact[i];
    union {
        double d;
        uint64_t u;
    } p2 = {.u = (uint64_t)(1023 - k) << 52};
    return 1 - er * p2.d;
}

uint64_t zt_sample_weight_q16(uint64_t bytes, uint64_t mean)
{
    if (mean == 0) return 1u << 16;
    double p = one_minus_exp_neg((double)bytes / (double)mean);
    if (p <= 0) return 1u << 16;
    double w = 65536.0 / p;
    return w > 1.8e19 ? UINT64_MAX / 2 : (uint64_t)(w + 0.5);
}

static uint64_t sample_seed;    /* --sample-seed; 0 = from the clock */
static uint64_t process_seed;   /* sample_seed, or drawn once per process from the clock */
static unsigned sample_threads; /* threads that drew their first interval */

/* A thread's first state: splitmix64 of the process seed and the thread's
 * rank among samplers, so with --sample-seed a run whose threads start
 * sampling in the same order draws the same samples. Without it the process
 * seed comes from the clock and the pid (hook_init, and again in a fork
 * child): a new thread pays one atomic add here, not a clock read and a
 * gettid system call (200 short-lived threads: bench/threads.c). */
static uint64_t rng_first(void)
{
    uint64_t z = process_seed * 0x9e3779b97f4a7c15ull +
                 __atomic_add_fetch(&sample_threads, 1, __ATOMIC_RELAXED) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | 1;
}

static uint64_t clock_seed(void)
{
    return (zt_prim_now_ns() ^ zt_prim_wall_ns() ^ ((uint64_t)zt_prim_pid() << 32)) | 1;
}

static uint64_t rng_next(void)
{
    if (tls_rng == 0) tls_rng = rng_first();
    tls_rng ^= tls_rng << 13; /* xorshift64 */
    tls_rng ^= tls_rng >> 7;
    tls_rng ^= tls_rng << 17;
    return tls_rng;
}

/* Bytes until the next sample: exponential with mean N (a Poisson process
 * over allocated bytes). */
static int64_t next_interval(void)
{
    double u = ((double)(rng_next() >> 11) + 1) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double n = -zt_sample_ln(u) * (double)sample_mean_bytes;
    if (n < 1) n = 1;
    if (n > 9e18) n = 9e18;
    return (int64_t)n;
}

/* ---- start-up ----------------------------------------------------------------- */

static void start_threads(void)
{
    if (__atomic_exchange_n(&threads_started, 1, __ATOMIC_ACQ_REL)) return;
    int saved = tls_in_profiler;
    tls_in_profiler = 1;
    zt_crash_install();
    if (zt_rec_open && zt_rec.hdr->monitor_ms) zt_monitor_start();
    tls_in_profiler = saved;
}

static void fork_prepare(void)
{
    zt_record_fork_prepare();
}
static void fork_parent(void)
{
    zt_record_fork_parent();
}

static void fork_child(void)
{
    /* The child's new threads must not repeat the parent's draws. */
    if (sample_seed == 0) {
        process_seed = clock_seed();
        tls_rng = 0; /* this thread too: its next interval comes from the new seed */
    }
    zt_record_fork_child();
    zt_stacktab_fork_child();
    zt_account_fork_child();
    zt_monitor_fork_child();
}

/* In a fork child, on first use: move to <out>.<pid>.zt. */
static bool child_reopen(void)
{
    char path[1200];
    zt_prim_snprintf(path, sizeof path, "%s.%d.zt", out_base, zt_prim_pid());
    return zt_record_reopen_child(path);
}

/* Rare cases in front of the hot path; false = do not profile this call. */
static bool hook_slow(void)
{
    if (!zt_rec_open) return false;
    if (__atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) {
        tls_in_profiler = 1;
        bool ok = child_reopen();
        tls_in_profiler = 0;
        if (!ok) return false;
    }
    if (!threads_started && __atomic_load_n(&main_started, __ATOMIC_ACQUIRE)) start_threads();
    return zt_rec_open;
}

/* The owner pid and termination state in the header of the record at
 * `path`; false if it is not a record (or too short to say). */
static bool record_owner(const char *path, int32_t *owner, int32_t *state)
{
    enum { TERM_END = offsetof(zt_rec_header_t, term) + sizeof(zt_rec_term_t) };
    char buf[TERM_END + 1];
    size_t len = 0;
    if (!zt_prim_read_file(path, buf, sizeof buf, &len) || len < TERM_END) return false;
    if (memcmp(buf, ZT_REC_MAGIC, 8) != 0) return false;
    memcpy(owner, buf + offsetof(zt_rec_header_t, pid), sizeof *owner);
    memcpy(state, buf + offsetof(zt_rec_header_t, term.state), sizeof *state);
    return true;
}

/* True if `path` is the record of another process that is still running
 * or was replaced by exec and lives on. EXECED: the owner lives on as
 * another program, whose own record may be next to this one
 * (FILE.exec.zt): it is still the owner's. */
static bool owned_by_live_process(const char *path, int pid)
{
    int32_t owner, state;
    return record_owner(path, &owner, &state) &&
           (state == ZT_REC_RUNNING || state == ZT_REC_EXECED) && owner != pid && owner > 0 &&
           zt_prim_pid_alive(owner);
}

/* True if `path` is the record of this pid's previous image, which exec
 * replaced: it says how that image ended and must not be truncated. */
static bool left_by_exec(const char *path, int pid)
{
    int32_t owner, state;
    return record_owner(path, &owner, &state) && state == ZT_REC_EXECED && owner == pid;
}

static void hook_init(void)
{
    static int done;
    if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL)) return;
    int mode = ZT_STACKS_OFF;
    uint64_t mean = 0;
    const zt_options_t *o = &zt_options;
    if (o->stacks == NULL || !zt_options_parse_stacks(o->stacks, &mode, &mean))
        mode = ZT_STACKS_OFF;
    bool want_out = o->out && o->out[0];
    if (mode == ZT_STACKS_OFF && !want_out)
        return; /* the profiler does nothing and costs nothing */
    tls_in_profiler = 1;

    int pid = zt_prim_pid();
    if (want_out)
        zt_prim_snprintf(out_base, sizeof out_base, "%s", o->out);
    else
        zt_prim_snprintf(out_base, sizeof out_base, "zonetrace-%d.zt", pid);
    char path[1200];
    zt_prim_snprintf(path, sizeof path, "%s", out_base);
    const char *root = o->root_pid;
    if (root && root[0]) {
        long r = 0;
        for (const char *c = root; *c >= '0' && *c <= '9'; c++)
            r = r * 10 + (*c - '0');
        if (r != pid) zt_prim_snprintf(path, sizeof path, "%s.%d.zt", out_base, pid);
    } else if (owned_by_live_process(path, pid)) {
        /* A program started by a profiled one (fork + exec, system()) with
         * the same ZONETRACE_OUT: truncating the file would destroy the
         * parent's record under its mapping (SIGBUS). Use our own. */
        zt_prim_snprintf(path, sizeof path, "%s.%d.zt", out_base, pid);
    }
    /* After exec (same pid): the previous image's record stays; this one
     * goes next to it, FILE.exec.zt (FILE.exec.exec.zt after a second). */
    for (int i = 0; i < 8 && left_by_exec(path, pid); i++) {
        char next[sizeof path];
        zt_prim_snprintf(next, sizeof next, "%s.exec.zt", path);
        zt_prim_snprintf(path, sizeof path, "%s", next);
    }

    enum zt_unwind how =
        o->unwind && strcmp(o->unwind, "fp") == 0 ? ZT_UNWIND_FP : ZT_UNWIND_LIBUNWIND;
    capture_depth =
        o->depth >= 1 && o->depth <= ZT_REC_MAX_FRAMES ? (unsigned)o->depth : ZT_OPT_DEPTH_DEFAULT;
    sample_mean_bytes = mean ? mean : ZT_OPT_SAMPLE_DEFAULT_BYTES;
    sample_seed = o->sample_seed > 0 ? (uint64_t)o->sample_seed : 0;
    process_seed = sample_seed ? sample_seed : clock_seed();
    if (mode != ZT_STACKS_OFF) zt_capture_init(how);

    const zt_profile_t *p = &zt_active_profile;
    zt_record_info_t info = {
        .path = path,
        .stacks_mode = mode,
        .sample_bytes = mode == ZT_STACKS_SAMPLE ? sample_mean_bytes : 0,
        .unwind = how == ZT_UNWIND_FP ? "fp" : "libunwind",
        .depth = capture_depth,
        .monitor_ms = o->monitor_ms > 0 ? (unsigned)o->monitor_ms : 0,
        .device = p->name ? p->name : o->device,
        .page_bytes = zt_profile_page_bytes(p),
        .ram_bytes = p->ram_bytes,
        .va_limit_bytes = zt_profile_va_limit_bytes(p),
    };
    if (!zt_record_open(&info)) {
        tls_in_profiler = 0;
        return;
    }
    zt_account_publish_zones();
    if (mode != ZT_STACKS_OFF) zt_freed_init();
    zt_prim_atfork(fork_prepare, fork_parent, fork_child);
    prof_mode = mode;
    __atomic_store_n(&zt_profiling,
                     mode == ZT_STACKS_OFF      ? 0
                     : mode == ZT_STACKS_SAMPLE ? ZT_PROFILING_SAMPLE
                                                : ZT_PROFILING_FULL,
                     __ATOMIC_RELEASE);
    tls_in_profiler = 0;
}

/* Before main when preloaded: start what cannot be started inside malloc.
 * If profiling is requested but nothing has allocated yet, initialise now
 * so the monitor and handlers cover the whole run. */
__attribute__((constructor)) static void profiler_constructor(void)
{
    __atomic_store_n(&main_started, 1, __ATOMIC_RELEASE);
    if (!zt_rec_open && !zt_initialised) {
        const char *s = zt_prim_getenv("ZONETRACE_STACKS");
        const char *out = zt_prim_getenv("ZONETRACE_OUT");
        if ((s && s[0] && strcmp(s, "off") != 0) || (out && out[0])) zt_init();
    }
    if (zt_rec_open) {
        /* libunwind is loaded here, not in hook_init (maybe inside malloc):
         * the loader allocates. Allocations before this took fp stacks. */
        int saved = tls_in_profiler;
        tls_in_profiler = 1;
        bool loaded = zt_capture_load();
        tls_in_profiler = saved;
        /* libunwind could not be loaded: the stacks are frame-pointer ones,
         * and the record says so (its header was written with the option). */
        if (!loaded && zt_rec_open) memcpy(zt_rec.hdr->unwind, "fp", sizeof "fp");
        start_threads();
        /* The module table now, from the constructor (not a signal handler,
         * so dl_iterate_phdr is allowed): a program that aborts in free
         * before the monitor's first snapshot left a record whose frames
         * could not be symbolized ("?+0x…"), since the crash path may not
         * read modules. Later snapshots refresh it after dlopen. */
        zt_snapshot(ZT_SNAP_MODULES);
    }
}

/* ---- the hooks ------------------------------------------------------------------ */

/* Stack id of the calling code, interning it ("unknown" single frame 0 when
 * nothing could be captured, so totals stay exact). */
static uint32_t current_stack(bool may_block)
{
    uint64_t pcs[ZT_REC_MAX_FRAMES];
    unsigned n = zt_capture(pcs, capture_depth, 1);
    if (n == 0) {
        pcs[0] = 0;
        n = 1;
    }
    return zt_stacktab_intern(pcs, n, may_block);
}

/* Full mode with the nongnu libunwind: current_stack's work done in the
 * alloc hook's own frame (always inlined there), so unw_backtrace walks
 * neither current_stack's nor zt_capture's frame (every frame costs a
 * lookup in its per-thread trace cache), and interns straight from its
 * buffer. The first pc is the hook's own; the library's leading frames are
 * skipped by address as zt_capture does (when we are the main program,
 * nothing is: zt_capture kept the hook's frame there too). */
static inline __attribute__((always_inline)) uint32_t current_stack_here(int (*bt)(void **, int))
{
    uint64_t buf[ZT_REC_MAX_FRAMES + 48];
    unsigned want = capture_depth + 16; /* room for the allocator's frames */
    if (want > sizeof buf / sizeof buf[0]) want = sizeof buf / sizeof buf[0];
    int r = bt((void **)buf, (int)want);
    unsigned n = r > 0 ? (unsigned)r : 0, first = 0;
    uintptr_t lo = zt_capture_own_lo, hi = zt_capture_own_hi;
    while (first < n && buf[first] >= lo && buf[first] < hi)
        first++;
    unsigned out = n - first;
    if (out > capture_depth) out = capture_depth;
    if (out == 0) {
        buf[0] = 0;
        return zt_stacktab_intern(buf, 1, true);
    }
    return zt_stacktab_intern(buf + first, out, true);
}

/* Everything but the unsampled fast path, which is inline in the zone
 * (zt_hook_alloc in zone/hooks.h). */
static uint32_t hook_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    uint64_t blocks_w = 1, bytes_w = bytes;
    /* The request noted by the entry point, taken once; one larger than
     * the block is stale (noted for an allocation that was not tagged). */
    uint64_t req = zt_hook_request_bytes;
    zt_hook_request_bytes = 0;
    if (req > bytes) req = 0;
    tls_last_ptr = NULL; /* any allocation ends the previous one's chance to be temporary */
    if (prof_mode == ZT_STACKS_SAMPLE) {
        if (zt_unlikely(!tls_sample_ready)) {
            /* First allocation of this thread: draw its first interval. */
            tls_sample_ready = 1;
            tls_sample_countdown = next_interval() - (int64_t)bytes;
            if (tls_sample_countdown > 0) return 0;
        }
        tls_sample_countdown = next_interval();
        blocks_w = zt_sample_weight_q16(bytes, sample_mean_bytes);
        bytes_w = (uint64_t)(((zt_u128)bytes * blocks_w) >> 16);
    } else if (prof_mode == ZT_STACKS_FULL) {
        tls_sample_countdown = 0; /* every allocation is taken: keep it from wrapping (hooks.h) */
    } else {
        return 0;
    }
    if (tls_in_profiler) return 0;
    if (zt_unlikely(!threads_started || zt_rec_forked || !zt_rec_open) && !hook_slow()) return 0;
    tls_in_profiler = 1;
    int (*bt)(void **, int) = __atomic_load_n(&zt_capture_backtrace, __ATOMIC_ACQUIRE);
    uint32_t id =
        prof_mode == ZT_STACKS_FULL && bt != NULL ? current_stack_here(bt) : current_stack(true);
    if (id) zt_account_alloc_in(id, zone, cls, blocks_w, bytes_w, req);
    tls_in_profiler = 0;
    if (id) {
        tls_last_ptr = ptr;
        tls_last_countdown = tls_sample_countdown;
    }
    return id;
}

static void hook_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag)
{
    if (zt_likely(tag == 0) || prof_mode == ZT_STACKS_OFF) return;
    if (zt_unlikely(zt_rec_forked || !zt_rec_open)) {
        if (tls_in_profiler || !hook_slow()) return;
    }
    if (tag > __atomic_load_n(&zt_rec.hdr->nstacks, __ATOMIC_RELAXED))
        return; /* not one of ours (a corrupted tag must not corrupt counters) */
    uint64_t blocks_w = 1, bytes_w = bytes;
    if (prof_mode == ZT_STACKS_SAMPLE) {
        blocks_w = zt_sample_weight_q16(bytes, sample_mean_bytes);
        bytes_w = (uint64_t)(((zt_u128)bytes * blocks_w) >> 16);
    }
    /* heaptrack: "an allocation that is immediately followed by its
     * deallocation, without any other allocation in between" (FORMAT.md).
     * Sample mode: no allocation of this thread lowered the countdown. */
    bool temp = false;
    if (ptr == tls_last_ptr) {
        temp = ptr != NULL &&
               (prof_mode == ZT_STACKS_FULL || tls_sample_countdown == tls_last_countdown);
        tls_last_ptr = NULL;
    }
    zt_account_free_in(tag, zone, cls, blocks_w, bytes_w, temp);
    zt_freed_note(ptr, bytes, tag);
}

static void hook_event(const zt_event_t *ev)
{
    if (ev == NULL || !zt_rec_open) return;
    if (zt_unlikely(zt_rec_forked)) {
        if (tls_in_profiler || !hook_slow()) return;
    }
    zt_rec_event_t r;
    memset(&r, 0, sizeof r);
    r.time_ns = zt_record_now_ns();
    r.type = ev->type;
    r.cls = ev->cls;
    r.kind = ev->kind;
    r.stack_id = ev->stack_id;
    r.zone = ev->zone ? zt_account_zone_index(ev->zone) : -1;
    r.size = ev->size;
    r.align = ev->align;
    r.va_used = ev->va_used;
    r.va_limit = ev->va_limit;
    r.largest_free = ev->largest_free;
    r.largest_aligned = ev->largest_aligned;
    r.value = ev->value;
    bool wants_stack = ev->type == ZT_EV_NULL_RETURNED || ev->type == ZT_EV_NANO_DELEGATED ||
                       ev->type == ZT_EV_MAP_FAILED || ev->type == ZT_EV_BAD_FREE;
    bool stacks = prof_mode != ZT_STACKS_OFF && !tls_in_profiler;
    if (r.stack_id == 0 && wants_stack && stacks) {
        tls_in_profiler = 1;
        r.stack_id = current_stack(true);
        tls_in_profiler = 0;
    }
    if (ev->type == ZT_EV_BAD_FREE) {
        int saved = tls_in_profiler;
        tls_in_profiler = 1;
        zt_freed_fill(&r, ev, stacks);
        zt_record_event(&r);
        zt_freed_say(&r);
        tls_in_profiler = saved;
        return;
    }
    zt_record_event(&r);
    if (ev->type == ZT_EV_NULL_RETURNED || ev->type == ZT_EV_MAP_FAILED) {
        __atomic_fetch_add(ev->type == ZT_EV_NULL_RETURNED ? &zt_rec.hdr->null_returns
                                                           : &zt_rec.hdr->map_failures,
                           1, __ATOMIC_RELAXED);
        /* A NULL is reported after the zone dropped its locks (szone.c
         * null_returned): the moment is taken here, while the heap is as
         * the failure found it. A map failure happens under the rack's
         * lock: its moment waits for the NULL that follows or the monitor. */
        bool may_walk = ev->type == ZT_EV_NULL_RETURNED && !tls_in_profiler;
        if (may_walk) tls_in_profiler = 1;
        zt_snapshot_failure(&r, may_walk);
        if (may_walk) tls_in_profiler = 0;
        zt_monitor_request_snapshot(); /* "who filled it", while it is still full */
    }
}

static void hook_zone_created(malloc_zone_t *zone)
{
    zt_account_zone_created(zone);
}

/* The zone's hooks land here (zone/hooks.c routes zt_hook_* through it). */
const zt_hooks_t zt_hooks_linked = {
    .alloc = hook_alloc,
    .free = hook_free,
    .event = hook_event,
    .zone_created = hook_zone_created,
    .init = hook_init,
};
