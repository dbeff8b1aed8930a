/* ----------------------------------------------------------------------------
 * test_zone_alone.c — the zone links and works without the profiler.
 *
 * Linked against the zone-only library (CMake target zt_zone: the zone's
 * files with the empty hook table of zone/hooks_none.c, prim, common), never
 * against the profiler's files, libunwind or libxxhash: that it links at all
 * is the first check. Then allocation through the zone API works with no
 * observer (zt_profiling stays 0, no block is tagged, events go nowhere),
 * and an observer installed with zt_hooks_install receives exactly the hooks
 * the zone makes, its tags coming back on free.
 * -------------------------------------------------------------------------- */
#include "hooks.h"

#include <link.h>
#include <string.h>

#include "../check.h"

#define TAG 7u

static struct seen {
    unsigned allocs, frees, frees_with_tag, zones, inits;
    unsigned event_types; /* bit per enum zt_event_type */
} seen;

static uint32_t count_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    seen.allocs++;
    return TAG;
}

static void count_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag)
{
    seen.frees++;
    if (tag == TAG) seen.frees_with_tag++;
}

static void count_event(const zt_event_t *ev)
{
    seen.event_types |= 1u << ev->type;
}

static void count_zone(malloc_zone_t *zone)
{
    seen.zones++;
}

static void count_init(void)
{
    seen.inits++;
}

static const zt_hooks_t counting = {
    .alloc = count_alloc,
    .free = count_free,
    .event = count_event,
    .zone_created = count_zone,
    .init = count_init,
};

/* nano, tiny, small, medium (when the profile has it) and large blocks. */
static const size_t sizes[] = {1, 16, 100, 256, 1000, 5000, 40000, 200000, 3u << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* A request no address space can hold, but not an absurd one: the zone
 * returns NULL and reports it (ZT_EV_NULL_RETURNED). */
#define HUGE_BYTES ((size_t)1 << 50)

static void exercise(malloc_zone_t *z, const char *what)
{
    void *p[NSIZES];
    for (unsigned i = 0; i < NSIZES; i++) {
        p[i] = malloc_zone_malloc(z, sizes[i]);
        CHECK(p[i] != NULL, "%s: malloc %zu", what, sizes[i]);
        if (!p[i]) continue;
        memset(p[i], 0xa5, sizes[i]);
        /* The zone's size(), not malloc_size: valgrind replaces that name. */
        CHECK(z->size(z, p[i]) >= sizes[i], "%s: size of %zu", what, sizes[i]);
    }
    for (unsigned i = 0; i < NSIZES; i++)
        malloc_zone_free(z, p[i]);
    unsigned char *c = malloc_zone_calloc(z, 10, 100);
    CHECK(c && c[0] == 0 && c[999] == 0, "%s: calloc", what);
    c = malloc_zone_realloc(z, c, 20000);
    CHECK(c && c[999] == 0, "%s: realloc keeps the contents", what);
    malloc_zone_free(z, c);
    CHECK(malloc_zone_malloc(z, HUGE_BYTES) == NULL, "%s: 1 PiB", what);
}

static int find_profiler_libs(struct dl_phdr_info *info, size_t size, void *ctx)
{
    if (strstr(info->dlpi_name, "libunwind") || strstr(info->dlpi_name, "libxxhash")) ++*(int *)ctx;
    return 0;
}

static void test_no_observer(void)
{
    int libs = 0;
    dl_iterate_phdr(find_profiler_libs, &libs);
    CHECK(libs == 0, "libunwind or libxxhash is loaded: the zone must not need them");

    CHECK(zt_profiling == 0, "profiling off before start-up");
    malloc_zone_t *z = malloc_default_zone();
    CHECK(z != NULL, "default zone");
    if (!z) return;
    exercise(z, "default zone");
    malloc_zone_t *mine = malloc_create_zone(0, 0);
    CHECK(mine != NULL, "created zone");
    if (mine) {
        exercise(mine, "created zone");
        malloc_destroy_zone(mine);
    }
    CHECK(zt_profiling == 0, "no observer turned profiling on");

    /* The hooks themselves, called as the zone would: nothing happens. */
    CHECK(zt_hook_alloc_slow(z, NULL, 16, 0) == 0, "untagged without an observer");
    zt_hook_free(z, NULL, 16, 0, TAG);
    zt_event_t ev = {.type = ZT_EV_NULL_RETURNED, .zone = z};
    zt_hook_event(&ev);
    zt_hook_zone_created(z);
    zt_hook_init();
}

static void test_observer(void)
{
    zt_hooks_install(&counting);
    malloc_zone_t *mine = malloc_create_zone(0, 0);
    CHECK(mine != NULL, "created zone");
    if (!mine) return;
    CHECK(seen.zones == 1, "zone_created once (%u)", seen.zones);
    CHECK(malloc_zone_malloc(mine, HUGE_BYTES) == NULL, "1 PiB");
    CHECK(seen.event_types & (1u << ZT_EV_NULL_RETURNED), "NULL_RETURNED reported (types %#x)",
          seen.event_types);

    /* The observer's tags are stored with the blocks and come back. */
    zt_profiling = 1;
    void *p[NSIZES];
    for (unsigned i = 0; i < NSIZES; i++)
        p[i] = malloc_zone_malloc(mine, sizes[i]);
    zt_profiling = 0;
    CHECK(seen.allocs == NSIZES, "one alloc hook per block (%u of %zu)", seen.allocs, NSIZES);
    for (unsigned i = 0; i < NSIZES; i++)
        malloc_zone_free(mine, p[i]);
    CHECK(seen.frees == NSIZES && seen.frees_with_tag == NSIZES,
          "one free hook per tagged block, with its tag (%u, %u of %zu)", seen.frees,
          seen.frees_with_tag, NSIZES);

    /* Untagged blocks never reach the observer. */
    void *q = malloc_zone_malloc(mine, 100);
    malloc_zone_free(mine, q);
    CHECK(seen.allocs == NSIZES && seen.frees == NSIZES, "untagged block reached the observer");

    /* Back to the linked table: nothing reaches the counters any more. */
    zt_hooks_install(NULL);
    struct seen before = seen;
    exercise(mine, "after uninstalling");
    malloc_destroy_zone(mine);
    malloc_zone_t *other = malloc_create_zone(0, 0);
    if (other) malloc_destroy_zone(other);
    CHECK(memcmp(&before, &seen, sizeof seen) == 0, "hooks reached an uninstalled table");
    CHECK(seen.inits == 0, "init is zt_init's, which ran before the table was installed");
}

int main(void)
{
    CHECK_CASE("no observer: the zone works, nothing is tagged") test_no_observer();
    CHECK_CASE("an installed table gets exactly the zone's hooks") test_observer();
    return CHECK_DONE("test_zone_alone");
}
