/* synth_plan.c: the per-channel schedule of the synthetic source.
 *
 * A channel is a sequence of segments: an EPN episode, an LTR insertion
 * train (optionally inside an EPN episode), or one distractor. A segment
 * is planned when generation reaches its start: its truth records are
 * queued, its bounded waveforms (movement artefacts, LTR bursts, spikes)
 * placed as instances, its long-running parts (MEPPs, endplate spikes,
 * regular firing) started as processes. The next segment then starts
 * after the last sample this one touches ("busy end", including most of
 * a movement artefact's settling), plus guard_s, plus a random gap.
 * Every segment's activity starts PLAN_MARGIN_S after its start, so no
 * waveform begins before the block being generated.
 *
 * All numbers below follow docs/signals.md, "What each phenomenon looks like"; [A] marks
 * the catalogue's assumptions.
 */
#include "synth_priv.h"

#include <math.h>
#include <string.h>

#define PLAN_MARGIN_S 0.025 /* s from segment start to its first waveform */
#define LTR_POOL 10         /* motor units available to one train */
#define LTR_MAX_INST (LTR_POOL * 4 + 8)

static int64_t smp(const tw_synth *s, double seconds)
{
    return (int64_t)llround(seconds * s->rate);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

void tw_truth_blank(tw_synth_truth *t, int type, const char *kind, int ch)
{
    memset(t, 0, sizeof *t);
    t->type = type;
    t->kind = kind;
    t->channel = ch;
    t->movement_sample = -1;
    t->train_id = -1;
    t->train_index = -1;
}

void tw_plan_init(tw_synth *s)
{
    const tw_synth_params *p = &s->p;
    double nbar = (1.0 + p->ltr_train_max) / 2.0;
    s->w[TW_SEG_EPN] = p->epn_per_min;
    s->w[TW_SEG_TRAIN] = p->ltr_per_min / nbar;
    s->w[TW_SEG_INSERTION] = p->insertion_per_min;
    s->w[TW_SEG_VOLUNTARY] = p->voluntary_per_min;
    s->w[TW_SEG_FLINCH] = p->flinch_per_min;
    s->w[TW_SEG_POP] = p->pop_per_min;
    s->w[TW_SEG_FIB] = p->fib_per_min;
    s->wsum = 0;
    for (int i = 0; i < TW_SEG_N; i++)
        s->wsum += s->w[i];
    if (!(s->wsum > 0)) {
        s->gap_mean_s = INFINITY;
        return;
    }
    /* Expected busy length of each segment type, s (rough; see the
     * planners below), so the mean gap gives the requested rates. */
    double tail = 0.8; /* movement rise + 4 tau, mean */
    double move_tail = (p->move_large + p->move_faint) * tail;
    double e_epn = 0.5 * (p->epn_min_s + p->epn_max_s);
    double span = (nbar - 1.0) * 1.3 + 0.15;
    double e_train = (1.0 - p->ltr_in_epn) * (span + move_tail) +
                     p->ltr_in_epn * fmax(e_epn, span + 4.0);
    double e[TW_SEG_N] = {e_epn, e_train, tail, 3.1, tail, 0.02, 6.0};
    double emean = 0;
    for (int i = 0; i < TW_SEG_N; i++)
        emean += s->w[i] * (e[i] + PLAN_MARGIN_S);
    emean /= s->wsum;
    double gap = 60.0 / s->wsum - emean - p->guard_s;
    s->gap_mean_s = gap > 0.1 ? gap : 0.1; /* saturated: back to back */
}

void tw_plan_first(tw_synth *s, tw_chan *c)
{
    if (!isfinite(s->gap_mean_s)) {
        c->next_seg = INT64_MAX;
        return;
    }
    c->next_seg = smp(s, 0.2 + tw_rng_exp(&c->ev, s->gap_mean_s));
}

/* ---- pieces ----------------------------------------------------------- */

enum { MOVE_ABSENT, MOVE_FAINT, MOVE_LARGE };

static int draw_move_kind(tw_synth *s, tw_chan *c)
{
    double u = tw_rng_uniform(&c->ev);
    if (u < s->p.move_large)
        return MOVE_LARGE;
    if (u < s->p.move_large + s->p.move_faint)
        return MOVE_FAINT;
    return MOVE_ABSENT;
}

/* Needle movement at m: large 0.05-5 mV, faint 10-60 uV (log-uniform,
 * either sign), or nothing. Returns the signed step; extends *busy over
 * rise + 4 tau of its settling. */
static double add_movement(tw_synth *s, tw_chan *c, int64_t m, int kind,
                           int64_t *busy)
{
    if (kind == MOVE_ABSENT)
        return 0.0;
    double step = kind == MOVE_LARGE ? tw_rng_loguniform(&c->ev, 50, 5000)
                                     : tw_rng_loguniform(&c->ev, 10, 60);
    if (tw_rng_bernoulli(&c->ev, 0.5))
        step = -step;
    tw_inst in;
    tw_shape_move(&in, &c->ev, s->rate, step, s->p.move_rise_min_ms,
                  s->p.move_rise_max_ms, s->p.move_overshoot);
    in.start = m;
    tw_synth_push_inst(s, c, &in);
    *busy = max64(*busy, m + (int64_t)ceil(in.p[0] + (in.p[2] > 0 ? 8.0 : 4.0) * in.p[1]));
    return step;
}

/* An EPN episode [t0, t1): Poisson MEPPs at a per-episode rate (lognormal
 * around mepp_rate_hz, sigma 0.75, kept in 50-1000 /s: slow loci too),
 * amplitudes lognormal (episode median around mepp_median_uv, sigma 0.5,
 * kept in 5-100 uV; each MEPP
 * sigma 0.4, kept in 3-100 uV: "10-50 uV, rarely to 100"), plus irregular
 * endplate spikes (rate around eps_rate_hz, kept <= 50 Hz; 10-30 % start
 * positive; amplitude lognormal sigma 0.4 kept in 50-1000 uV). */
static void plan_epn(tw_synth *s, tw_chan *c, int64_t t0, int64_t t1)
{
    const tw_synth_params *p = &s->p;
    double mrate = tw_clampd(tw_rng_lognormal(&c->ev, p->mepp_rate_hz, 0.75),
                          50, 1000);
    double erate = p->eps_rate_hz > 0
                       ? tw_clampd(tw_rng_lognormal(&c->ev, p->eps_rate_hz, 0.3),
                                0.0, 50.0)
                       : 0.0;
    double med = tw_clampd(tw_rng_lognormal(&c->ev, p->mepp_median_uv, 0.5), 5,
                        100);
    double posf = tw_rng_range(&c->ev, 0.1, 0.3);
    uint64_t mseed = tw_rng_u64(&c->ev), eseed = tw_rng_u64(&c->ev);

    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_EPN, "epn", c->index);
    t.onset_sample = t0;
    t.offset_sample = t1;
    t.amp_uv = med;
    t.mepp_rate_hz = mrate;
    t.eps_rate_hz = erate;
    uint64_t id = tw_synth_push_truth(s, &t, erate > 0 ? 2 : 1);
    if (!id)
        return;

    tw_proc *m = tw_synth_add_proc(s, c);
    if (!m)
        return;
    m->kind = TW_PK_MEPP;
    tw_rng_seed(&m->rng, mseed);
    m->mean_isi = s->rate / mrate;
    m->next = (double)t0 + tw_rng_exp(&m->rng, m->mean_isi);
    m->end = t1;
    m->amp_median = med;
    m->amp_sigma = 0.4;
    m->amp_min = 3;
    m->amp_max = 100;
    m->truth_id = id;
    if (erate > 0) {
        tw_proc *e = tw_synth_add_proc(s, c);
        if (!e)
            return;
        e->kind = TW_PK_EPS;
        tw_rng_seed(&e->rng, eseed);
        e->mean_isi = s->rate / erate;
        e->next = (double)t0 + tw_rng_exp(&e->rng, e->mean_isi);
        e->end = t1;
        e->amp_median = p->eps_median_uv;
        e->amp_sigma = 0.4;
        e->amp_min = 50;
        e->amp_max = 1000;
        e->pos_frac = posf;
        e->truth_id = id;
    }
}

