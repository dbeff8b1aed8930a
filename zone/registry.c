/* ----------------------------------------------------------------------------
 * registry.c — libmalloc's zone registry and public zone API (malloc.c):
 * malloc_zones[], the virtual default zone, owner lookup, malloc_logger.
 *
 * Invariants (reference/libmalloc.md §4.3, §5, §7):
 * - zones[0] is the real default zone (nano "DefaultMallocZone" fronting
 *   zone 1 "MallocHelperZone", or a scalable zone). malloc_default_zone()
 *   is a static forwarding zone on its own pages, never registered, and
 *   malloc_zone_from_ptr returns it for the default zone's pointers.
 * - Registration appends, unregistration swap-removes. Slots are published
 *   before the count, so lock-free readers never see an unset slot; readers
 *   past zone 0 hold one of two generation counters ("FRZ") that an
 *   unregister flips and drains, so a zone is never destroyed under a
 *   reader's size() call.
 * - Owner lookup: the chunk map first (one load: the region's rack or nano
 *   zone), then every zone's size() in registration order (large blocks,
 *   zones that are not ours).
 * - malloc_logger: allocations are logged after the zone call even when
 *   they fail, frees before; realloc packs (old, new_size, new).
 * -------------------------------------------------------------------------- */
#include "registry.h"
#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "nano.h"
#include "rack.h"
#include "szone.h"
#include "va.h"

#include <errno.h>
#include <string.h>

#if defined(__APPLE__)
/* Darwin: libmalloc owns the public zone API and malloc_logger (it logs
 * around its own wrappers); these definitions stay inside the library and
 * serve zonetrace's own registry of its zones. */
#define ZT_EXPORT __attribute__((visibility("hidden")))
#ifndef MALLOC_LOG_TYPE_ALLOCATE
#define MALLOC_LOG_TYPE_ALLOCATE   2
#define MALLOC_LOG_TYPE_DEALLOCATE 4
#define MALLOC_LOG_TYPE_HAS_ZONE   8
#define MALLOC_LOG_TYPE_CLEARED    64
#endif
typedef void(malloc_logger_t)(uint32_t type, uintptr_t arg1, uintptr_t arg2, uintptr_t arg3,
                              uintptr_t result, uint32_t num_hot_frames_to_skip);
static malloc_logger_t *malloc_logger;
#else
#define ZT_EXPORT __attribute__((visibility("default")))
ZT_EXPORT malloc_logger_t *malloc_logger;
#endif

#define VZONE_BYTES (16u << 10) /* PAGE_MAX_SIZE: the page(s) set_zone_name protects */

static malloc_zone_t *zones[ZT_MAX_ZONES];
static unsigned num_zones;
static zt_lock_t registry_lock = ZT_LOCK_INIT;
static unsigned frz_readers[2];
static unsigned frz_gen;

static malloc_zone_t *initial_default; /* zones[0] as zt_init installed it */
static malloc_zone_t *initial_helper;  /* its helper when it is a nano zone */

static inline bool ready(void)
{
    return __builtin_expect(zt_initialised, 1) || zt_init();
}

static inline size_t absolute_max_bytes(void)
{
    return SIZE_MAX - 2 * zt_profile_page_bytes(&zt_active_profile);
}

malloc_zone_t *zt_default_zone(void)
{
    return zones[0];
}

/* ---- lookup -------------------------------------------------------------- */

static malloc_zone_t *scan_zones(const void *ptr, size_t *size_out)
{
    malloc_zone_t *z0 = zones[0];
    size_t s;
    if (z0 && (s = z0->size(z0, ptr)) != 0) {
        *size_out = s;
        return z0;
    }
    unsigned gen = __atomic_load_n(&frz_gen, __ATOMIC_SEQ_CST) & 1;
    __atomic_add_fetch(&frz_readers[gen], 1, __ATOMIC_SEQ_CST);
    malloc_zone_t *found = NULL;
    unsigned n = __atomic_load_n(&num_zones, __ATOMIC_SEQ_CST);
    for (unsigned i = 1; i < n; i++) {
        malloc_zone_t *z = __atomic_load_n(&zones[i], __ATOMIC_ACQUIRE);
        if (z && (s = z->size(z, ptr)) != 0) {
            *size_out = s;
            found = z;
            break;
        }
    }
    __atomic_sub_fetch(&frz_readers[gen], 1, __ATOMIC_RELEASE);
    return found;
}

