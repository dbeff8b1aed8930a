/* ----------------------------------------------------------------------------
 * test_nano_lists.c — native's refill from a nano block's free list
 * (block_take_list, zone/nano/alloc.c: one CAS takes every free slot of the
 * block, the rest goes back, merged with what other threads freed onto the
 * block meanwhile) under cross-thread frees:
 * - 4 workers allocate 16-64 B blocks (four nano classes) and keep one in
 *   16 for a while, so blocks hold long-lived slots and stay in the list
 *   state that refills take whole;
 * - each worker hands the rest to the next worker through a ring, which
 *   frees them: frees of other threads' blocks overflow the caches and go
 *   back onto the block headers the refills are taking and giving back;
 * - every block carries its size, a seed and its address, checked before
 *   it is freed, so a slot handed out twice (a list duplicated in a merge)
 *   shows as corruption; a list cut short in a merge leaves a header whose
 *   count disagrees with its links, which the next pop reports as heap
 *   corruption (the process stops); at the end no block the test freed is
 *   still counted live (malloc_zone_statistics) and the zone checks out.
 * 2 s (ZT_STRESS_SCALE scales it down).
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 4
#define RING    4096 /* per worker, a power of two */
#define KEEP    512  /* long-lived blocks per worker */

typedef struct ring {
    _Atomic(void *) slot[RING];
    atomic_uint head, tail; /* head: next to write (its owner), tail: next to free */
} ring_t;

static ring_t rings[WORKERS];
static atomic_int stop;
static atomic_ulong bad, ops;

static inline uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void stamp(void *p, size_t n, uint64_t seed)
{
    uint64_t w[3] = {n, seed, (uint64_t)(uintptr_t)p ^ seed};
    memcpy(p, w, n < sizeof w ? n : sizeof w);
    if (n > sizeof w) memset((char *)p + sizeof w, (int)(seed & 0xff), n - sizeof w);
}

static void check_and_free(void *p)
{
    uint64_t w[2];
    memcpy(w, p, sizeof w);
    size_t n = (size_t)w[0];
    bool ok = n >= 16 && n <= 64 && malloc_size(p) >= n;
    if (ok && n >= 24) {
        uint64_t a;
        memcpy(&a, (char *)p + 16, sizeof a);
        ok = a == ((uint64_t)(uintptr_t)p ^ w[1]);
        for (size_t i = 24; ok && i < n; i++)
            ok = ((unsigned char *)p)[i] == (unsigned char)(w[1] & 0xff);
    }
    if (!ok) atomic_fetch_add(&bad, 1);
    free(p);
}

/* Free what the previous worker handed over. */
static void drain(ring_t *r)
{
    unsigned t = atomic_load(&r->tail), h = atomic_load_explicit(&r->head, memory_order_acquire);
    for (; t != h; t++) {
        void *p = atomic_exchange(&r->slot[t & (RING - 1)], NULL);
        if (p) check_and_free(p);
    }
    atomic_store(&r->tail, t);
}

static void *worker(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    ring_t *out = &rings[me], *in = &rings[(me + WORKERS - 1) % WORKERS];
    uint64_t s = 0x9e3779b97f4a7c15ull * (me + 1);
    void *keep[KEEP] = {0};
    while (!atomic_load(&stop)) {
        for (unsigned i = 0; i < 256; i++) {
            uint64_t r = rnd(&s);
            size_t n = 16 + (size_t)(r % 49); /* nano's 16, 32, 48 and 64 B classes */
            void *p = malloc(n);
            if (!p) {
                atomic_fetch_add(&bad, 1);
                continue;
            }
            stamp(p, n, r);
            if ((r >> 16) % 16 == 0) { /* long-lived: replaces an older one */
                void **k = &keep[(r >> 20) % KEEP];
                if (*k) check_and_free(*k);
                *k = p;
                continue;
            }
            unsigned h = atomic_load(&out->head);
            if (h - atomic_load(&out->tail) >= RING) {
                check_and_free(p); /* the next worker is behind: free it here */
                continue;
            }
            atomic_store(&out->slot[h & (RING - 1)], p);
            atomic_store_explicit(&out->head, h + 1, memory_order_release);
        }
        drain(in);
        atomic_fetch_add(&ops, 256);
    }
    drain(in);
    for (unsigned i = 0; i < KEEP; i++)
        if (keep[i]) check_and_free(keep[i]);
    return NULL;
}

int main(void)
{
    const char *scale = getenv("ZT_STRESS_SCALE");
    long pct = scale ? strtol(scale, NULL, 10) : 100;
    if (pct <= 0 || pct > 100) pct = 100;
    malloc_statistics_t before, after;
    malloc_zone_statistics(NULL, &before);

    pthread_t t[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++)
        REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0, "thread %u", i);
    struct timespec d = {(time_t)(2 * pct / 100), (long)(2 * pct % 100) * 10000000L};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    /* What a worker handed over after the next one drained for the last time. */
    for (unsigned i = 0; i < WORKERS; i++)
        drain(&rings[i]);

    malloc_zone_statistics(NULL, &after);
    CHECK(atomic_load(&bad) == 0, "%lu blocks corrupt, lost or not allocated", atomic_load(&bad));
    CHECK(atomic_load(&ops) > 10000, "work done: %lu allocations", atomic_load(&ops));
    CHECK(after.size_in_use <= before.size_in_use + 4096,
          "every block given back: %zu bytes in use, %zu before", after.size_in_use,
          before.size_in_use);
    CHECK(malloc_zone_check(NULL), "the zone checks out");
    return CHECK_DONE("test_nano_lists");
}
