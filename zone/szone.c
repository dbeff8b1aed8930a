/* ----------------------------------------------------------------------------
 * szone.c — the scalable zone (libmalloc's szone): a malloc_zone_t over a
 * tiny rack, a small rack, a medium rack (profiles with medium) and a large
 * table, dispatching each request by its class (zone/sizeclass.h).
 *
 * Layout of one zone's mapping: the malloc_zone_t alone on the first
 * max(16 KiB, host page) bytes — malloc_set_zone_name write-protects that
 * page, as libmalloc does — then the mutable state. The introspection table
 * is shared by every scalable zone (static, never written).
 *
 * Ownership: a pointer in a chunk whose owner is one of our racks is ours;
 * anything else is ours only if the large table knows it. size() returns 0
 * for everything else without touching the pointer. Requests this zone
 * receives for pointers it does not own (malloc_zone_free on the default
 * zone with another zone's block) are forwarded to the owner found by the
 * registry, as jemalloc's zone does through libc free().
 * -------------------------------------------------------------------------- */
#include "szone.h"
#include "chunkmap.h"
#include "cpu.h"
#include "error.h"
#include "hooks.h"
#include "introspect.h"
#include "large.h"
#include "rack.h"
#include "registry.h"
#include "va.h"

#include <errno.h>
#include <string.h>

#define SZONE_MAGIC      0x7a6e6f7au /* "zonz" */
#define SZONE_VERSION    ZT_MALLOC_ZONE_VERSION
#define SZONE_NAME_BYTES 64
#define RACKS            3 /* tiny, small, medium: index kind - ZT_KIND_TINY */

typedef struct szone_state {
    uint32_t magic;
    zt_rack_t *racks[RACKS]; /* medium is NULL on profiles without medium */
    zt_large_t *large;
    size_t map_bytes; /* whole mapping: zone page(s) + state */
    char name[SZONE_NAME_BYTES];
} szone_state_t;

static malloc_introspection_t szone_introspect;

void (*zt_szone_foreign_free)(void *ptr);
void *(*zt_szone_foreign_realloc)(void *ptr, size_t bytes);
static malloc_zone_t *fork_va_zone;

void zt_szone_set_fork_va(malloc_zone_t *zone)
{
    fork_va_zone = zone;
}

/* The zone area is a multiple of the host page and at least PAGE_MAX_SIZE
 * (16 KiB) so that write-protecting it never covers state. */
static size_t zone_area_slow(void)
{
    size_t page = zt_prim_page_bytes();
    return page > (16u << 10) ? page : (16u << 10);
}

/* Cached: state_of runs on every allocation, and zt_prim_page_bytes is a
 * call into another unit. Racing first callers store the same value. */
static size_t zone_area_cache;

static inline size_t zone_area_bytes(void)
{
    size_t a = __atomic_load_n(&zone_area_cache, __ATOMIC_RELAXED);
    if (zt_likely(a != 0)) return a;
    a = zone_area_slow();
    __atomic_store_n(&zone_area_cache, a, __ATOMIC_RELAXED);
    return a;
}

static inline szone_state_t *state_of(const malloc_zone_t *zone)
{
    return (szone_state_t *)((char *)zone + zone_area_bytes());
}

/* libmalloc's MALLOC_ABSOLUTE_MAX_SIZE: SIZE_MAX - 2 pages. */
static inline size_t absolute_max_bytes(void)
{
    return SIZE_MAX - 2 * zt_profile_page_bytes(&zt_active_profile);
}

/* Largest request a rack (not large) serves on this profile. */
static inline size_t rack_limit_bytes(void)
{
    const zt_profile_t *p = &zt_active_profile;
    return p->medium ? ZT_MEDIUM_MAX_BYTES : p->small_limit_bytes;
}

/* A non-absurd request failed: tell the profiler, and set errno last (the
 * hook may make system calls). */
static void null_returned(malloc_zone_t *zone, size_t bytes, unsigned cls)
{
    zt_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ZT_EV_NULL_RETURNED;
    ev.cls = cls;
    ev.kind = (int32_t)zt_class_kind(cls);
    ev.zone = zone;
    ev.size = bytes;
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    ev.va_used = vs.used_bytes;
    ev.va_limit = vs.limit_bytes;
    zt_hook_event(&ev);
    errno = ENOMEM;
}