/* A regularly firing unit from `first` (its first MUAP's 1 % onset)
 * until `end`. */
static tw_proc *add_unit_proc(tw_synth *s, tw_chan *c, const tw_unit *u,
                              int64_t first, int64_t end, double rate_hz,
                              double cv, double jitter, uint64_t id)
{
    tw_proc *pr = tw_synth_add_proc(s, c);
    if (!pr)
        return NULL;
    pr->kind = TW_PK_UNIT;
    tw_rng_seed(&pr->rng, tw_rng_u64(&c->ev));
    pr->unit = *u;
    pr->next = (double)first;
    pr->end = end;
    pr->mean_isi = s->rate / rate_hz;
    pr->isi_cv = cv;
    pr->amp_sigma = jitter;
    pr->truth_id = id;
    return pr;
}

/* ---- LTR trains ------------------------------------------------------- */

/* One LTR: needle movement at m (artefact per the movement mix, with 0-2
 * brief insertion spikes before the burst when there is one), then after
 * 5-50 ms [A] a burst of 2-10 units of the train's pool firing 1-4 times
 * each, asynchronously, 20-300 ms in all [A] (lognormal, median 80 ms),
 * MUAP peaks = unit peak * factor (+-3 % per firing), kept in
 * ltr_muap_min_uv-3000 uV. Unit 0 (the pool's largest) always fires, so amp_uv (the largest
 * MUAP peak) follows the train's decline; amp_pp_uv is the sampled
 * peak-to-peak of the summed burst, where MUAPs may add up or cancel.
 * Returns the burst's offset. */
