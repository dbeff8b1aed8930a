/* ----------------------------------------------------------------------------
 * promote.c — the default-zone takeover (promote.h), portable: every registry
 * operation comes through zt_promote_registry_t, so the same steps run
 * against Apple's libmalloc (front/darwin.c) and, in the tests, against
 * zonetrace's libmalloc-compatible registry.
 *
 * Steps (reference/darwin_override.md §9 step 5, the order jemalloc's
 * zone_promote uses):
 * 1. Create the purgeable zone first: libmalloc builds it on a scalable zone
 *    it picks at creation, in 166 by name — the first "MallocHelperZone",
 *    else "DefaultMallocZone" in registry order (libmalloc-166.220.1
 *    src/malloc.c:977-1003, 1058-1076), names zonetrace's zones carry too;
 *    792.41.1 :3552-3594 takes the initial scalable zone. So it must exist
 *    before ours is registered (§1 item 7).
 * 2. Refuse unless zone 0 is "DefaultMallocZone": ASan and others replace
 *    zone 0 with their own (166 :512-516, 792 :1223-1225); they own malloc.
 * 3. Install the foreign-pointer handoff, then register the helper and ours
 *    (appended: 166 :668, 792 :1399).
 * 4. Up to ZT_PROMOTE_TRIES rounds: unregister zone 0 — the last zone, ours,
 *    moves into its slot (166 :1657-1660, 792 :2991-2994) — and register it
 *    again (appended, so the blocks it owns stay freeable: §10 item 9); the
 *    same for the purgeable zone, so that it sits after ours (§1 item 7:
 *    "a purgeable zone before the default thinks it owns its pointers").
 * -------------------------------------------------------------------------- */
#include "promote.h"
#include "szone.h"

#include <string.h>

static bool is_default_name(const malloc_zone_t *z)
{
    return z->zone_name && strcmp(z->zone_name, ZT_PROMOTE_DEFAULT_NAME) == 0;
}

zt_promote_result_t zt_promote(const zt_promote_registry_t *reg, malloc_zone_t *ours,
                               malloc_zone_t *helper, unsigned *tries_out)
{
    unsigned tries = 0;
    if (tries_out) *tries_out = 0;
    malloc_zone_t *purgeable = reg->purgeable ? reg->purgeable() : NULL; /* step 1 */
    malloc_zone_t *dz = reg->zone0();
    if (!dz) {
        zt_prim_message("the zone registry has no default zone: not installing");
        return ZT_PROMOTE_NO_ZONES;
    }
    if (dz == ours) return ZT_PROMOTED; /* done before */
    if (!is_default_name(dz)) {         /* step 2 */
        zt_prim_message("the default zone is %s, not libmalloc's: not installing",
                        dz->zone_name ? dz->zone_name : "unnamed");
        return ZT_PROMOTE_REFUSED;
    }
    if (reg->foreign_free) zt_szone_foreign_free = reg->foreign_free; /* step 3 */
    if (reg->foreign_realloc) zt_szone_foreign_realloc = reg->foreign_realloc;
    if (helper && helper != ours) reg->zone_register(helper);
    reg->zone_register(ours);
    while (tries < ZT_PROMOTE_TRIES) { /* step 4 */
        dz = reg->zone0();
        if (dz == ours || !dz) break;
        tries++;
        reg->zone_unregister(dz);
        reg->zone_register(dz);
        if (purgeable && purgeable != dz) {
            reg->zone_unregister(purgeable);
            reg->zone_register(purgeable);
        }
    }
    if (tries_out) *tries_out = tries;
    if (reg->zone0() == ours) return ZT_PROMOTED;
    zt_prim_message("could not become the default zone after %u attempts", tries);
    return ZT_PROMOTE_GAVE_UP;
}
