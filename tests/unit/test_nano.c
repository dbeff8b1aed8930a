/* ----------------------------------------------------------------------------
 * test_nano.c — nano v2 (zone/nano.c): layout and per-class capacity of the
 * iOS 12 region (reference/libmalloc.md §2.7), malloc/free/size/realloc/
 * calloc/batch semantics, invalid frees, delegation of a full class to the
 * helper and its release at 75 % free, extra regions on macOS-like
 * profiles, threads, enumeration, walk, statistics and fork.
 *
 * The helper is a real scalable zone (zt_szone_create); build with
 * -DNANO_TEST_FAKE_HELPER to test against a glibc-backed stand-in instead.
 * The 16 B class is filled to its full capacity (1,040,384 objects) and
 * must then delegate (about 8 s under valgrind). Under valgrind the class
 * filled for the 32 B delegation test is made smaller (one unit instead of
 * ten) so the test stays quick.
 * -------------------------------------------------------------------------- */
#include "nano.h"
#include "chunkmap.h"
#include "szone.h"
#include "va.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

static bool under_valgrind;

/* ---- helper zone ------------------------------------------------------------ */

#ifdef NANO_TEST_FAKE_HELPER
/* glibc-backed stand-in: remembers its pointers so size() is 0 for others. */
#define FAKE_CAP (1u << 20)
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *fake_keys;
static size_t *fake_sizes;
#define FAKE_TOMB ((uintptr_t)1)

static size_t fake_find(uintptr_t p)
{
    size_t i = (p >> 4) * 0x9E3779B97F4A7C15ull >> 44;
    for (;; i = (i + 1) & (FAKE_CAP - 1))
        if (fake_keys[i] == p || fake_keys[i] == 0) return i;
}

static void fake_insert(void *p, size_t size)
{
    pthread_mutex_lock(&fake_mu);
    size_t i = (((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) >> 44;
    while (fake_keys[i] > FAKE_TOMB)
        i = (i + 1) & (FAKE_CAP - 1);
    fake_keys[i] = (uintptr_t)p;
    fake_sizes[i] = size;
    pthread_mutex_unlock(&fake_mu);
}

static size_t fake_size(malloc_zone_t *z, const void *p)
{
    pthread_mutex_lock(&fake_mu);
    size_t i = fake_find((uintptr_t)p);
    size_t s = fake_keys[i] ? fake_sizes[i] : 0;
    pthread_mutex_unlock(&fake_mu);
    return s;
}

static void *fake_memalign(malloc_zone_t *z, size_t align, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 16) == 0) fake_insert(p, size ? size : 16);
    return p;
}

static void *fake_malloc(malloc_zone_t *z, size_t size)
{
    return fake_memalign(z, 16, size);
}
static void *fake_valloc(malloc_zone_t *z, size_t size)
{
    return fake_memalign(z, 4096, size);
}

