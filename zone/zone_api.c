/* ----------------------------------------------------------------------------
 * zone_api.c — libmalloc's public zone API (malloc.c): malloc_zone_* calls
 * through a zone, zone creation, names, queries and statistics over the
 * registry, malloc_logger, and libmalloc's free() and realloc() that the
 * front ends use on their slow paths.
 *
 * Invariants (reference/libmalloc.md §5):
 * - Every call made before zt_init completes (or re-entrantly while it runs)
 *   is served from the bootstrap arena, whose blocks free() ignores.
 * - malloc_logger: allocations are logged after the zone call even when
 *   they fail, frees before; realloc packs (old, new_size, new).
 * - malloc_zone_from_ptr, free and realloc name the virtual default zone
 *   for the default zone's pointers (zt_registry_public_zone).
 * -------------------------------------------------------------------------- */
#include "registry.h"
#include "error.h"
#include "hooks.h"
#include "szone.h"

#include <errno.h>
#include <string.h>

#if defined(__APPLE__)
#ifndef MALLOC_LOG_TYPE_ALLOCATE
#define MALLOC_LOG_TYPE_ALLOCATE   2
#define MALLOC_LOG_TYPE_DEALLOCATE 4
#define MALLOC_LOG_TYPE_HAS_ZONE   8
#define MALLOC_LOG_TYPE_CLEARED    64
#endif
typedef void(malloc_logger_t)(uint32_t type, uintptr_t arg1, uintptr_t arg2, uintptr_t arg3,
                              uintptr_t result, uint32_t num_hot_frames_to_skip);
static malloc_logger_t *malloc_logger; /* libmalloc's is the one that logs (registry.h) */
#else
ZT_API malloc_logger_t *malloc_logger;
#endif

static inline size_t absolute_max_bytes(void)
{
    return SIZE_MAX - 2 * zt_profile_page_bytes(&zt_active_profile);
}

/* ---- zone creation and destruction ---------------------------------------- */

ZT_API malloc_zone_t *malloc_create_zone(vm_size_t start_size, unsigned flags)
{
    if (!zt_registry_ready()) return NULL;
    malloc_zone_t *z = zt_szone_create(NULL);
    if (!z) return NULL;
    zt_hook_zone_created(z);
    malloc_zone_register(z);
    return z;
}

ZT_API void malloc_destroy_zone(malloc_zone_t *zone)
{
    if (!zone || zone == zt_registry_virtual_zone()) return;
    malloc_set_zone_name(zone, NULL);
    malloc_zone_unregister(zone);
    zone->destroy(zone);
}

/* ---- zone names ------------------------------------------------------------ */

/* The zone's page(s) are read-only except while the name changes, as in
 * libmalloc; the new name is allocated from the zone itself and the old one
 * freed only if some zone owns it (it may be a constant string). */
ZT_API void malloc_set_zone_name(malloc_zone_t *zone, const char *name)
{
    if (!zone || !zt_registry_ready()) return;
    size_t page = zt_prim_page_bytes();
    uintptr_t lo = (uintptr_t)zone & ~(page - 1);
    uintptr_t hi = ((uintptr_t)zone + sizeof *zone + page - 1) & ~(page - 1);
    zt_prim_protect((void *)lo, hi - lo, ZT_PROT_READ | ZT_PROT_WRITE);
    const char *old = zone->zone_name;
    if (old) {
        zone->zone_name = NULL;
        if (zt_registry_find(old, NULL)) zt_registry_free((void *)old);
    }
    if (name) {
        size_t n = strlen(name) + 1;
        char *copy = malloc_zone_malloc(zone, n);
        if (copy) memcpy(copy, name, n);
        zone->zone_name = copy;
    }
    zt_prim_protect((void *)lo, hi - lo, ZT_PROT_READ);
}

ZT_API const char *malloc_get_zone_name(malloc_zone_t *zone)
{
    return zone ? zone->zone_name : NULL;
}

/* ---- allocation through a zone -------------------------------------------- */

#define LOG_ALLOC (MALLOC_LOG_TYPE_ALLOCATE | MALLOC_LOG_TYPE_HAS_ZONE)
#define LOG_FREE  (MALLOC_LOG_TYPE_DEALLOCATE | MALLOC_LOG_TYPE_HAS_ZONE)