/* Rack owning ptr if it lies in one of this zone's regions, else NULL. */
static inline zt_rack_t *own_rack(const malloc_zone_t *zone, const void *ptr)
{
    zt_owner_t *o = zt_chunkmap_get(ptr);
    if (o && o->zone == zone && o->kind != ZT_KIND_NANO) return (zt_rack_t *)o;
    return NULL;
}

/* ---- allocation ---------------------------------------------------------- */

static inline __attribute__((always_inline)) void *alloc_class(malloc_zone_t *zone, size_t bytes,
                                                               bool clear)
{
    szone_state_t *st = state_of(zone);
    unsigned cls;
    void *p;
    if (zt_likely(bytes <= ZT_TINY_MAX_BYTES)) {
        /* zt_class_scalable's and zt_class_kind's answer for a tiny size,
         * without their two calls: the tiny rack, racks[0]. */
        cls = zt_class_tiny(bytes);
        p = zt_rack_malloc(st->racks[0], cls, clear);
    } else if (zt_likely((cls = zt_class_scalable(&zt_active_profile, bytes)) != ZT_CLASS_LARGE)) {
        p = zt_rack_malloc(st->racks[zt_class_kind(cls) - ZT_KIND_TINY], cls, clear);
    } else {
        if (bytes > absolute_max_bytes()) {
            errno = ENOMEM;
            return NULL;
        }
        p = zt_large_malloc(st->large, bytes, 0, clear);
    }
    if (zt_unlikely(p == NULL)) null_returned(zone, bytes, cls);
    return p;
}

void *zt_szone_malloc(malloc_zone_t *zone, size_t bytes)
{
    return alloc_class(zone, bytes, false);
}