static void *fake_calloc(malloc_zone_t *z, size_t n, size_t size)
{
    void *p = fake_malloc(z, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

static void fake_free(malloc_zone_t *z, void *p)
{
    if (!p) return;
    pthread_mutex_lock(&fake_mu);
    size_t i = fake_find((uintptr_t)p);
    bool found = fake_keys[i] != 0;
    if (found) fake_keys[i] = FAKE_TOMB;
    pthread_mutex_unlock(&fake_mu);
    if (!found) {
        fprintf(stderr, "FAIL: fake helper asked to free %p it does not own\n", p);
        abort();
    }
    free(p);
}

static void *fake_realloc(malloc_zone_t *z, void *p, size_t size)
{
    size_t old = fake_size(z, p);
    void *np = fake_malloc(z, size);
    if (np && p) {
        memcpy(np, p, old < size ? old : size);
        fake_free(z, p);
    }
    return np;
}

static size_t fake_good_size(malloc_zone_t *z, size_t size)
{
    return (size + 15) & ~(size_t)15;
}
static void fake_destroy(malloc_zone_t *z) {}
static malloc_introspection_t fake_introspect = {.good_size = fake_good_size};

static malloc_zone_t *make_helper(void)
{
    if (!fake_keys) {
        fake_keys = calloc(FAKE_CAP, sizeof *fake_keys);
        fake_sizes = calloc(FAKE_CAP, sizeof *fake_sizes);
    }
    malloc_zone_t *z = calloc(1, sizeof *z);
    z->size = fake_size;
    z->malloc = fake_malloc;
    z->calloc = fake_calloc;
    z->valloc = fake_valloc;
    z->free = fake_free;
    z->realloc = fake_realloc;
    z->destroy = fake_destroy;
    z->zone_name = "FakeHelperZone";
    z->introspect = &fake_introspect;
    z->version = 9;
    z->memalign = fake_memalign;
    return z;
}
#else
static malloc_zone_t *make_helper(void)
{
    return zt_szone_create("MallocHelperZone");
}
#endif

static malloc_zone_t *make_nano(const zt_profile_t *p)
{
    malloc_zone_t *helper = make_helper();
    REQUIRE(helper != NULL, "helper zone");
    malloc_zone_t *z = zt_nano_create(helper, p);
    REQUIRE(z != NULL, "zt_nano_create(%s)", p->name);
    return z;
}

static void *big_array(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED, "mmap %zu", bytes);
    return p;
}

static bool same_region(const void *a, const void *b)
{
    return ((uintptr_t)a >> 29) == ((uintptr_t)b >> 29);
}

/* ---- zone shape ---------------------------------------------------------------- */

static void test_shape(malloc_zone_t *z)
{
    CHECK(z->version == 10, "version %u", z->version);
    CHECK(strcmp(z->zone_name, "DefaultMallocZone") == 0, "name %s", z->zone_name);
    CHECK(((uintptr_t)z & (sysconf(_SC_PAGESIZE) - 1)) == 0, "zone not page aligned");
    CHECK(z->reserved1 == NULL && z->reserved2 == NULL, "reserved fields");
    CHECK(z->size && z->malloc && z->calloc && z->valloc && z->free && z->realloc && z->destroy &&
              z->batch_malloc && z->batch_free && z->memalign && z->free_definite_size &&
              z->pressure_relief && z->claimed_address,
          "vtable hole");
    malloc_introspection_t *in = z->introspect;
    CHECK(in && in->enumerator && in->good_size && in->check && in->print && in->log &&
              in->force_lock && in->force_unlock && in->statistics && in->zone_locked &&
              in->enable_discharge_checking && in->disable_discharge_checking && in->discharge &&
              in->reinit_lock,
          "introspection hole");
    CHECK(!in->zone_locked(z), "locked at rest");
    CHECK(in->good_size(z, 0) == 16 && in->good_size(z, 1) == 16 && in->good_size(z, 17) == 32 &&
              in->good_size(z, 256) == 256 && in->good_size(z, 257) >= 257,
          "good_size");
    /* The zone page is read-only, as libmalloc's. */
    CHECK(zt_prim_readable(z, sizeof *z), "zone page readable");
}

/* ---- capacity ------------------------------------------------------------------- */

/* reference/libmalloc.md §2.7: default units {2,10,11,10,5,3,3,4,3,2,2,2,2,2,1,2}; the
 * metadata block of each of the 8 arenas comes out of class 0. */
static const size_t ios_capacity_bytes[16] = {
    1016ul * 1024 * 16, 5120ul * 512 * 32,  5632ul * 341 * 48,  5120ul * 256 * 64,
    2560ul * 204 * 80,  1536ul * 170 * 96,  1536ul * 146 * 112, 2048ul * 128 * 128,
    1536ul * 113 * 144, 1024ul * 102 * 160, 1024ul * 93 * 176,  1024ul * 85 * 192,
    1024ul * 78 * 208,  1024ul * 73 * 224,  512ul * 68 * 240,   1024ul * 64 * 256,
};
/* the table's MiB column, ×10 */
static const unsigned ios_capacity_mib10[16] = {159, 800, 880, 800, 400, 240, 240, 320,
                                                240, 160, 160, 160, 160, 160, 80,  160};

static void test_capacity(malloc_zone_t *z, const zt_profile_t *p)
{
    for (unsigned c = 0; c < 16; c++) {
        size_t size = 16 * (c + 1), slots = 16384 / size;
        size_t blocks = ((size_t)p->nano_class_units[c] * 64 - (c == 0)) * 8;
        size_t want = blocks * slots * size;
        CHECK(zt_nano_class_capacity_bytes(z, c) == want, "class %u: %zu, want %zu", c,
              zt_nano_class_capacity_bytes(z, c), want);
        CHECK(ios_capacity_bytes[c] == want, "class %u: table %zu, computed %zu", c,
              ios_capacity_bytes[c], want);
        unsigned mib10 = (unsigned)((want * 10 + (1u << 19)) >> 20);
        unsigned table = ios_capacity_mib10[c];
        /* the table rounds to whole MiB except 15.9 */
        CHECK(c == 0 ? mib10 == table : (mib10 + 5) / 10 * 10 == table, "class %u: %u.%u MiB", c,
              mib10 / 10, mib10 % 10);
    }
    CHECK(zt_nano_class_capacity_bytes(z, 0) == 16646144, "16 B: 15.875 MiB");
    CHECK(zt_nano_class_capacity_bytes(z, 1) == 80u << 20, "32 B: 80 MiB");
    CHECK(zt_nano_class_capacity_bytes(z, 16) == 0, "class 16");
}

/* ---- basic semantics -------------------------------------------------------------- */

static void test_basic(malloc_zone_t *z)
{
    malloc_statistics_t st0, st1;
    z->introspect->statistics(z, &st0);
    void *ptrs[257];
    for (size_t s = 0; s <= 256; s++) {
        void *p = z->malloc(z, s);
        ptrs[s] = p;
        size_t want = s ? (s + 15) & ~(size_t)15 : 16;
        REQUIRE(p != NULL, "malloc(%zu)", s);
        CHECK(zt_nano_contains(p), "malloc(%zu) = %p not in nano", s, p);
        CHECK(((uintptr_t)p & 15) == 0, "alignment of %p", p);
        CHECK(z->size(z, p) == want, "size(malloc(%zu)) = %zu", s, z->size(z, p));
        memset(p, (int)s, want);
    }
    z->introspect->statistics(z, &st1);
    CHECK(st1.blocks_in_use == st0.blocks_in_use + 257, "stats blocks %u -> %u", st0.blocks_in_use,
          st1.blocks_in_use);
    CHECK(z->introspect->check(z), "check after mallocs");
    for (size_t s = 0; s <= 256; s++) {
        unsigned char *p = ptrs[s];
        size_t want = s ? (s + 15) & ~(size_t)15 : 16;
        bool ok = true;
        for (size_t i = 0; i < want; i++)
            ok &= p[i] == (unsigned char)s;
        CHECK(ok, "contents of malloc(%zu)", s);
        z->free(z, p);
        CHECK(z->size(z, p) == 0, "size after free of %zu", s);
    }
    z->introspect->statistics(z, &st1);
    CHECK(st1.blocks_in_use == st0.blocks_in_use, "stats after free %u", st1.blocks_in_use);

    /* > 256 B, valloc and memalign belong to the helper. */
    void *big = z->malloc(z, 257);
    CHECK(big && !zt_nano_contains(big) && z->size(z, big) >= 257, "malloc(257) = %p", big);
    CHECK(z->claimed_address(z, big), "claimed_address(helper block)");
    void *pg = z->valloc(z, 100);
    CHECK(pg && !zt_nano_contains(pg) && ((uintptr_t)pg & 4095) == 0, "valloc %p", pg);
    void *al = z->memalign(z, 64, 32);
    CHECK(al && !zt_nano_contains(al) && ((uintptr_t)al & 63) == 0, "memalign %p", al);
    z->free(z, big);
    z->free(z, pg);
    z->free_definite_size(z, al, 32);
    int local;
    CHECK(z->size(z, &local) == 0, "size(stack address)");
    CHECK(z->size(z, NULL) == 0, "size(NULL)");
    z->free(z, NULL);

    /* calloc clears a recycled slot. */
    unsigned char *d = z->malloc(z, 64);
    memset(d, 0xAB, 64);
    z->free(z, d);
    unsigned char *c = z->calloc(z, 4, 16);
    bool zero = c != NULL;
    for (int i = 0; c && i < 64; i++)
        zero &= c[i] == 0;
    CHECK(zero && zt_nano_contains(c), "calloc(4, 16) not cleared (%p, recycled %d)", c, c == d);
    z->free(z, c);
    CHECK(z->calloc(z, (size_t)1 << 62, 8) == NULL, "calloc overflow");
    c = z->calloc(z, 1, 300);
    CHECK(c && !zt_nano_contains(c) && c[299] == 0, "calloc(1, 300)");
    z->free(z, c);

    /* realloc keeps the block while new size is in (old/2, old]. */
    char *r = z->realloc(z, NULL, 100); /* 112 B slot */
    CHECK(r && z->size(z, r) == 112, "realloc(NULL, 100)");
    memcpy(r, "nano realloc contents", 22);
    CHECK(z->realloc(z, r, 112) == r, "realloc to the slot size moved");
    CHECK(z->realloc(z, r, 57) == r, "realloc to 57 (> 56) moved");
    /* libmalloc-166.220.1 src/nanov2_malloc.c:1031-1044 compares the good size: 56 → 64 > 56
     * keeps the block, 48 → 48 moves it. */
    CHECK(z->realloc(z, r, 56) == r, "realloc to 56 (good size 64 > 56) moved");
    char *r2 = z->realloc(z, r, 48);
    CHECK(r2 && r2 != r && z->size(z, r2) == 48 && memcmp(r2, "nano realloc contents", 22) == 0,
          "realloc shrink below half");
    CHECK(z->size(z, r) == 0, "old block freed by realloc");
    char *r3 = z->realloc(z, r2, 200);
    CHECK(r3 && z->size(z, r3) == 208 && memcmp(r3, "nano realloc contents", 22) == 0,
          "realloc grow");
    char *r4 = z->realloc(z, r3, 1000);
    CHECK(r4 && !zt_nano_contains(r4) && memcmp(r4, "nano realloc contents", 22) == 0,
          "realloc to the helper");
    char *r5 = z->realloc(z, r4, 20); /* helper-owned stays with the helper */
    CHECK(r5 && memcmp(r5, "nano realloc contents", 20) == 0, "realloc helper block down");
    z->free(z, r5);
    char *r6 = z->realloc(z, z->malloc(z, 40), 0);
    CHECK(r6 && zt_nano_contains(r6) && z->size(z, r6) == 16, "realloc(p, 0)");
    z->free(z, r6);

    /* batch */
    void *batch[300];
    unsigned got = z->batch_malloc(z, 48, batch, 300);
    CHECK(got == 300, "batch_malloc got %u", got);
    bool all = true;
    for (unsigned i = 0; i < got; i++)
        all &= zt_nano_contains(batch[i]) && z->size(z, batch[i]) == 48;
    CHECK(all, "batch blocks");
    z->batch_free(z, batch, got);
    for (unsigned i = 0; i < got; i++)
        all &= z->size(z, batch[i]) == 0;
    CHECK(all, "batch_free");
    got = z->batch_malloc(z, 500, batch, 10);
    CHECK(got == 10 && !zt_nano_contains(batch[0]), "batch_malloc(500)");
    z->batch_free(z, batch, got);

    /* Invalid frees are reported (ZONETRACE_ON_ERROR=report here) and ignored. */
    const char *saved = zt_options.on_error;
    zt_options.on_error = "report";
    char *a = z->malloc(z, 32);
    char *b = z->malloc(z, 32);
    fprintf(stderr, "test_nano: four invalid-free reports expected:\n");
    z->free(z, a + 16); /* not a slot start */
    z->free(z, b);
    z->free(z, b);            /* twice */
    z->free(z, a + 32 * 200); /* a slot never handed out */
    CHECK(z->realloc(z, b, 10) == NULL, "realloc of a freed block");
    CHECK(z->size(z, a) == 32, "live block survived invalid frees");
    CHECK(z->introspect->check(z), "check after invalid frees");
    char *c2 = z->malloc(z, 32), *c3 = z->malloc(z, 32);
    CHECK(c2 != c3 && c2 != a && c3 != a, "free list intact after invalid frees");
    z->free(z, a);
    z->free(z, c2);
    z->free(z, c3);
    zt_options.on_error = saved;

    CHECK(z->introspect->check(z), "check at end");
    z->introspect->statistics(z, &st1);
    CHECK(st1.blocks_in_use == st0.blocks_in_use, "leak in basic test: %u", st1.blocks_in_use);
}

/* One CPU, so that exactly one current block exists per class (a thread
 * moving between CPUs leaves other CPUs' current blocks partly used). */
static bool pin_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((unsigned)sched_getcpu(), &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

static void unpin_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* ---- emptied blocks are madvised and restarted ------------------------------------- */

static void test_reuse(malloc_zone_t *z)
{
    if (!pin_cpu()) {
        CHECK_SKIP("cannot pin to one CPU (sched_setaffinity failed)");
        return;
    }
    static void *p[2048];
    for (int i = 0; i < 2048; i++) /* two 16 B blocks, both full */
        p[i] = z->malloc(z, 16);
    CHECK(((uintptr_t)p[0] >> 14) != ((uintptr_t)p[2047] >> 14), "2048 × 16 B in one block");
    malloc_statistics_t st0, st1;
    z->introspect->statistics(z, &st0);
    for (int i = 0; i < 1024; i++) /* empty the first block (not the current one) */
        z->free(z, p[i]);
    z->introspect->statistics(z, &st1);
    CHECK(st1.size_allocated + 16384 == st0.size_allocated,
          "emptied block not madvised: %zu -> %zu", st0.size_allocated, st1.size_allocated);
    CHECK(z->size(z, p[0]) == 0 && z->size(z, p[5]) == 0, "size of a block in a madvised block");
    void *q = z->malloc(z, 16); /* the current block is full: the madvised one restarts */
    CHECK(q == p[0], "restart of the madvised block: %p, want %p", q, p[0]);
    const char *saved = zt_options.on_error;
    zt_options.on_error = "report";
    fprintf(stderr, "test_nano: two invalid-free reports expected:\n");
    z->free(z, p[500]); /* below the old high water, above the new one */
    z->free(z, p[1]);
    zt_options.on_error = saved;
    CHECK(z->introspect->check(z), "check after reuse");
    z->free(z, q);
    for (int i = 1024; i < 2048; i++)
        z->free(z, p[i]);
    z->introspect->statistics(z, &st1);
    CHECK(st1.blocks_in_use == 0, "reuse test left %u", st1.blocks_in_use);
    unpin_cpu();
}

/* ---- delegation --------------------------------------------------------------------- */

static void test_delegation(malloc_zone_t *z)
{
    bool pinned = pin_cpu();

    const unsigned cls = 1, slots_per_block = 512;
    size_t cap = zt_nano_class_capacity_bytes(z, cls) / 32;
    size_t max = cap + 1000;
    void **ptrs = big_array(max * sizeof(void *));
    size_t n = 0;
    CHECK(!zt_nano_class_delegated(z, cls), "delegated at start");
    while (n < max) {
        void *p = z->malloc(z, 32);
        REQUIRE(p != NULL, "nano never returns NULL");
        ptrs[n++] = p;
        if (!zt_nano_contains(p)) break;
    }
    size_t in_nano = n - 1;
    if (pinned)
        CHECK(in_nano == cap, "32 B class held %zu blocks, capacity %zu", in_nano, cap);
    else
        CHECK(in_nano <= cap && in_nano + 64 * slots_per_block >= cap, "held %zu of %zu", in_nano,
              cap);
    CHECK(zt_nano_class_delegated(z, cls), "class not delegated when full");
    CHECK(!zt_nano_class_delegated(z, 0) && !zt_nano_class_delegated(z, 2), "other classes");
    for (int i = 0; i < 100; i++) {
        void *p = z->malloc(z, 17 + i % 16);
        CHECK(p && !zt_nano_contains(p) && z->size(z, p) >= 32, "delegated malloc %p", p);
        ptrs[n++] = p;
    }
    void *other = z->malloc(z, 48);
    CHECK(zt_nano_contains(other), "48 B still from nano");
    z->free(z, other);

    /* Frees that leave no block >= 75 % free keep the delegation. The last
     * block stays the CPU's current block (in use) after the delegation, as
     * in libmalloc (src/nanov2_malloc.c:2286-2300, 2362-2364): a free to it would be
     * reused by the next request before the helper is asked, so it keeps
     * its slots here. */
    uintptr_t cur_blk = (uintptr_t)ptrs[in_nano - 1] & ~(uintptr_t)16383;
    for (size_t i = 0; i < in_nano; i += 2)
        if (i % slots_per_block < slots_per_block / 2 + 64 &&
            ((uintptr_t)ptrs[i] & ~(uintptr_t)16383) != cur_blk) {
            z->free(z, ptrs[i]);
            ptrs[i] = NULL;
        }
    CHECK(zt_nano_class_delegated(z, cls), "released below 75 %%");
    void *p = z->malloc(z, 32);
    CHECK(!zt_nano_contains(p), "nano used while delegated");
    z->free(z, p);

    /* Now one block reaches 75 % free: keep 100 of its 512 slots live. */
    uintptr_t blk = (uintptr_t)ptrs[1] & ~(uintptr_t)16383;
    unsigned keep = 100;
    for (size_t i = 0; i < in_nano; i++)
        if (ptrs[i] && ((uintptr_t)ptrs[i] & ~(uintptr_t)16383) == blk) {
            if (keep) {
                keep--;
                continue;
            }
            z->free(z, ptrs[i]);
            ptrs[i] = NULL;
        }
    CHECK(!zt_nano_class_delegated(z, cls), "not released after a block reached 75 %% free");
    p = z->malloc(z, 32);
    CHECK(zt_nano_contains(p), "request after release not from nano: %p", p);
    z->free(z, p);

    for (size_t i = 0; i < n; i++)
        if (ptrs[i]) z->free(z, ptrs[i]);
    CHECK(z->introspect->check(z), "check after delegation test");
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == 0, "blocks left: %u", st.blocks_in_use);
    /* Emptied blocks that are not in use were madvised: nothing much is touched. */
    CHECK(st.size_allocated <= (size_t)64 * 16384 * 2, "touched after free-all: %zu",
          st.size_allocated);
    munmap(ptrs, max * sizeof(void *));
    if (pinned) unpin_cpu();
}

/* The 16 B class filled to its capacity on the iOS split: 2 units of 64
 * blocks per arena minus each arena's metadata block, (128 - 1) x 8 x 1024
 * slots = 15.875 MiB = 1,040,384 objects; the next request is delegated. */
#define IOS_16B_OBJECTS 1040384u

static void *failing_malloc(malloc_zone_t *zone, size_t size)
{
    return NULL;
}

static void test_fill_16(const zt_profile_t *p)
{
    malloc_zone_t *helper = make_helper();
    REQUIRE(helper != NULL, "helper zone");
    malloc_zone_t *z = zt_nano_create(helper, p);
    REQUIRE(z != NULL, "zt_nano_create(%s)", p->name);
    bool pinned = pin_cpu();
    size_t cap = zt_nano_class_capacity_bytes(z, 0) / 16;
    CHECK(cap == IOS_16B_OBJECTS, "16 B class capacity %zu objects, want %u", cap, IOS_16B_OBJECTS);
    size_t max = cap + 16;
    void **ptrs = big_array(max * sizeof(void *));
    size_t n = 0;
    void *first_out = NULL;
    while (n < max) {
        void *q = z->malloc(z, 1 + n % 16); /* every request size of the class */
        REQUIRE(q != NULL, "nano never returns NULL (after %zu)", n);
        if (!zt_nano_contains(q)) {
            first_out = q;
            break;
        }
        ptrs[n++] = q;
    }
    if (pinned)
        CHECK(n == cap, "16 B class held %zu objects, capacity %zu", n, cap);
    else /* other CPUs' current blocks may be left partly used */
        CHECK(n <= cap && n + 64 * 1024 >= cap, "16 B class held %zu of %zu", n, cap);
    CHECK(first_out && z->size(z, first_out) >= 16, "the request past capacity: %p", first_out);
    CHECK(zt_nano_class_delegated(z, 0), "16 B class not delegated when full");
    CHECK(!zt_nano_class_delegated(z, 1), "32 B class delegated too");
    void *zero = z->malloc(z, 0); /* size 0 is a 16 B block too */
    CHECK(zero && !zt_nano_contains(zero), "malloc(0) from nano while 16 B is delegated");
    void *other = z->malloc(z, 32);
    CHECK(zt_nano_contains(other), "32 B not from nano");
    /* libmalloc-166.220.1 src/nanov2_malloc.c:1031-1039: a shrink to half or less that
     * cannot allocate returns NULL and leaves the block alone (16 B is delegated here and
     * the helper is made to fail). */
    void *(*helper_malloc)(malloc_zone_t *, size_t) = helper->malloc;
    helper->malloc = failing_malloc;
    CHECK(z->realloc(z, other, 16) == NULL, "failed shrink below half did not return NULL");
    CHECK(z->realloc(z, other, 300) == NULL, "failed growth to the helper did not return NULL");
    helper->malloc = helper_malloc;
    CHECK(z->size(z, other) == 32, "the block survived the failed reallocs");
    for (size_t i = 0; i < n; i += 4099)
        CHECK(z->size(z, ptrs[i]) == 16 && ((uintptr_t)ptrs[i] & 15) == 0, "object %zu: %p", i,
              ptrs[i]);
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use >= n + 1, "statistics: %u blocks in use, %zu in nano", st.blocks_in_use,
          n);

    for (size_t i = 0; i < n; i++)
        z->free(z, ptrs[i]);
    CHECK(!zt_nano_class_delegated(z, 0), "16 B class still delegated after freeing everything");
    void *again = z->malloc(z, 16);
    CHECK(zt_nano_contains(again), "16 B not from nano after the release");
    z->free(z, again);
    z->free(z, first_out);
    z->free(z, zero);
    z->free(z, other);
    CHECK(z->introspect->check(z), "check after the 16 B fill");
    munmap(ptrs, max * sizeof(void *));
    if (pinned) unpin_cpu();
    z->destroy(z);
}

