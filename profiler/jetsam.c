/* ----------------------------------------------------------------------------
 * jetsam.c — the per-process memory limit as an iPhone enforces it
 * (reference/modern_apple.md §4): the footprint (zt_va_phys_footprint,
 * phys_footprint's meaning) is compared with the limit; past the warning
 * level the program gets a memory warning (an event in the record, its
 * handler, optionally a signal), once per crossing; past the limit (mode
 * kill) the run ends as jetsam ends it: the record is completed with the
 * termination "jetsam: per-process-limit", the heap snapshot of that moment
 * and the footprint, then SIGKILL (xnu-11417: the ledger's high-watermark
 * violation kills an app with JETSAM_REASON_MEMORY_PERPROCESSLIMIT,
 * osfmk/kern/task.c:7199-7310 and bsd/kern/kern_memorystatus.c:4949-4990).
 *
 * Where and how often: the monitor thread calls zt_jetsam_check() every
 * ZT_JETSAM_PERIOD_NS (10 ms, its sleep slice), whatever
 * ZONETRACE_MONITOR_MS is; a check is one read of /proc/self/statm
 * (8.4 µs measured), so under 0.1 % of a core. Nothing is added to the allocation path.
 *
 * Overshoot bound: a program whose footprint grows at R bytes/s is seen at
 * most one period plus one read late, so the footprint recorded at the kill
 * is at most limit + R × (10 ms + scheduling delay of the monitor thread);
 * 1 GB/s of fresh touched pages gives ~10 MB past the limit. Measured
 * (tests/scenarios/test_jetsam.sh): 0.5-1.7 MiB past a 64 MiB limit at
 * 1000 MiB/s; 1.6-2.9 MiB past 256 MiB growing as fast as memset can. The process
 * keeps running while the record is completed (the zone walk, ~ms), so
 * the kernel's last figure may be a little higher than the recorded one.
 * The zone's own committed bytes (va.c) would tighten the estimate between
 * reads only if checked on the allocation path, which the house does not
 * allow; and memory the program maps itself is invisible to the zone, so
 * the statm read is the measure.
 *
 * Without a monitor thread (ZONETRACE_MONITOR_MS=0, or no record) there is
 * no jetsam check.
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "internal.h"
#include "profile.h"
#include "va.h"
#include "zonetrace.h"

#include <string.h>

#define MiB (1ull << 20)

static void (*handler_fn)(void *ctx, uint64_t footprint_bytes, uint64_t limit_bytes);
static void *handler_ctx;

static int mode = -1; /* enum zt_rec_jetsam_mode once configured */
static uint64_t limit_bytes, warning_bytes;
static int warning_signal;
static bool warned; /* above the warning level since the last warning */

ZT_EXPORT void zt_set_memory_warning_handler(void (*fn)(void *ctx, uint64_t footprint_bytes,
                                                        uint64_t limit_bytes),
                                             void *ctx)
{
    __atomic_store_n(&handler_ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&handler_fn, fn, __ATOMIC_RELEASE);
}

uint64_t zt_jetsam_warning_level(uint64_t limit, bool explicit_limit)
{
    /* xnu-11417 osfmk/kern/task.c:1032-1075 (and :431, :7602): 80 % of an explicit limit; for the
     * default limit the higher of 80 % and limit - 100 MB. */
    uint64_t pct = limit / 5 * 4;
    if (explicit_limit || limit < 100 * MiB) return pct;
    uint64_t less = limit - 100 * MiB;
    return less > pct ? less : pct;
}

/* From the options and the active profile, once (monitor thread). */
static void configure(void)
{
    const zt_profile_t *p = &zt_active_profile;
    bool explicit_limit = zt_options.memory_limit != 0;
    limit_bytes = p->memory_limit_bytes;
    const char *m = zt_options.jetsam ? zt_options.jetsam : "auto";
    if (strcmp(m, "off") == 0 || limit_bytes == 0)
        mode = ZT_REC_JETSAM_OFF;
    else if (strcmp(m, "warn") == 0)
        mode = ZT_REC_JETSAM_WARN;
    else
        mode = ZT_REC_JETSAM_KILL; /* kill, or auto with a limit */
    warning_bytes = limit_bytes ? zt_jetsam_warning_level(limit_bytes, explicit_limit) : 0;
    warning_signal =
        zt_options.warning_signal ? zt_prim_signal_number(zt_options.warning_signal) : 0;
    zt_rec_header_t *h = zt_rec.hdr;
    h->jetsam_limit_bytes = limit_bytes;
    h->jetsam_warning_bytes = warning_bytes;
    h->jetsam_mode = (uint32_t)mode;
    h->jetsam_explicit = explicit_limit;
}

/* The stack with the most live bytes (0 = none). */
static uint32_t top_stack(void)
{
    uint32_t best = 0;
    uint64_t best_live = 0;
    uint32_t n = __atomic_load_n(&zt_rec.hdr->nstacks, __ATOMIC_ACQUIRE);
    for (uint32_t id = 1; id <= n; id++) {
        uint64_t live = zt_account_stack_live_bytes(id);
        if (live > best_live) best_live = live, best = id;
    }
    return best;
}

static void warn(uint64_t footprint)
{
    zt_rec_event_t ev = {.time_ns = zt_record_now_ns(),
                         .type = ZT_EV_MEMORY_WARNING,
                         .zone = -1,
                         .stack_id = top_stack(),
                         .size = limit_bytes,
                         .value = footprint};
    zt_record_event(&ev);
    /* Called on this thread, which holds no allocator lock: the handler
     * may free (and allocate), as didReceiveMemoryWarning may. */
    void (*fn)(void *, uint64_t, uint64_t) = __atomic_load_n(&handler_fn, __ATOMIC_ACQUIRE);
    if (fn) fn(__atomic_load_n(&handler_ctx, __ATOMIC_RELAXED), footprint, limit_bytes);
    if (warning_signal > 0) zt_prim_signal_self(warning_signal);
}

void zt_jetsam_check(void)
{
    if (!zt_rec_open) return;
    if (mode < 0) configure();
    if (mode == ZT_REC_JETSAM_OFF) return;
    uint64_t footprint;
    if (!zt_va_phys_footprint(&footprint)) return;
    zt_rec_header_t *h = zt_rec.hdr;
    if (footprint > h->peak_footprint_bytes) h->peak_footprint_bytes = footprint;
    if (footprint >= warning_bytes) {
        if (!warned) {
            warned = true;
            warn(footprint);
            /* The handler may have freed: judge the limit on a new read. */
            if (!zt_va_phys_footprint(&footprint)) return;
        }
    } else {
        warned = false; /* below again: the next crossing warns again */
    }
    if (footprint > limit_bytes && mode == ZT_REC_JETSAM_KILL)
        zt_crash_jetsam(footprint, limit_bytes);
}

void zt_jetsam_fork_child(void)
{
    warned = false;
    mode = -1;
}
