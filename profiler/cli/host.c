/* ----------------------------------------------------------------------------
 * host.c — the reading machine, for the CLI (host.h): its clock and its OS
 * family. The library asks zone/prim/ the same things; the CLI keeps its
 * own few calls here so it links no allocator or prim code
 * (tests/style/test_cli_independence.sh).
 * -------------------------------------------------------------------------- */
#include "host.h"

#include <time.h>

uint64_t zt_host_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool zt_host_darwin(void)
{
#ifdef __APPLE__
    return true;
#else
    return false;
#endif
}
