/* sos.c: see sos.h. */
#include "sos.h"

#include <complex.h>
#include <liquid/liquid.h>
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

tw_sos *tw_sos_create_butter(tw_sos_band band, unsigned order, double fc_hz,
                             double fs_hz)
{
    if (order < 1 || order > 8 || !(fs_hz >= 1.0 && fs_hz <= 1e6) ||
        !(fc_hz > 0.0 && fc_hz < 0.49 * fs_hz))
        return NULL;
    if (band != TW_SOS_LOWPASS && band != TW_SOS_HIGHPASS)
        return NULL;
    /* liquid's SOS layout: L = ceil(order/2) sections of 3 coefficients. */
    unsigned nsec = (order + 1) / 2;
    float bf[3 * TW_SOS_MAXSEC], af[3 * TW_SOS_MAXSEC];
    memset(bf, 0, sizeof bf);
    memset(af, 0, sizeof af);
    int rc = liquid_iirdes(LIQUID_IIRDES_BUTTER,
                           band == TW_SOS_HIGHPASS ? LIQUID_IIRDES_HIGHPASS
                                                   : LIQUID_IIRDES_LOWPASS,
                           LIQUID_IIRDES_SOS, order, (float)(fc_hz / fs_hz),
                           0.0f, 1.0f, 60.0f, bf, af);
    if (rc != LIQUID_OK)
        return NULL;
    double b[3 * TW_SOS_MAXSEC], a[3 * TW_SOS_MAXSEC];
    for (unsigned i = 0; i < 3 * nsec; i++) {
        b[i] = bf[i];
        a[i] = af[i];
    }
    tw_sos *q = tw_sos_create(b, a, nsec);
    if (!q)
        return NULL;
    /* Normalise the pass-band gain exactly (liquid designs in float). */
    double fpass = band == TW_SOS_HIGHPASS ? 0.5 * fs_hz : 0.0;
    double g = tw_sos_get_gain(q, fpass, fs_hz);
    if (!(g > 0.5 && g < 2.0)) {
        tw_sos_destroy(q);
        return NULL;
    }
    for (int j = 0; j < 3; j++)
        q->b[0][j] /= g;
    return q;
}

void tw_sos_destroy(tw_sos *q) { free(q); }

void tw_sos_reset(tw_sos *q) { memset(q->s, 0, sizeof q->s); }

unsigned tw_sos_get_nsections(const tw_sos *q) { return q->nsec; }

void tw_sos_execute_block(tw_sos *q, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
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
