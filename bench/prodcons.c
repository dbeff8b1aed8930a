/* ----------------------------------------------------------------------------
 * prodcons.c — a producer/consumer queue: T producers malloc messages of
 * 32 B–2 KiB and push them one at a time through one bounded MPMC ring
 * (mutex + condition variables, as most programs write it); T consumers pop,
 * check and free them. Every free is a cross-thread free, and the blocks
 * are short-lived, so remote-free handling dominates the allocator's share.
 * SIZE = messages per producer, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define RING 4096

typedef struct message {
    uint64_t tag;
    size_t bytes;
} message_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty, nonfull;
    message_t *ring[RING];
    unsigned head, tail; /* head - tail = items queued */
    int producers_left;
} q;

typedef struct worker {
    int id, is_consumer;
    long messages;
    uint64_t seed, check;
} worker_t;

static void produce(worker_t *w)
{
    uint64_t rng = w->seed;
    for (long i = 0; i < w->messages; i++) {
        size_t n = bench_logrange(&rng, 32, 2048);
        message_t *m = bench_xmalloc("prodcons", n);
        m->tag = ((uint64_t)w->id << 40) ^ (uint64_t)i;
        m->bytes = n;
        bench_stamp((char *)m + sizeof *m, n - sizeof *m, m->tag);
        pthread_mutex_lock(&q.lock);
        while (q.head - q.tail == RING)
            pthread_cond_wait(&q.nonfull, &q.lock);
        q.ring[q.head++ % RING] = m;
        pthread_cond_signal(&q.nonempty);
        pthread_mutex_unlock(&q.lock);
    }
    pthread_mutex_lock(&q.lock);
    q.producers_left--;
    pthread_cond_broadcast(&q.nonempty);
    pthread_mutex_unlock(&q.lock);
}

static void consume(worker_t *w)
{
    uint64_t check = 0;
    for (;;) {
        pthread_mutex_lock(&q.lock);
        while (q.head == q.tail && q.producers_left > 0)
            pthread_cond_wait(&q.nonempty, &q.lock);
        if (q.head == q.tail) {
            pthread_mutex_unlock(&q.lock);
            break;
        }
        message_t *m = q.ring[q.tail++ % RING];
        pthread_cond_signal(&q.nonfull);
        pthread_mutex_unlock(&q.lock);
        check += bench_check("prodcons", (char *)m + sizeof *m, m->bytes - sizeof *m, m->tag);
        free(m);
    }
    w->check = check;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    if (w->is_consumer)
        consume(w);
    else
        produce(w);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "prodcons", 400, "messages per producer, thousands");
    if (a.threads > 512) a.threads = 512;
    worker_t w[1024];
    pthread_mutex_init(&q.lock, NULL);
    pthread_cond_init(&q.nonempty, NULL);
    pthread_cond_init(&q.nonfull, NULL);
    q.producers_left = a.threads;
    for (int i = 0; i < a.threads; i++) {
        w[2 * i] = (worker_t){i, 0, a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
        w[2 * i + 1] = (worker_t){i, 1, 0, 0, 0};
    }
    bench_parallel(2 * a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < 2 * a.threads; i++)
        check += w[i].check;
    bench_result("prodcons", &a, RING + 2 * (uint64_t)a.threads, check);
    return 0;
}
