/* ----------------------------------------------------------------------------
 * options.h — every zonetrace option, declared once.
 *
 * ZT_OPTIONS is the single table: name, type, default, environment variable,
 * help. It generates the zt_options struct, the parser, `zonetrace options`
 * and the README's option list (tests/unit/test_readme_options checks that the
 * README matches). Values are read from `environ` at initialisation (before
 * main is fine); a bad value is a one-line error and exit status 2.
 * -------------------------------------------------------------------------- */
#ifndef ZT_OPTIONS_H
#define ZT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* X(field, type, default, env, help)
 * types: STR (any text), BOOL (0/1/on/off/yes/no/true/false), INT (decimal,
 * range checked in options.c), SIZE (bytes with optional K/M/G suffix). */
#define ZT_OPTIONS(X)                                                                              \
    X(device, STR, "native", "ZONETRACE_DEVICE",                                                   \
      "device profile: native, macos-arm64, ios12-1gb, ios12-2gb, ios12-4gb")                      \
    X(va_limit, SIZE, "0", "ZONETRACE_VA_LIMIT",                                                   \
      "override the heap address-space limit (bytes, K/M/G suffix; 0 = profile's)")                \
    X(nano, STR, "default", "ZONETRACE_NANO", "nano allocator: default (as the profile), on, off") \
    X(nano_class_blocks, STR, "", "ZONETRACE_NANO_CLASS_BLOCKS",                                   \
      "nano blocks per class in units of 64, 16 comma-separated numbers summing to 64")            \
    X(max_magazines, INT, "0", "ZONETRACE_MAX_MAGAZINES",                                          \
      "magazines per rack (0 = one per CPU, at most 64)")                                          \
    X(on_error, STR, "abort", "ZONETRACE_ON_ERROR",                                                \
      "invalid or double free: abort (print and abort, as libmalloc) or report (print only)")      \
    X(verbose, BOOL, "0", "ZONETRACE_VERBOSE",                                                     \
      "print the options at start and per-zone statistics at exit")                                \
    X(stacks, STR, "off", "ZONETRACE_STACKS",                                                      \
      "profiling: off, full (every allocation), sample[:N] (mean N bytes between samples)")        \
    X(unwind, STR, "libunwind", "ZONETRACE_UNWIND", "stack capture: libunwind or fp")              \
    X(depth, INT, "32", "ZONETRACE_DEPTH", "frames captured per stack (1..128)")                   \
    X(out, STR, "", "ZONETRACE_OUT",                                                               \
      "record file (default zonetrace-<pid>.zt in the current directory when profiling)")          \
    X(monitor_ms, INT, "100", "ZONETRACE_MONITOR_MS",                                              \
      "footprint sampling period in milliseconds (0 = no monitor thread)")

typedef struct zt_options {
#define ZT_OPT_FIELD_STR               const char *
#define ZT_OPT_FIELD_BOOL              bool
#define ZT_OPT_FIELD_INT               long
#define ZT_OPT_FIELD_SIZE              uint64_t
#define X(field, type, def, env, help) ZT_OPT_FIELD_##type field;
    ZT_OPTIONS(X)
#undef X
} zt_options_t;

/* Parsed options; valid after zt_options_load(). */
extern zt_options_t zt_options;

/* One row of the table, for printing. */
typedef struct zt_option_desc {
    const char *name, *type, *def, *env, *help;
} zt_option_desc_t;
extern const zt_option_desc_t zt_option_table[];
extern const unsigned zt_option_count;

/* Parse every option from the environment. On a bad value: print one line
 * "zonetrace: ZONETRACE_X=value: <why>" and return false (the caller exits 2). */
bool zt_options_load(void);

/* Parse helpers shared with the CLI. */
bool zt_options_parse_size(const char *s, uint64_t *out);
bool zt_options_parse_bool(const char *s, bool *out);
/* "sample" or "sample:N" → mean bytes; "full" → 0; returns false if neither. */
bool zt_options_parse_stacks(const char *s, int *mode, uint64_t *sample_bytes);
enum { ZT_STACKS_OFF, ZT_STACKS_FULL, ZT_STACKS_SAMPLE };

/* Print the options (ZONETRACE_VERBOSE) to stderr without allocating. */
void zt_options_print(void);

#endif /* ZT_OPTIONS_H */
