/* ----------------------------------------------------------------------------
 * test_front_sampled.c — in sample mode the front's cache hits (malloc and
 * free, front/linux.c; nano up to 256 B, the tiny rack up to 1008 B) keep
 * the profiler's books: every allocation
 * the countdown picks is tagged, and every tagged block's free is reported
 * with its tag, whether the block comes from or goes back to the thread's
 * cache or takes the ordinary path.
 *
 * An observer is installed with zt_hooks_install and sampling turned on by
 * hand, as the profiler's init does; its alloc hook restarts the countdown
 * (as the profiler's does), so about one allocation in COUNTDOWN_BYTES /
 * block size is sampled and the rest are cache hits. A hit that skipped a
 * sampled block's tag on free (the block back in the cache, its tag left
 * behind) makes the tagged frees fewer than the tagged allocations.
 *
 * Then the nano free hit's test of a tag (slot_tagged, nano/alloc.c): a
 * tagged slot is refused, but an untagged slot of the same block is taken
 * (it used to be refused too, while its block held any tagged slot).
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "chunkmap.h"
#include "nano.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define TAG             9u
#define COUNTDOWN_BYTES 4096
#define ROUNDS          400
#define LIVE            126

static unsigned allocs, nano_allocs, frees_tagged, frees_other;

static uint32_t on_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    allocs++;
    if (bytes <= 256) nano_allocs++;
    zt_hook_sample_countdown = COUNTDOWN_BYTES;
    return TAG;
}

static void on_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag)
{
    if (tag == TAG)
        frees_tagged++;
    else
        frees_other++;
}

static void on_event(const zt_event_t *ev) {}
static void on_zone(malloc_zone_t *zone) {}
static void on_init(void) {}

static const zt_hooks_t sampling = {.alloc = on_alloc,
                                    .free = on_free,
                                    .event = on_event,
                                    .zone_created = on_zone,
                                    .init = on_init};

int main(void)
{
    void *p[LIVE];
    /* The thread's cache exists and holds blocks of every size used. */
    for (int i = 0; i < LIVE; i++)
        p[i] = malloc(16 + (size_t)(i % 63) * 16);
    for (int i = 0; i < LIVE; i++)
        free(p[i]);

    zt_hooks_install(&sampling);
    zt_hook_sample_countdown = COUNTDOWN_BYTES;
    zt_profiling = ZT_PROFILING_SAMPLE;
    unsigned total = 0;
    unsigned long long x = 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < LIVE; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            p[i] = malloc(16 + (size_t)((x >> 33) % 63) * 16); /* random: both hits sampled */
            memset(p[i], 0x5a, 16);
            total++;
        }
        for (int i = 0; i < LIVE; i++)
            free(p[(i * 5 + r) % LIVE]); /* 5 is prime to LIVE: a permutation */
    }
    /* The small and medium racks (their tag maps' per-group counts: a free
     * in a group with no tagged block skips the tag), with reallocs. */
    unsigned first_allocs = allocs, first_tagged = frees_tagged, first_nano = nano_allocs;
    for (int r = 0; r < ROUNDS / 8; r++) {
        for (int i = 0; i < LIVE; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            p[i] = malloc(1024 + (size_t)((x >> 33) % (60u << 10)));
            if (p[i] && i % 3 == 0) p[i] = realloc(p[i], 1024 + (size_t)((x >> 40) % (60u << 10)));
            CHECK(p[i] != NULL, "big allocation %d", i);
        }
        for (int i = 0; i < LIVE; i++)
            free(p[(i * 5 + r) % LIVE]);
    }
    /* A sampled slot and an untagged neighbour in its nano block (16 KiB). */
    unsigned tagged_before = frees_tagged;
    zt_hook_sample_countdown = 1;
    void *sampled = malloc(48);
    zt_hook_sample_countdown = 1 << 30;
    void *next[LIVE], *mate = NULL;
    int nnext = 0;
    while (mate == NULL && nnext < LIVE) {
        void *q = malloc(48);
        if ((((uintptr_t)q ^ (uintptr_t)sampled) >> 14) == 0)
            mate = q;
        else
            next[nnext++] = q;
    }
    zt_owner_t *o = zt_chunkmap_get(sampled);
    if (zt_nano_front_zone == NULL || o == NULL || o->kind != ZT_KIND_NANO) {
        /* A profile without the nano hits (a device's: no thread caches). */
        free(sampled);
        free(mate);
    } else if (mate == NULL) {
        CHECK(0, "no nano block shared by a sampled slot and another 48-byte slot");
        free(sampled);
    } else {
        CHECK(zt_nano_free_hit(o, mate), "an untagged slot beside a tagged one: the hit takes it");
        CHECK(!zt_nano_free_hit(o, sampled), "the tagged slot: the hit refuses it");
        free(sampled);
        CHECK(frees_tagged == tagged_before + 1, "the tagged slot's free reported");
    }
    for (int i = 0; i < nnext; i++)
        free(next[i]);

    zt_profiling = 0;
    CHECK(allocs - first_allocs > 20, "small and medium sampled: %u", allocs - first_allocs);
    CHECK(frees_tagged - first_tagged == allocs - first_allocs,
          "small/medium: tagged frees %u != tagged allocations %u", frees_tagged - first_tagged,
          allocs - first_allocs);

    CHECK(first_nano > 20 && first_allocs - first_nano > 20, "both sizes sampled: %u of %u nano",
          first_nano, first_allocs);
    CHECK(first_allocs > 100, "sampled allocations: %u of %u", first_allocs, total);
    CHECK(first_allocs < total / 4, "not every allocation sampled: %u of %u", first_allocs, total);
    CHECK(frees_tagged == allocs, "tagged frees %u != tagged allocations %u", frees_tagged, allocs);
    CHECK(frees_other == 0, "%u frees reported with another tag", frees_other);
    return CHECK_DONE("test_front_sampled");
}
