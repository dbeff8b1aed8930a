/* ----------------------------------------------------------------------------
 * nano_scene.h — helpers shared by the test_nano_*.c fidelity tests (not a
 * test itself: the CMake globs test_*.c).
 *
 * On ios12-2gb (nano v2, one 512 MiB region, no thread caches) one thread
 * pinned to one CPU has one current block per class, so which block a
 * request gets is deterministic. The tests use the 240 B class (14): one
 * unit, i.e. 64 blocks of 68 slots per arena (libmalloc-166.220.1
 * src/nanov2_malloc.c:136-153, 177-194). zonetrace's ASLR block cookie is 0,
 * so a block's logical index is its address bits 14..25.
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_NANO_SCENE_H
#define ZT_TEST_NANO_SCENE_H

#include "../pin.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../check.h"
#include "nano.h"
#include "registry.h"

#define NS_SIZE  240
#define NS_CLASS 14
#define NS_SLOTS 68 /* 16384 / 240 */
#define NS_BLOCK ((uintptr_t)16384)
#define NS_MAX   200000

static void **ns_live; /* allocated blocks, in order (mmap: no malloc) */
static size_t ns_n;

static inline bool ns_init(void)
{
    ns_live = mmap(NULL, NS_MAX * sizeof(void *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return ns_live != MAP_FAILED && pin_to_one_cpu();
}

static inline uintptr_t ns_blk(const void *p)
{
    return (uintptr_t)p & ~(NS_BLOCK - 1);
}

/* Arena number inside the region and logical block index inside the arena. */
static inline unsigned ns_arena(const void *p)
{
    return (unsigned)((uintptr_t)p >> 26) & 7;
}
static inline unsigned ns_index(const void *p)
{
    return (unsigned)((uintptr_t)p >> 14) & 4095;
}

static inline malloc_zone_t *ns_zone(void)
{
    return zt_registry_slots[0];
}

static inline bool ns_delegated(void)
{
    return zt_nano_class_delegated(ns_zone(), NS_CLASS);
}

static inline void *ns_alloc(void)
{
    void *p = malloc(NS_SIZE);
    if (p && ns_n < NS_MAX) ns_live[ns_n++] = p;
    return p;
}

/* Allocate `count` blocks; false if any failed or left nano. */
static inline bool ns_alloc_n(size_t count)
{
    for (size_t i = 0; i < count; i++) {
        void *p = ns_alloc();
        if (!p || !zt_nano_contains(p)) return false;
    }
    return true;
}

/* The `k`-th (0-based) allocated pointer whose block has logical index
 * `index` in arena `arena`: finds the block's address. */
static inline uintptr_t ns_block_at(unsigned arena, unsigned index)
{
    for (size_t i = 0; i < ns_n; i++)
        if (ns_live[i] && ns_arena(ns_live[i]) == arena && ns_index(ns_live[i]) == index)
            return ns_blk(ns_live[i]);
    return 0;
}

/* Free `count` live slots of block blk; returns how many were freed. */
static inline size_t ns_free_in(uintptr_t blk, size_t count)
{
    size_t done = 0;
    for (size_t i = 0; i < ns_n && done < count; i++)
        if (ns_live[i] && ns_blk(ns_live[i]) == blk) {
            free(ns_live[i]);
            ns_live[i] = NULL;
            done++;
        }
    return done;
}

#endif /* ZT_TEST_NANO_SCENE_H */