static int64_t plan_ltr(tw_synth *s, tw_chan *c, int64_t m,
                        const tw_unit *pool, double factor, int train_id,
                        int index, int in_epn, int64_t *busy)
{
    const double ms = s->rate * 1e-3;
    tw_inst inst[LTR_MAX_INST];
    int ni = 0;

    int mk = draw_move_kind(s, c);
    double step = add_movement(s, c, m, mk, busy);
    double lat = tw_rng_range(&c->ev, 5.0, 50.0) * ms;
    if (mk != MOVE_ABSENT) {
        /* insertion activity locked to the hit, before the burst: brief
         * spikes (50 uV-1 mV) and positive sharp waves (50-500 uV) */
        int nsp = tw_rng_int(&c->ev, 0, s->p.ltr_spikes_max);
        double win = lat - 2.5 * ms;
        for (int i = 0; i < nsp && win > 0.5 * ms; i++) {
            tw_inst sp;
            if (tw_rng_bernoulli(&c->ev, 0.7))
                tw_shape_spike(&sp, &c->ev, s->rate,
                               tw_rng_loguniform(&c->ev, 50, 1000));
            else
                tw_shape_psw(&sp, &c->ev, s->rate,
                             tw_rng_loguniform(&c->ev, 50, 500));
            sp.start = m + (int64_t)floor(tw_rng_uniform(&c->ev) * win);
            tw_synth_push_inst(s, c, &sp);
        }
    }
    /* Units: 0 plus k-1 others from the pool. */
    int k = tw_rng_int(&c->ev, 2, LTR_POOL);
    int idx[LTR_POOL];
    for (int i = 0; i < LTR_POOL; i++)
        idx[i] = i;
    for (int i = 1; i < k; i++) {
        int j = tw_rng_int(&c->ev, i, LTR_POOL - 1);
        int tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    int32_t maxext = 0;
    for (int i = 0; i < k; i++) {
        int32_t e = pool[idx[i]].off - pool[idx[i]].on;
        if (e > maxext)
            maxext = e;
    }
    double dur = tw_clampd(tw_rng_lognormal(&c->ev, s->p.ltr_dur_ms, 0.6), 20.0, 300.0) *
                 ms;
    if (dur < maxext + 1)
        dur = maxext + 1;
    int64_t b = m + (int64_t)llround(lat);
    int64_t D = (int64_t)llround(dur);
    double isi_min = 10.0 * ms; /* <= 100 Hz reflex firing */
    double peak_muap = 0;
    for (int i = 0; i < k; i++) {
        const tw_unit *u = &pool[idx[i]];
        int64_t ext = u->off - u->on;
        double avail = (double)(D - ext);
        int nf = tw_rng_int(&c->ev, 1, 4);
        while (nf > 1 && (nf - 1) * isi_min > avail)
            nf--;
        double tf[4];
        double room = avail - (nf - 1) * isi_min;
        for (int f = 0; f < nf; f++)
            tf[f] = tw_rng_uniform(&c->ev) * room;
        for (int f = 1; f < nf; f++) /* sort (nf <= 4) */
            for (int g = f; g > 0 && tf[g] < tf[g - 1]; g--) {
                double tmp = tf[g];
                tf[g] = tf[g - 1];
                tf[g - 1] = tmp;
            }
        for (int f = 0; f < nf; f++)
            tf[f] += f * isi_min;
        double shift = i == 0 ? -tf[0] : i == 1 ? avail - tf[nf - 1] : 0.0;
        double pk = tw_clampd(u->peak_uv * factor, s->p.ltr_muap_min_uv, 3000.0);
        for (int f = 0; f < nf && ni < LTR_MAX_INST; f++) {
            tw_inst in = u->shape;
            double jit = tw_clampd(1.0 + 0.03 * tw_rng_gauss(&c->ev), 0.9, 1.1);
            in.amp = (float)(in.amp * pk / u->peak_uv * jit);
            if (pk * jit > peak_muap)
                peak_muap = pk * jit;
            in.start = b + (int64_t)llround(tf[f] + shift) - u->on;
            inst[ni++] = in;
        }
    }
    /* Peak-to-peak of the burst alone, sampled. */
    int64_t lo = inst[0].start, hi = inst[0].start + inst[0].len;
    for (int i = 1; i < ni; i++) {
        if (inst[i].start < lo)
            lo = inst[i].start;
        if (inst[i].start + inst[i].len > hi)
            hi = inst[i].start + inst[i].len;
    }
    size_t n = (size_t)(hi - lo);
    if (n > s->nscratch)
        n = s->nscratch;
    memset(s->scratch, 0, n * sizeof *s->scratch);
    for (int i = 0; i < ni; i++)
        tw_inst_add(&inst[i], s->scratch, lo, n);
    double vmax = 0, vmin = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->scratch[i] > vmax)
            vmax = s->scratch[i];
        if (s->scratch[i] < vmin)
            vmin = s->scratch[i];
    }
    for (int i = 0; i < ni; i++)
        tw_synth_push_inst(s, c, &inst[i]);

    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_LTR, "ltr", c->index);
    t.onset_sample = b;
    t.offset_sample = b + D;
    t.movement_sample = m;
    t.movement_uv = step;
    t.amp_uv = peak_muap;
    t.amp_pp_uv = vmax - vmin;
    t.train_id = train_id;
    t.train_index = index;
    t.in_epn = in_epn;
    t.train_factor = factor;
    t.n_units = k;
    tw_synth_push_truth(s, &t, 0);
    *busy = max64(*busy, hi);
    return b + D;
}

