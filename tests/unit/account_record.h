/* ----------------------------------------------------------------------------
 * account_record.h — the record the account.c tests count into: a full-stacks
 * record file in /tmp named for the test and the process, zone 0 registered,
 * and one interned stack. Shared by test_account_reentry and
 * test_account_owner.
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_ACCOUNT_RECORD_H
#define ZT_TEST_ACCOUNT_RECORD_H

#include "internal.h"

#include <stdio.h>
#include <unistd.h>

#include "../check.h"

/* Opens the record at path (cap bytes, written here) and returns the id of a
 * two-frame stack; REQUIRE fails the test if the record cannot be opened. */
static inline uint32_t account_record_open(const char *test, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/zt_%s_%d.zt", test, (int)getpid());
    zt_record_info_t info = {.path = path,
                             .stacks_mode = ZT_STACKS_FULL,
                             .unwind = "fp",
                             .depth = 16,
                             .monitor_ms = 100,
                             .device = "native",
                             .page_bytes = 4096,
                             .ram_bytes = 2ull << 30,
                             .va_limit_bytes = 1ull << 40,
                             .max_bytes = 64u << 20};
    REQUIRE(zt_record_open(&info) && zt_record_zone(0, "DefaultMallocZone", 0x1000),
            "cannot open a record at %s", path);
    uint64_t frames[2] = {0x1111, 0x2222};
    return zt_stacktab_intern(frames, 2, true);
}

#endif /* ZT_TEST_ACCOUNT_RECORD_H */
