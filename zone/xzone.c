/* ----------------------------------------------------------------------------
 * xzone.c — xzone malloc as a behavioural model (see xzone.h for what it
 * models and the sources): the zone's state, segments, span queues, chunks
 * and blocks. Its malloc_zone_t and introspection are in xzone/zone.c, which
 * this file includes so that the allocation paths stay in one unit.
 *
 * State: one lock per zone guards everything below. Metadata lives outside
 * the segments, in zt_prim_map'ed memory (a segment's slice table, a block
 * bitmap per chunk, tags per 16-byte granule mapped on the first tag), so
 * nothing of ours sits inside the emulated address space.
 *
 * Slices: each 16 KiB slice of a segment has a descriptor. The first slice of
 * a chunk or of a free span holds its length; the others say where their
 * chunk starts (INNER) or carry FREE and the span's head. A chunk is on at
 * most one list: its xzone's partial list (tiny/small with free blocks), its
 * xzone's isolation list (an empty pointer chunk, sequestered), or, free, a
 * span queue of its segment group.
 *
 * Divergences (deliberate, for a model of address space, not of speed):
 * - one lock per zone, no thread caches, no per-CPU allocation slots;
 * - a chunk that empties is released at once (the data group's to its span
 *   queue, a pointer xzone's to its isolation list, pages purged), except
 *   the last partial chunk of its xzone, which is kept (xzone keeps empty
 *   chunks on its xzone's empty list; the one kept here stops a malloc/free
 *   loop from releasing and retaking a chunk every time);
 * - the early allocator is a bump arena whose freed blocks are not reused
 *   (libmalloc's mfm is a buddy allocator; its budget caps it to a few KiB
 *   per bin, xzone_malloc.c:6318-6331), mapped at 1 MiB alignment so the
 *   chunk map can name it;
 * - realloc: in place when the new size keeps the block (same bin or
 *   large chunk within half), else move (xzone_malloc.c:4734-4815 also grows
 *   large and huge chunks in place: not modelled).
 * -------------------------------------------------------------------------- */
#define ZT_XZONE_C
#include "xzone.h"
#include "zone.h"
#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "introspect.h"
#include "registry.h"
#include "szone.h"
#include "va.h"

#include <errno.h>
#include <string.h>

#define XZ_MAGIC      0x787a6f6eu /* "xzon" */
#define XZ_VERSION    16          /* the basic zone's version, xzone_malloc.c:6166 */
#define XZ_NAME_BYTES 64
/* Buckets per bin for an ordinary iOS app: DATA, OBJC, 2 pointer buckets
 * (xzone_malloc.h:452-462, xzone_malloc.c:6588-6596). */
#define BUCKET_DATA     0
#define BUCKET_PTR_BASE 2
#define BUCKETS         (BUCKET_PTR_BASE + ZT_XZ_PTR_BUCKETS_IOS)
#define NXZONES         (ZT_XZ_BINS * BUCKETS)
#define BLOCK_WORDS     16 /* bitmap words per chunk: 16 KiB / 16 B = 1024 blocks at most */
#define EARLY_DEAD      0xff
/* A chunk's tags: one uint32_t per block (1024 at most: 16 B blocks in
 * 16 KiB), from a per-zone slab in power-of-two sizes 64 B .. 4 KiB, given
 * back when the chunk returns to its span queue. Per chunk and sized to it
 * rather than per segment: a segment-wide table is 1 MiB per segment, and
 * adjacent ones merge into ranges the host backs with 2 MiB pages on the
 * first touch. */
#define TAG_CLASSES    7
#define TAG_SLAB_BYTES ((size_t)1 << 20)
#define TAG_SLABS_MAX  4096

enum slice_kind { SK_FREE, SK_TINY, SK_SMALL, SK_LARGE, SK_HUGE, SK_INNER };

