/* test_engine_paths.c: paths of the DSP engine (daemon/engine/engine.c)
 * that test_engine.c does not take, through its ring to a test sink
 * (sink.h), with the real thread, ring and queues (tw_test_engine.h).
 *
 * What is asserted:
 *  - ring overflow (test_ring_overflow): the DSP thread is held inside a
 *    sink callback (the test sink waits on a gate: a slow consumer, on
 *    purpose) while the test writes to the ring until writes are
 *    refused, in 13 episodes of 1, 2 or 3 refused blocks; each episode
 *    reaches on_gap once, at the sample after the last block that got
 *    in, with the frames refused, cause ring full; the blocks after it
 *    resume at first + count; the first 10 gaps of the heartbeat have a
 *    record each, the next 3 none (merged), and the heartbeat at stop
 *    sends one merged gap for them (first of the three, their total,
 *    merged 3, "ring full (3 gaps merged)"); status counts the gaps, the
 *    samples and the ring's dropped blocks and frames; the journal holds
 *    11 gap records with those counts;
 *  - quality (test_quality): a flat stretch on channel 0 reaches
 *    on_quality as "flat" from the block where it was seen (flat_stretches
 *    1), then "ok" once TW_QUALITY_HOLD_S has passed after it; 15
 *    non-finite samples (NaN, +-inf) as "non-finite" only (an infinity
 *    is no clipped sample) with the guard's count 15, then "ok"; samples
 *    at full scale on channel 1 as "clipping", then "ok"; each change
 *    at the exact sample (the first of the block it was seen in, or the
 *    hold after the last); nothing else on either channel; status
 *    reports the counts, and keeps level_uv and peak_uv (numbers) after
 *    non-finite samples; the journal holds an evt.quality record per
 *    change;
 *  - display (test_display): at publish.sig_rate_hz 1000 and 3000 from
 *    8000 Hz, the display batches come at rate / round(rate / sig_rate)
 *    (1000 and 2666.67 Hz), each of rate / bin / 20 values (50 and 133)
 *    but at a gap, contiguous per channel, each value the sample of
 *    largest |x| of its bin of the input (signed, as the engine scaled
 *    it); across a declared loss of 404 frames the batch before ends
 *    with the last whole bin and the next starts at the first sample
 *    after the gap, its bins counted from there;
 *  - cadence (test_cadence): with publish.heartbeat_s 0.1 and a source
 *    paced at real time in blocks of 0.5 s, on_status comes every 0.1 s
 *    (count and mean interval over about 1.5 s) with the sample processed
 *    next (never going back) and a body whose "samples" is that sample;
 *    on_tick comes between blocks at least every 50 ms or so (the loop
 *    does not sleep through a block period), with the sample processed
 *    next and CLOCK_MONOTONIC never going back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "quality.h"
#include "tw_test_engine.h"
#include "tw_test_util.h"

#define RATE 8000
#define NCH 2
#define BLOCK 400
#define MAXREC 4096

static void config(tw_config *c)
{
    tw_config_defaults(c);
    c->rate = RATE;
    c->channels = NCH;
    c->mains = TW_CFG_MAINS_OFF;
    c->needle_high_hz = 3000;
    c->rec_mode = TW_REC_OFF;
    c->pub_heartbeat_s = 60; /* one heartbeat at the start, one at stop */
}

/* ---- ring overflow --------------------------------------------------- */

typedef struct {
    atomic_int gate;    /* 1: on_samples waits */
    atomic_int held;    /* 1: the DSP thread waits in on_samples */
    int64_t blk_first[MAXREC];
    int nblk;
    tw_sink_gap gaps[64];
    char causes[64][64];
    int ngaps;
} ovf;

static void ovf_samples(void *ctx, const tw_sink_block *b)
{
    ovf *o = ctx;
    if (o->nblk < MAXREC)
        o->blk_first[o->nblk++] = b->first;
    if (atomic_load(&o->gate)) {
        atomic_store(&o->held, 1);
        while (atomic_load(&o->gate))
            te_nap_ms(0.1);
        atomic_store(&o->held, 0);
    }
}

