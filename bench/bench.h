/* ----------------------------------------------------------------------------
 * bench.h — what every workload shares: a seeded PRNG, the command line
 * (-n size, -t threads, -s seed), block stamping and the one result line.
 *
 * A workload is an ordinary program: its malloc is whatever the runner
 * preloads. Each block gets a stamp written into its first and last words and
 * checked before it is freed, so an allocator that hands out overlapping or
 * recycled-while-live memory fails loudly (exit 3) instead of looking fast.
 * The result line (stdout) is the only output:
 *   bench <name> threads=T size=N live_peak=L check=X
 * live_peak is the workload's own count of blocks it held at its peak (summed
 * over threads); the runner divides profiler memory by it.
 * -------------------------------------------------------------------------- */
#ifndef ZT_BENCH_H
#define ZT_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

typedef struct bench_args {
    long size; /* workload-specific unit of work, per thread */
    int threads;
    uint64_t seed;
    const char *file; /* -f FILE, for the workloads that read one */
} bench_args_t;

/* xorshift64*: fast, good enough, and identical on every allocator. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t bench_seed(uint64_t base, unsigned stream)
{
    uint64_t s = base * 0x9E3779B97F4A7C15ULL + (stream + 1) * 0xBF58476D1CE4E5B9ULL;
    return s ? s : 1;
}

/* Uniform in [lo, hi]. */
static inline size_t bench_range(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(bench_rand(s) % (hi - lo + 1));
}

/* Log-uniform in [lo, hi]: every power-of-two octave is equally likely
 * (as many 8–16 B requests as 32–64 KiB ones), roughly as in real programs. */
static inline size_t bench_logrange(uint64_t *s, size_t lo, size_t hi)
{
    unsigned lo_bit = 63 - (unsigned)__builtin_clzll(lo),
             hi_bit = 63 - (unsigned)__builtin_clzll(hi);
    unsigned bit = lo_bit + (unsigned)(bench_rand(s) % (hi_bit - lo_bit + 1));
    size_t base = (size_t)1 << bit;
    size_t v = base + (size_t)(bench_rand(s) & (base - 1));
    return v < lo ? lo : v > hi ? hi : v;
}

static inline void bench_usage(const char *name, const char *size_help)
{
    fprintf(stderr, "usage: bench_%s [-n SIZE] [-t THREADS] [-s SEED] [-f FILE]\n  SIZE: %s\n",
            name, size_help);
    exit(2);
}

static inline bench_args_t bench_parse(int argc, char **argv, const char *name, long def_size,
                                       const char *size_help)
{
    bench_args_t a = {def_size, 1, 42, NULL};
    int c;
    while ((c = getopt(argc, argv, "n:t:s:f:h")) != -1) {
        if (c == 'f') {
            a.file = optarg;
            continue;
        }
        char *end = NULL;
        long v = optarg ? strtol(optarg, &end, 10) : 0;
        if (c == 'h' || c == '?' || !end || *end || v <= 0) bench_usage(name, size_help);
        if (c == 'n')
            a.size = v;
        else if (c == 't')
            a.threads = (int)(v > 1024 ? 1024 : v);
        else
            a.seed = (uint64_t)v;
    }
    if (optind != argc) bench_usage(name, size_help);
    return a;
}

/* The stamp: first and last word of a block (one word if it is smaller than
 * 16 bytes). Writing both ends also touches the block's first and last page,
 * as a program that fills its buffers would. */
static inline void bench_stamp(void *p, size_t n, uint64_t tag)
{
    memcpy(p, &tag, n < 8 ? n : 8);
    if (n >= 16) memcpy((char *)p + n - 8, &tag, 8);
}

static inline void bench_fail(const char *name, const char *what, const void *p)
{
    fprintf(stderr, "bench_%s: %s at %p: the allocator corrupted a live block\n", name, what, p);
    fflush(stderr);
    _exit(3);
}

static inline uint64_t bench_check(const char *name, const void *p, size_t n, uint64_t tag)
{
    uint64_t a = 0, b = tag;
    memcpy(&a, p, n < 8 ? n : 8);
    if (n >= 16) memcpy(&b, (const char *)p + n - 8, 8);
    uint64_t want = tag;
    if (n < 8) {
        want = 0;
        memcpy(&want, &tag, n);
    }
    if (a != want || b != tag) bench_fail(name, "stamp mismatch", p);
    return a;
}

static inline void *bench_xmalloc(const char *name, size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_%s: malloc(%zu) returned NULL\n", name, n);
        _exit(4);
    }
    return p;
}

static inline void bench_result(const char *name, const bench_args_t *a, uint64_t live_peak,
                                uint64_t check)
{
    printf("bench %s threads=%d size=%ld live_peak=%llu check=%016llx\n", name, a->threads, a->size,
           (unsigned long long)live_peak, (unsigned long long)check);
    fflush(stdout);
}

/* Run fn(i) on n threads, i = 0..n-1, and wait for all of them. */
static inline void bench_parallel(int n, void *(*fn)(void *), void *arg_base, size_t arg_bytes)
{
    pthread_t tids[1024];
    for (int i = 0; i < n; i++)
        if (pthread_create(&tids[i], NULL, fn, (char *)arg_base + (size_t)i * arg_bytes)) {
            fprintf(stderr, "bench: pthread_create failed\n");
            _exit(4);
        }
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}

#endif /* ZT_BENCH_H */
