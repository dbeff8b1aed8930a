/* ----------------------------------------------------------------------------
 * options.c — parsing of the ZT_OPTIONS table (options.h). Runs inside the
 * first malloc, so it reads `environ` through zt_prim_getenv and never
 * allocates. Validation of each value happens here, once, so the rest of the
 * library can trust zt_options.
 * -------------------------------------------------------------------------- */
#include "options.h"
#include "str.h"
#include "profile.h"
#include "prim/prim.h"

#include <string.h>

zt_options_t zt_options;

#define ROW(field, type, def, env, min, max, help, internal)                                       \
    {#field, #type, def, env, help, min, max, internal},
#define USER_ROW(field, type, def, env, min, max, help)                                            \
    ROW(field, type, def, env, min, max, help, false)
#define INTERNAL_ROW(field, type, def, env, min, max, help)                                        \
    ROW(field, type, def, env, min, max, help, true)
/* The table as data, for the printers: user rows, then the internal ones. */
const zt_option_desc_t zt_option_table[] = {
    ZT_OPTIONS_USER(USER_ROW)         /* listed by `zonetrace options` and the README */
    ZT_OPTIONS_INTERNAL(INTERNAL_ROW) /* set by `zonetrace run` only */
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
        if (zt_str_casecmp(s, yes[i]) == 0) return *out = true, true;
        if (zt_str_casecmp(s, no[i]) == 0) return *out = false, true;
    }
    return false;
}

