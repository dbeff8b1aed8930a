/* ----------------------------------------------------------------------------
 * json.c — a strict JSON parser (RFC 8259) into a malloc'd tree.
 *
 * Strict: no comments, no trailing commas, no single quotes, no NaN, no
 * leading zeros or '+', whitespace only as the RFC defines it, strings must
 * be valid UTF-8 (no overlong forms, no surrogates) and \u escapes must pair
 * surrogates correctly. Whatever the input, the parser stops at the first
 * problem with one message naming the byte offset, and never reads outside
 * the buffer: the input is a file from elsewhere (a phone, a mail, a fuzzer).
 * Nesting is bounded (ZT_JSON_MAX_DEPTH, so the recursion is bounded) and
 * so is the number of values (ZT_JSON_MAX_VALUES at about 90 bytes each, so
 * memory is bounded). Duplicate member names are kept; zt_json_get
 * returns the first.
 * -------------------------------------------------------------------------- */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jp {
    const unsigned char *s;
    size_t len, pos;
    size_t *values;
    unsigned depth;
    char *err;
    size_t errcap;
} jp_t;

__attribute__((format(printf, 3, 4))) static bool fail(jp_t *p, size_t at, const char *fmt, ...)
{
    if (p->err && p->errcap) {
        int n = snprintf(p->err, p->errcap, "byte %zu: ", at);
        if (n < 0) n = 0;
        if ((size_t)n < p->errcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

/* What is at `at`, for messages: 'x', byte 0xNN, or end of file. */
static const char *found(const jp_t *p, size_t at, char buf[32])
{
    if (at >= p->len) return "the end of the file (truncated?)";
    unsigned char c = p->s[at];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 32, "'%c'", c);
    else
        snprintf(buf, 32, "byte 0x%02x", c);
    return buf;
}

static void skip_ws(jp_t *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

const char *zt_json_type_name(zt_json_type_t t)
{
    switch (t) {
    case ZT_JSON_NULL:
        return "null";
    case ZT_JSON_FALSE:
    case ZT_JSON_TRUE:
        return "a boolean";
    case ZT_JSON_NUMBER:
        return "a number";
    case ZT_JSON_STRING:
        return "a string";
    case ZT_JSON_ARRAY:
        return "an array";
    case ZT_JSON_OBJECT:
        return "an object";
    }
    return "a value";
}

void zt_json_free(zt_json_t *v)
{
    if (!v) return;
    free(v->key);
    free(v->str);
    for (size_t i = 0; i < v->count; i++)
        zt_json_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

const zt_json_t *zt_json_get(const zt_json_t *v, const char *key)
{
    if (!v || v->type != ZT_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i].key && strcmp(v->items[i].key, key) == 0) return &v->items[i];
    return NULL;
}

/* ---- strings -------------------------------------------------------------- */

typedef struct sbuf {
    char *b;
    size_t n, cap;
} sbuf_t;

static bool sb_put(sbuf_t *b, const unsigned char *src, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(b->b, cap);
        if (!nb) return false;
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->n, src, n);
    b->n += n;
    b->b[b->n] = 0;
    return true;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s[0..avail), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (avail < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

static size_t utf8_put(unsigned cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->pos (which is '"'); *out is malloc'd, *outlen its length. */
static bool parse_string(jp_t *p, char **out, size_t *outlen)
{
    size_t start = p->pos++;
    sbuf_t b = {0};
    if (!sb_put(&b, (const unsigned char *)"", 0)) return fail(p, start, "out of memory");
    for (;;) {
        if (p->pos >= p->len) {
            free(b.b);
            return fail(p, p->len,
                        "the file ends inside the string that starts at byte %zu "
                        "(truncated?)",
                        start);
        }
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            free(b.b);
            return fail(p, p->pos, "control character 0x%02x inside a string (must be escaped)", c);
        }
        if (c != '\\') {
            size_t n = utf8_len(p->s + p->pos, p->len - p->pos);
            if (n == 0) {
                free(b.b);
                return fail(p, p->pos, "invalid UTF-8 (byte 0x%02x) inside a string", c);
            }
            if (!sb_put(&b, p->s + p->pos, n)) {
                free(b.b);
                return fail(p, p->pos, "out of memory");
            }
            p->pos += n;
            continue;
        }
        size_t esc = p->pos;
        if (p->pos + 1 >= p->len) {
            free(b.b);
            return fail(p, p->len, "the file ends inside a string escape (truncated?)");
        }
        unsigned char e = p->s[p->pos + 1], one;
        unsigned char utf[4];
        size_t un = 0;
        p->pos += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            one = e;
            break;
        case 'b':
            one = '\b';
            break;
        case 'f':
            one = '\f';
            break;
        case 'n':
            one = '\n';
            break;
        case 'r':
            one = '\r';
            break;
        case 't':
            one = '\t';
            break;
        case 'u': {
            int hi = p->pos + 4 <= p->len ? hex4(p->s + p->pos) : -1;
            if (hi < 0) {
                free(b.b);
                return fail(p, esc, "\\u must be followed by 4 hex digits");
            }
            p->pos += 4;
            unsigned cp = (unsigned)hi;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(b.b);
                return fail(p, esc, "\\u%04x is a lone low surrogate", cp);
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = p->pos + 6 <= p->len && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u'
                             ? hex4(p->s + p->pos + 2)
                             : -1;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    free(b.b);
                    return fail(p, esc, "\\u%04x is a high surrogate without its low half", cp);
                }
                p->pos += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
            }
            if (cp == 0) {
                free(b.b);
                return fail(p, esc, "\\u0000 inside a string is not supported");
            }
            un = utf8_put(cp, utf);
            break;
        }
        default:
            free(b.b);
            return fail(p, esc, "unknown escape \\%c inside a string",
                        e > 0x20 && e < 0x7f ? e : '?');
        }
        if (!(un ? sb_put(&b, utf, un) : sb_put(&b, &one, 1))) {
            free(b.b);
            return fail(p, esc, "out of memory");
        }
    }
    *out = b.b;
    *outlen = b.n;
    return true;
}

/* ---- numbers and literals ------------------------------------------------- */

static bool is_digit(const jp_t *p, size_t at)
{
    return at < p->len && p->s[at] >= '0' && p->s[at] <= '9';
}

static bool parse_number(jp_t *p, zt_json_t *v)
{
    size_t start = p->pos, i = p->pos;
    char fb[32];
    bool integral = true;
    if (i < p->len && p->s[i] == '-') i++;
    if (!is_digit(p, i))
        return fail(p, i, "expected a digit in a number, found %s", found(p, i, fb));
    if (p->s[i] == '0') {
        i++;
        if (is_digit(p, i)) return fail(p, start, "a number must not start with 0");
    } else {
        while (is_digit(p, i))
            i++;
    }
    if (i < p->len && p->s[i] == '.') {
        integral = false;
        i++;
        if (!is_digit(p, i))
            return fail(p, i, "expected a digit after '.', found %s", found(p, i, fb));
        while (is_digit(p, i))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (!is_digit(p, i))
            return fail(p, i, "expected a digit in the exponent, found %s", found(p, i, fb));
        while (is_digit(p, i))
            i++;
    }
    /* strtod wants a terminated string; the literal is validated above, so
     * strtod reads exactly it (the CLI never calls setlocale: '.' is the point). */
    size_t n = i - start;
    char small[64], *text = n < sizeof small ? small : malloc(n + 1);
    if (!text) return fail(p, start, "out of memory");
    memcpy(text, p->s + start, n);
    text[n] = 0;
    v->type = ZT_JSON_NUMBER;
    v->number = strtod(text, NULL);
    if (integral) {
        errno = 0;
        long long ll = strtoll(text, NULL, 10);
        if (errno == 0) {
            v->is_int = true;
            v->integer = ll;
        }
    }
    if (text != small) free(text);
    p->pos = i;
    return true;
}

static bool parse_literal(jp_t *p, zt_json_t *v, const char *word, zt_json_type_t type)
{
    size_t n = strlen(word);
    for (size_t k = 0; k < n; k++) {
        if (p->pos + k >= p->len)
            return fail(p, p->len, "the file ends inside '%s' (truncated?)", word);
        if (p->s[p->pos + k] != (unsigned char)word[k]) {
            char fb[32];
            return fail(p, p->pos, "expected a value, found %s", found(p, p->pos, fb));
        }
    }
    p->pos += n;
    v->type = type;
    return true;
}

/* ---- arrays and objects --------------------------------------------------- */

static bool parse_value(jp_t *p, zt_json_t *v);

static bool push(jp_t *p, zt_json_t *c, size_t *cap, zt_json_t *item)
{
    if (c->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        zt_json_t *n = realloc(c->items, ncap * sizeof *n);
        if (!n) return fail(p, item->offset, "out of memory");
        c->items = n;
        *cap = ncap;
    }
    c->items[c->count++] = *item;
    return true;
}

static bool parse_container(jp_t *p, zt_json_t *v, bool object)
{
    const char *what = object ? "an object" : "an array";
    char close = object ? '}' : ']', fb[32];
    size_t start = p->pos, cap = 0;
    if (++p->depth > ZT_JSON_MAX_DEPTH)
        return fail(p, start, "nested deeper than %d levels", ZT_JSON_MAX_DEPTH);
    v->type = object ? ZT_JSON_OBJECT : ZT_JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return true;
    }
    for (;;) {
        zt_json_t item;
        memset(&item, 0, sizeof item);
        char *key = NULL;
        if (object) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, p->pos,
                     "expected a member name in double quotes in the object at byte "
                     "%zu, found %s",
                     start, found(p, p->pos, fb));
                goto bad;
            }
            size_t klen;
            if (!parse_string(p, &key, &klen)) goto bad;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                fail(p, p->pos, "expected ':' after the member name \"%.40s\", found %s", key,
                     found(p, p->pos, fb));
                free(key);
                goto bad;
            }
            p->pos++;
        }
        if (!parse_value(p, &item)) {
            free(key);
            goto bad;
        }
        item.key = key;
        if (!push(p, v, &cap, &item)) {
            zt_json_free(&item);
            goto bad;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        if (p->pos >= p->len)
            fail(p, p->len, "the file ends inside %s that starts at byte %zu (truncated?)", what,
                 start);
        else
            fail(p, p->pos, "expected ',' or '%c' in %s that starts at byte %zu, found %s", close,
                 what, start, found(p, p->pos, fb));
        goto bad;
    }
    p->depth--;
    return true;
