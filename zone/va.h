/* ----------------------------------------------------------------------------
 * va.h — the heap's address space.
 *
 * Unlimited profiles map regions and large blocks anywhere (aligned mmap).
 * Limited profiles (the iPhones) reserve their windows once (PROT_NONE, no commit
 * charge) and place every region and large block inside them, at the
 * alignment the kind needs (tiny 1 MiB, small 8 MiB, medium 128 MiB, large
 * the profile page), so that exhaustion and fragmentation happen where they
 * would on the device. Bookkeeping is a page-granular occupancy map (profile
 * page) outside the windows.
 *
 * Where things land (iOS profiles; va.c cites libmalloc-166.220.1 and
 * xnu-4903.221.2). The windows stand for device addresses: window 0 =
 * [SHARED_REGION_BASE - its size, SHARED_REGION_BASE) = [0x1_0000_0000,
 * 0x1_8000_0000) for 2 GiB, window 1 = [end of the nano region 0x2_A000_0000,
 * + its size) up to the VA ceiling. Tiny and small regions are placed from
 * libmalloc's entropic hint below the stack (aslr.h; the seed is
 * ZONETRACE_SEED), upward first fit, then from the bottom, with the 256 MiB
 * lowering rule; large blocks first fit from the bottom. What the device
 * also keeps in these ranges (main image, stacks, dyld, file mappings,
 * libmalloc's metadata) is not modelled: the windows are the heap's alone.
 * ZONETRACE_VA_LIMIT on a non-iOS profile: one window, first fit from the
 * bottom for every kind.
 *
 * Nothing else in the library may map heap address space: va.c is where
 * "region map failed" is detected and reported (zt_hook_event).
 * -------------------------------------------------------------------------- */
#ifndef ZT_VA_H
#define ZT_VA_H

#include "zone.h"

/* Why a map failed (filled on failure). */
typedef struct zt_va_failure {
    enum zt_kind kind;
    size_t need_bytes;            /* requested size */
    size_t align_bytes;           /* required alignment */
    size_t used_bytes;            /* heap address space in use */
    size_t limit_bytes;           /* 0 = unlimited */
    size_t largest_free_bytes;    /* largest free hole, any alignment */
    size_t largest_aligned_bytes; /* largest hole usable at align_bytes (aligned start) */
} zt_va_failure_t;

typedef struct zt_va_stats {
    size_t used_bytes, peak_used_bytes, limit_bytes; /* limit 0 = unlimited */
    size_t kind_bytes[ZT_KIND_COUNT];                /* mapped bytes per kind */
    size_t largest_free_bytes;                       /* limited profiles only */
    size_t largest_aligned_1m_bytes, largest_aligned_8m_bytes;
} zt_va_stats_t;

/* Address space left under the limit (limit - used; SIZE_MAX when not
 * limited). Cheap: no scan of the windows, unlike zt_va_get_stats. */
size_t zt_va_room_bytes(void);

/* Reserve the windows of the active profile. limit_override_bytes > 0
 * replaces the profile's total (one window of that size). */
bool zt_va_init(const zt_profile_t *p, uint64_t limit_override_bytes);

bool zt_va_limited(void);

/* Map `bytes` (multiple of the profile page) aligned to `align_bytes` for a
 * region or large block of `kind`; read/write, zero-filled. On failure:
 * NULL, errno = ENOMEM, *fail filled (if non-NULL) and a ZT_EV_MAP_FAILED
 * event sent to the profiler. */
void *zt_va_map(enum zt_kind kind, size_t bytes, size_t align_bytes, zt_va_failure_t *fail);

/* zt_va_map for a caller that does not need zeros (large malloc without
 * clear): pages reused from the held-pages ledger keep old contents, as a
 * malloc'd block may. Pages never used before still read zeros. */
void *zt_va_map_unzeroed(enum zt_kind kind, size_t bytes, size_t align_bytes,
                         zt_va_failure_t *fail);

/* Give a mapped range back (whole or a page-aligned tail of a large block). */
void zt_va_unmap(void *addr, size_t bytes, enum zt_kind kind);

