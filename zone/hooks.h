/* ----------------------------------------------------------------------------
 * hooks.h — the zone's hook interface: what it tells an observer (the
 * profiler) about its blocks, its zones and rare events.
 *
 * The zone owns this interface and its state (zone/hooks.c); an observer
 * only fills in a zt_hooks_t table. The zone calls zt_hook_alloc /
 * zt_hook_free behind one `if (zt_profiling)` test, outside its locks, and
 * keeps the returned 32-bit tag (the stack id; 0 = not sampled) in side
 * metadata it owns: never inside the block, never inside an emulated window.
 * Events are rare and always reported; an observer may drop them. None of
 * these allocate with malloc.
 *
 * Which table: every binary that links the zone links exactly one
 * definition of zt_hooks_linked: profiler/hooks.c's in libzonetrace,
 * zone/hooks_none.c's (no observer) in a zone linked alone. It is bound at
 * link time, not installed by a constructor, because the first malloc (and
 * with it zt_init and its zone_created and init hooks) can come from another
 * library's constructor before ours run. zt_hooks_install replaces it at run
 * time (tests).
 *
 * Cost: zt_profiling 0 (no observer, or stacks off) is one load and a
 * predicted branch per allocation. The table is reached only for tagged
 * blocks, sampled allocations and events: a direct call to the wrapper here,
 * then one load and an indirect jump into the observer.
 * -------------------------------------------------------------------------- */
#ifndef ZT_HOOKS_H
#define ZT_HOOKS_H

#include "zone.h"

/* Non-zero while allocations should be tagged: ZT_PROFILING_FULL (every
 * block) or ZT_PROFILING_SAMPLE (ZONETRACE_STACKS=sample: the countdown
 * picks them); set by the observer, 0 while there is none. The value lets
 * the Linux front decide its cache hits from this one load. */
#define ZT_PROFILING_FULL   1
#define ZT_PROFILING_SAMPLE 2
extern int zt_profiling;

/* A block of `bytes` (its block size, not the request) and class `cls` was
 * allocated in `zone`. Returns the tag to store with the block. In sample
 * mode the common case (not sampled) is one thread-local subtraction, inline
 * here so the zone pays no call for it. The countdown must stay <= 0 unless
 * zt_profiling is ZT_PROFILING_SAMPLE (zt_hook_unsampled). */
extern __thread int64_t zt_hook_sample_countdown __attribute__((tls_model("initial-exec")));

/* The request size of the allocation in progress on this thread, noted by
 * the malloc family's entry points (front/linux.c, zone_api.c) while
 * zt_profiling, and taken (then zeroed) by the profiler's alloc hook: the
 * racks only know block sizes. 0 = unknown. */
extern __thread size_t zt_hook_request_bytes __attribute__((tls_model("initial-exec")));
#define ZT_HOOK_NOTE_REQUEST(n)                                                                    \
    do {                                                                                           \
        if (zt_unlikely(zt_profiling)) zt_hook_request_bytes = (n);                                \
    } while (0)
uint32_t zt_hook_alloc_slow(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls);

/* True when an allocation of `bytes` is not sampled: the zone may then skip
 * the hook and its tag bookkeeping altogether. Counts the bytes towards the
 * next sample, so call it exactly once per allocation, and only while
 * zt_profiling (every caller tests it first). Without sampling (full mode,
 * or an observer that tags everything) the countdown starts at 0 and only
 * falls, so every allocation is taken; the profiler's full mode sets it
 * back to 0 in its hook so it cannot wrap. No test of the mode here: that
 * was a load and a branch more per sampled-mode allocation. */
static inline bool zt_hook_unsampled(size_t bytes)
{
    int64_t left = zt_hook_sample_countdown - (int64_t)bytes;
    zt_hook_sample_countdown = left;
    return zt_likely(left > 0);
}

static inline uint32_t zt_hook_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    return zt_hook_unsampled(bytes) ? 0 : zt_hook_alloc_slow(zone, ptr, bytes, cls);
}

/* The one test an allocation site makes before tagging a block of `bytes`:
 * profiling is on and (sample mode) this allocation is sampled. False costs
 * one load and a predicted branch. Call it exactly once per allocation. */