bad:
    zt_json_free(v);
    return false;
}

static bool parse_value(jp_t *p, zt_json_t *v)
{
    char fb[32];
    memset(v, 0, sizeof *v);
    skip_ws(p);
    v->offset = p->pos;
    if (p->pos >= p->len)
        return fail(p, p->len, "expected a value, found the end of the file (truncated?)");
    if (++*p->values > ZT_JSON_MAX_VALUES)
        return fail(p, p->pos, "more than %u values: too large to be a report", ZT_JSON_MAX_VALUES);
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{':
        return parse_container(p, v, true);
    case '[':
        return parse_container(p, v, false);
    case '"':
        v->type = ZT_JSON_STRING;
        if (!parse_string(p, &v->str, &v->len)) {
            v->type = ZT_JSON_NULL;
            return false;
        }
        return true;
    case 't':
        return parse_literal(p, v, "true", ZT_JSON_TRUE);
    case 'f':
        return parse_literal(p, v, "false", ZT_JSON_FALSE);
    case 'n':
        return parse_literal(p, v, "null", ZT_JSON_NULL);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        return fail(p, p->pos, "expected a value, found %s", found(p, p->pos, fb));
    }
}

bool zt_json_parse(const char *text, size_t len, size_t *pos, size_t *values, zt_json_t *out,
                   char *err, size_t errcap)
{
    jp_t p = {(const unsigned char *)text, len, *pos, values, 0, err, errcap};
    if (err && errcap) err[0] = 0;
    if (!parse_value(&p, out)) {
        zt_json_free(out);
        return false;
    }
    *pos = p.pos;
    return true;
}
