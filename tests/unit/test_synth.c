/* test_synth.c: the synthetic needle-EMG source (daemon/synth/synth.h) and its
 * PRNG (daemon/base/rng.h).
 *
 * What is asserted:
 *  - rng: known xoshiro256** outputs for a splitmix64-seeded state,
 *    uniform/normal/exponential/lognormal moments, tw_rng_gauss_fill ==
 *    repeated tw_rng_gauss, tw_rng_int bounds;
 *  - parameters: every default in tw_synth_keys is valid and passes
 *    tw_synth_check; keys are unique and in section "synth"; bad values
 *    (out of range, NaN, wrong enum index, epn_min_s > epn_max_s,
 *    move_large + move_faint > 1) make tw_synth_create return NULL;
 *  - determinism: same seed -> identical samples and truth, another seed
 *    -> different samples; channel c does not
 *    depend on the channel count;
 *  - chunking: 1, 7, 4096 and irregular chunk sizes give bit-identical
 *    samples and identical truth, whenever truth is popped;
 *  - noise only: RMS within 2 % of noise_uv, mean ~0;
 *  - mains only: > 99.9 % of the energy at odd multiples of f0, the
 *    fundamental and harmonic 59 at their set amplitudes, nothing above
 *    mains_max_hz;
 *  - truth: inside the rendered duration, in onset order, durations and
 *    latencies per the catalogue, LTR windows reach MUAP-scale peaks,
 *    train amplitude declines over the first three, EPN windows have
 *    negative skew and the MEPP count fits the rate, segments of one
 *    channel are at least guard_s apart except LTRs inside their EPN;
 *  - LTR onset/offset at the first/last MUAP's 1 % points;
 *  - polarity: MEPPs alone are never positive; fibrillation potentials
 *    start positive; endplate spikes start negative; MUAPs triphasic;
 *  - memory stays bounded over 10 minutes.
 * Seeds are printed (TW_TEST_SEED replays).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "synth.h"
#include "synth_priv.h"
#include "tw_test_util.h"

/* ---- helpers ---------------------------------------------------------- */

static void quiet(tw_synth_params *p, int seed)
{
    assert_int_equal(tw_synth_params_default(p), 0);
    p->seed = seed;
    p->noise_uv = 0;
    p->pink_uv = 0;
    p->mains_uv = 0;
    p->wander_uv = 0;
    p->epn_per_min = 0;
    p->ltr_per_min = 0;
    p->insertion_per_min = 0;
    p->voluntary_per_min = 0;
    p->flinch_per_min = 0;
    p->pop_per_min = 0;
    p->fib_per_min = 0;
}

/* Busy schedule: every kind of event often. */
static void busy(tw_synth_params *p, int seed)
{
    assert_int_equal(tw_synth_params_default(p), 0);
    p->seed = seed;
    p->epn_per_min = 4;
    p->epn_min_s = 1;
    p->epn_max_s = 4;
    p->ltr_per_min = 20;
    p->insertion_per_min = 6;
    p->voluntary_per_min = 3;
    p->flinch_per_min = 4;
    p->pop_per_min = 4;
    p->fib_per_min = 2;
}

typedef struct {
    float *x;
    size_t frames;
    int nch;
    tw_synth_truth *t;
    size_t nt, capt;
} run_t;

static void run_free(run_t *r)
{
    free(r->x);
    free(r->t);
    memset(r, 0, sizeof *r);
}

static void add_truth(run_t *r, tw_synth *s, int flush)
{
    tw_synth_truth buf[5];
    size_t k;
    while ((k = flush ? tw_synth_flush_truth(s, buf, 5)
                      : tw_synth_pop_truth(s, buf, 5)) > 0) {
        if (r->nt + k > r->capt) {
            r->capt = (r->nt + k) * 2;
            r->t = realloc(r->t, r->capt * sizeof *r->t);
            assert_non_null(r->t);
        }
        memcpy(r->t + r->nt, buf, k * sizeof *buf);
        r->nt += k;
    }
}

/* Render `frames` with chunk sizes cycling through chunks[] (0-terminated),
 * popping truth after every chunk (pop_every) or only at the end. */
static run_t render(const tw_synth_params *p, size_t frames,
                    const size_t *chunks, int pop_every)
{
    run_t r;
    memset(&r, 0, sizeof r);
    tw_synth *s = tw_synth_create(p);
    assert_non_null(s);
    r.nch = p->channels;
    r.frames = frames;
    r.x = tt_xmalloc(frames * r.nch * sizeof *r.x);
    size_t done = 0, ci = 0;
    while (done < frames) {
        size_t n = chunks[ci];
        if (!chunks[++ci])
            ci = 0;
        if (n > frames - done)
            n = frames - done;
        assert_int_equal(tw_synth_render(s, r.x + done * r.nch, n, NULL, 0), 0);
        done += n;
        if (pop_every)
            add_truth(&r, s, 0);
    }
    add_truth(&r, s, 0);
    tw_synth_destroy(s);
    return r;
}

static const size_t k_big[] = {4096, 0};

