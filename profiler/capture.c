/* ----------------------------------------------------------------------------
 * capture.c — call-stack capture for the profiler.
 *
 * Two unwinders (ZONETRACE_UNWIND):
 *  - fp: follow the frame-pointer chain, reading only inside the current
 *    thread's stack, so a garbage rbp (code built without frame pointers)
 *    ends the walk instead of faulting. ~1 ns per frame.
 *  - libunwind: correct through system libraries built without frame
 *    pointers (the Linux default). Linux has the nongnu libunwind:
 *    unw_backtrace with per-thread caching. Apple's system unwinder is
 *    LLVM's libunwind (in libSystem), which has neither: there a cursor is
 *    stepped (unw_getcontext, unw_init_local, unw_step), reading the
 *    images' compact unwind info. On Apple's arm64 ABIs every frame keeps
 *    its frame pointer, so fp is exact there too.
 *    The nongnu libunwind is not linked: libunwind.so and the liblzma it
 *    needs cost ~110 KiB of resident pages in every process, profiled or
 *    not (bench/results/2026-12-06-rssfloor.md). zt_capture_load opens it
 *    when the libunwind unwinder is chosen, from the profiler's constructor
 *    (the loader allocates, so never from inside malloc); until then, or
 *    if it cannot be loaded, stacks are captured by frame pointers.
 * The allocator's own leading frames are skipped by address: our module's
 * executable range is found once with dl_iterate_phdr on the address of a
 * local function (when we are the main program, as in a static link, a
 * fixed count is skipped instead).
 * -------------------------------------------------------------------------- */
#include "internal.h"
#include "hooks.h"

#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* The nongnu libunwind defines UNW_VERSION_MAJOR; LLVM's does not. */
#if defined(UNW_VERSION_MAJOR)
#define CAPTURE_NONGNU_UNWIND 1
#else
#define CAPTURE_NONGNU_UNWIND 0
#endif

#if defined(__GLIBC__)
extern void *__libc_stack_end; /* glibc: the initial stack pointer of the main thread */
#endif

#if CAPTURE_NONGNU_UNWIND
#ifndef ZT_LIBUNWIND_SONAME
#define ZT_LIBUNWIND_SONAME "libunwind.so.8" /* CMake passes the one built against */
#endif
#define CAPTURE_STR_(x) #x
#define CAPTURE_STR(x)  CAPTURE_STR_(x) /* the macro's expansion: _ULx86_64_... */
/* libunwind's unw_backtrace and cursor calls, once zt_capture_load found
 * them (the cursor calls may be missing: then unw_backtrace serves all). */
static int (*lu_backtrace)(void **buf, int max);
static int (*lu_getcontext)(unw_context_t *ctx);
static int (*lu_init_local)(unw_cursor_t *cur, unw_context_t *ctx);
static int (*lu_get_reg)(unw_cursor_t *cur, unw_regnum_t reg, unw_word_t *val);
static int (*lu_step)(unw_cursor_t *cur);
static int lu_stepped_ok;
#define CAPTURE_GETCONTEXT(c)    lu_getcontext(c)
#define CAPTURE_INIT_LOCAL(u, c) lu_init_local(u, c)
#define CAPTURE_GET_REG(u, r, v) lu_get_reg(u, r, v)
#define CAPTURE_STEP(u)          lu_step(u)
#else
#define CAPTURE_GETCONTEXT(c)    unw_getcontext(c)
#define CAPTURE_INIT_LOCAL(u, c) unw_init_local(u, c)
#define CAPTURE_GET_REG(u, r, v) unw_get_reg(u, r, v)
#define CAPTURE_STEP(u)          unw_step(u)
#endif

#if CAPTURE_NONGNU_UNWIND
/* Captures this thread has made with libunwind (saturating). */
static __thread unsigned tls_unwinds;
#endif

/* The nongnu libunwind's unw_backtrace builds a per-thread trace cache on a
 * thread's first call: a 256 KiB mmap whose every entry it initialises
 * (64 page faults) and unmaps at thread exit (a TLB flush). That is ~0.5 ms
 * for a thread that is sampled once: in sample mode most threads are, and a
 * program of short-lived threads paid it for each (bench `threads`: 2.3× the
 * CPU time of stacks off). In sample mode a thread's first UNWIND_STEPPED
 * captures step the cursor instead (the dwarf step with libunwind's
 * per-thread rs cache, no mapping; measured dearer per capture than a warm
 * trace cache), then it switches to unw_backtrace. Full mode captures every
 * allocation, so the cache pays for itself at once: it starts there. */
