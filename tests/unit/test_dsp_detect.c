/* test_dsp_detect.c: the per-channel pipeline (dsp/channel.h) with its LTR
 * and EPN detectors (ltrdet.h, epndet.h) and conditioning (condition.h).
 *
 * The test scene is built here from our own seeded generator (the seed is
 * printed; TW_TEST_SEED replays it), at 48 kHz:
 *   - Gaussian noise, 5 uV;
 *   - LTR-like bursts: 50-200 ms of 5-10 ms triphasic pulses (windowed
 *     Mexican hats with zero net area, main phase 500-1500 uV, either
 *     polarity) 3-15 ms apart, one of them in the middle of an EPN episode;
 *   - EPN episodes: 3-6 s of Poisson monophasic NEGATIVE pulses, 300/s,
 *     20-40 uV, 0.3 ms linear rise and 0.5 ms exponential decay;
 *   - noise-only stretches of 1.5-3 s between them, 3 s at each end.
 *
 * What is asserted:
 *  - every LTR is found once, onset within 5 ms of the truth, offset
 *    within 15 ms, peak within 20 % of the burst's, in_epn set for
 *    the one inside an EPN episode and only for it, at least one turn per
 *    pulse; every EPN episode is overlapped by an EPN event with negative
 *    skewness, a MEPP rate of 90-450/s (truth 300/s), a MEPP median of
 *    15-45 uV and edges within 300 / 500 ms; no event of either type
 *    anywhere else (the noise-only stretches);
 *  - block-size invariance: block sizes 1, 7, 64, 4096 and the whole
 *    signal give identical event lists (every tw_event field compared
 *    bit for bit with memcmp), with onset notices enabled, and again after
 *    tw_channel_reset;
 *  - tw_channel_max_events(n) bounds the events of every call (also for a
 *    parameter set made to produce as many events as possible); a too small
 *    array gives TW_EOVERFLOW and counts the loss;
 *  - tw_ltrdet_prepare changes nothing: the LTR detector alone on the
 *    scene (every 8th sample, 6 kHz) gives the same return masks and
 *    events (memcmp) sample by sample whether it steps alone or with
 *    samples prepared ahead in chunks of 1, 5, 100, 256 and 1000 (capped
 *    at TW_LTR_PREP, part of them stepped before more are prepared), and
 *    after tw_ltrdet_reset drops what was prepared;
 *  - tw_channel_execute_block makes no malloc/calloc/realloc/free call
 *    (counted by interposing them; skipped under ASan, which owns them);
 *  - bad parameters of every create (channel, ltrdet, epndet, condition)
 *    give NULL; tw_strerror describes every code;
 *  - every rate 250 Hz .. 192 kHz, needle and surface: create works with
 *    the documented warnings and band, and 2 s of noise + a 50 mV step
 *    give only finite output (conditioned samples, events, noise floor);
 *  - mains (100 uV, 50/60 Hz, odd harmonics to 3 kHz) through the whole
 *    channel at 44.1/48/96 kHz: no event, noise floor within 10 % of the
 *    noise-only floor;
 *  - conditioning honours its documented low-edge range (0.5 .. 1000 Hz)
 *    at the common audio rates (-3 dB at the edge).
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
#include "condition.h"
#include "epndet.h"
#include "ltrdet.h"
#include "tw_dsp.h"
#include "tw_test_util.h"

#include "tw_malloc_count.h" /* defines malloc & co. for this test */

/* ---- the test scene ---- */
#define FS 48000.0
#define NOISE_UV 5.0
#define MAXT 16

typedef struct {
    int64_t on, off; /* input samples, inclusive */
    float peak;      /* largest |burst| (LTR) */
    int pulses;      /* triphasic pulses in it (LTR) */
    int in_epn;      /* LTR inside an EPN episode */
} truth_t;

typedef struct {
    size_t n;
    float *x;
    truth_t ltr[MAXT], epn[MAXT];
    int nltr, nepn;
} scene_t;

/* A 5-10 ms triphasic pulse: a Mexican hat (+-3 sigma) main phase of
 * amplitude a (sign included) in the middle, under a flat-top window, with
 * a smooth Hann-shaped correction that makes its net area exactly zero
 * (an extracellular MUAP has almost none: a pulse with net area would
 * leave a long high-pass tail that no real burst has). Added to x;
 * returns its largest |value|. */
static float add_triphasic(float *x, size_t n, size_t at, size_t len, double a)
{
    double v[1024], h[1024], sv = 0.0, sh = 0.0;
    assert_true(len <= 1024 && len >= 8);
    for (size_t i = 0; i < len; i++) {
        double u = (double)i / (double)(len - 1);
        double z = (u - 0.5) * 6.0;
        double w = u < 0.1 ? sin(M_PI * u / 0.2) : u > 0.9 ? sin(M_PI * (1.0 - u) / 0.2) : 1.0;
        v[i] = a * (1.0 - z * z) * exp(-0.5 * z * z) * w * w;
        h[i] = sin(M_PI * u) * sin(M_PI * u);
        sv += v[i];
        sh += h[i];
    }
    float pk = 0.0f;
    for (size_t i = 0; i < len; i++) {
        double y = v[i] - sv / sh * h[i];
        if (at + i < n)
            x[at + i] += (float)y;
        if (fabs(y) > pk)
            pk = (float)fabs(y);
    }
    return pk;
}

/* MEPP: linear rise over 0.3 ms to -a, then exponential decay (0.5 ms),
 * cut after 5 ms. */
static void add_mepp(float *x, size_t n, size_t at, double a)
{
    size_t rise = (size_t)(0.3e-3 * FS + 0.5), len = (size_t)(5e-3 * FS);
    for (size_t i = 0; i < len && at + i < n; i++) {
        double v;
        if (i < rise)
            v = (double)(i + 1) / (double)rise;
        else
            v = exp(-(double)(i - rise) / (0.5e-3 * FS));
        x[at + i] -= (float)(a * v);
    }
}

static void add_ltr(scene_t *s, tt_rng *r, size_t at, int in_epn)
{
    double dur_s = tt_uniform(r, 0.050, 0.200);
    size_t blen = (size_t)(dur_s * FS), t = 0, last_end = 0;
    int pulses = 0;
    float *b = tt_xcalloc(blen + 1024, sizeof *b); /* the burst alone */
    while (1) {
        size_t len = (size_t)(tt_uniform(r, 5e-3, 10e-3) * FS);
        if (t > 0 && t + len > blen)
            break;
        double a = tt_uniform(r, 500.0, 1500.0) * (tt_u01(r) < 0.7 ? -1.0 : 1.0);
        add_triphasic(b, blen + 1024, t, len, a);
        pulses++;
        if (t + len - 1 > last_end)
            last_end = t + len - 1;
        t += (size_t)(tt_uniform(r, 3e-3, 15e-3) * FS);
    }
    float pk = 0.0f;
    for (size_t i = 0; i <= last_end && at + i < s->n; i++) {
        s->x[at + i] += b[i];
        if (fabsf(b[i]) > pk)
            pk = fabsf(b[i]);
    }
    free(b);
    truth_t *tr = &s->ltr[s->nltr++];
    tr->on = (int64_t)at;
    tr->off = (int64_t)(at + last_end);
    tr->peak = pk;
    tr->pulses = pulses;
    tr->in_epn = in_epn;
}

static void add_epn(scene_t *s, tt_rng *r, size_t at, size_t len)
{
    double t = tt_exp(r, 1.0 / 300.0);
    size_t first = 0, last = 0;
    int any = 0;
    while (t * FS < (double)len) {
        size_t i = at + (size_t)(t * FS);
        add_mepp(s->x, s->n, i, tt_uniform(r, 20.0, 40.0));
        if (!any)
            first = i;
        any = 1;
        last = i + (size_t)(1.5e-3 * FS);
        t += tt_exp(r, 1.0 / 300.0);
    }
    truth_t *tr = &s->epn[s->nepn++];
    tr->on = (int64_t)first;
    tr->off = (int64_t)last;
    tr->peak = 0.0f;
    tr->in_epn = 0;
}

/* 3 s noise, then LTR, EPN, LTR, EPN with an LTR inside, LTR, LTR, EPN,
 * LTR, separated by 1.5-3 s of noise, then 3 s of noise. */
static void make_scene(scene_t *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    tt_rng r;
    tt_rng_seed(&r, seed);
    const char *plan = "LELeLLEL";
    /* lay out first, to know the length */
    size_t at[16], len[16], t = (size_t)(3.0 * FS);
    size_t np = strlen(plan);
    for (size_t i = 0; i < np; i++) {
        at[i] = t;
        len[i] = plan[i] == 'L' ? (size_t)(0.2 * FS)
                                : (size_t)(tt_uniform(&r, 3.0, 6.0) * FS);
        t += len[i] + (size_t)(tt_uniform(&r, 1.5, 3.0) * FS);
    }
    s->n = t + (size_t)(3.0 * FS);
    s->x = tt_xcalloc(s->n, sizeof *s->x);
    for (size_t i = 0; i < s->n; i++)
        s->x[i] = (float)(NOISE_UV * tt_gauss(&r));
    for (size_t i = 0; i < np; i++) {
        if (plan[i] == 'L') {
            add_ltr(s, &r, at[i], 0);
        } else {
            add_epn(s, &r, at[i], len[i]);
            if (plan[i] == 'e') /* an LTR in the middle of the episode */
                add_ltr(s, &r, at[i] + len[i] / 2, 1);
        }
    }
}

