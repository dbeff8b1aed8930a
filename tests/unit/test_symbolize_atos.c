/* ----------------------------------------------------------------------------
 * test_symbolize_atos.c — the macOS symbolizer backend (symbolize_atos.c)
 * on Linux, against a fake `atos` on PATH that answers in atos's formats:
 *  - one atos process per image for all of the record's return addresses
 *    in it (counted by the fake), each unslid (pc - 1 - slide) and listed in
 *    the -f file; the fake also checks -o IMAGE, -i, -fullPath and -d TAB;
 *  - "f (in img) (file:line)" frames, TAB-separated inline chains (innermost
 *    first, all but the last marked inlined), "f (in img) + N" (no line),
 *    "0x... (in img)" (module+offset kept);
 *  - an address outside the batch (a crash's faulting pc, looked up as is)
 *    costs one more atos run;
 *  - atos failing leaves module+offset frames.
 * What the real atos prints is unverified here (zone/prim/README.md).
 * -------------------------------------------------------------------------- */
#include "../../profiler/cli/symbolize.c"
#include "../../profiler/cli/symbolize_atos.c"

#include <sys/stat.h>

#include "../check.h"

/* The fake: checks its arguments, counts its runs, answers per address. */
static const char fake_atos[] =
    "#!/bin/sh\n"
    "echo run >> \"$ZT_FAKE_ATOS_LOG\"\n"
    "[ \"$1\" = -o ] && [ \"$2\" = /bin/sh ] && [ \"$3\" = -i ] && [ \"$4\" = -fullPath ] &&\n"
    "  [ \"$5\" = -d ] && [ \"$6\" = \"$(printf '\\t')\" ] && [ \"$7\" = -f ] || exit 3\n"
    "[ \"$ZT_FAKE_ATOS_FAIL\" = 1 ] && exit 1\n"
    "while read -r a; do\n"
    "  echo \"$a\" >> \"$ZT_FAKE_ATOS_LOG.addrs\"\n"
    "  case $a in\n"
    "    0x100) printf 'inner (in sh) (/src/a.c:10)\\tmiddle (in sh) (/src/a.c:20)\\t"
    "outer(int) (in sh) (/src/dir:x/b.c:30)\\n' ;;\n"
    "    0x200) printf 'sym_only (in sh) + 24\\n' ;;\n"
    "    0x400) printf 'faulting (in sh) (/src/c.c:4)\\n' ;;\n"
    "    *) printf '%s (in sh)\\n' \"$a\" ;;\n"
    "  esac\n"
    "done < \"$8\"\n";

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/zt-atos-XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    char path[256], log[256], addrs[256], env[1024];
    snprintf(path, sizeof path, "%s/atos", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(addrs, sizeof addrs, "%s/log.addrs", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f && fputs(fake_atos, f) >= 0 && fclose(f) == 0, "write %s", path);
    chmod(path, 0755);
    snprintf(env, sizeof env, "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", env, 1);
    setenv("ZT_FAKE_ATOS_LOG", log, 1);

    /* One image at 0x7000 with slide 0x7000: pc 0x7101 is the return
     * address after the call at file address 0x100. */
    uint64_t pcs1[] = {0x7101, 0x7201, 0x9999999};
    uint64_t pcs2[] = {0x7301, 0x7101};
    zt_m_stack_t stacks[2] = {{.id = 1, .nframes = 3, .pcs = pcs1},
                              {.id = 2, .nframes = 2, .pcs = pcs2}};
    zt_m_module_t mod = {
        .path = (char *)"/bin/sh", .base = 0x7000, .bytes = 0x10000, .bias = 0x7000};
    zt_model_t m = {.modules = &mod, .nmodules = 1, .stacks = stacks, .nstacks = 2};

    CHECK_CASE("one atos run per image, inline chains, symbol-only and unknown frames")
    {
        zt_symbolizer_t *s = zt_sym_open(&m, true);
        const zt_sym_frame_t *fr;
        unsigned n = zt_sym_lookup(s, 0x7101, true, &fr);
        CHECK(n == 3, "inline chain: %u frames", n);
        if (n == 3) {
            CHECK(fr[0].function && !strcmp(fr[0].function, "inner") && fr[0].line == 10 &&
                      fr[0].file && !strcmp(fr[0].file, "/src/a.c") && fr[0].inlined,
                  "frame 0: %s %s:%d inlined %d", fr[0].function, fr[0].file, fr[0].line,
                  fr[0].inlined);
            CHECK(fr[1].function && !strcmp(fr[1].function, "middle") && fr[1].inlined,
                  "frame 1: %s", fr[1].function);
            CHECK(fr[2].function && !strcmp(fr[2].function, "outer(int)") && !fr[2].inlined &&
                      fr[2].file && !strcmp(fr[2].file, "/src/dir:x/b.c") && fr[2].line == 30,
                  "frame 2: %s %s:%d", fr[2].function, fr[2].file, fr[2].line);
            CHECK(fr[0].pc == 0x7101 && fr[0].offset == 0x101 && !strcmp(fr[0].module, "sh"),
                  "pc %llx offset %llx module %s", (unsigned long long)fr[0].pc,
                  (unsigned long long)fr[0].offset, fr[0].module);
        }
        n = zt_sym_lookup(s, 0x7201, true, &fr);
        CHECK(n == 1 && fr[0].function && !strcmp(fr[0].function, "sym_only") && !fr[0].file &&
                  fr[0].line == 0,
              "symbol only: %u %s", n, n ? fr[0].function : "-");
        n = zt_sym_lookup(s, 0x7301, true, &fr);
        CHECK(n == 1 && !fr[0].function && fr[0].offset == 0x301 &&
                  !strcmp(zt_sym_describe(&fr[0]), "sh+0x301"),
              "unknown: %u %s", n, n ? zt_sym_describe(&fr[0]) : "-");
        n = zt_sym_lookup(s, 0x9999999, true, &fr);
        CHECK(n == 1 && !strcmp(fr[0].module, "?"), "outside every module: %s", fr[0].module);
        CHECK(count_lines(log) == 1, "atos ran %d times for one image", count_lines(log));
        CHECK(count_lines(addrs) == 3, "%d addresses sent (want 0x100, 0x200, 0x300 once each)",
              count_lines(addrs));
        /* A faulting pc is looked up as is, outside the batch: one more run. */
        n = zt_sym_lookup(s, 0x7400, false, &fr);
        CHECK(n == 1 && fr[0].function && !strcmp(fr[0].function, "faulting") && fr[0].line == 4,
              "fault pc: %u %s", n, n ? fr[0].function : "-");
        CHECK(count_lines(log) == 2, "atos ran %d times (want 2)", count_lines(log));
        n = zt_sym_lookup(s, 0x7400, false, &fr);
        CHECK(n == 1 && count_lines(log) == 2, "cached: %d runs", count_lines(log));
        zt_sym_close(s);
    }

    CHECK_CASE("atos failing: module+offset")
    {
        setenv("ZT_FAKE_ATOS_FAIL", "1", 1);
        zt_symbolizer_t *s = zt_sym_open(&m, true);
        const zt_sym_frame_t *fr;
        unsigned n = zt_sym_lookup(s, 0x7101, true, &fr);
        CHECK(n == 1 && !fr[0].function && !strcmp(zt_sym_describe(&fr[0]), "sh+0x101"),
              "failed atos: %u %s", n, n ? zt_sym_describe(&fr[0]) : "-");
        zt_sym_close(s);
        unsetenv("ZT_FAKE_ATOS_FAIL");
    }

    unlink(path);
    unlink(log);
    unlink(addrs);
    rmdir(dir);
    return CHECK_DONE("test_symbolize_atos");
}
