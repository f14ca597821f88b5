/* test_dsp_mains_auto.c: the line frequency found from the signal
 * (dsp/condition.h, mains_hz = TW_MAINS_AUTO).
 *
 * The signal is mains (fundamental A uV at f, odd harmonics A/h up to
 * 3 kHz, random phases) plus white Gaussian noise, through the conditioner
 * with the channel's needle defaults at the rate the detectors run at
 * (6000 Hz) and at an input rate (44.1 kHz). The residual mains is the
 * conditioner's output minus that of the same conditioner with mains
 * removal off fed the noise alone (the band-pass is linear).
 *
 * Asserted:
 *  - 50 and 60 Hz, 0.2 Hz off nominal (grid deviations stay within
 *    this), and 0.6 and 1 Hz off (49, 50.6, 59.4, 61 Hz), 100 uV under
 *    5 uV of noise: the frequency reported 1 s after the first sample is
 *    within 1 Hz of the true one, and the residual mains power is below
 *    0.25 x the noise power over 1.5 .. 3 s at nominal, over 4 .. 5 s off
 *    it (the tracker follows 0.45 of the error every 0.25 s, and harmonics
 *    to 3 kHz need the frequency to 0.01 Hz; unremoved 60 Hz hum would be
 *    100s of times the noise power);
 *  - 10 uV of noise under 100 uV of 60 Hz, and 20 uV of 50 Hz under 15 uV:
 *    found within 1 s;
 *  - noise alone: nothing is found in 3 s, and the noise passes with its
 *    power within 5 %;
 *  - reset searches again: 50 Hz hum, reset, then 60 Hz hum: 60 is found;
 *  - a forced 50 or 60, and off, report themselves (off: 0);
 *  - tw_condition_execute_block_z gives tw_condition_step's values bit
 *    for bit (y and dc_out minus the mains estimate, each rounded to
 *    float), in blocks of uneven lengths, with auto (the search and
 *    after), a forced 60 Hz and mains off, through a reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "condition.h"
#include "tw_test_util.h"

#define MAXH 64

static tw_condition *make(double fs, double mains_hz)
{
    tw_condition_params p = {.fs_hz = fs, .dc_hz = 0.5, .low_hz = 10.0,
                             .high_hz = 10000.0, .mains_hz = mains_hz,
                             .mains_tau_s = 0.2, .mains_clip_k = 4.0};
    if (p.high_hz > 0.45 * fs)
        p.high_hz = 0.45 * fs;
    tw_condition *q = tw_condition_create(&p, NULL);
    assert_non_null(q);
    return q;
}

typedef struct {
    size_t n;
    float *noise, *x;
} sig;

static void make_sig(sig *s, double fs, double f, double amp_uv, double noise_uv, double secs,
                     tt_rng *r)
{
    s->n = (size_t)(secs * fs);
    s->noise = tt_xcalloc(s->n, sizeof(float));
    s->x = tt_xcalloc(s->n, sizeof(float));
    int h[MAXH];
    double amp[MAXH];
    if (amp_uv > 0)
        tt_add_mains(s->x, s->n, fs, f, amp_uv, 3000.0, r, h, amp, MAXH);
    for (size_t i = 0; i < s->n; i++) {
        s->noise[i] = (float)(noise_uv * tt_gauss(r));
        s->x[i] += s->noise[i];
    }
}

static void free_sig(sig *s)
{
    free(s->noise);
    free(s->x);
}

/* Runs x through an auto conditioner; *found_1s gets the frequency
 * reported 1 s in; returns the residual mains power over [a_s, b_s) as a
 * multiple of the noise power out of the band-pass there. */
static double run_auto(const sig *s, double fs, double a_s, double b_s, double *found_1s,
                       tw_condition *q)
{
    tw_condition *ref = make(fs, 0.0);
    float *y = tt_xmalloc(s->n * sizeof *y), *yn = tt_xmalloc(s->n * sizeof *yn);
    size_t at1 = (size_t)(1.0 * fs);
    *found_1s = -1.0;
    for (size_t i = 0; i < s->n; i++) {
        y[i] = (float)tw_condition_step(q, s->x[i], NULL);
        if (i + 1 == at1)
            *found_1s = tw_condition_get_mains_hz(q);
    }
    tw_condition_execute_block(ref, s->noise, yn, s->n);
    size_t a = (size_t)(a_s * fs), b = (size_t)(b_s * fs);
    double res = tt_power_diff(y + a, yn + a, b - a), noise = tt_power(yn + a, b - a);
    free(y);
    free(yn);
    tw_condition_destroy(ref);
    return res / noise;
}

