/* ----------------------------------------------------------------------------
 * host.h — the few facts about the reading machine the CLI asks itself
 * (host.c), so that it needs nothing from the allocator's OS layer
 * (zone/prim/): the CLI links no allocator code.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CLI_HOST_H
#define ZT_CLI_HOST_H

#include <stdbool.h>
#include <stdint.h>

/* Wall clock, nanoseconds since the Unix epoch. */
uint64_t zt_host_wall_ns(void);

/* The reading host is a Darwin system (its signal numbers are Darwin's). */
bool zt_host_darwin(void);

#endif /* ZT_CLI_HOST_H */
