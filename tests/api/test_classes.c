/* ----------------------------------------------------------------------------
 * test_classes.c — every request size lands in libmalloc's class for every
 * device profile: the kind (nano/tiny/small/medium/large, observed through
 * the chunk map), malloc_size() and malloc_good_size() all equal a block
 * size computed here from libmalloc's rules (reference/libmalloc.md §1),
 * independently of zone/sizeclass.c.
 *
 * The profile is fixed at initialisation, so the parent re-executes itself
 * once per profile (and once with nano off) with ZONETRACE_DEVICE set.
 * Sizes: 0..64 KiB step 1, then to 2 MiB every 4 KiB ± 1, and the 8 MiB
 * medium/large boundary.
 * -------------------------------------------------------------------------- */
#include "zone.h"
#include "chunkmap.h"
#include "zonetrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* libmalloc's limits per device, written out rather than read from the
 * library: page (0 = host), nano, small/large cutoff, medium. */
static const struct expect {
    const char *name;
    size_t page;
    bool nano;
    size_t small_limit;
    bool medium;
    int xzone; /* 1: xzone (libmalloc-792.41.1 src/xzone_malloc/) behind nano or alone */
} expects[] = {
    {"native", 0, true, 32u << 10, true},
    {"macos15-arm64", 16u << 10, true, 32u << 10, true},
    /* A8/A8X: 4 KiB pages (xnu-4903.221.2 osfmk/arm/proc_reg.h: no
     * __ARM_16K_PG__ on Typhoon); nano on the 1 GiB device too (profile.c). */
    {"iphone6", 4u << 10, true, 15u << 10, false},
    {"iphone6s-plus", 16u << 10, true, 15u << 10, false},
    {"iphone7-plus", 16u << 10, true, 15u << 10, false},
    {"iphone8", 16u << 10, true, 15u << 10, false},
    {"iphonex", 16u << 10, true, 15u << 10, false},
    {"iphonexs", 16u << 10, true, 15u << 10, false},
    {"ipad-air2", 4u << 10, true, 15u << 10, false},
    {"iphone12-ios17.5", 16u << 10, true, 15u << 10, false},
    /* xzone: 40 bins to 32 KiB, then 16 KiB slices (xzone_malloc.h:19-38) */
    {"iphone15-ios18.2", 16u << 10, true, 0, false, 1},
    {"iphone12-ios18.6", 16u << 10, false, 0, false, 1},
    {"iphone13-pro-ios18.6", 16u << 10, false, 0, false, 1},
    {"iphone15-pro-ios18.6", 16u << 10, false, 0, false, 1},
    {"iphone12-ios26", 16u << 10, false, 0, false, 1},
    {"iphone13-pro-ios26", 16u << 10, false, 0, false, 1},
    {"iphone15-pro-ios26", 16u << 10, false, 0, false, 1},
};

static const char *const kind_names[] = {"nano",  "tiny",    "small",     "medium",
                                         "large", "xz-data", "xz-pointer"};

static size_t round_up(size_t n, size_t q)
{
    return (n + q - 1) / q * q;
}

/* The class rule: inclusive limits; 0 bytes is one quantum. */
static int expected(const struct expect *e, bool nano, size_t n, size_t *block)
{
    size_t page = e->page ? e->page : (size_t)sysconf(_SC_PAGESIZE);
    size_t q16 = n == 0 ? 16 : round_up(n, 16);
    if (nano && n <= 256) {
        *block = q16;
        return ZT_KIND_NANO;
    }
    if (e->xzone) {
        /* Four bins per power of two above 128 B (xzone_malloc.c:24-40,
         * 6060-6101), written as a rounding: n in (2^k, 2^(k+1)] rounds up to
         * a multiple of 2^(k-2). Larger: whole 16 KiB slices; huge chunks
         * (> 2 MiB) are XZ_DATA segments of their own, the rest XZ_PTR or, from
         * the early arena, XZ_DATA (the caller accepts both). */
        if (n <= 128) {
            *block = q16;
        } else if (n <= (32u << 10)) {
            unsigned k = 63u - (unsigned)__builtin_clzl(n - 1);
            *block = round_up(n, (size_t)1 << (k - 2));
        } else {
            *block = round_up(n, 16u << 10);
            return ZT_KIND_XZ_DATA;
        }
        return ZT_KIND_XZ_PTR;
    }
    if (n <= 1008) {
        *block = q16;
        return ZT_KIND_TINY;
    }
    if (n <= e->small_limit) {
        *block = round_up(n, 512);
        return ZT_KIND_SMALL;
    }
    if (e->medium && n <= (8u << 20)) {
        *block = round_up(n, 32u << 10);
        return ZT_KIND_MEDIUM;
    }
    *block = round_up(n, page);
    return ZT_KIND_LARGE;
}

#include "../check.h"

