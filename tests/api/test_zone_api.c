/* ----------------------------------------------------------------------------
 * test_zone_api.c — the libmalloc-compatible zone API (reference/libmalloc.md
 * §4, §5, §7): default-zone identity, created zones, statistics, the
 * enumerator, zone names, the malloc_logger protocol, pressure relief,
 * register/unregister, misuse reports, and overflow handling.
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

static unsigned zone_count(void)
{
    vm_address_t *addrs;
    unsigned n = 0;
    malloc_get_all_zones(0, NULL, &addrs, &n);
    return n;
}

static bool zone_registered(malloc_zone_t *z)
{
    vm_address_t *addrs;
    unsigned n = 0;
    malloc_get_all_zones(0, NULL, &addrs, &n);
    for (unsigned i = 0; i < n; i++)
        if ((malloc_zone_t *)addrs[i] == z) return true;
    return false;
}

/* ---- default zone identity ------------------------------------------------- */

static void test_default_zone(void)
{
    malloc_zone_t *dz = malloc_default_zone();
    vm_address_t *addrs;
    unsigned n = 0;
    CHECK(malloc_get_all_zones(0, NULL, &addrs, &n) == KERN_SUCCESS && n >= 1, "n=%u", n);
    malloc_zone_t *z0 = (malloc_zone_t *)addrs[0];
    CHECK(dz != z0, "the default zone must be the virtual zone, not zones[0]");
    CHECK(strcmp(malloc_get_zone_name(z0), "DefaultMallocZone") == 0, "zone 0 is %s",
          malloc_get_zone_name(z0));
    if (n >= 2 && strcmp(getenv("ZONETRACE_NANO") ? getenv("ZONETRACE_NANO") : "", "off") != 0)
        CHECK(strcmp(malloc_get_zone_name((malloc_zone_t *)addrs[1]), "MallocHelperZone") == 0,
              "zone 1 is %s", malloc_get_zone_name((malloc_zone_t *)addrs[1]));
    CHECK(dz->version >= 10 && dz->reserved1 == NULL && dz->reserved2 == NULL, "virtual zone");
    CHECK(z0->version == 10 && z0->reserved1 == NULL && z0->reserved2 == NULL, "zone 0 fields");
    static const size_t sizes[] = {1, 100, 300, 2000, 20000, 100000, 1u << 20, 10u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        CHECK(malloc_zone_from_ptr(p) == dz, "malloc(%zu) not from the default zone", sizes[i]);
        CHECK(malloc_size(p) >= sizes[i], "malloc_size(%zu) = %zu", sizes[i], malloc_size(p));
        CHECK(malloc_claimed_address(p), "claimed_address(%zu)", sizes[i]);
        free(p);
    }
    int local;
    static char global[64];
    CHECK(malloc_zone_from_ptr(NULL) == NULL, "NULL");
    CHECK(malloc_zone_from_ptr(&local) == NULL, "stack pointer");
    CHECK(malloc_zone_from_ptr(global) == NULL, "static pointer");
    CHECK(malloc_zone_from_ptr("literal") == NULL, "string literal");
    CHECK(malloc_size(&local) == 0 && malloc_size(global) == 0, "foreign size");
    CHECK(malloc_usable_size(NULL) == 0, "usable NULL");
    CHECK(malloc_good_size(0) == 16 && malloc_good_size(100) == 112 &&
              malloc_good_size(1009) == 1024,
          "good sizes %zu %zu %zu", malloc_good_size(0), malloc_good_size(100),
          malloc_good_size(1009));
    CHECK(malloc_zone_check(NULL), "check");

    /* Zone API on the default zone. */
    void *p = malloc_zone_malloc(dz, 50);
    void *q = malloc_zone_calloc(dz, 10, 10);
    void *r = malloc_zone_memalign(dz, 4096, 100);
    void *v = malloc_zone_valloc(dz, 100);
    CHECK(p && q && r && v, "zone allocations");
    CHECK(((uintptr_t)r & 4095) == 0 && ((uintptr_t)v & (sysconf(_SC_PAGESIZE) - 1)) == 0,
          "alignment %p %p", r, v);
    for (int i = 0; i < 100; i++)
        CHECK(((char *)q)[i] == 0, "calloc not zero");
    p = malloc_zone_realloc(dz, p, 5000);
    CHECK(p && malloc_size(p) >= 5000, "realloc");
    CHECK(malloc_zone_memalign(dz, 3, 10) == NULL, "bad alignment accepted");
    malloc_zone_free(dz, p);
    malloc_zone_free(dz, q);
    malloc_zone_free(dz, r);
    free(v);

    void *batch[40];
    unsigned got = malloc_zone_batch_malloc(dz, 32, batch, 40);
    CHECK(got > 0, "batch_malloc got %u", got);
    for (unsigned i = 0; i < got; i++)
        memset(batch[i], 0xab, 32);
    malloc_zone_batch_free(dz, batch, got);
}

