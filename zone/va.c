/* ----------------------------------------------------------------------------
 * va.c — the heap's address space (see va.h for the contract).
 *
 * Unlimited profiles: every region and large block is its own aligned mmap;
 * we only count. Limited profiles: the windows are one PROT_NONE reservation
 * (aligned to 128 MiB so that page-index alignment inside a window equals
 * address alignment for every region kind), cut into ZT_PROFILE_MAX_WINDOWS
 * windows that never share a hole.
 *
 * Placement (libmalloc-166.220.1, xnu-4903.221.2). An iOS profile's windows
 * stand for device ranges (va.h): window 0 ends where the shared region
 * starts, window 1 starts where the nano region ends. Tiny and small
 * regions go through mvm_allocate_pages_securely (src/vm.c:162-220): a
 * VM_FLAGS_ANYWHERE map at the entropic hint (aslr.h), which xnu resolves as
 * the first aligned hole at or above the hint (osfmk/vm/vm_map.c:2331-2547:
 * a hint below the map's holes starts at the first hole; nothing above it is
 * KERN_NO_SPACE), then once more from the bottom on KERN_NO_SPACE; a region
 * ending above entropic_limit is given back and the hint lowered by 256 MiB,
 * a region found below the hint lowers it too. Large blocks and every kind
 * of the other limited configurations (ZONETRACE_VA_LIMIT on a non-iOS
 * profile) are first fit from the bottom (mvm_allocate_pages, hint = one
 * page: src/vm.c:113, src/magazine_large.c:466).
 *
 * Bookkeeping lives outside the windows (zt_prim_map): per window an
 * occupancy bitmap, one bit per page (1 = in use; the bits past the last page
 * are set so scans stop by themselves), and one byte per page holding
 * kind + 1 (0 = free) for zt_va_walk. A 1 MiB-aligned 1 MiB hole at 16 KiB
 * pages is one all-zero 64-bit word, so a scan of a 2 GiB window reads at
 * most 2048 words. `hint` skips the full bottom of a window. A region map
 * scans at most twice per lowering of the entropic hint, and the hint can
 * be lowered about 22 times in a process's life (6 GiB / 256 MiB).
 *
 * Locking: one lock for the whole map. Commit, decommit and the profiler's
 * event hook run outside it: a range is marked in use before it is committed
 * and stays marked until it is decommitted, so nobody else can touch it in
 * between.
 * -------------------------------------------------------------------------- */
#include "va.h"
#include "error.h"
#include "aslr.h"
#include "hooks.h"
#include "options.h"

#include <errno.h>
#include <string.h>

#define WINDOW_ALIGN_BYTES    ((size_t)128 << 20) /* medium region alignment */
#define HIGH_WATER_STEP_BYTES ((size_t)64 << 20)
#define NO_PAGE               ((size_t)-1)

typedef struct window {
    uintptr_t base;
    uint64_t dev_base; /* the device address `base` stands for (iOS profiles) */
    size_t pages;
    size_t hint;    /* every page below `hint` is in use */
    uint64_t *used; /* occupancy, 1 bit per page; bits past `pages` set */
    uint8_t *kind;  /* enum zt_kind + 1 per page, 0 = free */
} window_t;

static struct {
    zt_lock_t lock;
    int ready; /* set (release) once configured */
    bool limited;
    size_t page_bytes; /* placement granule: profile page (at least the host page) */
    unsigned page_shift;
    unsigned nwindows;
    window_t win[ZT_PROFILE_MAX_WINDOWS];
    void *reserve_base; /* the windows' reservation */
    size_t reserve_bytes;
    void *meta; /* bitmaps and kind bytes */
    size_t meta_bytes;
    size_t used_bytes, peak_bytes, limit_bytes;
    size_t kind_bytes[ZT_KIND_COUNT];
    /* Entropic placement of tiny/small regions (iOS profiles only). */
    bool entropic;
    uint64_t seed;
    uint64_t entropic_address, entropic_limit; /* device addresses, src/vm.c:26-27 */
    unsigned lowerings;
} va;

static inline size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}
static inline bool is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

/* ---- bitmap ------------------------------------------------------------- */

/* First page >= from whose bit equals `set`, or w->pages if none. */
static size_t find_bit(const window_t *w, size_t from, bool set)
{
    if (from >= w->pages) return w->pages;
    size_t nwords = (w->pages + 63) >> 6;
    size_t i = from >> 6;
    uint64_t flip = set ? 0 : ~(uint64_t)0;
    uint64_t word = (w->used[i] ^ flip) & (~(uint64_t)0 << (from & 63));
    while (word == 0) {
        if (++i >= nwords) return w->pages;
        word = w->used[i] ^ flip;
    }
    size_t page = (i << 6) + (size_t)__builtin_ctzll(word);
    return page < w->pages ? page : w->pages;
}

static void set_bits(window_t *w, size_t first, size_t n, bool set)
{
    while (n > 0) {
        size_t bit = first & 63;
        size_t take = 64 - bit < n ? 64 - bit : n;
        uint64_t mask = take == 64 ? ~(uint64_t)0 : (((uint64_t)1 << take) - 1) << bit;
        if (set)
            w->used[first >> 6] |= mask;
        else
            w->used[first >> 6] &= ~mask;
        first += take;
        n -= take;
    }
}

static void mark(window_t *w, size_t first, size_t n, enum zt_kind kind)
{
    set_bits(w, first, n, true);
    memset(w->kind + first, (int)kind + 1, n);
    if (first == w->hint) w->hint = first + n;
}

