/* ----------------------------------------------------------------------------
 * test_capture — stack capture: the frame-pointer walker on a known call
 * chain, its refusal to follow garbage (never faults), the depth limit, and
 * libunwind on the same chain.
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define CHAIN __attribute__((noinline, noclone, optimize("no-omit-frame-pointer")))

static uint64_t got[64];
static unsigned ngot;
static unsigned want_max = 64;

CHAIN static int leaf(int x)
{
    ngot = zt_capture(got, want_max, 0);
    __asm__ volatile("" ::: "memory");
    return x + 1;
}
CHAIN static int mid(int x)
{
    int r = leaf(x + 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}
CHAIN static int top(int x)
{
    int r = mid(x + 1);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}
CHAIN static int after(void)
{
    return 0;
} /* a bound for top's body */

/* Which of leaf/mid/top holds pc: the closest function start below it. */
static const char *owner(uint64_t pc)
{
    struct {
        const char *name;
        uintptr_t at;
    } f[] = {{"leaf", (uintptr_t)leaf},
             {"mid", (uintptr_t)mid},
             {"top", (uintptr_t)top},
             {"after", (uintptr_t)after},
             {"main", 0}};
    const char *best = "?";
    uintptr_t best_at = 0;
    for (unsigned i = 0; i < 4; i++)
        if (f[i].at <= pc && f[i].at > best_at && pc - f[i].at < 4096) {
            best_at = f[i].at;
            best = f[i].name;
        }
    return best;
}

static void check_chain(const char *how)
{
    want_max = 64;
    ngot = 0;
    top(1);
    CHECK(ngot >= 3, "%s: %u frames from a 3-deep chain", how, ngot);
    if (ngot < 3) return;
    const char *expect[] = {"leaf", "mid", "top"};
    for (unsigned i = 0; i < 3; i++)
        CHECK(strcmp(owner(got[i]), expect[i]) == 0,
              "%s: frame %u (pc %#llx) is in %s, expected %s", how, i, (unsigned long long)got[i],
              owner(got[i]), expect[i]);
    want_max = 2;
    top(1);
    CHECK(ngot == 2, "%s: depth 2 gave %u frames", how, ngot);
}

#if defined(__linux__)
#include <link.h>
static int count_libunwind(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    if (strstr(info->dlpi_name, "libunwind")) ++*(int *)ctx;
    return 0;
}
/* The nongnu libunwind is not linked (capture.c): it is in the process
 * only once loaded. */
static bool libunwind_loaded(void)
{
    int n = 0;
    dl_iterate_phdr(count_libunwind, &n);
    return n > 0;
}
#endif

int main(void)
{
    CHECK_CASE("frame pointers on a known chain")
    {
        zt_capture_init(ZT_UNWIND_FP);
        check_chain("fp");
    }

    uintptr_t lo, hi;
    REQUIRE(zt_capture_stack_bounds(&lo, &hi) && hi != 0, "no stack bounds for the main thread");
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    CHECK_CASE("stack bounds")
    {
        CHECK(here < hi, "the frame %#lx is above the stack top %#lx", (unsigned long)here,
              (unsigned long)hi);
    }

    CHECK_CASE("garbage frame pointers")
    {
        /* Outside the stack, misaligned, descending, a cycle. None may
         * fault, none may yield more than the valid prefix. */
        uint64_t pcs[32];
        CHECK(zt_capture_fp_walk(pcs, 32, 0xdeadbeef0ull, here, hi) == 0,
              "followed a frame pointer outside the stack");
        CHECK(zt_capture_fp_walk(pcs, 32, 0, here, hi) == 0, "followed a NULL frame pointer");
        uintptr_t fake[16] __attribute__((aligned(16)));
        uintptr_t base = (uintptr_t)fake;
        fake[0] = base + 3; /* misaligned next frame */
        fake[1] = 0x401000;
        CHECK(zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake) == 1,
              "misaligned next frame not rejected");
        fake[0] = base; /* points to itself: a cycle */
        CHECK(zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake) == 1,
              "a frame cycle was followed");
        fake[0] = base + 16; /* climbs, then runs off the end of [lo, hi) */
        fake[2] = base + 32;
        fake[3] = 0x402000;
        fake[4] = base + 1024 * 1024;
        fake[5] = 0x403000;
        unsigned n = zt_capture_fp_walk(pcs, 32, base, base, base + 6 * sizeof(uintptr_t));
        CHECK(n == 3 && pcs[0] == 0x401000 && pcs[2] == 0x403000, "climbing chain gave %u frames",
              n);
        fake[4] = 0xffffffffffffff00ull; /* absurd next frame: stop, do not read it */
        n = zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake);
        CHECK(n == 3, "absurd frame pointer gave %u frames", n);
        CHECK(zt_capture_fp_walk(pcs, 1, base, base, base + sizeof fake) == 1,
              "depth limit 1 not respected");
    }

    CHECK_CASE("libunwind chosen but not loaded: frame pointers")
    {
        /* zt_capture_init may run inside malloc, so it loads nothing; the
         * fp walk serves until zt_capture_load (the constructor). */
        zt_capture_init(ZT_UNWIND_LIBUNWIND);
#if defined(__linux__)
        CHECK(!libunwind_loaded(), "libunwind is loaded before zt_capture_load");
#endif
        check_chain("fp before the load");
    }

    CHECK_CASE("libunwind on the same chain")
    {
        zt_capture_init(ZT_UNWIND_LIBUNWIND);
        REQUIRE(zt_capture_load(), "libunwind could not be loaded");
#if defined(__linux__)
        CHECK(libunwind_loaded(), "zt_capture_load did not load libunwind");
#endif
        if (getenv("ZT_UNDER_VALGRIND")) {
            CHECK_SKIP("under valgrind: libunwind reads the stack raw, which valgrind reports");
            continue;
        }
        check_chain("libunwind");
    }
    return CHECK_DONE("test_capture");
}