/* An insertion train: 1..ltr_train_max LTRs, one needle movement every
 * 0.5-2 s (and >= 0.2 s after the previous burst). Amplitude factors: 1,
 * then down over the first three to a plateau p = 0.4-0.7 (Baraja-Vegas
 * 2020; Cruz-Montecinos 2021): 1, p + 0.45(1-p), p + 0.12(1-p), p (+-3 %).
 * With probability ltr_in_epn the train sits inside an EPN episode that
 * starts 1-3 s before the first movement and ends 1-3 s after the last
 * burst (or later, per epn_min_s..epn_max_s). */
static int64_t plan_train(tw_synth *s, tw_chan *c, int64_t t0)
{
    const tw_synth_params *p = &s->p;
    int n = tw_rng_int(&c->ev, 1, p->ltr_train_max);
    int in_epn = tw_rng_bernoulli(&c->ev, p->ltr_in_epn);
    int train_id = c->train_count++;
    double plateau = tw_rng_range(&c->ev, 0.4, 0.7);

    tw_unit pool[LTR_POOL];
    for (int i = 0; i < LTR_POOL; i++) {
        double a = tw_clampd(tw_rng_lognormal(&c->ev, p->ltr_muap_uv, 0.35),
                          p->ltr_muap_min_uv, 3000);
        tw_unit_make(&pool[i], &c->ev, s->rate, TW_UNIT_LTR, a, s->scratch);
    }
    int big = 0;
    for (int i = 1; i < LTR_POOL; i++)
        if (pool[i].peak_uv > pool[big].peak_uv)
            big = i;
    tw_unit tmp = pool[0];
    pool[0] = pool[big];
    pool[big] = tmp;
    /* Unit 0 carries the train's decline: keep it above the floor down to
     * the plateau (a 15 % margin covers the firing jitter), so the
     * floor never flattens the decline. */
    double floor0 = 1.15 * p->ltr_muap_min_uv / plateau;
    if (pool[0].peak_uv < floor0) {
        pool[0].shape.amp = (float)(pool[0].shape.amp * floor0 /
                                    pool[0].peak_uv);
        pool[0].peak_uv = floor0;
    }

    int64_t busy = t0;
    int64_t m = t0 + smp(s, in_epn ? tw_rng_range(&c->ev, 1.0, 3.0)
                                   : PLAN_MARGIN_S);
    int64_t last = m;
    for (int i = 0; i < n; i++) {
        double f;
        if (i == 0)
            f = 1.0;
        else if (i == 1)
            f = plateau + 0.45 * (1.0 - plateau);
        else if (i == 2)
            f = plateau + 0.12 * (1.0 - plateau);
        else
            f = fmin(plateau * tw_clampd(1.0 + 0.03 * tw_rng_gauss(&c->ev),
                                      0.9, 1.1),
                     plateau + 0.12 * (1.0 - plateau));
        last = plan_ltr(s, c, m, pool, f, train_id, i, in_epn, &busy);
        m = max64(m + smp(s, tw_rng_range(&c->ev, 0.5, 2.0)),
                  last + smp(s, 0.2));
    }
    if (in_epn) {
        int64_t t1 = max64(
            t0 + smp(s, tw_rng_range(&c->ev, p->epn_min_s, p->epn_max_s)),
            last + smp(s, tw_rng_range(&c->ev, 1.0, 3.0)));
        plan_epn(s, c, t0, t1);
        busy = max64(busy, t1 + smp(s, 0.01));
    }
    return busy;
}

