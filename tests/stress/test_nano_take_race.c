/* ----------------------------------------------------------------------------
 * test_nano_take_race.c — two refills holding one nano block at once
 * (block_take_list, zone/nano/alloc.c), made deterministic with the test
 * hook zt_nano_hold_hook instead of a lucky preemption:
 * - the block (16 B class) is a short free list ending in its untouched
 *   tail; thread A's refill takes it whole, keeps 32 slots and holds the
 *   rest, the bare tail;
 * - 40 slots are freed onto the block meanwhile (a list ending in FULL),
 *   and thread B's refill takes those, keeps 32 and holds 8;
 * - A gives its tail back over B's FULL header, then B gives its 8 back
 *   over the tail: B must join them (ours in front, the tail last) rather
 *   than take the tail's BUMP link for a corrupt list, which aborted
 *   (found in review).
 * Then every slot of the block is allocated and freed again and the zone
 * checks out. All threads are pinned to one CPU, so they share nano's
 * current block. Skipped where nano has no thread caches (device profiles).
 * -------------------------------------------------------------------------- */
#include "../pin.h"

#include "../check.h"
#include "nano.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>

#define BLOCK_BYTES 16384

static __thread int role; /* 1: A, 2: B, 0: not held */
static sem_t held[3], go[3], done;
static uintptr_t target;
static unsigned holds;

static void hold(uintptr_t blk)
{
    if (role == 0 || blk != target) return;
    int r = role;
    role = 0; /* once per thread */
    __atomic_add_fetch(&holds, 1, __ATOMIC_RELAXED);
    sem_post(&held[r]);
    sem_wait(&go[r]);
}

static void *refill(void *arg)
{
    role = (int)(intptr_t)arg;
    void *p = malloc(16);                    /* a new thread's first malloc: a refill */
    if ((intptr_t)arg == 1) sem_wait(&done); /* A stays alive: no exit flush yet */
    free(p);
    return NULL;
}

int main(void)
{
    if (!pin_to_one_cpu()) {
        CHECK_SKIP("cannot pin to one CPU");
        return CHECK_DONE("test_nano_take_race");
    }
    void *probe = malloc(16);
    if (zt_nano_front_zone == NULL) {
        free(probe);
        CHECK_SKIP("no nano thread caches on this profile");
        return CHECK_DONE("test_nano_take_race");
    }
    for (int i = 0; i < 3; i++) {
        sem_init(&held[i], 0, 0);
        sem_init(&go[i], 0, 0);
    }
    sem_init(&done, 0, 0);
    static void *p[300];
    for (int i = 0; i < 300; i++)
        p[i] = malloc(16);
    target = (uintptr_t)p[0] & ~(uintptr_t)(BLOCK_BYTES - 1);
    unsigned same = 0;
    for (int i = 0; i < 300; i++)
        same += ((uintptr_t)p[i] & ~(uintptr_t)(BLOCK_BYTES - 1)) == target;
    REQUIRE(same >= 150, "the blocks share one nano block (%u of 300)", same);
    for (int i = 10; i < 13; i++) {
        free(p[i]);
        p[i] = NULL;
    }
    malloc_zone_pressure_relief(NULL, 0); /* this thread's cache back: a list, then the tail */
    zt_nano_hold_hook = hold;

    pthread_t a, b;
    REQUIRE(pthread_create(&a, NULL, refill, (void *)1) == 0, "thread A");
    sem_wait(&held[1]); /* A holds the block's free slots; its rest is the tail */
    for (int i = 100; i < 140; i++)
        if (((uintptr_t)p[i] & ~(uintptr_t)(BLOCK_BYTES - 1)) == target) {
            free(p[i]);
            p[i] = NULL;
        }
    malloc_zone_pressure_relief(NULL, 0); /* pushed onto A's FULL header */
    REQUIRE(pthread_create(&b, NULL, refill, (void *)2) == 0, "thread B");
    sem_wait(&held[2]); /* B holds what was pushed, minus its 32 */
    sem_post(&go[1]);   /* A gives the tail back over B's FULL header */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    sem_post(&go[2]); /* B gives its rest back over the tail */
    pthread_join(b, NULL);
    sem_post(&done);
    pthread_join(a, NULL);
    zt_nano_hold_hook = NULL;
    CHECK(holds == 2, "both refills held the block (%u)", holds);

    /* The block's list and tail are whole: take every slot of it again. */
    static void *q[2048];
    unsigned nq = 0, in_block = 0;
    while (nq < 2048) {
        q[nq] = malloc(16);
        if (!q[nq]) break;
        in_block += ((uintptr_t)q[nq] & ~(uintptr_t)(BLOCK_BYTES - 1)) == target;
        nq++;
    }
    unsigned live = ((uintptr_t)probe & ~(uintptr_t)(BLOCK_BYTES - 1)) == target;
    for (int i = 0; i < 300; i++)
        live += p[i] && ((uintptr_t)p[i] & ~(uintptr_t)(BLOCK_BYTES - 1)) == target;
    CHECK(in_block + live == BLOCK_BYTES / 16,
          "every slot of the block is reachable again: %u taken + %u live of %u", in_block, live,
          BLOCK_BYTES / 16);
    CHECK(malloc_zone_check(NULL), "the zone checks out");
    for (unsigned i = 0; i < nq; i++)
        free(q[i]);
    for (int i = 0; i < 300; i++)
        free(p[i]);
    free(probe);
    CHECK(malloc_zone_check(NULL), "the zone checks out after the frees");
    return CHECK_DONE("test_nano_take_race");
}
