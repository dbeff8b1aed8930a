/* ----------------------------------------------------------------------------
 * zone.h — types shared by the allocator's modules (internal).
 *
 * Object model:
 *   process ─ registry (registry.c): the malloc_zone_t list, zone 0 = default
 *     └ zone: a nano zone (nano.c, "DefaultMallocZone") fronting a scalable
 *             helper, or a scalable zone (szone.c), or (iOS 18+ profiles) an
 *             xzone zone (xzone.c, alone or as nano's helper) — every
 *             malloc_create_zone zone is scalable
 *         └ scalable zone = tiny rack + small rack (+ medium rack) + large table
 *             └ rack (rack.c) = one magazine per CPU + depot, owning regions
 *                 └ region: 1 MiB (tiny) / 8 MiB (small) / 128 MiB (medium),
 *                   aligned to its size, mapped from the address space (va.c)
 *
 * Ownership of a pointer: zt_chunkmap_get(p) gives the owner object of the
 * 1 MiB chunk holding p (a rack or a nano zone), or NULL; blocks in no chunk
 * are large blocks, found in their zone's large table.
 * -------------------------------------------------------------------------- */
#ifndef ZT_ZONE_H
#define ZT_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "zonetrace/malloc_zone.h"
#include "compiler.h"
#include "sizeclass.h"
#include "profile.h"
#include "options.h"
#include "prim/prim.h"

/* Every object registered in the chunk map starts with this header. */
typedef struct zt_owner {
    uint8_t kind;        /* enum zt_kind: NANO, TINY, SMALL, MEDIUM, XZ_DATA or XZ_PTR */
    malloc_zone_t *zone; /* the malloc_zone_t the blocks belong to */
} zt_owner_t;

/* Internal heap walker, used by the introspection enumerator, statistics,
 * the profiler's address-space charge and the reports. Callbacks run with
 * the walked rack/region locked: they must not allocate or call into the
 * allocator. A region callback precedes the blocks inside it; a large block
 * is reported as a region of kind LARGE followed by one block. */
typedef struct zt_walker {
    void (*region)(void *ctx, malloc_zone_t *zone, enum zt_kind kind, uintptr_t base, size_t bytes,
                   size_t used_bytes);
    void (*block)(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag);
    void (*admin)(void *ctx, uintptr_t addr, size_t bytes); /* metadata ranges; may be NULL */
    void *ctx;
} zt_walker_t;

/* Initialise the allocator (idempotent, thread-safe; called lazily by every
 * entry point). Returns false only while initialisation is in progress on
 * this thread (a recursive call); callers then use the bootstrap arena. */
bool zt_init(void);
extern int zt_initialised; /* 1 once zt_init() completed */

/* Zone of the process default (zone 0 of the registry). */
malloc_zone_t *zt_default_zone(void);

/* Bootstrap arena (init.c): a bump allocator in .bss serving the calls made
 * re-entrantly while zt_init() runs on this thread. Its blocks are never
 * reused: free() recognises and ignores them. */
void *zt_bootstrap_malloc(size_t bytes, size_t align_bytes);
bool zt_bootstrap_contains(const void *p);
size_t zt_bootstrap_size(const void *p); /* usable bytes of a bootstrap block */

#endif /* ZT_ZONE_H */
