/* ----------------------------------------------------------------------------
 * nano.c — nano v2 (reference/libmalloc.md §2.7): the default zone for
 * requests <= 256 B on profiles with nano, in front of a scalable helper.
 *
 * Layout. A region is 512 MiB aligned to 512 MiB (so every address below is
 * arithmetic on the pointer): 8 arenas × 4096 blocks × 16 KiB. Logical block
 * b of an arena belongs to the class whose units (64 blocks each) cover b;
 * logical block 0 is the arena's metadata block: 4096 32-bit block headers,
 * header of physical block p at index (p & 63) << 6 | p >> 6 so that the
 * headers of neighbouring blocks are >= 64 B apart. Physical = logical XOR
 * the ASLR cookie (kept 0: deterministic layouts).
 *
 * Block header (one 32-bit word, every transition one CAS):
 *   next_slot:11  1-based head of the in-block free list, or a state code
 *   free_count:10 free slots - 1
 *   gen_count:10  bumped by every transition (ABA guard for list pops)
 *   in_use:1      some CPU's current block (a policy hint, never a lock)
 * A free slot holds {guard = cookie ^ address, next_slot}; an allocated one
 * has guard 0, so size() tells live from free with one load. The last list
 * entry links to SLOT_BUMP (the untouched tail follows) or SLOT_FULL.
 *
 * Side metadata, never inside the region: per region a descriptor (the
 * chunk-map owner of the region's 512 chunks) holding each block's bump
 * high water (slots at or above it were never handed out in this life of
 * the block, so a free of one is rejected) and, while profiling, a lazily
 * mapped uint32 tag per 16 B of the region.
 *
 * Concurrency. Allocation: current_block[class][cpu & 63], one CAS on its
 * header (free-list pop or bump). When that block is exhausted the
 * (class, cpu) lock is taken and the class's blocks are scanned with
 * libmalloc's capacity policy; when no arena has a usable block and no arena
 * can be claimed the class is delegated (sticky) to the helper until a free
 * leaves a block that is not in use >= 75 % free. Free: one CAS pushing the
 * slot; an emptied block is reset (in use) or madvised (not in use). Locks:
 * class lock -> regions_lock; madvise_lock alone.
 *
 * Rooms: nano/layout.c (header words, addressing), nano/alloc.c (allocation,
 * free, tags, the per-thread cache front, regions), nano/delegate.c (madvise
 * and delegation), nano/walk.c (walker, enumerator), nano/introspect.c
 * (introspection), this file (the malloc_zone_t entry points, creation and
 * test support). One translation unit: the parts are #included below.
 * -------------------------------------------------------------------------- */
#define ZT_NANO_C /* its parts in nano/ check that they are included from here */
#include "nano.h"
#include "chunkmap.h"
#include "cpu.h"
#include "debug.h"
#include "error.h"
#include "hooks.h"
#include "introspect.h"
#include "tcache.h"
#include "va.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define NANO_BLOCK_SHIFT        14
#define NANO_BLOCK_BYTES        ((size_t)1 << NANO_BLOCK_SHIFT)
#define NANO_ARENA_SHIFT        26
#define NANO_ARENA_BYTES        ((size_t)1 << NANO_ARENA_SHIFT)
#define NANO_REGION_SHIFT       29
#define NANO_REGION_BYTES       ((size_t)1 << NANO_REGION_SHIFT)
#define NANO_ARENAS_PER_REGION  8
#define NANO_BLOCKS_PER_ARENA   4096
#define NANO_BLOCKS_PER_REGION  (NANO_ARENAS_PER_REGION * NANO_BLOCKS_PER_ARENA)
#define NANO_UNIT_BLOCKS        64
#define NANO_MAX_CURRENT_BLOCKS 64  /* 166.251+ */
#define NANO_MAX_REGIONS        128 /* 64 GiB of nano address space (ZT_NANO_MULTI) */
#define NANO_TAG_BYTES          ((NANO_REGION_BYTES >> ZT_NANO_QUANTUM_SHIFT) * sizeof(uint32_t))
#define NANO_NO_CLASS           0xFF
#define NANO_DEFER_MAX          256 /* bound of nano_defer_purge_blocks */

