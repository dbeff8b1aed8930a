/* ----------------------------------------------------------------------------
 * sizeclass.h — which allocator a request goes to, and how big its block is.
 *
 * Limits are libmalloc's, inclusive (reference/libmalloc.md §1): nano 1–256 B
 * and tiny 1–1008 B in 16 B quanta (0 counts as one quantum), small in 512 B
 * quanta up to the profile's small limit (15 KiB iOS, 32 KiB macOS), medium in
 * 32 KiB quanta up to 8 MiB when the profile has it, large page-rounded above.
 *
 * Every block has one global class index, used for per-class accounting:
 *   nano   0..15     block 16·(i+1)
 *   tiny   16..78    msize 1..63     (index 15 + msize)
 *   small  79..142   msize 1..64     (index 78 + msize)
 *   medium 143..398  msize 1..256    (index 142 + msize)
 *   large  399
 *   xzone  400..439 bin 0..39 (zone/xzone.h), 440 an xzone large chunk,
 *          441 an xzone huge chunk (not counted per class in the record,
 *          whose class table stops at 400)
 * -------------------------------------------------------------------------- */
#ifndef ZT_SIZECLASS_H
#define ZT_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* XZ_DATA / XZ_PTR: xzone segments (zone/xzone.h) of the data and the pointer
 * segment groups; a huge chunk is an XZ_DATA segment of its own. */
enum zt_kind {
    ZT_KIND_NANO,
    ZT_KIND_TINY,
    ZT_KIND_SMALL,
    ZT_KIND_MEDIUM,
    ZT_KIND_LARGE,
    ZT_KIND_XZ_DATA,
    ZT_KIND_XZ_PTR
};
#define ZT_KIND_COUNT    7
#define ZT_KIND_IS_XZ(k) ((k) == ZT_KIND_XZ_DATA || (k) == ZT_KIND_XZ_PTR)

#define ZT_NANO_QUANTUM_SHIFT   4
#define ZT_NANO_QUANTUM_BYTES   (1 << ZT_NANO_QUANTUM_SHIFT) /* 16 */
#define ZT_NANO_MAX_BYTES       256
#define ZT_NANO_CLASSES         16
#define ZT_TINY_QUANTUM_SHIFT   4
#define ZT_TINY_QUANTUM_BYTES   (1 << ZT_TINY_QUANTUM_SHIFT) /* 16 */
#define ZT_TINY_MAX_BYTES       1008                         /* 63 quanta: TINY_LIMIT_THRESHOLD */
#define ZT_TINY_MSIZE_MAX       63
#define ZT_SMALL_QUANTUM_SHIFT  9
#define ZT_SMALL_QUANTUM_BYTES  (1 << ZT_SMALL_QUANTUM_SHIFT) /* 512 */
#define ZT_SMALL_MSIZE_MAX      64
#define ZT_MEDIUM_QUANTUM_SHIFT 15
#define ZT_MEDIUM_QUANTUM_BYTES (1u << ZT_MEDIUM_QUANTUM_SHIFT) /* 32 KiB */
#define ZT_MEDIUM_MAX_BYTES     (8u << 20)
#define ZT_MEDIUM_MSIZE_MAX     256

#define ZT_TINY_REGION_BYTES   (1u << 20)   /* 1 MiB, aligned to 1 MiB */
#define ZT_SMALL_REGION_BYTES  (8u << 20)   /* 8 MiB, aligned to 8 MiB */
#define ZT_MEDIUM_REGION_BYTES (128u << 20) /* 128 MiB, aligned to 128 MiB */
#define ZT_NANO_REGION_BYTES   (512u << 20) /* 512 MiB */

#define ZT_CLASS_NANO_FIRST   0
#define ZT_CLASS_TINY_FIRST   16  /* msize 1 */
#define ZT_CLASS_SMALL_FIRST  79  /* msize 1 */
#define ZT_CLASS_MEDIUM_FIRST 143 /* msize 1 */
#define ZT_CLASS_LARGE        399
#define ZT_CLASS_XZ_FIRST     400 /* bin 0 */
#define ZT_CLASS_XZ_BINS      40
#define ZT_CLASS_XZ_LARGE     440
#define ZT_CLASS_XZ_HUGE      441
#define ZT_CLASS_COUNT        442

struct zt_profile;

/* Class of a request in a scalable zone (tiny/small/medium/large; never nano). */
unsigned zt_class_scalable(const struct zt_profile *p, size_t bytes);

/* zt_class_scalable's answer for bytes <= ZT_TINY_MAX_BYTES (every profile's),
 * inline for the szone's allocation path: 0 bytes is msize 1. */
static inline unsigned zt_class_tiny(size_t bytes)
{
    size_t msize = bytes == 0 ? 1 : (bytes + ZT_TINY_QUANTUM_BYTES - 1) >> ZT_TINY_QUANTUM_SHIFT;
    return ZT_CLASS_TINY_FIRST - 1 + (unsigned)msize;
}

/* Class of a request made to a nano-fronted default zone: nano if <= 256 B,
 * else as zt_class_scalable. */
unsigned zt_class_nano_or_scalable(const struct zt_profile *p, size_t bytes);

/* Kind of a class index. */
enum zt_kind zt_class_kind(unsigned cls);

/* Block size in bytes of a class (0 for ZT_CLASS_LARGE: the block size of a
 * large allocation is the request rounded up to the profile page). */
size_t zt_class_block_bytes(unsigned cls);

/* Block size a request of `bytes` gets (what malloc_good_size returns). */
size_t zt_class_good_size(const struct zt_profile *p, size_t bytes, bool nano);

/* Short human name of a class, e.g. "nano-32", "tiny-48", "small-1536",
 * "medium-65536", "large". Static storage. */
const char *zt_class_name(unsigned cls);

/* "nano", "tiny", "small", "medium", "large". */
const char *zt_kind_name(enum zt_kind k);

#endif /* ZT_SIZECLASS_H */