static void unmark(window_t *w, size_t first, size_t n)
{
    set_bits(w, first, n, false);
    memset(w->kind + first, 0, n);
    if (first < w->hint) w->hint = first;
}

/* First page index >= first whose address is a multiple of align_bytes. */
static size_t aligned_page(const window_t *w, size_t first, size_t align_bytes)
{
    uintptr_t a = w->base + (first << va.page_shift);
    return (align_up(a, align_bytes) - w->base) >> va.page_shift;
}

/* First fit at or above page `from`: lowest aligned start of `need` free
 * pages, or NO_PAGE. */
static size_t find_fit(const window_t *w, size_t need, size_t align_bytes, size_t from)
{
    size_t pos = from > w->hint ? from : w->hint;
    while (pos < w->pages) {
        size_t start = find_bit(w, pos, false);
        if (start >= w->pages) break;
        size_t end = find_bit(w, start, true);
        size_t a = aligned_page(w, start, align_bytes);
        if (a < end && end - a >= need) return a;
        pos = end;
    }
    return NO_PAGE;
}

/* Largest free run (any start) and largest run measured from its first
 * start aligned to each of `aligns` (up to 2), in pages, over all windows. */
static void scan_holes(size_t *largest_free, const size_t *aligns, size_t *largest_aligned,
                       unsigned naligns)
{
    *largest_free = 0;
    for (unsigned k = 0; k < naligns; k++)
        largest_aligned[k] = 0;
    for (unsigned i = 0; i < va.nwindows; i++) {
        const window_t *w = &va.win[i];
        size_t pos = w->hint;
        while (pos < w->pages) {
            size_t start = find_bit(w, pos, false);
            if (start >= w->pages) break;
            size_t end = find_bit(w, start, true);
            if (end - start > *largest_free) *largest_free = end - start;
            for (unsigned k = 0; k < naligns; k++) {
                size_t a = aligned_page(w, start, aligns[k]);
                if (a < end && end - a > largest_aligned[k]) largest_aligned[k] = end - a;
            }
            pos = end;
        }
    }
    *largest_free <<= va.page_shift;
    for (unsigned k = 0; k < naligns; k++)
        largest_aligned[k] <<= va.page_shift;
}

static window_t *window_of(uintptr_t a)
{
    for (unsigned i = 0; i < va.nwindows; i++) {
        window_t *w = &va.win[i];
        if (a >= w->base && a - w->base < ((uintptr_t)w->pages << va.page_shift)) return w;
    }
    return NULL;
}

/* ---- the held-pages ledger ------------------------------------------------
 *
 * What a device profile releases, libmalloc releases with calls that take
 * the pages out of the device's footprint at once: vm_deallocate for a
 * large block (libmalloc-166.220.1 src/magazine_large.c:674,697 →
 * mvm_deallocate_pages, src/vm.c:223-234) and madvise(MADV_FREE_REUSABLE)
 * for an emptied nano block (src/nanov2_malloc.c:1831 → mvm_madvise_free,
 * src/vm.c:282; the flag, src/platform.h:59). In xnu-4903.221.2 REUSABLE
 * becomes VM_BEHAVIOR_REUSABLE (bsd/kern/kern_mman.c:960) →
 * vm_map_reusable_pages (osfmk/vm/vm_map.c:14661-14662, 15027) →
 * vm_object_deactivate_pages, which marks each resident page reusable and
 * passes PMAP_OPTIONS_SET_REUSABLE (osfmk/vm/vm_object.c:2257-2268); the
 * arm pmap then debits task_ledgers.phys_footprint by a page for each
 * (osfmk/arm/pmap.c:7660-7674). The pages stay mapped on the device too:
 * REUSABLE pages are out of the footprint without being unmapped, which is
 * what the ledger does here.
 *
 * On the host the same release (mmap PROT_NONE over the range, or
 * madvise(MADV_DONTNEED)) changes page tables, and on a paravirtualised
 * kernel every such change is a TLB flush hypercall (issue 15: 51 % of
 * samesize's time on the bench VM, plus the refaults after it). So a device
 * profile keeps the address-space model exactly as it is — the range is
 * unmarked, counted and handed out again as before — but leaves the pages
 * mapped and resident, and records the range here as *held* with its
 * resident bytes (zt_prim_resident: mincore, which changes no page table).
 * The footprint the jetsam check and the timeline read is the host's
 * anonymous resident bytes less the held bytes (zt_va_footprint), i.e. what
 * the device would count.
 *
 * A held range leaves the ledger when the allocator reuses it: zt_va_map or
 * zt_va_grow hands out pages that overlap it (zt_va_take: the overlap's
 * resident pages are zeroed, since a fresh map reads zeros, and partial
 * overlaps are split), or nano restarts a madvised block (no zeroing: nano's
 * calloc clears, and REUSABLE pages are not guaranteed zero on the device
 * either; large malloc without clear is not zeroed either). The ledger is
 * bounded: HELD_SLOTS ranges and held.cap bytes of ranges (an upper bound
 * of their resident bytes); past either, the oldest ranges are really
 * released (the
 * syscall the profile would have made), under the ledger lock, so that a
 * reuse (which takes the lock) never sees a half-released range. Real RSS
 * therefore exceeds the device footprint by at most the cap (held.cap).
 *
 * Divergences (bench/README.md, native-vs-device table): reused pages that
 * were resident count at once, as if the program had written them, where
 * the device would fault them in on first touch (a held range's pages are
 * all taken back, written or not); pages that only map
 * the shared zero page count as held (mincore says resident) though RSS does
 * not count them. ZONETRACE_HELD_PAGES=0 turns the ledger off (the old
 * syscalls, for comparison).
 *
 * Locking: held.lock is a leaf (nothing else is taken under it). Slots are a
 * ring in hold order; a slot emptied by a reuse is a hole (bytes 0) skipped
 * by eviction. */
