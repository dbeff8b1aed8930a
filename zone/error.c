/* ----------------------------------------------------------------------------
 * error.c — misuse reports in libmalloc's words ("pointer 0x… being freed
 * was not allocated"), the caller's address, and libmalloc's debugging hook:
 * a breakpoint on zt_error_break stops at every report. Runs inside free(),
 * possibly with nothing initialised: no malloc, no stdio.
 * -------------------------------------------------------------------------- */
#include "error.h"

#include <string.h>

__thread const void *zt_error_caller __attribute__((tls_model("initial-exec")));

/* Exported and never inlined so that `break zt_error_break` works. */
ZT_EXPORT __attribute__((noinline)) void zt_error_break(void)
{
    __asm__ volatile("" ::: "memory");
}

static bool report_only(void)
{
    const char *mode = zt_options.on_error;
    return mode && strcmp(mode, "report") == 0;
}

void zt_error_bad_free(enum zt_bad_free what, const void *ptr, const void *caller)
{
    static const char *const why[] = {
        [ZT_BAD_NOT_ALLOCATED] = "being freed was not allocated",
        [ZT_BAD_FREED_TWICE] = "being freed twice",
        [ZT_BAD_REALLOC_NOT_ALLOCATED] = "being realloc'd was not allocated",
    };
    const char *w = (unsigned)what < sizeof why / sizeof why[0] ? why[what] : "is invalid";
    if (caller)
        zt_prim_message("pointer %p %s (caller %p)", ptr, w, caller);
    else
        zt_prim_message("pointer %p %s", ptr, w);
    zt_error_break();
    if (report_only()) return;
    zt_prim_message("*** set a breakpoint in zt_error_break to debug; "
                    "ZONETRACE_ON_ERROR=report reports without aborting");
    zt_prim_abort();
}

void zt_error_corruption(const char *what, const void *where)
{
    const void *caller = zt_error_caller;
    zt_prim_message("heap corruption: %s at %p (caller %p)", what ? what : "?", where, caller);
    zt_error_break();
    zt_prim_abort();
}
