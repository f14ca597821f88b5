/* test_monitor.c: the audio monitor's signal path (daemon/monitor/:
 * mon_chain.h, limiter.h, mon_out.h, spsc.h), without a sound card.
 *
 * What is asserted:
 *  - the limiter holds a 5 mV step under full scale at high gain: a raw
 *    5000 uV step, and the conditioned signal's answer to one (a spike
 *    decaying over 16 ms, either sign), through the whole chain (6 kHz
 *    in, 48 kHz out, input full scale 10 mV) at +40 and +60 dB (25 and 250
 *    times full scale before the limiter) never exceed the limiter's
 *    ceiling (-1 dBFS), so never full scale, and the clip guard never
 *    fires; after the step's spike the gain comes back (release) and a
 *    later tone plays at its level again;
 *  - the limiter alone: random bursts up to 100 x the ceiling never get
 *    out above it; a signal under the ceiling comes out unchanged, only
 *    delayed by the look-ahead (exactly);
 *  - the gain is applied in dB exactly: a 437 Hz sine of 10 uV at -40,
 *    -20, 0, 20 and 40 dB comes out at 10 uV / 10 mV x 10^(dB/20) within
 *    0.1 dB (least-squares fit after the glide has settled); a gain
 *    changed on the way glides to the new level, within 0.1 dB after
 *    100 ms; mute gives silence (|y| < 1e-6 after 100 ms) and unmute the
 *    level again;
 *  - resampling keeps a tone's amplitude and frequency: 100, 437, 1000
 *    and 2000 Hz at 6 kHz to 48 kHz and to 44.1 kHz (and 2 kHz to 48 kHz)
 *    come out at their amplitude within 0.1 dB and their frequency within
 *    0.01 % (zero crossings over 2 s); the output has rate_out / rate_in
 *    times the samples (within 2 per call, over 200 calls);
 *  - the high-pass (monitor.highpass_hz = 100) lets 1 kHz through (within
 *    0.2 dB) and takes 20 Hz down by at least 25 dB;
 *  - the output ring: silence before the first samples (priming, no
 *    underrun); playing once the target waits; a pull that runs short
 *    while playing gives what there was then zeros and counts one
 *    underrun, and the ring primes again (no more underruns while it
 *    waits); a pull that finds more than the limit waiting drops the
 *    oldest down to the target and counts one overrun with the samples
 *    dropped (not measured), a push into a full ring keeps what fits and
 *    counts one too; reset empties it and keeps the counters; the mono
 *    signal goes to every
 *    channel; the latency of a push is measured when its first sample is
 *    taken (12 ms here);
 *  - the SPSC ring: every element once and in order across wrap-around,
 *    with a producer and a consumer thread (1e6 elements, odd sizes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "mon_chain.h"
#include "mon_out.h"
#include "spsc.h"
#include "tw_test_util.h"

#define FS_IN 6000.0   /* the detector rate, Hz */
#define FS_OUT 48000.0 /* the output's, Hz */
#define FULL_UV 10000.0 /* input full scale, uV */

static tw_mon_chain *chain(double fs_in, double fs_out, double gain_db, double hp_hz)
{
    tw_mon_chain_params p = {.rate_in_hz = fs_in, .rate_out_hz = fs_out, .full_scale_uv = FULL_UV,
                             .highpass_hz = hp_hz, .gain_db = gain_db, .mute = 0};
    char err[256] = "";
    tw_mon_chain *c = tw_mon_chain_create(&p, err, sizeof err);
    if (!c)
        fail_msg("chain: %s", err);
    return c;
}

/* Run x[0 .. n) through c in calls of `block` samples; *ny out. */
static float *run(tw_mon_chain *c, const float *x, size_t n, size_t block, size_t *ny)
{
    size_t cap = tw_mon_chain_max_out(c, n) + n / block + 16;
    float *y = tt_xmalloc(cap * sizeof *y);
    *ny = 0;
    for (size_t i = 0; i < n; i += block) {
        size_t k = n - i < block ? n - i : block;
        *ny += tw_mon_chain_execute(c, x + i, k, y + *ny, cap - *ny);
    }
    return y;
}

