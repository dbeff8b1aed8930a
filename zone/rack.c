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
 *
 * Rooms: rack/layout.c (geometry, metadata, free and region lists),
 * rack/magazine.c (inside a locked magazine: allocation, free, purging,
 * recirculation, depot, tags), rack/transfer.c (the transfer cache between
 * the thread caches), this file (the per-thread cache front and the
 * public zt_rack_* entry points), rack/introspect.c (relief, fork locks,
 * walk, statistics, check, print). One translation unit: the parts are
 * #included below.
 * -------------------------------------------------------------------------- */
#define ZT_RACK_C /* its parts in rack/ check that they are included from here */
#include "rack.h"

#include <errno.h>
#include <string.h>

#include "chunkmap.h"
#include "cpu.h"
#include "debug.h"
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

#define RC_MSIZES       64                      /* thread-cached msizes: tiny 1..63, small 1..64 */
#define RC_CAP          ZT_RACK_TC_STRIDE       /* most blocks of one msize in a thread cache */
#define RC_BIN_BYTES    (32u << 10)             /* ... and at most this much of one msize */
#define RC_BUDGET_BYTES ZT_RACK_TC_BUDGET_BYTES /* held by one thread for one rack */
#define XF_BATCHES      4                  /* transfer-cache batches per msize (rack/transfer.c) */
#define XF_BUDGET_BYTES (1u << 20)         /* ... and at most this much per rack */
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

typedef struct xf xf_t; /* rack/transfer.c */

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
    uint32_t tc_id; /* non-zero while this rack owns the thread caches */
#if ZT_DEBUG
    uint32_t debug_ops; /* calls since the last whole check (debug.h) */
#endif
    uint8_t tc_cap[RC_MSIZES]; /* thread-cache bound per msize - 1 */
    xf_t *xf;                  /* the transfer cache while tc_id is set, else NULL */
    guard_t guard[MAX_MAGAZINES] __attribute__((aligned(64)));
    magazine_t mags[]; /* mags[0] is the depot, mags[1 + i] magazine i */
};

static inline magazine_t *mag_of(zt_rack_t *r, int mi)
{
    return &r->mags[mi + 1];
}

/* The current CPU's magazine: the device CPU (cpu.h; libmalloc-166.220.1
 * src/magazine_tiny.c:43-58 uses _os_cpu_number()) modulo nmag, the
 * division skipped in the usual case of one magazine per CPU. */
static inline unsigned mag_index_here(const zt_rack_t *r)
{
    unsigned cpu = zt_cpu_here();
    return cpu < r->nmag ? cpu : cpu % r->nmag;
}

/* ---- the tiny shape -------------------------------------------------------
 * The hot paths through a locked magazine (rack_alloc, free_locked_inl and
 * what they inline) take, beside the rack r, a shape k: the rack whose
 * geometry (k->g) and kind (k->tiny) the layout helpers read; everything
 * else (magazines, owner, counters) is r's. Most calls pass r itself; the
 * tiny rack's malloc and free pass tiny_shape, a constant with the geometry
 * geom_init gives a tiny rack (zt_rack_create checks it), so that the
 * compiler folds the quantum shift, the region size and mask and the tiny
 * tests. Nothing else changes: the same helpers on the same numbers. */
static const zt_rack_t tiny_shape = {
    .g =
        {
            .qshift = ZT_TINY_QUANTUM_SHIFT,
            .nq = TINY_NQ,
            .region_bytes = ZT_TINY_REGION_BYTES,
            .payload_bytes = (size_t)TINY_NQ << ZT_TINY_QUANTUM_SHIFT,
            .trailer_off = (size_t)TINY_NQ << ZT_TINY_QUANTUM_SHIFT,
            .meta_off = ZT_TINY_REGION_BYTES - 2 * TINY_BITMAP_WORDS * sizeof(uint64_t),
            .max_msize = ZT_TINY_MSIZE_MAX,
            .nslots = ZT_TINY_MSIZE_MAX + 1,
            .cls_first = ZT_CLASS_TINY_FIRST,
            .dirty_trigger = 1u << 20,
        },
    .tiny = true,
};