#define HELD_SLOTS     2048
#define HELD_CAP_BYTES ((size_t)256 << 20) /* at most; a quarter of the memory limit if less */
#define UNMEASURED     ((size_t)-1)

typedef struct held_range {
    uintptr_t addr;
    size_t bytes;    /* 0 = hole */
    size_t resident; /* resident bytes; UNMEASURED until the footprint is read */
    uint8_t how;     /* ZT_VA_HOLD_PURGE or ZT_VA_HOLD_DECOMMIT: the real release */
} held_range_t;

static struct {
    zt_lock_t lock;
    int enabled;                            /* decided at zt_va_init */
    size_t live;                            /* non-hole slots (read unlocked as a hint) */
    size_t head, tail;                      /* ring positions (monotonic); slots head..tail-1 */
    size_t bytes;                           /* sum of bytes over live slots: the cap's measure */
    size_t cap;                             /* HELD_CAP_BYTES or limit / 4 */
    size_t resident;                        /* sum of measured resident bytes */
    size_t holds, takes, evicted, measures; /* counters for tests */
    held_range_t ring[HELD_SLOTS];
} held;

static void held_release_real(uintptr_t addr, size_t bytes, int how)
{
    if (how == ZT_VA_HOLD_PURGE || zt_prim_decommit((void *)addr, bytes) != 0)
        zt_prim_purge((void *)addr, bytes);
}

static void held_count_locked(const held_range_t *e, bool add)
{
    held.bytes = add ? held.bytes + e->bytes : held.bytes - e->bytes;
    held.live = add ? held.live + 1 : held.live - 1;
    if (e->resident == UNMEASURED) return;
    /* Atomic: zt_va_footprint reads it without the lock. */
    if (add)
        __atomic_add_fetch(&held.resident, e->resident, __ATOMIC_RELAXED);
    else
        __atomic_sub_fetch(&held.resident, e->resident, __ATOMIC_RELAXED);
}

static void held_pop_locked(void)
{
    held_range_t *e = &held.ring[held.head++ % HELD_SLOTS];
    if (!e->bytes) return;
    held_release_real(e->addr, e->bytes, e->how);
    held_count_locked(e, false);
    held.evicted++;
    e->bytes = 0;
}

static void held_append_locked(uintptr_t addr, size_t bytes, size_t resident, int how)
{
    while (held.tail - held.head >= HELD_SLOTS)
        held_pop_locked();
    held_range_t *e = &held.ring[held.tail++ % HELD_SLOTS];
    *e = (held_range_t){addr, bytes, resident, (uint8_t)how};
    held_count_locked(e, true);
    while (held.bytes > held.cap && held.head < held.tail)
        held_pop_locked();
    while (held.head < held.tail && held.ring[held.head % HELD_SLOTS].bytes == 0)
        held.head++;
}

/* Slide the live slots over the holes (order kept) once holes are most of
 * the ring, so that a take's scan stays proportional to the live ranges. */
static void held_compact_locked(void)
{
    if (held.tail - held.head <= 2 * held.live + 64) return;
    size_t j = held.head;
    for (size_t i = held.head; i < held.tail; i++)
        if (held.ring[i % HELD_SLOTS].bytes)
            held.ring[j++ % HELD_SLOTS] = held.ring[i % HELD_SLOTS];
    held.tail = j;
}

static void held_measure_locked(void)
{
    for (size_t i = held.head; i < held.tail; i++) {
        held_range_t *e = &held.ring[i % HELD_SLOTS];
        if (!e->bytes || e->resident != UNMEASURED) continue;
        e->resident = zt_prim_resident((void *)e->addr, e->bytes, NULL, NULL);
        __atomic_add_fetch(&held.resident, e->resident, __ATOMIC_RELAXED);
        held.measures++;
    }
}

/* Run by every footprint read (zt_va_footprint): the
 * resident bytes of the ranges held now are measured then, not at each
 * hold, because most held ranges are reused before anyone reads the
 * footprint (mixed: 355 000 holds in 3 s, one read per 10 ms) and a held
 * page's residency cannot change (nobody touches it). A trylock: a footprint
 * read from a crash handler must not wait for this lock. */
static void held_measure(void)
{
    if (!__atomic_load_n(&held.live, __ATOMIC_ACQUIRE) || !zt_trylock(&held.lock)) return;
    held_measure_locked();
    zt_unlock(&held.lock);
}

/* The held pages' resident bytes, measured first (0 with no ledger). */
static uint64_t held_resident_now(void)
{
    if (!__atomic_load_n(&held.enabled, __ATOMIC_RELAXED)) return 0;
    held_measure();
    return __atomic_load_n(&held.resident, __ATOMIC_RELAXED);
}

