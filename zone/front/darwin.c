/* ----------------------------------------------------------------------------
 * front/darwin.c — macOS / iOS: make zonetrace's zone the process default
 * inside libmalloc (reference/darwin_override.md §1, §9, §10). Not built on
 * Linux (CMake builds zone/front/linux.c there), so it stays thin: the
 * takeover itself is zone/promote.c, which tests/api/test_promote.c runs on
 * Linux against zonetrace's own libmalloc-compatible registry. This file
 * only names libmalloc's registry calls for it.
 *
 * The dance (§9 step 5, promote.c): register the helper, then the
 * nano/default zone (appended last); unregister libmalloc's zone 0 — the
 * last entry, ours, moves into its slot — and register it again so that its
 * existing blocks stay freeable; the same for the purgeable zone, which must
 * sit after us. Bounded retries; if slot 0 is not libmalloc's
 * "DefaultMallocZone" to begin with (ASan, another allocator), nothing is
 * registered. Blocks no zonetrace zone owns are handed back to libc's
 * free/realloc, which find their zone through size(). libmalloc drives fork
 * locking for registered zones (reinit_lock in the child: version 10 >= 9).
 * -------------------------------------------------------------------------- */
#if defined(__APPLE__)

#include "zone.h"
#include "promote.h"
#include "registry.h"
#include "zonetrace.h"

#include <dlfcn.h>
#include <mach/mach.h>
#include <malloc/malloc.h>
#include <stdlib.h>
#include <string.h>

extern malloc_zone_t *malloc_default_purgeable_zone(void) __attribute__((weak_import));

static zt_lock_t install_lock = ZT_LOCK_INIT;
static int install_state; /* 0 not tried, 1 installed, -1 failed */

/* zonetrace defines malloc_zone_register, malloc_zone_unregister and
 * malloc_get_all_zones itself (registry.c: its own zones' registry, hidden
 * on Apple by ZT_API), and a call from this file binds to those. libmalloc's
 * are looked up by name instead: dlsym(RTLD_DEFAULT) sees exported symbols
 * only, so it finds libsystem_malloc's. */
typedef void (*zone_op_t)(malloc_zone_t *zone);
typedef kern_return_t (*all_zones_t)(task_t, memory_reader_t, vm_address_t **, unsigned *);
static zone_op_t sys_register, sys_unregister;
static all_zones_t sys_all_zones;

static bool find_libmalloc(void)
{
    *(void **)&sys_register = dlsym(RTLD_DEFAULT, "malloc_zone_register");
    *(void **)&sys_unregister = dlsym(RTLD_DEFAULT, "malloc_zone_unregister");
    *(void **)&sys_all_zones = dlsym(RTLD_DEFAULT, "malloc_get_all_zones");
    return sys_register && sys_unregister && sys_all_zones;
}

static void system_register(malloc_zone_t *zone)
{
    sys_register(zone);
}

static void system_unregister(malloc_zone_t *zone)
{
    sys_unregister(zone);
}

/* Not malloc_default_zone(): that is the virtual zone, never registered
 * (reference §1 item 1, §10 item 5). */
static malloc_zone_t *system_zone0(void)
{
    vm_address_t *zones = NULL;
    unsigned n = 0;
    if (sys_all_zones(mach_task_self(), NULL, &zones, &n) != KERN_SUCCESS || n == 0) return NULL;
    return (malloc_zone_t *)zones[0];
}

static malloc_zone_t *system_purgeable(void)
{
    return malloc_default_purgeable_zone ? malloc_default_purgeable_zone() : NULL;
}

static void system_free(void *ptr)
{
    free(ptr);
}

static void *system_realloc(void *ptr, size_t bytes)
{
    return realloc(ptr, bytes);
}

/* libmalloc's registry; libc's free/realloc find a foreign block's zone. */
static const zt_promote_registry_t libmalloc_registry = {
    .zone_register = system_register,
    .zone_unregister = system_unregister,
    .zone0 = system_zone0,
    .purgeable = system_purgeable,
    .foreign_free = system_free,
    .foreign_realloc = system_realloc,
};

ZT_EXPORT int zt_install(void)
{
    zt_lock(&install_lock);
    if (install_state == 0) {
        install_state = -1;
        if (!find_libmalloc()) {
            zt_prim_message("libmalloc's zone registry not found: not installing");
        } else if (zt_init()) {
            malloc_zone_t *ours = zt_default_zone();
            malloc_zone_t *all[ZT_MAX_ZONES];
            unsigned n = zt_registry_zones(all, ZT_MAX_ZONES);
            malloc_zone_t *helper = n > 1 && all[1] != ours ? all[1] : NULL;
            if (zt_promote(&libmalloc_registry, ours, helper, NULL) == ZT_PROMOTED)
                install_state = 1;
        }
    }
    int r = install_state > 0 ? 0 : -1;
    zt_unlock(&install_lock);
    return r;
}

/* DYLD_INSERT_LIBRARIES and dynamic frameworks: install before main. A
 * static archive may drop this object; iOS apps call zt_install() instead. */
__attribute__((constructor)) static void install_at_load(void)
{
    zt_install();
}

#endif /* __APPLE__ */
