/* ----------------------------------------------------------------------------
 * test_large_death_row.c — death row (the large-block cache of macOS-style
 * profiles) with libmalloc-792.41.1's values, on macos-arm64:
 * - depth 16 and entries of at most 128 MiB when RAM < 32 GiB, depth 64 and
 *   at most 512 MiB when RAM >= 32 GiB; no cap on the total
 *   (792 src/thresholds.h:137-150, src/magazine_malloc.c:1757-1766). The
 *   profile has no RAM of its own, so the host's decides;
 * - a request takes the best-fitting cached block, refused when the waste is
 *   at least the request, and gets the whole cached block
 *   (792 src/magazine_large.c:552-606, 619-690).
 * Large blocks start above 8 MiB on this profile (medium ends there).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "va.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../rerun.h"

#define MiB ((size_t)1 << 20)

static size_t large_mapped(void)
{
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    return vs.kind_bytes[ZT_KIND_LARGE];
}

static void run(void)
{
    uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    bool expanded = ram >= ((uint64_t)32 << 30);
    unsigned depth = expanded ? 64 : 16;
    size_t entry_max = expanded ? 512 * MiB : 128 * MiB;

    malloc_zone_pressure_relief(NULL, 0); /* an empty death row to start from */
    CHECK_CASE("a cached block is handed out whole (792 magazine_large.c:619-690)")
    {
        char *a = malloc(16 * MiB);
        REQUIRE(a != NULL, "malloc(16 MiB)");
        void *volatile at = a;
        free(a);
        char *b = malloc(12 * MiB);
        CHECK((void *)b == at, "12 MiB reuses the 16 MiB block (%p vs %p)", (void *)b, at);
        CHECK(malloc_size(b) == 16 * MiB, "malloc_size %zu (libmalloc: the whole 16 MiB)",
              malloc_size(b));
        free(b);
        char *c = malloc(9 * MiB);
        CHECK((void *)c == at && malloc_size(c) == 16 * MiB,
              "9 MiB takes the 16 MiB block whole (waste 7 MiB < 9 MiB): %p, %zu", (void *)c,
              malloc_size(c));
        free(c);
        malloc_zone_pressure_relief(NULL, 0);
    }
    CHECK_CASE("waste >= request is refused; best fit wins (792 magazine_large.c:602-606)")
    {
        char *big = malloc(20 * MiB), *mid = malloc(12 * MiB);
        REQUIRE(big && mid, "two large blocks");
        void *volatile big_at = big, *volatile mid_at = mid;
        free(big);
        free(mid);
        char *p = malloc(10 * MiB);
        CHECK((void *)p == mid_at, "10 MiB takes the 12 MiB block, the best fit");
        char *q = malloc(9 * MiB);
        CHECK((void *)q != big_at, "9 MiB must not take 20 MiB (waste 11 >= 9)");
        free(p);
        free(q);
        malloc_zone_pressure_relief(NULL, 0);
    }
    CHECK_CASE("depth by RAM, no total cap (792 thresholds.h:137-150)")
    {
        enum { N = 70 };
        static char *blocks[N];
        size_t before = large_mapped();
        for (int i = 0; i < N; i++)
            blocks[i] = malloc(9 * MiB);
        for (int i = 0; i < N; i++)
            free(blocks[i]);
        size_t kept = large_mapped() - before;
        CHECK(kept == (size_t)depth * 9 * MiB,
              "death row holds %zu MiB, want %u x 9 MiB (RAM %llu GiB)", kept / MiB, depth,
              (unsigned long long)(ram >> 30));
        malloc_zone_pressure_relief(NULL, 0);
        CHECK(large_mapped() == before, "relief empties death row");
    }
    CHECK_CASE("entry limit by RAM (792 magazine_large.c:754)")
    {
        size_t before = large_mapped();
        char *p = malloc(entry_max + MiB);
        REQUIRE(p != NULL, "malloc(entry limit + 1 MiB)");
        free(p);
        CHECK(large_mapped() == before, "a block over %zu MiB was cached", entry_max / MiB);
        p = malloc(entry_max);
        REQUIRE(p != NULL, "malloc(entry limit)");
        free(p);
        CHECK(large_mapped() - before == entry_max, "a block of the limit was not cached");
        malloc_zone_pressure_relief(NULL, 0);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        run();
        return CHECK_DONE("test_large_death_row (macos-arm64)");
    }
    CHECK_CASE("macos-arm64")
    {
        rerun_under_device(argv[0], "macos-arm64");
    }
    return CHECK_DONE("test_large_death_row");
}