bool zt_va_footprint(uint64_t *rss_bytes, uint64_t *anon_bytes)
{
    if (!zt_prim_footprint(rss_bytes, anon_bytes)) return false;
    uint64_t held_bytes = held_resident_now();
    *rss_bytes = *rss_bytes > held_bytes ? *rss_bytes - held_bytes : 0;
    *anon_bytes = *anon_bytes > held_bytes ? *anon_bytes - held_bytes : 0;
    return true;
}

bool zt_va_phys_footprint(uint64_t *bytes)
{
    if (!zt_prim_phys_footprint(bytes)) return false;
    uint64_t held_bytes = held_resident_now();
    *bytes = *bytes > held_bytes ? *bytes - held_bytes : 0;
    return true;
}

bool zt_va_held_enabled(void)
{
    return __atomic_load_n(&held.enabled, __ATOMIC_RELAXED);
}

void zt_va_hold(void *addr, size_t bytes, int how)
{
    if (!addr || !bytes) return;
    if (!zt_va_held_enabled()) {
        held_release_real((uintptr_t)addr, bytes, how);
        return;
    }
    /* The caller owns the range exclusively (still marked in use, or a nano
     * block in its MADVISING state) until it is in the ledger. */
    zt_lock(&held.lock);
    held.holds++;
    held_append_locked((uintptr_t)addr, bytes, UNMEASURED, how);
    zt_unlock(&held.lock);
}

static void zero_run(void *ctx, void *a, size_t n)
{
    (void)ctx;
    memset(a, 0, n);
}

size_t zt_va_take(void *addr, size_t bytes, bool zero)
{
    if (!addr || !bytes || !__atomic_load_n(&held.live, __ATOMIC_ACQUIRE)) return 0;
    uintptr_t lo = (uintptr_t)addr, hi = lo + bytes;
    size_t covered = 0;
    zt_lock(&held.lock);
    for (size_t i = held.head; i < held.tail; i++) {
        held_range_t *e = &held.ring[i % HELD_SLOTS];
        if (!e->bytes || e->addr >= hi || e->addr + e->bytes <= lo) continue;
        uintptr_t elo = e->addr, ehi = e->addr + e->bytes;
        uintptr_t olo = elo > lo ? elo : lo, ohi = ehi < hi ? ehi : hi;
        size_t left = olo - elo, right = ehi - ohi;
        if (e->how == ZT_VA_HOLD_DECOMMIT) covered += ohi - olo;
        /* only resident pages are written: zeroing must not fault pages in */
        if (zero) zt_prim_resident((void *)olo, ohi - olo, zero_run, NULL);
        held.takes++;
        held_count_locked(e, false);
        if (left == 0 && right == 0) {
            e->bytes = 0;
            continue;
        }
        /* Partial overlap: the parts outside stay held; a measured range's
         * parts are measured again (one mincore each). */
        bool measured = e->resident != UNMEASURED;
        size_t lres =
            left && measured ? zt_prim_resident((void *)elo, left, NULL, NULL) : UNMEASURED;
        size_t rres =
            right && measured ? zt_prim_resident((void *)ohi, right, NULL, NULL) : UNMEASURED;
        if (left) {
            e->bytes = left;
            e->resident = lres;
        } else {
            e->addr = ohi;
            e->bytes = right;
            e->resident = rres;
        }
        held_count_locked(e, true);
        if (left && right) held_append_locked(ohi, right, rres, e->how); /* may evict */
    }
    held_compact_locked();
    zt_unlock(&held.lock);
    return covered;
}

/* Drop (without releasing) every held range inside [addr, addr+bytes): its
 * mapping is about to go away as a whole (zone destroy, tests' reset). */
void zt_va_held_forget(void *addr, size_t bytes)
{
    if (!__atomic_load_n(&held.live, __ATOMIC_ACQUIRE)) return;
    uintptr_t lo = (uintptr_t)addr, hi = lo + bytes;
    zt_lock(&held.lock);
    for (size_t i = held.head; i < held.tail; i++) {
        held_range_t *e = &held.ring[i % HELD_SLOTS];
        if (!e->bytes || e->addr < lo || e->addr + e->bytes > hi) continue;
        held_count_locked(e, false);
        e->bytes = 0;
    }
    held_compact_locked();
    zt_unlock(&held.lock);
}

size_t zt_va_held_release_all(void)
{
    zt_lock(&held.lock);
    held_measure_locked();
    size_t was = held.resident;
    while (held.head < held.tail)
        held_pop_locked();
    zt_unlock(&held.lock);
    return was;
}

void zt_va_held_stats(zt_va_held_stats_t *out)
{
    zt_lock(&held.lock);
    held_measure_locked();
    out->enabled = held.enabled != 0;
    out->ranges = held.live;
    out->bytes = held.bytes;
    out->resident_bytes = held.resident;
    out->holds = held.holds;
    out->takes = held.takes;
    out->evicted = held.evicted;
    out->measures = held.measures;
    zt_unlock(&held.lock);
}

/* ---- set-up ------------------------------------------------------------- */

static void teardown_locked(void)
{
    __atomic_store_n(&held.enabled, 0, __ATOMIC_RELAXED);
    if (va.reserve_base) {
        zt_va_held_forget(va.reserve_base, va.reserve_bytes);
        zt_prim_unmap(va.reserve_base, va.reserve_bytes);
    }
    if (va.meta) zt_prim_unmap(va.meta, va.meta_bytes);
    zt_lock_t keep = va.lock;
    memset(&va, 0, sizeof va);
    va.lock = keep;
}

