/* test_dsp_linecancel.c: mains removal by periodic-template subtraction
 * (dsp/linecancel.h).
 *
 * The test signal is mains (fundamental 100 uV, odd harmonics of 100/h uV
 * up to min(3 kHz, 0.45 fs), random phases) plus 5 uV white Gaussian
 * noise. The canceller runs with the channel's defaults (tau 1 s, clip 4).
 *
 * What is asserted, after 6 s (6 tau) of convergence, over the next 2 s:
 *  - depth: residual mains power (output minus the noise that was added,
 *    sample by sample) at least 30 dB below the input mains power, and
 *    every harmonic on its own at least 20 dB down (measured by DFT at
 *    h f0), at 44.1 / 48 / 96 kHz with 50 and 60 Hz, at 1 kHz with 50 Hz
 *    (integer period) and at rates where fs/f0 is fractional (1000, 4000,
 *    22050 Hz with 60 Hz, and the detector rates the channel runs it at:
 *    8000 Hz with 50 and 60 Hz, 8820 Hz with 50 Hz);
 *  - mains 0.005 Hz and 0.02 Hz off nominal (crystal error, grid
 *    deviation) with the canceller at nominal 50 Hz: at least 20 dB;
 *  - a 5 mV, 100 ms burst (and a 1 mV RMS broadband one) leaves no lasting
 *    imprint: 1 .. 1.5 s after it the residual power is below 0.1 x the
 *    noise power (without the residual clipping it is about 8 x);
 *  - noise alone passes with its power unchanged within 5 % ("a few %"; a
 *    template averaging tau f0 / L periods, L the periods it spans, adds
 *    about L / (2 tau f0): 1 % for one period at 50 Hz and tau 1 s);
 *  - start-up: with tau 0.2 s (the configured default), 0.2 .. 0.4 s after
 *    the canceller starts (or is reset) the residual mains power is below
 *    0.25 x the noise power: the template starts as a (linearly
 *    weighted) average of the periods seen (an exponential average alone would still leave
 *    e^-1 of the mains, about 30 x the noise power, at 0.2 s);
 *  - execute_block == step, in place, reset, bins;
 *  - bad parameters give NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "linecancel.h"
#include "tw_test_util.h"

#define NOISE_UV 5.0
#define TAU_S 1.0
#define CLIP_K 4.0
#define WARM_S 6.0
#define MEAS_S 2.0
#define MAXH 64

typedef struct {
    double fs, f0;
} lc_case;

typedef struct {
    size_t n;
    float *mains, *noise, *x;
    int nh;
    int h[MAXH];
    double amp[MAXH];
} lc_signal;

/* Mains (odd harmonics, 100/h uV, up to min(3 kHz, 0.45 fs)) plus noise,
 * n samples. */
static void make_signal(lc_signal *s, double fs, double f0, size_t n, tt_rng *r, double noise_uv,
                        double mains_scale)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->mains = tt_xcalloc(n, sizeof(float));
    s->noise = tt_xcalloc(n, sizeof(float));
    s->x = tt_xcalloc(n, sizeof(float));
    s->nh = tt_add_mains(s->mains, n, fs, f0, 100.0 * mains_scale, 3000.0, r, s->h, s->amp, MAXH);
    assert_true(s->nh <= MAXH);
    for (size_t i = 0; i < n; i++) {
        s->noise[i] = (float)(noise_uv * tt_gauss(r));
        s->x[i] = s->mains[i] + s->noise[i];
    }
}

static void free_signal(lc_signal *s)
{
    free(s->mains);
    free(s->noise);
    free(s->x);
}

/* Amplitude of frequency f in v[0..n) (single-bin DFT). */
static double tone_amp(const float *v, const float *minus, size_t n, double f, double fs,
                       size_t i0)
{
    double re = 0.0, im = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)v[i] - minus[i];
        double a = 2.0 * M_PI * f * (double)(i0 + i) / fs;
        re += x * cos(a);
        im += x * sin(a);
    }
    return 2.0 * hypot(re, im) / (double)n;
}

