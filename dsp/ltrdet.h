/* ltrdet.h: local twitch response (LTR) burst detector.
 *
 * An LTR is a polyphasic burst of motor-unit potentials (MUAPs), roughly
 * 20-300 ms long, MUAP-scale (0.3-3 mV at the needle), with its energy in
 * the MUAP band (35-330 Hz), isolated in time (signals.md). What it is not:
 * endplate spikes (100-520 Hz, mostly 100-200 uV, isolated spikes),
 * insertion activity (brief broadband spikes), electrode pops (one sharp
 * transient), voluntary contraction (seconds of firing), EPN.
 *
 * The detector band-passes its input to the MUAP band (band_lo_hz ..
 * band_hi_hz) and follows that band's RMS envelope over env_ms. A burst
 * opens when the envelope exceeds both on_k x the MUAP-band noise floor
 * and rel_k x the background envelope (tracked over bg_tau_s outside
 * bursts: EPN, endplate spikes, ongoing activity), and closes after
 * hang_ms below off_ratio x its opening threshold. It is an LTR when
 *   - its duration lies in [min_ms, max_ms],
 *   - its peak |y| reaches min_peak_uv (MUAP scale),
 *   - it is polyphasic: at least min_turns turns (reversals of more than
 *     max(4 x the noise floor, a tenth of its peak) from the last extreme;
 *     an electrode pop has one),
 *   - at least band_frac of its energy lies in the MUAP band, or at least
 *     band_frac_hp of its energy above band_lo_hz (1: off), and its RMS
 *     in that band reaches min_rms_uv (MUAPs of 0.3-3 mV firing densely;
 *     endplate spikes and MEPPs stay far below),
 *   - no other MUAP-scale burst ended within pre_ms before it, nor opens
 *     within post_ms after it (voluntary firing is a train of them); for
 *     a burst that ran into sustained activity, "before it" is read on
 *     the step-removed residual, so the needle step that elicited it does
 *     not count.
 * A candidate is judged on its residual once needle steps are removed:
 * z (the input before the band-pass) minus its running median over 20 ms. A median follows a step and its
 * settling however fast the step rises (2 ms on a quick jab), while
 * MUAPs (3-20 ms, phases of both signs) and insertion spikes stay; the
 * residual's MUAP band is filtered forwards and backwards (no delay).
 * Every feature above (peak, turns, band fractions, RMS, duration) is
 * measured on that residual, so a step with insertion spikes on it is
 * not an LTR, and the burst's amplitudes are its MUAPs', not the step's.
 * Onset and offset are the first and last sample where the residual's
 * MUAP band exceeds max(onset_k x max(MUAP-band noise, background),
 * onset_frac x its peak), crossing no gap longer than 3 x hang_ms; a
 * sample before the peak counts only where the MUAP band holds half the
 * residual's energy within 2 ms of it: the onset is the first MUAP, not
 * the needle step nor the brief insertion spikes before it (their energy
 * lies above the band).
 *
 * The decision is final post_ms after the burst closes. A burst that
 * turns into sustained activity (longer than max_ms: EPN starting, voluntary
 * firing) is still an LTR when its strong part at the start is isolated
 * from what follows: that is decided once its post window has passed. Works on the
 * conditioned signal at the detector rate, in uV; sample indices here count
 * detector-rate samples.
 */
#ifndef TW_LTRDET_H
#define TW_LTRDET_H

#include <stddef.h>
#include <stdint.h>

#include "tw_dsp.h"

typedef struct {
    double fs_hz;       /* detector rate, 200 .. 50000 Hz */
    double band_lo_hz;  /* MUAP band low edge, 5 .. 200 Hz */
    double band_hi_hz;  /* MUAP band high edge, 100 .. 2000 Hz (clipped to 0.45 fs) */
    double env_ms;      /* RMS envelope window, 1 .. 100 ms */
    double on_k;        /* opening threshold, x MUAP-band noise floor, 2 .. 100 */
    double rel_k;       /* and x background envelope, 1 .. 100 */
    double off_ratio;   /* closing threshold / opening threshold, 0.1 .. 1 */
    double hang_ms;     /* gap bridged inside a burst, 0 .. 200 ms */
    double min_ms;      /* shortest LTR, 1 .. 1000 ms */
    double max_ms;      /* longest LTR, 10 .. 5000 ms */
    double min_peak_uv; /* least peak |y| of an LTR, 10 .. 5000 uV */
    double band_frac;   /* least fraction of energy in the MUAP band, 0 .. 1 */
    double band_frac_hp; /* or: of the energy above band_lo_hz, 0 .. 1 */
    double min_rms_uv;  /* least RMS in the MUAP band over the burst, 1 .. 5000 uV */
    int min_turns;      /* least turns (polyphasic), 0 .. 1000 */
    double pre_ms;      /* no MUAP-scale burst this long before, 0 .. 5000 ms */
    double post_ms;     /* nor this long after, 0 .. 2000 ms */
    double bg_tau_s;    /* background envelope time constant, 0.05 .. 60 s */
    double onset_k;     /* onset/offset threshold, x max(noise, background), 1 .. 50 */
    double onset_frac;  /* ... and x the burst's peak, 0 .. 1 */
} tw_ltrdet_params;

