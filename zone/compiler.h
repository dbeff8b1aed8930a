/* ----------------------------------------------------------------------------
 * compiler.h — the one spelling of each compiler attribute the code uses.
 *
 * Every module (zone, profiler, front ends, CLI) takes its branch hints and
 * its export attribute from here, so a port to another compiler changes one
 * file. Nothing here generates code by itself.
 * -------------------------------------------------------------------------- */
#ifndef ZT_COMPILER_H
#define ZT_COMPILER_H

/* Branch hints: the condition's expected value, for block layout only. */
#define zt_likely(x)   __builtin_expect(!!(x), 1)
#define zt_unlikely(x) __builtin_expect(!!(x), 0)

/* A symbol the shared library exports (everything else is hidden by
 * -fvisibility=hidden), and one that stays inside it. */
#define ZT_EXPORT __attribute__((visibility("default")))
#define ZT_HIDDEN __attribute__((visibility("hidden")))

/* Unsigned 128-bit products for fixed-point scaling (a GCC/Clang extension;
 * __extension__ keeps -Wpedantic quiet about it in this one place). */
__extension__ typedef unsigned __int128 zt_u128;

#endif /* ZT_COMPILER_H */