#include "rack/layout.c"
#include "rack/magazine.c"

/* ---- per-thread cache --------------------------------------------------------
 * The thread cache (tcache.c) in front of the magazines, for tiny and small
 * blocks: a thread keeps up to tc_cap freed blocks per msize and hands them
 * out again with no lock and no atomic operation. A cached block stays inside
 * its region and keeps its metadata (live, counted in bytes_used, so its
 * region is never recirculated or unmapped under the cache and no neighbour
 * coalesces with it); what marks it free is its first word, the cache cookie
 * ^ its address. size() returns 0 for it, a second free is a double free,
 * the walker skips it, and the locked paths refuse it. Frees fill the
 * cache, and so do batches from the transfer cache (rack/transfer.c), which
 * a free takes a bin to when its thread's budget is spent; a full bin
 * flushes its older half under as few magazine locks as possible. One tiny
 * and one small rack own the caches: the first ones created for a zone (the
 * default zone's; unit tests make racks with no zone and see the uncached
 * behaviour); none on limited (emulated device) profiles. The owning
 * thread's statistics, walk, check and relief flush its own entries (and
 * every batch) first. */

static inline magazine_t *lock_owner(zt_rack_t *r, region_t *rg, int *mi_out);
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

#include "rack/transfer.c"

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
    unsigned b = msize - 1;
    /* Budget spent: this msize's cached blocks go to the transfer cache, or
     * else this block takes the locked path. */
    if (tc->bytes + bytes > RC_BUDGET_BYTES &&
        (!xf_put(r, tc, b, tc->count[b]) || tc->bytes + bytes > RC_BUDGET_BYTES))
        return false;
    if (rc_cached(r, ptr)) {
        zt_error_bad_free_kind(ZT_BAD_FREED_TWICE, r->owner.kind, ptr, zt_error_caller);
        return true;
    }
    region_t *rg = trailer_of(r, base);
    int mi = __atomic_load_n(&rg->mag_index, __ATOMIC_ACQUIRE);
    if (mi >= 0 && mi < (int)r->nmag &&
        __atomic_load_n(&mag_of(r, mi)->last_free, __ATOMIC_RELAXED) == ptr)
        return false; /* freed already, sitting in the last-free cache */
    zt_hook_freed(r->owner.zone, ptr, bytes, cls_of(r, msize), tag_take(rg, idx));
    __atomic_store_n((uint64_t *)ptr, rc_guard(ptr), __ATOMIC_RELAXED);
    /* A full bin's older half is freed for real, not batched: batches of
     * every bin kept a consumer's blocks circulating apart from the
     * magazines, and prodcons ran at 1.27 x glibc instead of 1.09. */
    if (zt_unlikely(tc->count[b] >= r->tc_cap[b]))
        zt_tcache_flush_bin(tc, rc_kind(r), b, tc->count[b] - r->tc_cap[b] / 2);
    zt_tcache_push(tc, b, RC_CAP, ptr);
    tc->bytes += bytes;
    return true;
}

/* ---- the front's tiny hits (rack.h) ----------------------------------------- */

ZT_HIDDEN zt_owner_t *zt_rack_front_tiny;
ZT_HIDDEN malloc_zone_t *zt_rack_front_zone;
ZT_HIDDEN uint32_t zt_rack_front_id;

#define TINY_META_OFF (ZT_TINY_REGION_BYTES - 2 * TINY_BITMAP_WORDS * sizeof(uint64_t))
#define TINY_HIT_NQ   ((TINY_BITMAP_WORDS - 1) * 64u) /* idx's next header word exists */
/* Every tiny bin's bound is RC_CAP (rc_claim: RC_BIN_BYTES over the largest
 * tiny block is at least RC_CAP), so the hit needs no tc_cap load. */
_Static_assert(RC_BIN_BYTES / (ZT_TINY_MSIZE_MAX << ZT_TINY_QUANTUM_SHIFT) >= RC_CAP,
               "tiny bins are all RC_CAP deep");

