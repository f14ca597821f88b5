/* sos.h: a cascade of second-order IIR sections run in double precision,
 * transposed direct form II.
 *
 * liquid's own iirfilt runs in float32 direct form II, which loses the
 * signal under a DC offset or a movement artefact, and liquid_iirdes designs
 * in float, which misplaces the poles of low corners: so the Butterworth
 * sections are designed (bilinear transform) and run here in double.
 */
#ifndef TW_SOS_H
#define TW_SOS_H

#include <stddef.h>

typedef struct tw_sos tw_sos;

typedef enum { TW_SOS_LOWPASS = 0, TW_SOS_HIGHPASS = 1 } tw_sos_band;

/* Butterworth low- or high-pass of `order` (1..8) with its -3 dB point at
 * fc_hz, for a sample rate fs_hz (1..1e6 Hz). fc_hz must lie in
 * (0, 0.49 fs_hz). Returns NULL on bad parameters or if the design fails
 * or is not stable. */
tw_sos *tw_sos_create_butter(tw_sos_band band, unsigned order, double fc_hz,
                             double fs_hz);

/* From explicit sections: b[3*nsec], a[3*nsec] with a[3*i] == 1.
 * Returns NULL when nsec is 0 or above 8, or a section is unstable. */
tw_sos *tw_sos_create(const double *b, const double *a, unsigned nsec);

void tw_sos_destroy(tw_sos *q);
void tw_sos_reset(tw_sos *q);

/* One sample through all sections. */
static inline double tw_sos_step(tw_sos *q, double x);

/* y[i] = filter(x[i]); x and y may be the same array. */
void tw_sos_execute_block(tw_sos *q, const float *x, float *y, size_t n);
/* The same with time reversed: x[n-1] first, y[i] its output (the
 * backward pass of a zero-phase filter); x and y may be the same array. */
void tw_sos_execute_block_reverse(tw_sos *q, const float *x, float *y, size_t n);

/* Magnitude of the designed response at frequency f_hz (for tests and
 * documentation). */
double tw_sos_get_gain(const tw_sos *q, double f_hz, double fs_hz);

unsigned tw_sos_get_nsections(const tw_sos *q);

/* ---- inline implementation (the per-sample path) ---- */
#define TW_SOS_MAXSEC 8
struct tw_sos {
    unsigned nsec;
    double b[TW_SOS_MAXSEC][3];
    double a[TW_SOS_MAXSEC][3];
    double s[TW_SOS_MAXSEC][2]; /* TDF-II state */
};

static inline double tw_sos_step(tw_sos *q, double x)
{
    for (unsigned i = 0; i < q->nsec; i++) {
        const double *b = q->b[i], *a = q->a[i];
        double *s = q->s[i];
        double y = b[0] * x + s[0];
        s[0] = b[1] * x - a[1] * y + s[1];
        s[1] = b[2] * x - a[2] * y;
        x = y;
    }
    return x;
}

/* tw_sos_step for a filter of one section (order 1 or 2: q->nsec == 1),
 * without the loop over sections: the same arithmetic. */
static inline double tw_sos_step1(tw_sos *q, double x)
{
    const double *b = q->b[0], *a = q->a[0];
    double *s = q->s[0];
    double y = b[0] * x + s[0];
    s[0] = b[1] * x - a[1] * y + s[1];
    s[1] = b[2] * x - a[2] * y;
    return y;
}

#endif
