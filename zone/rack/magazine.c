/* ----------------------------------------------------------------------------
 * rack/magazine.c — allocation and free inside a locked magazine: free-span
 * purging, coalescing, recirculation of regions to the depot (libmalloc's
 * 75 % / 1.5-region rule), taking regions back from it, mapping new regions,
 * and the out-of-band tags the profiler gives blocks.
 *
 * A part of rack.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees rack.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_RACK_C
#error "this file is a part of rack.c and is only included from there"
#endif

/* ---- purging --------------------------------------------------------------- */

/* Give back the whole pages inside a free span, leaving its node (and tiny's
 * tail msize) resident. Returns bytes purged. */
static size_t purge_span(zt_rack_t *r, free_node_t *n, uint32_t msize)
{
    if (r->tiny && msize < 2) return 0;
    size_t page = r->page_bytes;
    uintptr_t s = ((uintptr_t)n + sizeof(free_node_t) + page - 1) & ~(page - 1);
    uintptr_t e = ((uintptr_t)n + ((size_t)msize << r->g.qshift) - (r->tiny ? 2 : 0)) & ~(page - 1);
    if (e <= s || e - s < PURGE_MIN_PAGES * page || n->purged) return 0;
    zt_va_purge((void *)s, e - s);
    n->purged = 1;
    return e - s;
}

/* First slot whose blocks may be big enough to purge. */
static unsigned purge_first_slot(const zt_rack_t *r)
{
    size_t min_msize = (PURGE_MIN_PAGES * r->page_bytes) >> r->g.qshift;
    return min_msize >= r->g.max_msize ? r->g.max_msize : (unsigned)(min_msize ? min_msize - 1 : 0);
}

/* Purge spans of m's lists; with `all` false only those free since before the
 * previous sweep. */
static size_t purge_lists(zt_rack_t *r, magazine_t *m, bool all, size_t goal)
{
    size_t done = 0;
    for (int s = slot_find(m, purge_first_slot(r)); s >= 0; s = slot_find(m, (unsigned)s + 1)) {
        for (free_node_t *n = m->slots[s]; n; n = n->next) {
            if (n->purged || (!all && n->epoch == m->epoch)) continue;
            uintptr_t base = base_of(r, n);
            done += purge_span(r, n, free_msize(r, base, idx_of(r, base, n)));
            if (goal && done >= goal) return done;
        }
    }
    return done;
}

static void purge_region_free(zt_rack_t *r, region_t *rg, size_t *total);
static size_t cached_in(const zt_rack_t *r, const magazine_t *m, const region_t *rg);

/* Count freed bytes; every dirty_trigger bytes, purge the spans that stayed
 * free for a whole interval and start a new one. */
static void sweep(zt_rack_t *r, magazine_t *m)
{
    m->dirty_bytes = 0;
    /* Epochs advance at most every 100 ms: a span is purged only after it
     * stayed free for a whole epoch, so a busy heap that keeps recycling its
     * free spans does not pay madvise + refault for them (what made every
     * 1-8 MiB of frees a burst of system calls and page faults). */
    uint64_t now = zt_prim_now_ns();
    if (now - m->epoch_ns < PURGE_EPOCH_NS) return;
    m->epoch_ns = now;
    purge_lists(r, m, false, 0);
    m->epoch++;
}

static inline void note_dirty(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, size_t bytes)
{
    m->dirty_bytes += bytes;
    if (zt_unlikely(m->dirty_bytes >= k->g.dirty_trigger)) sweep(r, m);
}

/* ---- freeing inside a locked magazine ------------------------------------- */

/* Turn [idx, idx+msize) of rg (owned by locked m) into free space, merging
 * with free neighbours, and list it. */
