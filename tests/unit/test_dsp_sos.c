/* test_dsp_sos.c: Butterworth second-order-section cascades (dsp/sos.h).
 *
 * What is asserted:
 *  - design: for fs in {250 .. 192000} Hz, low- and high-pass, orders 1..8,
 *    corners fc = {0.001, 0.01, 0.1, 0.25, 0.45} x fs: the gain from
 *    tw_sos_get_gain is 0.7071 +- 0.01 at fc, 1 +- 0.01 in the pass band
 *    (exactly 1 at DC / Nyquist), at least 20 n dB down one decade into
 *    the stop band, and within 0.05 dB (0.5 dB below -60 dB) of the
 *    bilinear-transformed Butterworth |H| = 1 / sqrt(1 + (W/Wc)^2n),
 *    W = tan(pi f / fs), over the whole band;
 *  - measurement: the same designs run on sines through
 *    tw_sos_execute_block give, after settling, an output/input RMS ratio
 *    that matches the design (0.7071 +- 0.01 at fc, 1 +- 0.01 in the pass
 *    band, the design's stop-band attenuation within 0.5 dB and at least
 *    the 20 n dB/decade Butterworth slope);
 *  - the low corners the pipeline uses (0.5 .. 20 Hz: conditioning
 *    high-pass, movement low-pass) at every rate: NULL or a correct design,
 *    never a wrong filter;
 *  - bad parameters give NULL (order 0 and 9, fc <= 0, fc >= 0.49 fs, NaN,
 *    fs out of range, unknown band; explicit sections: nsec 0 / 9,
 *    unstable, a0 != 1, non-finite, NULL pointers);
 *  - execute_block == tw_sos_step sample by sample, in place == out of
 *    place, reset restores the initial state;
 *  - a 100 mV DC offset and a 200 mV step stay finite; a high-pass settles
 *    to 0 (within 1e-3 uV: the sections run in double) and a low-pass to
 *    the input level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sos.h"
#include "tw_test_util.h"

static const double k_rates[] = {250, 1000, 4000, 44100, 48000, 96000, 192000};
#define N_RATES (sizeof k_rates / sizeof k_rates[0])
static const double k_rel_fc[] = {0.001, 0.01, 0.1, 0.25, 0.45};
#define N_REL (sizeof k_rel_fc / sizeof k_rel_fc[0])

#define SQRT1_2 0.70710678118654752

static const char *band_name(tw_sos_band b) { return b == TW_SOS_HIGHPASS ? "HP" : "LP"; }

/* Magnitude of a digital Butterworth designed by the bilinear transform
 * with the corner pre-warped to fc. */
static double butter_pred(tw_sos_band band, unsigned n, double f, double fc, double fs)
{
    double w = tan(M_PI * f / fs), wc = tan(M_PI * fc / fs);
    if (band == TW_SOS_HIGHPASS) {
        if (w <= 0.0)
            return 0.0;
        return 1.0 / sqrt(1.0 + pow(wc / w, 2.0 * n));
    }
    return 1.0 / sqrt(1.0 + pow(w / wc, 2.0 * n));
}

static double db(double g) { return 20.0 * log10(g); }

/* A pass-band frequency: a decade inside the pass band, or the band edge. */
static double pass_freq(tw_sos_band band, double fc, double fs)
{
    if (band == TW_SOS_LOWPASS)
        return fc / 10.0;
    return fmin(10.0 * fc, 0.5 * fs);
}

/* One decade into the stop band, or 0 when that is beyond Nyquist. */
static double decade_freq(tw_sos_band band, double fc, double fs)
{
    if (band == TW_SOS_HIGHPASS)
        return fc / 10.0;
    return 10.0 * fc < 0.5 * fs ? 10.0 * fc : 0.0;
}

/* Analogue Butterworth attenuation (dB, negative) at f: the -20 n dB/decade
 * asymptote 20 n log10(f/fc) (LP) or 20 n log10(fc/f) (HP). */