static void ovf_gap(void *ctx, const tw_sink_gap *g)
{
    ovf *o = ctx;
    if (o->ngaps < 64) {
        o->gaps[o->ngaps] = *g;
        snprintf(o->causes[o->ngaps], sizeof o->causes[0], "%s", g->cause ? g->cause : "");
        o->gaps[o->ngaps].cause = NULL;
        o->ngaps++;
    }
}

static void gen_noise(void *user, int64_t first, float *buf, unsigned frames, int nch)
{
    (void)user;
    for (unsigned i = 0; i < frames; i++)
        for (int ch = 0; ch < nch; ch++) {
            uint64_t x = (uint64_t)(first + i) * 2654435761u + (uint64_t)ch * 97;
            buf[(size_t)i * (size_t)nch + (size_t)ch] = (float)((double)(x % 2001) - 1000.0) * 1e-6f;
        }
}

static void test_ring_overflow(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    static ovf o;
    memset(&o, 0, sizeof o);
    tw_sink k = {.name = "ovf", .ctx = &o, .on_samples = ovf_samples, .on_gap = ovf_gap};
    static te_rig g;
    const unsigned SLOTS = 8;
    te_start(&g, &c, BLOCK, SLOTS, &k, 1, gen_noise, NULL, 0);
    for (int i = 0; i < 4; i++)
        te_write_block(&g, 0);
    te_wait_samples(&g, 4 * BLOCK);

    enum { EPISODES = 13 };
    int64_t want_first[EPISODES], want_count[EPISODES];
    uint64_t refused_blocks = 0;
    for (int e = 0; e < EPISODES; e++) {
        int refuse = 1 + e % 3;
        /* hold the DSP thread in the sink with the next block */
        atomic_store(&o.gate, 1);
        te_write_block(&g, 0);
        double until = tw_mono_s() + TE_WAIT_S;
        while (!atomic_load(&o.held)) {
            if (tw_mono_s() > until)
                fail_msg("the DSP thread did not take the block");
            te_nap_ms(0.1);
        }
        /* fill the ring, then have `refuse` blocks refused */
        while (tw_ring_get_fill(g.ring) < SLOTS)
            te_write_block(&g, 0);
        want_first[e] = atomic_load(&g.written);
        for (int i = 0; i < refuse; i++) {
            g.gen(NULL, 0, g.buf, BLOCK, NCH);
            assert_int_equal(tw_ring_write(g.ring, g.buf, BLOCK, 0, 0, 0.0), -1);
            atomic_store(&g.written, atomic_load(&g.written) + BLOCK); /* the index moves on */
        }
        want_count[e] = (int64_t)refuse * BLOCK;
        refused_blocks += (uint64_t)refuse;
        atomic_store(&o.gate, 0);
        te_write_block(&g, 0); /* (waits for room) */
        te_wait_samples(&g, atomic_load(&g.written));
    }
    int64_t total = atomic_load(&g.written);
    json_t *st = te_ctl(&g, "{\"cmd\":\"status\"}");
    te_ok(st, "status");
    te_stop(&g);

    /* one gap per episode, where the blocks resume; then the merged record */
    assert_int_equal(o.ngaps, EPISODES + 1);
    int64_t merged_samples = 0;
    for (int e = 0; e < EPISODES; e++) {
        const tw_sink_gap *gp = &o.gaps[e];
        assert_int_equal(gp->first, want_first[e]);
        assert_int_equal(gp->count, want_count[e]);
        assert_int_equal(gp->why, TW_GAP_RING_FULL);
        assert_int_equal(gp->merged, 0);
        assert_string_equal(o.causes[e], "ring full");
        assert_int_equal(gp->record, e < 10); /* 10 records per heartbeat, then merged */
        if (e >= 10)
            merged_samples += gp->count;
        int found = 0;
        for (int i = 1; i < o.nblk; i++)
            if (o.blk_first[i] == gp->first + gp->count) {
                found = 1;
                assert_int_equal(o.blk_first[i - 1] + BLOCK, gp->first);
            }
        assert_true(found);
    }
    const tw_sink_gap *m = &o.gaps[EPISODES];
    assert_int_equal(m->merged, 3);
    assert_int_equal(m->record, 1);
    assert_int_equal(m->first, want_first[10]);
    assert_int_equal(m->count, merged_samples);
    assert_string_equal(o.causes[EPISODES], "ring full (3 gaps merged)");
    /* samples: every block but the refused ones */
    int64_t seen = (int64_t)o.nblk * BLOCK;
    assert_int_equal(seen, total - (int64_t)refused_blocks * BLOCK);

    const json_t *cnt = json_object_get(st, "counters");
    assert_int_equal(json_integer_value(json_object_get(cnt, "gaps")), EPISODES);
    assert_int_equal(json_integer_value(json_object_get(cnt, "gap_samples")),
                     (json_int_t)refused_blocks * BLOCK);
    assert_int_equal(json_integer_value(json_object_get(cnt, "ring_dropped_blocks")),
                     (json_int_t)refused_blocks);
    assert_int_equal(json_integer_value(json_object_get(cnt, "ring_dropped_frames")),
                     (json_int_t)refused_blocks * BLOCK);
    json_decref(st);

    json_t *all = te_journal(&g);
    json_t *gj = te_topic(all, "gap");
    assert_int_equal(json_array_size(gj), 11);
    for (int e = 0; e < 10; e++) {
        const json_t *r = json_array_get(gj, (size_t)e);
        assert_int_equal(json_integer_value(json_object_get(r, "samples")), want_count[e]);
        assert_string_equal(json_string_value(json_object_get(r, "cause")), "ring full");
    }
    const json_t *r = json_array_get(gj, 10);
    assert_int_equal(json_integer_value(json_object_get(r, "samples")), merged_samples);
    assert_string_equal(json_string_value(json_object_get(r, "cause")),
                        "ring full (3 gaps merged)");
    json_decref(gj);
    json_decref(all);
    te_free(&g);
}

