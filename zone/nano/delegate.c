/* ----------------------------------------------------------------------------
 * nano/delegate.c — madvise of emptied blocks and the sticky per-class
 * delegation to the helper zone, with its events and libmalloc's 75 %
 * release rule.
 *
 * A part of nano.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees nano.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_C
#error "this file is a part of nano.c and is only included from there"
#endif

/* ---- madvise and delegation ---------------------------------------------- */

static void emit_event(nano_t *n, uint32_t type, unsigned cls)
{
    zt_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.cls = cls;
    ev.kind = ZT_KIND_NANO;
    ev.zone = n->zone;
    ev.size = class_bytes(cls);
    zt_hook_event(&ev);
}

/* An empty block that is not in use gives its pages back (policy
 * "immediate"). Returns the bytes purged. */
/* gen: the header's gen_count when the block emptied, or -1 for any. */
static size_t madvise_block_locked(nano_t *n, uintptr_t blk, int gen)
{
    uint32_t *hp = block_header(n, blk);
    size_t purged = 0;
    uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (h_next(h) == SLOT_CAN_MADVISE && (gen < 0 || (unsigned)gen == h_gen(h)) &&
        __atomic_compare_exchange_n(hp, &h, h_make(SLOT_MADVISING, 0, h_gen(h) + 1, false), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* MADVISING is exclusive: nothing allocates from, frees to or claims it.
         * libmalloc's MADV_FREE_REUSABLE (src/nanov2_malloc.c:1831@166) takes
         * the pages out of phys_footprint at once; on a device profile the
         * block is held instead (va.c's ledger: mapped, resident, subtracted
         * from the footprint), which saves the TLB flush and the refaults. */
        /* The high water goes to 0 first (as block_take does on a restart):
         * a madvised block then fails the front's hit check (idx < hw,
         * zt_nano_free_hit) without its header being read, although its
         * zeroed slots carry no free guard. */
        nano_region_t *r = region_of(n, (void *)blk);
        if (r) __atomic_store_n(block_hw(r, blk), 0, __ATOMIC_RELEASE);
        zt_va_hold((void *)blk, NANO_BLOCK_BYTES, ZT_VA_HOLD_PURGE);
        __atomic_store_n(hp, h_make(SLOT_MADVISED, 0, h_gen(h) + 2, false), __ATOMIC_RELEASE);
        purged = NANO_BLOCK_BYTES;
    }
    return purged;
}

static size_t madvise_block(nano_t *n, uintptr_t blk)
{
    zt_lock(&n->madvise_lock);
    size_t purged = madvise_block_locked(n, blk, -1);
    zt_unlock(&n->madvise_lock);
    return purged;
}

/* Native's deferred purge (profile nano_defer_purge_blocks, issue 15; a
 * divergence from libmalloc-166.220.1 src/nanov2_malloc.c:2518-2530, which
 * madvises at the last free): the emptied block joins a FIFO of at most
 * defer_max blocks and the oldest is madvised when it overflows. Until then
 * the block keeps its pages and the scan reuses it before any clean block
 * (scan_arena), so a program that empties and refills blocks in a loop
 * faults nothing back in; at most defer_max * 16 KiB stay resident unused.
 * An entry is the block's address with the header's gen_count in its low
 * bits (blocks are 16 KiB aligned): a block that was reused and emptied
 * again since has a newer entry, and the old one is skipped. */
#define DEFER_GEN_MASK ((uintptr_t)NANO_BLOCK_BYTES - 1)
static size_t defer_due_locked(nano_t *n, uintptr_t e)
{
    return madvise_block_locked(n, e & ~DEFER_GEN_MASK, (int)(e & DEFER_GEN_MASK));
}

static void defer_purge(nano_t *n, uintptr_t blk, uint32_t h)
{
    zt_lock(&n->madvise_lock);
    if (n->defer_count == n->defer_max) {
        defer_due_locked(n, n->defer_ring[n->defer_head]);
        n->defer_head = (n->defer_head + 1) % n->defer_max;
        n->defer_count--;
    }
    n->defer_ring[(n->defer_head + n->defer_count++) % n->defer_max] = blk | h_gen(h);
    zt_unlock(&n->madvise_lock);
}

/* Madvise every deferred block (pressure relief). Returns the bytes purged. */
static size_t defer_purge_all(nano_t *n)
{
    size_t purged = 0;
    zt_lock(&n->madvise_lock);
    for (; n->defer_count; n->defer_count--, n->defer_head = (n->defer_head + 1) % n->defer_max)
        purged += defer_due_locked(n, n->defer_ring[n->defer_head]);
    zt_unlock(&n->madvise_lock);
    return purged;
}

static void delegate_release(nano_t *n, unsigned cls)
{
    uint32_t bit = 1u << cls;
    if (__atomic_fetch_and(&n->delegate_bits, ~bit, __ATOMIC_ACQ_REL) & bit)
        emit_event(n, ZT_EV_NANO_RELEASED, cls);
}
