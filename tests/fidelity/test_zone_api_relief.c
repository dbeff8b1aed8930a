/* ----------------------------------------------------------------------------
 * test_zone_api_relief.c — pressure relief returns 0 as libmalloc's does and
 * still gives memory back:
 * - szone_pressure_relief's result is always 0: the `size_t total` declared
 *   at libmalloc-166.220.1 src/magazine_malloc.c:1002 is shadowed by the one
 *   at :1183 that counts death row (792 src/magazine_malloc.c:1469 vs :1506);
 * - nanov2_pressure_relief returns 0 under the default madvise policy,
 *   immediate (166 src/nanov2_malloc.c:1135-1145);
 * - the relief still purges free pages and drops death row: after it, the
 *   pages of freed small blocks are not resident and a freed 16 MiB large
 *   block on death row is unmapped (macos-arm64, which has death row).
 * glibc's malloc_trim, which must say whether anything was released, counts
 * through zonetrace's own path and still answers 1.
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "va.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../check.h"
#include "../rerun.h"

#define KiB     ((size_t)1024)
#define MiB     (KiB * KiB)
#define NBLOCKS 8

static size_t large_mapped(void)
{
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    return vs.kind_bytes[ZT_KIND_LARGE];
}

/* Resident host pages among the whole pages of [lo, hi). */
static size_t resident_pages(uintptr_t lo, uintptr_t hi, size_t *total)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    lo = (lo + page - 1) & ~(page - 1);
    hi &= ~(page - 1);
    size_t n = hi > lo ? (hi - lo) / page : 0, res = 0;
    static unsigned char vec[4096];
    if (n > sizeof vec) n = sizeof vec;
    *total = n;
    if (n && mincore((void *)lo, n * page, vec) == 0)
        for (size_t i = 0; i < n; i++)
            res += vec[i] & 1;
    return res;
}

static void run(void)
{
    CHECK_CASE("every zone's pressure_relief returns 0 (166 magazine_malloc.c:1002 vs 1183)")
    {
        vm_address_t *zones = NULL;
        unsigned n = 0;
        malloc_get_all_zones(0, NULL, &zones, &n);
        CHECK(n >= 1, "zones: %u", n);
        for (unsigned i = 0; i < n; i++) {
            malloc_zone_t *z = (malloc_zone_t *)zones[i];
            CHECK(!z->pressure_relief || z->pressure_relief(z, 0) == 0, "zone %s returned non-zero",
                  malloc_get_zone_name(z) ? malloc_get_zone_name(z) : "?");
        }
        CHECK(malloc_zone_pressure_relief(NULL, 0) == 0, "malloc_zone_pressure_relief(NULL, 0)");
    }
    CHECK_CASE("relief still purges freed small blocks' pages")
    {
        char *b[NBLOCKS];
        for (int i = 0; i < NBLOCKS; i++) {
            b[i] = malloc(24 * KiB); /* small on macos-arm64 (<= 32 KiB) */
            REQUIRE(b[i] != NULL, "malloc(24 KiB)");
            memset(b[i], 0x11, 24 * KiB);
        }
        char *guard = malloc(24 * KiB);
        uintptr_t lo = (uintptr_t)b[0], hi = (uintptr_t)b[0];
        for (int i = 0; i < NBLOCKS; i++) {
            if ((uintptr_t)b[i] < lo) lo = (uintptr_t)b[i];
            if ((uintptr_t)b[i] + 24 * KiB > hi) hi = (uintptr_t)b[i] + 24 * KiB;
        }
        for (int i = 0; i < NBLOCKS; i++)
            free(b[i]);
        CHECK(malloc_zone_pressure_relief(NULL, 0) == 0, "relief returned non-zero");
        size_t total = 0, res = resident_pages(lo, hi, &total);
        CHECK(total >= 16 && res + 8 <= total, "%zu of %zu pages still resident after relief", res,
              total);
        free(guard);
    }
    CHECK_CASE("relief drops death row and returns 0 (166 magazine_malloc.c:1162-1190)")
    {
        size_t before = large_mapped();
        char *p = malloc(16 * MiB); /* large: medium ends at 8 MiB */
        REQUIRE(p != NULL, "malloc(16 MiB)");
        free(p);
        CHECK(large_mapped() - before == 16 * MiB, "the freed block waits on death row (%zu)",
              large_mapped() - before);
        CHECK(malloc_zone_pressure_relief(NULL, 0) == 0, "relief returned non-zero");
        CHECK(large_mapped() == before, "death row still mapped after relief (%zu)",
              large_mapped() - before);
    }
    CHECK_CASE("malloc_trim still says whether something was released")
    {
        char *p = malloc(16 * MiB);
        REQUIRE(p != NULL, "malloc(16 MiB)");
        free(p);
        CHECK(malloc_trim(0) == 1, "malloc_trim after a free onto death row");
        CHECK(malloc_trim(0) == 0, "malloc_trim with nothing left");
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        run();
        return CHECK_DONE("test_zone_api_relief (macos-arm64)");
    }
    CHECK_CASE("macos-arm64")
    {
        rerun_under_device(argv[0], "macos-arm64");
    }
    return CHECK_DONE("test_zone_api_relief");
}