/* ---- more regions (macOS-like) -------------------------------------------------------- */

static void test_multi(const zt_profile_t *native)
{
    zt_profile_t p = *native;
    p.nano = ZT_NANO_MULTI;
    static const uint8_t units[16] = {2, 10, 11, 10, 5, 3, 3, 4, 3, 2, 2, 2, 2, 2, 2, 1};
    memcpy(p.nano_class_units, units, 16);
    malloc_zone_t *z = make_nano(&p);
    size_t cap = zt_nano_class_capacity_bytes(z, 15) / 256; /* 64 blocks × 8 arenas × 64 */
    CHECK(cap == 32768, "256 B capacity %zu", cap);
    void **ptrs = big_array((cap + 10) * sizeof(void *));
    for (size_t i = 0; i < cap + 10; i++) {
        ptrs[i] = z->malloc(z, 256);
        CHECK(ptrs[i] && zt_nano_contains(ptrs[i]), "multi alloc %zu = %p", i, ptrs[i]);
    }
    CHECK(!zt_nano_class_delegated(z, 15), "multi-region profile delegated");
    bool second = false;
    for (size_t i = 0; i < cap + 10; i++)
        second |= !same_region(ptrs[i], ptrs[0]);
    CHECK(second, "no second region");
    for (size_t i = 0; i < cap + 10; i++)
        z->free(z, ptrs[i]);
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == 0, "multi leak %u", st.blocks_in_use);
    munmap(ptrs, (cap + 10) * sizeof(void *));
    z->destroy(z);
}