void *zt_szone_calloc(malloc_zone_t *zone, size_t n, size_t bytes)
{
    size_t total;
    if (__builtin_mul_overflow(n, bytes, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_class(zone, total, true);
}

/* libmalloc's szone_memalign ladder (libmalloc-166.220.1 src/magazine_malloc.c:464-510;
 * libmalloc-792.41.1 src/magazine_malloc.c:616-690 for medium). A rack serves the request
 * when the span, bytes + align - 1 counted in bytes, fits it; a request of a size that a
 * smaller kind would serve is bumped to the next kind's first size so that kinds stay
 * disjoint by block size (realloc and size() rely on it): a tiny size to 1008 + 16 =
 * 1024 B before small, a small size to small limit + 512 B before medium. */
void *zt_szone_memalign(malloc_zone_t *zone, size_t align_bytes, size_t bytes)
{
    szone_state_t *st = state_of(zone);
    const zt_profile_t *p = &zt_active_profile;
    size_t page = zt_profile_page_bytes(p);

    if (bytes == 0) bytes = 1; /* 166 magazine_malloc.c:466-468 */
    if (align_bytes & (align_bytes - 1) || bytes + align_bytes < bytes ||
        bytes > absolute_max_bytes()) {
        errno = bytes + align_bytes < bytes || bytes > absolute_max_bytes() ? ENOMEM : EINVAL;
        return NULL;
    }
    size_t span = bytes + align_bytes - 1;
    void *r;
    unsigned cls;
    if (align_bytes <= ZT_TINY_QUANTUM_BYTES)
        return zt_szone_malloc(zone, bytes); /* every block is 16-byte aligned */
    if (span <= ZT_TINY_MAX_BYTES) {
        cls = zt_class_scalable(p, span);
        r = zt_rack_malloc_aligned(st->racks[0], bytes, align_bytes, false);
        goto done;
    }
    if (bytes > ZT_TINY_MAX_BYTES && align_bytes <= ZT_SMALL_QUANTUM_BYTES)
        return zt_szone_malloc(zone, bytes);
    if (bytes <= ZT_TINY_MAX_BYTES) { /* 166 magazine_malloc.c:486-490 */
        bytes = ZT_TINY_MAX_BYTES + ZT_TINY_QUANTUM_BYTES;
        span = bytes + align_bytes - 1;
    }
    if (span <= p->small_limit_bytes) {
        cls = zt_class_scalable(p, span);
        r = zt_rack_malloc_aligned(st->racks[1], bytes, align_bytes, false);
        goto done;
    }
    if (p->medium) { /* 792 magazine_malloc.c:652-660: no "trivially satisfied" shortcut */
        if (bytes <= p->small_limit_bytes) {
            bytes = p->small_limit_bytes + ZT_SMALL_QUANTUM_BYTES;
            span = bytes + align_bytes - 1;
        }
        if (span <= ZT_MEDIUM_MAX_BYTES) {
            cls = zt_class_scalable(p, span);
            r = zt_rack_malloc_aligned(st->racks[2], bytes, align_bytes, false);
            goto done;
        }
    }
    if (bytes > rack_limit_bytes() && align_bytes <= page) return zt_szone_malloc(zone, bytes);
    /* Large, and never of a size a rack could serve (166 magazine_malloc.c:497-504). */
    size_t limit = rack_limit_bytes();
    cls = ZT_CLASS_LARGE;
    r = zt_large_malloc(st->large, bytes > limit ? bytes : limit + 1, align_bytes, false);
done:
    if (!r) null_returned(zone, bytes, cls);
    return r;
}

static void *szone_valloc(malloc_zone_t *zone, size_t bytes)
{
    return zt_szone_memalign(zone, zt_profile_page_bytes(&zt_active_profile), bytes);
}

/* libmalloc-166.220.1 src/magazine_malloc.c:516-523: "only bother implementing this for
 * tiny"; a larger size gets 0 blocks and the caller mallocs them one by one. */
static unsigned szone_batch_malloc(malloc_zone_t *zone, size_t bytes, void **results,
                                   unsigned num_requested)
{
    if (bytes > ZT_TINY_MAX_BYTES) return 0;
    return zt_rack_batch_malloc(state_of(zone)->racks[0], bytes, results, num_requested);
}

/* ---- size, free, realloc -------------------------------------------------- */

size_t zt_szone_size(malloc_zone_t *zone, const void *ptr)
{
    zt_owner_t *o = zt_chunkmap_get(ptr);
    if (o) /* a region chunk: ours only if the rack is ours; never a large block */
        return o->zone == zone && o->kind != ZT_KIND_NANO ? zt_rack_size((zt_rack_t *)o, ptr) : 0;
    if (ptr == NULL || ((uintptr_t)ptr & (zt_prim_page_bytes() - 1)))
        return 0; /* large blocks start on a page */
    return zt_large_size(state_of(zone)->large, ptr);
}

/* ptr is not a live block of this zone: hand it to its owner, or report. */
static void free_foreign(malloc_zone_t *zone, void *ptr)
{
    if (zt_bootstrap_contains(ptr)) return;
    if (!own_rack(zone, ptr)) {
        size_t bytes;
        malloc_zone_t *owner = zt_registry_find(ptr, &bytes);
        if (owner && owner != zone) {
            owner->free(owner, ptr);
            return;
        }
        if (!owner && !zt_chunkmap_get(ptr) && zt_szone_foreign_free) {
            zt_szone_foreign_free(ptr);
            return;
        }
    }
    zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
}

void zt_szone_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr) return;
    zt_rack_t *r = own_rack(zone, ptr);
    if (zt_likely(r != NULL)) {
        zt_rack_free(r, ptr); /* reports double and invalid frees itself */
        return;
    }
    szone_state_t *st = state_of(zone);
    if (zt_large_free(st->large, ptr)) return;
    if (zt_large_on_death_row(st->large, ptr)) { /* 792 magazine_large.c:524 */
        zt_error_bad_free_kind(ZT_BAD_FREED_TWICE, ZT_KIND_LARGE, ptr, zt_error_caller);
        return;
    }
    free_foreign(zone, ptr);
}

static void szone_free_definite_size(malloc_zone_t *zone, void *ptr, size_t bytes)
{
    zt_szone_free(zone, ptr);
}

static void szone_batch_free(malloc_zone_t *zone, void **to_be_freed, unsigned num)
{
    for (unsigned i = 0; i < num; i++)
        zt_szone_free(zone, to_be_freed[i]);
}

/* Resize a block of this zone in place, given its kind: shrink (free the tail) or grow.
 * True if ptr now holds new_good bytes. */
