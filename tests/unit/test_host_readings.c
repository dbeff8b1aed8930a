/* ----------------------------------------------------------------------------
 * test_host_readings — what zone/prim reads of the host without sysconf
 * (issue 15: sysconf and libc's strcasecmp brought their own windows of
 * libc's text into every process) gives sysconf's answers: the page size
 * (the aux vector), the RAM (sysinfo), the CPUs online (the sysfs list,
 * parsed here); and zone/str.h's comparisons give libc's signs.
 * -------------------------------------------------------------------------- */
#include "zone.h"
#include "prim/prim.h"
#include "str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../check.h"

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

int main(void)
{
    CHECK_CASE("page size, RAM and CPUs online as sysconf reports them")
    {
        CHECK(zt_prim_page_bytes() == (size_t)sysconf(_SC_PAGESIZE), "page %zu, sysconf %ld",
              zt_prim_page_bytes(), sysconf(_SC_PAGESIZE));
        uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
        CHECK(zt_prim_ram_bytes() == ram, "RAM %llu, sysconf %llu",
              (unsigned long long)zt_prim_ram_bytes(), (unsigned long long)ram);
        CHECK(zt_prim_ncpu() == (unsigned)sysconf(_SC_NPROCESSORS_ONLN), "CPUs %u, sysconf %ld",
              zt_prim_ncpu(), sysconf(_SC_NPROCESSORS_ONLN));
    }

    CHECK_CASE("zone/str.h compares as libc does")
    {
        static const char *const w[] = {"",       "a",      "A",          "ab",   "abc", "abd", "b",
                                        "Sample", "sample", "sample:64k", "\xff", "YES", "yes"};
        unsigned n = sizeof w / sizeof *w;
        for (unsigned i = 0; i < n; i++) {
            CHECK(zt_str_len(w[i]) == strlen(w[i]), "len of \"%s\"", w[i]);
            for (unsigned j = 0; j < n; j++) {
                CHECK(sign(zt_str_cmp(w[i], w[j])) == sign(strcmp(w[i], w[j])), "cmp %s %s", w[i],
                      w[j]);
                CHECK(sign(zt_str_ncmp(w[i], w[j], 2)) == sign(strncmp(w[i], w[j], 2)),
                      "ncmp %s %s", w[i], w[j]);
                CHECK(sign(zt_str_casecmp(w[i], w[j])) == sign(strcasecmp(w[i], w[j])),
                      "casecmp %s %s", w[i], w[j]);
            }
        }
    }
    return CHECK_DONE("test_host_readings");
}
