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
 * -------------------------------------------------------------------------- */
#include "nano.h"
#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "va.h"

#include <errno.h>
#include <pthread.h>
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
#define NANO_TAG_BYTES          ((NANO_REGION_BYTES >> 4) * sizeof(uint32_t))
#define NANO_NO_CLASS           0xFF

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

typedef struct nano_region {
    zt_owner_t owner; /* {ZT_KIND_NANO, zone}: the chunk-map entry of the region */
    struct nano *nano;
    uintptr_t base;
    unsigned index; /* position in nano->regions: global arena = index * 8 + arena */
    uint32_t *tags; /* NANO_TAG_BYTES, mapped on the first tagged allocation */
    uint16_t hw[NANO_BLOCKS_PER_REGION]; /* bump high water per physical block */
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
    uint32_t delegate_bits;  /* bit per class: requests go to the helper */
    uint32_t tc_id;          /* non-zero while this zone owns the thread caches */
    bool multi;              /* more regions when all arenas are claimed */
    unsigned arenas_claimed; /* global arenas 0..arenas_claimed-1 are committed */
    unsigned nregions;
    nano_region_t *regions[NANO_MAX_REGIONS];
    uint8_t block_class[NANO_BLOCKS_PER_ARENA]; /* logical block -> class */
    zt_lock_t regions_lock, madvise_lock;
    size_t map_bytes; /* zone page + this struct */
    uintptr_t current[ZT_NANO_CLASSES][NANO_MAX_CURRENT_BLOCKS] __attribute__((aligned(64)));
    zt_lock_t current_lock[ZT_NANO_CLASSES][NANO_MAX_CURRENT_BLOCKS];
} nano_t;

/* ---- header words ------------------------------------------------------- */

static inline unsigned h_next(uint32_t h)
{
    return h & 0x7FF;
}
static inline unsigned h_free(uint32_t h)
{
    return (h >> 11) & 0x3FF;
}
static inline uint32_t h_gen(uint32_t h)
{
    return (h >> 21) & 0x3FF;
}
static inline bool h_in_use(uint32_t h)
{
    return h >> 31;
}

static inline uint32_t h_make(unsigned next, unsigned free_count, uint32_t gen, bool in_use)
{
    return (uint32_t)next | (uint32_t)free_count << 11 | (gen & 0x3FF) << 21 |
           (uint32_t)in_use << 31;
}

/* Free slots of a block per its header (states without live slots: all). */
static inline unsigned h_free_slots(uint32_t h, unsigned slots)
{
    unsigned next = h_next(h);
    if (next == SLOT_FULL) return 0;
    if (next == SLOT_NULL || next >= SLOT_CAN_MADVISE) return slots;
    return h_free(h) + 1;
}

/* States in which a block may hold live slots. */
static inline bool h_has_slots(uint32_t h)
{
    unsigned next = h_next(h);
    return next != SLOT_NULL && next < SLOT_CAN_MADVISE;
}

/* ---- addresses ----------------------------------------------------------- */

static inline size_t class_bytes(unsigned cls)
{
    return (size_t)(cls + 1) << 4;
}

/* The zone's malloc_zone_t has a host page to itself; nano_t follows. */
static size_t zone_page_bytes;

static inline nano_t *zone_nano(malloc_zone_t *zone)
{
    return (nano_t *)((char *)zone + zone_page_bytes);
}

static inline unsigned meta_index(unsigned phys)
{
    return (phys & 63) << 6 | phys >> 6;
}

static inline uint32_t *block_header(const nano_t *n, uintptr_t blk)
{
    uintptr_t arena = blk & ~(uintptr_t)(NANO_ARENA_BYTES - 1);
    unsigned phys = (blk >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1);
    return (uint32_t *)(arena + ((uintptr_t)n->g.aslr_cookie << NANO_BLOCK_SHIFT)) +
           meta_index(phys);
}

/* Region descriptor of an address inside one of n's regions, else NULL. */
static inline nano_region_t *region_of(const nano_t *n, const void *p)
{
    zt_owner_t *o = zt_chunkmap_get(p);
    if (o && o->kind == ZT_KIND_NANO && o->zone == n->zone) return (nano_region_t *)o;
    return NULL;
}

static inline uint16_t *block_hw(nano_region_t *r, uintptr_t blk)
{
    return &r->hw[(blk >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_REGION - 1)];
}

