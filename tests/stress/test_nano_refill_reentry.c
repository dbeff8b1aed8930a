/* ----------------------------------------------------------------------------
 * test_nano_refill_reentry.c — frees on the refilling thread in the middle
 * of its refill, as a signal handler that frees would make them: the refill
 * (tc_refill, zone/nano/alloc.c) begins with the class's bin empty and
 * pushes up to 31 slots at its end, so a bin that the frees filled
 * meanwhile must not take them past its 64 entries (they went into the
 * next class's bin, which then handed out 16 B slots for 32 B requests).
 *
 * Made deterministic with the test hook zt_nano_hold_hook, which
 * block_take_list calls while it holds a block's free slots: the hook frees
 * 64 blocks of the class on the same thread. Afterwards every 32 B request
 * must get a block of at least 32 B, no block may be handed out twice, and
 * the zone checks out. Pinned to one CPU, so every allocation of the class
 * comes from one current block. Skipped where nano has no thread caches
 * refilled in batches (every profile but native).
 * -------------------------------------------------------------------------- */
#include "../pin.h"

#include "../check.h"
#include "nano.h"
#include "profile.h"
#include "zonetrace/malloc_zone.h"

#include <stdint.h>
#include <stdlib.h>

#define BLOCK_BYTES 16384
#define FREED       64 /* a whole bin (TC_SLOTS) */

static void *to_free[FREED];
static unsigned hooked;

static void hook(uintptr_t blk)
{
    (void)blk;
    if (hooked++) return;
    for (int i = 0; i < FREED; i++)
        free(to_free[i]); /* into this thread's 16 B bin: it fills up */
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    if (!pin_to_one_cpu()) {
        CHECK_SKIP("cannot pin to one CPU");
        return CHECK_DONE("test_nano_refill_reentry");
    }
    void *probe = malloc(16);
    if (zt_nano_front_zone == NULL || !zt_active_profile.tcache_batch_refill) {
        free(probe);
        CHECK_SKIP("no nano thread caches with batch refills on this profile");
        return CHECK_DONE("test_nano_refill_reentry");
    }
    for (int i = 0; i < FREED; i++)
        to_free[i] = malloc(16);
    static void *p[300];
    for (int i = 0; i < 300; i++)
        p[i] = malloc(16);
    /* A few frees, then this thread's cache back to the headers: the current
     * block's free slots are a list (then its tail), so the next refill is
     * block_take_list's, which keeps 32 and gives the rest back (the hook). */
    for (int i = 10; i < 13; i++) {
        free(p[i]);
        p[i] = NULL;
    }
    malloc_zone_pressure_relief(NULL, 0);
    /* 32 B blocks cached in the next class's bin, which an overflow of the
     * 16 B bin writes over. */
    static void *w[16];
    for (int i = 0; i < 16; i++)
        w[i] = malloc(32);
    for (int i = 0; i < 16; i++)
        free(w[i]);

    zt_nano_hold_hook = hook;
    void *first = malloc(16); /* the bin is empty: a refill, held by the hook */
    zt_nano_hold_hook = NULL;
    REQUIRE(first != NULL, "malloc(16)");
    CHECK(hooked == 1, "the refill took the block's list and gave a rest back (hook ran %u times)",
          hooked);

    /* Every 32 B request gets a 32 B block. */
    static void *v[64];
    unsigned small = 0;
    for (int i = 0; i < 64; i++) {
        v[i] = malloc(32);
        REQUIRE(v[i] != NULL, "malloc(32)");
        if (malloc_size(v[i]) < 32) small++;
    }
    CHECK(small == 0, "%u of 64 malloc(32) got a block smaller than 32 B", small);

    /* No 16 B block is handed out twice: take the bin and more, sort, compare. */
    static uintptr_t all[2048 + 301];
    unsigned n = 0;
    static void *q[2048];
    for (int i = 0; i < 2048; i++) {
        q[i] = malloc(16);
        REQUIRE(q[i] != NULL, "malloc(16)");
        all[n++] = (uintptr_t)q[i];
    }
    for (int i = 0; i < 300; i++)
        if (p[i]) all[n++] = (uintptr_t)p[i];
    all[n++] = (uintptr_t)first;
    qsort(all, n, sizeof all[0], cmp_ptr);
    unsigned twice = 0;
    for (unsigned i = 1; i < n; i++)
        twice += all[i] == all[i - 1];
    CHECK(twice == 0, "%u blocks of 16 B were handed out twice", twice);
    CHECK(malloc_zone_check(NULL), "the zone checks out");

    for (int i = 0; i < 2048; i++)
        free(q[i]);
    for (int i = 0; i < 64; i++)
        free(v[i]);
    for (int i = 0; i < 300; i++)
        free(p[i]);
    free(first);
    free(probe);
    CHECK(malloc_zone_check(NULL), "the zone checks out after the frees");
    return CHECK_DONE("test_nano_refill_reentry");
}
