/* ----------------------------------------------------------------------------
 * rack/transfer.c — the transfer cache: whole bins of thread-cached blocks
 * passed from the threads that free them to the threads that allocate them
 * (native only, the rack owning the caches; tcmalloc's transfer cache).
 *
 * Why: a thread that frees what others allocate (a sender freeing the
 * responses handlers built) fills its cache until its budget is spent;
 * from then on each of its frees took a magazine lock, and each malloc of
 * the allocating threads missed their empty caches and took one too, the
 * lock's line bouncing between their cores (server: half of zt_rack_malloc
 * in the lock's two atomics; CPU / glibc 1.17, 0.82 with this). Here a
 * free that finds the budget spent moves its size's bin, as one batch,
 * under one lock, when the last miss of that size with no batch to take
 * was another thread's (xf_want); a thread whose bin is empty takes a whole
 * batch under the same lock (a thread that only allocates gets its cache
 * section then), as far as its budget allows.
 * One lock per batch instead of two per block. A full bin is not batched:
 * its older half is freed for real as before (batching it too kept a
 * consumer's blocks circulating apart from the magazines: prodcons 1.09 ->
 * 1.27 x glibc; the program's own code took more of the samples, likely
 * cache misses on blocks that had moved between cores).
 *
 * A block in a batch is what it was in the thread's cache: live in the
 * rack's metadata (no neighbour coalesces with it, its region stays), its
 * first word the cache guard (rc_cached), so size() says 0, a second free
 * is a double free and the locked paths refuse it. Bounded: XF_BATCHES
 * batches per msize and XF_BUDGET_BYTES per rack; when full, the thread
 * frees for real as before (rc_flush). The introspection calls and the
 * pressure relief free every batch for real first (xf_flush), as they do
 * the calling thread's own cache. Fork: the lock is one of the rack's fork
 * locks, and a batch moves in or out of a thread's bin under it, so a fork
 * child sees each block in exactly one place. Device profiles have no
 * thread caches and so no transfer cache.
 *
 * A part of rack.c, #included there.
 * -------------------------------------------------------------------------- */
#ifndef ZT_RACK_C
#error "this file is a part of rack.c and is only included from there"
#endif

/* Per rack: 64 msizes x 4 batches x 32 pointers = 64 KiB of slots, mapped
 * when the rack claims the caches; the lines of msizes never used are never
 * touched. */
struct xf {
    zt_lock_t lock;
    size_t bytes; /* held in batches */
    struct xf_bin {
        const void *want; /* who missed last with no batch to take (xf_want) */
        uint8_t batches;
        uint8_t count[XF_BATCHES];
        void *slot[XF_BATCHES][RC_CAP];
    } bin[RC_MSIZES];
};

static void xf_create(zt_rack_t *r)
{
    r->xf = zt_prim_map(sizeof(xf_t));
}

static void xf_destroy(zt_rack_t *r)
{
    if (r->xf) zt_prim_unmap(r->xf, sizeof(xf_t));
    r->xf = NULL;
}

/* The calling thread's mark for `want`: its thread record, or x itself for
 * a thread without one (never a record). */
static inline const void *xf_me(const xf_t *x)
{
    zt_tcache_t *self = zt_tcache_self;
    return self ? (const void *)self : (const void *)x;
}

/* A miss of msize b + 1 found no batch: note who, so that frees of that
 * size elsewhere batch for it (xf_put). Written only when it changes, so
 * one thread's misses do not keep writing a shared line. */
static inline void xf_want(xf_t *x, unsigned b)
{
    const void *me = xf_me(x);
    if (__atomic_load_n(&x->bin[b].want, __ATOMIC_RELAXED) != me)
        __atomic_store_n(&x->bin[b].want, me, __ATOMIC_RELAXED);
}

/* The bytes of n blocks of msize b + 1. */
static inline size_t xf_bytes(const zt_rack_t *r, unsigned b, unsigned n)
{
    return (size_t)n * (b + 1) << r->g.qshift;
}

/* Under x->lock: take bin b's newest batch into out[] (RC_CAP entries) and
 * return its count, 0 when the bin has none. */