static int truth_equal(const tw_synth_truth *a, const tw_synth_truth *b)
{
    return a->type == b->type && strcmp(a->kind, b->kind) == 0 &&
           a->channel == b->channel && a->onset_sample == b->onset_sample &&
           a->offset_sample == b->offset_sample &&
           a->movement_sample == b->movement_sample &&
           a->movement_uv == b->movement_uv && a->amp_uv == b->amp_uv &&
           a->train_id == b->train_id && a->train_index == b->train_index &&
           a->in_epn == b->in_epn && a->mepp_rate_hz == b->mepp_rate_hz &&
           a->eps_rate_hz == b->eps_rate_hz && a->amp_pp_uv == b->amp_pp_uv &&
           a->train_factor == b->train_factor && a->n_units == b->n_units &&
           a->fire_rate_hz == b->fire_rate_hz &&
           a->mepp_count == b->mepp_count && a->eps_count == b->eps_count &&
           a->truncated == b->truncated;
}

static void assert_runs_equal(const run_t *a, const run_t *b)
{
    assert_int_equal(a->frames, b->frames);
    assert_int_equal(a->nch, b->nch);
    assert_memory_equal(a->x, b->x, a->frames * a->nch * sizeof *a->x);
    assert_int_equal(a->nt, b->nt);
    for (size_t i = 0; i < a->nt; i++)
        if (!truth_equal(&a->t[i], &b->t[i]))
            fail_msg("truth record %zu differs (%s at %lld vs %s at %lld)", i,
                     a->t[i].kind, (long long)a->t[i].onset_sample,
                     b->t[i].kind, (long long)b->t[i].onset_sample);
}

static int seed_for(const char *what, int def)
{
    uint64_t s = tt_seed(what, (uint64_t)def);
    return (int)(s % 2147483647u) + (s % 2147483647u == 0);
}

/* Channel c of interleaved x. */
static double at(const run_t *r, size_t i, int c)
{
    return r->x[i * r->nch + c];
}

/* ---- rng -------------------------------------------------------------- */

static void test_rng(void **state)
{
    (void)state;
    tw_rng r;
    /* Reference: splitmix64 from 0 gives the documented first output
     * 0xE220A8397B1DCDAF (Vigna's splitmix64.c). */
    uint64_t st = 0;
    assert_true(tw_splitmix64(&st) == 0xE220A8397B1DCDAFULL);
    /* Same seed, same sequence; streams differ. */
    tw_rng a, b;
    tw_rng_seed(&a, 1234);
    tw_rng_seed(&b, 1234);
    for (int i = 0; i < 100; i++)
        assert_true(tw_rng_u64(&a) == tw_rng_u64(&b));
    tw_rng_seed_stream(&a, 1234, 1);
    tw_rng_seed_stream(&b, 1234, 2);
    assert_true(tw_rng_u64(&a) != tw_rng_u64(&b));

    uint64_t seed = tt_seed("rng moments", 99);
    tw_rng_seed(&r, seed);
    const int n = 200000;
    double su = 0, sg = 0, sg2 = 0, se = 0, sl = 0;
    int lo_hit = 0, hi_hit = 0;
    for (int i = 0; i < n; i++) {
        double u = tw_rng_uniform(&r);
        assert_true(u >= 0 && u < 1);
        su += u;
        double g = tw_rng_gauss(&r);
        sg += g;
        sg2 += g * g;
        se += tw_rng_exp(&r, 2.0);
        sl += log(tw_rng_lognormal(&r, 25.0, 0.4));
        int k = tw_rng_int(&r, -3, 3);
        assert_true(k >= -3 && k <= 3);
        lo_hit |= k == -3;
        hi_hit |= k == 3;
    }
    assert_true(fabs(su / n - 0.5) < 0.005);
    assert_true(fabs(sg / n) < 0.01);
    assert_true(fabs(sg2 / n - 1.0) < 0.02);
    assert_true(fabs(se / n - 2.0) < 0.03);
    assert_true(fabs(sl / n - log(25.0)) < 0.01);
    assert_true(lo_hit && hi_hit);

    /* gauss_fill == gauss, across odd lengths and a pending spare. */
    tw_rng_seed(&a, seed);
    tw_rng_seed(&b, seed);
    (void)tw_rng_gauss(&a);
    (void)tw_rng_gauss(&b);
    float x[37];
    for (int rep = 0; rep < 3; rep++) {
        tw_rng_gauss_fill(&a, x, 37, 3.0);
        for (int i = 0; i < 37; i++)
            assert_true(x[i] == (float)(3.0 * tw_rng_gauss(&b)));
    }
}

/* ---- parameters ------------------------------------------------------- */