static inline uintptr_t arena_base(const nano_t *n, unsigned arena)
{
    return n->regions[arena / NANO_ARENAS_PER_REGION]->base +
           ((uintptr_t)(arena % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT);
}

static inline uintptr_t block_addr(uintptr_t arena, unsigned phys)
{
    return arena + ((uintptr_t)phys << NANO_BLOCK_SHIFT);
}

/* ---- allocation from one block ------------------------------------------- */

/* The popped slot's link or guard is inconsistent: a racing pop (retry) or
 * a corrupted free list (header unchanged since we read it). */
static uint32_t pop_conflict(uint32_t *hp, uint32_t seen, const void *slot)
{
    uint32_t now = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (now == seen) zt_error_corruption("nano free list (use after free?)", slot);
    return now;
}

/* Raise the block's bump high water over slot idx (monotonic; every
 * handed-out slot is below it before the pointer leaves the allocator). */
static inline void hw_raise(const nano_t *n, uintptr_t blk, unsigned idx)
{
    nano_region_t *r = region_of(n, (void *)blk);
    uint16_t *hwp = block_hw(r, blk);
    uint16_t cur = __atomic_load_n(hwp, __ATOMIC_RELAXED);
    while (cur <= idx && !__atomic_compare_exchange_n(hwp, &cur, (uint16_t)(idx + 1), true,
                                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* One CAS: pop the free list or bump the tail. NULL if the block has no
 * free slot or is not in an allocatable state. */
static inline void *block_alloc(const nano_t *n, uintptr_t blk, unsigned cls)
{
    uint32_t *hp = block_header(n, blk);
    size_t size = class_bytes(cls);
    unsigned slots = n->g.slots[cls];
    uint32_t old = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    unsigned idx, next;
    for (;;) {
        unsigned fc = h_free(old), new_next;
        next = h_next(old);
        if (next == SLOT_BUMP) {
            idx = slots - fc - 1;
            new_next = fc ? SLOT_BUMP : SLOT_FULL;
        } else if (next - 1u < SLOT_LIST_MAX) {
            idx = next - 1;
            nano_free_slot_t *s = (nano_free_slot_t *)(blk + idx * size);
            if (idx >= slots) {
                old = pop_conflict(hp, old, s);
                continue;
            }
            /* Racy reads: if another thread popped s meanwhile, the CAS fails. */
            uint64_t guard = __atomic_load_n(&s->guard, __ATOMIC_RELAXED);
            new_next = __atomic_load_n(&s->next_slot, __ATOMIC_RELAXED);
            bool link_ok =
                (new_next - 1u < slots || new_next == SLOT_BUMP || new_next == SLOT_FULL) &&
                (fc == 0) == (new_next == SLOT_FULL);
            if (__builtin_expect(guard != (n->g.guard_cookie ^ (uintptr_t)s) || !link_ok, 0)) {
                old = pop_conflict(hp, old, s);
                continue;
            }
        } else {
            return NULL; /* FULL, never used, or empty awaiting / past madvise */
        }
        uint32_t nw = h_make(new_next, fc ? fc - 1 : 0, h_gen(old) + 1, h_in_use(old));
        if (__atomic_compare_exchange_n(hp, &old, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    nano_free_slot_t *s = (nano_free_slot_t *)(blk + idx * size);
    s->guard = 0;
    if (next == SLOT_BUMP) hw_raise(n, blk, idx);
    return s;
}

/* ---- madvise and delegation ---------------------------------------------- */

static void emit_event(nano_t *n, uint32_t type, unsigned cls)
{
    zt_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.cls = cls;
    ev.kind = ZT_KIND_NANO;
    ev.zone = n->zone;
    ev.size = class_bytes(cls);
    zt_hook_event(&ev);
}

/* An empty block that is not in use gives its pages back (policy
 * "immediate"). Returns the bytes purged. */
static size_t madvise_block(nano_t *n, uintptr_t blk)
{
    uint32_t *hp = block_header(n, blk);
    size_t purged = 0;
    zt_lock(&n->madvise_lock);
    uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (h_next(h) == SLOT_CAN_MADVISE &&
        __atomic_compare_exchange_n(hp, &h, h_make(SLOT_MADVISING, 0, h_gen(h) + 1, false), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* MADVISING is exclusive: nothing allocates from, frees to or claims it. */
        zt_prim_purge((void *)blk, NANO_BLOCK_BYTES);
        __atomic_store_n(hp, h_make(SLOT_MADVISED, 0, h_gen(h) + 2, false), __ATOMIC_RELEASE);
        purged = NANO_BLOCK_BYTES;
    }
    zt_unlock(&n->madvise_lock);
    return purged;
}

static void delegate_release(nano_t *n, unsigned cls)
{
    uint32_t bit = 1u << cls;
    if (__atomic_fetch_and(&n->delegate_bits, ~bit, __ATOMIC_ACQ_REL) & bit)
        emit_event(n, ZT_EV_NANO_RELEASED, cls);
}

/* ---- finding a block ----------------------------------------------------- */

/* Make blk (header h, not in use) the caller's current block. Blocks without
 * live slots are restarted through the exclusive MADVISING state so that
 * the high water can be reset while nobody can allocate from them. */
static bool block_take(nano_t *n, uintptr_t blk, uint32_t h, unsigned cls)
{
    uint32_t *hp = block_header(n, blk);
    if (h_has_slots(h))
        return __atomic_compare_exchange_n(hp, &h, h | 1u << 31, false, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE);
    uint32_t busy = h_make(SLOT_MADVISING, 0, h_gen(h) + 1, false);
    if (!__atomic_compare_exchange_n(hp, &h, busy, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return false;
    __atomic_store_n(block_hw(region_of(n, (void *)blk), blk), 0, __ATOMIC_RELAXED);
    __atomic_store_n(hp, h_make(SLOT_BUMP, n->g.slots[cls] - 1u, h_gen(busy) + 1, true),
                     __ATOMIC_RELEASE);
    return true;
}

static void block_release(nano_t *n, uintptr_t blk)
{
    uint32_t *hp = block_header(n, blk);
    uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    while (h_in_use(h) && !__atomic_compare_exchange_n(hp, &h, h & ~(1u << 31), true,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

/* Scan the class's blocks of one arena (libmalloc's capacity policy): a
 * partly used block with 20..80 % free is taken at once; otherwise, once a
 * candidate exists at most 10 more blocks are looked at, then the best of
 * > 80 % free, < 20 % free, never used / madvised, awaiting madvise wins.
 * In the current block's arena the scan runs backwards then forwards from
 * it; elsewhere forwards. A CPU's first block is taken first fit. */
enum { C_HIGH, C_LOW, C_FRESH, C_MADV, C_N };

typedef struct scan {
    nano_t *n;
    unsigned cls, slots;
    bool first_fit, have_candidate;
    unsigned after_candidate;
    uintptr_t cand[C_N];
    uint32_t cand_h[C_N];
} scan_t;

/* 1: blk taken; -1: stop scanning; 0: go on. */
static int scan_visit(scan_t *s, uintptr_t blk)
{
    if (s->have_candidate && ++s->after_candidate > SCAN_LIMIT_AFTER_CANDIDATE) return -1;
    uint32_t h = __atomic_load_n(block_header(s->n, blk), __ATOMIC_ACQUIRE);
    unsigned next = h_next(h);
    if (h_in_use(h) || next == SLOT_FULL || next == SLOT_MADVISING) return 0;
    if (s->first_fit) return block_take(s->n, blk, h, s->cls);
    int kind;
    if (next == SLOT_NULL || next == SLOT_MADVISED) {
        kind = C_FRESH;
    } else if (next == SLOT_CAN_MADVISE) {
        kind = C_MADV;
    } else {
        unsigned pct_free = 100 * (h_free(h) + 1) / s->slots;
        if (pct_free >= SCAN_MIN_PERCENT_FREE && pct_free <= SCAN_MAX_PERCENT_FREE)
            return block_take(s->n, blk, h, s->cls);
        kind = pct_free > SCAN_MAX_PERCENT_FREE ? C_HIGH : C_LOW;
    }
    if (!s->cand[kind]) {
        s->cand[kind] = blk;
        s->cand_h[kind] = h;
    }
    s->have_candidate = true;
    return 0;
}

/* start: logical index of the current block in this arena, or -1. */
static uintptr_t scan_arena(nano_t *n, unsigned arena, unsigned cls, int start, bool first_fit)
{
    uintptr_t base = arena_base(n, arena);
    unsigned first = n->g.class_first[cls], end = n->g.class_end[cls];
    unsigned cookie = n->g.aslr_cookie;
    scan_t s = {.n = n, .cls = cls, .slots = n->g.slots[cls], .first_fit = first_fit};
    int r = 0;
    if (start >= 0)
        for (unsigned b = (unsigned)start; b-- > first && r == 0;)
            if ((r = scan_visit(&s, block_addr(base, b ^ cookie))) > 0)
                return block_addr(base, b ^ cookie);
    for (unsigned b = start >= 0 ? (unsigned)start + 1 : first; b < end && r == 0; b++)
        if ((r = scan_visit(&s, block_addr(base, b ^ cookie))) > 0)
            return block_addr(base, b ^ cookie);
    for (int k = 0; k < C_N; k++)
        if (s.cand[k] && block_take(n, s.cand[k], s.cand_h[k], cls)) return s.cand[k];
    return 0;
}

static bool region_add(nano_t *n);

/* Claim arena number `seen` (the count the caller saw) unless someone else
 * already did. False when no arena can be had. */
static bool arena_claim(nano_t *n, unsigned seen)
{
    bool ok = true;
    zt_lock(&n->regions_lock);
    unsigned k = n->arenas_claimed;
    if (k == seen) {
        if (k >= n->nregions * NANO_ARENAS_PER_REGION) ok = n->multi && region_add(n);
        if (ok) ok = zt_prim_commit((void *)arena_base(n, k), NANO_ARENA_BYTES) == 0;
        if (ok) __atomic_store_n(&n->arenas_claimed, k + 1, __ATOMIC_RELEASE);
    }
    zt_unlock(&n->regions_lock);
    return ok;
}

static unsigned arena_number(const nano_t *n, uintptr_t blk)
{
    nano_region_t *r = region_of(n, (void *)blk);
    return r->index * NANO_ARENAS_PER_REGION +
           (unsigned)((blk >> NANO_ARENA_SHIFT) & (NANO_ARENAS_PER_REGION - 1));
}

static uintptr_t find_block(nano_t *n, unsigned cls, uintptr_t cur)
{
    bool first_fit = cur == 0;
    for (;;) {
        unsigned narenas = __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE);
        unsigned start = cur ? arena_number(n, cur) : 0;
        for (unsigned k = 0; k < narenas; k++) {
            int from = -1;
            if (k == 0 && cur)
                from = (int)(((cur >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1)) ^
                             n->g.aslr_cookie);
            uintptr_t b = scan_arena(n, (start + k) % narenas, cls, from, first_fit);
            if (b) return b;
        }
        if (!arena_claim(n, narenas)) return 0;
        uintptr_t b = scan_arena(n, narenas, cls, -1, true);
        if (b) return b;
        cur = 0;
    }
}

/* Slow path under the (class, cpu) lock. NULL: the class is delegated.
 * *delegated_now is set when this call delegated it (event to send). */
static void *alloc_slow(nano_t *n, unsigned cls, unsigned idx, bool *delegated_now)
{
    zt_lock_t *l = &n->current_lock[cls][idx];
    uintptr_t *curp = &n->current[cls][idx];
    void *p = NULL;
    zt_lock(l);
    uintptr_t blk = __atomic_load_n(curp, __ATOMIC_ACQUIRE);
    if (blk && (p = block_alloc(n, blk, cls))) goto out;
    for (;;) {
        if (blk) block_release(n, blk);
        uintptr_t nb = find_block(n, cls, blk);
        if (!nb) {
            __atomic_store_n(curp, 0, __ATOMIC_RELEASE);
            uint32_t bit = 1u << cls;
            *delegated_now = !(__atomic_fetch_or(&n->delegate_bits, bit, __ATOMIC_ACQ_REL) & bit);
            break;
        }
        __atomic_store_n(curp, nb, __ATOMIC_RELEASE);
        if ((p = block_alloc(n, nb, cls))) break;
        blk = nb;
    }
out:
    zt_unlock(l);
    return p;
}

/* A slot of class cls, or NULL when the class is delegated. */
static __attribute__((noinline)) void *nano_alloc(nano_t *n, unsigned cls)
{
    unsigned idx = zt_prim_cpu() & (NANO_MAX_CURRENT_BLOCKS - 1);
    uintptr_t blk = __atomic_load_n(&n->current[cls][idx], __ATOMIC_ACQUIRE);
    if (__builtin_expect(blk != 0, 1)) {
        void *p = block_alloc(n, blk, cls);
        if (__builtin_expect(p != NULL, 1)) return p;
    }
    if (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)) return NULL;
    bool delegated_now = false;
    void *p = alloc_slow(n, cls, idx, &delegated_now);
    if (delegated_now) emit_event(n, ZT_EV_NANO_DELEGATED, cls);
    return p;
}

/* ---- tags ------------------------------------------------------------------ */

static uint32_t *region_tags(nano_region_t *r)
{
    uint32_t *t = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (t) return t;
    uint32_t *fresh = zt_prim_map(NANO_TAG_BYTES);
    if (!fresh) return NULL;
    if (!__atomic_compare_exchange_n(&r->tags, &t, fresh, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        zt_prim_unmap(fresh, NANO_TAG_BYTES);
        return t;
    }
    return fresh;
}

static void tag_alloc(nano_t *n, void *p, unsigned cls)
{
    uint32_t tag = zt_hook_alloc_slow(n->zone, p, class_bytes(cls), cls);
    if (tag == 0) return;
    nano_region_t *r = region_of(n, p);
    uint32_t *t = region_tags(r);
    if (t) __atomic_store_n(&t[((uintptr_t)p - r->base) >> 4], tag, __ATOMIC_RELAXED);
}

static inline void *alloc_tagged(nano_t *n, unsigned cls);

/* ---- pointer checks and free --------------------------------------------- */

enum slot_state { SLOT_LIVE, SLOT_INVALID, SLOT_FREED };

typedef struct slot_info {
    uintptr_t blk;
    unsigned cls, idx;
    uint32_t h; /* header as seen by the lookup (a CAS starting point) */
} slot_info_t;

/* Classify an address inside region r without faulting. */
static inline __attribute__((always_inline)) enum slot_state
slot_lookup(const nano_t *n, nano_region_t *r, const void *ptr, slot_info_t *si)
{
    uintptr_t a = (uintptr_t)ptr, off = a - r->base;
    unsigned arena = (unsigned)(off >> NANO_ARENA_SHIFT);
    if (r->index * NANO_ARENAS_PER_REGION + arena >=
        __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE))
        return SLOT_INVALID;
    unsigned phys = (unsigned)(off >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1);
    unsigned cls = n->block_class[phys ^ n->g.aslr_cookie];
    if (cls == NANO_NO_CLASS) return SLOT_INVALID; /* the metadata block */
    unsigned in = (unsigned)(a & (NANO_BLOCK_BYTES - 1));
    unsigned idx = (unsigned)(((uint64_t)in * n->g.magic[cls]) >> 32);
    if (idx * class_bytes(cls) != in || idx >= n->g.slots[cls]) return SLOT_INVALID;
    si->blk = a - in;
    si->cls = cls;
    si->idx = idx;
    uint32_t h = si->h = __atomic_load_n(block_header(n, si->blk), __ATOMIC_ACQUIRE);
    if (!h_has_slots(h) || idx >= __atomic_load_n(block_hw(r, si->blk), __ATOMIC_ACQUIRE))
        return SLOT_INVALID;
    const nano_free_slot_t *s = ptr;
    if (__atomic_load_n(&s->guard, __ATOMIC_RELAXED) == (n->g.guard_cookie ^ a)) return SLOT_FREED;
    return SLOT_LIVE;
}

static void nano_free_live(nano_t *n, nano_region_t *r, void *ptr, const slot_info_t *si)
{
    unsigned cls = si->cls, slots = n->g.slots[cls];
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (tags) {
        uint32_t *tp = &tags[((uintptr_t)ptr - r->base) >> 4];
        /* Load first: an unsampled block (tag 0, the common case in sample
         * mode) costs one plain load, not a locked exchange. */
        uint32_t tag = __atomic_load_n(tp, __ATOMIC_RELAXED);
        if (tag) {
            __atomic_store_n(tp, 0, __ATOMIC_RELAXED);
            zt_hook_free(n->zone, ptr, class_bytes(cls), cls, tag);
        }
    }
    nano_free_slot_t *s = ptr;
    s->guard = n->g.guard_cookie ^ (uintptr_t)ptr;
    uint32_t *hp = block_header(n, si->blk);
    uint32_t old = si->h, nw;
    unsigned after;
    for (;;) {
        unsigned next = h_next(old);
        if (!h_has_slots(old)) {
            /* Emptied under us: only a racing double free gets here. */
            zt_error_bad_free(ZT_BAD_FREED_TWICE, ptr, zt_error_caller);
            return;
        }
        after = h_free_slots(old, slots) + 1;
        if (after > slots) zt_error_corruption("nano block header (free count)", hp);
        if (after == slots)
            nw = h_in_use(old) ? h_make(SLOT_BUMP, slots - 1, h_gen(old) + 1, true)
                               : h_make(SLOT_CAN_MADVISE, 0, h_gen(old) + 1, false);
        else {
            s->next_slot = (uint16_t)next;
            nw = h_make(si->idx + 1, after - 1, h_gen(old) + 1, h_in_use(old));
        }
        if (__atomic_compare_exchange_n(hp, &old, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    if (h_in_use(nw)) return;
    if (__builtin_expect(after * 4 >= slots * 3, 0) &&
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)))
        delegate_release(n, cls);
    if (h_next(nw) == SLOT_CAN_MADVISE) madvise_block(n, si->blk);
}

/* ---- per-thread cache -------------------------------------------------------
 * glibc tcache's idea in front of the block headers: a thread keeps up to
 * TC_SLOTS freed slots per class and hands them out again without any atomic
 * operation (a pop and a store, instead of a CAS on a shared header and a CPU
 * number lookup). A cached slot is free for every observer: its guard is set,
 * so size() says 0, a second free is reported as a double free and the walker
 * skips it; its block header still counts it as allocated, which keeps the
 * block from being restarted or madvised under the cache. Only frees fill the
 * cache (a miss allocates from the current block exactly as before) and frees
 * of a delegated class bypass it, so capacity, delegation and the 75 % release
 * rule follow libmalloc's sequence. One nano zone at a time owns the caches
 * (the first created: the default zone); entries carry its id, and entries of
 * a destroyed zone are dropped, never flushed. A full class flushes its older
 * half back to the blocks. Thread exit (pthread key destructor), the owning
 * thread's introspection calls, and a fork child (for the other threads'
 * caches) flush everything. Cache memory is mapped once per thread and pooled,
 * never unmapped. */

#define TC_SLOTS 64

typedef struct tcache {
    struct tcache *next_all; /* every cache made, live or pooled (under tc_lock) */
    uint32_t id;             /* tc_id of the zone whose slots it holds; never 0 */
    bool live;               /* owned by a running thread */
    uint16_t count[ZT_NANO_CLASSES];
    void *slot[ZT_NANO_CLASSES][TC_SLOTS]; /* [0] oldest */
} tcache_t;

enum { TC_NONE, TC_ON, TC_OFF }; /* per thread: no cache yet, cached, never cache */

static __thread tcache_t *tc_self __attribute__((tls_model("initial-exec")));
static __thread uint8_t tc_state __attribute__((tls_model("initial-exec")));
static zt_lock_t tc_lock; /* tc_all, tc_owner, key creation */
static tcache_t *tc_all;
static nano_t *tc_owner; /* zone owning the caches, NULL after its destroy */
static uint32_t tc_last_id;
static pthread_key_t tc_key;
static bool tc_key_made;

/* Give one cached slot back to its block (its guard is still set). */
static void tc_release(nano_t *n, void *p, unsigned cls)
{
    nano_region_t *r = region_of(n, p);
    if (!r) return; /* cannot happen while n owns the entry */
    slot_info_t si;
    uintptr_t a = (uintptr_t)p;
    si.blk = a & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
    si.cls = cls;
    si.idx = (unsigned)(((uint64_t)(a - si.blk) * n->g.magic[cls]) >> 32);
    si.h = __atomic_load_n(block_header(n, si.blk), __ATOMIC_ACQUIRE);
    nano_free_live(n, r, p, &si);
}

/* Flush entries [0, k) of class cls, keeping the newer ones. */
static void tc_flush_class(nano_t *n, tcache_t *tc, unsigned cls, unsigned k)
{
    unsigned cnt = tc->count[cls];
    if (k > cnt) k = cnt;
    for (unsigned i = 0; i < k; i++)
        tc_release(n, tc->slot[cls][i], cls);
    memmove(&tc->slot[cls][0], &tc->slot[cls][k], (cnt - k) * sizeof(void *));
    tc->count[cls] = (uint16_t)(cnt - k);
}

static void tc_flush_all(nano_t *n, tcache_t *tc)
{
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        tc_flush_class(n, tc, c, tc->count[c]);
}

static void tc_drop(tcache_t *tc)
{
    memset(tc->count, 0, sizeof tc->count);
}

/* Flush the calling thread's cache if it holds slots of n (introspection
 * calls see the thread's own frees). */
static void tc_flush_mine(nano_t *n)
{
    tcache_t *tc = tc_self;
    if (tc && n->tc_id && tc->id == n->tc_id) tc_flush_all(n, tc);
}

static void tc_thread_exit(void *arg)
{
    tcache_t *tc = arg;
    tc_state = TC_OFF; /* later destructors' frees go straight to the blocks */
    tc_self = NULL;
    zt_lock(&tc_lock);
    nano_t *owner = tc_owner;
    zt_unlock(&tc_lock);
    if (owner && owner->tc_id == tc->id)
        tc_flush_all(owner, tc);
    else
        tc_drop(tc);
    zt_lock(&tc_lock);
    tc->live = false;
    zt_unlock(&tc_lock);
}

/* The calling thread's cache for n, made on the thread's first free; NULL
 * when n does not own the caches or the thread cannot have one. */
static tcache_t *tc_slow(nano_t *n)
{
    if (n->tc_id == 0 || tc_state == TC_OFF) return NULL;
    tcache_t *tc = tc_self;
    if (tc) {
        tc_drop(tc); /* entries of a destroyed zone */
        tc->id = n->tc_id;
        return tc;
    }
    tc_state = TC_OFF; /* pthread_setspecific may allocate: no recursion */
    zt_lock(&tc_lock);
    if (!tc_key_made) tc_key_made = pthread_key_create(&tc_key, tc_thread_exit) == 0;
    for (tc = tc_all; tc && tc->live; tc = tc->next_all)
        ;
    if (!tc && tc_key_made && (tc = zt_prim_map(sizeof(tcache_t))) != NULL) {
        tc->next_all = tc_all;
        tc_all = tc;
    }
    if (tc) {
        tc->live = true;
        tc->id = n->tc_id;
        tc_drop(tc);
    }
    zt_unlock(&tc_lock);
    if (!tc) return NULL; /* the thread stays uncached */
    if (pthread_setspecific(tc_key, tc) != 0) {
        zt_lock(&tc_lock);
        tc->live = false;
        zt_unlock(&tc_lock);
        return NULL;
    }
    tc_self = tc;
    tc_state = TC_ON;
    return tc;
}

/* n becomes the caches' owner if none is. */
static void tc_claim(nano_t *n)
{
    zt_lock(&tc_lock);
    /* None on emulated devices: slots parked in other threads' caches would
     * make a class delegate earlier than libmalloc's (which has no cache). */
    if (!tc_owner && !zt_va_limited()) {
        tc_owner = n;
        n->tc_id = ++tc_last_id ? tc_last_id : ++tc_last_id;
    }
    zt_unlock(&tc_lock);
}

static void tc_unclaim(nano_t *n)
{
    if (!n->tc_id) return;
    zt_lock(&tc_lock);
    if (tc_owner == n) tc_owner = NULL;
    zt_unlock(&tc_lock);
    if (tc_self && tc_self->id == n->tc_id) tc_drop(tc_self);
    n->tc_id = 0;
}

/* Fork child: the other threads are gone; their cached slots go back. */
static void tc_fork_child(nano_t *n)
{
    zt_lock_reinit(&tc_lock);
    for (tcache_t *tc = tc_all; tc; tc = tc->next_all) {
        if (!tc->live || tc == tc_self) continue;
        if (tc->id == n->tc_id) tc_flush_all(n, tc);
        tc_drop(tc);
        tc->live = false;
    }
}

static inline void *alloc_tagged(nano_t *n, unsigned cls)
{
    tcache_t *tc = tc_self;
    void *p;
    if (__builtin_expect(tc != NULL && tc->id == n->tc_id && tc->count[cls] != 0, 1)) {
        p = tc->slot[cls][--tc->count[cls]];
        ((nano_free_slot_t *)p)->guard = 0; /* live again */
    } else {
        p = nano_alloc(n, cls);
    }
    if (p && __builtin_expect(zt_profiling != 0, 0) && !zt_hook_unsampled(class_bytes(cls)))
        tag_alloc(n, p, cls);
    return p;
}

/* Free a live slot: into the thread's cache when it can take it. */
static inline void free_slot(nano_t *n, nano_region_t *r, void *ptr, const slot_info_t *si)
{
    unsigned cls = si->cls;
    tcache_t *tc = tc_self;
    if (__builtin_expect(tc == NULL || tc->id != n->tc_id, 0) && (tc = tc_slow(n)) == NULL)
        goto direct;
    if (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)) goto direct;
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (tags) {
        uint32_t *tp = &tags[((uintptr_t)ptr - r->base) >> 4];
        uint32_t tag = __atomic_load_n(tp, __ATOMIC_RELAXED); /* see nano_free_live */
        if (tag) {
            __atomic_store_n(tp, 0, __ATOMIC_RELAXED);
            zt_hook_free(n->zone, ptr, class_bytes(cls), cls, tag);
        }
    }
    ((nano_free_slot_t *)ptr)->guard = n->g.guard_cookie ^ (uintptr_t)ptr;
    if (__builtin_expect(tc->count[cls] == TC_SLOTS, 0)) tc_flush_class(n, tc, cls, TC_SLOTS / 2);
    tc->slot[cls][tc->count[cls]++] = ptr;
    return;
direct:
    nano_free_live(n, r, ptr, si);
}

static inline __attribute__((always_inline)) void nano_free_ptr(nano_t *n, nano_region_t *r,
                                                                void *ptr)
{
    slot_info_t si;
    enum slot_state st = slot_lookup(n, r, ptr, &si);
    if (__builtin_expect(st == SLOT_LIVE, 1))
        free_slot(n, r, ptr, &si);
    else
        zt_error_bad_free(st == SLOT_FREED ? ZT_BAD_FREED_TWICE : ZT_BAD_NOT_ALLOCATED, ptr,
                          zt_error_caller);
}

static size_t nano_live_size(const nano_t *n, nano_region_t *r, const void *ptr)
{
    slot_info_t si;
    return slot_lookup(n, r, ptr, &si) == SLOT_LIVE ? class_bytes(si.cls) : 0;
}

/* ---- regions ------------------------------------------------------------- */

static bool region_add(nano_t *n)
{
    if (n->nregions >= NANO_MAX_REGIONS) return false;
    void *base = zt_prim_reserve(NANO_REGION_BYTES, NANO_REGION_BYTES);
    if (!base) return false;
    nano_region_t *r = zt_prim_map(sizeof(nano_region_t));
    if (!r) {
        zt_prim_unmap(base, NANO_REGION_BYTES);
        return false;
    }
    r->owner.kind = ZT_KIND_NANO;
    r->owner.zone = n->zone;
    r->nano = n;
    r->base = (uintptr_t)base;
    r->index = n->nregions;
    /* Published before any block of it can be handed out (arenas_claimed). */
    zt_chunkmap_set(r->base, NANO_REGION_BYTES, &r->owner);
    __atomic_store_n(&n->regions[n->nregions], r, __ATOMIC_RELEASE);
    __atomic_store_n(&n->nregions, n->nregions + 1, __ATOMIC_RELEASE);
    return true;
}

/* ---- walking (in process or through a memory reader) --------------------- */

static kern_return_t local_reader(task_t task, vm_address_t addr, vm_size_t size, void **local)
{
    *local = (void *)addr;
    return KERN_SUCCESS;
}

typedef struct walk {
    task_t task;
    memory_reader_t *reader;
    nano_geom_t g;
    unsigned narenas, nregions;
    uintptr_t regions[NANO_MAX_REGIONS]; /* descriptor addresses (in the target) */
    uintptr_t region_base[NANO_MAX_REGIONS];
} walk_t;

static const void *wread(walk_t *w, uintptr_t addr, size_t bytes)
{
    void *local = NULL;
    if (w->reader(w->task, addr, bytes, &local) != KERN_SUCCESS) return NULL;
    return local;
}

static bool walk_open(walk_t *w, task_t task, memory_reader_t *reader, uintptr_t zone_address)
{
    w->task = task;
    w->reader = reader ? reader : local_reader;
    const nano_t *n = wread(w, zone_address + zt_prim_page_bytes(), sizeof(nano_t));
    if (!n) return false;
    w->g = n->g;
    w->narenas = n->arenas_claimed;
    w->nregions = n->nregions;
    if (w->nregions > NANO_MAX_REGIONS) return false;
    memcpy(w->regions, n->regions, w->nregions * sizeof(uintptr_t));
    for (unsigned i = 0; i < w->nregions; i++) {
        const nano_region_t *r = wread(w, w->regions[i], offsetof(nano_region_t, hw));
        if (!r) return false;
        w->region_base[i] = r->base;
    }
    if (w->narenas > w->nregions * NANO_ARENAS_PER_REGION)
        w->narenas = w->nregions * NANO_ARENAS_PER_REGION;
    return true;
}

/* Arenas of region ri that are claimed. */
static unsigned walk_region_arenas(const walk_t *w, unsigned ri)
{
    unsigned first = ri * NANO_ARENAS_PER_REGION;
    if (w->narenas <= first) return 0;
    unsigned k = w->narenas - first;
    return k < NANO_ARENAS_PER_REGION ? k : NANO_ARENAS_PER_REGION;
}

typedef void block_fn(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h);

/* Call fn for every class block of region ri's claimed arenas. */
static void walk_blocks(walk_t *w, unsigned ri, block_fn *fn, void *ctx)
{
    unsigned na = walk_region_arenas(w, ri);
    for (unsigned a = 0; a < na; a++) {
        uintptr_t arena = w->region_base[ri] + ((uintptr_t)a << NANO_ARENA_SHIFT);
        const uint32_t *meta =
            wread(w, arena + ((uintptr_t)w->g.aslr_cookie << NANO_BLOCK_SHIFT), NANO_BLOCK_BYTES);
        if (!meta) continue;
        for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++)
            for (unsigned b = w->g.class_first[cls]; b < w->g.class_end[cls]; b++) {
                unsigned phys = b ^ w->g.aslr_cookie;
                uint32_t h = __atomic_load_n(&meta[meta_index(phys)], __ATOMIC_ACQUIRE);
                fn(w, ctx, ri, block_addr(arena, phys), cls, h);
            }
    }
}

/* Live slots of one block (start addresses), by high water and guard. */
typedef void slot_fn(void *ctx, uintptr_t addr, unsigned cls);

static void walk_slots(walk_t *w, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h, slot_fn *fn,
                       void *ctx)
{
    if (!h_has_slots(h)) return;
    const uint16_t *hwp =
        wread(w,
              w->regions[ri] + offsetof(nano_region_t, hw) +
                  ((blk >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_REGION - 1)) * sizeof(uint16_t),
              sizeof(uint16_t));
    if (!hwp) return;
    unsigned hw = *hwp;
    unsigned slots = w->g.slots[cls];
    if (hw > slots) hw = slots;
    const char *mem = wread(w, blk, NANO_BLOCK_BYTES);
    if (!mem) return;
    size_t size = class_bytes(cls);
    for (unsigned i = 0; i < hw; i++) {
        uintptr_t addr = blk + i * size;
        uint64_t guard = __atomic_load_n((const uint64_t *)(mem + i * size), __ATOMIC_RELAXED);
        if (guard != (w->g.guard_cookie ^ addr)) fn(ctx, addr, cls);
    }
}

typedef struct usage {
    size_t live_slots, live_bytes, touched_bytes;
    size_t class_live[ZT_NANO_CLASSES], class_blocks[ZT_NANO_CLASSES];
} usage_t;

static void usage_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    usage_t *u = ctx;
    unsigned next = h_next(h);
    if (next == SLOT_NULL || next == SLOT_MADVISED) return;
    unsigned live = w->g.slots[cls] - h_free_slots(h, w->g.slots[cls]);
    u->live_slots += live;
    u->live_bytes += live * class_bytes(cls);
    u->touched_bytes += NANO_BLOCK_BYTES;
    u->class_live[cls] += live;
    u->class_blocks[cls]++;
}

static void usage_region(walk_t *w, unsigned ri, usage_t *u)
{
    walk_blocks(w, ri, usage_block, u);
    u->touched_bytes += walk_region_arenas(w, ri) * NANO_BLOCK_BYTES; /* metadata blocks */
}

/* ---- enumerator ------------------------------------------------------------ */

#define ENUM_BATCH 64

typedef struct enum_ctx {
    task_t task;
    void *context;
    vm_range_recorder_t *recorder;
    unsigned type;
    unsigned count;
    vm_range_t ranges[ENUM_BATCH];
} enum_ctx_t;

static void enum_flush(enum_ctx_t *e)
{
    if (e->count) e->recorder(e->task, e->context, e->type, e->ranges, e->count);
    e->count = 0;
}

static void enum_add(enum_ctx_t *e, uintptr_t addr, size_t bytes)
{
    e->ranges[e->count].address = addr;
    e->ranges[e->count].size = bytes;
    if (++e->count == ENUM_BATCH) enum_flush(e);
}

static void enum_slot(void *ctx, uintptr_t addr, unsigned cls)
{
    enum_add(ctx, addr, class_bytes(cls));
}

typedef struct enum_walk {
    enum_ctx_t *e;
} enum_walk_t;

static void enum_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    walk_slots(w, ri, blk, cls, h, enum_slot, ((enum_walk_t *)ctx)->e);
}

static kern_return_t nano_enumerator(task_t task, void *context, unsigned type_mask,
                                     vm_address_t zone_address, memory_reader_t reader,
                                     vm_range_recorder_t recorder)
{
    walk_t w;
    if (task == 0) tc_flush_mine(zone_nano((malloc_zone_t *)zone_address)); /* this process */
    if (!walk_open(&w, task, reader, zone_address)) return KERN_FAILURE;
    enum_ctx_t e = {.task = task, .context = context, .recorder = recorder};
    if (type_mask & MALLOC_ADMIN_REGION_RANGE_TYPE) {
        e.type = MALLOC_ADMIN_REGION_RANGE_TYPE;
        for (unsigned a = 0; a < w.narenas; a++)
            enum_add(&e,
                     w.region_base[a / NANO_ARENAS_PER_REGION] +
                         ((uintptr_t)(a % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT) +
                         ((uintptr_t)w.g.aslr_cookie << NANO_BLOCK_SHIFT),
                     NANO_BLOCK_BYTES);
        enum_flush(&e);
    }
    if (type_mask & MALLOC_PTR_REGION_RANGE_TYPE) {
        e.type = MALLOC_PTR_REGION_RANGE_TYPE;
        for (unsigned a = 0; a < w.narenas; a++)
            enum_add(&e,
                     w.region_base[a / NANO_ARENAS_PER_REGION] +
                         ((uintptr_t)(a % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT),
                     NANO_ARENA_BYTES);
        enum_flush(&e);
    }
    if (type_mask & MALLOC_PTR_IN_USE_RANGE_TYPE) {
        e.type = MALLOC_PTR_IN_USE_RANGE_TYPE;
        enum_walk_t ew = {&e};
        for (unsigned ri = 0; ri < w.nregions; ri++)
            walk_blocks(&w, ri, enum_block, &ew);
        enum_flush(&e);
    }
    return KERN_SUCCESS;
}

/* ---- zt_nano_walk ------------------------------------------------------------ */

typedef struct zwalk {
    const zt_walker_t *zw;
    nano_region_t *r;
} zwalk_t;

static void zwalk_slot(void *ctx, uintptr_t addr, unsigned cls)
{
    zwalk_t *z = ctx;
    uint32_t *tags = __atomic_load_n(&z->r->tags, __ATOMIC_ACQUIRE);
    uint32_t tag = tags ? __atomic_load_n(&tags[(addr - z->r->base) >> 4], __ATOMIC_RELAXED) : 0;
    z->zw->block(z->zw->ctx, addr, class_bytes(cls), ZT_CLASS_NANO_FIRST + cls, tag);
}

static void zwalk_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    walk_slots(w, ri, blk, cls, h, zwalk_slot, ctx);
}

void zt_nano_walk(malloc_zone_t *zone, const zt_walker_t *zw)
{
    nano_t *n = zone_nano(zone);
    walk_t w;
    tc_flush_mine(n);
    zt_lock(&n->regions_lock); /* no new arenas or regions during the walk */
    if (walk_open(&w, 0, NULL, (uintptr_t)zone)) {
        for (unsigned ri = 0; ri < w.nregions; ri++) {
            usage_t u;
            memset(&u, 0, sizeof u);
            usage_region(&w, ri, &u);
            if (zw->region)
                zw->region(zw->ctx, zone, ZT_KIND_NANO, w.region_base[ri], NANO_REGION_BYTES,
                           u.live_bytes);
            if (zw->admin)
                for (unsigned a = 0; a < walk_region_arenas(&w, ri); a++)
                    zw->admin(zw->ctx,
                              w.region_base[ri] + ((uintptr_t)a << NANO_ARENA_SHIFT) +
                                  ((uintptr_t)w.g.aslr_cookie << NANO_BLOCK_SHIFT),
                              NANO_BLOCK_BYTES);
            if (zw->block) {
                zwalk_t z = {zw, n->regions[ri]};
                walk_blocks(&w, ri, zwalk_block, &z);
            }
        }
    }
    zt_unlock(&n->regions_lock);
}

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
    if (__builtin_expect(size <= ZT_NANO_MAX_BYTES, 1)) {
        void *p = alloc_tagged(n, size ? (unsigned)(size - 1) >> 4 : 0);
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
        unsigned cls = total ? (unsigned)(total - 1) >> 4 : 0;
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
    if (__builtin_expect(r != NULL, 1))
        nano_free_ptr(n, r, ptr);
    else
        n->helper->free(n->helper, ptr);
}

void zt_nano_free_owned(zt_owner_t *o, void *ptr)
{
    nano_region_t *r = (nano_region_t *)o;
    nano_free_ptr(r->nano, r, ptr);
}

static void nano_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    nano_free(zone, ptr);
}

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
    if (new_size <= old_size && new_size > old_size / 2) return ptr;
    void *np = nano_malloc(zone, new_size);
    if (!np) return new_size <= old_size ? ptr : NULL;
    memcpy(np, ptr, new_size < old_size ? new_size : old_size);
    free_slot(n, r, ptr, &si);
    return np;
}

static unsigned nano_batch_malloc(malloc_zone_t *zone, size_t size, void **results, unsigned count)
{
    nano_t *n = zone_nano(zone);
    unsigned got = 0;
    if (size <= ZT_NANO_MAX_BYTES) {
        unsigned cls = size ? (unsigned)(size - 1) >> 4 : 0;
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
    tc_unclaim(n);
    if (n->helper->destroy) n->helper->destroy(n->helper);
    for (unsigned i = 0; i < n->nregions; i++) {
        nano_region_t *r = n->regions[i];
        zt_chunkmap_set(r->base, NANO_REGION_BYTES, NULL);
        zt_prim_unmap((void *)r->base, NANO_REGION_BYTES);
        if (r->tags) zt_prim_unmap(r->tags, NANO_TAG_BYTES);
        zt_prim_unmap(r, sizeof(nano_region_t));
    }
    zt_prim_unmap(zone, n->map_bytes);
}

static size_t nano_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    nano_t *n = zone_nano(zone);
    size_t total = 0;
    tc_flush_mine(n);
    unsigned narenas = __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE);
    for (unsigned a = 0; a < narenas; a++) {
        uintptr_t base = arena_base(n, a);
        for (unsigned b = 1; b < NANO_BLOCKS_PER_ARENA; b++) {
            uintptr_t blk = block_addr(base, b ^ n->g.aslr_cookie);
            if (h_next(__atomic_load_n(block_header(n, blk), __ATOMIC_ACQUIRE)) == SLOT_CAN_MADVISE)
                total += madvise_block(n, blk);
            if (goal && total >= goal) return total;
        }
    }
    return total;
}

static boolean_t nano_claimed_address(malloc_zone_t *zone, void *ptr)
{
    nano_t *n = zone_nano(zone);
    if (region_of(n, ptr)) return 1;
    malloc_zone_t *h = n->helper;
    if (h->version >= 10 && h->claimed_address) return h->claimed_address(h, ptr);
    return h->size(h, ptr) != 0;
}

/* ---- introspection ---------------------------------------------------------- */

static size_t nano_good_size(malloc_zone_t *zone, size_t size)
{
    if (size <= ZT_NANO_MAX_BYTES) return size ? (size + 15) & ~(size_t)15 : 16;
    malloc_zone_t *h = zone_nano(zone)->helper;
    if (h->introspect && h->introspect->good_size) return h->introspect->good_size(h, size);
    return size;
}

/* Walk every list block's free list; a fault is reported only when the
 * header did not change during the walk (a concurrent pop is not one). */
static boolean_t nano_check(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    tc_flush_mine(n);
    unsigned narenas = __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE);
    for (unsigned a = 0; a < narenas; a++) {
        uintptr_t base = arena_base(n, a);
        for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++) {
            unsigned slots = n->g.slots[cls];
            size_t size = class_bytes(cls);
            for (unsigned b = n->g.class_first[cls]; b < n->g.class_end[cls]; b++) {
                uintptr_t blk = block_addr(base, b ^ n->g.aslr_cookie);
                uint32_t *hp = block_header(n, blk);
                uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
                unsigned next = h_next(h);
                const char *bad = NULL;
                if (h_has_slots(h) && next != SLOT_BUMP && next != SLOT_FULL) {
                    unsigned steps = 0, limit = h_free(h) + 1;
                    if (next > slots) bad = "list head out of range";
                    while (!bad && next - 1u < slots) {
                        const nano_free_slot_t *s = (void *)(blk + (next - 1) * size);
                        if (s->guard != (n->g.guard_cookie ^ (uintptr_t)s))
                            bad = "free slot guard overwritten";
                        else if (++steps > limit)
                            bad = "free list longer than the free count";
                        next = s->next_slot;
                    }
                    if (!bad && next != SLOT_BUMP && next != SLOT_FULL)
                        bad = "free list link out of range";
                } else if (h_has_slots(h) && next == SLOT_BUMP && h_free(h) + 1 > slots) {
                    bad = "free count above the slot count";
                }
                if (bad && __atomic_load_n(hp, __ATOMIC_ACQUIRE) == h) {
                    zt_prim_message("nano check: block %p (nano-%zu): %s", (void *)blk, size, bad);
                    return 0;
                }
            }
        }
    }
    return 1;
}

static void nano_usage(nano_t *n, usage_t *u)
{
    walk_t w;
    tc_flush_mine(n);
    memset(u, 0, sizeof *u);
    if (!walk_open(&w, 0, NULL, (uintptr_t)n->zone)) return;
    for (unsigned ri = 0; ri < w.nregions; ri++)
        usage_region(&w, ri, u);
}

static void nano_print(malloc_zone_t *zone, boolean_t verbose)
{
    nano_t *n = zone_nano(zone);
    usage_t u;
    nano_usage(n, &u);
    zt_prim_message("%s (nano v2): %u region(s), %u arena(s), %zu live slots, %zu live bytes",
                    zone->zone_name ? zone->zone_name : nano_zone_name, n->nregions,
                    n->arenas_claimed, u.live_slots, u.live_bytes);
    for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++)
        if (verbose || u.class_blocks[cls])
            zt_prim_message("  nano-%3zu %6zu blocks %9zu live, capacity %zu KiB%s",
                            class_bytes(cls), u.class_blocks[cls], u.class_live[cls],
                            zt_nano_class_capacity_bytes(zone, cls) >> 10,
                            (n->delegate_bits >> cls) & 1 ? ", delegated" : "");
}

static void nano_log(malloc_zone_t *zone, void *address) {}

static void nano_force_lock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    if (n->tc_id) zt_lock(&tc_lock); /* no cache is made or retired across fork */
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_lock(&n->current_lock[c][i]);
    zt_lock(&n->regions_lock);
    zt_lock(&n->madvise_lock);
}

static void nano_force_unlock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    zt_unlock(&n->madvise_lock);
    zt_unlock(&n->regions_lock);
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_unlock(&n->current_lock[c][i]);
    if (n->tc_id) zt_unlock(&tc_lock);
}

/* Fork child: the parent's threads are gone but every multi-step change
 * ran under a lock held by force_lock, so the metadata is consistent and
 * the child keeps allocating from nano (libmalloc leaks instead). */
static void nano_reinit_lock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    zt_lock_reinit(&n->madvise_lock);
    zt_lock_reinit(&n->regions_lock);
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_lock_reinit(&n->current_lock[c][i]);
    if (n->tc_id) tc_fork_child(n);
}

