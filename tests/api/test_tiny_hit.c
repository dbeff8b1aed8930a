/* ----------------------------------------------------------------------------
 * test_tiny_hit.c — the front's tiny thread-cache hits (zone/front/linux.c,
 * zt_rack_tiny_malloc_hit / zt_rack_tiny_free_hit in zone/rack.c), through
 * the real malloc and free with no profiler:
 * - a freed 257..1008 B block comes back from the next malloc of its msize
 *   (the cache is LIFO), malloc_size says 0 while it is cached and its size
 *   again after;
 * - every bad free of a tiny block is still reported, with libmalloc's line,
 *   and changes nothing: a second free of a block in the thread's cache, of
 *   a block in the magazine's last-free slot (a flush puts one there), of a
 *   block freed for real, a pointer into a block and a misaligned one;
 *   afterwards no block is handed out twice;
 * - native, sizes on both sides of 256 B at random (the front's branch-free
 *   hit for nano and tiny): right allocator, LIFO, the tiny section's byte
 *   count equal to what its bins hold and nano's 0;
 * - the same on a device profile (no thread cache) and with nano off (the
 *   default zone is then the scalable zone itself, for every size <= 1008 B).
 * The parent re-executes itself once per configuration.
 * -------------------------------------------------------------------------- */
#pragma GCC diagnostic ignored "-Wuse-after-free" /* the bad frees are the point */
#include "zone.h"
#include "chunkmap.h"
#include "tcache.h"
#include "options.h"
#include "zonetrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

#define N      40 /* more than a bin holds (32): the 33rd free flushes 16 */
#define BYTES  300
#define BYTES2 1000

