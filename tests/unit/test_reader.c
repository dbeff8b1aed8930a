/* ----------------------------------------------------------------------------
 * test_reader — record writer → reader round trip, and the reader's
 * robustness: zero-length, truncated at many lengths, wrong magic/version,
 * damaged moments (issue 12) and randomly damaged files are rejected with
 * one line, never a crash
 * (this test also runs under valgrind and ASan). Then, when the CLI is
 * built ($ZT_BUILD/zonetrace), what the reports make of a synthetic record:
 * events carry null class and kind where those do not apply, and a live
 * heap spread over many small stacks is not blamed on the largest of them.
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
#include <pthread.h>
#include <sys/wait.h>

#include "../check.h"

static void expect_reject(const void *buf, size_t len, const char *what)
{
    zt_model_t m;
    char err[512];
    bool accepted = zt_model_read_buffer(buf, len, "t.zt", &m, err, sizeof err);
    CHECK(!accepted, "%s: accepted", what);
    if (accepted) {
        zt_model_free(&m);
        return;
    }
    CHECK(strncmp(err, "t.zt: ", 6) == 0 && strchr(err, '\n') == NULL && strlen(err) >= 10,
          "%s: message is not one clear line: \"%s\"", what, err);
}

/* Class counters are shared by every thread (atomic adds): counts from
 * several threads must add up in the reader. */
#define SHARD_THREADS 4
#define SHARD_ALLOCS  1000

static uint32_t shard_stack;

static void *shard_worker(void *arg)
{
    for (int i = 0; i < SHARD_ALLOCS; i++)
        zt_account_alloc(shard_stack, 0, 2, 1, 48);
    for (int i = 0; i < SHARD_ALLOCS / 2; i++)
        zt_account_free(shard_stack, 0, 2, 1, 48);
    return arg;
}

/* A first-failure moment (and zone 0's, the same block), as snapshot.c
 * writes them: at the failure, stack a held 9 nano-32 blocks in zone 0 and
 * stack b 2 large blocks in zone 1. */
static uint64_t moment_off;
static void write_moment(uint32_t a, uint32_t b, const zt_rec_event_t *ev)
{
    struct {
        zt_rec_cell_t cells[2];
        zt_rec_region_t regions[1];
        zt_rec_charge_t charges[2];
    } tail = {{{a, 0, 1, 9, 9 * 32}, {b, 1, ZT_CLASS_LARGE, 2, 2 << 20}},
              {{0x100000, 1 << 20, 9 * 32, 1, 0, a, 0}},
              {{a, 0, 1 << 20}, {b, 1, 2 << 20}}};
    zt_rec_moment_t mo = {.kind = ZT_REC_MOMENT_FIRST_FAILURE,
                          .zone = 0,
                          .time_ns = 6,
                          .live_bytes = 9 * 32 + (2 << 20),
                          .live_blocks = 11,
                          .va_used_bytes = 3 << 20,
                          .failures = 1,
                          .has_event = 1,
                          .event = *ev,
                          .ncells = 2,
                          .nregions = 1,
                          .ncharges = 2};
    zt_rec_header_t *h = zt_rec.hdr;
    REQUIRE(zt_record_section_once(&h->moments_off[ZT_REC_MOMENT_FIRST_FAILURE], ZT_REC_SEC_MOMENT,
                                   1, &mo, sizeof mo, &tail, sizeof tail),
            "cannot write a moment");
    moment_off = h->moments_off[ZT_REC_MOMENT_FIRST_FAILURE];
    zt_rec.zone[0]->first_failure_off = moment_off;
    zt_rec.zone[0]->failures = 1;
    h->failures = h->null_returns = 1;
}