#define UNWIND_STEPPED 8

/* Step a cursor from the caller's frame outwards; the first pc is in the
 * function this is expanded in (always inlined, as unw_backtrace's). */
static inline __attribute__((always_inline)) int unwind_stepped(void **buf, int max)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    if (max <= 0 || CAPTURE_GETCONTEXT(&ctx) != 0 || CAPTURE_INIT_LOCAL(&cur, &ctx) != 0) return 0;
    int n = 0;
    do {
        unw_word_t ip = 0;
        if (CAPTURE_GET_REG(&cur, UNW_REG_IP, &ip) != 0 || ip == 0) break;
        buf[n++] = (void *)(uintptr_t)ip;
    } while (n < max && CAPTURE_STEP(&cur) > 0);
    return n;
}

/* unw_backtrace's contract with any libunwind: pcs from the caller's own
 * frame outwards (the first is in the function that expands this). Always
 * inlined, so that first frame is the caller's, as with unw_backtrace.
 * Called only while use_libunwind is set (nongnu: lu_backtrace is loaded). */
static inline __attribute__((always_inline)) int unwind_backtrace(void **buf, int max)
{
#if CAPTURE_NONGNU_UNWIND
    if (zt_profiling != ZT_PROFILING_SAMPLE || !lu_stepped_ok || tls_unwinds >= UNWIND_STEPPED)
        return lu_backtrace(buf, max);
    tls_unwinds++;
#endif
    return unwind_stepped(buf, max);
}

/* unw_backtrace for the profiler's full-mode hot path (internal.h), which
 * calls it from the alloc hook's own frame; NULL while frame pointers are
 * used, on Apple (a stepped cursor) and before libunwind is loaded. */
int (*zt_capture_backtrace)(void **buf, int max);
uintptr_t zt_capture_own_lo, zt_capture_own_hi;

static enum zt_unwind unwind_how = ZT_UNWIND_FP;
/* 1 when unwind_how is libunwind and the unwinder is there (Apple: always;
 * nongnu: once zt_capture_load set lu_backtrace). Release/acquire pairs
 * with lu_backtrace's store. */
static int use_libunwind;
static uintptr_t own_lo, own_hi; /* our text; 0,0 when we are the main program */
static int capture_ready;

static __thread uintptr_t tls_stack_lo, tls_stack_hi;
static __thread int tls_stack_known; /* 0 unknown, 1 known, -1 unavailable */

struct own_find {
    uintptr_t pc;
    bool found, is_main;
    uintptr_t lo, hi;
};

static int own_module_cb(void *ctx, const zt_prim_module_t *m)
{
    struct own_find *of = ctx;
    if (of->pc >= m->base && of->pc < m->base + m->bytes) {
        of->found = true;
        of->is_main = m->path[0] == 0;
        of->lo = m->text_lo;
        of->hi = m->text_hi;
        return 1;
    }
    return 0;
}

void zt_capture_init(enum zt_unwind how)
{
    unwind_how = how;
#if CAPTURE_NONGNU_UNWIND
    bool have = how == ZT_UNWIND_LIBUNWIND && __atomic_load_n(&lu_backtrace, __ATOMIC_ACQUIRE);
#else
    bool have = how == ZT_UNWIND_LIBUNWIND;
#endif
    __atomic_store_n(&use_libunwind, have, __ATOMIC_RELEASE);
#if CAPTURE_NONGNU_UNWIND
    __atomic_store_n(&zt_capture_backtrace, have ? lu_backtrace : NULL, __ATOMIC_RELEASE);
#endif
    if (__atomic_load_n(&capture_ready, __ATOMIC_ACQUIRE)) return;
    struct own_find of = {(uintptr_t)&zt_capture_init, false, false, 0, 0};
    zt_prim_modules(own_module_cb, &of);
    if (of.found && !of.is_main) {
        own_lo = of.lo;
        own_hi = of.hi;
        zt_capture_own_lo = own_lo;
        zt_capture_own_hi = own_hi;
    }
    __atomic_store_n(&capture_ready, 1, __ATOMIC_RELEASE);
}