/* next_slot state codes */
#define SLOT_NULL        0
#define SLOT_LIST_MAX    0x7FA
#define SLOT_BUMP        0x7FB
#define SLOT_FULL        0x7FC
#define SLOT_CAN_MADVISE 0x7FD
#define SLOT_MADVISING   0x7FE
#define SLOT_MADVISED    0x7FF

/* Capacity-based scan policy (NANO_SCAN_CAPACITY_BASED defaults). */
#define SCAN_MIN_PERCENT_FREE      20
#define SCAN_MAX_PERCENT_FREE      80
#define SCAN_LIMIT_AFTER_CANDIDATE 10

static const char nano_zone_name[] = "DefaultMallocZone";

typedef struct nano_free_slot {
    uint64_t guard;     /* cookie ^ slot address while free, 0 while allocated */
    uint16_t next_slot; /* 1-based next free slot, SLOT_BUMP or SLOT_FULL */
} nano_free_slot_t;

struct nano;

/* What a region keeps per physical block, side by side so that the free
 * hit's two reads (the high water, then whether the block holds a tagged
 * slot) share one cache line and one index: 16 blocks per line.
 * - hw: the bump high water (hw_raise);
 * - tagged: the block's slots with a tag (sample mode; 0 while the region
 *   has no tag map). Invariant: tagged = the non-zero tags in the block. A
 *   tag is set by the allocating thread before the slot is handed out and
 *   taken by the free, which the program orders after the allocation, so
 *   relaxed atomics do. Before, the counts followed the tag map, one more
 *   dependent load (r->tags) and a NULL test on every free hit. */
typedef struct nano_block_word {
    uint16_t hw, tagged;
} nano_block_word_t;

typedef struct nano_region {
    zt_owner_t owner; /* {ZT_KIND_NANO, zone}: the chunk-map entry of the region */
    struct nano *nano;
    uintptr_t base;
    unsigned index; /* position in nano->regions: global arena = index * 8 + arena */
    uint32_t *tags; /* a tag per quantum, NANO_TAG_BYTES, mapped on the first tagged allocation */
    nano_block_word_t blk[NANO_BLOCKS_PER_REGION]; /* per physical block */
} nano_region_t;

/* What a walker needs to interpret a region (copied out through a reader). */
typedef struct nano_geom {
    uint64_t guard_cookie;
    unsigned aslr_cookie; /* 12 bits; physical block = logical ^ cookie */
    uint16_t slots[ZT_NANO_CLASSES];
    uint32_t magic[ZT_NANO_CLASSES]; /* slot index = (offset * magic) >> 32 */
    uint16_t class_first[ZT_NANO_CLASSES], class_end[ZT_NANO_CLASSES]; /* logical blocks */
} nano_geom_t;

