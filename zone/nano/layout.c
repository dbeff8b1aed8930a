/* ----------------------------------------------------------------------------
 * nano/layout.c — layout and addressing: the block-header word and its
 * fields, and the arithmetic from a pointer to its region, arena, block and
 * header.
 *
 * A part of nano.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees nano.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_C
#error "this file is a part of nano.c and is only included from there"
#endif

/* ---- header words ------------------------------------------------------- */

static inline unsigned h_next(uint32_t h)
{
    return h & 0x7FF;
}
static inline unsigned h_free(uint32_t h)
{
    return (h >> 11) & 0x3FF;
}
static inline uint32_t h_gen(uint32_t h)
{
    return (h >> 21) & 0x3FF;
}
static inline bool h_in_use(uint32_t h)
{
    return h >> 31;
}

static inline uint32_t h_make(unsigned next, unsigned free_count, uint32_t gen, bool in_use)
{
    return (uint32_t)next | (uint32_t)free_count << 11 | (gen & 0x3FF) << 21 |
           (uint32_t)in_use << 31;
}

/* Free slots of a block per its header (states without live slots: all). */
static inline unsigned h_free_slots(uint32_t h, unsigned slots)
{
    unsigned next = h_next(h);
    if (next == SLOT_FULL) return 0;
    if (next == SLOT_NULL || next >= SLOT_CAN_MADVISE) return slots;
    return h_free(h) + 1;
}

/* States in which a block may hold live slots. */
static inline bool h_has_slots(uint32_t h)
{
    unsigned next = h_next(h);
    return next != SLOT_NULL && next < SLOT_CAN_MADVISE;
}

/* ---- addresses ----------------------------------------------------------- */

static inline size_t class_bytes(unsigned cls)
{
    return (size_t)(cls + 1) << ZT_NANO_QUANTUM_SHIFT;
}

/* The zone's malloc_zone_t has a host page to itself; nano_t follows. */
static size_t zone_page_bytes;

static inline nano_t *zone_nano(malloc_zone_t *zone)
{
    return (nano_t *)((char *)zone + zone_page_bytes);
}

static inline unsigned meta_index(unsigned phys)
{
    return (phys & 63) << 6 | phys >> 6;
}

/* Always inline: a dozen instructions, and the cold scan (alloc_slow ->
 * find_block -> scan_arena, optimised for size) called it out of line for
 * every block it visits (half of fragment's instructions on a device). */
static inline __attribute__((always_inline)) uint32_t *block_header(const nano_t *n, uintptr_t blk)
{
    uintptr_t arena = blk & ~(uintptr_t)(NANO_ARENA_BYTES - 1);
    unsigned phys = (blk >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_ARENA - 1);
    return (uint32_t *)(arena + ((uintptr_t)n->g.aslr_cookie << NANO_BLOCK_SHIFT)) +
           meta_index(phys);
}

/* Region descriptor of an address inside one of n's regions, else NULL. */
static inline nano_region_t *region_of(const nano_t *n, const void *p)
{
    zt_owner_t *o = zt_chunkmap_get(p);
    if (o && o->kind == ZT_KIND_NANO && o->zone == n->zone) return (nano_region_t *)o;
    return NULL;
}

static inline nano_block_word_t *block_word(nano_region_t *r, uintptr_t a)
{
    return &r->blk[(a >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_REGION - 1)];
}

static inline uint16_t *block_hw(nano_region_t *r, uintptr_t blk)
{
    return &block_word(r, blk)->hw;
}

static inline uintptr_t arena_base(const nano_t *n, unsigned arena)
{
    return n->regions[arena / NANO_ARENAS_PER_REGION]->base +
           ((uintptr_t)(arena % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT);
}

static inline uintptr_t block_addr(uintptr_t arena, unsigned phys)
{
    return arena + ((uintptr_t)phys << NANO_BLOCK_SHIFT);
}
