/* ----------------------------------------------------------------------------
 * hooks.h — the only interface from the zone to the profiler.
 *
 * The zone calls zt_hook_alloc / zt_hook_free behind one `if (zt_profiling)`
 * test, outside its locks, and keeps the returned 32-bit tag (the stack id;
 * 0 = not sampled) in side metadata it owns: never inside the block, never
 * inside an emulated window. Events are rare and always reported; the
 * profiler drops them when no record file is open. Implemented in
 * profiler/hooks.c. None of these allocate with malloc.
 * -------------------------------------------------------------------------- */
#ifndef ZT_HOOKS_H
#define ZT_HOOKS_H

#include "zone.h"

/* Non-zero while allocations should be tagged (stacks full or sample). */
extern int zt_profiling;

/* A block of `bytes` (its block size, not the request) and class `cls` was
 * allocated in `zone`. Returns the tag to store with the block. In sample
 * mode the common case (not sampled) is one thread-local subtraction, inline
 * here so the zone pays no call for it. */
extern int zt_hook_sampling; /* ZONETRACE_STACKS=sample */
extern __thread int64_t zt_hook_sample_countdown __attribute__((tls_model("initial-exec")));
uint32_t zt_hook_alloc_slow(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls);

/* True when an allocation of `bytes` is not sampled (sample mode only): the
 * zone may then skip the hook and its tag bookkeeping altogether. Counts the
 * bytes towards the next sample, so call it exactly once per allocation. */
static inline bool zt_hook_unsampled(size_t bytes)
{
    if (!zt_hook_sampling) return false;
    int64_t left = zt_hook_sample_countdown - (int64_t)bytes;
    zt_hook_sample_countdown = left;
    return __builtin_expect(left > 0, 1);
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

/* The one spelling of a free site: only tagged blocks reach the profiler. */
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
    uint64_t value;                         /* LIMIT/PRESSURE: bytes or PSI avg10 × 100 */
} zt_event_t;

void zt_hook_event(const zt_event_t *ev);

/* A zone was created (after its malloc_zone_t is filled in). */
void zt_hook_zone_created(malloc_zone_t *zone);

/* Called once at the end of zt_init(), after the default zones exist. */
void zt_hook_init(void);

#endif /* ZT_HOOKS_H */
