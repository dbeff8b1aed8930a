/* ----------------------------------------------------------------------------
 * rack/introspect.c — memory return on demand (pressure relief), fork locks,
 * and introspection: the walker, statistics, the consistency check and print.
 *
 * A part of rack.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees rack.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_RACK_C
#error "this file is a part of rack.c and is only included from there"
#endif

/* ---- purging and relief --------------------------------------------------- */

static void purge_region_free(zt_rack_t *r, region_t *rg, size_t *total)
{
    uintptr_t base = region_base(r, rg);
    uint32_t i = 0;
    while (i < r->g.nq) {
        uint32_t len;
        if (is_free_start(r, base, i)) {
            len = free_msize(r, base, i);
            *total += purge_span(r, ptr_of(r, base, i), len);
        } else {
            len = live_msize(r, base, i);
            if (len == 0) break;
        }
        i += len;
    }
}

size_t zt_rack_pressure_relief(zt_rack_t *r, size_t goal_bytes)
{
    size_t total = 0;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    xf_flush(r);
    /* Depot regions first (what libmalloc's relief madvises), then the
     * magazines' own free spans. */
    magazine_t *depot = mag_of(r, DEPOT);
    zt_lock(&depot->lock);
    total += purge_lists(r, depot, true, goal_bytes);
    zt_unlock(&depot->lock);
    for (unsigned i = 0; i < r->nmag && !(goal_bytes && total >= goal_bytes); i++) {
        magazine_t *m = mag_of(r, (int)i);
        zt_lock(&m->lock);
        total += purge_lists(r, m, true, goal_bytes ? goal_bytes - total : 0);
        zt_unlock(&m->lock);
    }
    return total;
}

/* ---- walk, statistics, check, print -------------------------------------- */

void zt_rack_force_lock(zt_rack_t *r)
{
    zt_tcache_fork_lock(rc_kind(r), r->tc_id);
    for (unsigned i = 0; i < r->nmag; i++)
        zt_lock(&mag_of(r, (int)i)->lock);
    zt_lock(&mag_of(r, DEPOT)->lock);
    if (r->xf) zt_lock(&r->xf->lock);
}

void zt_rack_force_unlock(zt_rack_t *r)
{
    if (r->xf) zt_unlock(&r->xf->lock);
    zt_unlock(&mag_of(r, DEPOT)->lock);
    for (unsigned i = r->nmag; i-- > 0;)
        zt_unlock(&mag_of(r, (int)i)->lock);
    zt_tcache_fork_unlock(rc_kind(r), r->tc_id);
}

void zt_rack_reinit_lock(zt_rack_t *r)
{
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        zt_lock_reinit(&mag_of(r, mi)->lock);
        mag_of(r, mi)->alloc_underway = 0;
    }
    for (unsigned i = 0; i < MAX_MAGAZINES; i++)
        r->guard[i].n = 0;
    if (r->xf) zt_lock_reinit(&r->xf->lock);
    zt_tcache_fork_child(rc_kind(r), r->tc_id);
}

bool zt_rack_locked(zt_rack_t *r)
{
    for (int mi = DEPOT; mi < (int)r->nmag; mi++)
        if (__atomic_load_n(&mag_of(r, mi)->lock.word, __ATOMIC_RELAXED) != 0) return true;
    return r->xf && __atomic_load_n(&r->xf->lock.word, __ATOMIC_RELAXED) != 0;
}

unsigned zt_rack_region_count(zt_rack_t *r)
{
    return __atomic_load_n(&r->region_count, __ATOMIC_RELAXED);
}

/* Bytes of the cached last-free block of m lying in rg (0 if none). */
static size_t cached_in(const zt_rack_t *r, const magazine_t *m, const region_t *rg)
{
    if (m->last_free && base_of(r, m->last_free) == region_base(r, rg))
        return (size_t)m->last_free_msize << r->g.qshift;
    return 0;
}