bool zt_capture_load(void)
{
    if (unwind_how != ZT_UNWIND_LIBUNWIND) return true;
#if CAPTURE_NONGNU_UNWIND
    if (!__atomic_load_n(&lu_backtrace, __ATOMIC_ACQUIRE)) {
        /* dlsym's object pointers become function pointers by memcpy
         * (ISO C has no cast between the two; POSIX makes them the same). */
        void *bt_sym = zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, "unw_backtrace");
        void *policy_sym =
            zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_set_caching_policy));
        unw_addr_space_t *space =
            zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_local_addr_space));
        int (*bt)(void **, int);
        int (*policy)(unw_addr_space_t, unw_caching_policy_t);
        memcpy(&bt, &bt_sym, sizeof bt);
        memcpy(&policy, &policy_sym, sizeof policy);
        if (!bt || !policy || !space) {
            zt_prim_message("ZONETRACE_UNWIND=libunwind: %s could not be loaded; stacks are "
                            "captured by frame pointers",
                            ZT_LIBUNWIND_SONAME);
            return false;
        }
        void *gc = zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_tdep_getcontext));
        void *il = zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_init_local));
        void *gr = zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_get_reg));
        void *st = zt_prim_library_symbol(ZT_LIBUNWIND_SONAME, CAPTURE_STR(unw_step));
        memcpy(&lu_getcontext, &gc, sizeof gc);
        memcpy(&lu_init_local, &il, sizeof il);
        memcpy(&lu_get_reg, &gr, sizeof gr);
        memcpy(&lu_step, &st, sizeof st);
        lu_stepped_ok = gc && il && gr && st;
        /* Before the first unw_backtrace: per-thread caches, no lock. */
        policy(*space, UNW_CACHE_PER_THREAD);
        __atomic_store_n(&lu_backtrace, bt, __ATOMIC_RELEASE);
    }
#endif
    __atomic_store_n(&use_libunwind, unwind_how == ZT_UNWIND_LIBUNWIND, __ATOMIC_RELEASE);
#if CAPTURE_NONGNU_UNWIND
    __atomic_store_n(&zt_capture_backtrace, lu_backtrace, __ATOMIC_RELEASE);
#endif
    return true;
}

bool zt_capture_pc_is_own(uintptr_t pc)
{
    return pc >= own_lo && pc < own_hi;
}

bool zt_capture_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
    if (zt_likely(tls_stack_known == 1)) {
        *lo = tls_stack_lo;
        *hi = tls_stack_hi;
        return true;
    }
    if (tls_stack_known < 0) return false;
    uintptr_t l = 0, h = 0;
    bool ok;
#if defined(__GLIBC__)
    if (zt_prim_tid() == zt_prim_pid()) {
        /* Main thread: pthread_getattr_np would read /proc/self/maps with
         * stdio (malloc). Every frame of main lies below the initial stack
         * pointer; the page holding it is mapped. */
        size_t page = zt_prim_page_bytes();
        h = ((uintptr_t)__libc_stack_end + page - 1) & ~(uintptr_t)(page - 1);
        l = 0; /* the walk uses the current frame as its lower bound */
        ok = __libc_stack_end != NULL;
    } else {
        ok = zt_prim_thread_stack(&l, &h);
    }
#else
    /* Darwin: pthread_get_stackaddr_np covers the main thread too (prim). */
    ok = zt_prim_thread_stack(&l, &h);
#endif
    if (!ok) {
        tls_stack_known = -1;
        return false;
    }
    tls_stack_lo = l;
    tls_stack_hi = h;
    tls_stack_known = 1;
    *lo = l;
    *hi = h;
    return true;
}

/* Reads fp[0] (caller's frame) and fp[1] (return address). The chain must
 * climb strictly, stay 16-byte aligned (x86_64 and arm64 ABIs) and inside
 * [lo, hi). */
unsigned zt_capture_fp_walk(uint64_t *pcs, unsigned max, uintptr_t fp, uintptr_t lo, uintptr_t hi)
{
    unsigned n = 0;
    while (n < max) {
        if (fp < lo || hi < 2 * sizeof(uintptr_t) || fp > hi - 2 * sizeof(uintptr_t) || (fp & 15))
            break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0], ra = frame[1];
        if (ra < 4096) break;
        pcs[n++] = ra;
        if (next <= fp) break;
        fp = next;
    }
    return n;
}