static void test_key_defaults(void **state)
{
    (void)state;
    tw_synth_params p;
    char why[256];
    assert_int_equal(tw_synth_params_default(&p), 0);
    assert_int_equal(tw_synth_check(&p, why, sizeof why), 0);
    assert_true(tw_synth_nkeys >= 30);
    for (size_t i = 0; i < tw_synth_nkeys; i++) {
        const tw_key *k = &tw_synth_keys[i];
        assert_string_equal(k->section, "synth");
        assert_non_null(k->doc);
        assert_true(strlen(k->doc) > 5);
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(k->key, tw_synth_keys[j].key) != 0);
        /* The default parses and formats back to an equal value. */
        tw_synth_params q = p;
        char buf[TW_KEY_STRLEN];
        assert_int_equal(tw_key_set(k, &q, k->def, why, sizeof why), 0);
        tw_key_format(k, &q, buf, sizeof buf);
        tw_synth_params r2 = p;
        assert_int_equal(tw_key_set(k, &r2, buf, why, sizeof why), 0);
        assert_memory_equal(&q, &r2, sizeof q);
    }
    assert_int_equal(p.rate, 48000);
    assert_int_equal(p.channels, 1);
    assert_int_equal(p.format, TW_SYNTH_FMT_FLOAT);
    assert_true(p.full_scale_uv == 10000);
    assert_true(p.noise_uv == 5);
    assert_true(tw_synth_mains_freq(&p) == 50);
    assert_true(p.mepp_median_uv == 25);
    assert_true(p.eps_rate_hz == 15 && p.eps_median_uv == 150);
    assert_true(p.ltr_in_epn == 0.5 && p.ltr_muap_uv == 800);
    assert_true(p.epn_min_s == 3 && p.epn_max_s == 12);
    assert_true(p.mains_max_hz == 3000 && p.mains_offset_hz == 0);
    assert_non_null(tw_key_find(tw_synth_keys, tw_synth_nkeys, "synth",
                                "mepp_rate_hz"));
    /* -o style errors carry the range. */
    const tw_key *k = tw_key_find(tw_synth_keys, tw_synth_nkeys, "synth",
                                  "noise_uv");
    assert_int_equal(tw_key_set(k, &p, "80", why, sizeof why), -1);
    assert_non_null(strstr(why, "allowed 0 .. 50 uV"));
    k = tw_key_find(tw_synth_keys, tw_synth_nkeys, "synth", "mains_hz");
    assert_int_equal(tw_key_set(k, &p, "60", why, sizeof why), 0);
    assert_true(tw_synth_mains_freq(&p) == 60);
    assert_int_equal(tw_key_set(k, &p, "55", why, sizeof why), -1);
}

static void test_bad_params(void **state)
{
    (void)state;
    tw_synth_params ok, p;
    char why[256];
    assert_int_equal(tw_synth_params_default(&ok), 0);
    ok.seed = 1;
    tw_synth *s = tw_synth_create(&ok);
    assert_non_null(s);
    tw_synth_destroy(s);
    assert_null(tw_synth_create(NULL));
#define BAD(stmt)                                                    \
    do {                                                             \
        p = ok;                                                      \
        stmt;                                                        \
        assert_int_equal(tw_synth_check(&p, why, sizeof why), -1);   \
        assert_null(tw_synth_create(&p));                            \
        printf("  rejected: %s -> %s\n", #stmt, why);                \
    } while (0)
    BAD(p.rate = 100);
    BAD(p.rate = 200000);
    BAD(p.channels = 0);
    BAD(p.channels = 9);
    BAD(p.seed = -1);
    BAD(p.format = 3);
    BAD(p.mains_hz = 2);
    BAD(p.noise_uv = -1);
    BAD(p.noise_uv = NAN);
    BAD(p.mains_uv = INFINITY);
    BAD(p.mepp_median_uv = 80);
    BAD(p.mepp_rate_hz = 50);
    BAD(p.eps_rate_hz = 60);
    BAD(p.ltr_muap_uv = 100);
    BAD(p.ltr_train_max = 0);
    BAD(p.ltr_in_epn = 1.5);
    BAD(p.mains_offset_hz = 1);
    BAD(p.epn_min_s = 10; p.epn_max_s = 5);
    BAD(p.move_large = 0.8; p.move_faint = 0.5);
#undef BAD
    assert_int_equal(tw_synth_render(NULL, NULL, 0, why, sizeof why), -1);
    assert_string_equal(why, "invalid argument");
}

/* ---- determinism and chunking ---------------------------------------- */

static void test_determinism(void **state)
{
    (void)state;
    tw_synth_params p;
    busy(&p, seed_for("determinism", 7));
    p.channels = 2;
    p.rate = 16000;
    size_t n = 16000 * 20;
    run_t a = render(&p, n, k_big, 1);
    run_t b = render(&p, n, k_big, 1);
    assert_runs_equal(&a, &b);
    assert_true(a.nt > 5);
    assert_true(tt_all_finite(a.x, n * a.nch));
    p.seed = p.seed % 2147483646 + 1;
    run_t c = render(&p, n, k_big, 1);
    assert_true(memcmp(a.x, c.x, n * a.nch * sizeof *a.x) != 0);
    run_free(&c);

    /* seed 0 picks one from the clock, in 1..INT_MAX, and reports it */
    p.seed = 0;
    tw_synth *s = tw_synth_create(&p);
    assert_non_null(s);
    uint64_t got = tw_synth_get_seed(s);
    assert_true(got >= 1 && got <= 2147483647u);
    tw_synth_destroy(s);
    run_free(&a);
    run_free(&b);
}

static void test_chunking(void **state)
{
    (void)state;
    tw_synth_params p;
    busy(&p, seed_for("chunking", 11));
    p.channels = 2;
    p.rate = 8000;
    size_t n = 8000 * 40;
    static const size_t c1[] = {1, 0}, c7[] = {7, 0},
                        cmix[] = {3, 1000, 1, 5000, 17, 1024, 0};
    run_t ref = render(&p, n, k_big, 0);
    run_t a = render(&p, n, c1, 1);
    run_t b = render(&p, n, c7, 0);
    run_t c = render(&p, n, cmix, 1);
    printf("  %zu truth records in %zu s x %d channels\n", ref.nt,
           n / 8000, ref.nch);
    assert_true(ref.nt >= 10);
    assert_runs_equal(&ref, &a);
    assert_runs_equal(&ref, &b);
    assert_runs_equal(&ref, &c);
    run_free(&ref);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}

static void test_channel_independence(void **state)
{
    (void)state;
    tw_synth_params p;
    busy(&p, seed_for("channel independence", 5));
    p.rate = 8000;
    size_t n = 8000 * 20;
    run_t one = render(&p, n, k_big, 0);
    p.channels = 3;
    run_t three = render(&p, n, k_big, 0);
    for (size_t i = 0; i < n; i++)
        assert_true(one.x[i] == three.x[i * 3]);
    /* the other channels differ from channel 0 */
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += three.x[i * 3] == three.x[i * 3 + 1];
    assert_true(same < n / 100);
    run_free(&one);
    run_free(&three);
}

/* ---- background ------------------------------------------------------- */

static void test_noise_rms(void **state)
{
    (void)state;
    tw_synth_params p;
    quiet(&p, seed_for("noise rms", 3));
    p.noise_uv = 5;
    size_t n = 48000 * 10;
    run_t r = render(&p, n, k_big, 0);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += r.x[i];
        s2 += (double)r.x[i] * r.x[i];
    }
    double rms = sqrt(s2 / n), mean = s / n;
    printf("  noise rms %.4f uV (set 5), mean %.4f uV\n", rms, mean);
    assert_true(fabs(rms - 5.0) < 0.1);
    assert_true(fabs(mean) < 0.05);
    assert_int_equal(r.nt, 0);
    run_free(&r);
}

