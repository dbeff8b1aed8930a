/* ----------------------------------------------------------------------------
 * fuzz_jetsam.c — libFuzzer target for the JSON parser (json.c) and the
 * JetsamEvent reader (jetsam.c): any byte string must be either rejected
 * with a one-line message or read into a report whose every string is
 * terminated and whose footprints are rpages × page size, without crashing,
 * reading out of bounds or leaking (the sanitizers watch). Built by CMake
 * as build/fuzz_jetsam when clang is available.
 * -------------------------------------------------------------------------- */
#include "jetsam.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static volatile size_t sink; /* keeps the reads */

static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_jetsam_report_t r;
    char err[512];
    zt_jetsam_status_t st =
        zt_jetsam_read_buffer((const char *)data, size, "fuzz.ips", &r, err, sizeof err);
    if (st != ZT_JETSAM_OK) {
        if (err[0] == 0 || strchr(err, '\n')) __builtin_trap(); /* one line, saying why */
        return 0;
    }
    size_t n = touch(r.os_version) + touch(r.build) + touch(r.product) + touch(r.date) +
               touch(r.kernel) + touch(r.largest);
    if (r.page_bytes < 4096 || r.page_bytes > 65536 || (r.page_bytes & (r.page_bytes - 1)))
        __builtin_trap();
    for (size_t i = 0; i < r.nprocs; i++) {
        const zt_jetsam_proc_t *p = &r.procs[i];
        n += touch(p->name) + touch(p->reason) + touch(p->states);
        if (p->footprint_bytes != p->rpages * r.page_bytes) __builtin_trap();
    }
    zt_jetsam_free(&r);
    sink += n;
    return 0;
}
