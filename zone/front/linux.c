/* ----------------------------------------------------------------------------
 * front/linux.c — the malloc family for Linux (LD_PRELOAD or linked in):
 * every symbol of reference/darwin_override.md §8, routed through the zone
 * registry with libmalloc's semantics (malloc → default zone; free/realloc
 * → the pointer's owner; realloc(p, 0) → a minimal block).
 *
 * Fast paths (profiler off or sampling): a thread-cache hit of
 * nano (<= 256 B) or of the tiny rack (<= 1008 B) is inline in malloc (a few
 * predicted tests and a pop, nano.h, rack.h; native's nano-and-tiny pair:
 * one pop for both through a per-bin table, with no branch on the size;
 * sampling adds the countdown)
 * and one call in free (a chunk-map load, then zt_nano_free_hit's or
 * zt_rack_tiny_free_hit's checks and a push), with no errno save; otherwise
 * malloc makes one indirect call into zone 0 and free a direct call into
 * the owning rack or nano zone. Everything else (large blocks, foreign
 * pointers, a malloc_logger installed, start-up) takes the registry's slow
 * path. Each entry's caller is kept for error messages (CALLER below).
 * errno: set to ENOMEM on failed allocations, preserved by free.
 * -------------------------------------------------------------------------- */
#include "zone.h"
#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "rack.h"
#include "nano.h"
#include "registry.h"
#include "szone.h"
#include "xzone.h"
#include "zonetrace.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define ALIAS(name) ZT_EXPORT __attribute__((alias(#name), copy(name)))
/* The caller, for error messages (zt_error_caller: the caller of a bad
 * free) and xzone's call-site buckets. Most entry points store it on entry;
 * malloc, free and free_sized pass it down and only their slow paths store
 * it (a thread-local store per call saved): a cache hit reports no error
 * and never reaches xzone. */
#define CALLER()      __builtin_return_address(0)
#define NOTE_CALLER() (zt_error_caller = CALLER())

static inline void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* ---- cores shared by the C and C++ entry points ----------------------------- */

/* The ordinary path: everything but a thread-cache hit. Out of line, so that
 * the hit (do_malloc, do_free) saves no registers. zt_registry_slots[0] is
 * what zt_default_zone() returns (registry.c, its only definition), read
 * without the call: once zt_registry_ready() is true, zt_registry_init has
 * stored it (before zt_initialised is published, or under init_lock, which
 * zt_init takes before it returns true); before that the bootstrap arena
 * answers. */
static __attribute__((noinline)) void *malloc_slow(size_t n, const void *caller)
{
    if (caller) zt_error_caller = caller;
    if (zt_unlikely(!zt_registry_ready())) return zt_bootstrap_malloc(n, 16);
    ZT_HOOK_NOTE_REQUEST(n);
    void *p;
    if (zt_likely(malloc_logger == NULL)) {
        malloc_zone_t *z = zt_registry_slots[0];
        p = z->malloc(z, n);
    } else {
        p = malloc_zone_malloc(zt_registry_virtual_zone(), n);
    }
    return zt_likely(p != NULL) ? p : nomem();
}

/* malloc_slow for a request of n >= 1 bytes when the default zone z0 is a
 * nano zone (its malloc is nano_malloc) and no zone owns the thread caches:
 * a device profile, where every allocation used to come here through
 * malloc_slow, nano_malloc and, above 256 B, the helper's indirect call.
 * The same answer as z0->malloc(z0, n): nano's block of the class
 * (zt_nano_device_alloc), else the helper's malloc, called directly when it
 * is the scalable zone's; errno, the caller and the profiler's request size
 * as malloc_slow sets them. Before initialisation completed: malloc_slow. */
