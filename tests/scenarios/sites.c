/* ----------------------------------------------------------------------------
 * sites.c — a deterministic program with known allocation sites, for the
 * end-to-end profiler tests (test_sites.sh, tests/golden).
 *
 * Each site is its own non-inlined function so that its stacks can be found
 * by function name in a report. The program keeps some blocks and frees
 * others, then prints one line per site, "expect SITE LIVE_BLOCKS
 * LIVE_BYTES", computed with malloc_size() (the block size, which is the
 * class size, not the request), so the test holds for every device profile.
 * -------------------------------------------------------------------------- */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))

/* Scale for the sampled test: the big sites hold enough bytes for a 10 %
 * check of an estimate with a 4 KiB mean sampling interval. */
#define N_SMALL_16 100
#define N_TINY_500 50
#define N_SMALL_4K 2000
#define N_LARGE_1M 24
#define N_THREAD_64 30
#define N_ZONE_100 10

static void *keep_small_16[N_SMALL_16], *keep_tiny_500[N_TINY_500], *keep_small_4k[N_SMALL_4K];
static void *keep_large_1m[N_LARGE_1M], *keep_thread[N_THREAD_64], *keep_zone[N_ZONE_100];
static void *keep_realloc;

typedef struct expect {
    const char *site;
    unsigned long long blocks, bytes;
} expect_t;

static expect_t expects[8];
static unsigned nexpects;

static void count(const char *site, void **blocks, unsigned n)
{
    expect_t *e = &expects[nexpects++];
    e->site = site;
    for (unsigned i = 0; i < n; i++)
        if (blocks[i]) {
            e->blocks++;
            e->bytes += malloc_size(blocks[i]);
        }
}

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "sites: allocation failed\n");
        exit(1);
    }
    return p;
}

NOINLINE void site_small_16(void)
{
    for (unsigned i = 0; i < N_SMALL_16; i++)
        keep_small_16[i] = must(malloc(16));
}

NOINLINE void site_tiny_500(void)
{
    for (unsigned i = 0; i < N_TINY_500; i++)
        keep_tiny_500[i] = must(malloc(500));
    for (unsigned i = 0; i < N_TINY_500; i += 5) { /* free 10 of 50 */
        free(keep_tiny_500[i]);
        keep_tiny_500[i] = NULL;
    }
}

NOINLINE void site_small_4k(void)
{
    for (unsigned i = 0; i < N_SMALL_4K; i++)
        keep_small_4k[i] = must(malloc(4000));
    for (unsigned i = 0; i < N_SMALL_4K; i += 4) { /* free a quarter */
        free(keep_small_4k[i]);
        keep_small_4k[i] = NULL;
    }
}

NOINLINE void site_large_1m(void)
{
    for (unsigned i = 0; i < N_LARGE_1M; i++)
        keep_large_1m[i] = must(malloc(1u << 20));
    for (unsigned i = 0; i < N_LARGE_1M; i += 3) {
        free(keep_large_1m[i]);
        keep_large_1m[i] = NULL;
    }
}

NOINLINE void site_realloc_grow(void)
{
    /* Crosses nano/tiny → tiny → small → medium or large: each step is a new
     * block, and only the last one stays live. */
    char *p = must(malloc(24));
    memset(p, 1, 24);
    p = must(realloc(p, 200));
    p = must(realloc(p, 2000));
    p = must(realloc(p, 40000));
    keep_realloc = p;
}

NOINLINE void site_zone_alloc(malloc_zone_t *zone)
{
    for (unsigned i = 0; i < N_ZONE_100; i++)
        keep_zone[i] = must(malloc_zone_malloc(zone, 100));
    malloc_zone_free(zone, keep_zone[0]);
    malloc_zone_free(zone, keep_zone[1]);
    keep_zone[0] = keep_zone[1] = NULL;
}

NOINLINE void *site_thread_worker(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < N_THREAD_64; i++)
        keep_thread[i] = must(malloc(64));
    return NULL;
}

int main(void)
{
    site_small_16();
    site_tiny_500();
    site_small_4k();
    site_large_1m();
    site_realloc_grow();
    malloc_zone_t *zone = must(malloc_create_zone(0, 0));
    malloc_set_zone_name(zone, "sites-zone");
    site_zone_alloc(zone);
    pthread_t t;
    if (pthread_create(&t, NULL, site_thread_worker, NULL) != 0 || pthread_join(t, NULL) != 0) {
        fprintf(stderr, "sites: pthread failed\n");
        return 1;
    }
    count("site_small_16", keep_small_16, N_SMALL_16);
    count("site_tiny_500", keep_tiny_500, N_TINY_500);
    count("site_small_4k", keep_small_4k, N_SMALL_4K);
    count("site_large_1m", keep_large_1m, N_LARGE_1M);
    count("site_realloc_grow", &keep_realloc, 1);
    count("site_zone_alloc", keep_zone, N_ZONE_100);
    count("site_thread_worker", keep_thread, N_THREAD_64);
    for (unsigned i = 0; i < nexpects; i++)
        printf("expect %s %llu %llu\n", expects[i].site, expects[i].blocks, expects[i].bytes);
    return 0;
}
