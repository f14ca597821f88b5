/* tw_test_util.h: small helpers shared by the dsp unit tests.
 *
 * A seeded generator of our own (xoshiro256** through splitmix64, as in
 * Blackman & Vigna 2018) so that test signals are identical on every
 * machine and independent of the daemon's code, plus a few measurements.
 *
 * Seeds: every random test draws its seed from tt_seed(), which takes the
 * environment variable TW_TEST_SEED when set (decimal or 0x hex) and a
 * fixed default otherwise, and prints it, so a failure can be replayed
 * with TW_TEST_SEED=<printed seed>.
 *
 * Everything here is static: each test file includes it once.
 */
#ifndef TW_TEST_UTIL_H
#define TW_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
    uint64_t s[4];
    int has_spare;
    double spare;
} tt_rng;

static inline uint64_t tt_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void tt_rng_seed(tt_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = tt_splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0;
}

static inline uint64_t tt_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t tt_u64(tt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = tt_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tt_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static inline double tt_u01(tt_rng *r) { return (double)(tt_u64(r) >> 11) * 0x1.0p-53; }

/* Uniform in [a, b). */
static inline double tt_uniform(tt_rng *r, double a, double b) { return a + (b - a) * tt_u01(r); }

/* Integer in [0, n), n > 0 (modulo bias is irrelevant for tests). */
static inline size_t tt_index(tt_rng *r, size_t n) { return (size_t)(tt_u64(r) % n); }

/* Standard normal (Marsaglia polar method, one spare cached). */
static inline double tt_gauss(tt_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * tt_u01(r) - 1.0;
        v = 2.0 * tt_u01(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

/* Exponential with the given mean. */
static inline double tt_exp(tt_rng *r, double mean) { return -mean * log(1.0 - tt_u01(r)); }

/* The seed for this run: TW_TEST_SEED or `def`, printed with `what`. */
static inline uint64_t tt_seed(const char *what, uint64_t def)
{
    uint64_t seed = def;
    const char *e = getenv("TW_TEST_SEED");
    if (e && *e)
        seed = strtoull(e, NULL, 0);
    printf("[ SEED     ] %s: seed %" PRIu64 " (replay with TW_TEST_SEED=%" PRIu64 ")\n",
           what, seed, seed);
    fflush(stdout);
    return seed;
}

/* Mean of x^2 over [0, n). */
static inline double tt_power(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? s / (double)n : 0.0;
}

/* Mean of (x - y)^2 over [0, n). */
static inline double tt_power_diff(const float *x, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        s += d * d;
    }
    return n ? s / (double)n : 0.0;
}

static inline double tt_db(double power_ratio) { return 10.0 * log10(power_ratio); }

/* 1 if every x[i] is finite. */
static inline int tt_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Adds mains to x[0..n): odd harmonics h f0 (h = 1, 3, 5, ...) up to
 * min(fmax_hz, 0.45 fs), amplitude fund_uv / h, random phases drawn from
 * r. The harmonics run as phasors in double (renormalised every 4096
 * samples). If h / amp are not NULL they receive (up to maxh) the
 * harmonic numbers and amplitudes. Returns the number of harmonics. */
static inline int tt_add_mains(float *x, size_t n, double fs, double f0, double fund_uv,
                               double fmax_hz, tt_rng *r, int *h, double *amp, int maxh)
{
    enum { TT_MAXH = 128 };
    double re[TT_MAXH], im[TT_MAXH], cr[TT_MAXH], ci[TT_MAXH], a[TT_MAXH];
    int nh = 0;
    for (int k = 1; k * f0 <= fmin(fmax_hz, 0.45 * fs) && nh < TT_MAXH; k += 2) {
        double ph = tt_uniform(r, 0.0, 2.0 * M_PI);
        a[nh] = fund_uv / k;
        re[nh] = a[nh] * cos(ph);
        im[nh] = a[nh] * sin(ph);
        cr[nh] = cos(2.0 * M_PI * k * f0 / fs);
        ci[nh] = sin(2.0 * M_PI * k * f0 / fs);
        if (h && amp && nh < maxh) {
            h[nh] = k;
            amp[nh] = a[nh];
        }
        nh++;
    }
    for (size_t i = 0; i < n; i++) {
        double v = 0.0;
        for (int k = 0; k < nh; k++) {
            v += re[k];
            double t = re[k] * cr[k] - im[k] * ci[k];
            im[k] = re[k] * ci[k] + im[k] * cr[k];
            re[k] = t;
        }
        if ((i & 4095) == 4095)
            for (int k = 0; k < nh; k++) {
                double g = a[k] / hypot(re[k], im[k]);
                re[k] *= g;
                im[k] *= g;
            }
        x[i] += (float)v;
    }
    return nh;
}

/* malloc that fails the test binary loudly instead of returning NULL. */
static inline void *tt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static inline void *tt_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu x %zu bytes)\n", n, sz);
        abort();
    }
    return p;
}

#endif