/* ---- distractors ------------------------------------------------------ */

/* Insertion activity without an LTR: a large needle movement (0.1-4 mV
 * step, < 20 Hz) with a cluster of brief spikes (50 uV-1 mV) and positive
 * sharp waves (50-500 uV), 30-100 /s, denser early, lasting lognormal
 * median 150 ms (30 ms .. 2.5 s: "usually < 0.3 s, at most 2-3 s"). */
static int64_t plan_insertion(tw_synth *s, tw_chan *c, int64_t t0)
{
    int64_t busy = t0;
    int64_t m = t0 + smp(s, PLAN_MARGIN_S);
    double step = add_movement(s, c, m, MOVE_LARGE, &busy);
    double dur = tw_clampd(tw_rng_lognormal(&c->ev, 0.15, 0.6), 0.03, 2.5);
    int nsp = (int)llround(dur * tw_rng_range(&c->ev, 30.0, 100.0));
    nsp = nsp < 2 ? 2 : nsp > 250 ? 250 : nsp;
    int64_t off = m;
    double amax = 0;
    for (int i = 0; i < nsp; i++) {
        tw_inst in;
        double a;
        if (tw_rng_bernoulli(&c->ev, 0.7)) {
            a = tw_rng_loguniform(&c->ev, 50, 1000);
            tw_shape_spike(&in, &c->ev, s->rate, a);
        } else {
            a = tw_rng_loguniform(&c->ev, 50, 500);
            tw_shape_psw(&in, &c->ev, s->rate, a);
        }
        double u = tw_rng_uniform(&c->ev);
        in.start = m + smp(s, dur * u * sqrt(u)); /* denser early */
        tw_synth_push_inst(s, c, &in);
        off = max64(off, in.start + in.len);
        amax = fmax(amax, a);
    }
    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_DISTRACTOR, "insertion", c->index);
    t.onset_sample = m;
    t.offset_sample = off;
    t.movement_sample = m;
    t.movement_uv = step;
    t.amp_uv = amax;
    tw_synth_push_truth(s, &t, 0);
    return max64(busy, off);
}