static bool setup_locked(const zt_profile_t *p, uint64_t limit_override_bytes)
{
    size_t host_page = zt_prim_page_bytes();
    size_t page = p ? zt_profile_page_bytes(p) : host_page;
    if (page < host_page || !is_pow2(page)) page = host_page;
    va.page_bytes = page;
    va.page_shift = (unsigned)__builtin_ctzl(page);

    size_t want[ZT_PROFILE_MAX_WINDOWS] = {0};
    if (limit_override_bytes > 0) {
        size_t w = limit_override_bytes > (uint64_t)(SIZE_MAX / 2) ? SIZE_MAX / 2
                                                                   : (size_t)limit_override_bytes;
        w &= ~(page - 1);
        want[0] = w ? w : page;
    } else if (p) {
        for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++)
            want[i] = p->window_bytes[i] & ~(page - 1);
    }

    size_t total = 0, meta = 0;
    for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++) {
        total += want[i];
        size_t pages = want[i] >> va.page_shift;
        meta += ((pages + 63) >> 6) * sizeof(uint64_t) + align_up(pages, 8);
    }
    if (total == 0) {
        va.limited = false;
        __atomic_store_n(&va.ready, 1, __ATOMIC_RELEASE);
        return true;
    }

    /* One reservation keeps the windows in address order for zt_va_walk. */
    void *base = zt_prim_reserve(total, WINDOW_ALIGN_BYTES);
    if (!base) {
        zt_prim_message("cannot reserve %zu MiB of address space for the heap windows",
                        total >> 20);
        return false;
    }
    meta = align_up(meta, host_page);
    char *m = zt_prim_map(meta);
    if (!m) {
        zt_prim_unmap(base, total);
        zt_prim_message("cannot map the address-space bookkeeping");
        return false;
    }
    va.reserve_base = base;
    va.reserve_bytes = total;
    va.meta = m;
    va.meta_bytes = meta;

    /* An iOS row (a device table row with windows) places its regions as
     * libmalloc does on the device; ZONETRACE_VA_LIMIT on an unlimited row
     * keeps first fit from the bottom (no device layout to stand for). */
    const zt_profile_t *row = p && p->name ? zt_profile_find(p->name) : NULL;
    va.entropic = row && zt_profile_va_limit_bytes(row) > 0;
    va.seed = (uint64_t)zt_options.seed;
    va.entropic_limit = zt_aslr_entropic_limit(va.seed);     /* src/vm.c:68-69 */
    va.entropic_address = zt_aslr_entropic_address(va.seed); /* src/vm.c:70 */

    uintptr_t at = (uintptr_t)base;
    for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++) {
        if (want[i] == 0) continue;
        window_t *w = &va.win[va.nwindows];
        /* Window 0 ends at SHARED_REGION_BASE (or just below: its base is rounded down to
         * 128 MiB so that device and host alignment agree), window 1 starts
         * at the end of the nano region (aslr.h). */
        if (p && !limit_override_bytes && p->window_dev_base[i])
            w->dev_base = p->window_dev_base[i];
        else if (va.nwindows == 0)
            w->dev_base =
                want[i] < ZT_IOS_SHARED_REGION_BASE
                    ? (ZT_IOS_SHARED_REGION_BASE - want[i]) & ~(uint64_t)(WINDOW_ALIGN_BYTES - 1)
                    : 0;
        else
            w->dev_base = ZT_IOS_NANO_END;
        va.nwindows++;
        w->base = at;
        w->pages = want[i] >> va.page_shift;
        size_t nwords = (w->pages + 63) >> 6;
        w->used = (uint64_t *)m;
        m += nwords * sizeof(uint64_t);
        w->kind = (uint8_t *)m;
        m += align_up(w->pages, 8);
        if (w->pages & 63) w->used[nwords - 1] = ~(uint64_t)0 << (w->pages & 63);
        at += want[i];
    }
    va.limited = true;
    va.limit_bytes = total;
    __atomic_store_n(&held.enabled, zt_options.held_pages ? 1 : 0, __ATOMIC_RELAXED);
    /* The cap bounds what the host holds beyond the device footprint: 256
     * MiB (bigblock's 5-25 MiB blocks need that much to be reused rather
     * than refaulted), or a quarter of the jetsam limit when that is less. */
    uint64_t limit =
        zt_options.memory_limit ? zt_options.memory_limit : (p ? p->memory_limit_bytes : 0);
    held.cap = limit && limit / 4 < HELD_CAP_BYTES ? (size_t)(limit / 4) : HELD_CAP_BYTES;
    __atomic_store_n(&va.ready, 1, __ATOMIC_RELEASE);
    return true;
}

bool zt_va_init(const zt_profile_t *p, uint64_t limit_override_bytes)
{
    zt_lock(&va.lock);
    if (va.ready) {
        /* A lazy (unlimited) start or an earlier init with nothing mapped yet
         * can still be reconfigured; otherwise the first configuration stays. */
        if (va.used_bytes != 0) {
            size_t want = limit_override_bytes ? (size_t)limit_override_bytes
                                               : (p ? zt_profile_va_limit_bytes(p) : 0);
            bool same = (want == 0) == !va.limited;
            zt_unlock(&va.lock);
            return same;
        }
        teardown_locked();
    }
    bool ok = setup_locked(p, limit_override_bytes);
    zt_unlock(&va.lock);
    return ok;
}

void zt_va_reset_for_test(void)
{
    zt_lock(&va.lock);
    teardown_locked();
    zt_unlock(&va.lock);
}