/* ---- threads -------------------------------------------------------------------------- */

#define XCHG_SLOTS 1024
static void *exchange[XCHG_SLOTS];
static malloc_zone_t *tz;
static int thread_errors;

static uint64_t stamp(const void *p, size_t size)
{
    return (uintptr_t)p * 31 + size;
}

static void *thread_main(void *arg)
{
    uint64_t x = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    void *mine[64] = {0};
    unsigned iters = under_valgrind ? 20000 : 300000;
    for (unsigned i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t size = 8 + x % 290; /* some go to the helper */
        void *p = tz->malloc(tz, size);
        if (!p || tz->size(tz, p) < size) {
            __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
            continue;
        }
        *(uint64_t *)p = stamp(p, size);
        ((uint64_t *)p)[1] = size;
        /* half stay local, half cross to another thread */
        void *out = (x >> 20) & 1 ? __atomic_exchange_n(&exchange[(x >> 24) % XCHG_SLOTS], p,
                                                        __ATOMIC_ACQ_REL)
                                  : NULL;
        if (!((x >> 20) & 1)) {
            unsigned k = (x >> 30) % 64;
            out = mine[k];
            mine[k] = p;
        }
        if (out) {
            uint64_t sz = ((uint64_t *)out)[1];
            if (*(uint64_t *)out != stamp(out, sz) || tz->size(tz, out) < sz)
                __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
            tz->free(tz, out);
        }
    }
    for (int k = 0; k < 64; k++)
        if (mine[k]) tz->free(tz, mine[k]);
    return NULL;
}

