/* ----------------------------------------------------------------------------
 * test_memalign.c — memalign, posix_memalign, aligned_alloc, valloc and
 * pvalloc for alignments 8 B … 1 MiB and sizes across every class: the
 * address is aligned, the whole size is writable and keeps its contents
 * while neighbours are allocated and freed, malloc_size covers the request,
 * and bad alignments fail with EINVAL. Native, then ios12-2gb (re-executed).
 * -------------------------------------------------------------------------- */
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

static int failures;

static const size_t sizes[] = {1,    8,     24,    100,   255,    256,      1000,          1008,
                               4000, 15000, 16384, 40000, 300000, 1u << 20, (2u << 20) + 5};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void check_block(const char *fn, void *p, size_t align, size_t n, int k)
{
    if (!p) {
        printf("FAIL: %s(%zu, %zu) returned NULL\n", fn, align, n);
        failures++;
        return;
    }
    if ((uintptr_t)p % align != 0 || malloc_size(p) < n) {
        if (failures < 20)
            printf("FAIL: %s(%zu, %zu) = %p, malloc_size %zu\n", fn, align, n, p, malloc_size(p));
        failures++;
    }
    memset(p, k, n);
}

static void verify(void *p, size_t n, int k)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)k) {
            printf("FAIL: aligned block %p (%zu bytes) changed at %zu\n", p, n, i);
            failures++;
            return;
        }
}

static void run(void)
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
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < NSIZES; i++) {
        void *v = valloc(sizes[i]);
        check_block("valloc", v, page, sizes[i], 3);
        void *pv = pvalloc(sizes[i]);
        check_block("pvalloc", pv, page, (sizes[i] + page - 1) / page * page, 4);
        free(v);
        free(pv);
    }
    void *p = (void *)1;
    if (posix_memalign(&p, 0, 10) != EINVAL || posix_memalign(&p, 12, 10) != EINVAL ||
        posix_memalign(&p, 2, 10) != EINVAL || p != (void *)1) {
        printf("FAIL: posix_memalign accepted a bad alignment\n");
        failures++;
    }
    errno = 0;
    if (aligned_alloc(48, 96) != NULL || errno != EINVAL) {
        printf("FAIL: aligned_alloc(48) should fail with EINVAL\n");
        failures++;
    }
    /* glibc's memalign rounds a non-power-of-two alignment up. */
    void *m = memalign(48, 100);
    if (!m || (uintptr_t)m % 64) {
        printf("FAIL: memalign(48) = %p\n", m);
        failures++;
    }
    free(m);
    /* The zone API insists on a power of two >= sizeof(void *). */
    if (malloc_zone_memalign(malloc_default_zone(), 4, 10) != NULL) {
        printf("FAIL: malloc_zone_memalign(4) succeeded\n");
        failures++;
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    run();
    const char *dev = getenv("ZONETRACE_DEVICE");
    printf("test_memalign %s: %s\n", dev ? dev : "native", failures ? "FAILED" : "ok");
    if (argc == 1 && !failures) {
        if (!rerun_under_device(argv[0], "ios12-2gb")) /* the same under a device profile */
            failures++;
    }
    return failures != 0;
}
