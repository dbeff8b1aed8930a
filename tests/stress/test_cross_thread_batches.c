/* ----------------------------------------------------------------------------
 * test_cross_thread_batches.c — the thread caches and the racks' transfer
 * cache (zone/rack/transfer.c) under cross-thread frees, thread churn,
 * introspection and fork, through the public API:
 * - 4 workers swap blocks through shared slots (each frees what another
 *   allocated), 2 producers only allocate and 2 consumers only free, sizes
 *   16 B-32 KiB (nano, tiny, small); the threads are made again every
 *   round, so thread exit's flush runs all the time;
 * - every block holds a checksum of its size, a seed and its address,
 *   verified (with malloc_size) before it is freed, so a block handed out
 *   twice or written while cached shows as corruption;
 * - a monitor thread meanwhile calls malloc_zone_statistics,
 *   malloc_zone_pressure_relief and malloc_zone_check, and forks: the child
 *   allocates and frees every size 40 times (it takes the batches left by
 *   the fork) and checks the zone.
 * At the end every block is freed and the zone checks out. 3 s
 * (ZT_STRESS_SCALE scales it down). From a review of the transfer cache.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS   8192
#define QSLOTS  4096
#define WORKERS 4
#define PRODS   2
#define CONS    2

static _Atomic(void *) slots[SLOTS];
static _Atomic(void *) queue[QSLOTS];
static atomic_int stop;
static atomic_ulong bad, ops, forks, intro;

static inline uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t pick(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 8) {
    case 0:
        return 16 + (r >> 8) % 240; /* nano */
    case 1:
    case 2:
        return 257 + (r >> 8) % 752; /* tiny */
    case 3:
        return 1008; /* tiny msize 63 */
    case 4:
        return 1009 + (r >> 8) % 3000; /* small */
    case 5:
        return 512 * (1 + (r >> 8) % 64); /* small msizes */
    case 6:
        return 32768; /* small msize 64 */
    default:
        return 400; /* one tiny msize, hot */
    }
}

/* word 0: size, word 1: seed, then a pattern every 64 bytes and the last word */
static void fill(void *p, size_t n, uint64_t seed)
{
    uint64_t *w = p;
    size_t nw = n / 8;
    w[0] = n;
    w[1] = seed;
    for (size_t i = 2; i < nw - 1; i += 8)
        w[i] = seed ^ (i * 0x9e3779b97f4a7c15ull) ^ (uintptr_t)p;
    w[nw - 1] = ~seed ^ (uintptr_t)p;
}

static bool verify(void *p)
{
    uint64_t *w = p;
    size_t n = w[0];
    if (n < 24 || n > 32768) return false;
    uint64_t seed = w[1];
    size_t nw = n / 8;
    for (size_t i = 2; i < nw - 1; i += 8)
        if (w[i] != (seed ^ (i * 0x9e3779b97f4a7c15ull) ^ (uintptr_t)p)) return false;
    if (w[nw - 1] != (~seed ^ (uintptr_t)p)) return false;
    if (malloc_size(p) < n) return false;
    return true;
}

static void *get(uint64_t *s)
{
    size_t n = pick(s) & ~(size_t)7;
    if (n < 24) n = 24;
    void *p = (rnd(s) & 15) == 0 ? calloc(1, n) : malloc(n);
    if (!p) {
        atomic_fetch_add(&bad, 1);
        return NULL;
    }
    if (malloc_size(p) < n) atomic_fetch_add(&bad, 1);
    fill(p, n, rnd(s));
    return p;
}

static void put(void *p)
{
    if (!p) return;
    if (!verify(p)) {
        fprintf(stderr, "corrupt block %p size word %zu\n", p, *(size_t *)p);
        atomic_fetch_add(&bad, 1);
    }
    free(p);
}

static void *worker(void *arg)
{
    uint64_t s = 0x1234567ull * ((uintptr_t)arg + 1) ^ (uint64_t)time(NULL);
    for (unsigned k = 0; k < 20000 && !atomic_load(&stop); k++) {
        unsigned i = (unsigned)(rnd(&s) % SLOTS);
        void *p = get(&s);
        void *old = atomic_exchange(&slots[i], p);
        put(old);
        atomic_fetch_add(&ops, 1);
    }
    return NULL;
}