static void test_threads(malloc_zone_t *z)
{
    tz = z;
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_main, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < XCHG_SLOTS; i++)
        if (exchange[i]) {
            z->free(z, exchange[i]);
            exchange[i] = NULL;
        }
    CHECK(thread_errors == 0, "%d corrupted or undersized blocks across threads", thread_errors);
    CHECK(z->introspect->check(z), "check after threads");
    malloc_statistics_t st;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == 0, "thread test left %u blocks", st.blocks_in_use);
}

/* ---- enumeration and walk ---------------------------------------------------------------- */

#define ENUM_N 600

typedef struct seen {
    uintptr_t addr[ENUM_N * 2];
    size_t size[ENUM_N * 2];
    unsigned n, regions, admin, calls, bad_batch;
} seen_t;

static void recorder(task_t task, void *ctx, unsigned type, vm_range_t *r, unsigned count)
{
    seen_t *s = ctx;
    s->calls++;
    if (count == 0 || count > 256) s->bad_batch++;
    for (unsigned i = 0; i < count; i++) {
        if (type == MALLOC_PTR_IN_USE_RANGE_TYPE && s->n < ENUM_N * 2) {
            s->addr[s->n] = r[i].address;
            s->size[s->n++] = r[i].size;
        } else if (type == MALLOC_PTR_REGION_RANGE_TYPE) {
            s->regions++;
        } else if (type == MALLOC_ADMIN_REGION_RANGE_TYPE) {
            s->admin++;
        }
    }
}

