/* ----------------------------------------------------------------------------
 * rack.h — tiny, small and medium allocation (libmalloc's magazine racks).
 *
 * One rack per size family per scalable zone. A rack has one magazine per
 * CPU (up to 64; ZONETRACE_MAX_MAGAZINES) plus a depot; allocation uses the
 * current CPU's magazine, a free goes to the magazine that owns the block's
 * region (region trailer mag_index, re-checked under the lock). Regions
 * recirculate to the depot under libmalloc's 75 % / 1.5-region rule; an
 * empty depot region is unmapped once the depot holds two. Regions come
 * from zt_va_map at their own size and alignment and are entered in the
 * chunk map with the rack as owner. Tags live in an out-of-band array per
 * region (mapped with zt_prim_map, only while profiling).
 * -------------------------------------------------------------------------- */
#ifndef ZT_RACK_H
#define ZT_RACK_H

#include "zone.h"
#include "tcache.h"

typedef struct zt_rack zt_rack_t; /* begins with zt_owner_t */

/* kind: ZT_KIND_TINY, _SMALL or _MEDIUM. nmag: magazines (1..64). */
zt_rack_t *zt_rack_create(malloc_zone_t *zone, enum zt_kind kind, unsigned nmag);

/* Unmap every region (malloc_destroy_zone). */
void zt_rack_destroy(zt_rack_t *r);

/* Allocate a block of class `cls` (a class of this rack's kind). NULL with
 * errno = ENOMEM when no region can be mapped. Zeroed if `clear`. Calls
 * zt_hook_alloc when zt_profiling. */
void *zt_rack_malloc(zt_rack_t *r, unsigned cls, bool clear);

/* Allocate `bytes` aligned to `align_bytes` (a power of two) when the span
 * bytes + align - 1, rounded up to quanta, fits the rack; the slack before and
 * after is freed back. NULL if it does not fit this rack or on ENOMEM. */
void *zt_rack_malloc_aligned(zt_rack_t *r, size_t bytes, size_t align_bytes, bool clear);

/* Up to `count` blocks of `bytes` from the current magazine's free lists and
 * bump tail only (never the depot, never a new region): libmalloc's
 * tiny_batch_malloc. Returns how many were stored in results. */
unsigned zt_rack_batch_malloc(zt_rack_t *r, size_t bytes, void **results, unsigned count);

/* Free ptr, which lies in a region of this rack (per the chunk map). A
 * pointer that is not the start of a live block is reported with
 * zt_error_bad_free (double free when it is the start of a free block). */
void zt_rack_free(zt_rack_t *r, void *ptr);

/* zt_rack_free for the front of a process where no rack owns the thread
 * caches (device profiles): what its free_slow does for a rack's pointer
 * (zt_error_caller = caller unless NULL, errno kept), in one call. */
void zt_rack_device_free(zt_rack_t *r, void *ptr, const void *caller);

/* Block size if ptr is the start of a live block of this rack, else 0.
 * Must not fault for any pointer inside the rack's chunks. */
size_t zt_rack_size(zt_rack_t *r, const void *ptr);

/* Resize a live block in place (shrink, or grow into the following free
 * block). Returns true if ptr now has room for new_bytes. Tags follow the
 * block (the profiler sees free(old size) + alloc(new size)). */
bool zt_rack_realloc_in_place(zt_rack_t *r, void *ptr, size_t new_bytes);

/* Heap walk (see zone.h). */
void zt_rack_walk(zt_rack_t *r, const zt_walker_t *w);

void zt_rack_statistics(zt_rack_t *r, malloc_statistics_t *stats);
size_t zt_rack_pressure_relief(zt_rack_t *r, size_t goal_bytes);
bool zt_rack_check(zt_rack_t *r);               /* consistency of free lists and regions */
void zt_rack_print(zt_rack_t *r, bool verbose); /* to stderr, no malloc */

/* Fork protocol: lock all magazines + depot; unlock; reinitialise locks. */
void zt_rack_force_lock(zt_rack_t *r);
void zt_rack_force_unlock(zt_rack_t *r);
void zt_rack_reinit_lock(zt_rack_t *r);
bool zt_rack_locked(zt_rack_t *r);

/* ---- the front's tiny cache hits (front/linux.c) ----------------------------
 * With no malloc_logger and no profiler. zt_rack_front_tiny is the tiny rack
 * owning the thread caches (NULL when none: device profiles, xzone
 * profiles before a scalable zone is made), zt_rack_front_zone its scalable
 * zone and zt_rack_front_id its cache id. zt_rack_tiny_malloc_hit is a cached
 * block for a request of `size` bytes (1 .. ZT_TINY_MAX_BYTES, which the
 * caller knows that zone routes to that rack) or NULL; zt_rack_tiny_free_hit
 * puts ptr (chunk-map owner zt_rack_front_tiny) in the thread's cache, or
 * returns false, leaving everything as it was for zt_rack_free, which makes
 * every error report. Both are what zt_rack_malloc / zt_rack_free do on a
 * cache hit, without the class lookup and without the rack's generic
 * geometry. */
#define ZT_RACK_TC_STRIDE       32           /* a rack section's bin capacity (tcache.h stride) */
#define ZT_RACK_TC_BUDGET_BYTES (256u << 10) /* a thread's cached bytes per rack */
ZT_HIDDEN extern zt_owner_t *zt_rack_front_tiny;
ZT_HIDDEN extern malloc_zone_t *zt_rack_front_zone;
ZT_HIDDEN extern uint32_t zt_rack_front_id;
bool zt_rack_tiny_free_hit(zt_owner_t *o, void *ptr);
/* A tiny hit of `size` bytes that the sampling countdown picked: tag it as
 * zt_rack_malloc would have (out of line: one allocation in many). */
void zt_rack_front_sampled(void *p, size_t size);

/* A pop and a store: a cached block's first word is its guard (rack.c), 0
 * while it is allocated; the section's byte count drops by the block's size. */
static inline void *zt_rack_tiny_malloc_hit(size_t size)
{
    zt_tcache_t *tc = zt_tcache_self;
    unsigned bin = (unsigned)(size - 1) >> ZT_TINY_QUANTUM_SHIFT; /* msize - 1 */
    void *p;
    if (zt_unlikely(tc == NULL) || tc->sec[ZT_TCACHE_TINY].id != zt_rack_front_id ||
        !zt_tcache_pop(&tc->sec[ZT_TCACHE_TINY], bin, ZT_RACK_TC_STRIDE, &p))
        return NULL;
    tc->sec[ZT_TCACHE_TINY].bytes -= (size_t)(bin + 1) << ZT_TINY_QUANTUM_SHIFT;
    __atomic_store_n((uint64_t *)p, 0, __ATOMIC_RELAXED); /* live again */
    return p;
}

/* Number of regions currently mapped (tests). */
unsigned zt_rack_region_count(zt_rack_t *r);

#endif /* ZT_RACK_H */