/* ---- quality --------------------------------------------------------- */

/* Stretches of the quality test, in samples. */
#define Q_FLAT_AT (3 * RATE)
#define Q_FLAT_N (RATE / 2)
#define Q_NF_AT (8 * RATE + 1000)
#define Q_CLIP_AT (9 * RATE + 123)
#define Q_END (13 * RATE)

static void gen_quality(void *user, int64_t first, float *buf, unsigned frames, int nch)
{
    tt_rng *rng = user;
    for (unsigned i = 0; i < frames; i++) {
        int64_t s = first + (int64_t)i;
        for (int ch = 0; ch < nch; ch++) {
            /* white noise of 8 uV RMS at 10000 uV full scale */
            float v = (float)(8.0 * tt_gauss(rng) / 10000.0);
            if (ch == 0 && s >= Q_FLAT_AT && s < Q_FLAT_AT + Q_FLAT_N)
                v = 0.0123f;
            if (ch == 0 && s >= Q_NF_AT && s < Q_NF_AT + 15)
                v = (s - Q_NF_AT) % 3 == 0 ? NAN : (s - Q_NF_AT) % 3 == 1 ? INFINITY : -INFINITY;
            if (ch == 1 && s >= Q_CLIP_AT && s < Q_CLIP_AT + 20)
                v = (s & 1) ? 1.0f : -1.0f;
            buf[(size_t)i * (size_t)nch + (size_t)ch] = v;
        }
    }
}

typedef struct {
    tw_sink_quality q[64];
    int n;
} qrec;

static void q_quality(void *ctx, const tw_sink_quality *q)
{
    qrec *r = ctx;
    if (r->n < 64)
        r->q[r->n++] = *q;
}

static void expect_q(const tw_sink_quality *q, int ch, unsigned flags, int64_t lo, int64_t hi)
{
    if (q->ch != ch || q->flags != flags || q->at < lo || q->at > hi)
        fail_msg("quality change: channel %d flags 0x%x at %lld; want channel %d flags 0x%x at "
                 "%lld .. %lld", q->ch, q->flags, (long long)q->at, ch, flags, (long long)lo,
                 (long long)hi);
}

