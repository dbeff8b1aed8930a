/* ----------------------------------------------------------------------------
 * stacktab.c — interns call stacks: frames → XXH3-128 → dense 32-bit id.
 *
 * The entries themselves (hash, frames, counters) live in the record file's
 * stack table (record.c), so a killed process leaves them behind. Here is
 * only the index that finds them: an open-addressing table of 64-bit slots
 * (high 32 bits of the hash | id) in profiler-mapped memory.
 *  - Lookups are lock-free: acquire-load the current table, probe linearly,
 *    and on a slot whose hash bits match compare the full hash and the
 *    frames (ids are exact; a hash collision gets its own id).
 *  - Inserting a new stack (rare after warm-up) takes one lock: ids are
 *    handed out in order, an entry is complete before its id is published.
 *  - Growth builds a table twice as large from the entries and publishes
 *    it with one store; a reader still probing the old table sees a valid
 *    (merely older) table, and a miss re-probes under the lock. Old tables
 *    are never unmapped (their total is below the size of the current one).
 *  - In front of the table, each thread keeps a direct-mapped cache of its
 *    recent stacks keyed by 96 bits of the frames' XXH3-128 (the table is
 *    probed with the low 64 bits and compares frames). A hit costs the hash
 *    and one TLS line, no shared memory; a wrong hit needs two different
 *    stacks with equal 96-bit hashes (about n^2 / 2^97 for n stacks).
 *    The cache is dropped when the table is reset (record reopened, fork).
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define INDEX_MIN_SLOTS 16384u
#define HASH_HI(h)      ((h)&0xffffffff00000000ull)

typedef struct stack_index {
    uint64_t mask;  /* slots - 1 */
    uint64_t count; /* ids inserted */
    uint64_t map_bytes;
    uint64_t slots[]; /* 0 = empty, else HASH_HI(hash) | id */
} stack_index_t;

static stack_index_t *index_cur;
static zt_lock_t insert_lock = ZT_LOCK_INIT;
static unsigned index_epoch = 1; /* bumped by reset: per-thread caches are stale */

#define TCACHE_SLOTS 64u
typedef struct tcache_entry {
    uint64_t lo;  /* XXH3-128 low half (the record's hash) */
    uint32_t hi;  /* 32 bits of the high half */
    uint32_t id;  /* 0 = empty */
} tcache_entry_t; /* 16 bytes: the cache is 1 KiB of TLS */

static __thread tcache_entry_t tls_tcache[TCACHE_SLOTS];
static __thread unsigned tls_tcache_epoch;

uint64_t zt_stacktab_hash(const uint64_t *pcs, unsigned n)
{
    return XXH3_128bits(pcs, (size_t)n * sizeof(uint64_t)).low64;
}

static bool entry_matches(uint32_t id, uint64_t hash, const uint64_t *pcs, unsigned n)
{
    zt_rec_stack_t *e = zt_record_stack(id, false);
    if (e == NULL || e->hash != hash || e->nframes != n) return false;
    const uint64_t *frames = (const uint64_t *)(zt_rec.base + e->frames_off);
    return memcmp(frames, pcs, (size_t)n * sizeof(uint64_t)) == 0;
}

static uint32_t index_find(const stack_index_t *ix, uint64_t hash, const uint64_t *pcs, unsigned n)
{
    if (ix == NULL) return 0;
    for (uint64_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
        uint64_t v = __atomic_load_n(&ix->slots[i], __ATOMIC_ACQUIRE);
        if (v == 0) return 0;
        if (HASH_HI(v) == HASH_HI(hash) && entry_matches((uint32_t)v, hash, pcs, n))
            return (uint32_t)v;
    }
}

static void index_put(stack_index_t *ix, uint64_t hash, uint32_t id)
{
    uint64_t i = hash & ix->mask;
    while (ix->slots[i] != 0)
        i = (i + 1) & ix->mask;
    __atomic_store_n(&ix->slots[i], HASH_HI(hash) | id, __ATOMIC_RELEASE);
    ix->count++;
}

/* Under insert_lock: a table for at least `want` ids at load <= 1/2, filled
 * from the record's entries. */