static kern_return_t reader(task_t task, vm_address_t addr, vm_size_t size, void **local)
{
    *local = (void *)addr;
    return KERN_SUCCESS;
}

typedef struct wctx {
    unsigned regions, blocks, admin;
    size_t used, block_bytes;
    malloc_zone_t *zone;
    bool bad;
} wctx_t;

static void w_region(void *ctx, malloc_zone_t *zone, enum zt_kind kind, uintptr_t base,
                     size_t bytes, size_t used)
{
    wctx_t *w = ctx;
    w->regions++;
    w->used += used;
    w->bad |= kind != ZT_KIND_NANO || bytes != (512u << 20) || zone != w->zone ||
              (base & ((512u << 20) - 1)) != 0;
}

static void w_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    wctx_t *w = ctx;
    w->blocks++;
    w->block_bytes += bytes;
    w->bad |= cls > 15 || bytes != 16 * (cls + 1) || tag != 0;
}

static void w_admin(void *ctx, uintptr_t addr, size_t bytes)
{
    ((wctx_t *)ctx)->admin++;
}

static void test_enumeration(const zt_profile_t *p)
{
    malloc_zone_t *z = make_nano(p);
    static void *ptrs[ENUM_N];
    size_t live = 0, live_bytes = 0;
    for (unsigned i = 0; i < ENUM_N; i++)
        ptrs[i] = z->malloc(z, 1 + (i * 37) % 256);
    for (unsigned i = 0; i < ENUM_N; i++)
        if (i % 3 == 0) {
            z->free(z, ptrs[i]);
        } else {
            live++;
            live_bytes += z->size(z, ptrs[i]);
        }
    static seen_t s;
    memset(&s, 0, sizeof s);
    kern_return_t kr =
        z->introspect->enumerator(0, &s, 1 | 2 | 4, (vm_address_t)z, reader, recorder);
    CHECK(kr == KERN_SUCCESS, "enumerator returned %d", kr);
    CHECK(s.n == live, "enumerated %u live blocks, want %zu", s.n, live);
    CHECK(s.regions >= 1 && s.admin >= 1 && s.bad_batch == 0, "regions %u admin %u", s.regions,
          s.admin);
    unsigned found = 0;
    for (unsigned i = 0; i < ENUM_N; i++) {
        if (i % 3 == 0) continue;
        for (unsigned k = 0; k < s.n; k++)
            if (s.addr[k] == (uintptr_t)ptrs[i]) {
                found += s.size[k] == z->size(z, ptrs[i]);
                break;
            }
    }
    CHECK(found == live, "found %u of %zu live blocks with their sizes", found, live);
    /* NULL reader means in-process. */
    memset(&s, 0, sizeof s);
    z->introspect->enumerator(0, &s, 1, (vm_address_t)z, NULL, recorder);
    CHECK(s.n == live, "NULL reader: %u", s.n);

    wctx_t w = {.zone = z};
    zt_walker_t walker = {w_region, w_block, w_admin, &w};
    zt_nano_walk(z, &walker);
    CHECK(w.regions == 1 && !w.bad && w.blocks == live && w.block_bytes == live_bytes &&
              w.used == live_bytes && w.admin >= 1,
          "walk: %u regions, %u blocks (%zu B), used %zu, want %zu blocks %zu B", w.regions,
          w.blocks, w.block_bytes, w.used, live, live_bytes);

    malloc_statistics_t st, tst;
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == live && st.size_in_use == live_bytes && st.size_allocated > 0,
          "statistics %u/%zu", st.blocks_in_use, st.size_in_use);
    z->introspect->task_statistics(0, (vm_address_t)z, reader, &tst);
    CHECK(tst.blocks_in_use == st.blocks_in_use && tst.size_in_use == st.size_in_use,
          "task_statistics");
    z->introspect->print(z, 0);
    for (unsigned i = 0; i < ENUM_N; i++)
        if (i % 3) z->free(z, ptrs[i]);
    z->introspect->statistics(z, &st);
    CHECK(st.blocks_in_use == 0 && st.size_in_use == 0, "after free-all %u", st.blocks_in_use);
    CHECK(z->pressure_relief(z, 0) == 0, "immediate policy leaves nothing to relieve");
    z->destroy(z);
}