static void test_quality(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    static qrec qr;
    memset(&qr, 0, sizeof qr);
    tw_sink k = {.name = "quality", .ctx = &qr, .on_quality = q_quality};
    static tt_rng rng;
    tt_rng_seed(&rng, 3);
    static te_rig g;
    te_start(&g, &c, BLOCK, 256, &k, 1, gen_quality, &rng, 1);
    te_feed_to(&g, Q_END);
    json_t *st = te_ctl(&g, "{\"cmd\":\"status\"}");
    te_ok(st, "status");
    te_stop(&g);

    const int64_t hold = (int64_t)(TW_QUALITY_HOLD_S * RATE);
    for (int i = 0; i < qr.n; i++)
        printf("[ INFO     ] quality: channel %d flags 0x%x at %lld (flat stretches %llu, "
               "non-finite %llu)\n", qr.q[i].ch, qr.q[i].flags, (long long)qr.q[i].at,
               (unsigned long long)qr.q[i].flat_stretches, (unsigned long long)qr.q[i].nonfinite);
    assert_int_equal(qr.n, 6);
    /* a condition begins at the first sample of the block it was seen in,
     * and ends TW_QUALITY_HOLD_S after the end of the last block it was
     * seen in (every stretch here starts and ends inside one block but
     * the flat one, which fills whole blocks) */
#define BLK_START(s) ((s) - (s) % BLOCK)
#define BLK_END(s) (BLK_START(s) + BLOCK)
    expect_q(&qr.q[0], 0, TW_Q_FLAT, Q_FLAT_AT, Q_FLAT_AT);
    assert_int_equal(qr.q[0].flat_stretches, 1);
    expect_q(&qr.q[1], 0, 0, Q_FLAT_AT + Q_FLAT_N + hold, Q_FLAT_AT + Q_FLAT_N + hold);
    /* non-finite on channel 0, clipping on channel 1, in the order they came */
    expect_q(&qr.q[2], 0, TW_Q_NONFINITE, BLK_START(Q_NF_AT), BLK_START(Q_NF_AT)); /* (infinities do not clip) */
    assert_int_equal(qr.q[2].nonfinite, 15);
    expect_q(&qr.q[3], 1, TW_Q_CLIPPING, BLK_START(Q_CLIP_AT), BLK_START(Q_CLIP_AT));
    expect_q(&qr.q[4], 0, 0, BLK_END(Q_NF_AT) + hold, BLK_END(Q_NF_AT) + hold);
    expect_q(&qr.q[5], 1, 0, BLK_END(Q_CLIP_AT) + hold, BLK_END(Q_CLIP_AT) + hold);

    const json_t *chs = json_object_get(st, "channels");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chs, 0), "nonfinite")), 15);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chs, 0), "flat_stretches")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chs, 1), "clipped")), 20);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chs, 1), "nonfinite")), 0);
    /* non-finite samples count as 0 in the levels, as in the pipeline: the
     * status keeps its level_uv and peak_uv (protocol.md), and an infinity
     * is not a clipped sample */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chs, 0), "clipped")), 0);
    for (int ch = 0; ch < NCH; ch++) {
        const json_t *j = json_array_get(chs, (size_t)ch);
        if (!json_is_number(json_object_get(j, "level_uv")) ||
            !json_is_number(json_object_get(j, "peak_uv")))
            fail_msg("channel %d: the status has no level_uv or peak_uv", ch);
    }
    double lv = json_number_value(json_object_get(json_array_get(chs, 0), "level_uv"));
    assert_true(lv > 4.0 && lv < 200.0); /* the noise and the flat stretch */
    json_decref(st);

    json_t *all = te_journal(&g);
    json_t *jq = te_topic(all, "evt.quality");
    assert_int_equal(json_array_size(jq), 6);
    json_decref(jq);
    json_decref(all);
    te_free(&g);
}

/* ---- display ------------------------------------------------------------ */

/* Digital input whose every bin of any size has one sample of clearly
 * largest |x|, of either sign, at a place that moves: a deterministic
 * hash of the sample index, scaled by it. */
static float disp_in(int64_t s, int ch)
{
    uint64_t x = (uint64_t)s * 0x9e3779b97f4a7c15ULL + (uint64_t)ch * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    double v = (double)(x % 100000) / 100000.0; /* 0 .. 1, distinct enough */
    return (float)((x & 1 ? -1.0 : 1.0) * v * 0.3);
}

