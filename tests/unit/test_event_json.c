/* test_event_json.c: the event encoder (daemon/out/event_json.h) and the
 * insertion-train bookkeeping (daemon/engine/trains.h).
 *
 * What is asserted:
 *  - tw_event_format of an LTR and of an EPN event gives one line (no
 *    newline, length returned == strlen) that jansson parses back into an
 *    object holding exactly the documented fields, each with the right
 *    JSON type and value: type, channel, onset_s and offset_s
 *    (= sample / fs within 1e-9 s, at every rate from 250 Hz to 192 kHz,
 *    from the first second to 48 h into a session), onset_sample,
 *    offset_sample, duration_ms (= (offset - onset + 1) / fs in ms),
 *    peak_uv, p2p_uv, rms_uv, noise_uv, snr_db (rounded to 0.01);
 *    LTR: latency_ms and movement_sample (null when -1, numbers
 *    otherwise), turns, in_epn (boolean), train, train_index, rel_amp
 *    (absent when no train info is given); EPN: mepp_rate_hz,
 *    mepp_median_uv, eps_count, eps_rate_hz, eps_median_uv, eps_cv,
 *    skewness, and none of the LTR fields;
 *  - a non-finite amplitude is encoded as null, never as an invalid token;
 *  - amplitudes under 10 uV keep 4 significant digits (a signal 1000
 *    times too small never reads 0.0), larger ones are rounded to 0.01;
 *  - a start notice is {type, channel, onset_s, onset_sample, start: true}
 *    and nothing else;
 *  - a buffer one byte too small (no room for the NUL), or far too small,
 *    gives -1; exactly large enough gives the length;
 *  - trains: an LTR whose onset is at most gap_s after the previous
 *    LTR's offset (measured from the offset, not the onset) continues the
 *    train, one more sample starts a new one; train ids count from 0 per
 *    tw_trains object, train_index from 0 in each train; rel_amp is p2p
 *    relative to the train's first LTR (not the previous one) and 1 when
 *    that first p2p is 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "event_json.h"
#include "trains.h"

#define ROUND_TOL (0.005 + 1e-9) /* values are rounded to 0.01 */

static int quiet; /* 1: roundtrip does not print the line */

/* The object roundtrip returned last, until release(): freed by the
 * teardown when an assertion jumps out of a test (no leak under ASan). */
static json_t *live;

static void release(json_t *o)
{
    json_decref(o);
    if (o == live)
        live = NULL;
}

static int teardown_live(void **state)
{
    (void)state;
    json_decref(live);
    live = NULL;
    return 0;
}

static tw_event ltr_event(void)
{
    tw_event e;
    memset(&e, 0, sizeof e);
    e.type = TW_EVT_LTR;
    e.onset_sample = 48023;
    e.offset_sample = 52787;
    e.peak_uv = 995.4375f;
    e.p2p_uv = 1900.125f;
    e.rms_uv = 218.77f;
    e.noise_uv = 3.3f;
    e.snr_db = 36.43f;
    e.movement_sample = -1;
    e.latency_ms = -1.0f;
    e.turns = 40;
    e.in_epn = 0.0f;
    return e;
}

static tw_event epn_event(void)
{
    tw_event e;
    memset(&e, 0, sizeof e);
    e.type = TW_EVT_EPN;
    e.onset_sample = 96000;
    e.offset_sample = 191999;
    e.peak_uv = 180.5f;
    e.p2p_uv = 310.25f;
    e.rms_uv = 22.125f;
    e.noise_uv = 6.5f;
    e.snr_db = 10.61f;
    e.movement_sample = 0; /* LTR fields of an EPN: 0 / -1 per tw_dsp.h */
    e.latency_ms = 0;
    e.mepp_rate_hz = 212.5f;
    e.mepp_median_uv = 31.25f;
    e.eps_count = 7;
    e.eps_rate_hz = 3.5f;
    e.eps_median_uv = 150.75f;
    e.eps_cv = 0.42f;
    e.skewness = -1.37f;
    return e;
}

