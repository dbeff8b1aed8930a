/* ----------------------------------------------------------------------------
 * test_threads.c — several threads allocate, check and free blocks of random
 * sizes across every class (nano/tiny/small/medium/large), and hand blocks
 * to each other through a shared exchange so that a large share of frees
 * happen on another thread than the allocation (frees go to the owning
 * region's magazine). Every block carries its size and a seed-derived
 * pattern that the freeing thread verifies. At the end the live block count
 * returns to where it started. ZT_STRESS_SCALE (percent) shortens the run.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define OPS     150000 /* per thread, scaled by ZT_STRESS_SCALE */
#define SLOTS   512
#define XCHG    1024

typedef struct header {
    size_t bytes;
    uint64_t seed;
} header_t;

static void *volatile xchg[XCHG];
static volatile int failed; /* stops every worker at the first failure */
static long ops;

static inline uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t random_size(uint64_t *s)
{
    unsigned r = (unsigned)(next(s) % 1000);
    if (r < 550) return sizeof(header_t) + next(s) % 241;   /* nano / tiny */
    if (r < 800) return 257 + next(s) % 752;                /* tiny */
    if (r < 950) return 1009 + next(s) % (32u << 10);       /* small */
    if (r < 995) return (33u << 10) + next(s) % (1u << 20); /* medium (large without medium) */
    return (8u << 20) + next(s) % (2u << 20);               /* large */
}

/* Pattern: every 8-byte word of the first 4 KiB and the last word, so that
 * big blocks cost two page faults, not one per page. */
static void fill(header_t *h, size_t bytes, uint64_t seed)
{
    h->bytes = bytes;
    h->seed = seed;
    uint64_t *w = (uint64_t *)(h + 1);
    size_t words = (bytes - sizeof *h) / 8;
    for (size_t i = 0; i < words && i < 512; i++)
        w[i] = seed + i;
    if (words) w[words - 1] = seed + words - 1;
}

static void check(header_t *h, const char *who)
{
    size_t bytes = h->bytes;
    uint64_t *w = (uint64_t *)(h + 1);
    size_t words = (bytes - sizeof *h) / 8;
    bool ok = malloc_size(h) >= bytes;
    for (size_t i = 0; ok && i < words && i < 512; i++)
        ok = w[i] == h->seed + i;
    if (ok && words) ok = w[words - 1] == h->seed + words - 1;
    if (!ok && !failed) {
        failed = 1;
        CHECK(ok, "block %p (%zu bytes, malloc_size %zu) corrupted, seen by %s", (void *)h, bytes,
              malloc_size(h), who);
    }
}

static void *worker(void *arg)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    header_t *slots[SLOTS] = {0};
    for (long op = 0; op < ops && !failed; op++) {
        unsigned i = (unsigned)(next(&s) % SLOTS);
        if (slots[i]) {
            check(slots[i], "owner");
            if (next(&s) % 3 == 0) {
                /* Trade with the exchange: free whatever another thread left. */
                header_t *other =
                    __atomic_exchange_n(&xchg[next(&s) % XCHG], slots[i], __ATOMIC_ACQ_REL);
                if (other) {
                    check(other, "another thread");
                    free(other);
                }
            } else {
                free(slots[i]);
            }
            slots[i] = NULL;
        }
        size_t bytes = random_size(&s);
        header_t *h = next(&s) % 8 == 0 ? calloc(1, bytes) : malloc(bytes);
        if (!h) {
            failed = 1;
            CHECK(h != NULL, "allocation of %zu bytes returned NULL", bytes);
            break;
        }
        fill(h, bytes, next(&s));
        slots[i] = h;
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i]) {
            check(slots[i], "owner at exit");
            free(slots[i]);
        }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    ops = CHECK_SCALED(OPS);
    pthread_t t[THREADS];
    CHECK_CASE("warm-up round")
    {
        /* Warm up the threads' own allocations (stacks are cached by glibc). */
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(100 + i));
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < XCHG; i++)
            if (xchg[i]) {
                check(xchg[i], "main");
                free(xchg[i]);
                xchg[i] = NULL;
            }
    }
    CHECK_CASE("cross-thread frees, live blocks return")
    {
        malloc_statistics_t before, after;
        malloc_zone_statistics(NULL, &before);
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < XCHG; i++)
            if (xchg[i]) {
                check(xchg[i], "main");
                free(xchg[i]);
            }
        malloc_zone_statistics(NULL, &after);
        /* Only meaningful when the workers ran to the end. */
        if (!failed)
            CHECK(after.blocks_in_use <= before.blocks_in_use + 16 &&
                      after.blocks_in_use + 16 >= before.blocks_in_use,
                  "%u blocks in use before, %u after", before.blocks_in_use, after.blocks_in_use);
        CHECK(malloc_zone_check(NULL), "malloc_zone_check");
    }
    printf("test_threads: %d threads x %ld operations\n", THREADS, ops);
    return CHECK_DONE("test_threads");
}
