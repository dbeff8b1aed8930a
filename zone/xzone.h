/* ----------------------------------------------------------------------------
 * xzone.h — xzone malloc (libmalloc-792.41.1 src/xzone_malloc/), the default
 * zone of an ordinary app on iOS 18.4+ and iOS 26 (reference/modern_apple.md
 * §1.2), as a behavioural model of what decides address-space use and
 * failure.
 *
 * Geometry (xzone_malloc.h:19-45, 82): 16 KiB slices, 4 MiB segments of 256
 * slices, 4 MiB-aligned, mapped through zt_va_map from libmalloc's entropic
 * hint (src/vm.c, the magazines' rule; va.c). Requests go by size:
 *   tiny   <= 4 KiB      blocks of the 40 bins in 16 KiB chunks (1 slice)
 *   small  <= 32 KiB     blocks of the bins in 64 KiB chunks (4 slices)
 *   large  <= 2 MiB      one block per chunk of roundup(size, 16 KiB),
 *                        carved from a segment through the span queues
 *   huge   > 2 MiB or alignment > 1 MiB: a segment of its own, 4 MiB-aligned
 * plus the early allocator's 4 MiB arena (src/early_malloc.c:52) serving the
 * first few blocks of each bin.
 *
 * Buckets and segment groups: each bin has a data bucket, an ObjC bucket and
 * (ordinary iOS app) two pointer buckets (xzone_malloc.c:6588-6596). Data
 * xzones take segments from the DATA group, every other xzone from the
 * POINTER group; large chunks go to DATA when the type is pure data, else to
 * POINTER_LARGE; huge chunks always to DATA (xzone_malloc.c:329-353,
 * 6334-6346). An empty DATA segment is unmapped; a POINTER segment never is,
 * and an empty chunk of a pointer xzone is sequestered: only the same xzone
 * may reuse it (xzone_segment.c:3074-3090, xzone_malloc.c:1743-1754). So the
 * pointer heap's address space is a high-water mark.
 *
 * Our programs carry no type descriptors. An untyped malloc in libmalloc-792
 * takes the call site's return address as the type hash (malloc.c:2513-2520,
 * malloc_type_internal.h:52-62: hash = return address >> 2, no summary bits,
 * so not pure data) and xzone picks a pointer bucket by a keyed hash of it
 * (xzone_malloc.c:74-104, 140-161). ZONETRACE_XZONE_BUCKETS=site (default)
 * does the same with the caller the front end records (zt_error_caller) and
 * keys derived from ZONETRACE_SEED; =data puts every request in the data
 * bucket (what fully typed pure-data code would get).
 * -------------------------------------------------------------------------- */
#ifndef ZT_XZONE_H
#define ZT_XZONE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ZT_XZ_SLICE_SHIFT       14 /* XZM_SEGMENT_SLICE_SHIFT, xzone_malloc.h:19 */
#define ZT_XZ_SLICE_BYTES       ((size_t)1 << ZT_XZ_SLICE_SHIFT)
#define ZT_XZ_SEGMENT_SHIFT     22 /* XZM_SEGMENT_SHIFT, xzone_malloc.h:26 */
#define ZT_XZ_SEGMENT_BYTES     ((size_t)1 << ZT_XZ_SEGMENT_SHIFT)
#define ZT_XZ_SEGMENT_SLICES    (ZT_XZ_SEGMENT_BYTES / ZT_XZ_SLICE_BYTES) /* 256 */
#define ZT_XZ_TINY_CHUNK_BYTES  ZT_XZ_SLICE_BYTES                         /* 16 KiB */
#define ZT_XZ_SMALL_CHUNK_BYTES (4 * ZT_XZ_SLICE_BYTES)                   /* 64 KiB */
#define ZT_XZ_TINY_MAX_BYTES    4096u                                     /* xzone_malloc.h:36 */
#define ZT_XZ_SMALL_MAX_BYTES   32768u                                    /* xzone_malloc.h:37 */
#define ZT_XZ_LARGE_MAX_BYTES   ((size_t)2 << 20)                         /* xzone_malloc.h:38 */
#define ZT_XZ_ALIGNMENT_MAX     (ZT_XZ_SEGMENT_BYTES / 4)                 /* 1 MiB, :82 */
#define ZT_XZ_GRANULE           16u                                       /* XZM_GRANULE */
#define ZT_XZ_BINS              40
#define ZT_XZ_EARLY_ARENA_BYTES ((size_t)4 << 20) /* MFM_ARENA_SIZE, early_malloc.c:52 */
#define ZT_XZ_SPAN_QUEUES       27                /* XZM_SPAN_QUEUE_COUNT, xzone_malloc.h:90 */
#define ZT_XZ_PTR_BUCKETS_IOS   2                 /* xzone_malloc.c:6588-6596 */