/* Regular firing of n units for a truth record whose offset the
 * processes complete. first[i]: 1 % onset of unit i's first MUAP. */
static int64_t plan_firing(tw_synth *s, tw_chan *c, tw_synth_truth *t,
                           int n, int unit_kind, double amp_med,
                           double amp_sig, double amp_lo, double amp_hi,
                           double rate_lo, double rate_hi, int64_t start,
                           double stagger_s, int64_t end)
{
    tw_unit u[5];
    int64_t first[5];
    double rate[5], cv[5], rsum = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        double a = tw_clampd(tw_rng_lognormal(&c->ev, amp_med, amp_sig), amp_lo,
                          amp_hi);
        tw_unit_make(&u[i], &c->ev, s->rate, unit_kind, a, s->scratch);
        rate[i] = tw_rng_range(&c->ev, rate_lo, rate_hi);
        cv[i] = tw_rng_range(&c->ev, 0.1, 0.2);
        first[i] = start + (i ? smp(s, tw_rng_range(&c->ev, 0, stagger_s))
                              : 0);
        rsum += rate[i];
        amax = fmax(amax, u[i].peak_uv);
    }
    t->onset_sample = start;
    t->offset_sample = start;
    t->amp_uv = amax;
    t->n_units = n;
    t->fire_rate_hz = rsum / n;
    uint64_t id = tw_synth_push_truth(s, t, n);
    if (!id)
        return end;
    for (int i = 0; i < n; i++)
        add_unit_proc(s, c, &u[i], first[i], end, rate[i], cv[i], 0.03, id);
    return end + tw_unit_max_len(s->rate);
}

/* Voluntary contraction: 1-5 units (peaks lognormal around vol_muap_uv,
 * kept in 0.3-3 mV), triphasic, firing regularly at 5-20 Hz with interval
 * CV 0.1-0.2, recruited within the first 0.5 s, for 1-5 s. */
static int64_t plan_voluntary(tw_synth *s, tw_chan *c, int64_t t0)
{
    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_DISTRACTOR, "voluntary", c->index);
    int n = tw_rng_int(&c->ev, 1, 5);
    double dur = tw_rng_range(&c->ev, 1.0, 5.0);
    int64_t start = t0 + smp(s, PLAN_MARGIN_S);
    return plan_firing(s, c, &t, n, TW_UNIT_VOLUNTARY, s->p.vol_muap_uv, 0.4,
                       300, 3000, 5.0, 20.0, start, 0.5,
                       start + smp(s, dur));
}

/* Flinch: a large needle step, then after 80-200 ms [A] 200-500 ms of
 * regular firing (8-20 Hz, CV 0.1-0.2) of 1-3 units of 0.2-1 mV. */
static int64_t plan_flinch(tw_synth *s, tw_chan *c, int64_t t0)
{
    int64_t busy = t0;
    int64_t m = t0 + smp(s, PLAN_MARGIN_S);
    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_DISTRACTOR, "flinch", c->index);
    t.movement_sample = m;
    t.movement_uv = add_movement(s, c, m, MOVE_LARGE, &busy);
    int n = tw_rng_int(&c->ev, 1, 3);
    int64_t start = m + smp(s, tw_rng_range(&c->ev, 0.08, 0.2));
    int64_t end = start + smp(s, tw_rng_range(&c->ev, 0.2, 0.5));
    int64_t b = plan_firing(s, c, &t, n, TW_UNIT_VOLUNTARY, 450, 0.4, 200,
                            1000, 8.0, 20.0, start, 0.04, end);
    return max64(busy, b);
}