/* Format e and parse it back; fails the test on any problem. */
static json_t *roundtrip(const tw_event *e, int ch, double fs,
                         const tw_train_info *tr, char *line, size_t len)
{
    int n = tw_event_format(e, ch, fs, tr, 0, line, len);
    if (n < 0)
        fail_msg("tw_event_format returned %d", n);
    assert_int_equal((size_t)n, strlen(line));
    assert_null(strchr(line, '\n'));
    json_error_t jerr;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        fail_msg("not JSON (%s at %d): %s", jerr.text, jerr.position, line);
    live = o;
    assert_true(json_is_object(o));
    if (!quiet)
        printf("[ INFO     ] %s\n", line);
    return o;
}

static json_t *field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("field '%s' missing", key);
    return v;
}

static void expect_real(json_t *o, const char *key, double want, double tol)
{
    json_t *v = field(o, key);
    if (!json_is_number(v))
        fail_msg("field '%s' is not a number", key);
    double got = json_number_value(v);
    if (!(fabs(got - want) <= tol))
        fail_msg("field '%s' = %.17g, want %.17g +- %g (off by %.3g)", key, got, want, tol, got - want);
}

static void expect_int(json_t *o, const char *key, json_int_t want)
{
    json_t *v = field(o, key);
    if (!json_is_integer(v))
        fail_msg("field '%s' is not an integer", key);
    if (json_integer_value(v) != want)
        fail_msg("field '%s' = %lld, want %lld", key,
                 (long long)json_integer_value(v), (long long)want);
}

static void expect_null(json_t *o, const char *key)
{
    if (!json_is_null(field(o, key)))
        fail_msg("field '%s' should be null", key);
}

/* o holds exactly these keys. */
static void expect_keys(json_t *o, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        field(o, keys[i]);
    if (json_object_size(o) != n) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            size_t i;
            for (i = 0; i < n && strcmp(keys[i], k); i++)
                ;
            if (i == n)
                fail_msg("unexpected field '%s'", k);
        }
    }
}

/* The fields every finished event has. */
static void expect_common(json_t *o, const tw_event *e, int ch, double fs,
                          const char *type)
{
    assert_string_equal(json_string_value(field(o, "type")), type);
    expect_int(o, "channel", ch);
    expect_int(o, "onset_sample", e->onset_sample);
    expect_int(o, "offset_sample", e->offset_sample);
    expect_real(o, "onset_s", (double)e->onset_sample / fs, 1e-9);
    expect_real(o, "offset_s", (double)e->offset_sample / fs, 1e-9);
    expect_real(o, "emitted_s", (double)e->emitted_sample / fs, 1e-9);
    expect_real(o, "duration_ms",
                (double)(e->offset_sample - e->onset_sample + 1) * 1e3 / fs, ROUND_TOL);
    expect_real(o, "peak_uv", e->peak_uv, ROUND_TOL);
    expect_real(o, "p2p_uv", e->p2p_uv, ROUND_TOL);
    expect_real(o, "rms_uv", e->rms_uv, ROUND_TOL);
    expect_real(o, "noise_uv", e->noise_uv, ROUND_TOL);
    expect_real(o, "snr_db", e->snr_db, ROUND_TOL);
    /* Not a start notice. */
    assert_null(json_object_get(o, "start"));
}

static const char *const ltr_keys[] = {
    "type", "channel", "onset_s", "offset_s", "onset_sample", "offset_sample",
    "duration_ms", "peak_uv", "p2p_uv", "rms_uv", "noise_uv", "snr_db",
    "emitted_s", "latency_ms", "movement_sample", "turns", "in_epn", "train",
    "train_index", "rel_amp",
};
#define N_LTR_KEYS (sizeof ltr_keys / sizeof ltr_keys[0])
#define N_LTR_KEYS_NO_TRAIN (N_LTR_KEYS - 3)