/* ---- created zones, statistics, enumerator, names ---------------------------- */

#define NBLOCKS 300
static void *blocks[NBLOCKS];
static size_t block_sizes[NBLOCKS];
static bool seen[NBLOCKS];
static unsigned n_in_use, n_regions, n_admin, max_batch, bad_types;

static void recorder(task_t task, void *ctx, unsigned type, vm_range_t *ranges, unsigned count)
{
    if (count > max_batch) max_batch = count;
    for (unsigned i = 0; i < count; i++) {
        if (type == MALLOC_PTR_IN_USE_RANGE_TYPE) {
            n_in_use++;
            for (int b = 0; b < NBLOCKS; b++)
                if (ranges[i].address == (vm_address_t)blocks[b] &&
                    ranges[i].size >= block_sizes[b])
                    seen[b] = true;
        } else if (type == MALLOC_PTR_REGION_RANGE_TYPE) {
            n_regions++;
        } else if (type == MALLOC_ADMIN_REGION_RANGE_TYPE) {
            n_admin++;
        } else {
            bad_types++;
        }
    }
}

static unsigned reader_calls;
static kern_return_t reader(task_t task, vm_address_t addr, vm_size_t size, void **local)
{
    reader_calls++;
    *local = (void *)addr;
    return KERN_SUCCESS;
}

