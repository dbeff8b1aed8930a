/* ----------------------------------------------------------------------------
 * test_remote_free.c — blocks allocated on one thread and all freed on
 * another (xfree's shape): the freeing thread's cache gives them back to
 * their nano blocks in runs, a run of one block's slots with one header
 * CAS (zone/nano/alloc.c tc_flush_run, native). Every fourth block stays live, so
 * no block empties (an emptied block drops its free list) and the chains the
 * runs built are walked by the zone check and popped by the next round.
 * Three free orders: allocation order (long runs), reversed, and a stride
 * that breaks every run. After each: the zone checks out (free lists linked,
 * counts right), the live count is as expected, and a fresh round of
 * allocations hands out no slot twice (each block holds its index; all are
 * checked after all are allocated). A wrongly linked chain shows as a zone
 * check failure, a corruption report or two live blocks at one address.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 12000 /* blocks per round: many 16 KiB nano blocks per class */

static void *blocks[N];
static unsigned order[N];

static inline bool kept(unsigned i)
{
    return i % 4 == 3;
}

static void *free_most(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < N; i++)
        if (!kept(order[i])) free(blocks[order[i]]);
    return NULL;
}

/* Allocate blocks of 16-256 B, each holding its index: all of them, or
 * (again) those that were freed. */
static void fill(bool all)
{
    for (unsigned i = 0; i < N; i++) {
        if (!all && kept(i)) continue;
        size_t bytes = 16 + 16 * (i % 3 == 0 ? 1 : i % 3 == 1 ? 5 : 15);
        blocks[i] = malloc(bytes);
        REQUIRE(blocks[i] != NULL, "malloc(%zu)", bytes);
        for (size_t w = 0; w < bytes / sizeof(uint32_t); w++)
            ((uint32_t *)blocks[i])[w] = i;
    }
}

static void verify(void)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < N; i++)
        if (((uint32_t *)blocks[i])[0] != i || ((uint32_t *)blocks[i])[3] != i) bad++;
    CHECK(bad == 0, "%u blocks overwritten by another (a slot handed out twice)", bad);
}

static void round_trip(const char *what)
{
    malloc_statistics_t before, after;
    malloc_zone_statistics(NULL, &before);
    fill(true);
    verify();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_most, NULL) == 0, "pthread_create");
    pthread_join(t, NULL); /* its cache is flushed as it exits */
    CHECK(malloc_zone_check(NULL), "malloc_zone_check after %s", what);
    malloc_zone_statistics(NULL, &after);
    unsigned want = before.blocks_in_use + N / 4;
    CHECK(after.blocks_in_use <= want + 16 && after.blocks_in_use + 16 >= want,
          "%s: %u blocks in use before, %u after (%u kept)", what, before.blocks_in_use,
          after.blocks_in_use, N / 4);
    fill(false); /* from the slots just given back */
    verify();
    for (unsigned i = 0; i < N; i++)
        free(blocks[i]);
    CHECK(malloc_zone_check(NULL), "malloc_zone_check after the second round of %s", what);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK_CASE("freed on another thread in allocation order")
    {
        for (unsigned i = 0; i < N; i++)
            order[i] = i;
        round_trip("allocation order");
    }
    CHECK_CASE("freed on another thread in reverse order")
    {
        for (unsigned i = 0; i < N; i++)
            order[i] = N - 1 - i;
        round_trip("reverse order");
    }
    CHECK_CASE("freed on another thread by a stride (no runs)")
    {
        /* 7919 is a prime that does not divide N: every index once. */
        for (unsigned i = 0; i < N; i++)
            order[i] = (unsigned)(((uint64_t)i * 7919u) % N);
        round_trip("a stride");
    }
    return CHECK_DONE("test_remote_free");
}
