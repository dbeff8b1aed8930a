/* ----------------------------------------------------------------------------
 * registry.h — the process's zone list (libmalloc's malloc_zones) and the
 * internal lookups behind malloc_zone_from_ptr, free and realloc. The public
 * malloc_zone_* functions are declared in include/zonetrace/malloc_zone.h.
 * -------------------------------------------------------------------------- */
#ifndef ZT_REGISTRY_H
#define ZT_REGISTRY_H

#include "zone.h"

#define ZT_MAX_ZONES 64

/* Install the default zone as zone 0 (and its helper as zone 1). */
void zt_registry_init(malloc_zone_t *zone0, malloc_zone_t *helper);

/* Real zone owning ptr and its size, or NULL (size 0). Fast path: chunk
 * map, then the registered zones' size() in order. */
malloc_zone_t *zt_registry_find(const void *ptr, size_t *size_out);

/* Snapshot of the registered zones (for walks); returns the count. */
unsigned zt_registry_zones(malloc_zone_t **out, unsigned cap);

/* Walk any zone (nano or scalable). */
void zt_zone_walk(malloc_zone_t *zone, const zt_walker_t *w);

/* Fork handlers for every zone (registered by zt_init). */
void zt_registry_fork_prepare(void);
void zt_registry_fork_parent(void);
void zt_registry_fork_child(void);

/* Print per-zone statistics to stderr (ZONETRACE_VERBOSE at exit). */
void zt_registry_print_statistics(void);

/* libmalloc's free() and realloc() (find the owner, log, dispatch; realloc
 * of size 0 returns a minimal block and frees ptr). Used by the front ends
 * on their slow paths (foreign or large pointers, malloc_logger set). */
void zt_registry_free(void *ptr);
void *zt_registry_realloc(void *ptr, size_t bytes);

/* The virtual default zone (what malloc_default_zone() returns). */
malloc_zone_t *zt_registry_virtual_zone(void);

#endif /* ZT_REGISTRY_H */