malloc_zone_t *zt_registry_find(const void *ptr, size_t *size_out)
{
    size_t s = 0;
    malloc_zone_t *z = NULL;
    if (ptr) {
        zt_owner_t *o = zt_chunkmap_get(ptr);
        if (o) {
            /* Inside a region: its owner decides; no other zone can own it. */
            z = o->zone;
            s = o->kind == ZT_KIND_NANO ? z->size(z, ptr) : zt_rack_size((zt_rack_t *)o, ptr);
            if (!s) z = NULL;
        } else {
            z = scan_zones(ptr, &s);
        }
    }
    if (size_out) *size_out = s;
    return z;
}

/* The zone libmalloc's find_registered_zone would name: the virtual zone for
 * the default zone's pointers (nano's size() claims its helper's too). */
static malloc_zone_t *public_zone(malloc_zone_t *z)
{
    if (z && zones[0] == initial_default && (z == initial_default || z == initial_helper))
        return zt_registry_virtual_zone();
    return z;
}

unsigned zt_registry_zones(malloc_zone_t **out, unsigned cap)
{
    zt_lock(&registry_lock);
    unsigned n = num_zones < cap ? num_zones : cap;
    for (unsigned i = 0; i < n; i++)
        out[i] = zones[i];
    zt_unlock(&registry_lock);
    return n;
}

void zt_zone_walk(malloc_zone_t *zone, const zt_walker_t *w)
{
    if (zone == zt_registry_virtual_zone()) zone = zones[0];
    if (zt_szone_is(zone))
        zt_szone_walk(zone, w);
    else if (zone && zone == initial_default && initial_helper)
        zt_nano_walk(zone, w);
}

/* ---- registration -------------------------------------------------------- */

void zt_registry_init(malloc_zone_t *zone0, malloc_zone_t *helper)
{
    zt_lock(&registry_lock);
    zones[0] = zone0;
    unsigned n = 1;
    if (helper && helper != zone0) zones[n++] = helper;
    initial_default = zone0;
    initial_helper = helper != zone0 ? helper : NULL;
    __atomic_store_n(&num_zones, n, __ATOMIC_SEQ_CST);
    zt_unlock(&registry_lock);
}

/* Wait until no reader of the generation before this call remains. */
static void drain_readers(void)
{
    unsigned old = __atomic_fetch_add(&frz_gen, 1, __ATOMIC_SEQ_CST) & 1;
    while (__atomic_load_n(&frz_readers[old], __ATOMIC_SEQ_CST) != 0)
        zt_prim_yield();
}

ZT_EXPORT void malloc_zone_register(malloc_zone_t *zone)
{
    if (!zone || !ready()) return;
    zt_lock(&registry_lock);
    for (unsigned i = 0; i < num_zones; i++) {
        if (zones[i] == zone) {
            zt_unlock(&registry_lock);
            zt_prim_message("malloc_zone_register() failed: zone %p is already registered",
                            (void *)zone);
            return;
        }
    }
    if (num_zones >= ZT_MAX_ZONES) {
        zt_unlock(&registry_lock);
        zt_prim_message("malloc_zone_register() failed: more than %d zones", ZT_MAX_ZONES);
        return;
    }
    __atomic_store_n(&zones[num_zones], zone, __ATOMIC_RELEASE);
    __atomic_store_n(&num_zones, num_zones + 1, __ATOMIC_SEQ_CST);
    zt_unlock(&registry_lock);
}

ZT_EXPORT void malloc_zone_unregister(malloc_zone_t *zone)
{
    if (!zone || !ready()) return;
    zt_lock(&registry_lock);
    unsigned i = 0;
    while (i < num_zones && zones[i] != zone)
        i++;
    if (i == num_zones) {
        zt_unlock(&registry_lock);
        zt_prim_message("*** malloc_zone_unregister() failed for %p", (void *)zone);
        return;
    }
    unsigned last = num_zones - 1;
    __atomic_store_n(&zones[i], zones[last], __ATOMIC_RELEASE);
    __atomic_store_n(&num_zones, last, __ATOMIC_SEQ_CST);
    __atomic_store_n(&zones[last], NULL, __ATOMIC_RELEASE);
    drain_readers();
    zt_unlock(&registry_lock);
}

