/* ----------------------------------------------------------------------------
 * samesize.c — the tight same-size loop (issue 15, shape 4; glibc's
 * bench-malloc-simple shape): allocate 2000 blocks of one size, write a word
 * into each, free them all in allocation order, repeat; the size cycles
 * through 16, 32, 64 and 128 B, 250 loops each. This is the thread cache's
 * fast path, and an allocator that returns an emptied page to the kernel at
 * once faults it back in on the next loop. SIZE = loops per thread, in
 * thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define BLOCKS 2000

typedef struct worker {
    long loops;
    uint64_t seed, check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    static __thread void *p[BLOCKS];
    static const size_t sizes[4] = {16, 32, 64, 128};
    uint64_t check = 0;
    for (long i = 0; i < w->loops; i++) {
        size_t n = sizes[(i / 250) % 4];
        for (unsigned k = 0; k < BLOCKS; k++) {
            p[k] = bench_xmalloc("samesize", n);
            memcpy(p[k], &i, sizeof i);
        }
        for (unsigned k = 0; k < BLOCKS; k++) {
            long v;
            memcpy(&v, p[k], sizeof v);
            if (v != i) bench_fail("samesize", "stamp mismatch", p[k]);
            free(p[k]);
        }
        check += n;
    }
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "samesize", 4, "loops of 2000 blocks, thousands");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("samesize", &a, (uint64_t)BLOCKS * (uint64_t)a.threads, check);
    return 0;
}
