/* ----------------------------------------------------------------------------
 * debug.h — internal asserts of a ZT_DEBUG build (CMake -DZT_DEBUG=ON).
 *
 * zt_assert(c) checks a cheap local invariant; zt_debug_check(ops, check)
 * runs one of the whole-structure consistency checkers (zt_rack_check: region
 * walks and free lists; nano's block-header check) once every
 * ZT_DEBUG_CHECK_EVERY calls counted in *ops, at entry points where the
 * caller holds no lock. A failure is reported as corruption (file:line and
 * the condition) and aborts. In a release build both compile to nothing, so
 * they may only test conditions, never change state.
 * -------------------------------------------------------------------------- */
#ifndef ZT_DEBUG_H
#define ZT_DEBUG_H

#include "error.h"

#ifndef ZT_DEBUG
#define ZT_DEBUG 0
#endif
#ifndef ZT_DEBUG_CHECK_EVERY
#define ZT_DEBUG_CHECK_EVERY 4096u /* a power of two: calls between whole checks */
#endif

#define ZT_DEBUG_STR_(x) #x
#define ZT_DEBUG_STR(x)  ZT_DEBUG_STR_(x)

#if ZT_DEBUG
#define zt_assert(c)                                                                               \
    (zt_likely(c) ? (void)0                                                                        \
                  : zt_error_corruption(                                                           \
                        "assertion failed at " __FILE__ ":" ZT_DEBUG_STR(__LINE__) ": " #c, NULL))
#define zt_debug_check(ops, check)                                                                 \
    do {                                                                                           \
        if ((__atomic_add_fetch((ops), 1, __ATOMIC_RELAXED) & (ZT_DEBUG_CHECK_EVERY - 1)) == 0)    \
            zt_assert(check);                                                                      \
    } while (0)
#else
#define zt_assert(c)               ((void)0)
#define zt_debug_check(ops, check) ((void)0)
#endif

#endif /* ZT_DEBUG_H */