typedef struct slice {
    uint8_t kind;     /* enum slice_kind */
    uint8_t xz;       /* tiny/small: xzone index (bin * BUCKETS + bucket) */
    uint16_t head;    /* INNER and FREE: index of the chunk's or span's first slice */
    uint16_t nslices; /* at a chunk's or free span's first slice: its length */
    uint16_t nblocks; /* blocks in the chunk */
    uint16_t used;    /* live blocks */
    uint16_t hint;    /* no free block below this index */
    struct slice *next, *prev;
    uint32_t *tags;             /* per block of the chunk (slab, on its first tag) */
    uint8_t tags_class;         /* slab class of tags */
    uint64_t bits[BLOCK_WORDS]; /* live blocks */
} slice_t;

typedef struct segment {
    zt_owner_t owner; /* first: the chunk map names segments; kind XZ_DATA or XZ_PTR */
    struct xz_state *st;
    uintptr_t base;
    size_t bytes;      /* 4 MiB, the huge chunk's rounded size, or the early arena */
    size_t meta_bytes; /* this descriptor's mapping */
    uint8_t group;     /* enum zt_xz_group */
    bool huge, early;
    unsigned used_chunks; /* xzs_used */
    unsigned live_blocks;
    size_t live_bytes;
    uint32_t *tags; /* early arena: one per 16 B granule, mapped on the first tag */
    uint32_t huge_tag;
    uint8_t *early_bin; /* early arena: bin + 1 per granule at a live block start */
    struct segment *next, *prev;
    unsigned nslices;
    slice_t slices[];
} segment_t;

typedef struct xzone_q {
    slice_t *partial;      /* chunks with a free block */
    slice_t *isolated;     /* empty sequestered chunks (pointer xzones) */
    uint16_t early_budget; /* blocks the early arena still serves */
} xzone_q_t;

typedef struct xz_state {
    uint32_t magic;
    zt_lock_t lock;
    malloc_zone_t *zone;
    size_t map_bytes;
    bool data_only; /* ZONETRACE_XZONE_BUCKETS=data */
    uint64_t key_a, key_b;
    segment_t *segments; /* every segment, huge and early ones included */
    segment_t *early;
    uintptr_t early_next;
    slice_t *spans[ZT_XZ_GROUPS][ZT_XZ_SPAN_QUEUES];
    xzone_q_t xz[NXZONES];
    unsigned blocks_in_use;
    size_t size_in_use, max_size_in_use, size_allocated;
    uint32_t *tag_free[TAG_CLASSES]; /* freed tag arrays (first word: next) */
    char *tag_bump, *tag_end;
    void *tag_slabs[TAG_SLABS_MAX];
    unsigned ntag_slabs;
    char name[XZ_NAME_BYTES];
} xz_state_t;

#define bin_bytes zt_xzone_bin_sizes

/* Slice counts of the span queues (xzone_malloc.c:6104-6132). */
static const uint16_t queue_slices[ZT_XZ_SPAN_QUEUES] = {1,  2,  3,  4,   5,   6,   7,   10,  12,
                                                         14, 16, 20, 24,  28,  32,  40,  48,  56,
                                                         64, 80, 96, 112, 128, 160, 192, 224, 256};

static inline size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static inline enum zt_kind group_kind(unsigned g)
{
    return g == ZT_XZ_GROUP_DATA ? ZT_KIND_XZ_DATA : ZT_KIND_XZ_PTR;
}

static inline unsigned queue_of(unsigned nslices)
{
    unsigned q = 0;
    while (q + 1 < ZT_XZ_SPAN_QUEUES && queue_slices[q] < nslices)
        q++;
    return q;
}

static inline size_t slice_index(const segment_t *seg, const slice_t *s)
{
    return (size_t)(s - seg->slices);
}

static inline uintptr_t slice_addr(const segment_t *seg, const slice_t *s)
{
    return seg->base + (slice_index(seg, s) << ZT_XZ_SLICE_SHIFT);
}

/* ---- lists ----------------------------------------------------------------- */

static void list_push(slice_t **head, slice_t *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
}

