/* test_dsp_tap.c: the conditioned-signal tap of the per-channel pipeline
 * (tw_channel_execute_block_tap, dsp/channel.h), what the audio monitor
 * plays.
 *
 * The signal: 5 uV white noise (seeded) plus a 437 Hz sine of 200 uV (in
 * the needle band, no mains harmonic), plus 40 uV of 50 Hz mains and
 * 800 uV of DC, 6 s at 48 kHz; in its middle (2 .. 2.5 s) 0.5 s of exact
 * zeros (a flat stretch). Asserted:
 *  - the events are those of tw_channel_execute_block, bit for bit, with
 *    and without the tap;
 *  - the tap does not depend on the block size (1, 7, 256, 4096 and the
 *    whole signal give the same samples, memcmp);
 *  - its length stays in step with the input: n / decimation within 2
 *    over the whole signal, the flat stretch included (zeros there), and
 *    no call gives more than tw_channel_max_conditioned;
 *  - after 1 s of settling, the tone comes out at the detector rate with
 *    its amplitude within 1 dB (the mains canceller's comb lifts 437 Hz,
 *    between its teeth at 400 and 450 Hz, by about 0.4 dB) and no DC
 *    (|mean| < 1 uV) and the mains cancelled (the residual at 50 Hz under
 *    2 uV), fitted by least squares at 437 and 50 Hz;
 *  - the flat stretch gives exact zeros (after the 50 ms that confirm it);
 *  - a tap array too small is filled and not overrun.
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

#define FS 48000.0     /* input rate, Hz */
#define SECS 6.0       /* of input, s */
#define TONE_HZ 437.0  /* in the needle band; not a mains harmonic */
#define TONE_UV 200.0  /* its amplitude, uV */
#define FLAT_FROM 2.0  /* s: exact zeros from here ... */
#define FLAT_TO 2.5    /* ... to here */

static float *make_signal(size_t *n)
{
    *n = (size_t)(SECS * FS);
    float *x = tt_xmalloc(*n * sizeof *x);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("test_dsp_tap", 0x7a9));
    for (size_t i = 0; i < *n; i++) {
        double t = (double)i / FS;
        x[i] = (float)(5.0 * tt_gauss(&r) + TONE_UV * sin(2 * M_PI * TONE_HZ * t) +
                       40.0 * sin(2 * M_PI * 50.0 * t) + 800.0);
        if (t >= FLAT_FROM && t < FLAT_TO)
            x[i] = 0.0f;
    }
    return x;
}

typedef struct {
    float *y;
    size_t ny, ycap;
    tw_event ev[4096];
    size_t nev;
} run_out;

/* The whole signal through a fresh needle channel in blocks of `block`. */
static void run(const float *x, size_t n, size_t block, int with_tap, run_out *o)
{
    tw_channel_params p;
    tw_channel_params_default(&p, FS, TW_ELECTRODE_NEEDLE);
    tw_channel *q = tw_channel_create(&p, NULL);
    assert_non_null(q);
    o->ycap = n + 16;
    o->y = tt_xmalloc(o->ycap * sizeof *o->y);
    o->ny = o->nev = 0;
    tw_event ev[64];
    for (size_t i = 0; i < n; i += block) {
        size_t k = n - i < block ? n - i : block;
        size_t got = 0, ny = 0;
        size_t bound = tw_channel_max_conditioned(q, k);
        int rc = with_tap ? tw_channel_execute_block_tap(q, x + i, k, ev, 64, &got, o->y + o->ny,
                                                         o->ycap - o->ny, &ny)
                          : tw_channel_execute_block(q, x + i, k, ev, 64, &got);
        assert_int_equal(rc, TW_OK);
        assert_true(ny <= bound);
        o->ny += ny;
        for (size_t e = 0; e < got && o->nev < 4096; e++)
            o->ev[o->nev++] = ev[e];
    }
    tw_channel_destroy(q);
}