static void write_record(const char *path)
{
    zt_record_info_t info = {.path = path,
                             .stacks_mode = ZT_STACKS_FULL,
                             .unwind = "fp",
                             .depth = 16,
                             .monitor_ms = 100,
                             .device = "ios12-2gb",
                             .page_bytes = 16384,
                             .ram_bytes = 2ull << 30,
                             .va_limit_bytes = 3ull << 30,
                             .max_bytes = 64u << 20};
    REQUIRE(zt_record_open(&info), "cannot open a record at %s", path);
    REQUIRE(zt_record_zone(0, "DefaultMallocZone", 0x1000) && zt_record_zone(1, "Helper", 0x2000),
            "cannot register zones");
    uint64_t s1[3] = {0x1111, 0x2222, 0x3333}, s2[2] = {0x4444, 0x5555};
    uint32_t a = zt_stacktab_intern(s1, 3, true), b = zt_stacktab_intern(s2, 2, true);
    REQUIRE(a == 1 && b == 2, "ids %u %u", a, b);
    for (int i = 0; i < 10; i++)
        zt_account_alloc(a, 0, 1, 1, 32); /* 10 × nano-32 in zone 0 */
    for (int i = 0; i < 4; i++)
        zt_account_free(a, 0, 1, 1, 32);                /* 6 live */
    zt_account_alloc(b, 1, ZT_CLASS_LARGE, 1, 1 << 20); /* one large in zone 1 */
    zt_account_alloc(a, 1, 20, 1, 80);
    uint64_t s3[1] = {0x6666};
    shard_stack = zt_stacktab_intern(s3, 1, true);
    pthread_t th[SHARD_THREADS];
    for (int i = 0; i < SHARD_THREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, shard_worker, NULL) == 0, "pthread_create");
    for (int i = 0; i < SHARD_THREADS; i++)
        pthread_join(th[i], NULL);
    zt_record_zone_name(1, "Renamed later"); /* malloc_set_zone_name after creation */
    zt_rec_region_t regions[2] = {{0x100000, 1 << 20, 6 * 32, 1, 0, a, 0},
                                  {0x900000, 1 << 20, 1 << 20, 4, 1, b, 0}};
    zt_record_section(&zt_rec.hdr->regions_off, ZT_REC_SEC_REGIONS, 2, regions, sizeof regions[0],
                      NULL, 0);
    zt_rec_charge_t charges[2] = {{a, 0, 1 << 20}, {b, 1, 1 << 20}};
    zt_record_section(&zt_rec.hdr->charges_off, ZT_REC_SEC_CHARGES, 2, charges, sizeof charges[0],
                      NULL, 0);
    zt_rec_event_t ev = {.time_ns = 5,
                         .type = ZT_EV_NULL_RETURNED,
                         .cls = 1,
                         .kind = 1,
                         .stack_id = a,
                         .zone = 0,
                         .size = 24};
    zt_record_event(&ev);
    write_moment(a, b, &ev);
    zt_rec_sample_t s = {7, 1000, 500, 3 << 20, 6 * 32 + 80 + (1 << 20)};
    zt_record_sample(&s);
    zt_snapshot(ZT_SNAP_MODULES); /* zone walk needs the zone: not here */
    zt_rec_term_t t = {ZT_REC_EXITED, 3, 0, 0, 0, 0, 0, 0};
    zt_record_terminate(&t);
    zt_record_close();
}

