/* ----------------------------------------------------------------------------
 * registry.h — the process's zone list (libmalloc's malloc_zones) and the
 * internal lookups behind malloc_zone_from_ptr, free and realloc. The public
 * malloc_zone_* functions are declared in include/zonetrace/malloc_zone.h.
 *
 * The registry is three files: registry.c (the zone list, registration,
 * owner lookup, fork), zone_api.c (the public malloc_zone_* API and
 * malloc_logger, libmalloc's free() and realloc()) and virtual_zone.c (the
 * virtual default zone). The second half of this header is what they share.
 * -------------------------------------------------------------------------- */
#ifndef ZT_REGISTRY_H
#define ZT_REGISTRY_H

#include "zone.h"

#define ZT_MAX_ZONES 64

/* Install the default zone as zone 0 (and its helper as zone 1). */
void zt_registry_init(malloc_zone_t *zone0, malloc_zone_t *helper);

/* Real zone owning ptr and its size, or NULL (size 0). Fast path: chunk
 * map, then the registered zones' size() in order. */
malloc_zone_t *zt_registry_find(const void *ptr, size_t *size_out);

/* Snapshot of the registered zones (for walks); returns the count. */
unsigned zt_registry_zones(malloc_zone_t **out, unsigned cap);

/* Walk any zone (nano or scalable). */
void zt_zone_walk(malloc_zone_t *zone, const zt_walker_t *w);

/* Fork handlers for every zone (registered by zt_init). */
void zt_registry_fork_prepare(void);
void zt_registry_fork_parent(void);
void zt_registry_fork_child(void);

/* Print per-zone statistics to stderr (ZONETRACE_VERBOSE at exit). */
void zt_registry_print_statistics(void);

/* libmalloc's free() and realloc() (find the owner, log, dispatch; realloc
 * of size 0 returns a minimal block and frees ptr). Used by the front ends
 * on their slow paths (foreign or large pointers, malloc_logger set). */
void zt_registry_free(void *ptr);
void *zt_registry_realloc(void *ptr, size_t bytes);

/* ---- shared by registry.c, zone_api.c and virtual_zone.c ------------------- */

#if defined(__APPLE__)
/* Darwin: libmalloc owns the public zone API and malloc_logger (it logs
 * around its own wrappers); these definitions stay inside the library and
 * serve zonetrace's own registry of its zones. */
#define ZT_API ZT_HIDDEN
#else
#define ZT_API ZT_EXPORT
#endif

/* The state below is owned by registry.c and virtual_zone.c. It is visible
 * to the three files (and ZT_HIDDEN, so accessed PC-relative, not through
 * the GOT) so that reading zone 0 or the virtual zone's address costs one
 * load or none, as it did when the registry was one file: realloc and
 * free's slow path read them on every call. Only registry.c writes them. */
ZT_HIDDEN extern malloc_zone_t *zt_registry_slots[ZT_MAX_ZONES]; /* [0] = the default zone */
ZT_HIDDEN extern malloc_zone_t *zt_registry_initial_default; /* zone 0 as zt_init installed it */
ZT_HIDDEN extern malloc_zone_t *zt_registry_initial_helper;  /* its helper when it is a nano zone */

/* The virtual default zone (what malloc_default_zone() returns), alone on
 * its own page(s) (libmalloc's __DATA,__v_zone padded to PAGE_MAX_SIZE):
 * malloc_set_zone_name may make them read-only. Its storage is twice that in
 * .bss, the zone at the first ZT_VZONE_BYTES boundary inside it: an object
 * aligned to 16 KiB made the linker give .bss a segment of its own, an ELF
 * layout valgrind cannot read (our frames showed as ??? in its reports and
 * in callgrind). Defined in virtual_zone.c. */
#define ZT_VZONE_BYTES (16u << 10) /* PAGE_MAX_SIZE: the page(s) set_zone_name protects */
ZT_HIDDEN extern char zt_registry_vzone_space[2 * ZT_VZONE_BYTES];
void zt_registry_vzone_fill(void); /* zt_registry_init's (virtual_zone.c) */

/* The virtual default zone: malloc_default_zone() without initialising. */
static inline malloc_zone_t *zt_registry_virtual_zone(void)
{
    uintptr_t a = (uintptr_t)zt_registry_vzone_space + ZT_VZONE_BYTES - 1;
    return (malloc_zone_t *)(a & ~(uintptr_t)(ZT_VZONE_BYTES - 1));
}

/* False only while zt_init runs on this thread: use the bootstrap arena. */
static inline bool zt_registry_ready(void)
{
    return zt_likely(zt_initialised) || zt_init();
}

/* The zone libmalloc's find_registered_zone would name: the virtual zone for
 * the default zone's pointers (nano's size() claims its helper's too). */
static inline malloc_zone_t *zt_registry_public_zone(malloc_zone_t *z)
{
    if (z && zt_registry_slots[0] == zt_registry_initial_default &&
        (z == zt_registry_initial_default || z == zt_registry_initial_helper))
        return zt_registry_virtual_zone();
    return z;
}

#endif /* ZT_REGISTRY_H */
