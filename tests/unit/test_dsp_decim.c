/* test_dsp_decim.c: the block FIR decimator (dsp/decim.h).
 *
 * What is asserted:
 *  - equivalence: for factors 1, 2, 3, 4, 5, 8, 16, 64 and filter lengths
 *    1, m, the channel's 2 x 4 m + 1, and odd lengths not of that form,
 *    with random (asymmetric) taps and the channel's Kaiser design, fed
 *    random blocks of 0 .. 700 samples of Gaussian noise on a 1e4 uV DC
 *    offset (a third of them through tw_decim_push, which puts out whole
 *    tiles only, the rest at the next execute_block), the outputs are
 *    bit-identical (memcmp) to liquid-dsp's
 *    firdecim_rrrf fed group by group, and the group means equal the mean
 *    of each group summed in double in input order;
 *  - block independence: one call with the whole input == many small ones;
 *  - reset restores the state after create;
 *  - the channel's design (Kaiser, 2 x 4 m + 1 taps, cut-off 0.4 / m,
 *    60 dB, unity DC gain) through the decimator: a sine at 0.1 fd passes
 *    at 1 +- 0.01, and one at 0.65 .. 2.5 fd (an alias) is at least 55 dB
 *    down (the 65-tap design's transition band ends near 0.63 fd), at m = 8 (48 kHz -> 6 kHz);
 *  - bad parameters give NULL (m 0 and 65, hlen 0 and 4097, NULL taps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <liquid/liquid.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decim.h"
#include "tw_test_util.h"

/* The channel's design (dsp/channel.c): Kaiser, cut-off 0.4 of the output
 * rate, 60 dB, normalised to unity gain at DC. */
static void kaiser_taps(unsigned m, float *h, unsigned hlen)
{
    assert_int_equal(liquid_firdes_kaiser(hlen, (float)(0.40 / m), 60.0f, 0.0f, h),
                     LIQUID_OK);
    double sum = 0.0;
    for (unsigned i = 0; i < hlen; i++)
        sum += h[i];
    for (unsigned i = 0; i < hlen; i++)
        h[i] = (float)(h[i] / sum);
}

/* Run x through tw_decim in random blocks and through liquid group by
 * group; compare bit for bit. */
static void check_equal_variant(unsigned m, const float *h, unsigned hlen,
                                const float *x, size_t n, tt_rng *r, int portable);

/* Both variants of the taps (see tw_decim_force_portable). */
static void check_equal(unsigned m, const float *h, unsigned hlen, const float *x,
                        size_t n, tt_rng *r)
{
    check_equal_variant(m, h, hlen, x, n, r, 0);
    check_equal_variant(m, h, hlen, x, n, r, 1);
}

static void check_equal_variant(unsigned m, const float *h, unsigned hlen,
                                const float *x, size_t n, tt_rng *r, int portable)
{
    size_t ng = n / m;
    float *ya = malloc((ng + 1) * sizeof *ya), *yb = malloc((ng + 1) * sizeof *yb);
    double *ma = malloc((ng + 1) * sizeof *ma);
    assert_non_null(ya);
    assert_non_null(yb);
    assert_non_null(ma);
    tw_decim *q = tw_decim_create(m, h, hlen);
    assert_non_null(q);
    assert_int_equal(tw_decim_get_factor(q), m);
    if (portable)
        tw_decim_force_portable(q);
    size_t got = 0;
    for (size_t i = 0; i < n;) {
        size_t b = tt_index(r, 701);
        if (b > n - i)
            b = n - i;
        size_t ny = 0;
        if (tt_index(r, 3) == 0) { /* whole tiles only, the rest pending */
            tw_decim_push(q, x + i, b, ya + got, ma + got, &ny);
            assert_int_equal(ny % TW_DECIM_TILE, 0);
        } else {
            tw_decim_execute_block(q, x + i, b, ya + got, ma + got, &ny);
        }
        got += ny;
        i += b;
    }
    size_t rest = 0; /* what the last pushes left pending */
    tw_decim_execute_block(q, x, 0, ya + got, ma + got, &rest);
    got += rest;
    assert_int_equal(got, ng);
    firdecim_rrrf d = firdecim_rrrf_create(m, (float *)h, hlen);
    assert_non_null(d);
    for (size_t k = 0; k < ng; k++)
        firdecim_rrrf_execute(d, (float *)x + k * m, &yb[k]);
    firdecim_rrrf_destroy(d);
    for (size_t k = 0; k < ng; k++) {
        if (memcmp(&ya[k], &yb[k], sizeof ya[k]) != 0)
            fail_msg("m %u hlen %u%s: output %zu is %.9g, liquid %.9g", m, hlen,
                     portable ? " (portable taps)" : "", k, ya[k], yb[k]);
        double s = 0.0;
        for (unsigned i = 0; i < m; i++)
            s += x[k * m + i];
        if (ma[k] != s / m)
            fail_msg("m %u hlen %u: group %zu mean %.17g, want %.17g", m, hlen, k,
                     ma[k], s / m);
    }
    /* one call == the many above; reset == create */
    tw_decim_reset(q);
    size_t ny = 0;
    tw_decim_execute_block(q, x, n, yb, NULL, &ny);
    assert_int_equal(ny, ng);
    assert_memory_equal(ya, yb, ng * sizeof *ya);
    tw_decim_destroy(q);
    free(ya);
    free(yb);
    free(ma);
}

