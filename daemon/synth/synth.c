/* synth.c: the synthetic source object: fixed-block generation, the
 * background (noise, mains, wander), lazily spawned processes (MEPPs,
 * endplate spikes, regularly firing units), the active-instance list and
 * the truth queue. The schedule lives in synth_plan.c, the waveforms in
 * synth_shapes.c. See synth.h for the contract.
 *
 * Chunk invariance: samples are produced only by gen_block(), always for
 * the absolutely aligned block [k*B, (k+1)*B); tw_synth_render merely
 * copies out of the current block. Every random draw, instance and sum
 * therefore happens in the same order whatever the caller's chunking.
 */
#include "synth_priv.h"

#include "log.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* RNG stream numbers: stream = channel * 16 + purpose. */
enum { STREAM_EVENTS = 1, STREAM_NOISE = 2, STREAM_BACKGROUND = 3, STREAM_PINK = 4 };

const char *tw_synth_type_name(int type)
{
    switch (type) {
    case TW_TRUTH_LTR:
        return "ltr";
    case TW_TRUTH_EPN:
        return "epn";
    case TW_TRUTH_DISTRACTOR:
        return "distractor";
    default:
        return "?";
    }
}


/* ---- processes -------------------------------------------------------- */

static void proc_advance(tw_synth *s, tw_proc *p)
{
    double ms = s->rate * 1e-3;
    switch (p->kind) {
    case TW_PK_MEPP: /* Poisson */
        p->next += tw_rng_exp(&p->rng, p->mean_isi);
        break;
    case TW_PK_EPS: {
        /* Irregular: lognormal intervals with CV ~1 (sigma 0.8; the
         * median is set so the mean is mean_isi), at least 3 ms. */
        double isi = tw_rng_lognormal(&p->rng, p->mean_isi * exp(-0.32), 0.8);
        p->next += isi > 3.0 * ms ? isi : 3.0 * ms;
        break;
    }
    default: /* regular firing */
        p->next += p->mean_isi *
                   tw_clampd(1.0 + p->isi_cv * tw_rng_gauss(&p->rng), 0.5, 1.5);
    }
}

static void proc_spawn(tw_synth *s, tw_chan *c, tw_proc *p, int64_t t)
{
    tw_inst in;
    switch (p->kind) {
    case TW_PK_MEPP:
        tw_shape_mepp(&in, &p->rng, s->rate,
                      tw_clampd(tw_rng_lognormal(&p->rng, p->amp_median,
                                              p->amp_sigma),
                             p->amp_min, p->amp_max));
        in.start = t;
        break;
    case TW_PK_EPS: {
        double a = tw_clampd(tw_rng_lognormal(&p->rng, p->amp_median,
                                           p->amp_sigma),
                          p->amp_min, p->amp_max);
        int pos = tw_rng_bernoulli(&p->rng, p->pos_frac);
        tw_shape_eps(&in, &p->rng, s->rate, a, pos);
        in.start = t;
        break;
    }
    default:
        in = p->unit.shape;
        /* MUAPs of one unit repeat with a few % amplitude jitter. */
        in.amp *= (float)tw_clampd(1.0 + p->amp_sigma * tw_rng_gauss(&p->rng),
                                0.8, 1.2);
        in.start = t - p->unit.on;
        p->last_off = t + (p->unit.off - p->unit.on);
    }
    p->count++;
    tw_synth_push_inst(s, c, &in);
}

static void proc_finish(tw_synth *s, tw_proc *p)
{
    tw_trec *r = p->truth_id ? tw_synth_find_truth(s, p->truth_id) : NULL;
    if (!r)
        return;
    switch (p->kind) {
    case TW_PK_MEPP:
        r->t.mepp_count = p->count;
        break;
    case TW_PK_EPS:
        r->t.eps_count = p->count;
        break;
    default:
        if (p->last_off > r->t.offset_sample)
            r->t.offset_sample = p->last_off;
    }
    if (r->pending > 0)
        r->pending--;
}

