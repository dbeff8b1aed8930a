/* ----------------------------------------------------------------------------
 * tcache.h — the per-thread cache in front of nano and the tiny/small racks.
 *
 * glibc tcache's idea: a thread keeps freed blocks in bins (one per size
 * class) and hands them out again with no lock and no atomic operation. One
 * record per thread, mapped on the thread's first cached free and pooled
 * after it exits, never unmapped; it has one section per client kind (nano,
 * tiny, small), each a set of bins of pointers, [0] the oldest.
 *
 * Ownership: one allocator object per section at a time owns the caches (the
 * first that claims: the default zone's nano zone and racks). Its entries
 * carry the id the claim returned; entries whose id is not the current
 * owner's (a destroyed zone's) are dropped, never flushed. No owner on
 * emulated devices (limited address space): a cached block is pinned to its
 * size, so it would make allocation fail earlier than libmalloc, which has
 * no thread cache.
 *
 * The clients keep their own meaning of "cached" (a guard word in the block,
 * see nano.c and rack.c) and their own bin bounds; this module owns the
 * records, the bins, ownership, flushing at thread exit (a key destructor
 * through zone/prim), and the fork child's flush of the other threads'
 * entries. The hot paths (zt_tcache_mine, _pop, _push) are inline.
 * -------------------------------------------------------------------------- */
#ifndef ZT_TCACHE_H
#define ZT_TCACHE_H

#include "zone.h"
#include "debug.h"

enum zt_tcache_kind { ZT_TCACHE_NANO, ZT_TCACHE_TINY, ZT_TCACHE_SMALL, ZT_TCACHE_KINDS };

#define ZT_TCACHE_BINS  64         /* bins per section (nano: 16 classes; racks: 64 msizes) */
#define ZT_TCACHE_SLOTS 64         /* largest bin capacity (a section's stride) */
#define ZT_TCACHE_NO_ID UINT32_MAX /* a section id that matches no owner */

typedef struct zt_tcache_section {
    uint32_t id;  /* owner id of the entries, ZT_TCACHE_NO_ID when none */
    size_t bytes; /* bytes held (clients with a budget keep it) */
    uint16_t count[ZT_TCACHE_BINS];
    /* bin b holds slot[b * stride ...], stride the owner's (at most
     * ZT_TCACHE_SLOTS): a client with small bins touches fewer pages. */
    void *slot[ZT_TCACHE_BINS * ZT_TCACHE_SLOTS];
} zt_tcache_section_t;

typedef struct zt_tcache {
    struct zt_tcache *next_all; /* every record made, live or pooled (under the lock) */
    bool live;                  /* owned by a running thread */
    zt_tcache_section_t sec[ZT_TCACHE_KINDS];
} zt_tcache_t;

/* Give n entries of bin `bin` back to `owner` for real (their guard words
 * are still set). Returns the bytes they held, for the section's budget. */
typedef size_t zt_tcache_flush_fn(void *owner, unsigned bin, void *const *entries, unsigned n);

extern __thread zt_tcache_t *zt_tcache_self __attribute__((tls_model("initial-exec")));

/* `owner` becomes the owner of kind's caches if none is and the profile has
 * no address-space limit. Returns its id (never 0, never ZT_TCACHE_NO_ID),
 * or 0 when it does not own the caches. `stride` is its bin capacity. */
uint32_t zt_tcache_claim(enum zt_tcache_kind kind, void *owner, zt_tcache_flush_fn *flush,
                         unsigned stride);

/* The owner with `id` is going away: it stops owning kind's caches and the
 * calling thread's entries of it are dropped (other threads drop theirs
 * lazily, by id). */
void zt_tcache_unclaim(enum zt_tcache_kind kind, uint32_t id);

/* A per-process random word, never 0, made at the first claim: clients mix
 * it into the guard word that marks a block as cached. */
