/* ----------------------------------------------------------------------------
 * rack/layout.c — region geometry and block metadata: the tiny bitmaps,
 * the uint16-per-quantum maps of small and medium, and the per-magazine free
 * lists and region lists built on them.
 *
 * A part of rack.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees rack.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_RACK_C
#error "this file is a part of rack.c and is only included from there"
#endif

/* ---- geometry ------------------------------------------------------------ */

/* The tag map's shape (magazine.c, tags): a count of tagged blocks per
 * 2^TAG_GROUP_SHIFT quanta in its first TAG_HEAD bytes, then the tags. */
#define TAG_GROUP_SHIFT 8u
#define TAG_HEAD        512u

static void geom_init(geom_t *g, enum zt_kind kind)
{
    memset(g, 0, sizeof *g);
    switch (kind) {
    case ZT_KIND_TINY:
        g->qshift = ZT_TINY_QUANTUM_SHIFT;
        g->nq = TINY_NQ;
        g->region_bytes = ZT_TINY_REGION_BYTES;
        g->max_msize = ZT_TINY_MSIZE_MAX;
        g->cls_first = ZT_CLASS_TINY_FIRST;
        g->dirty_trigger = 1u << 20;
        g->meta_off = g->region_bytes - 2 * TINY_BITMAP_WORDS * sizeof(uint64_t);
        break;
    case ZT_KIND_SMALL: {
        size_t limit = zt_active_profile.small_limit_bytes;
        if (limit == 0 || limit > ZT_SMALL_MSIZE_MAX * ZT_SMALL_QUANTUM_BYTES)
            limit = ZT_SMALL_MSIZE_MAX * ZT_SMALL_QUANTUM_BYTES;
        g->qshift = ZT_SMALL_QUANTUM_SHIFT;
        g->nq = SMALL_NQ;
        g->region_bytes = ZT_SMALL_REGION_BYTES;
        g->max_msize = (unsigned)(limit >> ZT_SMALL_QUANTUM_SHIFT);
        g->cls_first = ZT_CLASS_SMALL_FIRST;
        g->dirty_trigger = 4u << 20;
        break;
    }
    default:
        g->qshift = ZT_MEDIUM_QUANTUM_SHIFT;
        g->nq = MEDIUM_NQ;
        g->region_bytes = ZT_MEDIUM_REGION_BYTES;
        g->max_msize = ZT_MEDIUM_MSIZE_MAX;
        g->cls_first = ZT_CLASS_MEDIUM_FIRST;
        g->dirty_trigger = 8u << 20;
        break;
    }
    g->payload_bytes = (size_t)g->nq << g->qshift;
    g->trailer_off = g->payload_bytes;
    if (kind != ZT_KIND_TINY) g->meta_off = g->trailer_off + TRAILER_OFF_PAD;
    g->nslots = g->max_msize + 1;
    size_t page = zt_prim_page_bytes();
    /* the tag map: its head of counts, then a tag per quantum (magazine.c) */
    g->tags_bytes = (TAG_HEAD + (size_t)g->nq * sizeof(uint32_t) + page - 1) & ~(page - 1);
}

static inline uintptr_t base_of(const zt_rack_t *r, const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(r->g.region_bytes - 1);
}
static inline region_t *trailer_of(const zt_rack_t *r, uintptr_t base)
{
    return (region_t *)(base + r->g.trailer_off);
}
static inline uintptr_t region_base(const zt_rack_t *r, const region_t *rg)
{
    return (uintptr_t)rg - r->g.trailer_off;
}
static inline uint32_t idx_of(const zt_rack_t *r, uintptr_t base, const void *p)
{
    return (uint32_t)(((uintptr_t)p - base) >> r->g.qshift);
}
static inline void *ptr_of(const zt_rack_t *r, uintptr_t base, uint32_t idx)
{
    return (void *)(base + ((uintptr_t)idx << r->g.qshift));
}
static inline unsigned slot_of(const zt_rack_t *r, uint32_t msize)
{
    return msize <= r->g.max_msize ? msize - 1 : r->g.max_msize;
}
static inline unsigned cls_of(const zt_rack_t *r, uint32_t msize)
{
    return r->g.cls_first - 1 + msize;
}

/* ---- metadata: tiny bitmaps ----------------------------------------------
 * Words are read and written with relaxed atomics: writers hold the owning
 * lock, size() reads without one. meta[2w] = header word w, meta[2w+1] =
 * inuse word w (interleaved, as libmalloc, so both bits share a line). */

