/* epndet.h: endplate-noise (EPN) episode detector.
 *
 * EPN is a Poisson stream of monophasic NEGATIVE miniature endplate
 * potentials (10-50 uV, hundreds per second) plus irregular biphasic
 * endplate spikes. Noise, mains residue, MUAP trains and fibrillation give
 * as many positive as negative peaks (or more positive); EPN gives an
 * excess of negative ones. The detector counts negative and positive peaks
 * beyond peak_k x noise floor in bins of bin_ms, and calls a bin active when,
 * over the last win_bins bins, the excess of negative peaks is both a rate
 * of at least min_rate_hz and significant (excess / sqrt(total) >= z_on).
 * An episode starts after confirm_ms of active bins, ends after release_ms
 * without, and is kept if it lasted at least min_ms.
 *
 * Works on the conditioned signal at the detector rate, in uV. Sample
 * indices here count detector-rate samples.
 */
#ifndef TW_EPNDET_H
#define TW_EPNDET_H

#include <stdint.h>

#include "tw_dsp.h"

typedef struct {
    double fs_hz;       /* detector rate, 200 .. 50000 Hz */
    double peak_k;      /* peak threshold, x noise floor, 2 .. 10 */
    double bin_ms;      /* counting bin, 10 .. 500 ms */
    unsigned win_bins;  /* bins in the rate window, 1 .. 50 */
    double min_rate_hz; /* least excess of negative peaks, 1 .. 1000 /s */
    double z_on;        /* least significance of that excess, 1 .. 20 */
    double confirm_ms;  /* active this long before an onset is declared, 0 .. 5000 */
    double release_ms;  /* inactive this long before an episode ends, 0 .. 10000 */
    double min_ms;      /* shortest episode reported, 0 .. 60000 */
    double eps_k;       /* endplate spike threshold, x noise floor, 3 .. 100 */
    double eps_min_uv;  /* and at least this peak-to-peak, 10 .. 2000 uV */
} tw_epndet_params;

/* The documented defaults. */
void tw_epndet_params_default(tw_epndet_params *p, double fs_hz);

typedef struct tw_epndet tw_epndet;

tw_epndet *tw_epndet_create(const tw_epndet_params *p); /* NULL: bad params */
void tw_epndet_destroy(tw_epndet *q);
void tw_epndet_reset(tw_epndet *q);

enum { TW_EPN_STARTED = 1, TW_EPN_ENDED = 2 };

/* Feed one sample y (uV) with the current noise floor sigma (uV; 0 = not
 * known yet: nothing is detected). Returns a mask of TW_EPN_STARTED (an
 * episode was confirmed: *ev holds its onset) and TW_EPN_ENDED (*ev holds
 * the finished episode with all features; indices in detector samples). */
int tw_epndet_step(tw_epndet *q, float y, float sigma, tw_event *ev);

/* 1 while an episode is confirmed or a candidate is building up. */
int tw_epndet_is_busy(const tw_epndet *q);
/* 1 while an episode is confirmed. */
int tw_epndet_is_active(const tw_epndet *q);

#endif
