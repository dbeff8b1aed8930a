/* ----------------------------------------------------------------------------
 * test_capture — stack capture: the frame-pointer walker on a known call
 * chain, its refusal to follow garbage (never faults), the depth limit, and
 * libunwind on the same chain.
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "test_capture: " __VA_ARGS__);                                             \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

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
    if (ngot < 3) FAIL("%s: %u frames from a 3-deep chain", how, ngot);
    const char *expect[] = {"leaf", "mid", "top"};
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(owner(got[i]), expect[i]) != 0)
            FAIL("%s: frame %u (pc %#llx) is in %s, expected %s", how, i,
                 (unsigned long long)got[i], owner(got[i]), expect[i]);
    want_max = 2;
    top(1);
    if (ngot != 2) FAIL("%s: depth 2 gave %u frames", how, ngot);
}

int main(void)
{
    zt_capture_init(ZT_UNWIND_FP);
    check_chain("fp");

    uintptr_t lo, hi;
    if (!zt_capture_stack_bounds(&lo, &hi) || hi == 0) FAIL("no stack bounds for the main thread");
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here >= hi)
        FAIL("the frame %#lx is above the stack top %#lx", (unsigned long)here, (unsigned long)hi);

    /* Garbage frame pointers: outside the stack, misaligned, descending,
     * a cycle. None may fault, none may yield more than the valid prefix. */
    uint64_t pcs[32];
    if (zt_capture_fp_walk(pcs, 32, 0xdeadbeef0ull, here, hi) != 0)
        FAIL("followed a frame pointer outside the stack");
    if (zt_capture_fp_walk(pcs, 32, 0, here, hi) != 0) FAIL("followed a NULL frame pointer");
    uintptr_t fake[16] __attribute__((aligned(16)));
    uintptr_t base = (uintptr_t)fake;
    fake[0] = base + 3; /* misaligned next frame */
    fake[1] = 0x401000;
    if (zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake) != 1)
        FAIL("misaligned next frame not rejected");
    fake[0] = base; /* points to itself: a cycle */
    if (zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake) != 1)
        FAIL("a frame cycle was followed");
    fake[0] = base + 16; /* climbs, then runs off the end of [lo, hi) */
    fake[2] = base + 32;
    fake[3] = 0x402000;
    fake[4] = base + 1024 * 1024;
    fake[5] = 0x403000;
    unsigned n = zt_capture_fp_walk(pcs, 32, base, base, base + 6 * sizeof(uintptr_t));
    if (n != 3 || pcs[0] != 0x401000 || pcs[2] != 0x403000)
        FAIL("climbing chain gave %u frames", n);
    fake[4] = 0xffffffffffffff00ull; /* absurd next frame: stop, do not read it */
    n = zt_capture_fp_walk(pcs, 32, base, base, base + sizeof fake);
    if (n != 3) FAIL("absurd frame pointer gave %u frames", n);
    if (zt_capture_fp_walk(pcs, 1, base, base, base + sizeof fake) != 1)
        FAIL("depth limit 1 not respected");

    zt_capture_init(ZT_UNWIND_LIBUNWIND);
    if (getenv("ZT_UNDER_VALGRIND") ==
        NULL) /* libunwind reads the stack raw; valgrind dislikes it */
        check_chain("libunwind");

    printf("test_capture: ok\n");
    return 0;
}
