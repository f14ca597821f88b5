/* linecancel.c: see linecancel.h. */
#include "linecancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TW_LC_TAPS 8         /* interpolation kernel length, bins */
#define TW_LC_FRAC 256       /* fractional positions tabulated per bin */
#define TW_LC_TRACK_S 0.25   /* line frequency re-estimated this often, s
                                (the template may turn at most half a
                                period between two: +- 2 Hz) */
#define TW_LC_TRACK_GAIN 0.45 /* fraction of the measured error corrected */
#define TW_LC_TRACK_CLIP 0.05 /* skip an estimate when more than this
                                 fraction of its samples were clipped (a
                                 burst moved the template) */
#define TW_LC_RELEARN_HZ 0.02 /* a correction larger than this restarts
                                 the template's start-up average, Hz */
#define TW_LC_MAX_DEV_HZ 1.0 /* tracked frequency stays within f0 +- this */

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

tw_linecancel *tw_linecancel_create(double fs_hz, double f0_hz, double tau_s,
                                    double clip_k)
{
    if (!(fs_hz >= 100.0 && fs_hz <= 1e6) || !(f0_hz >= 40.0 && f0_hz <= 70.0) ||
        !(f0_hz < 0.5 * fs_hz) || !(tau_s >= 0.05 && tau_s <= 60.0) ||
        !(clip_k >= 2.0 && clip_k <= 100.0))
        return NULL;
    tw_linecancel *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    double period = fs_hz / f0_hz; /* samples per line period */
    /* One bin per sample of a period (a little less when the period is
     * fractional), read and updated through a windowed-sinc kernel at the
     * fractional position: the template then holds the band-limited
     * waveform between its bins too, so that following a line frequency
     * off its nominal value costs nothing at the harmonics near fs/2. */
    q->nbins = (size_t)ceil(period - 1e-9);
    if (q->nbins < TW_LC_TAPS)
        q->nbins = TW_LC_TAPS;
    q->t = calloc(q->nbins, sizeof *q->t);
    q->cs = malloc(q->nbins * sizeof *q->cs);
    q->sn = malloc(q->nbins * sizeof *q->sn);
    q->kern = malloc((size_t)TW_LC_FRAC * TW_LC_TAPS * sizeof *q->kern);
    if (!q->t || !q->cs || !q->sn || !q->kern) {
        tw_linecancel_destroy(q);
        return NULL;
    }
    for (size_t i = 0; i < q->nbins; i++) {
        q->cs[i] = cos(2.0 * M_PI * (double)i / (double)q->nbins);
        q->sn[i] = sin(2.0 * M_PI * (double)i / (double)q->nbins);
    }
    /* Lanczos (a = TW_LC_TAPS / 2) weights for bins i-3 .. i+4 at
     * position i + f, normalised to sum 1 (exact at DC). */
    const int a = TW_LC_TAPS / 2;
    for (int fi = 0; fi < TW_LC_FRAC; fi++) {
        double f = (double)fi / TW_LC_FRAC, sum = 0.0;
        double *w = &q->kern[fi * TW_LC_TAPS];
        for (int j = 0; j < TW_LC_TAPS; j++) {
            double x = (double)(j - (a - 1)) - f;
            double v;
            if (fabs(x) < 1e-12)
                v = 1.0;
            else if (fabs(x) >= a)
                v = 0.0;
            else
                v = a * sin(M_PI * x) * sin(M_PI * x / a) / (M_PI * M_PI * x * x);
            w[j] = v;
            sum += v;
        }
        for (int j = 0; j < TW_LC_TAPS; j++)
            w[j] /= sum;
    }
    q->fs = fs_hz;
    q->f0 = f0_hz;
    /* Each sample updates its bins with weights summing to 1, so a bin
     * gets period / nbins of an update per period. */
    double visits_per_period = period / (double)q->nbins;
    q->vpp = visits_per_period;
    q->mu = 1.0 / (tau_s * f0_hz * visits_per_period);
    if (q->mu > 1.0)
        q->mu = 1.0;
    q->clip_k = clip_k;
    q->mabs_a = 1.0 / (tau_s * fs_hz);
    q->warm_len = 1.0 / q->mabs_a;
    q->track_len = (long)(TW_LC_TRACK_S * fs_hz);
    tw_linecancel_reset(q);
    return q;
}

