/* ----------------------------------------------------------------------------
 * test_realloc_shrink.c — realloc keeps, trims or moves a block as libmalloc's
 * szone_realloc does (libmalloc-166.220.1 src/magazine_malloc.c:325-436;
 * libmalloc-792.41.1 src/magazine_malloc.c:449-560), on an iOS 12 profile
 * (ios12-2gb, nano on, small cutoff 15 KiB, 16 KiB pages, no death row):
 * - a shrink to more than half keeps the block whole, even when the new size
 *   maps to a smaller kind (:426-436): tiny 1000 → 600 keeps the 1008-byte
 *   block, small 1024 → 1000 stays in small, large 16 KiB → 14000 stays large;
 * - a shrink to half or less within the kind trims in place (tiny/small/
 *   large_try_shrink_in_place, 166 magazine_tiny.c:1249-1267,
 *   magazine_large.c:701-738): same pointer, smaller block, tail released;
 * - a shrink to half or less into a smaller kind moves (alloc, copy, free);
 * - malloc_zone_realloc(z, p, 0) frees p and returns szone_malloc(1)
 *   (166 magazine_malloc.c:339-344), while the public realloc(p, 0) allocates
 *   a minimal block first and frees p after (166 malloc.c:1776-1797).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "va.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../rerun.h"

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)

static size_t large_mapped(void)
{
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    return vs.kind_bytes[ZT_KIND_LARGE];
}

static void run(void)
{
    CHECK_CASE("tiny 1000 -> 600 keeps the 1008-byte block (166 magazine_malloc.c:426-436)")
    {
        char *p = malloc(1000);
        REQUIRE(p != NULL, "malloc(1000)");
        memset(p, 0x5a, 1000);
        CHECK(malloc_size(p) == 1008, "malloc_size(malloc(1000)) = %zu", malloc_size(p));
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 600);
        CHECK((void *)q == at, "realloc(1000 -> 600) moved to %p", (void *)q);
        CHECK(malloc_size(q) == 1008, "block trimmed to %zu (libmalloc keeps 1008)",
              malloc_size(q));
        free(q);
    }
    CHECK_CASE("tiny 1000 -> 400 trims in place (166 magazine_malloc.c:361-367)")
    {
        char *p = malloc(1000);
        REQUIRE(p != NULL, "malloc(1000)");
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 400);
        CHECK((void *)q == at, "realloc(1000 -> 400) moved");
        CHECK(malloc_size(q) == 400, "block is %zu, want 400", malloc_size(q));
        free(q);
    }
    CHECK_CASE("small 1024 -> 1000 stays in small (166 magazine_malloc.c:426-436)")
    {
        char *p = malloc(1024);
        REQUIRE(p != NULL, "malloc(1024)");
        memset(p, 1, 1024);
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 1000);
        CHECK((void *)q == at, "realloc(1024 -> 1000) moved to %p", (void *)q);
        CHECK(malloc_size(q) == 1024, "block is %zu, want 1024", malloc_size(q));
        free(q);
    }
    CHECK_CASE("small 2048 -> 1000 moves to tiny (at most half: 166 magazine_malloc.c:426-428)")
    {
        char *p = malloc(2048);
        REQUIRE(p != NULL, "malloc(2048)");
        memset(p, 7, 2048);
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 1000);
        CHECK(q != NULL && (void *)q != at, "realloc(2048 -> 1000) stayed");
        CHECK(q && malloc_size(q) == 1008 && q[999] == 7, "moved block %zu", malloc_size(q));
        free(q);
    }
    CHECK_CASE("small 8192 -> 2048 trims in place (166 magazine_malloc.c:389-391)")
    {
        char *p = malloc(8192);
        REQUIRE(p != NULL, "malloc(8192)");
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 2048);
        CHECK((void *)q == at && malloc_size(q) == 2048, "got %p size %zu", (void *)q,
              malloc_size(q));
        free(q);
    }
    CHECK_CASE("large 16 KiB -> 14000 stays large (166 magazine_malloc.c:426-436)")
    {
        char *p = malloc(16 * KiB);
        REQUIRE(p != NULL, "malloc(16 KiB)");
        CHECK(malloc_size(p) == 16 * KiB, "16 KiB is large on iOS 12 (%zu)", malloc_size(p));
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 14000);
        CHECK((void *)q == at && malloc_size(q) == 16 * KiB,
              "got %p size %zu (libmalloc: same, 16384)", (void *)q, malloc_size(q));
        free(q);
    }
    CHECK_CASE(
        "large 1 MiB -> 700 KiB keeps 1 MiB; -> 400 KiB trims (166 magazine_large.c:701-738)")
    {
        size_t before = large_mapped();
        char *p = malloc(MiB);
        REQUIRE(p != NULL, "malloc(1 MiB)");
        CHECK(large_mapped() - before == MiB, "1 MiB mapped");
        void *volatile at = p; /* compared only */
        char *q = realloc(p, 700 * KiB);
        CHECK((void *)q == at && malloc_size(q) == MiB,
              "700 KiB: got %p size %zu (libmalloc keeps 1 MiB)", (void *)q, malloc_size(q));
        CHECK(large_mapped() - before == MiB, "the tail stays mapped (%zu)",
              large_mapped() - before);
        q = realloc(q, 400 * KiB);
        CHECK((void *)q == at && malloc_size(q) == 400 * KiB, "400 KiB: got %p size %zu", (void *)q,
              malloc_size(q));
        CHECK(large_mapped() - before == 400 * KiB, "the tail is released (%zu mapped)",
              large_mapped() - before);
        free(q);
    }
    CHECK_CASE("malloc_zone_realloc(z, p, 0) frees p, returns szone_malloc(1) (166 :339-344)")
    {
        malloc_zone_t *z = malloc_create_zone(0, 0);
        REQUIRE(z != NULL, "malloc_create_zone");
        char *p = malloc_zone_malloc(z, 100);
        REQUIRE(p != NULL, "malloc_zone_malloc(z, 100)");
        void *volatile old = p; /* compared after the realloc, never dereferenced */
        char *q = malloc_zone_realloc(z, p, 0);
        CHECK(q != NULL && malloc_zone_from_ptr(q) == z, "a block of z back (%p)", (void *)q);
        CHECK(q && malloc_size(q) == 16, "szone_malloc(1) is 16 bytes, got %zu",
              q ? malloc_size(q) : 0);
        CHECK(malloc_size(old) == 0 || (void *)q == old, "p was freed (size %zu)",
              malloc_size(old));
        malloc_zone_free(z, q);
        malloc_destroy_zone(z);
    }
    CHECK_CASE("public realloc(p, 0): minimal block first, p freed after (166 malloc.c:1776-1797)")
    {
        char *p = malloc(600);
        REQUIRE(p != NULL, "malloc(600)");
        void *volatile old = p; /* compared after the realloc, never dereferenced */
        char *q = realloc(p, 0);
        CHECK(q != NULL && (void *)q != old, "realloc(p, 0) = %p", (void *)q);
        CHECK(malloc_size(old) == 0, "p freed");
        free(q);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        run();
        return CHECK_DONE("test_realloc_shrink (ios12-2gb)");
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_realloc_shrink");
}
