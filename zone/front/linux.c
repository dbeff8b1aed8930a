/* ----------------------------------------------------------------------------
 * front/linux.c — the malloc family for Linux (LD_PRELOAD or linked in):
 * every symbol of reference/darwin_override.md §8, routed through the zone
 * registry with libmalloc's semantics (malloc → default zone; free/realloc
 * → the pointer's owner; realloc(p, 0) → a minimal block).
 *
 * Fast paths (profiler off or sampling): a thread-cache hit of
 * nano (<= 256 B) or of the tiny rack (<= 1008 B) is inline in malloc (a few
 * predicted tests and a pop, nano.h, rack.h; sampling adds the countdown)
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

/* True when the default zone z0 (not NULL) sends a request of 1 <= n <=
 * ZT_TINY_MAX_BYTES that nano does not take to the tiny rack owning the
 * caches: z0 is that rack's scalable zone (every such n), or the nano zone
 * in front of it (n > ZT_NANO_MAX_BYTES; zt_nano_front_zone is only ever the
 * initial default zone, whose helper zt_registry_initial_helper is). */
static inline bool tiny_front_is(const malloc_zone_t *z0)
{
    malloc_zone_t *s = zt_rack_front_zone;
    return s != NULL && (z0 == s || (z0 == zt_nano_front_zone && zt_registry_initial_helper == s));
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

/* The hits, with no logger and the profiler off or sampling: 1 <= n <= 256
 * and the default zone is the nano zone owning the thread caches, whose bin
 * has a block (nano.h); or else 1 <= n <= 1008 and the
 * default zone sends it to the tiny rack owning the caches, whose bin has
 * one (rack.h). What zone->malloc would return on those paths, without its
 * calls. A sampled hit counts the block's bytes down as the zone's own
 * path does (zt_hook_wanted), after the pop, so a miss leaves the countdown
 * to the ordinary path. */
static inline void *do_malloc(size_t n, const void *caller)
{
    malloc_zone_t *z0 = zt_registry_slots[0];
    int prof = zt_profiling;
    if (zt_likely(z0 != NULL) && zt_likely(malloc_logger == NULL) && front_profiler_ok(prof)) {
        void *p = NULL;
        if (n - 1 < ZT_NANO_MAX_BYTES && zt_likely(z0 == zt_nano_front_zone)) {
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
        if (zt_likely(p != NULL)) return p;
        /* A device profile's nano zone (no zone owns the caches). */
        if (zt_nano_front_zone == NULL && z0->malloc == zt_nano_malloc_fn && n != 0)
            return malloc_device(z0, n, prof, caller);
    }
    return malloc_slow(n, caller);
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

static inline void do_free(void *p, const void *caller)
{
    if (zt_unlikely(p == NULL)) return;
    zt_owner_t *o = zt_chunkmap_get(p);
    if (zt_likely(o != NULL) && zt_likely(malloc_logger == NULL) &&
        front_profiler_ok(zt_profiling)) {
        if (o->kind == ZT_KIND_NANO) {
            if (zt_nano_front_zone != NULL) {
                if (zt_nano_free_hit(o, p)) return;
            } else {
                zt_nano_device_free(o, p, caller); /* no caches: a device profile */
                return;
            }
        } else if (o == zt_rack_front_tiny) {
            if (zt_rack_tiny_free_hit(o, p)) return;
        } else if (zt_rack_front_tiny == NULL && !ZT_KIND_IS_XZ(o->kind)) {
            zt_rack_device_free((zt_rack_t *)o, p, caller); /* no caches: a device profile */
            return;
        }
    }
    free_slow(p, o, caller);
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
    return do_malloc(n, CALLER());
}

ZT_EXPORT void free(void *p)
{
    do_free(p, CALLER());
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
    if (p == NULL) return do_malloc(n, NULL);
    return zt_registry_realloc(p, n); /* sets errno on failure */
}

ZT_EXPORT void *reallocarray(void *p, size_t count, size_t n)
{
    NOTE_CALLER();
    size_t total;
    if (__builtin_mul_overflow(count, n, &total)) return nomem();
    if (zt_unlikely(!zt_registry_ready())) return realloc(p, total);
    return p ? zt_registry_realloc(p, total) : do_malloc(total, NULL);
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
    do_free(p, NULL);
}

ZT_EXPORT void free_sized(void *p, size_t n)
{
    do_free(p, CALLER());
}

ZT_EXPORT void free_aligned_sized(void *p, size_t align, size_t n)
{
    NOTE_CALLER();
    do_free(p, NULL);
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
        void *p = align ? do_memalign(align, n) : do_malloc(n, NULL);
        if (p) return p;
    }
    if (nothrow) return NULL;
    throw_bad_alloc(n);
}

/* align 0: plain new (malloc). An aligned new of any alignment takes memalign, as
 * libc++'s operator new(size_t, align_val_t) does (posix_memalign / aligned_alloc). */
static inline void *op_new(size_t n, size_t align, bool nothrow)
{
    void *p = align ? (pow2(align) ? do_memalign(align, n) : NULL) : do_malloc(n, NULL);
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
    do_free(p, NULL);
}
DELETE(_ZdaPv, void *p)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdlPvm, void *p, size_t n)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdaPvm, void *p, size_t n)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdlPvRKSt9nothrow_t, void *p, const void *nt)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdaPvRKSt9nothrow_t, void *p, const void *nt)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdlPvSt11align_val_t, void *p, size_t al)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdaPvSt11align_val_t, void *p, size_t al)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdlPvmSt11align_val_t, void *p, size_t n, size_t al)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdaPvmSt11align_val_t, void *p, size_t n, size_t al)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const void *nt)
{
    NOTE_CALLER();
    do_free(p, NULL);
}
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, void *p, size_t al, const void *nt)
{
    NOTE_CALLER();
    do_free(p, NULL);
}

/* Initialise when the library is loaded, not only at the first malloc: a bad
 * ZONETRACE_* value then stops even a program that never allocates, with
 * its one-line message and status 2, before the program runs. */
__attribute__((constructor)) static void init_at_load(void)
{
    (void)zt_registry_ready();
}
