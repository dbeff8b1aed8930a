/* ----------------------------------------------------------------------------
 * internal.h — the profiler's modules and how they fit (internal).
 *
 *   hooks.c    the hook table the zone calls (zt_hooks_linked, zone/hooks.h);
 *              decides what to sample, owns the per-thread "in profiler" flag
 *              and the lazy start
 *   capture.c  stack capture (frame pointers or libunwind), own-frame skip
 *   stacktab.c frames → XXH3 → lock-free lookup → dense 32-bit id
 *   account.c  counters per (stack), (stack, zone), (zone, class)
 *   record.c   the MAP_SHARED record file (profiler/record_format.h)
 *   snapshot.c walks: regions, address-space charge, modules, va map
 *   monitor.c  footprint thread, cgroup limit, PSI
 *   crash.c    fatal signals, exit and the jetsam kill
 *   jetsam.c   footprint against the device's limit: warning, kill
 *
 * Nothing here calls malloc: memory comes from the record file mapping or
 * zt_prim_map. All of it is inert until zt_record_open() succeeded.
 * -------------------------------------------------------------------------- */
#ifndef ZT_PROFILER_INTERNAL_H
#define ZT_PROFILER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "record_format.h"
#include "zone.h"
#include "prim/prim.h"

/* ---- capture.c ----------------------------------------------------------- */

enum zt_unwind { ZT_UNWIND_FP = 0, ZT_UNWIND_LIBUNWIND = 1 };

/* Choose the unwinder; find our own text (for the own-frame skip) once.
 * May run inside malloc: it loads nothing. libunwind is used once
 * zt_capture_load has run (frame pointers until then). */
void zt_capture_init(enum zt_unwind how);

/* Load the chosen unwinder if it is libunwind (Linux: dlopen of the nongnu
 * libunwind; Apple: libSystem's, nothing to load). The loader allocates:
 * call from a constructor, never from inside malloc. False (and a message)
 * if it cannot be loaded: capture stays on frame pointers. */
bool zt_capture_load(void);

/* Capture up to max return addresses of the calling thread, innermost
 * first, skipping `skip` frames and then every leading frame inside the
 * library's own text (when the library is a separate module). */
unsigned zt_capture(uint64_t *pcs, unsigned max, unsigned skip);

/* The nongnu libunwind's unw_backtrace once it is loaded and chosen, else
 * NULL; and the library's own text (0, 0 when it is the main program).
 * The full-mode alloc hook calls it from its own frame (hooks.c), so the
 * unwinder walks two frames fewer than through zt_capture. */
extern int (*zt_capture_backtrace)(void **buf, int max);
extern uintptr_t zt_capture_own_lo, zt_capture_own_hi;

/* Frame-pointer walk from fp, reading only inside [lo, hi) (the stack):
 * stops on a frame that is not strictly above the previous one, misaligned,
 * or out of bounds. Never faults. */
unsigned zt_capture_fp_walk(uint64_t *pcs, unsigned max, uintptr_t fp, uintptr_t lo, uintptr_t hi);

/* The calling thread's stack bounds, cached per thread; never allocates
 * (main thread: __libc_stack_end). False if unknown. */
bool zt_capture_stack_bounds(uintptr_t *lo, uintptr_t *hi);

/* Stack of a faulting thread from its signal context (pc first). */
unsigned zt_capture_fault(const zt_prim_fault_t *f, uint64_t *pcs, unsigned max);

/* True if pc lies in the library's own text (false when we are linked into
 * the main program). */
bool zt_capture_pc_is_own(uintptr_t pc);

/* ---- stacktab.c ---------------------------------------------------------- */

/* Id of a stack, interning it if new (0 on failure: no record, file full).
 * Lookups are lock-free; a new stack takes the table's insert lock. With
 * may_block false (signal handlers) a busy lock returns 0. */
uint32_t zt_stacktab_intern(const uint64_t *pcs, unsigned n, bool may_block);

/* The record's hash of the frames: low 64 bits of their XXH3-128. */
uint64_t zt_stacktab_hash(const uint64_t *pcs, unsigned n);

/* Forget the in-memory index (after the record was reset); the next intern
 * rebuilds it from the record's entries. */
void zt_stacktab_reset(void);
void zt_stacktab_fork_child(void);

/* ---- record.c ------------------------------------------------------------ */