typedef struct nano {
    zt_owner_t owner; /* {ZT_KIND_NANO, zone} */
    malloc_zone_t *zone;
    malloc_zone_t *helper;
    nano_geom_t g;
    uint32_t delegate_bits; /* bit per class: requests go to the helper */
    uint32_t tc_id;         /* non-zero while this zone owns the thread caches */
#if ZT_DEBUG
    uint32_t debug_ops; /* calls since the last whole check (debug.h) */
#endif
    bool multi;              /* more regions when all arenas are claimed */
    bool forked;             /* in a fork child: nano no longer used (nano_forked_zone) */
    unsigned arenas_claimed; /* global arenas 0..arenas_claimed-1 are committed */
    unsigned nregions;
    nano_region_t *regions[NANO_MAX_REGIONS];
    uint8_t block_class[NANO_BLOCKS_PER_ARENA]; /* logical block -> class */
    /* physical block -> class: block_class[phys ^ aslr_cookie], for the
     * free path's lookup without the cookie (slot_lookup); class 0 for the
     * metadata block, whose high water is always 0 (so idx < hw fails) */
    uint8_t block_class_phys[NANO_BLOCKS_PER_ARENA];
    zt_lock_t regions_lock, madvise_lock;
    /* Deferred purge (native only, profile nano_defer_purge_blocks; issue 15):
     * emptied blocks waiting for their madvise, oldest at defer_head, under
     * madvise_lock. An entry whose block was reused meanwhile is skipped
     * when it comes due (the madvise needs SLOT_CAN_MADVISE). */
    unsigned defer_max, defer_head, defer_count;
    bool batch_refill; /* native: a cache miss takes half a bin at once (tc_refill) */
    bool stagger;      /* native: a class's first block is class_first + cls (find_block) */
    uintptr_t defer_ring[NANO_DEFER_MAX];
    size_t map_bytes; /* zone page + this struct */
    uintptr_t current[ZT_NANO_CLASSES][NANO_MAX_CURRENT_BLOCKS] __attribute__((aligned(64)));
    zt_lock_t current_lock[ZT_NANO_CLASSES][NANO_MAX_CURRENT_BLOCKS];
} nano_t;

#include "nano/layout.c"
#include "nano/delegate.c"
#include "nano/alloc.c"
#include "nano/walk.c"

/* ---- malloc_zone_t functions ------------------------------------------------ */

static size_t nano_size(malloc_zone_t *zone, const void *ptr)
{
    nano_t *n = zone_nano(zone);
    nano_region_t *r = region_of(n, ptr);
    if (r) return nano_live_size(n, r, ptr);
    return n->helper->size(n->helper, ptr);
}

static void *nano_malloc(malloc_zone_t *zone, size_t size)
{
    nano_t *n = zone_nano(zone);
    if (zt_likely(size <= ZT_NANO_MAX_BYTES)) {
        void *p = alloc_tagged(n, size ? (unsigned)(size - 1) >> ZT_NANO_QUANTUM_SHIFT : 0);
        if (p) return p;
    }
    return n->helper->malloc(n->helper, size);
}

static void *nano_calloc(malloc_zone_t *zone, size_t num, size_t size)
{
    nano_t *n = zone_nano(zone);
    size_t total;
    if (__builtin_mul_overflow(num, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total <= ZT_NANO_MAX_BYTES) {
        unsigned cls = total ? (unsigned)(total - 1) >> ZT_NANO_QUANTUM_SHIFT : 0;
        void *p = alloc_tagged(n, cls);
        if (p) {
            memset(p, 0, class_bytes(cls));
            return p;
        }
    }
    return n->helper->calloc(n->helper, num, size);
}

static void *nano_valloc(malloc_zone_t *zone, size_t size)
{
    nano_t *n = zone_nano(zone);
    return n->helper->valloc(n->helper, size);
}

static void *nano_memalign(malloc_zone_t *zone, size_t align, size_t size)
{
    nano_t *n = zone_nano(zone);
    return n->helper->memalign(n->helper, align, size);
}

static void nano_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr) return;
    nano_t *n = zone_nano(zone);
    nano_region_t *r = region_of(n, ptr);
    if (zt_likely(r != NULL))
        nano_free_ptr(n, r, ptr);
    else
        n->helper->free(n->helper, ptr);
}

void zt_nano_free_owned(zt_owner_t *o, void *ptr)
{
    free_owned(o, ptr); /* nano/alloc.c */
}

static void nano_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    nano_free(zone, ptr);
}

/* libmalloc-166.220.1 src/nanov2_malloc.c:1004-1060 (nanov2_realloc): keep the block when
 * the new good size is not larger and more than half of it; otherwise allocate (nano, or
 * the helper above 256 B), copy and free; a failed allocation returns NULL and leaves the
 * block alone, shrinking or not. */
