/* linecancel.c: see linecancel.h. */
#include "linecancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TW_LC_MIN_BINS 64   /* template bins at least, when fs/f0 is fractional */

struct tw_linecancel {
    double *t;       /* template, nbins values, uV */
    size_t nbins;
    int integer;     /* fs/f0 is an integer: bin = sample index mod nbins */
    size_t idx;      /* integer mode: current bin */
    double phase;    /* fractional mode: position in bins, [0, nbins) */
    double dphase;   /* fractional mode: bins per sample */
    double mu;       /* update step per bin visit */
    double clip_k;
    double mabs;     /* running mean |residual| */
    double mabs_a;   /* its smoothing factor per sample */
    double warm;     /* samples seen, to seed mabs */
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
    double rp = round(period);
    q->integer = fabs(period - rp) < 1e-9;
    double visits_per_period;
    if (q->integer) {
        q->nbins = (size_t)rp;
        visits_per_period = 1.0;
    } else {
        size_t k = (size_t)ceil(TW_LC_MIN_BINS / period);
        if (k < 1)
            k = 1;
        q->nbins = (size_t)ceil(period) * k;
        q->dphase = (double)q->nbins / period;
        /* each bin gets (period / nbins) visits per period, split in two */
        visits_per_period = period / (double)q->nbins;
    }
    q->t = calloc(q->nbins + 1, sizeof *q->t);
    if (!q->t) {
        free(q);
        return NULL;
    }
    q->mu = 1.0 / (tau_s * f0_hz * visits_per_period);
    if (q->mu > 0.5)
        q->mu = 0.5;
    q->clip_k = clip_k;
    q->mabs_a = 1.0 / (tau_s * fs_hz);
    return q;
}

void tw_linecancel_destroy(tw_linecancel *q)
{
    if (!q)
        return;
    free(q->t);
    free(q);
}

void tw_linecancel_reset(tw_linecancel *q)
{
    memset(q->t, 0, (q->nbins + 1) * sizeof *q->t);
    q->idx = 0;
    q->phase = 0.0;
    q->mabs = 0.0;
    q->warm = 0.0;
}

size_t tw_linecancel_get_bins(const tw_linecancel *q) { return q->nbins; }

static inline double clipped(tw_linecancel *q, double e)
{
    double ae = fabs(e);
    /* Seed the scale from the first period without clipping. */
    if (q->warm < 1.0 / q->mabs_a) {
        q->warm += 1.0;
        q->mabs += (ae - q->mabs) / q->warm;
        return e;
    }
    double lim = q->clip_k * q->mabs;
    double ec = e > lim ? lim : (e < -lim ? -lim : e);
    q->mabs += q->mabs_a * (fabs(ec) - q->mabs);
    return ec;
}

double tw_linecancel_step(tw_linecancel *q, double x)
{
    if (q->integer) {
        double *t = &q->t[q->idx];
        double e = x - *t;
        *t += q->mu * clipped(q, e);
        if (++q->idx == q->nbins)
            q->idx = 0;
        return e;
    }
    size_t i = (size_t)q->phase;
    double f = q->phase - (double)i;
    size_t j = i + 1 == q->nbins ? 0 : i + 1;
    double est = (1.0 - f) * q->t[i] + f * q->t[j];
    double e = x - est;
    double ec = q->mu * clipped(q, e);
    q->t[i] += (1.0 - f) * ec;
    q->t[j] += f * ec;
    q->phase += q->dphase;
    if (q->phase >= (double)q->nbins)
        q->phase -= (double)q->nbins;
    return e;
}

void tw_linecancel_execute_block(tw_linecancel *q, const float *x, float *y,
                                 size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)tw_linecancel_step(q, x[i]);
}
