/* ----------------------------------------------------------------------------
 * server.c — a server-like simulation with cross-thread frees. T handler
 * threads each serve requests: allocate a request, 4–16 header strings and a
 * body (freed by the same thread), build a response and hand it to one of T
 * sender threads, which frees it (the cross-thread free). A shared session
 * cache (striped locks) has a random entry replaced on every fourth request,
 * so its blocks are freed by whichever handler evicts them. Queues are
 * bounded, so memory stays flat whatever the relative speeds.
 * SIZE = requests per handler, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

#define SESSIONS_PER_THREAD 4096
#define QUEUE_MAX           1024
#define BATCH               8
#define STRIPES             64

typedef struct msg {
    uint64_t tag;
    struct msg *next;
    size_t bytes;
} msg_t;

typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty, nonfull;
    msg_t *head;
    long count;
    int producers_left;
    uint64_t check;
} queue_t;

typedef struct session {
    void *p;
    size_t bytes;
    uint64_t tag;
} session_t;

static queue_t *queues;
static int nthreads;
static session_t *sessions;
static long nsessions;
static pthread_mutex_t stripe[STRIPES];

typedef struct handler {
    int id;
    long requests;
    uint64_t seed, check;
} handler_t;

static void push_batch(queue_t *q, msg_t *first, msg_t *last, int n)
{
    pthread_mutex_lock(&q->lock);
    while (q->count >= QUEUE_MAX)
        pthread_cond_wait(&q->nonfull, &q->lock);
    last->next = q->head;
    q->head = first;
    q->count += n;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

static void *handle(void *arg)
{
    handler_t *h = arg;
    uint64_t rng = h->seed, check = 0;
    msg_t *first = NULL, *last = NULL;
    int inbatch = 0;
    void *hdr[16];
    size_t hdr_len[16];
    for (long r = 0; r < h->requests; r++) {
        size_t req_len = bench_range(&rng, 128, 512);
        char *req = bench_xmalloc("server", req_len);
        bench_stamp(req, req_len, r);
        unsigned nh = (unsigned)bench_range(&rng, 4, 16);
        for (unsigned i = 0; i < nh; i++) {
            hdr_len[i] = bench_range(&rng, 16, 96);
            hdr[i] = bench_xmalloc("server", hdr_len[i]);
            bench_stamp(hdr[i], hdr_len[i], r + i);
        }
        size_t body_len = bench_logrange(&rng, 1024, 16 * 1024);
        char *body = bench_xmalloc("server", body_len);
        memset(body, (int)r, body_len < 512 ? body_len : 512);
        size_t resp_len = bench_logrange(&rng, 256, 32 * 1024);
        msg_t *m = bench_xmalloc("server", resp_len);
        m->tag = ((uint64_t)h->id << 48) ^ (uint64_t)r;
        m->bytes = resp_len;
        bench_stamp((char *)m + sizeof *m, resp_len - sizeof *m, m->tag);

        if ((r & 3) == 0) { /* session cache: replace a random entry */
            long k = (long)(bench_rand(&rng) % (uint64_t)nsessions);
            size_t n = bench_range(&rng, 64, 1024);
            void *p = bench_xmalloc("server", n);
            bench_stamp(p, n, (uint64_t)k);
            pthread_mutex_t *l = &stripe[k % STRIPES];
            pthread_mutex_lock(l);
            session_t old = sessions[k];
            sessions[k] = (session_t){p, n, (uint64_t)k};
            pthread_mutex_unlock(l);
            if (old.p) {
                check += bench_check("server", old.p, old.bytes, old.tag);
                free(old.p);
            }
        }
        for (unsigned i = 0; i < nh; i++) {
            check += bench_check("server", hdr[i], hdr_len[i], r + i);
            free(hdr[i]);
        }
        check += bench_check("server", req, req_len, r) + (unsigned char)body[0];
        free(body);
        free(req);

        m->next = first;
        first = m;
        if (!last) last = m;
        if (++inbatch == BATCH || r + 1 == h->requests) {
            push_batch(&queues[(h->id + r / BATCH) % nthreads], first, last, inbatch);
            first = last = NULL;
            inbatch = 0;
        }
    }
    h->check = check;
    for (int i = 0; i < nthreads; i++) {
        pthread_mutex_lock(&queues[i].lock);
        queues[i].producers_left--;
        pthread_cond_signal(&queues[i].nonempty);
        pthread_mutex_unlock(&queues[i].lock);
    }
    return NULL;
}

static void *send_all(void *arg)
{
    queue_t *q = arg;
    uint64_t check = 0;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->head && q->producers_left > 0)
            pthread_cond_wait(&q->nonempty, &q->lock);
        msg_t *m = q->head;
        q->head = NULL;
        q->count = 0;
        pthread_cond_broadcast(&q->nonfull);
        pthread_mutex_unlock(&q->lock);
        if (!m) break;
        while (m) {
            msg_t *next = m->next;
            check += bench_check("server", (char *)m + sizeof *m, m->bytes - sizeof *m, m->tag);
            free(m);
            m = next;
        }
    }
    q->check = check;
    return NULL;
}

typedef struct role {
    int is_sender;
    void *arg;
} role_t;

static void *dispatch(void *arg)
{
    role_t *r = arg;
    return r->is_sender ? send_all(r->arg) : handle(r->arg);
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "server", 150, "requests per handler, thousands");
    if (a.threads > 512) a.threads = 512;
    nthreads = a.threads;
    nsessions = (long)SESSIONS_PER_THREAD * a.threads;
    sessions = calloc((size_t)nsessions, sizeof *sessions);
    queues = calloc((size_t)a.threads, sizeof *queues);
    handler_t *h = calloc((size_t)a.threads, sizeof *h);
    role_t *roles = calloc(2 * (size_t)a.threads, sizeof *roles);
    if (!sessions || !queues || !h || !roles) bench_fail("server", "calloc failed", NULL);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripe[i], NULL);
    for (int i = 0; i < a.threads; i++) {
        pthread_mutex_init(&queues[i].lock, NULL);
        pthread_cond_init(&queues[i].nonempty, NULL);
        pthread_cond_init(&queues[i].nonfull, NULL);
        queues[i].producers_left = a.threads;
        h[i] = (handler_t){i, a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
        roles[2 * i] = (role_t){0, &h[i]};
        roles[2 * i + 1] = (role_t){1, &queues[i]};
    }
    bench_parallel(2 * a.threads, dispatch, roles, sizeof roles[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += h[i].check + queues[i].check;
    for (long k = 0; k < nsessions; k++)
        free(sessions[k].p);
    bench_result("server", &a, (uint64_t)a.threads * (SESSIONS_PER_THREAD + QUEUE_MAX + BATCH + 20),
                 check);
    free(sessions);
    free(queues);
    free(h);
    free(roles);
    return 0;
}
