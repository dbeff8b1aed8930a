/* ----------------------------------------------------------------------------
 * str.h — the few string comparisons start-up needs, without libc's.
 *
 * Why: libzonetrace.so's start-up (options, device table, getenv) runs in
 * every process. libc's strcasecmp and its case table, and the vectorised
 * strcmp family's variants, sit in parts of libc's text and rodata that a
 * program may otherwise never touch; each such part costs up to a 64 KiB
 * fault-around window of resident memory (issue 15's peak-RSS goal,
 * bench/results/2026-12-06-rss.md). These loops touch nothing but the
 * strings. Not for hot paths: they compare a byte at a time.
 *
 * Header-only (static inline): the CLI's tables (options.c, profile.c) use
 * them too and link no zone code (tests/style/test_cli_independence.sh).
 * -------------------------------------------------------------------------- */
#ifndef ZT_STR_H
#define ZT_STR_H

#include <stddef.h>

static inline size_t zt_str_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* strncmp's contract (n = SIZE_MAX: strcmp's). */
static inline int zt_str_ncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; a++, b++, n--) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca != cb) return ca < cb ? -1 : 1;
        if (ca == 0) return 0;
    }
    return 0;
}

static inline int zt_str_cmp(const char *a, const char *b)
{
    return zt_str_ncmp(a, b, (size_t)-1);
}

/* strcasecmp in the C locale: ASCII letters only. */
static inline int zt_str_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z') ca = (unsigned char)(ca + ('a' - 'A'));
        if (cb >= 'A' && cb <= 'Z') cb = (unsigned char)(cb + ('a' - 'A'));
        if (ca != cb) return ca < cb ? -1 : 1;
        if (ca == 0) return 0;
    }
}

#endif /* ZT_STR_H */