/* Maps before zt_va_init (unit tests of other modules, early callers) get an
 * unlimited space with host pages. */
static inline void ensure_ready(void)
{
    if (zt_unlikely(!__atomic_load_n(&va.ready, __ATOMIC_ACQUIRE))) {
        zt_lock(&va.lock);
        if (!va.ready) setup_locked(NULL, 0);
        zt_unlock(&va.lock);
    }
}

bool zt_va_limited(void)
{
    return __atomic_load_n(&va.ready, __ATOMIC_ACQUIRE) && va.limited;
}

/* ---- events ------------------------------------------------------------- */

/* Called with the lock held after used_bytes grew: true if a new 64 MiB
 * multiple above the previous peak was crossed (report after unlocking). */
static bool account_map_locked(enum zt_kind kind, size_t bytes)
{
    va.used_bytes += bytes;
    va.kind_bytes[kind] += bytes;
    if (va.used_bytes <= va.peak_bytes) return false;
    bool crossed = va.used_bytes / HIGH_WATER_STEP_BYTES > va.peak_bytes / HIGH_WATER_STEP_BYTES;
    va.peak_bytes = va.used_bytes;
    return crossed;
}

static void account_unmap_locked(enum zt_kind kind, size_t bytes)
{
    va.used_bytes -= bytes < va.used_bytes ? bytes : va.used_bytes;
    va.kind_bytes[kind] -= bytes < va.kind_bytes[kind] ? bytes : va.kind_bytes[kind];
}

static void send_high_water(enum zt_kind kind, size_t used, size_t limit)
{
    zt_event_t ev = {0};
    ev.type = ZT_EV_VA_HIGH_WATER;
    ev.kind = (int32_t)kind;
    ev.va_used = used;
    ev.va_limit = limit;
    zt_hook_event(&ev);
}

static void *map_failed(const zt_va_failure_t *f, zt_va_failure_t *out)
{
    if (out) *out = *f;
    zt_event_t ev = {0};
    ev.type = ZT_EV_MAP_FAILED;
    ev.kind = (int32_t)f->kind;
    ev.size = f->need_bytes;
    ev.align = f->align_bytes;
    ev.va_used = f->used_bytes;
    ev.va_limit = f->limit_bytes;
    ev.largest_free = f->largest_free_bytes;
    ev.largest_aligned = f->largest_aligned_bytes;
    zt_hook_event(&ev);
    if (!ZT_KIND_IS_XZ(f->kind)) zt_error_map_failed(f->kind, f->need_bytes); /* xzone: its own */
    errno = ENOMEM;
    return NULL;
}

/* ---- map / unmap -------------------------------------------------------- */

static void *map_unlimited(enum zt_kind kind, size_t bytes, size_t align, zt_va_failure_t *fail)
{
    size_t host_page = zt_prim_page_bytes();
    void *p = zt_prim_map_aligned(bytes, align > host_page ? align : host_page);
    zt_lock(&va.lock);
    if (!p) {
        zt_va_failure_t f = {kind, bytes, align, va.used_bytes, 0, 0, 0};
        zt_unlock(&va.lock);
        return map_failed(&f, fail);
    }
    bool crossed = account_map_locked(kind, bytes);
    size_t used = va.used_bytes;
    zt_unlock(&va.lock);
    if (crossed) send_high_water(kind, used, 0);
    return p;
}

/* Upward first fit from the device address dev_hint across the windows in
 * address order, as xnu's VM_FLAGS_ANYWHERE search from a hint (xnu-4903.221.2
 * osfmk/vm/vm_map.c:2370-2373 clamp to the map's minimum, 2385-2422 the first
 * hole ending above the hint, 2469-2547 aligned first fit, KERN_NO_SPACE past
 * the end). Non-entropic configurations pass 0: the bottom. */
static size_t search_up(unsigned *wi, size_t need, size_t align, uint64_t dev_hint)
{
    for (unsigned i = 0; i < va.nwindows; i++) {
        const window_t *w = &va.win[i];
        uint64_t bytes = (uint64_t)w->pages << va.page_shift;
        size_t from = 0;
        if (va.entropic && dev_hint > w->dev_base) {
            if (dev_hint - w->dev_base >= bytes) continue;
            from = align_up((size_t)(dev_hint - w->dev_base), va.page_bytes) >> va.page_shift;
        }
        size_t first = find_fit(w, need, align, from);
        if (first != NO_PAGE) {
            *wi = i;
            return first;
        }
    }
    return NO_PAGE;
}

/* mvm_allocate_pages_securely's placement (libmalloc-166.220.1 src/vm.c:182-218)
 * over the windows; returns the first page in window *wi or NO_PAGE. */
static size_t place_entropic(unsigned *wi, size_t need, size_t bytes, size_t align)
{
    for (;;) {
        size_t first = search_up(wi, need, align, va.entropic_address); /* vm.c:183-185 */
        if (first == NO_PAGE) first = search_up(wi, need, align, 0);    /* vm.c:186-190 */
        if (first == NO_PAGE) return NO_PAGE;
        uint64_t dev = va.win[*wi].dev_base + ((uint64_t)first << va.page_shift);
        uint64_t t = va.entropic_address, u = t - ZT_ENTROPIC_KABILLION;
        if (dev + bytes > va.entropic_limit && u < t) { /* vm.c:199-207: give back, lower, retry */
            va.entropic_address = u;
            va.lowerings++;
            continue;
        }
        if (dev < t && u < t) { /* vm.c:211-216: found below the hint, lower it */
            va.entropic_address = u;
            va.lowerings++;
        }
        return first;
    }
}

