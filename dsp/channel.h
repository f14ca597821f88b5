/* channel.h: the whole per-channel pipeline.
 *
 *   x (uV, input rate) -> input guard (non-finite samples replaced and
 *   counted; flat stretches skipped, the pipeline restarted after each)
 *   -> DC removal -> FIR decimation to the detector
 *   rate (about det_rate_hz) -> band-pass and mains removal (condition.h,
 *   run at the detector rate: cheaper, and exact since the stages are
 *   linear) -> noise floor -> LTR and EPN detectors -> events (sample
 *   indices at the input rate)
 *
 * plus a needle-movement detector on the DC-removed signal below mv_lp_hz,
 * which gives each LTR its latency and tells flinches (a burst 80-200 ms
 * after the needle, the patient's reaction) from LTRs (5-50 ms after).
 *
 * Events do not depend on how the input is cut into blocks: every stage is
 * a sample-by-sample state machine. execute_block never allocates.
 */
#ifndef TW_CHANNEL_H
#define TW_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "condition.h"
#include "epndet.h"
#include "ltrdet.h"
#include "tw_dsp.h"

typedef enum { TW_ELECTRODE_NEEDLE = 0, TW_ELECTRODE_SURFACE = 1 } tw_electrode;

typedef struct {
    tw_electrode electrode;
    tw_condition_params cond;  /* cond.fs_hz is the input rate */
    double det_rate_hz;        /* wanted detector rate, 1000 .. 20000 Hz;
                                  the decimation factor is
                                  max(1, floor(fs / det_rate_hz)) */
    double floor_window_s;     /* noise floor window, 0.02 .. 2 s */
    unsigned floor_history;    /* windows remembered, 5 .. 1000 */
    double floor_pct;          /* quantile of them used, 0 .. 0.5 */
    double mv_lp_hz;           /* movement band upper edge, 2 .. 20 Hz */
    double mv_k;               /* movement threshold, x its noise, 3 .. 100 */
    double mv_min_uv;          /* and at least this change of the 20 ms difference, 0 .. 10000 uV */
    double mv_max_ms;          /* a movement up to this long before an LTR
                                  is its trigger (latency), 10 .. 1000 ms */
    double flinch_max_ms;      /* a burst whose only movement came mv_max_ms
                                  .. this long before is a flinch, not an
                                  LTR; mv_max_ms .. 2000 ms */
    int epn_enable;            /* needle channels: detect EPN (0/1) */
    int emit_starts;           /* emit is_start onset notices (0/1, default 1) */
    tw_ltrdet_params ltr;      /* fs_hz is set by the channel */
    tw_epndet_params epn;      /* fs_hz is set by the channel */
} tw_channel_params;

/* The documented defaults for an electrode type at rate fs_hz. */
void tw_channel_params_default(tw_channel_params *p, double fs_hz,
                               tw_electrode electrode);

typedef struct tw_channel tw_channel;

/* NULL on bad parameters; *warn (may be NULL) gets TW_WARN_* bits. */
tw_channel *tw_channel_create(const tw_channel_params *p, unsigned *warn);
void tw_channel_destroy(tw_channel *q);
void tw_channel_reset(tw_channel *q);

/* Feed n samples (uV). Finished events (and, if emit_starts, onset
 * notices and rejections) are written to ev[0 .. *nev), each channel's in
 * the order they arose. With emit_starts, every notice (is_start) is
 * followed, in this call or a later one, by exactly one final event or
 * one rejection (reject != 0) of the same type and cand: an LTR within
 * 2 ltr.env_ms + ltr.max_ms + ltr.hang_ms + 2 ltr.post_ms of input after
 * the notice's onset, an EPN episode within epn.release_ms +
 * (epn.win_bins + 1) x epn.bin_ms after its offset, later only while
 * MUAP-scale bursts hold the EPN detector (plus the decimator's delay),
 * or at the latest by a flush or the restart after a flat stretch. A
 * final LTR resolving a notice may have another onset (refined: from one
 * detector sample before the notice's onset to ltr.max_ms + ltr.hang_ms +
 * ltr.post_ms + ltr.env_ms after it); an EPN episode's is its notice's. Returns TW_OK, or
 * TW_EOVERFLOW when more than cap events arose (the surplus is lost and
 * counted; size ev with tw_channel_max_events to rule it out). */