/* Least-squares amplitude of f Hz in y[0 .. n) at rate fs. */
static double amplitude(const float *y, size_t n, double fs, double f)
{
    double sc = 0, ss = 0, cc = 0, sn = 0, cs = 0;
    for (size_t i = 0; i < n; i++) {
        double s = sin(2 * M_PI * f * i / fs), c = cos(2 * M_PI * f * i / fs);
        sn += y[i] * s;
        cs += y[i] * c;
        ss += s * s;
        cc += c * c;
        sc += s * c;
    }
    (void)sc;
    double a = sn / ss, b = cs / cc;
    return sqrt(a * a + b * b);
}

static void test_tap(void **state)
{
    (void)state;
    size_t n;
    float *x = make_signal(&n);
    tw_channel_params p;
    tw_channel_params_default(&p, FS, TW_ELECTRODE_NEEDLE);
    tw_channel *q = tw_channel_create(&p, NULL);
    assert_non_null(q);
    unsigned m = tw_channel_get_decimation(q);
    double fd = tw_channel_get_detector_rate(q);
    tw_channel_destroy(q);

    static run_out plain, ref, other;
    run(x, n, 256, 0, &plain);
    run(x, n, 256, 1, &ref);
    /* the events do not change */
    assert_int_equal(plain.nev, ref.nev);
    assert_memory_equal(plain.ev, ref.ev, plain.nev * sizeof plain.ev[0]);
    free(plain.y);
    /* in step with the input */
    double want = (double)n / m;
    printf("tap: %zu samples at %g Hz for %zu input samples (n / %u = %.1f)\n", ref.ny, fd, n,
           m, want);
    assert_true(fabs((double)ref.ny - want) <= 2.0);
    /* block-size invariance */
    const size_t blocks[] = {1, 7, 4096, n};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        run(x, n, blocks[b], 1, &other);
        assert_int_equal(other.ny, ref.ny);
        assert_memory_equal(other.y, ref.y, ref.ny * sizeof *ref.y);
        free(other.y);
    }
    /* the tone at its amplitude, no DC, no mains: from 1 s to the flat
     * stretch, and from 1 s after it to the end */
    size_t spans[2][2] = {{(size_t)(1.0 * fd), (size_t)(FLAT_FROM * fd) - 8},
                          {(size_t)((FLAT_TO + 1.0) * fd), ref.ny - 8}};
    for (int s = 0; s < 2; s++) {
        const float *y = ref.y + spans[s][0];
        size_t len = spans[s][1] - spans[s][0];
        double a = amplitude(y, len, fd, TONE_HZ), mains = amplitude(y, len, fd, 50.0);
        double mean = 0;
        for (size_t i = 0; i < len; i++)
            mean += y[i];
        mean /= (double)len;
        printf("span %d: tone %.2f uV (%.3f dB), 50 Hz %.3f uV, mean %.3f uV\n", s, a,
               20 * log10(a / TONE_UV), mains, mean);
        assert_true(fabs(20 * log10(a / TONE_UV)) < 1.0);
        assert_true(fabs(mean) < 1.0);
        assert_true(mains < 2.0);
    }
    /* the flat stretch: zeros once it is confirmed (50 ms), up to its end */
    size_t z0 = (size_t)((FLAT_FROM + 0.06) * fd), z1 = (size_t)(FLAT_TO * fd) - 2;
    for (size_t i = z0; i < z1; i++)
        assert_true(ref.y[i] == 0.0f);
    /* a small tap array: filled, not overrun */
    tw_channel *q2 = tw_channel_create(&p, NULL);
    float small[9];
    small[8] = 12345.0f;
    tw_event ev[64];
    size_t got, ny;
    assert_int_equal(tw_channel_execute_block_tap(q2, x, 4096, ev, 64, &got, small, 8, &ny),
                     TW_OK);
    assert_int_equal(ny, 8);
    assert_true(small[8] == 12345.0f);
    tw_channel_destroy(q2);
    free(ref.y);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