static double asymptote_db(tw_sos_band band, unsigned n, double f, double fc)
{
    double r = band == TW_SOS_LOWPASS ? f / fc : fc / f;
    return -20.0 * n * log10(r);
}

static void test_butter_gain_design(void **state)
{
    (void)state;
    double worst_fc = 0.0, worst_curve = 0.0, worst_deep = 0.0;
    int checked = 0;
    for (size_t i = 0; i < N_RATES; i++)
        for (int bi = 0; bi < 2; bi++)
            for (unsigned n = 1; n <= 8; n++)
                for (size_t j = 0; j < N_REL; j++) {
                    tw_sos_band band = bi ? TW_SOS_HIGHPASS : TW_SOS_LOWPASS;
                    double fs = k_rates[i], fc = k_rel_fc[j] * fs;
                    char what[96];
                    snprintf(what, sizeof what, "%s order %u fc %g Hz fs %g Hz",
                             band_name(band), n, fc, fs);
                    tw_sos *q = tw_sos_create_butter(band, n, fc, fs);
                    if (!q)
                        fail_msg("%s: create returned NULL", what);
                    assert_int_equal(tw_sos_get_nsections(q), (n + 1) / 2);

                    double g = tw_sos_get_gain(q, fc, fs);
                    if (fabs(g - SQRT1_2) > 0.01)
                        fail_msg("%s: gain at fc %.4f, want 0.7071 +- 0.01", what, g);
                    worst_fc = fmax(worst_fc, fabs(g - SQRT1_2));

                    /* pass band: exactly 1 at DC (LP) / Nyquist (HP), and
                     * within 1 % a decade inside the band */
                    double g0 = tw_sos_get_gain(q, band == TW_SOS_LOWPASS ? 0.0 : 0.5 * fs, fs);
                    if (fabs(g0 - 1.0) > 1e-6)
                        fail_msg("%s: pass-band edge gain %.8f, want 1", what, g0);
                    double fp = pass_freq(band, fc, fs);
                    double gp = tw_sos_get_gain(q, fp, fs);
                    if (fabs(gp - 1.0) > 0.01)
                        fail_msg("%s: pass-band gain at %g Hz %.4f, want 1 +- 0.01", what, fp, gp);

                    /* stop band: at least the Butterworth slope a decade out */
                    double fd = decade_freq(band, fc, fs);
                    if (fd > 0.0) {
                        double gd = db(tw_sos_get_gain(q, fd, fs));
                        double want = asymptote_db(band, n, fd, fc);
                        if (gd > want + 0.05)
                            fail_msg("%s: %.2f dB at %g Hz, Butterworth wants <= %.1f dB",
                                     what, gd, fd, want);
                    }

                    /* whole band against the bilinear Butterworth */
                    for (int k = 0; k <= 240; k++) {
                        double f = fs * 1e-5 * pow(0.4999 / 1e-5, k / 240.0);
                        double p = butter_pred(band, n, f, fc, fs);
                        double pdb = db(p), gdb = db(tw_sos_get_gain(q, f, fs));
                        double e = fabs(gdb - pdb);
                        if (pdb >= -60.0) {
                            worst_curve = fmax(worst_curve, e);
                            if (e > 0.05)
                                fail_msg("%s: at %g Hz %.3f dB, Butterworth %.3f dB", what, f, gdb, pdb);
                        } else if (pdb >= -120.0) {
                            worst_deep = fmax(worst_deep, e);
                            if (e > 0.5)
                                fail_msg("%s: at %g Hz %.2f dB, Butterworth %.2f dB", what, f, gdb, pdb);
                        }
                    }
                    checked++;
                    tw_sos_destroy(q);
                }
    printf("[ INFO     ] %d designs; worst |g(fc) - 0.7071| = %.2e; worst deviation from "
           "Butterworth %.4f dB (above -60 dB), %.3f dB (-60 .. -120 dB)\n",
           checked, worst_fc, worst_curve, worst_deep);
}

/* RMS ratio out/in of a unit sine at f through a fresh copy of the filter,
 * measured over a whole number of cycles after `settle` samples. */