/* Least-squares amplitude of f Hz in y[0 .. n) at rate fs. */
static double amplitude(const float *y, size_t n, double fs, double f)
{
    double ss = 0, cc = 0, sn = 0, cs = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        double s = sin(2 * M_PI * f * (double)i / fs), c = cos(2 * M_PI * f * (double)i / fs);
        sn += y[i] * s;
        cs += y[i] * c;
        ss += s * s;
        cc += c * c;
        sc += s * c;
    }
    /* solve the 2x2 normal equations */
    double det = ss * cc - sc * sc;
    double a = (sn * cc - cs * sc) / det, b = (cs * ss - sn * sc) / det;
    return sqrt(a * a + b * b);
}

/* Frequency from zero crossings (linear interpolation), Hz. */
static double frequency(const float *y, size_t n, double fs)
{
    double first = -1, last = -1;
    long crossings = 0;
    for (size_t i = 1; i < n; i++) {
        if ((y[i - 1] < 0) != (y[i] < 0)) {
            double t = (double)(i - 1) + y[i - 1] / (y[i - 1] - y[i]);
            if (first < 0)
                first = t;
            last = t;
            crossings++;
        }
    }
    return crossings > 2 ? (double)(crossings - 1) / 2.0 / ((last - first) / fs) : 0.0;
}

static float peak(const float *y, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(y[i]) > m)
            m = fabsf(y[i]);
    return m;
}

/* ---- the limiter ---------------------------------------------------------- */

static void test_limiter_step(void **state)
{
    (void)state;
    const double gains[] = {40.0, 60.0};
    for (int g = 0; g < 2; g++) {
        for (int shape = 0; shape < 3; shape++) {
            /* 0.5 s quiet (1 uV noise), the step, 2 s, then a 20 uV 437 Hz tone
             * at the end (after the release) */
            size_t n = (size_t)(4.0 * FS_IN), s0 = (size_t)(0.5 * FS_IN);
            float *x = tt_xmalloc(n * sizeof *x);
            tt_rng r;
            tt_rng_seed(&r, 99);
            for (size_t i = 0; i < n; i++) {
                double t = (double)(i - s0) / FS_IN, v = tt_gauss(&r);
                if (i >= s0)
                    v += shape == 0 ? 5000.0 : (shape == 1 ? 1 : -1) * 5000.0 * exp(-t / 0.016);
                if (i >= (size_t)(3.0 * FS_IN))
                    v += 20.0 * sin(2 * M_PI * 437.0 * (double)i / FS_IN) - (shape == 0 ? 5000.0 : 0);
                x[i] = (float)v;
            }
            tw_mon_chain *c = chain(FS_IN, FS_OUT, gains[g], 0.0);
            size_t ny;
            float *y = run(c, x, n, 32, &ny);
            float pk = peak(y, ny);
            printf("gain %+.0f dB, %s: peak %.6f (ceiling %.6f), clipped %llu\n", gains[g],
                   shape == 0 ? "raw 5 mV step" : shape == 1 ? "conditioned step (+)"
                                                             : "conditioned step (-)",
                   pk, TW_MON_CEILING, (unsigned long long)tw_mon_chain_get_clipped(c));
            assert_true(pk <= TW_MON_CEILING * 1.00001f);
            assert_true(pk < 1.0f);
            assert_int_equal(tw_mon_chain_get_clipped(c), 0);
            /* the tone afterwards at its level: 20 uV x gain, if under the ceiling */
            double want = 20.0 / FULL_UV * pow(10.0, gains[g] / 20.0);
            if (want < TW_MON_CEILING) {
                size_t a0 = (size_t)(3.6 * FS_OUT), a1 = ny - 64;
                double a = amplitude(y + a0, a1 - a0, FS_OUT, 437.0);
                printf("  tone after: %.5f, want %.5f (%.3f dB)\n", a, want, 20 * log10(a / want));
                assert_true(fabs(20 * log10(a / want)) < 0.1);
            }
            free(y);
            free(x);
            tw_mon_chain_destroy(c);
        }
    }
}