static void test_found(void **state)
{
    (void)state;
    const double rates[] = {6000.0, 44100.0};
    const double freqs[] = {50.0, 60.0, 50.2, 59.8, 49.0, 50.6, 59.4, 61.0};
    uint64_t seed = tt_seed("mains auto found", 0xA070);
    tt_rng r;
    tt_rng_seed(&r, seed);
    for (size_t ri = 0; ri < 2; ri++) {
        for (size_t fi = 0; fi < sizeof freqs / sizeof freqs[0]; fi++) {
            double fs = rates[ri], f = freqs[fi];
            sig s;
            int near = f == 50.0 || f == 60.0;
            double a = near ? 1.5 : 4.0, b = near ? 3.0 : 5.0;
            make_sig(&s, fs, f, 100.0, 5.0, b, &r);
            tw_condition *q = make(fs, TW_MAINS_AUTO);
            double found;
            double res = run_auto(&s, fs, a, b, &found, q);
            double now = tw_condition_get_mains_hz(q);
            printf("  %6g Hz, mains %4.1f Hz: found %.2f Hz at 1 s (%.2f at %g s), "
                   "residual %g-%g s %.3f x noise\n", fs, f, found, now, b, a, b, res);
            assert_true(fabs(found - f) <= 1.0);
            assert_true(fabs(now - f) <= 1.0);
            assert_true(res < 0.25);
            tw_condition_destroy(q);
            free_sig(&s);
        }
    }
}

static void test_found_hard(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("mains auto hard", 0xA071);
    tt_rng r;
    tt_rng_seed(&r, seed);
    const struct { double f, amp, noise; } c[] = {{60.0, 100.0, 10.0}, {50.0, 20.0, 15.0}};
    for (size_t i = 0; i < 2; i++) {
        sig s;
        make_sig(&s, 6000.0, c[i].f, c[i].amp, c[i].noise, 2.0, &r);
        tw_condition *q = make(6000.0, TW_MAINS_AUTO);
        double found;
        double res = run_auto(&s, 6000.0, 1.0, 2.0, &found, q);
        printf("  %g uV of %g Hz under %g uV noise: found %.2f Hz at 1 s, residual %.3f x noise\n",
               c[i].amp, c[i].f, c[i].noise, found, res);
        assert_true(fabs(found - c[i].f) <= 1.0);
        assert_true(res < 0.25);
        tw_condition_destroy(q);
        free_sig(&s);
    }
}

static void test_no_mains(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("mains auto none", 0xA072);
    tt_rng r;
    tt_rng_seed(&r, seed);
    sig s;
    make_sig(&s, 6000.0, 50.0, 0.0, 5.0, 3.0, &r);
    tw_condition *q = make(6000.0, TW_MAINS_AUTO);
    double found;
    /* with no mains, the "residual" is what the cancellers change in the noise */
    double res = run_auto(&s, 6000.0, 0.5, 3.0, &found, q);
    printf("  noise alone: found %.2f at 1 s, %.2f at 3 s; output differs from the noise "
           "by %.4f x its power\n", found, tw_condition_get_mains_hz(q), res);
    assert_true(found == 0.0);
    assert_true(tw_condition_get_mains_hz(q) == 0.0);
    assert_true(res < 0.05);
    tw_condition_destroy(q);
    free_sig(&s);
}

static void test_reset_searches_again(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("mains auto reset", 0xA073);
    tt_rng r;
    tt_rng_seed(&r, seed);
    sig a, b;
    make_sig(&a, 6000.0, 50.0, 100.0, 5.0, 2.0, &r);
    make_sig(&b, 6000.0, 60.0, 100.0, 5.0, 2.0, &r);
    tw_condition *q = make(6000.0, TW_MAINS_AUTO);
    for (size_t i = 0; i < a.n; i++)
        tw_condition_step(q, a.x[i], NULL);
    double fa = tw_condition_get_mains_hz(q);
    tw_condition_reset(q);
    assert_true(tw_condition_get_mains_hz(q) == 0.0);
    double found;
    double res = run_auto(&b, 6000.0, 1.5, 2.0, &found, q);
    printf("  50 Hz: %.2f; after reset, 60 Hz: %.2f at 1 s, residual %.3f x noise\n", fa, found,
           res);
    assert_true(fabs(fa - 50.0) <= 1.0);
    assert_true(fabs(found - 60.0) <= 1.0);
    assert_true(res < 0.25);
    tw_condition_destroy(q);
    free_sig(&a);
    free_sig(&b);
}

