/* linecancel.c: see linecancel.h. */
#include "linecancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Re-estimate the line frequency: when it differs from the tracked one,
 * the template's fundamental rotates; its rotation rate is the error. */
void tw_linecancel_track_(tw_linecancel *q)
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

double tw_linecancel_step(tw_linecancel *q, double x)
{
    tw_linecancel_live s;
    tw_linecancel_begin(q, &s);
    double e = tw_linecancel_run(q, &s, x);
    tw_linecancel_end(q, &s);
    return e;
}

void tw_linecancel_execute_block(tw_linecancel *q, const float *x, float *y,
                                 size_t n)
{
    tw_linecancel_live s;
    tw_linecancel_begin(q, &s);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)tw_linecancel_run(q, &s, x[i]);
    tw_linecancel_end(q, &s);
}
