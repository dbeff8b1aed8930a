/* ----------------------------------------------------------------------------
 * test_device_nano_1gb.c — the 1 GiB iPhone (iphone6, alias ios12-1gb)
 * serves requests up to 256 B from nano, as every iOS 12 device does.
 *
 * libmalloc-166.220.1 has no RAM test for nano: nano v2 is engaged when
 * the spawner passes MallocNanoZone=1 (src/nano_malloc_common.c:73-115);
 * the <= 1 GB disable is iOS 11's libmalloc-140 only (140.50.6
 * src/platform.h:99-105, src/nano_malloc.c:2038-2044). xnu-4903.221.2 adds
 * MallocNanoZone=1 for _POSIX_SPAWN_NANO_ALLOCATOR with no RAM test
 * (bsd/kern/kern_exec.c:4311-4395) and keeps the 512 MiB past the shared
 * region, where the nano region goes, on <= 1 GiB devices
 * (osfmk/arm/pmap.c:9874-9888). Whether the closed-source spawner
 * withholds the flag on 1 GiB devices is unknown (profile.c).
 *
 * A 32 B block's zone is the nano zone ("DefaultMallocZone" fronting the
 * "MallocHelperZone", libmalloc-166.220.1 src/nanov2_malloc.c), a 257 B
 * one's the helper; with ZONETRACE_NANO=off the 32 B block is the scalable
 * zone's, so the check can fail.
 * -------------------------------------------------------------------------- */
#include "nano.h"
#include "profile.h"
#include "zonetrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

/* In the child: what zone a 32 B and a 257 B block come from. */
static int child(void)
{
    zt_install();
    const char *nano_env = getenv("ZONETRACE_NANO");
    bool want_nano = !(nano_env && strcmp(nano_env, "off") == 0);
    char name[64];
    snprintf(name, sizeof name, "test_device_nano_1gb %.12s%s", getenv("ZONETRACE_DEVICE"),
             want_nano ? "" : " nano=off");
    CHECK_NAME(name);
    CHECK_CASE("the row: iPhone 6, 1 GiB, nano single")
    {
        CHECK(strcmp(zt_active_profile.name, "iphone6") == 0, "profile %s", zt_active_profile.name);
        CHECK(zt_active_profile.ram_bytes == (1ull << 30), "RAM %llu",
              (unsigned long long)zt_active_profile.ram_bytes);
        CHECK(zt_active_profile.nano == (want_nano ? ZT_NANO_SINGLE : ZT_NANO_OFF), "nano mode %d",
              (int)zt_active_profile.nano);
    }
    CHECK_CASE("<= 256 B from nano, 257 B from the helper")
    {
        for (size_t n = 1; n <= 257; n += (n < 32 ? 31 : n < 256 ? 224 : 1)) {
            void *p = malloc(n);
            REQUIRE(p != NULL, "malloc(%zu)", n);
            malloc_zone_t *z = malloc_zone_from_ptr(p);
            const char *zn = z ? malloc_get_zone_name(z) : "(none)";
            bool in_nano = zt_nano_contains(p);
            bool want = want_nano && n <= 256;
            CHECK(in_nano == want, "%zu B at %p: in nano %d, want %d (zone %s)", n, p, in_nano,
                  want, zn);
            if (want)
                CHECK(z && strcmp(zn, "DefaultMallocZone") == 0 && z == malloc_default_zone() &&
                          malloc_size(p) == (n + 15) / 16 * 16,
                      "%zu B: zone %s, size %zu", n, zn, malloc_size(p));
            free(p);
        }
    }
    return CHECK_DONE(name);
}

static bool spawn(const char *device, const char *nano)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ZONETRACE_DEVICE", device, 1);
        if (nano)
            setenv("ZONETRACE_NANO", nano, 1);
        else
            unsetenv("ZONETRACE_NANO");
        execl("/proc/self/exe", "test_device_nano_1gb", "--child", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "--child") == 0) return child();
    CHECK_CASE("iphone6: nano serves <= 256 B")
    {
        CHECK(spawn("iphone6", NULL), "the iphone6 child failed");
    }
    CHECK_CASE("ios12-1gb (the alias) is the same device")
    {
        CHECK(spawn("ios12-1gb", NULL), "the ios12-1gb child failed");
    }
    CHECK_CASE("ZONETRACE_NANO=off: the scalable zone serves them")
    {
        CHECK(spawn("iphone6", "off"), "the nano=off child failed");
    }
    return CHECK_DONE("test_device_nano_1gb");
}
