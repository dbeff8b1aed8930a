/* ----------------------------------------------------------------------------
 * test_nano_fork_child.c — nano in the child of a fork.
 *
 * libmalloc-166.220.1 src/malloc.c:2494-2504 (_malloc_fork_child) calls
 * nanov2_forked_zone (src/nanov2_malloc.c:2791-2816) on the default zone:
 * malloc, calloc and batch_malloc go to the helper (:2656-2671, :2752-2758);
 * free, free_definite_size and batch_free drop nano pointers (leak) and pass
 * others to the helper (:2678-2704, :2764-2778); realloc of a nano block
 * copies into a helper block and leaks the old one, realloc(p, 0) gives a
 * helper block (:2706-2745); claimed_address says yes (:2783-2788); size,
 * valloc, memalign, destroy and introspection are unchanged. The parent is
 * not affected.
 * -------------------------------------------------------------------------- */
#include "nano_scene.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../rerun.h"
#include "zonetrace/malloc_zone.h"

/* A copy of p that the compiler's use-after-free analysis does not follow:
 * the test looks at blocks after freeing them on purpose. */
static void *alias(void *p)
{
    uintptr_t v = (uintptr_t)p;
    __asm__ volatile("" : "+r"(v));
    return (void *)v;
}

/* Runs in the fork child; returns the number of failed expectations. */
static int in_child(void *before, void *before2)
{
    int bad = 0;
    malloc_zone_t *z = ns_zone();
    for (int i = 1; i <= 256; i++) {
        void *p = malloc((size_t)i);
        void *c = calloc(1, (size_t)i);
        if (!p || zt_nano_contains(p) || !c || zt_nano_contains(c)) bad++;
        free(p);
        free(c);
    }
    /* nano blocks from before the fork: still live, frees leak them */
    if (malloc_size(before) != 48) bad++;
    free(alias(before));
    if (malloc_size(before) != 48) bad++;  /* dropped, still counted live */
    void *q = realloc(alias(before2), 40); /* no in-place rule in the child */
    if (!q || q == before2 || zt_nano_contains(q) || memcmp(q, "fork", 5) != 0) bad++;
    if (malloc_size(before2) != 48) bad++;
    free(q);
    void *r[4];
    unsigned got = z->batch_malloc(z, 32, r, 4);
    for (unsigned i = 0; i < got; i++)
        if (zt_nano_contains(r[i])) bad++;
    z->batch_free(z, r, got);
    if (!z->claimed_address(z, (void *)16)) bad++;
    return bad;
}

static void child(void)
{
    CHECK_CASE("the fork child leaves nano")
    {
        void *before = malloc(48), *before2 = malloc(48);
        REQUIRE(before && zt_nano_contains(before) && before2 && zt_nano_contains(before2),
                "nano blocks before fork");
        memcpy(before2, "fork", 5);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) _exit(in_child(before, before2) ? 3 : 0);
        REQUIRE(pid > 0, "fork");
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "fork child: nano still used or its blocks freed (status 0x%x)", st);
        /* the parent keeps nano */
        void *p = malloc(48);
        CHECK(p && zt_nano_contains(p), "parent after fork: %p not from nano", p);
        free(p);
        free(alias(before));
        CHECK(malloc_size(before) == 0, "parent free of a nano block");
        free(before2);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        child();
        return CHECK_DONE("test_nano_fork_child");
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    return CHECK_DONE("test_nano_fork_child");
}