static __attribute__((noinline)) void *malloc_device(malloc_zone_t *z0, size_t n, int prof,
                                                     const void *caller)
{
    if (zt_unlikely(!__atomic_load_n(&zt_initialised, __ATOMIC_ACQUIRE)))
        return malloc_slow(n, caller);
    if (caller) zt_error_caller = caller; /* NULL: realloc(NULL, n) and others noted theirs */
    if (zt_unlikely(prof)) zt_hook_request_bytes = n; /* ZT_HOOK_NOTE_REQUEST */
    void *p;
    if (n <= ZT_NANO_MAX_BYTES) {
        p = zt_nano_device_alloc(z0, (unsigned)(n - 1) >> ZT_NANO_QUANTUM_SHIFT);
        if (zt_likely(p != NULL)) return p; /* NULL: the class is delegated */
    }
    /* nano_malloc's n->helper: the only nano zone is the initial default
     * zone, and its helper is zt_registry_initial_helper (init.c). */
    malloc_zone_t *h = zt_registry_initial_helper;
    p = zt_likely(h->malloc == zt_szone_malloc) ? zt_szone_malloc(h, n) : h->malloc(h, n);
    return zt_likely(p != NULL) ? p : nomem();
}

/* True when z0 is native's pair: the nano zone owning the caches in front
 * of the tiny rack owning them. */
static inline bool small_pair_is(const malloc_zone_t *z0)
{
    malloc_zone_t *helper = zt_rack_front_zone;
    return zt_likely(z0 == zt_nano_front_zone) && zt_likely(helper != NULL) &&
           zt_likely(zt_registry_initial_helper == helper);
}

/* True when the default zone z0 (not NULL) sends a request of 1 <= n <=
 * ZT_TINY_MAX_BYTES that nano does not take to the tiny rack owning the
 * caches: z0 is that rack's scalable zone (every such n), or the nano zone
 * in front of it, native's pair (n > ZT_NANO_MAX_BYTES; zt_nano_front_zone is
 * only ever the initial default zone, whose helper zt_registry_initial_helper
 * is). */
static inline bool tiny_front_is(const malloc_zone_t *z0)
{
    malloc_zone_t *s = zt_rack_front_zone;
    return s != NULL && (z0 == s || small_pair_is(z0));
}

/* The profiler is off or samples: its one decision per allocation is the
 * countdown, which the hits make too (full mode tags every block). One load:
 * zt_profiling says full (ZT_PROFILING_FULL) or sample (ZT_PROFILING_SAMPLE)
 * by its value, so the front reads nothing else to decide, and the value
 * read is reused after the pop instead of being loaded again. */
static inline bool front_profiler_ok(int prof)
{
    return zt_likely(prof != ZT_PROFILING_FULL);
}

/* zt_nano_malloc_hit or zt_rack_tiny_malloc_hit (nano.h, rack.h) by the
 * size, without a branch on it, for 1 <= n <= ZT_TINY_MAX_BYTES when the
 * default zone is the nano zone owning the caches and its helper the tiny
 * rack owning them. Why: a program whose sizes straddle 256 B at random
 * (handoff: 16-512 B) mispredicted the nano-or-tiny branch on every other
 * malloc (cachegrind --branch-sim: 0.5 per call, ~15 cycles each; glibc's
 * tcache has one path for all its sizes). Both sections are bins of 16 B
 * quanta indexed by (n - 1) >> 4; they differ in stride and in the tiny
 * section's byte budget, which a per-bin table gives (small_bins), and in
 * owner id, which is checked for both sections at once, not for n's. A
 * thread whose record does not yet hold both owners' entries takes the
 * per-kind hits (malloc_hit_one). */
_Static_assert(ZT_NANO_QUANTUM_SHIFT == ZT_TINY_QUANTUM_SHIFT, "one bin index for nano and tiny");
_Static_assert(ZT_NANO_MAX_BYTES >> ZT_NANO_QUANTUM_SHIFT == 16, "bins 16 and up are tiny's");

/* Bin b's place in a thread's record: its count, the slot before its first
 * (a pop reads slot_off + count * 8), its section's byte count and the
 * bytes a pop takes off it (0 for nano, whose section keeps none). One
 * 16-byte entry per bin, so a hit's addresses are a table load away from n
 * and need no arithmetic on which section it is. */
typedef struct small_bin {
    uint32_t count_off, slot_off, bytes_off, bytes;
} small_bin_t;
#define SB_TINY(b)   ((b) >= 16)
#define SB_STRIDE(b) (SB_TINY(b) ? ZT_RACK_TC_STRIDE : ZT_TCACHE_SLOTS)
#define SB(b)                                                                                      \
    {                                                                                              \
        offsetof(zt_tcache_t, sec[SB_TINY(b)].count[b]),                                           \
            offsetof(zt_tcache_t, sec[SB_TINY(b)].slot[(b)*SB_STRIDE(b)]) - sizeof(void *),        \
            offsetof(zt_tcache_t, sec[SB_TINY(b)].bytes),                                          \
            SB_TINY(b) ? ((b) + 1) * ZT_TINY_QUANTUM_BYTES : 0                                     \
    }
