/* jetsam_grow — a program whose footprint grows until jetsam stops it, for
 * tests/scenarios/test_jetsam.sh and `zonetrace demo --variant jetsam`.
 *
 *   jetsam_grow [--handler] [--mmap] [--rate MIB_PER_S] [--max MIB]
 *
 * Fills a cache of 1 MiB blocks (cache_fill, malloc; or --mmap: anonymous
 * mappings of its own, which no zone sees), each block written so it is
 * dirty, at about MIB_PER_S (default 1000). With --handler it registers a
 * memory-warning handler that trims the cache to a quarter and stops
 * growing. Stops at --max MiB (default 4096) and exits 0. Prints
 * "grew N MiB" at the end. */
#include "zonetrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BLOCK (1u << 20)
#define MAX_BLOCKS 8192

static void *cache[MAX_BLOCKS];
static volatile unsigned ncache;
static volatile int trimmed;
static int use_mmap;

static void release(void *p)
{
    if (use_mmap)
        munmap(p, BLOCK);
    else
        free(p);
}

static void on_warning(void *ctx, uint64_t footprint, uint64_t limit)
{
    (void)ctx;
    unsigned keep = ncache / 4;
    for (unsigned i = keep; i < ncache; i++)
        release(cache[i]);
    ncache = keep;
    trimmed = 1;
    fprintf(stderr, "jetsam_grow: memory warning at %llu MiB of %llu MiB: trimmed the cache\n",
            (unsigned long long)(footprint >> 20), (unsigned long long)(limit >> 20));
}

__attribute__((noinline)) static void *cache_fill(void)
{
    void *p;
    if (use_mmap) {
        p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return NULL;
    } else {
        p = malloc(BLOCK);
        if (!p) return NULL;
    }
    memset(p, 0x5a, BLOCK);
    return p;
}

int main(int argc, char **argv)
{
    int handler = 0;
    double rate = 1000;
    unsigned max_mib = 4096;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--handler"))
            handler = 1;
        else if (!strcmp(argv[i], "--mmap"))
            use_mmap = 1;
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max_mib = (unsigned)atoi(argv[++i]);
    }
    if (handler) zt_set_memory_warning_handler(on_warning, NULL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned grown = 0;
    while (grown < max_mib && ncache < MAX_BLOCKS && !trimmed) {
        void *p = cache_fill();
        if (!p) break;
        cache[ncache++] = p;
        grown++;
        /* Pace: block n is due at n / rate seconds. */
        double due = grown / rate;
        for (;;) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
            if (el >= due) break;
            struct timespec s = {0, (long)((due - el) * 1e9)};
            nanosleep(&s, NULL);
        }
    }
    printf("grew %u MiB\n", grown);
    return 0;
}