static void test_created_zone(void)
{
    unsigned before = zone_count();
    malloc_zone_t *z = malloc_create_zone(0, 0);
    CHECK(z != NULL, "malloc_create_zone");
    if (!z) return;
    CHECK(zone_count() == before + 1 && zone_registered(z), "created zone registered");
    CHECK(z->version == 10 && z->introspect && z->introspect->statistics &&
              z->introspect->reinit_lock && z->introspect->force_lock &&
              z->introspect->enumerator && z->introspect->good_size,
          "introspection filled");

    malloc_statistics_t s0, s1;
    malloc_zone_statistics(z, &s0);
    size_t total = 0;
    for (int i = 0; i < NBLOCKS; i++) {
        block_sizes[i] = i % 10 == 9 ? 40000 + (size_t)i * 1000 : 1 + (size_t)i * 37 % 3000;
        blocks[i] = malloc_zone_malloc(z, block_sizes[i]);
        CHECK(blocks[i] != NULL, "zone malloc");
        memset(blocks[i], i, block_sizes[i]);
        total += malloc_size(blocks[i]);
        CHECK(malloc_zone_from_ptr(blocks[i]) == z, "from_ptr of a created-zone block");
    }
    malloc_zone_statistics(z, &s1);
    CHECK(s1.blocks_in_use == s0.blocks_in_use + NBLOCKS, "blocks_in_use %u -> %u",
          s0.blocks_in_use, s1.blocks_in_use);
    CHECK(s1.size_in_use >= s0.size_in_use + total - total / 50, "size_in_use %zu -> %zu (+%zu)",
          s0.size_in_use, s1.size_in_use, total);
    CHECK(s1.size_allocated >= s1.size_in_use, "size_allocated %zu", s1.size_allocated);

    malloc_statistics_t all;
    malloc_zone_statistics(NULL, &all);
    CHECK(all.blocks_in_use >= s1.blocks_in_use, "NULL statistics sum all zones");

    /* Enumerator through the reader/recorder protocol. */
    kern_return_t kr =
        z->introspect->enumerator(0, NULL,
                                  MALLOC_PTR_IN_USE_RANGE_TYPE | MALLOC_PTR_REGION_RANGE_TYPE |
                                      MALLOC_ADMIN_REGION_RANGE_TYPE,
                                  (vm_address_t)z, reader, recorder);
    CHECK(kr == KERN_SUCCESS, "enumerator returned %d", kr);
    int missing = 0;
    for (int i = 0; i < NBLOCKS; i++)
        missing += !seen[i];
    CHECK(missing == 0, "%d blocks not enumerated", missing);
    CHECK(n_in_use == NBLOCKS, "%u in-use ranges for %d blocks", n_in_use, NBLOCKS);
    CHECK(n_regions >= 2, "%u regions", n_regions);
    CHECK(max_batch <= 256 && bad_types == 0, "batch %u, bad types %u", max_batch, bad_types);
    CHECK(reader_calls >= 1, "reader not used");
    unsigned regions_all = n_regions;
    n_in_use = n_regions = n_admin = 0;
    kr = z->introspect->enumerator(0, NULL, MALLOC_PTR_REGION_RANGE_TYPE, (vm_address_t)z, NULL,
                                   recorder);
    CHECK(kr == KERN_SUCCESS && n_in_use == 0 && n_regions == regions_all,
          "type mask: %u in use, %u regions", n_in_use, n_regions);

    /* realloc / free through the generic entry points find the zone. */
    blocks[0] = realloc(blocks[0], 5000);
    CHECK(blocks[0] && malloc_zone_from_ptr(blocks[0]) == z, "realloc stays in the zone");
    for (int i = 1; i < NBLOCKS; i++) {
        unsigned char *b = blocks[i];
        bool ok = true;
        for (size_t k = 0; k < block_sizes[i]; k++)
            ok &= b[k] == (unsigned char)i;
        CHECK(ok, "content of block %d", i);
        if (i % 2)
            free(blocks[i]);
        else
            malloc_zone_free(z, blocks[i]);
    }
    free(blocks[0]);
    malloc_zone_statistics(z, &s1);
    CHECK(s1.blocks_in_use == s0.blocks_in_use, "blocks after free %u", s1.blocks_in_use);

    /* Names: allocated from the zone itself; the zone page becomes read-only. */
    CHECK(malloc_get_zone_name(z) == NULL, "a new zone has no name");
    malloc_set_zone_name(z, "test zone");
    const char *name = malloc_get_zone_name(z);
    CHECK(name && strcmp(name, "test zone") == 0, "name %s", name ? name : "(null)");
    CHECK(malloc_zone_from_ptr(name) == z, "the name is allocated from the zone");
    malloc_set_zone_name(z, "renamed");
    CHECK(strcmp(malloc_get_zone_name(z), "renamed") == 0, "rename");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile unsigned *)&z->version = 99; /* must fault: the page is read-only */
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
          "writing the named zone's page did not fault (status 0x%x)", status);

    /* Register / unregister. */
    before = zone_count();
    malloc_zone_register(z); /* duplicate: refused with a message */
    CHECK(zone_count() == before, "duplicate registration accepted");
    malloc_zone_unregister(z);
    CHECK(zone_count() == before - 1 && !zone_registered(z), "unregister");
    malloc_zone_register(z);
    CHECK(zone_count() == before && zone_registered(z), "re-register");

    CHECK(malloc_zone_pressure_relief(z, 0) < ((size_t)1 << 40), "pressure relief");
    CHECK(malloc_zone_check(z), "check");
    malloc_destroy_zone(z);
    CHECK(zone_count() == before - 1 && !zone_registered(z), "destroy unregisters");
}

/* ---- malloc_logger ----------------------------------------------------------- */

struct log_entry {
    uint32_t type;
    uintptr_t a1, a2, a3, result;
    uint32_t skip;
    size_t live_size; /* malloc_size(ptr) when a free was logged */
};
/* volatile: glibc declares malloc/free `leaf`, so without it the compiler may
 * assume they cannot reach this file's logger and cache these. */
static struct log_entry entries[64];
static volatile unsigned n_entries;