extern uint64_t zt_tcache_guard_cookie;
static inline uint64_t zt_tcache_cookie(void)
{
    return zt_tcache_guard_cookie;
}

/* The calling thread's section for the owner `id`, made on its first use;
 * NULL when id is 0 or the thread cannot have a cache (while its record is
 * being made, or after it began to exit). */
zt_tcache_section_t *zt_tcache_section_slow(enum zt_tcache_kind kind, uint32_t id);

/* Take the oldest n entries of `bin` (n is clamped to its count) out into
 * out[], keeping the newer ones; returns how many. The caller owns them
 * from then on, and adjusts s->bytes. */
unsigned zt_tcache_take_oldest(zt_tcache_section_t *s, unsigned bin, unsigned stride, unsigned n,
                               void **out);

/* Flush the oldest n entries of `bin` (n is clamped to its count), keeping
 * the newer ones. */
void zt_tcache_flush_bin(zt_tcache_section_t *s, enum zt_tcache_kind kind, unsigned bin,
                         unsigned n);

/* The calling thread's entries of owner `id` go back (introspection calls
 * see the thread's own frees). */
void zt_tcache_flush_mine(enum zt_tcache_kind kind, uint32_t id);

/* Fork: the lock that keeps records from being made or retired across
 * fork() is taken by exactly one owner, the one of the lowest kind that has
 * one; these do nothing for the others. After fork, the child's owner flushes
 * the other (now gone) threads' entries with zt_tcache_fork_child. */
void zt_tcache_fork_lock(enum zt_tcache_kind kind, uint32_t id);
void zt_tcache_fork_unlock(enum zt_tcache_kind kind, uint32_t id);
void zt_tcache_fork_child(enum zt_tcache_kind kind, uint32_t id);

/* ---- hot paths ------------------------------------------------------------ */

/* The calling thread's section when it already holds owner id's entries. */
static inline zt_tcache_section_t *zt_tcache_mine(enum zt_tcache_kind kind, uint32_t id)
{
    zt_tcache_t *tc = zt_tcache_self;
    return zt_likely(tc != NULL) && tc->sec[kind].id == id ? &tc->sec[kind] : NULL;
}

/* The section for a free: the thread's own, or made now. */
static inline zt_tcache_section_t *zt_tcache_for_free(enum zt_tcache_kind kind, uint32_t id)
{
    zt_tcache_section_t *s = zt_tcache_mine(kind, id);
    return zt_likely(s != NULL) ? s : zt_tcache_section_slow(kind, id);
}

/* Only the owning thread changes its bins, but fork() can copy them at any
 * instruction and the child then flushes them: the count therefore covers
 * only slots that are fully written and still cached. A push stores the slot
 * before the count (release: ordered on every CPU, a plain store on x86);
 * a pop lowers the count before the block is handed out. An entry caught
 * half-way is leaked in the child, never freed twice. */

/* Take the newest entry of bin into *out; false when the bin is empty.
 * (A flag, not a NULL result: the caller then needs no second test.) */
static inline bool zt_tcache_pop(zt_tcache_section_t *s, unsigned bin, unsigned stride, void **out)
{
    unsigned c = s->count[bin];
    if (c == 0) return false;
    __atomic_store_n(&s->count[bin], (uint16_t)(c - 1), __ATOMIC_RELAXED);
    *out = s->slot[bin * stride + c - 1];
    return true;
}

/* Append to bin; the caller has made room (count < its bound <= stride). */
static inline void zt_tcache_push(zt_tcache_section_t *s, unsigned bin, unsigned stride, void *p)
{
    unsigned c = s->count[bin];
    zt_assert(bin < ZT_TCACHE_BINS && stride <= ZT_TCACHE_SLOTS && c < stride);
    s->slot[bin * stride + c] = p;
    __atomic_store_n(&s->count[bin], (uint16_t)(c + 1), __ATOMIC_RELEASE);
}

#endif /* ZT_TCACHE_H */