ZT_EXPORT malloc_zone_t *malloc_create_zone(vm_size_t start_size, unsigned flags)
{
    if (!ready()) return NULL;
    malloc_zone_t *z = zt_szone_create(NULL);
    if (!z) return NULL;
    zt_hook_zone_created(z);
    malloc_zone_register(z);
    return z;
}

ZT_EXPORT void malloc_destroy_zone(malloc_zone_t *zone)
{
    if (!zone || zone == zt_registry_virtual_zone()) return;
    malloc_set_zone_name(zone, NULL);
    malloc_zone_unregister(zone);
    zone->destroy(zone);
}

ZT_EXPORT kern_return_t malloc_get_all_zones(task_t task, memory_reader_t reader,
                                             vm_address_t **addresses, unsigned *count)
{
    if (!ready()) return KERN_FAILURE;
    if (addresses) *addresses = (vm_address_t *)zones;
    if (count) *count = __atomic_load_n(&num_zones, __ATOMIC_ACQUIRE);
    return KERN_SUCCESS;
}

/* ---- zone names ------------------------------------------------------------ */

/* The zone's page(s) are read-only except while the name changes, as in
 * libmalloc; the new name is allocated from the zone itself and the old one
 * freed only if some zone owns it (it may be a constant string). */
ZT_EXPORT void malloc_set_zone_name(malloc_zone_t *zone, const char *name)
{
    if (!zone || !ready()) return;
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

ZT_EXPORT const char *malloc_get_zone_name(malloc_zone_t *zone)
{
    return zone ? zone->zone_name : NULL;
}

/* ---- allocation through a zone -------------------------------------------- */

#define LOG_ALLOC (MALLOC_LOG_TYPE_ALLOCATE | MALLOC_LOG_TYPE_HAS_ZONE)
#define LOG_FREE  (MALLOC_LOG_TYPE_DEALLOCATE | MALLOC_LOG_TYPE_HAS_ZONE)

ZT_EXPORT void *malloc_zone_malloc(malloc_zone_t *zone, size_t size)
{
    if (!ready()) return zt_bootstrap_malloc(size, 16);
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = zone->malloc(zone, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

ZT_EXPORT void *malloc_zone_calloc(malloc_zone_t *zone, size_t num_items, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(num_items, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!ready()) return zt_bootstrap_malloc(total, 16); /* .bss: already zero */
    void *p = zone->calloc(zone, num_items, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC | MALLOC_LOG_TYPE_CLEARED, (uintptr_t)zone, total, 0, (uintptr_t)p, 0);
    return p;
}

ZT_EXPORT void *malloc_zone_valloc(malloc_zone_t *zone, size_t size)
{
    if (!ready()) return zt_bootstrap_malloc(size, zt_prim_page_bytes());
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = zone->valloc(zone, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

ZT_EXPORT void *malloc_zone_memalign(malloc_zone_t *zone, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (!ready()) return zt_bootstrap_malloc(size, alignment);
    if (zone->version < 5 || !zone->memalign) return NULL;
    if (size > absolute_max_bytes()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = zone->memalign(zone, alignment, size);
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)p, 0);
    return p;
}

ZT_EXPORT void *malloc_zone_realloc(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!ready() || zt_bootstrap_contains(ptr)) {
        void *n = ready() ? malloc_zone_malloc(zone, size) : zt_bootstrap_malloc(size, 16);
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
    void *p = zone->realloc(zone, ptr, size);
    malloc_logger_t *log = malloc_logger;
    if (log)
        log(LOG_ALLOC | MALLOC_LOG_TYPE_DEALLOCATE, (uintptr_t)zone, (uintptr_t)ptr, size,
            (uintptr_t)p, 0);
    return p;
}

ZT_EXPORT void malloc_zone_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr || zt_bootstrap_contains(ptr)) return;
    malloc_logger_t *log = malloc_logger;
    if (log) log(LOG_FREE, (uintptr_t)zone, (uintptr_t)ptr, 0, 0, 0);
    zone->free(zone, ptr);
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

ZT_EXPORT unsigned malloc_zone_batch_malloc(malloc_zone_t *zone, size_t size, void **results,
                                            unsigned num_requested)
{
    if (!ready() || !zone->batch_malloc) return 0;
    unsigned n = zone->batch_malloc(zone, size, results, num_requested);
    malloc_logger_t *log = malloc_logger;
    if (log)
        for (unsigned i = 0; i < n; i++)
            log(LOG_ALLOC, (uintptr_t)zone, size, 0, (uintptr_t)results[i], 0);
    return n;
}

ZT_EXPORT void malloc_zone_batch_free(malloc_zone_t *zone, void **to_be_freed, unsigned num)
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
    if (!ptr || zt_bootstrap_contains(ptr) || !ready()) return;
    size_t size;
    malloc_zone_t *z = zt_registry_find(ptr, &size);
    if (!z) {
        zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
        return;
    }
    zone_free_definite_size(public_zone(z), ptr, size);
}

void *zt_registry_realloc(void *in_ptr, size_t size)
{
    (void)ready(); /* options (on_error) must be loaded before any report */
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
            r = malloc_zone_realloc(malloc_logger ? public_zone(z) : z, old, size);
        }
    }
    if (!r)
        errno = ENOMEM;
    else if (in_ptr && size == 0)
        zt_registry_free(in_ptr);
    return r;
}

