/* condition.h: signal conditioning at the input rate.
 *
 * DC removal (one-pole high-pass at dc_hz), Butterworth band-pass
 * (high-pass low_hz of order 2, low-pass high_hz of order 4, each run in
 * double: see sos.h), then mains removal by periodic-template subtraction
 * (linecancel.h) for the line frequency and all its harmonics.
 *
 * Band edges adapt to the sample rate: a high edge above 0.45 fs is clipped
 * to 0.45 fs, a low edge above high/4 to high/4, each with a warning bit;
 * the filters are always stable or create fails.
 */
#ifndef TW_CONDITION_H
#define TW_CONDITION_H

#include <stddef.h>

enum {
    TW_WARN_HIGH_CLIPPED = 1 << 0, /* high edge lowered to 0.45 fs */
    TW_WARN_LOW_CLIPPED = 1 << 1,  /* low edge lowered to high / 4 */
    TW_WARN_MAINS_OFF = 1 << 2,    /* line frequency not below fs/2: off */
    TW_WARN_EPN_OFF = 1 << 3,      /* rate too low to see EPN: off */
};

typedef struct {
    double fs_hz;        /* input rate, 250 .. 192000 Hz (tested range) */
    double dc_hz;        /* DC removal corner, 0.01 .. 5 Hz */
    double low_hz;       /* band-pass low edge, 0.5 .. 1000 Hz */
    double high_hz;      /* band-pass high edge, 10 .. 50000 Hz */
    double mains_hz;     /* 0 (off), 40 .. 70 Hz, or TW_MAINS_AUTO */
    double mains_tau_s;  /* mains template time constant, 0.05 .. 60 s */
    double mains_clip_k; /* residual clipping, 2 .. 100 x mean |residual| */
} tw_condition_params;

/* mains_hz = TW_MAINS_AUTO: the line frequency is found from the signal.
 * Cancellers for 50 and 60 Hz both run on the band-passed signal; the
 * residual power of each is compared over consecutive windows of
 * TW_MAINS_AUTO_WIN_S, and the one that removes at least
 * TW_MAINS_AUTO_MARGIN of the other's residual power in two windows in a
 * row is kept (the other is no longer run): found 0.5 s after the first
 * sample when hum stands 10 % above the rest of the band. Until then the
 * output is the residual of whichever is lower in the last window. A
 * signal without mains leaves both running (twice the canceller's cost);
 * reset searches again (a device restart may bring other mains). */
#define TW_MAINS_AUTO (-1.0)

typedef struct tw_condition tw_condition;

/* NULL on bad parameters; *warn (may be NULL) gets TW_WARN_* bits. */
tw_condition *tw_condition_create(const tw_condition_params *p, unsigned *warn);
void tw_condition_destroy(tw_condition *q);
void tw_condition_reset(tw_condition *q);

/* One sample (uV) in, conditioned sample out; *dc_out (may be NULL) gets
 * the DC-removed but otherwise unfiltered sample. */
double tw_condition_step(tw_condition *q, double x, double *dc_out);

/* Conditioned block; x and y may be the same array. */
void tw_condition_execute_block(tw_condition *q, const float *x, float *y,
                                size_t n);

/* The same as tw_condition_step over x[0..n): y[i] the conditioned sample,
 * z[i] (z may be NULL) its *dc_out minus the mains estimate (the input
 * with DC and mains removed, otherwise broadband), each rounded to float.
 * x may be the same array as y or z. One loop over the block, every stage
 * per sample with its state in locals (sample by sample through
 * tw_condition_step while the line frequency is being searched for). */
void tw_condition_execute_block_z(tw_condition *q, const float *x, float *y,
                                  float *z, size_t n);

/* The band actually applied (after clipping), Hz. */
double tw_condition_get_low_hz(const tw_condition *q);
double tw_condition_get_high_hz(const tw_condition *q);
/* Designed magnitude response of the band-pass at f_hz (excluding the
 * mains canceller, which is adaptive). */
double tw_condition_get_gain(const tw_condition *q, double f_hz);

/* The mains estimate the last tw_condition_step subtracted, uV (0 when
 * mains removal is off): dc_out minus it is the input with DC and mains
 * removed but otherwise broadband (needle steps keep their shape). */
double tw_condition_get_mains_estimate(const tw_condition *q);

/* The line frequency being cancelled, Hz (the tracked value, within 1 Hz
 * of 50 or 60); 0 when mains removal is off, or with TW_MAINS_AUTO while
 * no line frequency has been found yet. */
double tw_condition_get_mains_hz(const tw_condition *q);

#endif
