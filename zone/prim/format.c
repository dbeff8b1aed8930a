/* ----------------------------------------------------------------------------
 * prim/format.c — formatted output without malloc (zt_prim_snprintf,
 * zt_prim_message), shared by every OS: pure C over zt_prim_write. Used inside
 * the allocator, in signal handlers and before libc is initialised, where
 * stdio may allocate or deadlock.
 * -------------------------------------------------------------------------- */
#include "prim.h"

#include <stdarg.h>
#include <stdbool.h>

/* ---- formatting without malloc ------------------------------------------ */

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void put_num(struct out *o, unsigned long long v, unsigned base, bool neg, int width,
                    bool zero)
{
    char tmp[32];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    int total = n + (neg ? 1 : 0);
    if (neg && zero) put(o, '-');
    for (; total < width; total++)
        put(o, zero ? '0' : ' ');
    if (neg && !zero) put(o, '-');
    while (n)
        put(o, tmp[--n]);
}

static int vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        bool zero = false;
        int width = 0;
        if (*f == '0') {
            zero = true;
            f++;
        }
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        int lng = 0;
        bool sz = false;
        while (*f == 'l') {
            lng++;
            f++;
        }
        if (*f == 'z') {
            sz = true;
            f++;
        }
        switch (*f) {
        case 'd': {
            /* long and long long are both 64-bit on every LP64 target we build */
            long long v = sz    ? (long long)va_arg(ap, ptrdiff_t)
                          : lng ? va_arg(ap, long long)
                                : va_arg(ap, int);
            put_num(&o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, 10, v < 0,
                    width, zero);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = sz    ? va_arg(ap, size_t)
                                   : lng ? va_arg(ap, unsigned long long)
                                         : va_arg(ap, unsigned);
            put_num(&o, v, *f == 'x' ? 16 : 10, false, width, zero);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, zero);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int n = 0;
            for (; *s; s++, n++)
                put(&o, *s);
            for (; n < width; n++)
                put(&o, ' ');
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case '%':
            put(&o, '%');
            break;
        case 0:
            f--;
            break;
        default:
            put(&o, '%');
            put(&o, *f);
        }
    }
    if (cap) buf[o.len < cap ? o.len : cap - 1] = 0;
    return (int)(o.len < cap ? o.len : cap ? cap - 1 : 0);
}

int zt_prim_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void zt_prim_message(const char *fmt, ...)
{
    char buf[1024];
    int n = zt_prim_snprintf(buf, sizeof buf, "%s", "zonetrace: ");
    va_list ap;
    va_start(ap, fmt);
    n += vformat(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    zt_prim_write(2, buf, (size_t)n);
}