static bool resize_in_place(szone_state_t *st, zt_rack_t *rack, void *ptr, size_t new_good)
{
    if (rack) return zt_rack_realloc_in_place(rack, ptr, new_good);
    return zt_large_realloc_in_place(st->large, ptr, new_good);
}

/* libmalloc's szone_realloc (libmalloc-166.220.1 src/magazine_malloc.c:325-436;
 * libmalloc-792.41.1 src/magazine_malloc.c:449-560 adds medium). One ladder on the
 * request's good size against the block's size:
 * - same kind: shrink to half or less trims in place, shrink to more than half keeps the
 *   block whole, growth tries in place;
 * - otherwise (or when growth in place failed): any shrink to more than half still keeps
 *   the block whole, even when the new size belongs to a smaller kind; the rest moves.
 * Kinds are disjoint by block size in libmalloc (memalign bumps), so the block's kind here
 * is the one libmalloc derives from old_size. */
static void *szone_realloc(malloc_zone_t *zone, void *ptr, size_t bytes)
{
    if (!ptr) return zt_szone_malloc(zone, bytes);
    szone_state_t *st = state_of(zone);
    zt_rack_t *rack = own_rack(zone, ptr);
    enum zt_kind old_kind;
    size_t old_bytes;
    if (rack) {
        old_kind = (enum zt_kind)((zt_owner_t *)rack)->kind;
        old_bytes = zt_rack_size(rack, ptr);
    } else {
        old_kind = ZT_KIND_LARGE;
        old_bytes = zt_large_size(st->large, ptr);
    }
    if (old_bytes == 0) {
        size_t owner_bytes;
        malloc_zone_t *owner = rack ? NULL : zt_registry_find(ptr, &owner_bytes);
        if (owner && owner != zone) return owner->realloc(owner, ptr, bytes);
        if (!rack && !owner && !zt_chunkmap_get(ptr) && zt_szone_foreign_realloc &&
            !zt_bootstrap_contains(ptr))
            return zt_szone_foreign_realloc(ptr, bytes);
        if (zt_bootstrap_contains(ptr)) {
            void *n = zt_szone_malloc(zone, bytes);
            if (n) {
                size_t b = zt_bootstrap_size(ptr);
                memcpy(n, ptr, b < bytes ? b : bytes);
            }
            return n;
        }
        zt_error_bad_free(ZT_BAD_REALLOC_NOT_ALLOCATED, ptr, zt_error_caller);
        return NULL;
    }
    if (bytes == 0) {
        /* 166 magazine_malloc.c:339-344: free, then "a unique pointer that can be passed to
         * free()": szone_malloc(1). (The public realloc(p, 0) never gets here: malloc.c
         * allocates a minimal block first and frees p after, 166 malloc.c:1776-1797.) */
        zt_szone_free(zone, ptr);
        return zt_szone_malloc(zone, 1);
    }
    if (bytes > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    size_t new_good = zt_class_good_size(&zt_active_profile, bytes, false);
    if (new_good == old_bytes) return ptr; /* 166 :352-355 */
    enum zt_kind new_kind = zt_class_kind(zt_class_scalable(&zt_active_profile, bytes));
    if (new_kind == old_kind) { /* 166 :361-424 */
        if (new_good <= old_bytes / 2) {
            /* tiny/small/large_try_shrink_in_place always succeed in libmalloc; ours can
             * only fail for a block that is not live, which size() excluded. */
            if (resize_in_place(st, rack, ptr, new_good)) return ptr;
        } else if (new_good <= old_bytes) {
            return ptr;
        } else if (resize_in_place(st, rack, ptr, new_good)) {
            return ptr;
        }
    }
    /* 166 :426-436: no in-place path; keep the block on a shrink to more than half. */
    if (new_good > old_bytes / 2 && new_good <= old_bytes) return ptr;
    void *n = zt_szone_malloc(zone, bytes);
    if (!n) return NULL; /* the old block stays valid */
    memcpy(n, ptr, old_bytes < bytes ? old_bytes : bytes);
    zt_szone_free(zone, ptr);
    return n;
}

/* libmalloc-166.220.1 src/magazine_malloc.c:999-1190: the relief madvises (and on macOS
 * drops death row) but returns 0: the `size_t total` declared at :1002 is shadowed by the
 * one at :1183 that counts the death-row bytes (792 magazine_malloc.c:1469 vs :1506), so
 * the caller always sees 0. We relieve the same way and return 0 too; what was released
 * shows in the footprint (and in zt_szone_relieve's count, for our own callers). */
static size_t szone_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    (void)zt_szone_relieve(zone, goal);
    return 0;
}

