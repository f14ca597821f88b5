/* rng.c: see rng.h. xoshiro256** 1.0 and splitmix64 after the public
 * domain reference code by David Blackman and Sebastiano Vigna
 * (prng.di.unimi.it). */
#include "rng.h"

#include <math.h>

uint64_t tw_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void tw_rng_seed(tw_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = tw_splitmix64(&st);
    /* splitmix64 never yields four zero words in a row, but be explicit:
     * the all-zero state is xoshiro's only fixed point. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
    r->spare = 0.0;
    r->has_spare = 0;
}

void tw_rng_seed_stream(tw_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number through splitmix64 before combining so that
     * neighbouring (seed, stream) pairs land far apart. */
    uint64_t st = stream ^ 0xD1B54A32D192ED03ULL;
    uint64_t h = tw_splitmix64(&st);
    tw_rng_seed(r, seed ^ h);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tw_rng_u64(tw_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tw_rng_uniform(tw_rng *r)
{
    return (double)(tw_rng_u64(r) >> 11) * 0x1.0p-53;
}

double tw_rng_range(tw_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * tw_rng_uniform(r);
}

int tw_rng_int(tw_rng *r, int lo, int hi)
{
    uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo) + 1;
    /* Rejection keeps it unbiased: accept only below the largest
     * multiple of span. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % span);
    uint64_t x;
    do
        x = tw_rng_u64(r);
    while (x >= limit);
    return (int)((int64_t)lo + (int64_t)(x % span));
}

int tw_rng_bernoulli(tw_rng *r, double p)
{
    return tw_rng_uniform(r) < p;
}

/* One polar pair: returns the first deviate, stores the second. */
static inline double polar(tw_rng *r, double *second)
{
    double u, v, s;
    do {
        u = 2.0 * tw_rng_uniform(r) - 1.0;
        v = 2.0 * tw_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    *second = v * m;
    return u * m;
}

double tw_rng_gauss(tw_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double x = polar(r, &r->spare);
    r->has_spare = 1;
    return x;
}

void tw_rng_gauss_fill(tw_rng *r, float *x, size_t n, double scale)
{
    size_t i = 0;
    if (n > 0 && r->has_spare) {
        r->has_spare = 0;
        x[i++] = (float)(scale * r->spare);
    }
    for (; i + 1 < n; i += 2) {
        double b;
        double a = polar(r, &b);
        x[i] = (float)(scale * a);
        x[i + 1] = (float)(scale * b);
    }
    if (i < n) {
        double a = polar(r, &r->spare);
        r->has_spare = 1;
        x[i] = (float)(scale * a);
    }
}

double tw_rng_exp(tw_rng *r, double mean)
{
    /* 1 - U lies in (0, 1]: log never sees 0. */
    return -mean * log(1.0 - tw_rng_uniform(r));
}

double tw_rng_lognormal(tw_rng *r, double median, double sigma)
{
    return median * exp(sigma * tw_rng_gauss(r));
}

double tw_rng_loguniform(tw_rng *r, double lo, double hi)
{
    return lo * exp(log(hi / lo) * tw_rng_uniform(r));
}
