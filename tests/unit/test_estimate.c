/* ----------------------------------------------------------------------------
 * test_estimate.c — the sampled estimates' confidence intervals (estimate.c):
 *  - the incomplete gamma and beta functions at closed-form values (1 − e^−x;
 *    the binomial CDF P(X <= 5 | 10, ½) = 0.623046875);
 *  - Garwood's Poisson interval against the published table (k = 0, 1, 5,
 *    10: e.g. [0.0253, 5.5716] for k = 1) and the normal one past 10 000;
 *  - the binomial interval of n against a brute-force sum of the pmf;
 *  - coverage: for a known population, the 95 % interval holds the true
 *    value in at least 94 % of 2 000 seeded draws (binomial and Poisson);
 *  - the case: 250 live blocks of 4 KiB (1000 KiB) with N = 512 KiB
 *    sampled once is estimated at 514 KiB (N + s/2) with an interval that
 *    holds 1000 KiB, and is below the resolution N ln 40 (1.84 MiB);
 *  - blocks much larger than N are all sampled: the interval is the point;
 *  - the resolution: e^(−res/N) = 1/40;
 *  - the profiler's weight of a sampled block (zt_sample_weight_q16, no
 *    libm) is 1 / (1 − e^(−s/N)) in Q16, as libm computes it, and its
 *    interval draw's logarithm (zt_sample_ln) is libm's log within 1.1e-9.
 * -------------------------------------------------------------------------- */
#include "../../profiler/cli/estimate.c"

#include "../../profiler/internal.h"