static stack_index_t *index_build(uint64_t want)
{
    uint64_t slots = INDEX_MIN_SLOTS;
    while (slots < want * 2)
        slots *= 2;
    size_t bytes = sizeof(stack_index_t) + slots * sizeof(uint64_t);
    stack_index_t *ix = zt_prim_map(bytes);
    if (ix == NULL) return NULL;
    ix->mask = slots - 1;
    ix->map_bytes = bytes;
    uint32_t nstacks = __atomic_load_n(&zt_rec.hdr->nstacks, __ATOMIC_ACQUIRE);
    for (uint32_t id = 1; id <= nstacks; id++) {
        zt_rec_stack_t *e = zt_record_stack(id, false);
        if (e) index_put(ix, e->hash, id);
    }
    return ix;
}

static uint32_t intern_slow(const uint64_t *pcs, unsigned n, uint64_t hash, bool may_block);

uint32_t zt_stacktab_intern(const uint64_t *pcs, unsigned n, bool may_block)
{
    if (n == 0 || !zt_rec_open) return 0;
    if (n > ZT_REC_MAX_FRAMES) n = ZT_REC_MAX_FRAMES;
    XXH128_hash_t h = XXH3_128bits(pcs, (size_t)n * sizeof(uint64_t));
    if (!may_block) /* signal handler: the interrupted code may be mid-update of the cache */
        return intern_slow(pcs, n, h.low64, false);
    unsigned epoch = __atomic_load_n(&index_epoch, __ATOMIC_ACQUIRE);
    if (zt_unlikely(tls_tcache_epoch != epoch)) {
        memset(tls_tcache, 0, sizeof tls_tcache);
        tls_tcache_epoch = epoch;
    }
    tcache_entry_t *ce = &tls_tcache[(h.high64 >> 40) & (TCACHE_SLOTS - 1)];
    if (zt_likely(ce->lo == h.low64 && ce->hi == (uint32_t)h.high64 && ce->id != 0)) return ce->id;
    uint32_t id = intern_slow(pcs, n, h.low64, true);
    if (id) {
        ce->lo = h.low64;
        ce->hi = (uint32_t)h.high64;
        ce->id = id;
    }
    return id;
}

static uint32_t intern_slow(const uint64_t *pcs, unsigned n, uint64_t hash, bool may_block)
{
    uint32_t id = index_find(__atomic_load_n(&index_cur, __ATOMIC_ACQUIRE), hash, pcs, n);
    if (zt_likely(id != 0)) return id;

    if (may_block)
        zt_lock(&insert_lock);
    else if (!zt_trylock(&insert_lock))
        return 0;
    stack_index_t *ix = index_cur;
    uint32_t nstacks = zt_rec.hdr->nstacks;
    if (ix == NULL || (ix->count + 1) * 2 > ix->mask + 1) {
        stack_index_t *bigger = index_build(nstacks + 1);
        if (bigger) {
            __atomic_store_n(&index_cur, bigger, __ATOMIC_RELEASE);
            ix = bigger;
        }
    }
    id = ix ? index_find(ix, hash, pcs, n) : 0;
    if (id == 0 && ix && nstacks < UINT32_MAX - 1) {
        uint32_t new_id = nstacks + 1;
        zt_rec_stack_t *e = zt_record_stack(new_id, true);
        void *frames = NULL;
        uint64_t off = e ? zt_record_alloc((size_t)n * sizeof(uint64_t), &frames, false) : 0;
        if (off) {
            memcpy(frames, pcs, (size_t)n * sizeof(uint64_t));
            e->hash = hash;
            e->nframes = n;
            e->frames_off = off;
            __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
            __atomic_store_n(&zt_rec.hdr->nstacks, new_id, __ATOMIC_RELEASE);
            index_put(ix, hash, new_id);
            id = new_id;
        }
    }
    zt_unlock(&insert_lock);
    return id;
}

void zt_stacktab_reset(void)
{
    zt_lock(&insert_lock);
    stack_index_t *ix = index_cur;
    __atomic_store_n(&index_cur, NULL, __ATOMIC_RELEASE);
    __atomic_add_fetch(&index_epoch, 1, __ATOMIC_RELEASE);
    if (ix) zt_prim_unmap(ix, ix->map_bytes); /* only called with no concurrent lookups */
    zt_unlock(&insert_lock);
}

void zt_stacktab_fork_child(void)
{
    zt_lock_reinit(&insert_lock);
}
