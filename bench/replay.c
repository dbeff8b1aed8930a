/* ----------------------------------------------------------------------------
 * replay.c — replays a recorded allocation trace of a real program.
 *
 *   bench_replay convert RAW OPS   raw libtracelog.so log → ops file
 *   bench_replay -f OPS [-n TENTHS] [-t THREADS]
 *
 * Conversion maps each recorded pointer to a dense slot id (ids are reused
 * once freed, so the slot array is as large as the peak live count), drops
 * frees of blocks allocated before recording began, and turns realloc(p, 0)
 * into a free. The timed replay then walks the op array: every thread
 * replays the trace with its own slots, stamping and checking each block as
 * the other workloads do, SIZE/10 passes per thread (the last one possibly a
 * prefix). Blocks still live at the end of a pass (what the program never
 * freed) are freed then. The ops file is mapped read-only and shared by the
 * threads, so it costs no heap.
 * -------------------------------------------------------------------------- */
#include "bench.h"
#include "trace.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

static const void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "bench_replay: cannot open %s\n", path);
        exit(2);
    }
    void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (m == MAP_FAILED || !m) {
        fprintf(stderr, "bench_replay: cannot map %s\n", path);
        exit(2);
    }
    *len = (size_t)st.st_size;
    return m;
}

/* ---- conversion: pointer → id, linear probing with backward-shift delete */

typedef struct entry {
    uint64_t ptr; /* 0 = empty */
    uint32_t id;
} entry_t;

static entry_t *tab;
static uint64_t tab_cap, tab_used;

static uint64_t hash_ptr(uint64_t p)
{
    return (p * 0x9E3779B97F4A7C15ULL) >> 20;
}

static entry_t *find(uint64_t p)
{
    for (uint64_t i = hash_ptr(p) & (tab_cap - 1);; i = (i + 1) & (tab_cap - 1))
        if (tab[i].ptr == p || tab[i].ptr == 0) return &tab[i];
}

static void insert(uint64_t p, uint32_t id);

static void grow(void)
{
    entry_t *old = tab;
    uint64_t old_cap = tab_cap;
    tab_cap = old_cap ? old_cap * 2 : 1 << 16;
    tab = calloc(tab_cap, sizeof *tab);
    if (!tab) bench_fail("replay", "calloc failed", NULL);
    tab_used = 0;
    for (uint64_t i = 0; i < old_cap; i++)
        if (old[i].ptr) insert(old[i].ptr, old[i].id);
    free(old);
}

static void insert(uint64_t p, uint32_t id)
{
    if ((tab_used + 1) * 2 > tab_cap) grow();
    entry_t *e = find(p);
    if (!e->ptr) tab_used++;
    *e = (entry_t){p, id};
}

static void erase(entry_t *e)
{
    uint64_t i = (uint64_t)(e - tab), j = i;
    tab[i].ptr = 0;
    tab_used--;
    for (;;) {
        j = (j + 1) & (tab_cap - 1);
        if (!tab[j].ptr) return;
        uint64_t home = hash_ptr(tab[j].ptr) & (tab_cap - 1);
        /* move j back to i unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            tab[i] = tab[j];
            tab[j].ptr = 0;
            i = j;
        }
    }
}

static uint32_t *free_ids;
static uint64_t nfree_ids, ids, live, live_peak;

static uint32_t new_id(void)
{
    live++;
    if (live > live_peak) live_peak = live;
    return nfree_ids ? free_ids[--nfree_ids] : (uint32_t)ids++;
}

static void drop_id(uint32_t id)
{
    live--;
    free_ids[nfree_ids++] = id;
}

static int convert(const char *raw_path, const char *ops_path)
{
    size_t len;
    const trace_header_t *h = map_file(raw_path, &len);
    if (len < sizeof *h || memcmp(h->magic, TRACE_MAGIC, 8) ||
        h->records > (len - sizeof *h) / sizeof(trace_rec_t)) {
        fprintf(stderr, "bench_replay: %s: not a complete libtracelog.so trace\n", raw_path);
        return 2;
    }
    const trace_rec_t *r = (const void *)(h + 1);
    uint64_t n = h->records;
    op_t *ops = malloc((2 * n + 1) * sizeof *ops);
    free_ids = malloc((n + 1) * sizeof *free_ids);
    if (!ops || !free_ids) bench_fail("replay", "malloc failed", NULL);
    uint64_t nops = 0;
    grow();
    for (uint64_t i = 0; i < n; i++) {
        unsigned kind = (unsigned)(r[i].op_size >> 56);
        uint64_t size = r[i].op_size & TRACE_SIZE_MASK, a = r[i].a, b = r[i].b;
        entry_t *e;
        if (kind == TRACE_REALLOC && a == 0) kind = TRACE_MALLOC;
        if (kind == TRACE_REALLOC && b == 0 && size == 0) kind = TRACE_FREE, b = 0;
        switch (kind) {
        case TRACE_MALLOC:
        case TRACE_CALLOC:
        case TRACE_MEMALIGN:
            if (!b) break;
            e = find(b);
            if (e->ptr) { /* a free we did not see (another thread's, logged late) */
                ops[nops++] = (op_t){TRACE_FREE, e->id, 0};
                drop_id(e->id);
                erase(e);
            }
            uint32_t id = new_id();
            uint32_t k = kind;
            if (kind == TRACE_MEMALIGN) k |= (uint32_t)(a ? __builtin_ctzll(a) : 4) << 8;
            ops[nops++] = (op_t){k, id, size};
            insert(b, id);
            break;
        case TRACE_FREE:
            e = find(a);
            if (!e->ptr) break;
            ops[nops++] = (op_t){TRACE_FREE, e->id, 0};
            drop_id(e->id);
            erase(e);
            break;
        case TRACE_REALLOC:
            if (!b) break; /* failed: nothing changed */
            e = find(a);
            if (!e->ptr) { /* grown from a block we never saw allocated */
                uint32_t nid = new_id();
                ops[nops++] = (op_t){TRACE_MALLOC, nid, size};
                insert(b, nid);
                break;
            }
            uint32_t rid = e->id;
            erase(e);
            e = find(b);
            if (e->ptr) {
                ops[nops++] = (op_t){TRACE_FREE, e->id, 0};
                drop_id(e->id);
                erase(e);
            }
            ops[nops++] = (op_t){TRACE_REALLOC, rid, size};
            insert(b, rid);
            break;
        default:
            break;
        }
    }
    ops_header_t oh = {OPS_MAGIC, nops, ids, live_peak};
    memcpy(oh.magic, OPS_MAGIC, 8);
    FILE *f = fopen(ops_path, "wb");
    if (!f || fwrite(&oh, sizeof oh, 1, f) != 1 || fwrite(ops, sizeof *ops, nops, f) != nops ||
        fclose(f) != 0) {
        fprintf(stderr, "bench_replay: cannot write %s\n", ops_path);
        return 2;
    }
    printf("converted %llu records into %llu ops, %llu slots, %llu live at peak\n",
           (unsigned long long)n, (unsigned long long)nops, (unsigned long long)ids,
           (unsigned long long)live_peak);
    free(ops);
    free(free_ids);
    free(tab);
    return 0;
}