static inline uint64_t *tiny_meta(const zt_rack_t *r, uintptr_t base)
{
    return (uint64_t *)(base + r->g.meta_off);
}
#define LD(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline bool hdr_get(const uint64_t *m, uint32_t i)
{
    return (LD(&m[2 * (i >> 6)]) >> (i & 63)) & 1;
}
static inline bool use_get(const uint64_t *m, uint32_t i)
{
    return (LD(&m[2 * (i >> 6) + 1]) >> (i & 63)) & 1;
}
static inline void word_or(uint64_t *w, uint64_t bits)
{
    ST(w, LD(w) | bits);
}
static inline void word_andn(uint64_t *w, uint64_t bits)
{
    ST(w, LD(w) & ~bits);
}

/* Clear header and inuse bits of quanta [a, e). */
static void tiny_clear_range(uint64_t *m, uint32_t a, uint32_t e)
{
    while (a < e) {
        uint32_t o = a & 63, n = 64 - o;
        if (n > e - a) n = e - a;
        uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << o;
        word_andn(&m[2 * (a >> 6)], mask);
        word_andn(&m[2 * (a >> 6) + 1], mask);
        a += n;
    }
}

/* First header bit after i (the sentinels stop the scan at TINY_NQ). */
static inline uint32_t tiny_next_start(const uint64_t *m, uint32_t i)
{
    uint32_t j = i + 1, w = j >> 6;
    uint64_t x = LD(&m[2 * w]) & (~0ull << (j & 63));
    while (x == 0) {
        if (++w >= TINY_BITMAP_WORDS) return TINY_NQ;
        x = LD(&m[2 * w]);
    }
    return w * 64 + (uint32_t)__builtin_ctzll(x);
}

/* tiny_mark_used for any msize: a word at a time. */
static __attribute__((noinline, cold)) void tiny_mark_used_long(uint64_t *m, uint32_t i,
                                                                uint32_t msize)
{
    uint64_t bit = 1ull << (i & 63);
    word_or(&m[2 * (i >> 6)], bit);
    word_or(&m[2 * (i >> 6) + 1], bit);
    if (msize > 1) tiny_clear_range(m, i + 1, i + msize);
    uint32_t n = i + msize;
    word_or(&m[2 * (n >> 6)], 1ull << (n & 63));
}

/* Quanta [i, i+msize) become a live block: header and inuse bit at i, both
 * cleared over the rest, header bit at i + msize (the next block's start).
 * Every live tiny block (msize <= ZT_TINY_MSIZE_MAX) spans at most two
 * bitmap words, end bit included, so each word is read and written once
 * (tiny_mark_used_long's loop cost ~90 instructions a call, a quarter of a
 * tiny malloc on a device profile). Word w+1 is touched only when the span
 * or the end bit reaches it (it exists then: i + msize <= TINY_NQ). */
static inline __attribute__((always_inline)) void tiny_mark_used(uint64_t *m, uint32_t i,
                                                                 uint32_t msize)
{
    if (zt_unlikely(msize - 1 >= 64)) {
        tiny_mark_used_long(m, i, msize);
        return;
    }
    uint32_t o = i & 63, e = o + msize; /* e: the end bit, relative to word w */
    uint64_t *w = &m[2 * (i >> 6)];
    uint64_t span = (~0ull >> (64 - msize)) << o, start = 1ull << o;
    if (e < 64) {
        ST(&w[0], (LD(&w[0]) & ~span) | start | 1ull << e);
        ST(&w[1], (LD(&w[1]) & ~span) | start);
        return;
    }
    ST(&w[0], (LD(&w[0]) & ~span) | start);
    ST(&w[1], (LD(&w[1]) & ~span) | start);
    uint64_t hi = e > 64 ? ~0ull >> (128 - e) : 0; /* quanta of the span in word w+1 */
    ST(&w[2], (LD(&w[2]) & ~hi) | 1ull << (e - 64));
    if (hi) word_andn(&w[3], hi);
}

static inline void tiny_set_free_bits(uint64_t *m, uint32_t i, uint32_t msize)
{
    uint64_t bit = 1ull << (i & 63);
    word_or(&m[2 * (i >> 6)], bit);
    word_andn(&m[2 * (i >> 6) + 1], bit);
    uint32_t n = i + msize;
    word_or(&m[2 * (n >> 6)], 1ull << (n & 63));
}

