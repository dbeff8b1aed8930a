/* ----------------------------------------------------------------------------
 * test_nano_native.c — nano's native-only policies (issue 15, the table in
 * bench/README.md) against the device behaviour they replace:
 * - deferred purge (profile nano_defer_purge_blocks): an emptied block keeps
 *   its pages until it leaves a bounded FIFO or pressure relief comes; a
 *   device profile madvises it at its last free (libmalloc-166.220.1
 *   src/nanov2_malloc.c:2518-2530);
 * - batch refill (profile tcache_batch_refill): a thread-cache miss takes up
 *   to 32 slots of the current block at once, hands them out in the block's
 *   order, and every one of them frees normally (size 0 once freed, a second
 *   free caught, nothing left in use); a device profile (no cache) takes one
 *   slot per allocation.
 * The 16 B class has 1024 slots per 16 KiB block; the thread is pinned to
 * one CPU because nano's current block is per CPU.
 * -------------------------------------------------------------------------- */
#include "../pin.h"

#include "nano.h"
#include "chunkmap.h"
#include "szone.h"
#include "tcache.h"
#include "va.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define SLOTS_16 1024 /* 16 KiB block / 16 B */
#define BLOCK    16384

static malloc_zone_t *make_zone(const zt_profile_t *p)
{
    zt_active_profile = *p;
    zt_va_reset_for_test();
    REQUIRE(zt_va_init(&zt_active_profile, 0), "zt_va_init(%s)", p->name);
    malloc_zone_t *helper = zt_szone_create("MallocHelperZone");
    REQUIRE(helper != NULL, "helper zone");
    malloc_zone_t *z = zt_nano_create(helper, &zt_active_profile);
    REQUIRE(z != NULL, "zt_nano_create(%s)", p->name);
    return z;
}

static size_t touched(malloc_zone_t *z)
{
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    return st.size_allocated;
}

static size_t nothing_flushed(void *owner, unsigned bin, void *const *e, unsigned count)
{
    (void)owner, (void)bin, (void)e, (void)count;
    return 0;
}

/* Fill blocks 0..3 of the 16 B class (block 3 current), then empty blocks
 * 0, 1 and 2 in turn; returns size_allocated after each emptying in
 * after[0..2] and before any in *before. */
static void **empty_three_blocks(malloc_zone_t *z, size_t *before, size_t after[3])
{
    static void *p[4 * SLOTS_16 + 1];
    for (int i = 0; i < 4 * SLOTS_16 + 1; i++)
        p[i] = z->malloc(z, 16);
    for (int b = 0; b < 3; b++)
        CHECK((uintptr_t)p[b * SLOTS_16] / BLOCK ==
                  (uintptr_t)p[b * SLOTS_16 + SLOTS_16 - 1] / BLOCK,
              "block %d holds 1024 slots", b);
    *before = touched(z);
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < SLOTS_16; i++)
            z->free(z, p[b * SLOTS_16 + i]);
        after[b] = touched(z);
    }
    return p;
}

static void test_defer_purge(void)
{
    REQUIRE(pin_to_one_cpu(), "pin to one CPU");
    zt_profile_t p = *zt_profile_find("native");
    REQUIRE(p.nano_defer_purge_blocks > 0, "native defers its purges");
    p.nano_defer_purge_blocks = 2; /* a FIFO of two blocks */
    malloc_zone_t *z = make_zone(&p);
    /* The frees go straight to the blocks: the test holds nano's thread cache. */
    static int holder;
    uint32_t id = zt_tcache_claim(ZT_TCACHE_NANO, &holder, nothing_flushed, 64);
    size_t before, after[3];
    void **ptrs = empty_three_blocks(z, &before, after);
    CHECK(after[0] == before, "an emptied block keeps its pages (%zu -> %zu)", before, after[0]);
    CHECK(after[1] == before, "two emptied blocks fill the FIFO (%zu)", after[1]);
    CHECK(after[2] + BLOCK == before, "the third pushes the oldest out: purged (%zu -> %zu)",
          before, after[2]);
    CHECK(z->size(z, ptrs[0]) == 0, "a purged block's slots are not live");
    size_t released = z->pressure_relief(z, 0);
    CHECK(released == 2 * BLOCK, "pressure relief purges the two left (%zu)", released);
    CHECK(touched(z) + 3 * BLOCK == before, "every emptied block purged (%zu)", touched(z));
    CHECK(z->pressure_relief(z, 0) == 0, "nothing left to purge");
    zt_tcache_unclaim(ZT_TCACHE_NANO, id);
    z->destroy(z);
}

