/* ----------------------------------------------------------------------------
 * test_nano_scan_capacity.c — which block nano makes current when the
 * current one is full, in the current block's arena.
 *
 * libmalloc-166.220.1 src/nanov2_malloc.c:2087-2246 (nanov2_find_block_in_arena,
 * policy NANO_SCAN_CAPACITY_BASED, min 20 / max 80 / limit 10, :62-71):
 * - percent = 100 * free_count / slots, free_count = free slots - 1 (:2144);
 *   a block with 20..80 is taken at once. 240 B blocks have 68 slots: with
 *   56 free slots the percent is 80 (taken), not 82.
 * - the scan runs from the current block backwards to the class's first
 *   block, then forwards from the current block; the limit counts visits
 *   once a fallback or free candidate exists (:2174-2179) and starts again
 *   at 10 when the scan turns forwards (:2186-2190).
 * Each case runs in its own process (ios12-2gb, one pinned thread): blocks
 * r0..r63 are the class's 64 blocks of arena 0, in order.
 * -------------------------------------------------------------------------- */
#include "nano_scene.h"

#include <stdio.h>
#include <string.h>

#include "../rerun.h"

/* Fill r0..r63 of arena 0; returns r0's address (0 on failure). */
static uintptr_t fill_arena0(void)
{
    if (!ns_alloc_n(64 * NS_SLOTS)) return 0;
    uintptr_t r0 = ns_blk(ns_live[0]);
    if (ns_arena(ns_live[0]) != 0 || ns_blk(ns_live[ns_n - 1]) != r0 + 63 * NS_BLOCK) return 0;
    return r0;
}

static unsigned rel(uintptr_t r0, const void *p)
{
    return (unsigned)((ns_blk(p) - r0) / NS_BLOCK);
}

/* Scenario 1: r20 with 56 free slots (80 %), r10 with 30 (43 %), all else
 * full; the scan from r63 backwards meets r20 first and takes it. Counting
 * free slots instead of free_count (82 %: only a fallback) went on to r10. */
static void percent_uses_free_count(void)
{
    uintptr_t r0 = fill_arena0();
    REQUIRE(r0, "arena 0's 64 blocks of the 240 B class filled in order");
    CHECK(ns_free_in(r0 + 20 * NS_BLOCK, 56) == 56, "free in r20");
    CHECK(ns_free_in(r0 + 10 * NS_BLOCK, 30) == 30, "free in r10");
    void *p = ns_alloc();
    CHECK(p && ns_blk(p) >= r0 && rel(r0, p) == 20,
          "the block after r63 is r%u, expected r20 (56 free of 68: percent 100*55/68 = 80)",
          p ? rel(r0, p) : 999);
}

/* Scenario 2: the current block is r10 (made so by emptying it: a madvised
 * block is the free candidate); r2 is a fallback (60 free: 86 %), r19 is in
 * range (30 free). The scan from r10: r9..r3 full, r2 (limit 9), r1, r0
 * (7), turn: limit 10 again, r10 (9) ... r19 (0): r19 found. Without the
 * reset the scan stops at r16 and takes r2. */
static void limit_reset_on_turn(void)
{
    uintptr_t r0 = fill_arena0();
    REQUIRE(r0, "arena 0's 64 blocks of the 240 B class filled in order");
    CHECK(ns_free_in(r0 + 10 * NS_BLOCK, NS_SLOTS) == NS_SLOTS, "empty r10");
    void *p = ns_alloc();
    REQUIRE(p && rel(r0, p) == 10, "after r63 the emptied r10 is taken (got r%u)",
            p ? rel(r0, p) : 999);
    CHECK(ns_free_in(r0 + 2 * NS_BLOCK, 60) == 60, "free in r2");
    CHECK(ns_free_in(r0 + 19 * NS_BLOCK, 30) == 30, "free in r19");
    REQUIRE(ns_alloc_n(NS_SLOTS - 1), "fill r10");
    REQUIRE(rel(r0, ns_live[ns_n - 1]) == 10, "r10 filled");
    p = ns_alloc();
    CHECK(p && rel(r0, p) == 19,
          "the block after r10 is r%u, expected r19 (the limit restarts when the scan turns)",
          p ? rel(r0, p) : 999);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        const char *s = getenv("ZT_TEST_SCENARIO");
        CHECK_CASE(s && strcmp(s, "2") == 0 ? "scan limit restarts when the scan turns"
                                            : "capacity percent from free_count")
        {
            if (!ns_init()) {
                CHECK_SKIP("cannot pin the thread to one CPU");
                continue;
            }
            if (s && strcmp(s, "2") == 0)
                limit_reset_on_turn();
            else
                percent_uses_free_count();
        }
        return CHECK_DONE("test_nano_scan_capacity");
    }
    CHECK_CASE("percent = 100 * (free - 1) / slots (ios12-2gb)")
    {
        setenv("ZT_TEST_SCENARIO", "1", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    CHECK_CASE("limit restarts at the turn (ios12-2gb)")
    {
        setenv("ZT_TEST_SCENARIO", "2", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_nano_scan_capacity");
}
