/* ----------------------------------------------------------------------------
 * aslr.h — libmalloc's region ASLR on iOS 12 arm64, as numbers: the seed that
 * stands in for the kernel's malloc_entropy, and the entropic hint and limit
 * that mvm_aslr_init derives from it. Header-only and dependency-free, so
 * that the zone (va.c places regions with it) and the CLI (`zonetrace run
 * --seeds` prints each seed's hint) compute the same values.
 *
 * The kernel hands libmalloc two random 64-bit words (apple[] "malloc_entropy=");
 * we derive malloc_entropy[1] from ZONETRACE_SEED with splitmix64 so that
 * consecutive seeds sample the 7 entropic bits evenly, as devices do. The
 * default seed is 0 (zone/options.h): fixed so that runs repeat, and the
 * first seed `zonetrace run --seeds N` runs (0..N-1), so a plain run is the
 * first line of every spread. Seed 0 has entropic bits 47: regions start
 * 29 MiB above the bottom of window 0.
 * -------------------------------------------------------------------------- */
#ifndef ZT_ASLR_H
#define ZT_ASLR_H

#include <stdint.h>

/* xnu-4903.221.2 bsd/arm/vmparam.h:11 and :26 (arm64 user stack top, max stack). */
#define ZT_IOS_USRSTACK64 0x000000016FE00000ull
#define ZT_IOS_MAXSSIZ    (1024ull * 1024)
/* xnu-4903.221.2 osfmk/mach/shared_region.h:77-78. */
#define ZT_IOS_SHARED_REGION_BASE 0x180000000ull
#define ZT_IOS_SHARED_REGION_SIZE 0x100000000ull
/* End of the nano region: "end of shared region + 512MB" (xnu-4903.221.2
 * osfmk/arm/pmap.c:9874; the nano region starts at SHARED_REGION_BASE +
 * SHARED_REGION_SIZE, libmalloc-166.220.1 src/nano_zone_common.h:38, and is
 * 512 MiB, src/nanov2_zone.h:41-44). */
#define ZT_IOS_NANO_END (ZT_IOS_SHARED_REGION_BASE + ZT_IOS_SHARED_REGION_SIZE + 0x20000000ull)

/* libmalloc-166.220.1 src/vm.c:32 (ENTROPIC_KABILLION), :35-36 (ENTROPIC_SHIFT
 * 25 on 64-bit iOS), :52-55 (7 entropic bits on arm64). */
#define ZT_ENTROPIC_KABILLION 0x10000000ull
#define ZT_ENTROPIC_SHIFT     25
#define ZT_ENTROPIC_BITS      7

/* malloc_entropy[1] for a seed (splitmix64: a bijection, so distinct seeds
 * give distinct words). */
static inline uint64_t zt_aslr_entropy(uint64_t seed)
{
    uint64_t x = seed + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The entropic bits mvm_aslr_init uses: malloc_entropy[1] & 127. */
static inline unsigned zt_aslr_entropic_bits(uint64_t seed)
{
    return (unsigned)(zt_aslr_entropy(seed) & ((1u << ZT_ENTROPIC_BITS) - 1));
}

/* entropic_limit = USRSTACK64 - MAXSSIZ - (bits << 25), entropic_address =
 * entropic_limit - 256 MiB (libmalloc-166.220.1 src/vm.c:68-70). */
static inline uint64_t zt_aslr_entropic_limit(uint64_t seed)
{
    return ZT_IOS_USRSTACK64 - ZT_IOS_MAXSSIZ -
           ((uint64_t)zt_aslr_entropic_bits(seed) << ZT_ENTROPIC_SHIFT);
}
static inline uint64_t zt_aslr_entropic_address(uint64_t seed)
{
    return zt_aslr_entropic_limit(seed) - ZT_ENTROPIC_KABILLION;
}

#endif /* ZT_ASLR_H */