/* Segment groups (XZM_SEGMENT_GROUP_*). */
enum zt_xz_group { ZT_XZ_GROUP_DATA, ZT_XZ_GROUP_POINTER, ZT_XZ_GROUP_POINTER_LARGE };
#define ZT_XZ_GROUPS 3

/* _xzm_bin (xzone_malloc.c:24-40), for 0..32 KiB. */
static inline unsigned zt_xzone_bin(size_t size)
{
    if (size == 0) return 0;
    if (size <= 128) return (unsigned)((size + ZT_XZ_GRANULE - 1) / ZT_XZ_GRANULE) - 1;
    size--;
    int msb = 63 - __builtin_clzl(size);
    return (unsigned)(((msb << 2) + (int)((size >> (msb - 2)) & 0x3)) - 20);
}

/* Block size of each bin (_xzm_bin_sizes, xzone_malloc.c:6060-6101): 16 B
 * steps to 128, then four per power of two. Here (not in xzone.c) so that
 * the CLI, which links no allocator, names the classes too. */
static const uint32_t zt_xzone_bin_sizes[ZT_XZ_BINS] = {
    16,   32,   48,   64,   80,    96,    112,   128,   160,   192,   224,   256,  320,  384,
    448,  512,  640,  768,  896,   1024,  1280,  1536,  1792,  2048,  2560,  3072, 3584, 4096,
    5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768};

static inline size_t zt_xzone_bin_bytes(unsigned bin)
{
    return bin < ZT_XZ_BINS ? zt_xzone_bin_sizes[bin] : 0;
}

struct _malloc_zone_t;
struct zt_owner;
struct zt_walker;

/* Create an xzone zone (not registered). NULL if its state cannot be mapped.
 * The early allocator's arena is mapped for the first (main) zone only. */
struct _malloc_zone_t *zt_xzone_create(const char *name);
bool zt_xzone_is(const struct _malloc_zone_t *zone);

/* Front-end fast path: free ptr whose chunk-map owner is an xzone segment. */
void zt_xzone_free_owned(struct zt_owner *o, void *ptr);
/* Block size of ptr if it is a live block of the segment o, else 0. */
size_t zt_xzone_size_owned(struct zt_owner *o, const void *ptr);

void zt_xzone_walk(struct _malloc_zone_t *zone, const struct zt_walker *w);
size_t zt_xzone_relieve(struct _malloc_zone_t *zone, size_t goal);

/* Tests and reports: the zone's segments now. */
typedef struct zt_xzone_stats {
    unsigned segments[ZT_XZ_GROUPS];    /* normal 4 MiB segments mapped, per group */
    size_t segment_bytes[ZT_XZ_GROUPS]; /* their bytes (huge ones count in DATA) */
    size_t live_bytes[ZT_XZ_GROUPS];    /* bytes of live blocks in them */
    unsigned huge_segments;             /* huge chunks (each its own segment) */
    size_t early_bytes;                 /* early arena bytes handed out */
    unsigned sequestered_chunks;        /* empty pointer chunks kept for their xzone */
} zt_xzone_stats_t;
void zt_xzone_get_stats(struct _malloc_zone_t *zone, zt_xzone_stats_t *out);

/* Tests: where ptr lives (group of its segment, or -1) and its segment base. */
int zt_xzone_group_of(struct _malloc_zone_t *zone, const void *ptr, uintptr_t *segment_base);

#endif /* ZT_XZONE_H */