#define SB4(b)  SB(b), SB(b + 1), SB(b + 2), SB(b + 3)
#define SB16(b) SB4(b), SB4(b + 4), SB4(b + 8), SB4(b + 12)
static const small_bin_t small_bins[64] = {SB16(0), SB16(16), SB16(32), SB16(48)};
_Static_assert((ZT_TINY_MAX_BYTES - 1) >> ZT_TINY_QUANTUM_SHIFT < 64, "a bin per tiny size");

/* The calling thread's cache holds both owners' entries (its nano and tiny
 * sections are theirs): the pair's hit may pop from either. */
static inline bool small_hit_ready(const zt_tcache_t *tc)
{
    return zt_likely(tc != NULL) && zt_likely(tc->sec[ZT_TCACHE_NANO].id == zt_nano_front_id) &&
           zt_likely(tc->sec[ZT_TCACHE_TINY].id == zt_rack_front_id);
}

/* tc: small_hit_ready. */
static inline __attribute__((always_inline)) void *small_hit(zt_tcache_t *tc, size_t n)
{
    const small_bin_t *e = &small_bins[(n - 1) >> ZT_TINY_QUANTUM_SHIFT];
    char *base = (char *)tc;
    uint16_t *count = (uint16_t *)(base + e->count_off);
    unsigned c = *count;
    if (c == 0) return NULL;
    __atomic_store_n(count, (uint16_t)(c - 1), __ATOMIC_RELAXED);
    void *p = *(void **)(base + e->slot_off + (size_t)c * sizeof(void *));
    *(size_t *)(base + e->bytes_off) -= e->bytes;
    __atomic_store_n((uint64_t *)p, 0, __ATOMIC_RELAXED); /* live again (both guards: word 0) */
    return p;
}

/* A sampled hit of either kind: tagged as its zone's own path would (one
 * allocation in many, so out of line). */
static __attribute__((noinline)) void *small_hit_sampled(void *p, size_t n)
{
    if (n <= ZT_NANO_MAX_BYTES)
        zt_nano_front_sampled(p, n);
    else
        zt_rack_front_sampled(p, n);
    return p;
}

/* The hits of a default zone that is not native's nano-and-tiny pair: the
 * nano zone owning the caches alone (its helper does not cache) or a tiny
 * rack's scalable zone (nano off); and the pair's while the thread's record
 * holds only one owner's entries (a thread that has freed only nano blocks
 * has no tiny section yet): the record then takes the other section now,
 * empty, as that owner's first cached free would have, so that the next
 * malloc takes the pair's hit (bignum: every malloc came here). */
static __attribute__((noinline)) void *malloc_hit_one(size_t n, const void *caller,
                                                      malloc_zone_t *z0, int prof)
{
    zt_tcache_t *tc = zt_tcache_self;
    if (tc != NULL && small_pair_is(z0)) {
        if (tc->sec[ZT_TCACHE_NANO].id != zt_nano_front_id)
            zt_tcache_section_slow(ZT_TCACHE_NANO, zt_nano_front_id);
        if (tc->sec[ZT_TCACHE_TINY].id != zt_rack_front_id)
            zt_tcache_section_slow(ZT_TCACHE_TINY, zt_rack_front_id);
    }
    void *p = NULL;
    if (n - 1 < ZT_NANO_MAX_BYTES && z0 == zt_nano_front_zone) {
        p = zt_nano_malloc_hit(n);
        if (zt_likely(p != NULL) && zt_unlikely(prof) &&
            !zt_hook_unsampled(((n - 1) | (ZT_NANO_QUANTUM_BYTES - 1)) + 1))
            zt_nano_front_sampled(p, n);
    } else if (n - 1 < ZT_TINY_MAX_BYTES && tiny_front_is(z0)) {
        p = zt_rack_tiny_malloc_hit(n);
        if (zt_likely(p != NULL) && zt_unlikely(prof) &&
            !zt_hook_unsampled(((n - 1) | (ZT_TINY_QUANTUM_BYTES - 1)) + 1))
            zt_rack_front_sampled(p, n);
    }
    return zt_likely(p != NULL) ? p : malloc_slow(n, caller);
}

