/* linecancel.h: mains removal by adaptive periodic-template subtraction.
 *
 * Mains interference is periodic at the line frequency f0: the fundamental
 * and every harmonic (rectifier and switching-supply buzz into the kHz
 * range) repeat with period 1/f0. The canceller keeps a template of one
 * period, indexed by the line phase, subtracts it from each sample and
 * nudges the template bin towards the residual (LMS with step 1/(tau f0)
 * per period). This is the adaptive line canceller of Widrow et al. applied
 * to all harmonics at once: O(1) per sample whatever the number of
 * harmonics, with no notch to distort EMG. EMG and EPN are not
 * phase-locked to the mains and average out of the template; bursts are
 * kept out of it by clipping the residual used for the update at
 * clip_k times its running mean absolute value.
 *
 * Mains is never exactly at its nominal frequency: every second the
 * canceller measures how fast the template's fundamental rotates and
 * corrects the frequency it follows (within f0 +- 1 Hz), so that the
 * harmonics in the kHz range stay aligned. The template has one bin per
 * sample of a period and is read and updated through an 8-tap
 * windowed-sinc kernel at the fractional position.
 */
#ifndef TW_LINECANCEL_H
#define TW_LINECANCEL_H

#include <stddef.h>

typedef struct tw_linecancel tw_linecancel;

/* fs_hz: 100 .. 1e6 Hz. f0_hz: line frequency, 40 .. 70 Hz, below fs/2.
 * tau_s: adaptation time constant, 0.05 .. 60 s. clip_k: 2 .. 100 (residual
 * clipping in multiples of its mean |value|). NULL on bad parameters. */
tw_linecancel *tw_linecancel_create(double fs_hz, double f0_hz, double tau_s,
                                    double clip_k);
void tw_linecancel_destroy(tw_linecancel *q);
void tw_linecancel_reset(tw_linecancel *q);

/* Residual (input minus mains estimate) for one sample. */
double tw_linecancel_step(tw_linecancel *q, double x);

/* The same inside a caller's own loop over samples (with other filters
 * of its own: the canceller's chain of dependent operations from one
 * sample to the next is long, and other work overlaps it there): the
 * state that changes every sample in a local tw_linecancel_live, which
 * the compiler keeps in registers:
 *     tw_linecancel_live s;
 *     tw_linecancel_begin(q, &s);
 *     for (...) y = tw_linecancel_run(q, &s, x);
 *     tw_linecancel_end(q, &s);
 * Nothing else may use q between begin and end. */
typedef struct tw_linecancel_live tw_linecancel_live;
static inline void tw_linecancel_begin(const tw_linecancel *q,
                                       tw_linecancel_live *s);
static inline double tw_linecancel_run(tw_linecancel *q, tw_linecancel_live *s,
                                       double x);
static inline void tw_linecancel_end(tw_linecancel *q,
                                     const tw_linecancel_live *s);

/* y[i] = x[i] - mains estimate; x and y may be the same array. */
void tw_linecancel_execute_block(tw_linecancel *q, const float *x, float *y,
                                 size_t n);

/* Number of template bins over one line period. */
size_t tw_linecancel_get_bins(const tw_linecancel *q);

/* The line frequency being followed, Hz. */
double tw_linecancel_get_frequency(const tw_linecancel *q);

/* ---- inline implementation (the per-sample path) ---- */
#include <math.h>

#define TW_LC_TAPS 8         /* interpolation kernel length, bins */
#define TW_LC_FRAC 256       /* fractional positions tabulated per bin */

struct tw_linecancel {
    double *t;       /* template over one line period, nbins values, uV */
    double *cs, *sn; /* cos, sin of the fundamental over the bins */
    double *kern;    /* TW_LC_FRAC x TW_LC_TAPS interpolation weights */
    size_t nbins;
    double phase;    /* position in bins, [0, nbins) */
    double dphase;   /* bins per sample at the tracked frequency */
    double fs, f0, f;/* rate, nominal and tracked line frequency (Hz) */
    double mu;       /* update step per bin visit */
    double vpp;      /* bin visits per line period (period / nbins) */
    double nper;     /* line periods seen since reset (start-up schedule) */
    double clip_k;
    double mabs;     /* running mean |residual| */
    double mabs_a;   /* its smoothing factor per sample */
    double warm;     /* samples seen, to seed mabs */
    double warm_len; /* seeding lasts this many samples, 1 / mabs_a */
    long track_len;  /* samples between frequency estimates */
    long track_n;
    long clipped_n;  /* samples clipped since the last estimate */
    double pre, pim; /* previous fundamental coefficient of the template */
    int have_prev;
};

struct tw_linecancel_live {
    double phase, dphase, nper, mabs, warm;
    double mu;  /* step per bin visit at nper (tw_linecancel_mu_) */
    long track_n, clipped_n;
};

/* Step per bin visit after nper line periods. At start the template is
 * an average of the periods seen so far, weighted linearly so that the
 * latest count most (step 2/k at the k-th period: the first period,
 * which holds the start-up transient of the filters before the
 * canceller, is dropped at once and any later disturbance fades as
 * 1/k^2, while the noise left in the template is about 4/(3k) of the
 * noise power), until that step falls to mu after about 2 tau f0
 * periods; from then on it is the exponential average of time constant
 * tau. An untrained template would leave the mains in for several tau
 * (the whole of it at first). It changes only with nper: once a period. */
static inline double tw_linecancel_mu_(const tw_linecancel *q, double nper)
{
    double mu = q->mu;
    if (nper * q->mu * q->vpp < 2.0) {
        double m = 2.0 / ((nper + 1.0) * q->vpp);
        if (m > 1.0)
            m = 1.0;
        mu = m > q->mu ? m : q->mu;
    }
    return mu;
}