static void list_remove(slice_t **head, slice_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* ---- segments ----------------------------------------------------------------- */

static void report_out_of_space(void)
{
    zt_error_xzone_out_of_space();
}

/* Map a segment of `bytes` at `align` for group g (NULL + ENOMEM when the
 * address space has no room: xzone_segment.c:436-476 → vm.c). */
static segment_t *segment_new(xz_state_t *st, unsigned g, size_t bytes, size_t align,
                              unsigned nslices, bool huge)
{
    size_t meta = round_up(sizeof(segment_t) + nslices * sizeof(slice_t), zt_prim_page_bytes());
    segment_t *seg = zt_prim_map(meta);
    if (!seg) {
        errno = ENOMEM;
        return NULL;
    }
    void *base = zt_va_map(group_kind(g), bytes, align, NULL);
    if (!base) {
        zt_prim_unmap(seg, meta);
        report_out_of_space();
        errno = ENOMEM;
        return NULL;
    }
    seg->owner.kind = (uint8_t)group_kind(g);
    seg->owner.zone = st->zone;
    seg->st = st;
    seg->base = (uintptr_t)base;
    seg->bytes = bytes;
    seg->meta_bytes = meta;
    seg->group = (uint8_t)g;
    seg->huge = huge;
    seg->nslices = nslices;
    seg->next = st->segments;
    if (st->segments) st->segments->prev = seg;
    st->segments = seg;
    st->size_allocated += bytes;
    zt_chunkmap_set(seg->base, bytes, &seg->owner);
    return seg;
}

static void segment_free(xz_state_t *st, segment_t *seg)
{
    zt_chunkmap_set(seg->base, seg->bytes, NULL);
    zt_va_unmap((void *)seg->base, seg->bytes, (enum zt_kind)seg->owner.kind);
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        st->segments = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    st->size_allocated -= seg->bytes;
    if (seg->tags) zt_prim_unmap(seg->tags, (seg->bytes / ZT_XZ_GRANULE) * sizeof(uint32_t));
    if (seg->early_bin) zt_prim_unmap(seg->early_bin, seg->bytes / ZT_XZ_GRANULE);
    zt_prim_unmap(seg, seg->meta_bytes);
}

/* ---- span queues -------------------------------------------------------------- */

static void span_mark_free(segment_t *seg, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++) {
        seg->slices[i].kind = SK_FREE;
        seg->slices[i].head = (uint16_t)first;
    }
    seg->slices[first].nslices = (uint16_t)n;
}

static void span_insert(xz_state_t *st, segment_t *seg, size_t first, size_t n)
{
    span_mark_free(seg, first, n);
    list_push(&st->spans[seg->group][queue_of((unsigned)n)], &seg->slices[first]);
}

static void span_unlink(xz_state_t *st, segment_t *seg, size_t first)
{
    slice_t *s = &seg->slices[first];
    list_remove(&st->spans[seg->group][queue_of(s->nslices)], s);
}

static segment_t *segment_of_slice(const slice_t *s);

/* Take n slices starting at a multiple of `align_slices` from group g's span
 * queues, mapping a new segment when none fits. Returns the chunk's first
 * slice (marked as a chunk of `kind`), or NULL. */
static slice_t *span_alloc(xz_state_t *st, unsigned g, size_t n, size_t align_slices, uint8_t kind)
{
    segment_t *seg = NULL;
    size_t first = 0, at = 0, len = 0;
    for (unsigned q = queue_of((unsigned)n); q < ZT_XZ_SPAN_QUEUES && !seg; q++) {
        for (slice_t *s = st->spans[g][q]; s; s = s->next) {
            segment_t *sg = segment_of_slice(s);
            size_t f = slice_index(sg, s);
            size_t a = round_up(f, align_slices);
            if (a + n <= f + s->nslices) {
                seg = sg;
                first = f;
                at = a;
                len = s->nslices;
                break;
            }
        }
    }
    if (!seg) {
        seg = segment_new(st, g, ZT_XZ_SEGMENT_BYTES, ZT_XZ_SEGMENT_BYTES, ZT_XZ_SEGMENT_SLICES,
                          false);
        if (!seg) return NULL;
        first = at = 0;
        len = ZT_XZ_SEGMENT_SLICES;
    } else {
        span_unlink(st, seg, first);
    }
    if (at > first) span_insert(st, seg, first, at - first);
    if (at + n < first + len) span_insert(st, seg, at + n, first + len - (at + n));
    slice_t *c = &seg->slices[at];
    for (size_t i = at + 1; i < at + n; i++) {
        seg->slices[i].kind = SK_INNER;
        seg->slices[i].head = (uint16_t)at;
    }
    c->kind = kind;
    c->nslices = (uint16_t)n;
    c->head = (uint16_t)at;
    c->used = 0;
    c->hint = 0;
    memset(c->bits, 0, sizeof c->bits);
    seg->used_chunks++;
    return c;
}

