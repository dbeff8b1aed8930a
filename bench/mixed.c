/* ----------------------------------------------------------------------------
 * mixed.c — mixed sizes 8 B–64 KiB (log-uniform, so every size class of
 * every allocator is hit) with realloc: per step a random slot of a 2048-slot
 * working set is allocated, grown or shrunk with realloc, or freed. realloc
 * must keep the block's first word, which is checked. SIZE = steps per
 * thread, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define SLOTS 2048

typedef struct worker {
    long ops;
    uint64_t seed, check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    void **slot = calloc(SLOTS, sizeof *slot);
    size_t *len = calloc(SLOTS, sizeof *len);
    uint64_t *tag = calloc(SLOTS, sizeof *tag);
    if (!slot || !len || !tag) bench_fail("mixed", "calloc failed", NULL);
    uint64_t rng = w->seed, check = 0;
    for (long i = 0; i < w->ops; i++) {
        unsigned k = (unsigned)(bench_rand(&rng) % SLOTS);
        unsigned op = (unsigned)(bench_rand(&rng) % 10);
        size_t n = bench_logrange(&rng, 8, 64 * 1024);
        if (slot[k]) check += bench_check("mixed", slot[k], len[k], tag[k]);
        if (op < 4 || !slot[k]) { /* replace */
            free(slot[k]);
            slot[k] = bench_xmalloc("mixed", n);
            tag[k] = ((uint64_t)i << 20) ^ k;
        } else if (op < 8) { /* realloc: first word survives, the tail stamp is rewritten */
            void *p = realloc(slot[k], n);
            if (!p) bench_fail("mixed", "realloc returned NULL", slot[k]);
            uint64_t head = 0;
            memcpy(&head, p, 8);
            if (head != tag[k]) bench_fail("mixed", "realloc lost the block's contents", p);
            slot[k] = p;
        } else { /* free */
            free(slot[k]);
            slot[k] = NULL;
            continue;
        }
        len[k] = n;
        bench_stamp(slot[k], n, tag[k]);
    }
    for (unsigned k = 0; k < SLOTS; k++)
        free(slot[k]);
    free(slot);
    free(len);
    free(tag);
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "mixed", 2000, "steps per thread, thousands");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check ^= w[i].check;
    bench_result("mixed", &a, (uint64_t)SLOTS * (uint64_t)a.threads, check);
    return 0;
}
