/* ----------------------------------------------------------------------------
 * chunkmap.h — address → owner, one entry per 1 MiB chunk of the address
 * space (tiny regions are the smallest aligned unit). A flat array over the
 * 47-bit user address space, reserved once and touched lazily (1 GiB virtual,
 * 8 bytes per chunk; only the pages covering used chunks become resident).
 * Lookups are one load, lock-free; writes happen under the owning rack's lock
 * when a region is mapped (before any block of it is handed out) and unmapped
 * (after its last block is gone).
 * -------------------------------------------------------------------------- */
#ifndef ZT_CHUNKMAP_H
#define ZT_CHUNKMAP_H

#include "zone.h"

#define ZT_CHUNK_SHIFT 20

/* The table (NULL until zt_chunkmap_init); read through zt_chunkmap_get. */
extern zt_owner_t **zt_chunkmap_table;

bool zt_chunkmap_init(void);

/* Set [base, base+bytes) (both multiples of 1 MiB) to owner (NULL clears). */
void zt_chunkmap_set(uintptr_t base, size_t bytes, zt_owner_t *owner);

/* Owner of the chunk holding p, or NULL. Never faults, for any p. */
static inline zt_owner_t *zt_chunkmap_get(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (zt_unlikely(a >> 47) || zt_chunkmap_table == NULL) return NULL;
    return __atomic_load_n(&zt_chunkmap_table[a >> ZT_CHUNK_SHIFT], __ATOMIC_ACQUIRE);
}

#endif /* ZT_CHUNKMAP_H */
