/* ----------------------------------------------------------------------------
 * inputs.c — the same program run with different inputs, for test_diff.sh:
 * `inputs A B C` keeps A blocks of 1000 B from grow_a and B blocks of
 * 5000 B from grow_b, and allocates and frees C blocks of 300 B in churn.
 * It prints "size_a N" and "size_b N" (malloc_size of one block of each),
 * so the test knows the exact bytes whatever the device profile.
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

NOINLINE static void *grow_a(void) { return malloc(1000); }
NOINLINE static void *grow_b(void) { return malloc(5000); }
NOINLINE static void churn(void)
{
    sink = malloc(300);
    free(sink);
}

int main(int argc, char **argv)
{
    if (argc < 4) return 2;
    int a = atoi(argv[1]), b = atoi(argv[2]), c = atoi(argv[3]);
    void *pa = NULL, *pb = NULL;
    for (int i = 0; i < a; i++)
        pa = grow_a();
    for (int i = 0; i < b; i++)
        pb = grow_b();
    for (int i = 0; i < c; i++)
        churn();
    printf("size_a %zu\nsize_b %zu\n", pa ? malloc_size(pa) : 0, pb ? malloc_size(pb) : 0);
    return 0;
}