/* Spawn everything due before b_end; retire finished processes (in
 * order). A process is finished as soon as its next time reaches its
 * end, i.e. in the block of its last spawn. */
static void run_procs(tw_synth *s, tw_chan *c, int64_t b_end)
{
    size_t keep = 0;
    for (size_t i = 0; i < c->nproc; i++) {
        tw_proc *p = &c->procs[i];
        int done = 0;
        for (;;) {
            if (p->next >= (double)p->end) {
                done = 1;
                break;
            }
            int64_t t = (int64_t)floor(p->next);
            if (t >= b_end)
                break;
            proc_spawn(s, c, p, t);
            proc_advance(s, p);
        }
        if (done)
            proc_finish(s, p);
        else
            c->procs[keep++] = *p;
    }
    c->nproc = keep;
}

/* ---- background ------------------------------------------------------- */

/* Pink (1/f) noise: white noise through one-pole low-passes with corners
 * a decade apart from 1 Hz (below 0.45 rate), section i with DC gain
 * 1/sqrt(fc_i): their power spectra sum to about 1/f between 1 Hz and the
 * highest corner (+- 1.5 dB ripple), at any rate. Scaled to rms_uv by the
 * exact output variance, sum_ij b_i b_j / (1 - a_i a_j). */
static void pink_init(tw_chan *c, double rate, double rms_uv)
{
    c->pk_n = 0;
    if (rms_uv <= 0)
        return;
    for (double fc = 1.0; fc < 0.45 * rate && c->pk_n < 6; fc *= 10.0) {
        double a = exp(-2.0 * M_PI * fc / rate);
        c->pk_a[c->pk_n] = a;
        c->pk_b[c->pk_n] = (1.0 - a) / sqrt(fc);
        c->pk_y[c->pk_n] = 0.0;
        c->pk_n++;
    }
    double var = 0.0;
    for (int i = 0; i < c->pk_n; i++)
        for (int j = 0; j < c->pk_n; j++)
            var += c->pk_b[i] * c->pk_b[j] / (1.0 - c->pk_a[i] * c->pk_a[j]);
    for (int i = 0; i < c->pk_n; i++)
        c->pk_b[i] *= rms_uv / sqrt(var); /* (the 1 Hz section needs ~1 s
                                              to reach its level) */
}

static void pink_add(tw_chan *c, float *x, int n)
{
    for (int j = 0; j < n; j++) {
        double w = tw_rng_gauss(&c->pink), v = 0.0;
        for (int i = 0; i < c->pk_n; i++) {
            c->pk_y[i] = c->pk_a[i] * c->pk_y[i] + c->pk_b[i] * w;
            v += c->pk_y[i];
        }
        x[j] += (float)v;
    }
}