static void test_depth(void **state)
{
    const lc_case *c = *state;
    char what[64];
    snprintf(what, sizeof what, "linecancel depth %g Hz / %g Hz", c->fs, c->f0);
    uint64_t seed = tt_seed(what, 0x11C0 + (uint64_t)c->fs + (uint64_t)c->f0);
    tt_rng r;
    tt_rng_seed(&r, seed);
    size_t warm = (size_t)(WARM_S * c->fs), nmeas = (size_t)(MEAS_S * c->fs);
    lc_signal s;
    make_signal(&s, c->fs, c->f0, warm + nmeas, &r, NOISE_UV, 1.0);
    tw_linecancel *q = tw_linecancel_create(c->fs, c->f0, TAU_S, CLIP_K);
    assert_non_null(q);
    float *y = tt_xmalloc(s.n * sizeof *y);
    tw_linecancel_execute_block(q, s.x, y, s.n);
    assert_true(tt_all_finite(y, s.n));

    double pm = tt_power(s.mains + warm, nmeas);
    double pres = tt_power_diff(y + warm, s.noise + warm, nmeas);
    double depth = tt_db(pm / pres);
    double worst = INFINITY;
    int worst_h = 0;
    for (int k = 0; k < s.nh; k++) {
        double a = tone_amp(y + warm, s.noise + warm, nmeas, s.h[k] * c->f0, c->fs, warm);
        double d = 20.0 * log10(s.amp[k] / a);
        if (d < worst) {
            worst = d;
            worst_h = s.h[k];
        }
    }
    printf("[ INFO     ] %g Hz / %g Hz (fs/f0 = %.4g, %zu bins, %d harmonics): depth %.1f dB, "
           "weakest harmonic %d (%g Hz) %.1f dB down\n",
           c->fs, c->f0, c->fs / c->f0, tw_linecancel_get_bins(q), s.nh, depth, worst_h,
           worst_h * c->f0, worst);
    tw_linecancel_destroy(q);
    free(y);
    free_signal(&s);
    if (depth < 30.0)
        fail_msg("%g Hz / %g Hz: residual mains only %.1f dB below the input (want >= 30 dB)",
                 c->fs, c->f0, depth);
    if (worst < 20.0)
        fail_msg("%g Hz / %g Hz: harmonic %d (%g Hz) only %.1f dB down (want >= 20 dB)", c->fs,
                 c->f0, worst_h, worst_h * c->f0, worst);
}

/* Mains a little off nominal, as it always is in practice: the grid runs
 * within about +-0.05 Hz of 50 Hz, and a sound card's crystal (+-50 ppm)
 * shifts the apparent frequency by up to 0.0025 Hz more. With the
 * canceller at nominal 50 Hz, 0.005 Hz and 0.02 Hz off: residual at least
 * 20 dB down after convergence. (Beyond the header's letter, which gives
 * f0 as exact; a canceller that needs the exact frequency cannot be used
 * on real mains.) */
static void test_depth_off_nominal(void **state)
{
    (void)state;
    static const double offsets[] = {0.005, 0.02};
    const double fs = 48000.0, f0 = 50.0;
    uint64_t seed = tt_seed("linecancel off-nominal mains", 0x0FF50);
    int bad = 0;
    for (size_t k = 0; k < 2; k++) {
        tt_rng r;
        tt_rng_seed(&r, seed + k);
        size_t warm = (size_t)(WARM_S * fs), nmeas = (size_t)(MEAS_S * fs), n = warm + nmeas;
        lc_signal s;
        make_signal(&s, fs, f0 + offsets[k], n, &r, NOISE_UV, 1.0);
        tw_linecancel *q = tw_linecancel_create(fs, f0, TAU_S, CLIP_K);
        assert_non_null(q);
        float *y = tt_xmalloc(n * sizeof *y);
        tw_linecancel_execute_block(q, s.x, y, n);
        double depth = tt_db(tt_power(s.mains + warm, nmeas) /
                             tt_power_diff(y + warm, s.noise + warm, nmeas));
        printf("[ INFO     ] mains at %.3f Hz, canceller at %g Hz: depth %.1f dB\n",
               f0 + offsets[k], f0, depth);
        if (depth < 20.0)
            bad++;
        tw_linecancel_destroy(q);
        free(y);
        free_signal(&s);
    }
    if (bad)
        fail_msg("%d of 2 off-nominal mains frequencies are cancelled by less than 20 dB "
                 "(the template does not follow the line frequency)",
                 bad);
}

/* A big burst after convergence: kind 0 = 1 mV RMS white, kind 1 = a 5 mV
 * peak, 100 ms, Hann-windowed mix of 73/137/211 Hz (not mains-locked). */