/* The hot path of ZONETRACE_UNWIND=fp: one walk straight into the caller's
 * array, dropping `skip` frames and then the allocator's own leading frames
 * on the way (same bounds as zt_capture_fp_walk, one unsigned compare for
 * both ends). At most max + skip + 16 frames are visited. */
static inline unsigned capture_fp(uint64_t *pcs, unsigned max, unsigned skip)
{
    uintptr_t lo, hi;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    if (!zt_capture_stack_bounds(&lo, &hi)) return 0;
    if (lo == 0 || fp > lo) lo = fp; /* frames above us only */
    if (hi < lo + 2 * sizeof(uintptr_t)) return 0;
    uintptr_t span = hi - 2 * sizeof(uintptr_t) - lo;
    /* A frame is usable when fp lies in [lo, hi - 16) (one unsigned compare)
     * and is 16-byte aligned; the chain must climb strictly. */
#define FRAME_OK(fp) ((fp)-lo <= span && ((fp)&15) == 0)
    const uintptr_t *frame;
    uintptr_t ra;
    /* Phase 1: drop `skip` frames, then the allocator's own (bounded). */
    for (unsigned budget = skip + 16;; budget--) {
        if (budget == 0 || !FRAME_OK(fp)) return 0;
        frame = (const uintptr_t *)fp;
        ra = frame[1];
        if (ra < 4096) return 0;
        if (skip)
            skip--;
        else if (!(ra >= own_lo && ra < own_hi))
            break;
        uintptr_t next = frame[0];
        if (next <= fp) return 0;
        fp = next;
    }
    /* Phase 2: copy; frame/ra hold the first kept frame. */
    unsigned n = 0;
    for (;;) {
        pcs[n++] = ra;
        uintptr_t next = frame[0];
        if (n == max || next <= fp || !FRAME_OK(next)) break;
        fp = next;
        frame = (const uintptr_t *)fp;
        ra = frame[1];
        if (ra < 4096) break;
    }
#undef FRAME_OK
    return n;
}

__attribute__((noinline)) unsigned zt_capture(uint64_t *pcs, unsigned max, unsigned skip)
{
    if (max == 0) return 0;
    if (!__atomic_load_n(&use_libunwind, __ATOMIC_ACQUIRE)) return capture_fp(pcs, max, skip);
    uint64_t buf[ZT_REC_MAX_FRAMES + 48];
    unsigned want = max + skip + 16; /* room for the allocator's frames */
    if (want > sizeof buf / sizeof buf[0]) want = sizeof buf / sizeof buf[0];
    int r = unwind_backtrace((void **)buf, (int)want);
    unsigned n = r > 0 ? (unsigned)r : 0;
    /* The first entry is our own frame: skip it as the fp walk
     * does (the fp walk starts at our caller's return address). */
    unsigned first = 1 + skip < n ? 1 + skip : n;
    if (own_hi)
        while (first < n && zt_capture_pc_is_own((uintptr_t)buf[first]))
            first++;
    unsigned out = n - first;
    if (out > max) out = max;
    for (unsigned i = 0; i < out; i++)
        pcs[i] = buf[first + i];
    return out;
}

unsigned zt_capture_fault(const zt_prim_fault_t *f, uint64_t *pcs, unsigned max)
{
    if (max == 0) return 0;
    unsigned n = 0;
    if (__atomic_load_n(&use_libunwind, __ATOMIC_ACQUIRE) && f->pc) {
        /* libunwind steps through the signal frame; keep what follows the
         * interrupted pc. */
        uint64_t buf[ZT_REC_MAX_FRAMES + 16];
        int r = unwind_backtrace((void **)buf, (int)(sizeof buf / sizeof buf[0]));
        for (int i = 0; i < r; i++)
            if (buf[i] == f->pc || buf[i] == f->pc + 1) {
                for (int j = i; j < r && n < max; j++)
                    pcs[n++] = buf[j];
                break;
            }
        if (n > 1) return n;
        n = 0;
    }
    if (f->pc) pcs[n++] = f->pc;
    uintptr_t lo, hi;
    if (f->fp && zt_capture_stack_bounds(&lo, &hi)) {
        if (lo == 0 || (f->sp && f->sp > lo)) lo = f->sp ? f->sp : f->fp;
        n += zt_capture_fp_walk(pcs + n, max - n, f->fp, lo, hi);
    }
    return n;
}