/* ---- queries ------------------------------------------------------------- */

ZT_EXPORT malloc_zone_t *malloc_zone_from_ptr(const void *ptr)
{
    if (!ptr || !ready()) return NULL;
    return public_zone(zt_registry_find(ptr, NULL));
}

ZT_EXPORT size_t malloc_size(const void *ptr)
{
    if (!ptr) return 0;
    if (zt_bootstrap_contains(ptr)) return zt_bootstrap_size(ptr);
    if (!ready()) return 0;
    size_t s;
    zt_registry_find(ptr, &s);
    return s;
}

ZT_EXPORT size_t malloc_good_size(size_t size)
{
    malloc_zone_t *vz = zt_registry_virtual_zone();
    return vz->introspect->good_size(vz, size);
}

ZT_EXPORT boolean_t malloc_claimed_address(void *ptr)
{
    if (!ready()) return zt_bootstrap_contains(ptr);
    unsigned gen = __atomic_load_n(&frz_gen, __ATOMIC_SEQ_CST) & 1;
    __atomic_add_fetch(&frz_readers[gen], 1, __ATOMIC_SEQ_CST);
    boolean_t claimed = 0;
    unsigned n = __atomic_load_n(&num_zones, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < n && !claimed; i++) {
        malloc_zone_t *z = __atomic_load_n(&zones[i], __ATOMIC_ACQUIRE);
        if (!z) continue;
        /* Zones that cannot answer are assumed to claim it (libmalloc). */
        claimed = z->version < 10 || !z->claimed_address || z->claimed_address(z, ptr);
    }
    __atomic_sub_fetch(&frz_readers[gen], 1, __ATOMIC_RELEASE);
    return claimed;
}

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

ZT_EXPORT boolean_t malloc_zone_check(malloc_zone_t *zone)
{
    if (!ready()) return 1;
    boolean_t ok = 1;
    FOR_ZONES(zone, ok &= z_->introspect->check(z_) ? 1 : 0);
    return ok;
}

ZT_EXPORT void malloc_zone_print(malloc_zone_t *zone, boolean_t verbose)
{
    if (!ready()) return;
    FOR_ZONES(zone, z_->introspect->print(z_, verbose));
}

ZT_EXPORT void malloc_zone_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!ready()) return;
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

ZT_EXPORT size_t malloc_zone_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    if (!ready()) return 0;
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

void zt_registry_print_statistics(void)
{
    malloc_zone_t *all[ZT_MAX_ZONES];
    unsigned n = zt_registry_zones(all, ZT_MAX_ZONES);
    for (unsigned i = 0; i < n; i++) {
        malloc_statistics_t s = {0, 0, 0, 0};
        all[i]->introspect->statistics(all[i], &s);
        zt_prim_message("zone %u \"%s\": %u blocks in use, %zu bytes in use, %zu bytes touched, "
                        "%zu bytes allocated",
                        i, all[i]->zone_name ? all[i]->zone_name : "", s.blocks_in_use,
                        s.size_in_use, s.max_size_in_use, s.size_allocated);
    }
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    zt_prim_message("heap address space: %zu bytes used, %zu peak, limit %zu (0 = none)",
                    vs.used_bytes, vs.peak_used_bytes, vs.limit_bytes);
}

/* ---- fork ------------------------------------------------------------------ */