static void run_burst(double fs, double f0, int kind, double *imprint_early, double *imprint)
{
    char what[80];
    snprintf(what, sizeof what, "linecancel burst %g Hz / %g Hz kind %d", fs, f0, kind);
    uint64_t seed = tt_seed(what, 0xB0B5 + (uint64_t)fs + (uint64_t)kind);
    tt_rng r;
    tt_rng_seed(&r, seed);
    size_t bs = (size_t)(WARM_S * fs), be = bs + (size_t)(0.1 * fs);
    size_t n = be + (size_t)(1.6 * fs);
    lc_signal s;
    make_signal(&s, fs, f0, n, &r, NOISE_UV, 1.0);
    float *b = tt_xcalloc(n, sizeof *b);
    for (size_t i = bs; i < be; i++) {
        double t = (double)(i - bs) / fs;
        if (kind == 0)
            b[i] = (float)(1000.0 * tt_gauss(&r));
        else
            b[i] = (float)(5000.0 / 2.2 * sin(M_PI * t / 0.1) *
                           (sin(2 * M_PI * 73 * t) + 0.7 * sin(2 * M_PI * 137 * t + 1.0) +
                            0.5 * sin(2 * M_PI * 211 * t + 2.0)));
        s.x[i] += b[i];
    }
    tw_linecancel *q = tw_linecancel_create(fs, f0, TAU_S, CLIP_K);
    assert_non_null(q);
    float *y = tt_xmalloc(n * sizeof *y);
    tw_linecancel_execute_block(q, s.x, y, n);
    assert_true(tt_all_finite(y, n));
    for (size_t i = 0; i < n; i++)
        y[i] -= b[i]; /* what is left besides the noise is imprint + mains residue */
    size_t w = (size_t)(0.25 * fs), a1 = be + (size_t)(1.0 * fs), w1 = (size_t)(0.5 * fs);
    double pn = NOISE_UV * NOISE_UV;
    *imprint_early = tt_power_diff(y + be, s.noise + be, w) / pn;
    double before = tt_power_diff(y + bs - w1, s.noise + bs - w1, w1) / pn;
    /* The imprint is what the burst left beyond the mains residue that was
     * there before it (at 1000 Hz / 60 Hz that residue alone is ~0.11). */
    *imprint = tt_power_diff(y + a1, s.noise + a1, w1) / pn - before;
    printf("[ INFO     ] %g Hz / %g Hz, %s burst: residual / noise power before %.3f, "
           "0-0.25 s after %.3f, 1-1.5 s after %.3f\n",
           fs, f0, kind ? "5 mV 100 ms" : "1 mV RMS 100 ms", before, *imprint_early, *imprint);
    tw_linecancel_destroy(q);
    free(y);
    free(b);
    free_signal(&s);
}

static void test_burst_imprint(void **state)
{
    (void)state;
    static const lc_case cases[] = {{48000, 50}, {44100, 60}, {1000, 60}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int kind = 0; kind < 2; kind++) {
            double early, late;
            run_burst(cases[i].fs, cases[i].f0, kind, &early, &late);
            if (late > 0.1)
                fail_msg("%g Hz / %g Hz: 1 s after the burst the residual has grown by %.2f x "
                         "the noise power (want < 0.1)",
                         cases[i].fs, cases[i].f0, late);
            if (early > 1.0)
                fail_msg("%g Hz / %g Hz: right after the burst the residual is %.2f x the "
                         "noise power (want < 1)",
                         cases[i].fs, cases[i].f0, early);
        }
}

