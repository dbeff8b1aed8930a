/* ----------------------------------------------------------------------------
 * jetsam.c — reads a JetsamEvent report (.ips, bug_type 298) into
 * zt_jetsam_report_t (reference/modern_apple.md §5).
 *
 * The file is two JSON documents: a header line {"bug_type":"298",
 * "os_version":"iPhone OS 14.1 (18A8395)",...} and the report body {"product",
 * "build", "memoryStatus":{"pageSize",...,"memoryPages":{...}},
 * "largestProcess", "processes":[{"name","pid","rpages","reason",...}]}.
 * iOS 12-era bodies carry pageSize at the top level instead of in
 * memoryStatus; both are accepted. "reason" is present only for processes
 * jetsam killed. Unknown fields are ignored (each release adds some); the
 * fields used are checked for type and sense: a page size is a power of two
 * from 4 KiB to 64 KiB, and no footprint or memory count exceeds 1 TiB.
 * The header is judged before the body, so a crash report (bug_type 309,
 * whose body may not be JSON at all) is called foreign, not damaged.
 * -------------------------------------------------------------------------- */
#include "jetsam.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Nothing on a phone (or a Mac) has a terabyte of footprint or RAM. */
#define MAX_BYTES (1ull << 40)

const char *const zt_jetsam_mem_field[ZT_JETSAM_MEM_FIELDS] = {
    "free",  "active",    "inactive",  "speculative", "throttled",
    "wired", "purgeable", "anonymous", "fileBacked",
};

typedef struct jr {
    const char *name;
    char *err;
    size_t errcap;
} jr_t;

