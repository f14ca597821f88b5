/* test_dsp_noisefloor.c: the robust, slowly tracked noise floor
 * (dsp/noisefloor.h) and tw_select.
 *
 * What is asserted:
 *  - Gaussian white noise of sigma {1, 5, 20, 100} uV, 3 seeds each, at
 *    48 kHz (0.1 s windows) and 8 kHz (0.25 s windows), history 50,
 *    pct 0.2 and 0.5: tw_noisefloor_get_sigma within 5 % of sigma;
 *  - with 20 % of the windows holding a big burst (a 10 ms .. 40 ms
 *    burst of 20 x sigma), the floor stays within 10 % of sigma;
 *  - busy windows are left out: after a floor exists, windows fed with
 *    busy != 0 (even a single busy sample) do not move it however loud
 *    they are, and step() reports no window close for them;
 *  - step() returns 1 exactly once per window; sigma is 0 before the
 *    first window; reset forgets;
 *  - the floor follows a change of the noise within about
 *    history x window x (1 - pct) (and not long before);
 *  - tw_select == qsort's k-th element for random arrays of many sizes
 *    (1, 2, 3 .. 70, 255, 256, 1000, 1001) incl. duplicates, constant,
 *    sorted and reverse-sorted arrays, for every k, and leaves a
 *    permutation of the input;
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

#include "noisefloor.h"
#include "tw_test_util.h"

static void feed_noise(tw_noisefloor *q, tt_rng *r, double sigma, size_t n, int busy)
{
    for (size_t i = 0; i < n; i++)
        tw_noisefloor_step(q, (float)(sigma * tt_gauss(r)), busy);
}

static void test_gaussian_sigma(void **state)
{
    (void)state;
    static const double sigmas[] = {1.0, 5.0, 20.0, 100.0};
    static const struct {
        double fs, window_s, pct;
    } cfg[] = {{48000, 0.1, 0.2}, {48000, 0.1, 0.5}, {8000, 0.25, 0.2}, {8000, 0.1, 0.5},
               {8000, 0.25, 0.5}};
    const unsigned history = 50;
    double worst = 0.0;
    uint64_t base = tt_seed("noise floor Gaussian (case seed = seed + case)", 1000);
    unsigned ncase = 0;
    int bad = 0;
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (size_t si = 0; si < sizeof sigmas / sizeof sigmas[0]; si++)
            for (unsigned rep = 0; rep < 3; rep++) {
                char what[112];
                snprintf(what, sizeof what,
                         "fs %g window %g pct %g sigma %g (case %u, seed %" PRIu64 ")", cfg[c].fs,
                         cfg[c].window_s, cfg[c].pct, sigmas[si], ncase, base + ncase);
                tt_rng r;
                tt_rng_seed(&r, base + ncase++);
                tw_noisefloor *q = tw_noisefloor_create(cfg[c].fs, cfg[c].window_s, history,
                                                        cfg[c].pct);
                assert_non_null(q);
                size_t wlen = (size_t)(cfg[c].window_s * cfg[c].fs + 0.5);
                feed_noise(q, &r, sigmas[si], wlen * history, 0);
                double est = tw_noisefloor_get_sigma(q);
                double err = est / sigmas[si] - 1.0;
                worst = fmax(worst, fabs(err));
                if (fabs(err) > 0.05) {
                    printf("[ DETAIL   ] %s: floor %.4g, error %+.1f %% (want within 5 %%)\n",
                           what, est, 100.0 * err);
                    bad++;
                }
                tw_noisefloor_destroy(q);
            }
    printf("[ INFO     ] Gaussian noise: %u cases, worst floor error %.2f %%\n", ncase,
           100.0 * worst);
    if (bad)
        fail_msg("%d of %u cases outside 5 %%", bad, ncase);
}

/* The channel's configuration (8 kHz, 0.1 s, 50 windows, 20th percentile):
 * each window's MAD estimate from 800 samples spreads by about 4 %, and
 * the 20th percentile of 50 of them sits about 0.84 x 4 % = 3.4 % low, so
 * a single run is asserted within 7 % and the mean of 8 runs within 5 %.
 * (A window median taken from a subsample of 256 spreads by ~7.5 % and
 * puts the floor ~6.5 % low: this test catches that.) */
