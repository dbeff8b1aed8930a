/* ----------------------------------------------------------------------------
 * error.h — reporting misuse of the allocator the way libmalloc does:
 * "zonetrace: pointer 0x… being freed was not allocated" (or "…freed twice")
 * with the caller's address, then abort() unless ZONETRACE_ON_ERROR=report.
 * -------------------------------------------------------------------------- */
#ifndef ZT_ERROR_H
#define ZT_ERROR_H

#include "zone.h"

enum zt_bad_free { ZT_BAD_NOT_ALLOCATED, ZT_BAD_FREED_TWICE, ZT_BAD_REALLOC_NOT_ALLOCATED };

/* Never returns when on_error=abort. `caller` is the return address of the
 * public entry point (__builtin_return_address(0) there), or NULL. */
void zt_error_bad_free(enum zt_bad_free what, const void *ptr, const void *caller);

/* Corrupted metadata detected (free-list checksum, header): always aborts. */
__attribute__((noreturn)) void zt_error_corruption(const char *what, const void *where);

/* Caller address of the current public entry point, set by the front end so
 * that errors found deep inside a zone can name the user's call site. */
extern __thread const void *zt_error_caller __attribute__((tls_model("initial-exec")));

#endif /* ZT_ERROR_H */
