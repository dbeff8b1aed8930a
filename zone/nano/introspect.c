/* ----------------------------------------------------------------------------
 * nano/introspect.c — the malloc_introspection_t functions: good size,
 * check, print, fork locks, statistics.
 *
 * A part of nano.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees nano.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_C
#error "this file is a part of nano.c and is only included from there"
#endif

/* ---- introspection ---------------------------------------------------------- */

static size_t nano_good_size(malloc_zone_t *zone, size_t size)
{
    if (size <= ZT_NANO_MAX_BYTES) return size ? (size + 15) & ~(size_t)15 : 16;
    malloc_zone_t *h = zone_nano(zone)->helper;
    if (h->introspect && h->introspect->good_size) return h->introspect->good_size(h, size);
    return size;
}

/* Walk every list block's free list; a fault is reported only when the
 * header did not change during the walk (a concurrent pop is not one). */
static boolean_t nano_check(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    zt_tcache_flush_mine(ZT_TCACHE_NANO, n->tc_id);
    unsigned narenas = __atomic_load_n(&n->arenas_claimed, __ATOMIC_ACQUIRE);
    for (unsigned a = 0; a < narenas; a++) {
        uintptr_t base = arena_base(n, a);
        for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++) {
            unsigned slots = n->g.slots[cls];
            size_t size = class_bytes(cls);
            for (unsigned b = n->g.class_first[cls]; b < n->g.class_end[cls]; b++) {
                uintptr_t blk = block_addr(base, b ^ n->g.aslr_cookie);
                uint32_t *hp = block_header(n, blk);
                uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
                unsigned next = h_next(h);
                const char *bad = NULL;
                if (h_has_slots(h) && next != SLOT_BUMP && next != SLOT_FULL) {
                    unsigned steps = 0, limit = h_free(h) + 1;
                    if (next > slots) bad = "list head out of range";
                    while (!bad && next - 1u < slots) {
                        const nano_free_slot_t *s = (void *)(blk + (next - 1) * size);
                        if (s->guard != (n->g.guard_cookie ^ (uintptr_t)s))
                            bad = "free slot guard overwritten";
                        else if (++steps > limit)
                            bad = "free list longer than the free count";
                        next = s->next_slot;
                    }
                    if (!bad && next != SLOT_BUMP && next != SLOT_FULL)
                        bad = "free list link out of range";
                } else if (h_has_slots(h) && next == SLOT_BUMP && h_free(h) + 1 > slots) {
                    bad = "free count above the slot count";
                }
                if (bad && __atomic_load_n(hp, __ATOMIC_ACQUIRE) == h) {
                    zt_prim_message("nano check: block %p (nano-%zu): %s", (void *)blk, size, bad);
                    return 0;
                }
            }
        }
    }
    return 1;
}

static void nano_usage(nano_t *n, usage_t *u)
{
    walk_t w;
    zt_tcache_flush_mine(ZT_TCACHE_NANO, n->tc_id);
    memset(u, 0, sizeof *u);
    if (!walk_open(&w, 0, NULL, (uintptr_t)n->zone)) return;
    for (unsigned ri = 0; ri < w.nregions; ri++)
        usage_region(&w, ri, u);
}

static void nano_print(malloc_zone_t *zone, boolean_t verbose)
{
    nano_t *n = zone_nano(zone);
    usage_t u;
    nano_usage(n, &u);
    zt_prim_message("%s (nano v2): %u region(s), %u arena(s), %zu live slots, %zu live bytes",
                    zone->zone_name ? zone->zone_name : nano_zone_name, n->nregions,
                    n->arenas_claimed, u.live_slots, u.live_bytes);
    for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++)
        if (verbose || u.class_blocks[cls])
            zt_prim_message("  nano-%3zu %6zu blocks %9zu live, capacity %zu KiB%s",
                            class_bytes(cls), u.class_blocks[cls], u.class_live[cls],
                            zt_nano_class_capacity_bytes(zone, cls) >> 10,
                            (n->delegate_bits >> cls) & 1 ? ", delegated" : "");
}

static void nano_force_lock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    zt_tcache_fork_lock(ZT_TCACHE_NANO, n->tc_id);
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_lock(&n->current_lock[c][i]);
    zt_lock(&n->regions_lock);
    zt_lock(&n->madvise_lock);
}

static void nano_force_unlock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    zt_unlock(&n->madvise_lock);
    zt_unlock(&n->regions_lock);
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_unlock(&n->current_lock[c][i]);
    zt_tcache_fork_unlock(ZT_TCACHE_NANO, n->tc_id);
}

/* Fork child: the parent's threads are gone but every multi-step change
 * ran under a lock held by force_lock, so the metadata is consistent; still
 * the child stops using nano as libmalloc's does (nano_forked_zone: new
 * blocks from the helper, nano frees leaked). The locks are re-initialised
 * for size() and introspection, which keep working on nano's blocks. */
static void nano_reinit_lock(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    nano_forked_zone(zone);
    zt_lock_reinit(&n->madvise_lock);
    zt_lock_reinit(&n->regions_lock);
    for (unsigned c = 0; c < ZT_NANO_CLASSES; c++)
        for (unsigned i = 0; i < NANO_MAX_CURRENT_BLOCKS; i++)
            zt_lock_reinit(&n->current_lock[c][i]);
    zt_tcache_fork_child(ZT_TCACHE_NANO, n->tc_id);
}

static void nano_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    usage_t u;
    nano_usage(zone_nano(zone), &u);
    stats->blocks_in_use = (unsigned)u.live_slots;
    stats->size_in_use = u.live_bytes;
    stats->max_size_in_use = u.touched_bytes;
    stats->size_allocated = u.touched_bytes;
}

static boolean_t nano_zone_locked(malloc_zone_t *zone)
{
    nano_t *n = zone_nano(zone);
    return __atomic_load_n(&n->regions_lock.word, __ATOMIC_RELAXED) != 0 ||
           __atomic_load_n(&n->madvise_lock.word, __ATOMIC_RELAXED) != 0;
}

static void nano_print_task(task_t task, unsigned level, vm_address_t zone_address,
                            memory_reader_t reader, print_task_printer_t printer)
{
}

static void nano_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                 malloc_statistics_t *stats)
{
    walk_t w;
    usage_t u;
    memset(&u, 0, sizeof u);
    if (walk_open(&w, task, reader, zone_address))
        for (unsigned ri = 0; ri < w.nregions; ri++)
            usage_region(&w, ri, &u);
    stats->blocks_in_use = (unsigned)u.live_slots;
    stats->size_in_use = u.live_bytes;
    stats->max_size_in_use = u.touched_bytes;
    stats->size_allocated = u.touched_bytes;
}

static malloc_introspection_t nano_introspect = {
    .enumerator = nano_enumerator,
    .good_size = nano_good_size,
    .check = nano_check,
    .print = nano_print,
    .log = zt_introspect_nop_log,
    .force_lock = nano_force_lock,
    .force_unlock = nano_force_unlock,
    .statistics = nano_statistics,
    .zone_locked = nano_zone_locked,
    .enable_discharge_checking = zt_introspect_nop_enable_discharge_checking,
    .disable_discharge_checking = zt_introspect_nop_disable_discharge_checking,
    .discharge = zt_introspect_nop_discharge,
    .enumerate_discharged_pointers = NULL,
    .reinit_lock = nano_reinit_lock,
    .print_task = nano_print_task,
    .task_statistics = nano_task_statistics,
};