static double measure_gain(tw_sos *q, double f, double fs, size_t settle)
{
    double per = fs / f;                              /* samples per cycle */
    double cycles = ceil(4096.0 / per);
    if (cycles < 2.0)
        cycles = 2.0;
    size_t nmeas = (size_t)llround(cycles * per);
    size_t n = settle + nmeas;
    /* zeroed, not just allocated: with LTO, GCC cannot see the loop below
     * fill x and warns that tw_sos_execute_block may read it uninitialised */
    float *x = tt_xcalloc(n, sizeof *x), *y = tt_xmalloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)cos(2.0 * M_PI * f * (double)i / fs + 0.3);
    tw_sos_reset(q);
    tw_sos_execute_block(q, x, y, n);
    assert_true(tt_all_finite(y, n));
    double pin = tt_power(x + settle, nmeas), pout = tt_power(y + settle, nmeas);
    free(x);
    free(y);
    return sqrt(pout / pin);
}

/* Samples for the slowest pole's transient to fall by `drop_db`: the
 * slowest Butterworth pole decays at sin(pi / 2n) x the (pre-warped)
 * corner, in rad/sample. */
static size_t settle_samples(unsigned n, double fc, double fs, double drop_db)
{
    double wc = 2.0 * tan(M_PI * fc / fs); /* analogue corner, rad/sample */
    double rate = sin(M_PI / (2.0 * n)) * fmin(wc, 2.0);
    return (size_t)ceil(drop_db / 8.686 / rate) + 64;
}

/* The stop-band frequency where the design is at `level_db` (bisection on
 * the monotonic Butterworth response). */
static double design_level_freq(const tw_sos *q, tw_sos_band band, double fc, double fs,
                                double level_db)
{
    double lo = band == TW_SOS_LOWPASS ? fc : 1e-9 * fs;
    double hi = band == TW_SOS_LOWPASS ? 0.4999 * fs : fc;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        int below = db(tw_sos_get_gain(q, mid, fs)) < level_db;
        /* LP: below the level means too far out (move hi in) */
        if ((band == TW_SOS_LOWPASS) == below)
            hi = mid;
        else
            lo = mid;
    }
    return 0.5 * (lo + hi);
}

