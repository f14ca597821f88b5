/* sos.c: see sos.h. */
#include "sos.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int section_stable(const double a[3])
{
    /* Stability triangle of a biquad: |a2| < 1 and |a1| < 1 + a2. */
    return fabs(a[2]) < 1.0 && fabs(a[1]) < 1.0 + a[2];
}

tw_sos *tw_sos_create(const double *b, const double *a, unsigned nsec)
{
    if (!b || !a || nsec == 0 || nsec > TW_SOS_MAXSEC)
        return NULL;
    for (unsigned i = 0; i < nsec; i++) {
        if (fabs(a[3 * i] - 1.0) > 1e-9 || !section_stable(&a[3 * i]))
            return NULL;
        for (int j = 0; j < 3; j++)
            if (!isfinite(b[3 * i + j]) || !isfinite(a[3 * i + j]))
                return NULL;
    }
    tw_sos *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->nsec = nsec;
    for (unsigned i = 0; i < nsec; i++)
        for (int j = 0; j < 3; j++) {
            q->b[i][j] = b[3 * i + j];
            q->a[i][j] = a[3 * i + j];
        }
    return q;
}

/* Butterworth by the bilinear transform, computed in double. liquid-dsp
 * 1.5 designs (liquid_iirdes) in float, which misplaces the poles of low
 * corners (fc/fs below about 1e-4: a 2 Hz high-pass at 48 kHz came back
 * 1.1 dB off at its corner, 0.5 Hz not at all), so the few lines of the
 * textbook design are done here. Sections pair conjugate poles; an odd
 * order adds a first-order section. */
tw_sos *tw_sos_create_butter(tw_sos_band band, unsigned order, double fc_hz,
                             double fs_hz)
{
    if (order < 1 || order > 8 || !(fs_hz >= 1.0 && fs_hz <= 1e6) ||
        !(fc_hz > 0.0 && fc_hz < 0.49 * fs_hz))
        return NULL;
    if (band != TW_SOS_LOWPASS && band != TW_SOS_HIGHPASS)
        return NULL;
    unsigned nsec = (order + 1) / 2;
    double b[3 * TW_SOS_MAXSEC], a[3 * TW_SOS_MAXSEC];
    double k = tan(M_PI * fc_hz / fs_hz); /* prewarped corner */
    int hp = band == TW_SOS_HIGHPASS;
    for (unsigned i = 0; i < order / 2; i++) {
        /* analog prototype pole pair: s^2 + 2 sin(theta) s + 1 */
        double theta = M_PI * (2.0 * i + 1.0) / (2.0 * order);
        double c = 2.0 * sin(theta);
        double d = 1.0 + c * k + k * k;
        double *bb = &b[3 * i], *aa = &a[3 * i];
        aa[0] = 1.0;
        aa[1] = 2.0 * (k * k - 1.0) / d;
        aa[2] = (1.0 - c * k + k * k) / d;
        if (hp) {
            bb[0] = 1.0 / d;
            bb[1] = -2.0 / d;
            bb[2] = 1.0 / d;
        } else {
            bb[0] = k * k / d;
            bb[1] = 2.0 * k * k / d;
            bb[2] = k * k / d;
        }
    }
    if (order % 2) {
        /* real pole: s + 1 */
        unsigned i = nsec - 1;
        double d = 1.0 + k;
        double *bb = &b[3 * i], *aa = &a[3 * i];
        aa[0] = 1.0;
        aa[1] = (k - 1.0) / d;
        aa[2] = 0.0;
        if (hp) {
            bb[0] = 1.0 / d;
            bb[1] = -1.0 / d;
        } else {
            bb[0] = k / d;
            bb[1] = k / d;
        }
        bb[2] = 0.0;
    }
    return tw_sos_create(b, a, nsec);
}

void tw_sos_destroy(tw_sos *q) { free(q); }

void tw_sos_reset(tw_sos *q) { memset(q->s, 0, sizeof q->s); }

unsigned tw_sos_get_nsections(const tw_sos *q) { return q->nsec; }

/* One section over a block, its coefficients and state in locals (the
 * compiler cannot keep them in registers through q: y may alias nothing
 * of q, but it does not know). The arithmetic of tw_sos_step. */
static void section_block(tw_sos *q, const float *x, float *y, ptrdiff_t n,
                          ptrdiff_t step)
{
    const double b0 = q->b[0][0], b1 = q->b[0][1], b2 = q->b[0][2];
    const double a1 = q->a[0][1], a2 = q->a[0][2];
    double s0 = q->s[0][0], s1 = q->s[0][1];
    for (ptrdiff_t k = 0; k < n; k++, x += step, y += step) {
        double v = *x;
        double o = b0 * v + s0;
        s0 = b1 * v - a1 * o + s1;
        s1 = b2 * v - a2 * o;
        *y = (float)o;
    }
    q->s[0][0] = s0;
    q->s[0][1] = s1;
}

void tw_sos_execute_block(tw_sos *q, const float *x, float *y, size_t n)
{
    if (q->nsec == 1) {
        section_block(q, x, y, (ptrdiff_t)n, 1);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (float)tw_sos_step(q, x[i]);
}

void tw_sos_execute_block_reverse(tw_sos *q, const float *x, float *y, size_t n)
{
    if (n == 0)
        return;
    if (q->nsec == 1) {
        section_block(q, x + n - 1, y + n - 1, (ptrdiff_t)n, -1);
        return;
    }
    for (size_t i = n; i-- > 0;)
        y[i] = (float)tw_sos_step(q, x[i]);
}

double tw_sos_get_gain(const tw_sos *q, double f_hz, double fs_hz)
{
    double complex z1 = cexp(-I * 2.0 * M_PI * f_hz / fs_hz); /* z^-1 */
    double complex h = 1.0;
    for (unsigned i = 0; i < q->nsec; i++) {
        const double *b = q->b[i], *a = q->a[i];
        h *= (b[0] + b[1] * z1 + b[2] * z1 * z1) /
             (a[0] + a[1] * z1 + a[2] * z1 * z1);
    }
    return cabs(h);
}
