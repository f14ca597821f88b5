/* limiter.h: a look-ahead peak limiter, the monitor's guard against a
 * needle step, a pop or an insertion burst at high gain (monitor.h).
 *
 * The signal is delayed by L - 1 samples (L: the look-ahead); the gain
 * for each sample is the smallest ceiling / |x| over the L samples ahead
 * of it (held), released towards 1 with a time constant (never above the
 * held value), then averaged over L samples: an attack that ramps over
 * the look-ahead instead of jumping. The average of L values each at most
 * ceiling / |x| of the sample being output keeps every output sample
 * within the ceiling: |y| <= ceiling always (up to float rounding), and
 * a signal that never exceeds it is only delayed (gain exactly 1).
 *
 * Pure: no I/O, no clock; allocates in create only. */
#ifndef TW_LIMITER_H
#define TW_LIMITER_H

#include <stddef.h>

typedef struct tw_limiter tw_limiter;

/* fs_hz 1000 .. 384000; ceiling 0 < c <= 1 (digital full scale);
 * lookahead_ms 0.1 .. 20; release_ms 1 .. 5000. NULL on bad values. */
tw_limiter *tw_limiter_create(double fs_hz, double ceiling, double lookahead_ms,
                              double release_ms);
void tw_limiter_destroy(tw_limiter *q);
void tw_limiter_reset(tw_limiter *q);

/* y[i] = x[i - delay] * gain; x and y may be the same array. */
void tw_limiter_execute(tw_limiter *q, const float *x, float *y, size_t n);

unsigned tw_limiter_get_delay(const tw_limiter *q); /* samples */
/* The gain applied to the last sample out (1: not limiting). */
float tw_limiter_get_gain(const tw_limiter *q);

#endif