static void test_butter_measured_sine(void **state)
{
    (void)state;
    static const double rel[] = {0.001, 0.01, 0.1, 0.45};
    double worst_fc = 0.0, worst_pass = 0.0, worst_stop = 0.0;
    int checked = 0;
    for (size_t i = 0; i < N_RATES; i++)
        for (int bi = 0; bi < 2; bi++)
            for (unsigned n = 1; n <= 8; n++)
                for (size_t j = 0; j < sizeof rel / sizeof rel[0]; j++) {
                    tw_sos_band band = bi ? TW_SOS_HIGHPASS : TW_SOS_LOWPASS;
                    double fs = k_rates[i], fc = rel[j] * fs;
                    char what[96];
                    snprintf(what, sizeof what, "%s order %u fc %g Hz fs %g Hz",
                             band_name(band), n, fc, fs);
                    tw_sos *q = tw_sos_create_butter(band, n, fc, fs);
                    if (!q)
                        fail_msg("%s: create returned NULL", what);

                    /* at the corner */
                    double g = measure_gain(q, fc, fs, settle_samples(n, fc, fs, 80.0));
                    if (fabs(g - SQRT1_2) > 0.01)
                        fail_msg("%s: measured gain at fc %.4f, want 0.7071 +- 0.01", what, g);
                    worst_fc = fmax(worst_fc, fabs(g - SQRT1_2));

                    /* in the pass band (HP: not at Nyquist itself) */
                    double fp = band == TW_SOS_LOWPASS ? fc / 10.0 : fmin(10.0 * fc, 0.48 * fs);
                    double gp = measure_gain(q, fp, fs, settle_samples(n, fc, fs, 80.0));
                    double gd = tw_sos_get_gain(q, fp, fs);
                    /* (a high-pass at 0.45 fs has no pass band below
                     * 0.48 fs: there only measured == design is asked) */
                    if ((gd > 0.995 && fabs(gp - 1.0) > 0.01) || fabs(gp - gd) > 0.002)
                        fail_msg("%s: measured pass-band gain at %g Hz %.4f (design %.4f), "
                                 "want 1 +- 0.01", what, fp, gp, gd);
                    worst_pass = fmax(worst_pass, fabs(gp - gd));

                    /* in the stop band: a decade out, or where the design
                     * is at -80 dB when a decade is deeper than -100 dB or
                     * beyond Nyquist (at most 0.45 fs) */
                    double fsb = decade_freq(band, fc, fs);
                    if (fsb == 0.0 || db(tw_sos_get_gain(q, fsb, fs)) < -100.0)
                        fsb = design_level_freq(q, band, fc, fs, -80.0);
                    if (fsb > 0.45 * fs) /* a sine this close to Nyquist beats */
                        fsb = 0.45 * fs;
                    if (band == TW_SOS_LOWPASS && fsb < 1.5 * fc) {
                        tw_sos_destroy(q); /* no stop band below 0.45 fs */
                        continue;
                    }
                    double design = db(tw_sos_get_gain(q, fsb, fs));
                    double gs = db(measure_gain(q, fsb, fs, settle_samples(n, fc, fs, 60.0 - design)));
                    double e = fabs(gs - design);
                    worst_stop = fmax(worst_stop, e);
                    if (e > 0.5)
                        fail_msg("%s: measured %.2f dB at %g Hz, design %.2f dB", what, gs, fsb,
                                 design);
                    double want = asymptote_db(band, n, fsb, fc);
                    if (gs > want + 0.1)
                        fail_msg("%s: measured %.2f dB at %g Hz, Butterworth wants <= %.2f dB",
                                 what, gs, fsb, want);
                    checked++;
                    tw_sos_destroy(q);
                }
    printf("[ INFO     ] %d designs measured with sines: worst |g(fc) - 0.7071| = %.2e, "
           "worst pass-band |measured - design| = %.2e, worst stop-band %.3f dB\n",
           checked, worst_fc, worst_pass, worst_stop);
}

/* The corners the pipeline asks for at low fc / fs (conditioning high-pass
 * 0.5 .. 20 Hz at up to 192 kHz, order 2; movement low-pass 2 .. 20 Hz at
 * the detector rate, order 2): create may refuse (NULL), but a filter it
 * returns must have its -3 dB point at fc. */
static void test_butter_low_corner_accuracy(void **state)
{
    (void)state;
    static const double fcs[] = {0.5, 1, 2, 5, 10, 20};
    int bad = 0, nulls = 0, total = 0;
    for (size_t i = 0; i < N_RATES; i++)
        for (int bi = 0; bi < 2; bi++)
            for (unsigned n = 1; n <= 8; n++)
                for (size_t j = 0; j < sizeof fcs / sizeof fcs[0]; j++) {
                    tw_sos_band band = bi ? TW_SOS_HIGHPASS : TW_SOS_LOWPASS;
                    double fs = k_rates[i], fc = fcs[j];
                    if (fc >= 0.49 * fs)
                        continue;
                    total++;
                    tw_sos *q = tw_sos_create_butter(band, n, fc, fs);
                    if (!q) {
                        nulls++;
                        continue;
                    }
                    double g = tw_sos_get_gain(q, fc, fs);
                    double gp = tw_sos_get_gain(q, pass_freq(band, fc, fs), fs);
                    double gmax = 0.0; /* Butterworth never exceeds 1 */
                    for (int k = 0; k <= 200; k++)
                        gmax = fmax(gmax, tw_sos_get_gain(q, fc * pow(10.0, (k - 100) / 50.0), fs));
                    if (fabs(g - SQRT1_2) > 0.01 || fabs(gp - 1.0) > 0.01 || gmax > 1.01) {
                        if (n == 2) /* the order the pipeline uses */
                            printf("[ DETAIL   ] %s order %u fc %g Hz fs %g Hz (fc/fs %.1e): "
                                   "gain at fc %.4f (want 0.7071), pass band %.4f, max %.4f\n",
                                   band_name(band), n, fc, fs, fc / fs, g, gp, gmax);
                        bad++;
                    }
                    tw_sos_destroy(q);
                }
    printf("[ INFO     ] low corners: %d designs, %d refused (NULL), %d wrong\n", total, nulls,
           bad);
    if (bad)
        fail_msg("%d of %d low-corner designs are returned with a wrong response "
                 "(liquid_iirdes designs in float: poles near z = 1 lose their place)",
                 bad, total);
}