static const char *const epn_keys[] = {
    "type", "channel", "onset_s", "offset_s", "onset_sample", "offset_sample",
    "duration_ms", "peak_uv", "p2p_uv", "rms_uv", "noise_uv", "snr_db",
    "emitted_s", "mepp_rate_hz", "mepp_median_uv", "eps_count", "eps_rate_hz",
    "eps_median_uv", "eps_cv", "skewness",
};
#define N_EPN_KEYS (sizeof epn_keys / sizeof epn_keys[0])

static void test_ltr_fields(void **state)
{
    (void)state;
    char line[2048];
    const double fs = 48000;
    tw_event e = ltr_event();
    tw_train_info tr = {2, 3, 0.8125, -1, -1.0};

    /* No movement: latency and movement sample are null. */
    json_t *o = roundtrip(&e, 1, fs, &tr, line, sizeof line);
    expect_keys(o, ltr_keys, N_LTR_KEYS);
    expect_common(o, &e, 1, fs, "ltr");
    expect_null(o, "latency_ms");
    expect_null(o, "movement_sample");
    expect_int(o, "turns", 40);
    assert_true(json_is_false(field(o, "in_epn")));
    expect_int(o, "train", 2);
    expect_int(o, "train_index", 3);
    expect_real(o, "rel_amp", 0.8125, ROUND_TOL);
    release(o);

    /* With a movement, inside EPN, on channel 7. */
    e.movement_sample = 47423;
    e.latency_ms = 12.5f;
    e.in_epn = 1.0f;
    o = roundtrip(&e, 7, fs, &tr, line, sizeof line);
    expect_keys(o, ltr_keys, N_LTR_KEYS);
    expect_common(o, &e, 7, fs, "ltr");
    expect_real(o, "latency_ms", 12.5, ROUND_TOL);
    expect_int(o, "movement_sample", 47423);
    assert_true(json_is_true(field(o, "in_epn")));
    release(o);

    /* A movement at sample 0 is a movement (only -1 means none). */
    e.movement_sample = 0;
    e.latency_ms = 0.0f;
    o = roundtrip(&e, 0, fs, &tr, line, sizeof line);
    expect_int(o, "movement_sample", 0);
    expect_real(o, "latency_ms", 0.0, ROUND_TOL);
    release(o);

    /* Without train info the train fields are absent. */
    o = roundtrip(&e, 0, fs, NULL, line, sizeof line);
    expect_keys(o, ltr_keys, N_LTR_KEYS_NO_TRAIN);
    release(o);
}

static void test_epn_fields(void **state)
{
    (void)state;
    char line[2048];
    const double fs = 48000;
    tw_event e = epn_event();
    json_t *o = roundtrip(&e, 3, fs, NULL, line, sizeof line);
    expect_keys(o, epn_keys, N_EPN_KEYS);
    expect_common(o, &e, 3, fs, "epn");
    expect_real(o, "mepp_rate_hz", 212.5, ROUND_TOL);
    expect_real(o, "mepp_median_uv", 31.25, ROUND_TOL);
    expect_int(o, "eps_count", 7);
    expect_real(o, "eps_rate_hz", 3.5, ROUND_TOL);
    expect_real(o, "eps_median_uv", 150.75, ROUND_TOL);
    expect_real(o, "eps_cv", 0.42, ROUND_TOL);
    expect_real(o, "skewness", -1.37, ROUND_TOL);
    expect_real(o, "duration_ms", 2000.0, ROUND_TOL);
    release(o);

    /* Train info given to an EPN is ignored. */
    tw_train_info tr = {1, 1, 0.5, -1, -1.0};
    o = roundtrip(&e, 3, fs, &tr, line, sizeof line);
    expect_keys(o, epn_keys, N_EPN_KEYS);
    release(o);
}