__attribute__((format(printf, 2, 3))) static bool fail(const jr_t *c, const char *fmt, ...)
{
    if (c->err && c->errcap) {
        int n = snprintf(c->err, c->errcap, "%s: ", c->name);
        if (n < 0) n = 0;
        if ((size_t)n < c->errcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

/* A value for messages: the number itself, else its type. */
static const char *show(const zt_json_t *v, char buf[48])
{
    if (v->type == ZT_JSON_NUMBER) {
        snprintf(buf, 48, "%.17g", v->number);
        return buf;
    }
    if (v->type == ZT_JSON_STRING) {
        snprintf(buf, 48, "the string \"%.20s%s\"", v->str, v->len > 20 ? "..." : "");
        return buf;
    }
    return zt_json_type_name(v->type);
}

/* Optional string member key of obj (at path) into *out (malloc'd copy);
 * false after a message when it is there but not a string. */
static bool opt_string(const jr_t *c, const zt_json_t *obj, const char *key, const char *path,
                       char **out)
{
    const zt_json_t *v = zt_json_get(obj, key);
    *out = NULL;
    if (!v) return true;
    if (v->type != ZT_JSON_STRING) {
        char b[48];
        return fail(c, "field %s%s: expected a string, found %s", path, key, show(v, b));
    }
    *out = strdup(v->str);
    return *out ? true : fail(c, "out of memory");
}

/* A whole number in [lo, hi] (at path). */
static bool whole(const jr_t *c, const zt_json_t *v, const char *path, int64_t lo, int64_t hi,
                  const char *what, int64_t *out)
{
    char b[48];
    if (v->type != ZT_JSON_NUMBER || !v->is_int)
        return fail(c, "field %s: expected a %s, found %s", path, what, show(v, b));
    if (v->integer < lo || v->integer > hi)
        return fail(c, "field %s: %lld is not a plausible %s (expected %lld to %lld)", path,
                    (long long)v->integer, what, (long long)lo, (long long)hi);
    *out = v->integer;
    return true;
}

/* "iPhone OS 14.1 (18A8395)" -> os "iPhone OS 14.1", build "18A8395", major 14. */
static bool split_os(const jr_t *c, const char *s, zt_jetsam_report_t *r)
{
    size_t n = strlen(s);
    const char *open = strrchr(s, '(');
    size_t vlen = n;
    if (open && n > 0 && s[n - 1] == ')' && open > s) {
        vlen = (size_t)(open - s);
        while (vlen > 0 && s[vlen - 1] == ' ')
            vlen--;
        if (!r->build) {
            r->build = strndup(open + 1, (size_t)(s + n - 1 - (open + 1)));
            if (!r->build) return fail(c, "out of memory");
        }
    }
    r->os_version = strndup(s, vlen);
    if (!r->os_version) return fail(c, "out of memory");
    /* The major version: the first number after "OS " ("iPhone OS", "iPadOS",
     * "macOS"), else the first number after a space. */
    const char *d = strstr(r->os_version, "OS ");
    d = d ? d + 3 : strchr(r->os_version, ' ');
    while (d && *d == ' ')
        d++;
    if (d && *d >= '0' && *d <= '9') {
        unsigned v = 0;
        while (*d >= '0' && *d <= '9' && v < 1000)
            v = v * 10 + (unsigned)(*d++ - '0');
        r->os_major = v < 1000 ? v : 0;
    }
    return true;
}

static bool read_header(const jr_t *c, const zt_json_t *h, zt_jetsam_report_t *r,
                        zt_jetsam_status_t *st)
{
    char b[48];
    if (h->type != ZT_JSON_OBJECT)
        return fail(c, "the header line is %s, not an object like {\"bug_type\":\"298\",...}",
                    zt_json_type_name(h->type));
    const zt_json_t *bt = zt_json_get(h, "bug_type");
    if (!bt) return fail(c, "the header line has no bug_type (not an .ips report?)");
    long long type = -1;
    if (bt->type == ZT_JSON_STRING) {
        char *end;
        errno = 0;
        type = bt->str[0] >= '0' && bt->str[0] <= '9' ? strtoll(bt->str, &end, 10) : -1;
        if (type < 0 || errno || *end) type = -1;
    } else if (bt->type == ZT_JSON_NUMBER && bt->is_int) {
        type = bt->integer;
    }
    if (type < 0) return fail(c, "header field bug_type: expected a number, found %s", show(bt, b));
    if (type != 298) {
        *st = ZT_JETSAM_FOREIGN;
        const char *kind = type == 309 || type == 109 ? " (a crash report)" : "";
        return fail(c, "not a JetsamEvent report: bug_type %lld%s, expected 298", type, kind);
    }
    char *os = NULL;
    if (!opt_string(c, h, "os_version", "header ", &os)) return false;
    bool ok = true;
    if (os) ok = split_os(c, os, r);
    free(os);
    if (ok && !opt_string(c, h, "timestamp", "header ", &r->date)) return false;
    return ok;
}

static bool read_proc(const jr_t *c, const zt_json_t *p, size_t i, uint64_t page_bytes,
                      zt_jetsam_proc_t *out)
{
    char path[64], b[48];
    snprintf(path, sizeof path, "processes[%zu].", i);
    if (p->type != ZT_JSON_OBJECT)
        return fail(c, "field processes[%zu]: expected an object, found %s", i, show(p, b));
    const zt_json_t *name = zt_json_get(p, "name");
    if (!name) return fail(c, "field processes[%zu]: no name", i);
    if (!opt_string(c, p, "name", path, &out->name)) return false;
    const zt_json_t *rp = zt_json_get(p, "rpages");
    if (!rp) return fail(c, "field processes[%zu] (%.40s): no rpages", i, out->name);
    int64_t v, max_pages = (int64_t)(MAX_BYTES / page_bytes);
    snprintf(path, sizeof path, "processes[%zu].rpages", i);
    if (!whole(c, rp, path, 0, max_pages, "page count", &v)) return false;
    out->rpages = (uint64_t)v;
    out->footprint_bytes = out->rpages * page_bytes;
    out->pid = -1;
    const zt_json_t *pid = zt_json_get(p, "pid");
    snprintf(path, sizeof path, "processes[%zu].pid", i);
    if (pid && !whole(c, pid, path, 0, INT32_MAX, "pid", &out->pid)) return false;
    out->lifetime_max_pages = -1;
    const zt_json_t *lm = zt_json_get(p, "lifetimeMax");
    snprintf(path, sizeof path, "processes[%zu].lifetimeMax", i);
    if (lm && !whole(c, lm, path, 0, max_pages, "page count", &out->lifetime_max_pages))
        return false;
    snprintf(path, sizeof path, "processes[%zu].", i);
    if (!opt_string(c, p, "reason", path, &out->reason)) return false;
    /* states: ["frontmost","resume"] joined with ','. */
    const zt_json_t *s = zt_json_get(p, "states");
    size_t need = 1;
    if (s && s->type != ZT_JSON_ARRAY)
        return fail(c, "field processes[%zu].states: expected an array, found %s", i, show(s, b));
    for (size_t k = 0; s && k < s->count; k++) {
        if (s->items[k].type != ZT_JSON_STRING)
            return fail(c, "field processes[%zu].states[%zu]: expected a string, found %s", i, k,
                        show(&s->items[k], b));
        need += s->items[k].len + 1;
    }
    out->states = malloc(need);
    if (!out->states) return fail(c, "out of memory");
    out->states[0] = 0;
    for (size_t k = 0; s && k < s->count; k++) {
        if (k) strcat(out->states, ",");
        strcat(out->states, s->items[k].str);
    }
    return true;
}

static bool read_body(const jr_t *c, const zt_json_t *body, zt_jetsam_report_t *r)
{
    char b[48];
    if (body->type != ZT_JSON_OBJECT)
        return fail(c, "the report body is %s, not an object", zt_json_type_name(body->type));
    const zt_json_t *product = zt_json_get(body, "product");
    if (!product) return fail(c, "field product: missing (the device's hardware model)");
    if (!opt_string(c, body, "product", "", &r->product)) return false;
    if (!r->product[0]) return fail(c, "field product: empty");
    char *build = NULL, *date = NULL;
    if (!opt_string(c, body, "build", "", &build)) return false;
    if (build && !r->os_version) {
        bool ok = split_os(c, build, r);
        free(build);
        if (!ok) return false;
    } else {
        free(build);
    }
    if (!opt_string(c, body, "date", "", &date)) return false;
    if (date) free(r->date), r->date = date;
    if (!opt_string(c, body, "kernel", "", &r->kernel)) return false;
    if (!opt_string(c, body, "largestProcess", "", &r->largest)) return false;

    /* Page size: memoryStatus.pageSize (iOS 13+), or pageSize in the body (iOS 12). */
    const zt_json_t *ms = zt_json_get(body, "memoryStatus");
    if (ms && ms->type != ZT_JSON_OBJECT)
        return fail(c, "field memoryStatus: expected an object, found %s", show(ms, b));
    const zt_json_t *ps_ms = zt_json_get(ms, "pageSize"), *ps_top = zt_json_get(body, "pageSize");
    int64_t ps = 0, ps2 = 0;
    if (!ps_ms && !ps_top)
        return fail(c, "field memoryStatus.pageSize: missing (nor pageSize in the body)");
    if (ps_ms && !whole(c, ps_ms, "memoryStatus.pageSize", 4096, 65536, "page size", &ps))
        return false;
    if (ps_top && !whole(c, ps_top, "pageSize", 4096, 65536, "page size", &ps2)) return false;
    if (ps && ps2 && ps != ps2)
        return fail(c, "fields pageSize %lld and memoryStatus.pageSize %lld disagree",
                    (long long)ps2, (long long)ps);
    if (!ps) ps = ps2;
    if ((ps & (ps - 1)) != 0)
        return fail(c, "field %s: %lld is not a page size (a power of two expected)",
                    ps_ms ? "memoryStatus.pageSize" : "pageSize", (long long)ps);
    r->page_bytes = (uint64_t)ps;

    const zt_json_t *mp = zt_json_get(ms, "memoryPages");
    if (mp && mp->type != ZT_JSON_OBJECT)
        return fail(c, "field memoryStatus.memoryPages: expected an object, found %s", show(mp, b));
    for (int k = 0; k < ZT_JETSAM_MEM_FIELDS; k++) {
        const zt_json_t *v = zt_json_get(mp, zt_jetsam_mem_field[k]);
        char path[64];
        snprintf(path, sizeof path, "memoryStatus.memoryPages.%s", zt_jetsam_mem_field[k]);
        r->mem_pages[k] = -1;
        if (v && !whole(c, v, path, 0, (int64_t)(MAX_BYTES / r->page_bytes), "page count",
                        &r->mem_pages[k]))
            return false;
    }

    const zt_json_t *procs = zt_json_get(body, "processes");
    if (!procs) return fail(c, "field processes: missing");
    if (procs->type != ZT_JSON_ARRAY)
        return fail(c, "field processes: expected an array, found %s", show(procs, b));
    r->procs = calloc(procs->count ? procs->count : 1, sizeof *r->procs);
    if (!r->procs) return fail(c, "out of memory");
    for (size_t i = 0; i < procs->count; i++) {
        r->nprocs = i + 1; /* so that zt_jetsam_free frees a partly read entry */
        if (!read_proc(c, &procs->items[i], i, r->page_bytes, &r->procs[i])) return false;
    }
    r->nprocs = procs->count;
    return true;
}

void zt_jetsam_free(zt_jetsam_report_t *r)
{
    free(r->os_version);
    free(r->build);
    free(r->product);
    free(r->date);
    free(r->kernel);
    free(r->largest);
    for (size_t i = 0; i < r->nprocs; i++) {
        free(r->procs[i].name);
        free(r->procs[i].reason);
        free(r->procs[i].states);
    }
    free(r->procs);
    memset(r, 0, sizeof *r);
}

zt_jetsam_status_t zt_jetsam_read_buffer(const char *buf, size_t len, const char *name,
                                         zt_jetsam_report_t *r, char *err, size_t errcap)
{
    jr_t c = {name, err, errcap};
    zt_jetsam_status_t st = ZT_JETSAM_DAMAGED;
    char jerr[256];
    size_t pos = 0, values = 0;
    zt_json_t head, body;
    memset(r, 0, sizeof *r);
    memset(&head, 0, sizeof head);
    memset(&body, 0, sizeof body);
    if (err && errcap) err[0] = 0;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) pos = 3; /* a UTF-8 BOM */
    size_t first = pos;
    while (first < len &&
           (buf[first] == ' ' || buf[first] == '\n' || buf[first] == '\r' || buf[first] == '\t'))
        first++;
    if (first >= len) {
        fail(&c, len ? "only white space, not a JetsamEvent report" : "empty file");
        goto out;
    }
    if (buf[first] != '{') {
        /* Not even the start of an object: say "not JSON" rather than
         * quoting the parser. */
        unsigned char ch = (unsigned char)buf[first];
        if (ch > 0x20 && ch < 0x7f)
            fail(&c,
                 "not JSON: byte %zu is '%c' (a JetsamEvent report starts with "
                 "{\"bug_type\":\"298\",...)",
                 first, ch);
        else
            fail(&c,
                 "not JSON: byte %zu is 0x%02x (a JetsamEvent report starts with "
                 "{\"bug_type\":\"298\",...)",
                 first, ch);
        goto out;
    }
    if (!zt_json_parse(buf, len, &pos, &values, &head, jerr, sizeof jerr)) {
        fail(&c, "damaged JSON in the header line: %s", jerr);
        goto out;
    }
    if (!read_header(&c, &head, r, &st)) goto out;
    st = ZT_JETSAM_DAMAGED;
    size_t after = pos;
    while (after < len &&
           (buf[after] == ' ' || buf[after] == '\n' || buf[after] == '\r' || buf[after] == '\t'))
        after++;
    if (after >= len) {
        fail(&c, "byte %zu: the report body is missing after the header line (truncated?)", len);
        goto out;
    }
    if (!zt_json_parse(buf, len, &pos, &values, &body, jerr, sizeof jerr)) {
        fail(&c, "damaged JSON in the report body: %s", jerr);
        goto out;
    }
    while (pos < len &&
           (buf[pos] == ' ' || buf[pos] == '\n' || buf[pos] == '\r' || buf[pos] == '\t'))
        pos++;
    if (pos < len) {
        fail(&c, "byte %zu: unexpected data after the report body", pos);
        goto out;
    }
    if (!read_body(&c, &body, r)) goto out;
    st = ZT_JETSAM_OK;
out:
    zt_json_free(&head);
    zt_json_free(&body);
    if (st != ZT_JETSAM_OK) zt_jetsam_free(r);
    /* One line, whatever names the file quotes ("\n" in a member name). */
    for (char *e = err; st != ZT_JETSAM_OK && e && *e; e++)
        if ((unsigned char)*e < 0x20 || *e == 0x7f) *e = '?';
    return st;
}

zt_jetsam_status_t zt_jetsam_read(const char *path, zt_jetsam_report_t *r, char *err, size_t errcap)
{
    jr_t c = {path, err, errcap};
    memset(r, 0, sizeof *r);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(&c, "%s", strerror(errno));
        return ZT_JETSAM_DAMAGED;
    }
    struct stat st;
    const char *why = fstat(fd, &st) != 0    ? strerror(errno)
                      : S_ISDIR(st.st_mode)  ? "is a directory"
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                                             : NULL;
    if (why) {
        fail(&c, "%s", why);
        close(fd);
        return ZT_JETSAM_DAMAGED;
    }
    if ((uint64_t)st.st_size > ZT_JETSAM_MAX_FILE_BYTES) {
        fail(&c, "%lld bytes: larger than any JetsamEvent report (%u MiB at most)",
             (long long)st.st_size, ZT_JETSAM_MAX_FILE_BYTES >> 20);
        close(fd);
        return ZT_JETSAM_DAMAGED;
    }
    size_t cap = (size_t)st.st_size, len = 0;
    char *buf = malloc(cap ? cap : 1);
    if (!buf) {
        close(fd);
        fail(&c, "out of memory");
        return ZT_JETSAM_DAMAGED;
    }
    /* Read what is there now (the file may be growing or shrinking). */
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fail(&c, "read: %s", strerror(errno));
            free(buf);
            close(fd);
            return ZT_JETSAM_DAMAGED;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    zt_jetsam_status_t s = zt_jetsam_read_buffer(buf, len, path, r, err, errcap);
    free(buf);
    return s;
}
