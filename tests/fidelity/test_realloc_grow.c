/* ----------------------------------------------------------------------------
 * test_realloc_grow.c — growth in place as libmalloc's small_try_realloc_in_place
 * does it (libmalloc-166.220.1 src/magazine_small.c, same order as
 * tiny_try_realloc_in_place, src/magazine_tiny.c:1271-1380), on ios12-2gb
 * (thread caches off, two magazines; the thread is pinned to one CPU so it
 * stays with one magazine):
 * - the block right after is the magazine's last-free block (a free() that
 *   has not reached the free lists yet): growth takes what it needs from it
 *   and the rest stays the last-free block;
 * - taking all of it leaves no last-free block;
 * - a shrink's tail is freed as free() frees it (small_try_shrink_in_place →
 *   free_small), so it becomes the last-free block and growing back takes it.
 * -------------------------------------------------------------------------- */
#include "../pin.h"
#include "zonetrace/malloc_zone.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../rerun.h"

static void run(void)
{
    if (!pin_to_one_cpu()) {
        CHECK_SKIP("cannot pin the thread to one CPU");
        return;
    }
    CHECK_CASE("grow into part of the last-free block (166 magazine_tiny.c:1302-1322)")
    {
        char *a = malloc(2048), *b = malloc(2048);
        REQUIRE(a && b, "two 2 KiB small blocks");
        REQUIRE(b == a + 2048, "fresh small blocks are adjacent (a %p, b %p)", (void *)a,
                (void *)b);
        free(b);                     /* the magazine's last-free block, still marked in use */
        uintptr_t at = (uintptr_t)a; /* compared only, never dereferenced */
        char *c = realloc(a, 3000);
        CHECK((uintptr_t)c == at,
              "realloc(2048 -> 3000) moved to %p (libmalloc grows into the last-free "
              "block)",
              (void *)c);
        CHECK(malloc_size(c) == 3072, "grown block is %zu, want 3072", malloc_size(c));
        /* What is left of b (1024 B at a + 3072) is still the last-free
         * block: an exact-size request takes it first. */
        char *d = malloc(1024);
        CHECK((uintptr_t)d == at + 3072,
              "malloc(1024) = %p, want the rest of the last-free block %#lx", (void *)d,
              (unsigned long)(at + 3072));
        free(d);
        free(c);
    }
    CHECK_CASE("a shrink's tail becomes the last-free block; growing back takes it whole")
    {
        char *a = malloc(8192);
        REQUIRE(a != NULL, "malloc(8192)");
        uintptr_t at = (uintptr_t)a; /* compared only, never dereferenced */
        char *b = realloc(a, 2048);  /* at most half: trims in place */
        CHECK((uintptr_t)b == at && malloc_size(b) == 2048, "realloc(8192 -> 2048) = %p, %zu B",
              (void *)b, malloc_size(b));
        char *c = realloc(b, 8192);
        CHECK((uintptr_t)c == at && malloc_size(c) == 8192,
              "realloc(2048 -> 8192) = %p, %zu B (want %#lx)", (void *)c, malloc_size(c),
              (unsigned long)at);
        free(c);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        run();
        return CHECK_DONE("test_realloc_grow (ios12-2gb)");
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_realloc_grow");
}
