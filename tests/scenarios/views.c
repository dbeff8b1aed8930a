/* ----------------------------------------------------------------------------
 * views.c — a deterministic program for test_views.sh: four allocation sites
 * with distinct live sizes, each reached through the same seven-level call
 * chain (so every stack has at least eight user frames and --depth has
 * something to cut), plus a named zone of its own, so --by zone and --by
 * class have more than one row.
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))

static void *keep[4][64];
static volatile unsigned sink;

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "views: allocation failed\n");
        exit(1);
    }
    return p;
}

/* The sites: site k keeps 64 blocks of its size, so the live ranking is
 * site 3 > 2 > 1 > 0. */
NOINLINE void views_leaf(unsigned k, malloc_zone_t *zone)
{
    static const size_t sizes[4] = {48, 600, 5000, 70000};
    for (unsigned i = 0; i < 64; i++) {
        keep[k][i] = must(k == 1 ? malloc_zone_malloc(zone, sizes[k]) : malloc(sizes[k]));
        memset(keep[k][i], (int)k, 16);
    }
    sink += k;
}

/* Work after each call keeps the compiler from turning it into a jump. */
NOINLINE void views_level6(unsigned k, malloc_zone_t *z)
{
    views_leaf(k, z);
    sink++;
}
NOINLINE void views_level5(unsigned k, malloc_zone_t *z)
{
    views_level6(k, z);
    sink++;
}
NOINLINE void views_level4(unsigned k, malloc_zone_t *z)
{
    views_level5(k, z);
    sink++;
}
NOINLINE void views_level3(unsigned k, malloc_zone_t *z)
{
    views_level4(k, z);
    sink++;
}
NOINLINE void views_level2(unsigned k, malloc_zone_t *z)
{
    views_level3(k, z);
    sink++;
}
NOINLINE void views_level1(unsigned k, malloc_zone_t *z)
{
    views_level2(k, z);
    sink++;
}

/* One caller per site, so the four stacks differ below the leaf too. */
NOINLINE void views_site0(malloc_zone_t *z)
{
    views_level1(0, z);
    sink++;
}
NOINLINE void views_site1(malloc_zone_t *z)
{
    views_level1(1, z);
    sink++;
}
NOINLINE void views_site2(malloc_zone_t *z)
{
    views_level1(2, z);
    sink++;
}
NOINLINE void views_site3(malloc_zone_t *z)
{
    views_level1(3, z);
    sink++;
}

int main(void)
{
    malloc_zone_t *zone = must(malloc_create_zone(0, 0));
    malloc_set_zone_name(zone, "views-zone");
    views_site0(zone);
    views_site1(zone);
    views_site2(zone);
    views_site3(zone);
    printf("views: done %u\n", sink);
    return 0;
}
