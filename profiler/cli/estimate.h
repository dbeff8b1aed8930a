/* ----------------------------------------------------------------------------
 * estimate.h — how far a sampled record's live figures can be trusted: the
 * 95 % confidence interval of a stack's estimated live bytes and the
 * sampling resolution (README, "Sampling: the math"). Pure math, no model.
 * -------------------------------------------------------------------------- */
#ifndef ZT_ESTIMATE_H
#define ZT_ESTIMATE_H

#include <stdbool.h>
#include <stdint.h>

/* The intervals are two-sided 95 %: each tail holds 2.5 %. */
#define ZT_EST_CONFIDENCE_PCT 95
#define ZT_EST_TAIL           0.025

typedef struct zt_estimate {
    uint64_t bytes;                 /* the point estimate (the record's weighted sum) */
    uint64_t low_bytes, high_bytes; /* its 95 % confidence interval */
    uint64_t samples;               /* live sampled blocks behind it */
    bool poisson;                   /* Garwood's Poisson interval (p < 1 %), else binomial */
    bool below_resolution;          /* bytes < N ln 40: missed more than 2.5 % of the time */
} zt_estimate_t;

/* The interval of a sampled stack's live figures: est_blocks and est_bytes
 * are the record's unbiased estimates (Σ 1/p and Σ size/p over its live
 * sampled blocks), mean_bytes the sampling mean N. The blocks are taken to
 * share their mean size s = est_bytes / est_blocks (exact for a stack of
 * one size; a mixed stack is treated as blocks of its mean size), so the
 * number of samples is k = est_blocks · p(s), p(s) = 1 − e^(−s/N). */
zt_estimate_t zt_estimate_live(uint64_t est_blocks, uint64_t est_bytes, uint64_t mean_bytes);

/* N ln 40: the live bytes a stack must hold to be sampled at least once
 * with probability 97.5 % (a stack of B bytes is missed with probability
 * e^(−B/N), whatever its block sizes). */
uint64_t zt_estimate_resolution_bytes(uint64_t mean_bytes);

/* The pieces, for the unit test. */
double zt_est_gamma_p(double a, double x);          /* regularized lower incomplete gamma */
double zt_est_beta_i(double x, double a, double b); /* regularized incomplete beta I_x(a, b) */
/* Garwood's interval for a Poisson mean after k events. */
void zt_est_poisson_ci(uint64_t k, double *low, double *high);
/* The interval of n, the number of blocks, after k of them were sampled,
 * each with probability p (the binomial inverted: exact, Clopper-Pearson
 * style). */
void zt_est_binomial_n_ci(uint64_t k, double p, uint64_t *low, uint64_t *high);

#endif