static void test_channel_config(void **state)
{
    (void)state;
    double sum = 0.0, worst = 0.0;
    const int reps = 8;
    int bad = 0;
    uint64_t base = tt_seed("noise floor channel config (run seed = seed + run)", 0xC0FF);
    for (int rep = 0; rep < reps; rep++) {
        char what[80];
        snprintf(what, sizeof what, "8 kHz/0.1 s/50/0.2 run %d (seed %" PRIu64 ")", rep,
                 base + (uint64_t)rep);
        tt_rng r;
        tt_rng_seed(&r, base + (uint64_t)rep);
        tw_noisefloor *q = tw_noisefloor_create(8000, 0.1, 50, 0.2);
        assert_non_null(q);
        feed_noise(q, &r, 5.0, 800 * 50, 0);
        double err = tw_noisefloor_get_sigma(q) / 5.0 - 1.0;
        tw_noisefloor_destroy(q);
        sum += err;
        worst = fmax(worst, fabs(err));
        if (fabs(err) > 0.07) {
            printf("[ DETAIL   ] %s: error %+.2f %% (want within 7 %%)\n", what, 100.0 * err);
            bad++;
        }
    }
    printf("[ INFO     ] channel floor config: mean error %+.2f %%, worst %.2f %%\n",
           100.0 * sum / reps, 100.0 * worst);
    if (bad)
        fail_msg("%d of %d runs outside 7 %%", bad, reps);
    if (fabs(sum / reps) > 0.05)
        fail_msg("mean error over %d runs %+.2f %% (want within 5 %%)", reps, 100.0 * sum / reps);
}

static void test_bursty_windows(void **state)
{
    (void)state;
    static const double sigmas[] = {2.0, 5.0, 50.0};
    const double fs = 8000, window_s = 0.25;
    const unsigned history = 50;
    const size_t wlen = 2000;
    double worst = 0.0;
    uint64_t base = tt_seed("noise floor with bursts (case seed = seed + case)", 0xB0);
    unsigned ncase = 0;
    for (size_t si = 0; si < 3; si++)
        for (unsigned rep = 0; rep < 3; rep++) {
            char what[80];
            snprintf(what, sizeof what, "sigma %g (case %u, seed %" PRIu64 ")", sigmas[si], ncase,
                     base + ncase);
            tt_rng r;
            tt_rng_seed(&r, base + ncase++);
            tw_noisefloor *q = tw_noisefloor_create(fs, window_s, history, 0.2);
            assert_non_null(q);
            /* 3 histories; exactly 10 of every 50 consecutive windows burst */
            int nburst = 0;
            for (unsigned blk = 0; blk < 3; blk++) {
                int mark[50] = {0};
                for (int b = 0; b < 10;) {
                    size_t k = tt_index(&r, 50);
                    if (!mark[k]) {
                        mark[k] = 1;
                        b++;
                    }
                }
                for (int w = 0; w < 50; w++) {
                    size_t blen = 0, b0 = 0;
                    if (mark[w]) {
                        blen = (size_t)(tt_uniform(&r, 0.010, 0.040) * fs);
                        b0 = tt_index(&r, wlen - blen);
                        nburst++;
                    }
                    for (size_t i = 0; i < wlen; i++) {
                        double v = sigmas[si] * tt_gauss(&r);
                        if (i >= b0 && i < b0 + blen)
                            v = 20.0 * sigmas[si] * tt_gauss(&r);
                        tw_noisefloor_step(q, (float)v, 0);
                    }
                }
            }
            double err = tw_noisefloor_get_sigma(q) / sigmas[si] - 1.0;
            tw_noisefloor_destroy(q);
            worst = fmax(worst, fabs(err));
            if (fabs(err) > 0.10)
                fail_msg("%s: floor error %+.1f %% with %d burst windows (want within 10 %%)",
                         what, 100.0 * err, nburst);
        }
    printf("[ INFO     ] 20 %% burst windows: worst floor error %.2f %%\n", 100.0 * worst);
}

static void test_busy_windows_excluded(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("noise floor busy windows", 0xB5));
    const size_t wlen = 800;
    tw_noisefloor *q = tw_noisefloor_create(8000, 0.1, 20, 0.5);
    assert_non_null(q);
    assert_true(tw_noisefloor_get_sigma(q) == 0.0f); /* nothing yet */

    /* step returns 1 exactly at each window's last sample */
    int closes = 0;
    for (size_t i = 0; i < 20 * wlen; i++) {
        int c = tw_noisefloor_step(q, (float)(5.0 * tt_gauss(&r)), 0);
        if (c) {
            assert_int_equal((i + 1) % wlen, 0);
            closes++;
        }
    }
    assert_int_equal(closes, 20);
    float floor0 = tw_noisefloor_get_sigma(q);
    assert_true(fabs(floor0 / 5.0 - 1.0) < 0.05);

    /* 40 loud busy windows (2 histories): no close reported, no change */
    for (size_t i = 0; i < 40 * wlen; i++)
        assert_int_equal(tw_noisefloor_step(q, (float)(500.0 * tt_gauss(&r)), 1), 0);
    assert_true(tw_noisefloor_get_sigma(q) == floor0);

    /* the block form with busy set, likewise */
    float *loud = tt_xmalloc(40 * wlen * sizeof *loud);
    for (size_t i = 0; i < 40 * wlen; i++)
        loud[i] = (float)(500.0 * tt_gauss(&r));
    tw_noisefloor_execute_block(q, loud, 40 * wlen, 1);
    assert_true(tw_noisefloor_get_sigma(q) == floor0);

    /* one busy sample taints its whole window */
    for (int w = 0; w < 40; w++)
        for (size_t i = 0; i < wlen; i++)
            assert_int_equal(tw_noisefloor_step(q, loud[w * wlen + i], i == wlen / 2), 0);
    assert_true(tw_noisefloor_get_sigma(q) == floor0);

    /* the same loud windows without busy do move it */
    tw_noisefloor_execute_block(q, loud, 40 * wlen, 0);
    assert_true(tw_noisefloor_get_sigma(q) > 50.0f * floor0 / 5.0f);
    free(loud);
    tw_noisefloor_destroy(q);
}

