/* ----------------------------------------------------------------------------
 * chunkmap.c — the address → owner table (see chunkmap.h).
 *
 * 2^27 owner pointers (one per 1 MiB chunk of the 47-bit user space) in one
 * 1 GiB MAP_NORESERVE mapping: untouched pages cost nothing, and a page of
 * the table covers 512 MiB of address space, so a process with a few regions
 * keeps a few table pages resident. Reads are one acquire load (inline in
 * the header); writes are release stores, so a reader that sees an owner also
 * sees everything the owner's creator wrote before registering it.
 * -------------------------------------------------------------------------- */
#include "chunkmap.h"

#define CHUNKMAP_ENTRIES ((size_t)1 << (47 - ZT_CHUNK_SHIFT))
#define CHUNKMAP_BYTES   (CHUNKMAP_ENTRIES * sizeof(zt_owner_t *))

zt_owner_t **zt_chunkmap_table;

bool zt_chunkmap_init(void)
{
    if (__atomic_load_n(&zt_chunkmap_table, __ATOMIC_ACQUIRE)) return true;
    zt_owner_t **t = zt_prim_map(CHUNKMAP_BYTES);
    if (!t) return false;
    /* Several threads may race here; the loser gives its mapping back. */
    zt_owner_t **expected = NULL;
    if (!__atomic_compare_exchange_n(&zt_chunkmap_table, &expected, t, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        zt_prim_unmap(t, CHUNKMAP_BYTES);
    return true;
}

void zt_chunkmap_set(uintptr_t base, size_t bytes, zt_owner_t *owner)
{
    if (!zt_chunkmap_init()) {
        zt_prim_message("cannot map the chunk map (%zu MiB of address space)",
                        CHUNKMAP_BYTES >> 20);
        zt_prim_abort();
    }
    zt_owner_t **t = __atomic_load_n(&zt_chunkmap_table, __ATOMIC_ACQUIRE);
    uintptr_t first = base >> ZT_CHUNK_SHIFT;
    uintptr_t end = (base + bytes + ((uintptr_t)1 << ZT_CHUNK_SHIFT) - 1) >> ZT_CHUNK_SHIFT;
    if (end > CHUNKMAP_ENTRIES) end = CHUNKMAP_ENTRIES;
    for (uintptr_t i = first; i < end; i++)
        __atomic_store_n(&t[i], owner, __ATOMIC_RELEASE);
}