static void check_model(const zt_model_t *m)
{
    CHECK(m->version == ZT_REC_VERSION && m->pid == getpid() && !strcmp(m->device, "ios12-2gb") &&
              !strcmp(m->unwind, "fp") && m->depth == 16 && m->page_bytes == 16384 &&
              m->stacks_mode == ZT_STACKS_FULL && m->va_limit_bytes == 3ull << 30,
          "header fields differ");
    CHECK(m->term.state == ZT_TERM_EXITED && m->term.exit_code == 3 && !m->term.killed,
          "termination: state %d code %d", m->term.state, m->term.exit_code);
    CHECK(m->argc >= 1 && m->argv != NULL && m->argv[0][0] != 0, "argv not recorded (argc %u)",
          m->argc);
    CHECK(strstr(m->options, "ZONETRACE_DEPTH=") != NULL, "options not recorded");
    CHECK(m->nmodules >= 1, "no modules");
    /* Required: the checks below index zones[0..1] and stacks[0..2]. */
    REQUIRE(m->nzones == 2 && !strcmp(m->zones[0].name, "DefaultMallocZone") &&
                m->zones[1].address == 0x2000,
            "zones differ");
    CHECK(!strcmp(m->zones[1].name, "Renamed later"), "zone 1 name not refreshed: %s",
          m->zones[1].name);
    REQUIRE(m->nstacks == 3, "%u stacks, expected 3", m->nstacks);
    const zt_m_counters_t *sc = &m->stacks[2].total;
    CHECK(sc->total_blocks == SHARD_THREADS * SHARD_ALLOCS &&
              sc->live_bytes == SHARD_THREADS * SHARD_ALLOCS / 2 * 48,
          "threaded stack counters: %llu total, %llu live bytes",
          (unsigned long long)sc->total_blocks, (unsigned long long)sc->live_bytes);
    bool class2 = false;
    for (unsigned i = 0; i < m->zones[0].nclasses; i++)
        if (m->zones[0].classes[i].cls == 2 &&
            m->zones[0].classes[i].c.total_blocks == SHARD_THREADS * SHARD_ALLOCS &&
            m->zones[0].classes[i].c.live_blocks == SHARD_THREADS * SHARD_ALLOCS / 2)
            class2 = true;
    CHECK(class2, "class counters of several threads do not add up");
    CHECK(m->stacks[0].nframes == 3 && m->stacks[0].pcs[2] == 0x3333 &&
              m->stacks[1].pcs[1] == 0x5555,
          "stacks differ");
    const zt_m_counters_t *c = &m->stacks[0].total;
    CHECK(c->live_blocks == 7 && c->live_bytes == 6 * 32 + 80 && c->total_blocks == 11,
          "stack 1 counters: live %llu/%llu total %llu", (unsigned long long)c->live_blocks,
          (unsigned long long)c->live_bytes, (unsigned long long)c->total_blocks);
    CHECK(c->peak_bytes >= 10 * 32, "stack 1 peak %llu", (unsigned long long)c->peak_bytes);
    CHECK(m->stacks[0].per_zone[0].live_bytes == 6 * 32 &&
              m->stacks[0].per_zone[1].live_bytes == 80 &&
              m->stacks[1].per_zone[1].live_bytes == 1 << 20,
          "per-zone split differs");
    CHECK(m->stacks[0].total.va_bytes == 1 << 20 && m->stacks[1].per_zone[1].va_bytes == 1 << 20,
          "charges differ");
    CHECK(m->zones[0].c.live_bytes == 6 * 32 + SHARD_THREADS * SHARD_ALLOCS / 2 * 48 &&
              m->zones[1].c.live_bytes == (1 << 20) + 80,
          "zone totals differ");
    bool found = false;
    for (unsigned i = 0; i < m->zones[1].nclasses; i++)
        if (m->zones[1].classes[i].cls == ZT_CLASS_LARGE &&
            m->zones[1].classes[i].c.live_blocks == 1)
            found = true;
    CHECK(found, "zone 1 large class missing");
    CHECK(m->nregions == 2 && m->regions[1].kind == 4 && m->regions[0].top_stack == 1,
          "regions differ");
    CHECK(m->nevents == 1 && m->events[0].type == ZT_EV_NULL_RETURNED && m->events[0].size == 24 &&
              m->events[0].stack_id == 1 && m->events_lost == 0,
          "events differ (%u)", m->nevents);
    CHECK(m->ntimeline >= 1 && m->timeline[0].rss_bytes == 1000, "timeline differs");
    /* exact peaks: stack a had 10 nano blocks live at once */
    CHECK(c->peak_blocks == 10 && c->peak_bytes == 10 * 32, "stack 1 peak %llu blocks %llu B",
          (unsigned long long)c->peak_blocks, (unsigned long long)c->peak_bytes);
    CHECK(m->heap.total_blocks == 12 + SHARD_THREADS * SHARD_ALLOCS, "heap total %llu",
          (unsigned long long)m->heap.total_blocks);
    /* the first-failure moment */
    const zt_m_moment_t *mo = &m->moments[ZT_REC_MOMENT_FIRST_FAILURE];
    CHECK(mo->present && mo->ncells == 2 && mo->nregions == 1 && mo->ncharges == 2 &&
              mo->has_event && mo->event.size == 24 && mo->live_blocks == 11,
          "first-failure moment differs");
    CHECK(m->zone_failures[0].present && m->zone_failure_counts[0] == 1 && m->failures == 1,
          "zone 0's first failure differs");
    CHECK(m->stacks[0].ff_live_bytes == 9 * 32 && m->stacks[1].ff_va_bytes == 2 << 20,
          "first-failure keys differ");
}

/* --at first-failure: live figures, regions and charges are the moment's,
 * totals and peaks the run's. */
