/* tiny — a few allocations, for the record-size test (test_record_size.sh).
 *
 *   tiny            four mallocs, one of them leaked (32 bytes at the end)
 *   tiny stacks N   N distinct stacks, each leaking one 24-byte block: the
 *                   stack i goes through a chain of 13 calls, each `left`
 *                   or `right` by a bit of i (so up to 8192 distinct;
 *                   record them with ZONETRACE_DEPTH >= 32)
 *   tiny forever    65536 new stacks (16 levels), then allocations and
 *                   frees without end: the test kills it while its record
 *                   grows
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *leaf(void)
{
    return malloc(24);
}

static int levels = 13;

static void *left(unsigned i, int level);
static void *right(unsigned i, int level);

static void *step(unsigned i, int level)
{
    if (level == levels) return leaf();
    return (i >> level) & 1 ? right(i, level + 1) : left(i, level + 1);
}

__attribute__((noinline)) static void *left(unsigned i, int level)
{
    void *p = step(i, level);
    __asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays */
    return p;
}

__attribute__((noinline)) static void *right(unsigned i, int level)
{
    void *p = step(i, level);
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "stacks") == 0) {
        unsigned n = (unsigned)atoi(argv[2]);
        for (unsigned i = 0; i < n; i++)
            if (!step(i, 0)) return 1;
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "forever") == 0) {
        levels = 16;
        printf("ready\n");
        fflush(stdout);
        for (unsigned i = 0;; i++) {
            void *p = step(i & 65535, 0);
            if (i >= 65536) free(p);
            if ((i & 1023) == 1023) free(malloc(1024 + (i >> 10) % 64 * 512)); /* other classes */
        }
    }
    char *a = malloc(100), *b = malloc(1000), *c = malloc(10000);
    void *leak = malloc(32);
    if (!a || !b || !c || !leak) return 1;
    strcpy(a, "tiny");
    free(a);
    free(b);
    free(c);
    return 0;
}