/* Give a chunk back to its group: coalesce with free neighbours; an empty
 * DATA segment is unmapped (xzone_segment.c:3074-3090), a pointer segment
 * stays (its span waits in the queue for the same group). */
static void tags_put(xz_state_t *st, slice_t *c);

static void span_free(xz_state_t *st, segment_t *seg, slice_t *c)
{
    tags_put(st, c);
    size_t first = slice_index(seg, c), n = c->nslices;
    size_t end = first + n;
    if (end < seg->nslices && seg->slices[end].kind == SK_FREE) {
        size_t m = seg->slices[end].nslices;
        span_unlink(st, seg, end);
        end += m;
    }
    if (first > 0 && seg->slices[first - 1].kind == SK_FREE) {
        size_t h = seg->slices[first - 1].head;
        span_unlink(st, seg, h);
        first = h;
    }
    seg->used_chunks--;
    if (seg->used_chunks == 0 && seg->group == ZT_XZ_GROUP_DATA) {
        segment_free(st, seg);
        return;
    }
    span_insert(st, seg, first, end - first);
}

/* ---- the owner of a slice ------------------------------------------------------- */

/* Slices are laid out inside their segment descriptor: walk back to it.
 * Only for a chunk's or a free span's first slice, whose head is its own
 * index. */
static segment_t *segment_of_slice(const slice_t *s)
{
    const slice_t *s0 = s - s->head;
    return (segment_t *)((uintptr_t)s0 - offsetof(segment_t, slices));
}

/* ---- tags ------------------------------------------------------------------------ */

static uint32_t *tags_get(xz_state_t *st, unsigned nblocks, uint8_t *cls_out)
{
    unsigned k = 0;
    while (k + 1 < TAG_CLASSES && ((size_t)64 << k) < nblocks * sizeof(uint32_t))
        k++;
    size_t bytes = (size_t)64 << k;
    uint32_t *t = st->tag_free[k];
    if (t) {
        st->tag_free[k] = *(uint32_t **)t;
        *(uint32_t **)t = NULL; /* the free-list link: the array is zero again */
    } else {
        if (st->tag_bump + bytes > st->tag_end) {
            if (st->ntag_slabs == TAG_SLABS_MAX) return NULL;
            char *slab = zt_prim_map(TAG_SLAB_BYTES);
            if (!slab) return NULL;
            st->tag_slabs[st->ntag_slabs++] = slab;
            st->tag_bump = slab;
            st->tag_end = slab + TAG_SLAB_BYTES;
        }
        t = (uint32_t *)st->tag_bump;
        st->tag_bump += bytes;
    }
    *cls_out = (uint8_t)k;
    return t;
}

/* A chunk going back to its span queue gives its tags back (all zero: each
 * free cleared its block's). */
static void tags_put(xz_state_t *st, slice_t *c)
{
    if (!c->tags) return;
    *(uint32_t **)c->tags = st->tag_free[c->tags_class];
    st->tag_free[c->tags_class] = c->tags;
    c->tags = NULL;
}