static int chan_init(tw_synth *s, tw_chan *c, int index)
{
    const tw_synth_params *p = &s->p;
    memset(c, 0, sizeof *c);
    c->index = index;
    tw_rng_seed_stream(&c->ev, s->seed, (uint64_t)index * 16 + STREAM_EVENTS);
    tw_rng_seed_stream(&c->noise, s->seed,
                       (uint64_t)index * 16 + STREAM_NOISE);
    tw_rng_seed_stream(&c->pink, s->seed, (uint64_t)index * 16 + STREAM_PINK);
    pink_init(c, s->rate, p->pink_uv);
    tw_rng bg;
    tw_rng_seed_stream(&bg, s->seed,
                       (uint64_t)index * 16 + STREAM_BACKGROUND);
    c->buf = malloc(TW_SYNTH_BLOCK * sizeof *c->buf);
    c->mains_tab = malloc((TW_MAINS_TAB + 1) * sizeof *c->mains_tab);
    double *ct = malloc(TW_MAINS_TAB * sizeof *ct);
    if (!c->buf || !c->mains_tab || !ct) {
        free(ct);
        return -1;
    }
    /* Mains: one period with the fundamental (amplitude 1) and odd
     * harmonics k >= 3 of amplitude mains_harmonics * 3/k up to
     * mains_max_hz and below 0.45 rate, random phases. Built from one
     * cosine table: cos(2 pi k i/N) = ct[k i mod N]. */
    for (int i = 0; i < TW_MAINS_TAB; i++)
        ct[i] = cos(2.0 * M_PI * i / TW_MAINS_TAB);
    double f0 = tw_synth_mains_freq(p) + p->mains_offset_hz;
    double fmax = p->mains_max_hz < 0.45 * s->rate ? p->mains_max_hz
                                                    : 0.45 * s->rate;
    memset(c->mains_tab, 0, (TW_MAINS_TAB + 1) * sizeof *c->mains_tab);
    for (int k = 1; k * f0 <= fmax; k += 2) {
        double a = k == 1 ? 1.0 : p->mains_harmonics * 3.0 / k;
        double th = 2.0 * M_PI * tw_rng_uniform(&bg);
        double cth = a * cos(th), sth = a * sin(th);
        if (a == 0.0)
            continue;
        for (int i = 0; i < TW_MAINS_TAB; i++) {
            size_t j = ((size_t)k * (size_t)i) % TW_MAINS_TAB;
            double cs = ct[j];
            double sn = ct[(j + 3 * TW_MAINS_TAB / 4) % TW_MAINS_TAB];
            c->mains_tab[i] += (float)(cth * cs - sth * sn);
        }
    }
    c->mains_tab[TW_MAINS_TAB] = c->mains_tab[0];
    free(ct);
    c->mains_ph0 = tw_rng_uniform(&bg);
    c->mains_inc = f0 / s->rate;
    /* Slow AM: 0.05-0.3 Hz and 0.3-1 Hz components, weights 0.7/0.3. */
    c->am_f[0] = tw_rng_range(&bg, 0.05, 0.3) / s->rate;
    c->am_f[1] = tw_rng_range(&bg, 0.3, 1.0) / s->rate;
    c->am_w[0] = 0.7;
    c->am_w[1] = 0.3;
    /* Wander: three sinusoids up to wander_hz, weights summing to 1. */
    double wsum = 0;
    for (int i = 0; i < 3; i++) {
        c->wd_f[i] = p->wander_hz * tw_rng_range(&bg, 0.1, 1.0) / s->rate;
        c->wd_a[i] = tw_rng_range(&bg, 0.2, 1.0);
        wsum += c->wd_a[i];
    }
    for (int i = 0; i < 3; i++)
        c->wd_a[i] *= p->wander_uv / wsum;
    for (int i = 0; i < 2; i++)
        c->am_ph[i] = tw_rng_uniform(&bg);
    for (int i = 0; i < 3; i++)
        c->wd_ph[i] = tw_rng_uniform(&bg);
    tw_plan_first(s, c);
    return 0;
}

static void chan_fini(tw_chan *c)
{
    free(c->buf);
    free(c->mains_tab);
    free(c->act);
    free(c->procs);
    memset(c, 0, sizeof *c);
}

static double sin_cycles(double ph)
{
    return sin(2.0 * M_PI * (ph - floor(ph)));
}

