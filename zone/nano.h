/* ----------------------------------------------------------------------------
 * nano.h — nano v2 (reference/libmalloc.md §2.7): the default zone for
 * requests <= 256 B on profiles with nano, fronting a scalable helper zone.
 *
 * 512 MiB regions of 8 arenas × 4096 blocks × 16 KiB; one size class per
 * block by the per-class unit split; per-CPU current block per class taken
 * by CAS on a 32-bit block header; when a class cannot find a block it is
 * delegated (sticky) to the helper, released when a non-current block
 * reaches >= 75 % free. Never returns NULL by itself. The nano zone is a
 * complete malloc_zone_t ("DefaultMallocZone", version 10); requests it does
 * not serve (> 256 B, memalign, valloc, delegated classes) go to the helper.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_H
#define ZT_NANO_H

#include "zone.h"

/* Create the nano zone in front of `helper` (a scalable zone). Reserves the
 * first region; returns NULL ("nano zone abandoned") if that fails, and the
 * caller makes the helper the default zone. */
malloc_zone_t *zt_nano_create(malloc_zone_t *helper, const zt_profile_t *p);

/* Free ptr, whose chunk-map owner `o` is a nano region (o->kind NANO): the
 * front end's free fast path, the same as o->zone->free(o->zone, ptr)
 * without the indirect call and the second chunk-map lookup. */
void zt_nano_free_owned(zt_owner_t *o, void *ptr);

/* True if ptr lies in a nano region of this process (any state). */
bool zt_nano_contains(const void *ptr);

/* Test support: bytes one class can hold (slots × size over its blocks in
 * one region), and whether the class is currently delegated. */
size_t zt_nano_class_capacity_bytes(malloc_zone_t *nano, unsigned cls);
bool zt_nano_class_delegated(malloc_zone_t *nano, unsigned cls);

/* Heap walk of the nano region(s) only (the helper is walked separately). */
void zt_nano_walk(malloc_zone_t *nano, const zt_walker_t *w);

#endif /* ZT_NANO_H */
