/* ----------------------------------------------------------------------------
 * test_recirc_candidate.c — which region a magazine hands to the depot.
 *
 * libmalloc-166.220.1 src/magazine_tiny.c:846-866 (tiny_free_do_recirc_to_depot)
 * walks the magazine's region list from firstNode to the first region that is
 * recirc_suitable and not pinned; marking a region suitable on a free
 * (magazine_tiny.c:944-951) does not move it in the list, and the list is in
 * the order the regions were mapped (recirc_list_splice_last,
 * magazine_tiny.c:1174). Small is the same (magazine_small.c:1001-1012,
 * 1088-1095); zonetrace shares the code (zone/rack/magazine.c).
 *
 * Scene (recirc_scene.h): R1 becomes a candidate first, then R3, then R2 —
 * the region being freed when the magazine crosses the threshold. libmalloc
 * sends R1 (first in list order); a zonetrace that moved each newly sparse
 * region to the front sent R2. Observed with a malloc(512) probe: with R1 in
 * the depot no exact 32-quanta hole is left in the magazine.
 * -------------------------------------------------------------------------- */
#include "recirc_scene.h"

#include <stdio.h>
#include <string.h>

#include "../rerun.h"

static void child(void)
{
    void **tmp = mmap(NULL, SC_MAX * sizeof(void *), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(tmp != MAP_FAILED, "mmap");
    CHECK_CASE("first suitable region in list order goes to the depot")
    {
        if (!pin_to_one_cpu()) {
            CHECK_SKIP("cannot pin the thread to one CPU");
            continue;
        }
        if (!sc_build(tmp)) continue;
        void *p;
        bool in_r1 = sc_probe_in(1, &p);
        CHECK(!in_r1,
              "probe %p came from R1's holes: R1 is still in the magazine (the depot got "
              "another region)",
              p);
        unsigned r = (unsigned)sc_region(p);
        CHECK(r == 2 || r == 3, "probe %p from region R%u, expected R2's span or R3's holes", p, r);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        child();
        return CHECK_DONE("test_recirc_candidate");
    }
    CHECK_CASE("ios12-2gb, 2 magazines")
    {
        setenv("ZONETRACE_MAX_MAGAZINES", "2", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_recirc_candidate");
}