bool zt_options_parse_stacks(const char *s, int *mode, uint64_t *sample_bytes)
{
    if (zt_str_cmp(s, "off") == 0) {
        *mode = ZT_STACKS_OFF;
        *sample_bytes = 0;
        return true;
    }
    if (zt_str_cmp(s, "full") == 0) {
        *mode = ZT_STACKS_FULL;
        *sample_bytes = 0;
        return true;
    }
    if (zt_str_ncmp(s, "sample", 6) == 0) {
        uint64_t n = ZT_OPT_SAMPLE_DEFAULT_BYTES;
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

static bool zt_options_parse(zt_options_t *out);

/* zt_options_validate's overlay ("ZONETRACE_X=v" entries looked up before
 * the environment) and where a complaint goes instead of stderr. Set only
 * by that call, in the single-threaded CLI: the library never sees them. */
static const char *const *overlay;
static char *capture;
static size_t capture_cap;

static const char *opt_getenv(const char *env)
{
    size_t n = zt_str_len(env);
    for (const char *const *e = overlay; e && *e; e++)
        if (zt_str_ncmp(*e, env, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    return zt_prim_getenv(env);
}

static bool bad(const char *env, const char *value, const char *why)
{
    if (capture)
        zt_prim_snprintf(capture, capture_cap, "%s=%s: %s", env, value, why);
    else
        zt_prim_message("%s=%s: %s", env, value, why);
    return false;
}

/* An INT outside its row's min..max: quote the variable's text as the user
 * wrote it. */
static bool bad_range(const char *env, long min, long max)
{
    const char *v = opt_getenv(env);
    char why[64];
    zt_prim_snprintf(why, sizeof why, "expected %ld..%ld", min, max);
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

/* What a STR row accepts: check_<field>, one per STR row, called by check(). */
static bool check_device(const char *env, const char *v)
{
    return zt_profile_find(v) ||
           bad(env, v, "unknown device profile (run `zonetrace profiles` for the list)");
}

static bool check_nano(const char *env, const char *v)
{
    return !zt_str_cmp(v, "default") || !zt_str_cmp(v, "on") || !zt_str_cmp(v, "off") ||
           bad(env, v, "expected default, on or off");
}

static bool check_entitlement(const char *env, const char *v)
{
    return !v[0] || !zt_str_cmp(v, "extended-va") || bad(env, v, "expected extended-va or nothing");
}

static bool check_xzone_buckets(const char *env, const char *v)
{
    return !zt_str_cmp(v, "site") || !zt_str_cmp(v, "data") || bad(env, v, "expected site or data");
}

static bool check_nano_class_blocks(const char *env, const char *v)
{
    uint8_t units[16];
    return !v[0] || zt_profile_parse_class_units(v, units) ||
           bad(env, v, "expected 16 comma-separated numbers (0..64) summing to 64");
}

static bool check_on_error(const char *env, const char *v)
{
    return !zt_str_cmp(v, "abort") || !zt_str_cmp(v, "report") ||
           bad(env, v, "expected abort or report");
}

static bool check_stacks(const char *env, const char *v)
{
    int mode;
    uint64_t n;
    return zt_options_parse_stacks(v, &mode, &n) ||
           bad(env, v, "expected off, full, sample or sample:N");
}

static bool check_unwind(const char *env, const char *v)
{
    return !zt_str_cmp(v, "libunwind") || !zt_str_cmp(v, "fp") ||
           bad(env, v, "expected libunwind or fp");
}

/* Any path: one that cannot be created is a warning when the record opens. */
static bool check_out(const char *env, const char *v)
{
    (void)env, (void)v;
    return true;
}

static bool check_jetsam(const char *env, const char *v)
{
    return !zt_str_cmp(v, "auto") || !zt_str_cmp(v, "off") || !zt_str_cmp(v, "warn") ||
           !zt_str_cmp(v, "kill") || bad(env, v, "expected auto, off, warn or kill");
}

static bool check_warning_signal(const char *env, const char *v)
{
    return !v[0] || zt_prim_signal_number(v) > 0 ||
           bad(env, v, "expected a signal number or name (USR1, SIGUSR2, 10, ...)");
}

/* Any text: hooks.c reads its leading digits. */
static bool check_root_pid(const char *env, const char *v)
{
    (void)env, (void)v;
    return true;
}

/* Validation beyond the type, row by row in table order: INT rows against
 * their min..max, STR rows by their check_<field>. */
static bool check(const zt_options_t *o)
{
#define CHECK_STR(field, env, min, max)                                                            \
    if (!check_##field(env, o->field)) return false;
#define CHECK_BOOL(field, env, min, max)
#define CHECK_SIZE(field, env, min, max)
#define CHECK_INT(field, env, min, max)                                                            \
    if (o->field < (long)(min) || o->field > (long)(max)) return bad_range(env, min, max);
#define X(field, type, def, env, min, max, help) CHECK_##type(field, env, min, max)
    ZT_OPTIONS(X)
#undef X
    return true;
}

bool zt_options_load(void)
{
    return zt_options_parse(&zt_options);
}

bool zt_options_validate(const char *const *env_pairs, char *msg, size_t cap)
{
    zt_options_t o;
    overlay = env_pairs;
    capture = msg;
    capture_cap = cap;
    if (cap) msg[0] = 0;
    bool ok = zt_options_parse(&o);
    overlay = NULL;
    capture = NULL;
    return ok;
}

static bool zt_options_parse(zt_options_t *out)
{
    zt_options_t o;
    const char *v;
#define PARSE_STR(field, env, def) o.field = (v = opt_getenv(env)) ? v : def;
#define PARSE_BOOL(field, env, def)                                                                \
    if (!zt_options_parse_bool((v = opt_getenv(env)) ? v : def, &o.field))                         \
        return bad(env, v, "expected 0/1, on/off, yes/no or true/false");
#define PARSE_INT(field, env, def)                                                                 \
    if (!parse_int((v = opt_getenv(env)) ? v : def, &o.field))                                     \
        return bad(env, v, "expected an integer");
#define PARSE_SIZE(field, env, def)                                                                \
    if (!zt_options_parse_size((v = opt_getenv(env)) ? v : def, &o.field))                         \
        return bad(env, v, "expected a size in bytes, with an optional K, M or G suffix");
#define X(field, type, def, env, min, max, help) PARSE_##type(field, env, def)
    ZT_OPTIONS(X)
#undef X
    if (!check(&o)) return false;
    *out = o;
    return true;
}

void zt_options_print(void)
{
    for (unsigned i = 0; i < zt_option_count; i++) {
        if (zt_option_table[i].internal) continue;
        const char *v = zt_prim_getenv(zt_option_table[i].env);
        zt_prim_message("option %s=%s%s", zt_option_table[i].env, v ? v : zt_option_table[i].def,
                        v ? "" : " (default)");
    }
}