size_t zt_szone_relieve(malloc_zone_t *zone, size_t goal)
{
    szone_state_t *st = state_of(zone);
    size_t total = 0;
    for (int i = 0; i < RACKS; i++) {
        if (!st->racks[i]) continue;
        total += zt_rack_pressure_relief(st->racks[i], goal && goal > total ? goal - total : 0);
        if (goal && total >= goal) return total;
    }
    /* Death row last: dropping it costs future maps and faults. */
    total += zt_large_pressure_relief(st->large, goal && goal > total ? goal - total : 0);
    return total;
}

struct claim_ctx {
    uintptr_t addr;
    bool found;
};

static void claim_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    struct claim_ctx *c = ctx;
    if (c->addr >= addr && c->addr - addr < bytes) c->found = true;
}

/* False positives are allowed, false negatives are not: any address inside
 * one of our regions is claimed; inside a large block needs a table walk. */
static boolean_t szone_claimed_address(malloc_zone_t *zone, void *ptr)
{
    if (own_rack(zone, ptr)) return 1;
    if (zt_chunkmap_get(ptr)) return 0;
    struct claim_ctx c = {(uintptr_t)ptr, false};
    zt_walker_t w = {NULL, claim_block, NULL, &c};
    zt_large_walk(state_of(zone)->large, &w);
    return c.found;
}

static void szone_destroy(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i]) zt_rack_destroy(st->racks[i]);
    zt_large_destroy(st->large);
    st->magic = 0;
    zt_prim_unmap(zone, st->map_bytes);
}

static size_t szone_size_vt(malloc_zone_t *zone, const void *ptr)
{
    return zt_szone_size(zone, ptr);
}

/* ---- walks and introspection -------------------------------------------- */

void zt_szone_walk(malloc_zone_t *zone, const zt_walker_t *w)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i]) zt_rack_walk(st->racks[i], w);
    zt_large_walk(st->large, w);
}

/* The enumerator's recorder is user code and may call malloc, while walker
 * callbacks run under rack locks: ranges are collected into a private
 * mapping first and delivered after the walk, in batches of <= 256 per
 * type as libmalloc does. */
typedef struct range_entry {
    unsigned type;
    vm_range_t range;
} range_entry_t;

typedef struct range_buf {
    range_entry_t *e;
    size_t n, cap;
    unsigned mask;
    bool failed;
} range_buf_t;

static void rb_push(range_buf_t *b, unsigned type, uintptr_t addr, size_t bytes)
{
    if (!(b->mask & type) || b->failed) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        range_entry_t *e = zt_prim_map(cap * sizeof *e);
        if (!e) {
            b->failed = true;
            return;
        }
        if (b->e) {
            memcpy(e, b->e, b->n * sizeof *e);
            zt_prim_unmap(b->e, b->cap * sizeof *e);
        }
        b->e = e;
        b->cap = cap;
    }
    b->e[b->n++] = (range_entry_t){type, {addr, bytes}};
}

static void rb_region(void *ctx, malloc_zone_t *zone, enum zt_kind kind, uintptr_t base,
                      size_t bytes, size_t used_bytes)
{
    rb_push(ctx, MALLOC_PTR_REGION_RANGE_TYPE, base, bytes);
}

static void rb_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    rb_push(ctx, MALLOC_PTR_IN_USE_RANGE_TYPE, addr, bytes);
}

static void rb_admin(void *ctx, uintptr_t addr, size_t bytes)
{
    rb_push(ctx, MALLOC_ADMIN_REGION_RANGE_TYPE, addr, bytes);
}

static void rb_deliver(range_buf_t *b, task_t task, void *context, vm_range_recorder_t recorder)
{
    vm_range_t batch[256];
    size_t i = 0;
    while (i < b->n) {
        unsigned type = b->e[i].type, n = 0;
        while (i < b->n && b->e[i].type == type && n < 256)
            batch[n++] = b->e[i++].range;
        recorder(task, context, type, batch, n);
    }
}