typedef struct zt_record_info {
    const char *path; /* file to create */
    int stacks_mode;  /* ZT_STACKS_* */
    uint64_t sample_bytes;
    const char *unwind;
    unsigned depth;
    unsigned monitor_ms;
    const char *device;
    uint64_t page_bytes, ram_bytes, va_limit_bytes;
    size_t max_bytes; /* address space reserved for the mapping (0 = default 4 GiB) */
} zt_record_info_t;

/* The open record: pointers into the mapping (stable: the file is mapped at
 * a fixed place inside a reservation and only grows in place). */
typedef struct zt_record {
    int fd;
    uint8_t *base;
    size_t reserve_bytes;  /* reserved address space at base */
    uint64_t mapped_bytes; /* file mapped at [base, base+mapped_bytes) */
    zt_rec_header_t *hdr;
    zt_lock_t lock;    /* file growth and block allocation */
    uint64_t start_ns; /* monotonic start */
    zt_rec_stack_t *stack_chunk[ZT_REC_MAX_CHUNKS];
    zt_rec_zone_t *zone[ZT_REC_MAX_ZONES]; /* zone blocks (header.zones_off) */
    zt_rec_counters_t *zone_stack_chunk[ZT_REC_MAX_ZONES][ZT_REC_MAX_CHUNKS];
    zt_rec_counters_t *class_chunk[ZT_REC_MAX_ZONES][ZT_REC_CLASS_CHUNKS];
    zt_rec_event_t *event_chunk[ZT_REC_EVENT_CHUNKS];
    zt_rec_sample_t *timeline_chunk[ZT_REC_TIMELINE_CHUNKS];
    char path[1024];
} zt_record_t;

extern zt_record_t zt_rec;
extern int zt_rec_open; /* 1 while zt_rec is usable */

/* Create and map the record file; fills the header. False (with a message
 * printed) on failure. Never allocates with malloc. */
bool zt_record_open(const zt_record_info_t *info);

/* Unmap and close (tests; the runtime keeps its record until exit). */
void zt_record_close(void);

/* Bump-allocate `bytes` (rounded to 8) zeroed bytes in the file; returns the
 * offset (0 on failure) and the pointer. Takes the record lock unless the
 * caller holds it (locked = true). */
uint64_t zt_record_alloc(size_t bytes, void **ptr, bool locked);

/* Entry of stack id (1-based), allocating its chunk when `create`. The
 * common case (chunk present) is inline: every profiled malloc and free
 * counts into the entry. */
zt_rec_stack_t *zt_record_stack_slow(uint32_t id, bool create);
static inline zt_rec_stack_t *zt_record_stack(uint32_t id, bool create);

/* Counters of (stack id, zone index), allocating when `create`. The common
 * case (chunk present) is inline: it is on every profiled malloc and free. */
zt_rec_counters_t *zt_record_zone_stack_slow(unsigned zone, uint32_t id, bool create);
static inline zt_rec_counters_t *zt_record_zone_stack(unsigned zone, uint32_t id, bool create);

/* Zone z's block, made on first use (by whichever comes first: its
 * registration or a count for it); NULL when the file is full. */
zt_rec_zone_t *zt_record_zone_block(unsigned z);

/* Register zone index z (name, address): makes its block, counts it in
 * nzones. */
bool zt_record_zone(unsigned z, const char *name, uint64_t address);

/* Copy a zone's name again (bounded; the name is a string in the process). */
void zt_record_zone_name(unsigned z, const char *name);

/* Counters of class cls in zone z, making their chunk on first use (NULL
 * when the file is full or z or cls is out of range). The common case is
 * inline: it is on every profiled malloc and free. */
zt_rec_counters_t *zt_record_class_slow(unsigned z, unsigned cls);
static inline zt_rec_counters_t *zt_record_class(unsigned z, unsigned cls)
{
    if (cls >= ZT_REC_CLASSES || z >= ZT_REC_MAX_ZONES) return NULL;
    zt_rec_counters_t *c =
        __atomic_load_n(&zt_rec.class_chunk[z][cls / ZT_REC_CLASS_CHUNK], __ATOMIC_ACQUIRE);
    return zt_likely(c != NULL) ? c + cls % ZT_REC_CLASS_CHUNK : zt_record_class_slow(z, cls);
}

/* Write a snapshot section (regions, charges, modules...) and publish it at
 * *slot. Returns false if the file cannot grow. */