/* ---- running a channel ---- */
typedef struct {
    tw_event *ev;
    size_t n, cap;
    int overflow;        /* a call returned TW_EOVERFLOW */
    int over_bound;      /* a call produced more than tw_channel_max_events */
    size_t max_in_call;
} evlist_t;

static void evlist_push(evlist_t *l, const tw_event *e, size_t n)
{
    if (n == 0)
        return;
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap : 64;
        while (cap < l->n + n)
            cap *= 2;
        tw_event *ev = tt_xcalloc(cap, sizeof *ev);
        if (l->n)
            memcpy(ev, l->ev, l->n * sizeof *ev);
        free(l->ev);
        l->ev = ev;
        l->cap = cap;
    }
    memcpy(l->ev + l->n, e, n * sizeof *e);
    l->n += n;
}

/* Feed x in blocks of `block` (0: all at once); each call gets an array of
 * exactly tw_channel_max_events(block) + 8 (zeroed) and must return TW_OK
 * with no more than the bound. */
static void run_channel(tw_channel *q, const float *x, size_t n, size_t block, evlist_t *out)
{
    memset(out, 0, sizeof *out);
    if (block == 0)
        block = n;
    size_t bound = tw_channel_max_events(q, block);
    tw_event *ev = tt_xcalloc(bound + 8, sizeof *ev);
    for (size_t i = 0; i < n; i += block) {
        size_t b = n - i < block ? n - i : block;
        size_t cap = tw_channel_max_events(q, b);
        size_t nev = 12345;
        memset(ev, 0, (bound + 8) * sizeof *ev);
        int rc = tw_channel_execute_block(q, x + i, b, ev, cap + 8, &nev);
        if (rc == TW_EOVERFLOW)
            out->overflow = 1;
        else
            assert_int_equal(rc, TW_OK);
        if (nev > cap)
            out->over_bound = 1;
        if (nev > out->max_in_call)
            out->max_in_call = nev;
        evlist_push(out, ev, nev);
    }
    free(ev);
}

static void print_event(const char *tag, const tw_event *e)
{
    printf("[ EVENT    ] %s %s%s onset %.4f s offset %.4f s (%.1f ms) peak %.0f p2p %.0f rms %.1f "
           "noise %.2f in_epn %.0f turns %d mepp %.0f/s %.1f uV skew %.2f\n",
           tag, e->type == TW_EVT_LTR ? "LTR" : e->type == TW_EVT_EPN ? "EPN" : "???",
           e->is_start ? " (start)" : "", (double)e->onset_sample / FS,
           (double)e->offset_sample / FS,
           1e3 * (double)(e->offset_sample - e->onset_sample + 1) / FS, e->peak_uv, e->p2p_uv,
           e->rms_uv, e->noise_uv, e->in_epn, e->turns, e->mepp_rate_hz, e->mepp_median_uv,
           e->skewness);
}

static int overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1, int64_t margin)
{
    return a0 <= b1 + margin && b0 <= a1 + margin;
}

static uint64_t g_scene_seed;
static scene_t g_scene;

static int setup_scene(void **state)
{
    (void)state;
    g_scene_seed = tt_seed("detection scene (48 kHz)", 0x7217C4);
    make_scene(&g_scene, g_scene_seed);
    return 0;
}

static int teardown_scene(void **state)
{
    (void)state;
    free(g_scene.x);
    memset(&g_scene, 0, sizeof g_scene);
    return 0;
}

static tw_channel *needle_channel(int emit_starts)
{
    tw_channel_params p;
    tw_channel_params_default(&p, FS, TW_ELECTRODE_NEEDLE);
    p.emit_starts = emit_starts;
    unsigned warn = 99;
    tw_channel *q = tw_channel_create(&p, &warn);
    assert_non_null(q);
    assert_int_equal(warn, 0);
    return q;
}

static void test_detection_scene(void **state)
{
    (void)state;
    const scene_t *s = &g_scene;
    printf("[ INFO     ] scene seed %" PRIu64 ": %.1f s, %d LTRs, %d EPN episodes\n",
           g_scene_seed, (double)s->n / FS, s->nltr, s->nepn);
    tw_channel *q = needle_channel(0);
    evlist_t l;
    run_channel(q, s->x, s->n, 4096, &l);
    assert_int_equal(tw_channel_get_samples(q), (int64_t)s->n);
    assert_false(l.overflow);
    assert_int_equal(tw_channel_get_lost_events(q), 0);
    printf("[ INFO     ] noise floor at the end %.3f uV (detector rate %.0f Hz)\n",
           tw_channel_get_noise_uv(q), tw_channel_get_detector_rate(q));

    int failures = 0;
    const int64_t ms = (int64_t)(FS / 1000.0);
    /* every truth LTR found once, onset within 5 ms */
    for (int i = 0; i < s->nltr; i++) {
        const truth_t *t = &s->ltr[i];
        int hits = 0;
        for (size_t k = 0; k < l.n; k++) {
            const tw_event *e = &l.ev[k];
            if (e->type != TW_EVT_LTR || !overlaps(e->onset_sample, e->offset_sample, t->on,
                                                   t->off, 20 * ms))
                continue;
            hits++;
            double don = (double)(e->onset_sample - t->on) / ms;
            double doff = (double)(e->offset_sample - t->off) / ms;
            printf("[ INFO     ] LTR %d at %.4f s (%.0f ms, %d pulses, peak %.0f uV%s): onset "
                   "%+.2f ms, offset %+.2f ms, peak %.0f uV, turns %d, in_epn %.0f\n",
                   i, (double)t->on / FS, (double)(t->off - t->on + 1) / ms, t->pulses, t->peak,
                   t->in_epn ? ", inside EPN" : "", don, doff, e->peak_uv, e->turns, e->in_epn);
            if (fabs(don) > 5.0) {
                printf("[ DETAIL   ] LTR %d: onset off by %.2f ms (want within 5 ms)\n", i, don);
                failures++;
            }
            if (fabs(doff) > 15.0) {
                printf("[ DETAIL   ] LTR %d: offset off by %.2f ms (want within 15 ms)\n", i,
                       doff);
                failures++;
            }
            if (fabs(e->peak_uv / t->peak - 1.0) > 0.2) {
                printf("[ DETAIL   ] LTR %d: peak %.0f uV, truth %.0f uV (want within 20 %%)\n",
                       i, e->peak_uv, t->peak);
                failures++;
            }
            if (e->turns < t->pulses) { /* each pulse turns at least twice */
                printf("[ DETAIL   ] LTR %d: %d turns for %d triphasic pulses\n", i, e->turns,
                       t->pulses);
                failures++;
            }
            if ((e->in_epn != 0.0f) != (t->in_epn != 0)) {
                printf("[ DETAIL   ] LTR %d: in_epn %.0f, truth %d\n", i, e->in_epn, t->in_epn);
                failures++;
            }
            if (!(e->rms_uv > 0.0f && e->noise_uv > 0.0f && e->p2p_uv >= e->peak_uv &&
                  isfinite(e->snr_db)))
                failures++;
        }
        if (hits != 1) {
            printf("[ DETAIL   ] LTR %d at %.4f s: %d LTR events (want 1)\n", i,
                   (double)t->on / FS, hits);
            failures++;
        }
    }
    /* every EPN episode overlapped, with negative skew */
    for (int i = 0; i < s->nepn; i++) {
        const truth_t *t = &s->epn[i];
        int hits = 0;
        for (size_t k = 0; k < l.n; k++) {
            const tw_event *e = &l.ev[k];
            if (e->type != TW_EVT_EPN || !overlaps(e->onset_sample, e->offset_sample, t->on,
                                                   t->off, 0))
                continue;
            hits++;
            printf("[ INFO     ] EPN %d %.3f-%.3f s: event %.3f-%.3f s (onset %+.0f ms, offset "
                   "%+.0f ms), mepp %.0f/s median %.1f uV, skewness %.2f\n",
                   i, (double)t->on / FS, (double)t->off / FS, (double)e->onset_sample / FS,
                   (double)e->offset_sample / FS, (double)(e->onset_sample - t->on) / ms,
                   (double)(e->offset_sample - t->off) / ms, e->mepp_rate_hz,
                   e->mepp_median_uv, e->skewness);
            if (!(e->skewness < 0.0f)) {
                printf("[ DETAIL   ] EPN %d: skewness %.2f (want < 0)\n", i, e->skewness);
                failures++;
            }
            /* the features the researchers read: MEPPs come at 300/s,
             * 20-40 uV (a peak counter with a 1 ms dead time and overlaps
             * sees fewer, but not none) */
            if (!(e->mepp_rate_hz >= 90.0f && e->mepp_rate_hz <= 450.0f)) {
                printf("[ DETAIL   ] EPN %d: mepp_rate_hz %.1f (truth 300/s, want 90 .. 450)\n",
                       i, e->mepp_rate_hz);
                failures++;
            }
            if (!(e->mepp_median_uv >= 15.0f && e->mepp_median_uv <= 45.0f)) {
                printf("[ DETAIL   ] EPN %d: mepp_median_uv %.1f (truth 20-40 uV)\n", i,
                       e->mepp_median_uv);
                failures++;
            }
            /* bin-granular edges: within the confirm (300 ms) and release
             * (500 ms) spans of the defaults */
            if (llabs(e->onset_sample - t->on) > 300 * ms ||
                llabs(e->offset_sample - t->off) > 500 * ms) {
                printf("[ DETAIL   ] EPN %d: edges off by %+.0f / %+.0f ms\n", i,
                       (double)(e->onset_sample - t->on) / ms,
                       (double)(e->offset_sample - t->off) / ms);
                failures++;
            }
        }
        if (hits < 1) {
            printf("[ DETAIL   ] EPN %d %.3f-%.3f s: not found\n", i, (double)t->on / FS,
                   (double)t->off / FS);
            failures++;
        }
    }
    /* no event anywhere else */
    for (size_t k = 0; k < l.n; k++) {
        const tw_event *e = &l.ev[k];
        int ok = 0;
        if (e->type == TW_EVT_LTR) {
            for (int i = 0; i < s->nltr && !ok; i++)
                ok = overlaps(e->onset_sample, e->offset_sample, s->ltr[i].on, s->ltr[i].off,
                              20 * ms);
        } else if (e->type == TW_EVT_EPN) {
            for (int i = 0; i < s->nepn && !ok; i++)
                ok = overlaps(e->onset_sample, e->offset_sample, s->epn[i].on, s->epn[i].off, 0);
        }
        if (!ok || e->is_start) {
            print_event("false", e);
            failures++;
        }
    }
    if (failures)
        for (size_t k = 0; k < l.n; k++)
            print_event("all", &l.ev[k]);
    free(l.ev);
    tw_channel_destroy(q);
    if (failures)
        fail_msg("%d detection failures (scene seed %" PRIu64 ")", failures, g_scene_seed);
}