static void test_times(void **state)
{
    (void)state;
    char line[2048];
    static const double rates[] = {250, 1000, 4000, 44100, 48000, 96000, 192000};
    tw_event e = ltr_event();
    quiet = 1;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        double fs = rates[r];
        static const double at_s[] = {0.0, 0.0137, 1.0, 59.999, 999.8};
        for (size_t i = 0; i < sizeof at_s / sizeof at_s[0]; i++) {
            e.onset_sample = (int64_t)llround(at_s[i] * fs) + 1;
            e.offset_sample = e.onset_sample + (int64_t)(0.1 * fs);
            json_t *o = roundtrip(&e, 0, fs, NULL, line, sizeof line);
            expect_common(o, &e, 0, fs, "ltr");
            release(o);
        }
    }
    quiet = 0;
}

/* A live session runs for hours: the times must stay exact to 1e-9 s
 * there too (and the sample indices exact). */
static void test_times_long_session(void **state)
{
    (void)state;
    char line[2048];
    static const double rates[] = {250, 44100, 48000, 192000};
    static const double at_h[] = {0.3, 1.0, 12.0, 48.0};
    tw_event e = ltr_event();
    quiet = 1;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        double fs = rates[r];
        for (size_t i = 0; i < sizeof at_h / sizeof at_h[0]; i++) {
            e.onset_sample = (int64_t)(at_h[i] * 3600 * fs) + 12345;
            e.offset_sample = e.onset_sample + 4321;
            json_t *o = roundtrip(&e, 0, fs, NULL, line, sizeof line);
            expect_int(o, "onset_sample", e.onset_sample);
            expect_int(o, "offset_sample", e.offset_sample);
            /* Always far finer than a sample... */
            expect_real(o, "onset_s", (double)e.onset_sample / fs, 0.01 / fs);
            expect_real(o, "offset_s", (double)e.offset_sample / fs, 0.01 / fs);
            /* ...and exact to 1e-9 s. */
            expect_real(o, "onset_s", (double)e.onset_sample / fs, 1e-9);
            expect_real(o, "offset_s", (double)e.offset_sample / fs, 1e-9);
            release(o);
        }
    }
    quiet = 0;
}

static void test_non_finite(void **state)
{
    (void)state;
    char line[2048];
    tw_event e = ltr_event();
    e.snr_db = -INFINITY; /* rms 0 */
    e.rms_uv = NAN;
    json_t *o = roundtrip(&e, 0, 48000, NULL, line, sizeof line);
    expect_null(o, "snr_db");
    expect_null(o, "rms_uv");
    release(o);
    tw_event p = epn_event();
    p.eps_cv = NAN; /* fewer than two spikes */
    o = roundtrip(&p, 0, 48000, NULL, line, sizeof line);
    expect_null(o, "eps_cv");
    release(o);
}

/* A signal 1000 times too small (input.full_scale_uv wrong): amplitudes
 * of a few nV keep 4 significant digits, never 0.0 (issue 13); large ones
 * keep 0.01, and the line carries the short decimal. */
static void test_small_amplitudes(void **state)
{
    (void)state;
    char line[2048];
    tw_event p = epn_event();
    p.peak_uv = 0.0012346f;
    p.p2p_uv = 0.3104f;
    p.rms_uv = 2.5e-5f;
    p.mepp_median_uv = 0.0011f;
    p.noise_uv = -0.000987654f;
    json_t *o = roundtrip(&p, 0, 48000, NULL, line, sizeof line);
    expect_real(o, "peak_uv", 0.001235, 1e-9);
    expect_real(o, "p2p_uv", 0.3104, 1e-9);
    expect_real(o, "rms_uv", 2.5e-5, 1e-12);
    expect_real(o, "mepp_median_uv", 0.0011, 1e-9);
    expect_real(o, "noise_uv", -0.0009877, 1e-11);
    expect_real(o, "eps_median_uv", 150.75, 1e-9);
    assert_non_null(strstr(line, "\"peak_uv\":0.001235,"));
    release(o);
    assert_true(tw_event_round(0.0) == 0.0);
    assert_true(tw_event_round(1234.5678) == 1234.57);
    assert_true(tw_event_round(9.87654) == 9.877);
    assert_true(tw_event_round(-12.345678) == -12.35);
    assert_true(isnan(tw_event_round(NAN)));
}