/* Lock order: registry → every zone (its racks, then large) → address space.
 * The child re-initialises instead of unlocking: the owners may be threads
 * that do not exist there. */
void zt_registry_fork_prepare(void)
{
    zt_lock(&registry_lock);
    for (unsigned i = 0; i < num_zones; i++)
        zones[i]->introspect->force_lock(zones[i]);
    zt_va_lock();
}

void zt_registry_fork_parent(void)
{
    zt_va_unlock();
    for (unsigned i = num_zones; i-- > 0;)
        zones[i]->introspect->force_unlock(zones[i]);
    zt_unlock(&registry_lock);
}

void zt_registry_fork_child(void)
{
    zt_va_reinit_lock();
    for (unsigned i = num_zones; i-- > 0;) {
        malloc_zone_t *z = zones[i];
        if (z->version >= 9 && z->introspect->reinit_lock)
            z->introspect->reinit_lock(z);
        else
            z->introspect->force_unlock(z);
    }
    frz_readers[0] = frz_readers[1] = 0;
    zt_lock_reinit(&registry_lock);
}

/* ---- the virtual default zone ---------------------------------------------- */

static inline malloc_zone_t *z0(void)
{
    return zones[0];
}

static size_t vz_size(malloc_zone_t *zone, const void *ptr)
{
    if (zt_bootstrap_contains(ptr)) return zt_bootstrap_size(ptr);
    return ready() ? z0()->size(z0(), ptr) : 0;
}

static void *vz_malloc(malloc_zone_t *zone, size_t size)
{
    return ready() ? z0()->malloc(z0(), size) : zt_bootstrap_malloc(size, 16);
}

static void *vz_calloc(malloc_zone_t *zone, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return ready() ? z0()->calloc(z0(), n, size) : zt_bootstrap_malloc(total, 16);
}

static void *vz_valloc(malloc_zone_t *zone, size_t size)
{
    return ready() ? z0()->valloc(z0(), size) : zt_bootstrap_malloc(size, zt_prim_page_bytes());
}

static void vz_free(malloc_zone_t *zone, void *ptr)
{
    if (ptr && !zt_bootstrap_contains(ptr) && ready()) z0()->free(z0(), ptr);
}

static void *vz_realloc(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!ready() || zt_bootstrap_contains(ptr)) return malloc_zone_realloc(zone, ptr, size);
    return z0()->realloc(z0(), ptr, size);
}

static void vz_destroy(malloc_zone_t *zone) {}

static unsigned vz_batch_malloc(malloc_zone_t *zone, size_t size, void **results, unsigned n)
{
    if (!ready()) return 0;
    malloc_zone_t *z = z0();
    if (z->batch_malloc) return z->batch_malloc(z, size, results, n);
    unsigned got = 0;
    while (got < n && (results[got] = z->malloc(z, size)) != NULL)
        got++;
    return got;
}

static void vz_batch_free(malloc_zone_t *zone, void **ptrs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        vz_free(zone, ptrs[i]);
}

static void *vz_memalign(malloc_zone_t *zone, size_t alignment, size_t size)
{
    return ready() ? z0()->memalign(z0(), alignment, size) : zt_bootstrap_malloc(size, alignment);
}

static void vz_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!ptr || zt_bootstrap_contains(ptr) || !ready()) return;
    malloc_zone_t *z = z0();
    if (z->version >= 6 && z->free_definite_size)
        z->free_definite_size(z, ptr, size);
    else
        z->free(z, ptr);
}

static size_t vz_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    return ready() && z0()->pressure_relief ? z0()->pressure_relief(z0(), goal) : 0;
}

static boolean_t vz_claimed_address(malloc_zone_t *zone, void *ptr)
{
    if (!ready()) return zt_bootstrap_contains(ptr);
    malloc_zone_t *z = z0();
    return z->version < 10 || !z->claimed_address || z->claimed_address(z, ptr);
}

static kern_return_t vzi_enumerator(task_t task, void *ctx, unsigned type_mask,
                                    vm_address_t zone_address, memory_reader_t reader,
                                    vm_range_recorder_t recorder)
{
    if (!ready()) return KERN_FAILURE;
    malloc_zone_t *z = z0();
    return z->introspect->enumerator(task, ctx, type_mask, (vm_address_t)z, reader, recorder);
}

static size_t vzi_good_size(malloc_zone_t *zone, size_t size)
{
    if (!ready()) return size;
    return z0()->introspect->good_size(z0(), size);
}