/* Heap walk of any zone into a range buffer (also used for nano zones by the
 * registry through zt_zone_walk). */
static kern_return_t szone_enumerator(task_t task, void *context, unsigned type_mask,
                                      vm_address_t zone_address, memory_reader_t reader,
                                      vm_range_recorder_t recorder)
{
    /* In-process only: the zone must be readable through the reader and be
     * one of ours; the walk itself reads our own structures directly. */
    void *local = (void *)zone_address;
    if (reader) {
        kern_return_t kr = reader(task, zone_address, sizeof(malloc_zone_t), &local);
        if (kr != KERN_SUCCESS) return kr;
    }
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (!zt_szone_is(zone) || !recorder) return KERN_FAILURE;
    range_buf_t b = {NULL, 0, 0, type_mask & 7, false};
    if (type_mask & MALLOC_ADMIN_REGION_RANGE_TYPE)
        rb_push(&b, MALLOC_ADMIN_REGION_RANGE_TYPE, zone_address, state_of(zone)->map_bytes);
    zt_walker_t w = {rb_region, rb_block, rb_admin, &b};
    zt_szone_walk(zone, &w);
    if (!b.failed) rb_deliver(&b, task, context, recorder);
    if (b.e) zt_prim_unmap(b.e, b.cap * sizeof *b.e);
    return b.failed ? KERN_FAILURE : KERN_SUCCESS;
}

static size_t szone_good_size(malloc_zone_t *zone, size_t bytes)
{
    return zt_class_good_size(&zt_active_profile, bytes, false);
}

static boolean_t szone_check(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i] && !zt_rack_check(st->racks[i])) return 0;
    return 1;
}

static void szone_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    szone_state_t *st = state_of(zone);
    malloc_statistics_t sum = {0, 0, 0, 0};
    for (int i = 0; i <= RACKS; i++) {
        malloc_statistics_t s = {0, 0, 0, 0};
        if (i < RACKS && !st->racks[i]) continue;
        if (i < RACKS)
            zt_rack_statistics(st->racks[i], &s);
        else
            zt_large_statistics(st->large, &s);
        sum.blocks_in_use += s.blocks_in_use;
        sum.size_in_use += s.size_in_use;
        sum.max_size_in_use += s.max_size_in_use;
        sum.size_allocated += s.size_allocated;
    }
    *stats = sum;
}

static void szone_print(malloc_zone_t *zone, boolean_t verbose)
{
    szone_state_t *st = state_of(zone);
    malloc_statistics_t s;
    szone_statistics(zone, &s);
    zt_prim_message("scalable zone %p \"%s\": %u blocks, %zu bytes in use, %zu bytes allocated",
                    (void *)zone, zone->zone_name ? zone->zone_name : "", s.blocks_in_use,
                    s.size_in_use, s.size_allocated);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i]) zt_rack_print(st->racks[i], verbose);
}

static void szone_force_lock(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i]) zt_rack_force_lock(st->racks[i]);
    zt_large_force_lock(st->large);
    if (zone == fork_va_zone) zt_va_lock();
}

static void szone_force_unlock(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    if (zone == fork_va_zone) zt_va_unlock();
    zt_large_force_unlock(st->large);
    for (int i = RACKS - 1; i >= 0; i--)
        if (st->racks[i]) zt_rack_force_unlock(st->racks[i]);
}

static void szone_reinit_lock(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i]) zt_rack_reinit_lock(st->racks[i]);
    zt_large_reinit_lock(st->large);
    if (zone == fork_va_zone) zt_va_reinit_lock();
}

static boolean_t szone_locked(malloc_zone_t *zone)
{
    szone_state_t *st = state_of(zone);
    for (int i = 0; i < RACKS; i++)
        if (st->racks[i] && zt_rack_locked(st->racks[i])) return 1;
    return 0;
}

static void szone_print_task(task_t task, unsigned level, vm_address_t zone_address,
                             memory_reader_t reader, print_task_printer_t printer)
{
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (!zt_szone_is(zone) || !printer) return;
    malloc_statistics_t s;
    szone_statistics(zone, &s);
    printer("scalable zone %p: %u blocks, %zu bytes in use, %zu bytes allocated\n", (void *)zone,
            s.blocks_in_use, s.size_in_use, s.size_allocated);
}