/* Noise + mains (with AM) + wander for [b0, b0 + B) into c->buf. */
static void background(tw_synth *s, tw_chan *c, int64_t b0)
{
    const tw_synth_params *p = &s->p;
    float *x = c->buf;
    const int B = TW_SYNTH_BLOCK;
    if (p->noise_uv > 0)
        tw_rng_gauss_fill(&c->noise, x, B, p->noise_uv);
    else
        memset(x, 0, B * sizeof *x);
    if (c->pk_n > 0)
        pink_add(c, x, B);
    if (p->mains_uv <= 0 && p->wander_uv <= 0)
        return;
    /* The slow parts (AM envelope, wander) at every `step` samples, then
     * linear interpolation (step <= rate/1500: error < 1e-5). */
    const int step = s->interp_step, npt = B / step + 1;
    double env[TW_SYNTH_BLOCK + 1], wd[TW_SYNTH_BLOCK + 1];
    for (int k = 0; k < npt; k++) {
        double n = (double)(b0 + (int64_t)k * step);
        double am = 0, w = 0;
        for (int i = 0; i < 2; i++)
            am += c->am_w[i] * sin_cycles(c->am_ph[i] + c->am_f[i] * n);
        for (int i = 0; i < 3; i++)
            w += c->wd_a[i] * sin_cycles(c->wd_ph[i] + c->wd_f[i] * n);
        env[k] = p->mains_uv * (1.0 + p->mains_am * am);
        wd[k] = w;
    }
    const float *tab = c->mains_tab;
    for (int k = 0; k < npt - 1; k++) {
        double e0 = env[k], de = (env[k + 1] - env[k]) / step;
        double w0 = wd[k], dw = (wd[k + 1] - wd[k]) / step;
        for (int j = 0; j < step; j++) {
            int idx = k * step + j;
            double ph = c->mains_ph0 + c->mains_inc * (double)(b0 + idx);
            ph -= floor(ph);
            double xt = ph * TW_MAINS_TAB;
            int i0 = (int)xt;
            if (i0 >= TW_MAINS_TAB)
                i0 = TW_MAINS_TAB - 1;
            double fr = xt - i0;
            double m = tab[i0] + fr * (tab[i0 + 1] - tab[i0]);
            x[idx] += (float)((e0 + de * j) * m + (w0 + dw * j));
        }
    }
}

/* ---- blocks ----------------------------------------------------------- */

static void chan_block(tw_synth *s, tw_chan *c, int64_t b0)
{
    const int64_t b_end = b0 + TW_SYNTH_BLOCK;
    while (c->next_seg < b_end && !s->oom)
        tw_plan_segment(s, c);
    background(s, c, b0);
    run_procs(s, c, b_end);
    size_t keep = 0;
    for (size_t i = 0; i < c->nact; i++) {
        tw_inst_add(&c->act[i], c->buf, b0, TW_SYNTH_BLOCK);
        if (c->act[i].start + c->act[i].len > b_end)
            c->act[keep++] = c->act[i];
    }
    c->nact = keep;
}

static void gen_block(tw_synth *s, int64_t b0)
{
    for (int k = 0; k < s->nch; k++) {
        tw_chan *c = &s->ch[k];
        chan_block(s, c, b0);
        for (int j = 0; j < TW_SYNTH_BLOCK; j++)
            s->blk[(size_t)j * s->nch + k] = c->buf[j];
    }
    s->blk_start = b0;
}

/* ---- object ----------------------------------------------------------- */

static uint64_t seed_from_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t st = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    st ^= (uint64_t)getpid() << 32;
    uint64_t x = tw_splitmix64(&st);
    return x % (uint64_t)INT_MAX + 1; /* 1 .. INT_MAX */
}

static int start(tw_synth *s)
{
    s->pos = 0;
    s->blk_start = -1;
    s->qn = 0;
    s->next_id = 0;
    s->oom = 0;
    for (int k = 0; k < s->nch; k++)
        if (chan_init(s, &s->ch[k], k) != 0)
            return -1;
    return 0;
}

static void stop(tw_synth *s)
{
    for (int k = 0; k < TW_MAX_CHANNELS; k++)
        chan_fini(&s->ch[k]);
}