static void test_butter_bad_params(void **state)
{
    (void)state;
    const double fs = 48000.0;
    assert_null(tw_sos_create_butter(TW_SOS_LOWPASS, 0, 1000.0, fs));
    assert_null(tw_sos_create_butter(TW_SOS_LOWPASS, 9, 1000.0, fs));
    assert_null(tw_sos_create_butter(TW_SOS_HIGHPASS, 0, 1000.0, fs));
    assert_null(tw_sos_create_butter(TW_SOS_HIGHPASS, 9, 1000.0, fs));
    for (int bi = 0; bi < 2; bi++) {
        tw_sos_band b = bi ? TW_SOS_HIGHPASS : TW_SOS_LOWPASS;
        assert_null(tw_sos_create_butter(b, 2, 0.0, fs));
        assert_null(tw_sos_create_butter(b, 2, -10.0, fs));
        assert_null(tw_sos_create_butter(b, 2, 0.49 * fs, fs));
        assert_null(tw_sos_create_butter(b, 2, 0.5 * fs, fs));
        assert_null(tw_sos_create_butter(b, 2, fs, fs));
        assert_null(tw_sos_create_butter(b, 2, NAN, fs));
        assert_null(tw_sos_create_butter(b, 2, INFINITY, fs));
        assert_null(tw_sos_create_butter(b, 2, 100.0, NAN));
        assert_null(tw_sos_create_butter(b, 2, 100.0, INFINITY));
        assert_null(tw_sos_create_butter(b, 2, 0.1, 0.5));  /* fs below 1 Hz */
        assert_null(tw_sos_create_butter(b, 2, 100.0, 2e6)); /* fs above 1 MHz */
        assert_null(tw_sos_create_butter(b, 2, 100.0, 0.0));
        assert_null(tw_sos_create_butter(b, 2, 100.0, -48000.0));
        /* just inside the range is accepted */
        tw_sos *q = tw_sos_create_butter(b, 2, 0.489 * fs, fs);
        assert_non_null(q);
        tw_sos_destroy(q);
        q = tw_sos_create_butter(b, 1, 1000.0, fs);
        assert_non_null(q);
        tw_sos_destroy(q);
        q = tw_sos_create_butter(b, 8, 1000.0, fs);
        assert_non_null(q);
        tw_sos_destroy(q);
    }
    assert_null(tw_sos_create_butter((tw_sos_band)2, 2, 1000.0, fs));
    assert_null(tw_sos_create_butter((tw_sos_band)-1, 2, 1000.0, fs));

    /* explicit sections */
    double b[3 * 9], a[3 * 9];
    for (int i = 0; i < 9; i++) {
        b[3 * i] = 1.0, b[3 * i + 1] = 0.0, b[3 * i + 2] = 0.0;
        a[3 * i] = 1.0, a[3 * i + 1] = -0.5, a[3 * i + 2] = 0.25;
    }
    tw_sos *q = tw_sos_create(b, a, 8);
    assert_non_null(q);
    assert_int_equal(tw_sos_get_nsections(q), 8);
    tw_sos_destroy(q);
    assert_null(tw_sos_create(b, a, 0));
    assert_null(tw_sos_create(b, a, 9));
    assert_null(tw_sos_create(NULL, a, 1));
    assert_null(tw_sos_create(b, NULL, 1));
    double au[3] = {1.0, 0.0, 1.0}; /* poles on the unit circle */
    assert_null(tw_sos_create(b, au, 1));
    double au2[3] = {1.0, -2.1, 1.2}; /* |a2| > 1 */
    assert_null(tw_sos_create(b, au2, 1));
    double au3[3] = {1.0, -1.6, 0.5}; /* |a1| >= 1 + a2: real pole outside */
    assert_null(tw_sos_create(b, au3, 1));
    double a0[3] = {2.0, 0.0, 0.0};
    assert_null(tw_sos_create(b, a0, 1));
    double an[3] = {1.0, NAN, 0.0};
    assert_null(tw_sos_create(b, an, 1));
    double bn[3] = {1.0, INFINITY, 0.0};
    assert_null(tw_sos_create(bn, a, 1));
    double bn2[3] = {NAN, 0.0, 0.0};
    assert_null(tw_sos_create(bn2, a, 1));
}