/* The hits, with no logger and the profiler off or sampling: 1 <= n <= 256
 * and the default zone is the nano zone owning the thread caches, whose bin
 * has a block (nano.h); or else 1 <= n <= 1008 and the default zone sends it
 * to the tiny rack owning the caches, whose bin has one (rack.h); native's
 * pair of both takes small_hit for either. What zone->malloc would return on
 * those paths, without its calls. A sampled hit counts the block's bytes
 * down as the zone's own path does (zt_hook_wanted), after the pop, so a
 * miss leaves the countdown to the ordinary path. note: whether to pass the
 * entry point's caller to the ordinary path (read from the frame there
 * only; do_malloc is inlined in the entry point). */
static inline __attribute__((always_inline)) void *do_malloc(size_t n, bool note)
{
    malloc_zone_t *z0 = zt_registry_slots[0];
    int prof = zt_profiling;
    if (zt_likely(z0 != NULL) && zt_likely(malloc_logger == NULL) && front_profiler_ok(prof)) {
        if (n - 1 < ZT_TINY_MAX_BYTES) {
            zt_tcache_t *tc = zt_tcache_self;
            if (small_pair_is(z0) && small_hit_ready(tc)) {
                void *p = small_hit(tc, n);
                if (zt_likely(p != NULL)) {
                    if (zt_unlikely(prof) &&
                        !zt_hook_unsampled(((n - 1) | (ZT_TINY_QUANTUM_BYTES - 1)) + 1))
                        return small_hit_sampled(p, n); /* a tail call: nothing kept across it */
                    return p;
                }
            } else if (zt_nano_front_zone != NULL || zt_rack_front_zone != NULL) {
                return malloc_hit_one(n, note ? CALLER() : NULL, z0, prof);
            }
        }
        /* A device profile's nano zone (no zone owns the caches). */
        if (zt_nano_front_zone == NULL && z0->malloc == zt_nano_malloc_fn && n != 0)
            return malloc_device(z0, n, prof, note ? CALLER() : NULL);
    }
    return malloc_slow(n, note ? CALLER() : NULL);
}

/* errno is saved around everything but the cache hits, which make no
 * system call. */
static __attribute__((noinline)) void free_slow(void *p, zt_owner_t *o, const void *caller)
{
    if (caller) zt_error_caller = caller;
    int *err = &errno; /* one __errno_location call, not two */
    int saved = *err;
    if (zt_likely(o != NULL && malloc_logger == NULL)) {
        if (o->kind == ZT_KIND_NANO)
            zt_nano_free_owned(o, p);
        else if (ZT_KIND_IS_XZ(o->kind))
            zt_xzone_free_owned(o, p);
        else
            zt_rack_free((zt_rack_t *)o, p);
    } else {
        zt_registry_free(p); /* large, bootstrap, foreign, logged */
    }
    *err = saved;
}

/* After a refused hit: the owner again (p's chunk cannot change owner
 * while p is allocated, and a bad p is classified by free_slow). */
static __attribute__((noinline)) void free_refused(void *p, const void *caller)
{
    free_slow(p, zt_chunkmap_get(p), caller);
}

/* note: whether to pass the entry point's caller down (malloc's, free's
 * and free_sized's; the others have stored it). It is read only on the
 * ordinary path, from the frame (do_free is inlined in the entry point), and
 * the owner is looked up again after a refused hit, so that a hit's call
 * keeps only p alive across it (one saved register, not three). */
static inline __attribute__((always_inline)) void do_free(void *p, bool note)
{
    if (zt_unlikely(p == NULL)) return;
    zt_owner_t *o = zt_chunkmap_get(p);
    if (zt_likely(o != NULL) && zt_likely(malloc_logger == NULL) &&
        front_profiler_ok(zt_profiling)) {
        if (o->kind == ZT_KIND_NANO) {
            if (zt_nano_front_zone != NULL) {
                if (zt_nano_free_hit(o, p)) return;
                free_refused(p, note ? CALLER() : NULL);
            } else {
                /* no caches: a device profile */
                zt_nano_device_free(o, p, note ? CALLER() : NULL);
            }
            return;
        } else if (o == zt_rack_front_tiny) {
            if (zt_rack_tiny_free_hit(o, p)) return;
            free_refused(p, note ? CALLER() : NULL);
            return;
        } else if (zt_rack_front_tiny == NULL && !ZT_KIND_IS_XZ(o->kind)) {
            /* no caches: a device profile */
            zt_rack_device_free((zt_rack_t *)o, p, note ? CALLER() : NULL);
            return;
        }
    }
    free_slow(p, o, note ? CALLER() : NULL);
}

