/* ----------------------------------------------------------------------------
 * handoff.c — a server handing objects between threads (issue 15, shapes 5
 * and 6; Larson & Krishnan's shape): T threads each own 1000 slots of
 * 16–512 B blocks; a step frees a random slot's block and allocates one of a
 * new random size. Every 10,000 steps a thread swaps its whole slot array
 * with the one another thread left in a shared exchange, so it goes on
 * freeing blocks other threads allocated. Built twice: bench_handoff frees
 * with free(); bench_handoff_sized frees with the size, through C23
 * free_sized when the allocator exports it (zonetrace does, glibc 2.36 does
 * not), else sdallocx (jemalloc, tcmalloc), else free (glibc: the run then
 * measures plain free). SIZE = steps per thread, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#include <dlfcn.h>

#define SLOTS 1000
#define SWAP  10000

#ifndef HANDOFF_SIZED
#define HANDOFF_SIZED 0
#endif
#define NAME (HANDOFF_SIZED ? "handoff_sized" : "handoff")

typedef struct arr {
    void *p[SLOTS];
    uint32_t len[SLOTS];
} arr_t;

static arr_t *Exchange; /* one array waiting to be taken (atomic swap) */
static void (*Free_sized)(void *, size_t);
static void (*Sdallocx)(void *, size_t, int);

typedef struct worker {
    long steps;
    uint64_t seed, check;
} worker_t;

static void release(void *p, size_t n)
{
    if (HANDOFF_SIZED && Free_sized)
        Free_sized(p, n);
    else if (HANDOFF_SIZED && Sdallocx)
        Sdallocx(p, n, 0);
    else
        free(p);
}

static void *run(void *arg)
{
    worker_t *w = arg;
    uint64_t rng = w->seed, check = 0;
    arr_t *a = bench_xmalloc(NAME, sizeof *a);
    for (unsigned k = 0; k < SLOTS; k++) {
        size_t n = bench_range(&rng, 16, 512);
        a->p[k] = bench_xmalloc(NAME, n);
        a->len[k] = (uint32_t)n;
        bench_stamp(a->p[k], n, n);
    }
    for (long i = 1; i <= w->steps; i++) {
        unsigned k = (unsigned)(bench_rand(&rng) % SLOTS);
        check += bench_check(NAME, a->p[k], a->len[k], a->len[k]);
        release(a->p[k], a->len[k]);
        size_t n = bench_range(&rng, 16, 512);
        a->p[k] = bench_xmalloc(NAME, n);
        a->len[k] = (uint32_t)n;
        bench_stamp(a->p[k], n, n);
        if (i % SWAP == 0) {
            arr_t *other = __atomic_exchange_n(&Exchange, a, __ATOMIC_ACQ_REL);
            if (other)
                a = other;
            else
                a = NULL;
            if (!a) { /* nothing waiting: start a fresh array */
                a = bench_xmalloc(NAME, sizeof *a);
                for (unsigned j = 0; j < SLOTS; j++) {
                    size_t m = bench_range(&rng, 16, 512);
                    a->p[j] = bench_xmalloc(NAME, m);
                    a->len[j] = (uint32_t)m;
                    bench_stamp(a->p[j], m, m);
                }
            }
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        release(a->p[k], a->len[k]);
    free(a);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, NAME, 12000, "steps per thread, thousands");
    if (HANDOFF_SIZED) {
        *(void **)&Free_sized = dlsym(RTLD_DEFAULT, "free_sized");
        *(void **)&Sdallocx = dlsym(RTLD_DEFAULT, "sdallocx");
    }
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    arr_t *left = __atomic_exchange_n(&Exchange, NULL, __ATOMIC_ACQ_REL);
    if (left) {
        for (unsigned k = 0; k < SLOTS; k++)
            release(left->p[k], left->len[k]);
        free(left);
    }
    bench_result(NAME, &a, (uint64_t)SLOTS * (uint64_t)(a.threads + 1), check);
    return 0;
}