static void *map_limited(enum zt_kind kind, size_t bytes, size_t align, zt_va_failure_t *fail,
                         bool zero)
{
    size_t need = bytes >> va.page_shift;
    zt_lock(&va.lock);
    unsigned wi = 0;
    /* xzone maps every segment, huge ones and the early arena included,
     * through mvm_allocate_pages_plat: the same entropic hint and retry
     * (libmalloc-792.41.1 src/xzone_malloc/xzone_segment.c:436-476,
     * src/vm.c:264-355). */
    bool secure =
        va.entropic && (kind == ZT_KIND_TINY || kind == ZT_KIND_SMALL || ZT_KIND_IS_XZ(kind));
    size_t first =
        secure ? place_entropic(&wi, need, bytes, align) : search_up(&wi, need, align, 0);
    if (first == NO_PAGE) {
        zt_va_failure_t f = {kind, bytes, align, va.used_bytes, va.limit_bytes, 0, 0};
        scan_holes(&f.largest_free_bytes, &align, &f.largest_aligned_bytes, 1);
        zt_unlock(&va.lock);
        return map_failed(&f, fail);
    }
    window_t *w = &va.win[wi];
    mark(w, first, need, kind);
    bool crossed = account_map_locked(kind, bytes);
    size_t used = va.used_bytes, limit = va.limit_bytes;
    zt_unlock(&va.lock);

    void *p = (void *)(w->base + (first << va.page_shift));
    /* Held pages in the range read zeros again (if asked); a range made
     * only of held (still read/write) pages needs no commit. */
    size_t covered = zt_va_take(p, bytes, zero);
    int err = covered == bytes ? 0 : zt_prim_commit(p, bytes);
    if (err) {
        zt_lock(&va.lock);
        unmark(w, first, need);
        account_unmap_locked(kind, bytes);
        zt_va_failure_t f = {kind, bytes, align, va.used_bytes, va.limit_bytes, 0, 0};
        scan_holes(&f.largest_free_bytes, &align, &f.largest_aligned_bytes, 1);
        zt_unlock(&va.lock);
        return map_failed(&f, fail);
    }
    if (crossed) send_high_water(kind, used, limit);
    return p;
}

static void *va_map(enum zt_kind kind, size_t bytes, size_t align_bytes, zt_va_failure_t *fail,
                    bool zero)
{
    ensure_ready();
    if ((unsigned)kind >= ZT_KIND_COUNT) kind = ZT_KIND_LARGE;
    size_t page = va.page_bytes;
    size_t align = align_bytes > page ? align_bytes : page;
    if (bytes == 0 || bytes > SIZE_MAX - page || !is_pow2(align)) {
        zt_va_failure_t f = {kind, bytes, align, va.used_bytes, va.limit_bytes, 0, 0};
        return map_failed(&f, fail);
    }
    bytes = align_up(bytes, page);
    return va.limited ? map_limited(kind, bytes, align, fail, zero)
                      : map_unlimited(kind, bytes, align, fail);
}

void *zt_va_map(enum zt_kind kind, size_t bytes, size_t align_bytes, zt_va_failure_t *fail)
{
    return va_map(kind, bytes, align_bytes, fail, true);
}

void *zt_va_map_unzeroed(enum zt_kind kind, size_t bytes, size_t align_bytes, zt_va_failure_t *fail)
{
    return va_map(kind, bytes, align_bytes, fail, false);
}

void zt_va_unmap(void *addr, size_t bytes, enum zt_kind kind)
{
    if (!addr || !bytes) return;
    ensure_ready();
    if ((unsigned)kind >= ZT_KIND_COUNT) kind = ZT_KIND_LARGE;
    bytes = align_up(bytes, va.page_bytes);
    if (!va.limited) {
        zt_prim_unmap(addr, bytes);
        zt_lock(&va.lock);
        account_unmap_locked(kind, bytes);
        zt_unlock(&va.lock);
        return;
    }
    uintptr_t a = (uintptr_t)addr;
    window_t *w = window_of(a);
    if (!w || (a & (va.page_bytes - 1)) || bytes > ((w->pages << va.page_shift) - (a - w->base))) {
        zt_prim_message("zt_va_unmap: %p + %zu is not a heap mapping", addr, bytes);
        return;
    }
    /* Drop the pages while the range is still ours: held (ledger above) on a
     * device profile, else decommitted. If the kernel cannot split the
     * mapping (map count limit), purge instead: the pages still read as
     * zeros and a later commit is then a no-op. */
    if (zt_va_held_enabled())
        zt_va_hold(addr, bytes, ZT_VA_HOLD_DECOMMIT);
    else if (zt_prim_decommit(addr, bytes) != 0 && zt_prim_purge(addr, bytes) != 0) {
        zt_prim_message("zt_va_unmap: cannot release %zu bytes at %p; kept", bytes, addr);
        return;
    }
    zt_lock(&va.lock);
    unmark(w, (a - w->base) >> va.page_shift, bytes >> va.page_shift);
    account_unmap_locked(kind, bytes);
    zt_unlock(&va.lock);
}