static void *producer(void *arg)
{
    uint64_t s = 0xabcdefull * ((uintptr_t)arg + 7) ^ (uint64_t)time(NULL);
    for (unsigned k = 0; k < 40000 && !atomic_load(&stop); k++) {
        unsigned i = (unsigned)(rnd(&s) % QSLOTS);
        if (atomic_load(&queue[i])) continue;
        void *p = get(&s);
        void *expect = NULL;
        if (!atomic_compare_exchange_strong(&queue[i], &expect, p)) put(p);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    uint64_t s = 0x777ull * ((uintptr_t)arg + 3);
    for (unsigned k = 0; k < 80000 && !atomic_load(&stop); k++) {
        unsigned i = (unsigned)(rnd(&s) % QSLOTS);
        void *p = atomic_exchange(&queue[i], NULL);
        put(p);
    }
    return NULL;
}

static void child_work(void)
{
    alarm(20);
    uint64_t s = 99;
    void *v[512];
    for (int i = 0; i < 512; i++)
        v[i] = get(&s);
    for (int i = 0; i < 512; i++)
        if (!verify(v[i])) _exit(3);
    for (int i = 0; i < 512; i++)
        free(v[i]);
    /* take whatever batches there are: each size, several times */
    for (size_t n = 16; n <= 32768; n += (n < 1024 ? 16 : 512)) {
        void *w[40];
        for (int j = 0; j < 40; j++) {
            w[j] = malloc(n);
            if (!w[j]) _exit(4);
            memset(w[j], 0x5a, n);
        }
        for (int j = 0; j < 40; j++)
            free(w[j]);
    }
    if (!malloc_zone_check(NULL)) _exit(5);
    _exit(0);
}

static void *monitor(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        {
            malloc_statistics_t st;
            malloc_zone_statistics(NULL, &st);
            malloc_zone_pressure_relief(NULL, 0);
            if (!malloc_zone_check(NULL)) {
                fprintf(stderr, "malloc_zone_check failed during stress\n");
                atomic_fetch_add(&bad, 1);
            }
            atomic_fetch_add(&intro, 1);
        }
        {
            pid_t pid = fork();
            if (pid == 0) child_work();
            int status = 0;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
                WEXITSTATUS(status) != 0) {
                fprintf(stderr, "fork child failed: status %#x\n", status);
                atomic_fetch_add(&bad, 1);
            }
            atomic_fetch_add(&forks, 1);
        }
        usleep(20000);
    }
    return NULL;
}

int main(void)
{
    long seconds = CHECK_SCALED(3);
    pthread_t mon;
    REQUIRE(pthread_create(&mon, NULL, monitor, NULL) == 0, "monitor");
    time_t end = time(NULL) + seconds;
    unsigned rounds = 0;
    while (time(NULL) < end) {
        pthread_t t[WORKERS + PRODS + CONS];
        unsigned n = 0;
        for (uintptr_t i = 0; i < WORKERS; i++)
            REQUIRE(pthread_create(&t[n++], NULL, worker, (void *)(i + rounds * 16)) == 0, "w");
        for (uintptr_t i = 0; i < PRODS; i++)
            REQUIRE(pthread_create(&t[n++], NULL, producer, (void *)(i + rounds * 16)) == 0, "p");
        for (uintptr_t i = 0; i < CONS; i++)
            REQUIRE(pthread_create(&t[n++], NULL, consumer, (void *)(i + rounds * 16)) == 0, "c");
        for (unsigned i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        rounds++;
    }
    atomic_store(&stop, 1);
    pthread_join(mon, NULL);
    for (unsigned i = 0; i < SLOTS; i++)
        put(atomic_exchange(&slots[i], NULL));
    for (unsigned i = 0; i < QSLOTS; i++)
        put(atomic_exchange(&queue[i], NULL));
    CHECK(malloc_zone_check(NULL), "malloc_zone_check at the end");
    malloc_statistics_t st;
    malloc_zone_statistics(NULL, &st);
    fprintf(stderr, "rounds %u ops %lu forks %lu intro %lu; in use at end: %u blocks %zu bytes\n",
            rounds, atomic_load(&ops), atomic_load(&forks), atomic_load(&intro), st.blocks_in_use,
            st.size_in_use);
    CHECK(atomic_load(&bad) == 0, "no corruption / failure (%lu)", atomic_load(&bad));
    return CHECK_DONE("test_cross_thread_batches");
}