/* ---- fork ---------------------------------------------------------------------------------- */

static void test_fork(malloc_zone_t *z)
{
    void *before = z->malloc(z, 80);
    z->introspect->force_lock(z);
    pid_t pid = fork();
    if (pid == 0) {
        z->introspect->reinit_lock(z);
        /* libmalloc's fork child (src/nanov2_malloc.c:2645-2816): new blocks
         * from the helper, nano blocks keep their size, frees of them leak. */
        int bad = 0;
        for (int i = 0; i < 5000; i++) {
            void *p = z->malloc(z, 1 + i % 256);
            bad += !p || zt_nano_contains(p);
            z->free(z, p);
        }
        bad += z->size(z, before) != 80;
        z->free(z, before);
        bad += z->size(z, before) != 80; /* leaked, still live */
        void *q = z->realloc(z, before, 40);
        bad += !q || q == before || zt_nano_contains(q) || z->size(z, before) != 80;
        z->free(z, q);
        bad += !z->claimed_address(z, (void *)16);
        _exit(bad ? 3 : 0);
    }
    z->introspect->force_unlock(z);
    int status = 0;
    REQUIRE(pid > 0, "fork");
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child status %#x", status);
    z->free(z, before);
}

int main(void)
{
    under_valgrind = getenv("ZT_UNDER_VALGRIND") != NULL;
    REQUIRE(zt_chunkmap_init(), "chunk map");
    const zt_profile_t *ios = zt_profile_find("ios12-2gb");
    REQUIRE(ios && ios->nano == ZT_NANO_SINGLE, "ios12-2gb profile");
    zt_active_profile = *ios;
#ifndef NANO_TEST_FAKE_HELPER
    REQUIRE(zt_va_init(&zt_active_profile, 0), "zt_va_init");
#endif
    malloc_zone_t *z = make_nano(&zt_active_profile);
    CHECK_CASE("zone shape")
    {
        test_shape(z);
    }
    CHECK_CASE("capacity")
    {
        test_capacity(z, &zt_active_profile);
    }
    CHECK_CASE("basic semantics")
    {
        test_basic(z);
    }
    CHECK_CASE("threads")
    {
        test_threads(z);
    }
    CHECK_CASE("fork")
    {
        test_fork(z);
    }

    CHECK_CASE("delegation")
    {
        /* On a fresh zone; lighter under valgrind (one unit for 32 B). */
        zt_profile_t light = zt_active_profile;
        if (under_valgrind) {
            light.nano_class_units[0] += light.nano_class_units[1] - 1;
            light.nano_class_units[1] = 1;
        }
        malloc_zone_t *zd = make_nano(&light);
        test_delegation(zd);
        zd->destroy(zd);
    }

    CHECK_CASE("16 B class filled")
    {
        /* A million objects: 0.1 s natively, about 8 s under valgrind. */
        test_fill_16(&zt_active_profile);
    }

    CHECK_CASE("emptied blocks madvised and restarted")
    {
        malloc_zone_t *zr = make_nano(&zt_active_profile);
        test_reuse(zr);
        zr->destroy(zr);
    }

    CHECK_CASE("more regions (macOS-like)")
    {
        test_multi(zt_profile_find("native"));
    }
    CHECK_CASE("enumeration and walk")
    {
        test_enumeration(&zt_active_profile);
    }
    return CHECK_DONE("test_nano");
}