/* Re-estimates the line frequency (linecancel.c). Not for callers. */
void tw_linecancel_track_(tw_linecancel *q);

static inline void tw_linecancel_begin(const tw_linecancel *q,
                                       tw_linecancel_live *s)
{
    s->phase = q->phase;
    s->dphase = q->dphase;
    s->nper = q->nper;
    s->mabs = q->mabs;
    s->warm = q->warm;
    s->track_n = q->track_n;
    s->clipped_n = q->clipped_n;
    s->mu = tw_linecancel_mu_(q, s->nper);
}

static inline void tw_linecancel_end(tw_linecancel *q,
                                     const tw_linecancel_live *s)
{
    q->phase = s->phase;
    q->dphase = s->dphase;
    q->nper = s->nper;
    q->mabs = s->mabs;
    q->warm = s->warm;
    q->track_n = s->track_n;
    q->clipped_n = s->clipped_n;
}

static inline double tw_linecancel_run(tw_linecancel *q, tw_linecancel_live *s,
                                       double x)
{
    const size_t nb = q->nbins;
    size_t i = (size_t)s->phase;
    double mu = s->mu;
    int fi = (int)((s->phase - (double)i) * TW_LC_FRAC);
    if (fi >= TW_LC_FRAC)
        fi = TW_LC_FRAC - 1;
    const double *w = &q->kern[fi * TW_LC_TAPS];
    /* the taps' bins: b, b + 1, ... (mod nb), b == (i - 3) mod nb */
    size_t b = i >= TW_LC_TAPS / 2 - 1 ? i - (TW_LC_TAPS / 2 - 1)
                                       : i + nb - (TW_LC_TAPS / 2 - 1);
    /* The template's value at the taps: the even and odd taps summed as
     * trees (their additions do not wait on one another), the sum of the
     * two last. Each tap is read and written on its own, not two in one
     * vector: the next sample reads the bins this one writes, shifted by
     * one, and a read spanning two writes would wait for them to reach
     * the cache. */
    double *t = q->t, *tp = t + b;
    int wrap = b + TW_LC_TAPS > nb;
    size_t k4 = 0, k5 = 0, k6 = 0, k7 = 0; /* wrapped: bins of taps 4..7 */
    double t0, t1, t2, t3, t4, t5, t6, t7;
    if (!wrap) {
        t0 = tp[0], t1 = tp[1], t2 = tp[2], t3 = tp[3];
        t4 = tp[4], t5 = tp[5], t6 = tp[6], t7 = tp[7];
    } else { /* tap j at bin (b + j) mod nb */
        size_t k0 = b, k1 = b + 1 < nb ? b + 1 : b + 1 - nb;
        size_t k2 = b + 2 < nb ? b + 2 : b + 2 - nb;
        size_t k3 = b + 3 < nb ? b + 3 : b + 3 - nb;
        k4 = b + 4 < nb ? b + 4 : b + 4 - nb;
        k5 = b + 5 < nb ? b + 5 : b + 5 - nb;
        k6 = b + 6 < nb ? b + 6 : b + 6 - nb;
        k7 = b + 7 - nb;
        t0 = t[k0], t1 = t[k1], t2 = t[k2], t3 = t[k3];
        t4 = t[k4], t5 = t[k5], t6 = t[k6], t7 = t[k7];
    }
    double ev = (w[0] * t0 + w[4] * t4) + (w[2] * t2 + w[6] * t6);
    double od = (w[1] * t1 + w[5] * t5) + (w[3] * t3 + w[7] * t7);
    double e = x - (ev + od);
    /* the update's residual, clipped at clip_k times its running mean
     * |value|: a burst is clipped, and kept out of the scale too; the
     * scale is seeded from the first time constant without clipping */
    double ae = fabs(e), ce = e;
    if (s->warm < q->warm_len) {
        s->warm += 1.0;
        s->mabs += (ae - s->mabs) / s->warm;
    } else {
        double lim = q->clip_k * s->mabs;
        if (ae > lim) {
            s->clipped_n++;
            ce = e > 0 ? lim : -lim;
        } else {
            s->mabs += q->mabs_a * (ae - s->mabs);
        }
    }
    double ec = mu * ce;
    t0 += w[0] * ec;
    t1 += w[1] * ec;
    t2 += w[2] * ec;
    t3 += w[3] * ec;
    t4 += w[4] * ec;
    t5 += w[5] * ec;
    t6 += w[6] * ec;
    t7 += w[7] * ec;
    if (!wrap) {
        tp[0] = t0, tp[1] = t1, tp[2] = t2, tp[3] = t3;
        tp[4] = t4, tp[5] = t5, tp[6] = t6, tp[7] = t7;
    } else {
        size_t k1 = b + 1 < nb ? b + 1 : b + 1 - nb;
        size_t k2 = b + 2 < nb ? b + 2 : b + 2 - nb;
        size_t k3 = b + 3 < nb ? b + 3 : b + 3 - nb;
        t[b] = t0, t[k1] = t1, t[k2] = t2, t[k3] = t3;
        t[k4] = t4, t[k5] = t5, t[k6] = t6, t[k7] = t7;
    }
    s->phase += s->dphase;
    if (s->phase >= (double)nb) {
        s->phase -= (double)nb;
        s->nper += 1.0;
        s->mu = tw_linecancel_mu_(q, s->nper);
    }
    if (++s->track_n >= q->track_len) {
        s->track_n = 0;
        tw_linecancel_end(q, s);
        tw_linecancel_track_(q);
        tw_linecancel_begin(q, s);
    }
    return e;
}

#endif
