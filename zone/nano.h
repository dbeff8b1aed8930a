/* ----------------------------------------------------------------------------
 * nano.h — nano v2 (reference/libmalloc.md §2.7): the default zone for
 * requests <= 256 B on profiles with nano, fronting a scalable helper zone.
 *
 * 512 MiB regions of 8 arenas × 4096 blocks × 16 KiB; one size class per
 * block by the per-class unit split; per-CPU current block per class taken
 * by CAS on a 32-bit block header; when a class cannot find a block it is
 * delegated (sticky) to the helper, released when a non-current block
 * reaches >= 75 % free. Never returns NULL by itself. The nano zone is a
 * complete malloc_zone_t ("DefaultMallocZone", version 10); requests it does
 * not serve (> 256 B, memalign, valloc, delegated classes) go to the helper.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_H
#define ZT_NANO_H

#include "zone.h"
#include "sizeclass.h"
#include "tcache.h"

/* Create the nano zone in front of `helper` (a scalable zone). Reserves the
 * first region; returns NULL ("nano zone abandoned") if that fails, and the
 * caller makes the helper the default zone. */
malloc_zone_t *zt_nano_create(malloc_zone_t *helper, const zt_profile_t *p);

/* Free ptr, whose chunk-map owner `o` is a nano region (o->kind NANO): the
 * front end's free fast path, the same as o->zone->free(o->zone, ptr)
 * without the indirect call and the second chunk-map lookup. */
void zt_nano_free_owned(zt_owner_t *o, void *ptr);

/* The front's cache hits (nano/alloc.c, front/linux.c). zt_nano_front_zone
 * is the nano zone owning the thread caches and zt_nano_front_id its cache
 * id (NULL / 0: none, or a fork child). For that zone, with no
 * malloc_logger and no profiler: zt_nano_malloc_hit is a cached block of
 * `size` (<= ZT_NANO_MAX_BYTES) or NULL; zt_nano_free_hit frees ptr (its
 * chunk-map owner o a nano region) into the cache, or returns false. NULL /
 * false leave everything as it was for the ordinary path. */
ZT_HIDDEN extern malloc_zone_t *zt_nano_front_zone;
ZT_HIDDEN extern uint32_t zt_nano_front_id;
/* Tests only (nano/alloc.c): called while a refill holds a block's free
 * slots, NULL otherwise. */
ZT_HIDDEN extern void (*volatile zt_nano_hold_hook)(uintptr_t blk);
bool zt_nano_free_hit(zt_owner_t *o, void *ptr);
/* A hit of `size` bytes that the sampling countdown picked: tag it as the
 * ordinary path would have (out of line: one allocation in many). */
void zt_nano_front_sampled(void *p, size_t size);

/* A pop and a store: the slot's first word is its free guard (nano.c),
 * 0 while it is allocated. */
static inline void *zt_nano_malloc_hit(size_t size)
{
    zt_tcache_t *tc = zt_tcache_self;
    unsigned cls = (unsigned)(size - 1) >> ZT_NANO_QUANTUM_SHIFT; /* size 0: the caller's */
    void *p;
    if (zt_unlikely(tc == NULL) || tc->sec[ZT_TCACHE_NANO].id != zt_nano_front_id ||
        !zt_tcache_pop(&tc->sec[ZT_TCACHE_NANO], cls, ZT_TCACHE_SLOTS, &p))
        return NULL;
    *(uint64_t *)p = 0; /* live again */
    return p;
}

/* The device front (nano/alloc.c): zt_nano_malloc_fn is the nano zone's
 * malloc. For a nano zone whose malloc it is and which owns no thread
 * caches, zt_nano_device_alloc(zone, cls) is the block of class cls (a
 * request of 1..256 B) that zone->malloc would return, or NULL when the
 * class is delegated (zone->malloc then asks the helper). */
ZT_HIDDEN extern void *(*const zt_nano_malloc_fn)(malloc_zone_t *, size_t);
void *zt_nano_device_alloc(malloc_zone_t *zone, unsigned cls);
/* For a nano region o while no zone owns the caches: what the front's
 * free_slow does for it (caller noted, errno kept, zt_nano_free_owned). */
void zt_nano_device_free(zt_owner_t *o, void *ptr, const void *caller);

/* True if ptr lies in a nano region of this process (any state). */
bool zt_nano_contains(const void *ptr);

/* Test support: bytes one class can hold (slots × size over its blocks in
 * one region), and whether the class is currently delegated. */
size_t zt_nano_class_capacity_bytes(malloc_zone_t *nano, unsigned cls);
bool zt_nano_class_delegated(malloc_zone_t *nano, unsigned cls);

/* Heap walk of the nano region(s) only (the helper is walked separately). */
void zt_nano_walk(malloc_zone_t *nano, const zt_walker_t *w);

#endif /* ZT_NANO_H */
