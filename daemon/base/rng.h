/* rng.h: a small seeded pseudo-random generator for the synthetic source
 * and for tests: xoshiro256** (Blackman & Vigna 2018), seeded through
 * splitmix64, plus the few distributions the generator needs.
 *
 * Why not rand(): its algorithm, period and RAND_MAX differ between libcs
 * and platforms, and its state is a hidden global shared with anything
 * else in the process. A synthetic recording must come back identical
 * from its seed on any machine, and two generators must not disturb each
 * other. Here the state is a plain struct the caller owns.
 *
 * Contract:
 * - No globals, no allocation, no locks; a tw_rng must not be shared
 *   between threads without the caller's own locking.
 * - The integer sequence (tw_rng_u64) and the uniform doubles are
 *   bit-identical on every platform for a given seed. The other
 *   distributions use libm (log, exp, sqrt): sqrt is correctly rounded
 *   everywhere; log/exp may differ in the last bit between libm
 *   implementations, never between runs on one machine.
 * - Every function consumes a fixed number of u64 draws except the ones
 *   built on rejection: tw_rng_int (rarely more than one draw),
 *   tw_rng_gauss, tw_rng_gauss_fill and tw_rng_lognormal (Marsaglia
 *   polar, one cached spare).
 */
#ifndef TW_RNG_H
#define TW_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
    double spare;  /* second normal deviate of the last polar pair */
    int has_spare; /* 1 if `spare` is valid */
} tw_rng;

/* splitmix64: advance *state and return the next output. Used to expand
 * a 64-bit seed into generator state and to derive sub-seeds. */
uint64_t tw_splitmix64(uint64_t *state);

/* Seed from a 64-bit value (any value, including 0, is fine). */
void tw_rng_seed(tw_rng *r, uint64_t seed);

/* Seed an independent stream: the same seed with different stream numbers
 * gives unrelated sequences (e.g. one stream per channel and purpose). */
void tw_rng_seed_stream(tw_rng *r, uint64_t seed, uint64_t stream);

/* Next raw 64-bit output. */
uint64_t tw_rng_u64(tw_rng *r);

/* Uniform in [0, 1), 53 random bits. */
double tw_rng_uniform(tw_rng *r);

/* Uniform in [lo, hi). */
double tw_rng_range(tw_rng *r, double lo, double hi);

/* Uniform integer in [lo, hi] inclusive, unbiased. Requires lo <= hi. */
int tw_rng_int(tw_rng *r, int lo, int hi);

/* 1 with probability p (p <= 0: never, p >= 1: always). */
int tw_rng_bernoulli(tw_rng *r, double p);

/* Standard normal deviate N(0, 1) (Marsaglia polar method). */
double tw_rng_gauss(tw_rng *r);

/* n standard normal deviates times `scale`, added to nothing: x[i] =
 * scale * N(0,1). Gives exactly the values n calls of tw_rng_gauss would,
 * only faster. */
void tw_rng_gauss_fill(tw_rng *r, float *x, size_t n, double scale);

/* Exponential deviate with the given mean (> 0). */
double tw_rng_exp(tw_rng *r, double mean);

/* Lognormal deviate: exp(N(ln median, sigma^2)). median > 0, sigma >= 0.
 * Its mean is median * exp(sigma^2 / 2). */
double tw_rng_lognormal(tw_rng *r, double median, double sigma);

/* Log-uniform in [lo, hi), 0 < lo <= hi. */
double tw_rng_loguniform(tw_rng *r, double lo, double hi);

#endif