/* Electrode pop: one 0.5-5 mV step (either sign), decay tau 1-4 ms. */
static int64_t plan_pop(tw_synth *s, tw_chan *c, int64_t t0)
{
    double step = tw_rng_loguniform(&c->ev, 500, 5000);
    if (tw_rng_bernoulli(&c->ev, 0.5))
        step = -step;
    tw_inst in;
    tw_shape_pop(&in, &c->ev, s->rate, step);
    in.start = t0 + smp(s, PLAN_MARGIN_S);
    tw_synth_push_inst(s, c, &in);
    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_DISTRACTOR, "pop", c->index);
    t.onset_sample = in.start;
    t.offset_sample = in.start + (int64_t)ceil(5.0 * in.p[0]);
    t.amp_uv = fabs(step);
    tw_synth_push_truth(s, &t, 0);
    return in.start + in.len;
}

/* Fibrillation train: one fibre firing very regularly (CV 1-4 %) at
 * 0.5-15 Hz for 2-10 s, initial-positive triphasic potentials of 20-200
 * uV (lognormal, median 60 uV). */
static int64_t plan_fib(tw_synth *s, tw_chan *c, int64_t t0)
{
    tw_synth_truth t;
    tw_truth_blank(&t, TW_TRUTH_DISTRACTOR, "fib", c->index);
    double a = tw_clampd(tw_rng_lognormal(&c->ev, 60, 0.5), 20, 200);
    double rate = tw_rng_range(&c->ev, 0.5, 15.0);
    double cv = tw_rng_range(&c->ev, 0.01, 0.04);
    double dur = tw_rng_range(&c->ev, 2.0, 10.0);
    tw_unit u;
    tw_unit_make(&u, &c->ev, s->rate, TW_UNIT_FIB, a, s->scratch);
    int64_t start = t0 + smp(s, PLAN_MARGIN_S);
    int64_t end = start + smp(s, dur);
    t.onset_sample = start;
    t.offset_sample = start;
    t.amp_uv = a;
    t.n_units = 1;
    t.fire_rate_hz = rate;
    uint64_t id = tw_synth_push_truth(s, &t, 1);
    if (id)
        add_unit_proc(s, c, &u, start, end, rate, cv, 0.02, id);
    return end + tw_unit_max_len(s->rate);
}

/* ---- the schedule ----------------------------------------------------- */

void tw_plan_segment(tw_synth *s, tw_chan *c)
{
    int64_t t0 = c->next_seg;
    double u = tw_rng_uniform(&c->ev) * s->wsum;
    int type = TW_SEG_N - 1;
    for (int i = 0; i < TW_SEG_N; i++) {
        if (s->w[i] > 0 && u < s->w[i]) {
            type = i;
            break;
        }
        u -= s->w[i];
    }
    while (type > 0 && !(s->w[type] > 0)) /* rounding at the top end */
        type--;
    int64_t busy;
    switch (type) {
    case TW_SEG_EPN: {
        int64_t t1 = t0 + smp(s, tw_rng_range(&c->ev, s->p.epn_min_s,
                                               s->p.epn_max_s));
        plan_epn(s, c, t0, t1);
        busy = t1 + smp(s, 0.01);
        break;
    }
    case TW_SEG_TRAIN:
        busy = plan_train(s, c, t0);
        break;
    case TW_SEG_INSERTION:
        busy = plan_insertion(s, c, t0);
        break;
    case TW_SEG_VOLUNTARY:
        busy = plan_voluntary(s, c, t0);
        break;
    case TW_SEG_FLINCH:
        busy = plan_flinch(s, c, t0);
        break;
    case TW_SEG_POP:
        busy = plan_pop(s, c, t0);
        break;
    default:
        busy = plan_fib(s, c, t0);
    }
    int64_t next = busy + smp(s, s->p.guard_s + tw_rng_exp(&c->ev,
                                                           s->gap_mean_s));
    c->next_seg = next > t0 ? next : t0 + 1;
}
