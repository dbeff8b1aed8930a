/* ----------------------------------------------------------------------------
 * rack.c — tiny, small and medium allocation: libmalloc's magazine racks.
 *
 * Layout of a region (reference/libmalloc.md §2.1–2.3), aligned to its size:
 *   tiny    1 MiB:   64520 quanta of 16 B, trailer, interleaved {header,inuse}
 *                    bitmap words (1 bit per quantum each; tail bits preset as
 *                    sentinels)
 *   small   8 MiB:   16319 quanta of 512 B, trailer, uint16 per quantum
 *   medium 128 MiB:  4095 quanta of 32 KiB, trailer, uint16 per quantum
 * uint16 metadata: msize of a block at its first quantum, with the free flag
 * also at its last quantum when free; 0 elsewhere. Tiny: a set header bit
 * starts a block, inuse says whether it is live; a live block ends at the next
 * header bit (allocation sets the bit after a block, so the scan is short).
 *
 * A free block carries its free-list node {prev, next, msize, purged, epoch}
 * at its start (a tiny one longer than 64 quanta also keeps its msize in its
 * last 2 bytes, for backward coalescing; shorter ones are found in the
 * bitmap, since no live tiny block exceeds 63 quanta). Free lists are per magazine: slot msize-1
 * per class plus one overflow slot, with a bitmap of non-empty slots.
 *
 * Locks: magazine → depot. A region belongs to exactly one magazine or the
 * depot (trailer mag_index, read before locking and re-checked after). The
 * region's blocks, its metadata and its free-list nodes are only written
 * under that lock. size() reads metadata without a lock: it enters a per-CPU
 * guard first, and a region is unmapped only after its chunk-map entry is
 * cleared and every guard has drained, so size() never touches unmapped
 * memory.
 *
 * Memory return: a freed span's interior pages are purged (madvise) by a
 * sweep that runs each time a magazine has freed `dirty_trigger` bytes and
 * PURGE_EPOCH_NS (100 ms) have passed since the last sweep, and only for spans that stayed
 * free across that whole interval (so a block churned by malloc/free is not
 * purged and refaulted); a medium region left with nothing live, and every
 * region entering the depot, are purged at once; empty depot regions are
 * unmapped.
 * -------------------------------------------------------------------------- */
#include "rack.h"

#include <errno.h>
#include <string.h>

#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "tcache.h"
#include "va.h"

#define DEPOT         (-1)
#define MAX_MAGAZINES 64
#define MAX_SLOTS     257 /* medium: msize 1..256 + overflow */
#define SLOT_WORDS    ((MAX_SLOTS + 63) / 64)

#define TINY_NQ           64520u
#define TINY_BITMAP_WORDS 1009u /* ceil(64520/64) header words, as many inuse words */
#define SMALL_NQ          16319u
#define MEDIUM_NQ         4095u
#define TRAILER_OFF_PAD   128u /* small/medium: metadata starts this far after the payload */
#define U16_FREE          0x8000u

#define RC_MSIZES       64                 /* thread-cached msizes: tiny 1..63, small 1..64 */
#define RC_CAP          32                 /* most blocks of one msize in a thread cache */
#define RC_BIN_BYTES    (32u << 10)        /* ... and at most this much of one msize */
#define RC_BUDGET_BYTES (256u << 10)       /* held by one thread for one rack */
#define PURGE_MIN_PAGES 4                  /* a free span is purged when >= this many whole pages */
#define PURGE_EPOCH_NS  100000000ull       /* a sweep epoch lasts at least this long */
#define DENSITY(a)      ((a) - ((a) >> 2)) /* 75 % */

/* ---- types --------------------------------------------------------------- */

typedef struct free_node {
    struct free_node *prev, *next;
    uint16_t msize; /* tiny: valid only for msize >= 2 (1-quantum nodes are 16 B) */
    uint8_t purged; /* interior pages already given back */
    uint8_t epoch;  /* magazine sweep epoch when the span became free */
} free_node_t;

/* In-region trailer, right after the payload. */
typedef struct region {
    struct region *prev, *next; /* in the owning magazine's (or the depot's) list */
    uint32_t *tags;             /* out-of-band tag per quantum, mapped lazily */
    int32_t mag_index;          /* owner, DEPOT = -1; atomic: read before locking */
    uint32_t bytes_used;        /* live bytes, including a magazine's last-free block */
    uint8_t recirc_suitable;    /* fell under 75 % used: a candidate for the depot */
} region_t;

_Static_assert(sizeof(region_t) <= 112, "tiny trailer must fit between payload and bitmaps");

typedef struct magazine {
    zt_lock_t lock;
    uint32_t alloc_underway; /* a thread is mapping a region for this magazine */
    void *last_free;         /* one-entry cache: freed, still marked live */
    uint32_t last_free_msize;
    uint32_t bump_idx;        /* first untouched quantum of bump_rg */
    region_t *bump_rg;        /* region whose tail is still being carved (fresh) */
    size_t num_objects;       /* live blocks in this magazine's regions */
    size_t bytes_in_objects;  /* their bytes */
    size_t bytes_in_magazine; /* payload bytes of the regions owned */
    size_t dirty_bytes;       /* freed since the last purge sweep */
    uint64_t epoch_ns;        /* when the current sweep epoch began */
    uint32_t nregions;
    uint8_t epoch;
    region_t *first, *last;
    uint64_t slot_bits[SLOT_WORDS];
    free_node_t *slots[MAX_SLOTS];
} __attribute__((aligned(64))) magazine_t;

typedef struct geom {
    unsigned qshift; /* log2 of the quantum */
    uint32_t nq;     /* payload quanta */
    size_t region_bytes;
    size_t payload_bytes;
    size_t trailer_off;
    size_t meta_off;
    unsigned max_msize;   /* largest class msize */
    unsigned nslots;      /* max_msize + 1 (overflow slot) */
    unsigned cls_first;   /* class of msize 1 */
    size_t dirty_trigger; /* freed bytes between purge sweeps */
    size_t tags_bytes;
} geom_t;

typedef struct guard {
    uint64_t n;
    char pad[56];
} guard_t;