/* Every field, bit for bit (memcmp per field: padding is not compared).
 * The size check (on the 64-bit ABIs, where it is 128 bytes) makes a new
 * tw_event field fail the build here until it is added to the list. */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(tw_event) == 128,
               "tw_event changed: compare its new fields in event_equal()");
#endif

static int event_equal(const tw_event *a, const tw_event *b, char *why, size_t whylen)
{
#define CMP(f)                                                                                 \
    if (memcmp(&a->f, &b->f, sizeof a->f) != 0) {                                              \
        snprintf(why, whylen, "field " #f " differs");                                          \
        return 0;                                                                              \
    }
    CMP(type) CMP(is_start) CMP(reject) CMP(cand) CMP(id)
    CMP(onset_sample) CMP(offset_sample) CMP(emitted_sample)
    CMP(peak_uv) CMP(p2p_uv)
    CMP(rms_uv) CMP(noise_uv) CMP(snr_db) CMP(movement_sample) CMP(latency_ms) CMP(turns)
    CMP(in_epn) CMP(mepp_rate_hz) CMP(mepp_median_uv) CMP(eps_count) CMP(eps_rate_hz)
    CMP(eps_median_uv) CMP(eps_cv) CMP(skewness)
#undef CMP
    return 1;
}

/* 1 if the lists are identical; else prints the difference and fills
 * msg. */
static int same_events(const evlist_t *a, const evlist_t *b, const char *what, char *msg,
                       size_t msglen)
{
    if (a->n != b->n) {
        for (size_t k = 0; k < a->n; k++)
            print_event("reference", &a->ev[k]);
        for (size_t k = 0; k < b->n; k++)
            print_event(what, &b->ev[k]);
        snprintf(msg, msglen, "%s: %zu events, the reference has %zu", what, b->n, a->n);
        return 0;
    }
    for (size_t k = 0; k < a->n; k++) {
        char why[64];
        if (!event_equal(&a->ev[k], &b->ev[k], why, sizeof why)) {
            print_event("reference", &a->ev[k]);
            print_event(what, &b->ev[k]);
            snprintf(msg, msglen, "%s: event %zu: %s", what, k, why);
            return 0;
        }
    }
    return 1;
}

/* The channel of the invariance test: the defaults with onset notices. */
static tw_channel *invariance_channel(void) { return needle_channel(1); }

static void test_block_size_invariance(void **state)
{
    (void)state;
    const scene_t *s = &g_scene;
    static const size_t blocks[] = {0, 1, 7, 64, 4096};
    evlist_t ref, l;
    tw_channel *q = invariance_channel();
    run_channel(q, s->x, s->n, 0, &ref);
    int starts = 0, ltrs = 0, epns = 0;
    for (size_t k = 0; k < ref.n; k++) {
        starts += ref.ev[k].is_start;
        ltrs += !ref.ev[k].is_start && ref.ev[k].type == TW_EVT_LTR;
        epns += !ref.ev[k].is_start && ref.ev[k].type == TW_EVT_EPN;
    }
    printf("[ INFO     ] whole signal: %zu events (%d LTR, %d EPN, %d onset notices)\n", ref.n,
           ltrs, epns, starts);
    if (ltrs < 1 || epns < 1 || starts < 2)
        fail_msg("the reference run must hold LTRs, EPN episodes and onset notices for the "
                 "comparison to cover both detectors (%d, %d, %d)", ltrs, epns, starts);
    for (size_t b = 1; b < sizeof blocks / sizeof blocks[0]; b++) {
        tw_channel_destroy(q);
        q = invariance_channel();
        run_channel(q, s->x, s->n, blocks[b], &l);
        char what[32], msg[128];
        snprintf(what, sizeof what, "block size %zu", blocks[b]);
        int same = same_events(&ref, &l, what, msg, sizeof msg), over = l.over_bound;
        free(l.ev);
        if (!same || over) {
            free(ref.ev);
            tw_channel_destroy(q);
            if (!same)
                fail_msg("%s", msg);
            fail_msg("block size %zu: more events in a call than tw_channel_max_events", blocks[b]);
        }
    }
    /* the same again after reset, with odd block sizes */
    tw_channel_reset(q);
    assert_int_equal(tw_channel_get_samples(q), 0);
    run_channel(q, s->x, s->n, 1000, &l);
    char msg[128];
    int same = same_events(&ref, &l, "after reset, block size 1000", msg, sizeof msg);
    free(l.ev);
    free(ref.ev);
    tw_channel_destroy(q);
    if (!same)
        fail_msg("%s", msg);
}

/* The LTR detector alone over the scene at 6 kHz: stepped sample by
 * sample (chunk 0), or with tw_ltrdet_prepare asked for `chunk` samples
 * whenever fewer than chunk / 2 + 1 are prepared and waiting. Returns a
 * hash of every return mask and event, and the count of events. */
typedef struct {
    uint64_t hash;
    int events, started;
} ltr_run_t;

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211ull; /* FNV-1a */
}

static ltr_run_t run_ltrdet(tw_ltrdet *q, const float *y, size_t n, size_t chunk)
{
    ltr_run_t r = {14695981039346656037ull, 0, 0};
    size_t ready = 0; /* prepared and not yet stepped */
    for (size_t i = 0; i < n; i++) {
        if (chunk && ready < chunk / 2 + 1 && i + ready < n) {
            size_t want = chunk < n - i - ready ? chunk : n - i - ready;
            ready += tw_ltrdet_prepare(q, y + i + ready, y + i + ready, want);
        }
        tw_event e;
        memset(&e, 0, sizeof e);
        int f = tw_ltrdet_step(q, y[i], y[i], (float)NOISE_UV, &e);
        if (ready)
            ready--;
        hash_bytes(&r.hash, &f, sizeof f);
        if (f) {
            hash_bytes(&r.hash, &e, sizeof e);
            r.events += !!(f & TW_LTR_ENDED);
            r.started += !!(f & TW_LTR_STARTED);
        }
    }
    tw_event e;
    memset(&e, 0, sizeof e);
    int f = tw_ltrdet_flush(q, &e);
    hash_bytes(&r.hash, &f, sizeof f);
    if (f)
        hash_bytes(&r.hash, &e, sizeof e);
    return r;
}

static void test_ltrdet_prepare_same(void **state)
{
    (void)state;
    const scene_t *s = &g_scene;
    size_t n = s->n / 8;
    float *y = tt_xmalloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = s->x[8 * i];
    tw_ltrdet_params p;
    tw_ltrdet_params_default(&p, FS / 8);
    tw_ltrdet *q = tw_ltrdet_create(&p);
    assert_non_null(q);
    ltr_run_t ref = run_ltrdet(q, y, n, 0);
    printf("[ INFO     ] LTR detector alone at %.0f Hz: %d LTRs, %d onset notices\n", FS / 8,
           ref.events, ref.started);
    assert_true(ref.events >= 1);
    static const size_t chunks[] = {1, 5, 100, 256, 1000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        tw_ltrdet_reset(q);
        ltr_run_t r = run_ltrdet(q, y, n, chunks[c]);
        if (r.hash != ref.hash)
            fail_msg("prepared in chunks of %zu: %d LTRs, %d notices, not the same as "
                     "stepping alone (%d, %d)", chunks[c], r.events, r.started, ref.events,
                     ref.started);
    }
    /* samples prepared and then dropped by a reset change nothing */
    tw_ltrdet_reset(q);
    assert_int_equal(tw_ltrdet_prepare(q, y + 1000, y + 1000, 50), 50);
    tw_ltrdet_reset(q);
    ltr_run_t r = run_ltrdet(q, y, n, 0);
    tw_ltrdet_destroy(q);
    free(y);
    if (r.hash != ref.hash)
        fail_msg("after a reset that dropped prepared samples: not the same");
}