/* rc_free for the rack owning the tiny caches, with the tiny geometry as
 * constants: a pointer that is not a 16-byte aligned payload quantum, not
 * the start of a live block, already cached (a double free), the magazine's
 * last-free block, tagged, or whose bin or budget is full goes back to
 * zt_rack_free (false), which decides and reports exactly as before. A debug
 * build always does, for its periodic whole check. Cost: the block's
 * bitmap words (one line per 4 KiB of payload), its first word, the region
 * trailer and the owning magazine's last_free. */
void zt_rack_front_sampled(void *p, size_t size)
{
    zt_hook_request_bytes = size;
    profile_alloc((zt_rack_t *)zt_rack_front_tiny, p,
                  (uint32_t)((size - 1) >> ZT_TINY_QUANTUM_SHIFT) + 1);
}

bool zt_rack_tiny_free_hit(zt_owner_t *o, void *ptr)
{
    zt_rack_t *r = (zt_rack_t *)o;
    zt_tcache_t *self = zt_tcache_self;
    uintptr_t a = (uintptr_t)ptr, base = a & ~(uintptr_t)(ZT_TINY_REGION_BYTES - 1);
    uint32_t idx = (uint32_t)((a - base) >> ZT_TINY_QUANTUM_SHIFT);
    if (zt_unlikely(self == NULL) || ZT_DEBUG || (a & (ZT_TINY_QUANTUM_BYTES - 1)) ||
        idx >= TINY_HIT_NQ)
        return false;
    zt_tcache_section_t *tc = &self->sec[ZT_TCACHE_TINY];
    if (zt_unlikely(tc->id != zt_rack_front_id)) return false;
    /* live_msize without tiny_next_start's loop: idx's header and inuse
     * words and the next header word, the two header words shifted into one
     * so that its bit 0 is quantum idx + 1. A live tiny block is shorter
     * than 64 quanta, so its end is among the low 63 bits; anything else is
     * refused. */
    const uint64_t *m = (const uint64_t *)(base + TINY_META_OFF) + 2 * (idx >> 6);
    uint64_t h0 = LD(&m[0]), h1 = LD(&m[2]);
    unsigned sh = idx & 63;
    if (!((h0 & LD(&m[1])) >> sh & 1)) return false;
    uint64_t after = (h0 >> sh >> 1) | (h1 << (63 - sh));
    uint32_t msize = (uint32_t)__builtin_ctzll(after | (1ull << 63)) + 1;
    if (zt_unlikely(msize > ZT_TINY_MSIZE_MAX)) return false;
    unsigned b = msize - 1;
    size_t bytes = (size_t)msize << ZT_TINY_QUANTUM_SHIFT;
    uint64_t guard = rc_guard(ptr);
    if (zt_unlikely(tc->count[b] >= RC_CAP) || tc->bytes + bytes > RC_BUDGET_BYTES ||
        __atomic_load_n((const uint64_t *)ptr, __ATOMIC_RELAXED) == guard)
        return false;
    region_t *rg = (region_t *)(base + TINY_NQ * ZT_TINY_QUANTUM_BYTES);
    /* A tagged block (sample mode) is reported by rc_free's tag_take. With
     * the profiler off there is no tag map; sampling costs the load of the
     * block's group count (tag_maybe), mostly 0. */
    const uint32_t *tags = __atomic_load_n(&rg->tags, __ATOMIC_ACQUIRE);
    if (tags != NULL && tag_maybe(tags, idx)) return false;
    /* mi is DEPOT (-1, no last-free slot) or a magazine: one unsigned test. */
    uint32_t mi = (uint32_t)__atomic_load_n(&rg->mag_index, __ATOMIC_ACQUIRE);
    if (mi < r->nmag && __atomic_load_n(&r->mags[mi + 1].last_free, __ATOMIC_RELAXED) == ptr)
        return false;
    __atomic_store_n((uint64_t *)ptr, guard, __ATOMIC_RELAXED);
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
    if (r->tc_id) xf_create(r);
    if (r->tc_id && r->tiny) {
        zt_rack_front_id = r->tc_id;
        zt_rack_front_zone = r->owner.zone;
        __atomic_store_n(&zt_rack_front_tiny, &r->owner, __ATOMIC_RELEASE);
    }
}