static unsigned xf_pop_locked(zt_rack_t *r, xf_t *x, unsigned b, void **out)
{
    struct xf_bin *xb = &x->bin[b];
    if (xb->batches == 0) return 0;
    unsigned k = xb->batches - 1u, n = xb->count[k];
    memcpy(out, xb->slot[k], n * sizeof(void *));
    __atomic_store_n(&xb->batches, (uint8_t)k, __ATOMIC_RELAXED);
    __atomic_store_n(&x->bytes, x->bytes - xf_bytes(r, b, n), __ATOMIC_RELAXED);
    return n;
}

/* Move the oldest n blocks of the thread's bin b into a batch. False (the
 * bin untouched) when no other thread wants that size, or the msize's
 * batches or the rack's budget are full. */
static __attribute__((noinline)) bool xf_put(zt_rack_t *r, zt_tcache_section_t *tc, unsigned b,
                                             unsigned n)
{
    xf_t *x = r->xf;
    if (x == NULL || n == 0) return false;
    /* Only for another thread's misses: a thread that would take back its
     * own batch gains nothing, and its blocks would sit out of the
     * magazines' coalescing meanwhile (mixed, single-threaded: +1.5 MiB of
     * peak RSS when every budget overflow was batched). */
    const void *want = __atomic_load_n(&x->bin[b].want, __ATOMIC_RELAXED);
    if (want == NULL || want == xf_me(x)) return false;
    size_t bytes = xf_bytes(r, b, n);
    struct xf_bin *xb = &x->bin[b];
    zt_lock(&x->lock);
    bool room = xb->batches < XF_BATCHES && x->bytes + bytes <= XF_BUDGET_BYTES;
    if (room) {
        unsigned k = xb->batches;
        xb->count[k] = (uint8_t)zt_tcache_take_oldest(tc, b, RC_CAP, n, xb->slot[k]);
        __atomic_store_n(&xb->batches, (uint8_t)(k + 1), __ATOMIC_RELAXED);
        __atomic_store_n(&x->bytes, x->bytes + bytes, __ATOMIC_RELAXED);
    }
    zt_unlock(&x->lock);
    if (room) tc->bytes -= bytes;
    return room;
}

/* xf_take's work, out of line: only a miss with a batch to take gets here. */
static __attribute__((noinline)) zt_tcache_section_t *
xf_take_batch(zt_rack_t *r, xf_t *x, zt_tcache_section_t *tc, unsigned b)
{
    if (tc == NULL && (tc = zt_tcache_section_slow(rc_kind(r), r->tc_id)) == NULL) return NULL;
    struct xf_bin *xb = &x->bin[b];
    unsigned n = 0;
    zt_lock(&x->lock);
    /* Within the thread's budget only: a thread that only allocates would
     * otherwise take a batch of every size and keep them all. */
    if (xb->batches && tc->count[b] == 0 &&
        tc->bytes + xf_bytes(r, b, xb->count[xb->batches - 1u]) <= RC_BUDGET_BYTES) {
        n = xf_pop_locked(r, x, b, &tc->slot[b * RC_CAP]);
        __atomic_store_n(&tc->count[b], (uint16_t)n, __ATOMIC_RELEASE);
    }
    zt_unlock(&x->lock);
    tc->bytes += xf_bytes(r, b, n);
    return n != 0 ? tc : NULL;
}

/* Fill the thread's empty bin b with the newest batch of msize b + 1;
 * returns the thread's section (made now if tc is NULL: a thread that only
 * allocates, a producer, has none), or NULL when there was no batch. The
 * unlocked first look keeps a miss with nothing to take at one load. */
static inline zt_tcache_section_t *xf_take(zt_rack_t *r, zt_tcache_section_t *tc, unsigned b)
{
    xf_t *x = r->xf;
    if (x == NULL) return NULL;
    if (__atomic_load_n(&x->bin[b].batches, __ATOMIC_RELAXED) == 0) {
        xf_want(x, b);
        return NULL;
    }
    return xf_take_batch(r, x, tc, b);
}

/* Free every batch for real (introspection, relief, destroy). */
static void xf_flush(zt_rack_t *r)
{
    xf_t *x = r->xf;
    if (x == NULL || __atomic_load_n(&x->bytes, __ATOMIC_RELAXED) == 0) return;
    void *v[RC_CAP];
    for (unsigned b = 0; b < RC_MSIZES; b++) {
        for (;;) {
            zt_lock(&x->lock);
            unsigned n = xf_pop_locked(r, x, b, v);
            zt_unlock(&x->lock);
            if (n == 0) break;
            rc_flush(r, b, v, n);
        }
    }
}