static void *nano_realloc(malloc_zone_t *zone, void *ptr, size_t new_size)
{
    nano_t *n = zone_nano(zone);
    if (!ptr) return nano_malloc(zone, new_size);
    nano_region_t *r = region_of(n, ptr);
    if (!r) return n->helper->realloc(n->helper, ptr, new_size);
    slot_info_t si;
    if (slot_lookup(n, r, ptr, &si) != SLOT_LIVE) {
        zt_error_bad_free(ZT_BAD_REALLOC_NOT_ALLOCATED, ptr, zt_error_caller);
        return NULL;
    }
    size_t old_size = class_bytes(si.cls);
    if (new_size == 0) {
        /* libmalloc: free, then a minimal block */
        free_slot(n, r, ptr, &si);
        return nano_malloc(zone, 0);
    }
    if (new_size <= ZT_NANO_MAX_BYTES) {
        size_t new_good =
            (new_size + ZT_NANO_QUANTUM_BYTES - 1) & ~(size_t)(ZT_NANO_QUANTUM_BYTES - 1);
        if (new_good <= old_size && new_good > old_size / 2) return ptr;
    }
    void *np = nano_malloc(zone, new_size);
    if (!np) return NULL; /* nanov2_malloc.c:1020-1024, 1036-1039 */
    memcpy(np, ptr, new_size < old_size ? new_size : old_size);
    free_slot(n, r, ptr, &si);
    return np;
}

static unsigned nano_batch_malloc(malloc_zone_t *zone, size_t size, void **results, unsigned count)
{
    nano_t *n = zone_nano(zone);
    unsigned got = 0;
    if (size <= ZT_NANO_MAX_BYTES) {
        unsigned cls = size ? (unsigned)(size - 1) >> ZT_NANO_QUANTUM_SHIFT : 0;
        while (got < count && (results[got] = alloc_tagged(n, cls)))
            got++;
    }
    if (got < count) {
        malloc_zone_t *h = n->helper;
        if (h->batch_malloc)
            got += h->batch_malloc(h, size, results + got, count - got);
        else
            while (got < count && (results[got] = h->malloc(h, size)))
                got++;
    }
    return got;
}

static void nano_batch_free(malloc_zone_t *zone, void **ptrs, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        nano_free(zone, ptrs[i]);
}

static void nano_destroy(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    if (zt_nano_front_zone == zone) __atomic_store_n(&zt_nano_front_zone, NULL, __ATOMIC_RELEASE);
    zt_tcache_unclaim(ZT_TCACHE_NANO, n->tc_id);
    n->tc_id = 0;
    if (n->helper->destroy) n->helper->destroy(n->helper);
    for (unsigned i = 0; i < n->nregions; i++) {
        nano_region_t *r = n->regions[i];
        zt_chunkmap_set(r->base, NANO_REGION_BYTES, NULL);
        zt_va_held_forget((void *)r->base, NANO_REGION_BYTES); /* its held blocks go with it */
        zt_prim_unmap((void *)r->base, NANO_REGION_BYTES);
        if (r->tags) zt_prim_unmap(r->tags, NANO_TAG_BYTES);
        zt_prim_unmap(r, sizeof(nano_region_t));
    }
    zt_prim_unmap(zone, n->map_bytes);
}

/* libmalloc-166.220.1 src/nanov2_malloc.c:1135-1145: nanov2_pressure_relief acts only when
 * the madvise policy is warning or critical; under the default policy, immediate, it
 * returns 0 at once. zonetrace models only the immediate policy (an empty block is
 * madvised at its last free, nano/alloc.c), so there is nothing left for relief to do and
 * it returns 0 as well. It still hands this thread's cached slots back (a zonetrace-only
 * cache libmalloc does not have): their blocks may then empty and be madvised, which is
 * where libmalloc's pages would already be. */
