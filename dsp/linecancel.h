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

/* y[i] = x[i] - mains estimate; x and y may be the same array. */
void tw_linecancel_execute_block(tw_linecancel *q, const float *x, float *y,
                                 size_t n);

/* Number of template bins over one line period. */
size_t tw_linecancel_get_bins(const tw_linecancel *q);

/* The line frequency being followed, Hz. */
double tw_linecancel_get_frequency(const tw_linecancel *q);

#endif