bool zt_record_section(uint64_t *slot, uint32_t type, uint64_t count, const void *records,
                       size_t record_bytes, const void *tail, size_t tail_bytes);

/* The same into a fresh block, never reused (a moment written once). */
bool zt_record_section_once(uint64_t *slot, uint32_t type, uint64_t count, const void *records,
                            size_t record_bytes, const void *tail, size_t tail_bytes);

/* Append an event (any thread, lock-free). */
void zt_record_event(const zt_rec_event_t *ev);

/* Append a timeline sample (monitor thread only). */
void zt_record_sample(const zt_rec_sample_t *s);

/* Record termination (exit or signal) and sync the file. */
void zt_record_terminate(const zt_rec_term_t *t);

void zt_record_sync(bool wait);

/* Nanoseconds since the record was opened. */
uint64_t zt_record_now_ns(void);

/* Fork child: stop writing into the parent's file; reopen_child() copies the
 * mapping into `path` and maps it in place. */
void zt_record_fork_prepare(void);
void zt_record_fork_parent(void);
void zt_record_fork_child(void);
bool zt_record_reopen_child(const char *path);

static inline zt_rec_stack_t *zt_record_stack(uint32_t id, bool create)
{
    if (zt_likely(id != 0)) {
        uint64_t within;
        unsigned k = zt_rec_chunk_of(id - 1, &within);
        zt_rec_stack_t *chunk = __atomic_load_n(&zt_rec.stack_chunk[k], __ATOMIC_ACQUIRE);
        if (zt_likely(chunk != NULL)) return chunk + within;
    }
    return zt_record_stack_slow(id, create);
}

static inline zt_rec_counters_t *zt_record_zone_stack(unsigned zone, uint32_t id, bool create)
{
    if (zt_likely(id != 0 && zone < ZT_REC_MAX_ZONES)) {
        uint64_t within;
        unsigned k = zt_rec_chunk_of(id - 1, &within);
        zt_rec_counters_t *chunk =
            __atomic_load_n(&zt_rec.zone_stack_chunk[zone][k], __ATOMIC_ACQUIRE);
        if (zt_likely(chunk != NULL)) return chunk + within;
    }
    return zt_record_zone_stack_slow(zone, id, create);
}

/* ---- account.c ----------------------------------------------------------- */

/* Zone index of a zone (registering it when first seen); -1 if the table
 * is full. */
int zt_account_zone_index(malloc_zone_t *zone);

/* Zones seen so far (hooks before the record existed included). */
void zt_account_zone_created(malloc_zone_t *zone);
/* Copy the zones seen so far into the record (after zt_record_open). */
void zt_account_publish_zones(void);

/* Counter updates; blocks/bytes are weights (1 and the block size in full
 * mode, estimates in sample mode). */
void zt_account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes);
/* True once updates use atomic adds for good (two threads counted at the
 * same time); false while one thread at a time counts with plain stores.
 * Test support. */
bool zt_account_atomic_mode(void);
void zt_account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes);
/* The same by zone pointer (the hooks: one call instead of two). */
void zt_account_alloc_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                         uint64_t bytes, uint64_t requested_bytes);
/* temp: the block was a temporary allocation (freed by its thread with no
 * allocation of that thread in between), counted in the same update. */
void zt_account_free_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                        uint64_t bytes, bool temp);

/* Live bytes of a stack over all zones (the sum of its per-zone counters). */
uint64_t zt_account_stack_live_bytes(uint32_t id);

/* Live heap bytes over all zones (exact, for the timeline). */
uint64_t zt_account_live_bytes(void);
/* Live heap bytes and blocks over all zones (exact; the moments). */
void zt_account_heap_live(uint64_t *bytes, uint64_t *blocks);

/* Copy the current names of the zones in live[] (registered zones) into
 * the record. */
void zt_account_refresh_zone_names(malloc_zone_t *const *live, unsigned nlive);

/* Fork child: only the calling thread's shard stays claimed. */
void zt_account_fork_child(void);

/* ---- sampling (hooks.c) --------------------------------------------------- */

/* Weight of a sampled block of `bytes` with mean interval `mean`: 1/p with
 * p = 1 - exp(-bytes/mean), in 1/65536 units (so weights stay integers). */