/* align: a power of two. Every alignment, 16 or less included, goes to the default zone's
 * memalign, as libmalloc's posix_memalign does (166 src/malloc.c:1573-1600, 1856-1880);
 * on a nano profile that is the helper zone's (166 src/nanov2_malloc.c:1124-1129), so even
 * a 32-byte posix_memalign lands in a tiny region, never in nano. An alignment below a
 * pointer (glibc's memalign accepts it) is asked as sizeof(void *): the zone's answer is
 * the same block, malloc's. */
static void *do_memalign(size_t align, size_t n)
{
    if (align < sizeof(void *)) align = sizeof(void *);
    if (zt_unlikely(!zt_registry_ready())) return zt_bootstrap_malloc(n, align > 16 ? align : 16);
    ZT_HOOK_NOTE_REQUEST(n);
    void *p;
    if (zt_likely(malloc_logger == NULL)) {
        malloc_zone_t *z = zt_default_zone();
        p = z->memalign(z, align, n);
    } else {
        p = malloc_zone_memalign(zt_registry_virtual_zone(), align, n);
    }
    return p ? p : nomem();
}

static inline bool pow2(size_t a)
{
    return a && !(a & (a - 1));
}

/* ---- C ------------------------------------------------------------------------ */

ZT_EXPORT void *malloc(size_t n)
{
    return do_malloc(n, true);
}

ZT_EXPORT void free(void *p)
{
    do_free(p, true);
}

/* An overflowing count * n still goes through the zone (whose calloc refuses it) and the
 * logger, as libmalloc's calloc → malloc_zone_calloc does (166 src/malloc.c:1466-1484). */
ZT_EXPORT void *calloc(size_t count, size_t n)
{
    NOTE_CALLER();
    size_t total;
    if (zt_unlikely(!zt_registry_ready()))
        return __builtin_mul_overflow(count, n, &total) ? nomem() : zt_bootstrap_malloc(total, 16);
    ZT_HOOK_NOTE_REQUEST(__builtin_mul_overflow(count, n, &total) ? 0 : total);
    void *p;
    if (zt_likely(malloc_logger == NULL)) {
        malloc_zone_t *z = zt_default_zone();
        p = z->calloc(z, count, n);
    } else {
        p = malloc_zone_calloc(zt_registry_virtual_zone(), count, n);
    }
    return p ? p : nomem();
}

