/* ----------------------------------------------------------------------------
 * leaks.c — two leaks among noise, for the sampled-report tests
 * (test_sampling.sh, test_stacks_off.sh): leak_100k keeps 100 blocks of
 * 1000 B (100 KB, issue 14's dropped leak), leak_1000k keeps 250 blocks of
 * 4 KiB (1000 KiB, the one estimated at 514 KiB); noise allocates and frees
 * 64 MiB in blocks of 16 B to 64 KiB. Prints "expect SITE BLOCKS BYTES"
 * per leak (block sizes from malloc_size) and "expect-class SITE SIZE" for
 * the block size each leak fills. With the argument "fail", a last malloc
 * of 2^62 bytes returns NULL (the record's first-failure moment).
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))

static void *kept_100k[100], *kept_1000k[250];

static NOINLINE void leak_100k(void)
{
    size_t bytes = 0;
    for (int i = 0; i < 100; i++) {
        kept_100k[i] = malloc(1000);
        bytes += malloc_size(kept_100k[i]);
    }
    printf("expect leak_100k 100 %zu\n", bytes);
}

static NOINLINE void leak_1000k(void)
{
    size_t bytes = 0;
    for (int i = 0; i < 250; i++) {
        kept_1000k[i] = malloc(4096);
        bytes += malloc_size(kept_1000k[i]);
    }
    printf("expect leak_1000k 250 %zu\n", bytes);
}

static NOINLINE void noise(void)
{
    static void *ring[64];
    unsigned long long done = 0, x = 12345;
    for (unsigned i = 0; done < (64ull << 20); i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)16 << ((x >> 33) % 13); /* 16 B .. 64 KiB */
        free(ring[i % 64]);
        ring[i % 64] = malloc(n);
        done += n;
    }
    for (int i = 0; i < 64; i++) {
        free(ring[i]);
        ring[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    noise();
    leak_100k();
    noise();
    leak_1000k();
    noise();
    printf("expect-class leak_100k %zu\n", malloc_size(kept_100k[0]));
    printf("expect-class leak_1000k %zu\n", malloc_size(kept_1000k[0]));
    fflush(stdout);
    /* "fail": one allocation that cannot succeed, so the record holds a
     * first-failure moment (a walk) with both leaks live. */
    if (argc > 1 && strcmp(argv[1], "fail") == 0 && malloc((size_t)1 << 62) != NULL) return 1;
    return 0;
}