static void gen_disp(void *user, int64_t first, float *buf, unsigned frames, int nch)
{
    (void)user;
    for (unsigned i = 0; i < frames; i++)
        for (int ch = 0; ch < nch; ch++)
            buf[(size_t)i * (size_t)nch + (size_t)ch] = disp_in(first + (int64_t)i, ch);
}

typedef struct {
    double scale;
    int64_t bin;           /* input samples per value */
    double rate;           /* the display rate expected */
    size_t batch;          /* values per batch expected */
    int64_t next[NCH];     /* where the next batch of each channel must start */
    int64_t gap_first, gap_end;
    int batches, short_batches, bad_rate, bad_value, bad_first;
    int64_t end_before_gap[NCH]; /* where the last batch before the gap ended */
    int after_gap_ok;
} disp;

static void d_display(void *ctx, int ch, int64_t first, double rate, const float *v, size_t n)
{
    disp *d = ctx;
    d->batches++;
    if (fabs(rate - d->rate) > 1e-9)
        d->bad_rate++;
    if (first != d->next[ch])
        d->bad_first++;
    if (n != d->batch)
        d->short_batches++;
    if (first < d->gap_first)
        d->end_before_gap[ch] = first + (int64_t)n * d->bin;
    if (first == d->gap_end)
        d->after_gap_ok++;
    for (size_t j = 0; j < n; j++) {
        int64_t b0 = first + (int64_t)j * d->bin;
        float best = 0.0f;
        for (int64_t s = b0; s < b0 + d->bin; s++) {
            float x = (float)(disp_in(s, ch) * d->scale);
            if (s == b0 || fabsf(x) > fabsf(best))
                best = x;
        }
        if (v[j] != best)
            d->bad_value++;
    }
    d->next[ch] = first + (int64_t)n * d->bin;
}

static void d_gap(void *ctx, const tw_sink_gap *g)
{
    disp *d = ctx;
    for (int ch = 0; ch < NCH; ch++)
        d->next[ch] = g->first + g->count;
}

static void display_at(double sig_rate)
{
    static tw_config c;
    config(&c);
    c.pub_sig_rate_hz = sig_rate;
    static disp d;
    memset(&d, 0, sizeof d);
    d.scale = c.full_scale_uv;
    d.bin = lround(RATE / sig_rate);
    d.rate = (double)RATE / (double)d.bin;
    d.batch = (size_t)(d.rate / 20.0);
    tw_sink k = {.name = "display", .ctx = &d, .on_display = d_display, .on_gap = d_gap};
    static te_rig g;
    /* blocks of 401 frames: the gap begins inside a bin and a batch */
    const int64_t DBLOCK = 401, LOSS_AT = 41 * DBLOCK + 404;
    te_start(&g, &c, (unsigned)DBLOCK, 256, &k, 1, gen_disp, NULL, 1);
    g.lose_at = LOSS_AT;
    g.lose_n = 404;
    d.gap_first = LOSS_AT - 404;
    d.gap_end = LOSS_AT;
    te_feed_to(&g, LOSS_AT + 60 * DBLOCK);
    te_stop(&g);
    printf("[ INFO     ] sig_rate_hz %g: bin %lld, rate %.2f Hz, %d batches of %zu values\n",
           sig_rate, (long long)d.bin, d.rate, d.batches, d.batch);
    assert_true(d.batches > 20);
    assert_int_equal(d.bad_rate, 0);
    assert_int_equal(d.bad_first, 0);
    assert_int_equal(d.bad_value, 0);
    /* short batches: the one cut by the gap, per channel, and the last
     * one flushed at stop, per channel */
    assert_true(d.short_batches <= 2 * NCH);
    for (int ch = 0; ch < NCH; ch++) { /* the last whole bin before the gap, the rest dropped */
        int64_t left = d.gap_first - d.end_before_gap[ch];
        if (left < 0 || left >= d.bin)
            fail_msg("channel %d: the last batch before the gap at %lld ends at %lld", ch,
                     (long long)d.gap_first, (long long)d.end_before_gap[ch]);
    }
    assert_int_equal(d.after_gap_ok, NCH);
    te_free(&g);
}

static void test_display(void **state)
{
    (void)state;
    display_at(1000);
    display_at(3000);
}

/* ---- heartbeat and tick cadence ------------------------------------------- */

