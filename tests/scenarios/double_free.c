/* ----------------------------------------------------------------------------
 * double_free.c — misuses free() on purpose, for test_double_free.sh:
 *   double [BYTES]   df_alloc mallocs a block, df_first_free frees it,
 *                    df_second_free frees it again (a double free);
 *   interior         df_alloc's block is freed 16 bytes past its start;
 *   stack            the address of a local variable is freed.
 * Each misuse is in its own named, never-inlined function so that the
 * report can be checked for all of them.
 * -------------------------------------------------------------------------- */
#pragma GCC diagnostic ignored "-Wfree-nonheap-object" /* the invalid frees are the point */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep[4];

__attribute__((noinline)) void *df_alloc(size_t bytes)
{
    void *p = malloc(bytes);
    memset(p, 1, bytes);
    return p;
}

__attribute__((noinline)) void df_first_free(void *p)
{
    free(p);
}

__attribute__((noinline)) void df_second_free(void *p)
{
    free(p);
}

__attribute__((noinline)) void df_interior_free(char *p)
{
    free(p + 16);
}

__attribute__((noinline)) void df_stack_free(void)
{
    volatile char local[64];
    local[0] = 1;
    free((void *)local);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "double";
    /* Some other blocks, so that the misused one is not alone in its zone. */
    for (unsigned i = 0; i < 4; i++)
        keep[i] = malloc(32 + 32 * i);
    if (strcmp(what, "double") == 0) {
        size_t bytes = argc > 2 ? (size_t)atol(argv[2]) : 64;
        void *p = df_alloc(bytes);
        df_first_free(p);
        df_second_free(p);
    } else if (strcmp(what, "interior") == 0) {
        df_interior_free(df_alloc(64));
    } else if (strcmp(what, "stack") == 0) {
        df_stack_free();
    } else {
        fprintf(stderr, "double_free: unknown case %s\n", what);
        return 2;
    }
    puts("double_free: survived");
    return 0;
}
