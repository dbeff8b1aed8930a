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
static __attribute__((noinline, cold)) uint32_t pop_conflict(uint32_t *hp, uint32_t seen,
                                                             const void *slot)
{
    uint32_t now = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (now == seen) zt_error_corruption("nano free list (use after free?)", slot);
    return now;
}

/* region_of out of line: the chunk-map lookup kept out of the allocation
 * fast path's frame (hw_raise, a block of a second region). */
static __attribute__((noinline, cold)) nano_region_t *region_of_cold(const nano_t *n, uintptr_t blk)
{
    return region_of(n, (void *)blk);
}

/* Raise the block's bump high water over slot idx (monotonic; every
 * handed-out slot is below it before the pointer leaves the allocator). */
static inline void hw_raise(const nano_t *n, uintptr_t blk, unsigned idx)
{
    /* The first region (the only one on a device profile) without the
     * chunk-map lookup: regions[0] is published before any block is handed
     * out and never changes. */
    nano_region_t *r = __atomic_load_n(&n->regions[0], __ATOMIC_RELAXED);
    if (zt_unlikely(((blk ^ r->base) & ~(uintptr_t)(NANO_REGION_BYTES - 1)) != 0))
        r = region_of_cold(n, blk);
    uint16_t *hwp = block_hw(r, blk);
    uint16_t cur = __atomic_load_n(hwp, __ATOMIC_RELAXED);
    while (cur <= idx && !__atomic_compare_exchange_n(hwp, &cur, (uint16_t)(idx + 1), true,
                                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* One CAS: pop the free list or bump the tail. NULL if the block has no
 * free slot or is not in an allocatable state. Inlined into nano_alloc (the
 * fast path: one call layer fewer per allocation); block_alloc is the
 * out-of-line copy for the slow paths. */
static inline __attribute__((always_inline)) void *block_alloc_inl(const nano_t *n, uintptr_t blk,
                                                                   unsigned cls)
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

static __attribute__((noinline)) void *block_alloc(const nano_t *n, uintptr_t blk, unsigned cls)
{
    return block_alloc_inl(n, blk, cls);
}

/* Slots first .. first + k - 1 of blk's untouched tail, taken by the
 * caller's CAS, into out[] with their free guards set (they go to the
 * thread's cache, where a slot is free for every observer), under a
 * raised high water. */
static void bump_out(const nano_t *n, uintptr_t blk, unsigned cls, unsigned first, unsigned k,
                     void **out)
{
    size_t size = class_bytes(cls);
    uint64_t cookie = n->g.guard_cookie;
    for (unsigned i = 0; i < k; i++) {
        nano_free_slot_t *sl = (nano_free_slot_t *)(blk + (first + i) * size);
        sl->guard = cookie ^ (uintptr_t)sl;
        out[i] = sl;
    }
    hw_raise(n, blk, first + k - 1);
}

/* Native's batch refill of the thread cache (issue 15): up to max slots of
 * blk's bump region with one CAS. Only the bump region: its state is the
 * header alone (next == BUMP and free_count say which slots are untouched),
 * so a CAS that succeeds after gen_count wrapped round still takes free
 * slots. A free list is not walked here: a CAS after a walk of 32 links
 * would succeed on a header that came back to the same value (10-bit
 * gen_count: 1024 operations while the walker is descheduled) with links
 * read from a list that has changed since, an ABA window 32 reads wide
 * instead of block_alloc's one; list slots are popped one CAS each
 * (tc_refill). The slots are written into out[] with their free guards set:
 * they go to the cache, where a slot is free for every observer (see the
 * per-thread cache below). Returns how many (0: blk is not in bump state or
 * has no free slot). */
static unsigned block_alloc_batch(const nano_t *n, uintptr_t blk, unsigned cls, void **out,
                                  unsigned max)
{
    uint32_t *hp = block_header(n, blk);
    unsigned slots = n->g.slots[cls];
    uint32_t old = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    unsigned k, first;
    for (;;) {
        if (h_next(old) != SLOT_BUMP) return 0;
        unsigned fc = h_free(old);
        first = slots - fc - 1;
        k = fc + 1 < max ? fc + 1 : max;
        unsigned new_next = k == fc + 1 ? SLOT_FULL : SLOT_BUMP;
        uint32_t nw = h_make(new_next, fc + 1 > k ? fc - k : 0, h_gen(old) + 1, h_in_use(old));
        if (__atomic_compare_exchange_n(hp, &old, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    bump_out(n, blk, cls, first, k, out);
    return k;
}

/* A link or guard of a free list this thread owns (block_take_list) is
 * wrong: no other thread can have changed it, so the list is corrupt. */
static __attribute__((noinline, cold, noreturn)) void owned_list_corrupt(const void *slot)
{
    zt_error_corruption("nano free list (use after free?)", slot);
}

/* The slot a 1-based link names, checked as a free slot of blk whose next
 * link is one a list may hold (the caller owns the list). */
static inline nano_free_slot_t *owned_slot(const nano_t *n, uintptr_t blk, unsigned cls,
                                           unsigned link)
{
    unsigned slots = n->g.slots[cls];
    nano_free_slot_t *s = (nano_free_slot_t *)(blk + (link - 1u) * class_bytes(cls));
    if (zt_unlikely(link - 1u >= slots)) owned_list_corrupt((const void *)blk);
    unsigned next = s->next_slot;
    if (zt_unlikely(s->guard != (n->g.guard_cookie ^ (uintptr_t)s) ||
                    !(next - 1u < slots || next == SLOT_BUMP || next == SLOT_FULL)))
        owned_list_corrupt(s);
    return s;
}

/* A test's hook, NULL otherwise: called while a refill holds a block's
 * rest (block_take_list), so that a test can make another thread take the
 * same block meanwhile, as a preemption there would. One load per refill
 * that gives a rest back. */
ZT_HIDDEN void (*volatile zt_nano_hold_hook)(uintptr_t blk);

/* Native's batch refill from a block whose free slots are a list:
 * block_alloc_batch takes only an untouched bump region, so a block that
 * keeps a few long-lived slots (any real program's; in sample mode, the
 * profiler's start-up dlopen) never went back to the bump state and every
 * refill from it popped its slots one CAS each (bench threads in sample
 * mode: 24 times the per-slot pops of stacks off, callgrind).
 *
 * One CAS takes every free slot of the block: the header becomes FULL, so
 * no other thread can reach them, and their links are read afterwards (no
 * ABA window: block_alloc_batch's comment). The first `max` go to out[]
 * (a list slot keeps its free guard; an untouched tail slot gets one and
 * raises the high water). The rest go back with a second CAS; if the
 * header changed meanwhile, what is there is taken too and joined to the
 * rest, and the whole goes back, until a CAS holds:
 * - frees pushed slots on our FULL header (a list ending in FULL), perhaps
 *   popped again in part: that list goes in front of ours;
 * - another refill took those and gave its own rest back over our header:
 *   its rest may hold the untouched tail (a list ending in BUMP, or the bare
 *   tail); a block has one tail, so ours then ends in FULL and goes in
 *   front of theirs (found in review, with a hook that held two refills on
 *   one block: tests/stress/test_nano_take_race.c; before, that took the
 *   BUMP link for corruption and aborted).
 * Every list walked is this thread's own. Returns how many slots are in
 * out[] (0: blk holds no list). */
static unsigned block_take_list(const nano_t *n, uintptr_t blk, unsigned cls, void **out,
                                unsigned max)
{
    uint32_t *hp = block_header(n, blk);
    unsigned slots = n->g.slots[cls];
    uint32_t old = __atomic_load_n(hp, __ATOMIC_ACQUIRE), mine;
    for (;;) {
        if (h_next(old) - 1u >= SLOT_LIST_MAX) return 0;
        mine = h_make(SLOT_FULL, 0, h_gen(old) + 1, h_in_use(old));
        if (__atomic_compare_exchange_n(hp, &old, mine, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    unsigned count = h_free(old) + 1, k = 0, link = h_next(old);
    while (k < max && link != SLOT_FULL) {
        if (link == SLOT_BUMP) { /* the untouched tail: the last count - k slots */
            unsigned tail = count - k, first = slots - tail, t = max - k < tail ? max - k : tail;
            if (zt_unlikely(tail == 0 || tail > slots)) owned_list_corrupt((const void *)blk);
            bump_out(n, blk, cls, first, t, out + k);
            k += t;
            if (k == count) link = SLOT_FULL;
            break;
        }
        nano_free_slot_t *sl = owned_slot(n, blk, cls, link);
        out[k++] = sl;
        link = sl->next_slot;
    }
    if (zt_unlikely((link == SLOT_FULL) != (k == count) || k > count))
        owned_list_corrupt((const void *)blk);
    unsigned head = link, total = count - k;
    uint32_t cur = mine;
    if (total) {
        void (*hold)(uintptr_t) = zt_nano_hold_hook;
        if (zt_unlikely(hold != NULL)) hold(blk);
    }
    while (total) {
        /* The rest goes back only over a header with no free slot (FULL):
         * ours, or ours with the in-use bit flipped or pushes popped again. */
        if (h_next(cur) == SLOT_FULL) {
            uint32_t nw = h_make(head, total - 1, h_gen(cur) + 1, h_in_use(cur));
            if (__atomic_compare_exchange_n(hp, &cur, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                break;
            continue;
        }
        /* Slots pushed since (the rest still counts as allocated, so the
         * block cannot have emptied), or another refill's rest given back
         * over our FULL header (block_take_list on the same block): a list
         * ending in FULL, or, when that rest holds the untouched tail, a
         * list ending in BUMP or the bare tail (BUMP). */
        unsigned pn = h_next(cur);
        if (zt_unlikely(pn != SLOT_BUMP && pn - 1u >= SLOT_LIST_MAX))
            owned_list_corrupt((const void *)blk);
        uint32_t pushed = cur, again = h_make(SLOT_FULL, 0, h_gen(cur) + 1, h_in_use(cur));
        if (!__atomic_compare_exchange_n(hp, &cur, again, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        unsigned n_pushed = h_free(pushed) + 1, plink = pn, m = 0;
        if (zt_unlikely(total + n_pushed > slots)) owned_list_corrupt((const void *)blk);
        nano_free_slot_t *plast = NULL;
        while (m < n_pushed && plink != SLOT_BUMP) {
            plast = owned_slot(n, blk, cls, plink);
            plink = plast->next_slot;
            m++;
        }
        if (plink == SLOT_BUMP) {
            /* Theirs ends in the tail (n_pushed - m >= 1 slots), so ours has
             * none (a block has one tail) and ends in FULL: ours goes first. */
            if (zt_unlikely(m >= n_pushed)) owned_list_corrupt((const void *)blk);
            nano_free_slot_t *olast = owned_slot(n, blk, cls, head);
            for (unsigned i = 1; i < total; i++)
                olast = owned_slot(n, blk, cls, olast->next_slot);
            if (zt_unlikely(olast->next_slot != SLOT_FULL)) owned_list_corrupt(olast);
            olast->next_slot = (uint16_t)pn;
        } else {
            /* Theirs ends in FULL after n_pushed slots: it goes first. */
            if (zt_unlikely(plink != SLOT_FULL)) owned_list_corrupt(plast);
            plast->next_slot = (uint16_t)head;
            head = pn;
        }
        total += n_pushed;
        cur = again;
    }
    return k;
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
    /* A madvised block may be held (va.c's ledger) rather than purged: it
     * leaves the ledger before its pages are used again. No zeroing: nano's
     * calloc clears, as REUSABLE pages need not read zero on the device. */
    if (h_next(h) == SLOT_MADVISED) zt_va_take((void *)blk, NANO_BLOCK_BYTES, false);
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

/* Scan the class's blocks of one arena for a block to make current:
 * libmalloc's nanov2_find_block_in_arena (libmalloc-166.220.1
 * src/nanov2_malloc.c:2087-2246), step for step, because which block a
 * request gets is what the fidelity tests compare.
 * - start < 0 (a CPU's first block, or any arena but the current block's):
 *   first fit from the class's first block (:2096-2098, :2312).
 * - otherwise from the current block backwards to the class's first block,
 *   then forwards from it, wrapping, back to it (:2172-2190); both legs visit
 *   the start block (it is in use, so it is skipped).
 * - capacity policy: percent = 100 * free_count / slots with free_count = free
 *   slots - 1 (:2144); 20..80 taken at once; above 80 a fallback (the latest
 *   one once a below-20 block was kept first), the first below 20 a fallback
 *   too, later ones the "free" candidate; never used / madvised blocks are
 *   the free candidate, awaiting madvise the last resort (:2127-2170).
 * - the scan limit (10) counts visits only once a fallback or free
 *   candidate exists (a madvisable block does not count) and is reset when
 *   the scan turns from backwards to forwards (:2174-2179, :2186-2190).
 * - preference: found, fallback, free, madvisable; if the chosen block cannot
 *   be claimed (raced) the scan starts again (:2193-2244). */
static uintptr_t scan_arena(nano_t *n, unsigned arena, unsigned cls, int start)
{
    uintptr_t base = arena_base(n, arena);
    unsigned first = n->g.class_first[cls], end = n->g.class_end[cls];
    unsigned cookie = n->g.aslr_cookie, slots = n->g.slots[cls];
    if (first >= end) return 0; /* a class given no blocks */
    bool first_fit = start < 0;
    unsigned s0 = first_fit ? first : (unsigned)start;
    for (;;) {
        uintptr_t found = 0, madv = 0, freeb = 0, fallback = 0;
        bool fallback_below_min = false, backwards = true, freeb_dirty = false;
        int limit = SCAN_LIMIT_AFTER_CANDIDATE;
        unsigned b = s0;
        do {
            uintptr_t blk = block_addr(base, b ^ cookie);
            uint32_t h = __atomic_load_n(block_header(n, blk), __ATOMIC_ACQUIRE);
            unsigned next = h_next(h);
            if (!h_in_use(h) && next != SLOT_FULL && next != SLOT_MADVISING) {
                if (next == SLOT_CAN_MADVISE) {
                    /* Native defers the madvise (defer_purge): an emptied
                     * block still has its pages, so it is the best free
                     * candidate; libmalloc takes it last (:2127-2170). */
                    if (n->defer_max && !freeb_dirty) {
                        freeb = blk;
                        freeb_dirty = true;
                    } else if (!madv) {
                        madv = blk;
                    }
                } else if (next == SLOT_NULL || next == SLOT_MADVISED) {
                    if (!freeb) freeb = blk;
                } else if (first_fit) {
                    found = blk;
                } else {
                    unsigned pct = 100 * h_free(h) / slots;
                    if (pct >= SCAN_MIN_PERCENT_FREE && pct <= SCAN_MAX_PERCENT_FREE) {
                        found = blk;
                    } else if (pct >= SCAN_MIN_PERCENT_FREE) {
                        if (!fallback || fallback_below_min) fallback = blk;
                    } else if (!fallback) {
                        fallback = blk;
                        fallback_below_min = true;
                    } else if (!freeb) {
                        freeb = blk;
                    }
                }
                if (first_fit && (found || fallback || freeb)) break;
            }
            if (limit > 0 && (fallback || freeb) && --limit == 0) break;
            if (backwards) {
                if (b == first) {
                    limit = SCAN_LIMIT_AFTER_CANDIDATE;
                    backwards = false;
                    b = s0;
                } else {
                    b--;
                }
            } else {
                b = b + 1 == end ? first : b + 1;
                if (b == s0) break;
            }
        } while (!found);
        if (!found) found = fallback ? fallback : freeb ? freeb : madv;
        if (!found) return 0;
        uint32_t h = __atomic_load_n(block_header(n, found), __ATOMIC_ACQUIRE);
        if (h_next(h) == SLOT_MADVISING) continue;
        if (!h_in_use(h) && h_next(h) != SLOT_FULL && block_take(n, found, h, cls)) return found;
    }
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

/* Native only (profile nano_stagger_classes, issue 15): where a (class,
 * CPU) with no current block starts its scan of the first arena. libmalloc
 * scans first fit from the class's first block, and every class's range
 * starts at a multiple of 64 blocks (layout_classes): all sixteen first
 * blocks then sit at the same offset modulo 1 MiB, so at the same cache
 * colour, and a class with few live slots uses only the start of its block.
 * handoff's live set (1000 blocks of 16-512 B) put up to 18 lines in one
 * set of an 8-way, 512 KiB L2 (glibc: 6); cachegrind counted 8x glibc's L2
 * misses, 3x fewer with 16 ways, none with nano off. Starting class c at
 * class_first + c spreads the first blocks over 16 colours (16 KiB blocks:
 * four per colour of a 64 KiB L2 way, one of a 256 KiB one). The scan from
 * there is libmalloc's own (non-first-fit from a given block); the blocks
 * and address space are the same, only which block comes first differs.
 * -1 (first fit, libmalloc's) everywhere else. */
static inline int stagger_from(const nano_t *n, unsigned cls, uintptr_t cur, unsigned k)
{
    unsigned first = n->g.class_first[cls], end = n->g.class_end[cls];
    if (!n->stagger || cur || k != 0 || first >= end) return -1;
    return (int)(first + cls % (end - first));
}

/* libmalloc's nanov2_find_block_and_allocate (libmalloc-166.220.1
 * src/nanov2_malloc.c:2259-2365): the current block's arena from the current
 * block, then every other claimed arena first fit, in order, wrapping; then
 * a new arena (a new region on macOS), scanned with every other arena from
 * it, first fit. cur: the current block (in use) or 0. */
static uintptr_t find_block(nano_t *n, unsigned cls, uintptr_t cur)
{
    unsigned start = cur ? arena_number(n, cur) : 0;
    for (;;) {
        unsigned narenas = __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE);
        for (unsigned k = 0; k < narenas; k++) {
            int from = stagger_from(n, cls, cur, k);
            if (k == 0 && cur)
                from = (int)(((cur >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1)) ^
                             n->g.aslr_cookie);
            uintptr_t b = scan_arena(n, (start + k) % narenas, cls, from);
            if (b) return b;
        }
        if (n->g.class_first[cls] >= n->g.class_end[cls]) return 0; /* no blocks: delegate */
        if (!arena_claim(n, narenas)) return 0;
        start = narenas;
        cur = 0;
    }
}

/* Slow path under the (class, cpu) lock. NULL: the class is delegated.
 * *delegated_now is set when this call delegated it (event to send). As in
 * libmalloc (src/nanov2_malloc.c:2286-2300, 2362-2364, 2404-2441) the current block
 * stays current and in use while the scan runs and when nothing is found:
 * it is released only when another block took its place, so a delegated
 * class keeps its last block (frees to it neither release the class nor
 * madvise it, and the fast path tries it first). Out of line and cold: inlined,
 * its frame (six saved registers, 200 B of stack) was set up by every
 * nano_alloc, whose fast path is one CAS. */
static __attribute__((noinline, cold)) void *alloc_slow(nano_t *n, unsigned cls, unsigned idx,
                                                        bool *delegated_now)
{
    zt_lock_t *l = &n->current_lock[cls][idx];
    uintptr_t *curp = &n->current[cls][idx];
    void *p = NULL;
    zt_lock(l);
    uintptr_t orig = __atomic_load_n(curp, __ATOMIC_ACQUIRE), from = orig;
    if (orig && (p = block_alloc(n, orig, cls))) goto out;
    for (;;) {
        uintptr_t nb = find_block(n, cls, from);
        if (!nb) {
            uint32_t bit = 1u << cls;
            *delegated_now = !(__atomic_fetch_or(&n->delegate_bits, bit, __ATOMIC_ACQ_REL) & bit);
            break;
        }
        if ((p = block_alloc(n, nb, cls))) {
            __atomic_store_n(curp, nb, __ATOMIC_RELEASE);
            if (orig) block_release(n, orig);
            break;
        }
        /* Raced full: look again from it (libmalloc :2300-2307). */
        block_release(n, nb);
        from = nb;
    }
out:
    zt_unlock(l);
    return p;
}

/* alloc_slow and its event, out of line: emit_event's event record on the
 * stack made every nano_alloc set up a 200-byte frame. */
static __attribute__((noinline, cold)) void *alloc_slow_event(nano_t *n, unsigned cls, unsigned idx)
{
    bool delegated_now = false;
    void *p = alloc_slow(n, cls, idx, &delegated_now);
    if (delegated_now) emit_event(n, ZT_EV_NANO_DELEGATED, cls);
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
        void *p = block_alloc_inl(n, blk, cls);
        if (zt_likely(p != NULL)) return p;
    }
    if (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)) return NULL;
    return alloc_slow_event(n, cls, idx);
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

/* A block's count of tagged slots (nano_block_word_t). In sample mode one
 * block in many holds a sampled slot: a free reads this count, next to the
 * high water it reads anyway, and skips the tag (a load from an array a
 * quarter of the heap's size) when it is 0. */
static inline uint16_t *block_tags(nano_region_t *r, const void *ptr)
{
    return &block_word(r, (uintptr_t)ptr)->tagged;
}

static void tag_alloc(nano_t *n, void *p, unsigned cls)
{
    uint32_t tag = zt_hook_alloc_slow(n->zone, p, class_bytes(cls), cls);
    if (tag == 0) return;
    nano_region_t *r = region_of(n, p);
    uint32_t *t = region_tags(r);
    if (!t) return;
    uint32_t *tp = &t[((uintptr_t)p - r->base) >> ZT_NANO_QUANTUM_SHIFT];
    if (__atomic_exchange_n(tp, tag, __ATOMIC_RELAXED) == 0)
        __atomic_add_fetch(block_tags(r, p), 1, __ATOMIC_RELAXED);
}

/* True if the block holding ptr has a tagged slot. */
static inline bool block_tagged(nano_region_t *r, const void *ptr)
{
    return __atomic_load_n(block_tags(r, ptr), __ATOMIC_RELAXED) != 0;
}

/* Clear and return the tag of the slot at ptr (0: untagged). An untagged
 * block (the common case in sample mode) costs one load of its count. The
 * freeing thread sees the map whenever it sees the count its slot raised
 * (the program orders the free after the allocation that stored both);
 * the NULL test covers a count raised by another slot's allocation, which
 * nothing orders before this load (tag_peek). */
static inline uint32_t tag_take(nano_region_t *r, const void *ptr)
{
    if (!block_tagged(r, ptr)) return 0;
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (!tags) return 0;
    uint32_t *tp = &tags[((uintptr_t)ptr - r->base) >> ZT_NANO_QUANTUM_SHIFT];
    uint32_t tag = __atomic_exchange_n(tp, 0, __ATOMIC_RELAXED);
    if (tag) __atomic_sub_fetch(block_tags(r, ptr), 1, __ATOMIC_RELAXED);
    return tag;
}

/* True if the slot at ptr may carry a tag (false is exact; the front's hit
 * then gives up and the ordinary path reports the free): block_tagged, then
 * the slot's own tag, as the tiny hit's tag_maybe (rack/magazine.c). Why not
 * block_tagged alone: while a sampled slot lived, every free of its block
 * was refused and went to the block's free list (samesize in sample mode,
 * callgrind: 7 % more slow frees). The common free costs one load from the
 * line holding the block's high water. */
static inline bool slot_tagged(nano_region_t *r, const void *ptr)
{
    if (zt_likely(!block_tagged(r, ptr))) return false;
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    return tags == NULL ||
           __atomic_load_n(&tags[((uintptr_t)ptr - r->base) >> ZT_NANO_QUANTUM_SHIFT],
                           __ATOMIC_RELAXED) != 0;
}

/* The tag of the slot at ptr, left in place (walks): a block without a
 * tagged slot is answered from its count, so a walk touches only the tag
 * map's pages that hold tags (never-written pages would fault in). */
static inline uint32_t tag_peek(nano_region_t *r, uintptr_t ptr)
{
    if (!block_tagged(r, (const void *)ptr)) return 0;
    /* A walker may see another thread's count before that thread's map
     * (the count is read relaxed; nothing orders the two loads on arm64). */
    uint32_t *tags = __atomic_load_n(&r->tags, __ATOMIC_ACQUIRE);
    if (!tags) return 0;
    return __atomic_load_n(&tags[(ptr - r->base) >> ZT_NANO_QUANTUM_SHIFT], __ATOMIC_RELAXED);
}

static inline void *alloc_tagged(nano_t *n, unsigned cls);

/* ---- pointer checks and free --------------------------------------------- */

enum slot_state { SLOT_LIVE, SLOT_INVALID, SLOT_FREED };

typedef struct slot_info {
    uintptr_t blk;
    unsigned cls, idx;
    uint32_t *hp; /* the block's header word (block_header: not recomputed by the free) */
    uint32_t h;   /* header as seen by the lookup (a CAS starting point) */
} slot_info_t;

/* Classify an address inside region r without faulting.
 *
 * Cost (issue 15): the block's bump high water (side metadata, always
 * mapped) is read first, and a 0 ends the lookup. That one test stands for
 * three the lookup used to make:
 * - the arena is claimed (committed), so the header load cannot fault: a
 *   high water is raised only by hw_raise, for a slot handed out of a block
 *   of a claimed arena (arenas_claimed only grows), and its release store is
 *   ordered after the arena's commit and claim, which this acquire load then
 *   sees too; r->hw of an arena never claimed stays 0 (mapped zero);
 * - the block is not the metadata block: never handed out (block_class_phys
 *   gives it class 0 so that the magic load stays in bounds);
 * - idx < slots: hw <= slots (hw_raise stores idx + 1 with idx < slots), and
 *   idx < hw is tested below.
 * So the arenas_claimed load, the region index and the slot-count load are
 * gone; the classification is the one the three tests gave (INVALID). The
 * class comes from block_class_phys, indexed by the physical block (no
 * ASLR-cookie load). */
static inline __attribute__((always_inline)) enum slot_state
slot_lookup(const nano_t *n, nano_region_t *r, const void *ptr, slot_info_t *si)
{
    uintptr_t a = (uintptr_t)ptr;
    unsigned hw = __atomic_load_n(block_hw(r, a), __ATOMIC_ACQUIRE);
    unsigned phys = (unsigned)(a >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1);
    unsigned cls = n->block_class_phys[phys];
    unsigned in = (unsigned)(a & (NANO_BLOCK_BYTES - 1));
    unsigned idx = (unsigned)(((uint64_t)in * n->g.magic[cls]) >> 32);
    if (zt_unlikely(idx * class_bytes(cls) != in || idx >= hw)) return SLOT_INVALID;
    si->blk = a - in;
    si->cls = cls;
    si->idx = idx;
    si->hp = block_header(n, si->blk);
    uint32_t h = si->h = __atomic_load_n(si->hp, __ATOMIC_ACQUIRE);
    if (zt_unlikely(!h_has_slots(h))) return SLOT_INVALID;
    const nano_free_slot_t *s = ptr;
    if (__atomic_load_n(&s->guard, __ATOMIC_RELAXED) == (n->g.guard_cookie ^ a)) return SLOT_FREED;
    return SLOT_LIVE;
}

/* After a free to a block that is not current, with `after` free slots and
 * header nw: the release rule and the madvise. Out of line (and only called
 * when one of them may apply) so that nano_free_live_ keeps a small frame. */
static __attribute__((noinline)) void free_not_current(nano_t *n, uintptr_t blk, unsigned cls,
                                                       unsigned after, uint32_t nw)
{
    unsigned slots = n->g.slots[cls];
    /* libmalloc-166.220.1 src/nanov2_malloc.c:2518-2523: released when a block
     * that is not in use has free_count >= 0.75 * slots, where free_count is
     * the free slots minus one (a fresh block has slots - 1, :2229). */
    if ((after - 1) * 4 >= slots * 3 &&
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)))
        delegate_release(n, cls);
    if (h_next(nw) == SLOT_CAN_MADVISE) {
        if (n->defer_max)
            defer_purge(n, blk, nw);
        else
            madvise_block(n, blk);
    }
}

/* The free of a live slot: one CAS pushing it on its block's list. Its
 * arguments fit the six argument registers (cls and idx packed: cls_idx =
 * idx << 8 | cls) so that the callers end in a tail call without a frame;
 * hp and h come from slot_lookup. */
static __attribute__((noinline)) void nano_free_live_(nano_t *n, nano_region_t *r, void *ptr,
                                                      unsigned cls_idx, uint32_t *hp, uint32_t h)
{
    unsigned cls = cls_idx & 0xFF, slots = n->g.slots[cls];
    uintptr_t blk = (uintptr_t)ptr & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
    zt_hook_freed(n->zone, ptr, class_bytes(cls), cls, tag_take(r, ptr));
    nano_free_slot_t *s = ptr;
    s->guard = n->g.guard_cookie ^ (uintptr_t)ptr;
    uint32_t old = h, nw;
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
            nw = h_make((cls_idx >> 8) + 1, after - 1, h_gen(old) + 1, h_in_use(old));
        }
        if (__atomic_compare_exchange_n(hp, &old, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    if (zt_likely(h_in_use(nw))) return;
    if (zt_unlikely((after - 1) * 4 >= slots * 3) || h_next(nw) == SLOT_CAN_MADVISE)
        free_not_current(n, blk, cls, after, nw);
}

static inline void nano_free_live(nano_t *n, nano_region_t *r, void *ptr, const slot_info_t *si)
{
    nano_free_live_(n, r, ptr, si->idx << 8 | si->cls, si->hp, si->h);
}

/* ---- per-thread cache -------------------------------------------------------
 * The thread cache (tcache.c) in front of the block headers: a free of a
 * live slot parks it in the thread's bin for its class and the next
 * allocation of that class takes it back without any atomic operation (a pop
 * and a store, instead of a CAS on a shared header and a CPU number lookup).
 * A cached slot is free for every observer: its guard is set, so size() says
 * 0, a second free is reported as a double free and the walker skips it; its
 * block header still counts it as allocated, which keeps the block from
 * being restarted or madvised under the cache. Frees fill the cache, and on
 * native (profile tcache_batch_refill) so does a miss: tc_refill takes up to
 * half a bin from the current block at once; elsewhere a miss allocates from
 * the current block as libmalloc does. A delegated class bypasses the cache
 * both ways, so capacity, delegation and the 75 % release rule follow
 * libmalloc's sequence. A full class flushes its older half. */

#define TC_SLOTS ZT_TCACHE_SLOTS /* cached slots per class (the section's stride) */

/* Give one cached slot back to its block (one CAS). */
static void tc_flush_one(nano_t *n, unsigned cls, void *p)
{
    nano_region_t *r = region_of(n, p);
    if (!r) return; /* cannot happen while n owns the entry */
    slot_info_t si;
    uintptr_t a = (uintptr_t)p;
    si.blk = a & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
    si.cls = cls;
    si.idx = (unsigned)(((uint64_t)(a - si.blk) * n->g.magic[cls]) >> 32);
    si.hp = block_header(n, si.blk);
    si.h = __atomic_load_n(si.hp, __ATOMIC_ACQUIRE);
    nano_free_live(n, r, p, &si);
}

/* Native (profile tcache_batch_refill): k > 1 cached slots of one block go
 * back with one CAS, linked as k single frees in order would have linked
 * them (v[k-1] at the head, v[0] before the old list). False, nothing done:
 * a block these frees would empty, or a header in a state only
 * nano_free_live handles; the caller then frees them one by one. */
static bool tc_flush_run(nano_t *n, unsigned cls, uintptr_t blk, void *const *v, unsigned k)
{
    unsigned slots = n->g.slots[cls];
    uint32_t *hp = block_header(n, blk);
    uint32_t old = __atomic_load_n(hp, __ATOMIC_ACQUIRE), nw;
    unsigned after, last = 0;
    for (unsigned i = 1; i < k; i++) {
        unsigned prev = (unsigned)((((uintptr_t)v[i - 1] - blk) * n->g.magic[cls]) >> 32);
        ((nano_free_slot_t *)v[i])->next_slot = (uint16_t)(prev + 1);
    }
    last = (unsigned)((((uintptr_t)v[k - 1] - blk) * n->g.magic[cls]) >> 32);
    for (;;) {
        if (!h_has_slots(old)) return false;
        after = h_free_slots(old, slots) + k;
        if (after >= slots) return false;
        ((nano_free_slot_t *)v[0])->next_slot = (uint16_t)h_next(old);
        nw = h_make(last + 1, after - 1, h_gen(old) + 1, h_in_use(old));
        if (__atomic_compare_exchange_n(hp, &old, nw, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    /* nano_free_live's release rule for a block that is not current. */
    if (!h_in_use(nw) && zt_unlikely((after - 1) * 4 >= slots * 3) &&
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)))
        delegate_release(n, cls);
    return true;
}

/* zt_tcache_flush_fn: give cached slots back to their blocks (their guards
 * are set and their tags already taken by free_slot). */
static size_t tc_flush(void *owner, unsigned cls, void *const *slots, unsigned count)
{
    nano_t *n = owner;
    for (unsigned i = 0; i < count;) {
        unsigned j = i + 1;
        uintptr_t blk = (uintptr_t)slots[i] & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
        if (n->batch_refill)
            while (j < count && ((uintptr_t)slots[j] & ~(uintptr_t)(NANO_BLOCK_BYTES - 1)) == blk)
                j++;
        if (j - i < 2 || !region_of(n, slots[i]) || !tc_flush_run(n, cls, blk, &slots[i], j - i))
            for (unsigned m = i; m < j; m++)
                tc_flush_one(n, cls, slots[m]);
        i = j;
    }
    return 0;
}

/* A refilled slot that found no room in the bin goes back to its block's
 * header, as a free of a live slot would (it is untagged: tags are taken
 * only once a slot leaves the allocator). Not declared cold: cold functions
 * are placed in the hot text window (cmake/hot-text-update), and this one
 * never runs without a signal handler that frees. */
static __attribute__((noinline)) void refill_give_back(nano_t *n, void *p)
{
    nano_region_t *r = region_of(n, p);
    slot_info_t si;
    ((nano_free_slot_t *)p)->guard = 0; /* live: slot_lookup must say so */
    if (r == NULL || slot_lookup(n, r, p, &si) != SLOT_LIVE)
        zt_error_corruption("nano refill: a slot it took is not live", p);
    nano_free_live(n, r, p, &si);
}

/* A cache miss on native (profile tcache_batch_refill): up to half a bin
 * from the CPU's current block, a bump run with one CAS, else its free list
 * taken whole and the rest given back (block_take_list: two CASes), else
 * slots with one CAS each (a header seen changing); the first slot is
 * returned (live), the rest are cached. 0 slots: the caller takes the
 * ordinary path (nano_alloc: the scan for another block). */
static __attribute__((noinline)) void *tc_refill(nano_t *n, zt_tcache_section_t *tc, unsigned cls)
{
    unsigned idx = zt_cpu_here() & (NANO_MAX_CURRENT_BLOCKS - 1);
    uintptr_t blk = __atomic_load_n(&n->current[cls][idx], __ATOMIC_ACQUIRE);
    if (!blk) return NULL;
    void *got[TC_SLOTS / 2];
    unsigned k = block_alloc_batch(n, blk, cls, got, TC_SLOTS / 2);
    if (k == 0) k = block_take_list(n, blk, cls, got, TC_SLOTS / 2);
    if (k == 0) {
        uint64_t cookie = n->g.guard_cookie;
        while (k < TC_SLOTS / 2 && (got[k] = block_alloc(n, blk, cls)) != NULL) {
            ((nano_free_slot_t *)got[k])->guard = cookie ^ (uintptr_t)got[k];
            k++;
        }
        if (k == 0) return NULL;
    }
    /* Pushed last to first, so the bin (a stack) hands out got[1], got[2],
     * ... in the order the block gave them (address order for a bump run).
     * The bin was empty when the refill began, but a signal handler that
     * frees on this thread meanwhile fills it: what does not fit goes back
     * to the block, where pushing it would run into the next class's bin. */
    for (unsigned i = k; i-- > 1;) {
        if (zt_unlikely(tc->count[cls] >= TC_SLOTS))
            refill_give_back(n, got[i]);
        else
            zt_tcache_push(tc, cls, TC_SLOTS, got[i]);
    }
    ((nano_free_slot_t *)got[0])->guard = 0;
    return got[0];
}

static inline void *alloc_tagged(nano_t *n, unsigned cls)
{
    zt_tcache_section_t *tc = zt_tcache_mine(ZT_TCACHE_NANO, n->tc_id);
    void *p;
    if (zt_likely(tc != NULL) && zt_tcache_pop(tc, cls, TC_SLOTS, &p)) {
        ((nano_free_slot_t *)p)->guard = 0; /* live again */
        goto got;
    }
    /* Native: a thread that only allocates (a producer whose blocks other
     * threads free) gets its section at its first miss, not at its first
     * free, so its allocations are refilled 32 at a time too: without it
     * every one was a CAS on a header the freeing threads write (xfree -t 2:
     * a third of all samples in block_alloc's two CASes). */
    if (tc == NULL && n->batch_refill) tc = zt_tcache_section_slow(ZT_TCACHE_NANO, n->tc_id);
    if ((tc == NULL || !n->batch_refill || tc->count[cls] != 0 ||
         (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)) ||
         (p = tc_refill(n, tc, cls)) == NULL) &&
        (p = nano_alloc(n, cls)) == NULL)
        return NULL;
got:
    if (zt_hook_wanted(class_bytes(cls))) tag_alloc(n, p, cls);
    return p;
}

/* free_slot's thread-cache push (native), out of line so that the device
 * path (no cache) is a tail call to nano_free_live_ without a frame. */
static __attribute__((noinline)) void free_cached(nano_t *n, nano_region_t *r, void *ptr,
                                                  slot_info_t si)
{
    unsigned cls = si.cls;
    zt_tcache_section_t *tc = zt_tcache_for_free(ZT_TCACHE_NANO, n->tc_id);
    if (zt_unlikely(tc == NULL) ||
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls))) {
        nano_free_live(n, r, ptr, &si);
        return;
    }
    zt_hook_freed(n->zone, ptr, class_bytes(cls), cls, tag_take(r, ptr));
    ((nano_free_slot_t *)ptr)->guard = n->g.guard_cookie ^ (uintptr_t)ptr;
    if (zt_unlikely(tc->count[cls] == TC_SLOTS))
        zt_tcache_flush_bin(tc, ZT_TCACHE_NANO, cls, TC_SLOTS / 2);
    zt_tcache_push(tc, cls, TC_SLOTS, ptr);
}

/* Free a live slot: into the thread's cache when it can take it. tc_id 0
 * (device profiles: no thread cache by design): straight to the header CAS,
 * without the TLS load and zt_tcache_section_slow's call. */
static inline __attribute__((always_inline)) void free_slot(nano_t *n, nano_region_t *r, void *ptr,
                                                            const slot_info_t *si)
{
    if (n->tc_id != 0)
        free_cached(n, r, ptr, *si);
    else
        nano_free_live(n, r, ptr, si);
}

/* ---- the front's cache hits (front/linux.c) ---------------------------------
 * The common malloc and free of a small block, flattened for the Linux
 * front: no indirect call, no errno save, one TLS load, no atomic read-
 * modify-write. They do what alloc_tagged's pop and free_slot's push do,
 * with the same checks (slot_lookup: not allocated, freed twice), and give
 * up (NULL / false, the caller takes the ordinary path, which repeats the
 * work and decides) on everything else: a miss, a full or delegated bin, a
 * tagged slot (slot_tagged), a fork child, a debug build's periodic
 * check. zt_nano_front_zone is the zone owning the caches, NULL when none or
 * in a fork child; the front compares it with the default zone, and the
 * caller has checked that no malloc_logger is installed and that the
 * profiler is off or sampling (a sampled hit is tagged by
 * zt_nano_front_sampled). */

ZT_HIDDEN malloc_zone_t *zt_nano_front_zone;
ZT_HIDDEN uint32_t zt_nano_front_id;

void zt_nano_front_sampled(void *p, size_t size)
{
    zt_hook_request_bytes = size;
    tag_alloc(zone_nano(zt_nano_front_zone), p, (unsigned)(size - 1) >> ZT_NANO_QUANTUM_SHIFT);
}

/* slot_lookup's LIVE without the header load (its address is a dozen
 * instructions: meta_index's swizzle, the ASLR cookie): idx < hw and a
 * guard that is not the free guard imply a live slot, because the states in
 * which a block holds no live slot are each caught by one of them:
 * - SLOT_NULL (never used) and a restarted block: hw 0 (block_take);
 * - SLOT_MADVISED, whose pages read zero: hw 0 (madvise_block_locked resets
 *   it in the exclusive MADVISING state, before the purge);
 * - SLOT_CAN_MADVISE (empty, pages kept, the deferred purge): every slot was
 *   freed through nano_free_live or a cache flush, which set its guard;
 * - SLOT_MADVISING: exclusive and brief; a free racing it frees a slot of
 *   an empty block (a double free), which slot_lookup's header check does
 *   not close either (the header can change after it is read).
 * Everything else (false) goes to the ordinary path, which classifies. */
bool zt_nano_free_hit(zt_owner_t *o, void *ptr)
{
    nano_region_t *r = (nano_region_t *)o;
    nano_t *n = r->nano;
    zt_tcache_section_t *tc = zt_tcache_mine(ZT_TCACHE_NANO, n->tc_id);
    if (zt_unlikely(tc == NULL) || ZT_DEBUG || slot_tagged(r, ptr)) return false;
    uintptr_t a = (uintptr_t)ptr;
    unsigned hw = __atomic_load_n(block_hw(r, a), __ATOMIC_ACQUIRE);
    unsigned cls = n->block_class_phys[(a >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1)];
    unsigned in = (unsigned)(a & (NANO_BLOCK_BYTES - 1));
    unsigned idx = (unsigned)(((uint64_t)in * n->g.magic[cls]) >> 32);
    if (zt_unlikely(idx * class_bytes(cls) != in || idx >= hw)) return false;
    uint64_t free_guard = n->g.guard_cookie ^ a;
    if (zt_unlikely(__atomic_load_n(&((nano_free_slot_t *)ptr)->guard, __ATOMIC_RELAXED) ==
                    free_guard) ||
        zt_unlikely(tc->count[cls] == TC_SLOTS) ||
        (__atomic_load_n(&n->delegate_bits, __ATOMIC_RELAXED) & (1u << cls)))
        return false;
    ((nano_free_slot_t *)ptr)->guard = free_guard;
    zt_tcache_push(tc, cls, TC_SLOTS, ptr);
    return true;
}

/* ---- the device front (front/linux.c) --------------------------------------
 * Device profiles claim no thread caches (tc_id 0), so their allocations
 * missed the hits above and went through the front's slow path, the nano
 * zone's malloc (nano_malloc, alloc_tagged) and, for the helper, a second
 * indirect call. The front routes them here instead when the default zone's
 * malloc is still nano_malloc (zt_nano_malloc_fn: a fork child's zone and a
 * zone whose functions were replaced have another) and no zone owns the
 * caches. zt_nano_device_alloc is alloc_tagged for such a zone (no cache
 * section: none is filled while tc_id is 0, and no batch refill): the
 * class's current block (nano_alloc, libmalloc's nanov2_allocate), the
 * sampled tag; NULL when the class is delegated, where nano_malloc asks
 * the helper, and the front does the same. A zone with caches (never one
 * the front sends here) gets alloc_tagged itself. */
static void *nano_malloc(malloc_zone_t *zone, size_t size);
ZT_HIDDEN void *(*const zt_nano_malloc_fn)(malloc_zone_t *, size_t) = nano_malloc;

void *zt_nano_device_alloc(malloc_zone_t *zone, unsigned cls)
{
    nano_t *n = zone_nano(zone);
    if (zt_unlikely(n->tc_id != 0 || n->batch_refill)) return alloc_tagged(n, cls);
    void *p = nano_alloc(n, cls);
    if (zt_likely(p != NULL) && zt_hook_wanted(class_bytes(cls))) tag_alloc(n, p, cls);
    return p;
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

/* zt_nano_free_owned's work, inline in it and in zt_nano_device_free. The
 * Linux front frees through the chunk map, not zone->free: a fork child
 * leaks nano blocks here too (nano_forked_zone). */
static inline __attribute__((always_inline)) void free_owned(zt_owner_t *o, void *ptr)
{
    nano_region_t *r = (nano_region_t *)o;
    if (zt_unlikely(__atomic_load_n(&r->nano->forked, __ATOMIC_RELAXED))) return;
    nano_free_ptr(r->nano, r, ptr);
}

/* The device front's free (front/linux.c): free_slow's nano branch for a
 * device profile (no zone owns the caches), in one frame instead of two:
 * the caller noted, errno kept (a free that empties a block may madvise),
 * then zt_nano_free_owned's work (free_owned). */
void zt_nano_device_free(zt_owner_t *o, void *ptr, const void *caller)
{
    if (caller) zt_error_caller = caller;
    int *err = &errno, saved = *err;
    free_owned(o, ptr);
    *err = saved;
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