static void test_max_events_bound(void **state)
{
    (void)state;
    const scene_t *s = &g_scene;
    /* the scene with the defaults: never above the bound */
    static const size_t blocks[] = {1, 7, 64, 4096, 100000};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        tw_channel *q = needle_channel(1);
        evlist_t l;
        run_channel(q, s->x, s->n, blocks[b], &l);
        assert_false(l.over_bound);
        assert_false(l.overflow);
        free(l.ev);
        tw_channel_destroy(q);
    }

    /* a parameter set and signal made to produce events as fast as it can
     * (8 kHz, no decimation, onset notices): 1 ms envelope, no hang, 1 ms
     * shortest LTR, 10 ms EPN bins deciding alone; 2 s of 2 ms 1 kHz
     * bursts every 8 ms, then 3 s of negative spikes gated 10 ms on/off */
    tw_channel_params p;
    tw_channel_params_default(&p, 8000, TW_ELECTRODE_NEEDLE);
    p.emit_starts = 1;
    p.ltr.env_ms = 1;
    p.ltr.hang_ms = 0;
    p.ltr.min_ms = 1;
    p.ltr.min_peak_uv = 10;
    p.ltr.rel_k = 1;
    p.ltr.on_k = 2;
    p.ltr.off_ratio = 1;
    p.ltr.pre_ms = 0;
    p.ltr.post_ms = 0;
    p.ltr.band_frac = 0;
    p.ltr.min_rms_uv = 1;
    p.ltr.band_hi_hz = 2000;
    p.epn.bin_ms = 10;
    p.epn.win_bins = 1;
    p.epn.confirm_ms = 0;
    p.epn.release_ms = 0;
    p.epn.min_ms = 0;
    p.epn.z_on = 1;
    p.epn.skew_min = 0;
    p.epn.var_min = 1;
    p.epn.min_rate_hz = 0;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("max events stress", 0x3A7));
    size_t n = 8000 * 8;
    float *x = tt_xmalloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(NOISE_UV * tt_gauss(&r));
        if (i >= 16000 && i < 40000 && i % 64 < 16)
            x[i] += (float)(300.0 * sin(2.0 * M_PI * 1000.0 * (double)i / 8000.0)) -
                    ((i / 64) % 2 ? 100.0f : 0.0f);
    }
    for (size_t i = 40000; i + 8 < n; i++)
        if ((i / 80) % 2 == 0 && tt_u01(&r) < 0.06) {
            for (size_t j = 0; j < 8; j++)
                x[i + j] -= 60.0f * (float)(8 - j) / 8.0f;
            i += 8;
        }
    size_t worst = 0;
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        tw_channel *q = tw_channel_create(&p, NULL);
        assert_non_null(q);
        evlist_t l;
        run_channel(q, x, n, blocks[b], &l);
        if (l.over_bound || l.overflow)
            fail_msg("block %zu: a call produced more events than tw_channel_max_events",
                     blocks[b]);
        if (l.max_in_call > worst)
            worst = l.max_in_call;
        printf("[ INFO     ] stress, block %zu: %zu events, at most %zu in a call (bound %zu)\n",
               blocks[b], l.n, l.max_in_call, tw_channel_max_events(q, blocks[b]));
        if (l.n < 500)
            fail_msg("the stress signal gave only %zu events", l.n);
        free(l.ev);
        tw_channel_destroy(q);
    }

    /* too small an array: TW_EOVERFLOW, the surplus counted */
    tw_channel *q = needle_channel(0);
    evlist_t ref;
    run_channel(q, s->x, s->n, 0, &ref);
    assert_true(ref.n > 0);
    free(ref.ev);
    tw_channel_reset(q);
    tw_event ev[1];
    size_t nev = 99, total_lost = 0;
    int saw_overflow = 0;
    for (size_t i = 0; i < s->n; i += 48000) {
        size_t b = s->n - i < 48000 ? s->n - i : 48000;
        int rc = tw_channel_execute_block(q, s->x + i, b, ev, 0, &nev);
        assert_int_equal(nev, 0);
        if (rc == TW_EOVERFLOW)
            saw_overflow = 1;
        else
            assert_int_equal(rc, TW_OK);
    }
    total_lost = (size_t)tw_channel_get_lost_events(q);
    assert_true(saw_overflow);
    assert_int_equal(total_lost, ref.n);
    tw_channel_destroy(q);
    free(x);
}

static void test_no_alloc_in_execute(void **state)
{
    (void)state;
#ifdef TT_ASAN
    skip(); /* ASan owns malloc: the interposition is not possible there */
#else
    const scene_t *s = &g_scene;
    static const double rates[] = {8000, 44100, 48000, 192000};
    for (size_t ri = 0; ri < 4; ri++)
        for (int el = 0; el < 2; el++) {
            double fs = rates[ri];
            tw_channel_params p;
            tw_channel_params_default(&p, fs, el ? TW_ELECTRODE_SURFACE : TW_ELECTRODE_NEEDLE);
            p.emit_starts = 1;
            g_allocs = g_frees = 0;
            g_counting = 1;
            tw_channel *q = tw_channel_create(&p, NULL);
            g_counting = 0;
            assert_non_null(q);
            /* the counter works: create allocates */
            if (g_allocs == 0)
                fail_msg("malloc interposition is not effective (create counted 0 calls)");
            size_t cap = tw_channel_max_events(q, 4096);
            tw_event *ev = tt_xcalloc(cap, sizeof *ev);
            g_allocs = g_frees = 0;
            /* the scene as if at this rate (only the allocation matters) */
            for (size_t i = 0; i < s->n; i += 4096) {
                size_t b = s->n - i < 4096 ? s->n - i : 4096, nev;
                g_counting = 1;
                int rc = tw_channel_execute_block(q, s->x + i, b, ev, cap, &nev);
                g_counting = 0;
                assert_int_equal(rc, TW_OK);
            }
            for (size_t i = 0; i < 20000; i += 7) { /* and odd sizes */
                size_t nev;
                g_counting = 1;
                tw_channel_execute_block(q, s->x + i, 7, ev, cap, &nev);
                g_counting = 0;
            }
            if (g_allocs || g_frees)
                fail_msg("fs %g %s: execute_block made %lu allocations and %lu frees", fs,
                         el ? "surface" : "needle", g_allocs, g_frees);
            free(ev);
            tw_channel_destroy(q);
        }
#endif
}

/* Mains through the whole channel: 100 uV at 50 or 60 Hz with odd
 * harmonics (100/h uV) up to 3 kHz, on 5 uV noise, 12 s: no event, and the
 * noise floor the detectors use stays within 10 % of the noise-only floor
 * (the cancelled residue must sit well under the noise at the detector
 * rate, where the noise is only ~1.6 uV). */
static void test_mains_in_channel(void **state)
{
    (void)state;
    static const double cases[][2] = {{44100, 50}, {48000, 50}, {48000, 60}, {96000, 60}};
    uint64_t seed = tt_seed("mains through the channel", 0x3A125);
    int bad = 0;
    for (size_t c = 0; c < 4; c++) {
        double fs = cases[c][0], f0 = cases[c][1];
        tt_rng r;
        tt_rng_seed(&r, seed + c);
        size_t n = (size_t)(12.0 * fs);
        float *w = tt_xmalloc(n * sizeof *w), *x = tt_xmalloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            w[i] = x[i] = (float)(NOISE_UV * tt_gauss(&r));
        tt_add_mains(x, n, fs, f0, 100.0, 3000.0, &r, NULL, NULL, 0);
        float floor[2];
        size_t nev[2];
        for (int with = 0; with < 2; with++) {
            tw_channel_params p;
            tw_channel_params_default(&p, fs, TW_ELECTRODE_NEEDLE);
            p.cond.mains_hz = f0;
            tw_channel *q = tw_channel_create(&p, NULL);
            assert_non_null(q);
            evlist_t l;
            run_channel(q, with ? x : w, n, 4096, &l);
            floor[with] = tw_channel_get_noise_uv(q);
            nev[with] = l.n;
            for (size_t k = 0; k < l.n; k++)
                print_event(with ? "mains" : "noise", &l.ev[k]);
            free(l.ev);
            tw_channel_destroy(q);
        }
        double ratio = floor[1] / floor[0];
        printf("[ INFO     ] %g Hz, %g Hz mains: floor %.3f uV (noise alone %.3f uV, x%.3f), %zu "
               "events (noise alone %zu)\n",
               fs, f0, floor[1], floor[0], ratio, nev[1], nev[0]);
        if (nev[0] || nev[1] || ratio > 1.10 || ratio < 0.95) {
            printf("[ DETAIL   ] %g Hz / %g Hz mains: floor x%.3f (want 0.95 .. 1.10), %zu events "
                   "(want 0)\n",
                   fs, f0, ratio, nev[1]);
            bad++;
        }
        free(w);
        free(x);
    }
    if (bad)
        fail_msg("%d of 4 mains configurations disturb the channel", bad);
}