#include "../check.h"

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* P(X <= k) for X ~ Binomial(n, p), summed term by term. */
static double cdf_brute(uint64_t k, uint64_t n, double p)
{
    double sum = 0;
    for (uint64_t i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) +
                   (double)i * log(p) + (double)(n - i) * log1p(-p));
    return sum;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int main(void)
{
    CHECK_CASE("incomplete gamma and beta at closed forms")
    {
        for (double x = 0.1; x < 20; x *= 1.7)
            CHECK(near(zt_est_gamma_p(1, x), 1 - exp(-x), 1e-12), "P(1, %g) = %.15g", x,
                  zt_est_gamma_p(1, x));
        CHECK(near(zt_est_beta_i(0.5, 5, 6), 0.623046875, 1e-12), "I_0.5(5, 6) = %.15g",
              zt_est_beta_i(0.5, 5, 6));
        CHECK(near(zt_est_beta_i(0.3, 1, 1), 0.3, 1e-12), "I_0.3(1, 1) = %.15g",
              zt_est_beta_i(0.3, 1, 1));
    }

    CHECK_CASE("Garwood's Poisson interval (published table)")
    {
        static const struct {
            uint64_t k;
            double low, high;
        } table[] = {
            {0, 0, 3.6889}, {1, 0.0253, 5.5716}, {5, 1.6235, 11.6683}, {10, 4.7954, 18.3904}};
        for (unsigned i = 0; i < sizeof table / sizeof *table; i++) {
            double lo, hi;
            zt_est_poisson_ci(table[i].k, &lo, &hi);
            CHECK(near(lo, table[i].low, 1e-4) && near(hi, table[i].high, 1e-4),
                  "k = %llu: [%.5f, %.5f], want [%.4f, %.4f]", (unsigned long long)table[i].k, lo,
                  hi, table[i].low, table[i].high);
        }
        double lo, hi;
        zt_est_poisson_ci(40000, &lo, &hi);
        CHECK(near(lo, 40000 - 392, 1) && near(hi, 40000 + 392, 1), "k = 40000: [%g, %g]", lo, hi);
    }

    CHECK_CASE("binomial interval of n against the summed pmf")
    {
        static const struct {
            uint64_t k;
            double p;
        } cases[] = {{1, 0.5}, {3, 0.5}, {7, 0.2}, {2, 0.05}, {20, 0.9}, {1, 0.99}};
        for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
            uint64_t k = cases[i].k, lo, hi;
            double p = cases[i].p;
            zt_est_binomial_n_ci(k, p, &lo, &hi);
            /* lo: the first n with P(X >= k) >= 2.5 %; hi: the last with P(X <= k) >= 2.5 % */
            double ge_lo = 1 - (k ? cdf_brute(k - 1, lo, p) : 0);
            double ge_before = lo > k ? 1 - cdf_brute(k - 1, lo - 1, p) : 0;
            CHECK(ge_lo >= 0.025 - 1e-9 && ge_before < 0.025 + 1e-9,
                  "k %llu p %g: low %llu (P(X>=k) %g there, %g before)", (unsigned long long)k, p,
                  (unsigned long long)lo, ge_lo, ge_before);
            double le_hi = cdf_brute(k, hi, p), le_after = cdf_brute(k, hi + 1, p);
            CHECK(le_hi >= 0.025 - 1e-9 && le_after < 0.025 + 1e-9,
                  "k %llu p %g: high %llu (P(X<=k) %g there, %g after)", (unsigned long long)k, p,
                  (unsigned long long)hi, le_hi, le_after);
            CHECK(lo >= k && lo <= hi, "k %llu: [%llu, %llu]", (unsigned long long)k,
                  (unsigned long long)lo, (unsigned long long)hi);
        }
    }

    CHECK_CASE("coverage of the true live bytes over seeded draws")
    {
        /* n blocks of s bytes, each sampled with p(s): the estimate's
         * interval must hold n·s in at least 94 % of the draws (95 % nominal,
         * the exact intervals are conservative). */
        static const struct {
            uint64_t n, s, mean;
        } pops[] = {{40, 256 << 10, 512 << 10}, {250, 4096, 512 << 10}, {2000, 64, 4096}};
        for (unsigned c = 0; c < sizeof pops / sizeof *pops; c++) {
            double p = -expm1(-(double)pops[c].s / (double)pops[c].mean);
            unsigned held = 0, draws = 2000, seen = 0;
            for (unsigned d = 0; d < draws; d++) {
                uint64_t k = 0;
                for (uint64_t i = 0; i < pops[c].n; i++)
                    k += uniform() < p;
                if (k == 0) continue; /* nothing to estimate: the stack is not in the record */
                seen++;
                uint64_t blocks = (uint64_t)((double)k / p + 0.5);
                uint64_t bytes = (uint64_t)((double)k * (double)pops[c].s / p + 0.5);
                zt_estimate_t e = zt_estimate_live(blocks, bytes, pops[c].mean);
                uint64_t truth = pops[c].n * pops[c].s;
                held += e.low_bytes <= truth && truth <= e.high_bytes;
            }
            CHECK(seen > 0 && held >= seen * 94 / 100,
                  "population %u: interval held the truth in %u of %u draws", c, held, seen);
        }
    }

    CHECK_CASE("the issue's one-sample estimate of a 1000 KiB leak")
    {
        uint64_t mean = 512 << 10, s = 4096;
        double p = -expm1(-(double)s / (double)mean);
        zt_estimate_t e = zt_estimate_live((uint64_t)(1 / p + 0.5), (uint64_t)(s / p + 0.5), mean);
        CHECK(e.samples == 1, "samples %llu", (unsigned long long)e.samples);
        CHECK(e.bytes > 513 << 10 && e.bytes < 515 << 10, "estimate %llu (N + s/2 = 514 KiB)",
              (unsigned long long)e.bytes);
        CHECK(e.poisson, "p = %g < 1 %%: Garwood's interval", p);
        CHECK(e.low_bytes <= 1000 << 10 && e.high_bytes >= 1000 << 10,
              "[%llu, %llu] misses 1000 KiB", (unsigned long long)e.low_bytes,
              (unsigned long long)e.high_bytes);
        CHECK(e.low_bytes >= s, "low %llu below the sampled block itself",
              (unsigned long long)e.low_bytes);
        CHECK(e.below_resolution, "514 KiB < N ln 40 = 1.84 MiB");
    }

    CHECK_CASE("blocks far above N are always sampled: the interval is the point")
    {
        uint64_t mean = 512 << 10, s = 64ull << 20;
        zt_estimate_t e = zt_estimate_live(3, 3 * s, mean);
        CHECK(e.low_bytes == 3 * s && e.high_bytes == 3 * s && !e.below_resolution,
              "[%llu, %llu] below %d", (unsigned long long)e.low_bytes,
              (unsigned long long)e.high_bytes, e.below_resolution);
    }

    CHECK_CASE("resolution: a stack of N ln 40 bytes is missed 2.5 % of the time")
    {
        uint64_t mean = 512 << 10, res = zt_estimate_resolution_bytes(mean);
        CHECK(near(exp(-(double)res / (double)mean), 0.025, 1e-6), "res %llu",
              (unsigned long long)res);
        zt_estimate_t e = zt_estimate_live(0, 0, mean);
        CHECK(e.low_bytes == 0 && e.high_bytes == 0 && e.samples == 0, "empty stack");
    }
    CHECK_CASE("the sampling weight and logarithm against libm")
    {
        uint64_t mean = 512 << 10;
        unsigned bad = 0;
        for (double s = 1; s < 60.0 * mean; s = s * 1.01 + 1) {
            uint64_t bytes = (uint64_t)s;
            double want = 65536.0 / -expm1(-(double)bytes / (double)mean);
            double got = (double)zt_sample_weight_q16(bytes, mean);
            if (fabs(got - want) > 0.5 + want * 1e-12 && bad++ < 5)
                CHECK(0, "weight of %llu bytes: %.1f, libm %.3f", (unsigned long long)bytes, got,
                      want);
        }
        CHECK(bad == 0, "%u weights off", bad);
        for (double x = 1e-9; x < 1; x *= 1.37)
            CHECK(near(zt_sample_ln(x), log(x), 1.1e-9), "ln(%g) (its series: error < 1.1e-9)", x);
    }
    return CHECK_DONE("test_estimate");
}