ZT_EXPORT void *realloc(void *p, size_t n)
{
    NOTE_CALLER();
    if (zt_unlikely(!zt_registry_ready())) {
        void *q = zt_bootstrap_malloc(n, 16);
        if (q && p) {
            size_t old = zt_bootstrap_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    if (p == NULL) return do_malloc(n, false);
    return zt_registry_realloc(p, n); /* sets errno on failure */
}

ZT_EXPORT void *reallocarray(void *p, size_t count, size_t n)
{
    NOTE_CALLER();
    size_t total;
    if (__builtin_mul_overflow(count, n, &total)) return nomem();
    if (zt_unlikely(!zt_registry_ready())) return realloc(p, total);
    return p ? zt_registry_realloc(p, total) : do_malloc(total, false);
}

/* glibc rounds a non-power-of-two alignment up instead of failing. */
ZT_EXPORT void *memalign(size_t align, size_t n)
{
    NOTE_CALLER();
    if (!pow2(align)) {
        if (align > ((size_t)1 << (sizeof(size_t) * 8 - 1))) return nomem();
        size_t a = 1;
        while (a < align)
            a <<= 1;
        align = a;
    }
    return do_memalign(align, n);
}

ZT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    NOTE_CALLER();
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return do_memalign(align, n);
}

ZT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    NOTE_CALLER();
    if (!pow2(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = do_memalign(align, n);
    errno = saved;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static void *do_valloc(size_t n)
{
    if (zt_unlikely(!zt_registry_ready())) return zt_bootstrap_malloc(n, zt_prim_page_bytes());
    void *p;
    if (zt_likely(malloc_logger == NULL)) {
        malloc_zone_t *z = zt_default_zone();
        p = z->valloc(z, n);
    } else {
        p = malloc_zone_valloc(zt_registry_virtual_zone(), n);
    }
    return p ? p : nomem();
}

ZT_EXPORT void *valloc(size_t n)
{
    NOTE_CALLER();
    return do_valloc(n);
}

ZT_EXPORT void *pvalloc(size_t n)
{
    NOTE_CALLER();
    size_t page = zt_prim_page_bytes();
    size_t rounded = (n + page - 1) & ~(page - 1);
    if (rounded < n) return nomem();
    return do_valloc(rounded ? rounded : page);
}

ZT_EXPORT size_t malloc_usable_size(void *p)
{
    NOTE_CALLER();
    return p ? malloc_size(p) : 0;
}

ZT_EXPORT void cfree(void *p)
{
    NOTE_CALLER();
    do_free(p, false);
}

ZT_EXPORT void free_sized(void *p, size_t n)
{
    do_free(p, true);
}

ZT_EXPORT void free_aligned_sized(void *p, size_t align, size_t n)
{
    NOTE_CALLER();
    do_free(p, false);
}

/* glibc's internal names: what libc itself and some old binaries call. */
void *__libc_malloc(size_t n) ALIAS(malloc);
void __libc_free(void *p) ALIAS(free);
void *__libc_calloc(size_t count, size_t n) ALIAS(calloc);
void *__libc_realloc(void *p, size_t n) ALIAS(realloc);
void *__libc_memalign(size_t align, size_t n) ALIAS(memalign);
void *__libc_valloc(size_t n) ALIAS(valloc);
void *__libc_pvalloc(size_t n) ALIAS(pvalloc);
int __posix_memalign(void **out, size_t align, size_t n) ALIAS(posix_memalign);

/* ---- glibc introspection, harmless ------------------------------------------- */

ZT_EXPORT struct mallinfo2 mallinfo2(void)
{
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    malloc_statistics_t s;
    malloc_zone_statistics(NULL, &s);
    mi.arena = s.size_allocated;
    mi.uordblks = s.size_in_use;
    mi.fordblks = s.size_allocated > s.size_in_use ? s.size_allocated - s.size_in_use : 0;
    mi.usmblks = s.max_size_in_use;
    return mi;
}

ZT_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = (int)m2.arena;
    mi.uordblks = (int)m2.uordblks;
    mi.fordblks = (int)m2.fordblks;
    mi.usmblks = (int)m2.usmblks;
    return mi;
}

/* glibc's answer is "was anything released". Zones' pressure_relief returns 0 as
 * libmalloc's does, so the scalable zones are asked through zt_szone_relieve, which
 * counts. */
ZT_EXPORT int malloc_trim(size_t pad)
{
    if (!zt_registry_ready()) return 0;
    malloc_zone_t *all[ZT_MAX_ZONES];
    unsigned nz = zt_registry_zones(all, ZT_MAX_ZONES);
    size_t total = 0;
    for (unsigned i = 0; i < nz; i++) {
        malloc_zone_t *z = all[i];
        if (zt_szone_is(z))
            total += zt_szone_relieve(z, 0);
        else if (zt_xzone_is(z))
            total += zt_xzone_relieve(z, 0);
        else if (z->version >= 8 && z->pressure_relief)
            total += z->pressure_relief(z, 0);
    }
    return total > 0;
}

ZT_EXPORT void malloc_stats(void)
{
    if (zt_registry_ready()) zt_registry_print_statistics();
}

ZT_EXPORT int mallopt(int param, int value)
{
    return 1;
}

/* ---- public zonetrace API ------------------------------------------------------- */

ZT_EXPORT int zt_install(void)
{
    /* On Linux the exported symbols already are the allocator. */
    return zt_init() ? 0 : -1;
}

/* ---- C++ operator new / delete (Itanium mangled names) ------------------------- */

/* libstdc++, when present, supplies the new-handler and std::bad_alloc;
 * weak references keep C programs free of it. */
typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void *__cxa_allocate_exception(size_t) __attribute__((weak));
extern void __cxa_throw(void *, void *, void (*)(void *)) __attribute__((weak, noreturn));
extern char _ZTISt9bad_alloc[] __attribute__((weak));
extern char _ZTVSt9bad_alloc[] __attribute__((weak));
extern void _ZNSt9bad_allocD1Ev(void *) __attribute__((weak));

__attribute__((noreturn, noinline)) static void throw_bad_alloc(size_t n)
{
    if (__cxa_allocate_exception && __cxa_throw && _ZTISt9bad_alloc && _ZTVSt9bad_alloc) {
        void **e = __cxa_allocate_exception(sizeof(void *));
        e[0] = _ZTVSt9bad_alloc + 2 * sizeof(void *); /* past offset-to-top and typeinfo */
        __cxa_throw(e, _ZTISt9bad_alloc, _ZNSt9bad_allocD1Ev);
    }
    zt_prim_message("operator new(%zu) failed and std::bad_alloc is unavailable", n);
    zt_prim_abort();
}

/* The standard's loop: call the new-handler until it gives up (returns no
 * handler) or the allocation succeeds; then throw unless nothrow. */
__attribute__((noinline)) static void *new_failed(size_t n, size_t align, bool nothrow)
{
    for (;;) {
        new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (!h) break;
        h();
        void *p = align ? do_memalign(align, n) : do_malloc(n, false);
        if (p) return p;
    }
    if (nothrow) return NULL;
    throw_bad_alloc(n);
}

/* align 0: plain new (malloc). An aligned new of any alignment takes memalign, as
 * libc++'s operator new(size_t, align_val_t) does (posix_memalign / aligned_alloc). */
static inline void *op_new(size_t n, size_t align, bool nothrow)
{
    void *p = align ? (pow2(align) ? do_memalign(align, n) : NULL) : do_malloc(n, false);
    return zt_likely(p != NULL) ? p : new_failed(n, align, nothrow);
}

#define NEW(name, ...)    ZT_EXPORT void *name(__VA_ARGS__)
#define DELETE(name, ...) ZT_EXPORT void name(__VA_ARGS__)

NEW(_Znwm, size_t n)
{
    NOTE_CALLER();
    return op_new(n, 0, false);
}
NEW(_Znam, size_t n)
{
    NOTE_CALLER();
    return op_new(n, 0, false);
}
NEW(_ZnwmRKSt9nothrow_t, size_t n, const void *nt)
{
    NOTE_CALLER();
    return op_new(n, 0, true);
}
NEW(_ZnamRKSt9nothrow_t, size_t n, const void *nt)
{
    NOTE_CALLER();
    return op_new(n, 0, true);
}
NEW(_ZnwmSt11align_val_t, size_t n, size_t al)
{
    NOTE_CALLER();
    return op_new(n, al, false);
}
NEW(_ZnamSt11align_val_t, size_t n, size_t al)
{
    NOTE_CALLER();
    return op_new(n, al, false);
}
NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, size_t n, size_t al, const void *nt)
{
    NOTE_CALLER();
    return op_new(n, al, true);
}
NEW(_ZnamSt11align_val_tRKSt9nothrow_t, size_t n, size_t al, const void *nt)
{
    NOTE_CALLER();
    return op_new(n, al, true);
}

DELETE(_ZdlPv, void *p)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPv, void *p)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdlPvm, void *p, size_t n)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPvm, void *p, size_t n)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdlPvRKSt9nothrow_t, void *p, const void *nt)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPvRKSt9nothrow_t, void *p, const void *nt)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdlPvSt11align_val_t, void *p, size_t al)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPvSt11align_val_t, void *p, size_t al)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdlPvmSt11align_val_t, void *p, size_t n, size_t al)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPvmSt11align_val_t, void *p, size_t n, size_t al)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const void *nt)
{
    NOTE_CALLER();
    do_free(p, false);
}
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const void *nt)
{
    NOTE_CALLER();
    do_free(p, false);
}

/* Initialise when the library is loaded, not only at the first malloc: a bad
 * ZONETRACE_* value then stops even a program that never allocates, with
 * its one-line message and status 2, before the program runs. */
__attribute__((constructor)) static void init_at_load(void)
{
    (void)zt_registry_ready();
}
