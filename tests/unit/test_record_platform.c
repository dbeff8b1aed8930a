/* ----------------------------------------------------------------------------
 * test_record_platform — one record format everywhere (issue 13 item 5): a
 * record written on iOS (by the record writer, with the header's platform
 * fields and a modules section as the Darwin runtime fills them: Mach-O
 * images with their LC_UUID and slide) reads here, on Linux:
 * - the model says iOS, arm64, Mach-O, foreign; signal numbers are the
 *   host's (Darwin's SIGBUS 10 is Linux's 7);
 * - `zonetrace report` shows frames as image+offset from the load address
 *   and lists each image's UUID and load address (what atos -l and a dSYM
 *   lookup need); the JSON report carries the same;
 * - damaged module entries and unknown versions give one clear line;
 * - a version 2 record (before the platform fields) reads as Linux/ELF.
 * -------------------------------------------------------------------------- */
#include "internal.h"
#include "hooks.h"

/* The reader lives with the CLI (which may use malloc); compile it in. */
#include "../../profiler/cli/reader.c"
#include "../../profiler/cli/host.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../check.h"

#define APP_PATH      "/private/var/containers/Bundle/Application/0C1D/Notes.app/Notes"
#define LIB_PATH      "/usr/lib/system/libsystem_malloc.dylib"
#define APP_BASE      0x1000c8000ull /* the mach_header: the load address */
#define APP_SLIDE     0xc8000ull     /* __TEXT vmaddr 0x100000000 */
#define LIB_BASE      0x1a2b40000ull
#define LIB_SLIDE     0x22b40000ull
#define APP_PC        (APP_BASE + 0x4124) /* a return address in the app */
#define LIB_PC        (LIB_BASE + 0x1f08)
#define APP_UUID      "1A2B3C4D-5E6F-4071-8293-A4B5C6D7E8F9"
#define DARWIN_SIGBUS 10 /* <sys/signal.h> on Darwin; 7 on Linux */

static const uint8_t app_uuid[16] = {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x40, 0x71,
                                     0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9};
static const uint8_t lib_uuid[16] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

/* The record an iOS process writes: the writer's header with the platform
 * fields the Darwin prim gives (zone/prim/darwin.c zt_prim_platform) and
 * the modules section its zt_prim_modules produces. In a child: the writer
 * and the stack table are process-wide. */
static void write_ios_record(const char *path)
{
    zt_record_info_t info = {.path = path,
                             .stacks_mode = ZT_STACKS_FULL,
                             .unwind = "fp",
                             .depth = 16,
                             .monitor_ms = 0,
                             .device = "iphonexs",
                             .page_bytes = 16384,
                             .ram_bytes = 4ull << 30,
                             .va_limit_bytes = 0,
                             .max_bytes = 64u << 20};
    REQUIRE(zt_record_open(&info) && zt_record_zone(0, "DefaultMallocZone", 0x1000),
            "cannot open a record at %s", path);
    zt_rec_header_t *h = zt_rec.hdr;
    h->platform = ZT_REC_PLATFORM_IOS;
    h->image_format = ZT_REC_IMAGE_MACHO;
    memcpy(h->arch, "arm64", 6);
    snprintf(h->exe, sizeof h->exe, "%s", APP_PATH);

    struct {
        zt_rec_module_t m[2];
        char paths[sizeof APP_PATH + sizeof LIB_PATH];
    } sec;
    memset(&sec, 0, sizeof sec);
    uint32_t at = (uint32_t)(sizeof(zt_rec_section_t) + sizeof sec.m);
    sec.m[0] = (zt_rec_module_t){APP_BASE, 0x40000, APP_SLIDE, at, sizeof APP_PATH - 1, {0}, 16};
    memcpy(sec.m[0].build_id, app_uuid, 16);
    sec.m[1] = (zt_rec_module_t){
        LIB_BASE, 0x30000, LIB_SLIDE, at + (uint32_t)sizeof APP_PATH, sizeof LIB_PATH - 1, {0}, 16};
    memcpy(sec.m[1].build_id, lib_uuid, 16);
    memcpy(sec.paths, APP_PATH, sizeof APP_PATH);
    memcpy(sec.paths + sizeof APP_PATH, LIB_PATH, sizeof LIB_PATH);
    REQUIRE(zt_record_section(&h->modules_off, ZT_REC_SEC_MODULES, 2, sec.m, sizeof sec.m[0],
                              sec.paths, sizeof sec.paths),
            "modules section");

    uint64_t pcs[2] = {LIB_PC, APP_PC}; /* innermost first */
    uint32_t id = zt_stacktab_intern(pcs, 2, true);
    for (int i = 0; i < 5; i++)
        zt_account_alloc(id, 0, 20, 1, 1024);
    zt_rec_term_t t = {ZT_REC_SIGNALED, 0, DARWIN_SIGBUS, 1, 0x10, 0, 0, 0};
    zt_record_terminate(&t);
    zt_record_close();
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len);
    REQUIRE(buf && fread(buf, 1, *len, f) == *len, "short read of %s", path);
    fclose(f);
    return buf;
}

