/* ----------------------------------------------------------------------------
 * host.h — the few facts about the reading machine the CLI asks itself
 * (host.c), so that it needs nothing from the allocator's OS layer
 * (zone/prim/): the CLI links no allocator code.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CLI_HOST_H
#define ZT_CLI_HOST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, nanoseconds since the Unix epoch. */
uint64_t zt_host_wall_ns(void);

/* The reading host is a Darwin system (its signal numbers are Darwin's). */
bool zt_host_darwin(void);

/* "zonetrace: <message>\n" on stderr (zt_cli_error's, the tables'). */
void zt_host_vmessage(const char *fmt, va_list ap);

/* The host's number of the signal named `name` without "SIG" ("SEGV"), 0
 * when it has none. */
int zt_host_signal_named(const char *name);

/* What the shared tables (zone/options.c, profile.c, sizeclass.c) ask the
 * OS, answered with libc for the CLI: host_tables.h renames their
 * zt_prim_* calls to these when the tables are compiled for the CLI. */
const char *zt_host_getenv(const char *name);
int zt_host_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void zt_host_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int zt_host_signal_number(const char *name); /* "USR1", "SIGUSR1", "10"; 0 = none */
size_t zt_host_page_bytes(void);

#endif /* ZT_CLI_HOST_H */
