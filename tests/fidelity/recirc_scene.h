/* ----------------------------------------------------------------------------
 * recirc_scene.h — the tiny-rack scene shared by test_recirc_candidate.c and
 * test_recirc_depot_splice.c (not a test itself: the CMake globs test_*.c).
 *
 * One thread pinned to one CPU allocates 512 B blocks (32 quanta: tiny, and
 * above the 16-quanta last-free cache, libmalloc-166.220.1
 * src/magazine_tiny.c:2103) under ios12-2gb (no thread caches) with two
 * magazines (a single magazine never recirculates, magazine_tiny.c:934-937),
 * so every block comes from one magazine in a fixed order. Regions are told
 * apart by address (1 MiB aligned, magazine_tiny.c:1992). A free-list probe
 * tells whether a region is still in the magazine: its holes are the only
 * exact 32-quanta free blocks, so malloc(512) takes one of them while the
 * region is there (exact slot first, magazine_tiny.c:1718-1760).
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_RECIRC_SCENE_H
#define ZT_TEST_RECIRC_SCENE_H

#include "../pin.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../check.h"

#define SC_BLOCK  512
#define SC_REGION ((uintptr_t)1 << 20)
#define SC_MAX    20000 /* live blocks tracked */
#define SC_NREG   8

static void **sc_live; /* every live block of the scene (mmap: no malloc) */
static size_t sc_nlive;
static uintptr_t sc_reg[SC_NREG]; /* regions in order of first use */
static unsigned sc_nreg;

static inline uintptr_t sc_base(const void *p)
{
    return (uintptr_t)p & ~(SC_REGION - 1);
}

/* Index of p's region in sc_reg, adding it if new; -1 when too many. */
static int sc_region(const void *p)
{
    for (unsigned i = 0; i < sc_nreg; i++)
        if (sc_reg[i] == sc_base(p)) return (int)i;
    if (sc_nreg == SC_NREG) return -1;
    sc_reg[sc_nreg] = sc_base(p);
    return (int)sc_nreg++;
}

static void *sc_malloc(void)
{
    void *p = malloc(SC_BLOCK);
    if (p && sc_nlive < SC_MAX) sc_live[sc_nlive++] = p;
    return p;
}

static int sc_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

/* The live blocks of region r sorted by address, into out (mmap'd by the
 * caller, SC_MAX entries); returns their count. */
static size_t sc_blocks_of(unsigned r, void **out)
{
    size_t n = 0;
    for (size_t i = 0; i < sc_nlive; i++)
        if (sc_live[i] && sc_base(sc_live[i]) == sc_reg[r]) out[n++] = sc_live[i];
    qsort(out, n, sizeof *out, sc_cmp);
    return n;
}

static void sc_free(void *p)
{
    for (size_t i = 0; i < sc_nlive; i++)
        if (sc_live[i] == p) {
            sc_live[i] = NULL;
            break;
        }
    free(p);
}

/* Free the blocks of region r whose index (by address) i has i % 10 in
 * the digits of `pattern` (e.g. "036"). */
static void sc_free_pattern(unsigned r, const char *pattern, void **tmp)
{
    size_t n = sc_blocks_of(r, tmp);
    for (size_t i = 0; i < n; i++)
        for (const char *d = pattern; *d; d++)
            if ((int)(i % 10) == *d - '0') sc_free(tmp[i]);
}

/* Free the first `percent` % of region r's blocks in address order (one
 * coalesced span). */
static void sc_free_prefix(unsigned r, unsigned percent, void **tmp)
{
    size_t n = sc_blocks_of(r, tmp);
    for (size_t i = 0; i < n * percent / 100; i++)
        sc_free(tmp[i]);
}

/* The scene up to the first recirculation: regions R0..R4 full (R4 at about
 * 90 %), R1 with isolated 32-quanta holes (30 % free: under 75 % used, a
 * candidate), R3 with 96-quanta holes (30 %), then R2 freed in address order
 * to 95 %: it becomes a candidate too, and the magazine crosses "free > 1.5
 * regions and used < 75 %" (magazine_tiny.c:954-958) while R2 is freed.
 * libmalloc sends the first candidate in list order (R0, R1, R2, ... : the
 * order the regions were mapped in, magazine_tiny.c:1174), R1. Returns false
 * (after a CHECK) if the scene could not be built. */
static bool sc_build(void **tmp)
{
    sc_live = mmap(NULL, SC_MAX * sizeof(void *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(sc_live != MAP_FAILED, "mmap");
    size_t extra = 0;
    while (sc_nlive < SC_MAX - 1) {
        void *p = sc_malloc();
        int r = p ? sc_region(p) : -1;
        if (r < 0) break;
        if (r == 4 && ++extra == 1800) break;
    }
    CHECK(sc_nreg == 5 && extra == 1800, "filled %u regions (%zu blocks in the last)", sc_nreg,
          extra);
    if (sc_nreg != 5 || extra != 1800) return false;
    sc_free_pattern(1, "036", tmp);
    sc_free_pattern(3, "012", tmp);
    sc_free_prefix(2, 95, tmp);
    return true;
}

/* Whether region r still lends its exact 32-quanta holes: one malloc(512)
 * (kept live) lands there. */
static bool sc_probe_in(unsigned r, void **got)
{
    void *p = sc_malloc();
    *got = p;
    return p && sc_base(p) == sc_reg[r];
}

#endif /* ZT_TEST_RECIRC_SCENE_H */