static void test_limiter_alone(void **state)
{
    (void)state;
    const float ceil = 0.5f;
    tw_limiter *q = tw_limiter_create(48000, ceil, 1.0, 100.0);
    assert_non_null(q);
    unsigned d = tw_limiter_get_delay(q);
    assert_int_equal(d, 47);
    size_t n = 480000;
    float *x = tt_xmalloc(n * sizeof *x), *y = tt_xmalloc(n * sizeof *y);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("test_monitor limiter", 5));
    for (size_t i = 0; i < n; i++) {
        double v = 0.1 * tt_gauss(&r);
        if (tt_u01(&r) < 0.001) /* a burst: up to 100 x the ceiling */
            v *= tt_uniform(&r, 1, 500);
        x[i] = (float)v;
    }
    for (size_t i = 0; i < n; i += 333)
        tw_limiter_execute(q, x + i, y + i, n - i < 333 ? n - i : 333);
    float pk = peak(y, n);
    printf("limiter alone: input peak %.2f, output peak %.6f (ceiling %.2f)\n", peak(x, n), pk,
           ceil);
    assert_true(pk <= ceil * 1.00001f);
    /* under the ceiling: unchanged, delayed by d */
    tw_limiter_reset(q);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.4 * sin(2 * M_PI * 997.0 * (double)i / 48000.0));
    tw_limiter_execute(q, x, y, n);
    for (size_t i = d; i < n; i++)
        assert_true(y[i] == x[i - d]);
    for (size_t i = 0; i < d; i++)
        assert_true(y[i] == 0.0f);
    assert_true(tw_limiter_get_gain(q) == 1.0f);
    assert_null(tw_limiter_create(48000, 1.5, 1.0, 100.0));
    assert_null(tw_limiter_create(48000, 0.5, 0.0, 100.0));
    free(x);
    free(y);
    tw_limiter_destroy(q);
}

/* ---- gain ------------------------------------------------------------------- */

static float *tone(size_t n, double fs, double f, double amp)
{
    float *x = tt_xmalloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2 * M_PI * f * (double)i / fs));
    return x;
}

static void test_gain_db(void **state)
{
    (void)state;
    const double gains[] = {-40, -20, 0, 20, 40};
    size_t n = (size_t)(2.0 * FS_IN);
    float *x = tone(n, FS_IN, 437.0, 10.0);
    for (size_t g = 0; g < sizeof gains / sizeof gains[0]; g++) {
        tw_mon_chain *c = chain(FS_IN, FS_OUT, gains[g], 0.0);
        size_t ny;
        float *y = run(c, x, n, 48, &ny);
        double want = 10.0 / FULL_UV * pow(10.0, gains[g] / 20.0);
        size_t a0 = (size_t)(0.2 * FS_OUT);
        double a = amplitude(y + a0, ny - a0 - 64, FS_OUT, 437.0);
        double err = 20 * log10(a / want);
        printf("gain %+5.0f dB: amplitude %.6g, want %.6g: %+.4f dB\n", gains[g], a, want, err);
        assert_true(fabs(err) < 0.1);
        free(y);
        tw_mon_chain_destroy(c);
    }
    /* changed on the way: from 0 to 30 dB, then mute, then unmute */
    tw_mon_chain *c = chain(FS_IN, FS_OUT, 0.0, 0.0);
    size_t third = n / 4, ny1, ny2, ny3, ny4;
    float *y1 = run(c, x, third, 48, &ny1);
    tw_mon_chain_set_gain_db(c, 30.0);
    float *y2 = run(c, x + third, third, 48, &ny2);
    tw_mon_chain_set_mute(c, 1);
    float *y3 = run(c, x + 2 * third, third, 48, &ny3);
    tw_mon_chain_set_mute(c, 0);
    float *y4 = run(c, x + 3 * third, third, 48, &ny4);
    size_t settle = (size_t)(0.1 * FS_OUT);
    double a2 = amplitude(y2 + settle, ny2 - settle, FS_OUT, 437.0);
    double w2 = 10.0 / FULL_UV * pow(10.0, 30.0 / 20.0);
    printf("0 -> 30 dB: %.4f dB off after 100 ms; muted peak %.3g; unmuted %.4f dB off\n",
           20 * log10(a2 / w2), peak(y3 + settle, ny3 - settle),
           20 * log10(amplitude(y4 + settle, ny4 - settle, FS_OUT, 437.0) / w2));
    assert_true(fabs(20 * log10(a2 / w2)) < 0.1);
    assert_true(peak(y3 + settle, ny3 - settle) < 1e-6f);
    assert_true(fabs(20 * log10(amplitude(y4 + settle, ny4 - settle, FS_OUT, 437.0) / w2)) < 0.1);
    /* out-of-range gains are clamped, bad parameters refused with a reason */
    tw_mon_chain_set_gain_db(c, 500.0);
    tw_mon_chain_params p = {.rate_in_hz = FS_IN, .rate_out_hz = FS_OUT, .full_scale_uv = FULL_UV,
                             .highpass_hz = 5000.0, .gain_db = 0};
    char err[256] = "";
    assert_null(tw_mon_chain_create(&p, err, sizeof err));
    assert_non_null(strstr(err, "monitor.highpass_hz"));
    p.highpass_hz = 0;
    p.gain_db = 61;
    assert_null(tw_mon_chain_create(&p, err, sizeof err));
    assert_non_null(strstr(err, "allowed -40 .. 60 dB"));
    free(y1);
    free(y2);
    free(y3);
    free(y4);
    tw_mon_chain_destroy(c);
    free(x);
}

