/* epndet.h: endplate-noise (EPN) episode detector.
 *
 * EPN is shot noise: a Poisson stream of monophasic NEGATIVE miniature
 * endplate potentials (10-50 uV, rarely 100, hundreds per second) plus
 * irregular biphasic endplate spikes. Its amplitude distribution is
 * negatively skewed and wider than the noise; amplifier noise and mains
 * residue are symmetric, MUAP trains are bursts the LTR detector holds,
 * fibrillation and lone spikes are too sparse.
 *
 * Per bin of bin_ms the detector accumulates the moments of the signal
 * clipped at +-clip_uv (so that a spike far beyond MEPP scale cannot
 * dominate), and counts negative peaks between peak_k x noise floor and
 * clip_uv. Over the last win_bins bins it calls the window active when
 *   - the skewness is at most -skew_min and significant (skewness /
 *     sqrt(6 / n) <= -z_on),
 *   - the variance is at least var_min x the noise floor's,
 *   - negative peaks come at min_rate_hz or more.
 * An episode is reported when its MEPP rate as a whole (mepp_rate_hz:
 * negative peaks a second above the noise's own rate) reaches
 * ep_min_rate_hz: MEPPs come at 100-1000 /s, while the few negative
 * peaks of voluntary firing or fibrillation that can lean a window
 * towards EPN come at 10-40 /s. Nor is it reported when its typical
 * spike is MUAP-sized, or when its spikes, paired each with the last one
 * of the same size, form regular trains (motor units or fibrillating
 * fibres; endplate spikes are irregular and 100-200 uV).
 * Bins during which the caller holds (an LTR or a voluntary burst) count
 * neither way. An episode starts after confirm_ms of active windows, ends
 * after release_ms without, and is kept if it lasted min_ms. Its onset and
 * offset are the first and last bins whose own statistics lean the same
 * way (negative skew, raised variance).
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
    double peak_k;      /* MEPP peak threshold, x noise floor, 2 .. 10 */
    double clip_uv;     /* clipping for the moments, 20 .. 1000 uV */
    double bin_ms;      /* statistics bin, 10 .. 500 ms */
    unsigned win_bins;  /* bins in the decision window, 1 .. 50 */
    double skew_min;    /* least negative skewness, 0 .. 5 */
    double z_on;        /* least significance of it, 1 .. 20 */
    double var_min;     /* least variance, x noise floor variance, 1 .. 10 */
    double min_rate_hz; /* least rate of negative peaks, 0 .. 1000 /s */
    double ep_min_rate_hz; /* an episode's MEPP rate (mepp_rate_hz) must
                              reach this to be reported, 0 .. 1000 /s */
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
/* Idle, as created: candidate numbers start again from 1, and a
 * confirmed episode is dropped without being resolved (flush first). */
void tw_epndet_reset(tw_epndet *q);

enum { TW_EPN_STARTED = 1, TW_EPN_ENDED = 2, TW_EPN_REJECTED = 4 };

/* Feed one sample y (uV) with the current noise floor sigma (uV; 0 = not
 * known yet: nothing is detected); hold != 0 while a burst is in progress
 * (its bins count neither way). Returns one of TW_EPN_STARTED (an
 * episode was confirmed, a candidate numbered from 1: *ev holds its
 * onset and cand), TW_EPN_ENDED (*ev holds the finished episode with all
 * features and the cand of its notice) and TW_EPN_REJECTED (*ev holds a
 * confirmed episode turned down when it ended, with its features, cand
 * and reject reason: shorter than min_ms, a MEPP rate below
 * ep_min_rate_hz, motor units or fibres firing). Every confirmed episode is
 * resolved once, by ENDED or REJECTED, release_ms (+ a bin) after its
 * window last showed EPN, or by tw_epndet_flush. Indices in detector
 * samples. */
int tw_epndet_step(tw_epndet *q, float y, float sigma, int hold, tw_event *ev);

/* End of input: a confirmed episode still going is finished now (its
 * offset is the last bin that leaned to EPN). Returns TW_EPN_ENDED or
 * TW_EPN_REJECTED with *ev filled, or 0. The detector is idle afterwards. */
int tw_epndet_flush(tw_epndet *q, tw_event *ev);

/* Candidates (confirmed episodes) numbered since create or reset. */
uint64_t tw_epndet_get_candidates(const tw_epndet *q);

/* 1 while an episode is confirmed or a candidate is building up. */
int tw_epndet_is_busy(const tw_epndet *q);
/* 1 while an episode is confirmed. */
int tw_epndet_is_active(const tw_epndet *q);

#endif