static void test_sos_block_step_reset(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("sos block/step", 0x5051);
    tt_rng r;
    tt_rng_seed(&r, seed);
    const size_t n = 5000;
    float *x = tt_xmalloc(n * sizeof *x), *y1 = tt_xmalloc(n * sizeof *y1),
          *y2 = tt_xmalloc(n * sizeof *y2), *y3 = tt_xmalloc(n * sizeof *y3);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(100.0 * tt_gauss(&r) + (i > n / 2 ? 5000.0 : 0.0));
    tw_sos *q = tw_sos_create_butter(TW_SOS_HIGHPASS, 4, 300.0, 48000.0);
    assert_non_null(q);
    tw_sos_execute_block(q, x, y1, n);
    tw_sos_reset(q);
    for (size_t i = 0; i < n; i++)
        y2[i] = (float)tw_sos_step(q, x[i]);
    assert_memory_equal(y1, y2, n * sizeof *y1);
    tw_sos_reset(q);
    memcpy(y3, x, n * sizeof *y3);
    tw_sos_execute_block(q, y3, y3, 1234); /* in place, in two pieces */
    tw_sos_execute_block(q, y3 + 1234, y3 + 1234, n - 1234);
    assert_memory_equal(y1, y3, n * sizeof *y1);

    /* the identity section passes the signal unchanged */
    double b[3] = {1.0, 0.0, 0.0}, a[3] = {1.0, 0.0, 0.0};
    tw_sos *id = tw_sos_create(b, a, 1);
    assert_non_null(id);
    tw_sos_execute_block(id, x, y2, n);
    assert_memory_equal(x, y2, n * sizeof *x);
    assert_true(fabs(tw_sos_get_gain(id, 1234.0, 48000.0) - 1.0) < 1e-12);
    tw_sos_destroy(id);
    tw_sos_destroy(q);

    /* one section (its own block loop) and two: block == steps, forwards
     * and backwards, in place or not */
    for (unsigned order = 2; order <= 4; order += 2) {
        q = tw_sos_create_butter(TW_SOS_LOWPASS, order, 900.0, 6000.0);
        assert_non_null(q);
        tw_sos_execute_block(q, x, y1, n);
        tw_sos_reset(q);
        for (size_t i = 0; i < n; i++)
            y2[i] = (float)tw_sos_step(q, x[i]);
        assert_memory_equal(y1, y2, n * sizeof *y1);
        tw_sos_reset(q);
        tw_sos_execute_block_reverse(q, x, y1, n);
        tw_sos_reset(q);
        for (size_t i = n; i-- > 0;)
            y2[i] = (float)tw_sos_step(q, x[i]);
        assert_memory_equal(y1, y2, n * sizeof *y1);
        tw_sos_reset(q);
        memcpy(y3, x, n * sizeof *y3);
        tw_sos_execute_block_reverse(q, y3 + 1000, y3 + 1000, n - 1000);
        tw_sos_execute_block_reverse(q, y3, y3, 1000);
        assert_memory_equal(y1, y3, n * sizeof *y1);
        tw_sos_destroy(q);
    }
    free(x);
    free(y1);
    free(y2);
    free(y3);
}