/* ---- resampling -------------------------------------------------------------- */

static void test_resample(void **state)
{
    (void)state;
    const double outs[] = {48000.0, 44100.0};
    const double freqs[] = {100.0, 437.0, 1000.0, 2000.0};
    for (int o = 0; o < 2; o++) {
        for (int k = 0; k < 4; k++) {
            size_t n = (size_t)(2.5 * FS_IN);
            float *x = tone(n, FS_IN, freqs[k], 100.0);
            tw_mon_chain *c = chain(FS_IN, outs[o], 20.0, 0.0);
            size_t ny;
            float *y = run(c, x, n, 30, &ny); /* 200 calls of 30 samples... */
            double want_n = (double)n * outs[o] / FS_IN;
            double want = 100.0 / FULL_UV * 10.0;
            size_t a0 = (size_t)(0.3 * outs[o]);
            double a = amplitude(y + a0, ny - a0 - 64, outs[o], freqs[k]);
            double f = frequency(y + a0, ny - a0 - 64, outs[o]);
            printf("%6.0f Hz -> %5.0f Hz out: %zu samples (want %.0f), amplitude %+.4f dB, "
                   "frequency %.4f Hz (%+.5f %%)\n", freqs[k], outs[o], ny, want_n,
                   20 * log10(a / want), f, (f / freqs[k] - 1) * 100);
            assert_true(fabs((double)ny - want_n) <= 2.0 * (double)(n / 30 + 1));
            assert_true(fabs((double)ny - want_n) <= 2.0 + (double)TW_MON_RESAMP_M * outs[o] / FS_IN);
            assert_true(fabs(20 * log10(a / want)) < 0.1);
            assert_true(fabs(f / freqs[k] - 1) < 1e-4);
            free(x);
            free(y);
            tw_mon_chain_destroy(c);
        }
    }
}

static void test_highpass(void **state)
{
    (void)state;
    size_t n = (size_t)(3.0 * FS_IN);
    const double f[] = {1000.0, 20.0};
    double db[2];
    for (int k = 0; k < 2; k++) {
        float *x = tone(n, FS_IN, f[k], 100.0);
        tw_mon_chain *c = chain(FS_IN, FS_OUT, 20.0, 100.0);
        size_t ny;
        float *y = run(c, x, n, 64, &ny);
        size_t a0 = (size_t)(1.0 * FS_OUT);
        db[k] = 20 * log10(amplitude(y + a0, ny - a0 - 64, FS_OUT, f[k]) / (100.0 / FULL_UV * 10));
        free(x);
        free(y);
        tw_mon_chain_destroy(c);
    }
    printf("high-pass 100 Hz: 1 kHz %+.3f dB, 20 Hz %+.2f dB\n", db[0], db[1]);
    assert_true(fabs(db[0]) < 0.2);
    assert_true(db[1] < -25.0);
}

/* ---- the output ring ---------------------------------------------------------- */