static void nano_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    usage_t u;
    nano_usage(zone_nano(zone), &u);
    stats->blocks_in_use = (unsigned)u.live_slots;
    stats->size_in_use = u.live_bytes;
    stats->max_size_in_use = u.touched_bytes;
    stats->size_allocated = u.touched_bytes;
}

static boolean_t nano_zone_locked(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    return __atomic_load_n(&n->regions_lock.word, __ATOMIC_RELAXED) != 0 ||
           __atomic_load_n(&n->madvise_lock.word, __ATOMIC_RELAXED) != 0;
}

static boolean_t nano_enable_discharge_checking(malloc_zone_t *zone)
{
    return 0;
}
static void nano_disable_discharge_checking(malloc_zone_t *zone) {}
static void nano_discharge(malloc_zone_t *zone, void *memory) {}

static void nano_print_task(task_t task, unsigned level, vm_address_t zone_address,
                            memory_reader_t reader, print_task_printer_t printer)
{
}

static void nano_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                 malloc_statistics_t *stats)
{
    walk_t w;
    usage_t u;
    memset(&u, 0, sizeof u);
    if (walk_open(&w, task, reader, zone_address))
        for (unsigned ri = 0; ri < w.nregions; ri++)
            usage_region(&w, ri, &u);
    stats->blocks_in_use = (unsigned)u.live_slots;
    stats->size_in_use = u.live_bytes;
    stats->max_size_in_use = u.touched_bytes;
    stats->size_allocated = u.touched_bytes;
}