static void rc_unclaim(zt_rack_t *r)
{
    if (r->tc_id && zt_rack_front_tiny == &r->owner) {
        __atomic_store_n(&zt_rack_front_tiny, NULL, __ATOMIC_RELEASE);
        __atomic_store_n(&zt_rack_front_zone, NULL, __ATOMIC_RELEASE);
    }
    zt_tcache_unclaim(rc_kind(r), r->tc_id);
    r->tc_id = 0;
    xf_destroy(r); /* its blocks go with the rack's regions */
}

/* ---- public: create / destroy --------------------------------------------- */

/* Every field the hot paths read through a shape (tags_bytes is not). */
static bool same_geometry(const geom_t *a, const geom_t *b)
{
    return a->qshift == b->qshift && a->nq == b->nq && a->region_bytes == b->region_bytes &&
           a->payload_bytes == b->payload_bytes && a->trailer_off == b->trailer_off &&
           a->meta_off == b->meta_off && a->max_msize == b->max_msize && a->nslots == b->nslots &&
           a->cls_first == b->cls_first && a->dirty_trigger == b->dirty_trigger;
}

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
    if (r->tiny && !same_geometry(&r->g, &tiny_shape.g))
        zt_error_corruption("tiny_shape is not geom_init's tiny geometry", r);
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

static inline __attribute__((always_inline)) void *rack_malloc_k(zt_rack_t *r, const zt_rack_t *k,
                                                                 unsigned cls, bool clear)
{
    uint32_t msize = cls - (k->g.cls_first - 1);
    /* tc_id 0 (device profiles, racks without a zone): no thread cache, no
     * TLS load. */
    zt_tcache_section_t *tc = r->tc_id ? zt_tcache_mine(rc_kind(r), r->tc_id) : NULL;
    void *p;
    if (r->tc_id && msize <= RC_MSIZES &&
        ((tc && zt_tcache_pop(tc, msize - 1, RC_CAP, &p)) ||
         ((tc = xf_take(r, tc, msize - 1)) != NULL && zt_tcache_pop(tc, msize - 1, RC_CAP, &p)))) {
        tc->bytes -= (size_t)msize << k->g.qshift;
        __atomic_store_n((uint64_t *)p, 0, __ATOMIC_RELAXED); /* live again */
        if (clear) memset(p, 0, (size_t)msize << k->g.qshift);
        if (zt_hook_wanted((size_t)msize << k->g.qshift)) profile_alloc(r, p, msize);
        return p;
    }
    magazine_t *m;
    bool fresh;
    p = rack_alloc(r, k, msize, &m, &fresh);
    if (!p) return NULL;
    zt_unlock(&m->lock);
    if (clear && !fresh) memset(p, 0, (size_t)msize << k->g.qshift);
    if (zt_hook_wanted((size_t)msize << k->g.qshift)) profile_alloc(r, p, msize);
    return p;
}

void *zt_rack_malloc(zt_rack_t *r, unsigned cls, bool clear)
{
    /* Two copies: the tiny rack's with its geometry folded (tiny_shape). */
    if (zt_likely(r->tiny)) return rack_malloc_k(r, &tiny_shape, cls, clear);
    return rack_malloc_k(r, r, cls, clear);
}

/* libmalloc-166.220.1 src/magazine_tiny.c:2157-2190 (tiny_batch_malloc): the current CPU's
 * magazine, locked once, hands out blocks from its free lists and its bump tail
 * (tiny_malloc_from_free_list, :1718-1850) until they run dry: no last-free cache, no
 * depot, never a new region. */