/* ---- bad parameters ---- */
static void test_strerror(void **state)
{
    (void)state;
    static const int codes[] = {TW_OK, TW_EINVAL, TW_ENOMEM, TW_EOVERFLOW, TW_EDESIGN};
    const char *unknown = tw_strerror(-12345);
    assert_non_null(unknown);
    assert_true(strlen(unknown) > 0);
    assert_non_null(tw_strerror(1));
    for (size_t i = 0; i < 5; i++) {
        const char *m = tw_strerror(codes[i]);
        assert_non_null(m);
        assert_true(strlen(m) > 0);
        if (strcmp(m, unknown) == 0)
            fail_msg("code %d has no description of its own", codes[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m, tw_strerror(codes[j])) == 0)
                fail_msg("codes %d and %d share the description \"%s\"", codes[i], codes[j], m);
    }
}

static void test_bad_params_ltrdet(void **state)
{
    (void)state;
    tw_ltrdet_params d;
    tw_ltrdet_params_default(&d, 8000);
    tw_ltrdet *q = tw_ltrdet_create(&d);
    assert_non_null(q);
    tw_ltrdet_destroy(q);
    assert_null(tw_ltrdet_create(NULL));
#define BAD(field, value)                                                                      \
    do {                                                                                       \
        tw_ltrdet_params p = d;                                                                \
        p.field = (value);                                                                     \
        if (tw_ltrdet_create(&p) != NULL)                                                      \
            fail_msg("ltrdet: " #field " = %g accepted", (double)(value));                     \
    } while (0)
    BAD(fs_hz, 199); BAD(fs_hz, 50001); BAD(fs_hz, NAN);
    BAD(band_lo_hz, 4.9); BAD(band_lo_hz, 201); BAD(band_lo_hz, NAN);
    BAD(band_hi_hz, 99); BAD(band_hi_hz, 2001); BAD(band_hi_hz, NAN);
    BAD(env_ms, 0.9); BAD(env_ms, 101); BAD(env_ms, NAN);
    BAD(on_k, 1.9); BAD(on_k, 101); BAD(on_k, NAN);
    BAD(rel_k, 0.9); BAD(rel_k, 101); BAD(rel_k, NAN);
    BAD(off_ratio, 0.09); BAD(off_ratio, 1.01); BAD(off_ratio, NAN);
    BAD(hang_ms, -1); BAD(hang_ms, 201); BAD(hang_ms, NAN);
    BAD(min_ms, 0.9); BAD(min_ms, 1001); BAD(min_ms, NAN);
    BAD(max_ms, 9); BAD(max_ms, 5001); BAD(max_ms, NAN);
    BAD(min_peak_uv, 9); BAD(min_peak_uv, 5001); BAD(min_peak_uv, NAN);
    BAD(band_frac, -0.01); BAD(band_frac, 1.01); BAD(band_frac, NAN);
    BAD(min_rms_uv, 0.9); BAD(min_rms_uv, 5001); BAD(min_rms_uv, NAN);
    BAD(pre_ms, -1); BAD(pre_ms, 5001); BAD(pre_ms, NAN);
    BAD(post_ms, -1); BAD(post_ms, 2001); BAD(post_ms, NAN);
    BAD(bg_tau_s, 0.04); BAD(bg_tau_s, 61); BAD(bg_tau_s, NAN);
    BAD(onset_k, 0.9); BAD(onset_k, 51); BAD(onset_k, NAN);
    BAD(onset_frac, -0.01); BAD(onset_frac, 1.01); BAD(onset_frac, NAN);
    /* relations: band low edge below its high edge, shortest below longest */
    {
        tw_ltrdet_params p = d;
        p.band_lo_hz = 150;
        p.band_hi_hz = 120;
        assert_null(tw_ltrdet_create(&p));
        p = d;
        p.min_ms = 500;
        p.max_ms = 400;
        assert_null(tw_ltrdet_create(&p));
    }
#undef BAD
}

/* Poisson MEPPs (300 /s, 20 uV lognormal, 0.5 ms decay) from t0 to t1 s. */
static void add_mepps(float *x, size_t n, double fs, double t0, double t1, tt_rng *r)
{
    for (double t = t0 + tt_exp(r, 1.0 / 300); t < t1; t += tt_exp(r, 1.0 / 300)) {
        size_t at = (size_t)(t * fs);
        double a = 20.0 * exp(0.4 * tt_gauss(r));
        for (size_t i = 0; i < (size_t)(3e-3 * fs) && at + i < n; i++)
            x[at + i] -= (float)(a * exp(-(double)i / (0.5e-3 * fs)));
    }
}

/* Fibrillation is not EPN: three fibres, each firing one initial-positive
 * triphasic potential (45-95 uV, its negative phase MEPP-sized) very
 * regularly (12-14 Hz, CV 1 %), leave the window negatively skewed with
 * 40 negative peaks a second; interleaved, their intervals look
 * irregular as a whole. Each fibre repeats its shape at regular
 * intervals, which endplate spikes do not (epndet.c, TW_EPN_TRAIN_CV2):
 * no EPN episode is reported. And Poisson MEPPs with irregular
 * (Poisson, 20 /s) biphasic negative-first endplate spikes of random size
 * (lognormal around 150 uV) still are. */
static void add_lobes(float *x, size_t n, size_t at, double fs, double a, const double g[3])
{
    const double c[3] = {0.3e-3, 0.9e-3, 2.0e-3}, w[3] = {0.15e-3, 0.25e-3, 0.5e-3};
    for (size_t i = 0; i < (size_t)(4e-3 * fs) && at + i < n; i++) {
        double t = (double)i / fs, v = 0.0;
        for (int k = 0; k < 3; k++)
            v += g[k] * exp(-0.5 * (t - c[k]) * (t - c[k]) / (w[k] * w[k]));
        x[at + i] += (float)(a * v);
    }
}

static int epn_reported(const float *x, size_t n, double fs, float sigma)
{
    tw_epndet_params p;
    tw_epndet_params_default(&p, fs);
    tw_epndet *q = tw_epndet_create(&p);
    assert_non_null(q);
    tw_event ev;
    int ended = 0, started = 0;
    for (size_t i = 0; i < n; i++) {
        int f = tw_epndet_step(q, x[i], sigma, 0, &ev);
        started += (f & TW_EPN_STARTED) != 0;
        ended += (f & TW_EPN_ENDED) != 0;
    }
    int f = tw_epndet_flush(q, &ev);
    ended += (f & TW_EPN_ENDED) != 0;
    tw_epndet_destroy(q);
    printf("[ INFO     ] %d candidate(s), %d reported\n", started, ended);
    return ended;
}

static void test_epn_not_fibrillation(void **state)
{
    (void)state;
    const double fs = 16000.0, sigma = 3.0;
    const size_t n = (size_t)(8.0 * fs);
    float *x = tt_xmalloc(n * sizeof *x);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("epn_not_fibrillation", 31));
    const double rate[3] = {12.1, 13.0, 14.2}, amp[3] = {95, 65, 45};
    const double fib_g[3] = {0.5, -1.0, 0.3}, eps_g[3] = {-1.0, 0.6, 0.0};
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sigma * tt_gauss(&r));
    for (int k = 0; k < 3; k++)
        for (double t = 1.5 + tt_uniform(&r, 0, 0.1); t < 7.0; t += (1.0 + 0.01 * tt_gauss(&r)) / rate[k])
            add_lobes(x, n, (size_t)(t * fs), fs, amp[k], fib_g);
    int fib = epn_reported(x, n, fs, (float)sigma);
    /* endplate spikes of random size at irregular times over MEPPs: EPN */
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sigma * tt_gauss(&r));
    for (double t = 1.5 + tt_exp(&r, 1.0 / 20); t < 7.0; t += tt_exp(&r, 1.0 / 20))
        add_lobes(x, n, (size_t)(t * fs), fs, 150.0 * exp(0.4 * tt_gauss(&r)), eps_g);
    add_mepps(x, n, fs, 1.5, 7.0, &r);
    int epn = epn_reported(x, n, fs, (float)sigma);
    free(x);
    if (fib != 0)
        fail_msg("regular fibrillation trains reported as %d EPN episode(s)", fib);
    if (epn != 1)
        fail_msg("MEPPs with irregular endplate spikes: %d EPN episode(s), want 1", epn);
}

/* Voluntary firing is not EPN: three motor units (MUAPs of about 1 mV,
 * biphasic, 9-14 Hz, interval CV 0.2, of nearly the same size so that
 * neither the pooled intervals nor same-size pairs look regular) over
 * MEPP-like activity. Endplate spikes are 100-200 uV (signals.md, at
 * most 1 mV): an episode whose typical spike is MUAP-sized (median p2p
 * >= 500 uV) is motor units firing, regular or not. */