static uint32_t *tag_slot(segment_t *seg, uintptr_t p, bool create)
{
    if (seg->huge) return &seg->huge_tag;
    uint32_t **arr;
    size_t index;
    slice_t *c = NULL;
    if (seg->early) {
        arr = &seg->tags;
        index = (p - seg->base) / ZT_XZ_GRANULE;
    } else {
        c = &seg->slices[(p - seg->base) >> ZT_XZ_SLICE_SHIFT];
        if (c->kind == SK_INNER) c = &seg->slices[c->head];
        size_t bsize = c->kind == SK_LARGE ? (size_t)c->nslices << ZT_XZ_SLICE_SHIFT
                                           : zt_xzone_bin_sizes[c->xz / BUCKETS];
        arr = &c->tags;
        index = (p - slice_addr(seg, c)) / bsize;
    }
    if (!*arr) {
        if (!create) return NULL;
        *arr = c ? tags_get(seg->st, c->nblocks, &c->tags_class)
                 : zt_prim_map((seg->bytes / ZT_XZ_GRANULE) * sizeof(uint32_t));
        if (!*arr) return NULL;
    }
    return &(*arr)[index];
}

/* Take (and clear) the tag of a block being freed. */
static uint32_t tag_take(segment_t *seg, uintptr_t p)
{
    uint32_t *t = tag_slot(seg, p, false);
    if (!t) return 0;
    uint32_t tag = *t;
    *t = 0;
    return tag;
}

/* ---- bucket choice ----------------------------------------------------------------- */

/* _xzm_type_choose_ptr_bucket with 2 pointer buckets (xzone_malloc.c:74-104):
 * ((key_a * type_hash) + key_b) >> 32, low bit. The type hash of an untyped
 * call is the call site's return address >> 2 (malloc_type_internal.h:52-62);
 * ours is the caller the front end noted. */
static inline unsigned bucket_for_call(const xz_state_t *st)
{
    if (st->data_only) return BUCKET_DATA;
    uint32_t type_hash = (uint32_t)((uintptr_t)zt_error_caller >> 2);
    uint32_t hash = (uint32_t)((st->key_a * (uint64_t)type_hash + st->key_b) >> 32);
    return BUCKET_PTR_BASE + (hash & 1);
}

static inline unsigned xz_group(unsigned bucket)
{
    return bucket == BUCKET_DATA ? ZT_XZ_GROUP_DATA : ZT_XZ_GROUP_POINTER; /* :6334-6346 */
}

/* ---- tiny and small chunks ---------------------------------------------------------- */

static inline size_t chunk_bytes_of(unsigned bin)
{
    return bin_bytes[bin] <= ZT_XZ_TINY_MAX_BYTES ? ZT_XZ_TINY_CHUNK_BYTES
                                                  : ZT_XZ_SMALL_CHUNK_BYTES;
}

static void chunk_reset(slice_t *c, unsigned xzi)
{
    unsigned bin = xzi / BUCKETS;
    c->xz = (uint8_t)xzi;
    c->nblocks = (uint16_t)(chunk_bytes_of(bin) / bin_bytes[bin]);
    c->used = 0;
    c->hint = 0;
    memset(c->bits, 0, sizeof c->bits);
}

/* A chunk with a free block for xzone xzi: its partial list, its isolation
 * list (sequestered pointer chunks, xzone_malloc.c:1743-1754), else a fresh
 * span from its segment group. */
static slice_t *chunk_for(xz_state_t *st, unsigned xzi)
{
    xzone_q_t *q = &st->xz[xzi];
    if (q->partial) return q->partial;
    slice_t *c = q->isolated;
    if (c) {
        list_remove(&q->isolated, c);
    } else {
        unsigned bin = xzi / BUCKETS;
        size_t bytes = chunk_bytes_of(bin);
        c = span_alloc(st, xz_group(xzi % BUCKETS), bytes >> ZT_XZ_SLICE_SHIFT, 1,
                       bytes == ZT_XZ_TINY_CHUNK_BYTES ? SK_TINY : SK_SMALL);
        if (!c) return NULL;
    }
    chunk_reset(c, xzi);
    list_push(&q->partial, c);
    return c;
}