static malloc_introspection_t nano_introspect = {
    .enumerator = nano_enumerator,
    .good_size = nano_good_size,
    .check = nano_check,
    .print = nano_print,
    .log = nano_log,
    .force_lock = nano_force_lock,
    .force_unlock = nano_force_unlock,
    .statistics = nano_statistics,
    .zone_locked = nano_zone_locked,
    .enable_discharge_checking = nano_enable_discharge_checking,
    .disable_discharge_checking = nano_disable_discharge_checking,
    .discharge = nano_discharge,
    .enumerate_discharged_pointers = NULL,
    .reinit_lock = nano_reinit_lock,
    .print_task = nano_print_task,
    .task_statistics = nano_task_statistics,
    .zone_type = 0,
};

/* ---- creation and test support ------------------------------------------------ */

static void layout_classes(nano_t *n, const uint8_t units_in[ZT_NANO_CLASSES])
{
    const uint8_t *units = zt_profile_default_nano_class_units;
    unsigned sum = 0;
    bool ok = true;
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++) {
        ok &= units_in[c] != 0;
        sum += units_in[c];
    }
    if (ok && sum == 64) units = units_in;
    memset(n->block_class, NANO_NO_CLASS, sizeof n->block_class);
    unsigned b = 0;
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++) {
        size_t size = class_bytes(c);
        unsigned end = b + units[c] * NANO_UNIT_BLOCKS;
        n->g.class_first[c] = (uint16_t)(b ? b : 1); /* block 0: metadata */
        n->g.class_end[c] = (uint16_t)end;
        n->g.slots[c] = (uint16_t)(NANO_BLOCK_BYTES / size);
        n->g.magic[c] = (uint32_t)((((uint64_t)1 << 32) / size) + 1);
        for (unsigned i = n->g.class_first[c]; i < end; i++)
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
    n->map_bytes = map_bytes;
    n->g.aslr_cookie = 0; /* deterministic layout; any 12-bit value works */
    uint64_t c = zt_prim_now_ns() ^ ((uint64_t)(uintptr_t)zone << 13) ^ (uintptr_t)&c;
    c ^= c >> 33;
    c *= 0xff51afd7ed558ccdull;
    c ^= c >> 33;
    n->g.guard_cookie = c ? c : 0x9e3779b97f4a7c15ull;
    layout_classes(n, p->nano_class_units);

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
    zone->version = 10;
    zone->memalign = nano_memalign;
    zone->free_definite_size = nano_free_definite_size;
    zone->pressure_relief = nano_pressure_relief;
    zone->claimed_address = nano_claimed_address;
    tc_claim(n);
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