/* The device rows: no FIFO, every emptied block madvised at its last free. */
static void test_device_purge(void)
{
    REQUIRE(pin_to_one_cpu(), "pin to one CPU");
    const zt_profile_t *p = zt_profile_find("ios12-2gb");
    CHECK(p->nano_defer_purge_blocks == 0 && !p->tcache_batch_refill,
          "ios12-2gb: no native policy");
    malloc_zone_t *z = make_zone(p);
    size_t before, after[3];
    empty_three_blocks(z, &before, after);
    for (int b = 0; b < 3; b++)
        CHECK(after[b] + (size_t)(b + 1) * BLOCK == before, "block %d madvised at its last free",
              b);
    CHECK(z->pressure_relief(z, 0) == 0, "nothing deferred");
    z->destroy(z);
}

struct other {
    malloc_zone_t *z;
    int cpu;
    void *got;
};

/* Another thread on the same CPU (the same current block), with no cache
 * of its own yet: one ordinary allocation. */
static void *other_thread(void *arg)
{
    struct other *o = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o->cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
    o->got = o->z->malloc(o->z, 48);
    return NULL;
}

/* Returns by how many 48 B slots the other thread's block was ahead of
 * ours after our second allocation (and checks that every slot frees). */
static long refill_gap(const zt_profile_t *p, bool cached)
{
    REQUIRE(pin_to_one_cpu(), "pin to one CPU");
    malloc_zone_t *z = make_zone(p);
    char *a[40];
    a[0] = z->malloc(z, 48); /* no cache section yet: slot 0, the ordinary way */
    z->free(z, a[0]);        /* makes this thread's section (native) */
    a[0] = z->malloc(z, 48); /* from the cache (native) */
    a[1] = z->malloc(z, 48); /* a miss: native takes slots 1..32 here */
    struct other o = {z, sched_getcpu(), NULL};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, other_thread, &o) == 0, "thread");
    pthread_join(t, NULL);
    long gap = ((char *)o.got - a[0]) / 48;
    int order = 0;
    for (int i = 2; i < 32; i++) {
        a[i] = z->malloc(z, 48);
        /* device: the other thread took slot 2 in between */
        order += a[i] == a[0] + 48 * (i + (cached ? 0 : 1));
    }
    CHECK(order == 30, "the slots come in the block's order (%d of 30)", order);
    for (int i = 0; i < 32; i++) {
        memset(a[i], 0x5a, 48);
        z->free(z, a[i]);
    }
    int dead = 0;
    for (int i = 0; i < 32; i++)
        dead += z->size(z, a[i]) == 0;
    CHECK(dead == 32, "every freed slot has size 0 (%d of 32)", dead);
    /* A second free is reported and does not put the slot in twice. */
    const char *saved = zt_options.on_error;
    zt_options.on_error = "report";
    fprintf(stderr, "test_nano_native: one double-free report expected:\n");
    z->free(z, a[5]);
    zt_options.on_error = saved;
    void *x = z->malloc(z, 48), *y = z->malloc(z, 48);
    CHECK(x != y, "a double-freed slot is handed out once (%p %p)", x, y);
    z->free(z, x);
    z->free(z, y);
    z->free(z, o.got);
    z->pressure_relief(z, 0); /* this thread's cached slots go back */
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == 0, "nothing left in use (%u)", st.blocks_in_use);
    CHECK(z->introspect->check(z), "zone check");
    z->destroy(z);
    return gap;
}

int main(void)
{
    REQUIRE(zt_chunkmap_init(), "chunk map");
    CHECK_CASE("native: deferred purge, bounded FIFO, relief purges")
    {
        test_defer_purge();
    }
    CHECK_CASE("device: an emptied block is madvised at once")
    {
        test_device_purge();
    }
    CHECK_CASE("native: a cache miss takes 32 slots")
    {
        const zt_profile_t *p = zt_profile_find("native");
        CHECK(p->tcache_batch_refill, "native refills in batches");
        long gap = refill_gap(p, true);
        CHECK(gap == 33, "the other thread got slot %ld (slot 0, then 1..32 refilled: 33)", gap);
    }
    CHECK_CASE("device: one slot per allocation")
    {
        long gap = refill_gap(zt_profile_find("ios12-2gb"), false);
        CHECK(gap == 2, "the other thread got slot %ld (want 2)", gap);
    }
    zt_active_profile = (zt_profile_t){0};
    zt_va_reset_for_test();
    return CHECK_DONE("test_nano_native");
}
