/* ----------------------------------------------------------------------------
 * front/darwin.c — macOS / iOS: make zonetrace's zone the process default
 * inside libmalloc (reference/darwin_override.md §1, §9, §10). Not built on
 * Linux (CMake builds zone/front/linux.c there); it cannot be compiled
 * here, so it stays thin and leans on the portable zone code.
 *
 * The dance (§9 step 5): register the helper, then the nano/default zone
 * (appended last); unregister libmalloc's zone 0 — the last entry, ours,
 * moves into its slot — and register it again so that its existing blocks
 * stay freeable; the same for the purgeable zone, which must sit after us.
 * Bounded retries; if slot 0 is not libmalloc's "DefaultMallocZone" to begin
 * with (ASan, another allocator), stay registered but do not promote.
 * Blocks no zonetrace zone owns are handed back to libc's free/realloc,
 * which find their zone through size(). libmalloc drives fork locking for
 * registered zones (reinit_lock in the child: version 10 >= 9).
 * -------------------------------------------------------------------------- */
#if defined(__APPLE__)

#include "zone.h"
#include "registry.h"
#include "szone.h"
#include "zonetrace.h"

#include <mach/mach.h>
#include <malloc/malloc.h>
#include <stdlib.h>
#include <string.h>

#define PROMOTE_TRIES 3

extern malloc_zone_t *malloc_default_purgeable_zone(void) __attribute__((weak_import));

static zt_lock_t install_lock = ZT_LOCK_INIT;
static int install_state; /* 0 not tried, 1 installed, -1 failed */

static malloc_zone_t *system_zone0(void)
{
    vm_address_t *zones = NULL;
    unsigned n = 0;
    if (malloc_get_all_zones(mach_task_self(), NULL, &zones, &n) != KERN_SUCCESS || n == 0)
        return NULL;
    return (malloc_zone_t *)zones[0];
}

static bool promote(malloc_zone_t *ours, malloc_zone_t *helper)
{
    /* Created first so that it is not built on top of our zone. */
    malloc_zone_t *purgeable =
        malloc_default_purgeable_zone ? malloc_default_purgeable_zone() : NULL;
    malloc_zone_t *dz = system_zone0();
    if (!dz || !dz->zone_name || strcmp(dz->zone_name, "DefaultMallocZone") != 0) {
        zt_prim_message("the default zone is %s, not libmalloc's: not installing",
                        dz && dz->zone_name ? dz->zone_name : "unknown");
        return false;
    }
    if (helper) malloc_zone_register(helper);
    malloc_zone_register(ours);
    for (int i = 0; i < PROMOTE_TRIES; i++) {
        dz = system_zone0();
        if (dz == ours) return true;
        if (!dz) break;
        malloc_zone_unregister(dz);
        malloc_zone_register(dz);
        if (purgeable) {
            malloc_zone_unregister(purgeable);
            malloc_zone_register(purgeable);
        }
    }
    zt_prim_message("could not become the default zone after %d attempts", PROMOTE_TRIES);
    return system_zone0() == ours;
}

ZT_EXPORT int zt_install(void)
{
    zt_lock(&install_lock);
    if (install_state == 0) {
        install_state = -1;
        if (zt_init()) {
            malloc_zone_t *ours = zt_default_zone();
            malloc_zone_t *all[ZT_MAX_ZONES];
            unsigned n = zt_registry_zones(all, ZT_MAX_ZONES);
            malloc_zone_t *helper = n > 1 && all[1] != ours ? all[1] : NULL;
            zt_szone_foreign_free = free;
            zt_szone_foreign_realloc = realloc;
            if (promote(ours, helper)) install_state = 1;
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
