/* ----------------------------------------------------------------------------
 * registry.c — libmalloc's zone list (malloc.c's malloc_zones[]): zone
 * registration and unregistration, the lock-free readers of the list, owner
 * lookup, walks and fork locking of every zone.
 *
 * Invariants (reference/libmalloc.md §4.3, §7):
 * - zt_registry_slots[0] is the real default zone (nano "DefaultMallocZone" fronting
 *   zone 1 "MallocHelperZone", or a scalable zone). The virtual zone
 *   malloc_default_zone() returns (virtual_zone.c) is never registered.
 * - Registration appends, unregistration swap-removes. Slots are published
 *   before the count, so lock-free readers never see an unset slot; readers
 *   past zone 0 hold one of two generation counters ("FRZ") that an
 *   unregister flips and drains, so a zone is never destroyed under a
 *   reader's size() call.
 * - Owner lookup: the chunk map first (one load: the region's rack or nano
 *   zone), then every zone's size() in registration order (large blocks,
 *   zones that are not ours).
 * -------------------------------------------------------------------------- */
#include "registry.h"
#include "xzone.h"
#include "chunkmap.h"
#include "nano.h"
#include "rack.h"
#include "szone.h"
#include "va.h"

malloc_zone_t *zt_registry_slots[ZT_MAX_ZONES];
malloc_zone_t *zt_registry_initial_default;
malloc_zone_t *zt_registry_initial_helper;

static unsigned num_zones;
static zt_lock_t registry_lock = ZT_LOCK_INIT;
static unsigned frz_readers[2];
static unsigned frz_gen;

malloc_zone_t *zt_default_zone(void)
{
    return zt_registry_slots[0];
}

/* ---- lock-free readers ------------------------------------------------------ */

/* A reader past zone 0 counts itself in the current generation; returns
 * the generation to pass to frz_exit. */
static inline unsigned frz_enter(void)
{
    unsigned gen = __atomic_load_n(&frz_gen, __ATOMIC_SEQ_CST) & 1;
    __atomic_add_fetch(&frz_readers[gen], 1, __ATOMIC_SEQ_CST);
    return gen;
}

static inline void frz_exit(unsigned gen)
{
    __atomic_sub_fetch(&frz_readers[gen], 1, __ATOMIC_RELEASE);
}

/* Wait until no reader of the generation before this call remains. */
static void drain_readers(void)
{
    unsigned old = __atomic_fetch_add(&frz_gen, 1, __ATOMIC_SEQ_CST) & 1;
    while (__atomic_load_n(&frz_readers[old], __ATOMIC_SEQ_CST) != 0)
        zt_prim_yield();
}

/* ---- lookup -------------------------------------------------------------- */

static malloc_zone_t *scan_zones(const void *ptr, size_t *size_out)
{
    malloc_zone_t *z0 = zt_registry_slots[0];
    size_t s;
    if (z0 && (s = z0->size(z0, ptr)) != 0) {
        *size_out = s;
        return z0;
    }
    unsigned gen = frz_enter();
    malloc_zone_t *found = NULL;
    unsigned n = __atomic_load_n(&num_zones, __ATOMIC_SEQ_CST);
    for (unsigned i = 1; i < n; i++) {
        malloc_zone_t *z = __atomic_load_n(&zt_registry_slots[i], __ATOMIC_ACQUIRE);
        if (z && (s = z->size(z, ptr)) != 0) {
            *size_out = s;
            found = z;
            break;
        }
    }
    frz_exit(gen);
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
            s = o->kind == ZT_KIND_NANO  ? z->size(z, ptr)
                : ZT_KIND_IS_XZ(o->kind) ? zt_xzone_size_owned(o, ptr)
                                         : zt_rack_size((zt_rack_t *)o, ptr);
            if (!s) z = NULL;
            /* the last MiB of a huge xzone chunk may hold another zone's large block */
            if (!s && ZT_KIND_IS_XZ(o->kind)) z = scan_zones(ptr, &s);
        } else {
            z = scan_zones(ptr, &s);
        }
    }
    if (size_out) *size_out = s;
    return z;
}

unsigned zt_registry_zones(malloc_zone_t **out, unsigned cap)
{
    zt_lock(&registry_lock);
    unsigned n = num_zones < cap ? num_zones : cap;
    for (unsigned i = 0; i < n; i++)
        out[i] = zt_registry_slots[i];
    zt_unlock(&registry_lock);
    return n;
}

void zt_zone_walk(malloc_zone_t *zone, const zt_walker_t *w)
{
    if (zone == zt_registry_virtual_zone()) zone = zt_registry_slots[0];
    if (zt_szone_is(zone))
        zt_szone_walk(zone, w);
    else if (zt_xzone_is(zone))
        zt_xzone_walk(zone, w);
    else if (zone && zone == zt_registry_initial_default && zt_registry_initial_helper)
        zt_nano_walk(zone, w);
}

/* ---- registration -------------------------------------------------------- */

