/* ----------------------------------------------------------------------------
 * estimate.c — confidence intervals for a sampled record's live figures.
 *
 * The sampler (profiler/hooks.c) is jemalloc's and tcmalloc's: a Poisson
 * process over allocated bytes with mean N between points; a block of s
 * bytes is sampled when a point falls in it, with probability
 * p(s) = 1 − e^(−s/N), and counted with weight 1/p (Horvitz-Thompson: the
 * estimate is unbiased). A stack whose n live blocks have size s shows k
 * live samples, k ~ Binomial(n, p); its estimate is k·s/p. The interval of
 * n is the binomial inverted exactly (the n whose tail probabilities at k
 * are at least 2.5 % each, as Clopper-Pearson does for p); for p < 1 % the
 * binomial is a Poisson with mean λ = n·p to within p, and the interval of
 * λ is Garwood's (1936): λ_low = ½χ²(2k, 0.025), λ_high = ½χ²(2k+2, 0.975),
 * n = λ/p. Past 10 000 samples both use the normal approximation (its
 * error there is below 1 % of the interval).
 *
 * Cost: a few hundred evaluations of an incomplete gamma or beta function
 * per stack (continued fractions, O(√k) terms each): microseconds.
 * -------------------------------------------------------------------------- */
#include "estimate.h"

#include <math.h>

#define EPS    1e-15
#define FPMIN  1e-300
#define MAXIT  200000
#define BIG_K  10000u
#define Z_97_5 1.959963984540054 /* the normal 97.5 % quantile */
#define LN_40  3.6888794541139363

/* ---- special functions (Numerical Recipes' gser, gcf, betacf) ---------------- */

double zt_est_gamma_p(double a, double x)
{
    if (x <= 0 || a <= 0) return 0;
    double gln = lgamma(a);
    if (x < a + 1) { /* series */
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < MAXIT; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * EPS) break;
        }
        return sum * exp(-x + a * log(x) - gln);
    }
    /* continued fraction for Q, modified Lentz */
    double b = x + 1 - a, c = 1 / FPMIN, d = 1 / b, h = d;
    for (int i = 1; i < MAXIT; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < FPMIN) d = FPMIN;
        c = b + an / c;
        if (fabs(c) < FPMIN) c = FPMIN;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < EPS) break;
    }
    return 1 - exp(-x + a * log(x) - gln) * h;
}

static double betacf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < FPMIN) d = FPMIN;
    d = 1 / d;
    double h = d;
    for (int m = 1; m < MAXIT; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < FPMIN) d = FPMIN;
        c = 1 + aa / c;
        if (fabs(c) < FPMIN) c = FPMIN;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < FPMIN) d = FPMIN;
        c = 1 + aa / c;
        if (fabs(c) < FPMIN) c = FPMIN;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < EPS) break;
    }
    return h;
}

double zt_est_beta_i(double x, double a, double b)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

/* ---- Poisson: Garwood ----------------------------------------------------------- */

