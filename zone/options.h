/* ----------------------------------------------------------------------------
 * options.h — every zonetrace option, declared once.
 *
 * ZT_OPTIONS is the single table: name, type, default, environment variable,
 * range, help. It generates the zt_options struct, the parser and its range
 * checks, `zonetrace options` and the README's option list
 * (tests/unit/test_readme_options checks that the README matches). Values
 * are read from `environ` at initialisation (before main is fine); a bad
 * value is a one-line error and exit status 2.
 * -------------------------------------------------------------------------- */
#ifndef ZT_OPTIONS_H
#define ZT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Defaults that code outside the parser needs too, named once: the table
 * rows below spell them with ZT_OPT_STR, and the profiler uses them for a
 * record without a depth (crash.c) or a plain "sample" (hooks.c). Plain
 * integer literals, since the rows stringify them. The sampling mean is
 * jemalloc's default (lg_prof_sample 19, 2^19 bytes). */
#define ZT_OPT_DEPTH_DEFAULT        32  /* frames per captured stack */
#define ZT_OPT_SAMPLE_DEFAULT_KIB   512 /* mean bytes between samples, in KiB */
#define ZT_OPT_SAMPLE_DEFAULT_BYTES ((uint64_t)ZT_OPT_SAMPLE_DEFAULT_KIB << 10)

#define ZT_OPT_STR_(x) #x
#define ZT_OPT_STR(x)  ZT_OPT_STR_(x)

/* X(field, type, default, env, min, max, help)
 * types: STR (any text, checked per option in options.c), BOOL (0/1/on/off/
 * yes/no/true/false), INT (decimal, min..max inclusive), SIZE (bytes with
 * optional K/M/G suffix). min and max bound INT rows only (0, 0 elsewhere).
 * Rows are checked in table order: of several bad values, the first row's
 * is the one reported. */
#define ZT_OPTIONS_USER(X)                                                                         \
    X(device, STR, "native", "ZONETRACE_DEVICE", 0, 0,                                             \
      "device profile: native, macos15-arm64, iphone6, iphone6s-plus, "                            \
      "iphone7-plus, iphone8, iphonex, iphonexs, ipad-air2 (iOS 12), iphone12-ios17.5, "           \
      "iphone15-ios18.2, iphone12-ios18.6, iphone13-pro-ios18.6, iphone15-pro-ios18.6, "           \
      "iphone12-ios26, iphone13-pro-ios26, iphone15-pro-ios26, or a "                              \
      "model such as iPhone8,2 (old names kept: macos-arm64, ios12-1gb, ios12-2gb, ios12-4gb; "    \
      "`zonetrace profiles` lists them)")                                                          \
    X(entitlement, STR, "", "ZONETRACE_ENTITLEMENT", 0, 0,                                         \
      "iOS 14+ profiles: extended-va (com.apple.developer.kernel.extended-virtual-addressing) "    \
      "raises the map end to 63 GiB, as xnu's jumbo map; `zonetrace run --entitlement "            \
      "extended-va`")                                                                              \
    X(xzone_buckets, STR, "site", "ZONETRACE_XZONE_BUCKETS", 0, 0,                                 \
      "xzone profiles: site (an untyped call's pointer bucket by a keyed hash of its call site, "  \
      "as xzone does) or data (every request in the data bucket, as pure-data types)")             \
    X(va_limit, SIZE, "0", "ZONETRACE_VA_LIMIT", 0, 0,                                             \
      "override the heap address-space limit (bytes, K/M/G suffix; 0 = profile's)")                \
    X(seed, INT, "0", "ZONETRACE_SEED", 0, 999999999,                                              \
      "iOS profiles: the entropy libmalloc places tiny/small regions with (its ASLR hint); "       \
      "fixed so runs repeat, `zonetrace run --seeds N` runs seeds 0..N-1")                         \
    X(nano, STR, "default", "ZONETRACE_NANO", 0, 0,                                                \
      "nano allocator: default (as the profile), on, off")                                         \
    X(nano_class_blocks, STR, "", "ZONETRACE_NANO_CLASS_BLOCKS", 0, 0,                             \
      "nano blocks per class in units of 64, 16 comma-separated numbers summing to 64")            \
    X(max_magazines, INT, "0", "ZONETRACE_MAX_MAGAZINES", 0, 64,                                   \
      "magazines per rack (0 = one per CPU)")                                                      \
    X(on_error, STR, "abort", "ZONETRACE_ON_ERROR", 0, 0,                                          \
      "invalid or double free: abort (print and abort, as libmalloc) or report (print only)")      \
    X(verbose, BOOL, "0", "ZONETRACE_VERBOSE", 0, 0,                                               \
      "print the options at start and per-zone statistics at exit")                                \
    X(stacks, STR, "off", "ZONETRACE_STACKS", 0, 0,                                                \
      "profiling: off, full (every allocation), sample[:N] (mean N bytes between samples, "        \
      "default " ZT_OPT_STR(ZT_OPT_SAMPLE_DEFAULT_KIB) "K)")                                       \
    X(sample_seed, INT, "0", "ZONETRACE_SAMPLE_SEED", 0, 999999999,                                \
      "stacks sample: seed of the sampling intervals (0 = a new draw each run; N: the same "       \
      "samples each run of a program whose threads allocate in the same order)")                   \
    X(unwind, STR, "libunwind", "ZONETRACE_UNWIND", 0, 0, "stack capture: libunwind or fp")        \
    X(depth, INT, ZT_OPT_STR(ZT_OPT_DEPTH_DEFAULT), "ZONETRACE_DEPTH", 1, 128,                     \
      "frames captured per stack")                                                                 \
    X(out, STR, "", "ZONETRACE_OUT", 0, 0,                                                         \
      "record file (default zonetrace-<pid>.zt in the current directory when profiling)")          \
    X(monitor_ms, INT, "100", "ZONETRACE_MONITOR_MS", 0, 3600000,                                  \
      "footprint sampling period in milliseconds (0 = no monitor thread)")                         \
    X(memory_limit, SIZE, "0", "ZONETRACE_MEMORY_LIMIT", 0, 0,                                     \
      "jetsam per-process footprint limit (bytes, K/M/G suffix; 0 = the profile's; "               \
      "`zonetrace run --memory-limit SIZE`)")                                                      \
    X(jetsam, STR, "auto", "ZONETRACE_JETSAM", 0, 0,                                               \
      "at the memory limit: off, warn (warning only), kill (warning, then SIGKILL), auto (kill "   \
      "when there is a limit: device profiles or ZONETRACE_MEMORY_LIMIT; off on native)")          \
    X(warning_signal, STR, "", "ZONETRACE_WARNING_SIGNAL", 0, 0,                                   \
      "signal (number or name, e.g. USR1) also sent to the process at the memory warning")

