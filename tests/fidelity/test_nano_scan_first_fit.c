/* ----------------------------------------------------------------------------
 * test_nano_scan_first_fit.c — how nano scans arenas other than the current
 * block's.
 *
 * libmalloc-166.220.1 src/nanov2_malloc.c:2310-2323: after the current
 * block's arena, every other arena is scanned with start_block = NULL, and
 * nanov2_find_block_in_arena then uses first fit (:2096-2098): the first
 * block with a free slot is taken, whatever its occupancy (:2140-2141,
 * :2169-2172), not the capacity policy's 20..80 % block.
 *
 * Scene (ios12-2gb, one pinned thread, 240 B class): arena 0's 64 blocks and
 * arena 1's 64 blocks full, then in arena 0 r3 keeps 63 of 68 slots (5 free:
 * under 20 %) and r7 gets 30 free (in range). The next request scans arena 1
 * (nothing), then arena 0 first fit: r3.
 * -------------------------------------------------------------------------- */
#include "nano_scene.h"

#include <stdio.h>
#include <string.h>

#include "../rerun.h"

static void child(void)
{
    CHECK_CASE("other arenas first fit")
    {
        if (!ns_init()) {
            CHECK_SKIP("cannot pin the thread to one CPU");
            continue;
        }
        REQUIRE(ns_alloc_n(2 * 64 * NS_SLOTS), "two arenas of the 240 B class");
        uintptr_t r0 = ns_blk(ns_live[0]);
        REQUIRE(ns_arena(ns_live[0]) == 0 && ns_arena(ns_live[ns_n - 1]) == 1 &&
                    ns_index(ns_live[ns_n - 1]) == ns_index(ns_live[0]) + 63,
                "arena 0 then arena 1 filled in order");
        CHECK(ns_free_in(r0 + 3 * NS_BLOCK, 5) == 5, "free in r3");
        CHECK(ns_free_in(r0 + 7 * NS_BLOCK, 30) == 30, "free in r7");
        void *p = ns_alloc();
        CHECK(p && ns_blk(p) == r0 + 3 * NS_BLOCK,
              "got %p (arena %u, r%ld), expected arena 0's r3 (first fit)", p, p ? ns_arena(p) : 9,
              p ? (long)((ns_blk(p) - r0) / NS_BLOCK) : -1L);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        child();
        return CHECK_DONE("test_nano_scan_first_fit");
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_nano_scan_first_fit");
}
