/* ----------------------------------------------------------------------------
 * nano/alloc.c — allocation and free: popping a slot from a block, the
 * capacity-policy scan for a new current block, tags, pointer validation,
 * free, the per-thread cache front, and adding regions.
 *
 * A part of nano.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees nano.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_C
#error "this file is a part of nano.c and is only included from there"
#endif

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
            if (zt_unlikely(guard != (n->g.guard_cookie ^ (uintptr_t)s) || !link_ok)) {
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
    /* libmalloc-166.220.1 src/nanov2_malloc.c:568-580, 2387: the CPU number
     * (below the device's count, cpu.h) picks the current block. */
    unsigned idx = zt_cpu_here() & (NANO_MAX_CURRENT_BLOCKS - 1);
    uintptr_t blk = __atomic_load_n(&n->current[cls][idx], __ATOMIC_ACQUIRE);
    if (zt_likely(blk != 0)) {
        void *p = block_alloc(n, blk, cls);
        if (zt_likely(p != NULL)) return p;
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
    if (t)
        __atomic_store_n(&t[((uintptr_t)p - r->base) >> ZT_NANO_QUANTUM_SHIFT], tag,
                         __ATOMIC_RELAXED);
}

/* Clear and return the tag of the slot at ptr (0: untagged). Loads first:
 * an unsampled block (the common case in sample mode) costs one plain load,
 * not a store. */
static inline uint32_t tag_take(nano_region_t *r, const void *ptr)
{
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (!tags) return 0;
    uint32_t *tp = &tags[((uintptr_t)ptr - r->base) >> ZT_NANO_QUANTUM_SHIFT];
    uint32_t tag = __atomic_load_n(tp, __ATOMIC_RELAXED);
    if (tag) __atomic_store_n(tp, 0, __ATOMIC_RELAXED);
    return tag;
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
    zt_hook_freed(n->zone, ptr, class_bytes(cls), cls, tag_take(r, ptr));
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
    if (zt_unlikely(after * 4 >= slots * 3) &&
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)))
        delegate_release(n, cls);
    if (h_next(nw) == SLOT_CAN_MADVISE) madvise_block(n, si->blk);
}

/* ---- per-thread cache -------------------------------------------------------
 * The thread cache (tcache.c) in front of the block headers: a free of a
 * live slot parks it in the thread's bin for its class and the next
 * allocation of that class takes it back without any atomic operation (a pop
 * and a store, instead of a CAS on a shared header and a CPU number lookup).
 * A cached slot is free for every observer: its guard is set, so size() says
 * 0, a second free is reported as a double free and the walker skips it; its
 * block header still counts it as allocated, which keeps the block from
 * being restarted or madvised under the cache. Only frees fill the cache (a
 * miss allocates from the current block exactly as before) and frees of a
 * delegated class bypass it, so capacity, delegation and the 75 % release
 * rule follow libmalloc's sequence. A full class flushes its older half. */

#define TC_SLOTS 64 /* cached slots per class (the section's stride) */

/* zt_tcache_flush_fn: give cached slots back to their blocks. */
static size_t tc_flush(void *owner, unsigned cls, void *const *slots, unsigned count)
{
    nano_t *n = owner;
    for (unsigned i = 0; i < count; i++) {
        void *p = slots[i];
        nano_region_t *r = region_of(n, p);
        if (!r) continue; /* cannot happen while n owns the entry */
        slot_info_t si;
        uintptr_t a = (uintptr_t)p;
        si.blk = a & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
        si.cls = cls;
        si.idx = (unsigned)(((uint64_t)(a - si.blk) * n->g.magic[cls]) >> 32);
        si.h = __atomic_load_n(block_header(n, si.blk), __ATOMIC_ACQUIRE);
        nano_free_live(n, r, p, &si);
    }
    return 0;
}

static inline void *alloc_tagged(nano_t *n, unsigned cls)
{
    zt_tcache_section_t *tc = zt_tcache_mine(ZT_TCACHE_NANO, n->tc_id);
    void *p;
    if (zt_likely(tc != NULL) && zt_tcache_pop(tc, cls, TC_SLOTS, &p))
        ((nano_free_slot_t *)p)->guard = 0; /* live again */
    else if ((p = nano_alloc(n, cls)) == NULL)
        return NULL;
    if (zt_hook_wanted(class_bytes(cls))) tag_alloc(n, p, cls);
    return p;
}

/* Free a live slot: into the thread's cache when it can take it. */
static inline __attribute__((always_inline)) void free_slot(nano_t *n, nano_region_t *r, void *ptr,
                                                            const slot_info_t *si)
{
    unsigned cls = si->cls;
    zt_tcache_section_t *tc = zt_tcache_for_free(ZT_TCACHE_NANO, n->tc_id);
    if (zt_unlikely(tc == NULL) ||
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls))) {
        nano_free_live(n, r, ptr, si);
        return;
    }
    zt_hook_freed(n->zone, ptr, class_bytes(cls), cls, tag_take(r, ptr));
    ((nano_free_slot_t *)ptr)->guard = n->g.guard_cookie ^ (uintptr_t)ptr;
    if (zt_unlikely(tc->count[cls] == TC_SLOTS))
        zt_tcache_flush_bin(tc, ZT_TCACHE_NANO, cls, TC_SLOTS / 2);
    zt_tcache_push(tc, cls, TC_SLOTS, ptr);
}

static boolean_t nano_check(malloc_zone_t *zone);

static inline __attribute__((always_inline)) void nano_free_ptr(nano_t *n, nano_region_t *r,
                                                                void *ptr)
{
    zt_debug_check(&n->debug_ops, nano_check(n->zone));
    slot_info_t si;
    enum slot_state st = slot_lookup(n, r, ptr, &si);
    if (zt_likely(st == SLOT_LIVE))
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
