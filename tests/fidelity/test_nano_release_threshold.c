/* ----------------------------------------------------------------------------
 * test_nano_release_threshold.c — when a delegated nano class comes back.
 *
 * libmalloc-166.220.1 src/nanov2_malloc.c:2514-2523 (nanov2_free_to_block):
 * the delegation of a class is turned off by a free into a block that is not
 * in use when the block's free_count >= 0.75 * slots; free_count is the
 * number of free slots minus one (a fresh block starts at slots - 1,
 * :2224-2232; an allocation decrements it, :1964). For 68-slot blocks
 * (240 B): released at the 52nd free slot, not the 51st.
 *
 * And the block that was current when the class was delegated stays the
 * CPU's current block, in use (nanov2_find_block_and_allocate returns NULL
 * and leaves *block_metapp, :2286-2300 / :2362-2364): frees to it never
 * release the class, and the next request reuses its freed slot before the
 * helper is asked (:2392-2412).
 * -------------------------------------------------------------------------- */
#include "nano_scene.h"

#include <stdio.h>
#include <string.h>

#include "../rerun.h"

static void child(void)
{
    CHECK_CASE("75 % of the slots free, counted as libmalloc's free_count")
    {
        if (!ns_init()) {
            CHECK_SKIP("cannot pin the thread to one CPU");
            continue;
        }
        /* Fill the class until a request goes to the helper. */
        void *p = NULL;
        while (ns_n < NS_MAX - 1 && (p = ns_alloc()) && zt_nano_contains(p))
            ;
        REQUIRE(p && !zt_nano_contains(p) && ns_delegated(), "class 14 delegated after %zu", ns_n);
        uintptr_t cur = ns_blk(ns_live[ns_n - 2]); /* the last nano block: current */
        uintptr_t blk = ns_blk(ns_live[0]);        /* a full block, not in use */
        REQUIRE(cur != blk, "blocks");
        CHECK(ns_free_in(blk, 51) == 51, "freed 51");
        CHECK(ns_delegated(), "released with 51 of 68 slots free (free_count 50 < 51)");
        CHECK(ns_free_in(blk, 1) == 1, "freed the 52nd");
        CHECK(!ns_delegated(), "not released with 52 of 68 slots free (free_count 51 >= 51)");
    }
    CHECK_CASE("the current block stays current and in use when the class is delegated")
    {
        /* Delegate again: fill every free slot. */
        void *p = NULL;
        while (ns_n < NS_MAX - 1 && (p = ns_alloc()) && zt_nano_contains(p))
            ;
        REQUIRE(p && !zt_nano_contains(p) && ns_delegated(), "delegated again");
        uintptr_t cur = ns_blk(ns_live[ns_n - 2]);
        /* Free 60 of its 68 slots: a block that is not in use would release
         * the class; the current one does not. */
        CHECK(ns_free_in(cur, 60) == 60, "freed 60 in the current block");
        CHECK(ns_delegated(), "a free to the current (in use) block released the class");
        void *q = ns_alloc();
        CHECK(q && ns_blk(q) == cur, "request while delegated: %p, not from the current block %p",
              q, (void *)cur);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        child();
        return CHECK_DONE("test_nano_release_threshold");
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_nano_release_threshold");
}
