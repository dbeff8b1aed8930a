/* ----------------------------------------------------------------------------
 * test_account_owner — who may count with plain stores (account.c's
 * single-writer fast path, issue 15):
 * - the first thread that counts does not keep the fast path to itself: a
 *   second thread that counts while the first one waits takes it over
 *   (bench/'s workloads, where main allocates, then joins one worker), and
 *   the counts stay exact;
 * - threads that count at the same time switch the process to atomic adds
 *   for good, and no update is lost on the way (each thread's blocks and
 *   bytes add up exactly, whenever the switch happens).
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "account_record.h"

#define THREADS    4
#define PER_THREAD 200000

static uint32_t stack_id;

static uint64_t heap(const uint64_t *f)
{
    return __atomic_load_n(f, __ATOMIC_RELAXED);
}

static void *worker_alone(void *arg)
{
    bool *plain_after = arg;
    for (int i = 0; i < 1000; i++)
        zt_account_alloc(stack_id, 0, 2, 1, 48);
    *plain_after = !zt_account_atomic_mode();
    return NULL;
}

static pthread_barrier_t start_line;
static void *worker_racing(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < PER_THREAD; i++) {
        zt_account_alloc(stack_id, 0, 3, 1, 64);
        zt_account_free(stack_id, 0, 3, 1, 64);
    }
    return NULL;
}

int main(void)
{
    char path[256];
    stack_id = account_record_open("test_account_owner", path, sizeof path);
    /* The heap: zone 0's counters (the only zone counted; record version 5
     * keeps the heap's counts as the zones' sums). */
    zt_rec_counters_t *h = &zt_rec.zone[0]->total;

    CHECK_CASE("a thread counting alone after the first takes the fast path over")
    {
        for (int i = 0; i < 10; i++) /* main is the first to count */
            zt_account_alloc(stack_id, 0, 2, 1, 48);
        uint64_t t0 = heap(&h->total_blocks), b0 = heap(&h->total_bytes);
        bool plain_after = false;
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, worker_alone, &plain_after) == 0, "pthread_create");
        pthread_join(th, NULL);
        CHECK(plain_after, "a second thread counting alone switched the process to atomics");
        CHECK(heap(&h->total_blocks) - t0 == 1000 && heap(&h->total_bytes) - b0 == 48000,
              "the worker's 1000 blocks of 48 B counted as %llu blocks, %llu B",
              (unsigned long long)(heap(&h->total_blocks) - t0),
              (unsigned long long)(heap(&h->total_bytes) - b0));
        for (int i = 0; i < 10; i++) /* and main takes it back */
            zt_account_alloc(stack_id, 0, 2, 1, 48);
        CHECK(!zt_account_atomic_mode() && heap(&h->total_blocks) - t0 == 1010,
              "main counting again after the worker: atomic %d, blocks +%llu (want 1010)",
              zt_account_atomic_mode(), (unsigned long long)(heap(&h->total_blocks) - t0));
    }

    CHECK_CASE("threads counting at the same time lose nothing and go atomic")
    {
        uint64_t t0 = heap(&h->total_blocks), b0 = heap(&h->total_bytes);
        uint64_t f0 = heap(&h->freed_blocks), fb0 = heap(&h->freed_bytes);
        pthread_t th[THREADS];
        REQUIRE(pthread_barrier_init(&start_line, NULL, THREADS) == 0, "barrier");
        for (int i = 0; i < THREADS; i++)
            REQUIRE(pthread_create(&th[i], NULL, worker_racing, NULL) == 0, "pthread_create");
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        uint64_t want = (uint64_t)THREADS * PER_THREAD;
        CHECK(heap(&h->total_blocks) - t0 == want && heap(&h->total_bytes) - b0 == 64 * want,
              "allocated %llu blocks, %llu B; want %llu, %llu",
              (unsigned long long)(heap(&h->total_blocks) - t0),
              (unsigned long long)(heap(&h->total_bytes) - b0), (unsigned long long)want,
              (unsigned long long)(64 * want));
        CHECK(heap(&h->freed_blocks) - f0 == want && heap(&h->freed_bytes) - fb0 == 64 * want,
              "freed %llu blocks, %llu B; want %llu, %llu",
              (unsigned long long)(heap(&h->freed_blocks) - f0),
              (unsigned long long)(heap(&h->freed_bytes) - fb0), (unsigned long long)want,
              (unsigned long long)(64 * want));
        /* Counting "at the same time" needs two CPUs running the threads
         * (valgrind runs one thread at a time). */
        if (getenv("ZT_UNDER_VALGRIND") == NULL && sysconf(_SC_NPROCESSORS_ONLN) >= 2)
            CHECK(zt_account_atomic_mode(),
                  "%d threads counted at once and the process stayed plain", THREADS);
    }
    unlink(path);
    return CHECK_DONE("test_account_owner");
}