/* The λ where P(a, λ) = target (P rises with λ from 0 to 1). */
static double gamma_p_inverse(double a, double target)
{
    double lo = 0, hi = a + 10 + 10 * sqrt(a);
    while (zt_est_gamma_p(a, hi) < target)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = (lo + hi) / 2;
        if (zt_est_gamma_p(a, mid) < target)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

void zt_est_poisson_ci(uint64_t k, double *low, double *high)
{
    double kd = (double)k;
    if (k > BIG_K) {
        *low = kd - Z_97_5 * sqrt(kd);
        *high = kd + Z_97_5 * sqrt(kd);
        return;
    }
    /* P(X >= k | λ) = P(k, λ) and P(X <= k | λ) = 1 − P(k + 1, λ). */
    *low = k == 0 ? 0 : gamma_p_inverse(kd, ZT_EST_TAIL);
    *high = gamma_p_inverse(kd + 1, 1 - ZT_EST_TAIL);
}

/* ---- binomial with n unknown ------------------------------------------------------ */

/* P(X >= k) and P(X <= k) for X ~ Binomial(n, p). */
static double at_least(uint64_t k, uint64_t n, double p)
{
    if (k == 0) return 1;
    if (k > n) return 0;
    return zt_est_beta_i(p, (double)k, (double)(n - k + 1));
}

static double at_most(uint64_t k, uint64_t n, double p)
{
    if (k >= n) return 1;
    return zt_est_beta_i(1 - p, (double)(n - k), (double)k + 1);
}

void zt_est_binomial_n_ci(uint64_t k, double p, uint64_t *low, uint64_t *high)
{
    if (!(p > 0)) p = 1e-300;
    if (p >= 1) {
        *low = *high = k;
        return;
    }
    if (k > BIG_K) { /* n̂ = k/p, sd = √(k(1−p))/p */
        double n = (double)k / p, sd = sqrt((double)k * (1 - p)) / p;
        double l = n - Z_97_5 * sd, h = n + Z_97_5 * sd;
        *low = l < (double)k ? k : (uint64_t)l;
        *high = (uint64_t)ceil(h);
        return;
    }
    /* low: the smallest n with P(X >= k | n) >= 2.5 % (it rises with n) */
    uint64_t lo = k, hi = k;
    while (at_least(k, hi, p) < ZT_EST_TAIL)
        hi = hi * 2 + 16;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (at_least(k, mid, p) >= ZT_EST_TAIL)
            hi = mid;
        else
            lo = mid + 1;
    }
    *low = lo;
    /* high: the largest n with P(X <= k | n) >= 2.5 % (it falls with n) */
    lo = k;
    hi = (uint64_t)((double)k / p) + 16;
    while (at_most(k, hi, p) >= ZT_EST_TAIL)
        hi = hi * 2 + 16;
    /* invariant: at_most(lo) >= tail, at_most(hi) < tail */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (at_most(k, mid, p) >= ZT_EST_TAIL)
            lo = mid;
        else
            hi = mid;
    }
    *high = lo;
}

/* ---- a stack's live estimate ------------------------------------------------------- */

uint64_t zt_estimate_resolution_bytes(uint64_t mean_bytes)
{
    return (uint64_t)((double)mean_bytes * LN_40 + 0.5);
}

static uint64_t to_u64(double v)
{
    return v <= 0 ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)(v + 0.5);
}

zt_estimate_t zt_estimate_live(uint64_t est_blocks, uint64_t est_bytes, uint64_t mean_bytes)
{
    zt_estimate_t e = {.bytes = est_bytes, .low_bytes = est_bytes, .high_bytes = est_bytes};
    e.below_resolution = mean_bytes && est_bytes < zt_estimate_resolution_bytes(mean_bytes);
    if (est_blocks == 0 || est_bytes == 0 || mean_bytes == 0) return e;
    double s = (double)est_bytes / (double)est_blocks;
    double p = -expm1(-s / (double)mean_bytes);
    double k = floor((double)est_blocks * p + 0.5);
    if (k < 1) k = 1;
    e.samples = (uint64_t)k;
    double low_n, high_n;
    if (p < 0.01) {
        zt_est_poisson_ci(e.samples, &low_n, &high_n);
        e.poisson = true;
        low_n /= p;
        high_n /= p;
        if (low_n < k) low_n = k; /* the sampled blocks themselves are live */
    } else {
        uint64_t l, h;
        zt_est_binomial_n_ci(e.samples, p, &l, &h);
        low_n = (double)l;
        high_n = (double)h;
    }
    e.low_bytes = to_u64(low_n * s);
    e.high_bytes = to_u64(high_n * s);
    /* Rounding (Q16 weights, k rounded) must not leave the estimate outside. */
    if (e.low_bytes > est_bytes) e.low_bytes = est_bytes;
    if (e.high_bytes < est_bytes) e.high_bytes = est_bytes;
    return e;
}