unsigned zt_rack_batch_malloc(zt_rack_t *r, size_t bytes, void **results, unsigned count)
{
    size_t need = (bytes + ((size_t)1 << r->g.qshift) - 1) >> r->g.qshift;
    if (need == 0) need = 1;
    if (need > r->g.max_msize || count == 0) return 0;
    uint32_t msize = (uint32_t)need;
    magazine_t *m = mag_of(r, (int)mag_index_here(r));
    unsigned found = 0;
    zt_lock(&m->lock);
    while (found < count) {
        void *p = alloc_from_lists(r, r, m, msize);
        if (!p) p = alloc_from_bump(r, m, msize);
        if (!p) break;
        results[found++] = p;
    }
    zt_unlock(&m->lock);
    if (found && zt_hook_wanted((size_t)msize << r->g.qshift))
        for (unsigned i = 0; i < found; i++)
            profile_alloc(r, results[i], msize);
    return found;
}

void *zt_rack_malloc_aligned(zt_rack_t *r, size_t bytes, size_t align_bytes, bool clear)
{
    /* libmalloc-166.220.1 src/magazine_tiny.c:1185-1200, magazine_small.c:1286-1300 (792
     * magazine_medium.c:1729-1743): the span is counted in bytes, bytes + align - 1, and
     * rounded up to quanta (mspan); the block keeps msize = size in quanta; the head before
     * the aligned address and the tail (mwaste) are freed back. No shortcut when the
     * alignment is the quantum or less: libmalloc also takes the span and trims it. */
    size_t q = (size_t)1 << r->g.qshift;
    if (bytes == 0) bytes = 1;
    if ((align_bytes & (align_bytes - 1)) || bytes > SIZE_MAX - align_bytes) return NULL;
    size_t need = (bytes + q - 1) >> r->g.qshift;
    size_t span_bytes = bytes + align_bytes - 1;
    size_t span = span_bytes / q + (span_bytes % q != 0);
    if (need > r->g.max_msize || span > r->g.max_msize) return NULL;
    magazine_t *m;
    bool fresh;
    void *p = rack_alloc(r, r, (uint32_t)span, &m, &fresh);
    if (!p) return NULL;
    uintptr_t base = base_of(r, p);
    region_t *rg = trailer_of(r, base);
    uint32_t i = idx_of(r, base, p);
    uintptr_t a = ((uintptr_t)p + align_bytes - 1) & ~(uintptr_t)(align_bytes - 1);
    uint32_t ai = idx_of(r, base, (void *)a);
    uint32_t head = ai - i, tail = (uint32_t)(span - head - need);
    /* Carve [i, i+span) into head, the block and tail; head and tail become
     * blocks of their own and are freed as free() frees them (the last-free
     * cache, coalescing, the recirculation check), as libmalloc does: it
     * counts each as an object and calls free_tiny / free_small on it
     * (libmalloc-166.220.1 src/magazine_tiny.c:1205-1235). All three are
     * marked before either is freed: a free that evicts the last-free block
     * coalesces with its neighbours, and an unmarked tail would look like a
     * free block (libmalloc marks the tail in use first, :1206-1216). Freeing
     * the head may send rg to the depot; free_tiny finds the owning magazine
     * again for each piece, so the tail is freed under rg's owner. */
    int mi = (int)(m - r->mags) - 1;
    region_t *dead[2] = {NULL, NULL};
    uint32_t ti = ai + (uint32_t)need;
    mark_used(r, base, ai, (uint32_t)need);
    if (head) {
        mark_used(r, base, i, head);
        m->num_objects++;
    }
    if (tail) {
        mark_used(r, base, ti, tail);
        m->num_objects++;
    }
    if (head) dead[0] = free_locked(r, m, mi, rg, base, i, head, ptr_of(r, base, i));
    if (tail && __atomic_load_n(&rg->mag_index, __ATOMIC_RELAXED) != mi) {
        zt_unlock(&m->lock);
        m = lock_owner(r, rg, &mi);
    }
    if (tail) dead[1] = free_locked(r, m, mi, rg, base, ti, tail, ptr_of(r, base, ti));
    zt_unlock(&m->lock);
    for (int k = 0; k < 2; k++)
        if (dead[k]) unmap_region(r, dead[k]);
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
static inline __attribute__((always_inline)) magazine_t *lock_owner(zt_rack_t *r, region_t *rg,
                                                                    int *mi_out)
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
 * after unlocking, or NULL. Inlined into free() (free_uncached), so that the
 * free path is one frame; free_locked is the out-of-line copy. */
static inline __attribute__((always_inline)) region_t *
free_locked_inl(zt_rack_t *r, const zt_rack_t *k, magazine_t *m, int mi, region_t *rg,
                uintptr_t base, uint32_t idx, uint32_t msize, void *ptr)
{
    if (mi != DEPOT) {
        /* libmalloc's last-free cache: tiny blocks under 16 quanta, any small
         * or medium block. The previous occupant is freed for real. One call
         * of free_in_magazine (inlined): for the block itself, or for the
         * previous occupant. */
        if (!k->tiny || msize < 16) {
            void *prev = m->last_free;
            uint32_t pm = m->last_free_msize;
            m->last_free = ptr;
            m->last_free_msize = msize;
            if (!prev) return NULL;
            base = base_of(k, prev);
            rg = trailer_of(k, base);
            idx = idx_of(k, base, prev);
            msize = pm;
        }
        return free_in_magazine(r, k, m, rg, base, idx, msize);
    }
    size_t bytes = (size_t)msize << k->g.qshift;
    rg->bytes_used -= (uint32_t)bytes;
    m->bytes_in_objects -= bytes;
    m->num_objects--;
    release_range(r, m, rg, base, idx, msize, NULL);
    note_dirty(r, k, m, bytes);
    return depot_try_retire(r, m, rg);
}

static __attribute__((noinline)) region_t *free_locked(zt_rack_t *r, magazine_t *m, int mi,
                                                       region_t *rg, uintptr_t base, uint32_t idx,
                                                       uint32_t msize, void *ptr)
{
    return free_locked_inl(r, r, m, mi, rg, base, idx, msize, ptr);
}

/* tiny: k is tiny_shape, whose copy inlines free_locked_inl; the other
 * racks' copy calls free_locked (small and medium frees are rarer, and one
 * more inlined copy in zt_rack_free cost its first 64 KiB text window
 * 3 KiB: tests/bench/test_resident_text.sh). */
static inline __attribute__((always_inline)) void
free_uncached(zt_rack_t *r, const zt_rack_t *k, void *ptr, uintptr_t base, uint32_t idx, bool tiny)
{
    region_t *rg = trailer_of(k, base);
    int mi;
    magazine_t *m = lock_owner(r, rg, &mi);
    uint32_t msize = live_msize(k, base, idx);
    if (msize == 0 || ptr == m->last_free || (m->bump_rg == rg && idx >= m->bump_idx) ||
        rc_cached(r, ptr)) {
        enum zt_bad_free why =
            rc_cached(r, ptr) ? ZT_BAD_FREED_TWICE : bad_kind(r, m, rg, base, idx, ptr);
        zt_unlock(&m->lock);
        zt_error_bad_free_kind(why, r->owner.kind, ptr, zt_error_caller);
        return;
    }
    uint32_t tag = tag_take(rg, idx);
    region_t *dead = tiny ? free_locked_inl(r, k, m, mi, rg, base, idx, msize, ptr)
                          : free_locked(r, m, mi, rg, base, idx, msize, ptr);
    zt_unlock(&m->lock);
    if (dead) unmap_region(r, dead);
    zt_hook_freed(r->owner.zone, ptr, (size_t)msize << k->g.qshift, cls_of(k, msize), tag);
}

static inline __attribute__((always_inline)) void rack_free_k(zt_rack_t *r, const zt_rack_t *k,
                                                              void *ptr, bool tiny)
{
    zt_debug_check(&r->debug_ops, zt_rack_check(r));
    uintptr_t base = base_of(k, ptr), off = (uintptr_t)ptr - base;
    uint32_t idx = (uint32_t)(off >> k->g.qshift);
    if ((off & (((uintptr_t)1 << k->g.qshift) - 1)) || idx >= k->g.nq) {
        /* Misaligned, or inside the trailer and metadata. */
        zt_error_bad_free_kind(ZT_BAD_NOT_ALLOCATED, r->owner.kind, ptr, zt_error_caller);
        return;
    }
    if (r->tc_id && rc_free(r, ptr, base, idx)) return;
    free_uncached(r, k, ptr, base, idx, tiny);
}

/* Two copies: the tiny rack's with its geometry folded (tiny_shape).
 * Inline in zt_rack_free and zt_rack_device_free. */
static inline __attribute__((always_inline)) void rack_free_any(zt_rack_t *r, void *ptr)
{
    if (zt_likely(r->tiny))
        rack_free_k(r, &tiny_shape, ptr, true);
    else
        rack_free_k(r, r, ptr, false);
}

void zt_rack_free(zt_rack_t *r, void *ptr)
{
    rack_free_any(r, ptr);
}

/* The device front's free (front/linux.c, no rack owns the thread caches):
 * free_slow's rack branch in one frame: the caller noted, errno kept (a free
 * may purge or give a region back), zt_rack_free's work. */
void zt_rack_device_free(zt_rack_t *r, void *ptr, const void *caller)
{
    if (caller) zt_error_caller = caller;
    int *err = &errno, saved = *err;
    rack_free_any(r, ptr);
    *err = saved;
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
    region_t *dead = NULL;
    if (new_m < old_m) {
        /* The tail becomes a block of its own and is freed the way free()
         * frees it: the last-free cache, coalescing, the recirculation check
         * (libmalloc-166.220.1 src/magazine_tiny.c:1249-1268
         * tiny_try_shrink_in_place → free_tiny; small_try_shrink_in_place
         * likewise). */
        uint32_t tail_m = old_m - new_m;
        mark_used(r, base, idx, new_m);
        mark_used(r, base, idx + new_m, tail_m);
        m->num_objects++;
        dead = free_locked(r, m, mi, rg, base, idx + new_m, tail_m, ptr_of(r, base, idx + new_m));
    } else {
        /* Growth in place, in libmalloc's order (libmalloc-166.220.1
         * src/magazine_tiny.c tiny_try_realloc_in_place, small likewise):
         * never in a depot region; into the last-free block right after it;
         * into the unused end of the region only when strictly smaller than
         * it; into a free block right after it. */
        uint32_t n = idx + old_m, extra = new_m - old_m;
        void *next = ptr_of(r, base, n);
        if (mi == DEPOT) {
            zt_unlock(&m->lock);
            return false;
        }
        if (n < r->g.nq && m->last_free == next && old_m + m->last_free_msize >= new_m) {
            /* The cached block is still counted live, so the bytes that move
             * into ptr's block change no counter; taking all of it makes two
             * objects one. Divergence: libmalloc adds the grown bytes to
             * bytes_used here as well, counting them twice until the region
             * empties; zonetrace keeps its counters exact. */
            uint32_t left = m->last_free_msize - extra;
            mark_used(r, base, idx, new_m);
            if (left) {
                m->last_free = ptr_of(r, base, n + extra);
                m->last_free_msize = left;
                mark_used(r, base, n + extra, left);
            } else {
                m->last_free = NULL;
                m->last_free_msize = 0;
                m->num_objects--;
            }
            extra = 0;
        } else if (m->bump_rg == rg && n == m->bump_idx) {
            if (extra >= r->g.nq - n) {
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
        /* Dense again: no longer a recirculation candidate (ibid.). */
        if (rg->bytes_used >= DENSITY(r->g.payload_bytes)) rg->recirc_suitable = 0;
    }
    uint32_t tag = tag_take(rg, idx);
    zt_unlock(&m->lock);
    if (dead) unmap_region(r, dead);
    zt_hook_freed(r->owner.zone, ptr, (size_t)old_m << r->g.qshift, cls_of(r, old_m), tag);
    if (zt_hook_wanted((size_t)new_m << r->g.qshift)) profile_alloc(r, ptr, new_m);
    return true;
}

#include "rack/introspect.c"