tw_synth *tw_synth_create(const tw_synth_params *p)
{
    char why[256];
    if (!p || tw_synth_check(p, why, sizeof why) != 0)
        return NULL;
    tw_synth *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = *p;
    s->seed = p->seed ? (uint64_t)p->seed : seed_from_clock();
    s->p.seed = (int)s->seed;
    s->rate = p->rate;
    s->nch = p->channels;
    int step = 1;
    while (step < 32 && step * 2 <= p->rate / 1500)
        step *= 2;
    s->interp_step = step;
    s->blk = malloc((size_t)TW_SYNTH_BLOCK * s->nch * sizeof *s->blk);
    /* LTR burst (<= 300 ms plus unit supports) or one unit shape. */
    s->nscratch = (size_t)ceil(0.4 * s->rate) + 2 * tw_unit_max_len(s->rate);
    s->scratch = malloc(s->nscratch * sizeof *s->scratch);
    if (!s->blk || !s->scratch) {
        tw_synth_destroy(s);
        return NULL;
    }
    tw_plan_init(s);
    if (start(s) != 0) {
        tw_synth_destroy(s);
        return NULL;
    }
    return s;
}

void tw_synth_destroy(tw_synth *s)
{
    if (!s)
        return;
    stop(s);
    free(s->blk);
    free(s->scratch);
    free(s->q);
    free(s);
}

uint64_t tw_synth_get_seed(const tw_synth *s)
{
    return s->seed;
}

int tw_synth_render(tw_synth *s, float *out, size_t frames, char *err, size_t errlen)
{
    if (!s || (!out && frames)) {
        tw_set_err(err, errlen, "invalid argument");
        return -1;
    }
    while (frames > 0) {
        if (s->blk_start < 0 || s->pos >= s->blk_start + TW_SYNTH_BLOCK) {
            gen_block(s, s->blk_start < 0 ? 0 : s->blk_start + TW_SYNTH_BLOCK);
            if (s->oom) {
                tw_set_err(err, errlen, "out of memory");
                return -1;
            }
        }
        size_t avail = (size_t)(s->blk_start + TW_SYNTH_BLOCK - s->pos);
        size_t n = frames < avail ? frames : avail;
        memcpy(out, s->blk + (size_t)(s->pos - s->blk_start) * s->nch,
               n * s->nch * sizeof *out);
        out += n * s->nch;
        frames -= n;
        s->pos += (int64_t)n;
    }
    return 0;
}

/* For a record still being generated: the counts and last offset its
 * processes have reached so far. */
static void partial_truth(const tw_synth *s, const tw_trec *r,
                          tw_synth_truth *t)
{
    const tw_chan *c = &s->ch[r->t.channel];
    for (size_t i = 0; i < c->nproc; i++) {
        const tw_proc *p = &c->procs[i];
        if (p->truth_id != r->id)
            continue;
        if (p->kind == TW_PK_MEPP)
            t->mepp_count = p->count;
        else if (p->kind == TW_PK_EPS)
            t->eps_count = p->count;
        else if (p->last_off > t->offset_sample)
            t->offset_sample = p->last_off;
    }
}

static size_t take(tw_synth *s, tw_synth_truth *out, size_t cap, int flush)
{
    size_t n = 0;
    while (n < cap && n < s->qn) {
        const tw_trec *r = &s->q[n];
        int complete = !r->pending && r->t.offset_sample <= s->pos;
        if (!flush && !complete)
            break;
        if (flush && r->t.onset_sample >= s->pos)
            break;
        out[n] = r->t;
        if (!complete) {
            /* Cut by the end: what has been rendered of it. */
            if (r->pending)
                partial_truth(s, r, &out[n]);
            out[n].truncated = 1;
            if (out[n].offset_sample < s->pos)
                out[n].offset_sample = s->pos;
        }
        n++;
    }
    if (n) {
        memmove(s->q, s->q + n, (s->qn - n) * sizeof *s->q);
        s->qn -= n;
    }
    return n;
}

size_t tw_synth_pop_truth(tw_synth *s, tw_synth_truth *out, size_t cap)
{
    if (!s || !out)
        return 0;
    return take(s, out, cap, 0);
}

size_t tw_synth_flush_truth(tw_synth *s, tw_synth_truth *out, size_t cap)
{
    if (!s || !out)
        return 0;
    return take(s, out, cap, 1);
}
