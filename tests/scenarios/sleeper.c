/* ----------------------------------------------------------------------------
 * sleeper.c — allocates known blocks, says so, then sleeps until killed.
 * test_cli.sh SIGKILLs it to check that the record still holds the live
 * heap by stack as of the kill (the OOM-killer / jetsam case).
 * Prints "expect sleeper_alloc BLOCKS BYTES" then "ready".
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zonetrace/malloc_zone.h"

#define N_BLOCKS 40

static void *keep[N_BLOCKS];

__attribute__((noinline)) void sleeper_alloc(void)
{
    for (unsigned i = 0; i < N_BLOCKS; i++)
        if (!(keep[i] = malloc(i % 2 ? 1000 : 70000)))
            exit(1);
}

int main(void)
{
    sleeper_alloc();
    unsigned long long bytes = 0;
    for (unsigned i = 0; i < N_BLOCKS; i++)
        bytes += malloc_size(keep[i]);
    printf("expect sleeper_alloc %u %llu\nready\n", N_BLOCKS, bytes);
    fflush(stdout);
    for (unsigned i = 0; i < 600; i++)
        sleep(1);
    return 0;
}
