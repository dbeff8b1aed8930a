/* ----------------------------------------------------------------------------
 * threads.c — many short-lived threads (issue 15, shape 3): each of T
 * workers starts threads one after another; each thread allocates 4000
 * blocks of 8–256 B, frees them in a shuffled order, and exits. What it
 * measures is the cost of a thread's allocator state: made on first use,
 * flushed or kept at exit, reused by the next thread (or leaked).
 * SIZE = threads started per worker.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define BLOCKS 4000

typedef struct worker {
    long threads;
    uint64_t seed, check;
} worker_t;

typedef struct job {
    uint64_t seed, check;
} job_t;

static void *one(void *arg)
{
    job_t *j = arg;
    void *p[BLOCKS];
    uint32_t len[BLOCKS];
    uint64_t rng = j->seed, check = 0;
    for (unsigned k = 0; k < BLOCKS; k++) {
        size_t n = bench_range(&rng, 8, 256);
        p[k] = bench_xmalloc("threads", n);
        len[k] = (uint32_t)n;
        bench_stamp(p[k], n, n ^ k);
    }
    for (unsigned k = BLOCKS - 1; k > 0; k--) { /* Fisher-Yates, keeping the tags */
        unsigned r = (unsigned)(bench_rand(&rng) % (k + 1));
        void *t = p[k];
        uint32_t tl = len[k];
        p[k] = p[r], len[k] = len[r];
        p[r] = t, len[r] = tl;
    }
    for (unsigned k = 0; k < BLOCKS; k++) {
        check += len[k];
        memset(p[k], 0, 1);
        free(p[k]);
    }
    j->check = check;
    return NULL;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    uint64_t rng = w->seed, check = 0;
    for (long i = 0; i < w->threads; i++) {
        job_t j = {bench_rand(&rng) | 1, 0};
        pthread_t t;
        if (pthread_create(&t, NULL, one, &j)) {
            fprintf(stderr, "bench_threads: pthread_create failed\n");
            _exit(4);
        }
        pthread_join(t, NULL);
        check += j.check;
    }
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "threads", 300, "threads started per worker");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("threads", &a, (uint64_t)BLOCKS * (uint64_t)a.threads, check);
    return 0;
}