void zt_rack_walk(zt_rack_t *r, const zt_walker_t *w)
{
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    xf_flush(r);
    zt_rack_force_lock(r);
    if (w->admin) w->admin(w->ctx, (uintptr_t)r, r->map_bytes);
    for (int mi = 0; mi <= (int)r->nmag; mi++) {
        magazine_t *m = &r->mags[mi]; /* depot first */
        for (region_t *rg = m->first; rg; rg = rg->next) {
            uintptr_t base = region_base(r, rg);
            if (w->region)
                w->region(w->ctx, r->owner.zone, (enum zt_kind)r->owner.kind, base,
                          r->g.region_bytes, rg->bytes_used - cached_in(r, m, rg));
            if (w->admin) {
                w->admin(w->ctx, base + r->g.trailer_off, r->g.region_bytes - r->g.trailer_off);
                if (rg->tags) w->admin(w->ctx, (uintptr_t)rg->tags, r->g.tags_bytes);
            }
            if (!w->block) continue;
            uint32_t end = m->bump_rg == rg ? m->bump_idx : r->g.nq;
            for (uint32_t i = 0; i < end;) {
                uint32_t len;
                if (is_free_start(r, base, i)) {
                    len = free_msize(r, base, i);
                } else {
                    len = live_msize(r, base, i);
                    if (len == 0) break;
                    void *p = ptr_of(r, base, i);
                    if (p != m->last_free && !rc_cached(r, p))
                        w->block(w->ctx, (uintptr_t)p, (size_t)len << r->g.qshift, cls_of(r, len),
                                 tag_peek(rg, i));
                }
                i += len;
            }
        }
    }
    zt_rack_force_unlock(r);
}

void zt_rack_statistics(zt_rack_t *r, malloc_statistics_t *stats)
{
    size_t objects = 0, in_use = 0, untouched = 0, regions = 0;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    xf_flush(r);
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        magazine_t *m = mag_of(r, mi);
        zt_lock(&m->lock);
        objects += m->num_objects;
        in_use += m->bytes_in_objects;
        regions += m->nregions;
        if (m->last_free) {
            objects--;
            in_use -= (size_t)m->last_free_msize << r->g.qshift;
        }
        if (m->bump_rg) untouched += (size_t)(r->g.nq - m->bump_idx) << r->g.qshift;
        zt_unlock(&m->lock);
    }
    stats->blocks_in_use = (unsigned)objects;
    stats->size_in_use = in_use;
    stats->size_allocated = regions * r->g.region_bytes;
    stats->max_size_in_use = stats->size_allocated - untouched;
}

static bool check_fail(const char *what, const void *where)
{
    zt_prim_message("rack check failed: %s at %p", what, where);
    return false;
}

/* Tiling, metadata and byte count of one region; counts its free blocks. */
static bool check_region(zt_rack_t *r, magazine_t *m, int mi, region_t *rg, size_t *nfree,
                         size_t *nlive)
{
    uintptr_t base = region_base(r, rg);
    if (rg->mag_index != mi) return check_fail("region owner", (void *)base);
    if (zt_chunkmap_get((void *)base) != &r->owner)
        return check_fail("chunk map entry", (void *)base);
    uint32_t end = m->bump_rg == rg ? m->bump_idx : r->g.nq;
    size_t used = 0;
    bool prev_was_free = false;
    for (uint32_t i = 0; i < end;) {
        uint32_t len;
        if (is_free_start(r, base, i)) {
            len = free_msize(r, base, i);
            if (len == 0 || i + len > end) return check_fail("free block size", ptr_of(r, base, i));
            if (prev_was_free) return check_fail("adjacent free blocks", ptr_of(r, base, i));
            (*nfree)++;
            prev_was_free = true;
        } else {
            len = live_msize(r, base, i);
            if (len == 0 || i + len > end) return check_fail("block metadata", ptr_of(r, base, i));
            used += (size_t)len << r->g.qshift;
            (*nlive)++;
            prev_was_free = false;
        }
        i += len;
    }
    if (used != rg->bytes_used) return check_fail("region bytes_used", (void *)base);
    return true;
}

