/* ----------------------------------------------------------------------------
 * test_nano_units_zero.c — MallocNanoSizeClassBlocks with a 0 for a class
 * (zonetrace: ZONETRACE_NANO_CLASS_BLOCKS).
 *
 * libmalloc-166.220.1 src/nanov2_malloc.c:766-796
 * (nanov2_set_blocks_by_size_class): 16 comma-separated counts, each at most
 * 64 (0 allowed), summing to 64; anything else is ignored with a message.
 * A class given 0 units has no blocks. libmalloc's own tables then describe
 * an empty range that its scan walks past into the next class's blocks
 * (:856-875, :501-549): unsafe, so zonetrace gives that class no block and
 * delegates every request of it to the helper (the state libmalloc reaches
 * when a class has no block left, :2404-2441). Other classes are unaffected.
 * -------------------------------------------------------------------------- */
#include "nano_scene.h"

#include <stdio.h>
#include <string.h>

#include "../rerun.h"
#include "profile.h"

static void child(const char *which)
{
    bool first = strcmp(which, "class0") == 0;
    unsigned cls = first ? 0 : 14;
    size_t size = first ? 16 : 240, other = first ? 32 : 256;
    CHECK_CASE(first ? "16 B class with 0 units" : "240 B class with 0 units")
    {
        void *p = malloc(size), *q = malloc(other), *r = malloc(size - 8);
        CHECK(p && !zt_nano_contains(p), "%zu B request from nano (%p) with no blocks", size, p);
        CHECK(r && !zt_nano_contains(r), "%zu B request from nano (%p)", size - 8, r);
        CHECK(zt_nano_class_delegated(ns_zone(), cls), "class %u not delegated", cls);
        CHECK(q && zt_nano_contains(q), "%zu B request not from nano (%p)", other, q);
        CHECK(malloc_size(p) >= size, "size %zu", malloc_size(p));
        free(p);
        free(q);
        free(r);
        CHECK(zt_nano_class_delegated(ns_zone(), cls), "class %u released", cls);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        const char *w = getenv("ZT_TEST_SCENARIO");
        child(w ? w : "");
        return CHECK_DONE("test_nano_units_zero");
    }
    CHECK_CASE("parsing accepts 0, rejects > 64 and bad sums")
    {
        uint8_t u[16];
        CHECK(zt_profile_parse_class_units("2,10,11,10,5,3,3,4,3,2,2,2,2,2,0,3", u) && u[14] == 0 &&
                  u[15] == 3,
              "a 0 entry summing to 64 rejected");
        CHECK(zt_profile_parse_class_units("0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,64", u) && u[15] == 64,
              "all in one class rejected");
        CHECK(!zt_profile_parse_class_units("0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,65", u), "65 accepted");
        CHECK(!zt_profile_parse_class_units("2,10,11,10,5,3,3,4,3,2,2,2,2,2,0,2", u),
              "sum 63 accepted");
        CHECK(!zt_profile_parse_class_units("2,10,11,10,5,3,3,4,3,2,2,2,2,2,0", u),
              "15 values accepted");
    }
    CHECK_CASE("ios12-2gb, 240 B class 0 units")
    {
        setenv("ZT_TEST_SCENARIO", "class14", 1);
        setenv("ZONETRACE_NANO_CLASS_BLOCKS", "2,10,11,10,5,3,3,4,3,2,2,2,2,2,0,3", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    CHECK_CASE("ios12-2gb, 16 B class 0 units")
    {
        setenv("ZT_TEST_SCENARIO", "class0", 1);
        setenv("ZONETRACE_NANO_CLASS_BLOCKS", "0,12,11,10,5,3,3,4,3,2,2,2,2,2,1,2", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_nano_units_zero");
}