void zt_registry_init(malloc_zone_t *zone0, malloc_zone_t *helper)
{
    zt_registry_vzone_fill();
    zt_lock(&registry_lock);
    zt_registry_slots[0] = zone0;
    unsigned n = 1;
    if (helper && helper != zone0) zt_registry_slots[n++] = helper;
    zt_registry_initial_default = zone0;
    zt_registry_initial_helper = helper != zone0 ? helper : NULL;
    __atomic_store_n(&num_zones, n, __ATOMIC_SEQ_CST);
    zt_unlock(&registry_lock);
}

/* Appends (libmalloc-166.220.1 src/malloc.c:668, libmalloc-792.41.1 :1399); a zone already
 * registered is refused with libmalloc's message (166 :616-622, 792 :1337-1343). The
 * default-zone takeover (zone/promote.c) depends on both. */
ZT_API void malloc_zone_register(malloc_zone_t *zone)
{
    if (!zone || !zt_registry_ready()) return;
    zt_lock(&registry_lock);
    for (unsigned i = 0; i < num_zones; i++) {
        if (zt_registry_slots[i] == zone) {
            zt_unlock(&registry_lock);
            /* libmalloc's words: libmalloc-792.41.1 src/malloc.c:1341 */
            zt_prim_message("Attempted to register zone more than once: %p", (void *)zone);
            return;
        }
    }
    if (num_zones >= ZT_MAX_ZONES) {
        zt_unlock(&registry_lock);
        zt_prim_message("malloc_zone_register() failed: more than %d zones", ZT_MAX_ZONES);
        return;
    }
    __atomic_store_n(&zt_registry_slots[num_zones], zone, __ATOMIC_RELEASE);
    __atomic_store_n(&num_zones, num_zones + 1, __ATOMIC_SEQ_CST);
    zt_unlock(&registry_lock);
}

/* The LAST zone moves into the freed slot (166 :1657-1660, 792 :2991-2994): unregistering
 * zone 0 makes the newest zone the default, which zone/promote.c relies on. Divergence:
 * libmalloc leaves the old last slot intact for racing readers; here it is cleared, which
 * our readers skip (they test for NULL), and drain_readers waits for them either way. An
 * unknown zone: libmalloc's message (166 :1681, 792 :3019), nothing changes. */
ZT_API void malloc_zone_unregister(malloc_zone_t *zone)
{
    if (!zone || !zt_registry_ready()) return;
    zt_lock(&registry_lock);
    unsigned i = 0;
    while (i < num_zones && zt_registry_slots[i] != zone)
        i++;
    if (i == num_zones) {
        zt_unlock(&registry_lock);
        zt_prim_message("*** malloc_zone_unregister() failed for %p", (void *)zone);
        return;
    }
    unsigned last = num_zones - 1;
    __atomic_store_n(&zt_registry_slots[i], zt_registry_slots[last], __ATOMIC_RELEASE);
    __atomic_store_n(&num_zones, last, __ATOMIC_SEQ_CST);
    __atomic_store_n(&zt_registry_slots[last], NULL, __ATOMIC_RELEASE);
    drain_readers();
    zt_unlock(&registry_lock);
}

/* malloc_zones itself, in registration order, zone 0 first (166 :2275, 792 :3863): the
 * takeover reads zone 0 here, never through malloc_default_zone(). */
ZT_API kern_return_t malloc_get_all_zones(task_t task, memory_reader_t reader,
                                          vm_address_t **addresses, unsigned *count)
{
    if (!zt_registry_ready()) return KERN_FAILURE;
    if (addresses) *addresses = (vm_address_t *)zt_registry_slots;
    if (count) *count = __atomic_load_n(&num_zones, __ATOMIC_ACQUIRE);
    return KERN_SUCCESS;
}

/* Whether any registered zone claims ptr (a lock-free reader, like lookup). */
ZT_API boolean_t malloc_claimed_address(void *ptr)
{
    if (!zt_registry_ready()) return zt_bootstrap_contains(ptr);
    unsigned gen = frz_enter();
    boolean_t claimed = 0;
    unsigned n = __atomic_load_n(&num_zones, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < n && !claimed; i++) {
        malloc_zone_t *z = __atomic_load_n(&zt_registry_slots[i], __ATOMIC_ACQUIRE);
        if (!z) continue;
        /* Zones that cannot answer are assumed to claim it (libmalloc). */
        claimed = z->version < 10 || !z->claimed_address || z->claimed_address(z, ptr);
    }
    frz_exit(gen);
    return claimed;
}

/* ---- statistics -------------------------------------------------------------- */

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
        zt_registry_slots[i]->introspect->force_lock(zt_registry_slots[i]);
    zt_va_lock();
}

void zt_registry_fork_parent(void)
{
    zt_va_unlock();
    for (unsigned i = num_zones; i-- > 0;)
        zt_registry_slots[i]->introspect->force_unlock(zt_registry_slots[i]);
    zt_unlock(&registry_lock);
}

void zt_registry_fork_child(void)
{
    zt_va_reinit_lock();
    for (unsigned i = num_zones; i-- > 0;) {
        malloc_zone_t *z = zt_registry_slots[i];
        if (z->version >= 9 && z->introspect->reinit_lock)
            z->introspect->reinit_lock(z);
        else
            z->introspect->force_unlock(z);
    }
    frz_readers[0] = frz_readers[1] = 0;
    zt_lock_reinit(&registry_lock);
}
