/* ----------------------------------------------------------------------------
 * moments.c — programs with known answers for the moments, peaks and
 * rankings of issue 12 (test_moments.sh).
 *
 *   moments fill    allocate 100,000-byte blocks in fill_heap() until malloc
 *                   returns NULL, printf, free everything, exit 0 (under
 *                   --device ios12-2gb: the address space runs out first).
 *   moments known   one site per ranking, each the clear winner of its own:
 *                   leak_site (live at end), peak_site (at peak and at the
 *                   first failure, which fail_site provokes while peak_site
 *                   holds its blocks), bytes_site (total bytes), many_site
 *                   (allocation count), temp_site (temporary allocations).
 *                   It prints its own count of each site's and its zone's
 *                   peaks, "expect-peak WHAT BLOCKS BYTES", made with
 *                   malloc_size(): the report's exact peaks must equal them.
 * Each site is a non-inlined function, found by name in the reports.
 * -------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))

static void **blocks;
static size_t nblocks;

NOINLINE static size_t fill_heap(void)
{
    size_t cap = 1 << 16;
    blocks = calloc(cap, sizeof *blocks);
    for (;;) {
        void *p = malloc(100000);
        if (p == NULL) break;
        memset(p, 1, 64);
        if (nblocks == cap) break;
        blocks[nblocks++] = p;
    }
    return nblocks;
}

static int fill(void)
{
    size_t n = fill_heap();
    printf("filled %zu blocks of 100000 bytes before malloc returned NULL\n", n);
    for (size_t i = 0; i < n; i++)
        free(blocks[i]);
    free(blocks);
    return 0;
}

/* The known program allocates from its own zone, so the zone's and its
 * classes' peaks are the program's own count. */
static malloc_zone_t *zone;
static unsigned long long zone_live_blocks, zone_live_bytes, zone_peak_blocks, zone_peak_bytes;

static void *zalloc(size_t n)
{
    void *p = malloc_zone_malloc(zone, n);
    if (p) {
        zone_live_blocks++;
        zone_live_bytes += malloc_size(p);
        if (zone_live_blocks > zone_peak_blocks) zone_peak_blocks = zone_live_blocks;
        if (zone_live_bytes > zone_peak_bytes) zone_peak_bytes = zone_live_bytes;
    }
    return p;
}

static void zfree(void *p)
{
    zone_live_blocks--;
    zone_live_bytes -= malloc_size(p);
    malloc_zone_free(zone, p);
}

#define N_LEAK 1000
#define N_MANY 50000
#define N_TEMP 20000
#define N_BYTES 64
#define N_PEAK 64

static void *leak[N_LEAK], *many[N_MANY], *peak[N_PEAK];
static unsigned long long site_peak_blocks[5], site_peak_bytes[5];

NOINLINE static void leak_site(void)
{
    for (int i = 0; i < N_LEAK; i++)
        leak[i] = zalloc(100);
    site_peak_blocks[0] = N_LEAK;
    site_peak_bytes[0] = (unsigned long long)N_LEAK * malloc_size(leak[0]);
}

NOINLINE static void many_site(void)
{
    for (int i = 0; i < N_MANY; i++)
        many[i] = zalloc(16);
    site_peak_blocks[1] = N_MANY;
    site_peak_bytes[1] = (unsigned long long)N_MANY * malloc_size(many[0]);
    for (int i = N_MANY; i-- > 0;)
        zfree(many[i]);
}

NOINLINE static void temp_site(void)
{
    for (int i = 0; i < N_TEMP; i++) {
        void *p = zalloc(32);
        if (i == 0) site_peak_bytes[2] = malloc_size(p);
        zfree(p);
    }
    site_peak_blocks[2] = 1;
}

NOINLINE static void bytes_site(void)
{
    for (int i = 0; i < N_BYTES; i++) {
        void *p = zalloc(1 << 20);
        if (i == 0) site_peak_bytes[3] = malloc_size(p);
        zfree(p);
    }
    site_peak_blocks[3] = 1;
}

NOINLINE static void *fail_site(void)
{
    return malloc_zone_malloc(zone, (size_t)1 << 48); /* 256 TiB: more than x86_64 and arm64 user space: the map fails */
}

NOINLINE static void peak_site(void)
{
    for (int i = 0; i < N_PEAK; i++)
        peak[i] = zalloc(65536);
    site_peak_blocks[4] = N_PEAK;
    site_peak_bytes[4] = (unsigned long long)N_PEAK * malloc_size(peak[0]);
    if (fail_site() != NULL) printf("fail_site did not fail\n");
    usleep(400 * 1000); /* the monitor takes the peak moment (10 ms slices) */
    for (int i = 0; i < N_PEAK; i++)
        zfree(peak[i]);
}

static int known(void)
{
    zone = malloc_create_zone(0, 0);
    malloc_set_zone_name(zone, "moments");
    /* The name is copied into the zone itself (as libmalloc does): count it. */
    if (malloc_zone_from_ptr(zone->zone_name) == zone) {
        zone_live_blocks = zone_peak_blocks = 1;
        zone_live_bytes = zone_peak_bytes = malloc_size(zone->zone_name);
        printf("expect-name %zu\n", malloc_size(zone->zone_name));
    }
    leak_site();
    many_site();
    temp_site();
    bytes_site();
    peak_site();
    usleep(200 * 1000);
    static const char *const names[5] = {"leak_site", "many_site", "temp_site", "bytes_site",
                                         "peak_site"};
    for (int i = 0; i < 5; i++)
        printf("expect-peak %s %llu %llu\n", names[i], site_peak_blocks[i], site_peak_bytes[i]);
    printf("expect-peak zone %llu %llu\n", zone_peak_blocks, zone_peak_bytes);
    printf("expect-live zone %llu %llu\n", zone_live_blocks, zone_live_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "fill") == 0) return fill();
    if (argc > 1 && strcmp(argv[1], "known") == 0) return known();
    fprintf(stderr, "usage: moments fill|known\n");
    return 2;
}
