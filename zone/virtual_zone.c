/* ----------------------------------------------------------------------------
 * virtual_zone.c — the virtual default zone (libmalloc's virtual_default_zone):
 * what malloc_default_zone() returns. A static zone on its own page(s),
 * never registered, that forwards every call to zone 0 of the registry, so
 * that callers holding it follow a change of the default zone.
 *
 * Before zt_init completes (or re-entrantly while it runs) it serves the
 * bootstrap arena instead. Its name is "DefaultMallocZone", like the real
 * default zone's; malloc_zone_from_ptr returns it for the default zone's
 * pointers (zt_registry_public_zone).
 * -------------------------------------------------------------------------- */
#include "registry.h"
#include "introspect.h"

#include <errno.h>
#include <string.h>

/* Zone 0 of the registry, read on every call: the default zone may change. */
static inline malloc_zone_t *z0(void)
{
    return zt_registry_slots[0];
}

static size_t vz_size(malloc_zone_t *zone, const void *ptr)
{
    if (zt_bootstrap_contains(ptr)) return zt_bootstrap_size(ptr);
    return zt_registry_ready() ? z0()->size(z0(), ptr) : 0;
}

static void *vz_malloc(malloc_zone_t *zone, size_t size)
{
    return zt_registry_ready() ? z0()->malloc(z0(), size) : zt_bootstrap_malloc(size, 16);
}

/* An overflowing product reaches zone 0's calloc, which refuses it (libmalloc-166.220.1
 * src/malloc.c:1466-1484 has no check of its own). */
static void *vz_calloc(malloc_zone_t *zone, size_t n, size_t size)
{
    if (zt_registry_ready()) return z0()->calloc(z0(), n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return zt_bootstrap_malloc(total, 16);
}

static void *vz_valloc(malloc_zone_t *zone, size_t size)
{
    return zt_registry_ready() ? z0()->valloc(z0(), size)
                               : zt_bootstrap_malloc(size, zt_prim_page_bytes());
}

static void vz_free(malloc_zone_t *zone, void *ptr)
{
    if (ptr && !zt_bootstrap_contains(ptr) && zt_registry_ready()) z0()->free(z0(), ptr);
}

static void *vz_realloc(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!zt_registry_ready() || zt_bootstrap_contains(ptr))
        return malloc_zone_realloc(zone, ptr, size);
    return z0()->realloc(z0(), ptr, size);
}

static void vz_destroy(malloc_zone_t *zone) {}

static unsigned vz_batch_malloc(malloc_zone_t *zone, size_t size, void **results, unsigned n)
{
    if (!zt_registry_ready()) return 0;
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
    return zt_registry_ready() ? z0()->memalign(z0(), alignment, size)
                               : zt_bootstrap_malloc(size, alignment);
}

static void vz_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!ptr || zt_bootstrap_contains(ptr) || !zt_registry_ready()) return;
    malloc_zone_t *z = z0();
    if (z->version >= 6 && z->free_definite_size)
        z->free_definite_size(z, ptr, size);
    else
        z->free(z, ptr);
}

static size_t vz_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    return zt_registry_ready() && z0()->pressure_relief ? z0()->pressure_relief(z0(), goal) : 0;
}

static boolean_t vz_claimed_address(malloc_zone_t *zone, void *ptr)
{
    if (!zt_registry_ready()) return zt_bootstrap_contains(ptr);
    malloc_zone_t *z = z0();
    return z->version < 10 || !z->claimed_address || z->claimed_address(z, ptr);
}

static kern_return_t vzi_enumerator(task_t task, void *ctx, unsigned type_mask,
                                    vm_address_t zone_address, memory_reader_t reader,
                                    vm_range_recorder_t recorder)
{
    if (!zt_registry_ready()) return KERN_FAILURE;
    malloc_zone_t *z = z0();
    return z->introspect->enumerator(task, ctx, type_mask, (vm_address_t)z, reader, recorder);
}

