/* ----------------------------------------------------------------------------
 * fragment.c — a long-lived heap with random replacement: 100,000 live
 * blocks per thread (70 % 16–128 B, 25 % 128 B–1 KiB, 5 % 1–8 KiB), then
 * random blocks are freed and replaced while the size mix drifts (the centre
 * of each range moves with time), so freed holes rarely fit the next request.
 * Peak RSS against the live bytes is the number to read: it is the
 * allocator's fragmentation. SIZE = replacements per thread, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define LIVE 100000

typedef struct worker {
    long steps;
    uint64_t seed, check;
} worker_t;

static size_t pick(uint64_t *rng, long step, long steps)
{
    /* drift: a phase in [0, 1) scales each range between its low and high half */
    unsigned phase = (unsigned)(steps ? (step * 8 / (steps + 1)) : 0); /* 0..7 */
    unsigned r = (unsigned)(bench_rand(rng) % 100);
    size_t lo, hi;
    if (r < 70)
        lo = 16, hi = 128;
    else if (r < 95)
        lo = 128, hi = 1024;
    else
        lo = 1024, hi = 8192;
    size_t span = (hi - lo) / 2;
    size_t base = lo + span * phase / 8;
    return bench_range(rng, base, base + span);
}

static void *run(void *arg)
{
    worker_t *w = arg;
    void **slot = calloc(LIVE, sizeof *slot);
    uint32_t *len = calloc(LIVE, sizeof *len);
    if (!slot || !len) bench_fail("fragment", "calloc failed", NULL);
    uint64_t rng = w->seed, check = 0;
    for (unsigned k = 0; k < LIVE; k++) {
        size_t n = pick(&rng, 0, w->steps);
        slot[k] = bench_xmalloc("fragment", n);
        len[k] = (uint32_t)n;
        bench_stamp(slot[k], n, k);
    }
    for (long i = 0; i < w->steps; i++) {
        unsigned k = (unsigned)(bench_rand(&rng) % LIVE);
        check += bench_check("fragment", slot[k], len[k], k);
        free(slot[k]);
        size_t n = pick(&rng, i, w->steps);
        slot[k] = bench_xmalloc("fragment", n);
        len[k] = (uint32_t)n;
        bench_stamp(slot[k], n, k);
    }
    for (unsigned k = 0; k < LIVE; k++)
        free(slot[k]);
    free(slot);
    free(len);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a =
        bench_parse(argc, argv, "fragment", 1000, "replacements per thread, thousands");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("fragment", &a, (uint64_t)LIVE * (uint64_t)a.threads, check);
    return 0;
}