static void check_size(const struct expect *e, bool nano, size_t n)
{
    size_t want_block;
    int want_kind = expected(e, nano, n, &want_block);
    void *p = malloc(n);
    CHECK(p != NULL, "%s: malloc(%zu) returned NULL", e->name, n);
    if (!p) return;
    zt_owner_t *o = zt_chunkmap_get(p);
    int kind = o ? o->kind : ZT_KIND_LARGE;
    if (e->xzone && ZT_KIND_IS_XZ(kind) && ZT_KIND_IS_XZ(want_kind))
        kind = want_kind; /* the group depends on the bucket, not the size */
    size_t got_block = malloc_size(p), good = malloc_good_size(n);
    size_t page = e->page ? e->page : (size_t)sysconf(_SC_PAGESIZE);
    bool aligned = kind != ZT_KIND_LARGE || ((uintptr_t)p & (page - 1)) == 0;
    CHECK(kind == want_kind && got_block == want_block && good == want_block && aligned &&
              malloc_zone_from_ptr(p) == malloc_default_zone(),
          "%s%s: %zu B: kind %s (want %s), malloc_size %zu, good_size %zu (want "
          "%zu), ptr %p, zone %s",
          e->name, nano ? "" : " nano=off", n, kind_names[kind], kind_names[want_kind], got_block,
          good, want_block, p,
          malloc_zone_from_ptr(p) == malloc_default_zone() ? "default" : "OTHER");
    free(p);
}

static int run_child(const char *device)
{
    /* An alias (ios12-2gb) or a model (iPhone8,2) runs its row. */
    const zt_profile_t *row = zt_profile_find(device);
    REQUIRE(row != NULL, "no profile is called %s", device);
    device = row->name;
    const struct expect *e = NULL;
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++)
        if (strcmp(expects[i].name, device) == 0) e = &expects[i];
    REQUIRE(e != NULL, "profile %s has no expectation row in this test", device);
    zt_install(); /* the profile is chosen at initialisation */
    const char *nano_env = getenv("ZONETRACE_NANO");
    bool nano = e->nano && !(nano_env && strcmp(nano_env, "off") == 0);
    REQUIRE(strcmp(zt_active_profile.name, device) == 0, "active profile is %s, want %s",
            zt_active_profile.name, device);
    char name[64];
    snprintf(name, sizeof name, "test_classes %s%s", device, nano ? "" : " nano=off");
    CHECK_NAME(name);
    CHECK_CASE("every size in its class")
    {
        for (size_t n = 0; n <= (64u << 10); n++)
            check_size(e, nano, n);
        for (size_t n = 68u << 10; n <= (2u << 20); n += 4u << 10) {
            check_size(e, nano, n - 1);
            check_size(e, nano, n);
            check_size(e, nano, n + 1);
        }
        static const size_t edges[] = {(8u << 20) - 1,    8u << 20,          (8u << 20) + 1,
                                       (8u << 20) + 4096, (15u << 10) + 512, (32u << 10) + 1,
                                       127u << 10};
        for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
            check_size(e, nano, edges[i]);
    }
    return CHECK_DONE(name);
}

/* Runs this program as the child for device; true if it exited 0. */
static bool spawn(const char *self, const char *device, const char *nano)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ZONETRACE_DEVICE", device, 1);
        if (nano)
            setenv("ZONETRACE_NANO", nano, 1);
        else
            unsetenv("ZONETRACE_NANO");
        execl(self, self, "--child", device, (char *)NULL);
        perror("execl");
        _exit(127);
    }
    int status;
    bool waited = pid >= 0 && waitpid(pid, &status, 0) == pid;
    CHECK(waited, "could not run the child for %s", device);
    if (!waited) return false;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child for %s%s ended with status 0x%x",
          device, nano ? " nano=off" : "", status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return run_child(argv[2]);
    int n = 0;
    for (const zt_profile_t *p = zt_profiles; p->name; p++, n++)
        CHECK_CASE(p->name)
        {
            spawn("/proc/self/exe", p->name, NULL);
        }
    CHECK_CASE("native nano=off")
    {
        spawn("/proc/self/exe", "native", "off");
    }
    CHECK_CASE("ios12-2gb nano=off")
    {
        spawn("/proc/self/exe", "ios12-2gb", "off");
    }
    for (const zt_profile_alias_t *a = zt_profile_aliases; a->alias; a++)
        CHECK_CASE(a->alias)
        {
            spawn("/proc/self/exe", a->alias, NULL);
        }
    CHECK_CASE("a model names its row: iPhone8,2")
    {
        spawn("/proc/self/exe", "iPhone8,2", NULL);
    }
    CHECK_CASE("every profile has an expectation row")
    {
        CHECK(n == (int)(sizeof expects / sizeof expects[0]),
              "%d profiles in the library, %zu in this test", n,
              sizeof expects / sizeof expects[0]);
    }
    return CHECK_DONE("test_classes");
}