void tw_linecancel_destroy(tw_linecancel *q)
{
    if (!q)
        return;
    free(q->t);
    free(q->cs);
    free(q->sn);
    free(q->kern);
    free(q);
}

void tw_linecancel_reset(tw_linecancel *q)
{
    memset(q->t, 0, q->nbins * sizeof *q->t);
    q->phase = 0.0;
    q->f = q->f0;
    q->dphase = (double)q->nbins * q->f / q->fs;
    q->mabs = 0.0;
    q->warm = 0.0;
    q->track_n = 0;
    q->clipped_n = 0;
    q->have_prev = 0;
    q->nper = 0.0;
}

size_t tw_linecancel_get_bins(const tw_linecancel *q) { return q->nbins; }
double tw_linecancel_get_frequency(const tw_linecancel *q) { return q->f; }

static inline double clipped(tw_linecancel *q, double e)
{
    double ae = fabs(e);
    /* Seed the scale from the first time constant without clipping. */
    if (q->warm < q->warm_len) {
        q->warm += 1.0;
        q->mabs += (ae - q->mabs) / q->warm;
        return e;
    }
    double lim = q->clip_k * q->mabs;
    if (ae > lim) {
        /* a burst: clip it, and keep it out of the scale too */
        q->clipped_n++;
        return e > 0 ? lim : -lim;
    }
    q->mabs += q->mabs_a * (ae - q->mabs);
    return e;
}

/* Re-estimate the line frequency: when it differs from the tracked one,
 * the template's fundamental rotates; its rotation rate is the error. */
static void track(tw_linecancel *q)
{
    long clipped = q->clipped_n;
    q->clipped_n = 0;
    if ((double)clipped > TW_LC_TRACK_CLIP * (double)q->track_len) {
        q->have_prev = 0;
        return;
    }
    double re = 0.0, im = 0.0;
    for (size_t i = 0; i < q->nbins; i++) {
        re += q->t[i] * q->cs[i];
        im -= q->t[i] * q->sn[i];
    }
    double amp = 2.0 * sqrt(re * re + im * im) / (double)q->nbins;
    /* Only a fundamental standing out of the residual is worth following. */
    if (amp < 0.5 * q->mabs || amp <= 0.0) {
        q->have_prev = 0;
        return;
    }
    if (q->have_prev) {
        /* angle of C * conj(Cprev) */
        double dre = re * q->pre + im * q->pim, dim = im * q->pre - re * q->pim;
        double dphi = atan2(dim, dre);
        double df = dphi / (2.0 * M_PI * (double)q->track_len / q->fs);
        q->f += TW_LC_TRACK_GAIN * df;
        /* A large correction leaves the template's harmonics misplaced:
         * relearn it from the periods to come (the start-up average),
         * which takes a fraction of tau instead of several. */
        if (fabs(TW_LC_TRACK_GAIN * df) > TW_LC_RELEARN_HZ)
            q->nper = 0.0;
        if (q->f > q->f0 + TW_LC_MAX_DEV_HZ)
            q->f = q->f0 + TW_LC_MAX_DEV_HZ;
        if (q->f < q->f0 - TW_LC_MAX_DEV_HZ)
            q->f = q->f0 - TW_LC_MAX_DEV_HZ;
        q->dphase = (double)q->nbins * q->f / q->fs;
    }
    q->pre = re;
    q->pim = im;
    q->have_prev = 1;
}

/* Step per bin visit. At start the template is an average of the periods
 * seen so far, weighted linearly so that the latest count most (step 2/k
 * at the k-th period: the first period, which holds the start-up
 * transient of the filters before the canceller, is dropped at once and
 * any later disturbance fades as 1/k^2, while the noise left in the
 * template is about 4/(3k) of the noise power), until that step falls to
 * mu after about 2 tau f0 periods; from then on it is the exponential
 * average of time constant tau. An untrained template would leave the
 * mains in for several tau (the whole of it at first). */