static void test_epn_not_voluntary(void **state)
{
    (void)state;
    const double fs = 16000.0, sigma = 3.0;
    const size_t n = (size_t)(8.0 * fs);
    float *x = tt_xmalloc(n * sizeof *x);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("epn_not_voluntary", 5));
    const double rate[3] = {9.0, 11.5, 14.0}, amp[3] = {600, 630, 660};
    const double eps_g[3] = {-1.0, 0.6, 0.0};
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sigma * tt_gauss(&r));
    add_mepps(x, n, fs, 2.0, 6.0, &r);
    int epn = epn_reported(x, n, fs, (float)sigma);
    for (int k = 0; k < 3; k++)
        for (double t = 2.0 + tt_uniform(&r, 0, 0.1); t < 6.0;
             t += (1.0 + 0.2 * tt_gauss(&r)) / rate[k])
            add_lobes(x, n, (size_t)(t * fs), fs, amp[k] * tt_uniform(&r, 0.97, 1.03), eps_g);
    int vol = epn_reported(x, n, fs, (float)sigma);
    free(x);
    if (epn != 1)
        fail_msg("MEPPs alone: %d EPN episode(s), want 1", epn);
    if (vol != 0)
        fail_msg("motor units firing: %d EPN episode(s), want 0", vol);
}

/* The noise's own rate of negative peaks (subtracted from an episode's
 * MEPP rate) is measured on noise alone: three seconds of symmetric
 * activity three times the floor (interference, a needle being moved:
 * many negative peaks beyond 3.5 x the floor, but no skew, so no EPN)
 * that stop 0.5 s before a slow locus (100 MEPPs a second) must not
 * hide it. */
static void test_epn_after_activity(void **state)
{
    (void)state;
    const double fs = 16000.0, sigma = 3.0;
    const size_t n = (size_t)(12.0 * fs);
    float *x = tt_xmalloc(n * sizeof *x);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("epn_after_activity", 3));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / fs;
        x[i] = (float)((t >= 2.0 && t < 5.0 ? 3.0 : 1.0) * sigma * tt_gauss(&r));
    }
    for (double t = 5.5 + tt_exp(&r, 1.0 / 100); t < 10.0; t += tt_exp(&r, 1.0 / 100)) {
        size_t at = (size_t)(t * fs);
        double a = 20.0 * exp(0.4 * tt_gauss(&r));
        for (size_t i = 0; i < (size_t)(3e-3 * fs) && at + i < n; i++)
            x[at + i] -= (float)(a * exp(-(double)i / (0.5e-3 * fs)));
    }
    int epn = epn_reported(x, n, fs, (float)sigma);
    free(x);
    if (epn != 1)
        fail_msg("a slow locus after symmetric activity: %d EPN episode(s), want 1", epn);
}

/* An EPN episode lasts as long as the needle rests at the locus
 * (seconds); insertion activity, voluntary firing caught between bursts
 * and other brief runs that lean the statistics die within 0.3-1 s. With
 * the defaults (epn.min_ms = 1000) 0.75 s of MEPP-like activity is not
 * reported, 3 s is. */
static void test_epn_min_duration(void **state)
{
    (void)state;
    const double fs = 16000.0, sigma = 3.0;
    const size_t n = (size_t)(6.0 * fs);
    float *x = tt_xmalloc(n * sizeof *x);
    tt_rng r;
    tt_rng_seed(&r, tt_seed("epn_min_duration", 7));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sigma * tt_gauss(&r));
    add_mepps(x, n, fs, 2.0, 2.75, &r);
    int brief = epn_reported(x, n, fs, (float)sigma);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sigma * tt_gauss(&r));
    add_mepps(x, n, fs, 2.0, 5.0, &r);
    int episode = epn_reported(x, n, fs, (float)sigma);
    free(x);
    if (brief != 0)
        fail_msg("0.75 s of MEPP-like activity reported as %d EPN episode(s)", brief);
    if (episode != 1)
        fail_msg("3 s of MEPPs: %d EPN episode(s), want 1", episode);
}