static void logger(uint32_t type, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t result,
                   uint32_t skip)
{
    if (n_entries < 64) {
        struct log_entry *e = &entries[n_entries++];
        *e = (struct log_entry){type, a1, a2, a3, result, skip, 0};
        if (type & MALLOC_LOG_TYPE_DEALLOCATE && !(type & MALLOC_LOG_TYPE_ALLOCATE))
            e->live_size = malloc_size((void *)a2);
    }
}

static bool entry_is(unsigned i, uint32_t type, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                     uintptr_t result)
{
    if (i >= n_entries) return false;
    struct log_entry *e = &entries[i];
    return e->type == type && e->a1 == a1 && e->a2 == a2 && e->a3 == a3 && e->result == result &&
           e->skip == 0;
}

static void test_logger(void)
{
    uintptr_t dz = (uintptr_t)malloc_default_zone();
    enum {
        A = MALLOC_LOG_TYPE_ALLOCATE,
        D = MALLOC_LOG_TYPE_DEALLOCATE,
        Z = MALLOC_LOG_TYPE_HAS_ZONE,
        C = MALLOC_LOG_TYPE_CLEARED
    };
    CHECK(A == 2 && D == 4 && Z == 8 && C == 64, "flag values");
    n_entries = 0;
    malloc_logger = logger;
    char *p = malloc(40);
    char *q = calloc(3, 10);
    uintptr_t p_addr = (uintptr_t)p, q_addr = (uintptr_t)q;
    char *volatile r = realloc(p, 100);
    uintptr_t r_addr = (uintptr_t)r;
    free(q);
    void *big = malloc(100000);
    uintptr_t big_addr = (uintptr_t)big;
    free(big);
    void *fail = malloc((size_t)1 << 47); /* no such hole: fails, still logged */
    malloc_logger = NULL;
    free(r);

    CHECK(n_entries == 7, "%u log entries", n_entries);
    CHECK(entry_is(0, A | Z, dz, 40, 0, p_addr), "malloc entry");
    CHECK(entry_is(1, A | Z | C, dz, 30, 0, q_addr), "calloc entry");
    CHECK(entry_is(2, A | D | Z, dz, p_addr, 100, r_addr), "realloc entry");
    CHECK(entry_is(3, D | Z, dz, q_addr, 0, 0), "free entry");
    CHECK(entries[3].live_size >= 30, "free logged before the block was freed");
    CHECK(entry_is(4, A | Z, dz, 100000, 0, big_addr), "large malloc entry");
    CHECK(entry_is(5, D | Z, dz, big_addr, 0, 0), "large free entry");
    CHECK(fail == NULL && entry_is(6, A | Z, dz, (uintptr_t)1 << 47, 0, 0),
          "failed malloc logged with result 0");
}

/* ---- misuse and overflow --------------------------------------------------- */

/* Run `what` in a child with stderr captured; returns the wait status. */
static int run_child(const char *self, const char *what, const char *on_error, char *err,
                     size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        if (on_error)
            setenv("ZONETRACE_ON_ERROR", on_error, 1);
        else
            unsetenv("ZONETRACE_ON_ERROR");
        execl(self, self, what, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static int child_main(const char *what)
{
    if (strcmp(what, "bad-free") == 0) {
        static char not_heap[64];
        void *volatile bad = not_heap + 16; /* hide the misuse from the compiler */
        free(bad);
        return 0;
    }
    if (strcmp(what, "double-free") == 0) {
        void *keep = malloc(64); /* keep the block's region alive */
        void *volatile p = malloc(64);
        free(p);
        free(p);
        free(keep);
        return 0;
    }
    if (strcmp(what, "bad-realloc") == 0) {
        static char not_heap[64];
        void *volatile bad = not_heap + 8;
        void *r = realloc(bad, 100);
        return r == NULL ? 0 : 3;
    }
    return 2;
}

static void test_misuse(void)
{
    char err[4096];
    int st = run_child("/proc/self/exe", "bad-free", NULL, err, sizeof err);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "bad free did not abort (0x%x)", st);
    /* libmalloc-166.220.1 src/malloc.c:1739-1760, src/malloc_printf.c:100-112,169-170 */
    CHECK(strstr(err, " malloc: *** error for object 0x") &&
              strstr(err, ": pointer being freed was not allocated\n") &&
              strstr(err, " malloc: *** set a breakpoint in malloc_error_break to debug\n") &&
              /* zonetrace's line names the caller as image+offset (issue 14) */
              strstr(err, "zonetrace: called from ") && strstr(err, "+0x"),
          "message: %s", err);

    st = run_child("/proc/self/exe", "double-free", NULL, err, sizeof err);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "double free did not abort (0x%x)", st);
    CHECK(strstr(err, "*** error for object 0x") &&
              strstr(err, ": pointer being freed was not allocated"),
          "message: %s", err);

    st = run_child("/proc/self/exe", "bad-free", "report", err, sizeof err);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "report mode aborted (0x%x)", st);
    CHECK(strstr(err, "being freed was not allocated") != NULL, "report message: %s", err);

    st = run_child("/proc/self/exe", "bad-realloc", "report", err, sizeof err);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bad realloc in report mode (0x%x)", st);
    CHECK(strstr(err, "*** error for object 0x") &&
              strstr(err, ": pointer being realloc'd was not allocated") != NULL,
          "realloc message: %s", err);
}