static void save(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(buf, 1, len, f) == len, "cannot write %s", path);
    fclose(f);
}

/* `zonetrace report path ARGS`: output (stdout and stderr) and exit status. */
static char *run_report(const char *zt, const char *path, const char *args, int *status)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' report '%s' %s 2>&1", zt, path, args);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL, "popen %s", cmd);
    size_t cap = 1 << 16, n = 0, got;
    char *out = malloc(cap);
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static void expect_reject(const uint8_t *buf, size_t len, const char *what, const char *words)
{
    zt_model_t m;
    char err[512];
    bool ok = zt_model_read_buffer(buf, len, "t.zt", &m, err, sizeof err);
    CHECK(!ok, "%s: accepted", what);
    if (ok) {
        zt_model_free(&m);
        return;
    }
    CHECK(strncmp(err, "t.zt: ", 6) == 0 && !strchr(err, '\n') && strstr(err, words),
          "%s: want one line with \"%s\", got \"%s\"", what, words, err);
}

int main(void)
{
    char path[256], bad[256];
    snprintf(path, sizeof path, "/tmp/zt_test_record_platform_%d.zt", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/zt_test_record_platform_%d.bad.zt", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        write_ios_record(path);
        _exit(0);
    }
    int status;
    REQUIRE(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                WEXITSTATUS(status) == 0,
            "the child writing %s failed", path);
    size_t len;
    uint8_t *buf = load(path, &len);
    zt_rec_header_t h;
    memcpy(&h, buf, sizeof h);

    CHECK_CASE("an iOS record reads on Linux")
    {
        zt_model_t m;
        char err[512];
        REQUIRE(zt_model_read(path, &m, err, sizeof err), "%s", err);
        CHECK(m.version == ZT_REC_VERSION && m.platform == ZT_M_IOS &&
                  m.image_format == ZT_M_MACHO && strcmp(m.arch, "arm64") == 0,
              "version %u platform %d image format %d arch %s", m.version, m.platform,
              m.image_format, m.arch);
        CHECK(m.foreign, "an iOS record is foreign on Linux");
        CHECK(m.term.state == ZT_TERM_SIGNALED && m.term.signal == SIGBUS,
              "Darwin's SIGBUS (10) must read as this host's SIGBUS (%d): got %d", SIGBUS,
              m.term.signal);
        REQUIRE(m.nmodules == 2, "%u modules", m.nmodules);
        const zt_m_module_t *a = &m.modules[0];
        CHECK(a->macho && a->base == APP_BASE && a->bias == APP_SLIDE && a->build_id_len == 16 &&
                  memcmp(a->build_id, app_uuid, 16) == 0 && strcmp(a->path, APP_PATH) == 0,
              "the app's module entry differs");
        CHECK(m.modules[1].macho && strcmp(m.modules[1].path, LIB_PATH) == 0,
              "the dylib's module entry differs");
        zt_model_free(&m);
    }

    CHECK_CASE("the report shows image+offset and the UUID")
    {
        const char *build = getenv("ZT_BUILD");
        char zt[512];
        snprintf(zt, sizeof zt, "%s/zonetrace", build ? build : ".");
        if (!build || access(zt, X_OK) != 0) {
            CHECK_SKIP("no %s (set ZT_BUILD to the build directory)", zt);
        } else {
            int st;
            char *text = run_report(zt, path, "", &st);
            CHECK(st == 0, "report failed (%d): %s", st, text);
            CHECK(strstr(text, "Notes+0x4124") && strstr(text, "libsystem_malloc.dylib+0x1f08"),
                  "frames are not image+offset from the load address:\n%s", text);
            CHECK(strstr(text, "UUID " APP_UUID) && strstr(text, "load 0x1000c8000") &&
                      strstr(text, "slide 0xc8000"),
                  "the image list lacks the app's UUID and load address:\n%s", text);
            CHECK(strstr(text, "atos -arch arm64"), "no atos hint:\n%s", text);
            CHECK(strstr(text, "killed by SIGBUS"), "the signal is not named SIGBUS:\n%s", text);
            CHECK(strstr(text, "recorded:  ios arm64, Mach-O images"), "no platform line:\n%s",
                  text);
            free(text);
            char *json = run_report(zt, path, "--format json", &st);
            CHECK(st == 0 && strstr(json, "\"platform\": \"ios\"") &&
                      strstr(json, "\"image_format\": \"macho\"") &&
                      strstr(json, "\"uuid\":\"" APP_UUID "\"") &&
                      strstr(json, "\"signal_name\":\"SIGBUS\""),
                  "JSON report lacks platform, UUID or signal:\n%.2000s", json);
            free(json);
            /* A damaged module entry through the CLI: one line, status 2. */
            uint8_t *copy = malloc(len);
            memcpy(copy, buf, len);
            uint32_t seven = 7;
            memcpy(copy + h.modules_off + sizeof(zt_rec_section_t) +
                       offsetof(zt_rec_module_t, build_id_len),
                   &seven, 4);
            save(bad, copy, len);
            free(copy);
            char *out = run_report(zt, bad, "", &st);
            CHECK(st == 2 && strchr(out, '\n') == strrchr(out, '\n') &&
                      strstr(out, "damaged: module 0 (" APP_PATH "): a Mach-O UUID of 7 bytes"),
                  "status %d, output: %s", st, out);
            free(out);
            unlink(bad);
        }
    }

    CHECK_CASE("damaged module entries and unknown versions: one clear line")
    {
        uint8_t *copy = malloc(len);
        uint64_t mod0 = h.modules_off + sizeof(zt_rec_section_t);
        uint64_t mod1 = mod0 + sizeof(zt_rec_module_t);
        struct {
            uint64_t at;
            uint32_t value;
            const char *what, *words;
        } damage[] = {
            {mod0 + offsetof(zt_rec_module_t, build_id_len), 7, "7-byte UUID",
             "a Mach-O UUID of 7"},
            {mod1 + offsetof(zt_rec_module_t, build_id_len), 21, "21-byte id", "a build id of 21"},
            {mod1 + offsetof(zt_rec_module_t, path_off), 4000, "path outside",
             "module 1: its path"},
            {mod0 + offsetof(zt_rec_module_t, path_off), 8, "path over the entries",
             "module 0: its path"},
            {mod0 + offsetof(zt_rec_module_t, path_len), 3, "path length", "is not a 3-byte"},
            {mod1 + offsetof(zt_rec_module_t, bytes), 0, "empty extent", "module 1 ("},
            {mod1 + offsetof(zt_rec_module_t, bytes) + 4, 0xffffffffu, "wrapping extent",
             "module 1 ("},
            {offsetof(zt_rec_header_t, platform), 9, "platform 9", "unknown platform 9"},
            {offsetof(zt_rec_header_t, image_format), 0, "image format 0", "image format 0"},
            {offsetof(zt_rec_header_t, version), 6, "version 6", "this zonetrace reads version 5"},
            {offsetof(zt_rec_header_t, version), 1, "version 1", "unsupported record version 1"},
        };
        for (unsigned i = 0; i < sizeof damage / sizeof damage[0]; i++) {
            memcpy(copy, buf, len);
            memcpy(copy + damage[i].at, &damage[i].value, 4);
            expect_reject(copy, len, damage[i].what, damage[i].words);
        }
        free(copy);
    }

    CHECK_CASE("version 2 and 3 records (fixed-size, older layouts) are refused in one line")
    {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        uint32_t two = 2, three = 3;
        memcpy(copy + offsetof(zt_rec_header_t, version), &two, 4);
        expect_reject(copy, len, "version 2", "unsupported record version 2");
        memcpy(copy + offsetof(zt_rec_header_t, version), &three, 4);
        expect_reject(copy, len, "version 3", "unsupported record version 3");
        free(copy);
    }
    free(buf);
    if (!getenv("ZT_KEEP")) unlink(path);
    return CHECK_DONE("test_record_platform");
}