static void test_bad_params_epndet(void **state)
{
    (void)state;
    tw_epndet_params d;
    tw_epndet_params_default(&d, 8000);
    tw_epndet *q = tw_epndet_create(&d);
    assert_non_null(q);
    tw_epndet_destroy(q);
    assert_null(tw_epndet_create(NULL));
#define BAD(field, value)                                                                      \
    do {                                                                                       \
        tw_epndet_params p = d;                                                                \
        p.field = (value);                                                                     \
        if (tw_epndet_create(&p) != NULL)                                                      \
            fail_msg("epndet: " #field " = %g accepted", (double)(value));                     \
    } while (0)
    BAD(fs_hz, 199); BAD(fs_hz, 50001); BAD(fs_hz, NAN);
    BAD(peak_k, 1.9); BAD(peak_k, 10.1); BAD(peak_k, NAN);
    BAD(clip_uv, 19); BAD(clip_uv, 1001); BAD(clip_uv, NAN);
    BAD(bin_ms, 9); BAD(bin_ms, 501); BAD(bin_ms, NAN);
    BAD(win_bins, 0); BAD(win_bins, 51);
    BAD(skew_min, -0.01); BAD(skew_min, 5.1); BAD(skew_min, NAN);
    BAD(z_on, 0.9); BAD(z_on, 21); BAD(z_on, NAN);
    BAD(var_min, 0.99); BAD(var_min, 10.1); BAD(var_min, NAN);
    BAD(min_rate_hz, -0.1); BAD(min_rate_hz, 1001); BAD(min_rate_hz, NAN);
    BAD(confirm_ms, -1); BAD(confirm_ms, 5001); BAD(confirm_ms, NAN);
    BAD(release_ms, -1); BAD(release_ms, 10001); BAD(release_ms, NAN);
    BAD(min_ms, -1); BAD(min_ms, 60001); BAD(min_ms, NAN);
    BAD(eps_k, 2.9); BAD(eps_k, 101); BAD(eps_k, NAN);
    BAD(eps_min_uv, 9); BAD(eps_min_uv, 2001); BAD(eps_min_uv, NAN);
#undef BAD
}

static void cond_default(tw_condition_params *c, double fs)
{
    c->fs_hz = fs;
    c->dc_hz = 0.5;
    c->low_hz = 10;
    c->high_hz = 10000;
    c->mains_hz = 50;
    c->mains_tau_s = 1;
    c->mains_clip_k = 4;
}

static void test_bad_params_condition(void **state)
{
    (void)state;
    tw_condition_params d;
    cond_default(&d, 48000);
    unsigned warn = 99;
    tw_condition *q = tw_condition_create(&d, &warn);
    assert_non_null(q);
    assert_int_equal(warn, 0);
    tw_condition_destroy(q);
    assert_null(tw_condition_create(NULL, NULL));
#define BAD(field, value)                                                                      \
    do {                                                                                       \
        tw_condition_params p = d;                                                             \
        p.field = (value);                                                                     \
        unsigned w = 0;                                                                        \
        if (tw_condition_create(&p, &w) != NULL)                                               \
            fail_msg("condition: " #field " = %g accepted", (double)(value));                  \
    } while (0)
    BAD(fs_hz, 249); BAD(fs_hz, 192001); BAD(fs_hz, NAN); BAD(fs_hz, 0);
    BAD(dc_hz, 0.009); BAD(dc_hz, 5.1); BAD(dc_hz, NAN);
    BAD(low_hz, 0.49); BAD(low_hz, 1001); BAD(low_hz, NAN);
    BAD(high_hz, 9); BAD(high_hz, 50001); BAD(high_hz, NAN);
    BAD(mains_hz, 39); BAD(mains_hz, 71); BAD(mains_hz, 20); BAD(mains_hz, NAN);
    BAD(mains_tau_s, 0.04); BAD(mains_tau_s, 61); BAD(mains_tau_s, NAN);
    BAD(mains_clip_k, 1.9); BAD(mains_clip_k, 101); BAD(mains_clip_k, NAN);
#undef BAD
    /* low edge not below the high edge */
    tw_condition_params p = d;
    p.low_hz = 500;
    p.high_hz = 400;
    assert_null(tw_condition_create(&p, NULL));
    p.low_hz = 400;
    assert_null(tw_condition_create(&p, NULL));
    /* mains off (0) is valid */
    p = d;
    p.mains_hz = 0;
    q = tw_condition_create(&p, NULL);
    assert_non_null(q);
    tw_condition_destroy(q);
}

static void test_bad_params_channel(void **state)
{
    (void)state;
    tw_channel_params d;
    tw_channel_params_default(&d, 48000, TW_ELECTRODE_NEEDLE);
    tw_channel *q = tw_channel_create(&d, NULL);
    assert_non_null(q);
    tw_channel_destroy(q);
    assert_null(tw_channel_create(NULL, NULL));
    unsigned warn = 77;
    assert_null(tw_channel_create(NULL, &warn));
#define BAD(field, value)                                                                      \
    do {                                                                                       \
        tw_channel_params p = d;                                                               \
        p.field = (value);                                                                     \
        if (tw_channel_create(&p, NULL) != NULL)                                               \
            fail_msg("channel: " #field " = %g accepted", (double)(value));                    \
    } while (0)
    BAD(electrode, (tw_electrode)2);
    BAD(electrode, (tw_electrode)-1);
    BAD(det_rate_hz, 999); BAD(det_rate_hz, 20001); BAD(det_rate_hz, NAN);
    BAD(floor_window_s, 0.019); BAD(floor_window_s, 2.1); BAD(floor_window_s, NAN);
    BAD(floor_history, 4); BAD(floor_history, 1001);
    BAD(floor_pct, -0.01); BAD(floor_pct, 0.51); BAD(floor_pct, NAN);
    BAD(mv_lp_hz, 1.9); BAD(mv_lp_hz, 21); BAD(mv_lp_hz, NAN);
    BAD(mv_k, 2.9); BAD(mv_k, 101); BAD(mv_k, NAN);
    BAD(mv_max_ms, 9); BAD(mv_max_ms, 1001); BAD(mv_max_ms, NAN);
    /* the embedded stages' parameters are checked too */
    BAD(cond.fs_hz, 249); BAD(cond.fs_hz, 192001); BAD(cond.fs_hz, NAN);
    BAD(cond.dc_hz, 5.1); BAD(cond.low_hz, 0.4); BAD(cond.high_hz, 9);
    BAD(cond.mains_hz, 30); BAD(cond.mains_tau_s, 0.01); BAD(cond.mains_clip_k, 1);
    BAD(ltr.on_k, 1); BAD(ltr.env_ms, 101); BAD(ltr.min_peak_uv, 1); BAD(ltr.band_lo_hz, 1);
    BAD(ltr.min_ms, 500); /* not below max_ms (400) */
    BAD(epn.peak_k, 1); BAD(epn.bin_ms, 1); BAD(epn.win_bins, 0); BAD(epn.clip_uv, 1);
#undef BAD
    /* the stages' fs_hz is the channel's to set: whatever the caller put
     * there is ignored */
    tw_channel_params p = d;
    p.ltr.fs_hz = 0;
    p.epn.fs_hz = -1;
    q = tw_channel_create(&p, NULL);
    assert_non_null(q);
    tw_channel_destroy(q);
}

/* ---- rate sweep ---- */
static void test_rate_sweep(void **state)
{
    (void)state;
    static const double rates[] = {250,   500,   1000,  2000,  4000,   8000,   16000, 22050,
                                   32000, 44100, 48000, 88200, 96000, 176400, 192000};
    tt_rng r;
    tt_rng_seed(&r, tt_seed("rate sweep", 0x5EE9));
    for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++)
        for (int el = 0; el < 2; el++) {
            double fs = rates[ri];
            tw_electrode e = el ? TW_ELECTRODE_SURFACE : TW_ELECTRODE_NEEDLE;
            const char *en = el ? "surface" : "needle";
            tw_channel_params p;
            tw_channel_params_default(&p, fs, e);
            unsigned warn = 0xdead;
            tw_channel *q = tw_channel_create(&p, &warn);
            if (!q)
                fail_msg("fs %g %s: create returned NULL", fs, en);

            /* the documented band clipping and warnings */
            double high = p.cond.high_hz, low = p.cond.low_hz;
            unsigned want = 0;
            if (high > 0.45 * fs) {
                high = 0.45 * fs;
                want |= TW_WARN_HIGH_CLIPPED;
            }
            if (low > high / 4.0) {
                low = high / 4.0;
                want |= TW_WARN_LOW_CLIPPED;
            }
            if (p.cond.mains_hz >= 0.5 * fs)
                want |= TW_WARN_MAINS_OFF;
            unsigned m = (unsigned)floor(fs / p.det_rate_hz);
            if (m < 1)
                m = 1;
            double fd = fs / m;
            /* EPN needs the detector rate to see its 1-2 kHz tail */
            if (e == TW_ELECTRODE_NEEDLE && fd < 2000.0)
                want |= TW_WARN_EPN_OFF;
            if (warn != want)
                fail_msg("fs %g %s: warnings 0x%x, want 0x%x", fs, en, warn, want);
            assert_int_equal(tw_channel_get_decimation(q), m);
            assert_true(fabs(tw_channel_get_detector_rate(q) - fd) < 1e-9 * fd);
            assert_true(fabs(tw_channel_get_high_hz(q) - high) < 1e-9 * high);
            assert_true(fabs(tw_channel_get_low_hz(q) - low) < 1e-9 * low);

            /* 2 s of noise with a 50 mV step (and back) riding on a 20 mV
             * offset: finite everywhere */
            size_t n = (size_t)(2.0 * fs);
            float *x = tt_xmalloc(n * sizeof *x), *y = tt_xmalloc(n * sizeof *y);
            for (size_t i = 0; i < n; i++) {
                x[i] = (float)(20000.0 + NOISE_UV * tt_gauss(&r));
                if (i >= n / 2 && i < n / 2 + n / 8)
                    x[i] += 50000.0f;
            }
            size_t cap = tw_channel_max_events(q, n);
            tw_event *ev = tt_xcalloc(cap, sizeof *ev);
            size_t nev = 0;
            assert_int_equal(tw_channel_execute_block(q, x, n, ev, cap, &nev), TW_OK);
            for (size_t k = 0; k < nev; k++) {
                const tw_event *v = &ev[k];
                if (!(isfinite(v->peak_uv) && isfinite(v->p2p_uv) && isfinite(v->rms_uv) &&
                      isfinite(v->noise_uv) && isfinite(v->snr_db) && isfinite(v->latency_ms) &&
                      isfinite(v->in_epn) && isfinite(v->mepp_rate_hz) &&
                      isfinite(v->mepp_median_uv) && isfinite(v->eps_rate_hz) &&
                      isfinite(v->eps_median_uv) && isfinite(v->eps_cv) &&
                      isfinite(v->skewness)))
                    fail_msg("fs %g %s: event %zu has a non-finite field", fs, en, k);
                if (v->onset_sample < 0 || v->offset_sample < v->onset_sample ||
                    v->offset_sample >= (int64_t)n)
                    fail_msg("fs %g %s: event %zu spans %" PRId64 "..%" PRId64 " of %zu samples",
                             fs, en, k, v->onset_sample, v->offset_sample, n);
            }
            float nf = tw_channel_get_noise_uv(q);
            if (!(isfinite(nf) && nf > 0.0f))
                fail_msg("fs %g %s: noise floor %g", fs, en, nf);
            assert_int_equal(tw_channel_get_samples(q), (int64_t)n);
            free(ev);
            tw_channel_destroy(q);

            /* the conditioner on its own at this rate, same signal */
            unsigned cw = 0;
            tw_condition *c = tw_condition_create(&p.cond, &cw);
            if (!c)
                fail_msg("fs %g %s: tw_condition_create returned NULL", fs, en);
            tw_condition_execute_block(c, x, y, n);
            if (!tt_all_finite(y, n))
                fail_msg("fs %g %s: conditioned output not finite", fs, en);
            /* the band-pass removes the offset: the last 0.25 s are back
             * near the noise */
            double tail = sqrt(tt_power(y + n - n / 8, n / 8));
            if (!(tail < 20.0 * NOISE_UV))
                fail_msg("fs %g %s: conditioned RMS %.1f uV 0.75 s after the step", fs, en, tail);
            tw_condition_destroy(c);
            free(x);
            free(y);
        }
}

/* The conditioning band's documented low edge, 0.5 .. 1000 Hz, at common
 * rates: create works and the response is -3 dB at the low edge. */
static void test_condition_low_edge(void **state)
{
    (void)state;
    static const double rates[] = {8000, 44100, 48000, 96000, 192000};
    static const double lows[] = {0.5, 1, 2, 5, 10, 20, 100};
    int bad = 0, total = 0;
    for (size_t ri = 0; ri < 5; ri++)
        for (size_t li = 0; li < 7; li++) {
            tw_condition_params p;
            cond_default(&p, rates[ri]);
            p.low_hz = lows[li];
            p.high_hz = fmin(10000, 0.45 * rates[ri]);
            total++;
            tw_condition *q = tw_condition_create(&p, NULL);
            if (!q) {
                printf("[ DETAIL   ] fs %g low %g Hz: create returned NULL\n", rates[ri], lows[li]);
                bad++;
                continue;
            }
            double g = tw_condition_get_gain(q, lows[li]);
            if (fabs(g - 0.7071) > 0.02) {
                printf("[ DETAIL   ] fs %g low %g Hz: gain at the low edge %.4f (want 0.707)\n",
                       rates[ri], lows[li], g);
                bad++;
            }
            tw_condition_destroy(q);
            /* and a channel with that band */
            tw_channel_params cp;
            tw_channel_params_default(&cp, rates[ri], TW_ELECTRODE_NEEDLE);
            cp.cond.low_hz = lows[li];
            tw_channel *ch = tw_channel_create(&cp, NULL);
            if (!ch) {
                printf("[ DETAIL   ] fs %g low %g Hz: tw_channel_create returned NULL\n",
                       rates[ri], lows[li]);
                bad++;
            }
            tw_channel_destroy(ch);
        }
    if (bad)
        fail_msg("%d of %d valid low edges fail (see sos: low fc/fs designs)", bad, total);
}

/* Quick jabs (fast-in/fast-out needling): a step of 1-4 mV either way
 * rising in 2-5 ms and settling with tau 14-40 ms (over 50-140 ms),
 * with 5-15 insertion spikes of 0.5-3 ms and 100-800 uV in its first
 * 30 ms, alone or followed 10-30 ms after the hit by an LTR. The step's
 * apex is not an LTR, however fast; the LTR after it is found once, its
 * onset within 20 ms: the step's corners are not read up to half a
 * median window (10 ms) and 3 ms past them, so an LTR starting sooner is
 * dated from there, and a 3 ms insertion spike just before a burst can
 * pass for its first MUAP. */
static void test_quick_jab(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("quick jabs", 0x1AB5);
    tt_rng r;
    tt_rng_seed(&r, seed);
    scene_t s;
    memset(&s, 0, sizeof s);
    const double gap_s = 1.5;
    const int jabs = 12;
    s.n = (size_t)((jabs + 1) * gap_s * FS);
    s.x = tt_xcalloc(s.n, sizeof *s.x);
    for (size_t i = 0; i < s.n; i++)
        s.x[i] = (float)(NOISE_UV * tt_gauss(&r));
    int64_t hit[16];
    for (int j = 0; j < jabs; j++) {
        size_t at = (size_t)((j + 0.7) * gap_s * FS);
        hit[j] = (int64_t)at;
        double step = tt_uniform(&r, 1000.0, 4000.0) * (tt_u01(&r) < 0.5 ? -1.0 : 1.0);
        double rise = tt_uniform(&r, 2e-3, 5e-3) * FS, tau = tt_uniform(&r, 14e-3, 40e-3) * FS;
        for (size_t i = 0; at + i < s.n && i < (size_t)(rise + 12.0 * tau); i++) {
            double t = (double)i;
            double v = t < rise ? 0.5 * (1.0 - cos(M_PI * t / rise)) : exp(-(t - rise) / tau);
            s.x[at + i] += (float)(step * v);
        }
        int nsp = 5 + (int)tt_index(&r, 11);
        for (int k = 0; k < nsp; k++) {
            double sig = tt_uniform(&r, 0.5e-3, 3e-3) * FS / 5.0;
            double a = tt_uniform(&r, 100.0, 800.0) * (tt_u01(&r) < 0.5 ? -1.0 : 1.0);
            size_t c = at + (size_t)(tt_uniform(&r, 0.0, 30e-3) * FS);
            for (int64_t i = -(int64_t)(4 * sig); i <= (int64_t)(4 * sig); i++) {
                double u = (double)i / sig;
                if (c + (size_t)i < s.n)
                    s.x[c + (size_t)i] += (float)(a * u * exp(0.5 - 0.5 * u * u));
            }
        }
        if (j % 2 == 1)
            add_ltr(&s, &r, at + (size_t)(tt_uniform(&r, 10e-3, 30e-3) * FS), 0);
    }
    tw_channel *q = needle_channel(0);
    evlist_t l;
    run_channel(q, s.x, s.n, 4096, &l);
    const int64_t ms = (int64_t)(FS / 1000.0);
    int failures = 0, ltrs = 0;
    for (size_t k = 0; k < l.n; k++) {
        const tw_event *e = &l.ev[k];
        if (e->type != TW_EVT_LTR)
            continue;
        ltrs++;
        int matched = 0;
        for (int i = 0; i < s.nltr; i++)
            if (overlaps(e->onset_sample, e->offset_sample, s.ltr[i].on, s.ltr[i].off, 0)) {
                matched = 1;
                double don = (double)(e->onset_sample - s.ltr[i].on) / ms;
                if (fabs(don) > 20.0) {
                    printf("[ DETAIL   ] LTR %d after a jab: onset off by %.2f ms\n", i, don);
                    failures++;
                }
            }
        if (!matched) {
            int j = 0;
            while (j + 1 < jabs && hit[j + 1] <= e->onset_sample)
                j++;
            print_event("not an LTR", e);
            printf("[ DETAIL   ] an LTR %.1f ms after jab %d (no LTR there)\n",
                   (double)(e->onset_sample - hit[j]) / ms, j);
            failures++;
        }
    }
    printf("[ INFO     ] seed %" PRIu64 ": %d jabs, %d with an LTR; %d LTRs reported\n", seed,
           jabs, s.nltr, ltrs);
    if (ltrs < s.nltr)
        failures++;
    tw_channel_destroy(q);
    free(l.ev);
    free(s.x);
    assert_int_equal(failures, 0);
}

/* A weak LTR (many small MUAPs and a few of 300 uV: below
 * ltr.min_rms_uv as a burst) is still an LTR when the needle elicited it
 * and several units make an interference pattern (dense turns); the same
 * burst with no needle movement, and a sparse weak burst (two MUAPs)
 * after one, are not. */
static void add_step(float *x, size_t n, size_t at, double step, double rise_s)
{
    double rise = rise_s * FS, tau = 0.15 * FS;
    for (size_t i = 0; at + i < n && i < (size_t)(rise + 12.0 * tau); i++) {
        double t = (double)i;
        double v = t < rise ? 0.5 * (1.0 - cos(M_PI * t / rise)) : exp(-(t - rise) / tau);
        x[at + i] += (float)(step * v);
    }
}

static void test_weak_dense(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("weak dense LTRs", 0xD3A5);
    tt_rng r;
    tt_rng_seed(&r, seed);
    const double gap_s = 1.5;
    const int n_each = 6; /* of each kind */
    size_t n = (size_t)((3 * n_each + 1) * gap_s * FS);
    float *x = tt_xcalloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(NOISE_UV * tt_gauss(&r));
    int64_t on[3 * 6], off[3 * 6];
    int kind[3 * 6]; /* 0 elicited dense, 1 dense alone, 2 elicited sparse */
    for (int j = 0; j < 3 * n_each; j++) {
        size_t hit = (size_t)((j + 0.7) * gap_s * FS);
        kind[j] = j % 3;
        if (kind[j] != 1)
            add_step(x, n, hit, tt_uniform(&r, 1500.0, 3000.0) * (tt_u01(&r) < 0.5 ? -1 : 1),
                     tt_uniform(&r, 5e-3, 15e-3));
        size_t at = hit + (size_t)(tt_uniform(&r, 15e-3, 30e-3) * FS), t = 0, last = 0;
        size_t dur = (size_t)(tt_uniform(&r, 0.100, 0.150) * FS);
        int pulses = kind[j] == 2 ? 2 : 1000;
        for (int k = 0; k < pulses && t < dur; k++) {
            size_t len = (size_t)(tt_uniform(&r, 5e-3, 8e-3) * FS);
            /* a few larger units among many small ones */
            double a = (k % 5 == 0 ? tt_uniform(&r, 280.0, 320.0) : tt_uniform(&r, 50.0, 80.0)) *
                       (tt_u01(&r) < 0.5 ? -1.0 : 1.0);
            add_triphasic(x, n, at + t, len, a);
            last = t + len;
            t += (size_t)(tt_uniform(&r, 2.5e-3, 5e-3) * FS);
        }
        on[j] = (int64_t)at;
        off[j] = (int64_t)(at + last);
    }
    tw_channel *q = needle_channel(0);
    evlist_t l;
    run_channel(q, x, n, 4096, &l);
    int found[3] = {0, 0, 0};
    for (size_t k = 0; k < l.n; k++) {
        const tw_event *e = &l.ev[k];
        if (e->type != TW_EVT_LTR)
            continue;
        int matched = 0;
        for (int j = 0; j < 3 * n_each; j++)
            if (overlaps(e->onset_sample, e->offset_sample, on[j], off[j], 0)) {
                found[kind[j]]++;
                matched = 1;
            }
        if (!matched)
            print_event("LTR with no burst", e);
    }
    printf("[ INFO     ] seed %" PRIu64 ": LTRs found: %d of %d elicited dense bursts, %d of %d "
           "dense ones with no needle movement, %d of %d elicited sparse ones\n", seed,
           found[0], n_each, found[1], n_each, found[2], n_each);
    tw_channel_destroy(q);
    free(l.ev);
    free(x);
    /* a burst may still split or its movement be confirmed after the
     * decision: most, not all (without the rule: 0-2 of 6 over 8 seeds) */
    assert_true(found[0] >= n_each - 2);
    assert_int_equal(found[1], 0);
    assert_int_equal(found[2], 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest scene_tests[] = {
        cmocka_unit_test(test_detection_scene),
        cmocka_unit_test(test_block_size_invariance),
        cmocka_unit_test(test_ltrdet_prepare_same),
        cmocka_unit_test(test_max_events_bound),
        cmocka_unit_test(test_no_alloc_in_execute),
    };
    const struct CMUnitTest mains_tests[] = {
        cmocka_unit_test(test_mains_in_channel),
    };
    const struct CMUnitTest other_tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_bad_params_ltrdet),
        cmocka_unit_test(test_bad_params_epndet),
        cmocka_unit_test(test_epn_not_fibrillation),
        cmocka_unit_test(test_epn_not_voluntary),
        cmocka_unit_test(test_epn_after_activity),
        cmocka_unit_test(test_epn_min_duration),
        cmocka_unit_test(test_bad_params_condition),
        cmocka_unit_test(test_bad_params_channel),
        cmocka_unit_test(test_rate_sweep),
        cmocka_unit_test(test_condition_low_edge),
        cmocka_unit_test(test_quick_jab),
        cmocka_unit_test(test_weak_dense),
    };
    int rc = cmocka_run_group_tests_name("dsp_detect_scene", scene_tests, setup_scene,
                                         teardown_scene);
    rc += cmocka_run_group_tests_name("dsp_detect_mains", mains_tests, NULL, NULL);
    rc += cmocka_run_group_tests_name("dsp_detect_params", other_tests, NULL, NULL);
    return rc;
}