/* |DFT| amplitude of x (n samples at fs) at f Hz. */
static double tone_amp(const float *x, size_t n, double fs, double f)
{
    double re = 0, im = 0, w = 2 * M_PI * f / fs;
    for (size_t i = 0; i < n; i++) {
        re += x[i] * cos(w * i);
        im -= x[i] * sin(w * i);
    }
    return 2.0 * sqrt(re * re + im * im) / n;
}

/* Pink noise: its RMS is what was set (after the 1 Hz section has
 * settled), and its power falls about tenfold a decade (1/f): 10-20 Hz
 * against 100-200 Hz, by the power of 1 s segments' DFT bins. */
static void test_pink_noise(void **state)
{
    (void)state;
    tw_synth_params p;
    quiet(&p, seed_for("pink noise", 5));
    p.pink_uv = 5;
    p.rate = 4000;
    size_t n = 4000 * 20;
    run_t r = render(&p, n, k_big, 0);
    size_t a = 4000 * 4;
    double rms = sqrt(tt_power(r.x + a, n - a));
    double lo = 0, hi = 0;
    for (size_t seg = a; seg + 4000 <= n; seg += 4000) {
        for (int f = 10; f < 20; f++) {
            double v = tone_amp(r.x + seg, 4000, 4000, f);
            lo += v * v;
        }
        for (int f = 100; f < 200; f += 10) { /* as many bins as 10-20 Hz */
            double v = tone_amp(r.x + seg, 4000, 4000, f);
            hi += v * v;
        }
    }
    printf("  pink rms %.3f uV (set 5); power per bin 10-20 Hz / 100-200 Hz %.1f (1/f: 10)\n",
           rms, lo / hi);
    assert_true(fabs(rms - 5.0) < 0.5);
    assert_true(lo / hi > 4.0 && lo / hi < 25.0);
    run_free(&r);
}


static void test_mains_lines(void **state)
{
    (void)state;
    for (int f60 = 0; f60 <= 1; f60++) {
        tw_synth_params p;
        quiet(&p, seed_for("mains lines", 21 + f60));
        p.mains_uv = 20;
        p.mains_harmonics = 0.3;
        p.mains_am = 0;
        p.mains_hz = f60 ? TW_SYNTH_MAINS_60 : TW_SYNTH_MAINS_50;
        double f0 = f60 ? 60 : 50;
        size_t n = 48000; /* 1 s: whole periods */
        run_t r = render(&p, n, k_big, 0);
        double total = tt_power(r.x, n), lines = 0;
        for (int k = 1; k * f0 < 24000; k++) {
            double a = tone_amp(r.x, n, 48000, k * f0);
            if (k % 2 == 1)
                lines += a * a / 2;
            if (k == 1)
                assert_true(fabs(a - 20.0) < 0.2);
            if (k == 2 || k == 4)
                assert_true(a < 0.01);
            if (k * f0 > 3000)
                assert_true(a < 0.01);
            if (k == 59 && !f60) { /* 2950 Hz: 20 * 0.3 * 3/59 */
                printf("  harmonic 59 (2950 Hz): %.4f uV (set %.4f)\n", a,
                       20 * 0.3 * 3 / 59.0);
                assert_true(fabs(a - 20 * 0.3 * 3 / 59.0) < 0.02);
            }
        }
        printf("  %g Hz: %.5f of the energy in odd lines\n", f0,
               lines / total);
        assert_true(lines / total > 0.999);
        run_free(&r);
    }
    /* With AM and an offset the lines move and spread, but the level
     * stays within the AM depth. */
    tw_synth_params p;
    quiet(&p, 31);
    p.mains_uv = 20;
    p.mains_harmonics = 0;
    p.mains_am = 0.2;
    p.mains_offset_hz = 0.3;
    size_t n = 48000 * 4;
    run_t r = render(&p, n, k_big, 0);
    double peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs(r.x[i]));
    assert_true(peak <= 20 * 1.2 + 0.01 && peak > 20 * 0.8);
    run_free(&r);
}

/* ---- truth ------------------------------------------------------------ */

