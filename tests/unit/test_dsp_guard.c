/* test_dsp_guard.c: the channel's input guard (dsp/channel.h): what sound
 * cards really deliver.
 *
 * The signal: 5 uV white noise plus 40 uV of 50 Hz mains with odd
 * harmonics, 12 s, through a needle channel with the defaults, at 44.1,
 * 48 and 96 kHz. Each fault is put at the start, in the middle (from 5 s)
 * and at the end of the file:
 *   - one NaN, one +Inf, one -Inf, one 3e38 (overflows once scaled);
 *   - 0.25 s and 3 s of exact zeros (digital silence, a muted amplifier);
 *   - 5 s of full-scale DC (+10 mV) and 3 s of saturation at -10 mV.
 * Asserted, for each:
 *   - the noise floor is finite throughout, and 1 s after the fault ends
 *     it is within 10 % of the clean signal's at the same time (the
 *     pipeline started afresh after a flat stretch: the filters, mains
 *     canceller and floor learnt the signal again);
 *   - non-finite samples are counted (one each), never passed on;
 *   - flat stretches (>= 50 ms of identical samples) are counted: one per
 *     stretch of zeros, DC or saturation, none for the clean signal nor a
 *     lone bad sample;
 *   - the sample count (tw_channel_get_samples) is the input's.
 * The events on the rest of a file are compared with the clean file's in
 * tests/system/guard_quality.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "tw_test_util.h"

#define SECS 12.0
#define MAXH 64

enum { F_NAN, F_PINF, F_NINF, F_HUGE, F_ZERO_SHORT, F_ZERO_LONG, F_DC, F_SAT, F_N };
static const char *fault_name[F_N] = {"NaN", "+Inf", "-Inf", "3e38", "0.25 s of zeros",
                                      "3 s of zeros", "5 s of full-scale DC",
                                      "3 s of saturation"};
static const double fault_s[F_N] = {0, 0, 0, 0, 0.25, 3.0, 5.0, 3.0};

/* Runs x through a fresh needle channel in blocks of 1000; noise floor
 * at each whole 0.1 s into fl (n / (fs / 10) values). */
static tw_channel *run(const float *x, size_t n, double fs, float *fl)
{
    tw_channel_params p;
    tw_channel_params_default(&p, fs, TW_ELECTRODE_NEEDLE);
    tw_channel *q = tw_channel_create(&p, NULL);
    assert_non_null(q);
    size_t cap = tw_channel_max_events(q, 1000);
    tw_event *ev = tt_xmalloc(cap * sizeof *ev);
    size_t step = (size_t)(fs / 10), next = step;
    for (size_t i = 0; i < n; i += 1000) {
        size_t m = n - i < 1000 ? n - i : 1000, nev;
        assert_int_equal(tw_channel_execute_block(q, x + i, m, ev, cap, &nev), TW_OK);
        while (next <= i + m) {
            fl[next / step - 1] = tw_channel_get_noise_uv(q);
            next += step;
        }
    }
    free(ev);
    return q;
}

static void test_faults(void **state)
{
    (void)state;
    const double rates[] = {44100.0, 48000.0, 96000.0};
    uint64_t seed = tt_seed("input guard", 0x6A2D);
    tt_rng r;
    tt_rng_seed(&r, seed);
    for (size_t ri = 0; ri < 3; ri++) {
        double fs = rates[ri];
        size_t n = (size_t)(SECS * fs), nfl = n / (size_t)(fs / 10);
        float *clean = tt_xcalloc(n, sizeof(float)), *x = tt_xmalloc(n * sizeof(float));
        int h[MAXH];
        double amp[MAXH];
        tt_add_mains(clean, n, fs, 50.0, 40.0, 3000.0, &r, h, amp, MAXH);
        for (size_t i = 0; i < n; i++)
            clean[i] += (float)(5.0 * tt_gauss(&r));
        float *fl0 = tt_xcalloc(nfl, sizeof(float)), *fl = tt_xcalloc(nfl, sizeof(float));
        tw_channel *q = run(clean, n, fs, fl0);
        assert_int_equal(tw_channel_get_nonfinite(q), 0);
        assert_int_equal(tw_channel_get_flat_stretches(q), 0);
        tw_channel_destroy(q);
        for (int f = 0; f < F_N; f++) {
            for (int where = 0; where < 3; where++) {
                size_t len = fault_s[f] > 0 ? (size_t)(fault_s[f] * fs) : 1;
                size_t a = where == 0 ? 0 : where == 1 ? (size_t)(5.0 * fs) : n - len;
                memcpy(x, clean, n * sizeof *x);
                for (size_t i = a; i < a + len; i++) {
                    switch (f) {
                    case F_NAN: x[i] = NAN; break;
                    case F_PINF: x[i] = INFINITY; break;
                    case F_NINF: x[i] = -INFINITY; break;
                    case F_HUGE: x[i] = 3e38f; break;
                    case F_ZERO_SHORT:
                    case F_ZERO_LONG: x[i] = 0.0f; break;
                    case F_DC: x[i] = 10000.0f; break;
                    case F_SAT: x[i] = -10000.0f; break;
                    }
                }
                q = run(x, n, fs, fl);
                for (size_t k = 0; k < nfl; k++)
                    assert_true(isfinite(fl[k]));
                assert_int_equal(tw_channel_get_samples(q), (int64_t)n);
                assert_int_equal(tw_channel_get_nonfinite(q), f <= F_HUGE ? 1 : 0);
                assert_int_equal(tw_channel_get_flat_stretches(q), f <= F_HUGE ? 0 : 1);
                /* the floor 1 s after the fault ends (when there is such a time) */
                size_t k = (size_t)((double)(a + len) / fs * 10.0 + 10.0 + 0.5);
                if (k < nfl) {
                    double ratio = fl[k - 1] / fl0[k - 1];
                    if (where == 1 || f >= F_ZERO_SHORT)
                        printf("  %g Hz, %-22s at %s: floor %.2f uV 1 s after (clean %.2f, "
                               "ratio %.3f)\n", fs, fault_name[f],
                               where == 0 ? "start " : "middle", fl[k - 1], fl0[k - 1], ratio);
                    assert_true(ratio > 0.9 && ratio < 1.1);
                }
                tw_channel_destroy(q);
            }
        }
        free(clean);
        free(x);
        free(fl0);
        free(fl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests_name("input guard", tests, NULL, NULL);
}