static size_t nano_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    nano_t *n = zone_nano(zone);
    zt_tcache_flush_mine(ZT_TCACHE_NANO, n->tc_id);
    /* native's deferred blocks (nano_defer_purge_blocks) are purged now: the
     * state libmalloc's immediate policy would already be in. */
    (void)goal;
    return n->defer_max ? defer_purge_all(n) : 0;
}

static boolean_t nano_claimed_address(malloc_zone_t *zone, void *ptr)
{
    nano_t *n = zone_nano(zone);
    if (region_of(n, ptr)) return 1;
    malloc_zone_t *h = n->helper;
    if (h->version >= 10 && h->claimed_address) return h->claimed_address(h, ptr);
    return h->size(h, ptr) != 0;
}

/* ---- fork child ---------------------------------------------------------------
 * libmalloc hobbles nano in the child of a fork (libmalloc-166.220.1
 * src/nanov2_malloc.c:2645-2816, nanov2_forked_zone, called from
 * _malloc_fork_child, src/malloc.c:2494-2504): every new allocation goes to
 * the helper, frees of nano blocks are dropped (leaked), realloc of a nano
 * block copies into a helper block and leaks the old one, claimed_address
 * says yes to everything; size, valloc, memalign, destroy, introspection stay.
 * zonetrace's metadata would survive the fork (force_lock holds every lock),
 * but the child must place its blocks where the device's child does. */

static void *nano_forked_malloc(malloc_zone_t *zone, size_t size)
{
    malloc_zone_t *h = zone_nano(zone)->helper;
    return h->malloc(h, size);
}

static void *nano_forked_calloc(malloc_zone_t *zone, size_t num, size_t size)
{
    malloc_zone_t *h = zone_nano(zone)->helper;
    return h->calloc(h, num, size);
}

/* nanov2_forked_free (:2678-2696): a pointer inside nano is dropped (valid
 * or not), anything else goes to the helper. */
static void nano_forked_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr) return;
    nano_t *n = zone_nano(zone);
    if (region_of(n, ptr)) return;
    n->helper->free(n->helper, ptr);
}

static void nano_forked_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    (void)size;
    nano_forked_free(zone, ptr);
}

/* nanov2_forked_realloc (:2706-2745): no in-place rule; size 0 gives a
 * helper block of 1 byte; the nano block is never freed. */
static void *nano_forked_realloc(malloc_zone_t *zone, void *ptr, size_t new_size)
{
    nano_t *n = zone_nano(zone);
    if (!ptr) return nano_forked_malloc(zone, new_size);
    nano_region_t *r = region_of(n, ptr);
    if (!r) return n->helper->realloc(n->helper, ptr, new_size);
    size_t old_size = nano_live_size(n, r, ptr);
    if (!old_size) {
        /* libmalloc hands it to the helper, which reports it as not allocated */
        zt_error_bad_free(ZT_BAD_REALLOC_NOT_ALLOCATED, ptr, zt_error_caller);
        return NULL;
    }
    if (new_size == 0) return nano_forked_malloc(zone, 1);
    void *np = nano_forked_malloc(zone, new_size);
    if (np) memcpy(np, ptr, new_size < old_size ? new_size : old_size);
    return np;
}

static unsigned nano_forked_batch_malloc(malloc_zone_t *zone, size_t size, void **results,
                                         unsigned count)
{
    malloc_zone_t *h = zone_nano(zone)->helper;
    if (h->batch_malloc) return h->batch_malloc(h, size, results, count);
    unsigned got = 0;
    while (got < count && (results[got] = h->malloc(h, size)))
        got++;
    return got;
}

static void nano_forked_batch_free(malloc_zone_t *zone, void **ptrs, unsigned count)
{
    while (count--)
        if (ptrs[count]) nano_forked_free(zone, ptrs[count]);
}

