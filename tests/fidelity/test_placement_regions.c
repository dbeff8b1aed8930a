/* ----------------------------------------------------------------------------
 * test_placement_regions.c — where the whole library's regions land on an
 * emulated iOS 12 device (ios12-2gb), per ZONETRACE_SEED.
 *
 * libmalloc-166.220.1 src/vm.c:41-80 (mvm_aslr_init: entropic_limit =
 * USRSTACK64 - MAXSSIZ - (malloc_entropy[1] & 127) << 25, entropic_address =
 * limit - 256 MiB) and :161-220 (mvm_allocate_pages_securely: tiny and small
 * regions, magazine_tiny.c:1992, magazine_small.c:1941, mapped ANYWHERE from
 * that hint); src/vm.c:113 and magazine_large.c:466 (large blocks: hint one
 * page, bottom-up). xnu-4903.221.2 bsd/arm/vmparam.h:11,26 (USRSTACK64
 * 0x16FE00000, MAXSSIZ 1 MiB), osfmk/mach/shared_region.h:77 (window 0 ends at
 * SHARED_REGION_BASE 0x1_8000_0000), osfmk/vm/vm_map.c:2331-2547 (ANYWHERE:
 * first aligned hole at or above the hint; below the map's holes, the
 * first hole).
 *
 * Seed 6 draws entropic bits 0: hint 0x1_5FD0_0000, so the first tiny
 * region lands there and the first small region at the next 8 MiB boundary,
 * 0x1_6000_0000. Seed 1 draws bits 65: the hint lies below window 0 and
 * regions start at its bottom. Large blocks start at the bottom either way.
 * Each seed runs in a child (the seed is read when the library starts).
 * -------------------------------------------------------------------------- */
#include "va.h"
#include "aslr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../rerun.h"

#define MiB    ((uint64_t)1 << 20)
#define W0_DEV 0x100000000ull /* SHARED_REGION_BASE - 2 GiB */

typedef struct lowest {
    uint64_t dev[ZT_KIND_COUNT]; /* lowest device address of each kind, 0 none */
} lowest_t;

static void visit(void *ctx, uintptr_t base, size_t bytes, int kind)
{
    (void)bytes;
    lowest_t *l = ctx;
    if (kind < 0 || kind >= ZT_KIND_COUNT) return;
    uint64_t d = zt_va_device_address((const void *)base);
    if (d && (l->dev[kind] == 0 || d < l->dev[kind])) l->dev[kind] = d;
}

static int child(void)
{
    const char *s = getenv("ZONETRACE_SEED");
    REQUIRE(s != NULL, "no ZONETRACE_SEED in the child");
    long seed = atol(s);
    void *tiny = malloc(512), *small = malloc(4000), *large = malloc(1 << 20);
    REQUIRE(tiny && small && large, "malloc failed");
    memset(tiny, 1, 512);
    zt_va_placement_t pl;
    zt_va_get_placement(&pl);
    CHECK(pl.entropic && pl.seed == (uint64_t)seed, "ios12-2gb places entropically, seed %ld",
          seed);
    CHECK(pl.entropic_bits == zt_aslr_entropic_bits((uint64_t)seed), "bits %u", pl.entropic_bits);
    lowest_t l;
    memset(&l, 0, sizeof l);
    zt_va_walk(visit, &l);
    /* Large blocks from the bottom: the lowest hole, whatever the seed (with
     * seed 1 the first tiny region took the bottom first). */
    CHECK(l.dev[ZT_KIND_LARGE] >= W0_DEV && l.dev[ZT_KIND_LARGE] < W0_DEV + 64 * MiB,
          "seed %ld: lowest large block at %#llx, not at the bottom", seed,
          (unsigned long long)l.dev[ZT_KIND_LARGE]);
    if (seed == 6) {
        CHECK(pl.entropic_bits == 0, "seed 6 draws bits %u", pl.entropic_bits);
        CHECK(l.dev[ZT_KIND_TINY] == 0x15FD00000ull, "seed 6: first tiny region at %#llx",
              (unsigned long long)l.dev[ZT_KIND_TINY]);
        CHECK(l.dev[ZT_KIND_LARGE] == W0_DEV, "seed 6: first large block at %#llx",
              (unsigned long long)l.dev[ZT_KIND_LARGE]);
        CHECK(l.dev[ZT_KIND_SMALL] == 0x160000000ull, "seed 6: first small region at %#llx",
              (unsigned long long)l.dev[ZT_KIND_SMALL]);
    } else if (seed == 1) {
        CHECK(pl.entropic_bits == 65, "seed 1 draws bits %u", pl.entropic_bits);
        CHECK(pl.entropic_address < W0_DEV, "seed 1: hint %#llx below window 0",
              (unsigned long long)pl.entropic_address);
        CHECK(l.dev[ZT_KIND_TINY] >= W0_DEV && l.dev[ZT_KIND_TINY] < W0_DEV + 64 * MiB,
              "seed 1: first tiny region at %#llx, the bottom of window 0",
              (unsigned long long)l.dev[ZT_KIND_TINY]);
    }
    free(tiny);
    free(small);
    free(large);
    return CHECK_DONE("test_placement_regions child");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return child();
    CHECK_CASE("seed 6: tiny at the hint 0x1_5FD0_0000, small at 0x1_6000_0000")
    {
        setenv("ZONETRACE_SEED", "6", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    CHECK_CASE("seed 1: hint below window 0, regions from the bottom")
    {
        setenv("ZONETRACE_SEED", "1", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_placement_regions");
}
