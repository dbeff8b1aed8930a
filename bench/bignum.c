/* ----------------------------------------------------------------------------
 * bignum.c — small-integer arithmetic, malloc-bound (issue 15, shape 7; the
 * shape of cfrac): immutable multi-precision integers of 32-bit limbs, every
 * result a fresh malloc'd number and every dead operand freed at once.
 * The work is Pollard's rho (x <- x^2 + c mod n) on products of two primes
 * of about 60-120 bits, plus a gcd each step: many short-lived blocks of
 * 16-100 B, a few live at a time, sizes changing with the numbers.
 * SIZE = rho steps per thread, in thousands.
 * -------------------------------------------------------------------------- */
#include "bench.h"

typedef struct num {
    uint32_t n; /* limbs in use (no leading zero limb; 0 = zero) */
    uint32_t d[];
} num_t;

static num_t *mk(uint32_t limbs)
{
    num_t *r = bench_xmalloc("bignum", sizeof *r + (limbs ? limbs : 1) * sizeof(uint32_t));
    r->n = limbs;
    return r;
}

static num_t *trim(num_t *r)
{
    while (r->n && r->d[r->n - 1] == 0)
        r->n--;
    return r;
}

static num_t *from_u64(uint64_t v)
{
    num_t *r = mk(2);
    r->d[0] = (uint32_t)v, r->d[1] = (uint32_t)(v >> 32);
    return trim(r);
}

static int cmp(const num_t *a, const num_t *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (uint32_t i = a->n; i-- > 0;)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static num_t *add(const num_t *a, const num_t *b)
{
    if (a->n < b->n) {
        const num_t *t = a;
        a = b;
        b = t;
    }
    num_t *r = mk(a->n + 1);
    uint64_t c = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        c += (uint64_t)a->d[i] + (i < b->n ? b->d[i] : 0);
        r->d[i] = (uint32_t)c;
        c >>= 32;
    }
    r->d[a->n] = (uint32_t)c;
    return trim(r);
}

static num_t *sub(const num_t *a, const num_t *b) /* a >= b */
{
    num_t *r = mk(a->n);
    int64_t br = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        int64_t v = (int64_t)a->d[i] - (i < b->n ? b->d[i] : 0) - br;
        br = v < 0;
        r->d[i] = (uint32_t)(v + (br << 32));
    }
    return trim(r);
}

static num_t *mul(const num_t *a, const num_t *b)
{
    num_t *r = mk(a->n + b->n);
    memset(r->d, 0, (a->n + b->n) * sizeof(uint32_t));
    for (uint32_t i = 0; i < a->n; i++) {
        uint64_t c = 0;
        for (uint32_t j = 0; j < b->n; j++) {
            c += (uint64_t)a->d[i] * b->d[j] + r->d[i + j];
            r->d[i + j] = (uint32_t)c;
            c >>= 32;
        }
        r->d[i + b->n] = (uint32_t)c;
    }
    return trim(r);
}

static num_t *shl1(const num_t *a, uint32_t bit) /* a * 2^bit, bit < 32 */
{
    num_t *r = mk(a->n + 1);
    uint32_t c = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        r->d[i] = (a->d[i] << bit) | c;
        c = bit ? a->d[i] >> (32 - bit) : 0;
    }
    r->d[a->n] = c;
    return trim(r);
}

/* a mod m by shift-and-subtract, one fresh number per step (malloc-bound on
 * purpose, as cfrac's is). */
static num_t *mod(const num_t *a, const num_t *m)
{
    num_t *r = mk(a->n);
    memcpy(r->d, a->d, a->n * sizeof(uint32_t));
    while (cmp(r, m) >= 0) {
        /* the largest m * 2^k <= r, built by whole limbs then bits */
        uint32_t limbs = r->n - m->n;
        num_t *s = mk(m->n + limbs);
        memset(s->d, 0, limbs * sizeof(uint32_t));
        memcpy(s->d + limbs, m->d, m->n * sizeof(uint32_t));
        if (cmp(s, r) > 0) {
            num_t *t = mk(s->n - 1);
            memcpy(t->d, s->d + 1, (s->n - 1) * sizeof(uint32_t));
            free(s);
            s = trim(t);
        }
        for (uint32_t bit = 31; bit > 0; bit--) {
            num_t *t = shl1(s, bit);
            if (cmp(t, r) <= 0) {
                free(s);
                s = t;
                break;
            }
            free(t);
        }
        num_t *d = sub(r, s);
        free(r);
        free(s);
        r = d;
    }
    return r;
}

static num_t *gcd(const num_t *a, const num_t *b)
{
    num_t *x = mk(a->n), *y = mk(b->n);
    memcpy(x->d, a->d, a->n * sizeof(uint32_t));
    memcpy(y->d, b->d, b->n * sizeof(uint32_t));
    while (y->n) {
        num_t *t = mod(x, y);
        free(x);
        x = y;
        y = t;
    }
    free(y);
    return x;
}

static uint64_t prime_near(uint64_t v)
{
    for (v |= 1;; v += 2) {
        int ok = 1;
        for (uint64_t f = 3; f * f <= v && f < 5000; f += 2)
            if (v % f == 0) {
                ok = 0;
                break;
            }
        if (ok) return v;
    }
}

typedef struct worker {
    long steps;
    uint64_t seed, check;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    uint64_t rng = w->seed, check = 0;
    long done = 0;
    while (done < w->steps) {
        num_t *p = from_u64(prime_near(bench_rand(&rng) >> 4));
        num_t *q = from_u64(prime_near(bench_rand(&rng) >> (4 + bench_rand(&rng) % 40)));
        num_t *n = mul(p, q);
        num_t *c = from_u64(bench_rand(&rng) % 97 + 1);
        num_t *x = from_u64(2), *y = from_u64(2);
        for (int i = 0; i < 400 && done < w->steps; i++, done++) {
            num_t *t = mul(x, x), *u = add(t, c);
            free(x), free(t);
            x = mod(u, n);
            free(u);
            for (int twice = 0; twice < 2; twice++) {
                t = mul(y, y), u = add(t, c);
                free(y), free(t);
                y = mod(u, n);
                free(u);
            }
            num_t *d = cmp(x, y) >= 0 ? sub(x, y) : sub(y, x);
            num_t *g = gcd(d, n);
            check += g->n ? g->d[0] : 0;
            free(d), free(g);
        }
        free(p), free(q), free(n), free(c), free(x), free(y);
    }
    w->check = check;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_args_t a = bench_parse(argc, argv, "bignum", 8, "rho steps per thread, thousands");
    worker_t w[1024];
    for (int i = 0; i < a.threads; i++)
        w[i] = (worker_t){a.size * 1000, bench_seed(a.seed, (unsigned)i), 0};
    bench_parallel(a.threads, run, w, sizeof w[0]);
    uint64_t check = 0;
    for (int i = 0; i < a.threads; i++)
        check += w[i].check;
    bench_result("bignum", &a, (uint64_t)16 * (uint64_t)a.threads, check);
    return 0;
}
