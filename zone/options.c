/* ----------------------------------------------------------------------------
 * options.c — parsing of the ZT_OPTIONS table (options.h). Runs inside the
 * first malloc, so it reads `environ` through zt_prim_getenv and never
 * allocates. Validation of each value happens here, once, so the rest of the
 * library can trust zt_options.
 * -------------------------------------------------------------------------- */
#include "options.h"
#include "profile.h"
#include "prim/prim.h"

#include <string.h>

zt_options_t zt_options;

const zt_option_desc_t zt_option_table[] = {
#define X(field, type, def, env, help) {#field, #type, def, env, help},
    ZT_OPTIONS(X)
#undef X
};
const unsigned zt_option_count = sizeof zt_option_table / sizeof zt_option_table[0];

bool zt_options_parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    unsigned shift = 0;
    switch (*s) {
    case 'k':
    case 'K':
        shift = 10;
        s++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        s++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        s++;
        break;
    case 't':
    case 'T':
        shift = 40;
        s++;
        break;
    }
    if (shift && (*s == 'i' || *s == 'I')) s++;
    if (shift && (*s == 'b' || *s == 'B')) s++;
    if (*s != 0 || (shift && v > (UINT64_MAX >> shift))) return false;
    *out = v << shift;
    return true;
}

bool zt_options_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = true, true;
        if (strcasecmp(s, no[i]) == 0) return *out = false, true;
    }
    return false;
}

bool zt_options_parse_stacks(const char *s, int *mode, uint64_t *sample_bytes)
{
    if (strcmp(s, "off") == 0) {
        *mode = ZT_STACKS_OFF;
        *sample_bytes = 0;
        return true;
    }
    if (strcmp(s, "full") == 0) {
        *mode = ZT_STACKS_FULL;
        *sample_bytes = 0;
        return true;
    }
    if (strncmp(s, "sample", 6) == 0) {
        uint64_t n = 512u << 10; /* 512 KiB mean, as jemalloc's lg_prof_sample 19 */
        if (s[6] == ':') {
            if (!zt_options_parse_size(s + 7, &n) || n == 0) return false;
        } else if (s[6] != 0) {
            return false;
        }
        *mode = ZT_STACKS_SAMPLE;
        *sample_bytes = n;
        return true;
    }
    return false;
}

static bool bad(const char *env, const char *value, const char *why)
{
    zt_prim_message("%s=%s: %s", env, value, why);
    return false;
}

/* An out-of-range integer: quote the variable's text as the user wrote it. */
static bool bad_int(const char *env, const char *why)
{
    const char *v = zt_prim_getenv(env);
    return bad(env, v ? v : "(default)", why);
}

static bool parse_int(const char *s, long *out)
{
    long v = 0;
    bool neg = *s == '-';
    if (neg) s++;
    if (*s < '0' || *s > '9') return false;
    while (*s >= '0' && *s <= '9') {
        if (v > 100000000) return false;
        v = v * 10 + (*s++ - '0');
    }
    if (*s) return false;
    *out = neg ? -v : v;
    return true;
}

/* Per-option validation beyond the type. */
static bool check(const zt_options_t *o)
{
    if (!zt_profile_find(o->device))
        return bad("ZONETRACE_DEVICE", o->device,
                   "unknown device profile (run `zonetrace profiles` for the list)");
    if (strcmp(o->nano, "default") && strcmp(o->nano, "on") && strcmp(o->nano, "off"))
        return bad("ZONETRACE_NANO", o->nano, "expected default, on or off");
    uint8_t units[16];
    if (o->nano_class_blocks[0] && !zt_profile_parse_class_units(o->nano_class_blocks, units))
        return bad("ZONETRACE_NANO_CLASS_BLOCKS", o->nano_class_blocks,
                   "expected 16 comma-separated numbers (1..64) summing to 64");
    if (o->max_magazines < 0 || o->max_magazines > 64)
        return bad_int("ZONETRACE_MAX_MAGAZINES", "expected 0..64");
    if (strcmp(o->on_error, "abort") && strcmp(o->on_error, "report"))
        return bad("ZONETRACE_ON_ERROR", o->on_error, "expected abort or report");
    int mode;
    uint64_t n;
    if (!zt_options_parse_stacks(o->stacks, &mode, &n))
        return bad("ZONETRACE_STACKS", o->stacks, "expected off, full, sample or sample:N");
    if (strcmp(o->unwind, "libunwind") && strcmp(o->unwind, "fp"))
        return bad("ZONETRACE_UNWIND", o->unwind, "expected libunwind or fp");
    if (o->depth < 1 || o->depth > 128) return bad_int("ZONETRACE_DEPTH", "expected 1..128");
    if (o->monitor_ms < 0 || o->monitor_ms > 3600000)
        return bad_int("ZONETRACE_MONITOR_MS", "expected 0..3600000");
    return true;
}

bool zt_options_load(void)
{
    zt_options_t o;
    const char *v;
#define PARSE_STR(field, env, def) o.field = (v = zt_prim_getenv(env)) ? v : def;
#define PARSE_BOOL(field, env, def)                                                                \
    if (!zt_options_parse_bool((v = zt_prim_getenv(env)) ? v : def, &o.field))                     \
        return bad(env, v, "expected 0/1, on/off, yes/no or true/false");
#define PARSE_INT(field, env, def)                                                                 \
    if (!parse_int((v = zt_prim_getenv(env)) ? v : def, &o.field))                                 \
        return bad(env, v, "expected an integer");
#define PARSE_SIZE(field, env, def)                                                                \
    if (!zt_options_parse_size((v = zt_prim_getenv(env)) ? v : def, &o.field))                     \
        return bad(env, v, "expected a size in bytes, with an optional K, M or G suffix");
#define X(field, type, def, env, help) PARSE_##type(field, env, def)
    ZT_OPTIONS(X)
#undef X
    if (!check(&o)) return false;
    zt_options = o;
    return true;
}

void zt_options_print(void)
{
    for (unsigned i = 0; i < zt_option_count; i++) {
        const char *v = zt_prim_getenv(zt_option_table[i].env);
        zt_prim_message("option %s=%s%s", zt_option_table[i].env, v ? v : zt_option_table[i].def,
                        v ? "" : " (default)");
    }
}
