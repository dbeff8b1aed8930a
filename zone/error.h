/* ----------------------------------------------------------------------------
 * error.h — reporting misuse of the allocator in libmalloc's words, on
 * libmalloc's two paths:
 * - free() / realloc() of a pointer no zone owns (a double free included,
 *   since a freed block has size 0): "<prog>(<pid>,<thread>) malloc: *** error
 *   for object 0x…: pointer being freed was not allocated";
 * - a zone's own free (malloc_zone_free): the allocator's message, e.g.
 *   "Double free of object 0x…" (tiny), "double free for ptr 0x…" (small,
 *   medium), "pointer 0x… being freed already on death-row" (large);
 * then "*** set a breakpoint in malloc_error_break to debug", a call to
 * malloc_error_break, and abort() unless ZONETRACE_ON_ERROR=report.
 * -------------------------------------------------------------------------- */
#ifndef ZT_ERROR_H
#define ZT_ERROR_H

#include "zone.h"

enum zt_bad_free { ZT_BAD_NOT_ALLOCATED, ZT_BAD_FREED_TWICE, ZT_BAD_REALLOC_NOT_ALLOCATED };

/* Never returns when on_error=abort. `caller` is the return address of the
 * public entry point (__builtin_return_address(0) there), or NULL. The
 * allocator is unknown: the zone-path wording is the generic one. */
void zt_error_bad_free(enum zt_bad_free what, const void *ptr, const void *caller);

/* Same, naming the allocator (enum zt_kind) that found the misuse, which
 * picks libmalloc's per-allocator message on the zone path. */
void zt_error_bad_free_kind(enum zt_bad_free what, int kind, const void *ptr, const void *caller);

/* "image+0xoffset" for a code address (the image's file name, the offset
 * from its load bias, as a symbolizer wants it), or "0x…" when no loaded
 * image holds it. Allocates nothing (dl_iterate_phdr). Returns the length. */
int zt_error_describe_pc(char *buf, size_t cap, const void *pc);

/* A region or large block could not be mapped (heap address space
 * exhausted): libmalloc's report of its failed mach_vm_map, written only
 * where libmalloc writes it (MallocDebugReport, else stderr when it is a
 * terminal), then malloc_error_break; never aborts. `kind` is an enum
 * zt_kind, `bytes` the size asked for. */
void zt_error_map_failed(int kind, size_t bytes);

/* xzone could not map a segment: libmalloc-792.41.1's warning, once per
 * process: "Failed to allocate segment from range group - out of space"
 * (src/xzone_malloc/xzone_segment.c:566-571). */
void zt_error_xzone_out_of_space(void);

/* Corrupted metadata detected (free-list checksum, header): always aborts. */
__attribute__((noreturn)) void zt_error_corruption(const char *what, const void *where);

/* Caller address of the current public entry point, set by the front end so
 * that errors found deep inside a zone can name the user's call site. */
extern __thread const void *zt_error_caller __attribute__((tls_model("initial-exec")));

/* Non-zero while a public malloc_zone_free / malloc_zone_realloc runs a
 * zone's own free or realloc: errors found then take the zone's words
 * (libmalloc's malloc_zone_error) instead of free()'s (malloc_report). */
extern __thread int zt_error_zone_call __attribute__((tls_model("initial-exec")));

/* libmalloc's breakpoint hook, exported on every system (libmalloc-166.220.1
 * src/malloc.c:563-570); zt_error_break is kept as an alias for old scripts. */
void malloc_error_break(void);

#endif /* ZT_ERROR_H */