static inline void tiny_clear_start(uint64_t *m, uint32_t i)
{
    uint64_t bit = 1ull << (i & 63);
    word_andn(&m[2 * (i >> 6)], bit);
    word_andn(&m[2 * (i >> 6) + 1], bit);
}

/* ---- metadata: uint16 per quantum (small, medium) ------------------------ */

static inline uint16_t *u16_meta(const zt_rack_t *r, uintptr_t base)
{
    return (uint16_t *)(base + r->g.meta_off);
}

/* ---- metadata: kind-independent operations -------------------------------- */

/* msize of the live block at idx, 0 if idx does not start a live block. */
static inline uint32_t live_msize(const zt_rack_t *r, uintptr_t base, uint32_t idx)
{
    if (r->tiny) {
        const uint64_t *m = tiny_meta(r, base);
        if (!hdr_get(m, idx) || !use_get(m, idx)) return 0;
        return tiny_next_start(m, idx) - idx;
    }
    uint16_t v = LD(&u16_meta(r, base)[idx]);
    return (v & U16_FREE) ? 0 : v;
}

/* True if idx starts a free block. */
static inline bool is_free_start(const zt_rack_t *r, uintptr_t base, uint32_t idx)
{
    if (r->tiny) {
        const uint64_t *m = tiny_meta(r, base);
        return hdr_get(m, idx) && !use_get(m, idx);
    }
    return (LD(&u16_meta(r, base)[idx]) & U16_FREE) != 0;
}

/* msize of the free block starting at idx. */
static inline uint32_t free_msize(const zt_rack_t *r, uintptr_t base, uint32_t idx)
{
    if (r->tiny) {
        if (hdr_get(tiny_meta(r, base), idx + 1)) return 1;
        return ((free_node_t *)ptr_of(r, base, idx))->msize;
    }
    return LD(&u16_meta(r, base)[idx]) & ~U16_FREE;
}

static inline __attribute__((always_inline)) void mark_used(const zt_rack_t *r, uintptr_t base,
                                                            uint32_t idx, uint32_t msize)
{
    if (r->tiny) {
        tiny_mark_used(tiny_meta(r, base), idx, msize);
        return;
    }
    uint16_t *m = u16_meta(r, base);
    ST(&m[idx], (uint16_t)msize);
    if (msize > 1) ST(&m[idx + msize - 1], 0);
}

/* Write the free metadata and node of [idx, idx+msize) (not listed). */
static inline __attribute__((always_inline)) free_node_t *mark_free(const zt_rack_t *r,
                                                                    uintptr_t base, uint32_t idx,
                                                                    uint32_t msize, uint8_t purged,
                                                                    uint8_t epoch)
{
    free_node_t *n = ptr_of(r, base, idx);
    if (r->tiny) {
        tiny_set_free_bits(tiny_meta(r, base), idx, msize);
        if (msize >= 2) {
            n->msize = (uint16_t)msize;
            n->purged = purged;
            n->epoch = epoch;
            /* prev_free finds shorter blocks in the bitmap */
            if (msize > 64) *(uint16_t *)((char *)n + ((size_t)msize << 4) - 2) = (uint16_t)msize;
        }
        return n;
    }
    uint16_t *m = u16_meta(r, base);
    ST(&m[idx], (uint16_t)(msize | U16_FREE));
    ST(&m[idx + msize - 1], (uint16_t)(msize | U16_FREE));
    n->msize = (uint16_t)msize;
    n->purged = purged;
    n->epoch = epoch;
    return n;
}

/* Forget that idx starts a block (it is being absorbed by a neighbour). For
 * uint16 metadata also clear the block's last quantum (given as last). */
static inline void absorb(const zt_rack_t *r, uintptr_t base, uint32_t idx, uint32_t last)
{
    if (r->tiny) {
        tiny_clear_start(tiny_meta(r, base), idx);
        return;
    }
    uint16_t *m = u16_meta(r, base);
    ST(&m[idx], 0);
    ST(&m[last], 0);
}