typedef struct {
    double st_now[256];
    int64_t st_sample[256];
    int nst, st_bad;
    double last_tick, max_tick_gap;
    double tick_gaps[100000];
    int ngap, tick_back;
    int64_t last_next;
    atomic_int counting;
} cad;

static void c_status(void *ctx, int64_t sample, const json_t *body)
{
    cad *c = ctx;
    if (!atomic_load(&c->counting))
        return;
    if (json_integer_value(json_object_get(body, "samples")) != sample)
        c->st_bad++;
    if (c->nst < 256) {
        c->st_now[c->nst] = tw_mono_s();
        c->st_sample[c->nst] = sample;
        c->nst++;
    }
}

static void c_tick(void *ctx, int64_t next, const struct timespec *t_next, double now)
{
    cad *c = ctx;
    (void)t_next;
    if (!atomic_load(&c->counting))
        return;
    if (c->last_tick > 0) {
        if (now < c->last_tick || next < c->last_next)
            c->tick_back++;
        if (c->ngap < 100000)
            c->tick_gaps[c->ngap++] = now - c->last_tick;
    }
    c->last_tick = now;
    c->last_next = next;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_cadence(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    c.pub_heartbeat_s = 0.1;
    static cad cd;
    memset(&cd, 0, sizeof cd);
    tw_sink k = {.name = "cadence", .ctx = &cd, .on_status = c_status, .on_tick = c_tick};
    static te_rig g;
    const unsigned BIG = RATE / 2; /* 0.5 s blocks: the loop must not sleep through one */
    te_start(&g, &c, BIG, 16, &k, 1, gen_noise, NULL, 0);
    te_write_block(&g, 0);
    te_wait_samples(&g, BIG);
    atomic_store(&cd.counting, 1);
    double t0 = tw_mono_s();
    const int NB = 3;
    for (int b = 1; b <= NB; b++) { /* paced at real time */
        double due = t0 + b * 0.5;
        while (tw_mono_s() < due)
            te_nap_ms(1);
        te_write_block(&g, 0);
    }
    te_wait_samples(&g, (int64_t)(NB + 1) * BIG);
    atomic_store(&cd.counting, 0);
    double span = tw_mono_s() - t0;
    te_stop(&g);

    /* heartbeats: one per 0.1 s */
    double mean = cd.nst > 1 ? (cd.st_now[cd.nst - 1] - cd.st_now[0]) / (cd.nst - 1) : 0.0;
    printf("[ INFO     ] %d heartbeats in %.2f s (mean interval %.3f s), %d ticks\n", cd.nst, span,
           mean, cd.ngap + 1);
    /* (bounds with room for a loaded machine: a late wake-up delays one
     * heartbeat, not the next, which is planned from the last one's due
     * time) */
    assert_true(cd.nst >= (int)(span / 0.1) - 4 && cd.nst <= (int)(span / 0.1) + 2);
    assert_true(mean > 0.08 && mean < 0.14);
    assert_int_equal(cd.st_bad, 0);
    for (int i = 1; i < cd.nst; i++)
        assert_true(cd.st_sample[i] >= cd.st_sample[i - 1]);
    assert_int_equal(cd.st_sample[cd.nst - 1] >= (int64_t)NB * BIG, 1);
    /* ticks: no going back; between 0.5 s blocks, at least every ~50 ms */
    assert_int_equal(cd.tick_back, 0);
    assert_true(cd.ngap >= (int)(0.7 * span / 0.05));
    qsort(cd.tick_gaps, (size_t)cd.ngap, sizeof cd.tick_gaps[0], cmp_double);
    double median = cd.tick_gaps[cd.ngap / 2], p90 = cd.tick_gaps[cd.ngap * 9 / 10];
    printf("[ INFO     ] tick intervals: median %.4f s, 90th percentile %.4f s, max %.4f s\n",
           median, p90, cd.tick_gaps[cd.ngap - 1]);
    assert_true(p90 < 0.1);
    te_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_overflow),
        cmocka_unit_test(test_quality),
        cmocka_unit_test(test_display),
        cmocka_unit_test(test_cadence),
    };
    return cmocka_run_group_tests_name("engine paths", tests, NULL, NULL);
}