static void test_start_notice(void **state)
{
    (void)state;
    char line[2048];
    static const char *const keys[] = {"type", "channel", "onset_s",
                                       "onset_sample", "emitted_s", "start"};
    for (int t = 0; t < 2; t++) {
        tw_event e = t ? epn_event() : ltr_event();
        e.is_start = 1;
        json_t *o = roundtrip(&e, 2, 48000, NULL, line, sizeof line);
        expect_keys(o, keys, 6);
        assert_string_equal(json_string_value(field(o, "type")), t ? "epn" : "ltr");
        assert_true(json_is_true(field(o, "start")));
        expect_int(o, "channel", 2);
        expect_int(o, "onset_sample", e.onset_sample);
        expect_real(o, "onset_s", (double)e.onset_sample / 48000, 1e-9);
        release(o);
    }
}

static void test_small_buffer(void **state)
{
    (void)state;
    char line[2048];
    tw_event e = ltr_event();
    tw_train_info tr = {0, 0, 1.0, -1, -1.0};
    int n = tw_event_format(&e, 0, 48000, &tr, 0, line, sizeof line);
    assert_true(n > 0);
    char *exact = malloc((size_t)n + 1);
    assert_non_null(exact);
    memset(exact, 'Z', (size_t)n + 1);
    assert_int_equal(tw_event_format(&e, 0, 48000, &tr, 0, exact, (size_t)n + 1), n);
    assert_memory_equal(exact, line, (size_t)n + 1);
    free(exact);
    /* One byte short: no room for the NUL. */
    char *shy = malloc((size_t)n);
    assert_non_null(shy);
    assert_int_equal(tw_event_format(&e, 0, 48000, &tr, 0, shy, (size_t)n), -1);
    free(shy);
    char tiny[16];
    assert_int_equal(tw_event_format(&e, 0, 48000, &tr, 0, tiny, sizeof tiny), -1);
    assert_int_equal(tw_event_format(&e, 0, 48000, &tr, 0, tiny, 1), -1);
    assert_int_equal(tw_event_format(&e, 0, 48000, &tr, 0, tiny, 0), -1);
}

/* ---- trains ------------------------------------------------------------- */

static tw_event ltr_at(int64_t onset, int64_t offset, float p2p)
{
    tw_event e = ltr_event();
    e.onset_sample = onset;
    e.offset_sample = offset;
    e.p2p_uv = p2p;
    return e;
}

static void expect_train(tw_train_info r, int id, int index, double rel)
{
    if (r.train_id != id || r.train_index != index || fabs(r.rel_amp - rel) > 1e-9)
        fail_msg("train %d index %d rel_amp %g, want %d %d %g", r.train_id,
                 r.train_index, r.rel_amp, id, index, rel);
}