static void test_noise_passthrough(void **state)
{
    (void)state;
    static const lc_case cases[] = {{44100, 50}, {44100, 60}, {48000, 50}, {48000, 60},
                                    {96000, 50}, {96000, 60}, {1000, 50},  {1000, 60},
                                    {4000, 60},  {22050, 60}, {250, 50},   {250, 60}};
    uint64_t seed = tt_seed("linecancel noise pass-through", 0x7015E);
    tt_rng r;
    tt_rng_seed(&r, seed);
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double fs = cases[i].fs, f0 = cases[i].f0;
        size_t warm = (size_t)(3.0 * fs), nmeas = (size_t)(4.0 * fs), n = warm + nmeas;
        float *x = tt_xmalloc(n * sizeof *x), *y = tt_xmalloc(n * sizeof *y);
        for (size_t k = 0; k < n; k++)
            x[k] = (float)(NOISE_UV * tt_gauss(&r));
        tw_linecancel *q = tw_linecancel_create(fs, f0, TAU_S, CLIP_K);
        assert_non_null(q);
        tw_linecancel_execute_block(q, x, y, n);
        double ratio = tt_power(y + warm, nmeas) / tt_power(x + warm, nmeas);
        printf("[ INFO     ] noise only, %g Hz / %g Hz: output / input power %.4f\n", fs, f0,
               ratio);
        if (fabs(ratio - 1.0) > 0.05) {
            printf("[ DETAIL   ] %g Hz / %g Hz: noise power changed by %+.1f %% (want within "
                   "5 %%)\n",
                   fs, f0, 100.0 * (ratio - 1.0));
            bad++;
        }
        tw_linecancel_destroy(q);
        free(x);
        free(y);
    }
    if (bad)
        fail_msg("%d configurations change the noise power by more than 5 %%", bad);
}

/* Start-up: mains gone within about tau of the start and of a reset. */
static void test_startup(void **state)
{
    (void)state;
    static const lc_case cases[] = {{6000, 50}, {6000, 60}, {48000, 50}, {8820, 50}, {1000, 60}};
    uint64_t seed = tt_seed("linecancel start-up", 0x57A27);
    tt_rng r;
    tt_rng_seed(&r, seed);
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double fs = cases[i].fs, f0 = cases[i].f0;
        size_t n = (size_t)(0.4 * fs), m0 = (size_t)(0.2 * fs);
        lc_signal s;
        make_signal(&s, fs, f0, n, &r, NOISE_UV, 1.0);
        float *y = tt_xmalloc(n * sizeof *y);
        tw_linecancel *q = tw_linecancel_create(fs, f0, 0.2, CLIP_K);
        assert_non_null(q);
        for (int pass = 0; pass < 2; pass++) { /* from create, then after a reset */
            tw_linecancel_execute_block(q, s.x, y, n);
            double res = 0.0, np = tt_power(s.noise + m0, n - m0);
            for (size_t k = m0; k < n; k++) {
                double d = (double)y[k] - s.noise[k];
                res += d * d;
            }
            res /= (double)(n - m0);
            printf("[ INFO     ] start-up %g Hz / %g Hz (%s): residual mains / noise power "
                   "%.3f over 0.2 .. 0.4 s\n",
                   fs, f0, pass ? "after reset" : "from create", res / np);
            if (res > 0.25 * np) {
                printf("[ DETAIL   ] %g Hz / %g Hz: residual mains %.2f x the noise power "
                       "(want <= 0.25)\n", fs, f0, res / np);
                bad++;
            }
            tw_linecancel_reset(q);
        }
        tw_linecancel_destroy(q);
        free(y);
        free_signal(&s);
    }
    if (bad)
        fail_msg("%d start-ups leave the mains in", bad);
}

static void test_block_step_reset(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("linecancel block/step", 0xB10C);
    tt_rng r;
    static const lc_case cases[] = {{48000, 50}, {1000, 60}};
    for (size_t c = 0; c < 2; c++) {
        tt_rng_seed(&r, seed);
        double fs = cases[c].fs, f0 = cases[c].f0;
        lc_signal s;
        size_t n = (size_t)(0.5 * fs);
        make_signal(&s, fs, f0, n, &r, NOISE_UV, 1.0);
        tw_linecancel *q = tw_linecancel_create(fs, f0, 0.1, CLIP_K);
        assert_non_null(q);
        float *y1 = tt_xmalloc(n * sizeof *y1), *y2 = tt_xmalloc(n * sizeof *y2);
        tw_linecancel_execute_block(q, s.x, y1, n);
        tw_linecancel_reset(q);
        for (size_t i = 0; i < n; i++)
            y2[i] = (float)tw_linecancel_step(q, s.x[i]);
        assert_memory_equal(y1, y2, n * sizeof *y1);
        tw_linecancel_reset(q);
        memcpy(y2, s.x, n * sizeof *y2);
        size_t cut = n / 3; /* in place, in two pieces */
        tw_linecancel_execute_block(q, y2, y2, cut);
        tw_linecancel_execute_block(q, y2 + cut, y2 + cut, n - cut);
        assert_memory_equal(y1, y2, n * sizeof *y1);
        /* a fresh (reset) canceller passes the first sample unchanged */
        tw_linecancel_reset(q);
        assert_true(tw_linecancel_step(q, 123.0) == 123.0);
        tw_linecancel_destroy(q);
        free(y1);
        free(y2);
        free_signal(&s);
    }
    /* the template resolves a period at least sample by sample (else the
     * harmonics near fs/2 cannot be cancelled) */
    tw_linecancel *q = tw_linecancel_create(48000, 50, 1, 4);
    assert_non_null(q);
    assert_true(tw_linecancel_get_bins(q) >= 960);
    tw_linecancel_destroy(q);
    q = tw_linecancel_create(1000, 60, 1, 4);
    assert_non_null(q);
    assert_true(tw_linecancel_get_bins(q) >= 17);
    tw_linecancel_destroy(q);
}