static inline double step_size(const tw_linecancel *q)
{
    double m = 2.0 / ((q->nper + 1.0) * q->vpp);
    if (m > 1.0)
        m = 1.0;
    return m > q->mu ? m : q->mu;
}

/* The template's value at the kernel's taps, and its update: two taps
 * at a time (SSE2 on x86-64, NEON on arm64, plain code elsewhere), the
 * sum as a tree of even and odd taps, so that its additions do not wait
 * on one another (the next sample's estimate waits on this one through
 * the template's update). */
#if defined(__GNUC__)
typedef double v2d __attribute__((vector_size(16)));
static inline double dot8(const double *w, const double *t)
{
    v2d w0, w1, w2, w3, t0, t1, t2, t3;
    memcpy(&w0, w, sizeof w0);
    memcpy(&w1, w + 2, sizeof w1);
    memcpy(&w2, w + 4, sizeof w2);
    memcpy(&w3, w + 6, sizeof w3);
    memcpy(&t0, t, sizeof t0);
    memcpy(&t1, t + 2, sizeof t1);
    memcpy(&t2, t + 4, sizeof t2);
    memcpy(&t3, t + 6, sizeof t3);
    v2d s = (w0 * t0 + w2 * t2) + (w1 * t1 + w3 * t3);
    return s[0] + s[1];
}

static inline void update8(const double *w, double *t, double ec)
{
    v2d e = {ec, ec};
    for (int j = 0; j < TW_LC_TAPS; j += 2) {
        v2d wv, tv;
        memcpy(&wv, w + j, sizeof wv);
        memcpy(&tv, t + j, sizeof tv);
        tv += wv * e;
        memcpy(t + j, &tv, sizeof tv);
    }
}
#else
static inline double dot8(const double *w, const double *t)
{
    double e = (w[0] * t[0] + w[4] * t[4]) + (w[2] * t[2] + w[6] * t[6]);
    double o = (w[1] * t[1] + w[5] * t[5]) + (w[3] * t[3] + w[7] * t[7]);
    return e + o;
}

static inline void update8(const double *w, double *t, double ec)
{
    for (int j = 0; j < TW_LC_TAPS; j++)
        t[j] += w[j] * ec;
}
#endif

double tw_linecancel_step(tw_linecancel *q, double x)
{
    size_t i = (size_t)q->phase;
    double mu = q->nper * q->mu * q->vpp < 2.0 ? step_size(q) : q->mu;
    int fi = (int)((q->phase - (double)i) * TW_LC_FRAC);
    if (fi >= TW_LC_FRAC)
        fi = TW_LC_FRAC - 1;
    const double *w = &q->kern[fi * TW_LC_TAPS];
    size_t n = q->nbins;
    /* first tap's bin, (i - (TW_LC_TAPS / 2 - 1)) mod n, i < n */
    size_t b = i >= TW_LC_TAPS / 2 - 1 ? i - (TW_LC_TAPS / 2 - 1)
                                       : i + n - (TW_LC_TAPS / 2 - 1);
    double e, ec;
    if (b + TW_LC_TAPS <= n) { /* the usual case: taps do not wrap */
        double *t = q->t + b;
        e = x - dot8(w, t);
        ec = mu * clipped(q, e);
        update8(w, t, ec);
    } else {
        double tw[TW_LC_TAPS];
        for (int j = 0; j < TW_LC_TAPS; j++) {
            size_t k = b + (size_t)j;
            tw[j] = q->t[k < n ? k : k - n];
        }
        e = x - dot8(w, tw);
        ec = mu * clipped(q, e);
        for (int j = 0; j < TW_LC_TAPS; j++) {
            size_t k = b + (size_t)j;
            q->t[k < n ? k : k - n] += w[j] * ec;
        }
    }
    q->phase += q->dphase;
    if (q->phase >= (double)q->nbins) {
        q->phase -= (double)q->nbins;
        q->nper += 1.0;
    }
    if (++q->track_n >= q->track_len) {
        q->track_n = 0;
        track(q);
    }
    return e;
}

void tw_linecancel_execute_block(tw_linecancel *q, const float *x, float *y,
                                 size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)tw_linecancel_step(q, x[i]);
}