int tw_channel_execute_block(tw_channel *q, const float *x, size_t n,
                             tw_event *ev, size_t cap, size_t *nev);

/* The same, and the conditioned signal the detectors see (DC removed,
 * band-passed, mains cancelled; uV at the detector rate,
 * tw_channel_get_detector_rate) written to y[0 .. *ny): what a listener
 * should hear. About n / decimation samples; the input skipped in a flat
 * stretch gives zeros (one per decimation input samples), so that the
 * tap stays in step with the input. At most ycap are written (size y
 * with tw_channel_max_conditioned to keep all). y == NULL: no tap (*ny
 * = 0). Events are exactly those of tw_channel_execute_block. */
int tw_channel_execute_block_tap(tw_channel *q, const float *x, size_t n,
                                 tw_event *ev, size_t cap, size_t *nev,
                                 float *y, size_t ycap, size_t *ny);

/* An upper bound on the conditioned samples a block of n gives. */
size_t tw_channel_max_conditioned(const tw_channel *q, size_t n);

/* End an EPN episode in progress now (a session boundary): its event (or
 * its rejection) is delivered as at the end of input, and the detector
 * goes on, so an episode that continues is found again as a new one. LTR
 * detection is not touched. Same returns as tw_channel_flush. */
int tw_channel_flush_epn(tw_channel *q, tw_event *ev, size_t cap, size_t *nev);

/* End of input: events still in progress are finished now (an EPN episode
 * ends at the last sample that showed it; an LTR is decided without its
 * post window), and with emit_starts every candidate noticed is resolved
 * (one open when another pending was confirmed is turned down as
 * TW_REJ_STOPPED). At most 3 events. Same returns as execute_block. */
int tw_channel_flush(tw_channel *q, tw_event *ev, size_t cap, size_t *nev);

/* An upper bound on the events a block of n samples can produce. */
size_t tw_channel_max_events(const tw_channel *q, size_t n);

unsigned tw_channel_get_decimation(const tw_channel *q);
double tw_channel_get_detector_rate(const tw_channel *q);
/* The band at the input rate, after clipping to what the rate holds (Hz). */
double tw_channel_get_low_hz(const tw_channel *q);
double tw_channel_get_high_hz(const tw_channel *q);
float tw_channel_get_noise_uv(const tw_channel *q);  /* at detector rate */
/* The input guard (tw_channel_execute_block): non-finite or absurd samples
 * replaced by 0 so far; flat stretches seen (>= 50 ms of identical
 * samples: digital silence, an open or muted input, saturation), after
 * each of which the pipeline started afresh; 1 while one is under way. */
uint64_t tw_channel_get_nonfinite(const tw_channel *q);
uint64_t tw_channel_get_flat_stretches(const tw_channel *q);
int tw_channel_is_flat(const tw_channel *q);
/* Line frequency being cancelled, Hz: 0 when off or not found yet (auto). */
double tw_channel_get_mains_hz(const tw_channel *q);
uint64_t tw_channel_get_lost_events(const tw_channel *q);
int64_t tw_channel_get_samples(const tw_channel *q); /* samples fed */
/* Start afresh (every state reset, the noise floor re-measured) as if the
 * next sample fed had input index `index`: after a long gap in the input,
 * without feeding it. Events keep true indices. Candidates in progress
 * are dropped unresolved (the caller cancels their notices: pipeline.c);
 * candidate numbers go on. */
void tw_channel_restart_at(tw_channel *q, int64_t index);

#endif