/* ---- replay ---------------------------------------------------------------- */

#define REPLAY_SIZE_HELP "tenths of a pass over the trace per thread (10 = the whole trace once)"

static const ops_header_t *oh;
static const op_t *ops;

typedef struct worker {
    long tenths; /* of a pass over the trace */
    uint64_t check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    void **slot = calloc(oh->ids + 1, sizeof *slot);
    uint64_t *len = calloc(oh->ids + 1, sizeof *len);
    if (!slot || !len) bench_fail("replay", "calloc failed", NULL);
    uint64_t check = 0;
    for (uint64_t left = (uint64_t)w->tenths * oh->ops / 10; left;) {
        uint64_t nops = left < oh->ops ? left : oh->ops;
        left -= nops;
        for (uint64_t i = 0; i < nops; i++) {
            const op_t *o = &ops[i];
            uint32_t id = o->id;
            size_t n = (size_t)o->size;
            void *p;
            switch (o->kind & 0xff) {
            case TRACE_MALLOC:
                p = malloc(n);
                break;
            case TRACE_CALLOC:
                p = calloc(1, n);
                break;
            case TRACE_MEMALIGN:
                if (posix_memalign(&p, (size_t)1 << (o->kind >> 8), n)) p = NULL;
                break;
            case TRACE_REALLOC:
                check += bench_check("replay", slot[id], len[id], id);
                p = realloc(slot[id], n);
                break;
            default: /* TRACE_FREE */
                check += bench_check("replay", slot[id], len[id], id);
                free(slot[id]);
                slot[id] = NULL;
                continue;
            }
            if (!p && n) bench_fail("replay", "allocation returned NULL", NULL);
            slot[id] = p;
            len[id] = n;
            bench_stamp(p, n, id);
        }
        for (uint64_t id = 0; id < oh->ids; id++) {
            free(slot[id]);
            slot[id] = NULL;
        }
    }
    free(slot);
    free(len);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "convert")) return convert(argv[2], argv[3]);
    bench_args_t a = bench_parse(argc, argv, "replay", 20, REPLAY_SIZE_HELP);
    if (!a.file) bench_usage("replay", REPLAY_SIZE_HELP " (-f OPS is required)");
    size_t flen;
    oh = map_file(a.file, &flen);
    if (flen < sizeof *oh || memcmp(oh->magic, OPS_MAGIC, 8) ||
        oh->ops > (flen - sizeof *oh) / sizeof(op_t)) {
        fprintf(stderr, "bench_replay: %s: not an ops file (bench_replay convert makes one)\n",
                a.file);
        return 2;
    }
    ops = (const op_t *)(oh + 1);
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size, 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("replay", &a, oh->live_peak * (uint64_t)a.threads, check);
    return 0;
}
