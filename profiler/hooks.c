/* ----------------------------------------------------------------------------
 * hooks.c — PLACEHOLDER until the profiler lands: the zone → profiler
 * interface (zone/hooks.h) with profiling off.
 * -------------------------------------------------------------------------- */
#include "hooks.h"

int zt_profiling;

uint32_t zt_hook_alloc(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls) { return 0; }
void zt_hook_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag) {}
void zt_hook_event(const zt_event_t *ev) {}
void zt_hook_zone_created(malloc_zone_t *zone) {}
void zt_hook_init(void) {}