void tw_ltrdet_params_default(tw_ltrdet_params *p, double fs_hz);

typedef struct tw_ltrdet tw_ltrdet;

tw_ltrdet *tw_ltrdet_create(const tw_ltrdet_params *p); /* NULL: bad params */
void tw_ltrdet_destroy(tw_ltrdet *q);
/* Idle, as created: candidate numbers start again from 1, and a
 * candidate open now is dropped without being resolved (flush first). */
void tw_ltrdet_reset(tw_ltrdet *q);

enum { TW_LTR_STARTED = 1, TW_LTR_ENDED = 2, TW_LTR_REJECTED = 4 };

/* Feed one sample y (uV, conditioned: band-passed, mains removed), the
 * same sample z before the band-pass (DC and mains removed, broadband:
 * needle steps keep their shape; candidates are judged on it, see above)
 * and the noise floor sigma of y (uV, 0 = unknown: nothing is detected).
 * Returns a mask of:
 *   TW_LTR_STARTED   an open burst first reached MUAP scale: a candidate,
 *                    numbered (cand, from 1); tw_ltrdet_notice gives its
 *                    notice with the provisional onset;
 *   TW_LTR_ENDED     an LTR is confirmed: *ev complete, with the cand of
 *                    its notice (0 if it had none);
 *   TW_LTR_REJECTED  candidates turned down (at most two: the open burst
 *                    and one pending): tw_ltrdet_rejected, each with
 *                    its cand and reject reason (tw_dsp.h).
 * Every candidate is resolved exactly once, by ENDED or REJECTED, within
 * 2 env_ms + max_ms + hang_ms + 2 post_ms of its notice's onset (a burst
 * that resumes after a pause until it is too long, whose start then
 * waits for its post window), or by tw_ltrdet_flush. An LTR's onset lies
 * from one sample before its notice's to max_ms + hang_ms + post_ms +
 * env_ms after it. Indices are in detector samples. */
int tw_ltrdet_step(tw_ltrdet *q, float y, float z, float sigma, tw_event *ev);

/* The notice of the last TW_LTR_STARTED (valid until the next step). */
const tw_event *tw_ltrdet_notice(const tw_ltrdet *q);
/* The rejections of the last step or flush: *ev points at them (valid
 * until the next call); returns how many (0 .. 2). */
size_t tw_ltrdet_rejected(const tw_ltrdet *q, const tw_event **ev);

/* Optional, for speed: run what does not depend on the detector's state
 * (the MUAP band filters, the envelope, the rings) for the next samples
 * ahead of tw_ltrdet_step, a block at a time. Prepares
 * min(n, TW_LTR_PREP - samples prepared and not yet stepped) samples
 * and returns how many; the next calls of tw_ltrdet_step then take them
 * in order and must pass the same y and z (their sigma as before). The
 * results are the same bit for bit as without. tw_ltrdet_reset drops
 * what was prepared. */
enum { TW_LTR_PREP = 256 }; /* samples prepared ahead, at most */
size_t tw_ltrdet_prepare(tw_ltrdet *q, const float *y, const float *z, size_t n);

/* End of input: decide on a burst still open or awaiting its post window.
 * Returns TW_LTR_ENDED with *ev filled and/or TW_LTR_REJECTED (noticed
 * candidates turned down, tw_ltrdet_rejected; one dropped unjudged is
 * TW_REJ_STOPPED), or 0. Idle afterwards: no candidate is left open. */
int tw_ltrdet_flush(tw_ltrdet *q, tw_event *ev);

/* A needle movement began at detector sample `sample` (the channel's
 * movement detector, once confirmed). A burst whose onset lies from
 * `before` samples after such a movement to `after` samples before it
 * was elicited by the needle: it is not judged as part of a train of
 * voluntary bursts (pre_ms). The last TW_LTR_MV_HIST are kept. */
enum { TW_LTR_MV_HIST = 8 };
void tw_ltrdet_note_movement(tw_ltrdet *q, int64_t sample, int64_t before, int64_t after);

/* Candidates numbered since create or reset (the last cand given). */
uint64_t tw_ltrdet_get_candidates(const tw_ltrdet *q);

/* 1 while a burst is open or awaiting its decision. */
int tw_ltrdet_is_busy(const tw_ltrdet *q);
/* 1 while a MUAP-scale burst (peak >= min_peak_uv) is open: other
 * detectors should not read this stretch as background. */
int tw_ltrdet_is_holding(const tw_ltrdet *q);

#endif