static void *block_alloc(xz_state_t *st, unsigned xzi, segment_t **seg_out)
{
    slice_t *c = chunk_for(st, xzi);
    if (!c) return NULL;
    unsigned i = c->hint;
    while (i < c->nblocks && (c->bits[i >> 6] >> (i & 63) & 1))
        i++;
    /* a partial chunk has a free block at or above its hint */
    c->bits[i >> 6] |= (uint64_t)1 << (i & 63);
    c->hint = (uint16_t)(i + 1);
    if (++c->used == c->nblocks) list_remove(&st->xz[xzi].partial, c);
    segment_t *seg = segment_of_slice(c);
    size_t bsize = bin_bytes[xzi / BUCKETS];
    seg->live_blocks++;
    seg->live_bytes += bsize;
    *seg_out = seg;
    return (void *)(slice_addr(seg, c) + (size_t)i * bsize);
}

/* ---- the early allocator ------------------------------------------------------------ */

static void early_init(xz_state_t *st)
{
    segment_t *seg =
        segment_new(st, ZT_XZ_GROUP_DATA, ZT_XZ_EARLY_ARENA_BYTES, (size_t)1 << 20, 0, false);
    if (!seg) return;
    seg->early = true;
    seg->used_chunks = 1; /* never unmapped */
    seg->early_bin = zt_prim_map(ZT_XZ_EARLY_ARENA_BYTES / ZT_XZ_GRANULE);
    if (!seg->early_bin) return;
    st->early = seg;
    st->early_next = seg->base;
    /* The early budget per bin (xzone_malloc.c:6318-6331). */
    for (unsigned x = 0; x < NXZONES; x++) {
        size_t b = bin_bytes[x / BUCKETS];
        st->xz[x].early_budget = (uint16_t)(b <= 256    ? 2048 / b
                                            : b <= 512  ? 4096 / b
                                            : b <= 2048 ? 8192 / b
                                            : b <= 8192 ? 1
                                                        : 0);
    }
}

static void *early_alloc(xz_state_t *st, unsigned xzi)
{
    segment_t *seg = st->early;
    size_t b = bin_bytes[xzi / BUCKETS];
    if (st->early_next + b > seg->base + seg->bytes) return NULL;
    uintptr_t p = st->early_next;
    st->early_next += b;
    st->xz[xzi].early_budget--;
    seg->early_bin[(p - seg->base) / ZT_XZ_GRANULE] = (uint8_t)(xzi / BUCKETS + 1);
    seg->live_blocks++;
    seg->live_bytes += b;
    return (void *)p;
}

/* ---- large and huge ------------------------------------------------------------------ */

/* _xzm_malloc_large_huge (xzone_malloc.c:298-395): a chunk of
 * roundup(size, 16 KiB) slices; huge when that exceeds 2 MiB or the alignment
 * exceeds 1 MiB, in a segment of its own (always the DATA group, 4 MiB-aligned
 * or more); else a large chunk from DATA (pure data) or POINTER_LARGE. */
static void *large_alloc(xz_state_t *st, size_t size, size_t align, bool pure_data,
                         segment_t **seg_out, unsigned *cls_out, size_t *bytes_out)
{
    if (size > SIZE_MAX - ZT_XZ_SEGMENT_BYTES) return NULL;
    size_t rounded = round_up(size ? size : 1, ZT_XZ_SLICE_BYTES);
    if (rounded > ZT_XZ_LARGE_MAX_BYTES || align > ZT_XZ_ALIGNMENT_MAX) {
        size_t a = align > ZT_XZ_SEGMENT_BYTES ? align : ZT_XZ_SEGMENT_BYTES;
        segment_t *seg = segment_new(st, ZT_XZ_GROUP_DATA, rounded, a, 1, true);
        if (!seg) return NULL;
        slice_t *c = &seg->slices[0];
        c->kind = SK_HUGE;
        c->nslices = (uint16_t)(rounded >> ZT_XZ_SLICE_SHIFT); /* wraps past 1 GiB: unused */
        c->nblocks = c->used = 1;
        c->bits[0] = 1;
        seg->used_chunks = 1;
        seg->live_blocks = 1;
        seg->live_bytes = rounded;
        *seg_out = seg;
        *cls_out = ZT_CLASS_XZ_HUGE;
        *bytes_out = rounded;
        return (void *)seg->base;
    }
    size_t align_slices = align > ZT_XZ_SLICE_BYTES ? align >> ZT_XZ_SLICE_SHIFT : 1;
    unsigned g = pure_data ? ZT_XZ_GROUP_DATA : ZT_XZ_GROUP_POINTER_LARGE;
    slice_t *c = span_alloc(st, g, rounded >> ZT_XZ_SLICE_SHIFT, align_slices, SK_LARGE);
    if (!c) return NULL;
    c->nblocks = c->used = 1;
    c->bits[0] = 1;
    segment_t *seg = segment_of_slice(c);
    seg->live_blocks++;
    seg->live_bytes += rounded;
    *seg_out = seg;
    *cls_out = ZT_CLASS_XZ_LARGE;
    *bytes_out = rounded;
    return (void *)slice_addr(seg, c);
}