static void szone_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                  malloc_statistics_t *stats)
{
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (zt_szone_is(zone))
        szone_statistics(zone, stats);
    else
        memset(stats, 0, sizeof *stats);
}

static malloc_introspection_t szone_introspect = {
    .enumerator = szone_enumerator,
    .good_size = szone_good_size,
    .check = szone_check,
    .print = szone_print,
    .log = zt_introspect_nop_log,
    .force_lock = szone_force_lock,
    .force_unlock = szone_force_unlock,
    .statistics = szone_statistics,
    .zone_locked = szone_locked,
    .enable_discharge_checking = zt_introspect_nop_enable_discharge_checking,
    .disable_discharge_checking = zt_introspect_nop_disable_discharge_checking,
    .discharge = zt_introspect_nop_discharge,
    .enumerate_discharged_pointers = NULL,
    .reinit_lock = szone_reinit_lock,
    .print_task = szone_print_task,
    .task_statistics = szone_task_statistics,
};

/* ---- creation ------------------------------------------------------------ */

bool zt_szone_is(const malloc_zone_t *zone)
{
    return zone && zone->size == szone_size_vt && state_of(zone)->magic == SZONE_MAGIC;
}

malloc_zone_t *zt_szone_create(const char *name)
{
    size_t page = zt_prim_page_bytes();
    size_t area = zone_area_bytes();
    size_t map_bytes = area + ((sizeof(szone_state_t) + page - 1) & ~(page - 1));
    char *base = zt_prim_map(map_bytes);
    if (!base) return NULL;
    malloc_zone_t *zone = (malloc_zone_t *)base;
    szone_state_t *st = state_of(zone);
    st->map_bytes = map_bytes;

    unsigned nmag = (unsigned)zt_options.max_magazines;
    /* The device's logical CPUs, capped at 64 (libmalloc-166.220.1
     * src/malloc.c:843-870, src/magazine_malloc.c:1366-1367; cpu.h). */
    if (nmag == 0) nmag = zt_cpu_count();
    if (nmag > 64) nmag = 64;
    st->racks[0] = zt_rack_create(zone, ZT_KIND_TINY, nmag);
    st->racks[1] = zt_rack_create(zone, ZT_KIND_SMALL, nmag);
    st->racks[2] = zt_active_profile.medium ? zt_rack_create(zone, ZT_KIND_MEDIUM, nmag) : NULL;
    st->large = zt_large_create(zone);
    if (!st->racks[0] || !st->racks[1] || (zt_active_profile.medium && !st->racks[2]) ||
        !st->large) {
        for (int i = 0; i < RACKS; i++)
            if (st->racks[i]) zt_rack_destroy(st->racks[i]);
        if (st->large) zt_large_destroy(st->large);
        zt_prim_unmap(base, map_bytes);
        return NULL;
    }
    if (name) {
        size_t n = strlen(name);
        if (n >= SZONE_NAME_BYTES) n = SZONE_NAME_BYTES - 1;
        memcpy(st->name, name, n);
        st->name[n] = 0;
    }

    zone->reserved1 = NULL;
    zone->reserved2 = NULL;
    zone->size = szone_size_vt;
    zone->malloc = zt_szone_malloc;
    zone->calloc = zt_szone_calloc;
    zone->valloc = szone_valloc;
    zone->free = zt_szone_free;
    zone->realloc = szone_realloc;
    zone->destroy = szone_destroy;
    zone->zone_name = name ? st->name : NULL;
    zone->batch_malloc = szone_batch_malloc;
    zone->batch_free = szone_batch_free;
    zone->introspect = &szone_introspect;
    zone->version = SZONE_VERSION;
    zone->memalign = zt_szone_memalign;
    zone->free_definite_size = szone_free_definite_size;
    zone->pressure_relief = szone_pressure_relief;
    zone->claimed_address = szone_claimed_address;
    /* ZT_MALLOC_ZONE_VERSION (10): the fields from try_free_default on are
     * never read by libmalloc, and may not exist in the SDK's struct */
    __atomic_store_n(&st->magic, SZONE_MAGIC, __ATOMIC_RELEASE);
    return zone;
}
