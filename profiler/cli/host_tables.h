/* ----------------------------------------------------------------------------
 * host_tables.h — force-included (-include) when the shared tables
 * (zone/options.c, zone/profile.c, zone/sizeclass.c) are compiled for the
 * CLI (CMake target zt_tables): their few OS needs, zt_prim_* calls in the
 * library, become the CLI's own host layer (host.c, libc). So the zonetrace
 * executable carries the option, device and size-class tables without any
 * of the allocator's OS layer (tests/style/test_cli_independence.sh).
 * -------------------------------------------------------------------------- */
#ifndef ZT_CLI_HOST_TABLES_H
#define ZT_CLI_HOST_TABLES_H

#define zt_prim_getenv        zt_host_getenv
#define zt_prim_snprintf      zt_host_snprintf
#define zt_prim_message       zt_host_message
#define zt_prim_signal_number zt_host_signal_number
#define zt_prim_page_bytes    zt_host_page_bytes

#endif /* ZT_CLI_HOST_TABLES_H */