static inline __attribute__((always_inline)) free_node_t *
release_range_inl(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, region_t *rg, uintptr_t base,
                  uint32_t idx, uint32_t msize, uint32_t *out_msize)
{
    uint32_t start = idx, total = msize, pidx, pm;
    /* The merged span takes the oldest epoch of its parts: a span that keeps
     * growing by small frees must still be purged one day. */
    uint8_t epoch = m->epoch;
    if (prev_free(k, base, idx, &pidx, &pm)) {
        free_node_t *pn = ptr_of(k, base, pidx);
        if (!(k->tiny && pm < 2) && (uint8_t)(m->epoch - pn->epoch) > (uint8_t)(m->epoch - epoch))
            epoch = pn->epoch;
        list_remove(r, m, slot_of(k, pm), pn);
        absorb(k, base, idx, idx - 1);
        start = pidx;
        total += pm;
    }
    uint32_t n = idx + msize;
    if (n < k->g.nq && !(m->bump_rg == rg && n == m->bump_idx) && is_free_start(k, base, n)) {
        uint32_t nm = free_msize(k, base, n);
        free_node_t *nn = ptr_of(k, base, n);
        if (!(k->tiny && nm < 2) && (uint8_t)(m->epoch - nn->epoch) > (uint8_t)(m->epoch - epoch))
            epoch = nn->epoch;
        list_remove(r, m, slot_of(k, nm), nn);
        absorb(k, base, n, n + nm - 1);
        total += nm;
    }
    free_node_t *node = mark_free(k, base, start, total, 0, epoch);
    list_push(m, slot_of(k, total), node);
    if (out_msize) *out_msize = total;
    return node;
}

/* release_range_inl out of line, for the callers off the free path (the
 * free path inlines it through free_in_magazine: one call layer and its
 * frame fewer per free). */
static __attribute__((noinline)) free_node_t *release_range(zt_rack_t *r, magazine_t *m,
                                                            region_t *rg, uintptr_t base,
                                                            uint32_t idx, uint32_t msize,
                                                            uint32_t *out_msize)
{
    return release_range_inl(r, r, m, rg, base, idx, msize, out_msize);
}

/* Return the unused tail of m's bump region to the free lists. */
static void finalize_bump(zt_rack_t *r, magazine_t *m)
{
    region_t *rg = m->bump_rg;
    if (!rg) return;
    uint32_t idx = m->bump_idx;
    m->bump_rg = NULL;
    if (idx < r->g.nq) release_range(r, m, rg, region_base(r, rg), idx, r->g.nq - idx, NULL);
}

/* Count the live blocks of a region and move its free spans off m's lists
 * (detach) or onto them (attach). */
static size_t region_objects_and_lists(zt_rack_t *r, magazine_t *m, region_t *rg, bool attach)
{
    uintptr_t base = region_base(r, rg);
    size_t objects = 0;
    uint32_t i = 0;
    while (i < r->g.nq) {
        uint32_t len;
        if (is_free_start(r, base, i)) {
            len = free_msize(r, base, i);
            free_node_t *n = ptr_of(r, base, i);
            if (attach)
                list_push(m, slot_of(r, len), n);
            else
                list_remove(r, m, slot_of(r, len), n);
        } else {
            len = live_msize(r, base, i);
            if (len == 0) zt_error_corruption("region metadata", ptr_of(r, base, i));
            objects++;
        }
        i += len;
    }
    return objects;
}

/* Move rg from one locked magazine to another, spliced first (a region
 * taken from the depot, libmalloc-166.220.1 src/magazine_tiny.c:786 and
 * src/magazine_small.c:880 recirc_list_splice_first) or last (a region handed
 * to the depot, magazine_tiny.c:906, magazine_small.c:1050
 * recirc_list_splice_last). */
static void move_region(zt_rack_t *r, magazine_t *from, magazine_t *to, int to_index, region_t *rg,
                        bool first)
{
    size_t objects = region_objects_and_lists(r, from, rg, false);
    rlist_remove(from, rg);
    from->bytes_in_magazine -= r->g.payload_bytes;
    from->bytes_in_objects -= rg->bytes_used;
    from->num_objects -= objects;
    __atomic_store_n(&rg->mag_index, to_index, __ATOMIC_RELEASE);
    region_objects_and_lists(r, to, rg, true);
    if (first)
        rlist_prepend(to, rg);
    else
        rlist_append(to, rg);
    to->bytes_in_magazine += r->g.payload_bytes;
    to->bytes_in_objects += rg->bytes_used;
    to->num_objects += objects;
}