/* A 100 mV offset, then a 200 mV step (to -100 mV) followed by 10 uV noise
 * that stops well before the end: outputs stay finite; a high-pass settles to 0 and
 * a low-pass to the input level. The high-pass residue must be below
 * 1e-3 uV, which float32 direct form (liquid's iirfilt) cannot reach. */
static void test_butter_dc_step_stability(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("sos DC + step", 0xDC57E9);
    tt_rng r;
    tt_rng_seed(&r, seed);
    static const double hp_fc[] = {10.0, 20.0};
    double worst_hp = 0.0;
    for (size_t i = 0; i < N_RATES; i++) {
        double fs = k_rates[i];
        struct {
            tw_sos_band band;
            unsigned n;
            double fc;
        } cfg[6] = {{TW_SOS_HIGHPASS, 2, hp_fc[0]}, {TW_SOS_HIGHPASS, 2, hp_fc[1]},
                    {TW_SOS_HIGHPASS, 8, 0.01 * fs},  {TW_SOS_LOWPASS, 4, 0.45 * fs},
                    {TW_SOS_LOWPASS, 4, fmin(450.0, 0.45 * fs)}, {TW_SOS_LOWPASS, 8, 0.01 * fs}};
        for (int c = 0; c < 6; c++) {
            tw_sos *q = tw_sos_create_butter(cfg[c].band, cfg[c].n, cfg[c].fc, fs);
            assert_non_null(q);
            /* 30 time constants of the slowest pole per half */
            double xi = sin(M_PI / (2.0 * cfg[c].n));
            size_t half = (size_t)(30.0 * fs / (xi * 2.0 * M_PI * fmin(cfg[c].fc, 0.2 * fs))) + 1000;
            size_t n = 2 * half;
            float *x = tt_xmalloc(n * sizeof *x), *y = tt_xmalloc(n * sizeof *y);
            for (size_t k = 0; k < n; k++) {
                double v = k < half ? 1e5 : -1e5;
                if (k >= half && k < half + half / 4)
                    v += 10.0 * tt_gauss(&r);
                x[k] = (float)v;
            }
            tw_sos_execute_block(q, x, y, n);
            if (!tt_all_finite(y, n))
                fail_msg("%s order %u fc %g fs %g: non-finite output", band_name(cfg[c].band),
                         cfg[c].n, cfg[c].fc, fs);
            float last = y[n - 1];
            if (cfg[c].band == TW_SOS_HIGHPASS) {
                worst_hp = fmax(worst_hp, fabs(last));
                if (fabs(last) > 1e-3)
                    fail_msg("HP order %u fc %g fs %g: output %g uV after settling, want ~0",
                             cfg[c].n, cfg[c].fc, fs, last);
                /* before the step it had settled too */
                if (fabs(y[half - 1]) > 1e-3)
                    fail_msg("HP order %u fc %g fs %g: output %g uV under DC, want ~0",
                             cfg[c].n, cfg[c].fc, fs, y[half - 1]);
            } else {
                if (fabs(last + 1e5) > 0.05)
                    fail_msg("LP order %u fc %g fs %g: output %g uV, want -1e5", cfg[c].n,
                             cfg[c].fc, fs, last);
            }
            free(x);
            free(y);
            tw_sos_destroy(q);
        }
    }
    printf("[ INFO     ] worst high-pass residue after a 200 mV step: %.2e uV\n", worst_hp);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_butter_gain_design),
        cmocka_unit_test(test_butter_measured_sine),
        cmocka_unit_test(test_butter_low_corner_accuracy),
        cmocka_unit_test(test_butter_bad_params),
        cmocka_unit_test(test_sos_block_step_reset),
        cmocka_unit_test(test_butter_dc_step_stability),
    };
    return cmocka_run_group_tests_name("dsp_sos", tests, NULL, NULL);
}
