/* ----------------------------------------------------------------------------
 * test_realloc.c — realloc from every class boundary to every other, growing
 * and shrinking, in place or moved, keeping the contents; then long growth
 * and shrink chains. Runs under native and (re-executed) ios12-2gb, whose
 * small→large cutoff (15 KiB), page (16 KiB) and lack of medium differ.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "../rerun.h"
#include "zonetrace/malloc_zone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const size_t sizes[] = {
    0,
    1,
    15,
    16,
    17,
    255,
    256,
    257,
    496,
    1007,
    1008,
    1009,
    1024,
    4096,
    15359,
    15360,
    15361,
    16384,
    32767,
    32768,
    32769,
    65536,
    130048,
    1u << 20,
    (8u << 20) - 1,
    8u << 20,
    (8u << 20) + 1,
    9u << 20,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static inline unsigned char pat(size_t i, unsigned seed)
{
    return (unsigned char)(i * 131 + seed);
}

/* Every byte of the first 64 KiB, then the multiples of 509 (still every
 * page): multi-MiB blocks stay cheap. Positions do not depend on the size,
 * so a shrunk or grown block is checked where the original was written. */
#define DENSE_BYTES (65536u - 65536u % 509u)
static inline size_t step(size_t i, size_t n)
{
    return i < DENSE_BYTES ? 1 : 509;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += step(i, n))
        p[i] = pat(i, seed);
}

static bool same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += step(i, n))
        if (p[i] != pat(i, seed)) return false;
    return true;
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static void pairs(void)
{
    unsigned seed = 1;
    for (size_t i = 0; i < NSIZES; i++) {
        for (size_t j = 0; j < NSIZES; j++, seed++) {
            size_t a = sizes[i], b = sizes[j];
            unsigned char *p = malloc(a);
            CHECK(p != NULL, "malloc(%zu)", a);
            if (!p) continue;
            fill(p, a, seed);
            unsigned char *q = realloc(p, b);
            size_t keep = a < b ? a : b;
            size_t got = q ? malloc_size(q) : 0;
            size_t bound = max_sz(malloc_good_size(a), malloc_good_size(b));
            CHECK(q && same(q, keep, seed) && got >= b && got <= bound,
                  "realloc %zu -> %zu: %p, malloc_size %zu (good %zu/%zu), content %s", a, b,
                  (void *)q, got, malloc_good_size(a), malloc_good_size(b),
                  q && same(q, keep, seed) ? "kept" : "LOST");
            if (q) {
                fill(q, b, seed + 7); /* the whole new size is writable */
                CHECK(same(q, b, seed + 7), "%zu -> %zu: new size not writable", a, b);
            }
            free(q);
        }
    }
}

/* Grow one block by ~25 % steps to 12 MiB and back, with neighbours
 * allocated in between so that some steps move and some stay in place. */
static void chains(void)
{
    size_t n = 1;
    unsigned char *p = malloc(n);
    fill(p, n, 99);
    void *pins[64];
    int npins = 0;
    while (n < (12u << 20)) {
        size_t m = n + n / 4 + 1;
        unsigned char *q = realloc(p, m);
        if (!q || !same(q, n, 99)) {
            CHECK(q && same(q, n, 99), "growth %zu -> %zu lost the contents", n, m);
            free(q ? q : p);
            return;
        }
        for (size_t i = n; i < m; i++) /* dense: same() may sample any byte */
            q[i] = pat(i, 99);
        p = q;
        n = m;
        if (npins < 64 && n % 3 == 0) pins[npins++] = malloc(n / 2 + 1);
    }
    while (n > 1) {
        size_t m = n - n / 4 - 1;
        unsigned char *q = realloc(p, m);
        if (!q || !same(q, m, 99)) {
            CHECK(q && same(q, m, 99), "shrink %zu -> %zu lost the contents", n, m);
            free(q ? q : p);
            return;
        }
        p = q;
        n = m;
    }
    free(p);
    for (int i = 0; i < npins; i++)
        free(pins[i]);
}

static void zone_realloc(void)
{
    malloc_zone_t *z = malloc_create_zone(0, 0);
    unsigned char *p = malloc_zone_malloc(z, 100);
    fill(p, 100, 5);
    for (size_t i = 0; i < NSIZES; i++) {
        size_t b = sizes[i] > 100 ? sizes[i] : 100;
        p = malloc_zone_realloc(z, p, b);
        if (!p || malloc_zone_from_ptr(p) != z || !same(p, 100, 5)) {
            CHECK(p && malloc_zone_from_ptr(p) == z && same(p, 100, 5),
                  "malloc_zone_realloc to %zu left the zone or lost data", b);
            return;
        }
    }
    malloc_zone_free(z, p);
    malloc_destroy_zone(z);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *dev = getenv("ZONETRACE_DEVICE");
    char name[64];
    snprintf(name, sizeof name, "test_realloc %s", dev ? dev : "native");
    CHECK_NAME(name);
    CHECK_CASE("every class boundary to every other")
    {
        pairs();
    }
    CHECK_CASE("growth and shrink chains")
    {
        chains();
    }
    CHECK_CASE("malloc_zone_realloc stays in its zone")
    {
        zone_realloc();
    }
    if (argc == 1 && !failures) {
        CHECK_CASE("the same under ios12-2gb")
        {
            rerun_under_device(argv[0], "ios12-2gb");
        }
    }
    return CHECK_DONE(name);
}