struct zt_rack {
    zt_owner_t owner; /* must stay first: the chunk map's owner object */
    geom_t g;
    unsigned nmag;
    bool tiny;
    size_t map_bytes;
    uint32_t region_count;
    size_t page_bytes;
    uint32_t tc_id;            /* non-zero while this rack owns the thread caches */
    uint8_t tc_cap[RC_MSIZES]; /* thread-cache bound per msize - 1 */
    guard_t guard[MAX_MAGAZINES] __attribute__((aligned(64)));
    magazine_t mags[]; /* mags[0] is the depot, mags[1 + i] magazine i */
};

static inline magazine_t *mag_of(zt_rack_t *r, int mi)
{
    return &r->mags[mi + 1];
}

/* The current CPU's magazine (cpu % nmag; the division is skipped in the
 * usual case of one magazine per CPU). */
static inline unsigned mag_index_here(const zt_rack_t *r)
{
    unsigned cpu = zt_prim_cpu();
    return cpu < r->nmag ? cpu : cpu % r->nmag;
}

/* ---- geometry ------------------------------------------------------------ */

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
    g->tags_bytes = ((size_t)g->nq * sizeof(uint32_t) + page - 1) & ~(page - 1);
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

static inline void tiny_mark_used(uint64_t *m, uint32_t i, uint32_t msize)
{
    uint64_t bit = 1ull << (i & 63);
    word_or(&m[2 * (i >> 6)], bit);
    word_or(&m[2 * (i >> 6) + 1], bit);
    if (msize > 1) tiny_clear_range(m, i + 1, i + msize);
    uint32_t n = i + msize;
    word_or(&m[2 * (n >> 6)], 1ull << (n & 63));
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

static inline void mark_used(const zt_rack_t *r, uintptr_t base, uint32_t idx, uint32_t msize)
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
static inline free_node_t *mark_free(const zt_rack_t *r, uintptr_t base, uint32_t idx,
                                     uint32_t msize, uint8_t purged, uint8_t epoch)
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
static inline bool prev_free(const zt_rack_t *r, uintptr_t base, uint32_t idx, uint32_t *pidx,
                             uint32_t *pmsize)
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

static void rlist_to_front(magazine_t *m, region_t *rg)
{
    if (m->first == rg) return;
    rlist_remove(m, rg);
    rg->prev = NULL;
    rg->next = m->first;
    if (m->first)
        m->first->prev = rg;
    else
        m->last = rg;
    m->first = rg;
    m->nregions++;
}

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

static inline void note_dirty(zt_rack_t *r, magazine_t *m, size_t bytes)
{
    m->dirty_bytes += bytes;
    if (zt_unlikely(m->dirty_bytes >= r->g.dirty_trigger)) sweep(r, m);
}

/* ---- freeing inside a locked magazine ------------------------------------- */

/* Turn [idx, idx+msize) of rg (owned by locked m) into free space, merging
 * with free neighbours, and list it. */
static free_node_t *release_range(zt_rack_t *r, magazine_t *m, region_t *rg, uintptr_t base,
                                  uint32_t idx, uint32_t msize, uint32_t *out_msize)
{
    uint32_t start = idx, total = msize, pidx, pm;
    /* The merged span takes the oldest epoch of its parts: a span that keeps
     * growing by small frees must still be purged one day. */
    uint8_t epoch = m->epoch;
    if (prev_free(r, base, idx, &pidx, &pm)) {
        free_node_t *pn = ptr_of(r, base, pidx);
        if (!(r->tiny && pm < 2) && (uint8_t)(m->epoch - pn->epoch) > (uint8_t)(m->epoch - epoch))
            epoch = pn->epoch;
        list_remove(r, m, slot_of(r, pm), pn);
        absorb(r, base, idx, idx - 1);
        start = pidx;
        total += pm;
    }
    uint32_t n = idx + msize;
    if (n < r->g.nq && !(m->bump_rg == rg && n == m->bump_idx) && is_free_start(r, base, n)) {
        uint32_t nm = free_msize(r, base, n);
        free_node_t *nn = ptr_of(r, base, n);
        if (!(r->tiny && nm < 2) && (uint8_t)(m->epoch - nn->epoch) > (uint8_t)(m->epoch - epoch))
            epoch = nn->epoch;
        list_remove(r, m, slot_of(r, nm), nn);
        absorb(r, base, n, n + nm - 1);
        total += nm;
    }
    free_node_t *node = mark_free(r, base, start, total, 0, epoch);
    list_push(m, slot_of(r, total), node);
    if (out_msize) *out_msize = total;
    return node;
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

static void move_region(zt_rack_t *r, magazine_t *from, magazine_t *to, int to_index, region_t *rg)
{
    size_t objects = region_objects_and_lists(r, from, rg, false);
    rlist_remove(from, rg);
    from->bytes_in_magazine -= r->g.payload_bytes;
    from->bytes_in_objects -= rg->bytes_used;
    from->num_objects -= objects;
    __atomic_store_n(&rg->mag_index, to_index, __ATOMIC_RELEASE);
    region_objects_and_lists(r, to, rg, true);
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
 * tiny_free_do_recirc_to_depot). Returns a region to unmap, or NULL. */
static region_t *recirc_to_depot(zt_rack_t *r, magazine_t *m)
{
    region_t *rg = m->first;
    if (!rg || !rg->recirc_suitable) return NULL;
    if (rg->bytes_used >= DENSITY(r->g.payload_bytes)) {
        /* Filled up again since it was marked: no longer a candidate. */
        rg->recirc_suitable = 0;
        rlist_remove(m, rg);
        rlist_append(m, rg);
        return NULL;
    }
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
    move_region(r, m, depot, DEPOT, rg);
    rg->recirc_suitable = 0;
    size_t purged = 0;
    purge_region_free(r, rg, &purged);
    region_t *dead = depot_try_retire(r, depot, rg);
    zt_unlock(&depot->lock);
    return dead;
}

/* Free a live block of rg (owned by the locked m, not the depot): counters,
 * coalescing, recirculation. Returns a region to unmap, or NULL. */
static region_t *free_in_magazine(zt_rack_t *r, magazine_t *m, region_t *rg, uintptr_t base,
                                  uint32_t idx, uint32_t msize)
{
    size_t bytes = (size_t)msize << r->g.qshift;
    rg->bytes_used -= (uint32_t)bytes;
    m->bytes_in_objects -= bytes;
    m->num_objects--;
    release_range(r, m, rg, base, idx, msize, NULL);
    note_dirty(r, m, bytes);
    if (r->owner.kind == ZT_KIND_MEDIUM && rg->bytes_used == cached_in(r, m, rg)) {
        /* A medium region with nothing live left (128 MiB): what a program
         * dropping its big blocks expects back now, not after an epoch. */
        size_t purged = 0;
        purge_region_free(r, rg, &purged);
    }
    if (r->nmag == 1) return NULL; /* libmalloc: a single magazine never recirculates */
    if (!rg->recirc_suitable && rg->bytes_used < DENSITY(r->g.payload_bytes)) {
        rg->recirc_suitable = 1;
        rlist_to_front(m, rg);
    }
    size_t a = m->bytes_in_magazine, u = m->bytes_in_objects;
    if (a - u > 3 * r->g.payload_bytes / 2 && u < DENSITY(a)) return recirc_to_depot(r, m);
    return NULL;
}

/* ---- allocation inside a locked magazine ---------------------------------- */

static inline void count_alloc(zt_rack_t *r, magazine_t *m, region_t *rg, uint32_t msize)
{
    size_t bytes = (size_t)msize << r->g.qshift;
    rg->bytes_used += (uint32_t)bytes;
    m->bytes_in_objects += bytes;
    m->num_objects++;
}

static void *alloc_from_lists(zt_rack_t *r, magazine_t *m, uint32_t msize)
{
    unsigned s = slot_of(r, msize);
    free_node_t *n = m->slots[s];
    if (!n) {
        int s2 = slot_find(m, s + 1);
        if (s2 < 0) return NULL;
        s = (unsigned)s2;
        n = m->slots[s];
    }
    list_remove(r, m, s, n);
    uintptr_t base = base_of(r, n);
    uint32_t idx = idx_of(r, base, n);
    uint32_t bm = free_msize(r, base, idx);
    region_t *rg = trailer_of(r, base);
    uint8_t purged = (r->tiny && bm < 2) ? 0 : n->purged,
            epoch = (r->tiny && bm < 2) ? 0 : n->epoch;
    if (bm > msize) {
        free_node_t *rest = mark_free(r, base, idx + msize, bm - msize, purged, epoch);
        list_push(m, slot_of(r, bm - msize), rest);
    }
    mark_used(r, base, idx, msize);
    count_alloc(r, m, rg, msize);
    return n;
}

static void *alloc_from_bump(zt_rack_t *r, magazine_t *m, uint32_t msize)
{
    region_t *rg = m->bump_rg;
    if (!rg || m->bump_idx + msize > r->g.nq) return NULL;
    uintptr_t base = region_base(r, rg);
    uint32_t idx = m->bump_idx;
    m->bump_idx += msize;
    mark_used(r, base, idx, msize);
    count_alloc(r, m, rg, msize);
    return ptr_of(r, base, idx);
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
    move_region(r, depot, m, mi, rg);
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

/* Allocate msize quanta; on success returns with *mout locked. *fresh is set
 * when the block comes from never-touched memory (already zero). */
static void *rack_alloc(zt_rack_t *r, uint32_t msize, magazine_t **mout, bool *fresh)
{
    int mi = (int)mag_index_here(r);
    magazine_t *m = mag_of(r, mi);
    zt_lock(&m->lock);
    for (;;) {
        *fresh = false;
        if (m->last_free && m->last_free_msize == msize) {
            void *p = m->last_free;
            m->last_free = NULL;
            *mout = m;
            return p;
        }
        void *p = alloc_from_lists(r, m, msize);
        if (!p && (p = alloc_from_bump(r, m, msize)) != NULL) *fresh = true;
        if (p) {
            *mout = m;
            return p;
        }
        if (steal_from_depot(r, m, mi, msize)) continue;
        if (m->alloc_underway) {
            /* Another thread is mapping for this magazine: wait for it. */
            zt_unlock(&m->lock);
            zt_prim_yield();
            zt_lock(&m->lock);
            continue;
        }
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

/* ---- tags ------------------------------------------------------------------ */

static void tag_store(zt_rack_t *r, region_t *rg, uint32_t idx, uint32_t tag)
{
    uint32_t *t = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    if (!t) {
        if (tag == 0) return;
        uint32_t *fresh = zt_prim_map(r->g.tags_bytes);
        if (!fresh) return;
        uint32_t *expected = NULL;
        if (__atomic_compare_exchange_n(&rg->tags, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            t = fresh;
        else {
            zt_prim_unmap(fresh, r->g.tags_bytes);
            t = expected;
        }
    }
    /* An untagged (unsampled) block mostly finds 0 there already: skip the
     * store, which would dirty the tag array's cache line. */
    if (tag != 0 || __atomic_load_n(&t[idx], __ATOMIC_RELAXED) != 0)
        __atomic_store_n(&t[idx], tag, __ATOMIC_RELAXED);
}

/* Read and clear a block's tag (owning lock held). */
static inline uint32_t tag_take(region_t *rg, uint32_t idx)
{
    uint32_t *t = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    if (!t) return 0;
    uint32_t v = __atomic_load_n(&t[idx], __ATOMIC_RELAXED);
    if (v) __atomic_store_n(&t[idx], 0, __ATOMIC_RELAXED);
    return v;
}

static inline uint32_t tag_peek(const region_t *rg, uint32_t idx)
{
    uint32_t *t = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    return t ? __atomic_load_n(&t[idx], __ATOMIC_RELAXED) : 0;
}

static void profile_alloc(zt_rack_t *r, void *p, uint32_t msize)
{
    uint32_t tag =
        zt_hook_alloc_slow(r->owner.zone, p, (size_t)msize << r->g.qshift, cls_of(r, msize));
    uintptr_t base = base_of(r, p);
    tag_store(r, trailer_of(r, base), idx_of(r, base, p), tag);
}

/* ---- per-thread cache --------------------------------------------------------
 * The thread cache (tcache.c) in front of the magazines, for tiny and small
 * blocks: a thread keeps up to tc_cap freed blocks per msize and hands them
 * out again with no lock and no atomic operation. A cached block stays inside
 * its region and keeps its metadata (live, counted in bytes_used, so its
 * region is never recirculated or unmapped under the cache and no neighbour
 * coalesces with it); what marks it free is its first word, the cache cookie
 * ^ its address. size() returns 0 for it, a second free is a double free,
 * the walker skips it, and the locked paths refuse it. Only frees fill the
 * cache; a full bin flushes its older half under as few magazine locks as
 * possible. One tiny and one small rack own the caches: the first ones
 * created for a zone (the default zone's; unit tests make racks with no zone
 * and see the uncached behaviour); none on limited (emulated device)
 * profiles. The owning thread's statistics, walk, check and relief flush its
 * own entries first. */

static magazine_t *lock_owner(zt_rack_t *r, region_t *rg, int *mi_out);
static region_t *free_locked(zt_rack_t *r, magazine_t *m, int mi, region_t *rg, uintptr_t base,
                             uint32_t idx, uint32_t msize, void *ptr);

static inline enum zt_tcache_kind rc_kind(const zt_rack_t *r)
{
    return r->tiny ? ZT_TCACHE_TINY : ZT_TCACHE_SMALL;
}

static inline uint64_t rc_guard(const void *p)
{
    return zt_tcache_cookie() ^ (uintptr_t)p;
}

/* True if the live-looking block p sits in some thread's cache. */
static inline bool rc_cached(const zt_rack_t *r, const void *p)
{
    return r->tc_id && __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED) == rc_guard(p);
}

/* zt_tcache_flush_fn: free cached blocks of msize bin + 1 for real. */
static size_t rc_flush(void *owner, unsigned bin, void *const *v, unsigned n)
{
    zt_rack_t *r = owner;
    uint32_t ms = bin + 1;
    magazine_t *held = NULL;
    int held_mi = 0;
    for (unsigned i = 0; i < n; i++) {
        void *p = v[i];
        uintptr_t base = base_of(r, p);
        region_t *rg = trailer_of(r, base);
        __atomic_store_n((uint64_t *)p, 0, __ATOMIC_RELAXED); /* no longer cached */
        /* The owner of a region changes only under its current owner's lock:
         * holding the lock of the magazine it names keeps the answer valid. */
        if (!held || __atomic_load_n(&rg->mag_index, __ATOMIC_ACQUIRE) != held_mi) {
            if (held) zt_unlock(&held->lock);
            held = lock_owner(r, rg, &held_mi);
        }
        region_t *dead = free_locked(r, held, held_mi, rg, base, idx_of(r, base, p), ms, p);
        if (dead) {
            zt_unlock(&held->lock);
            held = NULL;
            unmap_region(r, dead);
        }
    }
    if (held) zt_unlock(&held->lock);
    return (size_t)n * ms << r->g.qshift;
}

/* Free into the thread's cache. False: not taken (the locked path decides). */
static inline bool rc_free(zt_rack_t *r, void *ptr, uintptr_t base, uint32_t idx)
{
    zt_tcache_section_t *tc = zt_tcache_for_free(rc_kind(r), r->tc_id);
    if (zt_unlikely(tc == NULL)) return false;
    /* Unlocked, as size(): the caller owns a live block, whose metadata only
     * its owner changes. Anything doubtful goes to the locked path. */
    uint32_t msize = live_msize(r, base, idx);
    if (msize == 0 || msize > RC_MSIZES) return false;
    size_t bytes = (size_t)msize << r->g.qshift;
    if (tc->bytes + bytes > RC_BUDGET_BYTES) return false; /* the locked path */
    if (rc_cached(r, ptr)) {
        zt_error_bad_free(ZT_BAD_FREED_TWICE, ptr, zt_error_caller);
        return true;
    }
    region_t *rg = trailer_of(r, base);
    int mi = __atomic_load_n(&rg->mag_index, __ATOMIC_ACQUIRE);
    if (mi >= 0 && mi < (int)r->nmag &&
        __atomic_load_n(&mag_of(r, mi)->last_free, __ATOMIC_RELAXED) == ptr)
        return false; /* freed already, sitting in the last-free cache */
    zt_hook_freed(r->owner.zone, ptr, bytes, cls_of(r, msize), tag_take(rg, idx));
    __atomic_store_n((uint64_t *)ptr, rc_guard(ptr), __ATOMIC_RELAXED);
    unsigned b = msize - 1;
    if (zt_unlikely(tc->count[b] >= r->tc_cap[b]))
        zt_tcache_flush_bin(tc, rc_kind(r), b, tc->count[b] - r->tc_cap[b] / 2);
    zt_tcache_push(tc, b, RC_CAP, ptr);
    tc->bytes += bytes;
    return true;
}

/* r becomes the owner of its kind's caches if none is. */
static void rc_claim(zt_rack_t *r)
{
    if (r->owner.kind != ZT_KIND_TINY && r->owner.kind != ZT_KIND_SMALL) return;
    for (unsigned ms = 1; ms <= RC_MSIZES; ms++) {
        size_t bytes = (size_t)ms << r->g.qshift, cap = RC_BIN_BYTES / bytes;
        if (ms > r->g.max_msize)
            cap = 0;
        else if (cap < 1)
            cap = 1;
        else if (cap > RC_CAP)
            cap = RC_CAP;
        r->tc_cap[ms - 1] = (uint8_t)cap;
    }
    r->tc_id = zt_tcache_claim(rc_kind(r), r, rc_flush, RC_CAP);
}

static void rc_unclaim(zt_rack_t *r)
{
    zt_tcache_unclaim(rc_kind(r), r->tc_id);
    r->tc_id = 0;
}

/* ---- public: create / destroy --------------------------------------------- */

zt_rack_t *zt_rack_create(malloc_zone_t *zone, enum zt_kind kind, unsigned nmag)
{
    if (kind != ZT_KIND_TINY && kind != ZT_KIND_SMALL && kind != ZT_KIND_MEDIUM) return NULL;
    if (nmag < 1) nmag = 1;
    if (nmag > MAX_MAGAZINES) nmag = MAX_MAGAZINES;
    size_t page = zt_prim_page_bytes();
    size_t bytes = sizeof(zt_rack_t) + (nmag + 1) * sizeof(magazine_t);
    bytes = (bytes + page - 1) & ~(page - 1);
    zt_rack_t *r = zt_prim_map(bytes);
    if (!r) return NULL;
    r->owner.kind = (uint8_t)kind;
    r->owner.zone = zone;
    geom_init(&r->g, kind);
    r->nmag = nmag;
    r->tiny = kind == ZT_KIND_TINY;
    r->map_bytes = bytes;
    r->page_bytes = page;
    if (zone) rc_claim(r);
    return r;
}

void zt_rack_destroy(zt_rack_t *r)
{
    if (!r) return;
    rc_unclaim(r);
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        magazine_t *m = mag_of(r, mi);
        region_t *rg = m->first;
        while (rg) {
            region_t *next = rg->next;
            zt_chunkmap_set(region_base(r, rg), r->g.region_bytes, NULL);
            unmap_region(r, rg);
            rg = next;
        }
    }
    zt_prim_unmap(r, r->map_bytes);
}

/* ---- public: malloc ------------------------------------------------------- */

void *zt_rack_malloc(zt_rack_t *r, unsigned cls, bool clear)
{
    uint32_t msize = cls - (r->g.cls_first - 1);
    zt_tcache_section_t *tc = zt_tcache_mine(rc_kind(r), r->tc_id);
    void *p;
    if (tc && msize <= RC_MSIZES && (p = zt_tcache_pop(tc, msize - 1, RC_CAP)) != NULL) {
        tc->bytes -= (size_t)msize << r->g.qshift;
        __atomic_store_n((uint64_t *)p, 0, __ATOMIC_RELAXED); /* live again */
        if (clear) memset(p, 0, (size_t)msize << r->g.qshift);
        if (zt_hook_wanted((size_t)msize << r->g.qshift)) profile_alloc(r, p, msize);
        return p;
    }
    magazine_t *m;
    bool fresh;
    p = rack_alloc(r, msize, &m, &fresh);
    if (!p) return NULL;
    zt_unlock(&m->lock);
    if (clear && !fresh) memset(p, 0, (size_t)msize << r->g.qshift);
    if (zt_hook_wanted((size_t)msize << r->g.qshift)) profile_alloc(r, p, msize);
    return p;
}

void *zt_rack_malloc_aligned(zt_rack_t *r, size_t bytes, size_t align_bytes, bool clear)
{
    size_t q = (size_t)1 << r->g.qshift;
    size_t need = bytes == 0 ? 1 : (bytes + q - 1) >> r->g.qshift;
    if (align_bytes <= q) {
        if (need > r->g.max_msize) return NULL;
        return zt_rack_malloc(r, cls_of(r, (uint32_t)need), clear);
    }
    if ((align_bytes & (align_bytes - 1)) || need > r->g.max_msize) return NULL;
    size_t span = need + (align_bytes >> r->g.qshift) - 1;
    if (span > r->g.max_msize) return NULL;
    magazine_t *m;
    bool fresh;
    void *p = rack_alloc(r, (uint32_t)span, &m, &fresh);
    if (!p) return NULL;
    uintptr_t base = base_of(r, p);
    region_t *rg = trailer_of(r, base);
    uint32_t i = idx_of(r, base, p);
    uintptr_t a = ((uintptr_t)p + align_bytes - 1) & ~(uintptr_t)(align_bytes - 1);
    uint32_t ai = idx_of(r, base, (void *)a);
    uint32_t head = ai - i, tail = (uint32_t)(span - head - need);
    /* Carve [i, i+span) into head (freed), the block, and tail (freed). */
    mark_used(r, base, ai, (uint32_t)(span - head));
    if (head) {
        mark_used(r, base, i, head);
        release_range(r, m, rg, base, i, head, NULL);
    }
    if (tail) {
        mark_used(r, base, ai, (uint32_t)need);
        mark_used(r, base, ai + (uint32_t)need, tail);
        release_range(r, m, rg, base, ai + (uint32_t)need, tail, NULL);
    }
    size_t slack = (size_t)(head + tail) << r->g.qshift;
    rg->bytes_used -= (uint32_t)slack;
    m->bytes_in_objects -= slack;
    zt_unlock(&m->lock);
    if (clear && !fresh) memset((void *)a, 0, need << r->g.qshift);
    if (zt_hook_wanted(need << r->g.qshift)) profile_alloc(r, (void *)a, (uint32_t)need);
    return (void *)a;
}

/* ---- public: size ---------------------------------------------------------- */

size_t zt_rack_size(zt_rack_t *r, const void *ptr)
{
    uintptr_t base = base_of(r, ptr), off = (uintptr_t)ptr - base;
    if (off & (((uintptr_t)1 << r->g.qshift) - 1)) return 0;
    uint32_t idx = (uint32_t)(off >> r->g.qshift);
    if (idx >= r->g.nq) return 0;
    unsigned gi = mag_index_here(r);
    __atomic_fetch_add(&r->guard[gi].n, 1, __ATOMIC_SEQ_CST);
    size_t bytes = 0;
    if (zt_chunkmap_get(ptr) == &r->owner) {
        uint32_t msize = live_msize(r, base, idx);
        if (msize && !rc_cached(r, ptr)) {
            int mi = __atomic_load_n(&trailer_of(r, base)->mag_index, __ATOMIC_ACQUIRE);
            if (mi < 0 || mi >= (int)r->nmag ||
                __atomic_load_n(&mag_of(r, mi)->last_free, __ATOMIC_RELAXED) != ptr)
                bytes = (size_t)msize << r->g.qshift;
        }
    }
    __atomic_fetch_sub(&r->guard[gi].n, 1, __ATOMIC_RELEASE);
    return bytes;
}

/* ---- public: free ---------------------------------------------------------- */

/* Lock the magazine owning rg (re-checked: regions migrate via the depot). */
static magazine_t *lock_owner(zt_rack_t *r, region_t *rg, int *mi_out)
{
    for (;;) {
        int mi = __atomic_load_n(&rg->mag_index, __ATOMIC_ACQUIRE);
        if (mi < DEPOT || mi >= (int)r->nmag)
            mi = DEPOT; /* garbage from a bad pointer: the depot lock is as good as any */
        magazine_t *m = mag_of(r, mi);
        zt_lock(&m->lock);
        if (__atomic_load_n(&rg->mag_index, __ATOMIC_RELAXED) == mi) {
            *mi_out = mi;
            return m;
        }
        zt_unlock(&m->lock);
    }
}

/* Classify a pointer that is not a live block (lock held): a free block's
 * start or the cache is a double free, anything else was never allocated. */
static enum zt_bad_free bad_kind(zt_rack_t *r, magazine_t *m, region_t *rg, uintptr_t base,
                                 uint32_t idx, const void *ptr)
{
    if (ptr == m->last_free) return ZT_BAD_FREED_TWICE;
    if (m->bump_rg == rg && idx >= m->bump_idx) return ZT_BAD_NOT_ALLOCATED;
    return is_free_start(r, base, idx) ? ZT_BAD_FREED_TWICE : ZT_BAD_NOT_ALLOCATED;
}

/* Free the live block idx of rg, whose magazine m (index mi) is locked:
 * the last-free cache, coalescing, the depot. Returns a region to unmap
 * after unlocking, or NULL. */
static region_t *free_locked(zt_rack_t *r, magazine_t *m, int mi, region_t *rg, uintptr_t base,
                             uint32_t idx, uint32_t msize, void *ptr)
{
    region_t *dead = NULL;
    if (mi != DEPOT) {
        /* libmalloc's last-free cache: tiny blocks under 16 quanta, any small
         * or medium block. The previous occupant is freed for real. */
        if (!r->tiny || msize < 16) {
            void *prev = m->last_free;
            uint32_t pm = m->last_free_msize;
            m->last_free = ptr;
            m->last_free_msize = msize;
            if (prev) {
                uintptr_t pb = base_of(r, prev);
                dead = free_in_magazine(r, m, trailer_of(r, pb), pb, idx_of(r, pb, prev), pm);
            }
        } else {
            dead = free_in_magazine(r, m, rg, base, idx, msize);
        }
    } else {
        size_t bytes = (size_t)msize << r->g.qshift;
        rg->bytes_used -= (uint32_t)bytes;
        m->bytes_in_objects -= bytes;
        m->num_objects--;
        release_range(r, m, rg, base, idx, msize, NULL);
        note_dirty(r, m, bytes);
        dead = depot_try_retire(r, m, rg);
    }
    return dead;
}

static void free_uncached(zt_rack_t *r, void *ptr, uintptr_t base, uint32_t idx)
{
    region_t *rg = trailer_of(r, base);
    int mi;
    magazine_t *m = lock_owner(r, rg, &mi);
    uint32_t msize = live_msize(r, base, idx);
    if (msize == 0 || ptr == m->last_free || (m->bump_rg == rg && idx >= m->bump_idx) ||
        rc_cached(r, ptr)) {
        enum zt_bad_free why =
            rc_cached(r, ptr) ? ZT_BAD_FREED_TWICE : bad_kind(r, m, rg, base, idx, ptr);
        zt_unlock(&m->lock);
        zt_error_bad_free(why, ptr, zt_error_caller);
        return;
    }
    uint32_t tag = tag_take(rg, idx);
    region_t *dead = free_locked(r, m, mi, rg, base, idx, msize, ptr);
    zt_unlock(&m->lock);
    if (dead) unmap_region(r, dead);
    zt_hook_freed(r->owner.zone, ptr, (size_t)msize << r->g.qshift, cls_of(r, msize), tag);
}

void zt_rack_free(zt_rack_t *r, void *ptr)
{
    uintptr_t base = base_of(r, ptr), off = (uintptr_t)ptr - base;
    uint32_t idx = (uint32_t)(off >> r->g.qshift);
    if ((off & (((uintptr_t)1 << r->g.qshift) - 1)) || idx >= r->g.nq) {
        /* Misaligned, or inside the trailer and metadata. */
        zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
        return;
    }
    if (r->tc_id && rc_free(r, ptr, base, idx)) return;
    free_uncached(r, ptr, base, idx);
}

/* ---- public: realloc in place --------------------------------------------- */

bool zt_rack_realloc_in_place(zt_rack_t *r, void *ptr, size_t new_bytes)
{
    uintptr_t base = base_of(r, ptr), off = (uintptr_t)ptr - base;
    uint32_t idx = (uint32_t)(off >> r->g.qshift);
    if ((off & (((uintptr_t)1 << r->g.qshift) - 1)) || idx >= r->g.nq) return false;
    size_t nm = new_bytes == 0 ? 1 : (new_bytes + ((size_t)1 << r->g.qshift) - 1) >> r->g.qshift;
    if (nm > r->g.max_msize) return false;
    uint32_t new_m = (uint32_t)nm;
    region_t *rg = trailer_of(r, base);
    int mi;
    magazine_t *m = lock_owner(r, rg, &mi);
    uint32_t old_m = live_msize(r, base, idx);
    if (old_m == 0 || ptr == m->last_free || (m->bump_rg == rg && idx >= m->bump_idx) ||
        rc_cached(r, ptr)) {
        zt_unlock(&m->lock);
        return false;
    }
    if (new_m == old_m) {
        zt_unlock(&m->lock);
        return true;
    }
    if (new_m < old_m) {
        mark_used(r, base, idx, new_m);
        mark_used(r, base, idx + new_m, old_m - new_m);
        release_range(r, m, rg, base, idx + new_m, old_m - new_m, NULL);
        size_t d = (size_t)(old_m - new_m) << r->g.qshift;
        rg->bytes_used -= (uint32_t)d;
        m->bytes_in_objects -= d;
    } else {
        uint32_t n = idx + old_m, extra = new_m - old_m;
        if (m->bump_rg == rg && n == m->bump_idx) {
            if (n + extra > r->g.nq) {
                zt_unlock(&m->lock);
                return false;
            }
            m->bump_idx += extra;
            mark_used(r, base, idx, new_m);
        } else if (n < r->g.nq && is_free_start(r, base, n) && free_msize(r, base, n) >= extra) {
            uint32_t fm = free_msize(r, base, n);
            free_node_t *fn = ptr_of(r, base, n);
            uint8_t purged = (r->tiny && fm < 2) ? 0 : fn->purged;
            uint8_t epoch = (r->tiny && fm < 2) ? 0 : fn->epoch;
            list_remove(r, m, slot_of(r, fm), fn);
            absorb(r, base, n, n + fm - 1);
            mark_used(r, base, idx, new_m);
            if (fm > extra)
                list_push(m, slot_of(r, fm - extra),
                          mark_free(r, base, idx + new_m, fm - extra, purged, epoch));
        } else {
            zt_unlock(&m->lock);
            return false;
        }
        size_t d = (size_t)extra << r->g.qshift;
        rg->bytes_used += (uint32_t)d;
        m->bytes_in_objects += d;
    }
    uint32_t tag = tag_take(rg, idx);
    zt_unlock(&m->lock);
    zt_hook_freed(r->owner.zone, ptr, (size_t)old_m << r->g.qshift, cls_of(r, old_m), tag);
    if (zt_hook_wanted((size_t)new_m << r->g.qshift)) profile_alloc(r, ptr, new_m);
    return true;
}

/* ---- purging and relief --------------------------------------------------- */

static void purge_region_free(zt_rack_t *r, region_t *rg, size_t *total)
{
    uintptr_t base = region_base(r, rg);
    uint32_t i = 0;
    while (i < r->g.nq) {
        uint32_t len;
        if (is_free_start(r, base, i)) {
            len = free_msize(r, base, i);
            *total += purge_span(r, ptr_of(r, base, i), len);
        } else {
            len = live_msize(r, base, i);
            if (len == 0) break;
        }
        i += len;
    }
}

size_t zt_rack_pressure_relief(zt_rack_t *r, size_t goal_bytes)
{
    size_t total = 0;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    /* Depot regions first (what libmalloc's relief madvises), then the
     * magazines' own free spans. */
    magazine_t *depot = mag_of(r, DEPOT);
    zt_lock(&depot->lock);
    total += purge_lists(r, depot, true, goal_bytes);
    zt_unlock(&depot->lock);
    for (unsigned i = 0; i < r->nmag && !(goal_bytes && total >= goal_bytes); i++) {
        magazine_t *m = mag_of(r, (int)i);
        zt_lock(&m->lock);
        total += purge_lists(r, m, true, goal_bytes ? goal_bytes - total : 0);
        zt_unlock(&m->lock);
    }
    return total;
}

/* ---- walk, statistics, check, print -------------------------------------- */

void zt_rack_force_lock(zt_rack_t *r)
{
    zt_tcache_fork_lock(rc_kind(r), r->tc_id);
    for (unsigned i = 0; i < r->nmag; i++)
        zt_lock(&mag_of(r, (int)i)->lock);
    zt_lock(&mag_of(r, DEPOT)->lock);
}

void zt_rack_force_unlock(zt_rack_t *r)
{
    zt_unlock(&mag_of(r, DEPOT)->lock);
    for (unsigned i = r->nmag; i-- > 0;)
        zt_unlock(&mag_of(r, (int)i)->lock);
    zt_tcache_fork_unlock(rc_kind(r), r->tc_id);
}

void zt_rack_reinit_lock(zt_rack_t *r)
{
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        zt_lock_reinit(&mag_of(r, mi)->lock);
        mag_of(r, mi)->alloc_underway = 0;
    }
    for (unsigned i = 0; i < MAX_MAGAZINES; i++)
        r->guard[i].n = 0;
    zt_tcache_fork_child(rc_kind(r), r->tc_id);
}

bool zt_rack_locked(zt_rack_t *r)
{
    for (int mi = DEPOT; mi < (int)r->nmag; mi++)
        if (__atomic_load_n(&mag_of(r, mi)->lock.word, __ATOMIC_RELAXED) != 0) return true;
    return false;
}

unsigned zt_rack_region_count(zt_rack_t *r)
{
    return __atomic_load_n(&r->region_count, __ATOMIC_RELAXED);
}

/* Bytes of the cached last-free block of m lying in rg (0 if none). */
static size_t cached_in(const zt_rack_t *r, const magazine_t *m, const region_t *rg)
{
    if (m->last_free && base_of(r, m->last_free) == region_base(r, rg))
        return (size_t)m->last_free_msize << r->g.qshift;
    return 0;
}

void zt_rack_walk(zt_rack_t *r, const zt_walker_t *w)
{
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    zt_rack_force_lock(r);
    if (w->admin) w->admin(w->ctx, (uintptr_t)r, r->map_bytes);
    for (int mi = 0; mi <= (int)r->nmag; mi++) {
        magazine_t *m = &r->mags[mi]; /* depot first */
        for (region_t *rg = m->first; rg; rg = rg->next) {
            uintptr_t base = region_base(r, rg);
            if (w->region)
                w->region(w->ctx, r->owner.zone, (enum zt_kind)r->owner.kind, base,
                          r->g.region_bytes, rg->bytes_used - cached_in(r, m, rg));
            if (w->admin) {
                w->admin(w->ctx, base + r->g.trailer_off, r->g.region_bytes - r->g.trailer_off);
                if (rg->tags) w->admin(w->ctx, (uintptr_t)rg->tags, r->g.tags_bytes);
            }
            if (!w->block) continue;
            uint32_t end = m->bump_rg == rg ? m->bump_idx : r->g.nq;
            for (uint32_t i = 0; i < end;) {
                uint32_t len;
                if (is_free_start(r, base, i)) {
                    len = free_msize(r, base, i);
                } else {
                    len = live_msize(r, base, i);
                    if (len == 0) break;
                    void *p = ptr_of(r, base, i);
                    if (p != m->last_free && !rc_cached(r, p))
                        w->block(w->ctx, (uintptr_t)p, (size_t)len << r->g.qshift, cls_of(r, len),
                                 tag_peek(rg, i));
                }
                i += len;
            }
        }
    }
    zt_rack_force_unlock(r);
}

void zt_rack_statistics(zt_rack_t *r, malloc_statistics_t *stats)
{
    size_t objects = 0, in_use = 0, untouched = 0, regions = 0;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        magazine_t *m = mag_of(r, mi);
        zt_lock(&m->lock);
        objects += m->num_objects;
        in_use += m->bytes_in_objects;
        regions += m->nregions;
        if (m->last_free) {
            objects--;
            in_use -= (size_t)m->last_free_msize << r->g.qshift;
        }
        if (m->bump_rg) untouched += (size_t)(r->g.nq - m->bump_idx) << r->g.qshift;
        zt_unlock(&m->lock);
    }
    stats->blocks_in_use = (unsigned)objects;
    stats->size_in_use = in_use;
    stats->size_allocated = regions * r->g.region_bytes;
    stats->max_size_in_use = stats->size_allocated - untouched;
}

static bool check_fail(const char *what, const void *where)
{
    zt_prim_message("rack check failed: %s at %p", what, where);
    return false;
}

/* Tiling, metadata and byte count of one region; counts its free blocks. */
static bool check_region(zt_rack_t *r, magazine_t *m, int mi, region_t *rg, size_t *nfree)
{
    uintptr_t base = region_base(r, rg);
    if (rg->mag_index != mi) return check_fail("region owner", (void *)base);
    if (zt_chunkmap_get((void *)base) != &r->owner)
        return check_fail("chunk map entry", (void *)base);
    uint32_t end = m->bump_rg == rg ? m->bump_idx : r->g.nq;
    size_t used = 0;
    bool prev_was_free = false;
    for (uint32_t i = 0; i < end;) {
        uint32_t len;
        if (is_free_start(r, base, i)) {
            len = free_msize(r, base, i);
            if (len == 0 || i + len > end) return check_fail("free block size", ptr_of(r, base, i));
            if (prev_was_free) return check_fail("adjacent free blocks", ptr_of(r, base, i));
            (*nfree)++;
            prev_was_free = true;
        } else {
            len = live_msize(r, base, i);
            if (len == 0 || i + len > end) return check_fail("block metadata", ptr_of(r, base, i));
            used += (size_t)len << r->g.qshift;
            prev_was_free = false;
        }
        i += len;
    }
    if (used != rg->bytes_used) return check_fail("region bytes_used", (void *)base);
    return true;
}

bool zt_rack_check(zt_rack_t *r)
{
    bool ok = true;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    zt_rack_force_lock(r);
    unsigned regions = 0;
    for (int mi = DEPOT; mi < (int)r->nmag && ok; mi++) {
        magazine_t *m = mag_of(r, mi);
        size_t used = 0, listed = 0, nfree = 0;
        for (region_t *rg = m->first; rg && ok; rg = rg->next) {
            ok = check_region(r, m, mi, rg, &nfree);
            used += rg->bytes_used;
            regions++;
        }
        if (ok && used != m->bytes_in_objects) ok = check_fail("magazine bytes_in_objects", m);
        if (ok && m->nregions * r->g.payload_bytes != m->bytes_in_magazine)
            ok = check_fail("magazine bytes_in_magazine", m);
        for (unsigned s = 0; s < r->g.nslots && ok; s++) {
            bool bit = (m->slot_bits[s >> 6] >> (s & 63)) & 1;
            if (bit != (m->slots[s] != NULL)) ok = check_fail("slot bitmap", m);
            for (free_node_t *n = m->slots[s]; n && ok; n = n->next) {
                if (listed > nfree) {
                    ok = check_fail("free list longer than the free blocks (cycle?)", n);
                    break;
                }
                uintptr_t base = base_of(r, n);
                if (zt_chunkmap_get(n) != &r->owner || trailer_of(r, base)->mag_index != mi) {
                    ok = check_fail("free node outside the magazine", n);
                    break;
                }
                uint32_t i = idx_of(r, base, n);
                if (!is_free_start(r, base, i) || slot_of(r, free_msize(r, base, i)) != s)
                    ok = check_fail("free node metadata", n);
                if (n->next && n->next->prev != n) ok = check_fail("free list back link", n);
                listed++;
            }
        }
        /* Every listed node is a free block of this magazine, so equal
         * counts mean every free block is listed exactly once. */
        if (ok && listed != nfree) ok = check_fail("free blocks missing from the lists", m);
    }
    if (ok && regions != zt_rack_region_count(r)) ok = check_fail("region count", r);
    zt_rack_force_unlock(r);
    return ok;
}

void zt_rack_print(zt_rack_t *r, bool verbose)
{
    malloc_statistics_t st;
    zt_rack_statistics(r, &st);
    zt_prim_message("%s rack %p: %u magazines, %u regions, %u blocks, %zu bytes in use, %zu mapped",
                    zt_kind_name((enum zt_kind)r->owner.kind), (void *)r, r->nmag,
                    zt_rack_region_count(r), st.blocks_in_use, st.size_in_use, st.size_allocated);
    if (!verbose) return;
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        magazine_t *m = mag_of(r, mi);
        zt_lock(&m->lock);
        if (mi == DEPOT)
            zt_prim_message("  depot: %u regions, %zu blocks, %zu/%zu bytes", m->nregions,
                            m->num_objects, m->bytes_in_objects, m->bytes_in_magazine);
        else
            zt_prim_message("  magazine %d: %u regions, %zu blocks, %zu/%zu bytes", mi, m->nregions,
                            m->num_objects, m->bytes_in_objects, m->bytes_in_magazine);
        for (region_t *rg = m->first; rg; rg = rg->next)
            zt_prim_message("    region %p: %u bytes used%s", (void *)region_base(r, rg),
                            rg->bytes_used, m->bump_rg == rg ? " (current)" : "");
        zt_unlock(&m->lock);
    }
}