static void check_at(zt_model_t *m)
{
    char err[256];
    REQUIRE(zt_model_at(m, ZT_AT_FIRST_FAILURE, err, sizeof err), "--at first-failure: %s", err);
    CHECK(m->at == ZT_AT_FIRST_FAILURE && m->at_time_ns == 6, "at not set");
    CHECK(m->stacks[0].total.live_blocks == 9 && m->stacks[0].total.live_bytes == 9 * 32 &&
              m->stacks[0].per_zone[1].live_bytes == 0 && m->stacks[0].total.total_blocks == 11,
          "stack 1 at the first failure: %llu blocks %llu B",
          (unsigned long long)m->stacks[0].total.live_blocks,
          (unsigned long long)m->stacks[0].total.live_bytes);
    CHECK(m->stacks[1].total.live_bytes == 2 << 20 && m->stacks[1].total.va_bytes == 2 << 20,
          "stack 2 at the first failure");
    CHECK(m->stacks[2].total.live_bytes == 0, "stack 3 had nothing at the first failure");
    CHECK(m->zones[1].c.live_blocks == 2 && m->zones[0].c.live_bytes == 9 * 32 &&
              m->nregions == 1 && m->va_used_bytes == 3 << 20,
          "zones/regions at the first failure");
    CHECK(!zt_model_at(m, ZT_AT_PEAK, err, sizeof err) && strstr(err, "no peak moment"),
          "a missing moment must be refused: %s", err);
}

/* ---- reports on a synthetic record ------------------------------------------ */

#define SPREAD_STACKS 40

/* A finished process whose live heap is 40 stacks × 1 KiB, with one event
 * of each type that is not an allocation failure. Written by a child
 * process: the record writer and the stack table are process-wide. */
static void write_spread_record(const char *path)
{
    zt_record_info_t info = {.path = path,
                             .stacks_mode = ZT_STACKS_FULL,
                             .unwind = "fp",
                             .depth = 16,
                             .monitor_ms = 0,
                             .device = "ios12-2gb",
                             .page_bytes = 16384,
                             .ram_bytes = 2ull << 30,
                             .va_limit_bytes = 3ull << 30,
                             .max_bytes = 64u << 20};
    REQUIRE(zt_record_open(&info) && zt_record_zone(0, "DefaultMallocZone", 0x1000),
            "cannot open a record at %s", path);
    for (uint64_t i = 0; i < SPREAD_STACKS; i++) {
        uint64_t pcs[2] = {0x10000 + 16 * i, 0x20000};
        uint32_t id = zt_stacktab_intern(pcs, 2, true);
        zt_account_alloc(id, 0, 20, 1, 1024);
    }
    static const zt_rec_event_t evs[] = {
        {.time_ns = 1, .type = ZT_EV_NANO_DELEGATED, .cls = 1, .kind = 0, .zone = 0, .size = 32},
        {.time_ns = 2, .type = ZT_EV_NANO_RELEASED, .cls = 1, .kind = 0, .zone = 0, .size = 32},
        {.time_ns = 3, .type = ZT_EV_VA_HIGH_WATER, .kind = 3, .zone = -1, .va_used = 64 << 20},
        {.time_ns = 4, .type = ZT_EV_LIMIT, .zone = -1, .value = 1ull << 30},
        {.time_ns = 5, .type = ZT_EV_PRESSURE, .zone = -1, .value = 1234},
        {.time_ns = 6, .type = ZT_EV_PROCESS_END, .kind = 1, .zone = -1, .value = 0},
    };
    for (unsigned i = 0; i < sizeof evs / sizeof evs[0]; i++)
        zt_record_event(&evs[i]);
    zt_rec_term_t t = {ZT_REC_EXITED, 0, 0, 0, 0, 0, 0, 0};
    zt_record_terminate(&t);
    zt_record_close();
}

/* `zonetrace report path ARGS` into a malloc'd string. */
static char *run_report(const char *zt, const char *path, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' report '%s' %s 2>&1", zt, path, args);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL, "popen %s", cmd);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    REQUIRE(pclose(p) == 0, "%s failed: %s", cmd, out);
    return out;
}

/* The JSON line of the event of `type`, up to its end, in buf. */
static const char *event_line(const char *json, const char *type, char *buf, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "\"type\":\"%s\"", type);
    const char *p = strstr(json, key);
    REQUIRE(p != NULL, "no %s event in the JSON report", type);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    snprintf(buf, cap, "%.*s", (int)n, p);
    return buf;
}