static size_t vzi_good_size(malloc_zone_t *zone, size_t size)
{
    if (!zt_registry_ready()) return size;
    return z0()->introspect->good_size(z0(), size);
}

static boolean_t vzi_check(malloc_zone_t *zone)
{
    return zt_registry_ready() ? z0()->introspect->check(z0()) : 1;
}

static void vzi_print(malloc_zone_t *zone, boolean_t verbose)
{
    if (zt_registry_ready()) z0()->introspect->print(z0(), verbose);
}

static void vzi_log(malloc_zone_t *zone, void *address)
{
    if (zt_registry_ready()) z0()->introspect->log(z0(), address);
}

static void vzi_force_lock(malloc_zone_t *zone)
{
    if (zt_registry_ready()) z0()->introspect->force_lock(z0());
}

static void vzi_force_unlock(malloc_zone_t *zone)
{
    if (zt_registry_ready()) z0()->introspect->force_unlock(z0());
}

static void vzi_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    if (zt_registry_ready())
        z0()->introspect->statistics(z0(), stats);
    else
        memset(stats, 0, sizeof *stats);
}

static boolean_t vzi_zone_locked(malloc_zone_t *zone)
{
    return zt_registry_ready() && z0()->introspect->zone_locked
               ? z0()->introspect->zone_locked(z0())
               : 0;
}

static void vzi_reinit_lock(malloc_zone_t *zone)
{
    if (zt_registry_ready() && z0()->introspect->reinit_lock) z0()->introspect->reinit_lock(z0());
}

static void vzi_print_task(task_t task, unsigned level, vm_address_t zone_address,
                           memory_reader_t reader, print_task_printer_t printer)
{
    malloc_zone_t *z = zt_registry_ready() ? z0() : NULL;
    if (z && z->introspect->print_task)
        z->introspect->print_task(task, level, (vm_address_t)z, reader, printer);
}

static void vzi_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                malloc_statistics_t *stats)
{
    malloc_zone_t *z = zt_registry_ready() ? z0() : NULL;
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
    .enable_discharge_checking = zt_introspect_nop_enable_discharge_checking,
    .disable_discharge_checking = zt_introspect_nop_disable_discharge_checking,
    .discharge = zt_introspect_nop_discharge,
    .reinit_lock = vzi_reinit_lock,
    .print_task = vzi_print_task,
    .task_statistics = vzi_task_statistics,
};

/* Alone on its own page(s): see zt_registry_vzone_space in registry.h. In
 * .bss, filled by zt_registry_vzone_fill: initialised data would put its
 * 16 KiB (and the padding that aligns it) in the library's .data, all of it
 * resident in every process (fault-around and load-time relocations); in
 * .bss only the one page written is. */
char zt_registry_vzone_space[2 * ZT_VZONE_BYTES];

static const malloc_zone_t vzone_template = {
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
    .version = ZT_MALLOC_ZONE_VERSION,
    .memalign = vz_memalign,
    .free_definite_size = vz_free_definite_size,
    .pressure_relief = vz_pressure_relief,
    .claimed_address = vz_claimed_address,
};

/* Once, by zt_registry_init, before zt_registry_ready() can be true: every
 * reader of the virtual zone (malloc_default_zone(), the front end's
 * logger path) comes after that. A second call leaves the zone as it is
 * (its name may have been changed, its page made read-only). */
void zt_registry_vzone_fill(void)
{
    malloc_zone_t *z = zt_registry_virtual_zone();
    if (z->malloc == NULL) *z = vzone_template;
}

/* Always the virtual zone, never zone 0 itself (libmalloc-166.220.1 src/malloc.c:970-973,
 * libmalloc-792.41.1 :1776-1779): a caller holding it follows a takeover of zone 0. */
ZT_API malloc_zone_t *malloc_default_zone(void)
{
    (void)zt_registry_ready();
    return zt_registry_virtual_zone();
}