static double window_skew(const run_t *r, int c, int64_t a, int64_t b)
{
    double m = 0, m2 = 0, m3 = 0;
    size_t n = (size_t)(b - a);
    for (int64_t i = a; i < b; i++)
        m += at(r, (size_t)i, c);
    m /= n;
    for (int64_t i = a; i < b; i++) {
        double d = at(r, (size_t)i, c) - m;
        m2 += d * d;
        m3 += d * d * d;
    }
    m2 /= n;
    m3 /= n;
    return m3 / pow(m2, 1.5);
}

static int contains(const tw_synth_truth *outer, const tw_synth_truth *in)
{
    return in->onset_sample >= outer->onset_sample &&
           in->offset_sample <= outer->offset_sample;
}

static void test_truth(void **state)
{
    (void)state;
    tw_synth_params p;
    assert_int_equal(tw_synth_params_default(&p), 0);
    p.seed = seed_for("truth", 17);
    p.channels = 2;
    p.rate = 24000;
    p.mains_uv = 0;
    p.wander_uv = 0;
    p.ltr_per_min = 8;
    p.voluntary_per_min = 2;
    p.fib_per_min = 2;
    const double fs = p.rate;
    size_t n = (size_t)(fs * 240);
    run_t r = render(&p, n, k_big, 1);
    int n_ltr = 0, n_epn = 0, n_dis = 0, n_skew = 0, n_train3 = 0;
    int kinds = 0;
    double skew_sum = 0;
    int n_neg = 0;
    double ltr_ratio_min = INFINITY;
    for (size_t i = 0; i < r.nt; i++) {
        const tw_synth_truth *t = &r.t[i];
        double dur_ms = (t->offset_sample - t->onset_sample) * 1e3 / fs;
        assert_true(t->onset_sample >= 0);
        assert_true(t->onset_sample < t->offset_sample);
        assert_true(t->offset_sample <= (int64_t)n);
        assert_true(t->channel >= 0 && t->channel < 2);
        assert_int_equal(t->truncated, 0);
        if (i)
            assert_true(r.t[i - 1].onset_sample <= t->onset_sample);
        if (t->type == TW_TRUTH_LTR) {
            n_ltr++;
            kinds |= 1;
            assert_string_equal(t->kind, "ltr");
            assert_true(dur_ms >= 19.9 && dur_ms <= 300.1);
            double lat = (t->onset_sample - t->movement_sample) * 1e3 / fs;
            assert_true(lat >= 4.9 && lat <= 50.1);
            assert_true(t->amp_uv >= 300 * 0.8 && t->amp_uv <= 3000 * 1.6);
            assert_true(t->n_units >= 2 && t->n_units <= 10);
            assert_true(t->train_id >= 0 && t->train_index >= 0);
            assert_true(t->train_index < p.ltr_train_max);
            /* Peak-to-peak in the window: a MUAP of peak A spans more
             * than A (triphasic); the movement artefact under the burst
             * is slow and mostly adds. */
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t j = t->onset_sample; j < t->offset_sample; j++) {
                lo = fmin(lo, at(&r, (size_t)j, t->channel));
                hi = fmax(hi, at(&r, (size_t)j, t->channel));
            }
            ltr_ratio_min = fmin(ltr_ratio_min, (hi - lo) / t->amp_uv);
            assert_true(hi - lo >= t->amp_uv);
            assert_true(hi - lo >= 300);
            if (t->train_index == 0)
                assert_true(t->train_factor == 1.0);
            if (t->in_epn) { /* inside its EPN episode */
                int found = 0;
                for (size_t j = 0; j < r.nt; j++)
                    found |= r.t[j].type == TW_TRUTH_EPN &&
                             r.t[j].channel == t->channel &&
                             contains(&r.t[j], t);
                assert_true(found);
            }
            /* the decline over the first three of a train */
            if (t->train_index == 2) {
                const tw_synth_truth *f[3] = {NULL, NULL, t};
                for (size_t j = 0; j < i; j++)
                    if (r.t[j].type == TW_TRUTH_LTR &&
                        r.t[j].channel == t->channel &&
                        r.t[j].train_id == t->train_id &&
                        r.t[j].train_index < 2)
                        f[r.t[j].train_index] = &r.t[j];
                assert_non_null(f[0]);
                assert_non_null(f[1]);
                assert_true(f[1]->train_factor < f[0]->train_factor);
                assert_true(f[2]->train_factor < f[1]->train_factor);
                assert_true(f[2]->amp_uv < f[0]->amp_uv);
                n_train3++;
            }
        } else if (t->type == TW_TRUTH_EPN) {
            n_epn++;
            kinds |= 2;
            assert_string_equal(t->kind, "epn");
            assert_true(t->amp_uv >= 5 && t->amp_uv <= 100);
            assert_true(t->mepp_rate_hz >= 50 && t->mepp_rate_hz <= 1000);
            assert_true(t->eps_rate_hz >= 0 && t->eps_rate_hz <= 50);
            double secs = dur_ms / 1e3;
            assert_true(secs >= p.epn_min_s - 0.01);
            double want = t->mepp_rate_hz * secs;
            assert_true(fabs(t->mepp_count - want) < 5 * sqrt(want) + 2);
            /* Skew of an EPN stretch without LTRs inside. */
            int has_ltr = 0;
            for (size_t j = 0; j < r.nt; j++)
                has_ltr |= r.t[j].type == TW_TRUTH_LTR &&
                           r.t[j].channel == t->channel &&
                           contains(t, &r.t[j]);
            if (!has_ltr) {
                double sk = window_skew(&r, t->channel, t->onset_sample,
                                        t->offset_sample);
                if (n_skew < 6)
                    printf("  epn %.1f s, %.0f MEPP/s of %.0f uV, %.0f EPS/s:"
                           " skew %.2f\n",
                           secs, t->mepp_rate_hz, t->amp_uv, t->eps_rate_hz,
                           sk);
                skew_sum += sk;
                n_neg += sk < 0;
                n_skew++;
            }
        } else {
            n_dis++;
            assert_int_equal(t->type, TW_TRUTH_DISTRACTOR);
            if (strcmp(t->kind, "insertion") == 0) {
                kinds |= 4;
                assert_true(t->movement_sample == t->onset_sample);
                assert_true(fabs(t->movement_uv) >= 50);
                assert_true(dur_ms <= 2600);
            } else if (strcmp(t->kind, "voluntary") == 0) {
                kinds |= 8;
                /* window 1-5 s; the last MUAP may come up to 1.5
                 * intervals (at 5 Hz: 300 ms) before it closes */
                assert_true(dur_ms >= 650 && dur_ms <= 5100);
                assert_true(t->n_units >= 1 && t->n_units <= 5);
                assert_true(t->fire_rate_hz >= 5 && t->fire_rate_hz <= 20);
            } else if (strcmp(t->kind, "flinch") == 0) {
                kinds |= 16;
                double lat = (t->onset_sample - t->movement_sample) * 1e3 / fs;
                assert_true(lat >= 79.9 && lat <= 200.1);
                assert_true(dur_ms >= 1 && dur_ms <= 520);
                assert_true(t->amp_uv >= 200 && t->amp_uv <= 1000);
            } else if (strcmp(t->kind, "pop") == 0) {
                kinds |= 32;
                assert_true(dur_ms <= 25);
                assert_true(t->amp_uv >= 500 && t->amp_uv <= 5000);
            } else {
                assert_string_equal(t->kind, "fib");
                kinds |= 64;
                assert_true(t->amp_uv >= 20 && t->amp_uv <= 200);
                assert_true(t->fire_rate_hz >= 0.5 && t->fire_rate_hz <= 15);
            }
        }
    }
    /* Separation: segments of one channel at least guard_s apart. Same
     * train LTRs and LTRs inside their EPN episode are one segment. */
    for (size_t i = 0; i < r.nt; i++)
        for (size_t j = i + 1; j < r.nt; j++) {
            const tw_synth_truth *a = &r.t[i], *b = &r.t[j];
            if (a->channel != b->channel)
                continue;
            if (a->type == TW_TRUTH_LTR && b->type == TW_TRUTH_LTR &&
                a->train_id == b->train_id)
                continue;
            if ((a->type == TW_TRUTH_EPN && b->type == TW_TRUTH_LTR &&
                 b->in_epn && contains(a, b)) ||
                (b->type == TW_TRUTH_EPN && a->type == TW_TRUTH_LTR &&
                 a->in_epn && contains(b, a)))
                continue;
            int64_t gap = b->onset_sample - a->offset_sample;
            if (gap < (int64_t)(p.guard_s * fs))
                fail_msg("%s at %.3f s and %s at %.3f s on channel %d are "
                         "%.3f s apart",
                         a->kind, a->onset_sample / fs, b->kind,
                         b->onset_sample / fs, a->channel, gap / fs);
        }
    printf("  %d LTR, %d EPN, %d distractors; %d EPN skews, %d trains >= 3\n",
           n_ltr, n_epn, n_dis, n_skew, n_train3);
    assert_true(n_ltr >= 10 && n_epn >= 4 && n_dis >= 10);
    assert_true(n_skew >= 2);
    /* With endplate spikes the third moment is heavy-tailed (one large
     * initially positive spike can dominate a window): the mean and most
     * windows are negative. MEPPs alone: every window (test_polarity). */
    printf("  LTR windows: peak-to-peak >= %.2f x amp_uv\n", ltr_ratio_min);
    printf("  EPN skew: mean %.2f, %d of %d windows negative\n",
           skew_sum / n_skew, n_neg, n_skew);
    assert_true(skew_sum / n_skew < -0.3);
    assert_true(n_neg >= 0.75 * n_skew);
    assert_int_equal(kinds, 127);
    run_free(&r);
}