static boolean_t nano_forked_claimed_address(malloc_zone_t *zone, void *ptr)
{
    (void)zone;
    (void)ptr;
    return 1;
}

/* Switch the zone's functions (the zone page is read-only, as libmalloc's
 * mprotect dance, :2798-2815). Idempotent; runs single-threaded in the child. */
static void nano_forked_zone(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    __atomic_store_n(&n->forked, true, __ATOMIC_RELAXED);
    if (zt_nano_front_zone == zone) __atomic_store_n(&zt_nano_front_zone, NULL, __ATOMIC_RELAXED);
    size_t page = __atomic_load_n(&zone_page_bytes, __ATOMIC_RELAXED);
    zt_prim_protect(zone, page, ZT_PROT_READ | ZT_PROT_WRITE);
    zone->malloc = nano_forked_malloc;
    zone->calloc = nano_forked_calloc;
    zone->free = nano_forked_free;
    zone->realloc = nano_forked_realloc;
    zone->batch_malloc = nano_forked_batch_malloc;
    zone->batch_free = nano_forked_batch_free;
    zone->free_definite_size = nano_forked_free_definite_size;
    zone->claimed_address = nano_forked_claimed_address;
    zt_prim_protect(zone, page, ZT_PROT_READ);
}

#include "nano/introspect.c"

/* ---- creation and test support ------------------------------------------------ */

/* Per-class block ranges from units (64 blocks each; block 0 of the arena is
 * the metadata block). A class may have 0 units (MallocNanoSizeClassBlocks
 * accepts 0, libmalloc-166.220.1 src/nanov2_malloc.c:766-796): its range is
 * empty and every request of it is delegated to the helper. libmalloc itself
 * builds an empty range [first, first-1] there (:862-874) that its scans walk
 * past into the next class's blocks (and a 0 for class 0 starts class 1 at
 * the metadata block): memory-unsafe, not modelled. */
static void layout_classes(nano_t *n, const uint8_t units_in[ZT_NANO_CLASSES])
{
    const uint8_t *units = zt_profile_default_nano_class_units;
    unsigned sum = 0;
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        sum += units_in[c];
    if (sum == 64) units = units_in;
    memset(n->block_class, NANO_NO_CLASS, sizeof n->block_class);
    unsigned b = 0;
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++) {
        size_t size = class_bytes(c);
        unsigned end = b + units[c] * NANO_UNIT_BLOCKS;
        unsigned first = b ? b : 1; /* block 0: metadata */
        n->g.class_first[c] = (uint16_t)first;
        n->g.class_end[c] = (uint16_t)(end > first ? end : first); /* empty: [first, first) */
        n->g.slots[c] = (uint16_t)(NANO_BLOCK_BYTES / size);
        n->g.magic[c] = (uint32_t)((((uint64_t)1 << 32) / size) + 1);
        for (unsigned i = first; i < end; i++)
            n->block_class[i] = (uint8_t)c;
        b = end;
    }
}