/* The free block that ends right before idx, or false. */
static inline __attribute__((always_inline)) bool
prev_free(const zt_rack_t *r, uintptr_t base, uint32_t idx, uint32_t *pidx, uint32_t *pmsize)
{
    if (idx == 0) return false;
    if (r->tiny) {
        /* A live tiny block is at most 63 quanta: if no block starts in the
         * 64 quanta before idx, the neighbour is a long free block. Looking
         * at the bitmap first spares reading the neighbour's memory (a cache
         * miss) when it is live. */
        const uint64_t *m = tiny_meta(r, base);
        uint32_t last = idx - 1, w = last >> 6;
        uint64_t x = LD(&m[2 * w]) & (~0ull >> (63 - (last & 63)));
        uint32_t j = UINT32_MAX;
        if (x)
            j = w * 64 + 63 - (uint32_t)__builtin_clzll(x);
        else if (w > 0 && (x = LD(&m[2 * (w - 1)])) != 0)
            j = (w - 1) * 64 + 63 - (uint32_t)__builtin_clzll(x);
        if (j != UINT32_MAX && idx - j <= 64) {
            if (use_get(m, j)) return false;
            *pidx = j;
            *pmsize = idx - j;
            return true;
        }
        /* The tail msize of a free block of >= 65 quanta, checked against the
         * bitmap and the node. */
        uint32_t t = *(const uint16_t *)((const char *)ptr_of(r, base, idx) - 2);
        if (t <= 64 || t > idx) return false;
        j = idx - t;
        if (!hdr_get(m, j) || use_get(m, j) || ((free_node_t *)ptr_of(r, base, j))->msize != t)
            return false;
        *pidx = j;
        *pmsize = t;
        return true;
    }
    uint16_t v = LD(&u16_meta(r, base)[idx - 1]);
    if (!(v & U16_FREE)) return false;
    *pmsize = v & ~U16_FREE;
    *pidx = idx - *pmsize;
    return true;
}

/* ---- free lists ------------------------------------------------------------ */

static inline void list_push(magazine_t *m, unsigned s, free_node_t *n)
{
    free_node_t *h = m->slots[s];
    n->prev = NULL;
    n->next = h;
    if (h)
        h->prev = n;
    else
        m->slot_bits[s >> 6] |= 1ull << (s & 63);
    m->slots[s] = n;
}

static inline void list_check(const zt_rack_t *r, const free_node_t *n)
{
    /* A use-after-free write to a free block usually lands on its links:
     * they must point into this rack's regions (one chunk-map load each). */
    if ((n->next && zt_chunkmap_get(n->next) != &r->owner) ||
        (n->prev && zt_chunkmap_get(n->prev) != &r->owner))
        zt_error_corruption("free list link", n);
}

static inline void list_remove(const zt_rack_t *r, magazine_t *m, unsigned s, free_node_t *n)
{
    list_check(r, n);
    if (n->prev)
        n->prev->next = n->next;
    else {
        if (m->slots[s] != n) zt_error_corruption("free list head", n);
        m->slots[s] = n->next;
        if (!n->next) m->slot_bits[s >> 6] &= ~(1ull << (s & 63));
    }
    if (n->next) n->next->prev = n->prev;
}

/* First non-empty slot >= s, or -1. */
static inline int slot_find(const magazine_t *m, unsigned s)
{
    for (unsigned w = s >> 6; w < SLOT_WORDS; w++) {
        uint64_t x = m->slot_bits[w];
        if (w == s >> 6) x &= ~0ull << (s & 63);
        if (x) return (int)(w * 64 + (unsigned)__builtin_ctzll(x));
    }
    return -1;
}

/* ---- region lists ---------------------------------------------------------- */

static void rlist_append(magazine_t *m, region_t *rg)
{
    rg->next = NULL;
    rg->prev = m->last;
    if (m->last)
        m->last->next = rg;
    else
        m->first = rg;
    m->last = rg;
    m->nregions++;
}

static void rlist_remove(magazine_t *m, region_t *rg)
{
    if (rg->prev)
        rg->prev->next = rg->next;
    else
        m->first = rg->next;
    if (rg->next)
        rg->next->prev = rg->prev;
    else
        m->last = rg->prev;
    rg->prev = rg->next = NULL;
    m->nregions--;
}

/* Splice rg (on no list) first: libmalloc's recirc_list_splice_first, used
 * for a region taken from the depot (libmalloc-166.220.1
 * src/magazine_tiny.c:786). */
static void rlist_prepend(magazine_t *m, region_t *rg)
{
    rg->prev = NULL;
    rg->next = m->first;
    if (m->first)
        m->first->prev = rg;
    else
        m->last = rg;
    m->first = rg;
    m->nregions++;
}