static void test_flush(void **state)
{
    (void)state;
    tw_synth_params p;
    quiet(&p, seed_for("flush", 23));
    p.epn_per_min = 30;
    p.epn_min_s = 20;
    p.epn_max_s = 20;
    p.rate = 8000;
    tw_synth *s = tw_synth_create(&p);
    assert_non_null(s);
    float *x = tt_xmalloc(8000 * 10 * sizeof *x);
    assert_int_equal(tw_synth_render(s, x, 8000 * 10, NULL, 0), 0);
    tw_synth_truth t[4];
    assert_int_equal(tw_synth_pop_truth(s, t, 4), 0);
    size_t k = tw_synth_flush_truth(s, t, 4);
    assert_int_equal(k, 1);
    assert_int_equal(t[0].truncated, 1);
    assert_string_equal(t[0].kind, "epn");
    assert_true(t[0].onset_sample < 8000 * 10);
    assert_true(t[0].offset_sample >= 8000 * 10);
    assert_true(t[0].mepp_count > 100); /* counted so far */
    free(x);
    tw_synth_destroy(s);

    /* A complete event held back by an unfinished EPN episode on another
     * channel comes out of flush untruncated. */
    quiet(&p, 47);
    p.rate = 8000;
    p.channels = 2;
    p.epn_per_min = 6;
    p.epn_min_s = p.epn_max_s = 30;
    p.pop_per_min = 30;
    s = tw_synth_create(&p);
    assert_non_null(s);
    x = tt_xmalloc(8000 * 20 * 2 * sizeof *x);
    assert_int_equal(tw_synth_render(s, x, 8000 * 20, NULL, 0), 0);
    tw_synth_truth u[64];
    size_t np = tw_synth_pop_truth(s, u, 64);
    size_t nf = tw_synth_flush_truth(s, u + np, 64 - np);
    int whole = 0, cut = 0;
    for (size_t i = 0; i < np + nf; i++) {
        if (u[i].truncated) {
            cut++;
            assert_true(u[i].offset_sample >= 8000 * 20);
        } else {
            whole += i >= np;
            assert_true(u[i].offset_sample <= 8000 * 20);
        }
    }
    printf("  flush: %zu popped, %zu flushed (%d complete, %d cut)\n", np,
           nf, whole, cut);
    assert_true(cut >= 1 && whole >= 1);
    free(x);
    tw_synth_destroy(s);
}