/* Records a failed check and goes on (the caller frees, then fails). */
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            printf("[ DETAIL   ] check failed at line %d: %s\n", __LINE__, #cond);            \
            bad++;                                                                             \
        }                                                                                      \
    } while (0)

static void test_reset(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("noise floor reset/recalibrate", 0x2E5E7));
    const size_t wlen = 800;
    int bad = 0;
    tw_noisefloor *q = tw_noisefloor_create(8000, 0.1, 50, 0.2);
    assert_non_null(q);
    feed_noise(q, &r, 5.0, 50 * wlen, 0);
    float f5 = tw_noisefloor_get_sigma(q);
    CHECK(fabs(f5 / 5.0 - 1.0) < 0.07);

    /* reset: back to "no floor" */
    tw_noisefloor_reset(q);
    CHECK(tw_noisefloor_get_sigma(q) == 0.0f);
    feed_noise(q, &r, 2.0, wlen, 0);
    float f2 = tw_noisefloor_get_sigma(q);
    CHECK(fabs(f2 / 2.0 - 1.0) < 0.15);
    tw_noisefloor_destroy(q);
    printf("[ INFO     ] floor %.3f (5 uV), one window after reset %.3f (2 uV)\n", f5, f2);
    if (bad)
        fail_msg("%d checks failed", bad);
}

/* "follows a real change of the noise within about history x window x
 * (1 - pct)": with 50 windows and pct 0.2, a rise needs ~40 windows, a
 * fall ~10. */
static void test_tracking(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("noise floor tracking", 0x7AC));
    const size_t wlen = 2000; /* 0.25 s at 8 kHz */
    int bad = 0;
    tw_noisefloor *q = tw_noisefloor_create(8000, 0.25, 50, 0.2);
    assert_non_null(q);
    feed_noise(q, &r, 5.0, 50 * wlen, 0);
    /* rise 5 -> 10: still ~5 after 35 windows, ~10 after 45 */
    feed_noise(q, &r, 10.0, 35 * wlen, 0);
    float mid = tw_noisefloor_get_sigma(q);
    feed_noise(q, &r, 10.0, 10 * wlen, 0);
    float after = tw_noisefloor_get_sigma(q);
    printf("[ INFO     ] rise 5 -> 10 uV: floor %.2f after 35 windows, %.2f after 45\n", mid,
           after);
    CHECK(fabs(mid / 5.0 - 1.0) < 0.10);
    CHECK(fabs(after / 10.0 - 1.0) < 0.05);
    /* fall 10 -> 5: ~5 after 15 windows */
    feed_noise(q, &r, 10.0, 50 * wlen, 0);
    feed_noise(q, &r, 5.0, 15 * wlen, 0);
    float fall = tw_noisefloor_get_sigma(q);
    printf("[ INFO     ] fall 10 -> 5 uV: floor %.2f after 15 windows\n", fall);
    CHECK(fabs(fall / 5.0 - 1.0) < 0.05);
    tw_noisefloor_destroy(q);
    if (bad)
        fail_msg("%d checks failed", bad);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void check_select(float *v, size_t n, const char *what)
{
    float *sorted = tt_xmalloc(n * sizeof *sorted), *w = tt_xmalloc(n * sizeof *w);
    memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_float);
    for (size_t k = 0; k < n; k++) {
        memcpy(w, v, n * sizeof *v);
        float got = tw_select(w, n, k);
        if (got != sorted[k])
            fail_msg("%s n %zu k %zu: tw_select %g, qsort %g", what, n, k, got, sorted[k]);
        if (w[k] != got)
            fail_msg("%s n %zu k %zu: returned %g but v[k] = %g", what, n, k, got, w[k]);
        qsort(w, n, sizeof *w, cmp_float); /* still a permutation */
        if (memcmp(w, sorted, n * sizeof *w) != 0)
            fail_msg("%s n %zu k %zu: the array is no longer a permutation", what, n, k);
    }
    free(sorted);
    free(w);
}

