/* ----------------------------------------------------------------------------
 * test_rss.c — memory goes back to the system: allocate ~300 MiB in every
 * class (nano, tiny, small, medium, large), touch it, free it all in a
 * scrambled order, ask for pressure relief, and compare the resident set
 * (zt_prim_footprint) with the start.
 *
 * Tolerance: RSS after <= RSS before + 32 MiB + 5 % of the peak growth. The
 * 32 MiB covers what libmalloc also keeps by design: the depot's two retained
 * empty regions per rack (tiny 1 MiB, small 8 MiB), each magazine's current
 * region, nano's metadata blocks, and partially used pages of regions that
 * hold the few blocks the C library keeps (stdio buffers). ZT_STRESS_SCALE
 * (percent) makes fewer rounds.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 3 /* scaled by ZT_STRESS_SCALE, at least 1 */
#define MiB    (1024.0 * 1024.0)

static uint64_t rss(void)
{
    uint64_t r = 0, anon = 0;
    zt_prim_footprint(&r, &anon);
    return r;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    free(malloc(1)); /* initialise before the first measurement */
    static const size_t sizes[] = {16,   48,    128,    250,    400,      900,      2000,
                                   9000, 30000, 100000, 700000, 3u << 20, 12u << 20};
    enum { N = 200000 };
    static void *blocks[N];
    uint64_t start = rss(), peak_growth = 0, after = 0;
    int rounds = (int)CHECK_SCALED(ROUNDS);
    CHECK_CASE("RSS returns after freeing every class")
    {
        for (int round = 0; round < rounds; round++) {
            size_t total = 0;
            int n = 0;
            uint64_t s = 12345 + round;
            while (n < N && total < (300u << 20)) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                /* Counts chosen so that nano..small, medium and large
                 * blocks each get about a third of the bytes. */
                unsigned k = (unsigned)(s % 10000);
                size_t bytes = k < 9880   ? sizes[k % 9]
                               : k < 9994 ? sizes[9 + k % 2]
                                          : sizes[11 + k % 2];
                blocks[n] = malloc(bytes);
                REQUIRE(blocks[n] != NULL, "malloc(%zu) returned NULL", bytes);
                memset(blocks[n], 0xa5, bytes);
                total += bytes;
                n++;
            }
            uint64_t peak = rss();
            if (peak - start > peak_growth) peak_growth = peak - start;
            /* Free in a scrambled order (stride coprime with n) so regions
             * empty late and unevenly, as in a real program. */
            size_t stride = 7919;
            while (n % (int)stride == 0)
                stride += 2;
            for (int i = 0, j = 0; i < n; i++, j = (int)((j + stride) % (size_t)n)) {
                free(blocks[j]);
                blocks[j] = NULL;
            }
            malloc_zone_pressure_relief(NULL, 0);
            after = rss();
            printf("round %d: %d blocks, %.0f MiB requested; RSS start %.1f MiB, peak %.1f MiB, "
                   "after free %.1f MiB\n",
                   round, n, total / MiB, start / MiB, peak / MiB, after / MiB);
        }
        uint64_t allowed = start + (32u << 20) + peak_growth / 20;
        CHECK(after <= allowed,
              "RSS after freeing everything is %.1f MiB, allowed %.1f MiB "
              "(start %.1f + 32 + 5%% of %.1f)",
              after / MiB, allowed / MiB, start / MiB, peak_growth / MiB);
    }
    return CHECK_DONE("test_rss");
}