static void test_trains(void **state)
{
    (void)state;
    const double fs = 1000, gap_s = 3.0; /* gap: 3000 samples */
    tw_trains t;
    tw_trains_init(&t, gap_s, fs);
    tw_event e;

    e = ltr_at(1000, 1100, 1000);
    expect_train(tw_trains_add(&t, &e), 0, 0, 1.0);
    /* Onset exactly gap after the previous offset: same train. */
    e = ltr_at(1100 + 3000, 4300, 800);
    expect_train(tw_trains_add(&t, &e), 0, 1, 0.8);
    /* Relative to the first LTR, not the previous one. */
    e = ltr_at(4300 + 100, 4500, 600);
    expect_train(tw_trains_add(&t, &e), 0, 2, 0.6);
    /* A long LTR: the gap counts from its offset. */
    e = ltr_at(4600, 9000, 1200);
    expect_train(tw_trains_add(&t, &e), 0, 3, 1.2);
    e = ltr_at(9000 + 3000, 12100, 500);
    expect_train(tw_trains_add(&t, &e), 0, 4, 0.5);
    /* One sample more than the gap: a new train. */
    e = ltr_at(12100 + 3001, 15200, 400);
    expect_train(tw_trains_add(&t, &e), 1, 0, 1.0);
    e = ltr_at(15300, 15400, 200);
    expect_train(tw_trains_add(&t, &e), 1, 1, 0.5);
    e = ltr_at(100000, 100100, 900);
    expect_train(tw_trains_add(&t, &e), 2, 0, 1.0);

    /* A train whose first p2p is 0: rel_amp 1, never a division by 0. */
    e = ltr_at(200000, 200100, 0);
    expect_train(tw_trains_add(&t, &e), 3, 0, 1.0);
    e = ltr_at(200200, 200300, 700);
    tw_train_info r = tw_trains_add(&t, &e);
    expect_train(r, 3, 1, 1.0);
    assert_true(isfinite(r.rel_amp));

    /* Another channel's trains are its own. */
    tw_trains u;
    tw_trains_init(&u, gap_s, fs);
    e = ltr_at(200250, 200260, 350);
    expect_train(tw_trains_add(&u, &e), 0, 0, 1.0);

    /* The gap scales with the rate: 0.5 s at 48 kHz is 24000 samples. */
    tw_trains_init(&u, 0.5, 48000);
    e = ltr_at(0, 4800, 100);
    expect_train(tw_trains_add(&u, &e), 0, 0, 1.0);
    e = ltr_at(4800 + 24000, 30000, 50);
    expect_train(tw_trains_add(&u, &e), 0, 1, 0.5);
    e = ltr_at(30000 + 24001, 60000, 50);
    expect_train(tw_trains_add(&u, &e), 1, 0, 1.0);
}

/* The train info goes into the JSON as the encoder gets it. */
static void test_trains_json(void **state)
{
    (void)state;
    char line[2048];
    tw_trains t;
    tw_trains_init(&t, 3.0, 48000);
    tw_event a = ltr_at(48000, 52800, 1000), b = ltr_at(96000, 100800, 333);
    tw_train_info ra = tw_trains_add(&t, &a), rb = tw_trains_add(&t, &b);
    json_t *o = roundtrip(&a, 0, 48000, &ra, line, sizeof line);
    expect_int(o, "train", 0);
    expect_int(o, "train_index", 0);
    expect_real(o, "rel_amp", 1.0, ROUND_TOL);
    release(o);
    o = roundtrip(&b, 0, 48000, &rb, line, sizeof line);
    expect_int(o, "train", 0);
    expect_int(o, "train_index", 1);
    expect_real(o, "rel_amp", 0.333, ROUND_TOL);
    release(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ltr_fields, teardown_live),
        cmocka_unit_test_teardown(test_epn_fields, teardown_live),
        cmocka_unit_test_teardown(test_times, teardown_live),
        cmocka_unit_test_teardown(test_times_long_session, teardown_live),
        cmocka_unit_test_teardown(test_non_finite, teardown_live),
        cmocka_unit_test_teardown(test_small_amplitudes, teardown_live),
        cmocka_unit_test_teardown(test_start_notice, teardown_live),
        cmocka_unit_test_teardown(test_small_buffer, teardown_live),
        cmocka_unit_test_teardown(test_trains, teardown_live),
        cmocka_unit_test_teardown(test_trains_json, teardown_live),
    };
    return cmocka_run_group_tests_name("event_json", tests, NULL, NULL);
}
