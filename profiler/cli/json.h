/* ----------------------------------------------------------------------------
 * json.h — a small strict JSON parser (RFC 8259) for the CLI's readers of
 * foreign files (jetsam.c). The CLI may use malloc; the tree is freed with
 * zt_json_free. Every value remembers its byte offset, so a reader can say
 * where a bad value is.
 * -------------------------------------------------------------------------- */
#ifndef ZT_JSON_H
#define ZT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum zt_json_type {
    ZT_JSON_NULL,
    ZT_JSON_FALSE,
    ZT_JSON_TRUE,
    ZT_JSON_NUMBER,
    ZT_JSON_STRING,
    ZT_JSON_ARRAY,
    ZT_JSON_OBJECT,
} zt_json_type_t;

typedef struct zt_json {
    zt_json_type_t type;
    size_t offset; /* byte offset of the value's first character in the input */
    char *key;     /* member name when this value is an object's member, else NULL */
    /* ZT_JSON_NUMBER: the value as a double; is_int when the literal has no
     * fraction or exponent and fits in int64 (then integer is exact). */
    double number;
    int64_t integer;
    bool is_int;
    /* ZT_JSON_STRING: UTF-8, NUL-terminated (\u0000 is refused), length len. */
    char *str;
    size_t len;
    /* ZT_JSON_ARRAY / ZT_JSON_OBJECT: the elements or members in order. */
    struct zt_json *items;
    size_t count;
} zt_json_t;

/* Limits that keep a hostile file from exhausting the stack or memory. */
#define ZT_JSON_MAX_DEPTH  64
#define ZT_JSON_MAX_VALUES (1u << 18) /* a real report has about 10,000 */

/* Parse one JSON value from text[*pos .. len), skipping whitespace before
 * it. On success *out holds the tree and *pos is just past the value. On
 * failure returns false, frees what it built and writes one line to err:
 * "byte N: what is wrong". `values` counts values parsed so far across calls
 * (pass a pointer to 0 for a fresh budget of ZT_JSON_MAX_VALUES). */
bool zt_json_parse(const char *text, size_t len, size_t *pos, size_t *values, zt_json_t *out,
                   char *err, size_t errcap);

/* Free the tree under v (not v itself). */
void zt_json_free(zt_json_t *v);

/* The first member named key of an object; NULL if v is not an object or has
 * no such member. */
const zt_json_t *zt_json_get(const zt_json_t *v, const char *key);

/* Name of a type for messages: "a string", "an object", ... */
const char *zt_json_type_name(zt_json_type_t t);

#endif /* ZT_JSON_H */
