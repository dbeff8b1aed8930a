/* ----------------------------------------------------------------------------
 * segv.c — ends badly on purpose, for test_cli.sh: by default it stores
 * through address 0x8 (SIGSEGV, as after a NULL from malloc in the
 * CA::AttrList crash); with "exit N" it exits with status N instead.
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[8];

__attribute__((noinline)) void segv_alloc(void)
{
    for (unsigned i = 0; i < 8; i++)
        keep[i] = malloc(48);
}

__attribute__((noinline)) void segv_store(volatile int *p)
{
    p[2] = 1; /* NULL + 8 */
}

int main(int argc, char **argv)
{
    segv_alloc();
    if (argc > 2 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    segv_store(NULL);
    return 0;
}
