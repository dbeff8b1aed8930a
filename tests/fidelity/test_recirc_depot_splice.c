/* ----------------------------------------------------------------------------
 * test_recirc_depot_splice.c — where a region taken back from the depot goes
 * in the magazine's list.
 *
 * libmalloc-166.220.1 src/magazine_tiny.c:786 (tiny_get_region_from_depot):
 * the region is connected to the magazine "as first node"
 * (recirc_list_splice_first); small the same (magazine_small.c:880). Since
 * recirculation takes the first suitable region in list order
 * (magazine_tiny.c:846-866), a stolen region that becomes sparse again is the
 * next one to go back to the depot.
 *
 * Scene (recirc_scene.h) until R1 is in the depot, then: the magazine fills
 * until it steals R1 back (lists, then the bump tail, then the depot:
 * magazine_tiny.c:1955-2020); R3 and R1 become candidates again and R2 is
 * freed until the magazine crosses the threshold. Spliced first, R1 leads
 * the list and goes back to the depot; appended (zonetrace before), R2
 * would. Observed with the malloc(512) probe: R1's exact holes are gone.
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
    CHECK_CASE("a region stolen from the depot is spliced first")
    {
        if (!pin_to_one_cpu()) {
            CHECK_SKIP("cannot pin the thread to one CPU");
            continue;
        }
        if (!sc_build(tmp)) continue;
        void *p;
        if (sc_probe_in(1, &p)) {
            CHECK(0, "R1 did not go to the depot (test_recirc_candidate's behaviour)");
            continue;
        }
        /* Fill until a block comes from R1: the magazine stole it back. */
        int r = -1;
        for (int i = 0; i < 8000 && r != 1; i++) {
            void *q = sc_malloc();
            r = q ? sc_region(q) : -1;
            if (r < 0 || r > 4) break;
        }
        CHECK(r == 1, "the magazine did not take R1 back from the depot (last region %d)", r);
        if (r != 1) continue;
        /* R3 a candidate again (96-quanta holes), R1 marked by one free of
         * a block between live neighbours (index 8 of 10: its holes are at
         * 0, 3 and 6), then R2 freed until the magazine recirculates. */
        sc_free_pattern(3, "012", tmp);
        sc_free_pattern(1, "8", tmp);
        sc_free_prefix(2, 95, tmp);
        bool in_r1 = sc_probe_in(1, &p);
        CHECK(!in_r1,
              "probe %p came from R1's holes: R1 (stolen, so first in the list) stayed in the "
              "magazine and another region went to the depot",
              p);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        child();
        return CHECK_DONE("test_recirc_depot_splice");
    }
    CHECK_CASE("ios12-2gb, 2 magazines")
    {
        setenv("ZONETRACE_MAX_MAGAZINES", "2", 1);
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_recirc_depot_splice");
}