static void check_reports(void)
{
    const char *build = getenv("ZT_BUILD");
    char zt[512], path[256];
    snprintf(zt, sizeof zt, "%s/zonetrace", build ? build : ".");
    if (!build || access(zt, X_OK) != 0) {
        CHECK_SKIP("no %s (set ZT_BUILD to the build directory): reports not checked", zt);
        return;
    }
    snprintf(path, sizeof path, "/tmp/zt_test_reader_spread_%d.zt", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        write_spread_record(path);
        _exit(0);
    }
    int status;
    REQUIRE(pid >= 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                WEXITSTATUS(status) == 0,
            "the child writing %s failed", path);

    /* class/class_name/kind: null exactly where they do not apply. */
    char *json = run_report(zt, path, "--format json");
    static const struct {
        const char *type;
        bool cls, kind;
    } want[] = {
        {"nano_delegated", true, true}, {"nano_released", true, true},
        {"va_high_water", false, true}, {"limit", false, false},
        {"pressure", false, false},     {"process_end", false, false},
    };
    char line[1024];
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        event_line(json, want[i].type, line, sizeof line);
        bool cls_null = strstr(line, "\"class\":null,\"class_name\":null") != NULL;
        bool kind_null = strstr(line, "\"kind\":null") != NULL;
        CHECK(cls_null != want[i].cls && kind_null != want[i].kind,
              "%s event: class %s, kind %s expected: %s", want[i].type,
              want[i].cls ? "set" : "null", want[i].kind ? "set" : "null", line);
    }
    CHECK(strstr(event_line(json, "nano_delegated", line, sizeof line),
                 "\"class_name\":\"nano-32\",\"kind\":\"nano\""),
          "nano_delegated event lost its class: %s", line);
    CHECK(strstr(event_line(json, "va_high_water", line, sizeof line), "\"kind\":\"medium\""),
          "va_high_water event lost its kind: %s", line);
    /* Spread heap: no single stack is named in the diagnosis. */
    CHECK(strstr(json, "spread over 40 stacks") && !strstr(json, "% of it from"),
          "diagnosis of a heap spread over 40 stacks: %s", strstr(json, "\"diagnosis\""));
    free(json);

    char *text = run_report(zt, path, "");
    const char *diag = strstr(text, "diagnosis:");
    CHECK(diag && strstr(diag, "spread over 40 stacks") && !strstr(text, "% of it from"),
          "text diagnosis of a spread heap: %s", diag ? diag : text);
    /* The limit and pressure events are listed without a class or kind. */
    const char *ev = strstr(text, "\nevents");
    REQUIRE(ev != NULL, "text events: %s", text);
    CHECK(strstr(ev, "memory limit (cgroup memory.max) 1.00 GiB") &&
              strstr(ev, "PSI some avg10 12.34 %"),
          "text events: %s", ev);
    const char *ev_end = strstr(ev, "\nzone ");
    for (const char *p = ev; p && (!ev_end || p < ev_end); p = strchr(p + 1, '\n')) {
        const char *eol = strchr(p + 1, '\n');
        if ((strstr(p, "memory limit") && strstr(p, "memory limit") < eol) ||
            (strstr(p, "memory pressure") && strstr(p, "memory pressure") < eol)) {
            const char *n = strstr(p, "nano");
            CHECK(!(n && n < eol), "text event line names a class: %.*s", (int)(eol - p), p);
        }
    }
    free(text);
    if (!getenv("ZT_KEEP")) /* ZT_KEEP=1: leave the record for a look */
        unlink(path);
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/zt_test_reader_%d.zt", (int)getpid());
    zt_model_t m;
    char err[512];
    CHECK_CASE("round trip")
    {
        write_record(path);
        REQUIRE(zt_model_read(path, &m, err, sizeof err), "round trip: %s", err);
        check_model(&m);
        check_at(&m);
        zt_model_free(&m);
    }

    /* Load the file for the damage tests. */
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL, "cannot reopen %s", path);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len);
    REQUIRE(fread(buf, 1, len, f) == len, "short read");
    fclose(f);
    unlink(path);
    uint64_t used;
    memcpy(&used, buf + offsetof(zt_rec_header_t, used_bytes), 8);

    CHECK_CASE("zero-length, truncated, wrong magic or version")
    {
        expect_reject(buf, 0, "zero-length");
        /* Truncated at many lengths: every one is shorter than file_bytes. */
        for (size_t cut = 1; cut < len; cut += cut < 64 ? 1 : cut < 70000 ? 997 : 65521)
            expect_reject(buf, cut, "truncated");
        expect_reject(buf, used, "truncated at used_bytes");

        buf[0] ^= 0x20;
        expect_reject(buf, len, "wrong magic");
        buf[0] ^= 0x20;
        buf[8] = 99;
        expect_reject(buf, len, "wrong version");
        buf[8] = ZT_REC_VERSION;
    }

    /* Damage inside a moment: rejected with one line. */
    CHECK_CASE("damaged moments")
    {
        REQUIRE(moment_off && moment_off + 256 < len, "no moment to damage");
        uint8_t *mo = buf + moment_off + sizeof(zt_rec_section_t);
        const struct {
            size_t at;
            uint64_t value;
            const char *what;
        } cuts[] = {
            {offsetof(zt_rec_moment_t, ncells), 1ull << 40, "moment cell count overflows"},
            {offsetof(zt_rec_moment_t, ncells), 1000, "moment cells beyond the section"},
            {offsetof(zt_rec_moment_t, nruns), 3, "moment runs beyond the section"},
            {offsetof(zt_rec_moment_t, kind), 4, "moment kind"},
            {offsetof(zt_rec_moment_t, has_event), 2, "moment has_event"},
            {sizeof(zt_rec_moment_t), 99, "moment cell names a stack beyond the table"},
            {sizeof(zt_rec_moment_t) + 2 * sizeof(zt_rec_cell_t) + 28, 99,
             "moment region names a zone beyond the table"},
        };
        for (unsigned i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            uint8_t save[8];
            size_t bytes = cuts[i].at == offsetof(zt_rec_moment_t, kind) ||
                                   cuts[i].at == sizeof(zt_rec_moment_t) ||
                                   cuts[i].at > sizeof(zt_rec_moment_t)
                               ? 4
                               : 8;
            memcpy(save, mo + cuts[i].at, bytes);
            memcpy(mo + cuts[i].at, &cuts[i].value, bytes);
            expect_reject(buf, len, cuts[i].what);
            memcpy(mo + cuts[i].at, save, bytes);
        }
        /* the section header: wrong type, and a length past the data */
        uint8_t *sh = buf + moment_off;
        sh[4] ^= 1;
        expect_reject(buf, len, "moment section type");
        sh[4] ^= 1;
        uint64_t bytes0;
        memcpy(&bytes0, sh + 8, 8);
        uint64_t big = used;
        memcpy(sh + 8, &big, 8);
        expect_reject(buf, len, "moment section length");
        memcpy(sh + 8, &bytes0, 8);
        bool read = zt_model_read_buffer(buf, len, "t.zt", &m, err, sizeof err);
        CHECK(read, "restored buffer rejected: %s", err);
        if (read) zt_model_free(&m);
    }

    /* Random damage: must be read or rejected cleanly, never crash. */
    unsigned iters = getenv("ZT_UNDER_VALGRIND") ? 300 : 3000;
    unsigned rejected = 0;
    CHECK_CASE("random damage")
    {
        uint64_t rng = 0x9e3779b97f4a7c15ull;
        for (unsigned it = 0; it < iters; it++) {
            size_t pos[8];
            uint8_t old[8];
            unsigned nflip = 1 + it % 8;
            for (unsigned k = 0; k < nflip; k++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                /* Mostly the header and the structures after it. */
                size_t span = it % 2 ? sizeof(zt_rec_header_t) : used;
                pos[k] = (size_t)(rng % span);
                old[k] = buf[pos[k]];
                buf[pos[k]] ^= (uint8_t)(1u << (rng >> 60 & 7)) | (uint8_t)(rng >> 40);
            }
            if (zt_model_read_buffer(buf, len, "t.zt", &m, err, sizeof err))
                zt_model_free(&m);
            else if (err[0] == 0 || strchr(err, '\n'))
                CHECK(err[0] != 0 && !strchr(err, '\n'), "damage %u: rejection without one line",
                      it);
            else
                rejected++;
            for (unsigned k = nflip; k-- > 0;)
                buf[pos[k]] = old[k];
        }
        bool read = zt_model_read_buffer(buf, len, "t.zt", &m, err, sizeof err);
        CHECK(read, "restored buffer rejected: %s", err);
        if (read) zt_model_free(&m);
        printf("test_reader: %u of %u damaged copies rejected\n", rejected, iters);
    }
    free(buf);
    CHECK_CASE("reports of a synthetic record")
    {
        check_reports();
    }
    return CHECK_DONE("test_reader");
}