bool zt_rack_check(zt_rack_t *r)
{
    bool ok = true;
    zt_tcache_flush_mine(rc_kind(r), r->tc_id);
    xf_flush(r);
    zt_rack_force_lock(r);
    unsigned regions = 0;
    for (int mi = DEPOT; mi < (int)r->nmag && ok; mi++) {
        magazine_t *m = mag_of(r, mi);
        size_t used = 0, listed = 0, nfree = 0, nlive = 0;
        for (region_t *rg = m->first; rg && ok; rg = rg->next) {
            ok = check_region(r, m, mi, rg, &nfree, &nlive);
            used += rg->bytes_used;
            regions++;
        }
        if (ok && used != m->bytes_in_objects) ok = check_fail("magazine bytes_in_objects", m);
        /* Live blocks (the last-free one and thread-cached ones included,
         * which the magazine still counts) against the magazine's count. */
        if (ok && nlive != m->num_objects) ok = check_fail("magazine num_objects", m);
        /* The last-free block belongs to one of the magazine's own regions:
         * it is freed for real under this magazine's lock. */
        if (ok && m->last_free &&
            (zt_chunkmap_get(m->last_free) != &r->owner ||
             trailer_of(r, base_of(r, m->last_free))->mag_index != mi))
            ok = check_fail("last-free block outside the magazine", m->last_free);
        if (ok && m->nregions * r->g.payload_bytes != m->bytes_in_magazine)
            ok = check_fail("magazine bytes_in_magazine", m);
        for (unsigned s = 0; s < r->g.nslots && ok; s++) {
            bool bit = (m->slot_bits[s >> 6] >> (s & 63)) & 1;
            if (bit != (m->slots[s] != NULL)) ok = check_fail("slot bitmap", m);
            for (free_node_t *n = m->slots[s]; n && ok; n = n->next) {
                if (listed > nfree) {
                    ok = check_fail("free list longer than the free blocks (cycle?)", n);
                    break;
                }
                uintptr_t base = base_of(r, n);
                if (zt_chunkmap_get(n) != &r->owner || trailer_of(r, base)->mag_index != mi) {
                    ok = check_fail("free node outside the magazine", n);
                    break;
                }
                uint32_t i = idx_of(r, base, n);
                if (!is_free_start(r, base, i) || slot_of(r, free_msize(r, base, i)) != s)
                    ok = check_fail("free node metadata", n);
                if (n->next && n->next->prev != n) ok = check_fail("free list back link", n);
                listed++;
            }
        }
        /* Every listed node is a free block of this magazine, so equal
         * counts mean every free block is listed exactly once. */
        if (ok && listed != nfree) ok = check_fail("free blocks missing from the lists", m);
    }
    if (ok && regions != zt_rack_region_count(r)) ok = check_fail("region count", r);
    zt_rack_force_unlock(r);
    return ok;
}

void zt_rack_print(zt_rack_t *r, bool verbose)
{
    malloc_statistics_t st;
    zt_rack_statistics(r, &st);
    zt_prim_message("%s rack %p: %u magazines, %u regions, %u blocks, %zu bytes in use, %zu mapped",
                    zt_kind_name((enum zt_kind)r->owner.kind), (void *)r, r->nmag,
                    zt_rack_region_count(r), st.blocks_in_use, st.size_in_use, st.size_allocated);
    if (!verbose) return;
    for (int mi = DEPOT; mi < (int)r->nmag; mi++) {
        magazine_t *m = mag_of(r, mi);
        zt_lock(&m->lock);
        if (mi == DEPOT)
            zt_prim_message("  depot: %u regions, %zu blocks, %zu/%zu bytes", m->nregions,
                            m->num_objects, m->bytes_in_objects, m->bytes_in_magazine);
        else
            zt_prim_message("  magazine %d: %u regions, %zu blocks, %zu/%zu bytes", mi, m->nregions,
                            m->num_objects, m->bytes_in_objects, m->bytes_in_magazine);
        for (region_t *rg = m->first; rg; rg = rg->next)
            zt_prim_message("    region %p: %u bytes used%s", (void *)region_base(r, rg),
                            rg->bytes_used, m->bump_rg == rg ? " (current)" : "");
        zt_unlock(&m->lock);
    }
}