static void test_bad_params(void **state)
{
    (void)state;
    /* fs 100 .. 1e6, f0 40 .. 70 and below fs/2, tau 0.05 .. 60, clip 2 .. 100 */
    tw_linecancel *q = tw_linecancel_create(48000, 50, 1, 4);
    assert_non_null(q);
    tw_linecancel_destroy(q);
    assert_null(tw_linecancel_create(99, 40, 1, 4));
    assert_null(tw_linecancel_create(1.1e6, 50, 1, 4));
    assert_null(tw_linecancel_create(NAN, 50, 1, 4));
    assert_null(tw_linecancel_create(INFINITY, 50, 1, 4));
    assert_null(tw_linecancel_create(0, 50, 1, 4));
    assert_null(tw_linecancel_create(48000, 39, 1, 4));
    assert_null(tw_linecancel_create(48000, 71, 1, 4));
    assert_null(tw_linecancel_create(48000, NAN, 1, 4));
    assert_null(tw_linecancel_create(48000, 0, 1, 4));
    assert_null(tw_linecancel_create(100, 50, 1, 4)); /* f0 not below fs/2 */
    assert_null(tw_linecancel_create(48000, 50, 0.04, 4));
    assert_null(tw_linecancel_create(48000, 50, 61, 4));
    assert_null(tw_linecancel_create(48000, 50, NAN, 4));
    assert_null(tw_linecancel_create(48000, 50, 1, 1.9));
    assert_null(tw_linecancel_create(48000, 50, 1, 101));
    assert_null(tw_linecancel_create(48000, 50, 1, NAN));
    /* the edges of the ranges are accepted */
    static const double ok[][4] = {{100, 40, 1, 4},    {1e6, 70, 1, 4},   {48000, 40, 0.05, 2},
                                   {48000, 70, 60, 100}, {141, 70, 1, 4}, {250, 60, 1, 4}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        q = tw_linecancel_create(ok[i][0], ok[i][1], ok[i][2], ok[i][3]);
        if (!q)
            fail_msg("create(%g, %g, %g, %g) returned NULL for valid parameters", ok[i][0],
                     ok[i][1], ok[i][2], ok[i][3]);
        tw_linecancel_destroy(q);
    }
}

/* 8000 / 60 and 8820 / 50 are where the channel runs the canceller: at
 * the detector rate of 48/96/192 kHz and of 44.1 kHz input. */
static const lc_case k_depth_cases[] = {
    {44100, 50}, {44100, 60}, {48000, 50}, {48000, 60}, {96000, 50}, {96000, 60}, {1000, 50},
    {1000, 60},  {4000, 60},  {22050, 60}, {8000, 50},  {8000, 60},  {8820, 50},
};
#define N_DEPTH (sizeof k_depth_cases / sizeof k_depth_cases[0])

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static char names[N_DEPTH][64];
    struct CMUnitTest tests[N_DEPTH + 6];
    size_t nt = 0;
    for (size_t i = 0; i < N_DEPTH; i++) {
        snprintf(names[i], sizeof names[i], "test_depth_%g_Hz_mains_%g_Hz", k_depth_cases[i].fs,
                 k_depth_cases[i].f0);
        tests[nt++] = (struct CMUnitTest){names[i], test_depth, NULL, NULL,
                                          (void *)&k_depth_cases[i]};
    }
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_depth_off_nominal);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_burst_imprint);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_noise_passthrough);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_startup);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_block_step_reset);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_bad_params);
    return _cmocka_run_group_tests("dsp_linecancel", tests, nt, NULL, NULL);
}
