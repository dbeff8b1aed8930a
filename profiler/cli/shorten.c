/* ----------------------------------------------------------------------------
 * shorten.c — C++ names as the text, HTML and folded reports show them:
 * template arguments collapsed to "<>", the way heaptrack shortens them.
 *
 * heaptrack (KDE/heaptrack src/analyze/accumulatedtracedata.cpp,
 * AccumulatedTraceData::prettyFunction; heaptrack_print's
 * --shorten-templates / -t, on by default, src/analyze/print/
 * heaptrack_print.cpp) keeps everything at angle-bracket depth 0, writes the
 * outermost '<' and '>' of each template argument list and drops what is
 * between them; "operator<", "operator<<", "operator>" and "operator>>" are
 * kept as names. A std::thread start frame of about 600 characters,
 * "std::thread::_State_impl<std::thread::_Invoker<std::tuple<...>>>::_M_run()",
 * becomes "std::thread::_State_impl<>::_M_run()". Parameter lists stay, with
 * the templates inside them collapsed the same way.
 *
 * Divergences from heaptrack, each because its rule would garble a name:
 * - "operator->", "operator->*", "operator<=>", "operator<=" and
 *   "operator>=" are names too (heaptrack counts their '>' or '<' as a
 *   bracket, and a stray '>' took its depth below 0, dropping the rest);
 * - the depth never goes below 0, and an unclosed '<' (a name cut short)
 *   still gets its closing '>' so the result reads as collapsed.
 * The JSON report keeps the full name next to the short one.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <stdbool.h>
#include <string.h>

/* The operator names whose '<' or '>' are not brackets, longest first so
 * "operator<<=" wins over "operator<<". */
static const char *const operators[] = {
    "operator<<=", "operator>>=", "operator<=>", "operator->*", "operator<<", "operator>>",
    "operator<=",  "operator>=",  "operator->",  "operator<",   "operator>"};

/* Length of the operator name starting at s that contains brackets-like
 * characters, or 0. Only at a word start, so "my_operator<int>" is a
 * template. */
static size_t operator_at(const char *name, const char *s)
{
    if (s > name) {
        char c = s[-1];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    if (strncmp(s, "operator", 8) != 0) return 0;
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
        size_t n = strlen(operators[i]);
        if (strncmp(s, operators[i], n) == 0) {
            /* "operator< <int>" is operator< with template arguments: the
             * name ends where the operator's characters do. A '<' right
             * after "operator<" ("operator<<int>") is resolved by the
             * longest match above; "operator<" followed by a template
             * list is written "operator< <...>" by demanglers. */
            return n;
        }
    }
    return 0;
}

size_t zt_shorten_name(const char *name, char *out, size_t cap)
{
    if (!cap) return 0;
    size_t n = 0;
    unsigned depth = 0;
    bool full = false; /* once something did not fit, nothing more is written */
    /* Inside brackets the closing '>' is written as soon as '<' is, so a
     * cut-short result is still balanced: "<" is written as "<>" and the
     * real '>' is then skipped. */
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (!full && n + 1 < cap)                                                                  \
            out[n++] = (ch);                                                                       \
        else                                                                                       \
            full = true;                                                                           \
    } while (0)
    for (const char *p = name ? name : ""; *p && !full; p++) {
        size_t op = depth ? 0 : operator_at(name, p);
        if (op) {
            for (size_t k = 0; k < op; k++)
                PUT(p[k]);
            p += op - 1;
            continue;
        }
        if (*p == '<') {
            if (depth++ == 0) {
                if (n + 2 < cap) {
                    out[n++] = '<';
                    out[n++] = '>';
                } else {
                    full = true;
                }
            }
        } else if (*p == '>') {
            if (depth == 0)
                PUT('>'); /* unbalanced: kept as text */
            else
                depth--;
        } else if (depth == 0) {
            PUT(*p);
        }
    }
#undef PUT
    out[n] = 0;
    return n;
}

const char *zt_report_frame_short(const zt_sym_frame_t *f, char *buf, size_t cap)
{
    if (!f->function) {
        snprintf(buf, cap, "%s+0x%llx", f->module ? f->module : "?", (unsigned long long)f->offset);
        return buf;
    }
    zt_shorten_name(f->function, buf, cap);
    return buf;
}

const char *zt_report_frame_describe(const zt_sym_frame_t *f, char *buf, size_t cap)
{
    if (!f->function) return zt_report_frame_short(f, buf, cap);
    size_t n = zt_shorten_name(f->function, buf, cap);
    if (n + 1 >= cap) return buf;
    if (f->file && f->line) {
        const char *base = strrchr(f->file, '/');
        snprintf(buf + n, cap - n, " (%s:%d)%s", base ? base + 1 : f->file, f->line,
                 f->inlined ? " [inlined]" : "");
    } else {
        snprintf(buf + n, cap - n, " (%s)%s", f->module ? f->module : "?",
                 f->inlined ? " [inlined]" : "");
    }
    return buf;
}