ZT_API void *malloc_zone_malloc(malloc_zone_t *zone, size_t size)
{
    if (!zt_registry_ready()) return zt_bootstrap_malloc(size, 16);
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    ZT_HOOK_NOTE_REQUEST(size);
    void *p = zone->malloc(zone, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

/* libmalloc-166.220.1 src/malloc.c:1466-1484: no overflow check here. The zone's calloc
 * sees num_items and size as given (a scalable zone's calloc_get_size fails and returns
 * NULL), and the logger is told num_items * size, wrapped, with the result. */
ZT_API void *malloc_zone_calloc(malloc_zone_t *zone, size_t num_items, size_t size)
{
    if (!zt_registry_ready()) {
        size_t total;
        if (__builtin_mul_overflow(num_items, size, &total)) return NULL;
        return zt_bootstrap_malloc(total, 16); /* .bss: already zero */
    }
    size_t total;
    ZT_HOOK_NOTE_REQUEST(__builtin_mul_overflow(num_items, size, &total) ? 0 : total);
    void *p = zone->calloc(zone, num_items, size);
    malloc_logger_t *log = malloc_logger;
    if (log)
        log(LOG_ALLOC | MALLOC_LOG_TYPE_CLEARED, (uintptr_t)zone, (uintptr_t)(num_items * size), 0,
            (uintptr_t)p, 0);
    return p;
}

ZT_API void *malloc_zone_valloc(malloc_zone_t *zone, size_t size)
{
    if (!zt_registry_ready()) return zt_bootstrap_malloc(size, zt_prim_page_bytes());
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    ZT_HOOK_NOTE_REQUEST(size);
    void *p = zone->valloc(zone, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

ZT_API void *malloc_zone_memalign(malloc_zone_t *zone, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (!zt_registry_ready()) return zt_bootstrap_malloc(size, alignment);
    if (zone->version < 5 || !zone->memalign) return NULL;
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    ZT_HOOK_NOTE_REQUEST(size);
    void *p = zone->memalign(zone, alignment, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

ZT_API void *malloc_zone_realloc(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!zt_registry_ready() || zt_bootstrap_contains(ptr)) {
        void *n =
            zt_registry_ready() ? malloc_zone_malloc(zone, size) : zt_bootstrap_malloc(size, 16);
        if (n && ptr) {
            size_t b = zt_bootstrap_size(ptr);
            memcpy(n, ptr, b < size ? b : size);
        }
        return n;
    }
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    int outer = zt_error_zone_call; /* errors found by the zone take its words */
    zt_error_zone_call = 1;
    ZT_HOOK_NOTE_REQUEST(size);
    void *p = zone->realloc(zone, ptr, size);
    zt_error_zone_call = outer;
    malloc_logger_t *log = malloc_logger;
    if (log)
        log(LOG_ALLOC | MALLOC_LOG_TYPE_DEALLOCATE, (uintptr_t)zone, (uintptr_t)ptr, size,
            (uintptr_t)p, 0);
    return p;
}

ZT_API void malloc_zone_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr || zt_bootstrap_contains(ptr)) return;
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_FREE, (uintptr_t)zone, (uintptr_t)ptr, 0, 0, 0);
    int outer = zt_error_zone_call; /* errors found by the zone take its words */
    zt_error_zone_call = 1;
    zone->free(zone, ptr);
    zt_error_zone_call = outer;
}

static void zone_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_FREE, (uintptr_t)zone, (uintptr_t)ptr, 0, 0, 0);
    if (zone->version >= 6 && zone->free_definite_size)
        zone->free_definite_size(zone, ptr, size);
    else
        zone->free(zone, ptr);
}

ZT_API unsigned malloc_zone_batch_malloc(malloc_zone_t *zone, size_t size, void **results,
                                         unsigned num_requested)
{
    if (!zt_registry_ready() || !zone->batch_malloc) return 0;
    unsigned n = zone->batch_malloc(zone, size, results, num_requested);
    malloc_logger_t *log = malloc_logger;
    if (log)
        for (unsigned i = 0; i < n; i++)
            log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)results[i], 0);
    return n;
}

ZT_API void malloc_zone_batch_free(malloc_zone_t *zone, void **to_be_freed, unsigned num)
{
    malloc_logger_t *log = malloc_logger;
    if (log)
        for (unsigned i = 0; i < num; i++)
            log(LOG_FREE, (uintptr_t)zone, (uintptr_t)to_be_freed[i], 0, 0, 0);
    if (zone->batch_free) {
        zone->batch_free(zone, to_be_freed, num);
    } else {
        for (unsigned i = 0; i < num; i++)
            if (to_be_freed[i]) zone->free(zone, to_be_freed[i]);
    }
}

/* ---- libmalloc's free() and realloc() -------------------------------------- */

void zt_registry_free(void *ptr)
{
    if (!ptr || zt_bootstrap_contains(ptr) || !zt_registry_ready()) return;
    size_t size;
    malloc_zone_t *z = zt_registry_find(ptr, &size);
    if (!z) {
        zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
        return;
    }
    zone_free_definite_size(zt_registry_public_zone(z), ptr, size);
}

