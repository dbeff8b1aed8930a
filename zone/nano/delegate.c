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
static size_t madvise_block(nano_t *n, uintptr_t blk)
{
    uint32_t *hp = block_header(n, blk);
    size_t purged = 0;
    zt_lock(&n->madvise_lock);
    uint32_t h = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (h_next(h) == SLOT_CAN_MADVISE &&
        __atomic_compare_exchange_n(hp, &h, h_make(SLOT_MADVISING, 0, h_gen(h) + 1, false), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* MADVISING is exclusive: nothing allocates from, frees to or claims it. */
        zt_prim_purge((void *)blk, NANO_BLOCK_BYTES);
        __atomic_store_n(hp, h_make(SLOT_MADVISED, 0, h_gen(h) + 2, false), __ATOMIC_RELEASE);
        purged = NANO_BLOCK_BYTES;
    }
    zt_unlock(&n->madvise_lock);
    return purged;
}

static void delegate_release(nano_t *n, unsigned cls)
{
    uint32_t bit = 1u << cls;
    if (__atomic_fetch_and(&n->delegate_bits, ~bit, __ATOMIC_ACQ_REL) & bit)
        emit_event(n, ZT_EV_NANO_RELEASED, cls);
}
