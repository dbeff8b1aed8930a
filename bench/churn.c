/* ----------------------------------------------------------------------------
 * churn.c — small-object churn: 16–256 B blocks freed and replaced at random
 * in a working set of 4096 per thread. This is the fast path of every
 * allocator (nano / tiny on zonetrace, tcache on glibc); no thread ever frees
 * another thread's block. SIZE = replacements per thread, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define SLOTS 4096

typedef struct worker {
    long ops;
    uint64_t seed, check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    static __thread void *slot[SLOTS];
    static __thread uint32_t len[SLOTS];
    uint64_t rng = w->seed, check = 0;
    for (long i = 0; i < w->ops; i++) {
        unsigned k = (unsigned)(bench_rand(&rng) % SLOTS);
        if (slot[k]) {
            check += bench_check("churn", slot[k], len[k], ((uint64_t)k << 32) ^ len[k]);
            free(slot[k]);
        }
        size_t n = bench_range(&rng, 16, 256);
        slot[k] = bench_xmalloc("churn", n);
        len[k] = (uint32_t)n;
        bench_stamp(slot[k], n, ((uint64_t)k << 32) ^ n);
    }
    for (unsigned k = 0; k < SLOTS; k++)
        free(slot[k]);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "churn", 5000, "replacements per thread, thousands");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check ^= w[i].check;
    bench_result("churn", &a, (uint64_t)SLOTS * (uint64_t)a.threads, check);
    return 0;
}
