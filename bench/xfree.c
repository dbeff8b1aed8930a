/* ----------------------------------------------------------------------------
 * xfree.c — cross-thread frees at full rate (issue 15, shape 2; the shape of
 * Lever & Boreham's xmalloc-test): T producers allocate 16–128 B blocks in
 * batches of 512 and hand each batch to a queue; T consumers take batches and
 * free every block. The queue moves a whole batch per lock operation, so the
 * time goes to malloc on one thread and free on another, nearly all of it
 * remote frees. At most 64 batches wait, so the live set is bounded.
 * SIZE = batches per producer.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define BATCH 512
#define QUEUE 64

typedef struct batch {
    void *p[BATCH];
    uint32_t len[BATCH];
} batch_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    batch_t *q[QUEUE];
    unsigned head, count, producers_left;
} Q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

typedef struct worker {
    long batches;
    uint64_t seed, check;
    int producer;
} worker_t;

static void put(batch_t *b)
{
    pthread_mutex_lock(&Q.lock);
    while (Q.count == QUEUE)
        pthread_cond_wait(&Q.not_full, &Q.lock);
    Q.q[(Q.head + Q.count++) % QUEUE] = b;
    pthread_cond_signal(&Q.not_empty);
    pthread_mutex_unlock(&Q.lock);
}

static batch_t *take(void)
{
    pthread_mutex_lock(&Q.lock);
    while (Q.count == 0 && Q.producers_left)
        pthread_cond_wait(&Q.not_empty, &Q.lock);
    batch_t *b = NULL;
    if (Q.count) {
        b = Q.q[Q.head];
        Q.head = (Q.head + 1) % QUEUE;
        Q.count--;
        pthread_cond_signal(&Q.not_full);
    }
    pthread_mutex_unlock(&Q.lock);
    return b;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    uint64_t rng = w->seed, check = 0;
    if (w->producer) {
        for (long i = 0; i < w->batches; i++) {
            batch_t *b = bench_xmalloc("xfree", sizeof *b);
            for (unsigned k = 0; k < BATCH; k++) {
                size_t n = bench_range(&rng, 16, 128);
                b->p[k] = bench_xmalloc("xfree", n);
                b->len[k] = (uint32_t)n;
                bench_stamp(b->p[k], n, n ^ k);
            }
            put(b);
        }
        pthread_mutex_lock(&Q.lock);
        if (--Q.producers_left == 0) pthread_cond_broadcast(&Q.not_empty);
        pthread_mutex_unlock(&Q.lock);
    } else {
        batch_t *b;
        while ((b = take()) != NULL) {
            for (unsigned k = 0; k < BATCH; k++) {
                check += bench_check("xfree", b->p[k], b->len[k], b->len[k] ^ k);
                free(b->p[k]);
            }
            free(b);
        }
    }
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "xfree", 6000, "batches of 512 blocks per producer");
    static worker_t w[2048];
    Q.producers_left = (unsigned)a.threads;
    for (int i = 0; i < 2 * a.threads; i++)
        w[i] = (worker_t){a.size, bench_seed(a.seed, (unsigned)i), 0, i < a.threads};
    pthread_t tids[2048];
    for (int i = 0; i < 2 * a.threads; i++)
        if (pthread_create(&tids[i], NULL, run, &w[i])) {
            fprintf(stderr, "bench: pthread_create failed\n");
            _exit(4);
        }
    for (int i = 0; i < 2 * a.threads; i++)
        pthread_join(tids[i], NULL);
    uint64_t check = 0;
    for (int i = 0; i < 2 * a.threads; i++)
        check += w[i].check;
    bench_result("xfree", &a, (uint64_t)(QUEUE + 2 * a.threads) * BATCH, check);
    return 0;
}