/* Try to extend a mapping in place by `grow_bytes` at addr+bytes (large
 * realloc). False if the pages are not free. */
bool zt_va_grow(void *addr, size_t bytes, size_t grow_bytes, enum zt_kind kind);

/* Drop the pages of a mapped range (it stays mapped, reads zeros). */
void zt_va_purge(void *addr, size_t bytes);

void zt_va_get_stats(zt_va_stats_t *out);

/* ---- held pages (va.c's ledger; device profiles) --------------------------
 * A device profile's release that would change page tables (decommit of a
 * large block or region, nano's madvise of an emptied block) leaves the
 * pages mapped and records the range as held: the footprint functions of
 * prim.h subtract its resident bytes. See va.c for the rules and the
 * libmalloc/xnu behaviour this stands for. */
enum { ZT_VA_HOLD_PURGE = 1, ZT_VA_HOLD_DECOMMIT = 2 };

/* True on limited profiles unless ZONETRACE_HELD_PAGES=0. */
bool zt_va_held_enabled(void);
/* The footprint as the device counts it: zt_prim_footprint's and
 * zt_prim_phys_footprint's readings less the held pages' resident bytes
 * (measured first). What the jetsam check and the timeline read. */
bool zt_va_footprint(uint64_t *rss_bytes, uint64_t *anon_bytes);
bool zt_va_phys_footprint(uint64_t *bytes);

/* Release [addr, addr+bytes) as `how` says: held when the ledger is on, the
 * real call (purge / decommit) otherwise or when the ledger overflows. The
 * caller owns the range and must call zt_va_take before using it again. */
void zt_va_hold(void *addr, size_t bytes, int how);

/* The range is in use again: held ranges overlapping it leave the ledger
 * (split where they overlap partly); zero: their resident pages are zeroed,
 * as a fresh mapping reads zeros. Returns the bytes of the range that were
 * held decommitted (still mapped read/write: no commit needed). */
size_t zt_va_take(void *addr, size_t bytes, bool zero);

/* Forget held ranges inside a mapping that is going away as a whole. */
void zt_va_held_forget(void *addr, size_t bytes);

/* Really release every held range; returns the resident bytes it held. */
size_t zt_va_held_release_all(void);

typedef struct zt_va_held_stats {
    bool enabled;
    size_t ranges, bytes, resident_bytes; /* now (resident measured by the call) */
    size_t holds, takes, evicted, measures;
} zt_va_held_stats_t;
void zt_va_held_stats(zt_va_held_stats_t *out);

/* True if p lies inside an emulated window (limited profiles). */
bool zt_va_in_window(const void *p);

/* Visit the windows' layout as maximal runs of one kind (kind -1 = free),
 * in address order. Limited profiles only (no-op otherwise). */
void zt_va_walk(void (*cb)(void *ctx, uintptr_t base, size_t bytes, int kind), void *ctx);

/* Placement state (iOS profiles: entropic; otherwise entropic = false). */
typedef struct zt_va_placement {
    bool entropic;                                    /* tiny/small from the entropic hint */
    uint64_t seed;                                    /* ZONETRACE_SEED at init */
    unsigned entropic_bits;                           /* malloc_entropy[1] & 127 */
    uint64_t entropic_address, entropic_limit;        /* now, as device addresses */
    unsigned lowerings;                               /* 256 MiB lowerings so far */
    uint64_t window_dev_base[ZT_PROFILE_MAX_WINDOWS]; /* device address of each window */
} zt_va_placement_t;
void zt_va_get_placement(zt_va_placement_t *out);

/* The device address p stands for (inside a window of an iOS profile), or 0. */
uint64_t zt_va_device_address(const void *p);

/* Window i (0-based): base and size; false if there is no such window. */
bool zt_va_window(unsigned i, uintptr_t *base, size_t *bytes);

/* Tests only: forget the configuration (windows are unmapped, counters
 * cleared) so that zt_va_init can be called again. Outstanding unlimited
 * mappings are left alone. */
void zt_va_reset_for_test(void);

/* Fork child: reset the lock. */
void zt_va_reinit_lock(void);
void zt_va_lock(void);
void zt_va_unlock(void);

#endif /* ZT_VA_H */