/* LTR onset/offset are the first/last MUAP's 1 % points: noise-free,
 * without movement artefacts, the signal is ~0 just outside the truth
 * window and clearly non-zero at its edges. */
static void test_ltr_extent(void **state)
{
    (void)state;
    tw_synth_params p;
    quiet(&p, seed_for("ltr extent", 53));
    p.ltr_per_min = 30;
    p.ltr_in_epn = 0;
    p.move_large = 0;
    p.move_faint = 0;
    const double fs = p.rate;
    size_t n = (size_t)(fs * 60);
    run_t r = render(&p, n, k_big, 0);
    int checked = 0;
    double worst_edge = 0, worst_out = 0, worst_in = INFINITY;
    for (size_t i = 0; i < r.nt; i++) {
        const tw_synth_truth *t = &r.t[i];
        assert_int_equal(t->type, TW_TRUTH_LTR);
        assert_true(t->movement_uv == 0);
        int64_t a = t->onset_sample, b = t->offset_sample;
        /* Outside: each MUAP is below 1 % of its peak (<= amp_uv), a
         * few tails may add up right at the edge; 2 ms further out the
         * signal is essentially zero. */
        int64_t w = (int64_t)(0.03 * fs), e = (int64_t)(0.001 * fs);
        int64_t g = (int64_t)(0.002 * fs);
        double pre = 0, post = 0, pre2 = 0, post2 = 0, first = 0, last = 0;
        for (int64_t j = a - w; j < a; j++) {
            pre = fmax(pre, fabs(r.x[j]));
            if (j < a - g)
                pre2 = fmax(pre2, fabs(r.x[j]));
        }
        for (int64_t j = b; j < b + w && j < (int64_t)n; j++) {
            post = fmax(post, fabs(r.x[j]));
            if (j >= b + g)
                post2 = fmax(post2, fabs(r.x[j]));
        }
        for (int64_t j = a; j < a + e; j++)
            first = fmax(first, fabs(r.x[j]));
        for (int64_t j = b - e; j < b; j++)
            last = fmax(last, fabs(r.x[j]));
        worst_edge = fmax(worst_edge, fmax(pre, post) / t->amp_uv);
        worst_out = fmax(worst_out, fmax(pre2, post2) / t->amp_uv);
        worst_in = fmin(worst_in, fmin(first, last));
        assert_true(pre <= 0.04 * t->amp_uv && post <= 0.04 * t->amp_uv);
        assert_true(pre2 <= 0.005 * t->amp_uv);
        assert_true(post2 <= 0.005 * t->amp_uv);
        assert_true(first >= 2.5 && last >= 2.5);
        checked++;
    }
    printf("  %d LTR windows: outside max %.4f x amp_uv at the edge, %.4f "
           "2 ms out; inside edges >= %.1f uV\n",
           checked, worst_edge, worst_out, worst_in);
    assert_true(checked >= 10);
    run_free(&r);
}

/* ---- polarity and shapes ---------------------------------------------- */

