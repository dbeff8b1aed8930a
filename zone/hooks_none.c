/* ----------------------------------------------------------------------------
 * hooks_none.c — the hook table of a zone linked without an observer
 * (zone/hooks.h): every hook does nothing, so zt_profiling stays 0, no block
 * is tagged and events go nowhere. Linked into the zone-only library
 * (CMake target zt_zone) in place of the profiler's table; never into
 * libzonetrace, which would then have two definitions of zt_hooks_linked.
 * -------------------------------------------------------------------------- */
#include "hooks.h"

static uint32_t none_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    return 0;
}

static void none_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag) {}

static void none_event(const zt_event_t *ev) {}

static void none_zone_created(malloc_zone_t *zone) {}

static void none_init(void) {}

const zt_hooks_t zt_hooks_linked = {
    .alloc = none_alloc,
    .free = none_free,
    .event = none_event,
    .zone_created = none_zone_created,
    .init = none_init,
};