uint64_t zt_sample_weight_q16(uint64_t bytes, uint64_t mean);
double zt_sample_ln(double x);

/* ---- snapshot.c ---------------------------------------------------------- */

/* Refresh the header's address-space figures, and with ZT_SNAP_WALK the
 * region table and charges (walks every zone: not from a crash inside the
 * allocator, whose locks may be held), with ZT_SNAP_MODULES the module list
 * (dl_iterate_phdr: not from a signal handler). Skipped if one is running. */
enum { ZT_SNAP_WALK = 1, ZT_SNAP_MODULES = 2 };
void zt_snapshot(int flags);
/* zt_snapshot for the process's last word (exit): waits up to wait_ns for a
 * snapshot another thread is taking (the monitor's, once a second) instead
 * of giving up, which left a short program's record with no end moment and
 * no module table when its exit met the monitor's first snapshot. Not for a
 * signal handler: the interrupted thread may hold the lock. */
void zt_snapshot_wait(int flags, uint64_t wait_ns);

/* Moments (FORMAT.md §1.5). A walking snapshot also writes the END moment,
 * any failure moment still pending and a peak moment when a peak passed
 * the stored one by the step. */
/* A NULL return or region map failure (ev as recorded): claims the first
 * failure (and the zone's first) and, when may_walk (the caller holds no
 * allocator lock), takes their moments now; otherwise the next walking
 * snapshot (the monitor, within its 10 ms slice) takes them. */
void zt_snapshot_failure(const zt_rec_event_t *ev, bool may_walk);
/* Monitor, every slice: a walking snapshot if a moment is due (a peak
 * moment only when `peaks`: the monitor's walk budget allows it; failure
 * moments always). True if it walked. */
bool zt_snapshot_moments_due(bool peaks);
/* The step above the stored peak that refreshes a peak moment. */
uint64_t zt_snapshot_peak_step(uint64_t stored_bytes);

/* ---- monitor.c / crash.c ------------------------------------------------- */

void zt_monitor_start(void);      /* once, outside malloc */
void zt_monitor_fork_child(void); /* the thread is gone */
void zt_monitor_request_snapshot(void);
void zt_monitor_tick(void); /* one sample (tests call it directly) */
/* From a fatal-signal handler: have the monitor thread take a walking
 * snapshot, waiting at most wait_ns. False if there is no monitor (or we
 * are it) or it did not finish in time (a lock held by the crashed thread). */
bool zt_monitor_crash_snapshot(uint64_t wait_ns);

void zt_crash_install(void); /* fatal handlers + on_exit, outside malloc */
/* The jetsam kill: complete the record (termination SIGKILL, the footprint
 * and limit, a walking snapshot), then SIGKILL this process. Never returns
 * unless the run already ended. Monitor thread only. */
void zt_crash_jetsam(uint64_t footprint_bytes, uint64_t limit_bytes);

/* ---- freed.c ------------------------------------------------------------- */

struct zt_event; /* zone/hooks.h */

/* Map the table of recently freed blocks (once, at start-up). */
void zt_freed_init(void);
/* A tagged block is being freed: remember its allocating stack and the
 * caller of free (zt_error_caller), by pointer. */
void zt_freed_note(const void *ptr, size_t bytes, uint32_t tag);
/* The zone refused a free (ZT_EV_BAD_FREE): fill the record event's
 * BAD_FREE fields (record_format.h); with_stacks: may intern the first
 * free's caller as a stack. */
void zt_freed_fill(zt_rec_event_t *r, const struct zt_event *ev, bool with_stacks);
/* Say it on stderr, in words, naming the allocation and the first free. */
void zt_freed_say(const zt_rec_event_t *r);

/* ---- jetsam.c ------------------------------------------------------------ */

#define ZT_JETSAM_PERIOD_NS (10u * 1000000u) /* the monitor's sleep slice */
/* One check of the footprint against the warning level and the limit
 * (monitor thread, every ZT_JETSAM_PERIOD_NS). */
void zt_jetsam_check(void);
void zt_jetsam_fork_child(void);
/* xnu's warning level: 80 % of an explicit limit; max(80 %, limit - 100 MB)
 * of a device's default limit. */
uint64_t zt_jetsam_warning_level(uint64_t limit, bool explicit_limit);
void zt_crash_exit(int status); /* what the on_exit handler does */

#endif /* ZT_PROFILER_INTERNAL_H */