malloc_zone_t *zt_nano_create(malloc_zone_t *helper, const zt_profile_t *p)
{
    if (!helper || !p || p->nano == ZT_NANO_OFF) return NULL;
    if (!zt_chunkmap_init()) return NULL;
    size_t page = zt_prim_page_bytes();
    __atomic_store_n(&zone_page_bytes, page, __ATOMIC_RELAXED);
    size_t map_bytes = page + ((sizeof(nano_t) + page - 1) & ~(page - 1));
    malloc_zone_t *zone = zt_prim_map(map_bytes);
    if (!zone) return NULL;
    nano_t *n = zone_nano(zone);
    n->owner.kind = ZT_KIND_NANO;
    n->owner.zone = zone;
    n->zone = zone;
    n->helper = helper;
    n->multi = p->nano == ZT_NANO_MULTI;
    n->batch_refill = p->tcache_batch_refill;
    n->stagger = p->nano_stagger_classes;
    n->defer_max =
        p->nano_defer_purge_blocks < NANO_DEFER_MAX ? p->nano_defer_purge_blocks : NANO_DEFER_MAX;
    n->map_bytes = map_bytes;
    n->g.aslr_cookie = 0; /* deterministic layout; any 12-bit value works */
    uint64_t c = zt_prim_now_ns() ^ ((uint64_t)(uintptr_t)zone << 13) ^ (uintptr_t)&c;
    c ^= c >> 33;
    c *= 0xff51afd7ed558ccdull;
    c ^= c >> 33;
    n->g.guard_cookie = c ? c : 0x9e3779b97f4a7c15ull;
    layout_classes(n, p->nano_class_units);
    for (unsigned i = 0; i < NANO_BLOCKS_PER_ARENA; i++)
        n->block_class_phys[i] = n->block_class[i ^ n->g.aslr_cookie] == NANO_NO_CLASS
                                     ? 0 /* any class: the block's hw stays 0 */
                                     : n->block_class[i ^ n->g.aslr_cookie];

    /* The first region and arena up front: if the region cannot be
     * reserved, nano is abandoned and the helper becomes the default. */
    if (!region_add(n) || !arena_claim(n, 0)) {
        zt_prim_message("nano zone abandoned due to inability to reserve vm space");
        if (n->nregions) {
            zt_chunkmap_set(n->regions[0]->base, NANO_REGION_BYTES, NULL);
            zt_prim_unmap((void *)n->regions[0]->base, NANO_REGION_BYTES);
            zt_prim_unmap(n->regions[0], sizeof(nano_region_t));
        }
        zt_prim_unmap(zone, map_bytes);
        return NULL;
    }

    zone->size = nano_size;
    zone->malloc = nano_malloc;
    zone->calloc = nano_calloc;
    zone->valloc = nano_valloc;
    zone->free = nano_free;
    zone->realloc = nano_realloc;
    zone->destroy = nano_destroy;
    zone->zone_name = nano_zone_name;
    zone->batch_malloc = nano_batch_malloc;
    zone->batch_free = nano_batch_free;
    zone->introspect = &nano_introspect;
    zone->version = ZT_MALLOC_ZONE_VERSION;
    zone->memalign = nano_memalign;
    zone->free_definite_size = nano_free_definite_size;
    zone->pressure_relief = nano_pressure_relief;
    zone->claimed_address = nano_claimed_address;
    n->tc_id = zt_tcache_claim(ZT_TCACHE_NANO, n, tc_flush, TC_SLOTS);
    if (n->tc_id && zt_nano_front_zone == NULL) {
        zt_nano_front_id = n->tc_id;
        __atomic_store_n(&zt_nano_front_zone, zone, __ATOMIC_RELEASE);
    }
    /* libmalloc keeps the zone page read-only; malloc_set_zone_name flips it. */
    zt_prim_protect(zone, page, ZT_PROT_READ);
    zt_hook_zone_created(zone);
    return zone;
}

bool zt_nano_contains(const void *ptr)
{
    zt_owner_t *o = zt_chunkmap_get(ptr);
    return o && o->kind == ZT_KIND_NANO;
}

size_t zt_nano_class_capacity_bytes(malloc_zone_t *zone, unsigned cls)
{
    if (cls >= ZT_NANO_CLASSES) return 0;
    const nano_t *n = zone_nano(zone);
    size_t blocks = (size_t)(n->g.class_end[cls] - n->g.class_first[cls]) * NANO_ARENAS_PER_REGION;
    return blocks * n->g.slots[cls] * class_bytes(cls);
}

bool zt_nano_class_delegated(malloc_zone_t *zone, unsigned cls)
{
    return cls < ZT_NANO_CLASSES &&
           (__atomic_load_n(&zone_nano(zone)->delegate_bits, __ATOMIC_ACQUIRE) >> cls) & 1;
}
