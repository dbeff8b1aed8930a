/* ----------------------------------------------------------------------------
 * test_memalign.c — memalign, posix_memalign, aligned_alloc, valloc and
 * pvalloc for alignments 8 B … 1 MiB and sizes across every class: the
 * address is aligned, the whole size is writable and keeps its contents
 * while neighbours are allocated and freed, malloc_size covers the request,
 * and bad alignments fail with EINVAL. Native, then ios12-2gb (re-executed).
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "../rerun.h"
#include "zonetrace/malloc_zone.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const size_t sizes[] = {1,    8,     24,    100,   255,    256,      1000,          1008,
                               4000, 15000, 16384, 40000, 300000, 1u << 20, (2u << 20) + 5};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void check_block(const char *fn, void *p, size_t align, size_t n, int k)
{
    CHECK(p != NULL, "%s(%zu, %zu) returned NULL", fn, align, n);
    if (!p) return;
    CHECK((uintptr_t)p % align == 0 && malloc_size(p) >= n, "%s(%zu, %zu) = %p, malloc_size %zu",
          fn, align, n, p, malloc_size(p));
    memset(p, k, n);
}

static void verify(void *p, size_t n, int k)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)k) {
            CHECK(c[i] == (unsigned char)k, "aligned block %p (%zu bytes) changed at %zu", p, n, i);
            return;
        }
}

static void aligned(void)
{
    int k = 1;
    for (size_t align = 8; align <= (1u << 20); align <<= 1) {
        void *keep[NSIZES * 3];
        int nk = 0;
        for (size_t i = 0; i < NSIZES; i++, k++) {
            size_t n = sizes[i];
            void *a = memalign(align, n);
            check_block("memalign", a, align, n, k);
            void *b = NULL;
            int rc = posix_memalign(&b, align, n);
            if (rc != 0) b = NULL;
            check_block("posix_memalign", b, align, n, k);
            void *c = aligned_alloc(align, n);
            check_block("aligned_alloc", c, align, n, k);
            void *filler = malloc(n / 2 + 1); /* a neighbour that comes and goes */
            memset(filler, 0xee, n / 2 + 1);
            free(filler);
            keep[nk++] = a;
            keep[nk++] = b;
            keep[nk++] = c;
            for (int j = 0; j < 3; j++)
                if (keep[nk - 3 + j]) verify(keep[nk - 3 + j], n, k);
        }
        for (int j = 0; j < nk; j++)
            free(keep[j]);
    }
}

/* Aligned and plain requests interleaved with frees at random, as a program
 * does. memalign's head and tail pieces go through the free path (the
 * last-free cache, coalescing, recirculation), so their neighbours and the
 * magazines they evict from get exercised; a wrong order of marking there
 * corrupted free lists within a few thousand operations. Contents are
 * checked at free. */
static void interleaved(void)
{
    enum { LIVE = 20000 };
    static void *live[LIVE]; /* .bss: not on the heap under test */
    static size_t len[LIVE];
    static unsigned char tag[LIVE];
    size_t nl = 0;
    uint64_t x = 88172645463325252ull;
    long ops = CHECK_SCALED(1500000);
    for (long op = 0; op < ops; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (((x >> 8) & 1 && nl < LIVE) || nl == 0) {
            size_t n = 1 + (size_t)((x >> 16) % 1200);
            void *p = NULL;
            if ((x >> 32) % 3 == 0) {
                if (posix_memalign(&p, (size_t)32 << ((x >> 40) % 5), n) != 0) p = NULL;
            } else {
                p = malloc(n);
            }
            CHECK(p != NULL, "allocation %ld of %zu bytes failed", op, n);
            if (!p) return;
            tag[nl] = (unsigned char)op;
            memset(p, tag[nl], n);
            len[nl] = n;
            live[nl++] = p;
        } else {
            size_t i = (size_t)((x >> 24) % nl);
            const unsigned char *c = live[i];
            if (c[0] != tag[i] || c[len[i] - 1] != tag[i]) {
                CHECK(0, "block %p (%zu bytes) changed before its free", live[i], len[i]);
                return;
            }
            free(live[i]);
            nl--;
            live[i] = live[nl], len[i] = len[nl], tag[i] = tag[nl];
        }
    }
    while (nl)
        free(live[--nl]);
}

static void page_aligned(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < NSIZES; i++) {
        void *v = valloc(sizes[i]);
        check_block("valloc", v, page, sizes[i], 3);
        void *pv = pvalloc(sizes[i]);
        check_block("pvalloc", pv, page, (sizes[i] + page - 1) / page * page, 4);
        free(v);
        free(pv);
    }
}

static void bad_alignments(void)
{
    void *p = (void *)1;
    CHECK(posix_memalign(&p, 0, 10) == EINVAL && posix_memalign(&p, 12, 10) == EINVAL &&
              posix_memalign(&p, 2, 10) == EINVAL && p == (void *)1,
          "posix_memalign accepted a bad alignment");
    errno = 0;
    CHECK(aligned_alloc(48, 96) == NULL && errno == EINVAL,
          "aligned_alloc(48) should fail with EINVAL");
    /* glibc's memalign rounds a non-power-of-two alignment up. */
    void *m = memalign(48, 100);
    CHECK(m && (uintptr_t)m % 64 == 0, "memalign(48) = %p", m);
    free(m);
    /* The zone API insists on a power of two >= sizeof(void *). */
    CHECK(malloc_zone_memalign(malloc_default_zone(), 4, 10) == NULL,
          "malloc_zone_memalign(4) succeeded");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *dev = getenv("ZONETRACE_DEVICE");
    char name[64];
    snprintf(name, sizeof name, "test_memalign %s", dev ? dev : "native");
    CHECK_NAME(name);
    CHECK_CASE("alignments 8 B to 1 MiB")
    {
        aligned();
    }
    CHECK_CASE("aligned and plain blocks interleaved with frees")
    {
        interleaved();
    }
    CHECK_CASE("valloc and pvalloc")
    {
        page_aligned();
    }
    CHECK_CASE("bad alignments")
    {
        bad_alignments();
    }
    if (argc == 1 && !failures) {
        CHECK_CASE("the same under ios12-2gb")
        {
            rerun_under_device(argv[0], "ios12-2gb");
        }
    }
    return CHECK_DONE(name);
}
