/* ----------------------------------------------------------------------------
 * bigblock.c — the large-block loop (issue 15, shape 1): 8 live buffers of
 * 5–25 MiB (uniform); each step allocates a new buffer, fills it with a byte
 * (a non-zero one: malloc + memset 0 would be folded into calloc by the compiler,
 * and then fresh mappings are never touched) and frees the one it replaces. Single thread by
 * design (with -t T each thread does the same). What it measures is whether
 * an allocator keeps freed multi-MiB blocks: one that maps and unmaps each
 * pays a page fault per 4 KiB on every fill. SIZE = steps per thread.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define BUFS 8

typedef struct worker {
    long steps;
    uint64_t seed, check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    unsigned char *buf[BUFS] = {0};
    size_t len[BUFS] = {0};
    uint64_t rng = w->seed, check = 0;
    for (long i = 0; i < w->steps; i++) {
        unsigned k = (unsigned)(bench_rand(&rng) % BUFS);
        size_t n = bench_range(&rng, (size_t)5 << 20, (size_t)25 << 20);
        unsigned char *p = bench_xmalloc("bigblock", n);
        memset(p, (int)(i & 0x7f) | 1, n);
        if (buf[k]) {
            check += bench_check("bigblock", buf[k], len[k], (uint64_t)len[k]);
            free(buf[k]);
        }
        buf[k] = p;
        len[k] = n;
        bench_stamp(p, n, (uint64_t)n);
    }
    for (unsigned k = 0; k < BUFS; k++)
        free(buf[k]);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "bigblock", 300, "buffer replacements per thread");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("bigblock", &a, (uint64_t)BUFS * (uint64_t)a.threads, check);
    return 0;
}
