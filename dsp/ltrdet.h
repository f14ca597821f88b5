/* ltrdet.h: local twitch response (LTR) burst detector.
 *
 * An LTR is a polyphasic burst of motor-unit potentials, roughly 20-300 ms
 * long, MUAP-scale (0.3-3 mV at the needle). The detector follows a short
 * RMS envelope (env_ms) and opens a burst when it exceeds both on_k x the
 * noise floor and rel_k x the background envelope (the slowly tracked
 * envelope outside bursts: EPN, endplate spikes, ongoing activity). The
 * burst closes after hang_ms below off_ratio x the opening threshold. It
 * is an LTR when its duration lies in [min_ms, max_ms] and its peak
 * reaches min_peak_uv. Onset and offset are refined to the first and last
 * sample whose |y| exceeds onset_k x max(noise, background).
 *
 * Works on the conditioned signal at the detector rate, in uV. Sample
 * indices here count detector-rate samples.
 */
#ifndef TW_LTRDET_H
#define TW_LTRDET_H

#include <stdint.h>

#include "tw_dsp.h"

typedef struct {
    double fs_hz;       /* detector rate, 200 .. 50000 Hz */
    double env_ms;      /* RMS envelope window, 1 .. 50 ms */
    double on_k;        /* opening threshold, x noise floor, 2 .. 100 */
    double rel_k;       /* and x background envelope, 1 .. 100 */
    double off_ratio;   /* closing threshold / opening threshold, 0.1 .. 1 */
    double hang_ms;     /* gap bridged inside a burst, 0 .. 200 ms */
    double min_ms;      /* shortest LTR, 1 .. 1000 ms */
    double max_ms;      /* longest LTR, 10 .. 5000 ms */
    double min_peak_uv; /* least peak |y| of an LTR, 10 .. 5000 uV */
    double bg_tau_s;    /* background envelope time constant, 0.05 .. 60 s */
    double onset_k;     /* onset/offset refinement, x max(noise, bg), 1 .. 50 */
} tw_ltrdet_params;

void tw_ltrdet_params_default(tw_ltrdet_params *p, double fs_hz);

typedef struct tw_ltrdet tw_ltrdet;

tw_ltrdet *tw_ltrdet_create(const tw_ltrdet_params *p); /* NULL: bad params */
void tw_ltrdet_destroy(tw_ltrdet *q);
void tw_ltrdet_reset(tw_ltrdet *q);

enum { TW_LTR_STARTED = 1, TW_LTR_ENDED = 2 };

/* Feed one sample y (uV) with the noise floor sigma (uV, 0 = unknown:
 * nothing is detected). Returns a mask: TW_LTR_STARTED when a burst
 * opened (*ev holds its onset; it may yet be rejected), TW_LTR_ENDED when
 * an LTR finished (*ev complete; indices in detector samples). */
int tw_ltrdet_step(tw_ltrdet *q, float y, float sigma, tw_event *ev);

/* 1 while a burst is open. */
int tw_ltrdet_is_busy(const tw_ltrdet *q);

/* Background envelope (uV RMS). */
float tw_ltrdet_get_background(const tw_ltrdet *q);

#endif