static inline bool zt_hook_wanted(size_t bytes)
{
    return zt_unlikely(zt_profiling) && !zt_hook_unsampled(bytes);
}

/* A block tagged `tag` is being freed (called before or after the zone's
 * free; the block's memory is not read). tag 0 is ignored. */
void zt_hook_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag);

/* The one spelling of a free site: only tagged blocks reach the observer. */
static inline void zt_hook_freed(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls,
                                 uint32_t tag)
{
    if (zt_unlikely(tag != 0)) zt_hook_free(zone, ptr, bytes, cls, tag);
}

enum zt_event_type {
    ZT_EV_NANO_DELEGATED = 1, /* nano class full: its requests go to the helper */
    ZT_EV_NANO_RELEASED = 2,  /* delegation cleared (a spare block is >= 75 % free) */
    ZT_EV_MAP_FAILED = 3,     /* a region or large block could not be mapped */
    ZT_EV_NULL_RETURNED = 4,  /* an allocation returned NULL */
    ZT_EV_VA_HIGH_WATER = 5,  /* heap address space reached a new high (in 64 MiB steps) */
    ZT_EV_PROCESS_END = 6,    /* exit or fatal signal (written by the profiler itself) */
    ZT_EV_LIMIT = 7,          /* memory limit (cgroup memory.max) seen or changed */
    ZT_EV_PRESSURE = 8,       /* memory pressure (PSI) rose */
    ZT_EV_MEMORY_WARNING = 9, /* footprint crossed the jetsam warning level (value: footprint,
                               * size: the limit, stack_id: the stack with most live bytes) */
    ZT_EV_BAD_FREE = 10,      /* free/realloc of a pointer the zone refused (error.c): value =
                               * the pointer, cls = enum zt_bad_free, kind = the allocator that
                               * found it (-1 unknown); the observer adds the rest */
};

typedef struct zt_event {
    uint32_t type;              /* enum zt_event_type */
    uint32_t cls;               /* size class (NULL_RETURNED, NANO_*) */
    int32_t kind;               /* enum zt_kind (MAP_FAILED, NULL_RETURNED) */
    uint32_t stack_id;          /* filled by the profiler (NULL_RETURNED, NANO_DELEGATED) */
    malloc_zone_t *zone;        /* zone concerned, may be NULL */
    uint64_t size;              /* request size / region size */
    uint64_t align;             /* alignment needed (MAP_FAILED) */
    uint64_t va_used, va_limit; /* heap address space at the time */
    uint64_t largest_free, largest_aligned; /* MAP_FAILED: holes */
    uint64_t value; /* LIMIT/PRESSURE: bytes or PSI avg10 × 100; MEMORY_WARNING: footprint */
} zt_event_t;

void zt_hook_event(const zt_event_t *ev);

/* A zone was created (after its malloc_zone_t is filled in). */
void zt_hook_zone_created(malloc_zone_t *zone);

/* Called once at the end of zt_init(), after the default zones exist. */
void zt_hook_init(void);

/* ---- the observer's table ---------------------------------------------------
 * The zt_hook_* functions above are zone/hooks.c's thin wrappers over the
 * installed table, which must fill in every entry (a no-op where it has
 * nothing to do) and stay constant while installed. alloc is called for
 * an allocation the zone wants tagged (zt_profiling set and, when sampling,
 * its countdown ran out), free only for tag != 0. An observer turns tagging
 * on by setting zt_profiling (ZT_PROFILING_FULL or _SAMPLE) from its init. */
typedef struct zt_hooks {
    uint32_t (*alloc)(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls);
    void (*free)(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag);
    void (*event)(const zt_event_t *ev);
    void (*zone_created)(malloc_zone_t *zone);
    void (*init)(void);
} zt_hooks_t;

/* The table linked in (see the top of this file). */
extern const zt_hooks_t zt_hooks_linked;

/* Route the hooks to `hooks` from now on (NULL: back to zt_hooks_linked).
 * Not synchronised with hooks running on other threads: install before
 * they start, or only swap tables that tolerate each other's tags. */
void zt_hooks_install(const zt_hooks_t *hooks);

#endif /* ZT_HOOKS_H */