void *zt_registry_realloc(void *in_ptr, size_t size)
{
    (void)zt_registry_ready(); /* options (on_error) must be loaded before any report */
    malloc_zone_t *vz = zt_registry_virtual_zone();
    void *old = size == 0 ? NULL : in_ptr;
    void *r;
    if (!old) {
        r = malloc_zone_malloc(vz, size);
    } else if (zt_bootstrap_contains(old)) {
        r = malloc_zone_realloc(vz, old, size);
    } else {
        malloc_zone_t *z = zt_registry_find(old, NULL);
        if (!z) {
            zt_error_bad_free(ZT_BAD_REALLOC_NOT_ALLOCATED, old, zt_error_caller);
            r = NULL;
        } else {
            /* Without a logger the real owner is called directly: the
             * virtual zone and nano would only forward to it. */
            r = malloc_zone_realloc(malloc_logger ? zt_registry_public_zone(z) : z, old, size);
        }
    }
    if (!r)
        errno = ENOMEM;
    else if (in_ptr && size == 0)
        zt_registry_free(in_ptr);
    return r;
}

/* ---- queries ------------------------------------------------------------- */

/* The first registered zone whose size() claims ptr (libmalloc-166.220.1 src/malloc.c:1563-1570
 * → find_registered_zone :479-540), named as the virtual default zone while zone 0 is the
 * initial default zone (166 :468-475, 512-519). After a takeover (zone/promote.c) zone 0's own
 * blocks are therefore its own, as in 166; libmalloc-792.41.1 (:1177-1180, 1223-1227) keeps
 * naming the virtual zone unless a zone was registered with make_default and displaced —
 * a deliberate divergence: zonetrace models 166's rule here (tests/api/test_promote.c). */
ZT_API malloc_zone_t *malloc_zone_from_ptr(const void *ptr)
{
    if (!ptr || !zt_registry_ready()) return NULL;
    return zt_registry_public_zone(zt_registry_find(ptr, NULL));
}

ZT_API size_t malloc_size(const void *ptr)
{
    if (!ptr) return 0;
    if (zt_bootstrap_contains(ptr)) return zt_bootstrap_size(ptr);
    if (!zt_registry_ready()) return 0;
    size_t s;
    zt_registry_find(ptr, &s);
    return s;
}

ZT_API size_t malloc_good_size(size_t size)
{
    malloc_zone_t *vz = zt_registry_virtual_zone();
    return vz->introspect->good_size(vz, size);
}

/* ---- checks and statistics over one zone or all ---------------------------- */

/* Run the body with z_ = the zone, or every registered zone when zone is NULL. */
#define FOR_ZONES(zone, ...)                                                                       \
    do {                                                                                           \
        if (zone) {                                                                                \
            malloc_zone_t *z_ = zone;                                                              \
            __VA_ARGS__;                                                                           \
        } else {                                                                                   \
            malloc_zone_t *all_[ZT_MAX_ZONES];                                                     \
            unsigned n_ = zt_registry_zones(all_, ZT_MAX_ZONES);                                   \
            for (unsigned i_ = 0; i_ < n_; i_++) {                                                 \
                malloc_zone_t *z_ = all_[i_];                                                      \
                __VA_ARGS__;                                                                       \
            }                                                                                      \
        }                                                                                          \
    } while (0)

ZT_API boolean_t malloc_zone_check(malloc_zone_t *zone)
{
    if (!zt_registry_ready()) return 1;
    boolean_t ok = 1;
    FOR_ZONES(zone, ok &= z_->introspect->check(z_) ? 1 : 0);
    return ok;
}

ZT_API void malloc_zone_print(malloc_zone_t *zone, boolean_t verbose)
{
    if (!zt_registry_ready()) return;
    FOR_ZONES(zone, z_->introspect->print(z_, verbose));
}

ZT_API void malloc_zone_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!zt_registry_ready()) return;
    if (zone) {
        zone->introspect->statistics(zone, stats);
        return;
    }
    FOR_ZONES(zone, {
        malloc_statistics_t s = {0, 0, 0, 0};
        z_->introspect->statistics(z_, &s);
        stats->blocks_in_use += s.blocks_in_use;
        stats->size_in_use += s.size_in_use;
        stats->max_size_in_use += s.max_size_in_use;
        stats->size_allocated += s.size_allocated;
    });
}

ZT_API size_t malloc_zone_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    if (!zt_registry_ready()) return 0;
    size_t total = 0;
    if (zone)
        return zone->version >= 8 && zone->pressure_relief ? zone->pressure_relief(zone, goal) : 0;
    malloc_zone_t *all[ZT_MAX_ZONES];
    unsigned n = zt_registry_zones(all, ZT_MAX_ZONES);
    for (unsigned i = 0; i < n; i++) {
        malloc_zone_t *z = all[i];
        if (z->version >= 8 && z->pressure_relief)
            total += z->pressure_relief(z, goal && goal > total ? goal - total : 0);
        if (goal && total >= goal) break;
    }
    return total;
}