static void test_polarity(void **state)
{
    (void)state;
    /* MEPPs alone: monophasic negative, 10-50 uV each. */
    tw_synth_params p;
    quiet(&p, seed_for("polarity", 29));
    p.epn_per_min = 20;
    p.eps_rate_hz = 0;
    size_t n = 48000 * 30;
    run_t r = render(&p, n, k_big, 0);
    double mn = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        mn = fmin(mn, r.x[i]);
        mx = fmax(mx, r.x[i]);
    }
    printf("  MEPP only: min %.1f uV, max %.3g uV\n", mn, mx);
    assert_true(mx <= 1e-3);
    assert_true(mn < -20);
    assert_true(r.nt >= 2);
    for (size_t i = 0; i < r.nt; i++) {
        double sk = window_skew(&r, 0, r.t[i].onset_sample,
                                r.t[i].offset_sample);
        printf("  MEPP only, %.0f /s of %.0f uV: skew %.2f\n",
               r.t[i].mepp_rate_hz, r.t[i].amp_uv, sk);
        assert_true(sk < -0.5);
    }
    run_free(&r);

    /* Fibrillation: each potential starts positive. */
    quiet(&p, 37);
    p.fib_per_min = 20;
    r = render(&p, n, k_big, 0);
    int trains = 0, checked = 0;
    for (size_t i = 0; i < r.nt; i++) {
        const tw_synth_truth *t = &r.t[i];
        assert_string_equal(t->kind, "fib");
        trains++;
        /* Scan the train: at each crossing of 5 % of amp_uv from quiet,
         * the first crossing must be positive. */
        int quiet_run = 1000, armed = 1;
        for (int64_t j = t->onset_sample - 50; j < t->offset_sample + 50;
             j++) {
            double v = r.x[j];
            if (fabs(v) < 0.001 * t->amp_uv) {
                if (++quiet_run >= 20)
                    armed = 1;
                continue;
            }
            quiet_run = 0;
            if (armed && fabs(v) >= 0.05 * t->amp_uv) {
                assert_true(v > 0);
                checked++;
                armed = 0;
            }
        }
    }
    printf("  %d fibrillation trains, %d potentials start positive\n", trains,
           checked);
    assert_true(trains >= 3 && checked >= 10);
    run_free(&r);

    /* Shapes directly. */
    tw_rng g;
    tw_rng_seed(&g, 41);
    float buf[4096];
    for (int rep = 0; rep < 50; rep++) {
        tw_inst in;
        tw_shape_eps(&in, &g, 48000, 150, 0);
        assert_true(in.len < 4096);
        memset(buf, 0, sizeof buf);
        tw_inst_add(&in, buf, 0, (size_t)in.len);
        int first = 0;
        double lo = 0, hi = 0;
        for (int i = 0; i < in.len; i++) {
            if (!first && fabs(buf[i]) > 3)
                first = buf[i] < 0 ? -1 : 1;
            lo = fmin(lo, buf[i]);
            hi = fmax(hi, buf[i]);
        }
        assert_int_equal(first, -1);        /* initial negative */
        assert_true(fabs(lo + 150) < 3);    /* peak at amplitude */
        assert_true(hi > 30 && hi < 150);   /* biphasic */
        int on = -1, off = -1; /* 5 % extent */
        for (int i = 0; i < in.len; i++)
            if (fabs(buf[i]) >= 0.05 * 150) {
                if (on < 0)
                    on = i;
                off = i;
            }
        double dur = (off - on + 1) / 48.0; /* ms */
        assert_true(dur >= 1.5 && dur <= 5.5);

        tw_unit u;
        float scratch[2048];
        assert_true(tw_unit_max_len(48000) <= 2048);
        tw_unit_make(&u, &g, 48000, TW_UNIT_LTR, 1000, scratch);
        double ext = (u.off - u.on) / 48.0;
        assert_true(ext >= 2.0 && ext <= 15.5);
        memset(buf, 0, sizeof buf);
        tw_inst_add(&u.shape, buf, 0, (size_t)u.shape.len);
        double pk = 0;
        for (int i = 0; i < u.shape.len; i++)
            pk = fmax(pk, fabs(buf[i]));
        assert_true(fabs(pk - 1000) < 1);
        tw_unit_make(&u, &g, 48000, TW_UNIT_VOLUNTARY, 1000, scratch);
        memset(buf, 0, sizeof buf);
        tw_inst_add(&u.shape, buf, 0, (size_t)u.shape.len);
        lo = hi = 0;
        for (int i = 0; i < u.shape.len; i++) {
            lo = fmin(lo, buf[i]);
            hi = fmax(hi, buf[i]);
        }
        assert_true(lo < -100 && hi > 100); /* more than one phase */
    }
}

/* ---- memory and speed ------------------------------------------------- */

static void test_bounded(void **state)
{
    (void)state;
    tw_synth_params p;
    busy(&p, seed_for("bounded", 43));
    p.rate = 8000;
    p.channels = 2;
    tw_synth *s = tw_synth_create(&p);
    assert_non_null(s);
    float *x = tt_xmalloc(4096 * 2 * sizeof *x);
    tw_synth_truth t[16];
    size_t maxact = 0, maxq = 0, total = 0;
    for (int i = 0; i < 8000 * 600 / 4096; i++) {
        assert_int_equal(tw_synth_render(s, x, 4096, NULL, 0), 0);
        size_t k;
        while ((k = tw_synth_pop_truth(s, t, 16)) > 0)
            total += k;
        for (int c = 0; c < 2; c++)
            if (s->ch[c].capact > maxact)
                maxact = s->ch[c].capact;
        if (s->qcap > maxq)
            maxq = s->qcap;
    }
    printf("  10 min: %zu events, active-list capacity %zu, queue capacity "
           "%zu\n",
           total, maxact, maxq);
    assert_true(total > 100);
    assert_true(maxact <= 2048);
    assert_true(maxq <= 256);
    free(x);
    tw_synth_destroy(s);
}

static void test_speed(void **state)
{
    (void)state;
    tw_synth_params p;
    assert_int_equal(tw_synth_params_default(&p), 0);
    p.seed = 1;
    p.channels = 8;
    tw_synth *s = tw_synth_create(&p);
    assert_non_null(s);
    float *x = tt_xmalloc(4096 * 8 * sizeof *x);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 48000 * 10 / 4096; i++)
        assert_int_equal(tw_synth_render(s, x, 4096, NULL, 0), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    printf("  10 s x 8 channels at 48 kHz (defaults): %.3f s (%.0fx real "
           "time)\n",
           dt, 10.0 / dt);
    free(x);
    tw_synth_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_key_defaults),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_channel_independence),
        cmocka_unit_test(test_noise_rms),
        cmocka_unit_test(test_pink_noise),
        cmocka_unit_test(test_mains_lines),
        cmocka_unit_test(test_truth),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_ltr_extent),
        cmocka_unit_test(test_polarity),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