static void test_out_ring(void **state)
{
    (void)state;
    tw_mon_out *o = tw_mon_out_create(4096, 100, 1000);
    assert_non_null(o);
    float out[2 * 64], in[4000];
    for (int i = 0; i < 4000; i++)
        in[i] = (float)(i + 1);
    tw_mon_out_stats s;
    /* priming: silence, no underrun */
    tw_mon_out_pull(o, out, 64, 1, 1.0);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.underruns, 0);
    assert_int_equal(s.playing, 0);
    for (int i = 0; i < 64; i++)
        assert_true(out[i] == 0.0f);
    /* 150 samples handed over at t = 10 s: playing; their latency when taken */
    assert_int_equal(tw_mon_out_push(o, in, 150, 10.0), 150);
    tw_mon_out_pull(o, out, 64, 1, 10.012);
    for (int i = 0; i < 64; i++)
        assert_true(out[i] == in[i]);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.playing, 1);
    assert_int_equal(s.lat_n, 1);
    assert_true(fabs(s.lat_mean_ms - 12.0) < 0.01);
    tw_mon_out_pull(o, out, 64, 2, 10.02); /* stereo: the same on both */
    for (int i = 0; i < 64; i++) {
        assert_true(out[2 * i] == in[64 + i]);
        assert_true(out[2 * i + 1] == in[64 + i]);
    }
    /* 22 left: they play, then zeros, one underrun */
    tw_mon_out_pull(o, out, 64, 1, 10.03);
    for (int i = 0; i < 22; i++)
        assert_true(out[i] == in[128 + i]);
    for (int i = 22; i < 64; i++)
        assert_true(out[i] == 0.0f);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.underruns, 1);
    assert_int_equal(s.playing, 0);
    assert_int_equal(s.played, 150);
    /* priming again: no more underruns while it waits */
    tw_mon_out_pull(o, out, 64, 1, 10.04);
    assert_int_equal(tw_mon_out_push(o, in, 50, 10.05), 50);
    tw_mon_out_pull(o, out, 64, 1, 10.06);
    tw_mon_out_stats_get(o, &s, 1);
    assert_int_equal(s.underruns, 1);
    assert_int_equal(s.playing, 0);
    assert_int_equal(s.fill, 50);
    /* over the limit when the device pulls (a stall, then a catch-up): the
     * oldest go, down to the target; one overrun; dropped samples are not
     * measured */
    assert_int_equal(tw_mon_out_push(o, in, 2000, 10.07), 2000);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.overruns, 0);
    assert_int_equal(s.fill, 2050);
    assert_int_equal(s.lat_n, 0); /* a new window */
    tw_mon_out_pull(o, out, 64, 1, 10.08);
    for (int i = 0; i < 64; i++)
        assert_true(out[i] == in[1900 + i]);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.playing, 1);
    assert_int_equal(s.overruns, 1);
    assert_int_equal(s.dropped, 1950);
    assert_int_equal(s.fill, 36);
    assert_int_equal(s.lat_n, 0);
    /* a push into a full ring keeps what fits: an overrun too */
    assert_int_equal(tw_mon_out_push(o, in, 4000, 10.09), 4000);
    assert_int_equal(tw_mon_out_push(o, in, 100, 10.1), 4096 - 4036);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.overruns, 2);
    assert_int_equal(s.dropped, 1950 + 40);
    tw_mon_out_pull(o, out, 64, 1, 10.11); /* over the limit again */
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.overruns, 3);
    assert_null(tw_mon_out_create(100, 200, 100));
    /* reset (no consumer running): empty, priming, counters kept */
    tw_mon_out_reset(o);
    tw_mon_out_stats_get(o, &s, 0);
    assert_int_equal(s.fill, 0);
    assert_int_equal(s.playing, 0);
    assert_int_equal(s.overruns, 3);
    tw_mon_out_destroy(o);
}

/* ---- the SPSC ring with two threads -------------------------------------------- */

#define SPSC_N 1000000

static void *producer(void *arg)
{
    tw_spsc *r = arg;
    uint32_t buf[97];
    uint32_t next = 0;
    while (next < SPSC_N) {
        size_t k = 1 + next % 97;
        if (k > SPSC_N - next)
            k = SPSC_N - next;
        for (size_t i = 0; i < k; i++)
            buf[i] = next + (uint32_t)i;
        size_t put = tw_spsc_write(r, buf, k);
        next += (uint32_t)put;
    }
    return NULL;
}

static void test_spsc_threads(void **state)
{
    (void)state;
    tw_spsc *r = tw_spsc_create(1000, sizeof(uint32_t));
    assert_non_null(r);
    assert_int_equal(tw_spsc_capacity(r), 1024);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, r), 0);
    uint32_t want = 0, buf[61];
    int bad = 0;
    while (want < SPSC_N) {
        size_t got = tw_spsc_read(r, buf, 1 + want % 61);
        for (size_t i = 0; i < got; i++)
            bad += buf[i] != want + i;
        want += (uint32_t)got;
    }
    pthread_join(th, NULL);
    assert_int_equal(bad, 0);
    assert_int_equal(tw_spsc_fill(r), 0);
    assert_null(tw_spsc_peek(r));
    tw_spsc_destroy(r);
    assert_null(tw_spsc_create(0, 4));
    assert_null(tw_spsc_create(16, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limiter_step),  cmocka_unit_test(test_limiter_alone),
        cmocka_unit_test(test_gain_db),       cmocka_unit_test(test_resample),
        cmocka_unit_test(test_highpass),      cmocka_unit_test(test_out_ring),
        cmocka_unit_test(test_spsc_threads),
    };
    return cmocka_run_group_tests_name("monitor", tests, NULL, NULL);
}
