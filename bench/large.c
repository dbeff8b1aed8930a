/* ----------------------------------------------------------------------------
 * large.c — large blocks of 1–32 MiB reused in a loop: each step frees one
 * of 4 live buffers and allocates a new one of a random size, then writes
 * one byte per 4 KiB page (as a program filling an image or I/O buffer
 * would). What it measures is the large-block policy: glibc raises its mmap
 * threshold and recycles heap memory, others cache or unmap whole mappings,
 * and every fresh mapping costs a page fault per page.
 * SIZE = steps per thread.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define BUFS 4
#define PAGE 4096

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
        if (buf[k]) {
            check += bench_check("large", buf[k], len[k], (uint64_t)len[k]);
            free(buf[k]);
        }
        size_t n = bench_logrange(&rng, 1 << 20, 32 << 20);
        buf[k] = bench_xmalloc("large", n);
        len[k] = n;
        for (size_t off = 0; off < n; off += PAGE)
            buf[k][off] = (unsigned char)off;
        bench_stamp(buf[k], n, (uint64_t)n);
    }
    for (unsigned k = 0; k < BUFS; k++)
        free(buf[k]);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "large", 60, "buffer replacements per thread");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("large", &a, (uint64_t)BUFS * (uint64_t)a.threads, check);
    return 0;
}