static void test_forced(void **state)
{
    (void)state;
    tw_condition *q = make(6000.0, 60.0);
    assert_true(tw_condition_get_mains_hz(q) == 60.0);
    tw_condition_destroy(q);
    q = make(6000.0, 50.0);
    assert_true(tw_condition_get_mains_hz(q) == 50.0);
    tw_condition_destroy(q);
    q = make(6000.0, 0.0);
    assert_true(tw_condition_get_mains_hz(q) == 0.0);
    tw_condition_destroy(q);
    /* auto at the lowest rate: searching until a signal says */
    tw_condition_params p = {.fs_hz = 250.0, .dc_hz = 0.5, .low_hz = 10.0, .high_hz = 100.0,
                             .mains_hz = TW_MAINS_AUTO, .mains_tau_s = 0.2, .mains_clip_k = 4.0};
    unsigned w = 0;
    q = tw_condition_create(&p, &w);
    assert_non_null(q);
    assert_int_equal(w & TW_WARN_MAINS_OFF, 0);
    assert_true(tw_condition_get_mains_hz(q) == 0.0);
    tw_condition_destroy(q);
    p.mains_hz = -2.0;
    assert_null(tw_condition_create(&p, NULL));
}

static void test_block_is_step(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, 17);
    const double fs = 6000.0;
    sig s;
    make_sig(&s, fs, 50.3, 100.0, 5.0, 3.0, &r);
    for (int i = 0; i < 200; i++) /* bursts, for the canceller's clipping */
        s.x[3000 + 7 * i] += 2000.0f * (float)tt_gauss(&r);
    const double mains[] = {TW_MAINS_AUTO, 60.0, 0.0};
    float *y1 = tt_xmalloc(s.n * sizeof *y1), *z1 = tt_xmalloc(s.n * sizeof *z1);
    float *y2 = tt_xmalloc(s.n * sizeof *y2), *z2 = tt_xmalloc(s.n * sizeof *z2);
    for (size_t mi = 0; mi < sizeof mains / sizeof mains[0]; mi++) {
        tw_condition *a = make(fs, mains[mi]), *b = make(fs, mains[mi]);
        for (int pass = 0; pass < 2; pass++) { /* the second after a reset */
            for (size_t i = 0; i < s.n; i++) {
                double dc;
                y1[i] = (float)tw_condition_step(a, s.x[i], &dc);
                z1[i] = (float)(dc - tw_condition_get_mains_estimate(a));
            }
            for (size_t i = 0, len = 1; i < s.n; i += len, len = len * 3 % 1021 + 1) {
                if (len > s.n - i)
                    len = s.n - i;
                memcpy(y2 + i, s.x + i, len * sizeof *y2);
                /* in place, x the same array as y */
                tw_condition_execute_block_z(b, y2 + i, y2 + i, z2 + i, len);
            }
            assert_memory_equal(y1, y2, s.n * sizeof *y1);
            assert_memory_equal(z1, z2, s.n * sizeof *z1);
            assert_true(tw_condition_get_mains_hz(a) == tw_condition_get_mains_hz(b));
            assert_true(tw_condition_get_mains_estimate(a) ==
                        tw_condition_get_mains_estimate(b));
            tw_condition_reset(a);
            tw_condition_reset(b);
        }
        tw_condition_destroy(a);
        tw_condition_destroy(b);
    }
    free(y1);
    free(z1);
    free(y2);
    free(z2);
    free_sig(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_found_hard),
        cmocka_unit_test(test_no_mains),
        cmocka_unit_test(test_reset_searches_again),
        cmocka_unit_test(test_forced),
        cmocka_unit_test(test_block_is_step),
    };
    return cmocka_run_group_tests_name("mains auto", tests, NULL, NULL);
}