/* ---- lookup ------------------------------------------------------------------------- */

/* The live block at p in seg: its chunk (NULL for the early arena) and size;
 * 0 if p is not the start of a live block. */
static size_t block_at(segment_t *seg, uintptr_t p, slice_t **chunk, unsigned *index)
{
    if (p < seg->base || p - seg->base >= seg->bytes) return 0;
    if (seg->early) {
        if (p & (ZT_XZ_GRANULE - 1)) return 0;
        uint8_t b = seg->early_bin[(p - seg->base) / ZT_XZ_GRANULE];
        *chunk = NULL;
        return b && b != EARLY_DEAD ? bin_bytes[b - 1] : 0;
    }
    if (seg->huge) {
        *chunk = &seg->slices[0];
        *index = 0;
        return p == seg->base && seg->slices[0].used ? seg->bytes : 0;
    }
    slice_t *s = &seg->slices[(p - seg->base) >> ZT_XZ_SLICE_SHIFT];
    if (s->kind == SK_INNER) s = &seg->slices[s->head];
    size_t off = p - slice_addr(seg, s);
    size_t bsize;
    switch (s->kind) {
    case SK_TINY:
    case SK_SMALL:
        bsize = bin_bytes[s->xz / BUCKETS];
        break;
    case SK_LARGE:
        bsize = (size_t)s->nslices << ZT_XZ_SLICE_SHIFT;
        break;
    default:
        return 0;
    }
    if (off % bsize) return 0;
    unsigned i = (unsigned)(off / bsize);
    if (i >= s->nblocks || !(s->bits[i >> 6] >> (i & 63) & 1)) return 0;
    *chunk = s;
    *index = i;
    return bsize;
}

/* ---- free ------------------------------------------------------------------------------ */

/* Free the block at p (block_at found it: chunk c, index i, size bytes).
 * Called with the lock held. */
static void block_free(xz_state_t *st, segment_t *seg, slice_t *c, unsigned i, uintptr_t p,
                       size_t bytes)
{
    seg->live_blocks--;
    seg->live_bytes -= bytes;
    if (seg->early) {
        seg->early_bin[(p - seg->base) / ZT_XZ_GRANULE] = EARLY_DEAD; /* not reused */
        return;
    }
    if (seg->huge) {
        segment_free(st, seg); /* huge chunks are unmapped on free (xzone_segment.c:2974) */
        return;
    }
    c->bits[i >> 6] &= ~((uint64_t)1 << (i & 63));
    if (c->kind == SK_LARGE) {
        c->used = 0;
        span_free(st, seg, c);
        return;
    }
    xzone_q_t *q = &st->xz[c->xz];
    if (i < c->hint) c->hint = (uint16_t)i;
    if (c->used-- == c->nblocks) list_push(&q->partial, c);
    if (c->used) return;
    if (q->partial == c && c->next == NULL) return; /* keep the xzone's last chunk */
    list_remove(&q->partial, c);
    if (seg->group == ZT_XZ_GROUP_DATA) {
        span_free(st, seg, c);
    } else {
        /* Sequestered: the pages go, the address space stays with this xzone. */
        zt_va_purge((void *)slice_addr(seg, c), (size_t)c->nslices << ZT_XZ_SLICE_SHIFT);
        list_push(&q->isolated, c);
    }
}

#include "xzone/zone.c"