static void test_overflow(void)
{
    volatile size_t half = SIZE_MAX / 2; /* keep the compiler from flagging the overflow */
    errno = 0;
    CHECK(calloc(half, 3) == NULL && errno == ENOMEM, "calloc overflow");
    errno = 0;
    CHECK(reallocarray(NULL, half, 3) == NULL && errno == ENOMEM, "reallocarray");
    void *volatile p = malloc(10);
    volatile size_t quarter = SIZE_MAX / 4, max = SIZE_MAX, max_page = SIZE_MAX - 4096;
    errno = 0;
    CHECK(reallocarray(p, quarter, 8) == NULL && errno == ENOMEM, "reallocarray of a block");
    CHECK(malloc_size(p) >= 10, "the block survives a failed reallocarray");
    free(p);
    errno = 0;
    CHECK(malloc(max) == NULL && errno == ENOMEM, "malloc(SIZE_MAX)");
    errno = 0;
    CHECK(malloc(max_page) == NULL && errno == ENOMEM, "malloc(SIZE_MAX - page)");
    errno = 0;
    CHECK(realloc(NULL, max) == NULL && errno == ENOMEM, "realloc(NULL, SIZE_MAX)");
    CHECK(malloc_zone_calloc(malloc_default_zone(), max, 2) == NULL, "zone calloc overflow");
    void *m;
    CHECK(posix_memalign(&m, 3, 10) == EINVAL && posix_memalign(&m, 4, 10) == EINVAL,
          "posix_memalign EINVAL");
    CHECK(posix_memalign(&m, 64, max - 10) == ENOMEM, "posix_memalign ENOMEM");
    errno = 0;
    CHECK(aligned_alloc(24, 48) == NULL && errno == EINVAL, "aligned_alloc EINVAL");

    /* realloc(p, 0) returns a minimal block and frees p (libmalloc). */
    p = malloc(500);
    void *z = realloc(p, 0);
    CHECK(z != NULL && malloc_size(z) == 16, "realloc(p, 0) = %p (size %zu)", z, malloc_size(z));
    free(z);

    /* free preserves errno. */
    p = malloc(10);
    errno = 1234;
    free(p);
    CHECK(errno == 1234, "free changed errno");
    struct mallinfo2 mi = mallinfo2();
    CHECK(mi.arena >= mi.uordblks, "mallinfo2");
    CHECK(mallopt(M_ARENA_MAX, 1) == 1, "mallopt");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2) return child_main(argv[1]);
    CHECK_CASE("install and version")
    {
        CHECK(zt_install() == 0 && strcmp(zt_version(), "0.1.0") == 0, "zt_install/zt_version");
    }
    CHECK_CASE("default zone identity")
    {
        test_default_zone();
    }
    CHECK_CASE("created zones, statistics, enumerator, names")
    {
        test_created_zone();
    }
    CHECK_CASE("malloc_logger")
    {
        test_logger();
    }
    CHECK_CASE("misuse reports")
    {
        test_misuse();
    }
    CHECK_CASE("overflow")
    {
        test_overflow();
    }
    return CHECK_DONE("test_zone_api");
}