static boolean_t vzi_check(malloc_zone_t *zone)
{
    return ready() ? z0()->introspect->check(z0()) : 1;
}

static void vzi_print(malloc_zone_t *zone, boolean_t verbose)
{
    if (ready()) z0()->introspect->print(z0(), verbose);
}

static void vzi_log(malloc_zone_t *zone, void *address)
{
    if (ready()) z0()->introspect->log(z0(), address);
}

static void vzi_force_lock(malloc_zone_t *zone)
{
    if (ready()) z0()->introspect->force_lock(z0());
}

static void vzi_force_unlock(malloc_zone_t *zone)
{
    if (ready()) z0()->introspect->force_unlock(z0());
}

static void vzi_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    if (ready())
        z0()->introspect->statistics(z0(), stats);
    else
        memset(stats, 0, sizeof *stats);
}

static boolean_t vzi_zone_locked(malloc_zone_t *zone)
{
    return ready() && z0()->introspect->zone_locked ? z0()->introspect->zone_locked(z0()) : 0;
}

static boolean_t vzi_enable_discharge_checking(malloc_zone_t *zone)
{
    return 0;
}
static void vzi_disable_discharge_checking(malloc_zone_t *zone) {}
static void vzi_discharge(malloc_zone_t *zone, void *memory) {}

static void vzi_reinit_lock(malloc_zone_t *zone)
{
    if (ready() && z0()->introspect->reinit_lock) z0()->introspect->reinit_lock(z0());
}

static void vzi_print_task(task_t task, unsigned level, vm_address_t zone_address,
                           memory_reader_t reader, print_task_printer_t printer)
{
    malloc_zone_t *z = ready() ? z0() : NULL;
    if (z && z->introspect->print_task)
        z->introspect->print_task(task, level, (vm_address_t)z, reader, printer);
}

static void vzi_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                malloc_statistics_t *stats)
{
    malloc_zone_t *z = ready() ? z0() : NULL;
    if (z && z->introspect->task_statistics)
        z->introspect->task_statistics(task, (vm_address_t)z, reader, stats);
    else
        vzi_statistics(NULL, stats);
}

static malloc_introspection_t virtual_introspect = {
    .enumerator = vzi_enumerator,
    .good_size = vzi_good_size,
    .check = vzi_check,
    .print = vzi_print,
    .log = vzi_log,
    .force_lock = vzi_force_lock,
    .force_unlock = vzi_force_unlock,
    .statistics = vzi_statistics,
    .zone_locked = vzi_zone_locked,
    .enable_discharge_checking = vzi_enable_discharge_checking,
    .disable_discharge_checking = vzi_disable_discharge_checking,
    .discharge = vzi_discharge,
    .reinit_lock = vzi_reinit_lock,
    .print_task = vzi_print_task,
    .task_statistics = vzi_task_statistics,
    .zone_type = 0,
};

/* Alone on its own page(s) (libmalloc's __DATA,__v_zone padded to
 * PAGE_MAX_SIZE): malloc_set_zone_name may make them read-only. */
static union {
    malloc_zone_t zone;
    char pad[VZONE_BYTES];
} virtual_zone
    __attribute__((aligned(VZONE_BYTES))) = {.zone = {
                                                 .reserved1 = NULL,
                                                 .reserved2 = NULL,
                                                 .size = vz_size,
                                                 .malloc = vz_malloc,
                                                 .calloc = vz_calloc,
                                                 .valloc = vz_valloc,
                                                 .free = vz_free,
                                                 .realloc = vz_realloc,
                                                 .destroy = vz_destroy,
                                                 .zone_name = "DefaultMallocZone",
                                                 .batch_malloc = vz_batch_malloc,
                                                 .batch_free = vz_batch_free,
                                                 .introspect = &virtual_introspect,
                                                 .version = 10,
                                                 .memalign = vz_memalign,
                                                 .free_definite_size = vz_free_definite_size,
                                                 .pressure_relief = vz_pressure_relief,
                                                 .claimed_address = vz_claimed_address,
                                             }};

malloc_zone_t *zt_registry_virtual_zone(void)
{
    return &virtual_zone.zone;
}

ZT_EXPORT malloc_zone_t *malloc_default_zone(void)
{
    (void)ready();
    return &virtual_zone.zone;
}
