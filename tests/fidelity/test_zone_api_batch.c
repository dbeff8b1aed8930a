/* ----------------------------------------------------------------------------
 * test_zone_api_batch.c — malloc_zone_batch_malloc on a scalable zone does
 * what libmalloc's szone_batch_malloc does (libmalloc-166.220.1
 * src/magazine_malloc.c:516-523, src/magazine_tiny.c:2157-2190):
 * - only tiny sizes (<= 1008 B) are served: batch_malloc(2000 B, 8) gives 0;
 * - blocks come from the current magazine's free lists and bump tail only
 *   (tiny_malloc_from_free_list, src/magazine_tiny.c:1718-1850): a fresh zone
 *   with no tiny region gives 0, and a batch never maps a region, so it stops
 *   when the region's room runs out.
 * The thread is pinned to one CPU so that every call uses the same magazine.
 * -------------------------------------------------------------------------- */
#ifndef _GNU_SOURCE
#include "../pin.h"
#endif
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "va.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

static size_t tiny_mapped(void)
{
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    return vs.kind_bytes[ZT_KIND_TINY];
}

int main(void)
{
    bool pinned = pin_to_one_cpu();

    static void *results[4096];
    CHECK_CASE("batch_malloc(2000 B, 8) returns 0: tiny only (166 magazine_malloc.c:516-523)")
    {
        malloc_zone_t *z = malloc_create_zone(0, 0);
        REQUIRE(z != NULL, "malloc_create_zone");
        void *warm = malloc_zone_malloc(z, 2000); /* a small region exists */
        CHECK(malloc_zone_batch_malloc(z, 2000, results, 8) == 0, "2000 B batch not 0");
        CHECK(malloc_zone_batch_malloc(z, 1009, results, 8) == 0, "1009 B batch not 0");
        malloc_zone_free(z, warm);
        malloc_destroy_zone(z);
    }
    CHECK_CASE("a fresh zone's batch maps no region and returns 0 (magazine_tiny.c:2157-2190)")
    {
        if (!pinned) {
            CHECK_SKIP("cannot pin the thread to one CPU (its magazine may change)");
            continue;
        }
        malloc_zone_t *z = malloc_create_zone(0, 0);
        REQUIRE(z != NULL, "malloc_create_zone");
        size_t before = tiny_mapped();
        CHECK(malloc_zone_batch_malloc(z, 32, results, 8) == 0, "batch from an empty zone");
        CHECK(tiny_mapped() == before, "a region was mapped (%zu -> %zu)", before, tiny_mapped());
        malloc_destroy_zone(z);
    }
    CHECK_CASE("batch takes free blocks and the bump tail, never a new region")
    {
        if (!pinned) {
            CHECK_SKIP("cannot pin the thread to one CPU (its magazine may change)");
            continue;
        }
        malloc_zone_t *z = malloc_create_zone(0, 0);
        REQUIRE(z != NULL, "malloc_create_zone");
        void *first = malloc_zone_malloc(z, 32); /* maps this magazine's tiny region */
        REQUIRE(first != NULL, "malloc_zone_malloc");
        size_t before = tiny_mapped();
        unsigned n = malloc_zone_batch_malloc(z, 32, results, 8);
        CHECK(n == 8, "8 blocks of 32 B from the bump tail (got %u)", n);
        for (unsigned i = 0; i < n; i++)
            CHECK(malloc_size(results[i]) == 32 && malloc_zone_from_ptr(results[i]) == z,
                  "block %u: size %zu", i, malloc_size(results[i]));
        malloc_zone_batch_free(z, results, n);
        /* 1008-byte blocks: a 1 MiB region holds about 1040; ask for more. */
        n = malloc_zone_batch_malloc(z, 1008, results, 4096);
        CHECK(n > 0 && n < 4096, "a batch bounded by the region's room (got %u)", n);
        CHECK(tiny_mapped() == before, "the batch mapped a region (%zu -> %zu)", before,
              tiny_mapped());
        malloc_zone_batch_free(z, results, n);
        malloc_zone_free(z, first);
        malloc_destroy_zone(z);
    }
    return CHECK_DONE("test_zone_api_batch");
}