static void test_decim_equals_liquid(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("decim", 17));
    static const unsigned ms[] = {1, 2, 3, 4, 5, 8, 16, 64};
    const size_t n = 20000;
    float *x = malloc(n * sizeof *x);
    float *h = malloc(4096 * sizeof *h);
    assert_non_null(x);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(1e4 + 30.0 * tt_gauss(&r));
    int cases = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
        unsigned m = ms[mi];
        unsigned lens[] = {1, m, 2 * m * 4 + 1, 2 * m * 4 + 1, 3 * m + 2, 7};
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            unsigned hlen = lens[li];
            if (li == 2)
                kaiser_taps(m, h, hlen);
            else
                for (unsigned i = 0; i < hlen; i++)
                    h[i] = (float)tt_uniform(&r, -1.0, 1.0);
            check_equal(m, h, hlen, x, n, &r);
            cases++;
        }
    }
    printf("[ INFO     ] %d factor/length cases bit-identical to firdecim_rrrf\n", cases);
    free(x);
    free(h);
}

static double tone_gain(tw_decim *q, unsigned m, double f_in, double fs)
{
    const size_t n = 48000;
    float *x = malloc(n * sizeof *x), *y = malloc((n / m + 1) * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)sin(2.0 * M_PI * f_in * (double)i / fs);
    tw_decim_reset(q);
    size_t ny = 0;
    tw_decim_execute_block(q, x, n, y, NULL, &ny);
    assert_int_equal(ny, n / m);
    /* skip the filter's start */
    double p = tt_power(y + 100, ny - 100);
    free(x);
    free(y);
    return sqrt(2.0 * p);
}

static void test_decim_response(void **state)
{
    (void)state;
    const unsigned m = 8, hlen = 2 * m * 4 + 1;
    const double fs = 48000.0, fd = fs / m;
    float h[2 * 8 * 4 + 1];
    kaiser_taps(m, h, hlen);
    tw_decim *q = tw_decim_create(m, h, hlen);
    assert_non_null(q);
    double g = tone_gain(q, m, 0.1 * fd, fs);
    if (fabs(g - 1.0) > 0.01)
        fail_msg("pass band: gain %.4f at 0.1 fd, want 1 +- 0.01", g);
    double worst = -1e9;
    for (double f = 0.65 * fd; f <= 2.5 * fd; f += 0.05 * fd) {
        double db = 20.0 * log10(tone_gain(q, m, f, fs) + 1e-12);
        if (db > worst)
            worst = db;
        if (db > -55.0)
            fail_msg("stop band: %.1f dB at %.0f Hz, want <= -55", db, f);
    }
    printf("[ INFO     ] m 8: worst alias %.1f dB from 0.65 fd to 2.5 fd\n", worst);
    tw_decim_destroy(q);
}

static void test_decim_bad_params(void **state)
{
    (void)state;
    float h[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    assert_null(tw_decim_create(0, h, 8));
    assert_null(tw_decim_create(65, h, 8));
    assert_null(tw_decim_create(2, h, 0));
    assert_null(tw_decim_create(2, NULL, 8));
    float *big = calloc(4097, sizeof *big);
    assert_non_null(big);
    assert_null(tw_decim_create(2, big, 4097));
    tw_decim *q = tw_decim_create(64, big, 4096);
    assert_non_null(q);
    tw_decim_destroy(q);
    free(big);
    tw_decim_destroy(NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decim_equals_liquid),
        cmocka_unit_test(test_decim_response),
        cmocka_unit_test(test_decim_bad_params),
    };
    return cmocka_run_group_tests_name("dsp_decim", tests, NULL, NULL);
}
