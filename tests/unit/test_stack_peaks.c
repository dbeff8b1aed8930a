/* ----------------------------------------------------------------------------
 * test_stack_peaks — a stack's counts and peaks over all zones (record
 * version 5, FORMAT.md §1.3d): the writer no longer keeps the stack's own
 * counts; readers add up its per-zone counters, and its peaks over all zones
 * come from the entry (raised while the stack is counted in more than one
 * zone) or from its per-zone peaks. A stack counted in two zones reads back
 * with the exact sums and the exact high water of its live over both, which
 * neither zone's own peak shows; the heap (also the zones' sums, with the
 * header's peaks) likewise.
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include "../../profiler/cli/reader.c"
#include "../../profiler/cli/host.c"

#include <stdio.h>
#include <unistd.h>

#include "../check.h"
#include "account_record.h"

int main(void)
{
    char path[256];
    uint32_t id = account_record_open("test_stack_peaks", path, sizeof path);
    REQUIRE(id == 1, "stack id %u", id);
    /* Two zones known to account.c (as the zone's registry makes them). */
    static malloc_zone_t z0 = {.zone_name = "DefaultMallocZone"}, z1 = {.zone_name = "Helper"};
    zt_account_zone_created(&z0);
    zt_account_zone_created(&z1);
    REQUIRE(zt_account_zone_index(&z0) == 0 && zt_account_zone_index(&z1) == 1, "zone indices");

    for (int i = 0; i < 3; i++)
        zt_account_alloc_in(id, &z0, 2, 1, 32, 30); /* zone 0: 96 B, 3 blocks */
    for (int i = 0; i < 2; i++)
        zt_account_alloc_in(id, &z1, 40, 1, 1000, 1000); /* zone 1: 2000 B, 2 blocks */
    for (int i = 0; i < 3; i++)
        zt_account_free_in(id, &z0, 2, 1, 32, i == 2); /* zone 0 empty; the last a temporary */
    zt_account_alloc_in(id, &z1, 40, 1, 1000, 1000);   /* 3000 B live, 3 blocks: below the high */
    zt_record_sync(true);

    CHECK_CASE("a stack counted in two zones: sums and the peak over both")
    {
        zt_model_t m;
        char err[256];
        REQUIRE(zt_model_read(path, &m, err, sizeof err), "read: %s", err);
        REQUIRE(m.nstacks == 1, "%u stacks", m.nstacks);
        const zt_m_counters_t *t = &m.stacks[0].total;
        CHECK(t->total_blocks == 6 && t->total_bytes == 96 + 3000 && t->live_blocks == 3 &&
                  t->live_bytes == 3000 && t->temp_blocks == 1 && t->requested_bytes == 90 + 3000,
              "total: %llu blocks %llu B, live %llu blocks %llu B, temp %llu, requested %llu",
              (unsigned long long)t->total_blocks, (unsigned long long)t->total_bytes,
              (unsigned long long)t->live_blocks, (unsigned long long)t->live_bytes,
              (unsigned long long)t->temp_blocks, (unsigned long long)t->requested_bytes);
        /* The high: 96 B in zone 0 and 2000 B in zone 1 at once (5 blocks);
         * zone 0's own peak is 96 B, zone 1's 3000 B and 3 blocks. */
        CHECK(t->peak_bytes == 3000 && t->peak_blocks == 5,
              "peak %llu B, %llu blocks (want 3000 B: zone 1's; 5 blocks: both zones at once)",
              (unsigned long long)t->peak_bytes, (unsigned long long)t->peak_blocks);
        CHECK(m.stacks[0].per_zone[0].peak_bytes == 96 && m.stacks[0].per_zone[1].peak_blocks == 3,
              "per-zone peaks %llu B, %llu blocks",
              (unsigned long long)m.stacks[0].per_zone[0].peak_bytes,
              (unsigned long long)m.stacks[0].per_zone[1].peak_blocks);
        /* The heap, the zones' sums with the header's peaks: the same. */
        CHECK(m.heap.total_blocks == 6 && m.heap.live_bytes == 3000 && m.heap.temp_blocks == 1 &&
                  m.heap.peak_bytes == 3000 && m.heap.peak_blocks == 5,
              "heap: %llu blocks, live %llu B, temp %llu, peak %llu B %llu blocks",
              (unsigned long long)m.heap.total_blocks, (unsigned long long)m.heap.live_bytes,
              (unsigned long long)m.heap.temp_blocks, (unsigned long long)m.heap.peak_bytes,
              (unsigned long long)m.heap.peak_blocks);
        CHECK(zt_account_live_bytes() == 3000, "timeline live %llu B",
              (unsigned long long)zt_account_live_bytes());
        zt_model_free(&m);
    }
    unlink(path);
    return CHECK_DONE("test_stack_peaks");
}