static void test_select_vs_qsort(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("tw_select", 0x5E1EC7));
    static const size_t big[] = {255, 256, 1000, 1001};
    size_t sizes[80], ns = 0;
    for (size_t n = 1; n <= 70; n++)
        sizes[ns++] = n;
    for (size_t i = 0; i < 4; i++)
        sizes[ns++] = big[i];
    float *v = tt_xmalloc(1001 * sizeof *v);
    for (size_t si = 0; si < ns; si++) {
        size_t n = sizes[si];
        for (int kind = 0; kind < 6; kind++) {
            for (size_t i = 0; i < n; i++) {
                switch (kind) {
                case 0: v[i] = (float)tt_gauss(&r); break;                   /* distinct */
                case 1: v[i] = (float)tt_index(&r, 4); break;                /* many duplicates */
                case 2: v[i] = 3.5f; break;                                  /* constant */
                case 3: v[i] = (float)i; break;                              /* sorted */
                case 4: v[i] = (float)(n - i); break;                        /* reverse */
                default: v[i] = (float)((i % 7) - 3) * 0.25f; break;         /* organ pipe */
                }
            }
            /* big arrays: a subset of k to keep it quick */
            if (n > 100) {
                float *sorted = tt_xmalloc(n * sizeof *sorted), *w = tt_xmalloc(n * sizeof *w);
                memcpy(sorted, v, n * sizeof *v);
                qsort(sorted, n, sizeof *sorted, cmp_float);
                size_t ks[] = {0, 1, n / 4, n / 2, n / 2 + 1, n - 2, n - 1, tt_index(&r, n)};
                for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
                    memcpy(w, v, n * sizeof *v);
                    float got = tw_select(w, n, ks[j]);
                    if (got != sorted[ks[j]])
                        fail_msg("kind %d n %zu k %zu: tw_select %g, qsort %g", kind, n, ks[j],
                                 got, sorted[ks[j]]);
                }
                free(sorted);
                free(w);
            } else {
                char what[32];
                snprintf(what, sizeof what, "kind %d", kind);
                check_select(v, n, what);
            }
        }
    }
    free(v);
}

static void test_bad_params(void **state)
{
    (void)state;
    /* fs 100 .. 1e6, window 0.01 .. 10 s and >= 16 samples, history
     * 1 .. 1000, pct 0 .. 1 */
    assert_null(tw_noisefloor_create(99, 0.5, 10, 0.2));
    assert_null(tw_noisefloor_create(1.1e6, 0.1, 10, 0.2));
    assert_null(tw_noisefloor_create(NAN, 0.1, 10, 0.2));
    assert_null(tw_noisefloor_create(0, 0.1, 10, 0.2));
    assert_null(tw_noisefloor_create(8000, 0.009, 10, 0.2));
    assert_null(tw_noisefloor_create(8000, 10.1, 10, 0.2));
    assert_null(tw_noisefloor_create(8000, NAN, 10, 0.2));
    assert_null(tw_noisefloor_create(100, 0.15, 10, 0.2)); /* 15 samples */
    assert_null(tw_noisefloor_create(8000, 0.1, 0, 0.2));
    assert_null(tw_noisefloor_create(8000, 0.1, 1001, 0.2));
    assert_null(tw_noisefloor_create(8000, 0.1, 10, -0.01));
    assert_null(tw_noisefloor_create(8000, 0.1, 10, 1.01));
    assert_null(tw_noisefloor_create(8000, 0.1, 10, NAN));
    static const struct {
        double fs, w;
        unsigned h;
        double pct;
    } ok[] = {{100, 0.16, 1, 0.0}, {1e6, 0.01, 1000, 1.0}, {8000, 10.0, 5, 0.5}};
    for (size_t i = 0; i < 3; i++) {
        tw_noisefloor *q = tw_noisefloor_create(ok[i].fs, ok[i].w, ok[i].h, ok[i].pct);
        if (!q)
            fail_msg("create(%g, %g, %u, %g) returned NULL for valid parameters", ok[i].fs,
                     ok[i].w, ok[i].h, ok[i].pct);
        tw_noisefloor_destroy(q);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaussian_sigma),     cmocka_unit_test(test_channel_config),
        cmocka_unit_test(test_bursty_windows),     cmocka_unit_test(test_busy_windows_excluded),
        cmocka_unit_test(test_reset),  cmocka_unit_test(test_tracking),
        cmocka_unit_test(test_select_vs_qsort),    cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests_name("dsp_noisefloor", tests, NULL, NULL);
}
