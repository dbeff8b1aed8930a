/* ----------------------------------------------------------------------------
 * va.c — the heap's address space (see va.h for the contract).
 *
 * Unlimited profiles: every region and large block is its own aligned mmap;
 * we only count. Limited profiles: the windows are one PROT_NONE reservation
 * (aligned to 128 MiB so that page-index alignment inside a window equals
 * address alignment for every region kind), cut into ZT_PROFILE_MAX_WINDOWS
 * windows that never share a hole. Placement is first fit from the bottom of
 * window 0, then window 1, at the kind's alignment, like the device's
 * "retry from the bottom" path in mvm_allocate_pages_securely.
 *
 * Bookkeeping lives outside the windows (zt_prim_map): per window an
 * occupancy bitmap, one bit per page (1 = in use; the bits past the last page
 * are set so scans stop by themselves), and one byte per page holding
 * kind + 1 (0 = free) for zt_va_walk. A 1 MiB-aligned 1 MiB hole at 16 KiB
 * pages is one all-zero 64-bit word, so a scan of a 2 GiB window reads at
 * most 2048 words. `hint` skips the full bottom of a window.
 *
 * Locking: one lock for the whole map. Commit, decommit and the profiler's
 * event hook run outside it: a range is marked in use before it is committed
 * and stays marked until it is decommitted, so nobody else can touch it in
 * between.
 * -------------------------------------------------------------------------- */
#include "va.h"
#include "hooks.h"

#include <errno.h>
#include <string.h>

#define WINDOW_ALIGN_BYTES    ((size_t)128 << 20) /* medium region alignment */
#define HIGH_WATER_STEP_BYTES ((size_t)64 << 20)
#define NO_PAGE               ((size_t)-1)

typedef struct window {
    uintptr_t base;
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

/* First fit: lowest aligned start of `need` free pages, or NO_PAGE. */
static size_t find_fit(const window_t *w, size_t need, size_t align_bytes)
{
    size_t pos = w->hint;
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

/* ---- set-up ------------------------------------------------------------- */

static void teardown_locked(void)
{
    if (va.reserve_base) zt_prim_unmap(va.reserve_base, va.reserve_bytes);
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

    uintptr_t at = (uintptr_t)base;
    for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++) {
        if (want[i] == 0) continue;
        window_t *w = &va.win[va.nwindows++];
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

static void *map_limited(enum zt_kind kind, size_t bytes, size_t align, zt_va_failure_t *fail)
{
    size_t need = bytes >> va.page_shift;
    zt_lock(&va.lock);
    window_t *w = NULL;
    size_t first = NO_PAGE;
    for (unsigned i = 0; i < va.nwindows && first == NO_PAGE; i++) {
        w = &va.win[i];
        first = find_fit(w, need, align);
    }
    if (first == NO_PAGE) {
        zt_va_failure_t f = {kind, bytes, align, va.used_bytes, va.limit_bytes, 0, 0};
        scan_holes(&f.largest_free_bytes, &align, &f.largest_aligned_bytes, 1);
        zt_unlock(&va.lock);
        return map_failed(&f, fail);
    }
    mark(w, first, need, kind);
    bool crossed = account_map_locked(kind, bytes);
    size_t used = va.used_bytes, limit = va.limit_bytes;
    zt_unlock(&va.lock);

    void *p = (void *)(w->base + (first << va.page_shift));
    int err = zt_prim_commit(p, bytes);
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

void *zt_va_map(enum zt_kind kind, size_t bytes, size_t align_bytes, zt_va_failure_t *fail)
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
    return va.limited ? map_limited(kind, bytes, align, fail)
                      : map_unlimited(kind, bytes, align, fail);
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
    /* Drop the pages while the range is still ours. If the kernel cannot split
     * the mapping (map count limit), purge instead: the pages still read as
     * zeros and a later commit is then a no-op. */
    if (zt_prim_decommit(addr, bytes) != 0 && zt_prim_purge(addr, bytes) != 0) {
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

    if (zt_prim_commit((void *)end, grow_bytes) != 0) {
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

bool zt_va_window(unsigned i, uintptr_t *base, size_t *bytes)
{
    if (!zt_va_limited() || i >= va.nwindows) return false;
    if (base) *base = va.win[i].base;
    if (bytes) *bytes = va.win[i].pages << va.page_shift;
    return true;
}

/* ---- fork ----------------------------------------------------------------- */

void zt_va_reinit_lock(void)
{
    zt_lock_reinit(&va.lock);
}
void zt_va_lock(void)
{
    zt_lock(&va.lock);
}
void zt_va_unlock(void)
{
    zt_unlock(&va.lock);
}