/* Internal rows: set by `zonetrace run` for the program it starts, or by
 * tests, not by users; parsed like the others but not listed by `zonetrace options`, the
 * README or ZONETRACE_VERBOSE, and written into the record only when set.
 * They come after every user row (record.c relies on that order). */
#define ZT_OPTIONS_INTERNAL(X)                                                                     \
    X(root_pid, STR, "", "ZONETRACE_ROOT_PID", 0, 0,                                               \
      "pid of the process `zonetrace run` started, whose record is ZONETRACE_OUT; another "        \
      "process (a child it spawned) records to ZONETRACE_OUT.<pid>.zt instead")                    \
    X(host_ncpu, INT, "0", "ZONETRACE_HOST_NCPU", 0, 1024,                                         \
      "tests only: behave as a host with this many CPUs (0 = the real host): the host CPU count "  \
      "and each thread's CPU id (a per-thread id spread over 0..N-1) come from zone/cpu.c")        \
    X(held_pages, BOOL, "1", "ZONETRACE_HELD_PAGES", 0, 0,                                         \
      "device profiles: 1 keeps released pages mapped and subtracts them from the footprint "      \
      "(zone/va.c's held-pages ledger), 0 releases them with the page-table calls (the old way)")

/* Every row, user rows first. */
#define ZT_OPTIONS(X) ZT_OPTIONS_USER(X) ZT_OPTIONS_INTERNAL(X)

typedef struct zt_options {
#define ZT_OPT_FIELD_STR                         const char *
#define ZT_OPT_FIELD_BOOL                        bool
#define ZT_OPT_FIELD_INT                         long
#define ZT_OPT_FIELD_SIZE                        uint64_t
#define X(field, type, def, env, min, max, help) ZT_OPT_FIELD_##type field;
    ZT_OPTIONS(X)
#undef X
} zt_options_t;

/* Parsed options; valid after zt_options_load(). */
extern zt_options_t zt_options;

/* One row of the table, for printing. */
typedef struct zt_option_desc {
    const char *name, *type, *def, *env, *help;
    long min, max; /* INT rows: the accepted range, inclusive */
    bool internal; /* a ZT_OPTIONS_INTERNAL row: not listed for users */
} zt_option_desc_t;
extern const zt_option_desc_t zt_option_table[];
extern const unsigned zt_option_count;

/* Parse every option from the environment. On a bad value: print one line
 * "zonetrace: ZONETRACE_X=value: <why>" and return false (the caller exits 2). */
bool zt_options_load(void);

/* The CLI's check of `zonetrace run` flags before the program starts: the
 * environment with env_pairs ("ZONETRACE_X=value", NULL-terminated) in
 * front, parsed and checked by the rules above. On a bad value writes
 * "ZONETRACE_X=value: <why>" to msg and returns false. Not thread-safe
 * (the CLI is single-threaded; the library never calls it). */
bool zt_options_validate(const char *const *env_pairs, char *msg, size_t cap);

/* Parse helpers shared with the CLI. */
bool zt_options_parse_size(const char *s, uint64_t *out);
bool zt_options_parse_bool(const char *s, bool *out);
/* "sample" or "sample:N" → mean bytes; "full" → 0; returns false if neither. */
bool zt_options_parse_stacks(const char *s, int *mode, uint64_t *sample_bytes);
enum { ZT_STACKS_OFF, ZT_STACKS_FULL, ZT_STACKS_SAMPLE };

/* Print the user options (ZONETRACE_VERBOSE) to stderr without allocating. */
void zt_options_print(void);

#endif /* ZT_OPTIONS_H */