bool zt_va_grow(void *addr, size_t bytes, size_t grow_bytes, enum zt_kind kind)
{
    ensure_ready();
    if (!va.limited || !addr) return false;
    if ((unsigned)kind >= ZT_KIND_COUNT) kind = ZT_KIND_LARGE;
    if (grow_bytes == 0) return true;
    size_t page = va.page_bytes;
    if (grow_bytes > SIZE_MAX - page || bytes > SIZE_MAX - page) return false;
    bytes = align_up(bytes, page);
    grow_bytes = align_up(grow_bytes, page);
    uintptr_t end = (uintptr_t)addr + bytes;
    window_t *w = window_of((uintptr_t)addr);
    if (!w || end - w->base > (w->pages << va.page_shift)) return false;
    size_t first = (end - w->base) >> va.page_shift;
    size_t n = grow_bytes >> va.page_shift;

    zt_lock(&va.lock);
    if (n > w->pages - first || find_bit(w, first, true) < first + n) {
        zt_unlock(&va.lock);
        return false;
    }
    mark(w, first, n, kind);
    bool crossed = account_map_locked(kind, grow_bytes);
    size_t used = va.used_bytes, limit = va.limit_bytes;
    zt_unlock(&va.lock);

    size_t covered = zt_va_take((void *)end, grow_bytes, true);
    if (covered != grow_bytes && zt_prim_commit((void *)end, grow_bytes) != 0) {
        zt_lock(&va.lock);
        unmark(w, first, n);
        account_unmap_locked(kind, grow_bytes);
        zt_unlock(&va.lock);
        return false;
    }
    if (crossed) send_high_water(kind, used, limit);
    return true;
}

void zt_va_purge(void *addr, size_t bytes)
{
    if (addr && bytes) zt_prim_purge(addr, bytes);
}

/* ---- introspection ------------------------------------------------------ */

size_t zt_va_room_bytes(void)
{
    if (!zt_va_limited()) return SIZE_MAX;
    zt_lock(&va.lock);
    size_t room = va.used_bytes < va.limit_bytes ? va.limit_bytes - va.used_bytes : 0;
    zt_unlock(&va.lock);
    return room;
}

void zt_va_get_stats(zt_va_stats_t *out)
{
    ensure_ready();
    memset(out, 0, sizeof *out);
    zt_lock(&va.lock);
    out->used_bytes = va.used_bytes;
    out->peak_used_bytes = va.peak_bytes;
    out->limit_bytes = va.limited ? va.limit_bytes : 0;
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        out->kind_bytes[k] = va.kind_bytes[k];
    if (va.limited) {
        size_t aligns[2] = {ZT_TINY_REGION_BYTES, ZT_SMALL_REGION_BYTES}, got[2];
        scan_holes(&out->largest_free_bytes, aligns, got, 2);
        out->largest_aligned_1m_bytes = got[0];
        out->largest_aligned_8m_bytes = got[1];
    }
    zt_unlock(&va.lock);
}

bool zt_va_in_window(const void *p)
{
    if (!zt_va_limited()) return false;
    return window_of((uintptr_t)p) != NULL;
}

void zt_va_walk(void (*cb)(void *ctx, uintptr_t base, size_t bytes, int kind), void *ctx)
{
    if (!zt_va_limited()) return;
    zt_lock(&va.lock);
    for (unsigned i = 0; i < va.nwindows; i++) {
        const window_t *w = &va.win[i];
        size_t start = 0;
        while (start < w->pages) {
            uint8_t k = w->kind[start];
            size_t end = start + 1;
            if (k == 0) /* free runs are found a word at a time */
                end = find_bit(w, start, true);
            else
                while (end < w->pages && w->kind[end] == k)
                    end++;
            cb(ctx, w->base + (start << va.page_shift), (end - start) << va.page_shift, (int)k - 1);
            start = end;
        }
    }
    zt_unlock(&va.lock);
}

uint64_t zt_va_device_address(const void *p)
{
    if (!zt_va_limited() || !va.entropic) return 0;
    const window_t *w = window_of((uintptr_t)p);
    return w ? w->dev_base + ((uintptr_t)p - w->base) : 0;
}

void zt_va_get_placement(zt_va_placement_t *out)
{
    ensure_ready();
    memset(out, 0, sizeof *out);
    zt_lock(&va.lock);
    out->entropic = va.limited && va.entropic;
    out->seed = va.seed;
    out->entropic_bits = zt_aslr_entropic_bits(va.seed);
    out->entropic_address = va.entropic_address;
    out->entropic_limit = va.entropic_limit;
    out->lowerings = va.lowerings;
    for (unsigned i = 0; i < va.nwindows && out->entropic; i++)
        out->window_dev_base[i] = va.win[i].dev_base;
    zt_unlock(&va.lock);
}

bool zt_va_window(unsigned i, uintptr_t *base, size_t *bytes)
{
    if (!zt_va_limited() || i >= va.nwindows) return false;
    if (base) *base = va.win[i].base;
    if (bytes) *bytes = va.win[i].pages << va.page_shift;
    return true;
}

/* ---- fork ----------------------------------------------------------------- */

/* The ledger's lock is a leaf taken after va.lock: held with it across fork
 * so that a child never inherits a half-updated ring. */
void zt_va_reinit_lock(void)
{
    zt_lock_reinit(&va.lock);
    zt_lock_reinit(&held.lock);
}
void zt_va_lock(void)
{
    zt_lock(&va.lock);
    zt_lock(&held.lock);
}
void zt_va_unlock(void)
{
    zt_unlock(&held.lock);
    zt_unlock(&va.lock);
}