/* Run free(p) with stderr going to a file; true if libmalloc's line was written. */
static bool reported(void *p)
{
    char path[] = "/tmp/test_tiny_hitXXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0, "mkstemp");
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    free(p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[2048];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return strstr(buf, "malloc: *** error for object 0x") &&
           strstr(buf, ": pointer being freed was not allocated");
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void child(const char *what)
{
    zt_install(); /* the profile is chosen at initialisation */
    zt_options.on_error = "report";
    bool cached = strcmp(what, "ios12-2gb") != 0;
    bool nano = strcmp(what, "nano-off") != 0;

    /* Reuse: LIFO on a hit; without nano every size up to 1008 B is tiny. */
    static const size_t sizes[] = {1, 16, 200, 256, 257, 300, 512, 513, 1000, 1008};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t bytes = sizes[i];
        if (nano && bytes <= 256) continue;
        char *p = malloc(bytes);
        REQUIRE(p != NULL, "malloc(%zu)", bytes);
        zt_owner_t *o = zt_chunkmap_get(p);
        CHECK(o && o->kind == ZT_KIND_TINY, "%s: malloc(%zu) is tiny", what, bytes);
        size_t block = (bytes + 15) & ~(size_t)15;
        CHECK(malloc_size(p) == block, "%s: malloc_size %zu", what, malloc_size(p));
        memset(p, 0x5a, bytes);
        free(p);
        if (cached) CHECK(malloc_size(p) == 0, "%s: a cached block has size 0", what);
        char *q = malloc(bytes);
        if (cached) CHECK(q == p, "%s: malloc(%zu) after free is the same block", what, bytes);
        CHECK(malloc_size(q) == block, "%s: size again %zu", what, malloc_size(q));
        free(q);
    }

    /* Native: nano and tiny sizes mixed at random take the front's one
     * branch-free hit (small_hit): each kind's block comes back from its
     * own bin, and the tiny section's byte count (its budget) ends where it
     * began while nano's stays 0 (a nano hit must not count tiny bytes). */
    if (nano && cached) {
        zt_tcache_t *tc = zt_tcache_self;
        size_t tiny0 = tc ? tc->sec[ZT_TCACHE_TINY].bytes : 0;
        size_t nano0 = tc ? tc->sec[ZT_TCACHE_NANO].bytes : 0;
        uint64_t rng = 12345;
        int wrong_kind = 0, not_lifo = 0;
        for (int i = 0; i < 4000; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t bytes = 16 + (size_t)(rng >> 33) % 993; /* 16 .. 1008 */
            char *p = malloc(bytes);
            zt_owner_t *o = zt_chunkmap_get(p);
            wrong_kind += !o || o->kind != (bytes <= 256 ? ZT_KIND_NANO : ZT_KIND_TINY);
            free(p);
            not_lifo += malloc(bytes) != p;
            free(p);
        }
        CHECK(wrong_kind == 0, "mixed sizes: %d blocks from the wrong allocator", wrong_kind);
        CHECK(not_lifo == 0, "mixed sizes: %d frees not handed back by the next malloc", not_lifo);
        tc = zt_tcache_self;
        REQUIRE(tc != NULL, "the thread has a cache after its frees");
        CHECK(tc->sec[ZT_TCACHE_NANO].bytes == nano0, "nano's section counts no bytes (%zu)",
              tc->sec[ZT_TCACHE_NANO].bytes);
        /* every block taken was given back: the count is what the bins held
         * before plus the blocks now cached there since the loop's frees */
        size_t held = 0;
        for (unsigned b = 0; b < ZT_TCACHE_BINS; b++)
            held += (size_t)tc->sec[ZT_TCACHE_TINY].count[b] * ((b + 1) * 16);
        CHECK(tc->sec[ZT_TCACHE_TINY].bytes == held,
              "tiny section's byte count %zu is the bytes its bins hold (%zu; was %zu)",
              tc->sec[ZT_TCACHE_TINY].bytes, held, tiny0);
    }

    /* Double frees of blocks in every state, then an interior and a misaligned pointer. */
    void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = malloc(BYTES);
        REQUIRE(v[i] != NULL, "malloc");
        memset(v[i], i, BYTES);
    }
    for (int i = 0; i < N; i++)
        free(v[i]);
    int missed = 0;
    for (int i = 0; i < N; i++)
        missed += !reported(v[i]);
    CHECK(missed == 0, "%s: %d of %d double frees of %d B blocks not reported", what, missed, N,
          BYTES);
    char *live = malloc(BYTES2);
    CHECK(reported(live + 16), "%s: a pointer 16 B into a block is reported", what);
    CHECK(reported(live + 8), "%s: a misaligned pointer is reported", what);
    CHECK(malloc_size(live) == 1008, "%s: the block is still live after bad frees", what);
    free(live);
    CHECK(reported(live), "%s: double free of a %d B block", what, BYTES2);

    /* Nothing was cached twice: 2N allocations are distinct blocks. */
    void *w[2 * N];
    for (int i = 0; i < 2 * N; i++)
        w[i] = malloc(BYTES);
    qsort(w, 2 * N, sizeof w[0], cmp_ptr);
    int dup = 0;
    for (int i = 1; i < 2 * N; i++)
        dup += w[i] == w[i - 1];
    CHECK(dup == 0, "%s: %d blocks handed out twice", what, dup);
    for (int i = 0; i < 2 * N; i++)
        CHECK(malloc_size(w[i]) == 304, "%s: block %d size %zu", what, i, malloc_size(w[i]));
    for (int i = 0; i < 2 * N; i++)
        free(w[i]);
    CHECK(malloc_zone_check(NULL), "%s: malloc_zone_check", what);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char name[64];
        snprintf(name, sizeof name, "test_tiny_hit %s", argv[1]);
        CHECK_NAME(name);
        CHECK_CASE("tiny cache hits through malloc and free")
        {
            child(argv[1]);
        }
        return CHECK_DONE(name);
    }
    static const char *const runs[][3] = {{"native", "native", NULL},
                                          {"nano-off", "native", "off"},
                                          {"ios12-2gb", "ios12-2gb", NULL}};
    int bad = 0;
    for (unsigned i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            setenv("ZONETRACE_DEVICE", runs[i][1], 1);
            if (runs[i][2])
                setenv("ZONETRACE_NANO", runs[i][2], 1);
            else
                unsetenv("ZONETRACE_NANO");
            unsetenv("ZONETRACE_STACKS");
            unsetenv("ZONETRACE_OUTPUT");
            execl("/proc/self/exe", argv[0], runs[i][0], (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "test_tiny_hit: %s failed (status %#x)\n", runs[i][0], st);
            bad = 1;
        }
    }
    return bad;
}