/* If rg (in the locked depot) is empty and the depot holds >= 2 regions,
 * take it out and clear its chunk-map entry; the caller unmaps it after
 * unlocking (unmap_region). */
static region_t *depot_try_retire(zt_rack_t *r, magazine_t *depot, region_t *rg)
{
    if (rg->bytes_used != 0 || depot->nregions < 2) return NULL;
    region_objects_and_lists(r, depot, rg, false);
    rlist_remove(depot, rg);
    depot->bytes_in_magazine -= r->g.payload_bytes;
    zt_chunkmap_set(region_base(r, rg), r->g.region_bytes, NULL);
    return rg;
}

static void unmap_region(zt_rack_t *r, region_t *rg)
{
    uintptr_t base = region_base(r, rg);
    uint32_t *tags = rg->tags;
    /* Dekker with size(): it enters its guard, then re-reads the chunk map. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < r->nmag; i++)
        while (__atomic_load_n(&r->guard[i].n, __ATOMIC_ACQUIRE) != 0)
            zt_prim_yield();
    if (tags) zt_prim_unmap(tags, r->g.tags_bytes);
    zt_va_unmap((void *)base, r->g.region_bytes, (enum zt_kind)r->owner.kind);
    __atomic_fetch_sub(&r->region_count, 1, __ATOMIC_RELAXED);
}

/* Hand m's first recirculation candidate to the depot (libmalloc's
 * tiny_free_do_recirc_to_depot): the first region from the head of m's list
 * that is marked suitable, in list order (libmalloc-166.220.1
 * src/magazine_tiny.c:851-866, src/magazine_small.c:1001-1012). zonetrace has
 * no pinned_to_depot (it madvises under the lock), so only the mark counts.
 * None: nothing moves this time. A marked region that is dense again (grown
 * in place by realloc, which does not go through count_alloc) is unmarked
 * here, as libmalloc's realloc does (magazine_tiny.c:1392-1400). Returns a
 * region to unmap, or NULL. */
static region_t *recirc_to_depot(zt_rack_t *r, magazine_t *m)
{
    region_t *rg = m->first;
    for (; rg; rg = rg->next) {
        if (rg->recirc_suitable && rg->bytes_used >= DENSITY(r->g.payload_bytes))
            rg->recirc_suitable = 0;
        if (rg->recirc_suitable) break;
    }
    if (!rg) return NULL;
    uintptr_t base = region_base(r, rg);
    if (m->last_free && base_of(r, m->last_free) == base) {
        /* The cache must stay inside the magazine's own regions. */
        void *p = m->last_free;
        uint32_t ms = m->last_free_msize;
        m->last_free = NULL;
        rg->bytes_used -= ms << r->g.qshift;
        m->bytes_in_objects -= (size_t)ms << r->g.qshift;
        m->num_objects--;
        release_range(r, m, rg, base, idx_of(r, base, p), ms, NULL);
    }
    if (m->bump_rg == rg) finalize_bump(r, m);
    magazine_t *depot = mag_of(r, DEPOT);
    zt_lock(&depot->lock);
    move_region(r, m, depot, DEPOT, rg, false);
    rg->recirc_suitable = 0;
    size_t purged = 0;
    purge_region_free(r, rg, &purged);
    region_t *dead = depot_try_retire(r, depot, rg);
    zt_unlock(&depot->lock);
    return dead;
}

/* Free a live block of rg (owned by the locked m, not the depot): counters,
 * coalescing, recirculation. Returns a region to unmap, or NULL. */
static inline __attribute__((always_inline)) region_t *
free_in_magazine(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, region_t *rg, uintptr_t base,
                 uint32_t idx, uint32_t msize)
{
    size_t bytes = (size_t)msize << k->g.qshift;
    zt_assert(rg->bytes_used >= bytes && m->num_objects > 0);
    rg->bytes_used -= (uint32_t)bytes;
    m->bytes_in_objects -= bytes;
    m->num_objects--;
    release_range_inl(r, k, m, rg, base, idx, msize, NULL);
    note_dirty(r, k, m, bytes);
    if (r->owner.kind == ZT_KIND_MEDIUM && rg->bytes_used == cached_in(r, m, rg)) {
        /* A medium region with nothing live left (128 MiB): what a program
         * dropping its big blocks expects back now, not after an epoch. */
        size_t purged = 0;
        purge_region_free(r, rg, &purged);
    }
    if (r->nmag == 1) return NULL; /* libmalloc: a single magazine never recirculates */
    /* Marking does not move the region in m's list (libmalloc-166.220.1
     * src/magazine_tiny.c:944-951, src/magazine_small.c:1088-1095). */
    if (rg->bytes_used < DENSITY(k->g.payload_bytes)) rg->recirc_suitable = 1;
    size_t a = m->bytes_in_magazine, u = m->bytes_in_objects;
    if (a - u > 3 * k->g.payload_bytes / 2 && u < DENSITY(a)) return recirc_to_depot(r, m);
    return NULL;
}

/* ---- allocation inside a locked magazine ---------------------------------- */

/* An allocation that makes the region dense again unmarks it
 * (libmalloc-166.220.1 src/magazine_tiny.c:1887-1897, src/magazine_small.c:
 * 1857-1867), so a candidate is always under 75 % when it is chosen. */
static inline void count_alloc(const zt_rack_t *k, magazine_t *m, region_t *rg, uint32_t msize)
{
    size_t bytes = (size_t)msize << k->g.qshift;
    rg->bytes_used += (uint32_t)bytes;
    m->bytes_in_objects += bytes;
    m->num_objects++;
    if (zt_unlikely(rg->recirc_suitable) && rg->bytes_used >= DENSITY(k->g.payload_bytes))
        rg->recirc_suitable = 0;
}

static inline __attribute__((always_inline)) void *
alloc_from_lists(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, uint32_t msize)
{
    unsigned s = slot_of(k, msize);
    free_node_t *n = m->slots[s];
    if (!n) {
        int s2 = slot_find(m, s + 1);
        if (s2 < 0) return NULL;
        s = (unsigned)s2;
        n = m->slots[s];
    }
    list_remove(r, m, s, n);
    uintptr_t base = base_of(k, n);
    uint32_t idx = idx_of(k, base, n);
    uint32_t bm = free_msize(k, base, idx);
    region_t *rg = trailer_of(k, base);
    uint8_t purged = (k->tiny && bm < 2) ? 0 : n->purged,
            epoch = (k->tiny && bm < 2) ? 0 : n->epoch;
    if (bm > msize) {
        free_node_t *rest = mark_free(k, base, idx + msize, bm - msize, purged, epoch);
        list_push(m, slot_of(k, bm - msize), rest);
    }
    mark_used(k, base, idx, msize);
    count_alloc(k, m, rg, msize);
    return n;
}

static void *alloc_from_bump(const zt_rack_t *k, magazine_t *m, uint32_t msize)
{
    region_t *rg = m->bump_rg;
    if (!rg || m->bump_idx + msize > k->g.nq) return NULL;
    uintptr_t base = region_base(k, rg);
    uint32_t idx = m->bump_idx;
    m->bump_idx += msize;
    mark_used(k, base, idx, msize);
    count_alloc(k, m, rg, msize);
    return ptr_of(k, base, idx);
}

/* Take a depot region holding a free block >= msize (libmalloc's
 * tiny_get_region_from_depot). */
static bool steal_from_depot(zt_rack_t *r, magazine_t *m, int mi, uint32_t msize)
{
    magazine_t *depot = mag_of(r, DEPOT);
    if (__atomic_load_n(&depot->nregions, __ATOMIC_RELAXED) == 0) return false;
    zt_lock(&depot->lock);
    int s = slot_find(depot, slot_of(r, msize));
    if (s < 0) {
        zt_unlock(&depot->lock);
        return false;
    }
    region_t *rg = trailer_of(r, base_of(r, depot->slots[s]));
    move_region(r, depot, m, mi, rg, true);
    rg->recirc_suitable = 0;
    zt_unlock(&depot->lock);
    return true;
}

static region_t *map_region(zt_rack_t *r, int mi)
{
    zt_va_failure_t fail;
    void *base =
        zt_va_map((enum zt_kind)r->owner.kind, r->g.region_bytes, r->g.region_bytes, &fail);
    if (!base) return NULL;
    uintptr_t b = (uintptr_t)base;
    region_t *rg = trailer_of(r, b);
    rg->mag_index = mi;
    if (r->tiny) {
        /* Sentinels: header=1, inuse=0 for the bits past the last quantum. */
        uint64_t *m = tiny_meta(r, b);
        m[2 * (TINY_NQ >> 6)] = ~0ull << (TINY_NQ & 63);
    }
    zt_chunkmap_set(b, r->g.region_bytes, &r->owner);
    return rg;
}

/* The three sources tried under magazine m's lock: the last-free block, the
 * free lists, the bump tail. NULL when all are empty. *fresh is set when
 * the block comes from never-touched memory (already zero). */
static inline __attribute__((always_inline)) void *
alloc_here(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, uint32_t msize, bool *fresh)
{
    *fresh = false;
    if (m->last_free && m->last_free_msize == msize) {
        void *p = m->last_free;
        m->last_free = NULL;
        return p;
    }
    void *p = alloc_from_lists(r, k, m, msize);
    if (!p && (p = alloc_from_bump(k, m, msize)) != NULL) *fresh = true;
    return p;
}

/* rack_alloc's loop once alloc_here found nothing, entered with magazine m
 * (index mi) locked: the depot or a new region, then alloc_here again, until
 * a block is found or the map fails. */
static __attribute__((noinline)) void *
rack_alloc_slow(zt_rack_t *r, uint32_t msize, int mi, magazine_t *m, magazine_t **mout, bool *fresh)
{
    for (;;) {
        if (!steal_from_depot(r, m, mi, msize)) {
            if (m->alloc_underway) {
                /* Another thread is mapping for this magazine: wait for it. */
                zt_unlock(&m->lock);
                zt_prim_yield();
                zt_lock(&m->lock);
            } else {
                m->alloc_underway = 1;
                zt_unlock(&m->lock);
                region_t *rg = map_region(r, mi);
                zt_lock(&m->lock);
                m->alloc_underway = 0;
                if (!rg) {
                    zt_unlock(&m->lock);
                    errno = ENOMEM;
                    return NULL;
                }
                /* counted once listed, so that check() under all locks agrees */
                __atomic_fetch_add(&r->region_count, 1, __ATOMIC_RELAXED);
                finalize_bump(r, m);
                m->bump_rg = rg;
                m->bump_idx = 0;
                rlist_append(m, rg);
                m->bytes_in_magazine += r->g.payload_bytes;
            }
        }
        void *p = alloc_here(r, r, m, msize, fresh);
        if (p) {
            *mout = m;
            return p;
        }
    }
}

/* Allocate msize quanta; on success returns with *mout locked. *fresh is set
 * when the block comes from never-touched memory (already zero). The common
 * case, a block from one of alloc_here's sources, is inline; the depot and a
 * new region are rack_alloc_slow's. */
static inline __attribute__((always_inline)) void *
rack_alloc(zt_rack_t *r, const zt_rack_t *k, uint32_t msize, magazine_t **mout, bool *fresh)
{
    zt_assert(msize >= 1 && msize <= r->g.max_msize);
    int mi = (int)mag_index_here(r);
    magazine_t *m = mag_of(r, mi);
    zt_lock(&m->lock);
    void *p = alloc_here(r, k, m, msize, fresh);
    if (zt_likely(p != NULL)) {
        *mout = m;
        return p;
    }
    return rack_alloc_slow(r, msize, mi, m, mout, fresh);
}

/* ---- tags ------------------------------------------------------------------
 * The tag map, mapped on a region's first tagged block: a head of TAG_HEAD
 * bytes holding one 16-bit count of tagged blocks per TAG_GROUP quanta
 * (tag_counts), then one 32-bit tag per quantum (tag_words). A free first
 * reads its group's count, one of a few lines per region that stay cached,
 * and reads the block's own tag only when the group holds a tagged block:
 * sampled blocks are sparse (one per ZONETRACE_STACKS=sample interval), so
 * most frees skip the random load from the 256 KiB tiny map. A count changes
 * with its tag, by the block's owner (atomically: a group spans blocks of
 * several owners), before the block is handed back or out, so whoever frees
 * the block next sees both. */

_Static_assert(((TINY_NQ >> TAG_GROUP_SHIFT) + 1) * sizeof(uint16_t) <= TAG_HEAD,
               "the tiny region's tag counts fit in the map's head");

static inline uint16_t *tag_counts(uint32_t *map)
{
    return (uint16_t *)map;
}
static inline uint32_t *tag_words(uint32_t *map)
{
    return map + TAG_HEAD / sizeof(uint32_t);
}

/* Whether quantum idx may carry a tag (the map exists): false is exact. */
static inline bool tag_maybe(const uint32_t *map, uint32_t idx)
{
    const uint16_t *c = (const uint16_t *)map;
    return __atomic_load_n(&c[idx >> TAG_GROUP_SHIFT], __ATOMIC_RELAXED) != 0 &&
           __atomic_load_n(&map[TAG_HEAD / sizeof(uint32_t) + idx], __ATOMIC_RELAXED) != 0;
}

static void tag_store(zt_rack_t *r, region_t *rg, uint32_t idx, uint32_t tag)
{
    uint32_t *map = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    if (!map) {
        if (tag == 0) return;
        uint32_t *fresh = zt_prim_map(r->g.tags_bytes);
        if (!fresh) return;
        uint32_t *expected = NULL;
        if (__atomic_compare_exchange_n(&rg->tags, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            map = fresh;
        else {
            zt_prim_unmap(fresh, r->g.tags_bytes);
            map = expected;
        }
    }
    /* An untagged (unsampled) block mostly finds 0 there already: skip the
     * store, which would dirty the tag array's cache line. */
    uint32_t *t = tag_words(map);
    uint32_t old = __atomic_load_n(&t[idx], __ATOMIC_RELAXED);
    if (old == tag) return;
    __atomic_store_n(&t[idx], tag, __ATOMIC_RELAXED);
    if ((old != 0) != (tag != 0))
        __atomic_fetch_add(&tag_counts(map)[idx >> TAG_GROUP_SHIFT], tag ? 1 : (uint16_t)-1,
                           __ATOMIC_RELAXED);
}

/* Read and clear a block's tag (by the block's owner: its free). */
static inline uint32_t tag_take(region_t *rg, uint32_t idx)
{
    uint32_t *map = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    if (!map || !tag_maybe(map, idx)) return 0;
    uint32_t *t = tag_words(map);
    uint32_t v = __atomic_load_n(&t[idx], __ATOMIC_RELAXED);
    __atomic_store_n(&t[idx], 0, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&tag_counts(map)[idx >> TAG_GROUP_SHIFT], 1, __ATOMIC_RELAXED);
    return v;
}

/* A walk's read (introspect.c): through the group count too, so a walk
 * touches only the map's pages that hold tags (the rest were never written:
 * reading them would fault the zero page in, 64 pages a tiny region). */
static inline uint32_t tag_peek(const region_t *rg, uint32_t idx)
{
    uint32_t *map = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    return map && tag_maybe(map, idx) ? __atomic_load_n(&tag_words(map)[idx], __ATOMIC_RELAXED) : 0;
}

static void profile_alloc(zt_rack_t *r, void *p, uint32_t msize)
{
    uint32_t tag =
        zt_hook_alloc_slow(r->owner.zone, p, (size_t)msize << r->g.qshift, cls_of(r, msize));
    uintptr_t base = base_of(r, p);
    tag_store(r, trailer_of(r, base), idx_of(r, base, p), tag);
}
